package document

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elicense/elicense/internal/document/doctest"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/seal"
)

func contract(t testing.TB, f Format) []byte {
	t.Helper()
	pages := [][]string{{"甲方：杭州西湖示例科技有限公司", "乙方：浙江政务服务网"}, {"第二页：签署页"}}
	var b []byte
	var err error
	if f == PDF {
		b, err = doctest.PDF("技术服务合同", pages...)
	} else {
		b, err = doctest.OFD("技术服务合同", pages...)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestInspect(t *testing.T) {
	e := newEnv(t)
	for _, f := range []Format{PDF, OFD} {
		in, err := e.docs.Inspect(contract(t, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if in.Format != f || in.Pages != 2 || in.Title != "技术服务合同" || in.Signed != 0 {
			t.Errorf("%s: %+v", f, in)
		}
		if f == OFD && (len(in.Text) != 2 || !strings.Contains(in.Text[0], "乙方：浙江政务服务网") || in.Text[1] != "第二页：签署页") {
			t.Errorf("OFD text %q", in.Text)
		}
	}
	pdf := contract(t, PDF)
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, _ := zw.Create("readme.txt")
	w.Write([]byte("not an OFD"))
	zw.Close()
	for name, b := range map[string][]byte{
		"empty":     nil,
		"text":      []byte("hello, this is a text file"),
		"png":       []byte("\x89PNG\r\n\x1a\n...."),
		"truncated": pdf[:len(pdf)/3],
		"zip":       zbuf.Bytes(),
		"pdfjunk":   []byte("%PDF-1.7\nthis is not really a PDF"),
	} {
		_, err := e.docs.Inspect(b)
		if e := errs.As(err); e == nil || e.Kind != errs.Invalid || e.Field != "document" || e.EN == "" || e.ZH == "" {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSignForEntity(t *testing.T) {
	e := newEnv(t)
	code := companyReg(t, "MA2AB3CD").Code
	l := e.issue(t, companyReg(t, "MA2AB3CD"))
	who := EntitySigning{Code: code, Name: l.Face.Name, Reason: "技术服务合同"}
	for _, f := range []Format{PDF, OFD} {
		doc := contract(t, f)
		s, err := e.docs.SignForEntity(e.ctx, doc, who)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		rep, err := e.docs.Verify(e.ctx, s.File)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Valid || rep.SignedBy != SignedByEntity || rep.Code != code || rep.Name != l.Face.Name || rep.Identifier != "" || rep.Status != "active" {
			t.Fatalf("%s: report %+v", f, rep)
		}
		if !strings.Contains(rep.EN+checkWords(rep), "not a licence") {
			t.Errorf("%s: the report does not say it is not a licence: %+v", f, rep.Checks)
		}
		// A second signature (another confirmation) keeps the first valid.
		s2, err := e.docs.SignForEntity(e.ctx, s.File, who)
		if err != nil {
			t.Fatalf("%s again: %v", f, err)
		}
		if rep, _ := e.docs.Verify(e.ctx, s2.File); !rep.Valid || rep.SignedBy != SignedByEntity {
			t.Errorf("%s signed twice: %+v", f, rep)
		}
		if in, err := e.docs.Inspect(s2.File); err != nil || in.Signed != 2 {
			t.Errorf("%s signed twice: inspect %+v %v", f, in, err)
		}
	}

	// The OFD: the seal is the entity's, its signer certificate chains to the platform root,
	// and changing any covered file is detected.
	s, err := e.docs.SignForEntity(e.ctx, contract(t, OFD), who)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(s.File), int64(len(s.File)))
	if err != nil {
		t.Fatal(err)
	}
	var sv []byte
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if strings.HasSuffix(f.Name, "SignedValue.dat") {
			rc, _ := f.Open()
			sv, _ = io.ReadAll(rc)
			rc.Close()
		}
	}
	sig, err := seal.ParseSignature(sv)
	if err != nil {
		t.Fatal(err)
	}
	if sig.Seal.Name != l.Face.Name || sig.Seal.Type != seal.TypeOrganisation {
		t.Errorf("seal %q type %d", sig.Seal.Name, sig.Seal.Type)
	}
	root, _ := e.keys.RootCertDER(e.ctx)
	if err := gm.VerifyChain(sig.SignerCert, root); err != nil {
		t.Errorf("entity certificate does not chain to the root: %v", err)
	}
	cert, _ := gm.ParseCertificate(sig.SignerCert)
	if n := gm.NameOf(cert.Subject); n.CreditCode != code || n.CommonName != l.Face.Name {
		t.Errorf("entity certificate subject %+v", n)
	}
	for _, target := range []string{"Doc_0/Pages/Page_1/Content.xml", "Doc_0/Document.xml", "Doc_0/Signs/Sign_0/Signature.xml"} {
		bad := rewriteZip(t, s.File, target, func(b []byte) []byte { return append(b, 0x20) })
		rep, err := e.docs.Verify(e.ctx, bad)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Valid || rep.Result != ResultWrong {
			t.Errorf("tampered %s: %+v", target, rep)
		}
	}
	_ = names
}

func checkWords(r *Report) string {
	var b strings.Builder
	for _, c := range r.Checks {
		b.WriteString(c.EN + "\n")
	}
	return b.String()
}

// rewriteZip returns the package with one file changed by fn.
func rewriteZip(t testing.TB, file []byte, name string, fn func([]byte) []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	found := false
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		if f.Name == name {
			b, found = fn(b), true
		}
		w, _ := zw.Create(f.Name)
		w.Write(b)
	}
	zw.Close()
	if !found {
		t.Fatalf("no %s in the package", name)
	}
	return buf.Bytes()
}

func TestEntityPDFWithPdfsig(t *testing.T) {
	needTool(t, "pdfsig", "poppler-utils")
	needTool(t, "qpdf", "qpdf")
	e := newEnv(t)
	reg := companyReg(t, "MA2AB3CD")
	l := e.issue(t, reg)
	s, err := e.docs.SignForEntity(e.ctx, contract(t, PDF), EntitySigning{Code: l.Code, Name: l.Face.Name, Reason: "技术服务合同"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "signed.pdf")
	if err := os.WriteFile(path, s.File, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdfsig", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Signature is Valid") || !strings.Contains(string(out), "Total document signed") {
		t.Errorf("pdfsig: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), l.Face.Name) {
		t.Errorf("pdfsig does not name the entity:\n%s", out)
	}
	if out, err := exec.Command("qpdf", "--check", path).CombinedOutput(); err != nil {
		t.Errorf("qpdf --check: %v\n%s", err, out)
	}
	// A byte changed inside the signed range.
	bad := bytes.Clone(s.File)
	i := bytes.Index(bad, []byte("技术服务合同"))
	if i < 0 {
		i = 200
	}
	bad[i] ^= 1
	rep, err := e.docs.Verify(e.ctx, bad)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Valid {
		t.Errorf("tampered PDF verifies: %+v", rep)
	}
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command("pdfsig", path).CombinedOutput(); strings.Contains(string(out), "Signature is Valid") {
		t.Errorf("pdfsig validates a tampered PDF:\n%s", out)
	}
}

// BenchmarkSignForEntity seals a two-page contract (PDF about 45 KB, OFD about 2 KB) with an
// entity's seal, after the entity's keys and seal exist (they are made by the first call).
func BenchmarkSignForEntity(b *testing.B) {
	e := newEnv(b)
	l := e.issue(b, companyReg(b, "MA2AB3CD"))
	who := EntitySigning{Code: l.Code, Name: l.Face.Name, Reason: "技术服务合同"}
	for _, f := range []Format{PDF, OFD} {
		doc := contract(b, f)
		if _, err := e.docs.SignForEntity(e.ctx, doc, who); err != nil {
			b.Fatal(err)
		}
		b.Run(string(f), func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				if _, err := e.docs.SignForEntity(e.ctx, doc, who); err != nil {
					b.Fatal(err)
				}
			}
		})
		s, _ := e.docs.SignForEntity(e.ctx, doc, who)
		b.Run(string(f)+"-verify", func(b *testing.B) {
			for b.Loop() {
				if r, err := e.docs.Verify(e.ctx, s.File); err != nil || !r.Valid {
					b.Fatal(r, err)
				}
			}
		})
	}
}
