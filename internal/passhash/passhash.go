// Package passhash hashes passwords and PINs with Argon2id (RFC 9106) in the PHC string format,
// with the OWASP Password Storage Cheat Sheet's first recommendation (19 MiB, two passes, one
// lane). Staff passwords (package account) and licence PINs (package identity) use it. Stored
// hashes carry their parameters, so they can be raised later without invalidating old hashes.
package passhash

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Parameters of new hashes.
const (
	Memory  = 19 * 1024 // KiB
	Time    = 2
	Threads = 1
	SaltLen = 16
	KeyLen  = 32
)

// Hash returns the Argon2id hash of secret: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
// (unpadded standard base64).
func Hash(secret string) (string, error) {
	salt := make([]byte, SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("passhash: %w", err)
	}
	key := argon2.IDKey([]byte(secret), salt, Time, Memory, Threads, KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, Memory, Time, Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// phc is a parsed hash.
type phc struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

// parse reads a PHC string, refusing parameters so large that checking a secret would exhaust
// the machine.
func parse(s string) (*phc, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return nil, errors.New("not an argon2id v19 hash")
	}
	var h phc
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("parameter %q: %w", kv, err)
		}
		switch k {
		case "m":
			h.memory = uint32(n)
		case "t":
			h.time = uint32(n)
		case "p":
			if n > 255 {
				return nil, fmt.Errorf("parameter %q out of range", kv)
			}
			h.threads = uint8(n)
		default:
			return nil, fmt.Errorf("unknown parameter %q", kv)
		}
	}
	if h.memory < 8 || h.memory > 1<<21 || h.time < 1 || h.time > 64 || h.threads < 1 || h.threads > 64 {
		return nil, errors.New("parameters out of range")
	}
	var err error
	if h.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return nil, errors.New("bad salt")
	}
	if h.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 128 {
		return nil, errors.New("bad hash")
	}
	return &h, nil
}

// Verify reports whether secret matches the hash, comparing in constant time. A malformed hash,
// or one whose parameters would exhaust the machine, matches nothing.
func Verify(hash, secret string) bool {
	h, err := parse(hash)
	if err != nil {
		return false
	}
	key := argon2.IDKey([]byte(secret), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1
}
