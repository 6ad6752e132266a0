package sharing

// Sharing over the licence library (企业电子证照库, issue 5 items 1–3 with 4–5): departments
// use licences of other types (permits: 食品经营许可证, 排污许可证, …) through the same calls as the
// business licence, with a permission per type code. Query by identifier and verify by fields
// take a permit's identifier (or its type and number); listing by holder with no type gives
// the business licence and the permits of every type the caller may query. Permits show the
// public items of their type (library.Public); the others need a standing authorisation or a
// 用证码 of the entity, which cover everything. The business licence's paths are unchanged:
// a permit is recognised from its identifier's type code before anything is read.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/library"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/sharing/consent"
	"github.com/elicense/elicense/internal/uscc"
)

// Library reads the licence library (*library.Service).
type Library interface {
	Type(ctx context.Context, code string) (*library.Type, error)
	Get(ctx context.Context, identifier string) (*library.Permit, error)
	Current(ctx context.Context, typeCode, number string) (*library.Permit, error)
	ByHolder(ctx context.Context, holderCode, codeType, typeCode string) ([]*library.Permit, error)
}

// SetLibrary lets the service share the library's permits (wiring, before the service is used).
func (s *Service) SetLibrary(l Library) { s.lib = l }

// knownType checks a licence type code: the business licence, or a type of the library.
func (s *Service) knownType(ctx context.Context, code string) *errs.Error {
	if code == s.c.Licences.TypeCode() {
		return nil
	}
	if s.lib != nil {
		if _, err := s.lib.Type(ctx, code); err == nil {
			return nil
		}
	}
	return errs.Invalidf("type_code", "未知的证照类型 %s", "unknown licence type %s", code)
}

// isPermitType reports whether an identifier names a licence of another type than the
// business licence, which the library holds.
func (s *Service) isPermitType(identifier string) bool {
	return s.lib != nil && identifier != "" && s.typeOf(identifier) != s.c.Licences.TypeCode()
}

// fieldsType is the licence type a verification by fields names: the identifier's, or the
// type_code given with a number, or the business licence.
func (s *Service) fieldsType(f Fields) string {
	if id := strings.TrimSpace(f.Identifier); id != "" {
		return s.typeOf(id)
	}
	if t := strings.ToUpper(strings.TrimSpace(f.TypeCode)); t != "" && s.lib != nil {
		return t
	}
	return s.c.Licences.TypeCode()
}

// permitRecord is a permit as the sharing service returns it, with the items given.
func permitRecord(p *library.Permit, items map[string]string, now time.Time) *Record {
	return &Record{Identifier: p.Identifier, TypeCode: p.TypeCode, TypeName: p.TypeName, Number: p.Number, Version: p.Version,
		HolderName: p.HolderName, HolderCode: p.HolderCode, HolderCodeType: p.HolderCodeType, Region: p.AreaCode,
		Authority: p.IssuerName, AuthorityCode: p.IssuerCode, IssuedAt: p.IssuedAt, Status: license.Status(p.State(now)),
		StatusAt: p.StatusAt, ValidFrom: p.ValidFrom, ValidUntil: p.ValidUntil, Items: items}
}

// publicRecord is the public view of a permit (library.Public): the type's public items, a
// person holder masked.
func publicRecord(p *library.Permit, t *library.Type, now time.Time) *Record {
	v := library.Public(p, t)
	return permitRecord(v, v.Items, now)
}

// nonPublicKeys are the keys of a permit's items that its type does not make public.
func nonPublicKeys(p *library.Permit, t *library.Type) []string {
	var out []string
	for _, it := range t.Items {
		if _, ok := p.Items[it.Key]; ok && !it.Public {
			out = append(out, it.Key)
		}
	}
	return out
}

// permitAndType reads a permit version and its type; a malformed or unknown identifier is not
// found.
func (s *Service) permitAndType(ctx context.Context, identifier string) (*library.Permit, *library.Type, error) {
	p, err := s.lib.Get(ctx, identifier)
	if errs.Is(err, errs.Invalid) || errs.Is(err, errs.NotFound) {
		return nil, nil, errs.NotFoundf("未找到标识为 %s 的证照", "no licence found with identifier %s", identifier)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("sharing: permit: %w", err)
	}
	t, err := s.lib.Type(ctx, p.TypeCode)
	if err != nil {
		return nil, nil, fmt.Errorf("sharing: permit type %s: %w", p.TypeCode, err)
	}
	return p, t, nil
}

// queryPermit answers a query by a permit's identifier (the permission was checked): the public
// items, and with nonPublic the others when an authorisation of the holder that covers
// everything (standing, or a 用证码) is in force for the call.
func (s *Service) queryPermit(ctx context.Context, c *Caller, p Purpose, identifier string, nonPublic bool, now time.Time) (*Record, error) {
	pm, t, err := s.permitAndType(ctx, identifier)
	if errs.Is(err, errs.NotFound) {
		if rerr := s.record(ctx, s.event(c, p, "query", identifier, identifier, "not_found", now)); rerr != nil {
			return nil, rerr
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	hidden := nonPublicKeys(pm, t)
	if !nonPublic || len(hidden) == 0 {
		if err := s.record(ctx, s.event(c, p, "query", pm.HolderCode, pm.Identifier, "ok", now)); err != nil {
			return nil, err
		}
		return publicRecord(pm, t, now), nil
	}
	if err := s.consentOn(); err != nil {
		return nil, err
	}
	ids, missing, err := s.authorised(ctx, c, p, pm.HolderCode, []string{consent.All}, now)
	if err != nil {
		if rerr := s.record(ctx, s.usageEvent(c, "query", pm.HolderCode, consentUsage{usage: usageOf(p, pm.Identifier, "denied"),
			NonPublic: hidden}, now)); rerr != nil {
			return nil, rerr
		}
		return nil, err
	}
	rec, result := publicRecord(pm, t, now), "ok"
	if len(missing) > 0 {
		rec.ConsentRequired, result = permitNotice(hidden), "consent_required"
	} else {
		rec.Items = maps.Clone(pm.Items)
		rec.NonPublic = &NonPublic{Items: hidden}
	}
	u := consentUsage{usage: usageOf(p, pm.Identifier, result), NonPublic: hidden, Consent: ids}
	if len(missing) > 0 {
		u.Missing = hidden
	}
	if err := s.record(ctx, s.usageEvent(c, "query", pm.HolderCode, u, now)); err != nil {
		return nil, err
	}
	return rec, nil
}

// permitNotice says that a permit's non-public items need a standing authorisation or a code.
func permitNotice(keys []string) *ConsentNotice {
	return &ConsentNotice{Missing: keys,
		ZH: "非公开照面项 " + strings.Join(keys, "、") + " 需要持证主体的长期授权或用证码（consent_code）",
		EN: "the non-public items " + strings.Join(keys, ", ") + " need the holder's standing authorisation or a one-time code (consent_code)"}
}

// listAll lists the holder's licences of every type the caller may query: the business
// licence (when permitted and the code type matches), then the permits of the permitted types.
// The call is refused when the caller may query no type at all.
func (s *Service) listAll(ctx context.Context, c *Caller, p Purpose, holderCode, codeType string) ([]*Record, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var list errs.List
	if holderCode == "" {
		list = append(list, errs.New(errs.Invalid, "holder_code", "缺少持证主体代码", "the holder code is missing"))
	}
	if codeType == "" {
		list = append(list, errs.New(errs.Invalid, "holder_code_type", "缺少持证主体代码类型", "the holder code type is missing"))
	} else if zh, _ := library.HolderCodeTypeName(codeType); zh == codeType || zh == "" {
		list = append(list, errs.Invalidf("holder_code_type", "未知的持证主体代码类型 %q", "unknown holder code type %q", codeType))
	}
	if len(list) > 0 {
		return nil, list
	}
	business := s.c.Licences.TypeCode()
	var types []string
	if slices.Contains(c.Scopes, OpQuery.Scope()) {
		ps, err := s.permissions(ctx, c.ClientID)
		if err != nil {
			return nil, err
		}
		for _, pm := range ps {
			if pm.Allows(OpQuery) {
				types = append(types, pm.TypeCode)
			}
		}
	}
	if len(types) == 0 {
		// Refused as a business-licence listing would be (scope or permission), and recorded.
		return nil, s.begin(ctx, c, &p, OpQuery, "list", business, holderCode)
	}
	now := s.now()
	out := []*Record{}
	if slices.Contains(types, business) && (codeType == CodeTypeUSCC || codeType == CodeTypeOther) {
		l, err := s.c.Licences.Get(ctx, holderCode)
		if err != nil && !errs.Is(err, errs.NotFound) && !errs.Is(err, errs.Invalid) {
			return nil, fmt.Errorf("sharing: list: %w", err)
		}
		if err == nil && l.CodeType == codeType {
			out = append(out, s.recordOf(l))
		}
	}
	permits, err := s.permitRecords(ctx, holderCode, codeType, slices.DeleteFunc(types, func(t string) bool { return t == business }), now)
	if err != nil {
		return nil, err
	}
	out = append(out, permits...)
	if err := s.record(ctx, s.listEvent(c, p, holderCode, out, now)); err != nil {
		return nil, err
	}
	return out, nil
}

// listPermits lists the holder's permits of the types given (the permission was checked).
func (s *Service) listPermits(ctx context.Context, c *Caller, p Purpose, holderCode, codeType string, types []string) ([]*Record, error) {
	now := s.now()
	out, err := s.permitRecords(ctx, holderCode, codeType, types, now)
	if err != nil {
		return nil, err
	}
	if err := s.record(ctx, s.listEvent(c, p, holderCode, out, now)); err != nil {
		return nil, err
	}
	return out, nil
}

// permitRecords reads the holder's current permits of the types given, as public records.
func (s *Service) permitRecords(ctx context.Context, holderCode, codeType string, types []string, now time.Time) ([]*Record, error) {
	if len(types) == 0 {
		return nil, nil
	}
	typeFilter := ""
	if len(types) == 1 {
		typeFilter = types[0]
	}
	ps, err := s.lib.ByHolder(ctx, holderCode, codeType, typeFilter)
	if errs.Is(err, errs.Invalid) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("sharing: list permits: %w", err)
	}
	typeOf := map[string]*library.Type{}
	var out []*Record
	for _, pm := range ps {
		if !slices.Contains(types, pm.TypeCode) {
			continue
		}
		t, ok := typeOf[pm.TypeCode]
		if !ok {
			if t, err = s.lib.Type(ctx, pm.TypeCode); err != nil {
				return nil, fmt.Errorf("sharing: permit type %s: %w", pm.TypeCode, err)
			}
			typeOf[pm.TypeCode] = t
		}
		out = append(out, publicRecord(pm, t, now))
	}
	return out, nil
}

// listEvent is the usage record of a listing: its result and the identifiers listed.
func (s *Service) listEvent(c *Caller, p Purpose, holderCode string, recs []*Record, now time.Time) audit.Event {
	result := "none"
	if len(recs) > 0 {
		result = "ok"
	}
	ev := s.event(c, p, "list", holderCode, "", result, now)
	if len(recs) > 1 {
		ids := make([]string, len(recs))
		for i, r := range recs {
			ids[i] = r.Identifier
		}
		ev.Data, _ = json.Marshal(listUsage{usage: usageOf(p, "", result), Identifiers: ids}) // strings only: always encodes
	}
	return ev
}

// listUsage is the usage record of a listing that returned several licences.
type listUsage struct {
	usage
	Identifiers []string `json:"identifiers"`
}

// verifyPermit verifies a permit by fields: it is named by identifier or by type and number;
// the number, holder code (Code) and holder name (Name) given are compared; the result
// follows its state (STANDARDS §7): valid 0, not yet valid 1, suspended 2, expired, cancelled,
// revoked or superseded 3.
func (s *Service) verifyPermit(ctx context.Context, f Fields) (*Verification, error) {
	id, typ, number := strings.ToUpper(strings.TrimSpace(f.Identifier)), strings.ToUpper(strings.TrimSpace(f.TypeCode)), strings.ToUpper(strings.TrimSpace(f.Number))
	var pm *library.Permit
	var err error
	switch {
	case id != "":
		pm, err = s.lib.Get(ctx, id)
	case typ != "" && number != "":
		pm, err = s.lib.Current(ctx, typ, number)
	case f.Code == "" && f.Name == "" && typ == "" && number == "":
		return verdict(document.ResultNoData), nil
	default:
		return verdict(document.ResultNotEnough), nil
	}
	if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Invalid) {
		return verdict(document.ResultNoSuchLicence), nil
	}
	if err != nil {
		return nil, fmt.Errorf("sharing: verify permit: %w", err)
	}
	var wrong []string
	check := func(field, given, want string) {
		if given != "" && norm(given) != norm(want) {
			wrong = append(wrong, field)
		}
	}
	check("number", number, pm.Number)
	if typ != "" && id != "" {
		check("type_code", typ, pm.TypeCode)
	}
	check("code", uscc.Normalize(f.Code), pm.HolderCode)
	check("name", f.Name, pm.HolderName)
	now := s.now()
	var v *Verification
	switch st := pm.State(now); {
	case len(wrong) > 0:
		v = verdict(document.ResultWrong, wrong...)
		zh, en := make([]string, len(wrong)), make([]string, len(wrong))
		for i, w := range wrong {
			zh[i], en[i] = permitFieldNames[w].zh, permitFieldNames[w].en
		}
		v.ZH += "：" + strings.Join(zh, "、") + "不符"
		v.EN += ": " + strings.Join(en, ", ") + " do not match"
	case st == library.Valid && pm.ValidFrom > now.In(chinaTime).Format(time.DateOnly):
		v = verdict(document.ResultNotActivated)
	case st == library.Valid:
		v = verdict(document.ResultValid)
	case st == library.Suspended:
		v = verdict(document.ResultSuspended)
	default: // expired, cancelled, revoked, superseded
		v = verdict(document.ResultNoLonger)
	}
	v.Identifier, v.Code, v.Status = pm.Identifier, pm.HolderCode, license.Status(pm.State(now))
	return v, nil
}

// chinaTime is China Standard Time, the time zone of the dates on licences.
var chinaTime = time.FixedZone("CST", 8*3600)

var permitFieldNames = map[string]struct{ zh, en string }{
	"number":    {"证照编号", "licence number"},
	"type_code": {"证照类型", "licence type"},
	"code":      {"持证主体代码", "holder code"},
	"name":      {"持证主体名称", "holder name"},
}
