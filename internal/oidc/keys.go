package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/keys"
)

var b64 = base64.RawURLEncoding

// SigningKeyID is the key store ID of the token signing key. JOSE has no SM2, so tokens are
// signed with ES256 (ECDSA P-256, SHA-256), while licences, seals and the audit log use SM2.
const SigningKeyID = "oidc-signing-es256"

// signingKey is the ES256 key that signs ID tokens, access tokens and logout tokens.
type signingKey struct {
	priv *ecdsa.PrivateKey
	kid  string
	seed []byte // the private scalar, from which the library's crypto key is derived
}

// The library's SigningKey and Key interfaces.
func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (k *signingKey) Algorithm() jose.SignatureAlgorithm          { return jose.ES256 }
func (k *signingKey) Key() any                                    { return k.priv }
func (k *signingKey) ID() string                                  { return k.kid }
func (k *signingKey) Use() string                                 { return "sig" }

// publicKey is the public half, as the JWKS endpoint shows it.
type publicKey struct{ k *signingKey }

func (p publicKey) ID() string                         { return p.k.kid }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.priv.PublicKey }

// loadSigningKey returns the stored signing key, creating it on first start. The key is
// sealed with the master key (SM4, AAD = its ID) like every other private key; when two
// processes start together, PutKey keeps the first and both use it.
func loadSigningKey(ctx context.Context, st KeyStore, sealer *gm.Sealer, now time.Time) (*signingKey, error) {
	k, err := st.Key(ctx, SigningKeyID)
	if errs.Is(err, errs.NotFound) {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("oidc: generate signing key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, fmt.Errorf("oidc: encode signing key: %w", err)
		}
		sealed, err := sealer.Seal(der, []byte(SigningKeyID))
		if err != nil {
			return nil, fmt.Errorf("oidc: seal signing key: %w", err)
		}
		// The key has no certificate; the serial column must still be unique.
		k, err = st.PutKey(ctx, keys.Key{ID: SigningKeyID, Sealed: sealed, Serial: SigningKeyID, CreatedAt: now})
		if err != nil {
			return nil, fmt.Errorf("oidc: store signing key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("oidc: load signing key: %w", err)
	}
	der, err := sealer.Open(k.Sealed, []byte(SigningKeyID))
	if err != nil {
		return nil, fmt.Errorf("oidc: open signing key (wrong master key?): %w", err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("oidc: parse signing key: %w", err)
	}
	priv, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || priv.Curve != elliptic.P256() {
		return nil, fmt.Errorf("oidc: signing key %s is not ECDSA P-256", SigningKeyID)
	}
	pub, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("oidc: encode public key: %w", err)
	}
	sum := sha256.Sum256(pub)
	seed, err := priv.Bytes()
	if err != nil {
		return nil, fmt.Errorf("oidc: signing key: %w", err)
	}
	return &signingKey{priv: priv, kid: b64.EncodeToString(sum[:12]), seed: seed}, nil
}

// sign signs claims as a JWT with typ (e.g. "JWT", "logout+jwt").
func (k *signingKey) sign(claims any, typ string) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: &jose.JSONWebKey{Key: k.priv, KeyID: k.kid}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", fmt.Errorf("oidc: signer: %w", err)
	}
	b, err := jsonMarshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(b)
	if err != nil {
		return "", fmt.Errorf("oidc: sign: %w", err)
	}
	return jws.CompactSerialize()
}
