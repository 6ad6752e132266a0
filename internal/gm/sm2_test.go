package gm

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"math/big"
	"testing"
)

func mustKey(t testing.TB) *PrivateKey {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSM3KnownAnswer(t *testing.T) {
	// GB/T 32905-2016 Appendix A, example 1.
	got := SM3([]byte("abc"))
	want := "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
	if hex.EncodeToString(got[:]) != want {
		t.Fatalf("SM3(abc) = %x, want %s", got, want)
	}
	h := NewSM3()
	h.Write([]byte("a"))
	h.Write([]byte("bc"))
	if !bytes.Equal(h.Sum(nil), got[:]) {
		t.Fatal("NewSM3 streaming differs from SM3")
	}
}

func TestHMACSM3(t *testing.T) {
	a := HMACSM3([]byte("k1"), []byte("110101199003074258"))
	b := HMACSM3([]byte("k2"), []byte("110101199003074258"))
	c := HMACSM3([]byte("k1"), []byte("110101199003074258"))
	if a == b || a != c {
		t.Fatal("HMACSM3 must depend on the key and be deterministic")
	}
}

func TestSignVerify(t *testing.T) {
	ctx := context.Background()
	k := mustKey(t)
	msg := []byte("营业执照 91330106673959654P")
	sig, err := k.Sign(ctx, msg)
	if err != nil {
		t.Fatal(err)
	}
	if !Verify(k.Public(), msg, sig) {
		t.Fatal("valid signature rejected")
	}
	sig2, _ := k.Sign(ctx, msg)
	if bytes.Equal(sig, sig2) {
		t.Error("SM2 signatures must be randomised")
	}

	tampered := append([]byte(nil), msg...)
	tampered[0] ^= 1
	if Verify(k.Public(), tampered, sig) {
		t.Error("tampered message accepted")
	}
	for i := range sig {
		bad := append([]byte(nil), sig...)
		bad[i] ^= 0x01
		if Verify(k.Public(), msg, bad) {
			t.Errorf("signature with byte %d flipped accepted", i)
		}
	}
	if Verify(mustKey(t).Public(), msg, sig) {
		t.Error("signature accepted under another key")
	}
}

func TestSignCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := mustKey(t).Sign(ctx, []byte("x")); err == nil {
		t.Fatal("Sign with a canceled context succeeded")
	}
	var zero PrivateKey
	if _, err := zero.Sign(context.Background(), []byte("x")); err == nil {
		t.Fatal("zero PrivateKey signed")
	}
}

func TestVerifyGarbage(t *testing.T) {
	k := mustKey(t)
	msg := []byte("m")
	sig, _ := k.Sign(context.Background(), msg)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	huge := new(big.Int).Lsh(big.NewInt(1), 300)
	pub := k.Public()
	keys := []*ecdsa.PublicKey{
		nil,
		{},
		&p256.PublicKey,
		{Curve: pub.Curve},
		{Curve: pub.Curve, X: pub.X},
		{Curve: pub.Curve, X: huge, Y: pub.Y},
		{Curve: pub.Curve, X: pub.X, Y: huge},
		{Curve: pub.Curve, X: new(big.Int).Neg(pub.X), Y: pub.Y},
		{Curve: pub.Curve, X: pub.X, Y: new(big.Int).Add(pub.Y, big.NewInt(1))},
		{Curve: pub.Curve, X: big.NewInt(0), Y: big.NewInt(0)},
	}
	for i, pk := range keys {
		if Verify(pk, msg, sig) {
			t.Errorf("key %d: accepted", i)
		}
	}
	sigs := [][]byte{nil, {}, {0x30}, {0x30, 0x00}, {0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00},
		append(sig, 0), sig[:len(sig)-1], bytes.Repeat([]byte{0xff}, 200)}
	for i, s := range sigs {
		if Verify(pub, msg, s) {
			t.Errorf("signature %d: accepted", i)
		}
	}
}

func FuzzVerify(f *testing.F) {
	k := mustKey(f)
	sig, _ := k.Sign(context.Background(), []byte("m"))
	der, _ := MarshalPublicKey(k.Public())
	f.Add(der, []byte("m"), sig)
	f.Add([]byte{}, []byte{}, []byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, pubDER, msg, sig []byte) {
		pub, err := ParsePublicKey(pubDER)
		if err != nil {
			pub = k.Public()
		}
		Verify(pub, msg, sig)
	})
}

func TestKeyEncoding(t *testing.T) {
	k := mustKey(t)
	der, err := MarshalPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := ParsePrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	if !k2.Public().Equal(k.Public()) {
		t.Fatal("private key round trip changed the key")
	}
	sig, _ := k2.Sign(context.Background(), []byte("m"))
	if !Verify(k.Public(), []byte("m"), sig) {
		t.Fatal("re-parsed key signs differently")
	}

	pubDER, err := MarshalPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(pubDER)
	if err != nil {
		t.Fatal(err)
	}
	if !IsSM2(pub) || !pub.Equal(k.Public()) {
		t.Fatal("public key round trip changed the key")
	}

	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if IsSM2(&p256.PublicKey) || IsSM2(nil) {
		t.Error("IsSM2 accepts a P-256 or nil key")
	}
	if _, err := MarshalPublicKey(&p256.PublicKey); err == nil {
		t.Error("MarshalPublicKey accepted a P-256 key")
	}
	if _, err := ParsePublicKey([]byte("junk")); err == nil {
		t.Error("ParsePublicKey accepted junk")
	}
	if _, err := ParsePrivateKey([]byte("junk")); err == nil {
		t.Error("ParsePrivateKey accepted junk")
	}
}

func BenchmarkSign(b *testing.B) {
	k := mustKey(b)
	ctx := context.Background()
	msg := make([]byte, 256)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Sign(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	k := mustKey(b)
	msg := make([]byte, 256)
	sig, _ := k.Sign(context.Background(), msg)
	pub := k.Public()
	b.ReportAllocs()
	for b.Loop() {
		if !Verify(pub, msg, sig) {
			b.Fatal("verify failed")
		}
	}
}

func BenchmarkSM3(b *testing.B) {
	msg := make([]byte, 1024)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		SM3(msg)
	}
}
