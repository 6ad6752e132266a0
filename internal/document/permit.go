package document

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/citizen"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/ident"
	"github.com/elicense/elicense/internal/qrtoken"
)

// Permits: licences of other types (食品经营许可证, 排污许可证, 建筑业企业资质证书 …) that other
// departments issue into the enterprise licence library. The document package does not know the
// library: it renders and verifies a neutral description of a permit version, Permit, which the
// library maps its own records to. The layout is a generic certificate (layout_permit.go): the
// type's name as the title, the holder, the number, the face items as label/value rows, the
// issuing department with the date under its seal, and a QR code to the public verification page.

// Permit is one version of a licence of another type, as its document shows it: the national
// catalogue metadata (STANDARDS §3) and the type's face items.
type Permit struct {
	TypeCode   string `json:"type_code"`    // licence type code: the defining authority's credit code + 3 digits
	TypeName   string `json:"type_name"`    // e.g. 食品经营许可证: the document's title
	TypeNameEN string `json:"type_name_en"` // e.g. Food Business Licence (optional)
	Identifier string `json:"identifier"`   // 电子证照标识 (GB/T 36904) of this version
	Number     string `json:"number"`       // 证照编号
	Version    int    `json:"version"`

	HolderName     string `json:"holder_name"`
	HolderCode     string `json:"holder_code"`
	HolderCodeType string `json:"holder_code_type"` // GB/T 36903 appendix A: 001 USCC, 099, 111 citizen ID, 414, 511, 516, 999
	IssuerCode     string `json:"issuer_code"`      // the issuing department's credit code: an authority in package keys
	IssuerName     string `json:"issuer_name"`
	AreaCode       string `json:"area_code"` // GB/T 2260 division (6 digits; optional)

	IssuedAt   time.Time `json:"issued_at"`
	ValidFrom  time.Time `json:"valid_from,omitzero"`  // zero: from the issue date
	ValidUntil time.Time `json:"valid_until,omitzero"` // zero: 长期 (no expiry)

	Items  []Item `json:"items"`  // the type's face items, in the order shown; items without a value are not shown
	Status string `json:"status"` // valid (or active), suspended, cancelled, revoked, expired, superseded
}

// Item is a face item of a permit: its label in Chinese (shown) and English, and its value
// (line breaks are kept).
type Item struct {
	LabelZH string `json:"label_zh"`
	LabelEN string `json:"label_en,omitempty"`
	Value   string `json:"value"`
}

// Permits is how the service finds the registered data of a permit version for verification.
type Permits interface {
	// Permit returns the permit version with this identifier (an *errs.Error of kind NotFound when
	// there is none).
	Permit(ctx context.Context, identifier string) (*Permit, error)
}

// Permit statuses the verifier understands (the library's, and the licence's words for the same).
const (
	PermitValid      = "valid"
	PermitSuspended  = "suspended"
	PermitCancelled  = "cancelled"
	PermitRevoked    = "revoked"
	PermitExpired    = "expired"
	PermitSuperseded = "superseded"
)

// Limits of a permit's fields, in characters.
const (
	maxPermitItems    = 200
	maxPermitLabel    = 40
	maxPermitValue    = 10000
	maxPermitText     = 60000 // all values together
	maxPermitTypeName = 60
	maxPermitName     = 200
)

// holderCodeTypes are the holder code types (GB/T 36903 appendix A, STANDARDS §3) with the label
// the document prints before the code, and whether the holder is a person.
var holderCodeTypes = map[string]struct {
	zh, en string
	person bool
}{
	"001": {"统一社会信用代码", "Unified social credit code", false},
	"099": {"组织机构代码", "Organisation code", false},
	"111": {"公民身份号码", "Citizen ID number", true},
	"414": {"护照号码", "Passport number", true},
	"511": {"台湾居民来往大陆通行证号码", "Taiwan travel permit number", true},
	"516": {"港澳居民来往内地通行证号码", "Hong Kong/Macao travel permit number", true},
	"999": {"证件号码", "Document number", true},
}

// checkPermit validates a permit for rendering; errors name the field (permit.items[2].value).
func checkPermit(p *Permit) error {
	if p == nil {
		return errors.New("document: render: no permit")
	}
	text := func(field, zh, v string, max int, required, multiline bool) error {
		n := utf8.RuneCountInString(v)
		switch {
		case !utf8.ValidString(v):
			return invalid(field, zh+"不是有效的 UTF-8 文本", field+" is not valid UTF-8 text")
		case required && strings.TrimSpace(v) == "":
			return invalid(field, "缺少"+zh, field+" is missing")
		case n > max:
			return invalid(field, fmt.Sprintf("%s过长（%d 个字符，上限 %d）", zh, n, max), fmt.Sprintf("%s is too long (%d characters, limit %d)", field, n, max))
		}
		for i, r := range []rune(v) {
			if (unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t'))) || r == '\u2028' || r == '\u2029' {
				return invalid(field, fmt.Sprintf("%s的第 %d 个字符是控制字符", zh, i+1), fmt.Sprintf("%s: character %d is a control character", field, i+1))
			}
		}
		return nil
	}
	for _, f := range []struct {
		field, zh, v string
		max          int
		required     bool
	}{
		{"permit.type_code", "证照类型代码", p.TypeCode, ident.TypeCodeLen, true},
		{"permit.type_name", "证照类型名称", p.TypeName, maxPermitTypeName, true},
		{"permit.type_name_en", "证照类型英文名称", p.TypeNameEN, 2 * maxPermitTypeName, false},
		{"permit.identifier", "电子证照标识", p.Identifier, ident.MaxLen, true},
		{"permit.number", "证照编号", p.Number, 64, true},
		{"permit.holder_name", "持证主体名称", p.HolderName, maxPermitName, true},
		{"permit.holder_code", "持证主体代码", p.HolderCode, 64, true},
		{"permit.issuer_code", "发证机关代码", p.IssuerCode, 64, true},
		{"permit.issuer_name", "发证机关名称", p.IssuerName, 100, true},
		{"permit.area_code", "行政区划代码", p.AreaCode, 6, false},
	} {
		if err := text(f.field, f.zh, f.v, f.max, f.required, false); err != nil {
			return err
		}
	}
	id, err := ident.Parse(p.Identifier)
	if err != nil {
		e := errs.Invalidf("permit.identifier", "电子证照标识无效", "invalid licence identifier")
		var pr *ident.Problem
		if errors.As(err, &pr) {
			e = invalid("permit.identifier", "电子证照标识无效："+pr.MessageZH(), "invalid licence identifier: "+pr.MessageEN())
		}
		return e
	}
	if !strings.EqualFold(id.TypeCode, p.TypeCode) {
		return errs.Invalidf("permit.type_code", "证照类型代码 %s 与电子证照标识中的 %s 不一致", "type code %s differs from %s in the identifier",
			p.TypeCode, id.TypeCode)
	}
	if p.Version != id.Version {
		return errs.Invalidf("permit.version", "版本 %d 与电子证照标识中的 %d 不一致", "version %d differs from %d in the identifier",
			p.Version, id.Version)
	}
	if _, ok := holderCodeTypes[p.HolderCodeType]; !ok {
		return errs.Invalidf("permit.holder_code_type", "持证主体代码类型 %q 不在 GB/T 36903 附录 A 之列（001、099、111、414、511、516、999）",
			"holder code type %q is not one of GB/T 36903 appendix A (001, 099, 111, 414, 511, 516, 999)", p.HolderCodeType)
	}
	if p.AreaCode != "" && (len(p.AreaCode) != 6 || !allDigits(p.AreaCode)) {
		return errs.Invalidf("permit.area_code", "行政区划代码应为 6 位数字（GB/T 2260）", "the area code must be 6 digits (GB/T 2260)")
	}
	if p.IssuedAt.IsZero() {
		return errs.Invalidf("permit.issued_at", "缺少发证日期", "the issue date is missing")
	}
	if !p.ValidUntil.IsZero() && p.ValidUntil.Before(p.validFrom()) {
		return errs.Invalidf("permit.valid_until", "有效期截止日早于起始日", "the validity ends before it starts")
	}
	if len(p.Items) > maxPermitItems {
		return errs.Invalidf("permit.items", "证照事项过多（%d 项，上限 %d）", "too many items (%d, limit %d)", len(p.Items), maxPermitItems)
	}
	total := 0
	for i, it := range p.Items {
		f := fmt.Sprintf("permit.items[%d]", i)
		if err := text(f+".label_zh", "事项名称", it.LabelZH, maxPermitLabel, true, false); err != nil {
			return err
		}
		if err := text(f+".label_en", "事项英文名称", it.LabelEN, 2*maxPermitLabel, false, false); err != nil {
			return err
		}
		if err := text(f+".value", "事项“"+it.LabelZH+"”的内容", it.Value, maxPermitValue, false, true); err != nil {
			return err
		}
		total += utf8.RuneCountInString(it.Value)
	}
	if total > maxPermitText {
		return errs.Invalidf("permit.items", "证照事项内容合计过长（%d 个字符，上限 %d）", "the items are too long in all (%d characters, limit %d)", total, maxPermitText)
	}
	return nil
}

// validFrom is when the permit's validity starts: ValidFrom, or the issue date.
func (p *Permit) validFrom() time.Time {
	if p.ValidFrom.IsZero() {
		return p.IssuedAt
	}
	return p.ValidFrom
}

// personHolder reports whether the holder is a person (its code is a personal document number).
func (p *Permit) personHolder() bool { return holderCodeTypes[p.HolderCodeType].person }

// tokenCode is the holder's code as the QR token carries it: a person's document number masked,
// since a QR code is read by anyone who sees the document.
func (p *Permit) tokenCode() string {
	if p.personHolder() {
		return citizen.Mask(p.HolderCode)
	}
	return p.HolderCode
}

// permitClaims are the claims of the QR token of permit p, signed by its issuing department's
// certificate with serial certSerial.
func permitClaims(p *Permit, certSerial string) qrtoken.Claims {
	return qrtoken.Claims{
		Type: qrtoken.TypePermit, Identifier: p.Identifier, Code: p.tokenCode(), Version: p.Version,
		IssuedAt: p.IssuedAt.UTC().Truncate(time.Second), AuthorityCode: p.IssuerCode, CertSerial: certSerial,
	}
}

// permitSigned is the canonical encoding of a permit version that the issuing department signs
// in every document of it (and the verifier compares with the register): JSON with the fields in
// this order, times in UTC to the second. The status is not part of it (it changes).
type permitSigned struct {
	Format         string `json:"format"`
	Identifier     string `json:"identifier"`
	TypeCode       string `json:"type_code"`
	TypeName       string `json:"type_name"`
	TypeNameEN     string `json:"type_name_en,omitempty"`
	Number         string `json:"number"`
	Version        int    `json:"version"`
	HolderName     string `json:"holder_name"`
	HolderCode     string `json:"holder_code"`
	HolderCodeType string `json:"holder_code_type"`
	IssuerCode     string `json:"issuer_code"`
	IssuerName     string `json:"issuer_name"`
	AreaCode       string `json:"area_code,omitempty"`
	IssuedAt       string `json:"issued_at"`
	ValidFrom      string `json:"valid_from,omitempty"`
	ValidUntil     string `json:"valid_until,omitempty"`
	Items          []Item `json:"items"`
}

const permitSignedFormat = "elicense-permit/1"

func utcText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// PermitSignedBytes is the canonical encoding of permit version p that its documents embed,
// signed with SM2 by the issuing department when the document is rendered.
func PermitSignedBytes(p *Permit) []byte {
	items := p.Items
	if items == nil {
		items = []Item{}
	}
	b, _ := json.Marshal(permitSigned{ // strings, numbers and a slice of strings cannot fail
		Format: permitSignedFormat, Identifier: p.Identifier, TypeCode: p.TypeCode, TypeName: p.TypeName,
		TypeNameEN: p.TypeNameEN, Number: p.Number, Version: p.Version,
		HolderName: p.HolderName, HolderCode: p.HolderCode, HolderCodeType: p.HolderCodeType,
		IssuerCode: p.IssuerCode, IssuerName: p.IssuerName, AreaCode: p.AreaCode,
		IssuedAt: utcText(p.IssuedAt), ValidFrom: utcText(p.ValidFrom), ValidUntil: utcText(p.ValidUntil),
		Items: items,
	})
	return b
}

// RenderPermit renders permit version p as a sealed document: the generic certificate layout,
// the issuing department's seal (the department is an authority in package keys, and seals
// exactly as a registering authority does), a QR code of a permit token signed by the department,
// and the permit's data embedded with the department's SM2 signature.
func (s *Service) RenderPermit(ctx context.Context, p *Permit, o Options) ([]byte, error) {
	return s.renderPermit(ctx, p, o, nil)
}

// renderPermit renders permit p: an original, or with m a watermarked copy.
func (s *Service) renderPermit(ctx context.Context, p *Permit, o Options, m *Mark) ([]byte, error) {
	if err := checkPermit(p); err != nil {
		return nil, err
	}
	r, err := s.start(ctx, o, p.IssuerCode)
	if err != nil {
		return nil, err
	}
	if r.lay, err = layoutPermit(p, layoutOptions{Copy: r.opts.Copy, Font: r.font.font}); err != nil {
		return nil, err
	}
	r.placeSeal()
	if r.qr, err = s.qrFor(ctx, permitClaims(p, r.auth.Serial), r.signer, r.opts.PublicURL); err != nil {
		return nil, err
	}
	data := PermitSignedBytes(p)
	sig, err := r.signer.Sign(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("document: sign permit data: %w", err)
	}
	r.payload = payload{
		Format: permitPayloadFormat, Identifier: p.Identifier, Code: p.HolderCode, Version: p.Version,
		AuthorityCode: p.IssuerCode, CertSerial: r.auth.Serial, IssuedAt: p.IssuedAt.UTC().Truncate(time.Second),
		Copy: r.opts.Copy, RenderedAt: r.at, TypeCode: p.TypeCode,
		Data: base64.StdEncoding.EncodeToString(data), Signature: base64.StdEncoding.EncodeToString(sig),
	}
	r.meta = docMeta{
		Title: p.TypeName + " " + p.HolderName, Author: p.IssuerName,
		Subject: p.TypeName + " " + p.Identifier, Keywords: p.Number,
		Category: p.TypeName, Reason: p.TypeName + " " + p.Identifier, ReasonASCII: "licence " + p.Identifier,
		Custom: []customData{{"电子证照标识", "Identifier", p.Identifier}, {"证照类型代码", "TypeCode", p.TypeCode},
			{"证照编号", "Number", p.Number}, {"版本", "Version", strconv.Itoa(p.Version)}},
	}
	if m != nil {
		if err := s.prepareCopy(ctx, r, m); err != nil {
			return nil, err
		}
	}
	return s.write(ctx, r)
}

// invalid is an Invalid error for field whose messages are already formatted.
func invalid(field, zh, en string) *errs.Error { return errs.New(errs.Invalid, field, zh, en) }
