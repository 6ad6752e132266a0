package uscc

import "unicode/utf8"

// RegNoLen is the length of a legacy registration number (注册号).
const RegNoLen = 15

// CheckRegNo validates a legacy 15-digit registration number after Normalize: a six-digit
// registering-authority code, an eight-digit sequence and a check digit computed by ISO/IEC 7064
// MOD 11,10. It returns nil or a *Problem.
func CheckRegNo(s string) error {
	if p := checkRegNo(Normalize(s)); p != nil {
		return p
	}
	return nil
}

func checkRegNo(n string) *Problem {
	if n == "" {
		return &Problem{Reason: ReasonEmpty, Kind: KindRegNo}
	}
	if l := utf8.RuneCountInString(n); l != RegNoLen {
		return &Problem{Reason: ReasonLength, Length: l, Want: "15", Kind: KindRegNo}
	}
	if p := scan(n, KindRegNo); p != nil {
		return p
	}
	if c := mod1110(n[:14]); n[14] != c {
		return &Problem{Reason: ReasonRegNoCheck, Position: 15, Got: n[14:15], Want: string(c), Kind: KindRegNo}
	}
	return nil
}

// RegNoCheckDigit returns the check digit of a registration number for its first 14 digits
// (ISO/IEC 7064 MOD 11,10). Errors are *Problem.
func RegNoCheckDigit(first14 string) (byte, error) {
	n := Normalize(first14)
	if l := utf8.RuneCountInString(n); l != 14 {
		return 0, &Problem{Reason: ReasonLength, Length: l, Want: "14", Kind: KindRegNo}
	}
	if p := scan(n, KindRegNo); p != nil {
		return 0, p
	}
	return mod1110(n), nil
}

// mod1110 is the ISO/IEC 7064 hybrid system MOD 11,10 over decimal digits: the check digit a
// makes the final (p + a) mod 10 equal 1.
func mod1110(digits string) byte {
	p := 10
	for i := 0; i < len(digits); i++ {
		t := (p + int(digits[i]-'0')) % 10
		if t == 0 {
			t = 10
		}
		p = 2 * t % 11
	}
	return byte('0' + (11-p)%10)
}
