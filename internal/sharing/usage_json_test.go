package sharing

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestUsageMarshal checks that the usage record's encoding is json.Marshal's, byte for byte.
func TestUsageMarshal(t *testing.T) {
	texts := []string{"", "ok", "result:0", "企业开办", "A-2024-001", "a\"b", `c\d`, "<x>&", "tab\there", "\x01",
		"bad\xffutf8", "line\u2028sep", "para\u2029sep", "（全角）", "91110000MA01234567"}
	for _, a := range texts {
		for _, b := range texts {
			for _, u := range []usage{{a, b, a, b, "ok"}, {b, a, "case", "", a}, {"", "", "", a, b}} {
				want, _ := json.Marshal(u)
				if got := u.marshal(); !bytes.Equal(got, want) {
					t.Errorf("%q.marshal() = %s, json.Marshal %s", u, got, want)
				}
			}
		}
	}
}
