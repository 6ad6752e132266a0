package qrtoken

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/ident"
)

var ctx = context.Background()

func mustKey(t testing.TB) *gm.PrivateKey {
	t.Helper()
	k, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const authority = "11330106002500287C"

// licence returns the claims of a realistic licence QR: the identifier's issuer and version are
// the token's authority code and version; the certificate serial is 40 hex digits as
// keys.Service writes it.
func licence(t testing.TB) Claims {
	t.Helper()
	id, err := ident.New("11100000MB0143028R001", authority, "2025052201", 2)
	if err != nil {
		t.Fatal(err)
	}
	return Claims{
		Type: TypeLicence, Identifier: id, Code: "91330106673959654P", Version: 2,
		IssuedAt:      time.Date(2025, 5, 22, 3, 4, 5, 0, time.UTC),
		AuthorityCode: authority, CertSerial: "5f1e0c9ab2d34e8f9a0b1c2d3e4f5a6b7c8d9e0f",
	}
}

func presentation() Claims {
	return Claims{
		Type: TypePresentation, Identifier: "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
		Code: "91330106673959654P", Version: 2,
		IssuedAt: time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC), Expires: time.Date(2025, 6, 1, 8, 5, 0, 0, time.UTC),
		CertSerial: "1a2b3c", Role: "legal_representative",
		Fields: []Field{{"name", "杭州某某科技有限公司"}, {"legal_representative", "张三"}, {"scope", ""}},
	}
}

func encode(t testing.TB, k gm.Signer, c Claims) string {
	t.Helper()
	tok, err := Encode(ctx, k, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRoundTrip(t *testing.T) {
	k := mustKey(t)
	nonCompact := licence(t)
	nonCompact.AuthorityCode = "11330000002482142N" // issued on behalf of another authority
	lower := licence(t)
	lower.Identifier = strings.ToLower(lower.Identifier)
	for name, c := range map[string]Claims{
		"licence":             licence(t),
		"licence, full ident": nonCompact,
		"lower-case ident":    lower,
		"presentation":        presentation(),
	} {
		tok := encode(t, k, c)
		got, err := Parse(tok)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got.Claims, c) {
			t.Errorf("%s: claims\n got %+v\nwant %+v", name, got.Claims, c)
		}
		if err := got.Verify(k.Public()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if err := got.Verify(mustKey(t).Public()); !errors.Is(err, ErrSignature) || errs.KindOf(err) != errs.Invalid {
			t.Errorf("%s: verified with another key: %v", name, err)
		}
		if err := got.Verify(nil); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: verified with no key: %v", name, err)
		}
	}
}

// The licence QR fits a version-10 QR code at level M with a public URL of up to 30 characters.
func TestQRSize(t *testing.T) {
	k := mustKey(t)
	tok := encode(t, k, licence(t))
	t.Logf("licence token: %d characters", len(tok))
	if len(tok) > 180 {
		t.Errorf("licence token of %d characters, want ≤ 180", len(tok))
	}
	for _, base := range []string{"https://yyzz.example.cn", "https://elicense.example.cn", "https://elicense.amr.zj.gov.cn", "https://license-verify.samr.example.gov.cn"} {
		q, err := qrcode.New(URL(base, tok), qrcode.Medium)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s (%d characters): QR version %d at level M", base, len(base), q.VersionNumber)
		if len(base) <= 30 && q.VersionNumber > 10 {
			t.Errorf("%s: QR version %d, want ≤ 10", base, q.VersionNumber)
		}
	}
	tok = encode(t, k, presentation())
	q, _ := qrcode.New(URL("https://elicense.example.cn", tok), qrcode.Medium)
	t.Logf("presentation token with 3 fields: %d characters, QR version %d", len(tok), q.VersionNumber)
}

func TestCheckTime(t *testing.T) {
	k := mustKey(t)
	tok, err := Parse(encode(t, k, presentation()))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		at time.Time
		ok bool
	}{
		{tok.IssuedAt, true},
		{tok.IssuedAt.Add(-30 * time.Second), true}, // clock skew
		{tok.IssuedAt.Add(-2 * time.Minute), false},
		{tok.Expires.Add(-time.Second), true},
		{tok.Expires, false},
	} {
		err := tok.CheckTime(c.at)
		if (err == nil) != c.ok || err != nil && !errors.Is(err, ErrExpired) {
			t.Errorf("at %v: %v", c.at, err)
		}
	}
	lic, _ := Parse(encode(t, k, licence(t)))
	if err := lic.CheckTime(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Errorf("licence token: %v", err)
	}
}

func TestFromURL(t *testing.T) {
	tok := encode(t, mustKey(t), licence(t))
	for _, s := range []string{
		tok,
		"  " + tok + "\n",
		URL("https://elicense.example.cn", tok),
		URL("https://elicense.example.cn/", tok) + "/",
		URL("https://elicense.example.cn/base", tok) + "?from=scan#top",
	} {
		got, err := FromURL(s)
		if err != nil || got != tok {
			t.Errorf("FromURL(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "https://elicense.example.cn/v/", "https://x/v/abc", "abc.def.ghi", "ab c.def", "ab+c.def", strings.Repeat("a", MaxLen) + ".b", strings.Repeat("x", MaxURLLen+1)} {
		if _, err := FromURL(s); err == nil || !errors.Is(err, ErrMalformed) {
			t.Errorf("FromURL(%.40q) = %v", s, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	k := mustKey(t)
	tok := encode(t, k, licence(t))
	p, s, _ := strings.Cut(tok, ".")
	payload, _ := b64.DecodeString(p)
	with := func(b []byte) string { return b64.EncodeToString(b) + "." + s }
	for _, c := range []struct{ name, token, want string }{
		{"too long", strings.Repeat("A", MaxLen+1), "too long"},
		{"no dot", p, "two parts"},
		{"two dots", tok + ".x", "two parts"},
		{"bad base64", "***." + s, "base64"},
		{"bad signature base64", p + ".!!", "base64"},
		{"short signature", p + ".AAAA", "signature of 3 bytes"},
		{"empty payload", "." + s, "truncated"},
		{"unknown type", with(append([]byte{9}, payload[1:]...)), "unknown token type 9"},
		{"format version", with(append([]byte{1, 7}, payload[2:]...)), "format version 7"},
		{"trailing bytes", with(append(append([]byte{}, payload...), 0)), "unexpected bytes"},
	} {
		_, err := Parse(c.token)
		e := errs.As(err)
		if e == nil || !errors.Is(err, ErrMalformed) || e.Kind != errs.Invalid || e.ZH == "" || !strings.Contains(e.EN, c.want) ||
			strings.Contains(e.ZH+e.EN, "%!") {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// Every truncation names the field it cut.
	for n := 2; n < len(payload); n++ {
		_, err := Parse(with(payload[:n]))
		if e := errs.As(err); e == nil || !strings.Contains(e.EN, "truncated in field") || !strings.Contains(e.ZH, "处被截断") || strings.Contains(e.ZH, "\"") {
			t.Errorf("payload cut at %d: %v", n, err)
		}
	}
	// Changing any character of the token makes it unreadable or its signature fail.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range tok {
		if tok[i] == '.' {
			continue
		}
		b := []byte(tok)
		b[i] = alphabet[(strings.IndexByte(alphabet, b[i])+1)%len(alphabet)]
		got, err := Parse(string(b))
		if err == nil {
			err = got.Verify(k.Public())
		}
		if err == nil {
			t.Fatalf("character %d changed: token still verifies", i)
		}
	}
}

func TestEncodeRejects(t *testing.T) {
	k := mustKey(t)
	for name, mutate := range map[string]func(*Claims){
		"unknown type":        func(c *Claims) { c.Type = 9 },
		"no identifier":       func(c *Claims) { c.Identifier = "" },
		"no code":             func(c *Claims) { c.Code = "" },
		"no serial":           func(c *Claims) { c.CertSerial = "" },
		"no issue time":       func(c *Claims) { c.IssuedAt = time.Time{} },
		"negative version":    func(c *Claims) { c.Version = -1 },
		"long string":         func(c *Claims) { c.Code = strings.Repeat("码", 100) },
		"licence with fields": func(c *Claims) { c.Fields = []Field{{"a", "b"}} },
		"licence with expiry": func(c *Claims) { c.Expires = c.IssuedAt.Add(time.Minute) },
		"invalid UTF-8":       func(c *Claims) { c.AuthorityCode = "\xff" },
	} {
		c := licence(t)
		mutate(&c)
		if _, err := Encode(ctx, k, c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for name, mutate := range map[string]func(*Claims){
		"expires before issue": func(c *Claims) { c.Expires = c.IssuedAt },
		"too many fields":      func(c *Claims) { c.Fields = make([]Field, MaxFields+1) },
		"field without key":    func(c *Claims) { c.Fields = []Field{{"", "v"}} },
	} {
		c := presentation()
		mutate(&c)
		if _, err := Encode(ctx, k, c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Encode(ctx, nil, licence(t)); err == nil {
		t.Error("nil signer accepted")
	}
}

// Every string mode round-trips, at every length near its group boundaries.
func TestStringModes(t *testing.T) {
	var ss []string
	for n := 0; n <= 7; n++ {
		ss = append(ss, strings.Repeat("Z", n), strings.Repeat("9", n), strings.Repeat("f", n), strings.Repeat("x", n), strings.Repeat("证", n))
	}
	ss = append(ss, wellKnown[0], "0"+wellKnown[0], "ABC-1", "aBc", strings.Repeat("Z", MaxString), strings.Repeat("0123456789abcdef", 15))
	for _, s := range ss {
		var e enc
		e.str(s)
		if e.err != nil {
			t.Fatalf("%q: %v", s, e.err)
		}
		d := dec{b: e.b}
		if got := d.str("f"); d.err != nil || got != s || len(d.b) != 0 {
			t.Errorf("%q: got %q, %v, %d bytes left", s, got, d.err, len(d.b))
		}
	}
	// Packed sizes.
	for s, want := range map[string]int{"91330106673959654P": 13, "5f1e0c9ab2d34e8f9a0b1c2d3e4f5a6b7c8d9e0f": 21, "2025052201": 6, wellKnown[0]: 1} {
		var e enc
		e.str(s)
		if len(e.b) != want {
			t.Errorf("%q: %d bytes, want %d", s, len(e.b), want)
		}
	}
	// Values out of their range are refused.
	for _, b := range [][]byte{{modeAlnum<<6 | 3, 0xff, 0xff}, {modeAlnum<<6 | 1, 36}, {modeAlnum<<6 | 2, 0x05, 0x10},
		{modeHex<<6 | 1, 0x1f}, {modeWellKnown<<6 | 5}, {modeRaw<<6 | 63, 0xff, 0x01}, {modeRaw<<6 | 2, 0xff, 0xfe}} {
		d := dec{b: b}
		if got := d.str("f"); d.err == nil {
			t.Errorf("% x: decoded %q", b, got)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	k := mustKey(b)
	c := licence(b)
	for b.Loop() {
		if _, err := Encode(ctx, k, c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseVerify(b *testing.B) {
	k := mustKey(b)
	tok := encode(b, k, licence(b))
	pub := k.Public()
	for b.Loop() {
		t, err := Parse(tok)
		if err != nil {
			b.Fatal(err)
		}
		if err := t.Verify(pub); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSM2Verify is the raw SM2 verification the ParseVerify rate compares with.
func BenchmarkSM2Verify(b *testing.B) {
	k := mustKey(b)
	msg := make([]byte, 64)
	sig, _ := k.Sign(ctx, msg)
	pub := k.Public()
	for b.Loop() {
		if !gm.Verify(pub, msg, sig) {
			b.Fatal("does not verify")
		}
	}
}
