package importer_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/demo"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/importer"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/store"
)

// xihu is the registering authority of the sample files (杭州市西湖区市场监督管理局).
const xihu = "113301060033010600"

var cli = license.Actor{ID: "cli:test", AnyAuthority: true}

// platform is a real licence service on a temporary SQLite database.
type platform struct {
	dsn      string
	key      []byte
	db       *store.DB
	keys     *keys.Service
	licences *license.Service
}

func newPlatform(t testing.TB) *platform {
	t.Helper()
	key := make([]byte, 16)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	p := &platform{dsn: filepath.Join(t.TempDir(), "elicense.db"), key: key}
	p.open(t)
	if err := p.keys.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := demo.EnsureAuthorities(context.Background(), p.keys, nil); err != nil {
		t.Fatal(err)
	}
	return p
}

// open opens the platform's database and services (again, after a child process used it).
func (p *platform) open(t testing.TB) {
	t.Helper()
	db, err := store.Open(context.Background(), p.dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sealer, err := gm.NewSealer(p.key)
	if err != nil {
		t.Fatal(err)
	}
	p.db = db
	p.keys = keys.NewService(db, sealer, nil)
	p.licences = license.NewService(license.Config{Store: db, Keys: p.keys})
}

// count returns the number of entities with a licence.
func (p *platform) count(t testing.TB) int {
	t.Helper()
	n, cursor := 0, ""
	for {
		page, next, err := p.licences.List(context.Background(), license.Filter{Limit: 500, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		n += len(page)
		if next == "" {
			return n
		}
		cursor = next
	}
}

func run(t testing.TB, p *platform, f importer.Format, data string, opts importer.Options) (importer.Summary, [][]string, error) {
	t.Helper()
	var report bytes.Buffer
	opts.Format = f
	opts.Actor = cli
	opts.ErrorReport = &report
	sum, err := importer.Run(context.Background(), strings.NewReader(data), opts, p.licences)
	return sum, readReport(t, report.Bytes()), err
}

func readReport(t testing.TB, b []byte) [][]string {
	t.Helper()
	if len(b) == 0 {
		return nil
	}
	if !bytes.HasPrefix(b, []byte("\ufeff")) {
		t.Fatalf("the error report does not start with a byte order mark: %q", b[:min(len(b), 20)])
	}
	recs, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
	if err != nil {
		t.Fatalf("error report: %v", err)
	}
	if strings.Join(recs[0], ",") != strings.Join(importer.ReportColumns, ",") {
		t.Fatalf("error report header = %q", recs[0])
	}
	return recs[1:]
}

func readFile(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestImportSampleFiles(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	csvData, jsonData := readFile(t, "sample.csv"), readFile(t, "sample.jsonl")

	sum, report, err := run(t, p, importer.CSV, csvData, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != 6 || sum.Issued != 6 || sum.Unchanged != 0 || sum.Failed != 0 || len(report) != 0 {
		t.Fatalf("summary %+v, report %q", sum, report)
	}
	for _, k := range license.Kinds {
		found := false
		page, _, err := p.licences.List(ctx, license.Filter{Kind: k, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range page {
			found = true
			if err := p.licences.VerifySignature(ctx, l); err != nil {
				t.Errorf("%s: signature: %v", l.Code, err)
			}
			if l.AuthorityCode != xihu || l.Authority != "杭州市西湖区市场监督管理局" {
				t.Errorf("%s: authority %s %s", l.Code, l.AuthorityCode, l.Authority)
			}
		}
		if !found {
			t.Errorf("no %s imported", k)
		}
	}
	coop, err := p.licences.Get(ctx, "93330106MA2M1C4N2H")
	if err != nil {
		t.Fatal(err)
	}
	if c := coop.Face.Capital; c == nil || c.Amount != "120" || c.Currency != "CNY" || coop.Face.Name != "西湖区龙井茶叶专业合作社" {
		t.Errorf("cooperative = %+v", coop.Face)
	}

	// The same data in JSON Lines, and the CSV file again: nothing new.
	for _, f := range []struct {
		format importer.Format
		data   string
	}{{importer.JSONL, jsonData}, {importer.CSV, csvData}} {
		sum, report, err := run(t, p, f.format, f.data, importer.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Rows != 6 || sum.Issued != 0 || sum.Unchanged != 6 || sum.Failed != 0 || len(report) != 0 {
			t.Errorf("%s re-run: summary %+v, report %q", f.format, sum, report)
		}
	}
	if n := p.count(t); n != 6 {
		t.Errorf("%d licences after three imports, want 6", n)
	}
}

func TestImportFile(t *testing.T) {
	p := newPlatform(t)
	var last importer.Progress
	calls := 0
	sum, err := importer.ImportFile(context.Background(), filepath.Join("testdata", "sample.jsonl"),
		importer.Options{Actor: cli, BatchSize: 4, Progress: func(pr importer.Progress) { calls++; last = pr }}, p.licences)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Issued != 6 {
		t.Errorf("summary %+v", sum)
	}
	fi, _ := os.Stat(filepath.Join("testdata", "sample.jsonl"))
	if calls != 3 || !last.Done || last.Size != fi.Size() || last.Bytes != fi.Size() || last.Rows != 6 || last.Fraction() != 1 {
		t.Errorf("%d progress calls, last %+v", calls, last)
	}
	if _, err := importer.ImportFile(context.Background(), "rows.txt", importer.Options{Actor: cli}, p.licences); errs.As(err) == nil || errs.As(err).Field != "format" {
		t.Errorf("unknown extension: %v", err)
	}
}

func TestImportBadRows(t *testing.T) {
	p := newPlatform(t)
	good := strings.Split(strings.TrimSpace(readFile(t, "sample.csv")), "\n")
	hdr, rows := good[0], good[1:]
	data := strings.Join([]string{
		hdr,
		rows[0], // row 1: good
		// row 2: wrong check character of the code
		strings.Replace(rows[1], "91330106MA2J0B8E3J", "91330106MA2J0B8E3K", 1),
		// row 3: no name, and the person's ID number is wrong
		strings.Replace(strings.Replace(rows[2], "杭州明德股权投资合伙企业（有限合伙）", "", 1), "330106197905211534", "330106197905211535", 1),
		"too,few,fields", // row 4
		rows[3],          // row 5: good
		strings.Replace(rows[4], "西湖区老王便利店", "西湖区\xff便利店", 1),                                                       // row 6: bad UTF-8
		strings.Replace(rows[5], "茶叶种植", strings.Repeat("茶叶种植、", 500), 1),                                           // row 7: longer than the limit
		strings.Replace(strings.Replace(rows[4], "92330106MA2K5L9T8B", "91330106MA2P8F6W8W", 1), "个人经营", "合伙经营", 1), // row 8
	}, "\n") + "\n"
	sum, report, err := run(t, p, importer.CSV, data, importer.Options{MaxRowBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != 8 || sum.Issued != 2 || sum.Failed != 6 || sum.Unchanged != 0 {
		t.Errorf("summary %+v", sum)
	}
	type want struct {
		row, line, field, code, en string
	}
	wants := []want{
		{"2", "3", "code", "91330106MA2J0B8E3K", "check"},
		{"3", "4", "name", "91330106MA2N6D2P7D", "required"},
		{"3", "4", "person_id", "91330106MA2N6D2P7D", "check"},
		{"4", "5", "", "", "3 fields"},
		{"6", "7", "name", "92330106MA2K5L9T8B", "UTF-8"},
		{"7", "8", "", "", "limit of 4096 bytes"},
	}
	// Row 8 has a code of an enterprise for an individual business, and a wrong form: two reasons.
	if len(report) != len(wants)+2 {
		t.Fatalf("report has %d lines, want %d:\n%q", len(report), len(wants)+2, report)
	}
	for i, w := range wants {
		r := report[i]
		if r[0] != w.row || r[1] != w.line || r[3] != w.field || r[2] != w.code || !strings.Contains(strings.ToLower(r[5]), strings.ToLower(w.en)) || r[4] == "" {
			t.Errorf("report line %d = %q, want row %s line %s code %s field %s and %q", i+1, r, w.row, w.line, w.code, w.field, w.en)
		}
	}
	fields := report[len(wants)][3] + "," + report[len(wants)+1][3]
	if report[len(wants)][0] != "8" || fields != "code,form" {
		t.Errorf("row 8 reasons: %q", report[len(wants):])
	}
	if len(sum.Errors) != len(report) || sum.Errors[0].Field != "code" || sum.Errors[0].Row != 2 {
		t.Errorf("summary errors %+v", sum.Errors)
	}
	if n := p.count(t); n != 2 {
		t.Errorf("%d licences stored, want 2", n)
	}

	// A corrected file goes through; the rows issued before are Unchanged.
	sum, report, err = run(t, p, importer.CSV, readFile(t, "sample.csv"), importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Issued != 4 || sum.Unchanged != 2 || sum.Failed != 0 || len(report) != 0 {
		t.Errorf("corrected: summary %+v report %q", sum, report)
	}
	// The same code with other data is refused: that needs a change registration.
	changed := strings.Replace(readFile(t, "sample.csv"), "文三路478号", "文三路479号", 1)
	sum, report, _ = run(t, p, importer.CSV, changed, importer.Options{})
	if sum.Failed != 1 || sum.Unchanged != 5 || len(report) != 1 || report[0][0] != "1" || report[0][3] != "code" {
		t.Errorf("changed row: summary %+v report %q", sum, report)
	}
}

func TestImportDefaultAuthority(t *testing.T) {
	p := newPlatform(t)
	data := strings.ReplaceAll(readFile(t, "sample.csv"), ","+xihu+"\n", ",\n")
	if strings.Contains(data, xihu) {
		t.Fatal("authority not removed")
	}
	sum, report, _ := run(t, p, importer.CSV, data, importer.Options{})
	if sum.Failed != 6 || len(report) != 6 || report[0][3] != "authority" {
		t.Errorf("without authority: %+v %q", sum, report)
	}
	sum, report, err := run(t, p, importer.CSV, data, importer.Options{Authority: strings.ToLower(xihu)})
	if err != nil || sum.Issued != 6 || len(report) != 0 {
		t.Errorf("with Options.Authority: %+v %q %v", sum, report, err)
	}
}

func TestImportHeaderError(t *testing.T) {
	p := newPlatform(t)
	data := strings.Replace(readFile(t, "sample.csv"), "person_id", "id_number", 1)
	sum, _, err := run(t, p, importer.CSV, data, importer.Options{})
	e := errs.As(err)
	if e == nil || e.Kind != errs.Invalid || e.Field != "id_number" || !strings.Contains(e.ZH, "id_number") {
		t.Fatalf("error = %v", err)
	}
	if sum.Rows != 0 || p.count(t) != 0 {
		t.Errorf("summary %+v after a header error", sum)
	}
}

// demoFile writes n demo registrations as an import file.
func demoFile(t testing.TB, f importer.Format, n int) string {
	t.Helper()
	var b bytes.Buffer
	write := demo.WriteCSV
	if f == importer.JSONL {
		write = demo.WriteJSONL
	}
	if _, err := write(&b, 7, n); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// cancelling cancels the import's context around one IssueBatch call.
type cancelling struct {
	iss    importer.Issuer
	cancel context.CancelFunc
	before int // cancel before this call (1-based) reaches the issuer; 0: never
	after  int // cancel after this call returns; 0: never
	calls  int
}

func (c *cancelling) IssueBatch(ctx context.Context, a license.Actor, regs []license.Registration) ([]license.Result, error) {
	c.calls++
	if c.calls == c.before {
		c.cancel()
	}
	res, err := c.iss.IssueBatch(ctx, a, regs)
	if c.calls == c.after {
		c.cancel()
	}
	return res, err
}

func TestImportCancelKeepsCompleteBatches(t *testing.T) {
	for _, tc := range []struct {
		name          string
		before, after int
		stored        int
	}{
		{"between batches", 0, 3, 30},
		{"during a batch", 2, 0, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPlatform(t)
			data := demoFile(t, importer.CSV, 55)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			iss := &cancelling{iss: p.licences, cancel: cancel, before: tc.before, after: tc.after}
			sum, err := importer.Run(ctx, strings.NewReader(data),
				importer.Options{Format: importer.CSV, Actor: cli, BatchSize: 10}, iss)
			if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "resume") {
				t.Fatalf("error = %v", err)
			}
			if sum.Rows != int64(tc.stored) || sum.Issued != int64(tc.stored) {
				t.Errorf("summary %+v, want %d rows", sum, tc.stored)
			}
			if n := p.count(t); n != tc.stored {
				t.Errorf("%d licences stored, want %d", n, tc.stored)
			}
			// Running the same import again resumes it.
			sum, report, err := run(t, p, importer.CSV, data, importer.Options{BatchSize: 10})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Unchanged != int64(tc.stored) || sum.Issued != int64(55-tc.stored) || sum.Failed != 0 || len(report) != 0 {
				t.Errorf("resumed: summary %+v report %q", sum, report)
			}
		})
	}
}

// TestImportKilled kills an import process with SIGKILL in the middle, and checks that only
// whole batches were stored and that running the import again completes it.
func TestImportKilled(t *testing.T) {
	const rows, batch = 6000, 300
	p := newPlatform(t)
	file := filepath.Join(t.TempDir(), "rows.jsonl")
	if err := os.WriteFile(file, []byte(demoFile(t, importer.JSONL, rows)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "ELICENSE_IMPORT_CHILD=1", "CHILD_DSN="+p.dsn, "CHILD_KEY="+hex.EncodeToString(p.key),
		"CHILD_FILE="+file, "CHILD_BATCH="+strconv.Itoa(batch))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	done := int64(0)
	for sc.Scan() {
		if n, err := strconv.ParseInt(strings.TrimPrefix(sc.Text(), "rows "), 10, 64); err == nil {
			done = n
		}
		if done >= 2*batch {
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if done < 2*batch {
		t.Fatalf("the child reported %d rows before it ended", done)
	}

	p.open(t)
	stored := p.count(t)
	t.Logf("killed after %d rows reported; %d licences stored", done, stored)
	if stored%batch != 0 || int64(stored) < done {
		t.Fatalf("%d licences stored: not whole batches of %d, or fewer than the %d reported", stored, batch, done)
	}
	sum, err := importer.ImportFile(context.Background(), file, importer.Options{Actor: cli, BatchSize: batch}, p.licences)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Unchanged != int64(stored) || sum.Issued != int64(rows-stored) || sum.Failed != 0 {
		t.Errorf("resumed: %+v", sum)
	}
	if n := p.count(t); n != rows {
		t.Errorf("%d licences after resuming, want %d", n, rows)
	}
}

// TestMain runs the import process that TestImportKilled kills when the test binary is started
// as that child.
func TestMain(m *testing.M) {
	if os.Getenv("ELICENSE_IMPORT_CHILD") != "" {
		if err := childImport(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func childImport() error {
	key, err := hex.DecodeString(os.Getenv("CHILD_KEY"))
	if err != nil {
		return err
	}
	db, err := store.Open(context.Background(), os.Getenv("CHILD_DSN"), store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	sealer, err := gm.NewSealer(key)
	if err != nil {
		return err
	}
	licences := license.NewService(license.Config{Store: db, Keys: keys.NewService(db, sealer, nil)})
	batch, _ := strconv.Atoi(os.Getenv("CHILD_BATCH"))
	_, err = importer.ImportFile(context.Background(), os.Getenv("CHILD_FILE"), importer.Options{
		Actor: cli, BatchSize: batch,
		Progress: func(pr importer.Progress) { fmt.Printf("rows %d\n", pr.Rows) },
	}, licences)
	return err
}

func TestImportDemoExportBothFormats(t *testing.T) {
	p := newPlatform(t)
	for _, f := range []importer.Format{importer.CSV, importer.JSONL} {
		sum, report, err := run(t, p, f, demoFile(t, f, 400), importer.Options{BatchSize: 150})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Rows != 400 || sum.Failed != 0 || len(report) != 0 {
			t.Fatalf("%s: summary %+v report %q", f, sum, report[:min(len(report), 5)])
		}
		if f == importer.CSV && sum.Issued != 400 || f == importer.JSONL && sum.Unchanged != 400 {
			t.Errorf("%s: summary %+v", f, sum)
		}
	}
}

// slowIssuer issues everything, slowly.
type slowIssuer struct{}

func (slowIssuer) IssueBatch(ctx context.Context, a license.Actor, regs []license.Registration) ([]license.Result, error) {
	time.Sleep(5 * time.Millisecond)
	res := make([]license.Result, len(regs))
	for i := range res {
		res[i].Outcome = license.Issued
	}
	return res, nil
}

func TestProgressTo(t *testing.T) {
	var out bytes.Buffer
	progress := importer.ProgressTo(&out, 100)
	sum, err := importer.Run(context.Background(), strings.NewReader(demoFile(t, importer.CSV, 450)),
		importer.Options{Format: importer.CSV, Actor: cli, BatchSize: 50, Progress: progress}, &slowIssuer{})
	if err != nil || sum.Issued != 450 {
		t.Fatalf("%+v %v", sum, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "100 行/rows") || !strings.Contains(lines[3], "400 行/rows") {
		t.Errorf("progress lines:\n%s", out.String())
	}
	var none bytes.Buffer
	importer.ProgressTo(&none, -1)(importer.Progress{Rows: 1e6})
	if none.Len() != 0 {
		t.Errorf("ProgressTo(w, -1) wrote %q", none.String())
	}
}

func TestRenderBar(t *testing.T) {
	p := importer.Progress{Bytes: 250, Size: 1000, Rows: 5000, Elapsed: 2 * time.Second}
	got := importer.RenderBar(p, 20)
	want := "导入 import  25.0% [=====>              ] 5000 rows  2500 rows/s  ETA 0:06"
	if got != want {
		t.Errorf("RenderBar = %q\n          want %q", got, want)
	}
	p = importer.Progress{Bytes: 1000, Size: 1000, Rows: 9000, Failed: 3, Elapsed: 3723 * time.Second, Done: true}
	if got, want := importer.RenderBar(p, 4), "导入 import 100.0% [====] 9000 rows  2 rows/s  3 failed  1:02:03"; got != want {
		t.Errorf("RenderBar = %q\n          want %q", got, want)
	}
	if got := importer.RenderBar(importer.Progress{Rows: 10, Elapsed: time.Second}, 10); got != "导入 import 10 rows  10 rows/s" {
		t.Errorf("RenderBar without size = %q", got)
	}
}

func TestFormatOf(t *testing.T) {
	for name, want := range map[string]importer.Format{"a.csv": importer.CSV, "B.CSV": importer.CSV,
		"x/y.jsonl": importer.JSONL, "z.ndjson": importer.JSONL} {
		if got, err := importer.FormatOf(name); got != want || err != nil {
			t.Errorf("FormatOf(%q) = %q, %v", name, got, err)
		}
	}
	if _, err := importer.FormatOf("a.json"); err == nil {
		t.Error("FormatOf(a.json) accepted")
	}
	if f, err := importer.ParseFormat("NDJSON"); f != importer.JSONL || err != nil {
		t.Errorf("ParseFormat(NDJSON) = %q, %v", f, err)
	}
}

// TestDocsSample keeps the sample in docs/import.md the same as the files the tests import.
func TestDocsSample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "import.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]string{}
	for _, part := range strings.Split(string(doc), "```")[1:] {
		lang, body, _ := strings.Cut(part, "\n")
		if _, seen := blocks[lang]; !seen && (lang == "csv" || lang == "json") {
			blocks[lang] = body
		}
	}
	if blocks["csv"] != readFile(t, "sample.csv") {
		t.Errorf("the CSV sample in docs/import.md differs from testdata/sample.csv")
	}
	lines := strings.Split(strings.TrimSpace(readFile(t, "sample.jsonl")), "\n")
	if want := lines[0] + "\n" + lines[len(lines)-1] + "\n"; blocks["json"] != want {
		t.Errorf("the JSON Lines sample in docs/import.md differs from testdata/sample.jsonl:\n%s\nwant\n%s", blocks["json"], want)
	}
	for _, c := range importer.Columns {
		if !strings.Contains(string(doc), "| `"+c+"` |") {
			t.Errorf("column %s is not documented", c)
		}
	}
}
