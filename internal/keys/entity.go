package keys

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
)

// Entity keys (issue 7 item 3, 网上行为确认/电子签名): every market entity gets its own electronic
// seal on first need, held by the platform and used only after a holder's or authorised person's
// confirmation (package signing enforces that). In the same store as the other keys:
//
//	entity:<credit code>:<name hash>           the entity's SM2 key, certified by the platform
//	                                          root for that name (CN and O = name,
//	                                          serialNumber = credit code, OU = EntityUnit)
//	entity-doc:<credit code>:<SM2 serial>     its ECDSA P-256 key for PDF signatures, certified
//	                                          by the document CA, following the SM2 certificate
//	entity-seal:<credit code>:<SM2 serial>    its electronic seal (SESeal DER in CertDER, no
//	                                          private key), made by the platform once
//
// A change of the entity's name gives a new key and certificate (the name hash is part of the
// ID); the old ones stay, so documents signed before still verify.

// EntityValidity is the validity of an entity's SM2 certificate.
const EntityValidity = 5 * 365 * 24 * time.Hour

// EntityUnit is the organisational unit (OU) of entity certificates: it tells an entity's
// signature from a registering authority's in any reader that shows the subject.
const EntityUnit = "电子营业执照主体签章 entity seal"

const (
	entityPrefix     = "entity:"
	entityDocPrefix  = "entity-doc:"
	entitySealPrefix = "entity-seal:"
	maxEntityName    = 200 // characters
)

// EntityKeyID is the key ID of the SM2 key of the entity with this credit code, for the name its
// certificate carries.
func EntityKeyID(code, name string) string {
	h := gm.SM3([]byte(name))
	return entityPrefix + code + ":" + hex.EncodeToString(h[:8])
}

// EntityDocumentKeyID is the key ID of an entity's PDF-signing key made while its SM2
// certificate with serial sm2Serial is current.
func EntityDocumentKeyID(code, sm2Serial string) string {
	return entityDocPrefix + code + ":" + strings.ToLower(sm2Serial)
}

// EntitySealKeyID is the key ID under which an entity's electronic seal is stored.
func EntitySealKeyID(code, sm2Serial string) string {
	return entitySealPrefix + code + ":" + strings.ToLower(sm2Serial)
}

// EntitySigner is a market entity's SM2 seal key with its certificate.
type EntitySigner struct {
	Code     string    // credit code
	Name     string    // the entity's name, as in the certificate
	Signer   gm.Signer // SM2
	CertDER  []byte
	Serial   string // certificate serial, lower-case hex
	NotAfter time.Time
}

// checkEntity normalises and checks the credit code and name of an entity key.
func checkEntity(code, name string) (string, string, error) {
	code = normCode(code)
	// The code is the one the register holds: an 18-character credit code (perhaps an
	// allow-listed one that fails a check) or a 15-digit registration number (注册号).
	if (len(code) != 18 && len(code) != 15) || strings.IndexFunc(code, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z')
	}) >= 0 {
		return "", "", errs.Invalidf("entity_code", "统一社会信用代码 %q 无效", "invalid credit code %q", code)
	}
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n == 0 || n > maxEntityName || strings.ContainsFunc(name, isControl) {
		return "", "", errs.Invalidf("entity_name", "市场主体名称无效", "invalid entity name %q", name)
	}
	return code, name, nil
}

// EntitySigner returns the SM2 seal key of the entity with this credit code and name, creating it
// (with its certificate from the platform root) on first use. Several processes may call it at
// once: the first key stored wins and every process uses it. Callers must have checked that the
// entity authorised the use (signing.Service does).
func (s *Service) EntitySigner(ctx context.Context, code, name string) (*EntitySigner, error) {
	code, name, err := checkEntity(code, name)
	if err != nil {
		return nil, err
	}
	id := EntityKeyID(code, name)
	var k *loadedKey
	if v, ok := s.byID.Load(id); ok {
		k = v.(*loadedKey)
	} else {
		root, err := s.stored(ctx, RootKeyID)
		if err != nil {
			return nil, err
		}
		k, err = s.ensure(ctx, id, func(now time.Time) (*gm.PrivateKey, []byte, error) {
			return s.issue(root, gm.Name{CommonName: name, Organization: name, CreditCode: code, Unit: EntityUnit, Country: "CN"},
				now, EntityValidity)
		})
		if err != nil {
			return nil, fmt.Errorf("keys: entity key of %s: %w", code, err)
		}
	}
	return &EntitySigner{Code: code, Name: name, Signer: k.signer, CertDER: k.key.CertDER, Serial: k.key.Serial,
		NotAfter: k.cert.NotAfter.UTC()}, nil
}

// EntityCertificate describes a stored entity certificate found by its serial.
type EntityCertificate struct {
	Code string // credit code
	Name string // the entity's name (the certificate's CN)
	// PDF is true for the ECDSA document-signing certificate, false for the SM2 certificate.
	PDF bool
	DER []byte
}

// EntityCertificateBySerial says whether the certificate with this serial (hex) is an entity
// certificate the platform issued, and whose: errs.NotFound when no stored key has that serial
// or it is not an entity's. Verifiers use it to tell an entity's signature from a licence.
func (s *Service) EntityCertificateBySerial(ctx context.Context, serial string) (*EntityCertificate, error) {
	serial = strings.ToLower(strings.TrimSpace(serial))
	k, err := s.st.KeyBySerial(ctx, serial)
	if err != nil {
		return nil, err
	}
	var code string
	var pdf bool
	switch {
	case strings.HasPrefix(k.ID, entityPrefix):
		code, _, _ = strings.Cut(strings.TrimPrefix(k.ID, entityPrefix), ":")
	case strings.HasPrefix(k.ID, entityDocPrefix):
		code, _, _ = strings.Cut(strings.TrimPrefix(k.ID, entityDocPrefix), ":")
		pdf = true
	default:
		return nil, errs.NotFoundf("证书 %s 不是市场主体的证书", "certificate %s is not an entity's", serial)
	}
	c, err := x509.ParseCertificate(k.CertDER)
	var cn string
	if err == nil {
		cn = c.Subject.CommonName
	} else if gc, gerr := gm.ParseCertificate(k.CertDER); gerr == nil {
		cn = gc.Subject.CommonName
	} else {
		return nil, fmt.Errorf("keys: certificate %s: %w", serial, gerr)
	}
	return &EntityCertificate{Code: code, Name: cn, PDF: pdf, DER: k.CertDER}, nil
}

// EntityDocumentSigner returns the ECDSA document-signing key of the entity whose SM2 key is es,
// creating it (and the document CA) on first use. PDF readers validate signatures made with it
// against the document CA, as for licences.
func (d *DocumentKeys) EntityDocumentSigner(ctx context.Context, es *EntitySigner) (*DocumentSigner, error) {
	subject := pkix.Name{CommonName: es.Name, Organization: []string{es.Name}, SerialNumber: es.Code,
		OrganizationalUnit: []string{EntityUnit}, Country: []string{"CN"}}
	return d.leafSigner(ctx, EntityDocumentKeyID(es.Code, es.Serial), "document key of entity "+es.Code, subject,
		func() (time.Time, error) { return es.NotAfter, nil })
}

// EntitySeal returns the stored electronic seal (SESeal DER) of the entity for its SM2
// certificate sm2Serial, or errs.NotFound.
func (d *DocumentKeys) EntitySeal(ctx context.Context, code, sm2Serial string) ([]byte, error) {
	return d.storedSeal(ctx, EntitySealKeyID(code, sm2Serial), "entity "+code)
}

// PutEntitySeal stores the electronic seal of the entity for its SM2 certificate sm2Serial
// unless one is stored, and returns the stored one (another process's when it stored first).
func (d *DocumentKeys) PutEntitySeal(ctx context.Context, code, sm2Serial string, der []byte) ([]byte, error) {
	return d.putSeal(ctx, EntitySealKeyID(code, sm2Serial), "entity "+code, der)
}
