package document

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/uscc"
)

func TestWrapKinsoku(t *testing.T) {
	f := testFont(t)
	tests := []struct {
		text  string
		width float64 // em
	}{
		{"一般项目：技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广；软件开发；信息系统集成服务。", 10},
		{"甲乙丙丁戊己庚辛壬癸，。甲乙丙丁戊己庚辛壬（癸）子丑", 10},
		{"销售：食品（不含冷藏冷冻食品）、日用百货、五金交电、http://www.example.com/a/very/long/path/that/does/not/fit", 8},
		{"（一）（二）（三）（四）（五）（六）（七）（八）（九）", 5},
		{strings.Repeat("、", 30), 5},
	}
	for _, tc := range tests {
		lines := wrap(tc.text, tc.width, f.Advance)
		if got := strings.Join(lines, ""); got != strings.ReplaceAll(tc.text, "\n", "") {
			t.Errorf("wrap(%q) lost text: %q", tc.text, got)
		}
		for i, ln := range lines {
			if w := f.Width(ln); w > tc.width+1e-9 && runeCount(ln) > 1 {
				t.Errorf("wrap(%q): line %q is %.2f em wide, limit %.2f", tc.text, ln, w, tc.width)
			}
			rs := []rune(ln)
			if i > 0 && len(rs) > 0 && isNoStart(rs[0]) && !allNoStart(tc.text) {
				t.Errorf("wrap(%q): line %d starts with %q", tc.text, i, rs[0])
			}
			if i < len(lines)-1 && len(rs) > 0 && isNoEnd(rs[len(rs)-1]) {
				t.Errorf("wrap(%q): line %d ends with %q", tc.text, i, rs[len(rs)-1])
			}
		}
	}
	// No break inside a Latin word that fits on a line.
	lines := wrap("经营范围包括 ABCDEFGH 软件", 9, f.Advance)
	for _, ln := range lines {
		if strings.Contains(ln, "ABC") && !strings.Contains(ln, "ABCDEFGH") {
			t.Errorf("word broken: %q", lines)
		}
	}
}

func allNoStart(s string) bool {
	for _, r := range s {
		if !isNoStart(r) {
			return false
		}
	}
	return true
}

func testFont(t testing.TB) *Font {
	t.Helper()
	s := NewService(Config{})
	r, err := s.fontFor(nil)
	if err != nil {
		t.Fatal(err)
	}
	return r.font
}

func TestCapitalText(t *testing.T) {
	tests := []struct{ amount, cur, want string }{
		{"100", "CNY", "壹佰万元整"},
		{"12.5", "CNY", "壹拾贰万伍仟元整"},
		{"1000", "CNY", "壹仟万元整"},
		{"10000", "CNY", "壹亿元整"},
		{"3", "CNY", "叁万元整"},
		{"1005", "CNY", "壹仟零伍万元整"},
		{"0.000105", "CNY", "壹元零伍分"},
		{"0.00011", "CNY", "壹元壹角整"},
		{"100", "USD", "壹佰万美元"},
		{"100.5", "HKD", "壹佰万零伍仟港元"},
		{"120000.01", "CNY", "壹拾贰亿零壹佰元整"},
	}
	for _, tc := range tests {
		if got := capitalText(&license.Capital{Amount: tc.amount, Currency: tc.cur}); got != tc.want {
			t.Errorf("capitalText(%s %s) = %s, want %s", tc.amount, tc.cur, got, tc.want)
		}
	}
}

// kindRegs returns a registration of every kind of entity.
func kindRegs(t testing.TB) []license.Registration {
	t.Helper()
	base := companyReg(t, "MA2AB3CD")
	var regs []license.Registration
	for i, k := range license.Kinds {
		cat := byte('1')
		switch k {
		case license.Individual:
			cat = '2'
		case license.Cooperative:
			cat = '3'
		}
		code, err := uscc.Generate('9', cat, "330106", fmt.Sprintf("MA2AB3C%d", i))
		if err != nil {
			t.Fatal(err)
		}
		r := base
		r.Code, r.Kind = code, k
		f := r.Face
		f.Name = map[license.Kind]string{
			license.Company: "杭州西湖示例科技有限公司", license.Branch: "杭州西湖示例科技有限公司西溪分公司",
			license.Partnership: "杭州西湖示例投资合伙企业（有限合伙）", license.SoleProprietorship: "杭州西湖示例咨询服务部",
			license.Individual: "西湖区示例小吃店", license.Cooperative: "杭州西湖示例茶叶专业合作社",
		}[k]
		f.Type = map[license.Kind]string{
			license.Company: "有限责任公司（自然人投资或控股）", license.Branch: "有限责任公司分公司（自然人投资或控股）",
			license.Partnership: "有限合伙企业", license.SoleProprietorship: "个人独资企业",
			license.Individual: "个体工商户", license.Cooperative: "农民专业合作社",
		}[k]
		switch k {
		case license.Branch, license.Partnership, license.SoleProprietorship:
			f.Capital = nil
		case license.Individual:
			f.Capital, f.Form, f.TermFrom, f.TermTo = nil, "个人经营", "", ""
		case license.Cooperative:
			f.Capital = &license.Capital{Amount: "50", Currency: "CNY"}
			f.TermFrom, f.TermTo = "", ""
		}
		if k == license.SoleProprietorship {
			f.TermFrom, f.TermTo = "", ""
		}
		if k == license.Partnership {
			f.Person = "杭州示例资产管理有限公司"
			f.TermTo = "2046-05-19"
		}
		r.Face = f
		regs = append(regs, r)
	}
	return regs
}

// faceValues are the texts a licence's face must show, as the layout prints them.
func faceValues(l *license.Licence) []string {
	left, right := faceItems(l)
	var out []string
	for _, it := range append(left, right...) {
		out = append(out, it.Label, it.Value)
	}
	return append(out, l.Code, dateZH(l.IssuedAt))
}

// squashLabel removes the spaces extraction puts between a spread label's characters.
func squashAll(s string) string {
	return strings.NewReplacer(" ", "", "\u3000", "", "\n", "", "\f", "", "\r", "").Replace(s)
}

func TestRenderVerifyEveryKind(t *testing.T) {
	e := newEnv(t)
	for _, reg := range kindRegs(t) {
		l := e.issue(t, reg)
		lb := license.LabelsFor(l.Kind)
		for _, f := range []Format{OFD, PDF} {
			for _, c := range []Copy{Original, Duplicate} {
				t.Run(fmt.Sprintf("%s/%s/%s", l.Kind, f, c), func(t *testing.T) {
					lay, err := layoutLicence(l, layoutOptions{Copy: c, Font: testFont(t)})
					if err != nil {
						t.Fatal(err)
					}
					text := squashAll(lay.Pages[0].text())
					for _, want := range []string{lb.Name.ZH, lb.Person.ZH, lb.Place.ZH, lb.Scope.ZH, lb.Date.ZH, titleText, websiteText, supervisedBy} {
						if !strings.Contains(text, squashAll(want)) {
							t.Errorf("page lacks %q", want)
						}
					}
					if got := strings.Contains(text, squashAll(annualReport)); got != (c == Duplicate) {
						t.Errorf("annual-report reminder shown = %v on the %s", got, c)
					}
					w, h := lay.Pages[0].W, lay.Pages[0].H
					if c == Original && (w != 420 || h != 297) || c == Duplicate && (w != 297 || h != 210) {
						t.Errorf("page is %v × %v mm", w, h)
					}
					doc := e.render(t, l, f, c)
					rep, err := e.docs.Verify(e.ctx, doc)
					if err != nil {
						t.Fatal(err)
					}
					if !rep.Valid || rep.Result != ResultValid || rep.Format != string(f) {
						t.Fatalf("verify: %+v", rep)
					}
					if rep.Identifier != l.Identifier || rep.Name != l.Face.Name {
						t.Errorf("report names %s %s", rep.Identifier, rep.Name)
					}
				})
			}
		}
	}
}

// longReg is a company whose name, address and scope are as long as validation allows.
func longReg(t testing.TB) license.Registration {
	reg := companyReg(t, "MA2LNG01")
	reg.Face.Name = strings.Repeat("超长名称测试", 30) + "有限公司"
	reg.Face.Address = strings.Repeat("浙江省杭州市西湖区文三路100号", 15)
	var b strings.Builder
	for i := 0; b.Len() < 3*9000; i++ {
		fmt.Fprintf(&b, "第%d项：技术服务、技术开发（依法须经批准的项目，经相关部门批准后方可开展经营活动）；", i+1)
	}
	reg.Face.Scope = string([]rune(b.String())[:9000])
	return reg
}

func TestLongFaceContinuesOnMorePages(t *testing.T) {
	e := newEnv(t)
	l := e.issue(t, longReg(t))
	for _, c := range []Copy{Original, Duplicate} {
		lay, err := layoutLicence(l, layoutOptions{Copy: c, Font: testFont(t)})
		if err != nil {
			t.Fatal(err)
		}
		if len(lay.Pages) < 2 {
			t.Fatalf("%s: %d page(s) for a 9000-character scope", c, len(lay.Pages))
		}
		if lay.Size/lay.Pages[0].W*duplicateW > minItemSize+1e-9 {
			t.Errorf("%s: size %.2f: should have shrunk to the minimum before continuing", c, lay.Size)
		}
		values := map[int]string{}
		for _, p := range lay.Pages {
			for _, tx := range p.Texts {
				values[tx.item] += tx.Text
				if tx.X < 0 || tx.Y > p.H || tx.X+testFont(t).Width(tx.Text)*tx.Size+tx.Spacing*float64(runeCount(tx.Text)) > p.W {
					t.Errorf("%s: text %q at (%.1f, %.1f) leaves the page", c, tx.Text, tx.X, tx.Y)
				}
			}
		}
		left, right := faceItems(l)
		for _, it := range append(left, right...) {
			if values[it.id] != it.Value {
				t.Errorf("%s: %s: text lost or changed: %.40s…", c, it.Label, values[it.id])
			}
		}
	}
	for _, f := range []Format{OFD, PDF} {
		rep, err := e.docs.Verify(e.ctx, e.render(t, l, f, Duplicate))
		if err != nil || !rep.Valid {
			t.Fatalf("%s: verify: %v %+v", f, err, rep)
		}
	}
}

// TestMediumFaceShrinks: a face that does not fit at the largest size fits on one page at a
// smaller one.
func TestMediumFaceShrinks(t *testing.T) {
	e := newEnv(t)
	reg := companyReg(t, "MA2MED01")
	reg.Face.Scope = strings.Repeat("技术服务、技术开发、技术咨询；", 40)
	l := e.issue(t, reg)
	lay, err := layoutLicence(l, layoutOptions{Copy: Duplicate, Font: testFont(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(lay.Pages) != 1 || lay.Size >= maxItemSize || lay.Size < minItemSize {
		t.Errorf("%d pages at size %.1f", len(lay.Pages), lay.Size)
	}
}

func TestPDFWithThirdPartyTools(t *testing.T) {
	needTool(t, "qpdf", "qpdf")
	needTool(t, "pdftotext", "poppler-utils")
	needTool(t, "pdfsig", "poppler-utils")
	e := newEnv(t)
	regs := append(kindRegs(t), longReg(t))
	for _, reg := range regs {
		l := e.issue(t, reg)
		for _, c := range []Copy{Original, Duplicate} {
			doc := e.render(t, l, PDF, c)
			if len(doc) > 150<<10 && reg.Face.Scope == companyReg(t, "MA2AB3CD").Face.Scope {
				t.Errorf("%s %s: PDF of %d bytes exceeds 150 KB", l.Kind, c, len(doc))
			}
			path := filepath.Join(t.TempDir(), "licence.pdf")
			if err := os.WriteFile(path, doc, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := run(t, "qpdf", "--check", path); err != nil {
				t.Errorf("qpdf --check: %v\n%s", err, out)
			}
			out, err := run(t, "pdfsig", path)
			if err != nil || !strings.Contains(out, "Signature is Valid") || !strings.Contains(out, "Total document signed") {
				t.Errorf("pdfsig: %v\n%s", err, out)
			}
			checkPDFText(t, path, l, c)
		}
	}
}

// checkPDFText extracts the text of each column of the first page with pdftotext and checks
// that every face item's label and value are there exactly (line breaks aside); continuation
// pages are extracted whole and must continue the values.
func checkPDFText(t *testing.T, path string, l *license.Licence, c Copy) {
	t.Helper()
	k := 1.0
	if c == Original {
		k = originalW / duplicateW
	}
	region := func(page int, x0, y0, x1, y1 float64) string {
		args := []string{"-enc", "UTF-8", "-f", fmt.Sprint(page), "-l", fmt.Sprint(page)}
		if x1 > 0 {
			px := func(mm float64) string { return fmt.Sprint(int(pt(mm * k))) }
			args = append(args, "-x", px(x0), "-y", px(y0), "-W", px(x1-x0), "-H", px(y1-y0))
		}
		out, err := run(t, "pdftotext", append(args, path, "-")...)
		if err != nil {
			t.Fatalf("pdftotext: %v: %s", err, out)
		}
		return squashAll(out)
	}
	lay, err := layoutLicence(l, layoutOptions{Copy: c, Font: testFont(t)})
	if err != nil {
		t.Fatal(err)
	}
	cont := ""
	for p := 2; p <= len(lay.Pages); p++ {
		cont += region(p, 12, contCol.top-2, duplicateW-6, contCol.bot+4)
	}
	// Values are extracted from where they start (right of the labels), labels with them.
	mid := (leftCol.right + rightCol.x) / 2
	vx := [2]float64{mid, duplicateW}
	for _, tx := range lay.Pages[0].Texts {
		if tx.item > 0 {
			i := 0
			if tx.X/k > mid {
				i = 1
			}
			vx[i] = min(vx[i], tx.X/k-0.5)
		}
	}
	cols := []string{
		region(1, vx[0], leftCol.top-2, mid, leftCol.bot+4) + cont,
		region(1, vx[1], rightCol.top-2, duplicateW-6, rightCol.bot+4) + cont,
	}
	labels := region(1, 12, leftCol.top-2, duplicateW-6, leftCol.bot+4)
	left, right := faceItems(l)
	for i, items := range [][]item{left, right} {
		for _, it := range items {
			v := squashAll(it.Value)
			if len(lay.Pages) > 1 && len([]rune(v)) > 200 {
				v = string([]rune(v)[:200]) // a value that continues on the next page is split by page furniture
			}
			if !strings.Contains(cols[i], v) {
				t.Errorf("%s %s: pdftotext lacks %s %.60q", l.Kind, c, it.Label, v)
			}
			// Labels are spread over four characters' width (名　　称); extractors may order
			// their characters around the value, so each must only be there.
			for _, r := range it.Label {
				if !strings.ContainsRune(labels, r) {
					t.Errorf("%s %s: pdftotext lacks %c of label %s", l.Kind, c, r, it.Label)
				}
			}
		}
	}
	all := region(1, 0, 0, 0, 0)
	for _, v := range []string{l.Code, dateZH(l.IssuedAt), titleText, websiteText, supervisedBy} {
		if !strings.Contains(all, squashAll(v)) {
			t.Errorf("%s %s: pdftotext lacks %q", l.Kind, c, v)
		}
	}
}

func TestOFDOpensInOFDJS(t *testing.T) {
	e := newEnv(t)
	for _, reg := range []license.Registration{kindRegs(t)[0], kindRegs(t)[4]} {
		l := e.issue(t, reg)
		for _, c := range []Copy{Original, Duplicate} {
			text, _ := renderWithOFDJS(t, e.render(t, l, OFD, c))
			for _, v := range faceValues(l) {
				if !strings.Contains(text, squashAll(v)) {
					t.Errorf("%s %s: ofd.js text lacks %q", l.Kind, c, v)
				}
			}
		}
	}
}

// entries reads an OFD's files in order.
func entries(t testing.TB, doc []byte) ([]string, map[string][]byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		names = append(names, f.Name)
		files[f.Name] = b
	}
	return names, files
}

func zipOf(t testing.TB, names []string, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(files[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func expectInvalid(t *testing.T, e *env, doc []byte, what string) *Report {
	t.Helper()
	rep, err := e.docs.Verify(e.ctx, doc)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if rep.Valid || rep.Result == ResultValid {
		t.Fatalf("%s: still verifies", what)
	}
	failed := slices.ContainsFunc(rep.Checks, func(c Check) bool { return !c.OK && c.ZH != "" && c.EN != "" })
	if !failed {
		t.Errorf("%s: result %d without a reason: %+v", what, rep.Result, rep)
	}
	return rep
}

// TestTamperOFDEveryEntry changes one byte of each file of a sealed OFD (re-zipped with correct
// CRCs, so that only the seal can notice) and flips a byte inside each file's stored data.
func TestTamperOFDEveryEntry(t *testing.T) {
	e := newEnv(t)
	l := e.issue(t, companyReg(t, "MA2AB3CD"))
	doc := e.render(t, l, OFD, Duplicate)
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
			rep := expectInvalid(t, e, zipOf(t, names, changed), fmt.Sprintf("%s byte %d", n, pos))
			if rep.Result != ResultWrong && rep.Result != ResultNotEnough {
				t.Errorf("%s byte %d: result %d", n, pos, rep.Result)
			}
		}
	}
	// Flipping a byte of the file as stored (compressed or not) breaks its checksum or content.
	zr, _ := zip.NewReader(bytes.NewReader(doc), int64(len(doc)))
	for _, f := range zr.File {
		off, err := f.DataOffset()
		if err != nil {
			t.Fatal(err)
		}
		if f.CompressedSize64 == 0 {
			continue
		}
		b := bytes.Clone(doc)
		b[off+int64(f.CompressedSize64)/2] ^= 0x10
		expectInvalid(t, e, b, "stored "+f.Name)
	}
	// An extra file the seal does not cover.
	extra := map[string][]byte{"Doc_0/Res/extra.png": []byte("x")}
	for k, v := range files {
		extra[k] = v
	}
	expectInvalid(t, e, zipOf(t, append(slices.Clone(names), "Doc_0/Res/extra.png"), extra), "extra file")
}

func TestTamperPDFSignedRange(t *testing.T) {
	e := newEnv(t)
	l := e.issue(t, companyReg(t, "MA2AB3CD"))
	doc := e.render(t, l, PDF, Original)
	m := reByteRange.FindAllSubmatch(doc, -1)
	if len(m) == 0 {
		t.Fatal("no byte range")
	}
	var br [4]int
	fmt.Sscan(string(m[len(m)-1][1])+" "+string(m[len(m)-1][2])+" "+string(m[len(m)-1][3])+" "+string(m[len(m)-1][4]), &br[0], &br[1], &br[2], &br[3])
	positions := []int{10, br[1] / 3, br[1] / 2, br[1] - 200, br[1] - 2, br[2] + 1, br[2] + br[3]/2, len(doc) - 3}
	for step := 997; step < br[1]; step += 7919 {
		positions = append(positions, step)
	}
	for _, pos := range positions {
		b := bytes.Clone(doc)
		b[pos] ^= 0x02
		expectInvalid(t, e, b, fmt.Sprintf("byte %d", pos))
	}
	expectInvalid(t, e, append(bytes.Clone(doc), []byte("\n% appended\n")...), "appended")
	expectInvalid(t, e, doc[:len(doc)-10], "truncated")
}

func TestVerifyStatus(t *testing.T) {
	e := newEnv(t)
	l := e.issue(t, companyReg(t, "MA2AB3CD"))
	docs := map[Format][]byte{OFD: e.render(t, l, OFD, Original), PDF: e.render(t, l, PDF, Original)}
	tok, err := e.docs.Token(e.ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	want := func(name string, code int, status license.Status) {
		t.Helper()
		for f, d := range docs {
			rep, err := e.docs.Verify(e.ctx, d)
			if err != nil || rep.Result != code || rep.Status != status {
				t.Errorf("%s %s: result %d status %s, want %d %s (%v) %s", name, f, rep.Result, rep.Status, code, status, err, rep.EN)
			}
		}
		rep, err := e.docs.VerifyToken(e.ctx, testPublicURL+"/v/"+tok)
		if err != nil || rep.Result != code {
			t.Errorf("%s token: result %d, want %d (%v) %s", name, rep.Result, code, err, rep.EN)
		}
	}
	want("active", ResultValid, license.Active)
	e.setNow(e.now.Add(time.Hour))
	if _, err := e.licences.SetStatus(e.ctx, e.actor, l.Code, license.StatusChange{Action: license.Suspend, Reason: "涉嫌违法经营"}); err != nil {
		t.Fatal(err)
	}
	want("suspended", ResultSuspended, license.Suspended)
	if _, err := e.licences.SetStatus(e.ctx, e.actor, l.Code, license.StatusChange{Action: license.Restore, Reason: "已整改"}); err != nil {
		t.Fatal(err)
	}
	want("restored", ResultValid, license.Active)
	reg := companyReg(t, "MA2AB3CD")
	reg.Face.Address = "浙江省杭州市西湖区文二路200号"
	l2, err := e.licences.Change(e.ctx, e.actor, l.Code, 1, reg)
	if err != nil {
		t.Fatal(err)
	}
	want("superseded", ResultNoLonger, license.Active)
	rep, err := e.docs.Verify(e.ctx, e.render(t, l2, OFD, Duplicate))
	if err != nil || rep.Result != ResultValid || rep.Version != 2 {
		t.Errorf("new version: %+v %v", rep, err)
	}
	if _, err := e.licences.SetStatus(e.ctx, e.actor, l.Code, license.StatusChange{Action: license.Revoke, Reason: "吊销测试"}); err != nil {
		t.Fatal(err)
	}
	docs = map[Format][]byte{OFD: e.render(t, l2, OFD, Original), PDF: e.render(t, l2, PDF, Original)}
	if tok, err = e.docs.Token(e.ctx, l2); err != nil {
		t.Fatal(err)
	}
	want("revoked", ResultNoLonger, license.Revoked)
	if _, err := e.licences.SetStatus(e.ctx, e.actor, l.Code, license.StatusChange{Action: license.Cancel, Reason: "注销测试"}); err != nil {
		t.Fatal(err)
	}
	want("cancelled", ResultNoLonger, license.Cancelled)
}

func TestVerifyToken(t *testing.T) {
	e := newEnv(t)
	l := e.issue(t, companyReg(t, "MA2AB3CD"))
	tok, err := e.docs.Token(e.ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{tok, testPublicURL + "/v/" + tok, "http://other.example/v/" + tok + "?x=1"} {
		rep, err := e.docs.VerifyToken(e.ctx, in)
		if err != nil || !rep.Valid || rep.Identifier != l.Identifier || rep.Name != l.Face.Name {
			t.Fatalf("VerifyToken(%.40s…): %v %+v", in, err, rep)
		}
	}
	bad := []struct {
		in   string
		code int
	}{
		{"", ResultNoData},
		{"not a token", ResultWrong},
		{tok[:len(tok)-4] + "AAAA", ResultWrong},
		{tok[:10] + string(tok[10]^1) + tok[11:], ResultWrong},
		{strings.Repeat("A", 5000), ResultWrong},
	}
	for _, b := range bad {
		rep, err := e.docs.VerifyToken(e.ctx, b.in)
		if err != nil || rep.Result != b.code || rep.Valid {
			t.Errorf("VerifyToken(%.30q): result %d, want %d (%v)", b.in, rep.Result, b.code, err)
		}
	}
	// A token signed by another platform's authority of the same code.
	other := newEnv(t)
	lo := other.issue(t, companyReg(t, "MA2AB3CD"))
	ft, err := other.docs.Token(other.ctx, lo)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := e.docs.VerifyToken(e.ctx, ft); err != nil || rep.Result != ResultWrong {
		t.Errorf("foreign token: %v %+v", err, rep)
	}
}

func TestVerifyBadInput(t *testing.T) {
	e := newEnv(t)
	l := e.issue(t, companyReg(t, "MA2AB3CD"))
	ofd := e.render(t, l, OFD, Original)
	pdf := e.render(t, l, PDF, Original)
	names, files := entries(t, ofd)
	with := func(name string, data []byte) []byte {
		m := map[string][]byte{}
		for k, v := range files {
			m[k] = v
		}
		m[name] = data
		ns := names
		if _, ok := files[name]; !ok {
			ns = append(slices.Clone(names), name)
		}
		return zipOf(t, ns, m)
	}
	// A zip bomb: one entry that inflates past every limit.
	var bomb bytes.Buffer
	zw := zip.NewWriter(&bomb)
	w, _ := zw.Create("OFD.xml")
	zeros := make([]byte, 1<<20)
	for i := 0; i < 80; i++ {
		w.Write(zeros)
	}
	zw.Close()
	// Many entries.
	var many bytes.Buffer
	zw = zip.NewWriter(&many)
	for i := 0; i < maxEntries+10; i++ {
		zw.Create(fmt.Sprintf("f%d", i))
	}
	zw.Close()
	deep := []byte(strings.Repeat("<a>", 10000) + strings.Repeat("</a>", 10000))
	// Another platform's document: its seal and data chain to another root.
	other := newEnv(t)
	lo := other.issue(t, companyReg(t, "MA2AB3CD"))

	tests := []struct {
		name string
		file []byte
		code int
	}{
		{"empty", nil, ResultNoData},
		{"text", []byte("hello, this is not a licence"), ResultNotEnough},
		{"png", placeholderEmblem(), ResultNotEnough},
		{"truncated ofd", ofd[:len(ofd)/2], ResultWrong},
		{"truncated pdf", pdf[:len(pdf)/2], ResultNotEnough}, // the signature is gone
		{"zip bomb", bomb.Bytes(), ResultWrong},
		{"too many entries", many.Bytes(), ResultWrong},
		{"path traversal", with("../../etc/passwd", []byte("x")), ResultWrong},
		{"absolute path", with("/etc/passwd", []byte("x")), ResultWrong},
		{"deep xml", with("OFD.xml", deep), ResultWrong},
		{"huge xml", with(signaturesPath, bytes.Repeat([]byte("<a/>"), maxXMLSize/3)), ResultWrong},
		{"entity xml", with(signaturesPath, []byte(`<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>`)), ResultWrong},
		{"malformed asn1", with(signedValuePath, []byte{0x30, 0x82, 0xff, 0xff, 0x02, 0x01}), ResultWrong},
		{"random asn1", with(signedValuePath, bytes.Repeat([]byte{0x30, 0x03, 0x02, 0x01, 0x01}, 50)), ResultWrong},
		{"unknown hash", with(signaturePath, bytes.Replace(files[signaturePath], []byte(oidSM3), []byte("1.2.840.113549.2.5"), 1)), ResultWrong},
		{"no signatures", with(ofdXMLPath, bytes.Replace(files[ofdXMLPath], []byte(signaturesPath), []byte("Doc_0/none.xml"), 1)), ResultNotEnough},
		{"foreign ofd", other.render(t, lo, OFD, Original), ResultWrong},
		{"foreign pdf", other.render(t, lo, PDF, Original), ResultWrong},
		{"pdf without signature", []byte("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"), ResultNotEnough},
		{"pdf bad range", []byte("%PDF-1.7\n/ByteRange [0 10 99999 5]\n%%EOF\n"), ResultWrong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			rep, err := e.docs.Verify(e.ctx, tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Result != tc.code || rep.Valid {
				t.Errorf("result %d, want %d: %s", rep.Result, tc.code, rep.EN)
			}
			if rep.ZH == "" || rep.EN == "" {
				t.Error("no words")
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// FuzzVerifyOFD feeds mutated OFD packages to the verifier: it must answer with a report, never
// an error or a panic, and never call a changed file valid.
func FuzzVerifyOFD(f *testing.F) {
	e := newEnv(f)
	l := e.issue(f, companyReg(f, "MA2AB3CD"))
	ofd := e.render(f, l, OFD, Duplicate)
	f.Add(ofd)
	f.Add(ofd[:100])
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	names, files := entries(f, ofd)
	files[ofdXMLPath] = []byte("<OFD><DocBody><DocRoot>../x</DocRoot></DocBody></OFD>")
	f.Add(zipOf(f, names, files))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := e.docs.Verify(e.ctx, b)
		if err != nil {
			t.Fatalf("error: %v", err)
		}
		if rep.ZH == "" || rep.EN == "" {
			t.Fatal("no words")
		}
		if rep.Valid && !bytes.Equal(b, ofd) {
			// Changes outside the files (zip metadata) may keep a file valid; the files may not.
			_, got := entries(t, b)
			_, orig := entries(t, ofd)
			for n, v := range got {
				if !bytes.Equal(v, orig[n]) {
					t.Fatalf("changed file %s verifies", n)
				}
			}
		}
	})
}

// FuzzReadOFDPackage exercises the package reader and XML limits alone (fast).
func FuzzReadOFDPackage(f *testing.F) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("OFD.xml")
	w.Write([]byte(`<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>`))
	zw.Close()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := readOFDPackage(b)
		if err != nil {
			return
		}
		for _, data := range p.files {
			var x xOFD
			_ = parseXML(data, &x)
			var s xSignature
			_ = parseXML(data, &s)
		}
	})
}
