package license

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/citizen"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/uscc"
)

// Length limits of face items, in characters (runes).
const (
	MaxName    = 200
	MaxType    = 100
	MaxPerson  = 60
	MaxAddress = 300
	MaxScope   = 10000 // several thousand characters happen; the layout continues on a second page
	MaxReason  = 500
)

// Forms of organisation of a 个体工商户 (组成形式).
const (
	FormPersonal = "个人经营"
	FormFamily   = "家庭经营"
)

// validator collects every problem of a registration so the caller sees them all at once.
type validator struct {
	list   errs.List
	labels Labels
	kind   Kind
}

func (v *validator) add(field string, l Label, zh, en string, args ...any) {
	v.list = append(v.list, &errs.Error{Kind: errs.Invalid, Field: field,
		ZH: l.ZH + fmt.Sprintf(zh, args...), EN: l.EN + fmt.Sprintf(en, args...)})
}

// text normalises a text item (trims spaces) and checks it is present, within its length and
// free of control characters. It names the position of a bad character.
func (v *validator) text(field string, l Label, s *string, min, max int) {
	*s = strings.TrimSpace(*s)
	if *s == "" {
		v.add(field, l, "不能为空", " is required")
		return
	}
	if !utf8.ValidString(*s) {
		v.add(field, l, "不是有效的UTF-8文本", " is not valid UTF-8 text")
		return
	}
	n := 0
	for _, r := range *s {
		n++
		if unicode.IsControl(r) && r != '\n' || r == '\uFFFD' {
			v.add(field, l, "第%d个字符 %U 不允许", ": character %d (%U) is not allowed", n, r)
			return
		}
	}
	if n < min {
		v.add(field, l, "至少%d个字符，实际%d个", " needs at least %d characters, got %d", min, n)
	}
	if n > max {
		v.add(field, l, "最多%d个字符，实际%d个", " may have at most %d characters, got %d", max, n)
	}
}

// forbid reports an item the kind does not have.
func (v *validator) forbid(field, zhName, enName string, present bool) {
	if present {
		zk, ek := KindName(v.kind)
		v.list = append(v.list, &errs.Error{Kind: errs.Invalid, Field: field,
			ZH: fmt.Sprintf("%s的营业执照没有“%s”一项", zk, zhName),
			EN: fmt.Sprintf("a licence of a %s has no %s", strings.ToLower(ek), enName)})
	}
}

func parseDate(s string) (time.Time, bool) {
	t, err := time.Parse(time.DateOnly, s)
	return t, err == nil
}

var currencies = map[string]bool{"CNY": true, "USD": true, "EUR": true, "HKD": true, "JPY": true,
	"GBP": true, "MOP": true, "TWD": true, "SGD": true, "AUD": true, "CAD": true, "CHF": true, "KRW": true}

// validAmount accepts a positive decimal of at most 12 integer and 6 fraction digits.
func validAmount(s string) bool {
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || len(intPart) > 12 || (hasDot && (frac == "" || len(frac) > 6)) {
		return false
	}
	nonZero := false
	for _, c := range intPart + frac {
		if c < '0' || c > '9' {
			return false
		}
		if c != '0' {
			nonZero = true
		}
	}
	return nonZero && (len(intPart) == 1 || intPart[0] != '0')
}

// personName allows letters of any script, the middle dot of transliterated names, spaces, and
// the hyphen, apostrophe and period of foreign names.
func personNameProblem(s string) (int, rune) {
	i := 0
	for _, r := range s {
		i++
		if unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) || strings.ContainsRune("·•. -'", r) {
			continue
		}
		return i, r
	}
	return 0, 0
}

// Validate checks and normalises a registration for actor a: every face item per kind
// (STANDARDS §3), the code, the region and the person's ID number. It returns an errs.List
// naming every field at fault.
func (s *Service) Validate(reg *Registration, a Actor) error {
	v := &validator{kind: reg.Kind, labels: LabelsFor(reg.Kind)}
	l := v.labels
	f := &reg.Face
	if f.Capital != nil {
		// Normalising must not write through a pointer the caller shares.
		c := *f.Capital
		f.Capital = &c
	}

	if _, ok := labels[reg.Kind]; !ok {
		v.list = append(v.list, errs.Invalidf("kind", "市场主体类型 %q 未知，应为 company、branch、partnership、sole_proprietorship、individual 或 cooperative",
			"unknown kind of entity %q: want company, branch, partnership, sole_proprietorship, individual or cooperative", reg.Kind))
	}

	// 统一社会信用代码 (GB 32100), or a legacy 注册号 for 个体工商户.
	reg.Code = uscc.Normalize(reg.Code)
	code, ck, err := s.codes.Validate(reg.Code)
	switch {
	case reg.Code == "":
		v.add("code", lCode, "不能为空", " is required")
	case err != nil:
		v.list = append(v.list, codeError("code", err))
	case ck == uscc.KindRegNo && reg.Kind != Individual:
		v.list = append(v.list, errs.Invalidf("code", "只有个体工商户可使用15位注册号，其他主体须使用18位统一社会信用代码",
			"only an individual business may use a 15-digit registration number; other entities need an 18-character credit code"))
	case ck == uscc.KindUSCC && code[0] == '9':
		// GB 32100 position 2 under market regulation: 1 enterprise, 2 个体工商户, 3 农民专业合作社.
		want := byte('1')
		switch reg.Kind {
		case Individual:
			want = '2'
		case Cooperative:
			want = '3'
		}
		if _, known := labels[reg.Kind]; known && code[1] != want {
			zk, ek := KindName(reg.Kind)
			v.list = append(v.list, errs.New(errs.Invalid, "code",
				fmt.Sprintf("第2位机构类别为 %c，与主体类型“%s”不符（应为 %c）", code[1], zk, want),
				fmt.Sprintf("position 2 (category) is %c, which does not match the kind %s (want %c)", code[1], strings.ToLower(ek), want)))
		}
	}
	if err == nil {
		reg.Code = code
	}

	v.text("face.name", l.Name, &f.Name, 2, MaxName)
	v.text("face.type", l.Type, &f.Type, 2, MaxType)
	v.text("face.person", l.Person, &f.Person, 2, MaxPerson)
	if f.Person != "" {
		if i, r := personNameProblem(f.Person); i > 0 {
			v.add("face.person", l.Person, "第%d个字符 %q 不允许出现在姓名中", ": character %d (%q) is not allowed in a name", i, r)
		}
	}
	v.text("face.address", l.Place, &f.Address, 5, MaxAddress)
	v.text("face.scope", l.Scope, &f.Scope, 2, MaxScope)

	// 注册资本 / 成员出资总额: amount in 万 and currency.
	if l.Capital.ZH != "" {
		switch {
		case f.Capital == nil || strings.TrimSpace(f.Capital.Amount) == "":
			v.add("face.capital.amount", l.Capital, "不能为空（以万为单位的金额）", " is required (an amount in units of 10,000)")
		default:
			f.Capital.Amount = strings.TrimSpace(f.Capital.Amount)
			f.Capital.Currency = strings.ToUpper(strings.TrimSpace(f.Capital.Currency))
			if f.Capital.Currency == "" {
				f.Capital.Currency = "CNY"
			}
			if !validAmount(f.Capital.Amount) {
				v.add("face.capital.amount", l.Capital, "金额 %q 无效：应为大于0的数字（万），最多6位小数", ": amount %q is not valid: want a positive number (in 10,000s) with at most 6 decimals", f.Capital.Amount)
			}
			if !currencies[f.Capital.Currency] {
				v.add("face.capital.currency", l.Capital, "币种 %q 不支持（ISO 4217 代码，如 CNY、USD）", ": currency %q is not supported (an ISO 4217 code such as CNY or USD)", f.Capital.Currency)
			}
		}
	} else {
		v.forbid("face.capital", "注册资本", "registered capital", f.Capital != nil)
	}

	// 组成形式 of a 个体工商户.
	f.Form = strings.TrimSpace(f.Form)
	if reg.Kind == Individual {
		switch f.Form {
		case FormPersonal, FormFamily:
		case "":
			v.add("face.form", l.Form, "不能为空（个人经营或家庭经营）", " is required (个人经营 or 家庭经营)")
		default:
			v.add("face.form", l.Form, "应为“个人经营”或“家庭经营”，实际为 %q", " must be 个人经营 (personal) or 家庭经营 (family), got %q", f.Form)
		}
	} else {
		v.forbid("face.form", "组成形式", "form of organisation", f.Form != "")
	}

	// Dates.
	today := s.clock().UTC().Format(time.DateOnly)
	f.EstablishedOn = strings.TrimSpace(f.EstablishedOn)
	est, estOK := parseDate(f.EstablishedOn)
	switch {
	case f.EstablishedOn == "":
		v.add("face.established_on", l.Date, "不能为空", " is required")
	case !estOK:
		v.add("face.established_on", l.Date, " %q 不是有效日期（YYYY-MM-DD）", " %q is not a valid date (YYYY-MM-DD)", f.EstablishedOn)
	case f.EstablishedOn > today:
		v.add("face.established_on", l.Date, "不能晚于今天（%s）", " cannot be later than today (%s)", today)
	case est.Year() < 1900:
		v.add("face.established_on", l.Date, "不能早于1900年", " cannot be before 1900")
	}

	f.TermFrom, f.TermTo = strings.TrimSpace(f.TermFrom), strings.TrimSpace(f.TermTo)
	if f.TermTo == "long-term" || f.TermTo == "长期有效" {
		f.TermTo = LongTerm
	}
	if l.Term.ZH != "" {
		from, fromOK := parseDate(f.TermFrom)
		switch {
		case f.TermFrom == "":
			v.add("face.term_from", l.Term, "起始日期不能为空", " start date is required")
		case !fromOK:
			v.add("face.term_from", l.Term, "起始日期 %q 无效（YYYY-MM-DD）", " start date %q is not a valid date (YYYY-MM-DD)", f.TermFrom)
		case estOK && from.Before(est):
			v.list = append(v.list, errs.New(errs.Invalid, "face.term_from",
				fmt.Sprintf("%s起始日期不能早于%s %s", l.Term.ZH, l.Date.ZH, f.EstablishedOn),
				fmt.Sprintf("%s cannot start before the %s %s", l.Term.EN, strings.ToLower(l.Date.EN), f.EstablishedOn)))
		}
		switch to, toOK := parseDate(f.TermTo); {
		case f.TermTo == "":
			v.add("face.term_to", l.Term, "截止日期不能为空（日期或“长期”）", " end is required (a date or 长期 for no end)")
		case f.TermTo == LongTerm:
		case !toOK:
			v.add("face.term_to", l.Term, "截止日期 %q 无效（YYYY-MM-DD 或“长期”）", " end %q is not a valid date (YYYY-MM-DD, or 长期 for no end)", f.TermTo)
		case fromOK && !to.After(from):
			v.add("face.term_to", l.Term, "截止日期须晚于起始日期", " must end after it starts")
		}
	} else {
		v.forbid("face.term_from", "营业期限", "business term", f.TermFrom != "" || f.TermTo != "")
	}

	// Citizen ID number of the person on the face: optional, checked when given.
	reg.PersonID = citizen.Normalize(reg.PersonID)
	if reg.PersonID != "" {
		if err := citizen.Check(reg.PersonID); err != nil {
			p := err.(*citizen.Problem)
			v.list = append(v.list, &errs.Error{Kind: errs.Invalid, Field: "person_id", ZH: "身份号码错误：" + p.ZH, EN: "ID number: " + p.EN})
		}
	}

	// Region (GB/T 2260): defaults to the code's division.
	reg.Region = strings.TrimSpace(reg.Region)
	if reg.Region == "" && err == nil {
		if ck == uscc.KindRegNo {
			reg.Region = reg.Code[:6]
		} else {
			reg.Region = uscc.Division(reg.Code)
		}
	}
	if reg.Region != "" && !isDivision(reg.Region) {
		v.list = append(v.list, errs.Invalidf("region", "行政区划代码 %q 无效：应为6位数字（GB/T 2260）", "division code %q is not valid: want 6 digits (GB/T 2260)", reg.Region))
	}

	// 登记机关.
	reg.Authority = uscc.Normalize(reg.Authority)
	if !a.AnyAuthority {
		if reg.Authority != "" && reg.Authority != a.Authority {
			v.list = append(v.list, errs.Invalidf("authority", "只能以本登记机关（%s）的名义办理", "you can only register for your own authority (%s)", a.Authority))
		}
		reg.Authority = a.Authority
	}
	if reg.Authority == "" {
		v.list = append(v.list, errs.Invalidf("authority", "登记机关不能为空", "the registering authority is required"))
	}
	return v.list.Err()
}

func isDivision(s string) bool {
	if len(s) != 6 || s == "000000" {
		return false
	}
	for i := 0; i < 6; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// codeError turns a code problem into an errs.Error for field.
func codeError(field string, err error) *errs.Error {
	if p, ok := err.(interface {
		MessageZH() string
		MessageEN() string
	}); ok {
		return &errs.Error{Kind: errs.Invalid, Field: field, ZH: "统一社会信用代码错误：" + p.MessageZH(), EN: "credit code: " + p.MessageEN()}
	}
	return &errs.Error{Kind: errs.Invalid, Field: field, ZH: "统一社会信用代码错误", EN: "credit code: " + err.Error()}
}
