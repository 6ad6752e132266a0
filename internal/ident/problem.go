package ident

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Reason says what kind of fault a Problem is.
type Reason int

// The reasons an identifier is rejected.
const (
	ReasonEmpty   Reason = iota + 1 // nothing but white space was given
	ReasonTooLong                   // more than MaxLen characters; see Length
	ReasonRoot                      // does not start with Root and a dot; see Position, Got ("" if the input ends), Want
	ReasonParts                     // not five parts after the root; Length is how many there are, Position the first surplus dot
	ReasonLength                    // a part has the wrong length; see Part, Position (its first character) and Length
	ReasonChar                      // a character not allowed in its part; see Part, Position, Got and Allowed
	ReasonVersion                   // the version is not 001–999; see Got
	ReasonCheck                     // wrong check character; see Got and Want
)

var reasonNames = [...]string{
	ReasonEmpty:   "empty",
	ReasonTooLong: "too_long",
	ReasonRoot:    "root",
	ReasonParts:   "parts",
	ReasonLength:  "length",
	ReasonChar:    "char",
	ReasonVersion: "version",
	ReasonCheck:   "check",
}

// String returns a stable machine-readable name for the reason.
func (r Reason) String() string {
	if r > 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// Charset says which characters a position allows.
type Charset int

// The character sets of identifier parts.
const (
	CharsetDigits Charset = iota + 1 // 0–9
	CharsetUSCC                      // 0–9 and A–Z except I, O, S, V, Z (GB 32100-2015)
	CharsetAlnum                     // 0–9 and A–Z (letters in either case on input)
)

func (cs Charset) contains(c byte) bool {
	switch cs {
	case CharsetDigits:
		return '0' <= c && c <= '9'
	case CharsetUSCC:
		return strings.IndexByte(uscc, c) >= 0
	case CharsetAlnum:
		return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z'
	}
	return false
}

// Problem describes what is wrong with an identifier and where.
type Problem struct {
	Reason   Reason
	Part     string  // PartRoot, PartType, …, PartCheck; "" when the fault is not in one part
	Position int     // 1-based character position in the normalised identifier; 0 when not positional
	Got      string  // the offending character(s), "" if none
	Want     string  // expected check character for ReasonCheck; expected character for ReasonRoot
	Length   int     // actual length for ReasonTooLong and ReasonLength; number of parts for ReasonParts
	Allowed  Charset // what the position allows, for ReasonChar
}

// Error returns the English message with the package prefix.
func (p *Problem) Error() string { return "ident: " + p.MessageEN() }

// MessageZH returns the message in zh-CN for the user, e.g. "第69位校验位错误：应为 F，实际为 G".
func (p *Problem) MessageZH() string {
	switch p.Reason {
	case ReasonEmpty:
		return "未填写证照标识"
	case ReasonTooLong:
		return fmt.Sprintf("证照标识过长：最多%d位，实际为%d位", MaxLen, p.Length)
	case ReasonRoot:
		if p.Got == "" {
			return fmt.Sprintf("证照标识不完整：应以 %s. 开头", Root)
		}
		return fmt.Sprintf("第%d位应为“%s”，实际为%s：证照标识应以 %s. 开头", p.Position, p.Want, quoteZH(p.Got), Root)
	case ReasonParts:
		s := fmt.Sprintf("证照标识在 %s 之后应有5段（证照类型代码、发证机构代码、顺序号、版本号、校验位），实际为%d段", Root, p.Length)
		if p.Position > 0 {
			s = fmt.Sprintf("第%d位的“.”多余：", p.Position) + s
		}
		return s
	case ReasonLength:
		return fmt.Sprintf("%s长度错误：应为%s位，实际为%d位", partZH(p.Part), wantLengthZH(p.Part), p.Length)
	case ReasonChar:
		where := fmt.Sprintf("第%d位", p.Position)
		if p.Part != "" {
			where += "（" + partZH(p.Part) + "）"
		}
		return fmt.Sprintf("%s字符%s无效：此处只能是%s", where, quoteZH(p.Got), charsetZH(p.Allowed))
	case ReasonVersion:
		return fmt.Sprintf("版本号%s无效：应为001至999", p.Got)
	case ReasonCheck:
		return fmt.Sprintf("第%d位校验位错误：应为 %s，实际为 %s", p.Position, p.Want, p.Got)
	}
	return "证照标识无效"
}

// MessageEN returns the message in English for the user, e.g.
// "wrong check character at position 69: expected F, got G".
func (p *Problem) MessageEN() string {
	switch p.Reason {
	case ReasonEmpty:
		return "no identifier given"
	case ReasonTooLong:
		return fmt.Sprintf("identifier too long: at most %d characters, got %d", MaxLen, p.Length)
	case ReasonRoot:
		if p.Got == "" {
			return fmt.Sprintf("incomplete identifier: it must start with %s.", Root)
		}
		return fmt.Sprintf("expected %q at position %d, got %q: an identifier starts with %s.", p.Want, p.Position, p.Got, Root)
	case ReasonParts:
		s := fmt.Sprintf("an identifier has 5 parts after %s (type code, issuer code, serial, version, check character), got %d", Root, p.Length)
		if p.Position > 0 {
			s = fmt.Sprintf("unexpected \".\" at position %d: ", p.Position) + s
		}
		return s
	case ReasonLength:
		return fmt.Sprintf("the %s has the wrong length: expected %s characters, got %d", partEN(p.Part), wantLengthEN(p.Part), p.Length)
	case ReasonChar:
		where := fmt.Sprintf("at position %d", p.Position)
		if p.Part != "" {
			where += " (" + partEN(p.Part) + ")"
		}
		return fmt.Sprintf("invalid character %q %s: only %s are allowed here", p.Got, where, charsetEN(p.Allowed))
	case ReasonVersion:
		return fmt.Sprintf("invalid version %s: expected 001 to 999", p.Got)
	case ReasonCheck:
		return fmt.Sprintf("wrong check character at position %d: expected %s, got %s", p.Position, p.Want, p.Got)
	}
	return "invalid identifier"
}

func partZH(part string) string {
	switch part {
	case PartRoot:
		return "根节点"
	case PartType:
		return "证照类型代码"
	case PartIssuer:
		return "发证机构代码"
	case PartSerial:
		return "顺序号"
	case PartVersion:
		return "版本号"
	case PartCheck:
		return "校验位"
	}
	return "证照标识"
}

func partEN(part string) string {
	switch part {
	case PartRoot:
		return "root"
	case PartType:
		return "licence type code"
	case PartIssuer:
		return "issuer code"
	case PartSerial:
		return "serial"
	case PartVersion:
		return "version"
	case PartCheck:
		return "check character"
	}
	return "identifier"
}

func wantLengthZH(part string) string {
	switch part {
	case PartType:
		return strconv.Itoa(TypeCodeLen)
	case PartIssuer:
		return "18或6"
	case PartSerial:
		return "1至" + strconv.Itoa(MaxSerialLen)
	case PartVersion:
		return "3"
	}
	return "1"
}

func wantLengthEN(part string) string {
	switch part {
	case PartType:
		return strconv.Itoa(TypeCodeLen)
	case PartIssuer:
		return "18 or 6"
	case PartSerial:
		return "1 to " + strconv.Itoa(MaxSerialLen)
	case PartVersion:
		return "3"
	}
	return "1"
}

func charsetZH(cs Charset) string {
	switch cs {
	case CharsetDigits:
		return "数字"
	case CharsetUSCC:
		return "数字或除 I、O、S、V、Z 以外的字母"
	}
	return "数字或字母"
}

func charsetEN(cs Charset) string {
	switch cs {
	case CharsetDigits:
		return "digits"
	case CharsetUSCC:
		return "digits and letters other than I, O, S, V and Z"
	}
	return "digits and letters"
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
