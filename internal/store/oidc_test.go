package store

import (
	"context"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/oidc"
)

// The OpenID Connect provider's storage (oidc.go): the single-use and compare-and-set rules
// hold on both databases, also across two handles on one database (two processes).

func testLogin(person, entity, device string) oidc.Login {
	return oidc.Login{PersonID: person, EntityCode: entity, Role: "holder", ACR: "urn:elicense:acr:licence-pin",
		AMR: []string{"pin"}, DeviceID: device, AuthTime: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)}
}

func TestOIDCClientsAndCodes(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		now := d.clock.Now()
		c := &oidc.Client{ID: "c1", SecretHash: []byte("0123456789abcdef0123456789abcdef"), AuthMethod: oidc.AuthSecretBasic,
			Name: "浙江政务服务网", RedirectURIs: []string{"https://p.example.cn/cb"}, GrantTypes: []string{oidc.GrantAuthorizationCode},
			Scopes: []string{"openid", "entity"}, SectorID: "p.example.cn", CreatedBy: "test", CreatedAt: now}
		if err := d.CreateOIDCClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := d.CreateOIDCClient(ctx, c); !errs.Is(err, errs.Conflict) {
			t.Fatalf("duplicate client: %v", err)
		}
		got, err := d.OIDCClient(ctx, "c1")
		if err != nil || got.Name != c.Name || got.RedirectURIs[0] != c.RedirectURIs[0] || string(got.SecretHash) != string(c.SecretHash) {
			t.Fatalf("client: %+v %v", got, err)
		}
		if _, err := d.OIDCClient(ctx, "nope"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("unknown client: %v", err)
		}

		a := &oidc.AuthRequest{ID: "ar1", ClientID: "c1", Params: oidc.Params{RedirectURI: c.RedirectURIs[0], Scopes: []string{"openid"},
			State: "s", CodeChallenge: "x", CodeChallengeMethod: "S256"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := d.CreateAuthRequest(ctx, a); err != nil {
			t.Fatal(err)
		}
		sess := &oidc.Session{ID: "sid1", CookieHash: []byte("cookie-hash-1"), Login: testLogin("p1", "E1", ""), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := d.CreateSSOSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		l := sess.Login
		a.Login, a.SessionID, a.Subject, a.DoneAt, a.CodeHash, a.CodeExpiresAt = &l, "sid1", "sub1", now, []byte("code-hash-1"), now.Add(time.Minute)
		if err := d.CompleteAuthRequest(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := d.CompleteAuthRequest(ctx, a); !errs.Is(err, errs.Conflict) {
			t.Fatalf("completed twice: %v", err)
		}
		// Of concurrent uses of a code (on two handles), exactly one gets it.
		other := d.open(t)
		var wins, replays int
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db := d.DB
				if i%2 == 1 {
					db = other
				}
				got, err := db.UseAuthCode(ctx, []byte("code-hash-1"), now)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && got.Login.PersonID == "p1" && got.SessionID == "sid1":
					wins++
				case errs.Is(err, errs.Conflict) && got != nil && got.ID == "ar1":
					replays++
				default:
					t.Errorf("use code: %+v %v", got, err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 || replays != 7 {
			t.Fatalf("code used %d times, %d replays", wins, replays)
		}
		if _, err := d.UseAuthCode(ctx, []byte("unknown"), now); !errs.Is(err, errs.NotFound) {
			t.Fatalf("unknown code: %v", err)
		}
		ss, err := d.SessionsOfSubject(ctx, "c1", "sub1")
		if err != nil || len(ss) != 1 || ss[0].ID != "sid1" {
			t.Fatalf("sessions of subject: %+v %v", ss, err)
		}

		// Pushed requests are single use.
		pr := &oidc.PushedRequest{ID: "par1", ClientID: "c1", Form: url.Values{"scope": {"openid"}}, ExpiresAt: now.Add(time.Minute)}
		if err := d.CreatePushedRequest(ctx, pr); err != nil {
			t.Fatal(err)
		}
		if got, err := other.TakePushedRequest(ctx, "par1"); err != nil || got.Form.Get("scope") != "openid" {
			t.Fatalf("take: %+v %v", got, err)
		}
		if _, err := d.TakePushedRequest(ctx, "par1"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("taken twice: %v", err)
		}

		// Assertions and rate limits are shared by every handle.
		if err := d.UseAssertion(ctx, "c1", "jti1", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := other.UseAssertion(ctx, "c1", "jti1", now.Add(time.Minute)); !errs.Is(err, errs.Conflict) {
			t.Fatalf("replayed assertion: %v", err)
		}
		for i := 1; i <= 3; i++ {
			db := d.DB
			if i == 2 {
				db = other
			}
			if n, err := db.CountHit(ctx, "k", now.Truncate(time.Minute)); err != nil || n != i {
				t.Fatalf("hit %d: %d %v", i, n, err)
			}
		}
		if err := d.PurgeOIDC(ctx, now.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := d.AuthRequest(ctx, "ar1"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("purged request: %v", err)
		}
	})
}

func TestOIDCTokensAndRevoke(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		now := d.clock.Now()
		exp := now.Add(time.Hour)
		mkSession := func(id, person, entity, device string) {
			s := &oidc.Session{ID: id, CookieHash: []byte("ck-" + id), Login: testLogin(person, entity, device), CreatedAt: now, ExpiresAt: exp}
			if err := d.CreateSSOSession(ctx, s); err != nil {
				t.Fatal(err)
			}
			a := &oidc.AuthRequest{ID: "ar-" + id, ClientID: "c1", CreatedAt: now, ExpiresAt: exp}
			if err := d.CreateAuthRequest(ctx, a); err != nil {
				t.Fatal(err)
			}
			a.Login, a.SessionID, a.Subject, a.DoneAt, a.CodeHash, a.CodeExpiresAt = &s.Login, id, "sub-"+person, now, []byte("code-"+id), exp
			if err := d.CompleteAuthRequest(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		mkTokens := func(n, session, person, entity, device string) {
			l := testLogin(person, entity, device)
			f := &oidc.RefreshFamily{ID: "f" + n, ClientID: "c1", SessionID: session, AuthRequestID: "ar-" + session, Subject: "sub",
				Scopes: []string{"openid", "offline_access"}, Login: l, CreatedAt: now, ExpiresAt: exp}
			rt := &oidc.RefreshToken{Hash: []byte("rt" + n), FamilyID: f.ID, CreatedAt: now, ExpiresAt: exp}
			at := &oidc.AccessToken{ID: "u_at" + n, ClientID: "c1", FamilyID: f.ID, SessionID: session, AuthRequestID: "ar-" + session,
				Subject: "sub", Scopes: f.Scopes, Login: l, CreatedAt: now, ExpiresAt: exp}
			if err := d.CreateTokens(ctx, at, f, rt); err != nil {
				t.Fatal(err)
			}
		}
		mkSession("s1", "p1", "E1", "dev1")
		mkSession("s2", "p1", "E2", "")
		mkSession("s3", "p2", "E1", "")
		mkTokens("1", "s1", "p1", "E1", "dev1")
		mkTokens("2", "s2", "p1", "E2", "")
		mkTokens("3", "s3", "p2", "E1", "")

		// Rotation is a compare-and-set: the second rotation of one token fails.
		next := &oidc.RefreshToken{Hash: []byte("rt1b"), FamilyID: "f1", CreatedAt: now, ExpiresAt: exp}
		at := &oidc.AccessToken{ID: "u_at1b", ClientID: "c1", FamilyID: "f1", SessionID: "s1", Login: testLogin("p1", "E1", "dev1"), CreatedAt: now, ExpiresAt: exp}
		if err := d.RotateRefreshToken(ctx, []byte("rt1"), now, next, at); err != nil {
			t.Fatal(err)
		}
		again := &oidc.RefreshToken{Hash: []byte("rt1c"), FamilyID: "f1", CreatedAt: now, ExpiresAt: exp}
		at2 := *at
		at2.ID = "u_at1c"
		if err := d.open(t).RotateRefreshToken(ctx, []byte("rt1"), now, again, &at2); !errs.Is(err, errs.Conflict) {
			t.Fatalf("rotated twice: %v", err)
		}
		if _, err := d.AccessToken(ctx, "u_at1c"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("the failed rotation stored its access token: %v", err)
		}
		rt, f, err := d.RefreshToken(ctx, []byte("rt1"))
		if err != nil || rt.UsedAt.IsZero() || f.ID != "f1" || f.Login.DeviceID != "dev1" {
			t.Fatalf("used token: %+v %+v %v", rt, f, err)
		}

		// Revoking a person for one entity ends only that: session s1, its family and tokens,
		// with the portals to notify.
		ended, err := d.Revoke(ctx, oidc.Revocation{PersonID: "p1", EntityCode: "E1"}, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(ended) != 1 || ended[0].Session.ID != "s1" || len(ended[0].Clients) != 1 || ended[0].Clients[0].Subject != "sub-p1" {
			t.Fatalf("ended: %+v", ended)
		}
		for id, revoked := range map[string]bool{"u_at1": true, "u_at1b": true, "u_at2": false, "u_at3": false} {
			at, err := d.AccessToken(ctx, id)
			if err != nil || at.RevokedAt.IsZero() == revoked {
				t.Errorf("access token %s revoked=%v: %+v %v", id, revoked, at, err)
			}
		}
		if _, f, _ := d.RefreshToken(ctx, []byte("rt1b")); f.RevokedAt.IsZero() {
			t.Error("family f1 not revoked")
		}
		if _, f, _ := d.RefreshToken(ctx, []byte("rt2")); !f.RevokedAt.IsZero() {
			t.Error("family f2 revoked")
		}
		// A second revocation ends nothing more; a family alone leaves sessions alone.
		if ended, err := d.Revoke(ctx, oidc.Revocation{PersonID: "p1", EntityCode: "E1"}, now); err != nil || len(ended) != 0 {
			t.Fatalf("again: %+v %v", ended, err)
		}
		if ended, err := d.Revoke(ctx, oidc.Revocation{FamilyID: "f3"}, now); err != nil || len(ended) != 0 {
			t.Fatalf("family: %+v %v", ended, err)
		}
		if s, _ := d.SSOSessionByID(ctx, "s3"); !s.EndedAt.IsZero() {
			t.Error("revoking a family ended its session")
		}
		if at, _ := d.AccessToken(ctx, "u_at3"); at.RevokedAt.IsZero() {
			t.Error("revoking a family kept its access token")
		}
		// By session: the session, and the tokens issued in it.
		if ended, err := d.Revoke(ctx, oidc.Revocation{SessionID: "s2"}, now); err != nil || len(ended) != 1 {
			t.Fatalf("session: %+v %v", ended, err)
		}
		if at, _ := d.AccessToken(ctx, "u_at2"); at.RevokedAt.IsZero() {
			t.Error("revoking a session kept its access token")
		}
		if _, err := d.Revoke(ctx, oidc.Revocation{}, now); err == nil {
			t.Error("an empty revocation was accepted")
		}
	})
}
