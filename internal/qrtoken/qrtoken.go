// Package qrtoken makes and reads the compact SM2-signed tokens carried in QR codes: the licence
// QR printed on every licence document (TypeLicence, signed by the registering authority) and the
// wallet's dynamic presentation QR (TypePresentation, signed by the platform, short-lived), and the
// QR on the documents of other licence types (TypePermit, signed by the issuing department).
//
// A token is PAYLOAD.SIG, both base64url without padding (RFC 4648 §5): PAYLOAD is a binary
// encoding of the claims (a type byte, a format version byte, then the fields, each length
// prefixed; times in unix seconds, the issue time as an unsigned 32-bit number), SIG the DER SM2
// signature (GB/T 32918.2, SM3 with the default
// signer ID) over the PAYLOAD bytes. The QR holds the URL {publicURL}/v/{token}, so a phone
// camera opens the public verification page, and anyone holding the signer's certificate can
// check the token offline.
//
// Strings are packed the way QR codes pack data: upper-case letters and digits three to two
// bytes, hexadecimal two to one byte, well-known strings (the national business-licence type
// code) in one byte; a licence identifier whose issuer and version repeat the token's authority
// code and version keeps only its type code and serial. A licence token is at most 180
// characters, so its URL fits a version-10 QR code at error correction level M when the public
// URL has at most 30 characters.
package qrtoken

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/ident"
)

// Token types: the first byte of the payload.
const (
	// TypeLicence is the licence QR: signed by the registering authority, valid as long as the
	// licence version it names (its status is checked online).
	TypeLicence byte = 1
	// TypePresentation is the wallet's dynamic QR: signed by the platform, valid until Expires
	// (minutes), carrying the fields the holder chose to show and the presenter's role.
	TypePresentation byte = 2
	// TypePermit is the QR of a licence of another type (a permit such as 食品经营许可证): signed
	// by the issuing department, encoded like TypeLicence (Code is then the holder's code, masked
	// for a person), valid as long as the permit version it names.
	TypePermit byte = 3
)

// FormatVersion is the payload format this package writes (the second byte of the payload).
const FormatVersion byte = 1

// Limits. A token longer than MaxLen is refused before it is decoded.
const (
	MaxLen       = 2048 // characters of a token
	MaxURLLen    = 4096 // characters of a URL given to FromURL
	MaxString    = 255  // bytes of one string claim
	MaxFields    = 32   // fields of a presentation token
	maxVersion   = 65535
	maxUnix      = 253402300799 // 9999-12-31T23:59:59Z
	maxSigLen    = 80           // a DER SM2 signature is at most 72 bytes
	minSigLen    = 8
	identCompact = 1 // identifier flag: rebuilt from type code, authority code, serial, version
)

// Errors the others wrap, for errors.Is.
var (
	// ErrMalformed: the token cannot be read.
	ErrMalformed = errors.New("qrtoken: malformed token")
	// ErrSignature: the signature does not verify.
	ErrSignature = errors.New("qrtoken: bad signature")
	// ErrExpired: a presentation token past its expiry (or not yet valid).
	ErrExpired = errors.New("qrtoken: token expired")
)

// Field is a chosen item of a presentation token, such as {"name", "杭州某某科技有限公司"}.
type Field struct {
	Key, Value string
}

// Claims is what a token says.
type Claims struct {
	Type byte // TypeLicence, TypePresentation or TypePermit
	// Identifier is the licence identifier (电子证照标识); Code the holder's unified social credit
	// code; Version the licence version.
	Identifier, Code string
	Version          int
	IssuedAt         time.Time // UTC, whole seconds
	// AuthorityCode is the registering authority's credit code; CertSerial the hex serial of the
	// signer's certificate (the authority's for a licence token, the platform's for a
	// presentation token).
	AuthorityCode, CertSerial string

	// Presentation tokens only.
	Expires time.Time // UTC, whole seconds, after IssuedAt
	Role    string    // the presenter's role, e.g. "legal_representative"
	Fields  []Field   // the fields the holder chose to present
}

// Token is a parsed token: its claims, the signed payload bytes and the DER signature.
type Token struct {
	Claims
	Signed []byte
	Sig    []byte
}

// b64 is strict: the unused bits of the last character must be zero, so that each payload has
// exactly one spelling and no character of a token can change unnoticed.
var b64 = base64.RawURLEncoding.Strict()

// Encode validates c, encodes it, signs it with signer and returns the token PAYLOAD.SIG.
func Encode(ctx context.Context, signer gm.Signer, c Claims) (string, error) {
	if signer == nil {
		return "", errors.New("qrtoken: encode: no signer")
	}
	payload, err := marshal(c)
	if err != nil {
		return "", fmt.Errorf("qrtoken: encode: %w", err)
	}
	sig, err := signer.Sign(ctx, payload)
	if err != nil {
		return "", fmt.Errorf("qrtoken: encode: %w", err)
	}
	tok := b64.EncodeToString(payload) + "." + b64.EncodeToString(sig)
	if len(tok) > MaxLen {
		return "", fmt.Errorf("qrtoken: encode: token of %d characters exceeds %d", len(tok), MaxLen)
	}
	return tok, nil
}

// URL returns the URL a QR code carries for token: {publicURL}/v/{token}.
func URL(publicURL, token string) string {
	return strings.TrimRight(publicURL, "/") + "/v/" + token
}

// FromURL returns the token in s, which is either a URL ending in /v/{token} (as scanned from a
// QR code, possibly with a query or fragment) or the bare token. Only the token's shape is
// checked here; Parse reads it.
func FromURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxURLLen {
		return "", bad("二维码内容过长（%d 字符）", "QR content too long (%d characters)", len(s))
	}
	if i := strings.LastIndex(s, "/v/"); i >= 0 {
		s = s[i+3:]
		if j := strings.IndexAny(s, "?#"); j >= 0 {
			s = s[:j]
		}
		s = strings.TrimRight(s, "/")
	}
	if s == "" {
		return "", bad("二维码中没有令牌", "the QR content holds no token")
	}
	if len(s) > MaxLen {
		return "", bad("令牌过长（%d 字符，上限 %d）", "token too long (%d characters, limit %d)", len(s), MaxLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", bad("令牌含有非法字符（第 %d 个字符）", "token holds an invalid character (character %d)", i+1)
		}
	}
	if strings.Count(s, ".") != 1 {
		return "", bad("令牌应由“.”分隔的两部分组成", "token must be two parts separated by \".\"")
	}
	return s, nil
}

// Parse decodes a token (not its signature: see Token.Verify). Errors are *errs.Error of kind
// Invalid wrapping ErrMalformed, saying what is wrong.
func Parse(token string) (*Token, error) {
	if len(token) > MaxLen {
		return nil, bad("令牌过长（%d 字符，上限 %d）", "token too long (%d characters, limit %d)", len(token), MaxLen)
	}
	p, s, ok := strings.Cut(token, ".")
	if !ok || strings.Contains(s, ".") {
		return nil, bad("令牌应由“.”分隔的两部分组成", "token must be two parts separated by \".\"")
	}
	payload, err := b64.DecodeString(p)
	if err != nil {
		return nil, bad("令牌数据部分不是有效的 base64url 编码（%v）", "token payload is not valid base64url (%v)", err)
	}
	sig, err := b64.DecodeString(s)
	if err != nil {
		return nil, bad("令牌签名部分不是有效的 base64url 编码（%v）", "token signature is not valid base64url (%v)", err)
	}
	if len(sig) < minSigLen || len(sig) > maxSigLen {
		return nil, bad("令牌签名长度 %d 字节不正确", "token signature of %d bytes has the wrong length", len(sig))
	}
	c, err := unmarshal(payload)
	if err != nil {
		return nil, err
	}
	return &Token{Claims: c, Signed: payload, Sig: sig}, nil
}

// Verify checks the token's signature with pub, the public key of the certificate whose serial
// is CertSerial. It returns an *errs.Error of kind Invalid wrapping ErrSignature if it does not
// verify.
func (t *Token) Verify(pub *ecdsa.PublicKey) error {
	if t == nil || !gm.Verify(pub, t.Signed, t.Sig) {
		e := errs.New(errs.Invalid, "token", "二维码签名无效：内容被改动或并非由发证机关签发", "the QR code's signature is invalid: the content was altered or not signed by the issuer")
		e.Err = ErrSignature
		return e
	}
	return nil
}

// CheckTime checks a presentation token's validity period at now (with one minute of clock
// skew allowed for IssuedAt); a licence token has none and always passes. The error is an
// *errs.Error of kind Invalid wrapping ErrExpired.
func (t *Token) CheckTime(now time.Time) error {
	if t.Type != TypePresentation {
		return nil
	}
	if now.Add(time.Minute).Before(t.IssuedAt) || !now.Before(t.Expires) {
		e := errs.Invalidf("token", "二维码已过期（有效期至 %s），请刷新后重新出示", "the QR code has expired (valid until %s): refresh it and show it again",
			t.Expires.UTC().Format("2006-01-02 15:04:05Z"))
		e.Err = ErrExpired
		return e
	}
	return nil
}

func bad(zh, en string, args ...any) error {
	e := errs.Invalidf("token", zh, en, args...)
	e.Err = ErrMalformed
	return e
}

// marshal validates c and returns its payload.
func marshal(c Claims) ([]byte, error) {
	if c.Type != TypeLicence && c.Type != TypePresentation && c.Type != TypePermit {
		return nil, fmt.Errorf("unknown token type %d", c.Type)
	}
	if c.Type != TypePresentation && c.Identifier == "" {
		return nil, errors.New("licence token has no identifier")
	}
	if c.Code == "" {
		return nil, errors.New("token has no credit code")
	}
	if c.Version < 0 || c.Version > maxVersion {
		return nil, fmt.Errorf("version %d out of range 0–%d", c.Version, maxVersion)
	}
	if c.IssuedAt.IsZero() || c.IssuedAt.Unix() < 0 || c.IssuedAt.Unix() > math.MaxUint32 {
		return nil, fmt.Errorf("issue time %v out of range", c.IssuedAt)
	}
	if c.CertSerial == "" {
		return nil, errors.New("token has no certificate serial")
	}
	if c.Type != TypePresentation && (!c.Expires.IsZero() || c.Role != "" || len(c.Fields) > 0) {
		return nil, errors.New("a licence token has no expiry, role or fields")
	}
	var e enc
	e.b = append(e.b, c.Type, FormatVersion)
	e.identifier(c)
	e.str(c.Code)
	e.uint(uint64(c.Version))
	e.b = binary.BigEndian.AppendUint32(e.b, uint32(c.IssuedAt.Unix()))
	if c.Type == TypePresentation {
		if !c.Expires.After(c.IssuedAt) || c.Expires.Unix() > maxUnix {
			return nil, fmt.Errorf("expiry %v must come after the issue time %v", c.Expires, c.IssuedAt)
		}
		e.uint(uint64(c.Expires.Unix() - c.IssuedAt.Unix()))
	}
	e.str(c.AuthorityCode)
	e.str(c.CertSerial)
	if c.Type == TypePresentation {
		e.str(c.Role)
		if len(c.Fields) > MaxFields {
			return nil, fmt.Errorf("%d fields, more than %d", len(c.Fields), MaxFields)
		}
		e.uint(uint64(len(c.Fields)))
		for _, f := range c.Fields {
			if f.Key == "" {
				return nil, errors.New("a field has no key")
			}
			e.str(f.Key)
			e.str(f.Value)
		}
	}
	if e.err != nil {
		return nil, e.err
	}
	return e.b, nil
}

// unmarshal reads a payload.
func unmarshal(b []byte) (Claims, error) {
	var c Claims
	if len(b) < 2 {
		return c, bad("令牌数据过短（%d 字节）", "token payload is truncated (%d bytes)", len(b))
	}
	c.Type = b[0]
	if c.Type != TypeLicence && c.Type != TypePresentation && c.Type != TypePermit {
		return c, bad("未知的令牌类型 %d", "unknown token type %d", int(c.Type))
	}
	if b[1] != FormatVersion {
		return c, bad("不支持的令牌格式版本 %d", "unsupported token format version %d", int(b[1]))
	}
	d := dec{b: b[2:]}
	var typeCode, serial string
	flags := d.uint("identifier flags", 1)
	if flags == identCompact {
		typeCode = d.str("identifier type code")
		serial = d.str("identifier serial")
	} else {
		c.Identifier = d.str("identifier")
	}
	c.Code = d.str("code")
	c.Version = int(d.uint("version", maxVersion))
	c.IssuedAt = time.Unix(int64(d.uint32("issued at")), 0).UTC()
	if c.Type == TypePresentation {
		ttl := d.uint("expires", maxUnix)
		if d.err == nil && (ttl == 0 || uint64(c.IssuedAt.Unix())+ttl > maxUnix) {
			d.failField("expires", "字段“%s”的值超出范围", "field %q out of range")
		}
		c.Expires = c.IssuedAt.Add(time.Duration(ttl) * time.Second)
	}
	c.AuthorityCode = d.str("authority code")
	c.CertSerial = d.str("certificate serial")
	if c.Type == TypePresentation {
		c.Role = d.str("role")
		n := d.uint("field count", MaxFields)
		for i := uint64(0); i < n && d.err == nil; i++ {
			f := Field{Key: d.str("field key"), Value: d.str("field value")}
			if d.err == nil && f.Key == "" {
				d.fail("令牌中有字段缺少名称", "a field of the token has no key")
			}
			c.Fields = append(c.Fields, f)
		}
	}
	if d.err == nil && len(d.b) > 0 {
		d.fail("令牌数据末尾有 %d 字节多余数据", "token payload has %d unexpected bytes at the end", len(d.b))
	}
	if d.err == nil && flags == identCompact {
		id, err := ident.New(typeCode, c.AuthorityCode, serial, c.Version)
		if err != nil {
			d.fail("令牌中的电子证照标识无效（%v）", "the licence identifier in the token is invalid (%v)", err)
		}
		c.Identifier = id
	}
	if d.err == nil && (c.Code == "" || c.CertSerial == "" || c.Type != TypePresentation && c.Identifier == "") {
		d.fail("令牌缺少必需的字段", "token lacks a required field")
	}
	return c, d.err
}

// String modes: the high two bits of a string's header byte, whose low six bits are its length
// in characters (or, for modeWellKnown, the index in wellKnown); a length of 63 or more is
// written as 63 followed by a uvarint of the rest.
const (
	modeRaw       = 0 // UTF-8 bytes
	modeAlnum     = 1 // [0-9A-Z]: three characters in two bytes (base 36)
	modeHex       = 2 // [0-9a-f]: two characters in one byte
	modeWellKnown = 3 // an entry of wellKnown
)

// wellKnown lists strings written as one byte. Entries are only ever appended.
var wellKnown = [...]string{
	"11100000MB0143028R001", // the national business-licence type code (STANDARDS §2)
}

const (
	alnum     = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	hexDigits = "0123456789abcdef"
)

type enc struct {
	b   []byte
	err error
}

func (e *enc) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }

// identifier writes the licence identifier, compactly when it can be rebuilt from the claims.
func (e *enc) identifier(c Claims) {
	if id, err := ident.Parse(c.Identifier); err == nil && id.Issuer == c.AuthorityCode && id.Version == c.Version {
		if full, err := ident.New(id.TypeCode, id.Issuer, id.Serial, id.Version); err == nil && full == c.Identifier {
			e.uint(identCompact)
			e.str(id.TypeCode)
			e.str(id.Serial)
			return
		}
	}
	e.uint(0)
	e.str(c.Identifier)
}

func (e *enc) str(s string) {
	if len(s) > MaxString || !utf8.ValidString(s) {
		if e.err == nil {
			e.err = fmt.Errorf("string %.40q… is longer than %d bytes or not UTF-8", s, MaxString)
		}
		return
	}
	for i, w := range wellKnown {
		if s == w {
			e.header(modeWellKnown, i)
			return
		}
	}
	switch {
	case len(s) >= 2 && only(s, hexDigits):
		e.header(modeHex, len(s))
		for i := 0; i < len(s); i += 2 {
			v := strings.IndexByte(hexDigits, s[i]) << 4
			if i+1 < len(s) {
				v |= strings.IndexByte(hexDigits, s[i+1])
			}
			e.b = append(e.b, byte(v))
		}
	case len(s) >= 3 && only(s, alnum):
		e.header(modeAlnum, len(s))
		for i := 0; i < len(s); i += 3 {
			switch len(s) - i {
			case 1:
				e.b = append(e.b, byte(strings.IndexByte(alnum, s[i])))
			case 2:
				e.b = binary.BigEndian.AppendUint16(e.b, uint16(strings.IndexByte(alnum, s[i])*36+strings.IndexByte(alnum, s[i+1])))
			default:
				e.b = binary.BigEndian.AppendUint16(e.b, uint16(strings.IndexByte(alnum, s[i])*1296+strings.IndexByte(alnum, s[i+1])*36+strings.IndexByte(alnum, s[i+2])))
			}
		}
	default:
		e.header(modeRaw, len(s))
		e.b = append(e.b, s...)
	}
}

func (e *enc) header(mode, n int) {
	if n < 63 {
		e.b = append(e.b, byte(mode<<6|n))
		return
	}
	e.b = append(e.b, byte(mode<<6|63))
	e.uint(uint64(n - 63))
}

func only(s, set string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
}

// dec reads a payload; the first error sticks and later reads return zero values.
type dec struct {
	b   []byte
	err error
}

func (d *dec) fail(zh, en string, args ...any) {
	if d.err == nil {
		d.err = bad(zh, en, args...)
	}
}

// fieldNames are the Chinese names of the payload's fields, for messages.
var fieldNames = map[string]string{
	"identifier flags": "标识格式", "identifier type code": "证照类型代码", "identifier serial": "证照序号",
	"identifier": "电子证照标识", "code": "统一社会信用代码", "version": "版本号", "issued at": "签发时间",
	"expires": "失效时间", "authority code": "发证机关代码", "certificate serial": "证书序列号",
	"role": "出示人角色", "field count": "字段数", "field key": "字段名", "field value": "字段值",
}

// failField fails with a message naming field, in Chinese in zh and quoted English in en; args
// follow the field in both.
func (d *dec) failField(field, zh, en string, args ...any) {
	if d.err != nil {
		return
	}
	name := fieldNames[field]
	if name == "" {
		name = field
	}
	e := errs.New(errs.Invalid, "token", fmt.Sprintf(zh, append([]any{name}, args...)...), fmt.Sprintf(en, append([]any{field}, args...)...))
	e.Err = ErrMalformed
	d.err = e
}

func (d *dec) truncated(field string) {
	d.failField(field, "令牌数据在字段“%s”处被截断", "token payload is truncated in field %q")
}

func (d *dec) uint(field string, max uint64) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n == 0 {
		d.truncated(field)
		return 0
	}
	if n < 0 || v > max {
		d.failField(field, "字段“%s”的值超出范围", "field %q out of range")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) uint32(field string) uint32 {
	if p := d.take(field, 4); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

func (d *dec) take(field string, n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.truncated(field)
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *dec) str(field string) string {
	h := d.take(field, 1)
	if d.err != nil {
		return ""
	}
	mode, n := int(h[0]>>6), int(h[0]&63)
	if n == 63 {
		n += int(d.uint(field, MaxString-63))
		if d.err != nil {
			return ""
		}
	}
	switch mode {
	case modeWellKnown:
		if n >= len(wellKnown) {
			d.failField(field, "字段“%s”引用了未知的常用值 %d", "field %q refers to unknown well-known value %d", n)
			return ""
		}
		return wellKnown[n]
	case modeRaw:
		p := d.take(field, n)
		if d.err == nil && !utf8.Valid(p) {
			d.failField(field, "字段“%s”不是有效的 UTF-8 文本", "field %q is not valid UTF-8")
		}
		return string(p)
	case modeHex:
		p := d.take(field, (n+1)/2)
		if d.err != nil {
			return ""
		}
		out := make([]byte, n)
		for i := range out {
			v := p[i/2] >> 4
			if i%2 == 1 {
				v = p[i/2] & 0xf
			}
			out[i] = hexDigits[v]
		}
		if n%2 == 1 && p[n/2]&0xf != 0 {
			d.failField(field, "字段“%s”的编码无效", "field %q is badly encoded")
		}
		return string(out)
	default: // modeAlnum
		p := d.take(field, n/3*2+n%3)
		if d.err != nil {
			return ""
		}
		var out bytes.Buffer
		for len(p) > 0 {
			k, digits := 2, 3
			if out.Len()+3 > n {
				k, digits = n-out.Len(), n-out.Len() // 1 or 2 characters left in 1 or 2 bytes
			}
			v := 0
			for _, c := range p[:k] {
				v = v<<8 | int(c)
			}
			p = p[k:]
			lim := [4]int{1, 36, 1296, 46656}[digits]
			if v >= lim {
				d.failField(field, "字段“%s”的编码无效", "field %q is badly encoded")
				return ""
			}
			var g [3]byte
			for i := digits - 1; i >= 0; i-- {
				g[i] = alnum[v%36]
				v /= 36
			}
			out.Write(g[:digits])
		}
		return out.String()
	}
}
