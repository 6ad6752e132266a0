package document

import (
	"bytes"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/qrtoken"
	"github.com/elicense/elicense/internal/seal"
)

func (e *env) renderCopy(t testing.TB, l *license.Licence, f Format, c Copy, m Mark) []byte {
	t.Helper()
	b, err := e.docs.RenderCopy(e.ctx, l, Options{Format: f, Copy: c}, m)
	if err != nil {
		t.Fatalf("render copy %s %s: %v", f, c, err)
	}
	return b
}

// TestCopyVerifiesAsCopy: a copy of each format verifies as a valid copy (result 0, the words of
// a copy, the mark reported), is sealed by the platform, carries the mark in its metadata and the
// watermark on every page; an original still verifies as an original.
func TestCopyVerifiesAsCopy(t *testing.T) {
	e := newEnv(t)
	l := e.issue(t, companyReg(t, "MA2AB3CD"))
	long := e.issue(t, longReg(t))
	m := testMark()
	for _, f := range []Format{OFD, PDF} {
		for _, c := range []Copy{Original, Duplicate} {
			t.Run(fmt.Sprintf("%s/%s", f, c), func(t *testing.T) {
				doc := e.renderCopy(t, l, f, c, m)
				rep, err := e.docs.Verify(e.ctx, doc)
				if err != nil {
					t.Fatal(err)
				}
				if !rep.Valid || rep.Result != ResultValid || rep.Copy == nil {
					t.Fatalf("verify: %+v", rep)
				}
				if rep.ZH != copyValidZH || rep.EN != copyValidEN {
					t.Errorf("verdict %q / %q, want the words of a valid copy", rep.ZH, rep.EN)
				}
				got := *rep.Copy
				if got.ID != m.ID || got.Caller != m.Caller || got.CallerName != m.CallerName || got.Cause != m.Cause ||
					got.Item != m.Item || got.Case != m.Case || !got.At.Equal(m.At) || !got.Expires.Equal(m.Expires) {
					t.Errorf("mark %+v, want %+v", got, m)
				}
				if rep.Identifier != l.Identifier || rep.Name != l.Face.Name || rep.Status != license.Active {
					t.Errorf("report: %s %s %s", rep.Identifier, rep.Name, rep.Status)
				}
				if !slices.ContainsFunc(rep.Checks, func(c Check) bool { return c.Name == "copy" && c.OK && strings.Contains(c.ZH, m.CallerName) }) {
					t.Errorf("no copy check: %+v", rep.Checks)
				}
			})
		}
	}
	// The original is no copy.
	rep, err := e.docs.Verify(e.ctx, e.render(t, l, OFD, Original))
	if err != nil || !rep.Valid || rep.Copy != nil || rep.ZH == copyValidZH {
		t.Errorf("original: %v %+v", err, rep)
	}

	// The OFD: the platform's seal, the authority's seal picture, the mark in OFD.xml, the
	// watermark on every page.
	doc := e.renderCopy(t, long, OFD, Duplicate, m)
	names, files := entries(t, doc)
	sig, err := seal.ParseSignature(files[signedValuePath])
	if err != nil {
		t.Fatal(err)
	}
	plat, err := e.keys.PlatformCertDER(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sig.SignerCert, plat) || !strings.Contains(sig.Seal.Name, "加注专用章") {
		t.Errorf("the copy's seal is %q, signed by another than the platform", sig.Seal.Name)
	}
	for _, want := range []string{m.ID, m.CallerName, m.Cause, m.Case, m.Item, `Name="用证事由"`, `Name="加注件有效期至"`} {
		if !bytes.Contains(files[ofdXMLPath], []byte(want)) {
			t.Errorf("OFD.xml lacks %q", want)
		}
	}
	if _, ok := files["Doc_0/Res/"+authSealFile]; !ok {
		t.Error("no authority seal picture")
	}
	zh, _ := WatermarkText(m)
	pages := 0
	for _, n := range names {
		if strings.HasSuffix(n, "/Content.xml") {
			pages++
			text := strings.Join(regexp.MustCompile(`>([^<]*)</ofd:TextCode>`).FindAllString(string(files[n]), -1), "")
			if !strings.Contains(squashAll(text), squashAll(strings.Fields(zh)[0])) || !strings.Contains(string(files[n]), `CTM="0.866 -0.5 0.5 0.866`) {
				t.Errorf("%s: no watermark", n)
			}
		}
	}
	if pages < 2 {
		t.Errorf("the long licence's copy has %d page(s)", pages)
	}
	// Copies are not cached: two copies of one version differ in their watermark font and seal.
	_, files2 := entries(t, e.renderCopy(t, long, OFD, Duplicate, Mark{CallerName: "杭州市西湖区人力资源和社会保障局", Cause: "办理社保登记", Case: "RS-1"}))
	if bytes.Equal(files["Doc_0/Res/"+markFontFile], files2["Doc_0/Res/"+markFontFile]) {
		t.Error("two different copies share a watermark font subset")
	}
	if !bytes.Equal(files["Doc_0/Res/"+fontFileName], files2["Doc_0/Res/"+fontFileName]) {
		t.Error("the face font subset of two copies differs")
	}
}

func TestCopyPDFWithThirdPartyTools(t *testing.T) {
	needTool(t, "qpdf", "qpdf")
	needTool(t, "pdftotext", "poppler-utils")
	needTool(t, "pdfsig", "poppler-utils")
	needTool(t, "pdfinfo", "poppler-utils")
	e := newEnv(t)
	m := testMark()
	for _, reg := range []license.Registration{companyReg(t, "MA2AB3CD"), longReg(t)} {
		l := e.issue(t, reg)
		for _, c := range []Copy{Original, Duplicate} {
			doc := e.renderCopy(t, l, PDF, c, m)
			path := filepath.Join(t.TempDir(), "copy.pdf")
			if err := os.WriteFile(path, doc, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := run(t, "qpdf", "--check", path); err != nil || strings.Contains(out, "WARNING") {
				t.Errorf("qpdf --check: %v\n%s", err, out)
			}
			out, err := run(t, "pdfsig", path)
			if err != nil || !strings.Contains(out, "Signature is Valid") || !strings.Contains(out, "Total document signed") {
				t.Errorf("pdfsig: %v\n%s", err, out)
			}
			if !strings.Contains(out, keys.PlatformDocumentSerialNumber) && !strings.Contains(out, DefaultPlatformName) {
				t.Errorf("pdfsig does not name the platform as signer:\n%s", out)
			}
			// In content order (-raw: the layout mode mixes the rotated watermark into the
			// columns), each page has the face, then the watermark.
			text, err := run(t, "pdftotext", "-raw", "-enc", "UTF-8", path, "-")
			if err != nil {
				t.Fatal(err)
			}
			left, right := faceItems(l)
			for _, it := range append(left, right...) {
				v := squashAll(it.Value)
				if len([]rune(v)) > 200 {
					v = string([]rune(v)[:200]) // continued on the next page, after page furniture
				}
				if !strings.Contains(squashAll(text), v) {
					t.Errorf("%s %s: pdftotext lacks %s %.60q", l.Kind, c, it.Label, v)
				}
			}
			pageTexts := strings.Split(text, "\f")
			if len(pageTexts) > 1 && strings.TrimSpace(pageTexts[len(pageTexts)-1]) == "" {
				pageTexts = pageTexts[:len(pageTexts)-1]
			}
			zh, _ := WatermarkText(m)
			for i, pg := range pageTexts {
				flat := squashAll(pg)
				for _, w := range []string{strings.Fields(zh)[0], m.Case + "·2024-05-2010:30", "Foruseby" + m.CallerName} {
					if !strings.Contains(flat, squashAll(w)) {
						t.Errorf("%s %s page %d: pdftotext lacks %q of the watermark %q", l.Kind, c, i+1, w, zh)
					}
				}
			}
			// The mark in the information dictionary.
			info, err := run(t, "pdfinfo", "-custom", path)
			if err != nil {
				t.Fatalf("pdfinfo: %v %s", err, info)
			}
			for _, w := range []string{"CopyID", m.ID, "CopyCause", m.Cause, "CopyCase", m.Case, "CopyCallerName", m.CallerName} {
				if !strings.Contains(info, w) {
					t.Errorf("pdfinfo lacks %q:\n%s", w, info)
				}
			}
		}
	}
}

// TestCopyTamper: a copy whose watermark, mark or metadata is changed no longer verifies; nor
// does an original re-labelled as a copy, or a copy whose mark is removed.
func TestCopyTamper(t *testing.T) {
	e := newEnv(t)
	l := e.issue(t, companyReg(t, "MA2AB3CD"))
	m := testMark()
	doc := e.renderCopy(t, l, OFD, Duplicate, m)
	names, files := entries(t, doc)
	if rep, err := e.docs.Verify(e.ctx, zipOf(t, names, files)); err != nil || !rep.Valid {
		t.Fatalf("re-zipped unchanged copy: %v %+v", err, rep)
	}
	with := func(name string, b []byte) []byte {
		c := map[string][]byte{}
		for k, v := range files {
			c[k] = v
		}
		c[name] = b
		return zipOf(t, names, c)
	}
	page := "Doc_0/Pages/Page_0/Content.xml"
	for what, b := range map[string][]byte{
		"watermark text":   with(page, bytes.Replace(files[page], []byte(m.CallerName), []byte("任何单位"), 1)),
		"watermark angle":  with(page, bytes.Replace(files[page], []byte(`CTM="0.866 -0.5`), []byte(`CTM="1 0`), 1)),
		"watermark alpha":  with(page, bytes.ReplaceAll(files[page], []byte(`Alpha="115"`), []byte(`Alpha="0"`))),
		"metadata cause":   with(ofdXMLPath, bytes.Replace(files[ofdXMLPath], []byte(m.Cause), []byte("任意用途"), 1)),
		"metadata expiry":  with(ofdXMLPath, bytes.Replace(files[ofdXMLPath], []byte("2024-05-30"), []byte("2099-05-30"), 1)),
		"embedded expires": with(payloadPath, bytes.Replace(files[payloadPath], []byte(`"expires": "2024-05-30`), []byte(`"expires": "2099-05-30`), 1)),
		"embedded caller":  with(payloadPath, bytes.Replace(files[payloadPath], []byte(m.CallerName), []byte("任何单位"), 1)),
	} {
		expectInvalid(t, e, b, what)
	}
	// Every byte-level change of every file, as for originals.
	for _, n := range names {
		b := bytes.Clone(files[n])
		b[len(b)/2] ^= 0x01
		expectInvalid(t, e, with(n, b), "byte of "+n)
	}

	// The mark removed from a copy's data (the platform's seal then seals an "original").
	expectInvalid(t, e, with(payloadPath, regexp.MustCompile(`(?s),\s*"mark": \{.*?\}`).ReplaceAll(files[payloadPath], nil)), "mark removed")
	// A copy's data under an original's seal: the authority did not seal a copy.
	origNames, orig := entries(t, e.render(t, l, OFD, Duplicate))
	orig[payloadPath] = files[payloadPath]
	expectInvalid(t, e, zipOf(t, origNames, orig), "copy data under the authority's seal")

	// PDF: the watermark and the information dictionary are inside the signed range.
	pdf := e.renderCopy(t, l, PDF, Original, m)
	for what, old := range map[string]string{"info cause": "CopyCause", "info case": "CopyCase"} {
		i := bytes.Index(pdf, []byte("/"+old+" <"))
		if i < 0 {
			t.Fatalf("%s: no %s", what, old)
		}
		b := bytes.Clone(pdf)
		j := i + len(old) + 12 // a hex digit of the value, after the byte-order mark
		if b[j] == '0' {
			b[j] = '1'
		} else {
			b[j] = '0'
		}
		expectInvalid(t, e, b, what)
	}
}

// TestCopyExpiry: a copy past its expiry verifies as no longer valid (3), still naming the mark.
func TestCopyExpiry(t *testing.T) {
	e := newEnv(t)
	l := e.issue(t, companyReg(t, "MA2AB3CD"))
	m := testMark()
	m.At = e.clock()
	m.Expires = e.clock().Add(10 * time.Minute)
	docs := map[Format][]byte{OFD: e.renderCopy(t, l, OFD, Original, m), PDF: e.renderCopy(t, l, PDF, Original, m)}
	e.setNow(e.now.Add(11 * time.Minute))
	for f, d := range docs {
		rep, err := e.docs.Verify(e.ctx, d)
		if err != nil || rep.Result != ResultNoLonger || rep.Copy == nil || !strings.Contains(rep.EN, "expired") {
			t.Errorf("%s: expired copy: %v %+v", f, err, rep)
		}
	}
	// No expiry: the copy stays valid as long as the licence.
	m.Expires = time.Time{}
	d := e.renderCopy(t, l, PDF, Original, m)
	e.setNow(e.now.Add(365 * 24 * time.Hour))
	if rep, err := e.docs.Verify(e.ctx, d); err != nil || !rep.Valid || rep.Copy == nil {
		t.Errorf("copy without expiry: %v %+v", err, rep)
	}
}

// TestCopyMarkValidation: a mark without a caller name or cause, or with a cause over 200
// characters or control characters, is refused naming the field; nothing is rendered.
func TestCopyMarkValidation(t *testing.T) {
	e := newEnv(t)
	l := e.issue(t, companyReg(t, "MA2AB3CD"))
	for field, m := range map[string]Mark{
		"mark.caller_name": {Cause: "办理税务登记"},
		"mark.cause":       {CallerName: "某局"},
		"mark.cause ":      {CallerName: "某局", Cause: strings.Repeat("因", 201)},
		"mark.case":        {CallerName: "某局", Cause: "办理", Case: "A\x00B"},
		"mark.expires":     {CallerName: "某局", Cause: "办理", At: e.clock(), Expires: e.clock().Add(-time.Hour)},
	} {
		_, err := e.docs.RenderCopy(e.ctx, l, Options{Format: PDF}, m)
		er := errs.As(err)
		if er == nil || er.Kind != errs.Invalid || er.Field != strings.TrimSpace(field) || er.ZH == "" || er.EN == "" {
			t.Errorf("%s: %v", field, err)
		}
	}
}

func TestCopyOpensInOFDJS(t *testing.T) {
	e := newEnv(t)
	l := e.issue(t, companyReg(t, "MA2AB3CD"))
	m := testMark()
	text, _ := renderWithOFDJS(t, e.renderCopy(t, l, OFD, Duplicate, m))
	for _, v := range append(faceValues(l), "仅供", m.CallerName, m.Cause, m.Case) {
		if !strings.Contains(text, squashAll(v)) {
			t.Errorf("ofd.js text lacks %q", v)
		}
	}
}

// FuzzVerifyCopy feeds mutated copies of a permit (OFD and PDF) to the verifier: it must answer
// with a report, never an error or a panic, and never call a changed copy valid.
func FuzzVerifyCopy(f *testing.F) {
	e := newPermitEnv(f)
	p := e.foodPermit(f, "JY13301060012345", 1)
	originals := map[string][]byte{}
	for _, format := range []Format{OFD, PDF} {
		doc, err := e.docs.RenderPermitCopy(e.ctx, p, Options{Format: format, Copy: Duplicate}, testMark())
		if err != nil {
			f.Fatal(err)
		}
		originals[string(format)] = doc
		f.Add(doc)
		f.Add(doc[:len(doc)/2])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := e.docs.Verify(e.ctx, b)
		if err != nil {
			t.Fatalf("error: %v", err)
		}
		if rep.ZH == "" || rep.EN == "" {
			t.Fatal("no words")
		}
		if !rep.Valid || bytes.Equal(b, originals["ofd"]) || bytes.Equal(b, originals["pdf"]) {
			return
		}
		if rep.Format == "pdf" {
			t.Fatal("a changed PDF verifies")
		}
		// Changes outside the files (zip metadata) may keep a file valid; the files may not.
		_, got := entries(t, b)
		_, orig := entries(t, originals["ofd"])
		for n, v := range got {
			if !bytes.Equal(v, orig[n]) {
				t.Fatalf("changed file %s verifies", n)
			}
		}
	})
}

// TestCopyQRStillReads: under the watermark, every module of the copy's QR code still reads as it
// was encoded — the page is rasterised (pdftoppm, 300 dpi) and each module's centre thresholded.
func TestCopyQRStillReads(t *testing.T) {
	needTool(t, "pdftoppm", "poppler-utils")
	e := newEnv(t)
	l := e.issue(t, companyReg(t, "MA2AB3CD"))
	for _, tc := range []struct {
		c    Copy
		copy bool
	}{{Original, false}, {Original, true}, {Duplicate, true}} {
		c := tc.c
		doc := e.render(t, l, PDF, c)
		if tc.copy {
			doc = e.renderCopy(t, l, PDF, c, testMark())
		}
		dir := t.TempDir()
		pdf := filepath.Join(dir, "copy.pdf")
		if err := os.WriteFile(pdf, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		const dpi = 300
		if out, err := run(t, "pdftoppm", "-r", fmt.Sprint(dpi), "-f", "1", "-l", "1", "-gray", "-png", "-singlefile", pdf, filepath.Join(dir, "page")); err != nil {
			t.Fatalf("pdftoppm: %v %s", err, out)
		}
		f, err := os.Open(filepath.Join(dir, "page.png"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		q, ok := e.docs.qrs.get(qrKey{identifier: l.Identifier, code: l.Code, version: l.Version, issuedAt: l.IssuedAt.Unix(),
			authority: l.AuthorityCode, certSerial: e.auth.Serial, publicURL: testPublicURL})
		if !ok {
			t.Fatal("no QR code in the render cache")
		}
		sym, err := qrEncode([]byte(qrtoken.URL(testPublicURL, q.token)))
		if err != nil {
			t.Fatal(err)
		}
		lay, err := layoutLicence(l, layoutOptions{Copy: c, Font: testFont(t)})
		if err != nil {
			t.Fatal(err)
		}
		var box imageBox
		for _, im := range lay.Pages[0].Images {
			if im.Kind == imgQR {
				box = im
			}
		}
		module := box.W / float64(sym.size+4) // two modules of quiet zone each side
		px := func(mm float64) int { return int(mm / 25.4 * dpi) }
		wrong := 0
		for y := 0; y < sym.size; y++ {
			for x := 0; x < sym.size; x++ {
				cx, cy := box.X+(float64(x)+2.5)*module, box.Y+(float64(y)+2.5)*module
				r, _, _, _ := img.At(px(cx), px(cy)).RGBA()
				if dark := r < 0x8000; dark != sym.dark[y*sym.size+x] {
					wrong++
				}
			}
		}
		if wrong > 0 {
			t.Errorf("%s (copy %v): %d of %d modules read wrong", c, tc.copy, wrong, sym.size*sym.size)
		}
	}
}

// TestWatermarkFitsPage: a watermark of the longest mark (a 100-character caller name, a
// 200-character cause) wraps, shrinks and stays on the page, every block whole, on both sizes.
func TestWatermarkFitsPage(t *testing.T) {
	f := testFont(t)
	for _, m := range []Mark{testMark(), {CallerName: strings.Repeat("国家税务总局", 16) + "税务局", Cause: strings.Repeat("办理企业税务登记及变更", 20),
		Case: strings.Repeat("X", maxMarkCase), At: time.Date(2024, 5, 20, 2, 30, 0, 0, time.UTC)}} {
		zh, en := WatermarkText(m)
		for _, size := range [][3]float64{{duplicateW, duplicateH, 1}, {originalW, originalH, originalW / duplicateW}} {
			runs := watermark(zh, en, size[0], size[1], size[2], f)
			if len(runs) < markGrid*markGrid*2 {
				t.Fatalf("%d lines", len(runs))
			}
			text := ""
			for _, r := range runs[:len(runs)/(markGrid*markGrid)] {
				text += r.Text
			}
			if squashAll(text) != squashAll(zh+en) {
				t.Errorf("a block reads %q, want %q", text, zh+en)
			}
			for _, r := range runs {
				w := f.Width(r.Text) * r.Size
				cos, sin := math.Cos(r.Angle), math.Sin(r.Angle)
				for _, p := range [][2]float64{{0, -f.ascent * r.Size}, {w, -f.ascent * r.Size}, {0, -f.descent * r.Size}, {w, -f.descent * r.Size}} {
					x, y := r.X+p[0]*cos+p[1]*sin, r.Y-p[0]*sin+p[1]*cos
					if x < 0 || y < 0 || x > size[0] || y > size[1] {
						t.Errorf("%.0f mm page: %q leaves the page at (%.1f, %.1f)", size[0], r.Text, x, y)
					}
				}
			}
		}
	}
}
