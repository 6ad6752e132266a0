package sharing

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// marshal encodes the usage record exactly as json.Marshal does, without reflection in the
// common case: when no field needs escaping, the bytes are written directly in one allocation;
// otherwise json.Marshal encodes it.
func (u usage) marshal() []byte {
	if !plainJSON(u.Cause) || !plainJSON(u.Item) || !plainJSON(u.Case) || !plainJSON(u.Identifier) || !plainJSON(u.Result) {
		data, _ := json.Marshal(u) // strings always encode
		return data
	}
	b := make([]byte, 0, 80+len(u.Cause)+len(u.Item)+len(u.Case)+len(u.Identifier)+len(u.Result))
	b = append(b, `{"use_cause":"`...)
	b = append(b, u.Cause...)
	b = append(b, `","service_item":"`...)
	b = append(b, u.Item...)
	b = append(b, `","case_number":"`...)
	b = append(b, u.Case...)
	if u.Identifier != "" {
		b = append(b, `","identifier":"`...)
		b = append(b, u.Identifier...)
	}
	b = append(b, `","result":"`...)
	b = append(b, u.Result...)
	return append(b, `"}`...)
}

// plainJSON reports whether json.Marshal writes s as is between quotes: valid UTF-8 without
// control characters, quotes, backslashes, the HTML characters <, > and &, or U+2028/U+2029.
func plainJSON(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return ascii || utf8.ValidString(s) && !strings.Contains(s, "\u2028") && !strings.Contains(s, "\u2029")
}
