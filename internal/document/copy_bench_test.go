package document

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
)

// BenchmarkRenderCopy measures watermarked copies (docs/benchmarks.md, "Watermarked copies"):
//
//	go test ./internal/document -run '^$' -bench Copy -benchtime 200x
//
// copy: RenderCopy of a company licence (a new case number each time: nothing of a copy is
// cached); original: Render of the same licence warm, for comparison in the same run;
// permit-copy: RenderPermitCopy of a 食品经营许可证.
func BenchmarkRenderCopy(b *testing.B) {
	e := newPermitEnv(b)
	l := e.issue(b, companyReg(b, "MA2AB3CD"))
	p := e.foodPermit(b, "JY13301060012345", 1)
	var n atomic.Int64
	mark := func() Mark {
		m := testMark()
		m.ID, m.Case = "", fmt.Sprintf("XH2024052%06d", n.Add(1))
		return m
	}
	for _, f := range []Format{OFD, PDF} {
		o := Options{Format: f, Copy: Original}
		for _, kind := range []string{"copy", "original", "permit-copy"} {
			render := func() ([]byte, error) {
				switch kind {
				case "copy":
					return e.docs.RenderCopy(context.Background(), l, o, mark())
				case "permit-copy":
					return e.docs.RenderPermitCopy(context.Background(), p, o, mark())
				}
				return e.docs.Render(context.Background(), l, o)
			}
			b.Run(string(f)+"/"+kind, func(b *testing.B) {
				doc, err := render() // warms the QR code and the face's font subset
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				runMeasured(b, func() {
					if _, err := render(); err != nil {
						b.Error(err)
					}
				})
				b.ReportMetric(float64(len(doc)), "bytes/file")
			})
		}
	}
}
