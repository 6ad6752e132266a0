package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/ident"
)

// TestRenderCopyAndPermit: elicense render makes a watermarked copy (加注件) and a permit's
// document; elicense verify reports the copy's mark and the permit's data.
func TestRenderCopyAndPermit(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"ELICENSE_DATA": dir, "LANG": "en"}
	if out, code := runCLI(t, env, "demo", "-n", "3"); code != 0 {
		t.Fatalf("demo: %d %s", code, out)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "elicense.db"))
	if err != nil {
		t.Fatal(err)
	}
	var code, authority string
	err = db.QueryRow(`SELECT code, authority_code FROM licences WHERE status = 'active' LIMIT 1`).Scan(&code, &authority)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	for _, format := range []string{"ofd", "pdf"} {
		file := filepath.Join(dir, "copy."+format)
		out, c := runCLI(t, env, "render", code, "--format", format, "--copy-for", "国家税务总局杭州市西湖区税务局",
			"--cause", "办理税务登记", "--case", "XH2024052000123", "--item", "税务登记", "--expires", "240h", "-o", file)
		if c != 0 || !strings.Contains(out, "watermarked copy for") {
			t.Fatalf("render copy: %d %s", c, out)
		}
		out, c = runCLI(t, env, "verify", file)
		if c != 0 || !strings.Contains(out, "VALID") || !strings.Contains(out, "copy") || !strings.Contains(out, "国家税务总局杭州市西湖区税务局") ||
			!strings.Contains(out, "XH2024052000123") || !strings.Contains(out, "expires") {
			t.Errorf("verify copy: %d\n%s", c, out)
		}
	}
	if out, c := runCLI(t, env, "render", code, "--cause", "x", "-o", filepath.Join(dir, "x.pdf")); c != 2 {
		t.Errorf("--cause without --copy-for: %d %s", c, out)
	}
	if out, c := runCLI(t, env, "render", code, "--copy-for", "某局", "-o", filepath.Join(dir, "x.pdf")); c != 1 || !strings.Contains(out, "mark.cause") {
		t.Errorf("a copy without a cause: %d %s", c, out)
	}

	// A permit of another type, issued by the demo's authority.
	id, err := ident.New("11100000MB0143028R101", authority, "JY13301060012345", 1)
	if err != nil {
		t.Fatal(err)
	}
	p := document.Permit{
		TypeCode: "11100000MB0143028R101", TypeName: "食品经营许可证", Identifier: id, Number: "JY13301060012345", Version: 1,
		HolderName: "杭州西湖示例餐饮管理有限公司", HolderCode: code, HolderCodeType: "001",
		IssuerCode: authority, IssuerName: "示例市场监督管理局", IssuedAt: time.Now().UTC().Add(-time.Hour),
		Items:  []document.Item{{LabelZH: "经营项目", Value: "预包装食品销售"}},
		Status: document.PermitValid,
	}
	b, _ := json.Marshal(p)
	spec := filepath.Join(dir, "permit.json")
	if err := os.WriteFile(spec, b, 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "permit.pdf")
	if out, c := runCLI(t, env, "render", "--permit", spec, "--format", "pdf", "-o", file); c != 0 {
		t.Fatalf("render permit: %d %s", c, out)
	}
	// The permit's signature is the department's, but the licence library does not hold it (it
	// was rendered from a file, never issued): no such licence.
	out, c := runCLI(t, env, "verify", file)
	if c != 1 || !strings.Contains(out, "result 5") || !strings.Contains(out, "食品经营许可证") || !strings.Contains(out, "JY13301060012345") ||
		!strings.Contains(out, "ok   data_signature") {
		t.Errorf("verify permit: %d\n%s", c, out)
	}
}
