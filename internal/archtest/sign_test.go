package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

// The signing service (internal/signing) is domain code, but it uses the document service, whose
// PDF signing library imports net/http (for time-stamp servers it is never given), so the rule
// on all dependencies cannot hold for it. Its own imports are held to the domain rule instead:
// no storage, HTTP or SQL, and no OpenID Connect provider (the web layer authenticates portals).
func TestSigningImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{join .Imports \" \"}}", mod+"internal/signing").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{"database/sql", "net/http", mod + "internal/store", mod + "internal/web", mod + "internal/oidc",
		"modernc.org/sqlite", "github.com/jackc/pgx"}
	for _, imp := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if imp == f || strings.HasPrefix(imp, f+"/") {
				t.Errorf("internal/signing imports %s", imp)
			}
		}
	}
}
