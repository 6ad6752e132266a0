package citizen

import (
	"errors"
	"testing"
)

func TestCheck(t *testing.T) {
	// 11010519491231002X is the example of GB 11643-1999 appendix.
	good := []string{"11010519491231002X", "440524188001010014"}
	for _, id := range good {
		if err := Check(id); err != nil {
			t.Errorf("Check(%s) = %v, want ok", id, err)
		}
	}
	bad := map[string]int{
		"110105194912310021": 18, // wrong check
		"1101051949123100":   0,  // short
		"11010519491331002X": 7,  // month 13
		"1101051949123A002X": 14, // letter
		"11010519491231002Y": 18,
	}
	for id, pos := range bad {
		err := Check(id)
		var p *Problem
		if !errors.As(err, &p) {
			t.Fatalf("Check(%s) = %v, want *Problem", id, err)
		}
		if p.Position != pos {
			t.Errorf("Check(%s) position = %d, want %d (%s)", id, p.Position, pos, p.EN)
		}
	}
}

func TestMask(t *testing.T) {
	if got := Mask("11010519491231002X"); got != "110*************2X" {
		t.Errorf("Mask = %s", got)
	}
	if got := MaskName("张三丰"); got != "张**" {
		t.Errorf("MaskName = %s", got)
	}
}

func FuzzCheck(f *testing.F) {
	f.Add("11010519491231002X")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		if Check(s) == nil {
			want, err := CheckChar(s[:17])
			if err != nil || want != s[17] {
				t.Fatalf("accepted %q with wrong check", s)
			}
		}
	})
}
