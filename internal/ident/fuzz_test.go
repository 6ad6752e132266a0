package ident

import (
	"errors"
	"testing"
	"unicode/utf8"
)

func FuzzParse(f *testing.F) {
	f.Add(real1, businessType, "91330106673959654P", "2430599", 1)
	f.Add(real2, "11100000000013338w009", "330106", "a", 999)
	f.Add(real1+".X", businessType, "3301060", "", 0)
	f.Add("1.2.156.3005.2.", "", "", "浙A1", 1000)
	f.Add(" 1.2.156.3005.2.11100000000013338W032.11220000013544541J.24\xff0599.001.F", businessType, "330106", "x.y", -1)
	f.Fuzz(func(t *testing.T, s, typ, issuer, serial string, version int) {
		n := normalize(s)
		id, err := Parse(s)
		if err != nil {
			assertProblem(t, err, n)
			if Check(s) == nil {
				t.Fatalf("Check(%q) = nil but Parse failed", s)
			}
		} else {
			// Round trip: the parts rebuild exactly the normalised input.
			out, err := New(id.TypeCode, id.Issuer, id.Serial, id.Version)
			if err != nil || out != n {
				t.Fatalf("New(Parse(%q)) = %q, %v", s, out, err)
			}
		}

		out, err := New(typ, issuer, serial, version)
		if err != nil {
			assertProblem(t, err, "")
			return
		}
		if utf8.RuneCountInString(out) > MaxLen {
			t.Fatalf("New built %d characters", len(out))
		}
		id, err = Parse(out)
		want := ID{TypeCode: normalize(typ), Issuer: normalize(issuer), Serial: normalize(serial), Version: version}
		if err != nil || id != want {
			t.Fatalf("Parse(New(%q, %q, %q, %d)) = %+v, %v", typ, issuer, serial, version, id, err)
		}
	})
}

// assertProblem asserts that err is a well-formed *Problem; when n is not "", its position must
// lie within n or just after it.
func assertProblem(t *testing.T, err error, n string) {
	t.Helper()
	var p *Problem
	if !errors.As(err, &p) {
		t.Fatalf("error %v (%T) is not a *Problem", err, err)
	}
	if p.Reason < ReasonEmpty || p.Reason > ReasonCheck {
		t.Fatalf("unknown reason %d", p.Reason)
	}
	if p.Position < 0 || n != "" && p.Position > utf8.RuneCountInString(n)+1 {
		t.Fatalf("position %d outside %q", p.Position, n)
	}
	if p.MessageZH() == "" || p.MessageEN() == "" {
		t.Fatalf("empty message for %+v", p)
	}
}
