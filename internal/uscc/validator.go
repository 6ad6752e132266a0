package uscc

import "unicode/utf8"

// AllowList holds operator-maintained codes that were issued though they fail a check
// (STANDARDS §1, e.g. 91350203M0001QAY9B). Keys are normalised codes; NewAllowList normalises
// them for you.
type AllowList map[string]bool

// NewAllowList returns an AllowList of the given codes, normalised.
func NewAllowList(codes ...string) AllowList {
	a := make(AllowList, len(codes))
	for _, c := range codes {
		if n := Normalize(c); n != "" {
			a[n] = true
		}
	}
	return a
}

// Allows reports whether code, after Normalize, is on the list.
func (a AllowList) Allows(code string) bool { return a[Normalize(code)] }

// Validator checks codes with an allow-list. The zero value has an empty list.
type Validator struct{ Allow AllowList }

// Validate accepts an 18-character unified social credit code or a 15-digit registration
// number, told apart by length, and returns it normalised with its kind. A code on the
// allow-list passes despite wrong check characters, but never despite a wrong length or
// character: the list excuses issuing mistakes, not typing mistakes. On failure Validate returns
// "", KindUnknown and a *Problem (whose Kind says which kind was tried).
func (v Validator) Validate(code string) (normalized string, kind CodeKind, err error) {
	n := Normalize(code)
	var p *Problem
	switch l := utf8.RuneCountInString(n); l {
	case 0:
		return "", KindUnknown, &Problem{Reason: ReasonEmpty}
	case Len:
		kind, p = KindUSCC, check(n)
	case RegNoLen:
		kind, p = KindRegNo, checkRegNo(n)
	default:
		return "", KindUnknown, &Problem{Reason: ReasonLength, Length: l}
	}
	if p == nil || p.Reason.IsCheck() && v.Allow[n] {
		return n, kind, nil
	}
	return "", KindUnknown, p
}
