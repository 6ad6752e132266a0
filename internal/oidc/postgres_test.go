package oidc_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create the test schema
	"golang.org/x/oauth2"

	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/oidc/oidctest"
)

// PostgreSQL comes from ELICENSE_TEST_POSTGRES (a postgres:// URL, e.g. from scripts/pg.sh), as
// for the storage suite; without it these tests are skipped, unless ELICENSE_REQUIRE_POSTGRES=1,
// which makes them fail.
const (
	envPostgres        = "ELICENSE_TEST_POSTGRES"
	envRequirePostgres = "ELICENSE_REQUIRE_POSTGRES"
)

// postgresDSN creates a schema of its own for the test (dropped afterwards) and returns a DSN
// whose search_path points at it.
func postgresDSN(t *testing.T) string {
	t.Helper()
	base := os.Getenv(envPostgres)
	if base == "" {
		if os.Getenv(envRequirePostgres) == "1" {
			t.Fatalf("%s=1 but %s is not set: PostgreSQL tests cannot run (start one with scripts/pg.sh start DIR)",
				envRequirePostgres, envPostgres)
		}
		t.Skipf("PostgreSQL tests skipped: set %s to a postgres:// URL (scripts/pg.sh start DIR prints one)", envPostgres)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	schema := "elicense_oidc_" + hex.EncodeToString(rnd[:])
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer admin.Close()
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
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

// TestTwoInstancesPostgres runs two platform processes (two web handlers over two *store.DB)
// on one PostgreSQL database behind one address, and moves the traffic between them in the
// middle of every flow: they behave as one.
func TestTwoInstancesPostgres(t *testing.T) {
	dsn := postgresDSN(t)
	ln, issuer := listen(t)
	master := make([]byte, 16)
	_, _ = rand.Read(master)
	shared := oidctest.Options{DSN: dsn, Master: master, Issuer: issuer, Sender: &oidctest.Sender{}, Clock: &oidctest.Clock{}}
	p := &platform{t: t, ctx: context.Background(), url: issuer}
	for range 2 {
		env, err := oidctest.Open(p.ctx, shared)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { env.Close() })
		p.envs = append(p.envs, env)
	}
	p.serve(ln)
	on := func(i int32) { p.target.Store(i) }

	// Both processes sign with the one stored key.
	var k [2]jose.JSONWebKeySet
	for i := range int32(2) {
		on(i)
		newAgent(t).get(issuer+oidc.PathKeys).expect(t, 200).json(t, &k[i])
	}
	if len(k[0].Keys) != 1 || len(k[1].Keys) != 1 || k[0].Keys[0].KeyID != k[1].Keys[0].KeyID {
		t.Fatalf("the processes have different signing keys: %+v %+v", k[0], k[1])
	}

	on(0)
	h := p.holder()
	a := p.newRP("浙江政务服务网", false)
	b := p.newRP("杭州市企业服务平台", false)
	browser := newAgent(t)

	// A scan-to-login started on process 0 …
	l := a.start()
	page := p.toLoginPage(browser, l.authURL)
	// … is confirmed by the phone and completed by the browser on process 1 …
	on(1)
	p.confirm(p.phone(h), page.qr, h.Code, h.PIN).expect(t, 200)
	code, err := a.callback(p.complete(browser, page), l)
	if err != nil {
		t.Fatal(err)
	}
	// … and its code exchanged on process 0, once.
	on(0)
	tok, c := a.exchange(code, l)
	if c.EntityCode != h.Code {
		t.Fatalf("claims: %+v", c)
	}
	on(1)
	if _, err := a.cfg.Exchange(p.ctx, code, oauth2.VerifierOption(l.verifier)); err == nil {
		t.Error("the code was redeemed twice, once per process")
	}
	// The replay revoked the first exchange's token, on both processes.
	if _, err := a.userinfo(tok); err == nil {
		t.Error("token survived a replay on the other process")
	}

	// SSO into portal B on process 1 with the session made on process 1, then log out on
	// process 0: the session ends on both, and both portals are told.
	tokB, cb := p.sso(browser, b)
	if cb.SID != c.SID {
		t.Errorf("SSO on the other process opened another session: %s %s", cb.SID, c.SID)
	}
	on(0)
	if _, err := b.userinfo(tokB); err != nil {
		t.Fatalf("userinfo on process 0 of a token from process 1: %v", err)
	}
	q := url.Values{"id_token_hint": {tokB.Extra("id_token").(string)}}
	if r := browser.get(issuer + oidc.PathEndSession + "?" + q.Encode()); r.status != http.StatusFound {
		t.Fatalf("end session: %d %s", r.status, r.body)
	}
	a.waitLogout(c.SID)
	b.waitLogout(c.SID)
	on(1)
	if _, err := b.userinfo(tokB); err == nil {
		t.Error("token works on process 1 after a logout on process 0")
	}
	p.toLoginPage(browser, a.start().authURL) // process 1 has no SSO session for the browser either
}
