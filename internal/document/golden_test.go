package document

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden images in testdata/golden")

// TestPDFGoldenImage renders the 副本 and 正本 PDF with pdftoppm and compares them with golden
// PNGs, tolerantly (anti-aliasing and poppler versions differ) and leaving out the QR code, whose
// token carries a fresh signature every time. Regenerate with -update after a layout change.
func TestPDFGoldenImage(t *testing.T) {
	needTool(t, "pdftoppm", "poppler-utils")
	e := newEnv(t)
	l := e.issue(t, companyReg(t, "MA2AB3CD"))
	for _, c := range []Copy{Duplicate, Original} {
		dir := t.TempDir()
		pdf := filepath.Join(dir, "l.pdf")
		if err := os.WriteFile(pdf, e.render(t, l, PDF, c), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := run(t, "pdftoppm", "-r", "40", "-png", "-singlefile", pdf, filepath.Join(dir, "page")); err != nil {
			t.Fatalf("pdftoppm: %v %s", err, out)
		}
		got, err := os.ReadFile(filepath.Join(dir, "page.png"))
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "golden", "company-"+string(c)+".png")
		if *update {
			os.MkdirAll(filepath.Dir(golden), 0o755)
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		k := 40 / 25.4 // pixels per mm
		scale := 1.0
		if c == Original {
			scale = originalW / duplicateW
		}
		// The QR code's box, in pixels.
		qr := image.Rect(int(244*scale*k), int(11*scale*k), int(276*scale*k), int(43*scale*k))
		mean, bad := diff(t, got, want, qr)
		if mean > 2.5 || bad > 0.01 {
			os.WriteFile(filepath.Join(os.TempDir(), "golden-"+string(c)+"-got.png"), got, 0o644)
			t.Errorf("%s: differs from %s: mean difference %.2f/255, %.2f%% of pixels differ much (got image in %s)",
				c, golden, mean, 100*bad, os.TempDir())
		}
	}
}

// diff compares two PNGs of the same size outside mask: the mean absolute difference of the
// grey levels and the share of pixels that differ by more than a quarter.
func diff(t *testing.T, a, b []byte, mask image.Rectangle) (mean, bad float64) {
	t.Helper()
	ia, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	ib, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if ia.Bounds() != ib.Bounds() {
		t.Fatalf("image size %v, golden %v", ia.Bounds(), ib.Bounds())
	}
	var sum float64
	n, many := 0, 0
	r := ia.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if image.Pt(x, y).In(mask) {
				continue
			}
			g := func(im image.Image) float64 {
				cr, cg, cb, _ := im.At(x, y).RGBA()
				return (0.299*float64(cr) + 0.587*float64(cg) + 0.114*float64(cb)) / 257
			}
			d := g(ia) - g(ib)
			if d < 0 {
				d = -d
			}
			sum += d
			n++
			if d > 64 {
				many++
			}
		}
	}
	return sum / float64(n), float64(many) / float64(n)
}
