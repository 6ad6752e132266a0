package gm

import (
	"bytes"
	"context"
	"crypto/cipher"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/emmansun/gmsm/sm4"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 8998 Appendix A.1, SM4-GCM test vector, opened through Sealer's layout.
func TestSealerKnownAnswer(t *testing.T) {
	key := mustHex(t, "0123456789abcdeffedcba9876543210")
	nonce := mustHex(t, "00001234567800000000abcd")
	aad := mustHex(t, "feedfacedeadbeeffeedfacedeadbeefabaddad2")
	pt := mustHex(t, "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccddddddddddddddddeeeeeeeeeeeeeeeeffffffffffffffffeeeeeeeeeeeeeeeeaaaaaaaaaaaaaaaa")
	ct := mustHex(t, "17f399f08c67d5ee19d0dc9969c4bb7d5fd46fd3756489069157b282bb200735d82710ca5c22f0ccfa7cbf93d496ac15a56834cbcf98c397b4024a2691233b8d"+
		"83de3541e4c2b58177e065a9bf7b62ec")
	s, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Open(append(nonce, ct...), aad)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, pt) {
		t.Fatal("RFC 8998 vector: wrong plaintext")
	}
}

// The accelerated GCM Sealer uses must agree with crypto/cipher's generic one.
func TestSealerMatchesGenericGCM(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	s, _ := NewSealer(key)
	block, _ := sm4.NewCipher(key)
	generic, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 15, 16, 17, 255, 4096} {
		pt := bytes.Repeat([]byte{byte(n)}, n)
		sealed, _ := s.Seal(pt, []byte("aad"))
		got, err := generic.Open(nil, sealed[:12], sealed[12:], []byte("aad"))
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("len %d: generic GCM cannot open Sealer output: %v", n, err)
		}
	}
}

func TestSealOpen(t *testing.T) {
	key := make([]byte, KeySize)
	s, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	pt := []byte("身份证号 110101199003074258")
	aad := []byte("person:42")
	sealed, err := s.Seal(pt, aad)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != 12+len(pt)+16 {
		t.Fatalf("sealed length %d", len(sealed))
	}
	got, err := s.Open(sealed, aad)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	again, _ := s.Seal(pt, aad)
	if bytes.Equal(again, sealed) {
		t.Error("two seals of the same plaintext are equal: nonce reused")
	}

	if _, err := s.Open(sealed, []byte("person:43")); !errors.Is(err, ErrDecrypt) {
		t.Errorf("wrong AAD: %v", err)
	}
	for i := range sealed {
		bad := append([]byte(nil), sealed...)
		bad[i] ^= 0x80
		if _, err := s.Open(bad, aad); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	for _, bad := range [][]byte{nil, sealed[:27], sealed[:len(sealed)-1]} {
		if _, err := s.Open(bad, aad); !errors.Is(err, ErrDecrypt) {
			t.Errorf("short input %d: %v", len(bad), err)
		}
	}
	other, _ := NewSealer(bytes.Repeat([]byte{1}, KeySize))
	if _, err := other.Open(sealed, aad); !errors.Is(err, ErrDecrypt) {
		t.Errorf("wrong key: %v", err)
	}
	for _, n := range []int{0, 15, 17, 32} {
		if _, err := NewSealer(make([]byte, n)); err == nil {
			t.Errorf("NewSealer accepted a %d-byte key", n)
		}
	}
}

func TestSealerConcurrent(t *testing.T) {
	s, _ := NewSealer(make([]byte, KeySize))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				pt := []byte(strings.Repeat("x", i*j%97))
				sealed, _ := s.Seal(pt, []byte{byte(i)})
				if got, err := s.Open(sealed, []byte{byte(i)}); err != nil || !bytes.Equal(got, pt) {
					t.Errorf("goroutine %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestParseKey(t *testing.T) {
	k, err := ParseKey(" 0123456789abcdefFEDCBA9876543210\n")
	if err != nil || len(k) != KeySize || k[0] != 0x01 || k[15] != 0x10 {
		t.Fatalf("ParseKey = %x, %v", k, err)
	}
	for _, s := range []string{"", "0123", "0123456789abcdeffedcba98765432100", "0123456789abcdeffedcba987654321g"} {
		_, err := ParseKey(s)
		if err == nil {
			t.Errorf("ParseKey(%q) accepted", s)
		} else if len(s) > 8 && strings.Contains(err.Error(), s[:8]) {
			t.Errorf("ParseKey error repeats key material: %v", err)
		}
	}
}

func TestKeyFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions on Windows")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "keys", "master.key")
	k1, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != KeySize {
		t.Fatalf("key length %d", len(k1))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("created with mode %04o, want 0600", perm)
	}
	data, _ := os.ReadFile(path)
	if strings.TrimSpace(string(data)) != hex.EncodeToString(k1) {
		t.Fatalf("file holds %q", data)
	}
	k2, err := LoadOrCreateKeyFile(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("reload = %x, %v; want %x", k2, err, k1)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}

	loose := filepath.Join(dir, "loose.key")
	if err := os.WriteFile(loose, []byte(hex.EncodeToString(k1)), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(loose, 0o644) // whatever the umask
	_, err = LoadOrCreateKeyFile(loose)
	if err == nil {
		t.Fatal("a 0644 key file was loaded")
	}
	if !strings.Contains(err.Error(), loose) || !strings.Contains(err.Error(), "0644") {
		t.Errorf("error does not name the path and mode: %v", err)
	}

	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	if _, err := LoadOrCreateKeyFile(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("malformed key file: %v", err)
	}
}

func TestKeyFileConcurrentCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := LoadOrCreateKeyFile(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for i := range keys {
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("concurrent creators got different keys: %x vs %x", keys[i], keys[0])
		}
	}
}

func TestEncryptPrivateKey(t *testing.T) {
	s, _ := NewSealer(bytes.Repeat([]byte{3}, KeySize))
	k := mustKey(t)
	blob, err := EncryptPrivateKey(s, k, "authority:11100000MB0143028R")
	if err != nil {
		t.Fatal(err)
	}
	der, _ := MarshalPrivateKey(k)
	if bytes.Contains(blob, der[len(der)-32:]) {
		t.Fatal("blob contains key material in clear")
	}
	k2, err := DecryptPrivateKey(s, blob, "authority:11100000MB0143028R")
	if err != nil {
		t.Fatal(err)
	}
	if !k2.Public().Equal(k.Public()) {
		t.Fatal("decrypted a different key")
	}
	sig, _ := k2.Sign(context.Background(), []byte("m"))
	if !Verify(k.Public(), []byte("m"), sig) {
		t.Fatal("decrypted key does not sign")
	}
	if _, err := DecryptPrivateKey(s, blob, "authority:other"); !errors.Is(err, ErrDecrypt) {
		t.Errorf("wrong label: %v", err)
	}
	// A blob sealed with the label as plain AAD is not a key blob.
	plain, _ := s.Seal(der, []byte("authority:11100000MB0143028R"))
	if _, err := DecryptPrivateKey(s, plain, "authority:11100000MB0143028R"); err == nil {
		t.Error("opened data sealed for another purpose")
	}
}

func BenchmarkSeal1K(b *testing.B) {
	s, _ := NewSealer(make([]byte, KeySize))
	pt := make([]byte, 1024)
	b.SetBytes(int64(len(pt)))
	for b.Loop() {
		s.Seal(pt, nil)
	}
}
