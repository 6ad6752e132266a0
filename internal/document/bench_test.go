package document

import (
	"context"
	"testing"

	"github.com/elicense/elicense/internal/gm"
)

// Benchmarks of docs/benchmarks.md ("Documents"): run with
//
//	go test ./internal/document -run '^$' -bench . -cpu 2 -benchtime 3s
//
// Render is the whole path: layout, QR token (SM2), QR image, OFD package or PDF with the
// embedded data, and the seal (SES_Signature, SM2) or the PDF signature (ECDSA P-256).
// Verify is the whole check of a file or a QR token, including the registry look-up on SQLite.
// SM2Verify is the raw SM2 verification rate, the base of the ratios.

func BenchmarkRender(b *testing.B) {
	e := newEnv(b)
	l := e.issue(b, companyReg(b, "MA2AB3CD"))
	for _, f := range []Format{OFD, PDF} {
		for _, c := range []Copy{Original, Duplicate} {
			b.Run(string(f)+"/"+string(c), func(b *testing.B) {
				size := len(e.render(b, l, f, c))
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := e.docs.Render(context.Background(), l, Options{Format: f, Copy: c}); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(size), "bytes/file")
			})
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	e := newEnv(b)
	l := e.issue(b, companyReg(b, "MA2AB3CD"))
	for _, f := range []Format{OFD, PDF} {
		doc := e.render(b, l, f, Original)
		b.Run(string(f), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					rep, err := e.docs.Verify(context.Background(), doc)
					if err != nil || !rep.Valid {
						b.Errorf("%v %+v", err, rep)
						return
					}
				}
			})
		})
	}
	tok, err := e.docs.Token(e.ctx, l)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("qr", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				rep, err := e.docs.VerifyToken(context.Background(), tok)
				if err != nil || !rep.Valid {
					b.Errorf("%v %+v", err, rep)
					return
				}
			}
		})
	})
}

func BenchmarkSM2Verify(b *testing.B) {
	k, err := gm.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	msg := []byte("AQEBwFIttw8xAO4y8jgoQeZSLbcPMQ-licence-token-payload-of-typical-size-0123456789")
	sig, err := k.Sign(context.Background(), msg)
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !gm.Verify(k.Public(), msg, sig) {
				b.Error("does not verify")
				return
			}
		}
	})
}
