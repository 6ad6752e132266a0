package keys

import (
	"context"
	"crypto/x509/pkix"
	"time"
)

// The platform's own document keys. A watermarked copy of a licence (加注件) is sealed by the
// platform, not by the licence's authority: in OFD with a GB/T 38540 seal whose signer is the
// platform's SM2 certificate, in PDF with an ECDSA key certified by the document CA like the
// authorities' document-signing keys:
//
//	doc:platform:<SM2 serial>   the platform's document-signing key; it follows the platform's
//	                            SM2 certificate
//	seal:platform:<SM2 serial>  the platform's electronic seal (Seal/PutSeal with code
//	                            PlatformSealCode)

// PlatformSealCode is the code under which DocumentKeys.Seal and PutSeal keep the platform's seal.
const PlatformSealCode = "platform"

// PlatformDocumentSerialNumber is the subject serialNumber of the platform's document
// certificate, where an authority's document certificate has the authority's credit code: a
// verifier recognises the platform's PDF signatures by it (with the chain to the document CA).
const PlatformDocumentSerialNumber = "ELICENSE-PLATFORM"

// PlatformDocumentKeyID is the key ID of the platform's document-signing key made while its SM2
// certificate with serial sm2Serial is current.
func PlatformDocumentKeyID(sm2Serial string) string { return "doc:platform:" + sm2Serial }

// PlatformCertDER returns the platform's SM2 signing certificate (DER) without opening its
// private key: verifiers use it.
func (s *Service) PlatformCertDER(ctx context.Context) ([]byte, error) {
	sc, err := s.certOf(ctx, PlatformKeyID)
	if err != nil {
		return nil, err
	}
	return sc.key.CertDER, nil
}

// PlatformDocumentSigner returns the platform's document-signing key (ECDSA P-256, certified by
// the document CA), creating it on first use. Its certificate names the platform (CN and O
// name, serialNumber PlatformDocumentSerialNumber) and is valid as long as the platform's SM2
// certificate.
func (d *DocumentKeys) PlatformDocumentSigner(ctx context.Context, name string) (*DocumentSigner, error) {
	plat, err := d.svc.certOf(ctx, PlatformKeyID)
	if err != nil {
		return nil, err
	}
	subject := pkix.Name{CommonName: name, Organization: []string{name},
		SerialNumber: PlatformDocumentSerialNumber, Country: []string{"CN"}}
	return d.leafSigner(ctx, PlatformDocumentKeyID(serialOf(plat.cert)), "platform document key", subject,
		func() (time.Time, error) { return plat.cert.NotAfter, nil })
}
