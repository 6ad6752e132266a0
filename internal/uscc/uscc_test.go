package uscc

import (
	"errors"
	"strings"
	"testing"
)

// Public examples from STANDARDS §1.
var validCodes = []string{
	"91330106673959654P",
	"91110105MA003A481G",
	"11100000MB0143028R",
	"914403001922038216",
}

// knownIssued really was issued although its position 18 is wrong (STANDARDS §1).
const knownIssued = "91350203M0001QAY9B"

func TestWeights(t *testing.T) {
	w := 1
	for i := range weights18 {
		if weights18[i] != w {
			t.Errorf("weights18[%d] = %d, want 3^%d mod 31 = %d", i, weights18[i], i, w)
		}
		w = w * 3 % 31
	}
}

func TestCheckValid(t *testing.T) {
	for _, c := range validCodes {
		inputs := []string{c, strings.ToLower(c), "  " + c + "\t", "\u3000" + c + "\n"}
		for _, in := range inputs {
			if err := Check(in); err != nil {
				t.Errorf("Check(%q) = %v, want nil", in, err)
			}
		}
	}
}

// mustProblem asserts err is a *Problem and returns it.
func mustProblem(t *testing.T, err error) *Problem {
	t.Helper()
	var p *Problem
	if !errors.As(err, &p) {
		t.Fatalf("error %v (%T) is not a *Problem", err, err)
	}
	return p
}

func TestCheckInvalid(t *testing.T) {
	// bothWrong changes position 17 of a valid code, so positions 17 and 18 are both wrong.
	bothWrong := "91330106673959655P"
	tests := []struct {
		name string
		in   string
		want Problem
	}{
		{"empty", "", Problem{Reason: ReasonEmpty, Kind: KindUSCC}},
		{"blank", "  \t ", Problem{Reason: ReasonEmpty, Kind: KindUSCC}},
		{"short", "91330106673959654", Problem{Reason: ReasonLength, Length: 17, Want: "18", Kind: KindUSCC}},
		{"long", "91330106673959654PP", Problem{Reason: ReasonLength, Length: 19, Want: "18", Kind: KindUSCC}},
		{"reg no", "140000100028286", Problem{Reason: ReasonLength, Length: 15, Want: "18", Kind: KindUSCC}},
		{"letter I at 1", "I1330106673959654P", Problem{Reason: ReasonChar, Position: 1, Got: "I", Kind: KindUSCC}},
		{"letter O at 10", "91110105MO003A481G", Problem{Reason: ReasonChar, Position: 10, Got: "O", Kind: KindUSCC}},
		{"lower s at 12", "91110105MA0s3A481G", Problem{Reason: ReasonChar, Position: 12, Got: "S", Kind: KindUSCC}},
		{"V at 18", "91330106673959654V", Problem{Reason: ReasonChar, Position: 18, Got: "V", Kind: KindUSCC}},
		{"Z at 17", "9133010667395965ZP", Problem{Reason: ReasonChar, Position: 17, Got: "Z", Kind: KindUSCC}},
		{"letter in division", "9133A106673959654P", Problem{Reason: ReasonChar, Position: 5, Got: "A", Kind: KindUSCC}},
		{"space inside", "913301 6673959654P", Problem{Reason: ReasonChar, Position: 7, Got: " ", Kind: KindUSCC}},
		{"full-width digit", "9133010667395965４P", Problem{Reason: ReasonChar, Position: 17, Got: "４", Kind: KindUSCC}},
		{"invalid utf-8", "913301066739596\xff4P", Problem{Reason: ReasonChar, Position: 16, Got: "\xff", Kind: KindUSCC}},
		{"first bad char wins", "9I33A106673959654P", Problem{Reason: ReasonChar, Position: 2, Got: "I", Kind: KindUSCC}},
		{"check 18", knownIssued, Problem{Reason: ReasonCheck18, Position: 18, Got: "B", Want: "9", Kind: KindUSCC}},
		{"check 18 lower", strings.ToLower(knownIssued), Problem{Reason: ReasonCheck18, Position: 18, Got: "B", Want: "9", Kind: KindUSCC}},
		{"check 18 digit", "914403001922038217", Problem{Reason: ReasonCheck18, Position: 18, Got: "7", Want: "6", Kind: KindUSCC}},
		{"both checks: 17 first", bothWrong, Problem{Reason: ReasonCheck17, Position: 17, Got: "5", Want: "4", Kind: KindUSCC}},
		{"letter at 17 is a check fault", "9133010667395965AP", Problem{Reason: ReasonCheck17, Position: 17, Got: "A", Want: "4", Kind: KindUSCC}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustProblem(t, Check(tt.in))
			if *p != tt.want {
				t.Errorf("Check(%q) = %+v, want %+v", tt.in, *p, tt.want)
			}
			if p.MessageZH() == "" || p.MessageEN() == "" || !strings.HasPrefix(p.Error(), "uscc: ") {
				t.Errorf("bad messages: %q / %q / %q", p.MessageZH(), p.MessageEN(), p.Error())
			}
		})
	}
	// The both-wrong example really is wrong at 18 as well.
	if c, _ := CheckDigit18(bothWrong[:17]); c == bothWrong[17] {
		t.Fatalf("test code %s is right at position 18", bothWrong)
	}
}

func TestMessages(t *testing.T) {
	tests := []struct {
		p      Problem
		zh, en string
	}{
		{Problem{Reason: ReasonCheck18, Position: 18, Got: "H", Want: "G", Kind: KindUSCC},
			"第18位校验码错误：应为 G，实际为 H",
			"wrong check character at position 18: expected G, got H"},
		{Problem{Reason: ReasonCheck17, Position: 17, Got: "5", Want: "X", Kind: KindUSCC},
			"第17位校验码错误：应为 X，实际为 5",
			"wrong check character at position 17: expected X, got 5"},
		{Problem{Reason: ReasonRegNoCheck, Position: 15, Got: "7", Want: "6", Kind: KindRegNo},
			"第15位校验码错误：应为 6，实际为 7",
			"wrong check character at position 15: expected 6, got 7"},
		{Problem{Reason: ReasonChar, Position: 3, Got: "A", Kind: KindUSCC},
			"第3位字符“A”无效：此处只能是数字",
			`invalid character "A" at position 3: only digits are allowed here`},
		{Problem{Reason: ReasonChar, Position: 10, Got: "O", Kind: KindUSCC},
			"第10位字符“O”无效：此处只能是数字或除 I、O、S、V、Z 以外的大写字母",
			`invalid character "O" at position 10: only digits and capital letters other than I, O, S, V and Z are allowed here`},
		{Problem{Reason: ReasonChar, Position: 7, Got: " ", Kind: KindUSCC},
			`第7位字符" "无效：此处只能是数字`,
			`invalid character " " at position 7: only digits are allowed here`},
		{Problem{Reason: ReasonChar, Position: 2, Got: "-", Kind: KindOrgCode},
			"第2位字符“-”无效：此处只能是数字或大写字母",
			`invalid character "-" at position 2: only digits and capital letters are allowed here`},
		{Problem{Reason: ReasonChar, Position: 4, Got: "A", Kind: KindRegNo},
			"第4位字符“A”无效：此处只能是数字",
			`invalid character "A" at position 4: only digits are allowed here`},
		{Problem{Reason: ReasonLength, Length: 17, Want: "18", Kind: KindUSCC},
			"长度错误：应为18位，实际为17位",
			"wrong length: expected 18 characters, got 17"},
		{Problem{Reason: ReasonLength, Length: 16},
			"长度错误：统一社会信用代码应为18位，注册号应为15位，实际为16位",
			"wrong length: expected 18 characters (unified social credit code) or 15 (registration number), got 16"},
		{Problem{Reason: ReasonEmpty}, "未填写代码", "no code given"},
	}
	for _, tt := range tests {
		if got := tt.p.MessageZH(); got != tt.zh {
			t.Errorf("%+v MessageZH() = %q, want %q", tt.p, got, tt.zh)
		}
		if got := tt.p.MessageEN(); got != tt.en {
			t.Errorf("%+v MessageEN() = %q, want %q", tt.p, got, tt.en)
		}
		if got := tt.p.Error(); got != "uscc: "+tt.en {
			t.Errorf("%+v Error() = %q", tt.p, got)
		}
	}
}

func TestCheckDigits(t *testing.T) {
	for _, c := range validCodes {
		got18, err := CheckDigit18(c[:17])
		if err != nil || got18 != c[17] {
			t.Errorf("CheckDigit18(%q) = %q, %v; want %q", c[:17], got18, err, c[17])
		}
		got17, err := OrgCheckDigit(c[8:16])
		if err != nil || got17 != c[16] {
			t.Errorf("OrgCheckDigit(%q) = %q, %v; want %q", c[8:16], got17, err, c[16])
		}
	}
	// Lower case is accepted.
	if c, err := CheckDigit18("91110105ma003a481"); err != nil || c != 'G' {
		t.Errorf("CheckDigit18 lower = %q, %v", c, err)
	}
	// GB 11714 allows all of A–Z in an organisation code, including letters a USCC may not hold;
	// the remainder cases 10 → X and 11 → 0 both occur.
	orgTests := []struct {
		in   string
		want byte
	}{
		{"D2143569", 'X'}, // the GB 11714 example
		{"00000000", '0'}, // sum 0: 11 − 0 → 0
		{"I0000000", '1'}, // I = 18: 18·3 = 54, 54 mod 11 = 10 → 1
	}
	for _, tt := range orgTests {
		if got, err := OrgCheckDigit(tt.in); err != nil || got != tt.want {
			t.Errorf("OrgCheckDigit(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	errTests := []struct {
		name string
		f    func() (byte, error)
		want Problem
	}{
		{"18 short", func() (byte, error) { return CheckDigit18("9133010667395965") }, Problem{Reason: ReasonLength, Length: 16, Want: "17", Kind: KindUSCC}},
		{"18 bad char", func() (byte, error) { return CheckDigit18("91330106673959O54") }, Problem{Reason: ReasonChar, Position: 15, Got: "O", Kind: KindUSCC}},
		{"18 division", func() (byte, error) { return CheckDigit18("913301X6673959654") }, Problem{Reason: ReasonChar, Position: 7, Got: "X", Kind: KindUSCC}},
		{"org long", func() (byte, error) { return OrgCheckDigit("673959654") }, Problem{Reason: ReasonLength, Length: 9, Want: "8", Kind: KindOrgCode}},
		{"org hyphen", func() (byte, error) { return OrgCheckDigit("6739-965") }, Problem{Reason: ReasonChar, Position: 5, Got: "-", Kind: KindOrgCode}},
		{"regno short", func() (byte, error) { return RegNoCheckDigit("1400001000282") }, Problem{Reason: ReasonLength, Length: 13, Want: "14", Kind: KindRegNo}},
	}
	for _, tt := range errTests {
		_, err := tt.f()
		if p := mustProblem(t, err); *p != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, *p, tt.want)
		}
	}
}

func TestCheckRegNo(t *testing.T) {
	if err := CheckRegNo("140000100028286"); err != nil {
		t.Errorf("CheckRegNo(valid) = %v", err)
	}
	if err := CheckRegNo(" 140000100028286 "); err != nil {
		t.Errorf("CheckRegNo(padded) = %v", err)
	}
	if c, err := RegNoCheckDigit("14000010002828"); err != nil || c != '6' {
		t.Errorf("RegNoCheckDigit = %q, %v", c, err)
	}
	tests := []struct {
		in   string
		want Problem
	}{
		{"", Problem{Reason: ReasonEmpty, Kind: KindRegNo}},
		{"14000010002828", Problem{Reason: ReasonLength, Length: 14, Want: "15", Kind: KindRegNo}},
		{"140000100028287", Problem{Reason: ReasonRegNoCheck, Position: 15, Got: "7", Want: "6", Kind: KindRegNo}},
		{"140000A00028286", Problem{Reason: ReasonChar, Position: 7, Got: "A", Kind: KindRegNo}},
		{"14000010002828x", Problem{Reason: ReasonChar, Position: 15, Got: "X", Kind: KindRegNo}},
	}
	for _, tt := range tests {
		if p := mustProblem(t, CheckRegNo(tt.in)); *p != tt.want {
			t.Errorf("CheckRegNo(%q) = %+v, want %+v", tt.in, *p, tt.want)
		}
	}
	// Every single-digit change of a valid number is caught (a property of MOD 11,10).
	const valid = "140000100028286"
	for i := 0; i < len(valid); i++ {
		for d := byte('0'); d <= '9'; d++ {
			if d == valid[i] {
				continue
			}
			s := valid[:i] + string(d) + valid[i+1:]
			if CheckRegNo(s) == nil {
				t.Errorf("CheckRegNo(%s) = nil after changing position %d", s, i+1)
			}
		}
	}
}

func TestValidator(t *testing.T) {
	plain := Validator{}
	allow := Validator{Allow: NewAllowList(strings.ToLower(knownIssued), "  ")}

	if err := Check(knownIssued); err == nil {
		t.Fatalf("Check(%s) = nil, want a check failure", knownIssued)
	}
	if _, _, err := plain.Validate(knownIssued); mustProblem(t, err).Reason != ReasonCheck18 {
		t.Errorf("Validate without allow-list = %v", err)
	}
	for _, in := range []string{knownIssued, strings.ToLower(knownIssued), " " + knownIssued + " "} {
		n, kind, err := allow.Validate(in)
		if err != nil || n != knownIssued || kind != KindUSCC {
			t.Errorf("Validate(%q) with allow-list = %q, %v, %v", in, n, kind, err)
		}
	}
	if !allow.Allow.Allows(" 91350203m0001qay9b") || allow.Allow.Allows("") || len(allow.Allow) != 1 {
		t.Errorf("AllowList = %v", allow.Allow)
	}

	tests := []struct {
		in       string
		wantN    string
		wantKind CodeKind
		want     *Problem
	}{
		{"91110105ma003a481g", "91110105MA003A481G", KindUSCC, nil},
		{"140000100028286", "140000100028286", KindRegNo, nil},
		{"", "", KindUnknown, &Problem{Reason: ReasonEmpty}},
		{"1234567890123456", "", KindUnknown, &Problem{Reason: ReasonLength, Length: 16}},
		{"140000100028287", "", KindUnknown, &Problem{Reason: ReasonRegNoCheck, Position: 15, Got: "7", Want: "6", Kind: KindRegNo}},
		{"91330106673959655P", "", KindUnknown, &Problem{Reason: ReasonCheck17, Position: 17, Got: "5", Want: "4", Kind: KindUSCC}},
		{"91110105MA003A4I1G", "", KindUnknown, &Problem{Reason: ReasonChar, Position: 16, Got: "I", Kind: KindUSCC}},
	}
	for _, tt := range tests {
		n, kind, err := plain.Validate(tt.in)
		if n != tt.wantN || kind != tt.wantKind {
			t.Errorf("Validate(%q) = %q, %v; want %q, %v", tt.in, n, kind, tt.wantN, tt.wantKind)
		}
		if tt.want == nil {
			if err != nil {
				t.Errorf("Validate(%q) error = %v", tt.in, err)
			}
			continue
		}
		if p := mustProblem(t, err); *p != *tt.want {
			t.Errorf("Validate(%q) = %+v, want %+v", tt.in, *p, *tt.want)
		}
	}

	// The allow-list excuses wrong check characters only, never a wrong character or length.
	bad := []string{"91350203M0001QAY9O", "91350203M0001QAY9", "140000100028287X"}
	v := Validator{Allow: NewAllowList(bad...)}
	for _, c := range bad {
		if _, _, err := v.Validate(c); err == nil {
			t.Errorf("Validate(%q) with it allow-listed = nil, want an error", c)
		}
	}
	// A registration number with a wrong check digit can be allow-listed too.
	v = Validator{Allow: AllowList{"140000100028287": true}}
	if n, kind, err := v.Validate("140000100028287"); err != nil || n != "140000100028287" || kind != KindRegNo {
		t.Errorf("allow-listed reg no = %q, %v, %v", n, kind, err)
	}
}

func TestGenerate(t *testing.T) {
	for _, c := range validCodes {
		got, err := Generate(c[0], c[1], c[2:8], c[8:16])
		if err != nil || got != c {
			t.Errorf("Generate(%s) = %q, %v", c, got, err)
		}
	}
	got, err := Generate('9', '2', "350203", "ma0001qa")
	if err != nil || Check(got) != nil || got[:16] != "92350203MA0001QA" {
		t.Errorf("Generate lower = %q, %v", got, err)
	}
	if _, err := Generate('9', '1', "35020", "MA0001QA"); err == nil {
		t.Error("Generate with 5-digit division = nil error")
	}
	if _, err := Generate('9', '1', "350203", "MA0001Q"); err == nil {
		t.Error("Generate with 7-character body = nil error")
	}
	errTests := []struct {
		dept, cat byte
		div, org  string
		want      Problem
	}{
		{'I', '1', "350203", "MA0001QA", Problem{Reason: ReasonChar, Position: 1, Got: "I", Kind: KindUSCC}},
		{'9', 0xff, "350203", "MA0001QA", Problem{Reason: ReasonChar, Position: 2, Got: "\xff", Kind: KindUSCC}},
		{'9', '1', "3502A3", "MA0001QA", Problem{Reason: ReasonChar, Position: 7, Got: "A", Kind: KindUSCC}},
		{'9', '1', "350203", "MA0001QO", Problem{Reason: ReasonChar, Position: 16, Got: "O", Kind: KindUSCC}},
	}
	for _, tt := range errTests {
		_, err := Generate(tt.dept, tt.cat, tt.div, tt.org)
		if p := mustProblem(t, err); *p != tt.want {
			t.Errorf("Generate(%q, %q, %q, %q) = %+v, want %+v", tt.dept, tt.cat, tt.div, tt.org, *p, tt.want)
		}
	}
}

func TestDivision(t *testing.T) {
	tests := map[string]string{
		"91330106673959654P":   "330106",
		" 91110105ma003a481g ": "110105",
		"11100000MB0143028R":   "100000",
		knownIssued:            "350203", // check characters are not verified
		"9133A106673959654P":   "",
		"91330106":             "",
		"140000100028286":      "",
		"":                     "",
	}
	for in, want := range tests {
		if got := Division(in); got != want {
			t.Errorf("Division(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := map[string]string{
		" 91110105ma003a481g\t": "91110105MA003A481G",
		"\u3000abc\u3000":       "ABC",
		"ı":                     "ı", // dotless i must not become I
		"ſ":                     "ſ", // long s must not become S
		"ABC":                   "ABC",
	}
	for in, want := range tests {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStrings(t *testing.T) {
	if ReasonCheck17.String() != "check17" || Reason(0).String() != "reason(0)" || Reason(99).String() != "reason(99)" {
		t.Error("Reason.String")
	}
	if KindUSCC.String() != "uscc" || KindUnknown.String() != "unknown" || CodeKind(-1).String() != "kind(-1)" {
		t.Error("CodeKind.String")
	}
}
