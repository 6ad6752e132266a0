package signing_test

// End-to-end tests of signing on behalf of an entity over HTTP on 127.0.0.1: real services on
// SQLite (internal/oidc/oidctest), a real client-credentials token from the platform's token
// endpoint, the wallet's pages with a real session cookie, and the web handler with the signing
// service and the inbox wired as cmd/elicense wires them.

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/document/doctest"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/inbox"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/oidc/oidctest"
	"github.com/elicense/elicense/internal/signing"
	"github.com/elicense/elicense/internal/web"
)

type platform struct {
	tb     testing.TB
	ctx    context.Context
	url    string
	env    *oidctest.Env
	svc    *signing.Service
	holder *oidctest.Holder
}

func newPlatform(tb testing.TB) *platform { return newPlatformOn(tb, "") }

// newPlatformOn is newPlatform on the database dsn ("" for SQLite in a temporary directory).
func newPlatformOn(tb testing.TB, dsn string) *platform {
	tb.Helper()
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	issuer := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	env, err := oidctest.Open(ctx, oidctest.Options{DSN: dsn, Dir: tb.TempDir(), Issuer: issuer})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { env.Close() })
	svc := signing.NewService(signing.Config{Store: env.DB, Identity: env.Identity, Documents: env.Documents,
		Licences: env.Licenses, Clock: env.Clock.Now})
	box := inbox.New(env.Clock.Now, svc, inbox.LoginSource{Store: env.DB})
	h, err := web.New(web.Deps{Licenses: env.Licenses, Keys: env.Keys, Accounts: env.Accounts, Audit: env.Audit,
		Documents: env.Documents, Identity: env.Identity, OIDC: env.OIDC, DB: env.DB, Clock: env.Clock.Now,
		PublicURL: issuer, Signing: svc, Inbox: box, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	p := &platform{tb: tb, ctx: ctx, url: issuer, env: env, svc: svc}
	p.holder, err = env.Entity(ctx, 7, "张三", oidctest.IDNumber("33010619850304101"), "13800000007", "258036")
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// portal registers a portal with scopes and returns a client-credentials access token.
func (p *platform) portal(name string, scopes ...string) string {
	p.tb.Helper()
	c, secret, err := p.env.OIDC.RegisterClient(p.ctx, oidc.ClientSpec{Name: name, Department: "浙江省大数据发展管理局",
		GrantTypes: []string{oidc.GrantClientCredentials}, Scopes: scopes}, "test")
	if err != nil {
		p.tb.Fatal(err)
	}
	cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: secret, TokenURL: p.url + oidc.PathToken, Scopes: scopes}
	tok, err := cc.Token(p.ctx)
	if err != nil {
		p.tb.Fatal(err)
	}
	return tok.AccessToken
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) expect(tb testing.TB, status int) reply {
	tb.Helper()
	if r.status != status {
		tb.Fatalf("status %d, want %d: %.600s", r.status, status, r.body)
	}
	return r
}

func (r reply) decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		tb.Fatalf("%v: %.300s", err, r.body)
	}
}

func (r reply) errField(tb testing.TB) (string, string) {
	var e struct {
		Error struct{ Code, Message, Field string }
	}
	r.decode(tb, &e)
	return e.Error.Field, e.Error.Message
}

func (p *platform) do(method, path, token, ctype string, body io.Reader, cookie *http.Cookie) reply {
	p.tb.Helper()
	req, _ := http.NewRequestWithContext(p.ctx, method, p.url+path, body)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept-Language", "en")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		p.tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, b}
}

type requestJSON struct {
	ID, Status, Format, Title string
	EntityCode                string `json:"entity_code"`
	EntityName                string `json:"entity_name"`
	Pages                     int
	DocumentURL               string `json:"document_url"`
	SignerRole                string `json:"signer_role"`
}

// submit sends a document to be signed by the holder's entity.
func (p *platform) submit(token string, doc []byte, extra map[string]any) reply {
	p.tb.Helper()
	body := map[string]any{"entity_code": strings.ToLower(p.holder.Code), "title": "技术服务合同", "purpose": "确认签订技术服务合同（合同编号 ZJ-2026-001）",
		"document": base64.StdEncoding.EncodeToString(doc)}
	for k, v := range extra {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	return p.do("POST", "/api/v1/signing/requests", token, "application/json", bytes.NewReader(b), nil)
}

func (p *platform) created(token string, doc []byte, extra map[string]any) requestJSON {
	p.tb.Helper()
	var r requestJSON
	p.submit(token, doc, extra).expect(p.tb, 201).decode(p.tb, &r)
	if r.Status != "pending" || !strings.HasPrefix(r.ID, "sr_") {
		p.tb.Fatalf("created %+v", r)
	}
	return r
}

// wallet is a person's wallet session.
type wallet struct {
	p      *platform
	cookie *http.Cookie
	csrf   string
}

func (p *platform) wallet(cookie, csrf string) *wallet {
	return &wallet{p: p, cookie: &http.Cookie{Name: "elicense_wallet", Value: cookie}, csrf: csrf}
}

func (w *wallet) get(path string) reply {
	w.p.tb.Helper()
	return w.p.do("GET", path, "", "", nil, w.cookie)
}

func (w *wallet) post(path string, form url.Values) reply {
	w.p.tb.Helper()
	form.Set("csrf", w.csrf)
	return w.p.do("POST", path, "", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), w.cookie)
}

func (w *wallet) confirm(id, pin string) reply {
	w.p.tb.Helper()
	return w.post("/wallet/sign/"+id+"/confirm", url.Values{"method": {"pin"}, "pin": {pin}})
}

// events returns the audit events of the entity with actions starting with prefix, oldest first.
func (p *platform) events(prefix string) []audit.Event {
	p.tb.Helper()
	evs, err := p.env.Audit.Find(p.ctx, audit.Filter{Subject: p.holder.Code, ActionPrefix: prefix})
	if err != nil {
		p.tb.Fatal(err)
	}
	for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
		evs[i], evs[j] = evs[j], evs[i]
	}
	return evs
}

func contract(tb testing.TB, f document.Format) []byte {
	tb.Helper()
	pages := [][]string{{"甲方：杭州示例科技有限公司7", "乙方：浙江政务服务网"}, {"签署页"}}
	var b []byte
	var err error
	if f == document.PDF {
		b, err = doctest.PDF("技术服务合同", pages...)
	} else {
		b, err = doctest.OFD("技术服务合同", pages...)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestSignPDFEndToEnd(t *testing.T) { testSignPDF(t, newPlatform(t)) }

func testSignPDF(t *testing.T, p *platform) {
	token := p.portal("浙江政务服务网", oidc.ScopeSigning)
	doc := contract(t, document.PDF)
	r := p.created(token, doc, nil)
	if r.EntityCode != p.holder.Code || r.EntityName != p.holder.Entity || r.Format != "pdf" || r.Pages != 2 {
		t.Errorf("created %+v", r)
	}
	// Not signed yet: the portal cannot fetch a document.
	p.do("GET", "/api/v1/signing/requests/"+r.ID+"/document", token, "", nil, nil).expect(t, 409)

	// The holder's wallet: the badge, the inbox, the preview, the document itself.
	w := p.wallet(p.holder.Wallet, p.holder.CSRF)
	home := w.get("/wallet/").expect(t, 200)
	if !bytes.Contains(home.body, []byte(`id="inbox-count"`)) || !bytes.Contains(home.body, []byte(">1</span>")) {
		t.Errorf("the home page shows no badge with 1:\n%s", home.body)
	}
	box := w.get("/wallet/inbox").expect(t, 200)
	for _, want := range []string{"技术服务合同", "浙江政务服务网", p.holder.Entity, "/wallet/sign/" + r.ID} {
		if !bytes.Contains(box.body, []byte(want)) {
			t.Errorf("the inbox lacks %q", want)
		}
	}
	page := w.get("/wallet/sign/"+r.ID).expect(t, 200)
	for _, want := range []string{"确认签订技术服务合同", `id="sign-pages">2<`, "/wallet/sign/" + r.ID + "/document", `name="pin"`,
		"Confirm and sign", "Licence PIN"} { // Accept-Language: en
		if !bytes.Contains(page.body, []byte(want)) {
			t.Errorf("the request page lacks %q", want)
		}
	}
	got := w.get("/wallet/sign/"+r.ID+"/document").expect(t, 200)
	if !bytes.Equal(got.body, doc) || got.header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(got.header.Get("Content-Disposition"), "inline") {
		t.Errorf("preview: %d bytes, %s, %s", len(got.body), got.header.Get("Content-Type"), got.header.Get("Content-Disposition"))
	}

	// A wrong PIN is refused and the request stays pending; the right one signs.
	bad := w.confirm(r.ID, "111222")
	if bad.status < 400 || bad.status >= 500 || !bytes.Contains(bad.body, []byte(`aria-invalid="true"`)) {
		t.Errorf("wrong PIN: %d %.300s", bad.status, bad.body)
	}
	if len(p.events("sign.confirm")) != 0 {
		t.Error("a wrong PIN signed")
	}
	done := w.confirm(r.ID, p.holder.PIN).expect(t, 200)
	if !bytes.Contains(done.body, []byte(`data-status="signed"`)) {
		t.Errorf("after confirming: %.500s", done.body)
	}
	// A second confirmation is refused.
	if again := w.confirm(r.ID, p.holder.PIN); again.status != 409 {
		t.Errorf("second confirmation: %d", again.status)
	}
	if again := w.post("/wallet/sign/"+r.ID+"/decline", url.Values{}); again.status != 409 {
		t.Errorf("decline after signing: %d", again.status)
	}

	// The portal polls and fetches the sealed PDF.
	var st requestJSON
	p.do("GET", "/api/v1/signing/requests/"+r.ID, token, "", nil, nil).expect(t, 200).decode(t, &st)
	if st.Status != "signed" || st.SignerRole != "holder" || st.DocumentURL == "" {
		t.Fatalf("polled %+v", st)
	}
	signed := p.do("GET", st.DocumentURL, token, "", nil, nil).expect(t, 200)
	if !bytes.HasPrefix(signed.body, doc[:len(doc)-64]) || len(signed.body) <= len(doc) {
		t.Error("the signed PDF is not an incremental update of the document")
	}
	// Another portal does not see it.
	other := p.portal("另一个网站", oidc.ScopeSigning)
	p.do("GET", "/api/v1/signing/requests/"+r.ID, other, "", nil, nil).expect(t, 404)
	p.do("GET", st.DocumentURL, other, "", nil, nil).expect(t, 404)

	// The platform's verification reports an entity signature.
	var rep document.Report
	p.do("POST", "/api/v1/verify", "", "application/pdf", bytes.NewReader(signed.body), nil).expect(t, 200).decode(t, &rep)
	if !rep.Valid || rep.SignedBy != document.SignedByEntity || rep.Code != p.holder.Code || rep.Name != p.holder.Entity {
		t.Errorf("verify: %+v", rep)
	}
	// pdfsig (poppler) validates the signature.
	if bin, err := exec.LookPath("pdfsig"); err == nil {
		path := filepath.Join(t.TempDir(), "signed.pdf")
		os.WriteFile(path, signed.body, 0o644)
		out, err := exec.Command(bin, path).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Signature is Valid") || !strings.Contains(string(out), p.holder.Entity) {
			t.Errorf("pdfsig: %v\n%s", err, out)
		}
	} else if os.Getenv("ELICENSE_REQUIRE_TOOLS") == "1" {
		t.Error("pdfsig not found and ELICENSE_REQUIRE_TOOLS=1")
	}

	// The audit log: the request and the confirmation with the signature, as uses of the licence.
	reqs, confs := p.events("sign.request"), p.events("sign.confirm")
	if len(reqs) != 1 || len(confs) != 1 {
		t.Fatalf("events: %d requests, %d confirmations", len(reqs), len(confs))
	}
	var data map[string]any
	json.Unmarshal(confs[0].Data, &data)
	if confs[0].Actor != "person:"+p.holder.PersonID || data["request"] != r.ID || data["acr"] != identity.ACRLicencePIN || data["signed_sm3"] == "" {
		t.Errorf("sign.confirm event: %s %s", confs[0].Actor, confs[0].Data)
	}
	if home := w.get("/wallet/").expect(t, 200); bytes.Contains(home.body, []byte(`id="inbox-count"`)) {
		t.Error("the badge stays after signing")
	}
}

func TestSignOFDEndToEnd(t *testing.T) {
	p := newPlatform(t)
	token := p.portal("浙江政务服务网", oidc.ScopeSigning)
	doc := contract(t, document.OFD)
	r := p.created(token, doc, map[string]any{"format": "ofd"})
	w := p.wallet(p.holder.Wallet, p.holder.CSRF)
	page := w.get("/wallet/sign/"+r.ID).expect(t, 200)
	for _, want := range []string{"乙方：浙江政务服务网", `data-page="2"`, "签署页"} {
		if !bytes.Contains(page.body, []byte(want)) {
			t.Errorf("the OFD preview lacks %q", want)
		}
	}
	w.confirm(r.ID, p.holder.PIN).expect(t, 200)
	signed := p.do("GET", "/api/v1/signing/requests/"+r.ID+"/document", token, "", nil, nil).expect(t, 200)
	if signed.header.Get("Content-Type") != "application/ofd" {
		t.Errorf("content type %s", signed.header.Get("Content-Type"))
	}
	rep, err := p.env.Documents.Verify(p.ctx, signed.body)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Valid || rep.SignedBy != document.SignedByEntity || rep.Code != p.holder.Code || rep.Format != "ofd" {
		t.Fatalf("verify: %+v", rep)
	}
	// Tampering: the second page's text changed after signing.
	zr, err := zip.NewReader(bytes.NewReader(signed.body), int64(len(signed.body)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		if f.Name == "Doc_0/Pages/Page_1/Content.xml" {
			b = bytes.Replace(b, []byte("签署页"), []byte("签署頁"), 1)
		}
		fw, _ := zw.Create(f.Name)
		fw.Write(b)
	}
	zw.Close()
	if rep, err := p.env.Documents.Verify(p.ctx, buf.Bytes()); err != nil || rep.Valid || rep.Result != document.ResultWrong {
		t.Errorf("tampered OFD: %+v %v", rep, err)
	}
}

func TestSignRefusals(t *testing.T) { testRefusals(t, newPlatform(t)) }

func testRefusals(t *testing.T, p *platform) {
	token := p.portal("浙江政务服务网", oidc.ScopeSigning)
	pdf := contract(t, document.PDF)

	// The portal's side: no token, a token without the scope, bad documents and fields.
	p.submit("", pdf, nil).expect(t, 401)
	sharingOnly := p.portal("共享系统", oidc.ScopeSharingQuery)
	if f, _ := p.submit(sharingOnly, pdf, nil).expect(t, 403).errField(t); f != "scope" {
		t.Errorf("no scope: field %q", f)
	}
	for name, tc := range map[string]struct {
		extra map[string]any
		field string
		words string
	}{
		"text":       {map[string]any{"document": base64.StdEncoding.EncodeToString([]byte("just some text"))}, "document", "neither a PDF"},
		"base64":     {map[string]any{"document": "%%%not base64"}, "document", "base64"},
		"empty":      {map[string]any{"document": ""}, "document", "missing"},
		"truncated":  {map[string]any{"document": base64.StdEncoding.EncodeToString(pdf[:len(pdf)/2])}, "document", "PDF"},
		"format":     {map[string]any{"format": "ofd"}, "format", "pdf"},
		"code":       {map[string]any{"entity_code": "91330106673959654X"}, "entity_code", "credit code"},
		"title":      {map[string]any{"title": " "}, "title", "title"},
		"control":    {map[string]any{"purpose": "a\x07b"}, "purpose", "character 2"},
		"item":       {map[string]any{"service_item": "事项"}, "service_item", "service item"},
		"unknown":    {map[string]any{"entity_code": "91330106673959654P"}, "entity_code", "no entity"},
		"extraField": {map[string]any{"nope": 1}, "nope", "unknown field"},
	} {
		rep := p.submit(token, pdf, tc.extra)
		if rep.status < 400 || rep.status >= 500 {
			t.Errorf("%s: status %d", name, rep.status)
			continue
		}
		f, msg := rep.errField(t)
		if f != tc.field || !strings.Contains(msg, tc.words) {
			t.Errorf("%s: field %q message %q", name, f, msg)
		}
	}

	// A person without any role for the entity.
	strangerIn, err := p.env.Person(p.ctx, "王五", oidctest.IDNumber("33010619800505555"), "13700000005")
	if err != nil {
		t.Fatal(err)
	}
	stranger := p.wallet(strangerIn.Cookie, strangerIn.Session.CSRF)
	r := p.created(token, pdf, nil)
	stranger.get("/wallet/sign/"+r.ID).expect(t, 403)
	stranger.get("/wallet/sign/"+r.ID+"/document").expect(t, 403)
	stranger.confirm(r.ID, "258036").expect(t, 403)
	stranger.post("/wallet/sign/"+r.ID+"/decline", url.Values{}).expect(t, 403)
	if box := stranger.get("/wallet/inbox").expect(t, 200); bytes.Contains(box.body, []byte(r.ID)) {
		t.Error("a stranger's inbox shows the request")
	}

	// An agent granted only ITEM-A: sees and signs ITEM-A requests and those naming no item,
	// not ITEM-B's.
	agentID := oidctest.IDNumber("33010619900101123")
	agentIn, err := p.env.Person(p.ctx, "李娜", agentID, "13900001111")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.env.Identity.GrantAgent(p.ctx, p.holder.PersonID, p.holder.Code, identity.AgentGrant{Name: "李娜", IDNumber: agentID,
		Items: []string{"ITEM-A"}, Until: p.env.Clock.Now().Add(30 * 24 * time.Hour)}, identity.Proof{Method: identity.MethodPIN, PIN: p.holder.PIN}); err != nil {
		t.Fatal(err)
	}
	agent := p.wallet(agentIn.Cookie, agentIn.Session.CSRF)
	if err := p.env.Identity.SetPersonalPIN(p.ctx, agentIn.Session, "", "369258"); err != nil {
		t.Fatal(err)
	}
	rb := p.created(token, pdf, map[string]any{"service_item": "ITEM-B"})
	ra := p.created(token, pdf, map[string]any{"service_item": "ITEM-A"})
	box := agent.get("/wallet/inbox").expect(t, 200)
	if bytes.Contains(box.body, []byte(rb.ID)) || !bytes.Contains(box.body, []byte(ra.ID)) || !bytes.Contains(box.body, []byte(r.ID)) {
		t.Errorf("the agent's inbox: ITEM-B shown %v, ITEM-A shown %v, no item shown %v",
			bytes.Contains(box.body, []byte(rb.ID)), bytes.Contains(box.body, []byte(ra.ID)), bytes.Contains(box.body, []byte(r.ID)))
	}
	agent.get("/wallet/sign/"+rb.ID).expect(t, 403)
	agent.confirm(rb.ID, "369258").expect(t, 403)
	agent.confirm(ra.ID, "369258").expect(t, 200)
	var st requestJSON
	p.do("GET", "/api/v1/signing/requests/"+ra.ID, token, "", nil, nil).expect(t, 200).decode(t, &st)
	if st.Status != "signed" || st.SignerRole != "agent" {
		t.Errorf("agent-signed request: %+v", st)
	}

	// The holder declines one; the portal sees it and gets no document.
	w := p.wallet(p.holder.Wallet, p.holder.CSRF)
	if d := w.post("/wallet/sign/"+rb.ID+"/decline", url.Values{}).expect(t, 200); !bytes.Contains(d.body, []byte(`data-status="declined"`)) {
		t.Errorf("decline page: %.300s", d.body)
	}
	p.do("GET", "/api/v1/signing/requests/"+rb.ID, token, "", nil, nil).expect(t, 200).decode(t, &st)
	if st.Status != "declined" {
		t.Errorf("declined request: %+v", st)
	}
	p.do("GET", "/api/v1/signing/requests/"+rb.ID+"/document", token, "", nil, nil).expect(t, 409)
	w.confirm(rb.ID, p.holder.PIN).expect(t, 409)
	if n := len(p.events("sign.decline")); n != 1 {
		t.Errorf("%d decline events", n)
	}

	// The inbox lists a login the person scanned but did not confirm.
	qr, err := p.env.Identity.NewLoginQR(p.ctx, "browser-binding-value", identity.Client{ID: "portal-1", Name: "浙江政务服务网（登录）"}, "auth-req-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.env.Identity.Scan(p.ctx, qr.ID, p.holder.PersonID); err != nil {
		t.Fatal(err)
	}
	box = w.get("/wallet/inbox").expect(t, 200)
	if !bytes.Contains(box.body, []byte("/wallet/scan/"+qr.ID)) || !bytes.Contains(box.body, []byte(`data-kind="login"`)) {
		t.Errorf("the inbox does not list the scanned login:\n%s", box.body)
	}

	// Expiry: a day later the pending request can no longer be confirmed.
	p.env.Clock.Advance(signing.DefaultTTL + time.Minute)
	w.confirm(r.ID, p.holder.PIN).expect(t, 409)
	got, err := p.svc.Get(p.ctx, &signing.Caller{ClientID: p.clientOf(r.ID)}, r.ID)
	if err != nil || got.Status != signing.Expired {
		t.Errorf("expired request: %+v %v", got, err)
	}
	if box := w.get("/wallet/inbox").expect(t, 200); bytes.Contains(box.body, []byte(r.ID)) {
		t.Error("the inbox shows an expired request")
	}
}

// clientOf returns the portal of a request.
func (p *platform) clientOf(id string) string {
	r, err := p.env.DB.SigningRequest(p.ctx, id, false)
	if err != nil {
		p.tb.Fatal(err)
	}
	return r.ClientID
}
