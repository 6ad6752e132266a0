package license

import (
	"strings"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/uscc"
)

var testNow = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func testService() *Service {
	return NewService(Config{Clock: func() time.Time { return testNow }})
}

// code makes a valid credit code for a kind (GB 32100 category per kind).
func code(t *testing.T, category byte, org string) string {
	t.Helper()
	c, err := uscc.Generate('9', category, "330106", org)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func validRegs(t *testing.T) map[Kind]Registration {
	base := Face{Name: "杭州西湖示例科技有限公司", Type: "有限责任公司（自然人投资或控股）", Person: "张三",
		EstablishedOn: "2020-01-02", Address: "浙江省杭州市西湖区文三路100号", Scope: "技术服务、技术开发。（依法须经批准的项目，经相关部门批准后方可开展经营活动）"}
	withTerm := func(f Face) Face { f.TermFrom, f.TermTo = f.EstablishedOn, LongTerm; return f }
	withCap := func(f Face) Face { f.Capital = &Capital{Amount: "100", Currency: "CNY"}; return f }
	ind := base
	ind.Form = FormFamily
	ind.Type = "个体工商户"
	return map[Kind]Registration{
		Company:            {Code: code(t, '1', "MA2AAAAA"), Kind: Company, Face: withCap(withTerm(base)), PersonID: "11010519491231002X"},
		Branch:             {Code: code(t, '1', "MA2AAAAB"), Kind: Branch, Face: withTerm(base)},
		Partnership:        {Code: code(t, '1', "MA2AAAAC"), Kind: Partnership, Face: withTerm(base)},
		SoleProprietorship: {Code: code(t, '1', "MA2AAAAD"), Kind: SoleProprietorship, Face: base},
		Individual:         {Code: code(t, '2', "MA2AAAAE"), Kind: Individual, Face: ind},
		Cooperative:        {Code: code(t, '3', "MA2AAAAF"), Kind: Cooperative, Face: withCap(base)},
	}
}

func TestValidateEveryKind(t *testing.T) {
	s := testService()
	a := Actor{ID: "t", Authority: "11330106MB0000000X"}
	for k, reg := range validRegs(t) {
		if err := s.Validate(&reg, a); err != nil {
			t.Errorf("%s: Validate = %v", k, err)
		}
		if reg.Region != "330106" || reg.Authority != a.Authority {
			t.Errorf("%s: region %q authority %q not defaulted", k, reg.Region, reg.Authority)
		}
	}
	// A legacy 15-digit 注册号 is accepted for a 个体工商户 only.
	reg := validRegs(t)[Individual]
	reg.Code = "140000100028286"
	if err := s.Validate(&reg, a); err != nil || reg.Region != "140000" {
		t.Errorf("individual with 注册号: %v, region %q", err, reg.Region)
	}
}

// fields returns the fields named by a validation error.
func fields(err error) []string {
	var out []string
	if l, ok := err.(errs.List); ok {
		for _, e := range l {
			out = append(out, e.Field)
		}
	} else if e := errs.As(err); e != nil {
		out = append(out, e.Field)
	}
	return out
}

func TestValidateErrorsNameTheField(t *testing.T) {
	s := testService()
	a := Actor{ID: "t", Authority: "11330106MB0000000X"}
	regs := validRegs(t)
	cases := []struct {
		name   string
		kind   Kind
		mutate func(*Registration)
		field  string
		msg    string // part of the English message
	}{
		{"bad check digit", Company, func(r *Registration) { r.Code = r.Code[:17] + "0" }, "code", "position 18"},
		{"letter O", Company, func(r *Registration) { r.Code = r.Code[:10] + "O" + r.Code[11:] }, "code", "position 11"},
		{"category vs kind", Individual, func(r *Registration) { r.Code = regs[Company].Code }, "code", "position 2"},
		{"regno for company", Company, func(r *Registration) { r.Code = "140000100028286" }, "code", "15-digit"},
		{"unknown kind", Company, func(r *Registration) { r.Kind = "llc" }, "kind", "unknown kind"},
		{"no name", Company, func(r *Registration) { r.Face.Name = "  " }, "face.name", "Name is required"},
		{"control char", Company, func(r *Registration) { r.Face.Name = "杭州\x07公司" }, "face.name", "character 3"},
		{"long scope", Company, func(r *Registration) { r.Face.Scope = strings.Repeat("经", MaxScope+1) }, "face.scope", "at most 10000"},
		{"digit in person", Company, func(r *Registration) { r.Face.Person = "张3" }, "face.person", "character 2"},
		{"no capital", Company, func(r *Registration) { r.Face.Capital = nil }, "face.capital.amount", "Registered capital is required"},
		{"bad amount", Company, func(r *Registration) { r.Face.Capital.Amount = "-5" }, "face.capital.amount", "not valid"},
		{"bad currency", Cooperative, func(r *Registration) { r.Face.Capital.Currency = "RMB" }, "face.capital.currency", "Total member contributions"},
		{"capital on individual", Individual, func(r *Registration) { r.Face.Capital = &Capital{Amount: "1"} }, "face.capital", "has no registered capital"},
		{"no form", Individual, func(r *Registration) { r.Face.Form = "" }, "face.form", "Form of organisation is required"},
		{"bad form", Individual, func(r *Registration) { r.Face.Form = "合伙经营" }, "face.form", "must be"},
		{"form on company", Company, func(r *Registration) { r.Face.Form = FormPersonal }, "face.form", "no form of organisation"},
		{"bad date", Company, func(r *Registration) { r.Face.EstablishedOn = "2020-02-30" }, "face.established_on", "not a valid date"},
		{"future date", Company, func(r *Registration) { r.Face.EstablishedOn = "2027-01-01" }, "face.established_on", "later than today"},
		{"no term end", Company, func(r *Registration) { r.Face.TermTo = "" }, "face.term_to", "长期"},
		{"term end before start", Partnership, func(r *Registration) { r.Face.TermTo = "2019-01-01" }, "face.term_to", "Partnership term must end"},
		{"term before establishment", Branch, func(r *Registration) { r.Face.TermFrom = "2019-01-01" }, "face.term_from", "cannot start before"},
		{"term on sole proprietorship", SoleProprietorship, func(r *Registration) { r.Face.TermTo = LongTerm }, "face.term_from", "no business term"},
		{"bad person id", Company, func(r *Registration) { r.PersonID = "110105194912310021" }, "person_id", "position 18"},
		{"bad region", Company, func(r *Registration) { r.Region = "33A" }, "region", "6 digits"},
		{"other authority", Company, func(r *Registration) { r.Authority = "11100000MB0143028R" }, "authority", "own authority"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reg := regs[c.kind]
			f := reg.Face
			if f.Capital != nil {
				cp := *f.Capital
				f.Capital = &cp
			}
			reg.Face = f
			c.mutate(&reg)
			err := s.Validate(&reg, a)
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			got := fields(err)
			found := false
			for _, f := range got {
				found = found || f == c.field
			}
			if !found {
				t.Fatalf("fields %v, want %s (%v)", got, c.field, err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("message %q does not mention %q", err.Error(), c.msg)
			}
			if e := errs.As(err); e == nil || e.Kind != errs.Invalid || e.ZH == "" {
				t.Errorf("want an Invalid error with a zh-CN message, got %#v", e)
			}
		})
	}
}

func TestValidateNormalises(t *testing.T) {
	s := testService()
	reg := validRegs(t)[Company]
	reg.Code = " " + strings.ToLower(reg.Code) + " "
	reg.Face.Name = "  " + reg.Face.Name + "\t"
	reg.Face.TermTo = "long-term"
	reg.Face.Capital.Currency = "usd"
	if err := s.Validate(&reg, Actor{Authority: "11330106MB0000000X"}); err != nil {
		t.Fatal(err)
	}
	if reg.Code != strings.ToUpper(reg.Code) || strings.TrimSpace(reg.Face.Name) != reg.Face.Name || reg.Face.TermTo != LongTerm || reg.Face.Capital.Currency != "USD" {
		t.Errorf("not normalised: %+v", reg)
	}
}

func TestLabelsPerKind(t *testing.T) {
	want := map[Kind][3]string{
		Company:            {"法定代表人", "注册资本", "住所"},
		Individual:         {"经营者", "", "经营场所"},
		Cooperative:        {"法定代表人", "成员出资总额", "住所"},
		Partnership:        {"执行事务合伙人", "", "主要经营场所"},
		SoleProprietorship: {"投资人", "", "住所"},
		Branch:             {"负责人", "", "营业场所"},
	}
	for k, w := range want {
		l := LabelsFor(k)
		if l.Person.ZH != w[0] || l.Capital.ZH != w[1] || l.Place.ZH != w[2] {
			t.Errorf("%s labels = %s/%s/%s, want %v", k, l.Person.ZH, l.Capital.ZH, l.Place.ZH, w)
		}
	}
	if LabelsFor(Individual).Date.ZH != "注册日期" || LabelsFor(Cooperative).Scope.ZH != "业务范围" || LabelsFor(Partnership).Term.ZH != "合伙期限" {
		t.Error("kind-specific labels wrong")
	}
}
