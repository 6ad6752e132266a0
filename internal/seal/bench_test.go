package seal

import (
	"testing"
	"time"
)

func BenchmarkMakeSeal(b *testing.B) {
	p := fixtures(b)
	info := testInfo(p)
	for b.Loop() {
		makeSeal(b, p, info)
	}
}

func BenchmarkSign(b *testing.B) {
	p := fixtures(b)
	sealDER := makeSeal(b, p, testInfo(p))
	at := t0.Add(time.Hour)
	for b.Loop() {
		sign(b, p, sealDER, at)
	}
}

// BenchmarkParseVerify is the whole check of one SES_Signature: parse, data hash, the maker's
// signature and certificate chain, the signer's certificate chain and signature.
func BenchmarkParseVerify(b *testing.B) {
	p := fixtures(b)
	der := sign(b, p, makeSeal(b, p, testInfo(p)), t0.Add(time.Hour))
	r := roots(p)
	for b.Loop() {
		sig, err := ParseSignature(der)
		if err != nil {
			b.Fatal(err)
		}
		if ps := Verify(sig, hash, r); len(ps) != 0 {
			b.Fatal(ps)
		}
	}
}
