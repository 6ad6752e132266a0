package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
)

// Document-signing keys. PDF readers verify neither SM2 nor SM2 certificates, so the PDF form of
// a licence is signed (PKCS #7, adbe.pkcs7.detached) with an ECDSA P-256 key per registering
// authority, certified by a platform "document CA" (also ECDSA P-256). The private keys are
// sealed with the master key like the SM2 keys, in the same store:
//
//	doc-root                         the document CA (self-signed)
//	doc:<credit code>:<SM2 serial>   an authority's document-signing key; it follows the
//	                                 authority's SM2 certificate, so renewing that renews this
//	seal:<credit code>:<SM2 serial>  the authority's electronic seal (SESeal DER in CertDER, no
//	                                 private key), made once and reused
//
// The SM2 keys stay what licences, seals and QR tokens are signed with; these keys only make
// ordinary PDF readers show a valid signature.

// DocumentRootKeyID is the key ID of the document CA.
const DocumentRootKeyID = "doc-root"

// DocumentKeyID is the key ID of an authority's document-signing key made while its SM2
// certificate with serial sm2Serial is current.
func DocumentKeyID(code, sm2Serial string) string { return "doc:" + code + ":" + sm2Serial }

// SealKeyID is the key ID under which an authority's electronic seal is stored.
func SealKeyID(code, sm2Serial string) string { return "seal:" + code + ":" + sm2Serial }

var documentRootName = pkix.Name{CommonName: "elicense Document CA", Organization: []string{"elicense"}, Country: []string{"CN"}}

// DocumentSigner is an authority's document-signing key with its certificate chain.
type DocumentSigner struct {
	Signer crypto.Signer     // ECDSA P-256
	Cert   *x509.Certificate // the authority's document certificate
	Root   *x509.Certificate // the document CA
}

// DocumentKeys hands out the document CA and the authorities' document-signing keys, creating
// them on first use (race-safe across processes, like Service.Init), and stores the
// authorities' electronic seals. Loaded keys are cached; stored keys never change.
type DocumentKeys struct {
	svc   *Service
	mu    sync.Mutex
	root  *docKey
	byID  sync.Map // key ID → *DocumentSigner
	seals sync.Map // key ID → []byte
}

type docKey struct {
	key    *Key
	cert   *x509.Certificate
	signer *ecdsa.PrivateKey // nil when only the certificate was loaded
}

// NewDocumentKeys returns the document keys kept by svc's store, sealed with svc's master key.
func NewDocumentKeys(svc *Service) *DocumentKeys { return &DocumentKeys{svc: svc} }

func docAAD(id string) []byte { return []byte("elicense/keys/ecdsa-private-key\x00" + id) }

// RootCertificate returns the document CA certificate, creating the CA when there is none.
func (d *DocumentKeys) RootCertificate(ctx context.Context) (*x509.Certificate, error) {
	r, err := d.rootKey(ctx, false)
	if err != nil {
		return nil, err
	}
	return r.cert, nil
}

// StoredRootCertificate returns the document CA certificate without creating it (errs.NotFound
// when no document was ever signed), and without the master key: verifiers use it.
func (d *DocumentKeys) StoredRootCertificate(ctx context.Context) (*x509.Certificate, error) {
	d.mu.Lock()
	r := d.root
	d.mu.Unlock()
	if r != nil {
		return r.cert, nil
	}
	k, err := d.svc.st.Key(ctx, DocumentRootKeyID)
	if err != nil {
		return nil, fmt.Errorf("keys: document CA: %w", err)
	}
	c, err := x509.ParseCertificate(k.CertDER)
	if err != nil {
		return nil, fmt.Errorf("keys: document CA: %w", err)
	}
	return c, nil
}

// rootKey loads (or creates) the document CA; withKey asks for its private key too.
func (d *DocumentKeys) rootKey(ctx context.Context, withKey bool) (*docKey, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.root != nil && (d.root.signer != nil || !withKey) {
		return d.root, nil
	}
	k, err := d.svc.st.Key(ctx, DocumentRootKeyID)
	if errs.Is(err, errs.NotFound) {
		k, err = d.create(ctx, DocumentRootKeyID, makeDocumentRoot)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: document CA: %w", err)
	}
	dk, err := d.open(k, true)
	if err != nil {
		return nil, err
	}
	d.root = dk
	return dk, nil
}

// makeDocumentRoot certifies the document CA's own key.
func makeDocumentRoot(now time.Time, key *ecdsa.PrivateKey) ([]byte, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               documentRootName,
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(RootValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	return x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
}

// create generates an ECDSA P-256 key, has mk certify it, seals it and stores it; it returns the
// stored key (another process's when that one stored first).
func (d *DocumentKeys) create(ctx context.Context, id string, mk func(now time.Time, key *ecdsa.PrivateKey) ([]byte, error)) (*Key, error) {
	if d.svc.sealer == nil {
		return nil, errors.New("keys: no master key")
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := d.svc.now()
	der, err := mk(now, priv)
	if err != nil {
		return nil, err
	}
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	defer clear(p8)
	sealed, err := d.svc.sealer.Seal(p8, docAAD(id))
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return d.svc.st.PutKey(ctx, Key{ID: id, Sealed: sealed, CertDER: der, Serial: cert.SerialNumber.Text(16), CreatedAt: now})
}

// open parses a stored document key and, with withKey, decrypts its private key.
func (d *DocumentKeys) open(k *Key, withKey bool) (*docKey, error) {
	cert, err := x509.ParseCertificate(k.CertDER)
	if err != nil {
		return nil, fmt.Errorf("keys: key %s: %w", k.ID, err)
	}
	dk := &docKey{key: k, cert: cert}
	if !withKey {
		return dk, nil
	}
	if d.svc.sealer == nil {
		return nil, errors.New("keys: no master key")
	}
	p8, err := d.svc.sealer.Open(k.Sealed, docAAD(k.ID))
	if err != nil {
		return nil, fmt.Errorf("keys: key %s (is the master key the one the keys were made with?): %w", k.ID, err)
	}
	defer clear(p8)
	priv, err := x509.ParsePKCS8PrivateKey(p8)
	if err != nil {
		return nil, fmt.Errorf("keys: key %s: %w", k.ID, err)
	}
	ec, ok := priv.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("keys: key %s is not an ECDSA key", k.ID)
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&ec.PublicKey) {
		return nil, fmt.Errorf("keys: key %s: private key does not match its certificate", k.ID)
	}
	dk.signer = ec
	return dk, nil
}

func randomSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// DocumentSigner returns the document-signing key of the authority with this credit code,
// creating it (and the document CA) on first use. Its certificate names the authority (CN and O,
// serialNumber = credit code) and is valid as long as the authority's current SM2 certificate.
func (d *DocumentKeys) DocumentSigner(ctx context.Context, code string) (*DocumentSigner, error) {
	a, err := d.svc.Authority(ctx, code)
	if err != nil {
		return nil, err
	}
	subject := pkix.Name{CommonName: a.Name, Organization: []string{a.Name}, SerialNumber: a.Code,
		OrganizationalUnit: []string{a.Region}, Country: []string{"CN"}}
	return d.leafSigner(ctx, DocumentKeyID(a.Code, a.Serial), "document key of "+a.Code, subject,
		func() (time.Time, error) {
			sm2, err := gm.ParseCertificate(a.CertDER)
			if err != nil {
				return time.Time{}, err
			}
			return sm2.NotAfter, nil
		})
}

// leafSigner returns the document-signing key id. On first use it issues a certificate for
// subject under the document CA (creating the CA too), valid until notAfter() but never beyond
// the CA, and stores the key sealed; what names the key in errors. notAfter is only called when
// the key is made.
func (d *DocumentKeys) leafSigner(ctx context.Context, id, what string, subject pkix.Name, notAfter func() (time.Time, error)) (*DocumentSigner, error) {
	if v, ok := d.byID.Load(id); ok {
		return v.(*DocumentSigner), nil
	}
	root, err := d.rootKey(ctx, true)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if v, ok := d.byID.Load(id); ok {
		return v.(*DocumentSigner), nil
	}
	k, err := d.svc.st.Key(ctx, id)
	if errs.Is(err, errs.NotFound) {
		k, err = d.create(ctx, id, func(now time.Time, key *ecdsa.PrivateKey) ([]byte, error) {
			until, err := notAfter()
			if err != nil {
				return nil, err
			}
			if until.After(root.cert.NotAfter) {
				until = root.cert.NotAfter
			}
			serial, err := randomSerial()
			if err != nil {
				return nil, err
			}
			tmpl := &x509.Certificate{
				SerialNumber:          serial,
				Subject:               subject,
				NotBefore:             now.Add(-backdate),
				NotAfter:              until,
				KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
				BasicConstraintsValid: true,
			}
			return x509.CreateCertificate(rand.Reader, tmpl, root.cert, &key.PublicKey, root.signer)
		})
	}
	if err != nil {
		return nil, fmt.Errorf("keys: %s: %w", what, err)
	}
	dk, err := d.open(k, true)
	if err != nil {
		return nil, err
	}
	if err := dk.cert.CheckSignatureFrom(root.cert); err != nil {
		return nil, fmt.Errorf("keys: %s is not certified by the document CA: %w", what, err)
	}
	ds := &DocumentSigner{Signer: dk.signer, Cert: dk.cert, Root: root.cert}
	d.byID.Store(id, ds)
	return ds, nil
}

// Seal returns the stored electronic seal (SESeal DER) of the authority for its SM2 certificate
// sm2Serial, or errs.NotFound.
func (d *DocumentKeys) Seal(ctx context.Context, code, sm2Serial string) ([]byte, error) {
	return d.storedSeal(ctx, SealKeyID(code, strings.ToLower(sm2Serial)), code)
}

// PutSeal stores the electronic seal of the authority for its SM2 certificate sm2Serial unless
// one is stored, and returns the stored one (another process's when it stored first).
func (d *DocumentKeys) PutSeal(ctx context.Context, code, sm2Serial string, der []byte) ([]byte, error) {
	return d.putSeal(ctx, SealKeyID(code, strings.ToLower(sm2Serial)), code, der)
}

// storedSeal returns the seal stored as key id (cached); owner names its holder in errors.
func (d *DocumentKeys) storedSeal(ctx context.Context, id, owner string) ([]byte, error) {
	if v, ok := d.seals.Load(id); ok {
		return v.([]byte), nil
	}
	k, err := d.svc.st.Key(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("keys: seal of %s: %w", owner, err)
	}
	d.seals.Store(id, k.CertDER)
	return k.CertDER, nil
}

// putSeal stores the seal der as key id unless one is stored (a seal has no private key; its
// serial is a hash of the seal), and returns the stored one.
func (d *DocumentKeys) putSeal(ctx context.Context, id, owner string, der []byte) ([]byte, error) {
	h := gm.SM3(der)
	k, err := d.svc.st.PutKey(ctx, Key{ID: id, Sealed: []byte{}, CertDER: bytes.Clone(der),
		Serial: "seal:" + hex.EncodeToString(h[:16]), CreatedAt: d.svc.now()})
	if err != nil {
		return nil, fmt.Errorf("keys: store seal of %s: %w", owner, err)
	}
	d.seals.Store(id, k.CertDER)
	return k.CertDER, nil
}

// AuthorityCertificate returns the SM2 certificate (DER) with this serial of the authority with
// this credit code, current or former (errs.NotFound), so that old signatures verify.
func (s *Service) AuthorityCertificate(ctx context.Context, code, serial string) ([]byte, error) {
	code = normCode(code)
	serial = strings.ToLower(strings.TrimSpace(serial))
	k, err := s.st.KeyBySerial(ctx, serial)
	if err != nil {
		return nil, fmt.Errorf("keys: certificate %s: %w", serial, err)
	}
	if k.ID != AuthorityKeyID(code) {
		return nil, &errs.Error{Kind: errs.NotFound, Field: "cert_serial",
			ZH: fmt.Sprintf("证书 %s 不属于登记机关 %s", serial, code),
			EN: fmt.Sprintf("certificate %s does not belong to authority %s", serial, code)}
	}
	return k.CertDER, nil
}
