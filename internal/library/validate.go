package library

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/citizen"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/ident"
	"github.com/elicense/elicense/internal/uscc"
)

// Limits of a permit's fields.
const (
	MaxHolderName = 200
	MaxReason     = 500
	MaxExtension  = 16 << 10 // bytes of extension data
	maxHolderCode = 64
)

// Issuance is what an issuing department submits to issue a permit, or to change one (then
// empty fields keep the current values, and Items, when given, replace them all).
type Issuance struct {
	TypeCode       string `json:"type_code"`
	Number         string `json:"number"`                     // 证照编号: 1–64 letters and digits
	HolderName     string `json:"holder_name"`                // 持证主体
	HolderCode     string `json:"holder_code"`                // 持证主体代码
	HolderCodeType string `json:"holder_code_type,omitempty"` // default 001 (unified social credit code)
	AreaCode       string `json:"area_code,omitempty"`        // default: the issuer's division
	IssueDate      string `json:"issue_date,omitempty"`       // default: today (China Standard Time)
	ValidFrom      string `json:"valid_from,omitempty"`       // default: the issue date
	// ValidUntil is the last day of validity; default: ValidFrom plus the type's longest
	// validity (the day before the anniversary), or without end when the type has none.
	ValidUntil string            `json:"valid_until,omitempty"`
	Items      map[string]string `json:"items"`
	Extension  json.RawMessage   `json:"extension,omitempty"`
}

var (
	numberPattern = regexp.MustCompile(`^[0-9A-Z]{1,64}$`)
	decimal       = regexp.MustCompile(`^-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,6})?$`)
	docPattern    = regexp.MustCompile(`^[0-9A-Z]{1,64}$`)
)

// holderCodeTypes are the holder code types of GB/T 36903 appendix A with their names.
var holderCodeTypes = map[string][2]string{
	CodeUSCC:         {"统一社会信用代码", "unified social credit code"},
	CodeOtherOrg:     {"其他组织机构代码", "other organisation code"},
	CodeCitizenID:    {"居民身份证号码", "citizen ID number"},
	CodePassport:     {"普通护照", "passport"},
	CodeTaiwanPermit: {"台湾居民来往大陆通行证", "Taiwan travel permit"},
	CodeHKMacao:      {"港澳居民来往内地通行证", "Hong Kong/Macao travel permit"},
	CodeOtherPerson:  {"其他个人证件", "other personal document"},
}

// HolderCodeTypeName returns the name of a holder code type in both languages.
func HolderCodeTypeName(t string) (zh, en string) {
	n, ok := holderCodeTypes[t]
	if !ok {
		return t, t
	}
	return n[0], n[1]
}

// IsPerson reports whether a holder code type names a personal document, whose code and name
// are personal data (masked for the public).
func IsPerson(codeType string) bool {
	switch codeType {
	case CodeCitizenID, CodePassport, CodeTaiwanPermit, CodeHKMacao, CodeOtherPerson:
		return true
	}
	return false
}

// checker collects every problem of an issuance.
type checker struct{ list errs.List }

func (c *checker) add(field, zh, en string) {
	c.list = append(c.list, errs.New(errs.Invalid, field, zh, en))
}

// text trims *v and checks it is present (when required), at most max characters and free of
// control characters, naming the position of a bad character.
func (c *checker) text(field, zhName, enName string, v *string, max int, required bool) bool {
	*v = strings.TrimSpace(*v)
	if *v == "" {
		if required {
			c.add(field, zhName+"不能为空", enName+" is required")
		}
		return false
	}
	if !utf8.ValidString(*v) {
		c.add(field, zhName+"不是有效的 UTF-8 文本", enName+" is not valid UTF-8 text")
		return false
	}
	if i, r := controlAt(*v); i > 0 {
		c.add(field, fmt.Sprintf("%s第 %d 个字符 %U 不允许", zhName, i, r), fmt.Sprintf("%s: character %d (%U) is not allowed", enName, i, r))
		return false
	}
	if n := utf8.RuneCountInString(*v); n > max {
		c.add(field, fmt.Sprintf("%s最多 %d 个字符，实际 %d 个", zhName, max, n), fmt.Sprintf("%s may have at most %d characters, got %d", enName, max, n))
		return false
	}
	return true
}

// date checks a YYYY-MM-DD date.
func (c *checker) date(field, zhName, enName, v string) (time.Time, bool) {
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		c.add(field, fmt.Sprintf("%s应为 YYYY-MM-DD 格式的有效日期，收到 %q", zhName, v),
			fmt.Sprintf("%s must be a valid date as YYYY-MM-DD, got %q", enName, v))
		return t, false
	}
	return t, true
}

// holder validates the holder's code for its type, normalising it.
func (s *Service) holder(c *checker, codeType string, code *string) {
	*code = strings.ToUpper(strings.TrimSpace(*code))
	if *code == "" {
		c.add("holder_code", "持证主体代码不能为空", "the holder's code is required")
		return
	}
	switch codeType {
	case CodeUSCC:
		if err := s.checkCredit("holder_code", "持证主体统一社会信用代码", "the holder's credit code", *code); err != nil {
			c.list = append(c.list, err)
		}
	case CodeCitizenID:
		if err := citizen.Check(*code); err != nil {
			c.add("holder_code", "持证主体居民身份证号码无效："+err.Error(), "the holder's citizen ID number is not valid: "+err.Error())
		}
	default:
		if !docPattern.MatchString(*code) {
			zh, en := HolderCodeTypeName(codeType)
			c.add("holder_code", fmt.Sprintf("持证主体代码（%s）应为 1 到 %d 个字母或数字", zh, maxHolderCode),
				fmt.Sprintf("the holder's code (%s) must be 1 to %d letters or digits", en, maxHolderCode))
		}
	}
}

// items validates the face items against the type's schema: unknown keys, required items,
// kinds, enum values and lengths, each error naming items.<key>. Empty values are dropped.
func (c *checker) items(t *Type, in map[string]string) map[string]string {
	out := make(map[string]string, len(in))
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	bad := map[string]bool{} // items already reported
	for _, k := range keys {
		v := in[k]
		field := "items." + k
		n := len(c.list)
		c.item(t, k, field, v, out)
		bad[k] = len(c.list) > n
	}

	for _, it := range t.Items {
		if _, ok := out[it.Key]; it.Required && !ok && !bad[it.Key] {
			c.add("items."+it.Key, it.LabelZH+"不能为空", it.LabelEN+" is required")
		}
	}
	return out
}

// item validates one face item, adding it to out when valid.
func (c *checker) item(t *Type, k, field, v string, out map[string]string) {
	it, ok := t.item(k)
	if !ok {
		c.add(field, fmt.Sprintf("“%s”没有照面项 %q", t.Name, k), fmt.Sprintf("%s has no face item %q", t.NameEN, k))
		return
	}
	if it.Kind != Text {
		v = strings.TrimSpace(v)
	}
	max := it.MaxLen
	if max == 0 {
		max = DefaultMaxLen
	}
	if !c.text(field, it.LabelZH, it.LabelEN, &v, max, false) {
		return
	}
	switch it.Kind {
	case Date:
		if _, ok := c.date(field, it.LabelZH, it.LabelEN, v); !ok {
			return
		}
	case Number:
		if !decimal.MatchString(v) {
			c.add(field, fmt.Sprintf("%s应为数字（如 12 或 3.5），收到 %q", it.LabelZH, v),
				fmt.Sprintf("%s must be a number (e.g. 12 or 3.5), got %q", it.LabelEN, v))
			return
		}
	case Enum:
		if !slices.Contains(it.Options, v) {
			c.add(field, fmt.Sprintf("%s应为以下之一：%s；收到 %q", it.LabelZH, strings.Join(it.Options, "、"), v),
				fmt.Sprintf("%s must be one of %s; got %q", it.LabelEN, strings.Join(it.Options, ", "), v))
			return
		}
	}
	out[k] = v
}

// extension checks the extension data: a JSON object of at most MaxExtension bytes, compacted.
func (c *checker) extension(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if len(raw) > MaxExtension {
		c.add("extension", fmt.Sprintf("扩展信息不能超过 %d 字节", MaxExtension), fmt.Sprintf("the extension data may have at most %d bytes", MaxExtension))
		return nil
	}
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if raw[0] != '{' || dec.Decode(&obj) != nil {
		c.add("extension", "扩展信息应为 JSON 对象", "the extension data must be a JSON object")
		return nil
	}
	return canonicalJSON(raw)
}

// canonicalJSON re-encodes a valid JSON value canonically, so that its signature survives any
// re-encoding on the way: object keys sorted, numbers as written, no HTML escaping, compact.
func canonicalJSON(raw []byte) []byte {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return raw
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// isDivision reports whether s is a six-digit GB/T 2260 division code.
func isDivision(s string) bool { return len(s) == 6 && allDigits(s) && s != "000000" }

// build validates in against t and fills p (its content, not identifier, version or
// signature). today is the date in China Standard Time; region the issuer's division.
func (s *Service) build(t *Type, in *Issuance, today, region string, p *Permit) error {
	c := &checker{}
	in.Number = strings.ToUpper(strings.TrimSpace(in.Number))
	switch {
	case in.Number == "":
		c.add("number", "证照编号不能为空", "the licence number is required")
	case !numberPattern.MatchString(in.Number):
		c.add("number", fmt.Sprintf("证照编号应为 1 到 %d 个字母或数字，收到 %q", ident.MaxSerialLen, in.Number),
			fmt.Sprintf("the licence number must be 1 to %d letters or digits, got %q", ident.MaxSerialLen, in.Number))
	}
	c.text("holder_name", "持证主体名称", "the holder's name", &in.HolderName, MaxHolderName, true)
	in.HolderCodeType = strings.TrimSpace(in.HolderCodeType)
	if in.HolderCodeType == "" {
		in.HolderCodeType = CodeUSCC
	}
	if _, ok := holderCodeTypes[in.HolderCodeType]; !ok {
		c.add("holder_code_type", fmt.Sprintf("持证主体代码类型 %q 未知，应为 001、099、111、414、511、516 或 999（GB/T 36903）", in.HolderCodeType),
			fmt.Sprintf("unknown holder code type %q: want 001, 099, 111, 414, 511, 516 or 999 (GB/T 36903)", in.HolderCodeType))
	} else {
		s.holder(c, in.HolderCodeType, &in.HolderCode)
	}
	in.AreaCode = strings.TrimSpace(in.AreaCode)
	if in.AreaCode == "" {
		in.AreaCode = region
	}
	if !isDivision(in.AreaCode) {
		c.add("area_code", fmt.Sprintf("行政区划代码应为 6 位数字（GB/T 2260），收到 %q", in.AreaCode),
			fmt.Sprintf("the area code must be a 6-digit division code (GB/T 2260), got %q", in.AreaCode))
	}

	in.IssueDate = strings.TrimSpace(in.IssueDate)
	if in.IssueDate == "" {
		in.IssueDate = today
	}
	if _, ok := c.date("issue_date", "发证日期", "the issue date", in.IssueDate); ok && in.IssueDate > today {
		c.add("issue_date", "发证日期不能晚于今天 "+today, "the issue date cannot be after today, "+today)
	}
	in.ValidFrom = strings.TrimSpace(in.ValidFrom)
	if in.ValidFrom == "" {
		in.ValidFrom = in.IssueDate
	}
	from, fromOK := c.date("valid_from", "有效期起始日期", "the start of validity", in.ValidFrom)
	in.ValidUntil = strings.TrimSpace(in.ValidUntil)
	if in.ValidUntil == "" && t.ValidityYears > 0 && fromOK {
		in.ValidUntil = lastDay(from, t.ValidityYears)
	}
	if in.ValidUntil != "" {
		until, ok := c.date("valid_until", "有效期截止日期", "the end of validity", in.ValidUntil)
		switch {
		case !ok || !fromOK:
		case until.Before(from):
			c.add("valid_until", "有效期截止日期不能早于起始日期 "+in.ValidFrom, "the end of validity cannot be before its start, "+in.ValidFrom)
		case t.ValidityYears > 0 && in.ValidUntil > lastDay(from, t.ValidityYears):
			c.add("valid_until", fmt.Sprintf("“%s”的有效期最长 %d 年，截止日期不能晚于 %s", t.Name, t.ValidityYears, lastDay(from, t.ValidityYears)),
				fmt.Sprintf("a %s is valid for at most %d years: the end of validity cannot be after %s", t.NameEN, t.ValidityYears, lastDay(from, t.ValidityYears)))
		}
	}
	items := c.items(t, in.Items)
	ext := c.extension(in.Extension)
	if err := c.list.Err(); err != nil {
		return err
	}
	*p = Permit{Number: in.Number, TypeCode: t.Code, TypeName: t.Name, DefinedBy: t.DefinedBy, DefinedByName: t.DefinedByName,
		IssueDate: in.IssueDate, ValidFrom: in.ValidFrom, ValidUntil: in.ValidUntil, AreaCode: in.AreaCode,
		HolderName: in.HolderName, HolderCode: in.HolderCode, HolderCodeType: in.HolderCodeType, Items: items, Extension: ext}
	return nil
}

// lastDay is the last day of a validity of years starting on from: the day before the
// anniversary.
func lastDay(from time.Time, years int) string {
	return from.AddDate(years, 0, -1).Format(time.DateOnly)
}

// normIdentifier validates a licence identifier, naming the field "identifier".
func normIdentifier(s string) (string, ident.ID, error) {
	id, err := ident.Parse(s)
	if err != nil {
		if p, ok := err.(interface {
			MessageZH() string
			MessageEN() string
		}); ok {
			return "", id, &errs.Error{Kind: errs.Invalid, Field: "identifier", ZH: "电子证照标识错误：" + p.MessageZH(),
				EN: "licence identifier: " + p.MessageEN(), Err: err}
		}
		return "", id, &errs.Error{Kind: errs.Invalid, Field: "identifier", ZH: "电子证照标识错误", EN: "invalid licence identifier", Err: err}
	}
	return strings.ToUpper(strings.TrimSpace(s)), id, nil
}

// normHolder normalises a holder code for look-ups.
func normHolder(code string) string { return uscc.Normalize(code) }
