package document

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/ident"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/qrtoken"
	"github.com/elicense/elicense/internal/seal"
	"github.com/elicense/elicense/internal/uscc"
)

// permitLibrary is an in-memory register of permits: the Permits the library provides in
// production, for the verifier's register checks.
type permitLibrary struct {
	mu sync.Mutex
	m  map[string]*Permit
}

func (l *permitLibrary) Permit(_ context.Context, identifier string) (*Permit, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.m[strings.ToUpper(identifier)]
	if !ok {
		return nil, errs.NotFoundf("证照库中没有 %s", "no permit %s", identifier)
	}
	c := *p
	return &c, nil
}

func (l *permitLibrary) put(p *Permit) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*Permit{}
	}
	c := *p
	l.m[strings.ToUpper(p.Identifier)] = &c
}

func (l *permitLibrary) setStatus(identifier, status string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m[strings.ToUpper(identifier)].Status = status
}

// permitEnv is env with an issuing department (an authority in keys) and a library of permits.
type permitEnv struct {
	*env
	dept    *keys.Authority
	library *permitLibrary
}

func newPermitEnv(t testing.TB) *permitEnv {
	t.Helper()
	e := newEnv(t)
	code, err := uscc.Generate('1', '1', "330106", "00330199")
	if err != nil {
		t.Fatal(err)
	}
	dept, err := e.keys.CreateAuthority(e.ctx, keys.Authority{Code: code, Name: "杭州市西湖区市场监督管理局食品许可科", Region: "330106"})
	if err != nil {
		t.Fatal(err)
	}
	lib := &permitLibrary{}
	e.docs = NewService(Config{Keys: e.keys, Licences: e.licences, Clock: e.clock, PublicURL: testPublicURL, Permits: lib})
	return &permitEnv{env: e, dept: dept, library: lib}
}

const foodTypeCode = "11100000MB0143028R101"

// foodPermit is a 食品经营许可证 of a company with the usual items, issued by the department and
// registered in the library.
func (e *permitEnv) foodPermit(t testing.TB, serial string, version int) *Permit {
	t.Helper()
	id, err := ident.New(foodTypeCode, e.dept.Code, serial, version)
	if err != nil {
		t.Fatal(err)
	}
	holder, err := uscc.Generate('9', '1', "330106", "MA2FD001")
	if err != nil {
		t.Fatal(err)
	}
	p := &Permit{
		TypeCode: foodTypeCode, TypeName: "食品经营许可证", TypeNameEN: "Food Business Licence",
		Identifier: id, Number: serial, Version: version,
		HolderName: "杭州西湖示例餐饮管理有限公司", HolderCode: holder, HolderCodeType: "001",
		IssuerCode: e.dept.Code, IssuerName: e.dept.Name, AreaCode: "330106",
		IssuedAt:   time.Date(2024, 5, 10, 2, 0, 0, 0, time.UTC),
		ValidFrom:  time.Date(2024, 5, 10, 0, 0, 0, 0, chinaTime),
		ValidUntil: time.Date(2029, 5, 9, 0, 0, 0, 0, chinaTime),
		Items: []Item{
			{"法定代表人（负责人）", "Legal representative", "李四"},
			{"住所", "Domicile", "浙江省杭州市西湖区文三路100号1幢5层501室"},
			{"经营场所", "Business premises", "浙江省杭州市西湖区文三路100号1幢1层101室"},
			{"主体业态", "Business type", "餐饮服务经营者（中型餐馆）"},
			{"经营项目", "Business items", "预包装食品（含冷藏冷冻食品）销售；散装食品（含冷藏冷冻食品）销售；热食类食品制售；冷食类食品制售；生食类食品制售；糕点类食品（含裱花蛋糕）制售；自制饮品制售"},
			{"日常监督管理机构", "Supervising authority", "杭州市西湖区市场监督管理局文新市场监督管理所"},
			{"日常监督管理人员", "Supervisors", "王五、赵六"},
			{"投诉举报电话", "Complaints hotline", "12315"},
			{"备注", "Remarks", ""}, // no value: not shown
		},
		Status: PermitValid,
	}
	e.library.put(p)
	return p
}

// longPermit is a permit with many items and a very long one: it continues on more pages.
func (e *permitEnv) longPermit(t testing.TB) *Permit {
	t.Helper()
	p := e.foodPermit(t, "JY13301060099999", 1)
	var b strings.Builder
	for i := 0; b.Len() < 3*4000; i++ {
		fmt.Fprintf(&b, "第%d项：预包装食品（含冷藏冷冻食品）销售、散装食品销售；", i+1)
	}
	p.Items[4].Value = string([]rune(b.String())[:4000])
	for i := 0; i < 40; i++ {
		p.Items = append(p.Items, Item{LabelZH: fmt.Sprintf("许可事项第%d项", i+1), Value: fmt.Sprintf("许可内容%d：自制饮品制售（不含自酿酒），经营场所面积%d平方米", i+1, 100+i)})
	}
	p.Items = append(p.Items, Item{LabelZH: "一个非常非常长的事项名称用于检验标签换行的效果", Value: "短值"})
	e.library.put(p)
	return p
}

func (e *permitEnv) renderPermit(t testing.TB, p *Permit, f Format, c Copy) []byte {
	t.Helper()
	b, err := e.docs.RenderPermit(e.ctx, p, Options{Format: f, Copy: c})
	if err != nil {
		t.Fatalf("render permit %s %s: %v", f, c, err)
	}
	return b
}

// permitToken returns the QR token on permit p's documents (from the render cache, after a
// render).
func (e *permitEnv) permitToken(t testing.TB, p *Permit) string {
	t.Helper()
	e.renderPermit(t, p, PDF, Duplicate)
	q, ok := e.docs.qrs.get(qrKey{permit: true, identifier: p.Identifier, code: p.tokenCode(), version: p.Version,
		issuedAt: p.IssuedAt.Unix(), authority: p.IssuerCode, certSerial: e.dept.Serial, publicURL: testPublicURL})
	if !ok {
		t.Fatal("no permit QR code in the render cache")
	}
	return q.token
}

// TestWriteSamples writes sample documents to $ELICENSE_DOC_SAMPLES, for looking at them.
func TestWriteSamples(t *testing.T) {
	dir := os.Getenv("ELICENSE_DOC_SAMPLES")
	if dir == "" {
		t.Skip("set ELICENSE_DOC_SAMPLES=DIR to write sample documents")
	}
	e := newPermitEnv(t)
	l := e.issue(t, companyReg(t, "MA2AB3CD"))
	m := testMark()
	for _, f := range []Format{OFD, PDF} {
		for _, c := range []Copy{Original, Duplicate} {
			write := func(name string, b []byte, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s.%s", name, c, f)), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			o := Options{Format: f, Copy: c}
			b, err := e.docs.RenderPermit(e.ctx, e.foodPermit(t, "JY13301060012345", 1), o)
			write("permit", b, err)
			b, err = e.docs.RenderPermit(e.ctx, e.longPermit(t), o)
			write("permit-long", b, err)
			b, err = e.docs.RenderCopy(e.ctx, l, o, m)
			write("copy", b, err)
			b, err = e.docs.RenderPermitCopy(e.ctx, e.foodPermit(t, "JY13301060012345", 1), o, m)
			write("permit-copy", b, err)
		}
	}
}

func testMark() Mark {
	return Mark{
		ID: "dl-7f3a9c", Caller: "client-hz-tax", CallerName: "国家税务总局杭州市西湖区税务局",
		Cause: "办理税务登记", Item: "330106-TAX-001 税务登记", Case: "XH2024052000123",
		At:      time.Date(2024, 5, 20, 2, 30, 0, 0, time.UTC),
		Expires: time.Date(2024, 5, 30, 2, 30, 0, 0, time.UTC),
	}
}

// TestPermitRenderVerify: a permit renders in both formats and both sizes and verifies, with the
// report naming the type, identifier, holder, issuer and the signature checks.
func TestPermitRenderVerify(t *testing.T) {
	e := newPermitEnv(t)
	p := e.foodPermit(t, "JY13301060012345", 1)
	for _, f := range []Format{OFD, PDF} {
		for _, c := range []Copy{Original, Duplicate} {
			t.Run(fmt.Sprintf("%s/%s", f, c), func(t *testing.T) {
				rep, err := e.docs.Verify(e.ctx, e.renderPermit(t, p, f, c))
				if err != nil {
					t.Fatal(err)
				}
				if !rep.Valid || rep.Result != ResultValid || rep.Format != string(f) || rep.Copy != nil {
					t.Fatalf("verify: %+v", rep)
				}
				if rep.Kind != "permit" || rep.TypeCode != foodTypeCode || rep.TypeName != p.TypeName || rep.Number != p.Number ||
					rep.Identifier != p.Identifier || rep.Version != 1 || rep.Code != p.HolderCode || rep.Name != p.HolderName ||
					rep.Authority != p.IssuerName || rep.AuthorityCode != e.dept.Code || rep.PermitStatus != PermitValid {
					t.Errorf("report: %+v", rep)
				}
				for _, name := range []string{"data_signature", "registry", "status"} {
					if !slices.ContainsFunc(rep.Checks, func(c Check) bool { return c.Name == name && c.OK }) {
						t.Errorf("no passed %s check: %+v", name, rep.Checks)
					}
				}
			})
		}
	}
	// The seal is the department's, and the QR code holds a permit token of the department.
	_, files := entries(t, e.renderPermit(t, p, OFD, Original))
	sig, err := seal.ParseSignature(files[signedValuePath])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sig.SignerCert, e.dept.CertDER) || sig.Seal.Name != e.dept.Name {
		t.Errorf("sealed by %q", sig.Seal.Name)
	}
	rep, err := e.docs.VerifyToken(e.ctx, testPublicURL+"/v/"+e.permitToken(t, p))
	if err != nil || !rep.Valid || rep.Kind != "permit" || rep.Identifier != p.Identifier || rep.TypeName != p.TypeName {
		t.Errorf("permit token: %v %+v", err, rep)
	}
}

// TestPermitLongContinues: a permit with many items and a 4,000-character item shrinks to the
// smallest size and continues on more pages; every item's label and value are placed, whole, and
// nothing leaves the page.
func TestPermitLongContinues(t *testing.T) {
	e := newPermitEnv(t)
	p := e.longPermit(t)
	f := testFont(t)
	for _, c := range []Copy{Original, Duplicate} {
		lay, err := layoutPermit(p, layoutOptions{Copy: c, Font: f})
		if err != nil {
			t.Fatal(err)
		}
		if len(lay.Pages) < 3 {
			t.Fatalf("%s: %d page(s)", c, len(lay.Pages))
		}
		if lay.Size/lay.Pages[0].W*duplicateW > minItemSize+1e-9 {
			t.Errorf("%s: size %.2f: should have shrunk to the minimum before continuing", c, lay.Size)
		}
		values := map[int]string{}
		labels := ""
		for _, pg := range lay.Pages {
			for _, tx := range pg.Texts {
				values[tx.item] += tx.Text
				if tx.item == 0 {
					labels += tx.Text
				}
				if tx.X < 0 || tx.Y > pg.H || tx.X+f.Width(tx.Text)*tx.Size+tx.Spacing*float64(runeCount(tx.Text)) > pg.W {
					t.Errorf("%s: text %q at (%.1f, %.1f) leaves the page", c, tx.Text, tx.X, tx.Y)
				}
			}
		}
		for _, it := range permitItems(p) {
			if squashAll(values[it.id]) != squashAll(it.Value) {
				t.Errorf("%s: %s: text lost or changed: %.40s…", c, it.Label, values[it.id])
			}
			if !strings.Contains(labels, it.Label) && !strings.Contains(squashAll(labels), squashAll(it.Label)) {
				t.Errorf("%s: label %s not placed", c, it.Label)
			}
		}
	}
	for _, f := range []Format{OFD, PDF} {
		rep, err := e.docs.Verify(e.ctx, e.renderPermit(t, p, f, Duplicate))
		if err != nil || !rep.Valid {
			t.Fatalf("%s: verify: %v %+v", f, err, rep)
		}
	}
}

func TestPermitPDFWithThirdPartyTools(t *testing.T) {
	needTool(t, "qpdf", "qpdf")
	needTool(t, "pdftotext", "poppler-utils")
	needTool(t, "pdfsig", "poppler-utils")
	e := newPermitEnv(t)
	m := testMark()
	for _, p := range []*Permit{e.foodPermit(t, "JY13301060012345", 1), e.longPermit(t)} {
		for _, c := range []Copy{Original, Duplicate} {
			for _, copied := range []bool{false, true} {
				doc := e.renderPermit(t, p, PDF, c)
				if copied {
					var err error
					if doc, err = e.docs.RenderPermitCopy(e.ctx, p, Options{Format: PDF, Copy: c}, m); err != nil {
						t.Fatal(err)
					}
				}
				name := fmt.Sprintf("%s %s copy=%v", p.Number, c, copied)
				path := filepath.Join(t.TempDir(), "permit.pdf")
				if err := os.WriteFile(path, doc, 0o644); err != nil {
					t.Fatal(err)
				}
				if out, err := run(t, "qpdf", "--check", path); err != nil || strings.Contains(out, "WARNING") {
					t.Errorf("%s: qpdf --check: %v\n%s", name, err, out)
				}
				out, err := run(t, "pdfsig", path)
				if err != nil || !strings.Contains(out, "Signature is Valid") || !strings.Contains(out, "Total document signed") {
					t.Errorf("%s: pdfsig: %v\n%s", name, err, out)
				}
				text, err := run(t, "pdftotext", "-raw", "-enc", "UTF-8", path, "-")
				if err != nil {
					t.Fatal(err)
				}
				flat := squashAll(text)
				for _, it := range permitItems(p) {
					v := squashAll(it.Value)
					if len([]rune(v)) > 150 {
						v = string([]rune(v)[:150]) // continued on the next page, after page furniture
					}
					if !strings.Contains(flat, v) {
						t.Errorf("%s: pdftotext lacks %s %.60q", name, it.Label, v)
					}
				}
				for _, w := range []string{p.TypeName, p.Number, p.IssuerName, dateZH(p.IssuedAt), p.Identifier} {
					if !strings.Contains(squashAll(strings.ReplaceAll(text, " ", "")), squashAll(w)) {
						t.Errorf("%s: pdftotext lacks %q", name, w)
					}
				}
				if copied && !strings.Contains(flat, "仅供"+m.CallerName) {
					t.Errorf("%s: no watermark", name)
				}
			}
		}
	}
}

func TestPermitOpensInOFDJS(t *testing.T) {
	e := newPermitEnv(t)
	p := e.foodPermit(t, "JY13301060012345", 1)
	text, _ := renderWithOFDJS(t, e.renderPermit(t, p, OFD, Original))
	for _, it := range permitItems(p) {
		if !strings.Contains(text, squashAll(it.Value)) {
			t.Errorf("ofd.js text lacks %s %q", it.Label, it.Value)
		}
	}
	for _, w := range []string{p.Number, p.IssuerName} {
		if !strings.Contains(text, squashAll(w)) {
			t.Errorf("ofd.js text lacks %q", w)
		}
	}
}

// TestPermitTamper changes a byte of each OFD file and bytes across the PDF's signed range; the
// embedded data differing from the library, a foreign department's seal, and a copy are refused.
func TestPermitTamper(t *testing.T) {
	e := newPermitEnv(t)
	p := e.foodPermit(t, "JY13301060012345", 1)
	doc := e.renderPermit(t, p, OFD, Duplicate)
	names, files := entries(t, doc)
	if rep, err := e.docs.Verify(e.ctx, zipOf(t, names, files)); err != nil || !rep.Valid {
		t.Fatalf("re-zipped unchanged OFD does not verify: %v %+v", err, rep)
	}
	for _, n := range names {
		for _, pos := range []int{0, len(files[n]) / 2, len(files[n]) - 1} {
			changed := map[string][]byte{}
			for k, v := range files {
				changed[k] = v
			}
			b := bytes.Clone(files[n])
			b[pos] ^= 0x01
			changed[n] = b
			rep := expectInvalid(t, e.env, zipOf(t, names, changed), fmt.Sprintf("%s byte %d", n, pos))
			if rep.Result != ResultWrong && rep.Result != ResultNotEnough {
				t.Errorf("%s byte %d: result %d", n, pos, rep.Result)
			}
		}
	}
	pdf := e.renderPermit(t, p, PDF, Original)
	m := reByteRange.FindAllSubmatch(pdf, -1)
	var br [4]int
	fmt.Sscan(string(m[len(m)-1][1])+" "+string(m[len(m)-1][2])+" "+string(m[len(m)-1][3])+" "+string(m[len(m)-1][4]), &br[0], &br[1], &br[2], &br[3])
	for _, pos := range []int{10, br[1] / 3, br[1] / 2, br[1] - 200, br[2] + 1, len(pdf) - 3} {
		b := bytes.Clone(pdf)
		b[pos] ^= 0x02
		expectInvalid(t, e.env, b, fmt.Sprintf("pdf byte %d", pos))
	}
	// The library's data of the version changed after the document was made.
	changed := *p
	changed.Items = slices.Clone(p.Items)
	changed.Items[1].Value = "浙江省杭州市西湖区文二路1号"
	e.library.put(&changed)
	for _, f := range []Format{OFD, PDF} {
		rep := expectInvalid(t, e.env, e.renderPermit(t, p, f, Original), "library differs "+string(f))
		if rep.Result != ResultWrong {
			t.Errorf("library differs: result %d", rep.Result)
		}
	}
	e.library.put(p)
	// A department of another platform.
	other := newPermitEnv(t)
	fp := other.foodPermit(t, "JY13301060012345", 1)
	for _, f := range []Format{OFD, PDF} {
		expectInvalid(t, e.env, other.renderPermit(t, fp, f, Original), "foreign "+string(f))
	}
}

// TestPermitStatus: the result follows the permit's status and validity in the library now; a
// permit the library does not have is 5; without a library the register check cannot be made (4).
func TestPermitStatus(t *testing.T) {
	e := newPermitEnv(t)
	p := e.foodPermit(t, "JY13301060012345", 1)
	docs := map[Format][]byte{OFD: e.renderPermit(t, p, OFD, Original), PDF: e.renderPermit(t, p, PDF, Original)}
	tok := e.permitToken(t, p)
	want := func(name string, code int) {
		t.Helper()
		for f, d := range docs {
			rep, err := e.docs.Verify(e.ctx, d)
			if err != nil || rep.Result != code {
				t.Errorf("%s %s: result %d, want %d (%v) %s", name, f, rep.Result, code, err, rep.EN)
			}
		}
		rep, err := e.docs.VerifyToken(e.ctx, tok)
		if err != nil || rep.Result != code {
			t.Errorf("%s token: result %d, want %d (%v) %s", name, rep.Result, code, err, rep.EN)
		}
	}
	want("valid", ResultValid)
	for status, code := range map[string]int{PermitSuspended: ResultSuspended, PermitRevoked: ResultNoLonger,
		PermitCancelled: ResultNoLonger, PermitExpired: ResultNoLonger, PermitSuperseded: ResultNoLonger, "weird": ResultNotEnough} {
		e.library.setStatus(p.Identifier, status)
		want(status, code)
	}
	e.library.setStatus(p.Identifier, PermitValid)
	// Valid through its last day (China time), expired the day after.
	e.setNow(time.Date(2029, 5, 9, 15, 59, 0, 0, time.UTC)) // 23:59 in China
	want("last day", ResultValid)
	e.setNow(time.Date(2029, 5, 9, 16, 0, 0, 0, time.UTC))
	want("day after", ResultNoLonger)
	// Not yet in effect.
	e.setNow(time.Date(2024, 5, 9, 0, 0, 0, 0, time.UTC))
	want("before", ResultNotActivated)
	e.setNow(time.Date(2024, 5, 20, 2, 30, 0, 0, time.UTC))
	// Not in the library.
	e.library.mu.Lock()
	delete(e.library.m, strings.ToUpper(p.Identifier))
	e.library.mu.Unlock()
	want("unknown", ResultNoSuchLicence)
	// No library connected.
	e.docs = NewService(Config{Keys: e.keys, Licences: e.licences, Clock: e.clock, PublicURL: testPublicURL})
	want("no library", ResultNotEnough)
}

// TestPermitPersonHolder: a permit of a person shows the ID number on its face, but the QR token
// and the verification report mask it (and the report the name).
func TestPermitPersonHolder(t *testing.T) {
	e := newPermitEnv(t)
	p := e.foodPermit(t, "JY23301060000001", 1)
	p.HolderName, p.HolderCode, p.HolderCodeType = "王小明", "330106199001011234", "111"
	p.Identifier, _ = ident.New(foodTypeCode, e.dept.Code, "JY23301060000001", 1)
	e.library.put(p)
	for _, f := range []Format{OFD, PDF} {
		rep, err := e.docs.Verify(e.ctx, e.renderPermit(t, p, f, Duplicate))
		if err != nil || !rep.Valid || rep.Code != "330*************34" || rep.Name != "王**" {
			t.Errorf("%s: %v %+v", f, err, rep)
		}
	}
	lay, err := layoutPermit(p, layoutOptions{Copy: Duplicate, Font: testFont(t)})
	if err != nil {
		t.Fatal(err)
	}
	if text := lay.Pages[0].text(); !strings.Contains(text, p.HolderCode) || !strings.Contains(text, "公民身份号码") {
		t.Errorf("the face lacks the holder's number:\n%s", text)
	}
	tok := e.permitToken(t, p)
	parsed, err := qrtoken.Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(parsed.Code, "19900101") || parsed.Code != "330*************34" || parsed.Type != qrtoken.TypePermit {
		t.Errorf("the QR token carries %q", parsed.Code)
	}
	rep, err := e.docs.VerifyToken(e.ctx, testPublicURL+"/v/"+tok)
	if err != nil || !rep.Valid || rep.Code != "330*************34" {
		t.Errorf("token: %v %+v", err, rep)
	}
}

// TestPermitValidation: a bad permit is refused naming the field; nothing is rendered.
func TestPermitValidation(t *testing.T) {
	e := newPermitEnv(t)
	for field, mutate := range map[string]func(p *Permit){
		"permit.type_name":         func(p *Permit) { p.TypeName = " " },
		"permit.identifier":        func(p *Permit) { p.Identifier = p.Identifier[:len(p.Identifier)-1] + "X" },
		"permit.type_code":         func(p *Permit) { p.TypeCode = "11100000MB0143028R102" },
		"permit.version":           func(p *Permit) { p.Version = 2 },
		"permit.holder_code_type":  func(p *Permit) { p.HolderCodeType = "002" },
		"permit.area_code":         func(p *Permit) { p.AreaCode = "33010" },
		"permit.issued_at":         func(p *Permit) { p.IssuedAt = time.Time{} },
		"permit.valid_until":       func(p *Permit) { p.ValidUntil = p.ValidFrom.Add(-24 * time.Hour) },
		"permit.items[1].label_zh": func(p *Permit) { p.Items[1].LabelZH = "" },
		"permit.items[2].value":    func(p *Permit) { p.Items[2].Value = "a\x07b" },
		"permit.items[3].value":    func(p *Permit) { p.Items[3].Value = strings.Repeat("字", maxPermitValue+1) },
		"permit.number":            func(p *Permit) { p.Number = "" },
	} {
		p := e.foodPermit(t, "JY13301060012345", 1)
		mutate(p)
		_, err := e.docs.RenderPermit(e.ctx, p, Options{Format: OFD})
		er := errs.As(err)
		if er == nil || er.Kind != errs.Invalid || er.Field != field || er.ZH == "" || er.EN == "" {
			t.Errorf("%s: %v", field, err)
		}
	}
	// An issuer that is not an authority of the platform.
	p := e.foodPermit(t, "JY13301060012345", 1)
	p.IssuerCode = e.auth.Code[:17] + "X"
	if _, err := e.docs.RenderPermit(e.ctx, p, Options{}); err == nil {
		t.Error("rendered for an unknown issuer")
	}
}
