package qrtoken

import (
	"reflect"
	"testing"
)

func FuzzParse(f *testing.F) {
	k := mustKey(f)
	f.Add(encode(f, k, licence(f)))
	f.Add(encode(f, k, presentation()))
	full := licence(f)
	full.AuthorityCode = "X"
	f.Add(encode(f, k, full))
	for _, s := range []string{"", ".", "AQE.AAAAAAAAAAAA", "AgE.AAAAAAAAAAAA", "AQEBAD8.AAAAAAAAAAA"} {
		f.Add(s)
	}
	pub := k.Public()
	f.Fuzz(func(t *testing.T, s string) {
		if tok, err := FromURL(s); err == nil {
			s = tok
		}
		tok, err := Parse(s)
		if err != nil {
			if tok != nil {
				t.Fatal("token and error")
			}
			return
		}
		_ = tok.Verify(pub)
		// What parses re-encodes to the same claims.
		payload, err := marshal(tok.Claims)
		if err != nil {
			t.Fatalf("parsed claims do not encode: %v (%+v)", err, tok.Claims)
		}
		c, err := unmarshal(payload)
		if err != nil || !reflect.DeepEqual(c, tok.Claims) {
			t.Fatalf("round trip: %v\n got %+v\nwant %+v", err, c, tok.Claims)
		}
	})
}
