package signing_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
)

// The signing flows on PostgreSQL, from ELICENSE_TEST_POSTGRES (a postgres:// URL, e.g. from
// scripts/pg.sh); skipped without it unless ELICENSE_REQUIRE_POSTGRES=1, which makes them fail.
func TestSignPostgres(t *testing.T) {
	t.Run("pdf", func(t *testing.T) { testSignPDF(t, newPlatformOn(t, postgresDSN(t))) })
	t.Run("refusals", func(t *testing.T) { testRefusals(t, newPlatformOn(t, postgresDSN(t))) })
}

// postgresDSN creates a schema for the test (dropped afterwards) and returns a DSN whose
// search_path points at it.
func postgresDSN(t *testing.T) string {
	t.Helper()
	base := os.Getenv("ELICENSE_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("ELICENSE_REQUIRE_POSTGRES") == "1" {
			t.Fatal("ELICENSE_REQUIRE_POSTGRES=1 but ELICENSE_TEST_POSTGRES is not set")
		}
		t.Skip("PostgreSQL tests skipped: set ELICENSE_TEST_POSTGRES to a postgres:// URL (scripts/pg.sh start DIR prints one)")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	schema := "elicense_sign_" + hex.EncodeToString(rnd[:])
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if admin, err := sql.Open("pgx", base); err == nil {
			admin.Exec("DROP SCHEMA " + schema + " CASCADE")
			admin.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
