package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// runCLI runs the program with args and returns its output and exit status.
func runCLI(t *testing.T, env map[string]string, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	getenv := func(k string) string { return env[k] }
	err := run(context.Background(), args, getenv, strings.NewReader(""), &out, &out)
	code := 0
	var ee exitError
	switch {
	case errors.As(err, &ee):
		code = ee.code
		out.WriteString(ee.msg)
	case err != nil:
		code = 1
		out.WriteString(err.Error())
	}
	return out.String(), code
}

func TestUSCCCheck(t *testing.T) {
	out, code := runCLI(t, nil, "uscc", "check", "91330106673959654P", "91110105ma003a481g", "140000100028286")
	if code != 0 || strings.Count(out, "\tok") != 3 {
		t.Fatalf("valid codes: exit %d\n%s", code, out)
	}
	out, code = runCLI(t, map[string]string{"LANG": "en_US.UTF-8"}, "uscc", "check", "91330106673959654P", "91330106673959654Q", "9133010667395965", "91330106673959O54P")
	if code != 1 {
		t.Fatalf("invalid codes: exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{"position 18: expected P, got Q", "length", "position 15"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, _ = runCLI(t, nil, "uscc", "check", "91330106673959654Q")
	if !strings.Contains(out, "第18位") {
		t.Errorf("zh-CN is the default: %s", out)
	}
	// The operator's allow-list accepts an issued code that fails a check.
	allow := filepath.Join(t.TempDir(), "allow.txt")
	os.WriteFile(allow, []byte("# issued before the check was enforced\n91350203M0001QAY9B\n"), 0o600)
	if out, code := runCLI(t, nil, "uscc", "check", "91350203M0001QAY9B"); code != 1 {
		t.Errorf("without the allow-list: exit %d %s", code, out)
	}
	if out, code := runCLI(t, nil, "uscc", "check", "--allow-codes", allow, "91350203M0001QAY9B"); code != 0 {
		t.Errorf("with the allow-list: exit %d %s", code, out)
	}
	if _, code := runCLI(t, nil, "uscc", "check"); code != 2 {
		t.Errorf("no codes: exit %d, want 2", code)
	}
	if _, code := runCLI(t, nil, "uscc", "verify"); code != 2 {
		t.Errorf("bad subcommand: exit %d, want 2", code)
	}
}

func TestIDCheck(t *testing.T) {
	good := "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
	out, code := runCLI(t, nil, "id", "check", good, strings.ToLower(good))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	out, code = runCLI(t, map[string]string{"LANG": "en"}, "id", "check", good[:len(good)-1]+"G")
	if code != 1 || !strings.Contains(out, "check") {
		t.Fatalf("bad check: exit %d\n%s", code, out)
	}
}

// syncBuffer is a buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeDemo starts the platform as a user would, with the demo data, and uses it over HTTP.
func TestServeDemo(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan error, 1)
	env := map[string]string{"ELICENSE_DATA": dir}
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--demo"}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut)
	}()
	re := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	var base string
	for deadline := time.Now().Add(60 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s\n%s", err, out.String(), errOut.String())
		default:
		}
	}
	if base == "" {
		t.Fatalf("no address printed:\n%s", out.String())
	}
	for _, want := range []string{"admin", "reg-330106", "operator", "registrar"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("start-up output lacks demo account %q:\n%s", want, out.String())
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "master.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("master key file: %v %v", st, err)
	}

	get := func(path string) (int, map[string]any) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		b, _ := io.ReadAll(resp.Body)
		json.Unmarshal(b, &v)
		return resp.StatusCode, v
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/api/v1/openapi.json", "/"} {
		if code, _ := get(p); code != 200 {
			t.Errorf("GET %s: %d", p, code)
		}
	}
	// Page through every licence of one status filter, and look each kind of entity up.
	code, page := get("/api/v1/licenses?limit=500")
	items, _ := page["items"].([]any)
	if code != 200 || len(items) != 500 || page["next_cursor"] == "" {
		t.Fatalf("list: %d, %d items", code, len(items))
	}
	total := 0
	seen := map[string]bool{}
	for cursor := ""; ; {
		_, page := get("/api/v1/licenses?limit=500&cursor=" + cursor)
		items, _ := page["items"].([]any)
		for _, it := range items {
			m := it.(map[string]any)
			total++
			seen[m["kind"].(string)+"/"+m["status"].(string)] = true
		}
		next, _ := page["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if total < 1000 {
		t.Errorf("demo has %d licences, want at least 1,000", total)
	}
	for _, want := range []string{"company/active", "branch/active", "partnership/active", "sole_proprietorship/active", "individual/active", "cooperative/active"} {
		if !seen[want] {
			t.Errorf("demo lacks %s", want)
		}
	}
	statuses := map[string]bool{}
	for k := range seen {
		statuses[k[strings.Index(k, "/")+1:]] = true
	}
	for _, s := range []string{"suspended", "cancelled", "revoked"} {
		if !statuses[s] {
			t.Errorf("demo has no %s licence", s)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	// Starting again on the same data directory keeps the data and prints the same accounts.
	before := out.String()
	ctx2, cancel2 := context.WithCancel(context.Background())
	var out2 syncBuffer
	go func() {
		done <- run(ctx2, []string{"serve", "--addr", "127.0.0.1:0", "--demo"}, func(k string) string { return env[k] }, strings.NewReader(""), &out2, io.Discard)
	}()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out2.String(), "listening on") && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	cancel2()
	<-done
	if !strings.Contains(out2.String(), "already loaded") {
		t.Errorf("second start did not recognise the demo data:\n%s", out2.String())
	}
	pw := regexp.MustCompile(`admin\s+(\S+)`)
	if a, b := pw.FindStringSubmatch(before), pw.FindStringSubmatch(out2.String()); a == nil || b == nil || a[1] != b[1] {
		t.Errorf("admin password differs between starts: %v %v", a, b)
	}
}

func TestImportAndAudit(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"ELICENSE_DATA": dir, "LANG": "en"}
	file := filepath.Join(dir, "rows.csv")
	if out, code := runCLI(t, env, "demo", "--export", file, "-n", "300"); code != 0 {
		t.Fatalf("export: %d %s", code, out)
	}
	// Authorities first (the demo's), then import.
	if out, code := runCLI(t, env, "demo", "-n", "10"); code != 0 {
		t.Fatalf("demo: %d %s", code, out)
	}
	out, code := runCLI(t, env, "import", "--quiet", file)
	if code != 0 || !strings.Contains(out, "300 issued") {
		t.Fatalf("import: %d\n%s", code, out)
	}
	out, code = runCLI(t, env, "import", "--quiet", file)
	if code != 0 || !strings.Contains(out, "300 unchanged") {
		t.Fatalf("re-import: %d\n%s", code, out)
	}
	// A file with a bad row: the good rows go in, the bad one is reported by row and field.
	b, _ := os.ReadFile(file)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	bad := filepath.Join(dir, "bad.csv")
	broken := strings.Replace(lines[2], lines[2][:18], lines[2][:17]+"0", 1)
	os.WriteFile(bad, []byte(lines[0]+"\n"+broken+"\n"), 0o600)
	out, code = runCLI(t, env, "import", "--quiet", bad)
	if code != 1 || !strings.Contains(out, "row 1") || !strings.Contains(out, "position 18") {
		t.Fatalf("bad row: %d\n%s", code, out)
	}
	if _, err := os.Stat(bad + ".errors.csv"); err != nil {
		t.Errorf("no error report: %v", err)
	}

	out, code = runCLI(t, env, "audit", "verify")
	if code != 0 || !strings.Contains(out, "ok:") {
		t.Fatalf("audit verify: %d %s", code, out)
	}
	if out, code := runCLI(t, env, "audit", "checkpoint"); code != 0 {
		t.Fatalf("checkpoint: %d %s", code, out)
	}
	// Tamper with one entry behind the platform's back: verify names it.
	db, err := sql.Open("sqlite", filepath.Join(dir, "elicense.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit_events SET actor = 'mallory' WHERE seq = 42`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out, code = runCLI(t, env, "audit", "verify")
	if code != 1 || !strings.Contains(out, "entry 42") {
		t.Fatalf("tampered audit verify: %d %s", code, out)
	}
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	cases := map[string][]string{
		"ELICENSE_ADDR":       {"serve", "--data", t.TempDir(), "--addr", "nonsense"},
		"ELICENSE_PUBLIC_URL": {"serve", "--data", t.TempDir(), "--public-url", "ftp://x"},
		"ELICENSE_TYPE_CODE":  {"serve", "--data", t.TempDir(), "--type-code", "123"},
		"ELICENSE_MASTER_KEY": {"serve", "--data", t.TempDir(), "--master-key", "zz"},
	}
	for setting, args := range cases {
		out, code := runCLI(t, nil, args...)
		if code == 0 || !strings.Contains(out, setting) {
			t.Errorf("%v: exit %d, output does not name %s:\n%s", args, code, setting, out)
		}
	}
	_ = fmt.Sprint
}
