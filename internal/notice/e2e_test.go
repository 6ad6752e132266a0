package notice_test

// End-to-end tests of change notices: real services on SQLite (internal/oidc/oidctest), real
// licence changes, the HTTP API with real client-credentials tokens, and webhook receivers on
// 127.0.0.1 that verify the SM2 signature with the certificate the platform publishes.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/notice"
	"github.com/elicense/elicense/internal/notice/webhook"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/oidc/oidctest"
	"github.com/elicense/elicense/internal/sharing"
	"github.com/elicense/elicense/internal/sharing/permit"
	"github.com/elicense/elicense/internal/uscc"
	"github.com/elicense/elicense/internal/web"
)

// platform is one platform process: services over a database, its web server, and the notice
// service under test.
type platform struct {
	tb     testing.TB
	ctx    context.Context
	env    *oidctest.Env
	url    string
	share  *sharing.Service
	svc    *notice.Service
	srv    *http.Server
	auth   string
	jitter float64
}

type options struct {
	dsn    string
	master []byte
	clock  *oidctest.Clock
	auth   bool // register the authority (first start only)
}

func start(tb testing.TB, o options) *platform {
	tb.Helper()
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	issuer := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	env, err := oidctest.Open(ctx, oidctest.Options{DSN: o.dsn, Master: o.master, Issuer: issuer, Clock: o.clock})
	if err != nil {
		tb.Fatal(err)
	}
	p := &platform{tb: tb, ctx: ctx, env: env, url: issuer, jitter: 0.5}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	p.share = sharing.NewService(sharing.Config{Store: env.DB, Clients: env.DB, Tokens: env.OIDC, Licences: env.Licenses,
		Documents: env.Documents, Audit: env.Audit, Clock: env.Clock.Now})
	p.svc = notice.NewService(notice.Config{Store: env.DB, Licences: env.Licenses, Keys: env.Keys, Poster: webhook.New(),
		Clock: env.Clock.Now, Jitter: func() float64 { return p.jitter }, Timeout: 5 * time.Second, Logger: quiet,
		Tokens: func(ctx context.Context, token string) (string, []string, error) {
			c, err := p.share.Authenticate(ctx, token)
			if err != nil {
				return "", nil, err
			}
			return c.ClientID, c.Scopes, nil
		}})
	h, err := web.New(web.Deps{Licenses: env.Licenses, Keys: env.Keys, Accounts: env.Accounts, Audit: env.Audit,
		Documents: env.Documents, Identity: env.Identity, OIDC: env.OIDC, Sharing: p.share, Notices: p.svc, DB: env.DB,
		Clock: env.Clock.Now, PublicURL: issuer, Logger: quiet})
	if err != nil {
		tb.Fatal(err)
	}
	p.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln)
	p.auth, err = uscc.Generate('1', '1', "330106", "MB000000")
	if err != nil {
		tb.Fatal(err)
	}
	if o.auth {
		if _, err := env.Keys.CreateAuthority(ctx, keys.Authority{Code: p.auth, Name: "杭州市西湖区市场监督管理局", Region: "330106"}); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Cleanup(p.stop)
	return p
}

// stop ends the process: its server and its database handle.
func (p *platform) stop() {
	p.srv.Close()
	p.env.Close()
}

func newPlatform(tb testing.TB) *platform {
	return start(tb, options{dsn: filepath.Join(tb.TempDir(), "db.sqlite"), auth: true})
}

func (p *platform) issue(n int) *license.Licence {
	p.tb.Helper()
	code, err := uscc.Generate('9', '1', "330106", fmt.Sprintf("MA%06d", n))
	if err != nil {
		p.tb.Fatal(err)
	}
	l, err := p.env.Licenses.Issue(p.ctx, license.Actor{ID: "reg", Authority: p.auth}, registration(code, n))
	if err != nil {
		p.tb.Fatal(err)
	}
	return l
}

func registration(code string, n int) license.Registration {
	return license.Registration{Code: code, Kind: license.Company, Face: license.Face{
		Name: fmt.Sprintf("杭州通知测试科技有限公司%d", n), Type: "有限责任公司（自然人投资或控股）", Person: "王芳",
		Capital: &license.Capital{Amount: "100", Currency: "CNY"}, EstablishedOn: "2015-03-18",
		TermFrom: "2015-03-18", TermTo: license.LongTerm, Address: "浙江省杭州市西湖区文三路 90 号 301 室",
		Scope: "一般项目：技术服务、技术开发、技术咨询。"}}
}

func (p *platform) setStatus(code string, a license.Action) {
	p.tb.Helper()
	if _, err := p.env.Licenses.SetStatus(p.ctx, license.Actor{ID: "reg", Authority: p.auth}, code,
		license.StatusChange{Action: a, Reason: "依法处理"}); err != nil {
		p.tb.Fatal(err)
	}
}

// client registers a department's system with the query permission on the business licence
// and returns its ID and a client-credentials token.
func (p *platform) client(name string, scopes ...string) (string, string) {
	p.tb.Helper()
	c, secret, err := p.env.OIDC.RegisterClient(p.ctx, oidc.ClientSpec{Name: name,
		GrantTypes: []string{oidc.GrantClientCredentials}}, "test")
	if err != nil {
		p.tb.Fatal(err)
	}
	if err := p.env.DB.SetSharingPermission(p.ctx, &permit.Permission{ClientID: c.ID, TypeCode: p.env.Licenses.TypeCode(),
		Operations: []permit.Operation{permit.Query}, GrantedBy: "test", GrantedAt: p.env.Clock.Now()}); err != nil {
		p.tb.Fatal(err)
	}
	cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: secret, TokenURL: p.url + oidc.PathToken, Scopes: scopes}
	tok, err := cc.Token(p.ctx)
	if err != nil {
		p.tb.Fatal(err)
	}
	return c.ID, tok.AccessToken
}

// platformCert fetches the platform certificate from /.well-known/elicense/certificates, as a
// receiver does.
func (p *platform) platformCert() (der []byte, serial string) {
	p.tb.Helper()
	resp, err := http.Get(p.url + "/.well-known/elicense/certificates")
	if err != nil {
		p.tb.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Certificates []struct{ Kind, Serial, PEM string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		p.tb.Fatal(err)
	}
	for _, c := range doc.Certificates {
		if c.Kind == "platform" {
			b, _ := pem.Decode([]byte(c.PEM))
			return b.Bytes, c.Serial
		}
	}
	p.tb.Fatal("no platform certificate published")
	return nil, ""
}

func (p *platform) call(method, path, token, body string) (int, []byte) {
	p.tb.Helper()
	req, _ := http.NewRequestWithContext(p.ctx, method, p.url+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept-Language", "en")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// receiver is a department's webhook endpoint: it verifies each request as docs/notices.md
// says (signature with the published certificate, replay window) and keeps what it got.
type receiver struct {
	*httptest.Server
	tb     testing.TB
	cert   []byte
	serial string
	now    func() time.Time

	mu      sync.Mutex
	status  int // answer; 0 means 204
	got     []notice.Notice
	headers []http.Header
	hang    chan struct{} // non-nil: the next request blocks until the client gives up
	started chan struct{} // closed when a hanging request arrived
}

func (p *platform) receiver() *receiver {
	cert, serial := p.platformCert()
	rc := &receiver{tb: p.tb, cert: cert, serial: serial, now: p.env.Clock.Now}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	p.tb.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := notice.Verify(rc.cert, r.Header.Get(notice.HeaderTimestamp), r.Header.Get(notice.HeaderSignature), body, rc.now()); err != nil {
		rc.tb.Errorf("receiver: %v", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if s := r.Header.Get(notice.HeaderKey); s != rc.serial {
		rc.tb.Errorf("receiver: key serial %q, the published certificate is %q", s, rc.serial)
	}
	var n notice.Notice
	if err := json.Unmarshal(body, &n); err != nil || n.ID != r.Header.Get(notice.HeaderID) {
		rc.tb.Errorf("receiver: body %s (id header %q): %v", body, r.Header.Get(notice.HeaderID), err)
	}
	rc.mu.Lock()
	hang, started := rc.hang, rc.started
	rc.hang = nil
	rc.mu.Unlock()
	if hang != nil {
		close(started)
		select {
		case <-r.Context().Done(): // the platform gave up (its process ended)
		case <-hang:
		}
		return
	}
	rc.mu.Lock()
	rc.got = append(rc.got, n)
	rc.headers = append(rc.headers, r.Header.Clone())
	status := rc.status
	rc.mu.Unlock()
	if status == 0 {
		status = http.StatusNoContent
	}
	w.WriteHeader(status)
}

func (rc *receiver) notices() []notice.Notice {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]notice.Notice(nil), rc.got...)
}

func (rc *receiver) answer(status int) {
	rc.mu.Lock()
	rc.status = status
	rc.mu.Unlock()
}

// drain dispatches and delivers what is due now.
func (p *platform) drain() int {
	p.tb.Helper()
	for {
		n, err := p.svc.Dispatch(p.ctx)
		if err != nil {
			p.tb.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	total := 0
	for {
		n, err := p.svc.Deliver(p.ctx)
		if err != nil {
			p.tb.Fatal(err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
}

// TestNoticeDelivered follows a licence through a suspension, a restoration and a change
// registration: each arrives at the department's webhook, signed, once.
func TestNoticeDelivered(t *testing.T) {
	p := newPlatform(t)
	l := p.issue(1)
	other := p.issue(2)
	id, token := p.client("某银行开户系统", oidc.ScopeSharingQuery)
	rc := p.receiver()

	// Subscribing through the API: a mistake names the field.
	for _, tt := range []struct{ body, field string }{
		{`{"url":"ftp://x.example/hook","entities":["` + l.Code + `"]}`, "url"},
		{`{"url":"http://dept.example/hook","entities":["` + l.Code + `"]}`, "url"},
		{`{"url":"https://user:pw@dept.example/hook","entities":["` + l.Code + `"]}`, "url"},
		{`{"url":"` + rc.URL + `","entities":["91330106MA0000009X"]}`, "entities[0]"},
		{`{"url":"` + rc.URL + `","licences":["1.2.156.3005.2.X"]}`, "licences[0]"},
		{`{"url":"` + rc.URL + `","entities":["` + l.Code + `"],"events":["renamed"]}`, "events[0]"},
		{`{"url":"` + rc.URL + `"}`, "entities"},
	} {
		status, b := p.call("POST", "/api/v1/notices/subscriptions", token, tt.body)
		var e struct {
			Error struct{ Field, Message string }
		}
		_ = json.Unmarshal(b, &e)
		if status != 400 || e.Error.Field != tt.field {
			t.Errorf("%s: %d %s, want 400 naming %s", tt.body, status, b, tt.field)
		}
	}
	if status, b := p.call("POST", "/api/v1/notices/subscriptions", "", `{}`); status != 401 {
		t.Errorf("no token: %d %s", status, b)
	}
	status, b := p.call("POST", "/api/v1/notices/subscriptions", token,
		`{"url":"`+rc.URL+`/hook?key=s3cret","entities":["`+strings.ToLower(l.Code)+`"]}`)
	if status != 201 {
		t.Fatalf("subscribe: %d %s", status, b)
	}
	var sub notice.Subscription
	_ = json.Unmarshal(b, &sub)
	if sub.ClientID != id || len(sub.Entities) != 1 || sub.Entities[0] != l.Code || len(sub.Events) != 5 {
		t.Errorf("subscription: %+v", sub)
	}
	// The audit log has the subscription, without the webhook's query.
	evs, err := p.env.Audit.Find(p.ctx, audit.Filter{Actor: id, ActionPrefix: "notice."})
	if err != nil || len(evs) != 1 || evs[0].Action != "notice.subscribe" || strings.Contains(string(evs[0].Data), "s3cret") {
		t.Errorf("audit of the subscription: %+v %v", evs, err)
	}

	// Changes of the entity, and one of another entity.
	p.setStatus(l.Code, license.Suspend)
	p.setStatus(other.Code, license.Suspend)
	p.setStatus(l.Code, license.Restore)
	reg := registration(l.Code, 1)
	reg.Face.Address = "浙江省杭州市西湖区学院路 28 号"
	changed, err := p.env.Licenses.Change(p.ctx, license.Actor{ID: "reg", Authority: p.auth}, l.Code, 1, reg)
	if err != nil {
		t.Fatal(err)
	}
	if n := p.drain(); n != 3 {
		t.Errorf("%d deliveries, want 3", n)
	}
	got := rc.notices()
	if len(got) != 3 {
		t.Fatalf("received %+v", got)
	}
	want := []struct {
		event   notice.Event
		status  string
		version int
	}{{notice.Suspended, "suspended", 1}, {notice.Restored, "active", 1}, {notice.NewVersion, "active", 2}}
	for i, w := range want {
		n := got[i]
		if n.Event != w.event || n.Status != w.status || n.Version != w.version || n.EntityCode != l.Code || n.OccurredAt.IsZero() {
			t.Errorf("notice %d: %+v, want %v %s v%d", i, n, w.event, w.status, w.version)
		}
	}
	if got[2].Identifier != changed.Identifier || got[0].Identifier != l.Identifier {
		t.Errorf("identifiers: %s %s", got[0].Identifier, got[2].Identifier)
	}
	// Nothing more is due: delivered notices are not sent again.
	if n := p.drain(); n != 0 || len(rc.notices()) != 3 {
		t.Errorf("a second round delivered %d", n)
	}

	// The deliveries as the department sees them.
	status, b = p.call("GET", "/api/v1/notices/deliveries?limit=2", token, "")
	var list struct {
		Deliveries []notice.Delivery
		Next       string
	}
	_ = json.Unmarshal(b, &list)
	if status != 200 || len(list.Deliveries) != 2 || list.Next == "" || list.Deliveries[0].State != notice.Delivered ||
		list.Deliveries[0].ID != got[2].ID {
		t.Errorf("deliveries: %d %s", status, b)
	}
	status, b = p.call("GET", "/api/v1/notices/deliveries?before="+list.Next, token, "")
	list.Next = ""
	_ = json.Unmarshal(b, &list)
	if status != 200 || len(list.Deliveries) != 1 || list.Deliveries[0].ID != got[0].ID || list.Next != "" {
		t.Errorf("second page: %d %s", status, b)
	}
	if status, b := p.call("GET", "/api/v1/notices/deliveries?status=lost", token, ""); status != 400 || !bytes.Contains(b, []byte(`"field":"status"`)) {
		t.Errorf("unknown status: %d %s", status, b)
	}
	// Another department sees none of them and cannot delete the subscription.
	_, token2 := p.client("某税务系统", oidc.ScopeSharingQuery)
	if status, b := p.call("GET", "/api/v1/notices/deliveries", token2, ""); status != 200 || !bytes.Contains(b, []byte(`"deliveries":[]`)) {
		t.Errorf("another department's deliveries: %d %s", status, b)
	}
	if status, _ := p.call("DELETE", "/api/v1/notices/subscriptions/"+sub.ID, token2, ""); status != 404 {
		t.Errorf("another department deleted the subscription: %d", status)
	}
	if status, _ := p.call("POST", "/api/v1/notices/deliveries/"+got[0].ID+"/replay", token2, ""); status != 404 {
		t.Errorf("another department replayed a delivery: %d", status)
	}
	// Unsubscribing stops the notices.
	if status, b := p.call("DELETE", "/api/v1/notices/subscriptions/"+sub.ID, token, ""); status != 204 {
		t.Fatalf("unsubscribe: %d %s", status, b)
	}
	p.setStatus(l.Code, license.Suspend)
	if n := p.drain(); n != 0 {
		t.Errorf("%d deliveries after unsubscribing", n)
	}
}

// TestNoticePermissionAndScope: a token without the scope, and a client without the
// permission, cannot subscribe.
func TestNoticePermissionAndScope(t *testing.T) {
	p := newPlatform(t)
	l := p.issue(1)
	rc := p.receiver()
	_, verifyOnly := p.client("核验系统", oidc.ScopeSharingVerify)
	body := `{"url":"` + rc.URL + `","entities":["` + l.Code + `"]}`
	if status, b := p.call("POST", "/api/v1/notices/subscriptions", verifyOnly, body); status != 403 {
		t.Errorf("token without the scope: %d %s", status, b)
	}
	c, secret, err := p.env.OIDC.RegisterClient(p.ctx, oidc.ClientSpec{Name: "未授权系统", GrantTypes: []string{oidc.GrantClientCredentials}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := (&clientcredentials.Config{ClientID: c.ID, ClientSecret: secret, TokenURL: p.url + oidc.PathToken,
		Scopes: []string{oidc.ScopeSharingQuery}}).Token(p.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if status, b := p.call("POST", "/api/v1/notices/subscriptions", tok.AccessToken, body); status != 403 {
		t.Errorf("client without the permission: %d %s", status, b)
	}
}

// TestNoticeRetries answers 503 until the delivery fails after its attempts, driving the clock
// through the backoff; then the department sees it failed, replays it, and it arrives with the
// same id.
func TestNoticeRetries(t *testing.T) {
	p := newPlatform(t)
	l := p.issue(1)
	id, token := p.client("某银行开户系统", oidc.ScopeSharingQuery)
	rc := p.receiver()
	rc.answer(http.StatusServiceUnavailable)
	c := &notice.Caller{ClientID: id}
	if _, err := p.svc.CreateSubscription(p.ctx, c, notice.SubscriptionRequest{URL: rc.URL, Entities: []string{l.Code},
		Events: []notice.Event{notice.Cancelled}}); err != nil {
		t.Fatal(err)
	}
	p.setStatus(l.Code, license.Suspend) // not subscribed to
	p.setStatus(l.Code, license.Cancel)
	if n := p.drain(); n != 1 {
		t.Fatalf("first attempt: %d", n)
	}
	// Jitter 0.5 is a factor of 1: the delays are 30 s, 1 min, 2 min, … doubling.
	wait := notice.DefaultMinBackoff
	for attempt := 2; attempt <= notice.DefaultMaxAttempts; attempt++ {
		p.env.Clock.Advance(wait - time.Second)
		if n := p.drain(); n != 0 {
			t.Fatalf("attempt %d started %v early", attempt, time.Second)
		}
		p.env.Clock.Advance(time.Second)
		if n := p.drain(); n != 1 {
			t.Fatalf("attempt %d did not start after %v", attempt, wait)
		}
		wait *= 2
	}
	if got := len(rc.notices()); got != notice.DefaultMaxAttempts {
		t.Errorf("%d attempts reached the receiver, want %d", got, notice.DefaultMaxAttempts)
	}
	p.env.Clock.Advance(notice.DefaultMaxBackoff)
	if n := p.drain(); n != 0 {
		t.Errorf("a failed delivery was attempted again")
	}
	status, b := p.call("GET", "/api/v1/notices/deliveries?status=failed", token, "")
	var list struct{ Deliveries []notice.Delivery }
	_ = json.Unmarshal(b, &list)
	if status != 200 || len(list.Deliveries) != 1 || list.Deliveries[0].Attempts != notice.DefaultMaxAttempts ||
		list.Deliveries[0].LastStatus != 503 || list.Deliveries[0].LastError != "HTTP 503" {
		t.Fatalf("failed deliveries: %d %s", status, b)
	}
	failed := list.Deliveries[0]
	// Replay: pending again and delivered at once, with the same id and body.
	rc.answer(0)
	status, b = p.call("POST", "/api/v1/notices/deliveries/"+failed.ID+"/replay", token, "")
	if status != 200 || !bytes.Contains(b, []byte(`"state":"pending"`)) {
		t.Fatalf("replay: %d %s", status, b)
	}
	if status, b := p.call("POST", "/api/v1/notices/deliveries/"+failed.ID+"/replay", token, ""); status != 409 {
		t.Errorf("replaying a pending delivery: %d %s", status, b)
	}
	if n := p.drain(); n != 1 {
		t.Fatalf("replayed delivery: %d", n)
	}
	got := rc.notices()
	last := got[len(got)-1]
	if last.ID != failed.ID || last.Event != notice.Cancelled || last.Status != "cancelled" {
		t.Errorf("replayed notice %+v, want id %s", last, failed.ID)
	}
	d, _ := p.env.DB.NoticeDelivery(p.ctx, id, failed.ID)
	if d.State != notice.Delivered || d.Attempts != 1 {
		t.Errorf("after the replay: %+v", d)
	}
}

// TestNoticeBackoff checks the bounds of the delays: doubling from 30 s, jitter within ±25 %,
// never beyond 6 h.
func TestNoticeBackoff(t *testing.T) {
	for _, j := range []float64{0, 0.5, 0.999999} {
		svc := notice.NewService(notice.Config{Jitter: func() float64 { return j }})
		for attempt := 1; attempt <= 20; attempt++ {
			base := min(notice.DefaultMinBackoff<<(attempt-1), notice.DefaultMaxBackoff)
			if attempt > 12 {
				base = notice.DefaultMaxBackoff
			}
			d := svc.Backoff(attempt)
			lo, hi := time.Duration(float64(base)*0.75), min(time.Duration(float64(base)*1.25), notice.DefaultMaxBackoff)
			if d < lo || d > hi {
				t.Errorf("jitter %v attempt %d: %v, want within [%v, %v]", j, attempt, d, lo, hi)
			}
		}
	}
}

// TestNoticeRestartMidDelivery: the process ends while the receiver holds the request; the
// next process on the same database delivers the notice, with the same id, once the lease
// has run out.
func TestNoticeRestartMidDelivery(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "db.sqlite")
	master := make([]byte, 16)
	_, _ = rand.Read(master)
	clock := &oidctest.Clock{}
	p1 := start(t, options{dsn: dsn, master: master, clock: clock, auth: true})
	l := p1.issue(1)
	id, _ := p1.client("某银行开户系统", oidc.ScopeSharingQuery)
	rc := p1.receiver()
	if _, err := p1.svc.CreateSubscription(p1.ctx, &notice.Caller{ClientID: id}, notice.SubscriptionRequest{URL: rc.URL,
		Entities: []string{l.Code}}); err != nil {
		t.Fatal(err)
	}
	p1.setStatus(l.Code, license.Revoke)

	// The first process runs as serve does, and is stopped while the receiver hangs.
	rc.mu.Lock()
	rc.hang, rc.started = make(chan struct{}), make(chan struct{})
	started := rc.started
	rc.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p1.svc.Run(ctx) }()
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the delivery did not start")
	}
	cancel()
	<-done
	p1.stop()
	if len(rc.notices()) != 0 {
		t.Fatal("the hanging request was counted")
	}

	// The second process on the same database.
	p2 := start(t, options{dsn: dsn, master: master, clock: clock})
	if n := p2.drain(); n != 0 {
		t.Fatalf("delivered while the first process's lease holds: %d", n)
	}
	clock.Advance(notice.DefaultLease)
	if n := p2.drain(); n != 1 {
		t.Fatalf("after the lease: %d deliveries", n)
	}
	got := rc.notices()
	if len(got) != 1 || got[0].Event != notice.Revoked || got[0].EntityCode != l.Code {
		t.Fatalf("received %+v", got)
	}
	ds, err := p2.env.DB.NoticeDeliveries(p2.ctx, notice.DeliveryQuery{ClientID: id, Limit: 10})
	if err != nil || len(ds) != 1 || ds[0].ID != got[0].ID || ds[0].State != notice.Delivered || ds[0].Attempts != 2 {
		t.Errorf("the outbox: %+v %v", ds, err)
	}
	if n := p2.drain(); n != 0 || len(rc.notices()) != 1 {
		t.Errorf("delivered again")
	}
}

// TestNoticeFollowArchived: an entity the department follows (archiving calls Subscribe) is
// delivered to its subscriptions made with archived, from the follow on.
func TestNoticeFollowArchived(t *testing.T) {
	p := newPlatform(t)
	l := p.issue(1)
	id, _ := p.client("某不动产登记系统", oidc.ScopeSharingArchive)
	rc := p.receiver()
	if _, err := p.svc.CreateSubscription(p.ctx, &notice.Caller{ClientID: id}, notice.SubscriptionRequest{URL: rc.URL, Archived: true}); err != nil {
		t.Fatal(err)
	}
	p.setStatus(l.Code, license.Suspend) // before the follow
	if err := p.svc.Subscribe(p.ctx, id, strings.ToLower(l.Code)); err != nil {
		t.Fatal(err)
	}
	if err := p.svc.Subscribe(p.ctx, id, l.Code); err != nil { // idempotent
		t.Fatal(err)
	}
	p.setStatus(l.Code, license.Restore)
	p.drain()
	got := rc.notices()
	if len(got) != 1 || got[0].Event != notice.Restored {
		t.Errorf("received %+v, want the restoration only", got)
	}
	if err := p.svc.Subscribe(p.ctx, "", l.Code); !errs.Is(err, errs.Invalid) {
		t.Errorf("follow without a client: %v", err)
	}
}
