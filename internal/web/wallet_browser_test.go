package web

import (
	"context"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/elicense/elicense/internal/browsertest"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/oidc"
)

// walletServer starts the wallet fixture on a loopback port and returns it with the origin
// the browser uses: http://localhost:PORT (WebAuthn needs a domain; localhost is a secure
// context without TLS).
func walletServer(t *testing.T) (*walletFixture, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := "http://localhost:" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
	f := newWalletFixture(t, origin)
	srv := httptest.NewUnstartedServer(f.h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return f, origin
}

// phoneAuthenticator makes the tab a phone with a platform authenticator: a 360×640 touch
// viewport and a virtual CTAP2 authenticator with resident keys and user verification that
// always succeeds (the phone's fingerprint or screen lock).
func phoneAuthenticator(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 640, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
			Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: true, AutomaticPresenceSimulation: true,
		}}); err != nil {
		t.Fatal(err)
	}
}

// fits checks that the page does not scroll sideways at the phone's width.
func fits(t *testing.T, b *browsertest.Browser, what string) {
	t.Helper()
	ok := browsertest.Get(b, 10*time.Second, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
	width := browsertest.Get(b, 10*time.Second, chromedp.Evaluate[int](`window.innerWidth`))
	if width != 360 {
		t.Errorf("%s: the viewport is %d px wide, want 360", what, width)
	}
	if !ok {
		t.Errorf("%s: at 360 px the page overflows horizontally", what)
	}
}

// phoneHolder becomes the fixture's holder in the phone's browser: register, type the
// one-time code, claim the licence with a PIN typed twice (a mismatch first), and bind the
// phone with a passkey (navigator.credentials.create with the server's options, answered by
// the virtual authenticator). With shots, it saves a screenshot of each screen.
func phoneHolder(t *testing.T, b *browsertest.Browser, f *walletFixture, origin string, shots bool) {
	t.Helper()
	text := func(sel string) string {
		t.Helper()
		return strings.TrimSpace(browsertest.Get(b, 10*time.Second, chromedp.Text(chromedp.CSS(sel))))
	}
	shot := func(name, what string) {
		t.Helper()
		fits(t, b, what)
		if shots {
			b.Screenshot(name)
		}
	}

	b.Do(30*time.Second,
		chromedp.Navigate(origin+"/wallet/"),
		chromedp.WaitVisible(chromedp.CSS("#passkey-login")), // the script shows the passkey button
	)
	shot("wallet-01-signin", "sign-in")
	b.Do(30*time.Second,
		chromedp.Click(chromedp.CSS(`a[href^="/wallet/register"]`)),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "张三"),
		chromedp.SendKeys(chromedp.CSS("#id_number"), holderID),
		chromedp.SendKeys(chromedp.CSS("#phone"), f.holderPhone),
	)
	shot("wallet-02-register", "register")
	b.Do(30*time.Second,
		chromedp.Click(chromedp.CSS(`form[action="/wallet/register"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	)
	shot("wallet-03-code", "code")
	b.Do(30*time.Second,
		chromedp.SendKeys(chromedp.CSS("#code"), f.codes.code(f.holderPhone)),
		chromedp.Click(chromedp.CSS(`form[action="/wallet/code"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#h-claimable")),
	)
	if s := text("p.done"); !strings.Contains(s, "注册成功") {
		t.Errorf("after registering the page says %q", s)
	}
	shot("wallet-04-home", "home")

	pin, pin2 := "#pin-"+f.code, "#pin2-"+f.code
	b.Do(30*time.Second,
		chromedp.Click(chromedp.CSS(`a[href="/wallet/claim"]`)),
		chromedp.WaitVisible(chromedp.CSS(pin)),
		chromedp.SendKeys(chromedp.CSS(pin), f.holderPIN),
		chromedp.SendKeys(chromedp.CSS(pin2), "860428"),
		chromedp.Click(chromedp.CSS(`form:has(`+pin+`) button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(pin2+"-error")),
	)
	if s := text(pin2 + "-error"); !strings.Contains(s, "不一致") {
		t.Errorf("the mismatch is shown as %q", s)
	}
	shot("wallet-05-claim-error", "claim")
	b.Do(30*time.Second,
		chromedp.SendKeys(chromedp.CSS(pin), f.holderPIN),
		chromedp.SendKeys(chromedp.CSS(pin2), f.holderPIN),
		chromedp.Click(chromedp.CSS(`form:has(`+pin+`) button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("dl.face")),
	)
	if s := text("p.done"); !strings.Contains(s, "领照成功") {
		t.Errorf("after claiming the page says %q", s)
	}
	shot("wallet-06-licence", "licence")

	b.Do(30*time.Second,
		chromedp.Click(chromedp.CSS(`a[href="/wallet/devices"].button`)),
		chromedp.WaitVisible(chromedp.CSS("#bind-passkey")),
	)
	shot("wallet-07-devices", "devices")
	b.Do(30*time.Second,
		chromedp.Click(chromedp.CSS("#bind-passkey")),
		chromedp.WaitVisible(chromedp.CSS("li.device")),
	)
	if s := text("p.done"); !strings.Contains(s, "本机已绑定") {
		t.Errorf("after binding the page says %q (status: %q)", s, text("#bind-status"))
	}
	devs, err := f.ids.Devices(context.Background(), f.lookupPersonByPhone(t))
	if err != nil || len(devs) != 1 {
		t.Fatalf("devices after binding: %d %v", len(devs), err)
	}
	shot("wallet-08-bound", "bound")
}

// TestBrowserWallet runs the holder's side of issue 4 in a phone-sized Chromium (360×640) with
// a virtual WebAuthn authenticator: register, claim, bind the passkey (phoneHolder); confirm a
// scanned login QR with the passkey and decline another; appoint an administrator with the
// licence PIN and remove them with the passkey; sign out and in again with the passkey alone;
// switch to English. Screenshots of each screen go to $ELICENSE_ARTIFACTS.
func TestBrowserWallet(t *testing.T) {
	b := browsertest.New(t, 360, 640)
	f, origin := walletServer(t)
	phoneAuthenticator(t, b.Ctx)
	text := func(sel string) string {
		t.Helper()
		return strings.TrimSpace(browsertest.Get(b, 10*time.Second, chromedp.Text(chromedp.CSS(sel))))
	}
	phoneHolder(t, b, f, origin, true)

	// A login QR (as the platform's login page makes one), opened by the phone as its camera
	// would, confirmed with the passkey.
	qr, browser := f.scanQR(t)
	b.Do(30*time.Second,
		chromedp.Navigate(origin+"/wallet/scan/"+qr),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/confirm"] button[data-passkey]`)),
	)
	if s := text("#portal-name"); s != f.portal.Name {
		t.Errorf("the scan page names the portal %q", s)
	}
	fits(t, b, "scan")
	b.Screenshot("wallet-09-scan")
	b.Do(30*time.Second,
		chromedp.Click(chromedp.CSS(`form[action$="/confirm"] button[data-passkey]`)),
		chromedp.WaitVisible(chromedp.CSS(`#scan-result[data-status="confirmed"]`)),
	)
	b.Screenshot("wallet-10-confirmed")
	id, err := f.ids.Consume(context.Background(), qr, browser)
	if err != nil || id.EntityCode != f.code || id.ACR != identity.ACRPasskey || id.Role != identity.RoleHolder {
		t.Fatalf("the portal gets %+v %v", id, err)
	}

	// Decline.
	qr, browser = f.scanQR(t)
	b.Do(30*time.Second,
		chromedp.Navigate(origin+"/wallet/scan/"+qr),
		chromedp.Click(chromedp.CSS("#scan-decline")),
		chromedp.WaitVisible(chromedp.CSS(`#scan-result[data-status="declined"]`)),
	)
	b.Screenshot("wallet-11-declined")
	if st, err := f.ids.Poll(context.Background(), qr, browser); err != nil || st.Status != identity.QRDeclined {
		t.Errorf("after declining the QR is %+v %v", st, err)
	}

	// Staff: appoint an administrator with the licence PIN, then remove them with the passkey.
	ctx := context.Background()
	admin := f.otherPersonIDs[0]
	pend, err := f.ids.Register(ctx, "王五", admin, "13700137000")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ids.ConfirmPhone(ctx, pend.CodeID, f.codes.code("13700137000")); err != nil {
		t.Fatal(err)
	}
	b.Do(30*time.Second,
		chromedp.Navigate(origin+"/wallet/licences/"+f.code+"/members"),
		chromedp.Click(chromedp.CSS("#h-appoint")),
		chromedp.WaitVisible(chromedp.CSS("#appoint-name")),
		chromedp.SendKeys(chromedp.CSS("#appoint-name"), "王五"),
		chromedp.SendKeys(chromedp.CSS("#appoint-id"), admin),
		chromedp.SendKeys(chromedp.CSS("#appoint-pin"), f.holderPIN),
		chromedp.Click(chromedp.CSS(`#appoint button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("li.member")),
	)
	if s := text("p.done"); !strings.Contains(s, "已任命") {
		t.Errorf("after appointing the page says %q", s)
	}
	fits(t, b, "members")
	b.Screenshot("wallet-12-members")
	b.Do(30*time.Second,
		chromedp.Click(chromedp.CSS("li.member details summary")),
		chromedp.Click(chromedp.CSS("li.member form button[data-passkey]")),
		chromedp.WaitVisible(chromedp.CSS(`li.member .badge.bad`)),
	)
	if s := text("p.done"); !strings.Contains(s, "已撤销") {
		t.Errorf("after revoking the page says %q", s)
	}
	b.Screenshot("wallet-13-revoked")

	// Sign out, and in again with the passkey alone.
	b.Do(30*time.Second,
		chromedp.Navigate(origin+"/wallet/pin"),
		chromedp.Click(chromedp.CSS(`form[action="/wallet/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#passkey-login")),
		chromedp.Click(chromedp.CSS("#passkey-login")),
		chromedp.WaitVisible(chromedp.CSS("#h-held")),
	)
	if s := text("p.done"); !strings.Contains(s, "已登录") {
		t.Errorf("after the passkey sign-in the page says %q", s)
	}
	b.Screenshot("wallet-14-passkey-signin")

	// English.
	b.Do(30*time.Second,
		chromedp.Click(chromedp.CSS("a.lang")),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #h-held`)),
	)
	if s := text("#h-held"); s != "Licences I hold" {
		t.Errorf("in English the section is %q", s)
	}
	fits(t, b, "home-en")
	b.Screenshot("wallet-15-home-en")
}

// TestBrowserScanToLogin is issue 4's test with two browser contexts. A desktop browser (its
// own profile and cookies) opens a demo portal, which sends it to the platform's login page with
// a one-time QR code; the phone (360×640, virtual authenticator, the holder signed in) opens the
// address the QR code carries, as its camera would, sees which portal asks, and confirms with
// the passkey; the login page notices and the desktop ends logged in at the portal, whose ID
// token carries the entity. The desktop is a separate browser: a second window of one headless
// browser paints no frames to capture while the other is in front.
func TestBrowserScanToLogin(t *testing.T) {
	phone := browsertest.New(t, 360, 640)
	f, origin := walletServer(t)
	phoneAuthenticator(t, phone.Ctx)
	phoneHolder(t, phone, f, origin, false)
	rp := newDemoRP(t, f, origin)

	desktop := browsertest.New(t, 1280, 900)
	desktop.Do(30*time.Second,
		chromedp.Navigate(rp.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#qr-image")),
	)
	desktop.Screenshot("login-01-desktop-qr")
	qrURL := browsertest.Get(desktop, 10*time.Second, chromedp.Evaluate[string](`document.getElementById("qr-link").href`))
	if !strings.HasPrefix(qrURL, origin+"/wallet/scan/") {
		t.Fatalf("the QR code carries %q", qrURL)
	}

	phone.Do(30*time.Second,
		chromedp.Navigate(qrURL),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/confirm"] button[data-passkey]`)),
	)
	for sel, want := range map[string]string{"#portal-name": rp.name, "#portal-department": rp.department, "#portal-region": "浙江省"} {
		if got := strings.TrimSpace(browsertest.Get(phone, 10*time.Second, chromedp.Text(chromedp.CSS(sel)))); got != want {
			t.Errorf("the phone shows %s = %q, want %q", sel, got, want)
		}
	}
	fits(t, phone, "scan")
	phone.Screenshot("login-02-phone-scan")
	phone.Do(30*time.Second,
		chromedp.Click(chromedp.CSS(`form[action$="/confirm"] button[data-passkey]`)),
		chromedp.WaitVisible(chromedp.CSS(`#scan-result[data-status="confirmed"]`)),
	)
	phone.Screenshot("login-03-phone-confirmed")

	if err := waitFor(desktop.Ctx, 30*time.Second, "#rp-entity"); err != nil {
		desktop.Screenshot("login-04-desktop-failed")
		loc := browsertest.Get(desktop, 10*time.Second, chromedp.Location())
		body := browsertest.Get(desktop, 10*time.Second, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("the desktop did not end logged in at the portal: %v; it is at %s showing:\n%s", err, loc, body)
	}
	desktop.Screenshot("login-04-desktop-logged-in")
	for sel, want := range map[string]string{"#rp-entity": f.code, "#rp-entity-name": f.name, "#rp-role": "holder",
		"#rp-acr": identity.ACRPasskey, "#rp-person": "张*"} {
		if got := strings.TrimSpace(browsertest.Get(desktop, 10*time.Second, chromedp.Text(chromedp.CSS(sel)))); got != want {
			t.Errorf("the portal shows %s = %q, want %q", sel, got, want)
		}
	}
}

// lookupPersonByPhone returns the ID of the fixture's holder.
func (f *walletFixture) lookupPersonByPhone(t *testing.T) string {
	t.Helper()
	p, err := f.env.DB.PersonByPhone(context.Background(), f.holderPhone)
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// waitFor waits until the element sel is visible, returning the error instead of failing.
func waitFor(ctx context.Context, d time.Duration, sel string) error {
	c, stop := context.WithTimeout(ctx, d)
	defer stop()
	return chromedp.Do(c, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// demoRP is a portal (relying party) as a department would run one: a confidential client of
// the platform's OpenID Connect provider using github.com/coreos/go-oidc and x/oauth2, with
// state, nonce and PKCE. Its home page starts a login; its callback exchanges the code, verifies
// the ID token and shows the entity it carries.
type demoRP struct {
	URL, name, department string
	conf                  *oauth2.Config
	verifier              *gooidc.IDTokenVerifier
	mu                    sync.Mutex
	pending               map[string][2]string // state → PKCE verifier, nonce
}

func newDemoRP(t *testing.T, f *walletFixture, issuer string) *demoRP {
	t.Helper()
	ctx := context.Background()
	rp := &demoRP{name: "浙江政务服务网（演示）", department: "浙江省大数据发展管理局", pending: map[string][2]string{}}
	srv := httptest.NewServer(http.HandlerFunc(rp.serve))
	t.Cleanup(srv.Close)
	rp.URL = srv.URL
	c, secret, err := f.oidc.RegisterClient(ctx, oidc.ClientSpec{Name: rp.name, Department: rp.department, Region: "浙江省",
		RedirectURIs: []string{srv.URL + "/callback"}, GrantTypes: []string{"authorization_code"}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	p, err := gooidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("discovery at %s: %v", issuer, err)
	}
	rp.conf = &oauth2.Config{ClientID: c.ID, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: srv.URL + "/callback",
		Scopes: []string{gooidc.ScopeOpenID, identity.ScopeEntity, identity.ScopeEntityPerson}}
	rp.verifier = p.Verifier(&gooidc.Config{ClientID: c.ID})
	return rp
}

var rpPage = template.Must(template.New("").Parse(`<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>演示门户</title></head><body>
{{if .Err}}<p id="rp-error">{{.Err}}</p>{{else}}<h1>已登录 · {{.Name}}</h1>
<dl><dt>entity_code</dt><dd id="rp-entity">{{.Claims.entity_code}}</dd><dt>entity_name</dt><dd id="rp-entity-name">{{.Claims.entity_name}}</dd>
<dt>role</dt><dd id="rp-role">{{.Claims.role}}</dd><dt>acr</dt><dd id="rp-acr">{{.Claims.acr}}</dd>
<dt>person_name</dt><dd id="rp-person">{{.Claims.person_name}}</dd><dt>sub</dt><dd id="rp-sub">{{.Claims.sub}}</dd></dl>{{end}}
</body></html>`))

func (rp *demoRP) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/":
		state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
		rp.mu.Lock()
		rp.pending[state] = [2]string{verifier, nonce}
		rp.mu.Unlock()
		http.Redirect(w, r, rp.conf.AuthCodeURL(state, gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
	case "/callback":
		data := struct {
			Name, Err string
			Claims    map[string]any
		}{Name: rp.name}
		rp.mu.Lock()
		p, ok := rp.pending[r.URL.Query().Get("state")]
		delete(rp.pending, r.URL.Query().Get("state"))
		rp.mu.Unlock()
		switch {
		case !ok:
			data.Err = "unknown state"
		case r.URL.Query().Get("error") != "":
			data.Err = r.URL.Query().Get("error") + ": " + r.URL.Query().Get("error_description")
		default:
			data.Err = rp.exchange(r.Context(), r.URL.Query().Get("code"), p[0], p[1], &data.Claims)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = rpPage.Execute(w, data)
	default:
		http.NotFound(w, r)
	}
}

// exchange redeems the code and verifies the ID token; it returns what went wrong, or "".
func (rp *demoRP) exchange(ctx context.Context, code, verifier, nonce string, claims *map[string]any) string {
	tok, err := rp.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return "token: " + err.Error()
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.verifier.Verify(ctx, raw)
	if err != nil {
		return "id token: " + err.Error()
	}
	if idt.Nonce != nonce {
		return "nonce mismatch"
	}
	if err := idt.Claims(claims); err != nil {
		return err.Error()
	}
	return ""
}
