package uscc

import (
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Reason says what kind of fault a Problem is.
type Reason int

// The reasons a code is rejected.
const (
	ReasonEmpty      Reason = iota + 1 // nothing but white space was given
	ReasonLength                       // wrong number of characters; see Length and Want
	ReasonChar                         // a character not allowed at Position; see Got
	ReasonCheck17                      // position 17 is not the GB 11714 check character; see Want
	ReasonCheck18                      // position 18 is not the GB 32100 check character; see Want
	ReasonRegNoCheck                   // position 15 of a registration number is not its MOD 11,10 check digit
)

var reasonNames = [...]string{
	ReasonEmpty:      "empty",
	ReasonLength:     "length",
	ReasonChar:       "char",
	ReasonCheck17:    "check17",
	ReasonCheck18:    "check18",
	ReasonRegNoCheck: "regno_check",
}

// String returns a stable machine-readable name for the reason.
func (r Reason) String() string {
	if r > 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// IsCheck reports whether the reason is a wrong check character, the only kind of failure an
// AllowList can excuse.
func (r Reason) IsCheck() bool {
	return r == ReasonCheck17 || r == ReasonCheck18 || r == ReasonRegNoCheck
}

// CodeKind says which kind of code was checked.
type CodeKind int

// The kinds of code.
const (
	KindUnknown CodeKind = iota // neither kind could be told (e.g. a length that fits none)
	KindUSCC                    // unified social credit code, GB 32100-2015
	KindRegNo                   // legacy 15-digit registration number (注册号)
	KindOrgCode                 // organisation code body, GB 11714-1997 (only in problems from OrgCheckDigit)
)

var kindNames = [...]string{
	KindUnknown: "unknown",
	KindUSCC:    "uscc",
	KindRegNo:   "regno",
	KindOrgCode: "orgcode",
}

// String returns a stable machine-readable name for the kind.
func (k CodeKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Problem describes what is wrong with a code and where (1-based position, 0 when not positional).
type Problem struct {
	Reason   Reason
	Position int    // 1-based character position in the normalised code; 0 when not positional
	Got      string // the offending character(s), "" if none
	Want     string // expected check character for check failures; expected length for ReasonLength ("" means 15 or 18)
	Length   int    // actual length for ReasonLength
	Kind     CodeKind
}

// Error returns the English message with the package prefix.
func (p *Problem) Error() string { return "uscc: " + p.MessageEN() }

// MessageZH returns the message in zh-CN for the user, e.g. "第18位校验码错误：应为 G，实际为 H".
func (p *Problem) MessageZH() string {
	switch p.Reason {
	case ReasonEmpty:
		return "未填写代码"
	case ReasonLength:
		if p.Want == "" && p.Kind == KindUnknown {
			return fmt.Sprintf("长度错误：统一社会信用代码应为18位，注册号应为15位，实际为%d位", p.Length)
		}
		return fmt.Sprintf("长度错误：应为%s位，实际为%d位", p.wantLength(), p.Length)
	case ReasonChar:
		return fmt.Sprintf("第%d位字符%s无效：此处只能是%s", p.Position, quoteZH(p.Got), p.allowedZH())
	case ReasonCheck17, ReasonCheck18, ReasonRegNoCheck:
		return fmt.Sprintf("第%d位校验码错误：应为 %s，实际为 %s", p.Position, p.Want, p.Got)
	}
	return "代码无效"
}

// MessageEN returns the message in English for the user, e.g.
// "wrong check character at position 18: expected G, got H".
func (p *Problem) MessageEN() string {
	switch p.Reason {
	case ReasonEmpty:
		return "no code given"
	case ReasonLength:
		if p.Want == "" && p.Kind == KindUnknown {
			return fmt.Sprintf("wrong length: expected 18 characters (unified social credit code) or 15 (registration number), got %d", p.Length)
		}
		return fmt.Sprintf("wrong length: expected %s characters, got %d", p.wantLength(), p.Length)
	case ReasonChar:
		return fmt.Sprintf("invalid character %q at position %d: only %s are allowed here", p.Got, p.Position, p.allowedEN())
	case ReasonCheck17, ReasonCheck18, ReasonRegNoCheck:
		return fmt.Sprintf("wrong check character at position %d: expected %s, got %s", p.Position, p.Want, p.Got)
	}
	return "invalid code"
}

// wantLength is the expected length, from Want or else from the kind of code.
func (p *Problem) wantLength() string {
	if p.Want != "" {
		return p.Want
	}
	switch p.Kind {
	case KindUSCC:
		return "18"
	case KindRegNo:
		return "15"
	case KindOrgCode:
		return "8"
	}
	return "?"
}

func (p *Problem) digitsOnly() bool {
	return p.Kind == KindRegNo || p.Kind == KindUSCC && 3 <= p.Position && p.Position <= 8
}

func (p *Problem) allowedZH() string {
	switch {
	case p.digitsOnly():
		return "数字"
	case p.Kind == KindUSCC:
		return "数字或除 I、O、S、V、Z 以外的大写字母"
	}
	return "数字或大写字母"
}

func (p *Problem) allowedEN() string {
	switch {
	case p.digitsOnly():
		return "digits"
	case p.Kind == KindUSCC:
		return "digits and capital letters other than I, O, S, V and Z"
	}
	return "digits and capital letters"
}

// quoteZH shows a character in Chinese quotation marks, escaping it when it would not be
// visible (white space, control characters, invalid UTF-8).
func quoteZH(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if s == "" || size != len(s) || r == utf8.RuneError || !unicode.IsGraphic(r) || unicode.IsSpace(r) {
		return strconv.QuoteToASCII(s)
	}
	return "“" + s + "”"
}
