package gm

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// DefaultSignerID is the signer identity (ID_A) hashed into Z for every SM2
// signature made or checked by this package (GM/T 0009 default user ID).
const DefaultSignerID = "1234567812345678"

// Signer is what the platform signs with. *PrivateKey implements it; a key held
// in a hardware security module can implement it later.
type Signer interface {
	// Public returns the SM2 public key of the signer.
	Public() *ecdsa.PublicKey
	// Sign returns the DER SEQUENCE{r, s} SM2 signature of msg, hashed with
	// SM3 over Z(DefaultSignerID)‖msg (GB/T 32918.2-2016 §6).
	Sign(ctx context.Context, msg []byte) ([]byte, error)
}

// PrivateKey is an SM2 private key (GB/T 32918.1-2016). The zero value is not
// usable; obtain one from GenerateKey or ParsePrivateKey.
type PrivateKey struct {
	key *sm2.PrivateKey
}

var _ Signer = (*PrivateKey)(nil)

// GenerateKey returns a new random SM2 private key.
func GenerateKey() (*PrivateKey, error) {
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("gm: generate SM2 key: %w", err)
	}
	return &PrivateKey{key: k}, nil
}

// Public returns the public key of k.
func (k *PrivateKey) Public() *ecdsa.PublicKey {
	if k == nil || k.key == nil {
		return nil
	}
	return &k.key.PublicKey
}

// Sign signs msg with SM2 (GB/T 32918.2-2016): e = SM3(Z‖msg) with Z computed
// from DefaultSignerID and the public key; the signature is DER
// SEQUENCE{r INTEGER, s INTEGER}. Signatures are randomised.
func (k *PrivateKey) Sign(ctx context.Context, msg []byte) ([]byte, error) {
	if k == nil || k.key == nil {
		return nil, errors.New("gm: sign: no private key")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("gm: sign: %w", err)
	}
	sig, err := sm2.SignASN1(rand.Reader, k.key, msg, sm2.DefaultSM2SignerOpts)
	if err != nil {
		return nil, fmt.Errorf("gm: sign: %w", err)
	}
	return sig, nil
}

// Verify reports whether sig is a valid DER SM2 signature of msg by pub, with
// the SM3 digest over Z(DefaultSignerID)‖msg (GB/T 32918.2-2016 §7). It
// returns false, never panics, for a nil or non-SM2 key and for any malformed
// signature.
func Verify(pub *ecdsa.PublicKey, msg, sig []byte) bool {
	if !IsSM2(pub) || pub.X == nil || pub.Y == nil {
		return false
	}
	// Z hashes the coordinates as fixed 32-byte strings, which panics on values
	// that do not fit; the point itself is validated by the verifier.
	if pub.X.Sign() < 0 || pub.Y.Sign() < 0 || pub.X.BitLen() > 256 || pub.Y.BitLen() > 256 {
		return false
	}
	return sm2.VerifyASN1WithSM2(pub, nil, msg, sig)
}

// IsSM2 reports whether pub is a key on the SM2 curve (GB/T 32918.5-2017).
func IsSM2(pub *ecdsa.PublicKey) bool {
	return pub != nil && pub.Curve == sm2.P256()
}

// MarshalPrivateKey returns k as unencrypted PKCS #8 DER (RFC 5208), with
// algorithm id-ecPublicKey and the SM2 curve OID as OpenSSL 3 writes it. Store
// it only encrypted (see EncryptPrivateKey).
func MarshalPrivateKey(k *PrivateKey) ([]byte, error) {
	if k == nil || k.key == nil {
		return nil, errors.New("gm: marshal private key: no key")
	}
	der, err := smx509.MarshalPKCS8PrivateKey(k.key)
	if err != nil {
		return nil, fmt.Errorf("gm: marshal private key: %w", err)
	}
	return der, nil
}

// ParsePrivateKey parses an SM2 private key in PKCS #8 DER, as written by
// MarshalPrivateKey or by OpenSSL (`openssl genpkey -algorithm SM2`).
func ParsePrivateKey(der []byte) (*PrivateKey, error) {
	key, err := smx509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("gm: parse private key: %w", err)
	}
	k, ok := key.(*sm2.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("gm: parse private key: not an SM2 key (%T)", key)
	}
	return &PrivateKey{key: k}, nil
}

// MarshalPublicKey returns pub as PKIX SubjectPublicKeyInfo DER (RFC 5280
// §4.1.2.7) with the SM2 curve OID.
func MarshalPublicKey(pub *ecdsa.PublicKey) ([]byte, error) {
	if !IsSM2(pub) {
		return nil, errors.New("gm: marshal public key: not an SM2 key")
	}
	der, err := smx509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("gm: marshal public key: %w", err)
	}
	return der, nil
}

// ParsePublicKey parses an SM2 public key in PKIX DER. Keys on other curves are
// rejected.
func ParsePublicKey(der []byte) (*ecdsa.PublicKey, error) {
	key, err := smx509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("gm: parse public key: %w", err)
	}
	pub, ok := key.(*ecdsa.PublicKey)
	if !ok || !IsSM2(pub) {
		return nil, fmt.Errorf("gm: parse public key: not an SM2 key (%T)", key)
	}
	return pub, nil
}

// PublicKeyPEM returns pub as a PEM "PUBLIC KEY" block, the form OpenSSL reads.
func PublicKeyPEM(pub *ecdsa.PublicKey) ([]byte, error) {
	der, err := MarshalPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// cryptoSigner adapts a Signer to crypto.Signer for smx509, which hands the
// raw to-be-signed bytes with sm2.DefaultSM2SignerOpts for SM2-with-SM3, and
// checks the returned signature with the default signer ID.
type cryptoSigner struct {
	ctx context.Context
	s   Signer
}

func (c cryptoSigner) Public() crypto.PublicKey { return c.s.Public() }

func (c cryptoSigner) Sign(_ io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	if _, ok := opts.(*sm2.SM2SignerOption); !ok || opts.HashFunc() != 0 {
		return nil, fmt.Errorf("gm: unexpected signer options %T", opts)
	}
	return c.s.Sign(c.ctx, msg)
}
