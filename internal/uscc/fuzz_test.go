package uscc

import (
	"errors"
	"testing"
	"unicode/utf8"
)

// checkProblem asserts that err is a well-formed *Problem for a code of n characters.
func checkProblem(t *testing.T, err error, n string) *Problem {
	t.Helper()
	var p *Problem
	if !errors.As(err, &p) {
		t.Fatalf("error %v (%T) is not a *Problem", err, err)
	}
	if p.Reason < ReasonEmpty || p.Reason > ReasonRegNoCheck {
		t.Fatalf("unknown reason %d", p.Reason)
	}
	if p.Position < 0 || p.Position > utf8.RuneCountInString(n) {
		t.Fatalf("position %d outside %q", p.Position, n)
	}
	if p.MessageZH() == "" || p.MessageEN() == "" {
		t.Fatalf("empty message for %+v", p)
	}
	return p
}

func FuzzCheck(f *testing.F) {
	for _, c := range validCodes {
		f.Add(c)
	}
	f.Add(knownIssued)
	f.Add("91330106673959655P")
	f.Add("9133A106673959654p")
	f.Add(" 91110105ma003a481g ")
	f.Add("9133010667395965４P")
	f.Add("140000100028286")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		err := Check(s)
		v := Validator{Allow: NewAllowList(s)}
		if err != nil {
			p := checkProblem(t, err, n)
			_, _, verr := v.Validate(s)
			if p.Reason.IsCheck() && verr != nil {
				t.Fatalf("allow-listed %q with only a check fault: Validate = %v", s, verr)
			}
			if !p.Reason.IsCheck() && verr == nil && utf8.RuneCountInString(n) == Len {
				t.Fatalf("allow-list excused %v for %q", p, s)
			}
			return
		}
		// A valid code is 18 characters of the alphabet, and recomputing agrees with it.
		if len(n) != Len {
			t.Fatalf("Check(%q) = nil for %d bytes", s, len(n))
		}
		if c, err := OrgCheckDigit(n[8:16]); err != nil || c != n[16] {
			t.Fatalf("OrgCheckDigit(%q) = %q, %v; code has %q", n[8:16], c, err, n[16])
		}
		if c, err := CheckDigit18(n[:17]); err != nil || c != n[17] {
			t.Fatalf("CheckDigit18(%q) = %q, %v; code has %q", n[:17], c, err, n[17])
		}
		if g, err := Generate(n[0], n[1], n[2:8], n[8:16]); err != nil || g != n {
			t.Fatalf("Generate = %q, %v; want %q", g, err, n)
		}
		if d := Division(s); d != n[2:8] {
			t.Fatalf("Division(%q) = %q", s, d)
		}
		if got, kind, err := (Validator{}).Validate(s); err != nil || got != n || kind != KindUSCC {
			t.Fatalf("Validate(%q) = %q, %v, %v", s, got, kind, err)
		}
	})
}

func FuzzCheckRegNo(f *testing.F) {
	f.Add("140000100028286")
	f.Add("140000100028287")
	f.Add(" 14000010002828x")
	f.Add("1400001000282８6")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		err := CheckRegNo(s)
		if err != nil {
			checkProblem(t, err, n)
			return
		}
		if len(n) != RegNoLen {
			t.Fatalf("CheckRegNo(%q) = nil for %d bytes", s, len(n))
		}
		for i := 0; i < len(n); i++ {
			if !isDigit(n[i]) {
				t.Fatalf("CheckRegNo(%q) = nil with a non-digit", s)
			}
		}
		if c, err := RegNoCheckDigit(n[:14]); err != nil || c != n[14] {
			t.Fatalf("RegNoCheckDigit(%q) = %q, %v; number has %q", n[:14], c, err, n[14])
		}
		if got, kind, err := (Validator{}).Validate(s); err != nil || got != n || kind != KindRegNo {
			t.Fatalf("Validate(%q) = %q, %v, %v", s, got, kind, err)
		}
	})
}
