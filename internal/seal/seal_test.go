package seal

import (
	"bytes"
	"context"
	"encoding/asn1"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
)

var ctx = context.Background()

// pki is a platform root, the platform as seal maker, and an authority as signer, all SM2.
type pki struct {
	rootDER             []byte
	maker               *gm.PrivateKey
	makerDER            []byte
	signer              *gm.PrivateKey
	signerDER           []byte
	foreign             *gm.PrivateKey // a signer certified by another root
	foreignDER          []byte
	notBefore, notAfter time.Time
}

var (
	pkiOnce sync.Once
	testPKI pki
)

// t0 is the fixed "now" of the tests.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

func key(t testing.TB) *gm.PrivateKey {
	t.Helper()
	k, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func fixtures(t testing.TB) *pki {
	t.Helper()
	pkiOnce.Do(func() {
		p := &testPKI
		nb, na := t0.AddDate(-1, 0, 0), t0.AddDate(5, 0, 0)
		p.notBefore, p.notAfter = nb, na
		root := key(t)
		var err error
		if p.rootDER, err = gm.NewRootCertificate(root, gm.Name{CommonName: "elicense test root", Country: "CN"}, nb, na); err != nil {
			t.Fatal(err)
		}
		p.maker = key(t)
		if p.makerDER, err = gm.IssueCertificate(p.rootDER, root, gm.Name{CommonName: "elicense platform"}, p.maker.Public(), nb, na, false); err != nil {
			t.Fatal(err)
		}
		p.signer = key(t)
		if p.signerDER, err = gm.IssueCertificate(p.rootDER, root, gm.Name{CommonName: "杭州市西湖区市场监督管理局", CreditCode: "11330106002500287C"}, p.signer.Public(), nb, na, false); err != nil {
			t.Fatal(err)
		}
		other := key(t)
		otherRoot, err := gm.NewRootCertificate(other, gm.Name{CommonName: "someone else's root"}, nb, na)
		if err != nil {
			t.Fatal(err)
		}
		p.foreign = key(t)
		if p.foreignDER, err = gm.IssueCertificate(otherRoot, other, gm.Name{CommonName: "foreign signer"}, p.foreign.Public(), nb, na, false); err != nil {
			t.Fatal(err)
		}
	})
	if testPKI.rootDER == nil {
		t.Fatal("fixtures failed")
	}
	return &testPKI
}

// picture is a stand-in for the seal PNG: MakeSeal does not decode it.
var picture = []byte("\x89PNG\r\n\x1a\nnot really a picture, but bytes to carry")

func testInfo(p *pki) Info {
	return Info{
		ID: "330106-2025-0001", Type: TypeOrganisation, Name: "杭州市西湖区市场监督管理局",
		Certs:   [][]byte{p.signerDER},
		Created: t0, ValidFrom: t0, ValidTo: t0.AddDate(3, 0, 0),
		PictureType: "PNG", Picture: picture, WidthMM: 42, HeightMM: 42,
	}
}

func makeSeal(t testing.TB, p *pki, info Info) []byte {
	t.Helper()
	der, err := MakeSeal(ctx, p.maker, p.makerDER, info)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

var hash = func() []byte { h := gm.SM3([]byte("<ofd:Signature>…</ofd:Signature>")); return h[:] }()

const prop = "/Doc_0/Signs/Sign_0/Signature.xml"

func sign(t testing.TB, p *pki, sealDER []byte, at time.Time) []byte {
	t.Helper()
	der, err := Sign(ctx, sealDER, p.signer, p.signerDER, hash, prop, at)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func roots(p *pki) [][]byte { return [][]byte{p.rootDER} }

func codes(ps []Problem) []string {
	var c []string
	for _, p := range ps {
		c = append(c, p.Code)
	}
	return c
}

func TestMakeParseSeal(t *testing.T) {
	p := fixtures(t)
	info := testInfo(p)
	info.Created = t0.Add(-time.Hour + 123*time.Millisecond)
	der := makeSeal(t, p, info)
	s, err := ParseSeal(der)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != Version4 || s.ID != info.ID || s.Type != TypeOrganisation || s.Name != info.Name ||
		s.PictureType != "PNG" || !bytes.Equal(s.Picture, picture) || s.WidthMM != 42 || s.HeightMM != 42 ||
		s.VendorID != DefaultVendorID || len(s.Certs) != 1 || !bytes.Equal(s.Certs[0], p.signerDER) ||
		!bytes.Equal(s.MakerCert, p.makerDER) || !s.SignAlg.Equal(OIDSM2WithSM3) || !bytes.Equal(s.Raw, der) {
		t.Errorf("parsed seal differs: %+v", s)
	}
	if !s.Created.Equal(t0.Add(-time.Hour).Truncate(time.Second)) || !s.ValidFrom.Equal(t0) || !s.ValidTo.Equal(t0.AddDate(3, 0, 0)) || s.Created.Location() != time.UTC {
		t.Errorf("times: %v %v %v", s.Created, s.ValidFrom, s.ValidTo)
	}
	// The maker signed DER(SES_SealInfo), which is the first element of the SESeal.
	var outer struct {
		Info asn1.RawValue
		Rest []asn1.RawValue `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(der, &outer); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.TBS, outer.Info.FullBytes) {
		t.Error("TBS is not DER(eSealInfo)")
	}
	if !gm.Verify(p.maker.Public(), s.TBS, s.SignedValue) {
		t.Error("maker signature does not verify over TBS")
	}
}

func TestMakeSealRejects(t *testing.T) {
	p := fixtures(t)
	cases := map[string]func(*Info){
		"no ID":          func(i *Info) { i.ID = "" },
		"non-ASCII ID":   func(i *Info) { i.ID = "印章1" },
		"bad type":       func(i *Info) { i.Type = 3 },
		"no name":        func(i *Info) { i.Name = " " },
		"no certs":       func(i *Info) { i.Certs = nil },
		"bad cert":       func(i *Info) { i.Certs = [][]byte{[]byte("junk")} },
		"no picture":     func(i *Info) { i.Picture = nil },
		"huge picture":   func(i *Info) { i.Picture = make([]byte, MaxPicture+1) },
		"zero width":     func(i *Info) { i.WidthMM = 0 },
		"ends too early": func(i *Info) { i.ValidTo = i.ValidFrom },
		"no validity":    func(i *Info) { i.ValidFrom = time.Time{} },
	}
	for name, mutate := range cases {
		info := testInfo(p)
		mutate(&info)
		if _, err := MakeSeal(ctx, p.maker, p.makerDER, info); err == nil {
			t.Errorf("%s: MakeSeal accepted it", name)
		}
	}
	if _, err := MakeSeal(ctx, p.signer, p.makerDER, testInfo(p)); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("maker key not matching its certificate: %v", err)
	}
}

func TestSignVerify(t *testing.T) {
	p := fixtures(t)
	sealDER := makeSeal(t, p, testInfo(p))
	at := t0.Add(36*time.Hour + 500*time.Millisecond)
	der := sign(t, p, sealDER, at)
	sig, err := ParseSignature(der)
	if err != nil {
		t.Fatal(err)
	}
	if sig.Version != Version4 || !sig.Time.Equal(at.Truncate(time.Second)) || !bytes.Equal(sig.DataHash, hash) ||
		sig.PropertyInfo != prop || !bytes.Equal(sig.SignerCert, p.signerDER) || !sig.SignAlg.Equal(OIDSM2WithSM3) ||
		!bytes.Equal(sig.Seal.Raw, sealDER) || !bytes.Equal(sig.Raw, der) || sig.TimeStamp != nil {
		t.Errorf("parsed signature differs: %+v", sig)
	}
	if ps := Verify(sig, hash, roots(p)); len(ps) != 0 {
		t.Fatalf("valid signature: problems %v", ps)
	}
	// The intermediate (platform) certificate among roots is not a trust anchor by itself.
	if ps := Verify(sig, hash, [][]byte{p.makerDER}); !slices.Contains(codes(ps), CodeSignerChain) {
		t.Errorf("no trust anchor: problems %v", codes(ps))
	}
}

func TestSignRejects(t *testing.T) {
	p := fixtures(t)
	sealDER := makeSeal(t, p, testInfo(p))
	cases := map[string]func() ([]byte, error){
		"signer not in seal": func() ([]byte, error) {
			return Sign(ctx, sealDER, p.foreign, p.foreignDER, hash, prop, t0)
		},
		"key does not match cert": func() ([]byte, error) {
			return Sign(ctx, sealDER, p.maker, p.signerDER, hash, prop, t0)
		},
		"before validity": func() ([]byte, error) {
			return Sign(ctx, sealDER, p.signer, p.signerDER, hash, prop, t0.Add(-time.Second))
		},
		"after validity": func() ([]byte, error) {
			return Sign(ctx, sealDER, p.signer, p.signerDER, hash, prop, t0.AddDate(3, 0, 1))
		},
		"no hash": func() ([]byte, error) {
			return Sign(ctx, sealDER, p.signer, p.signerDER, nil, prop, t0)
		},
		"non-ASCII property": func() ([]byte, error) {
			return Sign(ctx, sealDER, p.signer, p.signerDER, hash, "/文档/Signature.xml", t0)
		},
		"not a seal": func() ([]byte, error) {
			return Sign(ctx, []byte{0x30, 0x00}, p.signer, p.signerDER, hash, prop, t0)
		},
	}
	for name, f := range cases {
		if _, err := f(); err == nil {
			t.Errorf("%s: Sign accepted it", name)
		}
	}
}

// signRaw signs a hand-built version-4 TBS_Sign, bypassing Sign's checks, so that Verify's own
// checks can be tested.
func signRaw(t testing.TB, signer *gm.PrivateKey, signerDER, sealDER []byte, at time.Time, alg asn1.ObjectIdentifier) []byte {
	t.Helper()
	tbs, err := asn1.Marshal(tbsSignV4{Version: 4, ESeal: asn1.RawValue{FullBytes: sealDER}, TimeInfo: at, DataHash: bits(hash), PropertyInfo: prop})
	if err != nil {
		t.Fatal(err)
	}
	v, err := signer.Sign(ctx, tbs)
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(sesSignatureV4{ToSign: asn1.RawValue{FullBytes: tbs}, Cert: signerDER, SignatureAlgID: alg, Signature: bits(v)})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func mustParse(t testing.TB, der []byte) *Signature {
	t.Helper()
	sig, err := ParseSignature(der)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestVerifyProblems(t *testing.T) {
	p := fixtures(t)
	info := testInfo(p)
	sealDER := makeSeal(t, p, info)
	at := t0.Add(time.Hour)

	// A seal whose picture was changed after the maker signed it.
	forged := bytes.Clone(sealDER)
	i := bytes.Index(forged, picture)
	forged[i+10] ^= 0x20
	// A seal made by a maker the roots do not know.
	foreignMaker, err := MakeSeal(ctx, p.foreign, p.foreignDER, info)
	if err != nil {
		t.Fatal(err)
	}
	// A seal listing only someone else.
	other := testInfo(p)
	other.Certs = [][]byte{p.foreignDER}
	otherSeal := makeSeal(t, p, other)
	// A seal listing a signer certified by a foreign root.
	foreignList := testInfo(p)
	foreignList.Certs = [][]byte{p.foreignDER}
	foreignListSeal := makeSeal(t, p, foreignList)

	cases := []struct {
		name string
		der  []byte
		hash []byte
		want []string
	}{
		{"valid", sign(t, p, sealDER, at), hash, nil},
		{"data changed", sign(t, p, sealDER, at), bytes.Repeat([]byte{1}, 32), []string{CodeDataHash}},
		{"seal forged", signRaw(t, p.signer, p.signerDER, forged, at, OIDSM2WithSM3), hash, []string{CodeSealSignature}},
		{"seal maker unknown", signRaw(t, p.signer, p.signerDER, foreignMaker, at, OIDSM2WithSM3), hash, []string{CodeSealMaker}},
		{"before seal validity", signRaw(t, p.signer, p.signerDER, sealDER, t0.Add(-time.Hour), OIDSM2WithSM3), hash, []string{CodeSealValidity}},
		{"after seal validity", signRaw(t, p.signer, p.signerDER, sealDER, t0.AddDate(3, 0, 1), OIDSM2WithSM3), hash, []string{CodeSealValidity}},
		{"signer not in seal", signRaw(t, p.signer, p.signerDER, otherSeal, at, OIDSM2WithSM3), hash, []string{CodeSignerNotInSeal}},
		{"signer untrusted", signRaw(t, p.foreign, p.foreignDER, foreignListSeal, at, OIDSM2WithSM3), hash, []string{CodeSignerChain}},
		{"unknown algorithm", signRaw(t, p.signer, p.signerDER, sealDER, at, asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}), hash, []string{CodeAlgorithm}},
		{"signed by another key", signRaw(t, p.foreign, p.signerDER, sealDER, at, OIDSM2WithSM3), hash, []string{CodeSignature}},
	}
	for _, c := range cases {
		sig := mustParse(t, c.der)
		got := codes(Verify(sig, c.hash, roots(p)))
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: problems %v, want %v", c.name, got, c.want)
		}
	}

	// The signer's certificate outlived by the signing time: a seal valid long enough, signed
	// after the certificate expired.
	long := testInfo(p)
	long.ValidTo = p.notAfter.AddDate(1, 0, 0)
	longSeal := makeSeal(t, p, long)
	sig := mustParse(t, signRaw(t, p.signer, p.signerDER, longSeal, p.notAfter.Add(time.Hour), OIDSM2WithSM3))
	if got := codes(Verify(sig, hash, roots(p))); !slices.Equal(got, []string{CodeSignerChain}) {
		t.Errorf("signed after the signer's certificate expired: problems %v", got)
	}

	// Every problem has both messages.
	sig = mustParse(t, signRaw(t, p.foreign, p.foreignDER, forged, t0.AddDate(9, 0, 0), asn1.ObjectIdentifier{1, 2, 3}))
	ps := Verify(sig, nil, nil)
	if len(ps) < 4 {
		t.Errorf("problems %v", codes(ps))
	}
	for _, pr := range ps {
		if pr.ZH == "" || pr.EN == "" || pr.Code == "" || strings.Contains(pr.ZH+pr.EN, "%!") {
			t.Errorf("incomplete problem %+v", pr)
		}
	}
	if ps := Verify(nil, hash, nil); len(ps) != 1 || ps[0].Code != CodeMalformed {
		t.Errorf("nil signature: %v", ps)
	}
}

// Changing any single byte of a signature makes it unreadable or fail verification.
func TestTamperEveryByte(t *testing.T) {
	p := fixtures(t)
	der := sign(t, p, makeSeal(t, p, testInfo(p)), t0.Add(time.Hour))
	for i := range der {
		for _, flip := range []byte{0x01, 0x80} {
			b := bytes.Clone(der)
			b[i] ^= flip
			sig, err := ParseSignature(b)
			if err != nil {
				if errs.KindOf(err) != errs.Invalid {
					t.Fatalf("byte %d: error kind %v: %v", i, errs.KindOf(err), err)
				}
				continue
			}
			if ps := Verify(sig, hash, roots(p)); len(ps) == 0 {
				t.Fatalf("byte %d ^ %#x: tampered signature verifies", i, flip)
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	p := fixtures(t)
	sealDER := makeSeal(t, p, testInfo(p))
	big := make([]byte, MaxDER+1)
	if _, err := ParseSeal(big); errs.KindOf(err) != errs.TooLarge {
		t.Errorf("oversized seal: %v", err)
	}
	if _, err := ParseSignature(big); errs.KindOf(err) != errs.TooLarge {
		t.Errorf("oversized signature: %v", err)
	}
	for name, der := range map[string][]byte{
		"empty":          nil,
		"not DER":        []byte("hello"),
		"trailing bytes": append(bytes.Clone(sealDER), 0),
		"truncated":      sealDER[:len(sealDER)-1],
		"empty sequence": {0x30, 0x00},
		"integer":        {0x02, 0x01, 0x05},
	} {
		_, err := ParseSeal(der)
		e := errs.As(err)
		if e == nil || e.Kind != errs.Invalid || e.ZH == "" || e.EN == "" || e.Field != "seal" {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A seal signature is not a seal, and a seal is not a signature.
	if _, err := ParseSignature(sealDER); err == nil {
		t.Error("seal parsed as a signature")
	}
	sigDER := sign(t, p, sealDER, t0)
	if _, err := ParseSeal(sigDER); err == nil {
		t.Error("signature parsed as a seal")
	}
	// An unknown header version is named.
	bad := bytes.Clone(sealDER)
	i := bytes.Index(bad, []byte{0x16, 0x02, 'E', 'S', 0x02, 0x01, 0x04})
	bad[i+6] = 9
	if _, err := ParseSeal(bad); err == nil || !strings.Contains(err.Error(), "unsupported seal version 9") {
		t.Errorf("version 9: %v", err)
	}
}

// A picture over MaxPicture written by someone else is refused when read.
func TestParseHugePicture(t *testing.T) {
	p := fixtures(t)
	info := testInfo(p)
	infoDER, err := asn1.Marshal(sealInfoV4{
		Header: sesHeader{ID: "ES", Version: 4, VID: "x"}, ESID: "1",
		Property: propertyV4{Type: 1, Name: "n", CertListType: 1, CertList: info.Certs, CreateDate: t0, ValidStart: t0, ValidEnd: t0},
		Picture:  pictureInfo{Type: "PNG", Data: make([]byte, MaxPicture+1), Width: 40, Height: 40},
	})
	if err != nil {
		t.Fatal(err)
	}
	der, _ := asn1.Marshal(sesealV4{SealInfo: asn1.RawValue{FullBytes: infoDER}, Cert: p.makerDER, SignAlgID: OIDSM2WithSM3, SignedValue: bits([]byte{1})})
	if _, err := ParseSeal(der); err == nil || !strings.Contains(err.Error(), "picture") {
		t.Errorf("huge picture: %v", err)
	}
}

func TestCertDigestList(t *testing.T) {
	p := fixtures(t)
	type certDigest struct {
		Type  string `asn1:"printable"`
		Value []byte
	}
	type propertyDigests struct {
		Type         int
		Name         string `asn1:"utf8"`
		CertListType int
		CertList     []certDigest
		CreateDate   time.Time `asn1:"generalized"`
		ValidStart   time.Time `asn1:"generalized"`
		ValidEnd     time.Time `asn1:"generalized"`
	}
	h := gm.SM3(p.signerDER)
	infoDER, err := asn1.Marshal(struct {
		Header   sesHeader
		ESID     string `asn1:"ia5"`
		Property propertyDigests
		Picture  pictureInfo
	}{
		sesHeader{"ES", 4, "other"}, "digests",
		propertyDigests{1, "某某局", CertListDigests, []certDigest{{"SM3", h[:]}}, t0, t0, t0.AddDate(1, 0, 0)},
		pictureInfo{"PNG", picture, 40, 40},
	})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := p.maker.Sign(ctx, infoDER)
	sealDER, _ := asn1.Marshal(sesealV4{SealInfo: asn1.RawValue{FullBytes: infoDER}, Cert: p.makerDER, SignAlgID: OIDSM2WithSM3, SignedValue: bits(v)})
	s, err := ParseSeal(sealDER)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Certs) != 0 || len(s.CertDigests) != 1 || !s.HasCert(p.signerDER) || s.HasCert(p.foreignDER) {
		t.Errorf("digest list: %+v", s.CertDigests)
	}
	sig := mustParse(t, sign(t, p, sealDER, t0.Add(time.Hour)))
	if ps := Verify(sig, hash, roots(p)); len(ps) != 0 {
		t.Errorf("problems %v", ps)
	}
}
