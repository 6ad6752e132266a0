package font

import "testing"

func TestDefaultIsTrueType(t *testing.T) {
	b := Default()
	if len(b) < 1<<20 || string(b[:4]) != "\x00\x01\x00\x00" {
		t.Fatalf("embedded font is not a TrueType font (%d bytes)", len(b))
	}
	if _, err := Load(""); err != nil {
		t.Fatal(err)
	}
}
