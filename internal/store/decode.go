package store

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/license"
)

// decodeLicenceData fills l from licence_versions.data, the JSON that encodeLicence writes.
//
// encoding/json spends most of a licence read in reflection; this reader knows the one shape the
// column holds and reads it in a single pass, with the fields' strings taken as substrings of
// data (no copy). Anything it does not recognise exactly (another key, a key in another case, a
// value of another type, a surrogate escape, invalid UTF-8, a syntax error) makes it give up and
// hand the whole text to json.Unmarshal, so the result is always the one json.Unmarshal gives
// (FuzzDecodeLicenceData holds the two equal).
func decodeLicenceData(data string, l *license.Licence) error {
	r := jsonReader{s: data}
	if r.licence(l) && r.end() {
		return nil
	}
	*l = license.Licence{}
	return json.Unmarshal([]byte(data), l)
}

// jsonReader reads JSON from s; every method returns false when the text is not what it expects.
type jsonReader struct {
	s string
	i int
}

func (r *jsonReader) ws() {
	for r.i < len(r.s) {
		switch r.s[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// consume skips whitespace and the byte c.
func (r *jsonReader) consume(c byte) bool {
	r.ws()
	if r.i < len(r.s) && r.s[r.i] == c {
		r.i++
		return true
	}
	return false
}

// end reports whether only whitespace is left.
func (r *jsonReader) end() bool {
	r.ws()
	return r.i == len(r.s)
}

// null consumes a JSON null.
func (r *jsonReader) null() bool {
	r.ws()
	if strings.HasPrefix(r.s[r.i:], "null") {
		r.i += 4
		return true
	}
	return false
}

// object reads an object, calling field for each key with the reader at its value.
func (r *jsonReader) object(field func(key string) bool) bool {
	if !r.consume('{') {
		return false
	}
	if r.consume('}') {
		return true
	}
	for {
		key, ok := r.str()
		if !ok || !r.consume(':') || !field(key) {
			return false
		}
		if r.consume(',') {
			continue
		}
		return r.consume('}')
	}
}

// str reads a string. Without escapes it is a substring of r.s.
func (r *jsonReader) str() (string, bool) {
	r.ws()
	if r.i >= len(r.s) || r.s[r.i] != '"' {
		return "", false
	}
	start := r.i + 1
	for j := start; j < len(r.s); j++ {
		switch c := r.s[j]; {
		case c == '"':
			v := r.s[start:j]
			r.i = j + 1
			return v, utf8.ValidString(v)
		case c == '\\':
			return r.escaped(start, j)
		case c < 0x20:
			return "", false
		}
	}
	return "", false
}

// escaped reads the rest of a string that has an escape at j.
func (r *jsonReader) escaped(start, j int) (string, bool) {
	var b strings.Builder
	b.Grow(j - start + 16)
	b.WriteString(r.s[start:j])
	for j < len(r.s) {
		c := r.s[j]
		switch {
		case c == '"':
			r.i = j + 1
			v := b.String()
			return v, utf8.ValidString(v)
		case c < 0x20:
			return "", false
		case c != '\\':
			b.WriteByte(c)
			j++
			continue
		}
		if j+1 >= len(r.s) {
			return "", false
		}
		switch e := r.s[j+1]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			if j+6 > len(r.s) {
				return "", false
			}
			var n rune
			for _, h := range []byte(r.s[j+2 : j+6]) {
				switch {
				case '0' <= h && h <= '9':
					n = n<<4 | rune(h-'0')
				case 'a' <= h && h <= 'f':
					n = n<<4 | rune(h-'a'+10)
				case 'A' <= h && h <= 'F':
					n = n<<4 | rune(h-'A'+10)
				default:
					return "", false
				}
			}
			if n >= 0xD800 && n < 0xE000 {
				return "", false // surrogates: leave their pairing rules to encoding/json
			}
			b.WriteRune(n)
			j += 6
			continue
		default:
			return "", false
		}
		j += 2
	}
	return "", false
}

// setStr reads a string into *dst.
func (r *jsonReader) setStr(dst *string) bool {
	v, ok := r.str()
	*dst = v
	return ok
}

// smallInt reads a non-negative integer of at most 9 digits.
func (r *jsonReader) smallInt() (int, bool) {
	r.ws()
	n, j := 0, r.i
	for j < len(r.s) && j-r.i < 10 && '0' <= r.s[j] && r.s[j] <= '9' {
		n = n*10 + int(r.s[j]-'0')
		j++
	}
	digits := j - r.i
	if digits == 0 || digits > 9 || (digits > 1 && r.s[r.i] == '0') {
		return 0, false
	}
	if j < len(r.s) {
		switch r.s[j] {
		case '.', 'e', 'E', '-', '+':
			return 0, false
		}
	}
	r.i = j
	return n, true
}

// licence reads the object encodeLicence writes.
func (r *jsonReader) licence(l *license.Licence) bool {
	return r.object(func(key string) bool {
		switch key {
		case "identifier":
			return r.setStr(&l.Identifier)
		case "code":
			return r.setStr(&l.Code)
		case "code_type":
			return r.setStr(&l.CodeType)
		case "kind":
			v, ok := r.str()
			l.Kind = license.Kind(v)
			return ok
		case "version":
			n, ok := r.smallInt()
			l.Version = n
			return ok
		case "face":
			return r.face(&l.Face)
		case "region":
			return r.setStr(&l.Region)
		case "authority":
			return r.setStr(&l.Authority)
		case "authority_code":
			return r.setStr(&l.AuthorityCode)
		case "issued_at":
			// time.Time reads the string between the quotes as it is, escapes included.
			r.ws()
			from := r.i
			v, ok := r.str()
			return ok && r.i-from == len(v)+2 && l.IssuedAt.UnmarshalText([]byte(v)) == nil
		case "signature":
			// encodeLicence stores the signature in its own column.
			l.Signature = nil
			return r.null()
		case "cert_serial":
			return r.setStr(&l.CertSerial)
		case "status":
			v, ok := r.str()
			l.Status = license.Status(v)
			return ok
		case "status_reason":
			return r.setStr(&l.StatusReason)
		case "status_at":
			l.StatusAt = nil
			return r.null()
		case "superseded_at":
			l.SupersededAt = nil
			return r.null()
		}
		return false
	})
}

func (r *jsonReader) face(f *license.Face) bool {
	return r.object(func(key string) bool {
		switch key {
		case "name":
			return r.setStr(&f.Name)
		case "type":
			return r.setStr(&f.Type)
		case "person":
			return r.setStr(&f.Person)
		case "capital":
			if r.null() {
				f.Capital = nil
				return true
			}
			if f.Capital == nil { // encoding/json decodes into the value already there
				f.Capital = new(license.Capital)
			}
			c := f.Capital
			return r.object(func(key string) bool {
				switch key {
				case "amount":
					return r.setStr(&c.Amount)
				case "currency":
					return r.setStr(&c.Currency)
				}
				return false
			})
		case "form":
			return r.setStr(&f.Form)
		case "established_on":
			return r.setStr(&f.EstablishedOn)
		case "term_from":
			return r.setStr(&f.TermFrom)
		case "term_to":
			return r.setStr(&f.TermTo)
		case "address":
			return r.setStr(&f.Address)
		case "scope":
			return r.setStr(&f.Scope)
		}
		return false
	})
}
