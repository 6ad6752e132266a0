// Package ident builds and parses electronic licence identifiers (电子证照标识), GB/T 36904-2018
// as used by the national platform:
//
//	1.2.156.3005.2.<licence type code>.<issuer code>.<serial>.<version>.<check>
//
// The licence type code is the unified social credit code (GB 32100-2015) of the authority that
// defines the type followed by three digits; the issuer code is the issuing authority's unified
// social credit code or a six-digit GB/T 2260 division code; the serial is 1–64 letters and
// digits; the version is three digits from 001, incremented by every change registration; the
// check character is ISO/IEC 7064 MOD 37,36 over type‖issuer‖serial‖version, without dots or
// root. An identifier is at most 128 characters.
//
// Only the shape of the embedded unified social credit codes is checked here (alphabet,
// positions 3–8 digits), not their check characters: some issued codes fail those, and the
// identifier's own check character already protects its integrity. Callers that need more run
// the codes through package uscc.
//
// Input is case-insensitive: surrounding white space is trimmed and ASCII letters upper-cased,
// and positions in a Problem count the characters of that normalised identifier. New and Parse
// return the normalised form, which is the only form to store.
//
// The package is a leaf: it imports only the standard library.
package ident

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Root is the object identifier arc under which all electronic licences are named.
const Root = "1.2.156.3005.2"

// Limits of the parts and of the whole identifier.
const (
	MaxLen       = 128 // characters in a whole identifier
	MaxSerialLen = 64  // characters in a serial
	TypeCodeLen  = 21  // a unified social credit code and three digits
	MinVersion   = 1
	MaxVersion   = 999
)

// The names of the parts, as found in Problem.Part.
const (
	PartRoot    = "root"
	PartType    = "type"
	PartIssuer  = "issuer"
	PartSerial  = "serial"
	PartVersion = "version"
	PartCheck   = "check"
)

// fieldParts names the dot-separated fields after the root, in order.
var fieldParts = [5]string{PartType, PartIssuer, PartSerial, PartVersion, PartCheck}

// uscc holds the 31 characters of a unified social credit code (GB 32100-2015 §4.2).
const uscc = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// ID is a parsed identifier. Its parts are normalised (upper case).
type ID struct {
	TypeCode, Issuer, Serial string
	Version                  int
}

// New validates the parts and returns the full identifier with its check character, in
// normalised form. Errors are *Problem positioned in the identifier New would have built.
func New(typeCode, issuer, serial string, version int) (string, error) {
	fields := [3]string{normalize(typeCode), normalize(issuer), normalize(serial)}
	var b strings.Builder
	b.WriteString(Root)
	pos := len(Root) + 2 // 1-based position of the field being added
	for i, f := range fields {
		if p := checkField(fieldParts[i], f, pos); p != nil {
			return "", p
		}
		b.WriteByte('.')
		b.WriteString(f)
		pos += len(f) + 1 // checked fields are ASCII
	}
	if version < MinVersion || version > MaxVersion {
		return "", &Problem{Reason: ReasonVersion, Part: PartVersion, Position: pos, Got: strconv.Itoa(version)}
	}
	v := fmt.Sprintf("%03d", version)
	b.WriteByte('.')
	b.WriteString(v)
	b.WriteByte('.')
	b.WriteByte(checkChar(fields[0] + fields[1] + fields[2] + v))
	return b.String(), nil
}

// Parse parses and verifies an identifier, case-insensitively. Errors are *Problem naming the
// part, the 1-based character position in the normalised identifier and, for a wrong check
// character, the expected one. The first fault from the left is reported, except that a wrong
// number of parts is reported before any fault inside a part.
func Parse(s string) (ID, error) {
	id, p := parse(normalize(s))
	if p != nil {
		return ID{}, p
	}
	return id, nil
}

// Check verifies an identifier; it is Parse without the result.
func Check(s string) error {
	_, err := Parse(s)
	return err
}

func parse(n string) (ID, *Problem) {
	if n == "" {
		return ID{}, &Problem{Reason: ReasonEmpty}
	}
	if l := utf8.RuneCountInString(n); l > MaxLen {
		return ID{}, &Problem{Reason: ReasonTooLong, Length: l}
	}
	if n == Root {
		return ID{}, &Problem{Reason: ReasonParts, Length: 0}
	}
	const prefix = Root + "."
	for i := 0; i < len(prefix); i++ {
		if i == len(n) {
			return ID{}, &Problem{Reason: ReasonRoot, Part: PartRoot, Position: i + 1, Want: prefix[i : i+1]}
		}
		if n[i] != prefix[i] {
			// Everything before i is ASCII, so i+1 is the character position.
			return ID{}, &Problem{Reason: ReasonRoot, Part: PartRoot, Position: i + 1, Got: charAt(n, i), Want: prefix[i : i+1]}
		}
	}
	var buf [len(fieldParts) + 1]string // no allocation for a well-formed identifier
	fields := splitDots(buf[:0], n[len(prefix):])
	if len(fields) < len(fieldParts) {
		return ID{}, &Problem{Reason: ReasonParts, Length: len(fields)}
	}
	if len(fields) > len(fieldParts) {
		// Point at the first dot that a well-formed identifier cannot hold.
		dot := len(prefix)
		for _, f := range fields[:len(fieldParts)] {
			dot += len(f) + 1
		}
		dot-- // back from the start of the surplus field to its dot
		return ID{}, &Problem{Reason: ReasonParts, Length: len(fields), Position: utf8.RuneCountInString(n[:dot]) + 1, Got: "."}
	}
	pos := len(prefix) + 1
	for i, f := range fields {
		if p := checkField(fieldParts[i], f, pos); p != nil {
			return ID{}, p
		}
		pos += len(f) + 1 // checked fields are ASCII
	}
	version, _ := strconv.Atoi(fields[3]) // three digits, checked above
	want := checkChar(fields[0] + fields[1] + fields[2] + fields[3])
	if fields[4][0] != want {
		// The check character is the last character, and everything is ASCII by now.
		return ID{}, &Problem{Reason: ReasonCheck, Part: PartCheck, Position: len(n), Got: fields[4], Want: string(want)}
	}
	return ID{TypeCode: fields[0], Issuer: fields[1], Serial: fields[2], Version: version}, nil
}

// checkField validates one normalised field after the root; pos is the 1-based position of its
// first character in the identifier. A field that passes is pure ASCII.
func checkField(part, f string, pos int) *Problem {
	l := utf8.RuneCountInString(f)
	lengthProblem := func() *Problem { return &Problem{Reason: ReasonLength, Part: part, Position: pos, Length: l} }
	var allowed func(i int) Charset // charset of the 0-based character i of the field
	switch part {
	case PartType:
		if l != TypeCodeLen {
			return lengthProblem()
		}
		allowed = func(i int) Charset {
			if i >= 18 {
				return CharsetDigits
			}
			return usccCharset(i)
		}
	case PartIssuer:
		switch l {
		case 18:
			allowed = usccCharset
		case 6:
			allowed = func(int) Charset { return CharsetDigits } // GB/T 2260 division
		default:
			return lengthProblem()
		}
	case PartSerial:
		if l < 1 || l > MaxSerialLen {
			return lengthProblem()
		}
		allowed = func(int) Charset { return CharsetAlnum }
	case PartVersion:
		if l != 3 {
			return lengthProblem()
		}
		allowed = func(int) Charset { return CharsetDigits }
	case PartCheck:
		if l != 1 {
			return lengthProblem()
		}
		allowed = func(int) Charset { return CharsetAlnum }
	}
	i := 0
	for j, r := range f {
		if cs := allowed(i); r >= utf8.RuneSelf || !cs.contains(byte(r)) {
			got := string(r)
			if r == utf8.RuneError {
				_, size := utf8.DecodeRuneInString(f[j:])
				got = f[j : j+size]
			}
			return &Problem{Reason: ReasonChar, Part: part, Position: pos + i, Got: got, Allowed: cs}
		}
		i++
	}
	if part == PartVersion && f == "000" {
		return &Problem{Reason: ReasonVersion, Part: part, Position: pos, Got: f}
	}
	return nil
}

// usccCharset is the charset of the 0-based character i of a unified social credit code:
// positions 3–8 are the GB/T 2260 division (GB 32100-2015 §4.1).
func usccCharset(i int) Charset {
	if 2 <= i && i <= 7 {
		return CharsetDigits
	}
	return CharsetUSCC
}

// CheckChar returns the ISO/IEC 7064 MOD 37,36 check character of body, whose characters are
// digits and letters (either case; 0–9 are worth 0–9 and A–Z 10–35). For an identifier, body is
// type‖issuer‖serial‖version. Errors are *Problem with positions counted within body.
func CheckChar(body string) (byte, error) {
	n := normalize(body)
	if n == "" {
		return 0, &Problem{Reason: ReasonEmpty}
	}
	i := 0
	for j, r := range n {
		i++
		if r >= utf8.RuneSelf || !CharsetAlnum.contains(byte(r)) {
			_, size := utf8.DecodeRuneInString(n[j:])
			return 0, &Problem{Reason: ReasonChar, Position: i, Got: n[j : j+size], Allowed: CharsetAlnum}
		}
	}
	return checkChar(n), nil
}

// checkChar computes MOD 37,36 over characters already known to be 0-9A-Z: the check character
// a makes the final (p + a) mod 36 equal 1 (ISO/IEC 7064 §7, hybrid system).
func checkChar(body string) byte {
	const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	p := 36
	for i := 0; i < len(body); i++ {
		c := body[i]
		v := int(c - '0')
		if c >= 'A' {
			v = int(c-'A') + 10
		}
		t := (p + v) % 36
		if t == 0 {
			t = 36
		}
		p = 2 * t % 37
	}
	return alnum[(37-p)%36]
}

// normalize trims surrounding white space and upper-cases ASCII letters only, so that look-alikes
// such as "ı" and "ſ" never become I and S.
func normalize(s string) string {
	s = strings.TrimSpace(s)
	var b []byte
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'a' <= c && c <= 'z' {
			if b == nil {
				b = []byte(s)
			}
			b[i] = c - 'a' + 'A'
		}
	}
	if b == nil {
		return s
	}
	return string(b)
}

// charAt returns the character starting at byte i of s, or the single byte if it is not valid
// UTF-8.
func charAt(s string, i int) string {
	_, size := utf8.DecodeRuneInString(s[i:])
	return s[i : i+size]
}

// splitDots is strings.Split(s, ".") appending to dst.
func splitDots(dst []string, s string) []string {
	for {
		i := strings.IndexByte(s, '.')
		if i < 0 {
			return append(dst, s)
		}
		dst, s = append(dst, s[:i]), s[i+1:]
	}
}
