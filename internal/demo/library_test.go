package demo_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/demo"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/library"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/store"
	"github.com/elicense/elicense/internal/uscc"
)

func TestLibraryCodes(t *testing.T) {
	for _, c := range []string{demo.SAMRCode, demo.MOHURDCode, demo.MEECode} {
		if err := uscc.Check(c); err != nil {
			t.Errorf("%s: %v", c, err)
		}
	}
}

func TestLoadLibrary(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the demo register and its permits into a database")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "elicense.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key := make([]byte, 16)
	rand.Read(key)
	sealer, _ := gm.NewSealer(key)
	ks := keys.NewService(db, sealer, nil)
	if err := ks.Init(ctx); err != nil {
		t.Fatal(err)
	}
	licences := license.NewService(license.Config{Store: db, Keys: ks})
	accounts := account.NewService(db, nil)
	opts := demo.Options{Seed: 7, N: 300, Secret: []byte("secret")}
	if _, err := demo.Load(ctx, demo.Deps{Keys: ks, Accounts: accounts, Licences: licences}, opts); err != nil {
		t.Fatal(err)
	}
	lib := library.NewService(library.Config{Store: db, Keys: ks, Licences: licences})
	deps := demo.LibraryDeps{Library: lib, Accounts: accounts}
	sum, err := demo.LoadLibrary(ctx, deps, opts)
	if err != nil {
		t.Fatal(err)
	}
	if sum.TypesCreated != 3 || sum.DepartmentsCreated < 6 || sum.Issued < 60 || sum.Issued > 120 || sum.AlreadyIssued != 0 {
		t.Fatalf("summary: %+v", sum)
	}
	// Every demo entity's permits are signed by their department and verify; every type occurs.
	types := map[string]int{}
	n := 0
	for _, e := range demo.Generate(7, 300) {
		ps, err := lib.ByHolder(ctx, e.Registration.Code, "", "")
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			n++
			types[p.TypeCode]++
			if err := lib.VerifySignature(ctx, p); err != nil {
				t.Fatalf("%s: %v", p.Identifier, err)
			}
			ty, err := lib.Type(ctx, p.TypeCode)
			if err != nil || !slices.Contains(ty.Issuers, p.IssuerCode) || p.HolderName == "" {
				t.Fatalf("%s: type %v, issuer %s", p.Identifier, err, p.IssuerCode)
			}
		}
	}
	if n != sum.Issued || types[demo.FoodTypeCode] == 0 || types[demo.ConstructionTypeCode] == 0 || types[demo.DischargeTypeCode] == 0 {
		t.Fatalf("permits: %d of %d, by type %v", n, sum.Issued, types)
	}
	// Issuer accounts: one per department and the 西湖区 food issuer, who can sign in.
	if len(sum.Accounts) != sum.DepartmentsCreated+1 {
		t.Fatalf("accounts: %d", len(sum.Accounts))
	}
	for _, c := range sum.Accounts {
		a, err := accounts.Login(ctx, c.Username, c.Password)
		if err != nil || a.Role != account.Issuer || a.Authority != c.Authority {
			t.Fatalf("login %s: %v", c.Username, err)
		}
	}
	var out bytes.Buffer
	sum.Print(&out)
	if !strings.Contains(out.String(), "iss-330106-sp") {
		t.Fatalf("print: %s", out.String())
	}
	// Again: nothing new.
	again, err := demo.LoadLibrary(ctx, deps, opts)
	if err != nil {
		t.Fatal(err)
	}
	if again.Issued != 0 || again.AlreadyIssued != sum.Issued || again.TypesExisting != 3 || again.DepartmentsCreated != 0 || again.Accounts[0].Password == "" {
		t.Fatalf("again: %+v", again)
	}
	// The issuer of 西湖区 may change its food licences, and not the others'.
	for _, e := range demo.Generate(7, 300) {
		ps, _ := lib.ByHolder(ctx, e.Registration.Code, "", demo.FoodTypeCode)
		for _, p := range ps {
			_, err := lib.SetStatus(ctx, library.Actor{ID: "x", Department: sum.Accounts[0].Authority}, p.Identifier,
				library.StatusChange{Action: library.Suspend, Reason: "演示"})
			if p.IssuerCode == sum.Accounts[0].Authority && err != nil || p.IssuerCode != sum.Accounts[0].Authority && !errs.Is(err, errs.Forbidden) {
				t.Fatalf("suspend %s issued by %s: %v", p.Identifier, p.IssuerCode, err)
			}
		}
	}
}
