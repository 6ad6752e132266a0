package seal

import (
	"testing"
	"time"
)

func sealSeeds(t testing.TB) [][]byte {
	p := fixtures(t)
	v4 := makeSeal(t, p, testInfo(p))
	v1 := makeSealV1(t, p, 1)
	at := t0.Add(time.Hour)
	return [][]byte{v4, v1, sign(t, p, v4, at), signV1(t, p, v1, mustMarshal(t, at), true),
		{0x30, 0x00}, {0x30, 0x80, 0x00, 0x00}, {0x04, 0x02, 0x30, 0x00}}
}

func FuzzParseSeal(f *testing.F) {
	for _, s := range sealSeeds(f) {
		f.Add(s)
	}
	p := fixtures(f)
	f.Fuzz(func(t *testing.T, der []byte) {
		s, err := ParseSeal(der)
		if err != nil {
			if s != nil {
				t.Fatal("seal and error")
			}
			return
		}
		if s.Version != Version1 && s.Version != Version4 {
			t.Fatalf("version %d", s.Version)
		}
		if len(s.Picture) > MaxPicture || len(s.Certs) > MaxCerts || len(s.CertDigests) > MaxCerts {
			t.Fatal("limits not enforced")
		}
		s.HasCert(p.signerDER)
	})
}

func FuzzParseSignature(f *testing.F) {
	for _, s := range sealSeeds(f) {
		f.Add(s)
	}
	p := fixtures(f)
	f.Fuzz(func(t *testing.T, der []byte) {
		sig, err := ParseSignature(der)
		if err != nil {
			if sig != nil {
				t.Fatal("signature and error")
			}
			return
		}
		if sig.Seal == nil || sig.Seal.Version != sig.Version {
			t.Fatal("inconsistent versions")
		}
		ps := Verify(sig, hash, roots(p))
		for _, pr := range ps {
			if pr.Code == "" || pr.ZH == "" || pr.EN == "" {
				t.Fatalf("incomplete problem %+v", pr)
			}
		}
	})
}
