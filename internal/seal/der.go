package seal

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/errs"
)

// Limits on what the parsers accept. A seal with its picture and certificates is usually
// 10–60 KB; the limits leave ample room while bounding memory on hostile input.
const (
	MaxDER     = 4 << 20 // bytes of a DER SESeal or SES_Signature
	MaxPicture = 1 << 20 // bytes of a seal picture
	MaxCerts   = 64      // certificates (or digests) in a seal's certificate list
	maxElems   = 16      // elements of any SEQUENCE of these structures
	maxMM      = 1000    // picture width or height in millimetres
)

// Object identifiers of the signature algorithms (GM/T 0006-2012).
var (
	// OIDSM2WithSM3 is SM2 signature with SM3 (sm2sign-with-sm3), the algorithm this package writes.
	OIDSM2WithSM3 = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 501}
	// OIDSM2Sign is the SM2 signature algorithm (sm2-1); some GM/T 0031 seals name it instead of
	// OIDSM2WithSM3, always with SM3 as the digest.
	OIDSM2Sign = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301, 1}
	oidSM3     = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401}
)

// isSM2 reports whether oid names an SM2-with-SM3 signature.
func isSM2(oid asn1.ObjectIdentifier) bool {
	return oid.Equal(OIDSM2WithSM3) || oid.Equal(OIDSM2Sign)
}

// malformed returns the error for a structure that cannot be read. what names the part in
// Chinese and English.
func malformed(field, whatZH, whatEN string, cause error) error {
	e := errs.New(errs.Invalid, field, whatZH+"格式错误", "malformed "+whatEN)
	if cause != nil {
		e.ZH += "：" + cause.Error()
		e.EN += ": " + cause.Error()
	}
	return e
}

// tlv reads exactly one element from b.
func tlv(b []byte) (asn1.RawValue, error) {
	var rv asn1.RawValue
	rest, err := asn1.Unmarshal(b, &rv)
	if err != nil {
		return rv, err
	}
	if len(rest) != 0 {
		return rv, fmt.Errorf("%d bytes after the end", len(rest))
	}
	return rv, nil
}

// elements splits the content of a SEQUENCE into its elements, at most max of them.
func elements(rv asn1.RawValue, max int) ([]asn1.RawValue, error) {
	if rv.Class != asn1.ClassUniversal || rv.Tag != asn1.TagSequence || !rv.IsCompound {
		return nil, fmt.Errorf("want SEQUENCE, got %s", tagName(rv))
	}
	var out []asn1.RawValue
	b := rv.Bytes
	for len(b) > 0 {
		if len(out) == max {
			return nil, fmt.Errorf("more than %d elements", max)
		}
		var e asn1.RawValue
		rest, err := asn1.Unmarshal(b, &e)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		b = rest
	}
	return out, nil
}

// sequenceOf returns the DER SEQUENCE holding the given encoded elements verbatim.
func sequenceOf(elems ...[]byte) ([]byte, error) {
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: bytes.Join(elems, nil)})
}

func tagName(rv asn1.RawValue) string {
	if rv.Class != asn1.ClassUniversal {
		return fmt.Sprintf("[%d] (class %d)", rv.Tag, rv.Class)
	}
	switch rv.Tag {
	case asn1.TagBoolean:
		return "BOOLEAN"
	case asn1.TagInteger:
		return "INTEGER"
	case asn1.TagBitString:
		return "BIT STRING"
	case asn1.TagOctetString:
		return "OCTET STRING"
	case asn1.TagNull:
		return "NULL"
	case asn1.TagOID:
		return "OBJECT IDENTIFIER"
	case asn1.TagUTF8String:
		return "UTF8String"
	case asn1.TagSequence:
		return "SEQUENCE"
	case asn1.TagSet:
		return "SET"
	case asn1.TagPrintableString:
		return "PrintableString"
	case asn1.TagIA5String:
		return "IA5String"
	case asn1.TagUTCTime:
		return "UTCTime"
	case asn1.TagGeneralizedTime:
		return "GeneralizedTime"
	case asn1.TagBMPString:
		return "BMPString"
	}
	return fmt.Sprintf("universal tag %d", rv.Tag)
}

func is(rv asn1.RawValue, tag int) bool {
	return rv.Class == asn1.ClassUniversal && rv.Tag == tag
}

func want(rv asn1.RawValue, tag int, name string) error {
	if !is(rv, tag) {
		return fmt.Errorf("want %s, got %s", name, tagName(rv))
	}
	return nil
}

func readInt(rv asn1.RawValue) (int, error) {
	if err := want(rv, asn1.TagInteger, "INTEGER"); err != nil {
		return 0, err
	}
	var n int
	if _, err := asn1.Unmarshal(rv.FullBytes, &n); err != nil {
		return 0, err
	}
	return n, nil
}

func readOID(rv asn1.RawValue) (asn1.ObjectIdentifier, error) {
	if err := want(rv, asn1.TagOID, "OBJECT IDENTIFIER"); err != nil {
		return nil, err
	}
	var oid asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(rv.FullBytes, &oid); err != nil {
		return nil, err
	}
	return oid, nil
}

func readOctets(rv asn1.RawValue) ([]byte, error) {
	if err := want(rv, asn1.TagOctetString, "OCTET STRING"); err != nil {
		return nil, err
	}
	if rv.IsCompound {
		return nil, errors.New("constructed OCTET STRING")
	}
	return rv.Bytes, nil
}

// readBits returns the bytes of a BIT STRING with a whole number of bytes. An OCTET STRING is
// accepted as well: several GM/T 0031 writers use one where a BIT STRING is specified.
func readBits(rv asn1.RawValue) ([]byte, error) {
	if is(rv, asn1.TagOctetString) {
		return readOctets(rv)
	}
	if err := want(rv, asn1.TagBitString, "BIT STRING"); err != nil {
		return nil, err
	}
	var bs asn1.BitString
	if _, err := asn1.Unmarshal(rv.FullBytes, &bs); err != nil {
		return nil, err
	}
	if bs.BitLength%8 != 0 {
		return nil, fmt.Errorf("BIT STRING of %d bits is not whole bytes", bs.BitLength)
	}
	return bs.Bytes, nil
}

func bits(b []byte) asn1.BitString { return asn1.BitString{Bytes: b, BitLength: 8 * len(b)} }

// readString reads the string types the structures use (IA5String, UTF8String) and the ones some
// writers put in their place (PrintableString, BMPString).
func readString(rv asn1.RawValue) (string, error) {
	if rv.Class != asn1.ClassUniversal || rv.IsCompound {
		return "", fmt.Errorf("want a string, got %s", tagName(rv))
	}
	switch rv.Tag {
	case asn1.TagIA5String, asn1.TagPrintableString:
		for _, c := range rv.Bytes {
			if c >= utf8.RuneSelf {
				return "", fmt.Errorf("%s holds a non-ASCII byte", tagName(rv))
			}
		}
		return string(rv.Bytes), nil
	case asn1.TagUTF8String:
		if !utf8.Valid(rv.Bytes) {
			return "", errors.New("UTF8String is not valid UTF-8")
		}
		return string(rv.Bytes), nil
	case asn1.TagBMPString:
		if len(rv.Bytes)%2 != 0 {
			return "", errors.New("BMPString has an odd length")
		}
		u := make([]uint16, len(rv.Bytes)/2)
		for i := range u {
			u[i] = uint16(rv.Bytes[2*i])<<8 | uint16(rv.Bytes[2*i+1])
		}
		return string(utf16.Decode(u)), nil
	}
	return "", fmt.Errorf("want a string, got %s", tagName(rv))
}

// chinaTime is the zone of times written without one by GM/T 0031 tools (Beijing time).
var chinaTime = time.FixedZone("CST", 8*3600)

// readTime reads a UTCTime or GeneralizedTime, also in the forms some writers produce (no
// seconds, no zone: taken as Beijing time).
func readTime(rv asn1.RawValue) (time.Time, error) {
	if !is(rv, asn1.TagUTCTime) && !is(rv, asn1.TagGeneralizedTime) {
		return time.Time{}, fmt.Errorf("want UTCTime or GeneralizedTime, got %s", tagName(rv))
	}
	var t time.Time
	if _, err := asn1.Unmarshal(rv.FullBytes, &t); err == nil {
		return t.UTC(), nil
	}
	if rv.Tag == asn1.TagUTCTime {
		return parseTimeText(string(rv.Bytes), utcLayouts)
	}
	return parseTimeText(string(rv.Bytes), generalizedLayouts)
}

var (
	utcLayouts         = []string{"0601021504Z0700", "060102150405", "0601021504"}
	generalizedLayouts = []string{"20060102150405.999999999", "20060102150405", "200601021504Z0700", "200601021504"}
	// textLayouts are the forms found in the timeInfo BIT STRING of GM/T 0031 signatures.
	textLayouts = []string{"060102150405Z0700", "20060102150405Z0700", "20060102150405.999999999Z0700",
		"2006-01-02 15:04:05", "2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05", "2006/01/02 15:04:05",
		"20060102150405", "060102150405"}
)

func parseTimeText(s string, layouts []string) (time.Time, error) {
	s = strings.TrimSpace(strings.TrimRight(s, "\x00"))
	if len(s) > 40 {
		return time.Time{}, errors.New("time text too long")
	}
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l, s, chinaTime); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable time %q", s)
}

// readTimeInfo reads the signing time of a GM/T 0031 TBS_Sign: a BIT STRING (or OCTET STRING)
// holding a DER time or its text, or a time element itself.
func readTimeInfo(rv asn1.RawValue) (time.Time, error) {
	if is(rv, asn1.TagUTCTime) || is(rv, asn1.TagGeneralizedTime) {
		return readTime(rv)
	}
	b, err := readBits(rv)
	if err != nil {
		return time.Time{}, err
	}
	if inner, err := tlv(b); err == nil && (is(inner, asn1.TagUTCTime) || is(inner, asn1.TagGeneralizedTime)) {
		return readTime(inner)
	}
	return parseTimeText(string(b), textLayouts)
}

// sigDER returns an SM2 signature value as DER SEQUENCE{r, s}: some writers store the 64 bytes
// r‖s instead.
func sigDER(v []byte) []byte {
	if len(v) != 64 || v[0] == 0x30 && derSig(v) {
		return v
	}
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(v[:32]), new(big.Int).SetBytes(v[32:])})
	if err != nil {
		return v
	}
	return der
}

func derSig(v []byte) bool {
	var s struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(v, &s)
	return err == nil && len(rest) == 0
}

// isIA5 reports whether s may be written as an IA5String with printable characters.
func isIA5(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
