package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/notice"
	"github.com/elicense/elicense/internal/notice/webhook"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/sharing"
	"github.com/elicense/elicense/internal/sharing/permit"
	"github.com/elicense/elicense/internal/web/webtest"
)

// consoleFixture is the web fixture with the sharing and notice services, a department's
// system (an OpenID Connect client allowed to query and verify business licences) and a
// department user bound to it.
type consoleFixture struct {
	*fixture
	h       http.Handler
	notices *notice.Service
	share   *sharing.Service
	client  string
	user    string
}

func newConsoleFixture(t testing.TB) *consoleFixture {
	t.Helper()
	ctx := context.Background()
	f := newFixture(t)
	env := f.env
	cf := &consoleFixture{fixture: f, client: "dept-bank-01", user: "bank-teller"}
	if err := env.DB.CreateOIDCClient(ctx, &oidc.Client{ID: cf.client, AuthMethod: oidc.AuthSecretBasic, Name: "某银行开户系统",
		GrantTypes: []string{oidc.GrantClientCredentials}, CreatedBy: "test", CreatedAt: env.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := env.DB.SetSharingPermission(ctx, &permit.Permission{ClientID: cf.client, TypeCode: env.Licenses.TypeCode(),
		Operations: []permit.Operation{permit.Query, permit.Verify, permit.Archive}, GrantedBy: "test", GrantedAt: env.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Accounts.CreateDepartment(ctx, cf.user, "柜员 李娜", webtest.Password, cf.client); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	share := sharing.NewService(sharing.Config{Store: env.DB, Clients: env.DB, Licences: env.Licenses, Documents: env.Documents,
		Audit: env.Audit, Clock: env.Clock.Now})
	cf.notices = notice.NewService(notice.Config{Store: env.DB, Licences: env.Licenses, Keys: env.Keys, Poster: webhook.New(),
		Clock: env.Clock.Now, Logger: quiet, MaxAttempts: 1, Timeout: 2 * time.Second})
	enableConsent(t, env, share) // archive receipts ("my archive")
	cf.share = share
	share.SetFollower(cf.notices)
	srv, err := newServer(Deps{Licenses: env.Licenses, Keys: env.Keys, Accounts: env.Accounts, Audit: env.Audit,
		Documents: env.Documents, DB: env.DB, Logger: slog.New(slog.NewJSONHandler(f.log, nil)), Clock: env.Clock.Now,
		PublicURL: webtest.PublicURL, Sharing: share, Notices: cf.notices})
	if err != nil {
		t.Fatal(err)
	}
	cf.h = srv.handler()
	return cf
}

// browserClient is an HTTP client with cookies that does not follow redirects.
type browserClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowserClient(t *testing.T, base string) *browserClient {
	jar, _ := cookiejar.New(nil)
	return &browserClient{t: t, base: base, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browserClient) do(method, path string, form url.Values) (int, string, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(page)
}

var consoleCSRFField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of the forms of a page.
func (b *browserClient) csrf(page string) string {
	b.t.Helper()
	m := consoleCSRFField.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no CSRF token in the page: %.300s", page)
	}
	return m[1]
}

// login signs in at the console and returns the CSRF token of the session.
func (b *browserClient) login(user string) string {
	b.t.Helper()
	_, _, page := b.do("GET", "/console/login", nil)
	status, loc, page := b.do("POST", "/console/login", url.Values{"csrf": {b.csrf(page)}, "username": {user},
		"password": {webtest.Password}, "next": {"/console/lookup"}})
	if status != http.StatusSeeOther || loc != "/console/lookup" {
		b.t.Fatalf("sign-in: %d %s %.300s", status, loc, page)
	}
	_, _, page = b.do("GET", "/console/lookup", nil)
	return b.csrf(page)
}

// TestConsole drives the console over HTTP: sign-in by role, a look-up with and without the
// purpose, the call in the history and the audit log, CSRF, the admin pages refused, and a
// failed delivery replayed.
func TestConsole(t *testing.T) {
	cf := newConsoleFixture(t)
	srv := httptest.NewServer(cf.h)
	defer srv.Close()
	ctx := context.Background()

	// Only department accounts may sign in.
	reg := newBrowserClient(t, srv.URL)
	_, _, page := reg.do("GET", "/console/login", nil)
	if status, _, page := reg.do("POST", "/console/login", url.Values{"csrf": {reg.csrf(page)}, "username": {"reg-a"},
		"password": {webtest.Password}}); status != http.StatusForbidden || !strings.Contains(page, "部门账户") {
		t.Errorf("a registrar signing in: %d %.300s", status, page)
	}
	b := newBrowserClient(t, srv.URL)
	if status, loc, _ := b.do("GET", "/console/history", nil); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/login?next=") {
		t.Errorf("without a session: %d %s", status, loc)
	}
	csrf := b.login(cf.user)

	// Search by name: public list data.
	status, _, page := b.do("GET", "/console/lookup?q="+url.QueryEscape("西湖数字"), nil)
	if status != 200 || !strings.Contains(page, cf.validName) || !strings.Contains(page, "/console/lookup?code="+cf.valid) {
		t.Errorf("search: %d %.500s", status, page)
	}
	// The look-up needs the purpose: the form names the missing fields.
	status, _, page = b.do("POST", "/console/lookup", url.Values{"csrf": {csrf}, "code": {cf.valid}})
	if status != http.StatusBadRequest || !strings.Contains(page, `id="ce-use_cause"`) || !strings.Contains(page, `id="ce-case_number"`) {
		t.Errorf("look-up without a purpose: %d %.500s", status, page)
	}
	// Without the CSRF token it is refused.
	if status, _, _ := b.do("POST", "/console/lookup", url.Values{"code": {cf.valid}}); status != http.StatusForbidden {
		t.Errorf("look-up without CSRF: %d", status)
	}
	purpose := url.Values{"csrf": {csrf}, "code": {strings.ToLower(cf.valid)}, "use_cause": {"办理对公账户开户，核验营业执照"},
		"service_item": {"BANK-ACCT-001"}, "case_number": {"KH2026-0001"}}
	status, _, page = b.do("POST", "/console/lookup", purpose)
	if status != 200 || !strings.Contains(page, cf.validName) || !strings.Contains(page, `class="done"`) {
		t.Errorf("look-up: %d %.500s", status, page)
	}
	// Recorded as the client's call, with the purpose; shown in the history.
	evs, err := cf.env.Audit.Find(ctx, audit.Filter{Actor: cf.client, ActionPrefix: "share."})
	if err != nil || len(evs) != 1 || evs[0].Action != "share.list" || evs[0].Subject != cf.valid ||
		!strings.Contains(string(evs[0].Data), "KH2026-0001") {
		t.Fatalf("usage records: %+v %v", evs, err)
	}
	status, _, page = b.do("GET", "/console/history", nil)
	if status != 200 || !strings.Contains(page, "KH2026-0001") || !strings.Contains(page, "查询主体证照") || !strings.Contains(page, cf.valid) {
		t.Errorf("history: %d %.800s", status, page)
	}
	// English.
	if _, _, page := b.do("GET", "/console/history?lang=en", nil); !strings.Contains(page, "Entity&#39;s licences") && !strings.Contains(page, "Entity's licences") {
		t.Errorf("history in English: %.800s", page)
	}

	// A pasted QR content that is not one: result 7, recorded too.
	status, _, page = b.do("POST", "/console/verify", url.Values{"csrf": {csrf}, "token": {"https://example.invalid/v/not-a-token"},
		"use_cause": {"核验二维码"}, "service_item": {"BANK-ACCT-001"}, "case_number": {"KH2026-0002"}})
	if status != 200 || !strings.Contains(page, `data-result="7"`) {
		t.Errorf("verify a bad QR: %d %.500s", status, page)
	}

	// The department's session is no key to the admin pages.
	adm := newBrowserClient(t, srv.URL)
	_, _, page = adm.do("GET", "/admin/login", nil)
	status, loc, _ := adm.do("POST", "/admin/login", url.Values{"csrf": {adm.csrf(page)}, "username": {cf.user}, "password": {webtest.Password},
		"next": {"/admin/licences"}})
	if status != http.StatusSeeOther {
		t.Fatalf("admin sign-in: %d", status)
	}
	if status, _, _ := adm.do("GET", loc, nil); status != http.StatusForbidden {
		t.Errorf("a department account on the admin pages: %d", status)
	}

	// A failed delivery, visible and replayed from the notices page.
	c := &notice.Caller{ClientID: cf.client}
	if _, err := cf.notices.CreateSubscription(ctx, c, notice.SubscriptionRequest{URL: "http://127.0.0.1:1/hook", Entities: []string{cf.valid}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cf.env.Licenses.SetStatus(ctx, license.Actor{ID: cf.regAcct.ID, Authority: cf.authA}, cf.valid,
		license.StatusChange{Action: license.Suspend, Reason: "涉嫌违法经营"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cf.notices.Dispatch(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := cf.notices.Deliver(ctx); err != nil || n != 1 {
		t.Fatalf("deliver: %d %v", n, err)
	}
	ds, _, err := cf.notices.Deliveries(ctx, c, "failed", 0, 10)
	if err != nil || len(ds) != 1 {
		t.Fatalf("failed deliveries: %+v %v", ds, err)
	}
	status, _, page = b.do("GET", "/console/notices", nil)
	if status != 200 || !strings.Contains(page, "/console/notices/deliveries/"+ds[0].ID+"/replay") || !strings.Contains(page, "http://127.0.0.1:1/hook") {
		t.Errorf("notices page: %d %.800s", status, page)
	}
	status, loc, _ = b.do("POST", "/console/notices/deliveries/"+ds[0].ID+"/replay", url.Values{"csrf": {csrf}})
	if status != http.StatusSeeOther || loc != "/console/notices?done=replayed" {
		t.Errorf("replay: %d %s", status, loc)
	}
	if d, err := cf.env.DB.NoticeDelivery(ctx, cf.client, ds[0].ID); err != nil || d.State != notice.Pending {
		t.Errorf("after the replay: %+v %v", d, err)
	}
	// My archive: empty at first (archiving is tested in TestConsoleArchive).
	if status, _, page := b.do("GET", "/console/archive?lang=zh", nil); status != 200 || !strings.Contains(page, "我的存档") ||
		!strings.Contains(page, "本部门还没有存档") {
		t.Errorf("archive: %d", status)
	}
	// Signing out ends the session.
	if status, _, _ := b.do("POST", "/console/logout", url.Values{"csrf": {csrf}}); status != http.StatusSeeOther {
		t.Errorf("sign-out: %d", status)
	}
	if status, _, _ := b.do("GET", "/console/lookup", nil); status != http.StatusSeeOther {
		t.Errorf("after sign-out: %d", status)
	}
}
