package ident

import (
	"errors"
	"strings"
	"testing"
)

// Real identifiers from STANDARDS §2 whose check characters verify.
const (
	real1 = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
	real2 = "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0"
)

// businessType is the licence type code of the e-business licence (STANDARDS §2).
const businessType = "11100000MB0143028R001"

func mustProblem(t *testing.T, err error) *Problem {
	t.Helper()
	var p *Problem
	if !errors.As(err, &p) {
		t.Fatalf("error %v (%T) is not a *Problem", err, err)
	}
	return p
}

func TestParseReal(t *testing.T) {
	tests := []struct {
		in   string
		want ID
	}{
		{real1, ID{TypeCode: "11100000000013338W032", Issuer: "11220000013544541J", Serial: "2430599", Version: 1}},
		{real2, ID{TypeCode: "11100000000013338W009", Issuer: "11330105002500287C", Serial: "2025052201", Version: 2}},
	}
	for _, tt := range tests {
		for _, in := range []string{tt.in, strings.ToLower(tt.in), " " + tt.in + "\n"} {
			got, err := Parse(in)
			if err != nil || got != tt.want {
				t.Errorf("Parse(%q) = %+v, %v; want %+v", in, got, err, tt.want)
			}
			if err := Check(in); err != nil {
				t.Errorf("Check(%q) = %v", in, err)
			}
		}
		s, err := New(tt.want.TypeCode, tt.want.Issuer, tt.want.Serial, tt.want.Version)
		if err != nil || s != tt.in {
			t.Errorf("New(%+v) = %q, %v; want %q", tt.want, s, err, tt.in)
		}
	}
}

func TestCheckChar(t *testing.T) {
	tests := []struct {
		body string
		want byte
	}{
		{"11100000000013338W032" + "11220000013544541J" + "2430599" + "001", 'F'},
		{"11100000000013338W009" + "11330105002500287C" + "2025052201" + "002", '0'},
		{"11100000000013338w009" + "11330105002500287c" + "2025052201" + "002", '0'},
	}
	for _, tt := range tests {
		if got, err := CheckChar(tt.body); err != nil || got != tt.want {
			t.Errorf("CheckChar(%q) = %q, %v; want %q", tt.body, got, err, tt.want)
		}
	}
	if p := mustProblem(t, mustErr(CheckChar("AB-C"))); *p != (Problem{Reason: ReasonChar, Position: 3, Got: "-", Allowed: CharsetAlnum}) {
		t.Errorf("CheckChar(AB-C) = %+v", *p)
	}
	if p := mustProblem(t, mustErr(CheckChar("AB数"))); *p != (Problem{Reason: ReasonChar, Position: 3, Got: "数", Allowed: CharsetAlnum}) {
		t.Errorf("CheckChar(AB数) = %+v", *p)
	}
	if p := mustProblem(t, mustErr(CheckChar(""))); p.Reason != ReasonEmpty {
		t.Errorf("CheckChar(\"\") = %+v", *p)
	}
	// MOD 37,36 catches every single-character substitution (ISO/IEC 7064 hybrid systems).
	body := "11100000000013338W0321122000001354454" // any body will do
	want, _ := CheckChar(body)
	const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for i := 0; i < len(body); i++ {
		for j := 0; j < len(alnum); j++ {
			if alnum[j] == body[i] {
				continue
			}
			if c, _ := CheckChar(body[:i] + alnum[j:j+1] + body[i+1:]); c == want {
				t.Errorf("substitution at %d by %c not detected", i+1, alnum[j])
			}
		}
	}
}

func mustErr(_ byte, err error) error { return err }

func TestNew(t *testing.T) {
	s, err := New(strings.ToLower(businessType), "91330106673959654p", "abc123", 7)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, Root+"."+businessType+".91330106673959654P.ABC123.007.") {
		t.Errorf("New = %q", s)
	}
	if id, err := Parse(s); err != nil || id != (ID{businessType, "91330106673959654P", "ABC123", 7}) {
		t.Errorf("Parse(New) = %+v, %v", id, err)
	}
	// A six-digit division as issuer.
	if s, err := New(businessType, "330106", "1", 999); err != nil || Check(s) != nil {
		t.Errorf("New with division issuer = %q, %v", s, err)
	}
	// The longest identifier stays within MaxLen.
	s, err = New(businessType, "91330106673959654P", strings.Repeat("Z", MaxSerialLen), 999)
	if err != nil || len(s) > MaxLen {
		t.Errorf("longest New = %d characters, %v", len(s), err)
	}

	typeStart := len(Root) + 2
	issuerStart := typeStart + TypeCodeLen + 1
	serialStart := issuerStart + 18 + 1
	tests := []struct {
		name                string
		typ, issuer, serial string
		version             int
		want                Problem
	}{
		{"short type", "11100000MB0143028R01", "330106", "1", 1, Problem{Reason: ReasonLength, Part: PartType, Position: typeStart, Length: 20}},
		{"letter in type suffix", "11100000MB0143028R0A1", "330106", "1", 1, Problem{Reason: ReasonChar, Part: PartType, Position: typeStart + 19, Got: "A", Allowed: CharsetDigits}},
		{"O in type", "11100000MO0143028R001", "330106", "1", 1, Problem{Reason: ReasonChar, Part: PartType, Position: typeStart + 9, Got: "O", Allowed: CharsetUSCC}},
		{"letter in type division", "111A0000MB0143028R001", "330106", "1", 1, Problem{Reason: ReasonChar, Part: PartType, Position: typeStart + 3, Got: "A", Allowed: CharsetDigits}},
		{"dot in type", "11100000MB0143028R.01", "330106", "1", 1, Problem{Reason: ReasonChar, Part: PartType, Position: typeStart + 18, Got: ".", Allowed: CharsetDigits}},
		{"7-digit issuer", businessType, "3301060", "1", 1, Problem{Reason: ReasonLength, Part: PartIssuer, Position: issuerStart, Length: 7}},
		{"letter in division issuer", businessType, "33010A", "1", 1, Problem{Reason: ReasonChar, Part: PartIssuer, Position: issuerStart + 5, Got: "A", Allowed: CharsetDigits}},
		{"S in issuer", businessType, "9133010667395965SP", "1", 1, Problem{Reason: ReasonChar, Part: PartIssuer, Position: issuerStart + 16, Got: "S", Allowed: CharsetUSCC}},
		{"empty serial", businessType, "91330106673959654P", "", 1, Problem{Reason: ReasonLength, Part: PartSerial, Position: serialStart, Length: 0}},
		{"long serial", businessType, "91330106673959654P", strings.Repeat("1", 65), 1, Problem{Reason: ReasonLength, Part: PartSerial, Position: serialStart, Length: 65}},
		{"dash in serial", businessType, "91330106673959654P", "AB-1", 1, Problem{Reason: ReasonChar, Part: PartSerial, Position: serialStart + 2, Got: "-", Allowed: CharsetAlnum}},
		{"CJK in serial", businessType, "91330106673959654P", "浙A1", 1, Problem{Reason: ReasonChar, Part: PartSerial, Position: serialStart, Got: "浙", Allowed: CharsetAlnum}},
		{"version 0", businessType, "91330106673959654P", "1", 0, Problem{Reason: ReasonVersion, Part: PartVersion, Position: serialStart + 2, Got: "0"}},
		{"version 1000", businessType, "91330106673959654P", "1", 1000, Problem{Reason: ReasonVersion, Part: PartVersion, Position: serialStart + 2, Got: "1000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.typ, tt.issuer, tt.serial, tt.version)
			if err == nil {
				t.Fatalf("New = %q, want an error", s)
			}
			if p := mustProblem(t, err); *p != tt.want {
				t.Errorf("New = %+v, want %+v", *p, tt.want)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	checkPos := len(real1)
	tests := []struct {
		name string
		in   string
		want Problem
	}{
		{"empty", " ", Problem{Reason: ReasonEmpty}},
		{"too long", real1 + strings.Repeat("1", 60), Problem{Reason: ReasonTooLong, Length: len(real1) + 60}},
		{"wrong root", "1.2.156.3006.2.11100000000013338W032.11220000013544541J.2430599.001.F", Problem{Reason: ReasonRoot, Part: PartRoot, Position: 12, Got: "6", Want: "5"}},
		{"root without dot", "1.2.156.3005.21", Problem{Reason: ReasonRoot, Part: PartRoot, Position: 15, Got: "1", Want: "."}},
		{"short root", "1.2.156", Problem{Reason: ReasonRoot, Part: PartRoot, Position: 8, Want: "."}},
		{"non-ASCII in root", "1.2.１56.3005.2.X", Problem{Reason: ReasonRoot, Part: PartRoot, Position: 5, Got: "１", Want: "1"}},
		{"root only", Root, Problem{Reason: ReasonParts}},
		{"root and dot", Root + ".", Problem{Reason: ReasonParts, Length: 1}},
		{"no check", strings.TrimSuffix(real1, ".F"), Problem{Reason: ReasonParts, Length: 4}},
		{"extra part", real1 + ".X", Problem{Reason: ReasonParts, Length: 6, Position: checkPos + 1, Got: "."}},
		{"dot in serial", "1.2.156.3005.2.11100000000013338W032.11220000013544541J.24.30599.001.F", Problem{Reason: ReasonParts, Length: 6, Position: checkPos, Got: "."}},
		{"bad type", "1.2.156.3005.2.11100000000013338W03.11220000013544541J.2430599.001.F", Problem{Reason: ReasonLength, Part: PartType, Position: 16, Length: 20}},
		{"space in serial", "1.2.156.3005.2.11100000000013338W032.11220000013544541J.243 599.001.F", Problem{Reason: ReasonChar, Part: PartSerial, Position: 60, Got: " ", Allowed: CharsetAlnum}},
		{"version 000", "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.000.F", Problem{Reason: ReasonVersion, Part: PartVersion, Position: 65, Got: "000"}},
		{"version 2 digits", "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.01.F", Problem{Reason: ReasonLength, Part: PartVersion, Position: 65, Length: 2}},
		{"two check chars", real1 + "F", Problem{Reason: ReasonLength, Part: PartCheck, Position: checkPos, Length: 2}},
		{"check not alnum", strings.TrimSuffix(real1, "F") + "#", Problem{Reason: ReasonChar, Part: PartCheck, Position: checkPos, Got: "#", Allowed: CharsetAlnum}},
		{"wrong check", strings.TrimSuffix(real1, "F") + "G", Problem{Reason: ReasonCheck, Part: PartCheck, Position: checkPos, Got: "G", Want: "F"}},
		{"wrong check lower", strings.TrimSuffix(strings.ToLower(real1), "f") + "g", Problem{Reason: ReasonCheck, Part: PartCheck, Position: checkPos, Got: "G", Want: "F"}},
		{"changed serial", strings.Replace(real1, "2430599", "2430598", 1), Problem{Reason: ReasonCheck, Part: PartCheck, Position: checkPos, Got: "F", Want: "V"}},
		{"invalid utf-8", "1.2.156.3005.2.11100000000013338W032.11220000013544541J.24\xff0599.001.F", Problem{Reason: ReasonChar, Part: PartSerial, Position: 59, Got: "\xff", Allowed: CharsetAlnum}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tt.in, id)
			}
			if id != (ID{}) {
				t.Errorf("Parse returned %+v with an error", id)
			}
			p := mustProblem(t, err)
			if *p != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.in, *p, tt.want)
			}
			if p.MessageZH() == "" || p.MessageEN() == "" || !strings.HasPrefix(p.Error(), "ident: ") {
				t.Errorf("bad messages: %q / %q / %q", p.MessageZH(), p.MessageEN(), p.Error())
			}
			if Check(tt.in) == nil {
				t.Errorf("Check(%q) = nil", tt.in)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	tests := []struct {
		p      Problem
		zh, en string
	}{
		{Problem{Reason: ReasonCheck, Part: PartCheck, Position: 70, Got: "G", Want: "F"},
			"第70位校验位错误：应为 F，实际为 G",
			"wrong check character at position 70: expected F, got G"},
		{Problem{Reason: ReasonChar, Part: PartSerial, Position: 59, Got: " ", Allowed: CharsetAlnum},
			`第59位（顺序号）字符" "无效：此处只能是数字或字母`,
			`invalid character " " at position 59 (serial): only digits and letters are allowed here`},
		{Problem{Reason: ReasonChar, Part: PartType, Position: 25, Got: "O", Allowed: CharsetUSCC},
			"第25位（证照类型代码）字符“O”无效：此处只能是数字或除 I、O、S、V、Z 以外的字母",
			`invalid character "O" at position 25 (licence type code): only digits and letters other than I, O, S, V and Z are allowed here`},
		{Problem{Reason: ReasonLength, Part: PartIssuer, Position: 38, Length: 7},
			"发证机构代码长度错误：应为18或6位，实际为7位",
			"the issuer code has the wrong length: expected 18 or 6 characters, got 7"},
		{Problem{Reason: ReasonLength, Part: PartSerial, Position: 57, Length: 65},
			"顺序号长度错误：应为1至64位，实际为65位",
			"the serial has the wrong length: expected 1 to 64 characters, got 65"},
		{Problem{Reason: ReasonRoot, Part: PartRoot, Position: 12, Got: "6", Want: "5"},
			"第12位应为“5”，实际为“6”：证照标识应以 1.2.156.3005.2. 开头",
			`expected "5" at position 12, got "6": an identifier starts with 1.2.156.3005.2.`},
		{Problem{Reason: ReasonParts, Length: 4},
			"证照标识在 1.2.156.3005.2 之后应有5段（证照类型代码、发证机构代码、顺序号、版本号、校验位），实际为4段",
			"an identifier has 5 parts after 1.2.156.3005.2 (type code, issuer code, serial, version, check character), got 4"},
		{Problem{Reason: ReasonVersion, Part: PartVersion, Position: 65, Got: "000"},
			"版本号000无效：应为001至999",
			"invalid version 000: expected 001 to 999"},
		{Problem{Reason: ReasonTooLong, Length: 130},
			"证照标识过长：最多128位，实际为130位",
			"identifier too long: at most 128 characters, got 130"},
	}
	for _, tt := range tests {
		if got := tt.p.MessageZH(); got != tt.zh {
			t.Errorf("%+v MessageZH() = %q, want %q", tt.p, got, tt.zh)
		}
		if got := tt.p.MessageEN(); got != tt.en {
			t.Errorf("%+v MessageEN() = %q, want %q", tt.p, got, tt.en)
		}
		if got := tt.p.Error(); got != "ident: "+tt.en {
			t.Errorf("%+v Error() = %q", tt.p, got)
		}
	}
	if ReasonCheck.String() != "check" || Reason(0).String() != "reason(0)" {
		t.Error("Reason.String")
	}
}

func TestNormalize(t *testing.T) {
	// Only ASCII is upper-cased: "ſ" (long s) and "ı" (dotless i) must not pass as S and I.
	for _, serial := range []string{"ſ1", "ı1"} {
		if _, err := New(businessType, "330106", serial, 1); err == nil {
			t.Errorf("New with serial %q = nil error", serial)
		}
	}
}
