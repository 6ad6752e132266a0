package sharing

// Archive (存档): a department records that it keeps a copy of one licence version, and gets
// a receipt signed with the platform's SM2 key over a canonical encoding (ReceiptBytes), which
// VerifyReceipt checks online and anyone can check offline with the platform certificate
// (docs/sharing.md). Archiving a version is a usage record; it needs the archive permission
// but not the entity's consent, since the receipt carries no face data.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/sharing/consent"
)

// Receipt is an archive receipt (存档回执).
type Receipt struct {
	ReceiptID   string    `json:"receipt_id"`
	Identifier  string    `json:"identifier"`
	Version     int       `json:"version"`
	DocumentSM3 string    `json:"document_sm3"` // hex SM3 of license.SignedBytes (a permit: library.SignedBytes) of the version
	ArchivedAt  time.Time `json:"archived_at"`
	Caller      string    `json:"caller"`    // the department's client ID
	Signature   []byte    `json:"signature"` // SM2 (DER) by the platform key over ReceiptBytes; base64 in JSON
	CertSerial  string    `json:"cert_serial"`
}

// receiptLabel starts the canonical encoding of a receipt.
const receiptLabel = "elicense-archive-receipt-v1\x00"

// ReceiptBytes is the canonical encoding the platform signs: the label
// "elicense-archive-receipt-v1" and a zero byte, then receipt_id, identifier, version (decimal),
// document_sm3 (lower-case hex), archived_at (decimal Unix microseconds, UTC) and caller, each as
// a 4-byte big-endian length and its UTF-8 bytes.
func ReceiptBytes(r *Receipt) []byte {
	var b bytes.Buffer
	b.WriteString(receiptLabel)
	for _, f := range []string{r.ReceiptID, r.Identifier, strconv.Itoa(r.Version), strings.ToLower(r.DocumentSM3),
		strconv.FormatInt(r.ArchivedAt.UTC().UnixMicro(), 10), r.Caller} {
		b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(f))))
		b.WriteString(f)
	}
	return b.Bytes()
}

// DocumentSM3 is the hex SM3 of a licence version's canonical signed data.
func DocumentSM3(l *license.Licence) string {
	h := gm.SM3(license.SignedBytes(l))
	return hex.EncodeToString(h[:])
}

func receiptOf(a *consent.Archive) *Receipt {
	return &Receipt{ReceiptID: a.ReceiptID, Identifier: a.Identifier, Version: a.Version, DocumentSM3: a.DocumentSM3,
		ArchivedAt: a.ArchivedAt, Caller: a.ClientID, Signature: a.Signature, CertSerial: a.CertSerial}
}

// Archive records that the caller keeps a copy of the licence version identifier (the
// identifier names the version) and returns the signed receipt.
func (s *Service) Archive(ctx context.Context, c *Caller, p Purpose, identifier string) (*Receipt, error) {
	if err := s.consentOn(); err != nil {
		return nil, err
	}
	identifier = strings.ToUpper(strings.TrimSpace(identifier))
	if err := s.begin(ctx, c, &p, OpArchive, "archive", s.typeOf(identifier), identifier); err != nil {
		return nil, err
	}
	now := s.now().Truncate(time.Microsecond)
	if s.isPermitType(identifier) {
		return s.archivePermit(ctx, c, p, identifier, now) // permits.go
	}
	l, err := s.lookup(ctx, identifier)
	switch {
	case errs.Is(err, errs.NotFound):
		if rerr := s.record(ctx, s.event(c, p, "archive", identifier, identifier, "not_found", now)); rerr != nil {
			return nil, rerr
		}
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("sharing: archive: %w", err)
	}
	if err := s.follow(ctx, c, l.Code); err != nil {
		return nil, err
	}
	return s.storeReceipt(ctx, c, p, l.Code, l.Identifier, l.Version, DocumentSM3(l), now)
}

// storeReceipt signs and stores the receipt of an archived version, with its usage record.
func (s *Service) storeReceipt(ctx context.Context, c *Caller, p Purpose, entity, identifier string, version int, sm3 string, now time.Time) (*Receipt, error) {
	r := &Receipt{ReceiptID: "AR" + rand.Text(), Identifier: identifier, Version: version, DocumentSM3: sm3,
		ArchivedAt: now, Caller: c.ClientID, CertSerial: s.cc.certSerial}
	var err error
	if r.Signature, err = s.cc.Signer.Sign(ctx, ReceiptBytes(r)); err != nil {
		return nil, fmt.Errorf("sharing: sign archive receipt: %w", err)
	}
	a := &consent.Archive{ReceiptID: r.ReceiptID, ClientID: c.ClientID, EntityCode: entity, Identifier: r.Identifier,
		Version: r.Version, DocumentSM3: r.DocumentSM3, Cause: p.Cause, Item: p.Item, CaseNumber: p.Case, ArchivedAt: now,
		Signature: r.Signature, CertSerial: r.CertSerial}
	u := consentUsage{usage: usageOf(p, identifier, "ok"), Receipt: r.ReceiptID}
	if err := s.cc.Store.AddArchive(ctx, a, s.usageEvent(c, "archive", entity, u, now)); err != nil {
		return nil, fmt.Errorf("sharing: archive: %w", err)
	}
	return r, nil
}

// ReceiptCheck is the answer of VerifyReceipt.
type ReceiptCheck struct {
	Valid           bool   `json:"valid"`            // all three below
	SignatureValid  bool   `json:"signature_valid"`  // the platform key signed these fields
	OnRecord        bool   `json:"on_record"`        // the platform keeps this receipt with these fields
	DocumentMatches bool   `json:"document_matches"` // the version's signed data still hashes to document_sm3
	ZH              string `json:"zh"`
	EN              string `json:"en"`
}

// VerifyReceipt checks an archive receipt: the platform's signature over its fields, that the
// platform keeps it as given, and that the licence version still hashes to its document_sm3.
// The caller needs the archive or the verify permission; the check is recorded.
func (s *Service) VerifyReceipt(ctx context.Context, c *Caller, r Receipt) (*ReceiptCheck, error) {
	if err := s.consentOn(); err != nil {
		return nil, err
	}
	typ := s.typeOf(r.Identifier) // a permit's receipt needs a permission of the permit's type
	if err := s.allow(ctx, c, OpArchive, typ); err != nil {
		if err2 := s.allow(ctx, c, OpVerify, typ); err2 != nil {
			return nil, err
		}
	}
	if strings.TrimSpace(r.ReceiptID) == "" {
		return nil, errs.New(errs.Invalid, "receipt_id", "缺少回执编号", "the receipt ID is missing")
	}
	var ck ReceiptCheck
	ck.SignatureValid = r.CertSerial == s.cc.certSerial && gm.Verify(s.cc.Signer.Public(), ReceiptBytes(&r), r.Signature)
	a, err := s.cc.Store.Archive(ctx, r.ReceiptID)
	switch {
	case err == nil:
		st := receiptOf(a)
		ck.OnRecord = st.Identifier == r.Identifier && st.Version == r.Version && strings.EqualFold(st.DocumentSM3, r.DocumentSM3) &&
			st.ArchivedAt.Equal(r.ArchivedAt) && st.Caller == r.Caller && bytes.Equal(st.Signature, r.Signature)
	case !errs.Is(err, errs.NotFound):
		return nil, fmt.Errorf("sharing: verify receipt: %w", err)
	}
	version, sm3, subject, found, err := s.receiptDocument(ctx, strings.ToUpper(strings.TrimSpace(r.Identifier)))
	if err != nil {
		return nil, err
	}
	ck.DocumentMatches = found && version == r.Version && strings.EqualFold(sm3, r.DocumentSM3)
	ck.Valid = ck.SignatureValid && ck.OnRecord && ck.DocumentMatches
	var zh, en []string
	if !ck.SignatureValid {
		zh, en = append(zh, "平台签名无效"), append(en, "the platform signature does not verify")
	}
	if !ck.OnRecord {
		zh, en = append(zh, "平台没有与之相符的存档记录"), append(en, "the platform holds no matching archive record")
	}
	if !ck.DocumentMatches {
		zh, en = append(zh, "证照数据摘要不符"), append(en, "the licence data digest does not match")
	}
	if ck.Valid {
		ck.ZH, ck.EN = "存档回执有效", "the archive receipt is valid"
	} else {
		ck.ZH, ck.EN = "存档回执无效："+strings.Join(zh, "；"), "the archive receipt is not valid: "+strings.Join(en, "; ")
	}
	u := consentUsage{usage: usage{Identifier: r.Identifier, Result: strconv.FormatBool(ck.Valid)}, Receipt: r.ReceiptID}
	if err := s.record(ctx, s.usageEvent(c, "archive_verify", subject, u, s.now())); err != nil {
		return nil, err
	}
	return &ck, nil
}

// Archive list page sizes.
const (
	DefaultArchivePage = 50
	MaxArchivePage     = 500
)

// ArchivePage is a page of the caller's archive receipts, newest first.
type ArchivePage struct {
	Receipts []*Receipt `json:"receipts"`
	Next     string     `json:"next,omitempty"` // cursor of the next page
}

// Archives lists the caller's own archive receipts.
func (s *Service) Archives(ctx context.Context, c *Caller, cursor string, limit int) (*ArchivePage, error) {
	if err := s.consentOn(); err != nil {
		return nil, err
	}
	switch {
	case limit <= 0:
		limit = DefaultArchivePage
	case limit > MaxArchivePage:
		limit = MaxArchivePage
	}
	as, next, err := s.cc.Store.Archives(ctx, c.ClientID, strings.TrimSpace(cursor), limit)
	if err != nil {
		return nil, err
	}
	out := &ArchivePage{Receipts: make([]*Receipt, len(as)), Next: next}
	for i, a := range as {
		out.Receipts[i] = receiptOf(a)
	}
	return out, nil
}
