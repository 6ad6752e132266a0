package sharing

// Permits through the second slice (issue 5 items 7 and 9 over the licence library): archive
// receipts, downloads of watermarked copies (加注件) and file verification of permits, and
// batches that mix licence types. A permit is recognised from its identifier's type code, as in
// library.go; the permission is always that of the permit's type.
//
//   - Archive: the receipt's document_sm3 is the SM3 of the permit version's canonical signed
//     data (library.SignedBytes, PermitSM3); the department follows the holder for change notices
//     when the holder is an organisation (a person is not a market entity and has no notices).
//   - Download: the download permission of the type, and a standing authorisation or a 用证码 of
//     the holder (they cover everything; a per-case approval names only the business licence's
//     items), as for a permit's non-public items. The copy is rendered by the Copier's
//     CopyPermit (PermitCopier).
//   - Batches: a permission check per item's type; an item of a type the caller may not use is
//     refused alone (recorded as denied) and the others are answered.
//   - File and QR verification: the type is known only once the file is read, so the caller
//     needs the verify permission of some type to start, and of the file's type to get the
//     report.

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/library"
	"github.com/elicense/elicense/internal/sharing/consent"
)

// PermitCopier renders a watermarked copy of a permit version in a format ("ofd" or "pdf"). A
// Copier that also implements it serves downloads of permits (cmd/elicense renders them with
// document.Service.RenderPermitCopy); without it a permit download is refused as not enabled.
type PermitCopier interface {
	CopyPermit(ctx context.Context, p *library.Permit, t *library.Type, format string, m CopyMark) ([]byte, error)
}

// PermitSM3 is the hex SM3 of a permit version's canonical signed data (library.SignedBytes):
// the document_sm3 of its archive receipts.
func PermitSM3(p *library.Permit) string {
	h := gm.SM3(library.SignedBytes(p))
	return hex.EncodeToString(h[:])
}

// followsHolder reports whether archiving a permit follows its holder for change notices: only
// organisations are market entities with notices.
func followsHolder(p *library.Permit) bool { return !library.IsPerson(p.HolderCodeType) }

// archivePermit archives a permit version (the archive permission of its type was checked).
func (s *Service) archivePermit(ctx context.Context, c *Caller, p Purpose, identifier string, now time.Time) (*Receipt, error) {
	pm, _, err := s.permitAndType(ctx, identifier)
	if errs.Is(err, errs.NotFound) {
		if rerr := s.record(ctx, s.event(c, p, "archive", identifier, identifier, "not_found", now)); rerr != nil {
			return nil, rerr
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if followsHolder(pm) {
		if err := s.follow(ctx, c, pm.HolderCode); err != nil {
			return nil, err
		}
	}
	return s.storeReceipt(ctx, c, p, pm.HolderCode, pm.Identifier, pm.Version, PermitSM3(pm), now)
}

// receiptDocument reads what a receipt's identifier names for VerifyReceipt: the version and
// document_sm3 of that licence or permit version now, and the entity (subject of the usage
// record). found is false when there is no such version.
func (s *Service) receiptDocument(ctx context.Context, identifier string) (version int, sm3, subject string, found bool, err error) {
	if s.isPermitType(identifier) {
		pm, err := s.lib.Get(ctx, identifier)
		switch {
		case errs.Is(err, errs.NotFound) || errs.Is(err, errs.Invalid):
			return 0, "", "", false, nil
		case err != nil:
			return 0, "", "", false, fmt.Errorf("sharing: verify receipt: %w", err)
		}
		return pm.Version, PermitSM3(pm), pm.HolderCode, true, nil
	}
	l, err := s.c.Licences.Get(ctx, identifier)
	switch {
	case errs.Is(err, errs.NotFound) || errs.Is(err, errs.Invalid):
		return 0, "", "", false, nil
	case err != nil:
		return 0, "", "", false, fmt.Errorf("sharing: verify receipt: %w", err)
	}
	return l.Version, DocumentSM3(l), l.Code, true, nil
}

// errPermitCopiesOff answers a permit download when the Copier cannot render permits.
var errPermitCopiesOff = errs.New(errs.Unavailable, "", "本平台未启用许可证照加注件的下载",
	"downloads of copies of permits are not enabled on this platform")

// downloadPermit makes a download URL of a permit version's copy (the download permission of its
// type was checked): the holder's standing authorisation or 用证码 must cover the call.
func (s *Service) downloadPermit(ctx context.Context, c *Caller, p Purpose, identifier, format string, now time.Time) (*DownloadURL, error) {
	if _, ok := s.cc.Copier.(PermitCopier); !ok {
		return nil, errPermitCopiesOff
	}
	pm, _, err := s.permitAndType(ctx, identifier)
	if errs.Is(err, errs.NotFound) {
		if rerr := s.record(ctx, s.event(c, p, "download", identifier, identifier, "not_found", now)); rerr != nil {
			return nil, rerr
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	u := consentUsage{usage: usageOf(p, pm.Identifier, "denied"), Format: format}
	ids, missing, err := s.authorised(ctx, c, p, pm.HolderCode, []string{consent.All}, now)
	if err == nil && len(missing) > 0 {
		u.usage.Result, u.Missing = "consent_required", []string{consent.ItemDownload}
		err = errs.New(errs.Forbidden, "consent",
			"下载许可证照的加注件需要持证主体的长期授权或用证码（consent_code）",
			"a copy of a permit needs the holder's standing authorisation or a one-time code (consent_code)")
	}
	if err != nil {
		if rerr := s.record(ctx, s.usageEvent(c, "download", pm.HolderCode, u, now)); rerr != nil {
			return nil, rerr
		}
		return nil, err
	}
	return s.newDownload(ctx, c, p, pm.HolderCode, pm.Identifier, format, ids, u, now)
}

// copyPermit renders the copy behind a permit's download URL: the file and its name (the
// permit's number, not its holder's code, which may be a person's).
func (s *Service) copyPermit(ctx context.Context, d *consent.Download, m CopyMark) (*File, error) {
	pc, ok := s.cc.Copier.(PermitCopier)
	if !ok {
		return nil, errPermitCopiesOff
	}
	pm, t, err := s.permitAndType(ctx, d.Identifier)
	if err != nil {
		return nil, fmt.Errorf("sharing: fetch %s: %w", d.Identifier, err)
	}
	body, err := pc.CopyPermit(ctx, pm, t, d.Format, m)
	if err != nil {
		return nil, fmt.Errorf("sharing: copy of %s: %w", d.Identifier, err)
	}
	return &File{Name: fmt.Sprintf("%s-%d-copy.%s", pm.Number, pm.Version, d.Format), Format: d.Format, Body: body}, nil
}

// typeSet is the licence types a caller may use for one operation.
type typeSet []string

func (t typeSet) allows(code string) bool { return slices.Contains(t, code) }

// beginAny validates the purpose and checks the scope of op and that the caller may do op on at
// least one licence type, which it returns; a refusal is recorded as begin's is. Without the
// library it is begin for the business licence.
func (s *Service) beginAny(ctx context.Context, c *Caller, p *Purpose, op Operation, action string) (typeSet, error) {
	business := s.c.Licences.TypeCode()
	if s.lib == nil {
		if err := s.begin(ctx, c, p, op, action, business, ""); err != nil {
			return nil, err
		}
		return typeSet{business}, nil
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var types typeSet
	if slices.Contains(c.Scopes, op.Scope()) {
		ps, err := s.permissions(ctx, c.ClientID)
		if err != nil {
			return nil, err
		}
		for _, pm := range ps {
			if pm.Allows(op) {
				types = append(types, pm.TypeCode)
			}
		}
	}
	if len(types) == 0 {
		// Refused as for the business licence (scope or permission), and recorded.
		return nil, s.begin(ctx, c, p, op, action, business, "")
	}
	return types, nil
}

// deniedType is the error of an item of a type the caller may not use for op.
func deniedType(op Operation, typeCode string) *errs.Error {
	return errs.Forbiddenf("本系统无权对证照类型 %s 执行 %s 操作", "this system may not %[2]s licences of type %[1]s", typeCode, string(op))
}

// batchPermits reads the permits of a batch, each type once.
type batchPermits struct {
	s     *Service
	types map[string]*library.Type
}

// query answers one permit of a batch query: its public record, or not found.
func (b *batchPermits) query(ctx context.Context, c *Caller, p Purpose, id string, now time.Time) (QueryResult, audit.Event, error) {
	pm, err := b.s.lib.Get(ctx, id)
	if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Invalid) {
		return QueryResult{Identifier: id, Err: errs.NotFoundf("未找到标识为 %s 的证照", "no licence found with identifier %s", id)},
			b.s.event(c, p, "query", id, id, "not_found", now), nil
	}
	if err != nil {
		return QueryResult{}, audit.Event{}, fmt.Errorf("sharing: batch query: %w", err)
	}
	if b.types == nil {
		b.types = map[string]*library.Type{}
	}
	t, ok := b.types[pm.TypeCode]
	if !ok {
		if t, err = b.s.lib.Type(ctx, pm.TypeCode); err != nil {
			return QueryResult{}, audit.Event{}, fmt.Errorf("sharing: permit type %s: %w", pm.TypeCode, err)
		}
		b.types[pm.TypeCode] = t
	}
	return QueryResult{Identifier: id, Record: publicRecord(pm, t, now)}, b.s.event(c, p, "query", pm.HolderCode, pm.Identifier, "ok", now), nil
}

// deniedVerification is the answer of a batch item of a type the caller may not verify: result
// 4 (it cannot be verified) and Denied, with the refusal in words.
func deniedVerification(typeCode string) *Verification {
	e := deniedType(OpVerify, typeCode)
	return &Verification{Result: document.ResultNotEnough, ZH: e.ZH, EN: e.EN, Denied: true}
}

// docAllowed reports whether the caller, who may verify the types given, gets the report: of
// a permit with its type's permission, of anything else naming a licence or an entity with the
// business licence's; a file from which nothing could be read says nothing of any licence.
func (s *Service) docAllowed(types typeSet, r *document.Report) (string, bool) {
	switch {
	case r.Kind == "permit" && r.TypeCode != "":
		return r.TypeCode, types.allows(r.TypeCode)
	case r.Identifier == "" && r.Code == "":
		return "", true
	}
	t := s.c.Licences.TypeCode()
	return t, types.allows(t)
}

// docSubject is the entity a verification report is about, for the usage record: a permit's
// holder code as the library has it (reports mask a person's), else the report's code.
func (s *Service) docSubject(ctx context.Context, r *document.Report) string {
	if r.Kind == "permit" && s.lib != nil && r.Identifier != "" {
		if pm, err := s.lib.Get(ctx, strings.ToUpper(r.Identifier)); err == nil {
			return pm.HolderCode
		}
	}
	return r.Code
}
