// Package keys manages the platform's SM2 keys and certificates: the self-signed platform root
// (GM/T 0015 profile), the platform signing key (audit checkpoints, webhooks, QR tokens), and one
// key and certificate per registering authority (登记机关). Private keys are kept encrypted with
// SM4 under the master key, behind gm.Signer, so an HSM can replace them later.
package keys

import (
	"context"
	"time"
)

// Well-known key IDs.
const (
	RootKeyID     = "platform-root"
	PlatformKeyID = "platform"
)

// Key is a stored key pair: the private key encrypted with SM4, and its certificate.
type Key struct {
	ID        string    // RootKeyID, PlatformKeyID, or "authority:<credit code>"
	Sealed    []byte    // private key, PKCS#8 sealed with the master key (AAD = ID)
	CertDER   []byte    // certificate (DER)
	Serial    string    // certificate serial, hex
	CreatedAt time.Time // UTC
}

// Authority is a registering authority (登记机关) or another licence-issuing department.
type Authority struct {
	Code      string    `json:"code"`   // credit code (统一社会信用代码)
	Name      string    `json:"name"`   // e.g. 杭州市西湖区市场监督管理局
	Region    string    `json:"region"` // GB/T 2260 division, 6 digits
	CertDER   []byte    `json:"-"`      // current certificate
	Serial    string    `json:"cert_serial"`
	CreatedAt time.Time `json:"created_at"`
}

// Store is the storage the key service needs; package store implements it.
type Store interface {
	// PutKey stores a key unless one with the same ID exists; it returns the stored key (the
	// existing one when another process won the race).
	PutKey(ctx context.Context, k Key) (*Key, error)
	// Key returns the key with this ID (errs.NotFound).
	Key(ctx context.Context, id string) (*Key, error)
	// KeyBySerial returns the key whose certificate has this serial (errs.NotFound); old
	// certificates stay so that old signatures verify.
	KeyBySerial(ctx context.Context, serial string) (*Key, error)
	// PutAuthority inserts or updates an authority.
	PutAuthority(ctx context.Context, a Authority) error
	// Authority returns the authority with this code (errs.NotFound).
	Authority(ctx context.Context, code string) (*Authority, error)
	// Authorities lists all authorities ordered by code.
	Authorities(ctx context.Context) ([]*Authority, error)
}
