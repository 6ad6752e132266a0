package gm

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// Name is the subject (or issuer) of a certificate. For a registration
// authority, CommonName and Organization are both its name and CreditCode its
// unified social credit code (GB 32100-2015), carried in the X.520
// serialNumber attribute (2.5.4.5).
type Name struct {
	CommonName   string // CN
	Organization string // O
	CreditCode   string // serialNumber (2.5.4.5): the USCC
	Province     string // ST
	Locality     string // L
	Country      string // C, ISO 3166 alpha-2, "CN"
	// Unit is the organizational unit (OU); the platform puts the authority's
	// GB/T 2260 division code here.
	Unit string
}

func (n Name) pkix() pkix.Name {
	var p pkix.Name
	p.CommonName = n.CommonName
	p.SerialNumber = n.CreditCode
	add := func(dst *[]string, v string) {
		if v != "" {
			*dst = append(*dst, v)
		}
	}
	add(&p.Organization, n.Organization)
	add(&p.OrganizationalUnit, n.Unit)
	add(&p.Province, n.Province)
	add(&p.Locality, n.Locality)
	add(&p.Country, n.Country)
	return p
}

// NameOf returns the Name held in a certificate subject or issuer.
func NameOf(p pkix.Name) Name {
	first := func(v []string) string {
		if len(v) == 0 {
			return ""
		}
		return v[0]
	}
	return Name{
		CommonName:   p.CommonName,
		Organization: first(p.Organization),
		CreditCode:   p.SerialNumber,
		Province:     first(p.Province),
		Locality:     first(p.Locality),
		Country:      first(p.Country),
		Unit:         first(p.OrganizationalUnit),
	}
}

// Certificate is a parsed X.509 certificate (fields as crypto/x509's: Raw,
// Subject, Issuer, NotBefore, NotAfter, SerialNumber, PublicKey, …).
type Certificate = smx509.Certificate

// NewRootCertificate returns the DER of a self-signed SM2 CA certificate for
// name: BasicConstraints CA:true (critical), KeyUsage keyCertSign|cRLSign,
// signed with SM2-with-SM3 (GM/T 0015-2012).
func NewRootCertificate(key Signer, name Name, notBefore, notAfter time.Time) ([]byte, error) {
	if key == nil || !IsSM2(key.Public()) {
		return nil, errors.New("gm: root certificate: signer has no SM2 key")
	}
	tmpl, err := template(name, notBefore, notAfter, true)
	if err != nil {
		return nil, fmt.Errorf("gm: root certificate: %w", err)
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), cryptoSigner{context.Background(), key})
	if err != nil {
		return nil, fmt.Errorf("gm: root certificate: %w", err)
	}
	return der, nil
}

// IssueCertificate returns the DER of a certificate for pub and name, signed
// with SM2-with-SM3 by the CA whose certificate is issuerDER and whose key is
// issuerKey. A CA certificate gets BasicConstraints CA:true and KeyUsage
// keyCertSign|cRLSign; any other gets KeyUsage digitalSignature|
// contentCommitment (non-repudiation), as a seal or signing certificate needs.
func IssueCertificate(issuerDER []byte, issuerKey Signer, name Name, pub *ecdsa.PublicKey, notBefore, notAfter time.Time, isCA bool) ([]byte, error) {
	if issuerKey == nil || !IsSM2(issuerKey.Public()) {
		return nil, errors.New("gm: issue certificate: issuer signer has no SM2 key")
	}
	if !IsSM2(pub) {
		return nil, errors.New("gm: issue certificate: subject key is not an SM2 key")
	}
	issuer, err := smx509.ParseCertificate(issuerDER)
	if err != nil {
		return nil, fmt.Errorf("gm: issue certificate: parse issuer: %w", err)
	}
	if !issuer.BasicConstraintsValid || !issuer.IsCA {
		return nil, errors.New("gm: issue certificate: issuer is not a CA")
	}
	if ipub, ok := issuer.PublicKey.(*ecdsa.PublicKey); !ok || !ipub.Equal(issuerKey.Public()) {
		return nil, errors.New("gm: issue certificate: issuer key does not match the issuer certificate")
	}
	tmpl, err := template(name, notBefore, notAfter, isCA)
	if err != nil {
		return nil, fmt.Errorf("gm: issue certificate: %w", err)
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, issuer, pub, cryptoSigner{context.Background(), issuerKey})
	if err != nil {
		return nil, fmt.Errorf("gm: issue certificate: %w", err)
	}
	return der, nil
}

func template(name Name, notBefore, notAfter time.Time, isCA bool) (*x509.Certificate, error) {
	if name.CommonName == "" {
		return nil, errors.New("subject has no common name")
	}
	if !notAfter.After(notBefore) {
		return nil, fmt.Errorf("validity ends (%s) before it starts (%s)", notAfter.UTC().Format(time.RFC3339), notBefore.UTC().Format(time.RFC3339))
	}
	t := &x509.Certificate{
		// SerialNumber nil: smx509 draws a random positive 159-bit serial
		// (RFC 5280 §4.1.2.2).
		Subject:               name.pkix(),
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	if isCA {
		t.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	} else {
		t.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	}
	return t, nil
}

// ParseCertificate parses one DER certificate.
func ParseCertificate(der []byte) (*Certificate, error) {
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("gm: parse certificate: %w", err)
	}
	return c, nil
}

// VerifyChain checks that leafDER chains to one of roots and that every
// certificate of the chain is valid now. See VerifyChainAt.
func VerifyChain(leafDER []byte, roots ...[]byte) error {
	return VerifyChainAt(leafDER, time.Now(), roots...)
}

// VerifyChainAt checks that leafDER chains, through SM2-with-SM3 signatures
// only, to one of roots, with every certificate valid at the instant at
// (RFC 5280 §6). Self-signed certificates among roots are trust anchors; any
// other is used as an intermediate.
func VerifyChainAt(leafDER []byte, at time.Time, roots ...[]byte) error {
	leaf, err := smx509.ParseCertificate(leafDER)
	if err != nil {
		return fmt.Errorf("gm: verify certificate: parse leaf: %w", err)
	}
	anchors, intermediates := smx509.NewCertPool(), smx509.NewCertPool()
	nAnchors := 0
	for i, der := range roots {
		c, err := smx509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("gm: verify certificate: parse root %d: %w", i, err)
		}
		if bytes.Equal(c.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(c) == nil {
			anchors.AddCert(c)
			nAnchors++
		} else {
			intermediates.AddCert(c)
		}
	}
	if nAnchors == 0 {
		return errors.New("gm: verify certificate: no self-signed root given")
	}
	chains, err := leaf.Verify(smx509.VerifyOptions{
		Roots:         anchors,
		Intermediates: intermediates,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return fmt.Errorf("gm: verify certificate %q: %w", leaf.Subject.CommonName, err)
	}
	for _, chain := range chains {
		if sm2Chain(chain) {
			return nil
		}
	}
	return fmt.Errorf("gm: verify certificate %q: chain is not SM2-with-SM3 throughout", leaf.Subject.CommonName)
}

func sm2Chain(chain []*Certificate) bool {
	for _, c := range chain {
		pub, ok := c.PublicKey.(*ecdsa.PublicKey)
		if !ok || !IsSM2(pub) || c.SignatureAlgorithm != smx509.SM2WithSM3 {
			return false
		}
	}
	return true
}

// CertPEM returns der as a PEM "CERTIFICATE" block.
func CertPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
