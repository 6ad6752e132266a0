// Package uscc validates and builds the codes that identify registered entities in China:
//
//   - the unified social credit code (统一社会信用代码), 18 characters, GB 32100-2015;
//   - the organisation code (组织机构代码) at its positions 9–17, GB 11714-1997;
//   - the legacy 15-digit registration number (注册号) still carried by some 个体工商户, whose last
//     digit is an ISO/IEC 7064 MOD 11,10 check digit.
//
// Input is case-insensitive: every function first applies Normalize (surrounding white space
// trimmed, ASCII letters upper-cased), and positions in a Problem count the characters of the
// normalised code. Store codes only in normalised form.
//
// Some codes that were really issued fail a check. They are accepted only through a Validator
// whose AllowList an operator maintains; every other failure is a *Problem naming the position
// that is wrong.
//
// The package is a leaf: it imports only the standard library.
package uscc

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Len is the length of a unified social credit code.
const Len = 18

// alphabet holds the 31 characters of a unified social credit code; a character's value is its
// index (GB 32100-2015 §4.2: no I, O, S, V or Z).
const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// weights18 are the weights of positions 1–17 for the check character at position 18:
// 3^(i-1) mod 31 (GB 32100-2015 §4.3).
var weights18 = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// weightsOrg are the weights of the eight body characters of an organisation code
// (GB 11714-1997 §4.3).
var weightsOrg = [8]int{3, 7, 9, 10, 5, 8, 4, 2}

// Normalize trims surrounding white space and upper-cases ASCII letters. Only ASCII is
// upper-cased: strings.ToUpper would turn "ı" into "I" and "ſ" into "S", letting look-alike
// characters pass as code characters.
func Normalize(s string) string {
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

// Check validates an 18-character unified social credit code (GB 32100-2015) after Normalize.
// It returns nil or a *Problem: the first wrong character from the left, else a wrong check
// character at position 17 (GB 11714), else at position 18. Check knows nothing of allow-lists;
// use a Validator to accept issued codes that fail a check.
func Check(code string) error {
	if p := check(Normalize(code)); p != nil {
		return p
	}
	return nil
}

// check validates a normalised code.
func check(n string) *Problem {
	if n == "" {
		return &Problem{Reason: ReasonEmpty, Kind: KindUSCC}
	}
	if l := utf8.RuneCountInString(n); l != Len {
		return &Problem{Reason: ReasonLength, Length: l, Want: "18", Kind: KindUSCC}
	}
	if p := scan(n, KindUSCC); p != nil {
		return p
	}
	// Only ASCII remains, so byte offsets are character positions.
	if c := orgCheck(n[8:16]); n[16] != c {
		return &Problem{Reason: ReasonCheck17, Position: 17, Got: n[16:17], Want: string(c), Kind: KindUSCC}
	}
	if c := check18(n[:17]); n[17] != c {
		return &Problem{Reason: ReasonCheck18, Position: 18, Got: n[17:18], Want: string(c), Kind: KindUSCC}
	}
	return nil
}

// CheckDigit18 returns the check character (position 18) for the first 17 characters of a
// unified social credit code (GB 32100-2015 §4.3), after Normalize. It requires the shape of
// positions 1–17 (positions 3–8 digits, the others from the code alphabet) and returns a
// *Problem otherwise; it does not verify position 17.
func CheckDigit18(first17 string) (byte, error) {
	n := Normalize(first17)
	if l := utf8.RuneCountInString(n); l != 17 {
		return 0, &Problem{Reason: ReasonLength, Length: l, Want: "17", Kind: KindUSCC}
	}
	if p := scan(n, KindUSCC); p != nil {
		return 0, p
	}
	return check18(n), nil
}

// check18 computes position 18 over 17 characters already known to be in the alphabet.
func check18(first17 string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += strings.IndexByte(alphabet, first17[i]) * weights18[i]
	}
	return alphabet[(31-sum%31)%31]
}

// OrgCheckDigit returns the check character of an organisation code (GB 11714-1997 §4.3) for
// its eight body characters, after Normalize: digits and letters A–Z valued 0–35. In a unified
// social credit code the body is positions 9–16 and the result belongs at position 17. The
// result is '0'–'9' or 'X'. Errors are *Problem with positions counted within first8.
func OrgCheckDigit(first8 string) (byte, error) {
	n := Normalize(first8)
	if l := utf8.RuneCountInString(n); l != 8 {
		return 0, &Problem{Reason: ReasonLength, Length: l, Want: "8", Kind: KindOrgCode}
	}
	if p := scan(n, KindOrgCode); p != nil {
		return 0, p
	}
	return orgCheck(n), nil
}

// orgCheck computes the GB 11714 check character over eight characters of 0-9A-Z.
func orgCheck(body string) byte {
	sum := 0
	for i := 0; i < 8; i++ {
		sum += value36(body[i]) * weightsOrg[i]
	}
	switch c := 11 - sum%11; c {
	case 10:
		return 'X'
	case 11:
		return '0'
	default:
		return byte('0' + c)
	}
}

// value36 is the GB 11714 value of a digit or capital letter: 0–9, then A=10 … Z=35.
func value36(c byte) int {
	if c <= '9' {
		return int(c - '0')
	}
	return int(c-'A') + 10
}

// Generate builds a unified social credit code from the registering department (position 1),
// the category (position 2), the six-digit division (positions 3–8) and the eight-character
// organisation code body (positions 9–16), computing positions 17 and 18. Letters may be in
// either case. A wrong character is reported as a *Problem positioned in the resulting code.
func Generate(dept, category byte, division string, org8 string) (string, error) {
	division, org8 = Normalize(division), Normalize(org8)
	if l := utf8.RuneCountInString(division); l != 6 {
		return "", fmt.Errorf("uscc: division must have 6 digits, got %q", division)
	}
	if l := utf8.RuneCountInString(org8); l != 8 {
		return "", fmt.Errorf("uscc: organisation code body must have 8 characters, got %q", org8)
	}
	b := make([]byte, 0, Len)
	b = append(b, upper(dept), upper(category))
	b = append(b, division...)
	b = append(b, org8...)
	if p := scan(string(b), KindUSCC); p != nil {
		return "", p
	}
	b = append(b, orgCheck(string(b[8:16])))
	b = append(b, check18(string(b)))
	return string(b), nil
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// Division returns positions 3–8 of a unified social credit code: the GB/T 2260 division of the
// registering authority. It returns "" unless the normalised code has 18 characters and those
// positions are six digits; it does not verify the check characters.
func Division(code string) string {
	n := Normalize(code)
	if len(n) != Len {
		return ""
	}
	for i := 2; i < 8; i++ {
		if !isDigit(n[i]) {
			return ""
		}
	}
	return n[2:8]
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlnum(c byte) bool { return isDigit(c) || 'A' <= c && c <= 'Z' }

func inAlphabet(c byte) bool { return strings.IndexByte(alphabet, c) >= 0 }

// allowed reports whether c may stand at the 1-based position pos of a code of this kind.
func allowed(kind CodeKind, pos int, c byte) bool {
	switch kind {
	case KindUSCC:
		if 3 <= pos && pos <= 8 {
			return isDigit(c) // GB 32100-2015 §4.1: the GB/T 2260 division
		}
		return inAlphabet(c)
	case KindOrgCode:
		return isAlnum(c)
	default:
		return isDigit(c)
	}
}

// scan returns a ReasonChar problem for the first character of s not allowed at its position,
// or nil. Non-ASCII characters are never allowed; an invalid UTF-8 byte is reported on its own.
func scan(s string, kind CodeKind) *Problem {
	pos := 1
	for i := 0; i < len(s); pos++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			_, size := utf8.DecodeRuneInString(s[i:])
			return &Problem{Reason: ReasonChar, Position: pos, Got: s[i : i+size], Kind: kind}
		}
		if !allowed(kind, pos, c) {
			return &Problem{Reason: ReasonChar, Position: pos, Got: s[i : i+1], Kind: kind}
		}
		i++
	}
	return nil
}
