// Package citizen checks citizen identity numbers (公民身份号码, GB 11643-1999): 18 characters,
// a 6-digit address code, an 8-digit birth date, a 3-digit sequence and an ISO 7064 MOD 11-2
// check character. It also masks them for display. It is a leaf: standard library only.
package citizen

import (
	"fmt"
	"strings"
	"time"
)

// Problem says what is wrong with an ID number and where (1-based position).
type Problem struct {
	Position int
	ZH, EN   string
}

func (p *Problem) Error() string { return p.EN }

// GB 11643-1999 §8.2: weights 2^(18-i) mod 11 for positions 1..17.
var weights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const checkChars = "10X98765432"

// Normalize trims spaces and upper-cases the check character.
func Normalize(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// CheckChar returns the check character for the first 17 digits.
func CheckChar(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, fmt.Errorf("citizen: need 17 digits, got %d", len(first17))
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := first17[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("citizen: position %d is not a digit", i+1)
		}
		sum += int(c-'0') * weights[i]
	}
	return checkChars[sum%11], nil
}

// Check validates a normalised 18-character ID number; it returns a *Problem on failure.
func Check(id string) error {
	n := len([]rune(id))
	if n != 18 || len(id) != 18 {
		return &Problem{ZH: fmt.Sprintf("身份号码应为18位，实际为%d位", n), EN: fmt.Sprintf("an ID number has 18 characters, got %d", n)}
	}
	for i := 0; i < 17; i++ {
		if id[i] < '0' || id[i] > '9' {
			return &Problem{Position: i + 1,
				ZH: fmt.Sprintf("第%d位应为数字，实际为 %q", i+1, id[i]),
				EN: fmt.Sprintf("position %d must be a digit, got %q", i+1, id[i])}
		}
	}
	if c := id[17]; (c < '0' || c > '9') && c != 'X' {
		return &Problem{Position: 18, ZH: fmt.Sprintf("第18位应为数字或X，实际为 %q", c), EN: fmt.Sprintf("position 18 must be a digit or X, got %q", c)}
	}
	if _, err := time.Parse("20060102", id[6:14]); err != nil || id[6:8] < "18" {
		return &Problem{Position: 7, ZH: fmt.Sprintf("第7-14位出生日期 %s 无效", id[6:14]), EN: fmt.Sprintf("birth date %s at positions 7-14 is not a valid date", id[6:14])}
	}
	want, _ := CheckChar(id[:17])
	if id[17] != want {
		return &Problem{Position: 18,
			ZH: fmt.Sprintf("第18位校验码错误：应为 %c，实际为 %c", want, id[17]),
			EN: fmt.Sprintf("wrong check character at position 18: expected %c, got %c", want, id[17])}
	}
	return nil
}

// Mask shows the first 3 and last 2 characters of an ID number: 330***********123X → "330*************3X".
func Mask(id string) string {
	r := []rune(id)
	if len(r) <= 5 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-5) + string(r[len(r)-2:])
}

// MaskName shows the family name and masks the rest: 张三丰 → 张**.
func MaskName(name string) string {
	r := []rune(name)
	if len(r) <= 1 {
		return name
	}
	return string(r[:1]) + strings.Repeat("*", len(r)-1)
}
