package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCatalogCLI(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"ELICENSE_DATA": dir, "LANG": "en"}
	out, code := runCLI(t, env, "catalog", "starter")
	if code != 0 || !strings.Contains(out, "19 items added") {
		t.Fatalf("starter: %d %s", code, out)
	}
	if out, code := runCLI(t, env, "catalog", "starter"); code != 0 || !strings.Contains(out, "0 items added") {
		t.Fatalf("starter again: %d %s", code, out)
	}
	csv := filepath.Join(dir, "catalog.csv")
	if out, code := runCLI(t, env, "catalog", "export", "--format", "csv", "-o", csv); code != 0 {
		t.Fatalf("export: %d %s", code, out)
	}
	b, err := os.ReadFile(csv)
	if err != nil || !strings.HasPrefix(string(b), "\xef\xbb\xbfitem_code,item_name,") {
		t.Fatalf("exported file: %v %.60q", err, b)
	}
	out, code = runCLI(t, env, "catalog", "import", csv)
	if code != 0 || !strings.Contains(out, "imported 19 items (0 created, 19 replaced)") {
		t.Fatalf("import: %d %s", code, out)
	}
	// Every error of a refused file is printed, one a line, with its row and column.
	lines := strings.Split(string(b), "\n")
	lines[1] = strings.Replace(lines[1], ",identity,", ",id,", 1)
	lines[2] = strings.Replace(lines[2], ",bank_account,", ",entry,", 1)
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte(strings.Join(lines, "\n")), 0o600)
	out, code = runCLI(t, env, "catalog", "import", bad)
	if code != 1 || !strings.Contains(out, "row 3, column scenario") || !strings.Contains(out, "row 2, column class") ||
		!strings.Contains(out, "not imported") {
		t.Fatalf("bad file: %d\n%s", code, out)
	}
	if out, code := runCLI(t, env, "catalog", "import", filepath.Join(dir, "x.txt")); code != 1 || !strings.Contains(out, "format") {
		t.Fatalf("unknown format: %d %s", code, out)
	}
	if _, code := runCLI(t, env, "catalog", "import"); code != 2 {
		t.Fatalf("no file: exit %d", code)
	}
	out, code = runCLI(t, env, "catalog", "export")
	if code != 0 || !strings.Contains(out, `"code": "bank.basic-account"`) {
		t.Fatalf("JSON export: %d %.200s", code, out)
	}
}
