package gm

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/emmansun/gmsm/sm4"
)

// KeySize is the size in bytes of an SM4 key (GB/T 32907-2016).
const KeySize = 16

const (
	nonceSize = 12 // GCM standard nonce (NIST SP 800-38D §5.2.1.1)
	tagSize   = 16
)

// ErrDecrypt is returned by Open and DecryptPrivateKey when the sealed data is
// malformed, was tampered with, or was sealed under another key or AAD.
var ErrDecrypt = errors.New("gm: decryption failed (wrong key, wrong associated data or tampered data)")

// Sealer encrypts data at rest with SM4 (GB/T 32907-2016) in GCM mode (NIST SP
// 800-38D), with a random 96-bit nonce per message. A Sealer is safe for
// concurrent use. With random nonces, one key should seal fewer than 2³²
// messages.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer under a 16-byte SM4 key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("gm: SM4 key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := sm4.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("gm: SM4 key: %w", err)
	}
	aead, err := newGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gm: SM4-GCM: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// newGCM uses the SM4 block's own (assembly) GCM when it has one: since Go 1.24
// crypto/cipher.NewGCM no longer asks the block for it and falls back to a
// generic, slower implementation, which gives the same output.
func newGCM(block cipher.Block) (cipher.AEAD, error) {
	if g, ok := block.(interface {
		NewGCM(nonceSize, tagSize int) (cipher.AEAD, error)
	}); ok {
		return g.NewGCM(nonceSize, tagSize)
	}
	return cipher.NewGCM(block)
}

// Seal encrypts and authenticates plaintext, and authenticates aad (which is
// not stored: Open needs the same aad). It returns nonce‖ciphertext‖tag.
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	if _, err := io.ReadFull(rand.Reader, out); err != nil {
		return nil, fmt.Errorf("gm: seal: %w", err)
	}
	return s.aead.Seal(out, out, plaintext, aad), nil
}

// Open authenticates and decrypts the output of Seal under the same aad. Any
// failure is ErrDecrypt.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < nonceSize+tagSize {
		return nil, ErrDecrypt
	}
	pt, err := s.aead.Open(nil, sealed[:nonceSize], sealed[nonceSize:], aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// ParseKey parses an SM4 key written as 32 hexadecimal digits, as given in
// configuration. Surrounding white space is ignored. Errors never repeat the
// key material.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) != 2*KeySize {
		return nil, fmt.Errorf("gm: key must be %d hexadecimal digits, got %d characters", 2*KeySize, len(s))
	}
	key, err := hex.DecodeString(s)
	if err != nil {
		return nil, errors.New("gm: key is not hexadecimal")
	}
	return key, nil
}

// LoadOrCreateKeyFile returns the master key stored hex encoded in the file at
// path. If the file does not exist it is created, with its directory, holding a
// new random key, with mode 0600. A file that group or others may access is
// refused, as a leaked master key opens every sealed record.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	key, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("gm: create key file %s: %w", path, err)
	}
	key = make([]byte, KeySize)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return nil, fmt.Errorf("gm: create key file %s: %w", path, err)
	}
	switch err := createKeyFile(path, []byte(hex.EncodeToString(key)+"\n")); {
	case err == nil:
		return key, nil
	case errors.Is(err, fs.ErrExist):
		// Another process created it first: use theirs.
		return readKeyFile(path)
	default:
		return nil, fmt.Errorf("gm: create key file %s: %w", path, err)
	}
}

// createKeyFile writes data to a 0600 temporary file, then links it to path,
// so that the key file appears complete or not at all and is never replaced.
func createKeyFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".key-*.tmp") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	err = os.Link(tmp, path)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	// The file system has no hard links: create exclusively instead.
	g, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := g.Write(data); err != nil {
		g.Close()
		os.Remove(path)
		return err
	}
	return g.Close()
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("gm: key file %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("gm: key file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("gm: key file %s is not a regular file", path)
	}
	// Windows has no Unix permission bits to check.
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("gm: key file %s has mode %04o: group and others must have no access (chmod 600 %s)", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 1024))
	if err != nil {
		return nil, fmt.Errorf("gm: key file %s: %w", path, err)
	}
	key, err := ParseKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("gm: key file %s: %w", path, err)
	}
	return key, nil
}

// privateKeyAAD binds a sealed private key to its label, and separates it from
// any other data sealed under the same master key.
func privateKeyAAD(label string) []byte {
	return []byte("elicense/gm/sm2-private-key\x00" + label)
}

// EncryptPrivateKey returns k's PKCS #8 DER sealed by s, with label (for
// example "authority:11100000MB0143028R/seal") bound as associated data: the
// blob opens only under the same label.
func EncryptPrivateKey(s *Sealer, k *PrivateKey, label string) ([]byte, error) {
	der, err := MarshalPrivateKey(k)
	if err != nil {
		return nil, err
	}
	defer clear(der)
	return s.Seal(der, privateKeyAAD(label))
}

// DecryptPrivateKey opens a blob made by EncryptPrivateKey under the same
// label.
func DecryptPrivateKey(s *Sealer, blob []byte, label string) (*PrivateKey, error) {
	der, err := s.Open(blob, privateKeyAAD(label))
	if err != nil {
		return nil, fmt.Errorf("gm: decrypt private key %q: %w", label, err)
	}
	defer clear(der)
	return ParsePrivateKey(der)
}
