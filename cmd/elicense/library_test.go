package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestTypeAndIssuerCommands(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"ELICENSE_DATA": dir, "LANG": "en"}
	out, code := runCLI(t, env, "issuer", "add", "--code", "11330106MB1000010X", "--name", "西湖区卫生健康局", "--region", "330106")
	if code != 1 || !strings.Contains(out, "code") {
		t.Fatalf("bad department code: %d %s", code, out)
	}
	const dept = "11330106MB1000010L"
	out, code = runCLI(t, env, "issuer", "add", "--code", dept, "--name", "杭州市西湖区卫生健康局", "--region", "330106")
	if code != 0 || !strings.Contains(out, "certificate serial") || !strings.Contains(out, "--role issuer --authority "+dept) {
		t.Fatalf("issuer add: %d %s", code, out)
	}
	if out, code = runCLI(t, env, "issuer", "add", "--code", dept, "--name", "杭州市西湖区卫生健康局", "--region", "330106"); code != 1 {
		t.Fatalf("issuer add twice: %d %s", code, out)
	}
	typeJSON := `{"code":"11100000MB0143028R201","name":"公共场所卫生许可证","name_en":"Public place hygiene licence",
	 "defined_by":"11100000MB0143028R","defined_by_name":"国家卫生健康委员会","issuers":["` + dept + `"],"validity_years":4,
	 "class":"qualification","items":[{"key":"project","label_zh":"许可项目","label_en":"Licensed activity","kind":"text","required":true,"public":true}]}`
	file := filepath.Join(dir, "type.json")
	os.WriteFile(file, []byte(strings.Replace(typeJSON, `"key":"project"`, `"key":"Project"`, 1)), 0o600)
	out, code = runCLI(t, env, "type", "add", "--file", file)
	if code != 1 || !strings.Contains(out, "items[0].key") {
		t.Fatalf("bad type: %d %s", code, out)
	}
	os.WriteFile(file, []byte(typeJSON), 0o600)
	out, code = runCLI(t, env, "type", "add", "--file", file)
	if code != 0 || !strings.Contains(out, "11100000MB0143028R201") {
		t.Fatalf("type add: %d %s", code, out)
	}
	out, code = runCLI(t, env, "type", "list")
	if code != 0 || !strings.Contains(out, "11100000MB0143028R001\tidentity") || !strings.Contains(out, "11100000MB0143028R201\tqualification\t4y\t1 items\t公共场所卫生许可证\t"+dept) {
		t.Fatalf("type list: %d %s", code, out)
	}
	if _, code = runCLI(t, env, "type", "add"); code != 2 {
		t.Fatalf("type add without --file: %d", code)
	}
	if _, code = runCLI(t, env, "type"); code != 2 {
		t.Fatalf("type without subcommand: %d", code)
	}
}

// TestDemoLoadsLibrary: `elicense demo` (not only serve --demo) loads the licence library's
// demo types, departments and permits, idempotently.
func TestDemoLoadsLibrary(t *testing.T) {
	env := map[string]string{"ELICENSE_DATA": t.TempDir(), "LANG": "en"}
	issued := regexp.MustCompile(`(\d+) 张证照/permits issued \((\d+) existed\)`)
	for i := range 2 {
		out, code := runCLI(t, env, "demo", "-n", "60")
		m := issued.FindStringSubmatch(out)
		if code != 0 || m == nil {
			t.Fatalf("demo: %d %s", code, out)
		}
		if n := m[1+i]; n == "0" { // permits issued the first time, found existing the second
			t.Errorf("run %d: %s", i+1, m[0])
		}
	}
	out, code := runCLI(t, env, "type", "list")
	for _, want := range []string{"食品经营许可证", "建筑业企业资质证书", "排污许可证"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("type list after demo lacks %s: %d %s", want, code, out)
		}
	}
}
