package gm

import (
	"crypto/hmac"
	"hash"

	"github.com/emmansun/gmsm/sm3"
)

// SM3 returns the SM3 digest of data (GB/T 32905-2016).
func SM3(data []byte) [32]byte {
	return sm3.Sum(data)
}

// NewSM3 returns a new SM3 hash.Hash (GB/T 32905-2016).
func NewSM3() hash.Hash {
	return sm3.New()
}

// HMACSM3 returns HMAC (RFC 2104) with SM3 of data under key. It is the keyed
// hash used to look up personal data (such as ID numbers) without storing it in
// clear: without the key, the digest cannot be tested against guesses.
func HMACSM3(key, data []byte) [32]byte {
	m := hmac.New(sm3.New, key)
	m.Write(data)
	var out [32]byte
	m.Sum(out[:0])
	return out
}
