package gm

import (
	"crypto/x509"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

var (
	rootName = Name{
		CommonName:   "国家市场监督管理总局",
		Organization: "国家市场监督管理总局",
		CreditCode:   "11100000MB0143028R",
		Country:      "CN",
		Unit:         "100000",
	}
	authorityName = Name{
		CommonName:   "杭州市西湖区市场监督管理局",
		Organization: "杭州市西湖区市场监督管理局",
		CreditCode:   "11330106002500287C",
		Province:     "浙江省",
		Locality:     "杭州市",
		Country:      "CN",
		Unit:         "330106",
	}
)

type testPKI struct {
	rootKey, caKey, leafKey *PrivateKey
	root, ca, leaf          []byte
	notBefore, notAfter     time.Time
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	p := &testPKI{
		rootKey: mustKey(t), caKey: mustKey(t), leafKey: mustKey(t),
		notBefore: time.Now().Add(-time.Hour).Truncate(time.Second),
	}
	p.notAfter = p.notBefore.AddDate(10, 0, 0)
	var err error
	if p.root, err = NewRootCertificate(p.rootKey, rootName, p.notBefore, p.notAfter); err != nil {
		t.Fatal(err)
	}
	if p.ca, err = IssueCertificate(p.root, p.rootKey, authorityName, p.caKey.Public(), p.notBefore, p.notAfter, true); err != nil {
		t.Fatal(err)
	}
	leafName := authorityName
	leafName.CommonName += " 电子印章"
	if p.leaf, err = IssueCertificate(p.ca, p.caKey, leafName, p.leafKey.Public(), p.notBefore, p.notBefore.AddDate(1, 0, 0), false); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCertificates(t *testing.T) {
	p := newTestPKI(t)

	root, err := ParseCertificate(p.root)
	if err != nil {
		t.Fatal(err)
	}
	if root.SignatureAlgorithm != smx509.SM2WithSM3 {
		t.Errorf("root signature algorithm %v", root.SignatureAlgorithm)
	}
	if !root.IsCA || !root.BasicConstraintsValid || root.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("root: IsCA %v, key usage %v", root.IsCA, root.KeyUsage)
	}
	if got := NameOf(root.Subject); got != rootName {
		t.Errorf("root subject %+v, want %+v", got, rootName)
	}
	if !root.NotBefore.Equal(p.notBefore) || !root.NotAfter.Equal(p.notAfter) {
		t.Errorf("root validity %v–%v", root.NotBefore, root.NotAfter)
	}
	if root.SerialNumber.Sign() <= 0 || root.SerialNumber.Cmp(new(big.Int).Lsh(big.NewInt(1), 160)) >= 0 {
		t.Errorf("root serial %v", root.SerialNumber)
	}

	leaf, err := ParseCertificate(p.leaf)
	if err != nil {
		t.Fatal(err)
	}
	if leaf.IsCA || leaf.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment {
		t.Errorf("leaf: IsCA %v, key usage %v", leaf.IsCA, leaf.KeyUsage)
	}
	if NameOf(leaf.Issuer) != authorityName {
		t.Errorf("leaf issuer %+v", NameOf(leaf.Issuer))
	}
	if leaf.Subject.SerialNumber != "11330106002500287C" {
		t.Errorf("leaf credit code %q", leaf.Subject.SerialNumber)
	}

	if err := VerifyChain(p.leaf, p.root, p.ca); err != nil {
		t.Errorf("leaf via intermediate: %v", err)
	}
	if err := VerifyChain(p.ca, p.root); err != nil {
		t.Errorf("intermediate: %v", err)
	}
	if err := VerifyChain(p.root, p.root); err != nil {
		t.Errorf("root itself: %v", err)
	}
	if err := VerifyChain(p.leaf, p.root); err == nil {
		t.Error("leaf verified without its intermediate")
	}
	if err := VerifyChain(p.leaf, p.ca); err == nil {
		t.Error("an intermediate alone served as a trust anchor")
	}
	other := newTestPKI(t)
	if err := VerifyChain(p.leaf, other.root, p.ca); err == nil {
		t.Error("leaf verified against a foreign root")
	}
	if err := VerifyChainAt(p.leaf, p.notBefore.AddDate(2, 0, 0), p.root, p.ca); err == nil {
		t.Error("expired leaf verified")
	}
	if err := VerifyChainAt(p.leaf, p.notBefore.Add(-time.Minute), p.root, p.ca); err == nil {
		t.Error("not-yet-valid leaf verified")
	}
	if err := VerifyChainAt(p.leaf, p.notBefore.AddDate(0, 6, 0), p.root, p.ca); err != nil {
		t.Errorf("leaf at mid-life: %v", err)
	}
	bad := append([]byte(nil), p.leaf...)
	bad[len(bad)-5] ^= 1 // inside the signature
	if err := VerifyChain(bad, p.root, p.ca); err == nil {
		t.Error("leaf with a corrupted signature verified")
	}
	if err := VerifyChain([]byte("junk"), p.root); err == nil {
		t.Error("junk verified")
	}

	if !strings.HasPrefix(string(CertPEM(p.root)), "-----BEGIN CERTIFICATE-----\n") {
		t.Error("CertPEM")
	}
}

func TestIssueCertificateErrors(t *testing.T) {
	p := newTestPKI(t)
	k := mustKey(t)
	now := time.Now()
	if _, err := IssueCertificate(p.root, k, authorityName, k.Public(), now, now.Add(time.Hour), false); err == nil {
		t.Error("issued with a key that does not match the issuer")
	}
	if _, err := IssueCertificate(p.leaf, p.leafKey, authorityName, k.Public(), now, now.Add(time.Hour), false); err == nil {
		t.Error("a non-CA issued a certificate")
	}
	if _, err := IssueCertificate(p.root, p.rootKey, authorityName, k.Public(), now, now, false); err == nil {
		t.Error("empty validity accepted")
	}
	if _, err := NewRootCertificate(k, Name{}, now, now.Add(time.Hour)); err == nil {
		t.Error("root without a common name accepted")
	}
}

func FuzzParseCertificate(f *testing.F) {
	p := newTestPKI(f)
	f.Add(p.leaf)
	f.Add(p.root)
	f.Fuzz(func(t *testing.T, der []byte) {
		ParseCertificate(der)
		VerifyChain(der, p.root)
	})
}
