package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/document/doctest"
	"github.com/elicense/elicense/internal/license"
)

// elicense verify reports a document signed on behalf of an entity as the entity's signature,
// not as a licence, and exits 0; a tampered one exits 1.
func TestVerifyEntitySignature(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"ELICENSE_DATA": dir, "LANG": "en"}
	if out, code := runCLI(t, env, "demo", "-n", "10"); code != 0 {
		t.Fatalf("demo: %d %s", code, out)
	}
	ctx := context.Background()
	ap, err := openApp(ctx, Config{Data: dir, TypeCode: license.DefaultTypeCode})
	if err != nil {
		t.Fatal(err)
	}
	ls, _, err := ap.licenses.List(ctx, license.Filter{Limit: 1, Status: license.Active})
	if err != nil || len(ls) == 0 {
		ap.Close()
		t.Fatalf("no active demo licence: %v", err)
	}
	l := ls[0]
	docs := document.NewService(document.Config{Keys: ap.keys, Licences: ap.licenses, PublicURL: "http://localhost"})
	pdf, err := doctest.PDF("采购合同", []string{"甲方：" + l.Face.Name})
	if err != nil {
		t.Fatal(err)
	}
	s, err := docs.SignForEntity(ctx, pdf, document.EntitySigning{Code: l.Code, Name: l.Face.Name, Reason: "采购合同"})
	ap.Close()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "signed.pdf")
	os.WriteFile(file, s.File, 0o600)
	out, code := runCLI(t, env, "verify", file)
	if code != 0 || !strings.Contains(out, "VALID") || !strings.Contains(out, "not a licence") || !strings.Contains(out, l.Code) {
		t.Fatalf("verify: %d\n%s", code, out)
	}
	bad := []byte(strings.Replace(string(s.File), "/Creator", "/Creatox", 1))
	os.WriteFile(file, bad, 0o600)
	if out, code := runCLI(t, env, "verify", file); code != 1 {
		t.Fatalf("tampered verify: %d\n%s", code, out)
	}
}
