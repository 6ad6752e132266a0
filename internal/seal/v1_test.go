package seal

import (
	"bytes"
	"encoding/asn1"
	"slices"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/gm"
)

// GM/T 0031-2014 structures, written here only to build version-1 fixtures (the package reads
// them but never writes them). time.Time fields marshal as UTCTime.
type propertyV1 struct {
	Type       int
	Name       string `asn1:"utf8"`
	CertList   [][]byte
	CreateDate time.Time
	ValidStart time.Time
	ValidEnd   time.Time
}

type sealInfoV1 struct {
	Header   sesHeader
	ESID     string `asn1:"ia5"`
	Property propertyV1
	Picture  pictureInfo
}

type signInfoV1 struct {
	Cert     []byte
	Alg      asn1.ObjectIdentifier
	SignData asn1.BitString
}

type sesealV1 struct {
	SealInfo asn1.RawValue
	SignInfo signInfoV1
}

type tbsSignV1 struct {
	Version      int
	ESeal        asn1.RawValue
	TimeInfo     asn1.BitString
	DataHash     asn1.BitString
	PropertyInfo string `asn1:"ia5"`
	Cert         []byte
	Alg          asn1.ObjectIdentifier
}

type sesSignatureV1 struct {
	ToSign    asn1.RawValue
	Signature asn1.BitString
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawRS turns a DER SM2 signature into the 64 bytes r‖s some writers store.
func rawRS(t testing.TB, der []byte) []byte {
	t.Helper()
	var v struct{ R, S asn1.RawValue }
	if _, err := asn1.Unmarshal(der, &v); err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 64)
	r, s := bytes.TrimLeft(v.R.Bytes, "\x00"), bytes.TrimLeft(v.S.Bytes, "\x00")
	copy(out[32-len(r):], r)
	copy(out[64-len(s):], s)
	return out
}

// makeSealV1 returns a GM/T 0031 seal made by the platform maker for the authority signer.
func makeSealV1(t testing.TB, p *pki, headerVersion int) []byte {
	t.Helper()
	info := mustMarshal(t, sealInfoV1{
		Header: sesHeader{ID: "ES", Version: headerVersion, VID: "legacy-vendor"},
		ESID:   "V1-0001",
		Property: propertyV1{Type: TypeOrganisation, Name: "杭州市西湖区工商行政管理局", CertList: [][]byte{p.signerDER},
			CreateDate: t0, ValidStart: t0, ValidEnd: t0.AddDate(2, 0, 0)},
		Picture: pictureInfo{Type: "GIF", Data: picture, Width: 40, Height: 40},
	})
	// The maker signs SEQUENCE{esealInfo, cert, signatureAlgorithm}.
	tbs := mustMarshal(t, struct {
		Info asn1.RawValue
		Cert []byte
		Alg  asn1.ObjectIdentifier
	}{asn1.RawValue{FullBytes: info}, p.makerDER, OIDSM2WithSM3})
	v, err := p.maker.Sign(ctx, tbs)
	if err != nil {
		t.Fatal(err)
	}
	return mustMarshal(t, sesealV1{SealInfo: asn1.RawValue{FullBytes: info}, SignInfo: signInfoV1{p.makerDER, OIDSM2WithSM3, bits(v)}})
}

// signV1 returns a GM/T 0031 SES_Signature with the given timeInfo content.
func signV1(t testing.TB, p *pki, sealDER, timeInfo []byte, raw bool) []byte {
	t.Helper()
	tbs := mustMarshal(t, tbsSignV1{
		Version: 1, ESeal: asn1.RawValue{FullBytes: sealDER}, TimeInfo: bits(timeInfo), DataHash: bits(hash),
		PropertyInfo: prop, Cert: p.signerDER, Alg: OIDSM2WithSM3,
	})
	v, err := p.signer.Sign(ctx, tbs)
	if err != nil {
		t.Fatal(err)
	}
	if raw {
		v = rawRS(t, v)
	}
	return mustMarshal(t, sesSignatureV1{ToSign: asn1.RawValue{FullBytes: tbs}, Signature: bits(v)})
}

func TestVersion1(t *testing.T) {
	p := fixtures(t)
	at := t0.Add(26 * time.Hour)
	utc := mustMarshal(t, at) // DER UTCTime, as BouncyCastle's DERBitString(ASN1UTCTime) writes it
	for _, c := range []struct {
		name     string
		header   int
		timeInfo []byte
		raw      bool
	}{
		{"UTCTime in BIT STRING", 1, utc, false},
		{"Beijing time text", 1, []byte(at.In(chinaTime).Format("2006-01-02 15:04:05")), false},
		{"UTCTime text, r‖s signature", 2, []byte(at.Format("060102150405Z")), true},
	} {
		sealDER := makeSealV1(t, p, c.header)
		s, err := ParseSeal(sealDER)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if s.Version != Version1 || s.Name != "杭州市西湖区工商行政管理局" || s.ID != "V1-0001" || s.VendorID != "legacy-vendor" ||
			s.PictureType != "GIF" || !s.ValidFrom.Equal(t0) || !s.ValidTo.Equal(t0.AddDate(2, 0, 0)) ||
			!bytes.Equal(s.MakerCert, p.makerDER) || !s.HasCert(p.signerDER) {
			t.Errorf("%s: seal %+v", c.name, s)
		}
		der := signV1(t, p, sealDER, c.timeInfo, c.raw)
		sig, err := ParseSignature(der)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if sig.Version != Version1 || !sig.Time.Equal(at) || sig.PropertyInfo != prop || !bytes.Equal(sig.SignerCert, p.signerDER) || !sig.SignAlg.Equal(OIDSM2WithSM3) {
			t.Errorf("%s: signature %+v (time %v, want %v)", c.name, sig, sig.Time, at)
		}
		if ps := Verify(sig, hash, roots(p)); len(ps) != 0 {
			t.Errorf("%s: problems %v", c.name, ps)
		}
		// A version-1 seal cannot be signed with: Sign writes version 4 only.
		if _, err := Sign(ctx, sealDER, p.signer, p.signerDER, hash, prop, at); err == nil {
			t.Errorf("%s: Sign accepted a version-1 seal", c.name)
		}
	}
}

func TestVersion1Tampered(t *testing.T) {
	p := fixtures(t)
	sealDER := makeSealV1(t, p, 1)
	at := t0.Add(time.Hour)
	der := signV1(t, p, sealDER, mustMarshal(t, at), false)

	// A seal whose picture changed after the maker signed it.
	forged := bytes.Clone(sealDER)
	forged[bytes.Index(forged, picture)+3] ^= 1
	sig := mustParse(t, signV1(t, p, forged, mustMarshal(t, at), false))
	if got := codes(Verify(sig, hash, roots(p))); !slices.Equal(got, []string{CodeSealSignature}) {
		t.Errorf("forged v1 seal: %v", got)
	}
	// Out of the seal's validity.
	sig = mustParse(t, signV1(t, p, sealDER, mustMarshal(t, t0.AddDate(2, 0, 1)), false))
	if got := codes(Verify(sig, hash, roots(p))); !slices.Equal(got, []string{CodeSealValidity}) {
		t.Errorf("late v1 signature: %v", got)
	}
	for i := range der {
		b := bytes.Clone(der)
		b[i] ^= 0x04
		sig, err := ParseSignature(b)
		if err != nil {
			continue
		}
		if ps := Verify(sig, hash, roots(p)); len(ps) == 0 {
			t.Fatalf("byte %d: tampered v1 signature verifies", i)
		}
	}
	// A v1 signature cannot carry a v4 seal.
	v4 := makeSeal(t, p, testInfo(p))
	if _, err := ParseSignature(signV1(t, p, v4, mustMarshal(t, at), false)); err == nil {
		t.Error("v1 signature with a v4 seal parsed")
	}
}

func TestReadTimeInfo(t *testing.T) {
	want := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	for _, s := range []string{"250314092653Z", "20250314092653Z", "2025-03-14 17:26:53", "20250314172653", "2025-03-14T09:26:53Z", "2025-03-14T17:26:53+08:00"} {
		got, err := readTimeInfo(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagOctetString, Bytes: []byte(s)})
		if err != nil || !got.Equal(want) {
			t.Errorf("%q: %v, %v", s, got, err)
		}
	}
	if _, err := readTimeInfo(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagOctetString, Bytes: []byte("yesterday")}); err == nil {
		t.Error("unreadable time accepted")
	}
}

func TestSigDER(t *testing.T) {
	k := key(t)
	msg := []byte("m")
	der, _ := k.Sign(ctx, msg)
	if !bytes.Equal(sigDER(der), der) {
		t.Error("DER changed")
	}
	if !gm.Verify(k.Public(), msg, sigDER(rawRS(t, der))) {
		t.Error("r‖s not converted")
	}
}
