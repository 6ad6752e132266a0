package document

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/qrtoken"
)

// Benchmarks of docs/benchmarks.md ("Licence documents"): run with
//
//	go test ./internal/document -run '^$' -bench . -cpu 2 -benchtime 3s
//
// Render is the whole path: layout, QR token (SM2), QR image, OFD package or PDF with the
// embedded data, and the seal (SES_Signature, SM2) or the PDF signature (ECDSA P-256). "warm"
// renders a licence whose QR code and font subset are in the render caches (a licence rendered
// before, as a download is); "cold" empties the caches before every render (a licence rendered
// for the first time). Verify is the whole check of a file or a QR token, including the registry
// look-up (SQLite, through the store's cache of current licences). SM2Verify is the raw SM2 verification rate, the base of the ratios.
//
// Besides ns/op (wall time over all goroutines), each reports ops/s and the process CPU time
// per operation (cpu-µs/op): the machine may be shared, and 2 CPUs' worth of time divided by
// cpu-µs/op is the rate two idle cores would give.

func BenchmarkRender(b *testing.B) {
	e := newEnv(b)
	l := e.issue(b, companyReg(b, "MA2AB3CD"))
	for _, f := range []Format{OFD, PDF} {
		for _, c := range []Copy{Original, Duplicate} {
			for _, cold := range []bool{false, true} {
				name := string(f) + "/" + string(c) + "/warm"
				if cold {
					name = string(f) + "/" + string(c) + "/cold"
				}
				b.Run(name, func(b *testing.B) {
					size := len(e.render(b, l, f, c))
					docs := e.docs
					if cold {
						docs = NewService(Config{Keys: e.keys, Licences: e.licences, Clock: e.clock, PublicURL: testPublicURL})
						docs.qrs, docs.subsetCap = newBoundedCache[qrKey, *qrEntry](0), 0
					}
					b.ReportAllocs()
					runMeasured(b, func() {
						if _, err := docs.Render(context.Background(), l, Options{Format: f, Copy: c}); err != nil {
							b.Error(err)
						}
					})
					b.ReportMetric(float64(size), "bytes/file")
				})
			}
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
			runMeasured(b, func() {
				rep, err := e.docs.Verify(context.Background(), doc)
				if err != nil || !rep.Valid {
					b.Errorf("%v %+v", err, rep)
				}
			})
		})
	}
	tok, err := e.docs.Token(e.ctx, l)
	if err != nil {
		b.Fatal(err)
	}
	// qr/warm: a token verified before (its signature is remembered; the status is looked up);
	// qr/cold: the signature is checked every time, as on a token's first scan.
	cold := NewService(Config{Keys: e.keys, Licences: e.licences, Clock: e.clock, PublicURL: testPublicURL})
	cold.tokenSigs = newBoundedCache[string, *qrtoken.Token](0)
	for name, docs := range map[string]*Service{"qr/warm": e.docs, "qr/cold": cold} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			runMeasured(b, func() {
				rep, err := docs.VerifyToken(context.Background(), tok)
				if err != nil || !rep.Valid {
					b.Errorf("%v %+v", err, rep)
				}
			})
		})
	}
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
	runMeasured(b, func() {
		if !gm.Verify(k.Public(), msg, sig) {
			b.Error("does not verify")
		}
	})
}

// runMeasured runs op b.N times over GOMAXPROCS goroutines and reports ops/s and CPU time per op.
func runMeasured(b *testing.B, op func()) {
	b.Helper()
	cpu0 := cpuTime()
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			op()
		}
	})
	b.StopTimer()
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
}

// cpuTime returns the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
