package demo_test

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/catalog"
	"github.com/elicense/elicense/internal/demo"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/store"
)

func TestLoadCatalog(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "elicense.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key := make([]byte, 16)
	rand.Read(key)
	sealer, err := gm.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	ks := keys.NewService(db, sealer, nil)
	if err := ks.Init(ctx); err != nil {
		t.Fatal(err)
	}
	ls := license.NewService(license.Config{Store: db, Keys: ks})
	cat := catalog.NewService(catalog.Config{Store: db, BusinessLicenceType: ls.TypeCode()})
	deps := demo.Deps{Keys: ks, Accounts: account.NewService(db, nil), Licences: ls, Catalog: cat}
	events := func() int {
		evs, err := audit.NewLog(db, nil, nil).Find(ctx, audit.Filter{ActionPrefix: "catalog.import"})
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	for run := 0; run < 2; run++ {
		if _, err := demo.Load(ctx, deps, demo.Options{N: 10}); err != nil {
			t.Fatal(err)
		}
		for _, sc := range catalog.Scenarios {
			items, err := cat.Items(ctx, catalog.Query{Scenario: string(sc)})
			if err != nil || len(items) < 2 {
				t.Errorf("run %d: scenario %s has %d items (%v)", run, sc, len(items), err)
			}
		}
		if n := events(); n != 1 {
			t.Errorf("run %d: %d catalogue imports recorded, want 1", run, n)
		}
	}
}
