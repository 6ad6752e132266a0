package oidc_test

// End-to-end tests of the OpenID Connect provider with a real relying party
// (github.com/coreos/go-oidc/v3 and golang.org/x/oauth2) against the platform served over HTTP
// on 127.0.0.1, with real services on SQLite: the browser and the phone are HTTP clients with
// cookie jars; the phone confirms through the wallet's JSON endpoints with the licence PIN.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/oidc/oidctest"
)

// platform is the provider served on 127.0.0.1 by one or more processes (handlers) behind a
// front that the test can point at either.
type platform struct {
	t      *testing.T
	ctx    context.Context
	url    string
	envs   []*oidctest.Env
	target atomic.Int32 // index of the env the front sends requests to
	n      atomic.Int32 // unique numbers for entities and phones
}

// serve starts the front on a new listener; issuer is its URL.
func listen(t *testing.T) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// "localhost": a WebAuthn relying party ID cannot be an IP address.
	return ln, fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
}

func (p *platform) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.envs[p.target.Load()].Handler.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	p.t.Cleanup(func() { srv.Close() })
}

// newPlatform starts one process on a new SQLite database.
func newPlatform(t *testing.T) *platform {
	t.Helper()
	ln, issuer := listen(t)
	env, err := oidctest.Open(context.Background(), oidctest.Options{Dir: t.TempDir(), Issuer: issuer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	p := &platform{t: t, ctx: context.Background(), url: issuer, envs: []*oidctest.Env{env}}
	p.serve(ln)
	return p
}

func (p *platform) env() *oidctest.Env { return p.envs[p.target.Load()] }

// holder issues a licence and has its legal representative claim it.
func (p *platform) holder() *oidctest.Holder {
	p.t.Helper()
	n := int(p.n.Add(1))
	h, err := p.envs[0].Entity(p.ctx, 100+n, "张"+[]string{"伟", "敏", "静", "磊", "洋", "艳", "勇", "军"}[n%8],
		oidctest.IDNumber(fmt.Sprintf("3301061985%02d%02d%03d", 1+n%12, 1+n%28, 100+n)), fmt.Sprintf("1380000%04d", n), "258036")
	if err != nil {
		p.t.Fatal(err)
	}
	return h
}

// rp is a relying portal: a registered client, go-oidc and oauth2 configured from discovery,
// and an HTTP server for back-channel logout.
type rp struct {
	t        *testing.T
	p        *platform
	client   *oidc.Client
	secret   string
	cfg      oauth2.Config
	provider *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
	srv      *httptest.Server
	logouts  chan *gooidc.LogoutToken
}

// newRP registers a portal (confidential unless public) with a back-channel logout endpoint.
func (p *platform) newRP(name string, public bool, scopes ...string) *rp {
	p.t.Helper()
	r := &rp{t: p.t, p: p, logouts: make(chan *gooidc.LogoutToken, 16)}
	mux := http.NewServeMux()
	r.srv = httptest.NewServer(mux)
	p.t.Cleanup(r.srv.Close)
	grants := []string{oidc.GrantAuthorizationCode, oidc.GrantRefreshToken}
	c, secret, err := p.envs[0].OIDC.RegisterClient(p.ctx, oidc.ClientSpec{Name: name, Department: "杭州市市场监督管理局",
		Region: "330100", RedirectURIs: []string{r.srv.URL + "/callback"}, PostLogoutRedirectURIs: []string{r.srv.URL + "/bye"},
		GrantTypes: grants, Public: public, BackchannelLogoutURI: r.srv.URL + "/backchannel"}, "test")
	if err != nil {
		p.t.Fatal(err)
	}
	r.client, r.secret = c, secret
	if r.provider, err = gooidc.NewProvider(p.ctx, p.url); err != nil {
		p.t.Fatal(err)
	}
	r.verifier = r.provider.Verifier(&gooidc.Config{ClientID: c.ID})
	if len(scopes) == 0 {
		scopes = []string{gooidc.ScopeOpenID, "entity", "entity.person"}
	}
	r.cfg = oauth2.Config{ClientID: c.ID, ClientSecret: secret, Endpoint: r.provider.Endpoint(),
		RedirectURL: r.srv.URL + "/callback", Scopes: scopes}
	mux.HandleFunc("POST /backchannel", func(w http.ResponseWriter, req *http.Request) {
		lt, err := r.verifier.VerifyLogout(req.Context(), req.PostFormValue("logout_token"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.logouts <- lt
		w.WriteHeader(http.StatusOK)
	})
	return r
}

// agent is an HTTP client with cookies that does not follow redirects: the browser or the phone.
type agent struct {
	t    *testing.T
	c    *http.Client
	csrf string // the phone's wallet CSRF token
}

func newAgent(t *testing.T) *agent {
	jar, _ := cookiejar.New(nil)
	return &agent{t: t, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type reply struct {
	status int
	loc    string
	body   []byte
	header http.Header
}

func (a *agent) do(method, u string, body io.Reader, header map[string]string) *reply {
	a.t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		a.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := a.c.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &reply{status: resp.StatusCode, loc: resp.Header.Get("Location"), body: b, header: resp.Header}
}

func (a *agent) get(u string) *reply { return a.do("GET", u, nil, nil) }

func (a *agent) postForm(u string, v url.Values) *reply {
	return a.do("POST", u, strings.NewReader(v.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
}

func (a *agent) postJSON(u string, v any) *reply {
	b, _ := json.Marshal(v)
	return a.do("POST", u, bytes.NewReader(b), map[string]string{"Content-Type": "application/json", "X-CSRF-Token": a.csrf})
}

func (r *reply) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r *reply) expect(t *testing.T, status int) *reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

// phone returns the holder's phone, signed in to the wallet with the session of their
// registration.
func (p *platform) phone(h *oidctest.Holder) *agent {
	a := newAgent(p.t)
	u, _ := url.Parse(p.url + "/wallet/")
	a.c.Jar.SetCookies(u, []*http.Cookie{{Name: "elicense_wallet", Value: h.Wallet, Path: "/wallet/"}})
	a.csrf = h.CSRF
	return a
}

// signIn signs the phone in to the wallet with a one-time code (the clock moves past the
// resend interval of the registration's code first).
func (p *platform) signIn(phone *agent, h *oidctest.Holder) {
	p.t.Helper()
	p.env().Clock.Advance(identity.ResendInterval)
	var start struct {
		CodeID string `json:"code_id"`
	}
	phone.postJSON(p.url+"/wallet/api/login/start", map[string]string{"phone": h.Phone}).expect(p.t, 200).json(p.t, &start)
	var in struct {
		CSRF string `json:"csrf"`
	}
	phone.postJSON(p.url+"/wallet/api/login/confirm", map[string]string{"code_id": start.CodeID,
		"code": p.env().Sender.Code(h.Phone)}).expect(p.t, 200).json(p.t, &in)
	phone.csrf = in.CSRF
}

// login is one authorisation request as the RP makes it.
type login struct {
	state, nonce, verifier string
	authURL                string
}

func (r *rp) start(extra ...oauth2.AuthCodeOption) *login {
	l := &login{state: rand.Text(), nonce: rand.Text(), verifier: oauth2.GenerateVerifier()}
	opts := append([]oauth2.AuthCodeOption{gooidc.Nonce(l.nonce), oauth2.S256ChallengeOption(l.verifier)}, extra...)
	l.authURL = r.cfg.AuthCodeURL(l.state, opts...)
	return l
}

var (
	reQR   = regexp.MustCompile(`data-qr="([^"]+)"`)
	reCSRF = regexp.MustCompile(`data-csrf="([^"]+)"`)
)

// qrPage is the login page as the browser got it.
type qrPage struct{ qr, csrf string }

// toLoginPage follows the authorisation request to the login page and returns its QR code.
func (p *platform) toLoginPage(browser *agent, authURL string) *qrPage {
	p.t.Helper()
	r := browser.get(authURL)
	if r.status != http.StatusFound || !strings.HasPrefix(r.loc, p.url+"/login?authRequest=") {
		p.t.Fatalf("authorize: %d %s %s", r.status, r.loc, r.body)
	}
	page := browser.get(r.loc).expect(p.t, 200)
	qr, csrf := reQR.FindSubmatch(page.body), reCSRF.FindSubmatch(page.body)
	if qr == nil || csrf == nil {
		p.t.Fatalf("no QR on the login page: %s", page.body)
	}
	return &qrPage{qr: string(qr[1]), csrf: string(csrf[1])}
}

// confirm is the phone's side: open the scanned QR, confirm for the entity with the PIN.
func (p *platform) confirm(phone *agent, qr, entity, pin string) *reply {
	p.t.Helper()
	var scan struct {
		Client struct {
			Name string `json:"name"`
		} `json:"client"`
		Choices []struct {
			EntityCode string `json:"entity_code"`
		} `json:"choices"`
	}
	phone.do("GET", p.url+"/wallet/api/scan/"+qr, nil, map[string]string{"X-CSRF-Token": phone.csrf}).expect(p.t, 200).json(p.t, &scan)
	if len(scan.Choices) == 0 || scan.Client.Name == "" {
		p.t.Fatalf("scan view: %+v", scan)
	}
	return phone.postJSON(p.url+"/wallet/api/scan/"+qr+"/confirm", map[string]string{"entity_code": entity, "method": "pin", "pin": pin})
}

// complete is the browser's side after the confirmation: poll, then submit the form; it
// returns the redirect to the portal.
func (p *platform) complete(browser *agent, page *qrPage) *url.URL {
	p.t.Helper()
	var st struct {
		Status string `json:"status"`
	}
	browser.get(p.url+"/login/qr/"+page.qr).expect(p.t, 200).json(p.t, &st)
	if st.Status != "confirmed" {
		p.t.Fatalf("poll: %s", st.Status)
	}
	r := browser.postForm(p.url+"/login/complete", url.Values{"csrf": {page.csrf}, "qr": {page.qr}})
	if r.status != http.StatusSeeOther {
		p.t.Fatalf("complete: %d %s", r.status, r.body)
	}
	u, _ := url.Parse(r.loc)
	return u
}

// callback checks the authorisation response as the portal does: state and issuer (RFC 9207).
func (r *rp) callback(u *url.URL, l *login) (string, error) {
	q := u.Query()
	if got := u.Scheme + "://" + u.Host + u.Path; got != r.cfg.RedirectURL {
		return "", fmt.Errorf("redirected to %s", got)
	}
	if q.Get("state") != l.state {
		return "", fmt.Errorf("state mismatch")
	}
	if q.Get("iss") != r.p.url {
		return "", fmt.Errorf("iss %q", q.Get("iss"))
	}
	if e := q.Get("error"); e != "" {
		return "", fmt.Errorf("error %s: %s", e, q.Get("error_description"))
	}
	return q.Get("code"), nil
}

// claims are the ID token's claims the tests look at.
type claims struct {
	Subject    string   `json:"sub"`
	EntityCode string   `json:"entity_code"`
	EntityName string   `json:"entity_name"`
	EntityKind string   `json:"entity_kind"`
	Status     string   `json:"entity_status"`
	PersonName string   `json:"person_name"`
	Role       string   `json:"role"`
	ACR        string   `json:"acr"`
	AMR        []string `json:"amr"`
	SID        string   `json:"sid"`
	Nonce      string   `json:"nonce"`
	AuthTime   int64    `json:"auth_time"`
}

// exchange redeems the code and verifies the ID token and its nonce as the portal does.
func (r *rp) exchange(code string, l *login) (*oauth2.Token, *claims) {
	r.t.Helper()
	tok, err := r.cfg.Exchange(r.p.ctx, code, oauth2.VerifierOption(l.verifier))
	if err != nil {
		r.t.Fatalf("exchange: %v", err)
	}
	c, err := r.verify(tok, l.nonce)
	if err != nil {
		r.t.Fatal(err)
	}
	return tok, c
}

func (r *rp) verify(tok *oauth2.Token, nonce string) (*claims, error) {
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(r.p.ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("verify id token: %w", err)
	}
	if idt.Nonce != nonce {
		return nil, fmt.Errorf("nonce mismatch")
	}
	var c claims
	if err := idt.Claims(&c); err != nil {
		return nil, err
	}
	return &c, nil
}

// scanLogin runs a whole login by scan into r for h, with a new phone session.
func (p *platform) scanLogin(browser *agent, r *rp, h *oidctest.Holder, extra ...oauth2.AuthCodeOption) (*oauth2.Token, *claims) {
	p.t.Helper()
	l := r.start(extra...)
	page := p.toLoginPage(browser, l.authURL)
	p.confirm(p.phone(h), page.qr, h.Code, h.PIN).expect(p.t, 200)
	code, err := r.callback(p.complete(browser, page), l)
	if err != nil {
		p.t.Fatal(err)
	}
	return r.exchange(code, l)
}

// sso runs a login into r that must finish without any prompt (the browser's SSO session).
func (p *platform) sso(browser *agent, r *rp) (*oauth2.Token, *claims) {
	p.t.Helper()
	l := r.start()
	a := browser.get(l.authURL)
	if a.status != http.StatusFound {
		p.t.Fatalf("authorize: %d %s", a.status, a.body)
	}
	b := browser.get(a.loc)
	if b.status != http.StatusSeeOther {
		p.t.Fatalf("SSO login: %d %s", b.status, b.body)
	}
	u, _ := url.Parse(b.loc)
	code, err := r.callback(u, l)
	if err != nil {
		p.t.Fatal(err)
	}
	return r.exchange(code, l)
}

func (r *rp) userinfo(tok *oauth2.Token) (map[string]any, error) {
	ui, err := r.provider.UserInfo(r.p.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := ui.Claims(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// waitLogout waits for a back-channel logout token for sid.
func (r *rp) waitLogout(sid string) *gooidc.LogoutToken {
	r.t.Helper()
	select {
	case lt := <-r.logouts:
		if lt.SessionID != sid {
			r.t.Fatalf("logout token for sid %s, want %s", lt.SessionID, sid)
		}
		return lt
	case <-time.After(10 * time.Second):
		r.t.Fatalf("no back-channel logout for %s", r.client.Name)
		return nil
	}
}

func TestScanLoginSSOAndLogout(t *testing.T) {
	p := newPlatform(t)
	h := p.holder()
	a := p.newRP("浙江政务服务网", false)
	b := p.newRP("杭州市企业服务平台", true)
	browser := newAgent(t)

	// 1. Login by scan into portal A; the phone signs in to the wallet with a one-time code.
	l := a.start()
	page := p.toLoginPage(browser, l.authURL)
	phone := newAgent(t)
	p.signIn(phone, h)
	p.confirm(phone, page.qr, h.Code, h.PIN).expect(t, 200)
	code, err := a.callback(p.complete(browser, page), l)
	if err != nil {
		t.Fatal(err)
	}
	tokA, ca := a.exchange(code, l)
	if ca.EntityCode != h.Code || ca.EntityName != h.Entity || ca.EntityKind != "company" || ca.Status != "active" {
		t.Errorf("entity claims: %+v", ca)
	}
	if ca.Role != "holder" || ca.PersonName != "张*" || ca.ACR != identity.ACRLicencePIN || len(ca.AMR) != 1 || ca.AMR[0] != "pin" {
		t.Errorf("person claims: %+v", ca)
	}
	if len(ca.Subject) != 52 || ca.SID == "" || ca.AuthTime == 0 {
		t.Errorf("sub/sid/auth_time: %+v", ca)
	}
	ui, err := a.userinfo(tokA)
	if err != nil {
		t.Fatal(err)
	}
	if ui["sub"] != ca.Subject || ui["entity_code"] != h.Code || ui["role"] != "holder" {
		t.Errorf("userinfo: %v", ui)
	}
	// The access token is a JWT with the same claims, checked by the provider.
	info, err := p.env().OIDC.VerifyAccessToken(p.ctx, tokA.AccessToken)
	if err != nil || info.Machine || info.Claims["entity_code"] != h.Code || !info.HasScope("entity") {
		t.Fatalf("access token: %+v %v", info, err)
	}

	// 2. SSO into portal B (a public client): no QR, no phone.
	start := time.Now()
	_, cb := p.sso(browser, b)
	t.Logf("second portal's SSO login: %v", time.Since(start))
	if cb.EntityCode != h.Code || cb.SID != ca.SID || cb.ACR != ca.ACR {
		t.Errorf("SSO claims: %+v", cb)
	}
	// Both portals' redirect URIs are on 127.0.0.1: one sector, one pairwise subject.
	if cb.Subject != ca.Subject {
		t.Errorf("subjects differ within a sector: %s %s", ca.Subject, cb.Subject)
	}

	// 3. RP-initiated logout from A ends the session: both portals get a logout token.
	q := url.Values{"id_token_hint": {tokA.Extra("id_token").(string)}, "post_logout_redirect_uri": {a.srv.URL + "/bye"}, "state": {"s1"}}
	r := browser.get(p.url + oidc.PathEndSession + "?" + q.Encode())
	if r.status != http.StatusFound || r.loc != a.srv.URL+"/bye?state=s1" {
		t.Fatalf("end session: %d %s %s", r.status, r.loc, r.body)
	}
	for _, x := range []*rp{a, b} {
		lt := x.waitLogout(ca.SID)
		if lt.Subject != ca.Subject {
			t.Errorf("logout token sub %s", lt.Subject)
		}
	}
	// The access token is revoked at once, and the browser has no session any more.
	if _, err := a.userinfo(tokA); err == nil {
		t.Error("userinfo works after logout")
	}
	if _, err := p.env().OIDC.VerifyAccessToken(p.ctx, tokA.AccessToken); err == nil {
		t.Error("access token valid after logout")
	}
	p.toLoginPage(browser, b.start().authURL) // a QR again, not a redirect
}

func TestClientRegistrationAPI(t *testing.T) {
	p := newPlatform(t)
	env := p.env()
	ops, err := env.Accounts.Create(p.ctx, "ops", "运维", "correct-horse-battery", "operator", "")
	if err != nil {
		t.Fatal(err)
	}
	token, err := env.Accounts.NewToken(p.ctx, ops.ID, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	api := newAgent(t)
	post := func(body string, bearer string) *reply {
		return api.do("POST", p.url+"/api/v1/clients", strings.NewReader(body),
			map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + bearer})
	}
	var c struct {
		ClientID     string   `json:"client_id"`
		ClientSecret string   `json:"client_secret"`
		Scopes       []string `json:"scopes"`
	}
	post(`{"name":"浙江政务服务网","department":"浙江省大数据发展管理局","region":"330000",
		"redirect_uris":["https://portal.example.cn/cb"],"grant_types":["authorization_code"]}`, token).expect(t, 201).json(t, &c)
	if c.ClientID == "" || !strings.HasPrefix(c.ClientSecret, "elcs_") || strings.Join(c.Scopes, " ") != "openid entity entity.person entity.grants" {
		t.Fatalf("registered: %+v", c)
	}
	stored, err := env.OIDC.Client(p.ctx, c.ClientID)
	if err != nil || string(stored.SecretHash) == c.ClientSecret {
		t.Fatalf("stored: %v", err)
	}
	sum := sha256.Sum256([]byte(c.ClientSecret))
	if !bytes.Equal(stored.SecretHash, sum[:]) {
		t.Error("the secret is not stored as its SHA-256")
	}
	// Validation names each field; non-exact schemes are refused.
	var e struct {
		Error struct {
			Details []struct {
				Field string `json:"field"`
			} `json:"details"`
		} `json:"error"`
	}
	post(`{"name":"","redirect_uris":["http://portal.example.cn/cb","https://x.example.cn/#f"],"grant_types":["authorization_code","implicit"]}`, token).
		expect(t, 400).json(t, &e)
	fields := map[string]bool{}
	for _, d := range e.Error.Details {
		fields[d.Field] = true
	}
	for _, f := range []string{"name", "redirect_uris[0]", "redirect_uris[1]", "grant_types"} {
		if !fields[f] {
			t.Errorf("no error for %s: %+v", f, e)
		}
	}
	post(`{"name":"x","grant_types":["client_credentials"]}`, "elt_wrong").expect(t, 401)
}

func TestRefreshRotationAndReuse(t *testing.T) {
	p := newPlatform(t)
	h := p.holder()
	a := p.newRP("浙江政务服务网", false, gooidc.ScopeOpenID, "entity", gooidc.ScopeOfflineAccess)
	browser := newAgent(t)
	tok, c := p.scanLogin(browser, a, h)
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token with offline_access")
	}
	old := tok.RefreshToken
	refresh := func(rt string) (*oauth2.Token, error) {
		return a.cfg.TokenSource(p.ctx, &oauth2.Token{RefreshToken: rt, Expiry: time.Now().Add(-time.Hour)}).Token()
	}
	next, err := refresh(old)
	if err != nil {
		t.Fatal(err)
	}
	if next.RefreshToken == "" || next.RefreshToken == old || next.AccessToken == tok.AccessToken {
		t.Fatal("refresh did not rotate")
	}
	if c2, err := a.verify(next, ""); err != nil || c2.Subject != c.Subject || c2.EntityCode != h.Code || c2.ACR != c.ACR {
		t.Fatalf("refreshed ID token: %+v %v", c2, err)
	}
	if _, err := a.userinfo(next); err != nil {
		t.Fatal(err)
	}
	// Reuse of the old token: refused, and the whole family is revoked.
	if _, err := refresh(old); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("reuse: %v", err)
	}
	if _, err := refresh(next.RefreshToken); err == nil {
		t.Fatal("the family survived a reuse")
	}
	if _, err := a.userinfo(next); err == nil {
		t.Fatal("access token of the revoked family still works")
	}
}

func TestClientCredentials(t *testing.T) {
	p := newPlatform(t)
	env := p.env()
	c, secret, err := env.OIDC.RegisterClient(p.ctx, oidc.ClientSpec{Name: "市场监管数据共享系统",
		GrantTypes: []string{oidc.GrantClientCredentials}, Scopes: []string{oidc.ScopeSharingQuery, oidc.ScopeSharingVerify}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: secret, TokenURL: p.url + oidc.PathToken,
		Scopes: []string{oidc.ScopeSharingQuery}}
	tok, err := cc.Token(p.ctx)
	if err != nil {
		t.Fatal(err)
	}
	info, err := env.OIDC.VerifyAccessToken(p.ctx, tok.AccessToken)
	if err != nil || !info.Machine || info.ClientID != c.ID || !info.HasScope(oidc.ScopeSharingQuery) || info.HasScope(oidc.ScopeSharingVerify) {
		t.Fatalf("machine token: %+v %v", info, err)
	}
	// Introspection by the client itself.
	var intro map[string]any
	newAgent(t).do("POST", p.url+oidc.PathIntrospect, strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": basic(c.ID, secret)}).
		expect(t, 200).json(t, &intro)
	if intro["active"] != true || intro["scope"] != oidc.ScopeSharingQuery || intro["client_id"] != c.ID {
		t.Errorf("introspection: %v", intro)
	}
	// A scope it was not registered for, and a wrong secret.
	bad := cc
	bad.Scopes = []string{oidc.ScopeSharingDownload}
	if _, err := bad.Token(p.ctx); err == nil || !strings.Contains(err.Error(), "invalid_scope") {
		t.Errorf("unregistered scope: %v", err)
	}
	bad = cc
	bad.ClientSecret = "elcs_wrong"
	if _, err := bad.Token(p.ctx); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("wrong secret: %v", err)
	}

	// private_key_jwt: the client signs an assertion with its own key.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	kc, secret2, err := env.OIDC.RegisterClient(p.ctx, oidc.ClientSpec{Name: "税务数据交换", AuthMethod: oidc.AuthPrivateKeyJWT,
		JWKS: jwks, GrantTypes: []string{oidc.GrantClientCredentials}}, "test")
	if err != nil || secret2 != "" {
		t.Fatalf("register private_key_jwt: %v %q", err, secret2)
	}
	assertion := assert(t, key, kc.ID, p.url+oidc.PathToken)
	form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion": {assertion}, "scope": {oidc.ScopeSharingArchive}}
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	anon := newAgent(t)
	anon.postForm(p.url+oidc.PathToken, form).expect(t, 200).json(t, &tr)
	if tr.TokenType != "Bearer" || tr.ExpiresIn <= 0 {
		t.Errorf("token response: %+v", tr)
	}
	if info, err := env.OIDC.VerifyAccessToken(p.ctx, tr.AccessToken); err != nil || info.ClientID != kc.ID || !info.HasScope(oidc.ScopeSharingArchive) {
		t.Errorf("private_key_jwt token: %+v %v", info, err)
	}
	// The same assertion again is a replay; another key's assertion is refused.
	anon.postForm(p.url+oidc.PathToken, form).expect(t, 401)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	form.Set("client_assertion", assert(t, other, kc.ID, p.url))
	anon.postForm(p.url+oidc.PathToken, form).expect(t, 401)
	// A machine token has no user.
	if r := anon.do("GET", p.url+oidc.PathUserinfo, nil, map[string]string{"Authorization": "Bearer " + tok.AccessToken}); r.status != 401 {
		t.Errorf("userinfo with a machine token: %d", r.status)
	}
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// assert makes a private_key_jwt client assertion (RFC 7523 §3).
func assert(t *testing.T, key *ecdsa.PrivateKey, clientID, aud string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	b, _ := json.Marshal(map[string]any{"iss": clientID, "sub": clientID, "aud": aud, "jti": rand.Text(),
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
	jws, err := signer.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := jws.CompactSerialize()
	return s
}

// authRequestOf starts l's authorisation request again in the browser and returns its ID.
func authRequestOf(t *testing.T, browser *agent, r *rp, l *login) string {
	t.Helper()
	x := browser.get(l.authURL)
	u, err := url.Parse(x.loc)
	if err != nil || u.Query().Get("authRequest") == "" {
		t.Fatalf("authorize: %d %s", x.status, x.loc)
	}
	return u.Query().Get("authRequest")
}

// authorizeError follows an authorisation request that must fail at the portal: it returns
// the error of the redirect.
func (p *platform) authorizeError(browser *agent, r *rp, u string) string {
	p.t.Helper()
	x := browser.get(u)
	if x.status != http.StatusFound {
		p.t.Fatalf("authorize: %d %s", x.status, x.body)
	}
	loc, _ := url.Parse(x.loc)
	if !strings.HasPrefix(x.loc, r.cfg.RedirectURL) {
		p.t.Fatalf("redirected to %s", x.loc)
	}
	return loc.Query().Get("error")
}

func TestAttacksRejected(t *testing.T) {
	p := newPlatform(t)
	h := p.holder()
	a := p.newRP("浙江政务服务网", false)
	browser := newAgent(t)

	t.Run("wrong redirect URI", func(t *testing.T) {
		for _, ru := range []string{a.srv.URL + "/callback/", a.srv.URL + "/other", "https://evil.example/callback", a.srv.URL + "/callback?x=1"} {
			cfg := a.cfg
			cfg.RedirectURL = ru
			r := browser.get(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
			if r.status != http.StatusBadRequest || r.loc != "" {
				t.Errorf("%s: %d %s", ru, r.status, r.loc)
			}
		}
	})

	t.Run("PKCE missing or plain", func(t *testing.T) {
		if e := p.authorizeError(browser, a, a.cfg.AuthCodeURL("s")); e != "invalid_request" {
			t.Errorf("no PKCE: %q", e)
		}
		plain := a.cfg.AuthCodeURL("s", oauth2.SetAuthURLParam("code_challenge", oauth2.GenerateVerifier()),
			oauth2.SetAuthURLParam("code_challenge_method", "plain"))
		if e := p.authorizeError(browser, a, plain); e != "invalid_request" {
			t.Errorf("plain PKCE: %q", e)
		}
	})

	t.Run("prompt=none without session", func(t *testing.T) {
		l := a.start(oauth2.SetAuthURLParam("prompt", "none"))
		x := newAgent(t)
		r := x.get(l.authURL)
		r = x.get(r.loc)
		u, _ := url.Parse(r.loc)
		if r.status != http.StatusSeeOther || u.Query().Get("error") != "login_required" || u.Query().Get("state") != l.state {
			t.Errorf("prompt=none: %d %s", r.status, r.loc)
		}
	})

	// One real login whose code the attacks reuse.
	l := a.start()
	page := p.toLoginPage(browser, l.authURL)
	phone := p.phone(h)

	t.Run("QR confirmed by another account", func(t *testing.T) {
		other := p.holder()
		thief := p.phone(other)
		// The rightful person scans first; the other cannot take the QR over.
		phone.do("GET", p.url+"/wallet/api/scan/"+page.qr, nil, map[string]string{"X-CSRF-Token": phone.csrf}).expect(t, 200)
		thief.do("GET", p.url+"/wallet/api/scan/"+page.qr, nil, map[string]string{"X-CSRF-Token": thief.csrf}).expect(t, 403)
		thief.postJSON(p.url+"/wallet/api/scan/"+page.qr+"/confirm", map[string]string{"entity_code": other.Code, "method": "pin", "pin": other.PIN}).expect(t, 403)
		// Without the session's CSRF token the wallet API refuses.
		phone.do("GET", p.url+"/wallet/api/scan/"+page.qr, nil, nil).expect(t, 403)
	})

	t.Run("wrong PIN", func(t *testing.T) {
		phone.postJSON(p.url+"/wallet/api/scan/"+page.qr+"/confirm", map[string]string{"entity_code": h.Code, "method": "pin", "pin": "135790"}).expect(t, 401)
	})

	p.confirm(phone, page.qr, h.Code, h.PIN).expect(t, 200)

	t.Run("double confirm", func(t *testing.T) {
		phone.postJSON(p.url+"/wallet/api/scan/"+page.qr+"/confirm", map[string]string{"entity_code": h.Code, "method": "pin", "pin": h.PIN}).expect(t, 409)
	})

	t.Run("another browser polls or completes", func(t *testing.T) {
		other := newAgent(t)
		other.get(p.url+"/login/qr/"+page.qr).expect(t, 403)
	})

	callback := p.complete(browser, page)

	t.Run("QR replay", func(t *testing.T) {
		r := browser.postForm(p.url+"/login/complete", url.Values{"csrf": {page.csrf}, "qr": {page.qr}})
		if r.status != http.StatusConflict {
			t.Errorf("second completion: %d", r.status)
		}
		phone.do("GET", p.url+"/wallet/api/scan/"+page.qr, nil, map[string]string{"X-CSRF-Token": phone.csrf}).expect(t, 409)
	})

	t.Run("state and nonce mismatch", func(t *testing.T) {
		forged := *callback
		q := forged.Query()
		q.Set("state", "forged")
		forged.RawQuery = q.Encode()
		if _, err := a.callback(&forged, l); err == nil {
			t.Error("forged state accepted")
		}
		if callback.Query().Get("state") != l.state {
			t.Error("state not echoed exactly")
		}
	})

	code, err := a.callback(callback, l)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("token in URL refused", func(t *testing.T) {
		x := newAgent(t)
		x.get(p.url+oidc.PathUserinfo+"?access_token=abc").expect(t, 400)
		x.postForm(p.url+oidc.PathToken+"?code="+code, url.Values{"grant_type": {"authorization_code"}}).expect(t, 400)
	})

	tok, c := a.exchange(code, l)
	if c.Nonce != l.nonce {
		t.Error("nonce not in the ID token")
	}

	t.Run("nonce mismatch", func(t *testing.T) {
		if _, err := a.verify(tok, "another login's nonce"); err == nil {
			t.Error("nonce mismatch not detected")
		}
	})

	t.Run("code replay revokes", func(t *testing.T) {
		if _, err := a.cfg.Exchange(p.ctx, code, oauth2.VerifierOption(l.verifier)); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("replay: %v", err)
		}
		if _, err := a.userinfo(tok); err == nil {
			t.Error("the first exchange's access token survived the replay")
		}
	})

	t.Run("wrong verifier and expired code", func(t *testing.T) {
		// SSO gives fresh codes without the phone.
		fresh := func() (string, *login) {
			l := a.start()
			x := browser.get(l.authURL)
			y := browser.get(x.loc)
			u, _ := url.Parse(y.loc)
			code, err := a.callback(u, l)
			if err != nil {
				t.Fatal(err)
			}
			return code, l
		}
		code1, _ := fresh()
		if _, err := a.cfg.Exchange(p.ctx, code1, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
			t.Error("wrong verifier accepted")
		}
		if _, err := a.cfg.Exchange(p.ctx, code1); err == nil {
			t.Error("missing verifier accepted")
		}
		code2, l2 := fresh()
		p.env().Clock.Advance(oidc.CodeLifetime + time.Second)
		defer p.env().Clock.Reset()
		if _, err := a.cfg.Exchange(p.ctx, code2, oauth2.VerifierOption(l2.verifier)); err == nil {
			t.Error("expired code accepted")
		}
	})

	t.Run("prompt=login and max_age=0 ask again despite SSO", func(t *testing.T) {
		p.toLoginPage(browser, a.start(oauth2.SetAuthURLParam("prompt", "login")).authURL)
		p.toLoginPage(browser, a.start(oauth2.SetAuthURLParam("max_age", "0")).authURL)
	})

	t.Run("declined on the phone", func(t *testing.T) {
		b2 := newAgent(t)
		l2 := a.start()
		pg := p.toLoginPage(b2, l2.authURL)
		phone.do("GET", p.url+"/wallet/api/scan/"+pg.qr, nil, map[string]string{"X-CSRF-Token": phone.csrf}).expect(t, 200)
		phone.postJSON(p.url+"/wallet/api/scan/"+pg.qr+"/decline", nil).expect(t, 200)
		var st struct {
			Status string `json:"status"`
		}
		b2.get(p.url+"/login/qr/"+pg.qr).expect(t, 200).json(t, &st)
		if st.Status != "declined" {
			t.Fatalf("poll after decline: %s", st.Status)
		}
		b2.postForm(p.url+"/login/complete", url.Values{"csrf": {pg.csrf}, "qr": {pg.qr}}).expect(t, 403)
		// The person goes back to the portal, which learns the login was cancelled.
		r := b2.get(p.url + "/login/cancel?" + url.Values{"authRequest": {authRequestOf(t, b2, a, l2)}}.Encode())
		cu, _ := url.Parse(r.loc)
		if _, err := a.callback(cu, l2); err == nil || !strings.Contains(err.Error(), "access_denied") {
			t.Errorf("cancel: %d %s %v", r.status, r.loc, err)
		}
	})

	t.Run("rate limit on wallet sign-in", func(t *testing.T) {
		x := newAgent(t)
		var last *reply
		for range 12 {
			last = x.postJSON(p.url+"/wallet/api/login/start", map[string]string{"phone": "13900009999"})
		}
		if last.status != http.StatusTooManyRequests || !strings.Contains(string(last.body), "尝试过于频繁") {
			t.Errorf("12th sign-in attempt: %d %s", last.status, last.body)
		}
	})

	t.Run("expired QR", func(t *testing.T) {
		b2 := newAgent(t)
		pg := p.toLoginPage(b2, a.start().authURL)
		p.env().Clock.Advance(identity.QRLifetime + time.Second)
		defer p.env().Clock.Reset()
		phone.do("GET", p.url+"/wallet/api/scan/"+pg.qr, nil, map[string]string{"X-CSRF-Token": phone.csrf}).expect(t, 409)
		var st struct {
			Status string `json:"status"`
		}
		b2.get(p.url+"/login/qr/"+pg.qr).expect(t, 200).json(t, &st)
		if st.Status != "expired" {
			t.Errorf("poll of an expired QR: %s", st.Status)
		}
	})
}

func TestRevokedGrantEndsSession(t *testing.T) {
	p := newPlatform(t)
	env := p.env()
	h := p.holder()
	// The holder grants an agent all business; the agent sets a personal PIN and logs in.
	agentIn, err := env.Person(p.ctx, "李娜", oidctest.IDNumber("33010619900101123"), "13900001111")
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Identity.SetPersonalPIN(p.ctx, agentIn.Session, "", "864209"); err != nil {
		t.Fatal(err)
	}
	g, err := env.Identity.GrantAgent(p.ctx, h.PersonID, h.Code, identity.AgentGrant{Name: "李娜",
		IDNumber: oidctest.IDNumber("33010619900101123"), AllItems: true, Until: time.Now().Add(30 * 24 * time.Hour)},
		identity.Proof{Method: identity.MethodPIN, PIN: h.PIN})
	if err != nil {
		t.Fatal(err)
	}
	agentH := &oidctest.Holder{PersonID: agentIn.Person.ID, Phone: "13900001111", Code: h.Code, PIN: "864209",
		Wallet: agentIn.Cookie, CSRF: agentIn.Session.CSRF}
	a := p.newRP("浙江政务服务网", false, gooidc.ScopeOpenID, "entity", "entity.person", "entity.grants", gooidc.ScopeOfflineAccess)
	browser := newAgent(t)
	tok, c := p.scanLogin(browser, a, agentH)
	if c.Role != "agent" || c.ACR != identity.ACRPersonalPIN {
		t.Fatalf("agent claims: %+v", c)
	}
	ui, err := a.userinfo(tok)
	if err != nil || ui["grant_all"] != true || ui["grant_until"] == nil {
		t.Fatalf("agent userinfo: %v %v", ui, err)
	}
	// The holder revokes the grant: the session, access and refresh tokens end at once, and
	// the portal is told.
	if err := env.Identity.Revoke(p.ctx, h.PersonID, h.Code, g.ID, identity.Proof{Method: identity.MethodPIN, PIN: h.PIN}); err != nil {
		t.Fatal(err)
	}
	a.waitLogout(c.SID)
	if _, err := a.userinfo(tok); err == nil {
		t.Error("access token works after the revocation")
	}
	if _, err := a.cfg.TokenSource(p.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token(); err == nil {
		t.Error("refresh token works after the revocation")
	}
	p.toLoginPage(browser, a.start().authURL) // no SSO any more
}

func TestPushedAuthorizationRequest(t *testing.T) {
	p := newPlatform(t)
	h := p.holder()
	a := p.newRP("浙江政务服务网", false)
	l := a.start()
	u, _ := url.Parse(l.authURL)
	form := u.Query()
	var par struct {
		RequestURI string `json:"request_uri"`
		ExpiresIn  int    `json:"expires_in"`
	}
	x := newAgent(t)
	x.do("POST", p.url+oidc.PathPAR, strings.NewReader(form.Encode()), map[string]string{
		"Content-Type": "application/x-www-form-urlencoded", "Authorization": basic(a.client.ID, a.secret)}).expect(t, 201).json(t, &par)
	if !strings.HasPrefix(par.RequestURI, "urn:ietf:params:oauth:request_uri:") || par.ExpiresIn <= 0 {
		t.Fatalf("PAR: %+v", par)
	}
	// An unauthenticated push is refused.
	x.postForm(p.url+oidc.PathPAR, form).expect(t, 401)
	authURL := p.url + oidc.PathAuthorize + "?" + url.Values{"client_id": {a.client.ID}, "request_uri": {par.RequestURI}}.Encode()
	browser := newAgent(t)
	page := p.toLoginPage(browser, authURL)
	p.confirm(p.phone(h), page.qr, h.Code, h.PIN).expect(t, 200)
	code, err := a.callback(p.complete(browser, page), l)
	if err != nil {
		t.Fatal(err)
	}
	if _, c := a.exchange(code, l); c.EntityCode != h.Code {
		t.Errorf("claims: %+v", c)
	}
	// The request_uri is single use.
	if r := browser.get(authURL); r.status != http.StatusBadRequest {
		t.Errorf("request_uri reused: %d %s", r.status, r.loc)
	}
}

func TestDiscovery(t *testing.T) {
	p := newPlatform(t)
	var d map[string]any
	newAgent(t).get(p.url+oidc.PathDiscovery).expect(t, 200).json(t, &d)
	want := map[string]any{"issuer": p.url, "pushed_authorization_request_endpoint": p.url + oidc.PathPAR,
		"authorization_response_iss_parameter_supported": true, "backchannel_logout_supported": true}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("%s = %v, want %v", k, d[k], v)
		}
	}
	if fmt.Sprint(d["code_challenge_methods_supported"]) != "[S256]" || fmt.Sprint(d["response_types_supported"]) != "[code]" {
		t.Errorf("PKCE/response types: %v %v", d["code_challenge_methods_supported"], d["response_types_supported"])
	}
	var jwks jose.JSONWebKeySet
	newAgent(t).get(p.url+oidc.PathKeys).expect(t, 200).json(t, &jwks)
	if len(jwks.Keys) != 1 || jwks.Keys[0].Algorithm != "ES256" || !jwks.Keys[0].IsPublic() {
		t.Errorf("JWKS: %+v", jwks)
	}
}
