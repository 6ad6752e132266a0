// Package archtest holds the architecture's dependency rules (docs/architecture.md) as a test,
// so that they survive: leaves import only the standard library (and gm its one crypto
// library), domain packages never import storage, HTTP or SQL, and only cmd wires them.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/elicense/elicense/"

// deps returns the packages pkg imports, directly or not.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", mod+pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func TestDependencyRules(t *testing.T) {
	leaves := map[string][]string{ // package → allowed non-stdlib import prefixes
		"internal/errs":     nil,
		"internal/uscc":     nil,
		"internal/ident":    nil,
		"internal/citizen":  nil,
		"internal/passhash": {"golang.org/x/crypto/", "golang.org/x/sys/"},
		"internal/gm":       {"github.com/emmansun/gmsm", "golang.org/x/"},
	}
	for pkg, allowed := range leaves {
		for _, d := range deps(t, pkg) {
			if !strings.Contains(strings.Split(d, "/")[0], ".") || d == mod+pkg {
				continue // standard library, or itself
			}
			ok := false
			for _, a := range allowed {
				ok = ok || strings.HasPrefix(d, a)
			}
			if !ok {
				t.Errorf("leaf %s imports %s", pkg, d)
			}
		}
	}
	domain := []string{"internal/license", "internal/audit", "internal/keys", "internal/account", "internal/identity"}
	domain = append(domain, "internal/catalog")                           // issue 6: the service catalogue
	domain = append(domain, "internal/sharing/consent")                   // issue 5: consent types
	domain = append(domain, "internal/library")                           // issue 5: the licence library
	domain = append(domain, "internal/signing/signreq", "internal/inbox") // issue 7: signing, inbox
	domain = append(domain, "internal/notice")                            // issue 5: change notices
	domain = append(domain, "internal/present")                           // issue 7: presentation QR
	domain = append(domain, "internal/stats")                             // issue 6: statistics
	forbidden := []string{"database/sql", "net/http", mod + "internal/store", mod + "internal/web",
		"modernc.org/sqlite", "github.com/jackc/pgx"}
	for _, pkg := range domain {
		for _, d := range deps(t, pkg) {
			for _, f := range forbidden {
				if d == f || strings.HasPrefix(d, f+"/") {
					t.Errorf("domain package %s imports %s", pkg, d)
				}
			}
		}
	}
	// Only gm imports the national-crypto library.
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, "github.com/emmansun/gmsm") && f[0] != mod+"internal/gm" {
				t.Errorf("%s imports %s; only internal/gm may", f[0], imp)
			}
		}
	}
}
