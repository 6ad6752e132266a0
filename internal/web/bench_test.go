package web

import (
	"context"
	"net/http/httptest"
	"testing"
)

// BenchmarkLicence measures GET /api/v1/licenses/{code} through the whole handler (middleware,
// routing, one store read, cached signature check, JSON), and the service call alone: the
// difference is what the web layer costs.
func BenchmarkLicence(b *testing.B) {
	f := newFixture(b)
	codes := []string{f.valid, f.cancelled, f.revoked, f.changed, f.individual}
	for _, c := range codes { // warm the signature cache
		if r := f.do("GET", "/api/v1/licenses/"+c, ""); r.Code != 200 {
			b.Fatal(r.body)
		}
	}
	b.Run("handler", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			req := httptest.NewRequest("GET", "/api/v1/licenses/"+codes[i%len(codes)], nil)
			rec := httptest.NewRecorder()
			f.h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatal(rec.Body.String())
			}
			i++
		}
	})
	b.Run("service", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := f.env.Licenses.Get(context.Background(), codes[i%len(codes)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
