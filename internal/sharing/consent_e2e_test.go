package sharing_test

// End-to-end tests of consent, downloads, archive receipts and usage records over HTTP on
// 127.0.0.1: real services on SQLite, real client-credentials tokens, a holder who claimed
// the licence and acts through the wallet's pages and JSON endpoints with a real session.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/oidc/oidctest"
	"github.com/elicense/elicense/internal/sharing"
	"github.com/elicense/elicense/internal/store"
)

// markCopier renders the original document (as cmd/elicense's temporary adapter does) and
// keeps the marks it was asked to put on the copies.
type markCopier struct {
	docs  *document.Service
	mu    sync.Mutex
	marks []sharing.CopyMark
}

func (c *markCopier) Copy(ctx context.Context, l *license.Licence, format string, m sharing.CopyMark) ([]byte, error) {
	c.mu.Lock()
	c.marks = append(c.marks, m)
	c.mu.Unlock()
	f := document.OFD
	if format == "pdf" {
		f = document.PDF
	}
	return c.docs.Render(ctx, l, document.Options{Format: f})
}

// consentPlatform is a platform with consent enabled, an entity whose holder claimed the
// licence, and a department's system allowed every operation.
type consentPlatform struct {
	*platform
	copier   *markCopier
	holder   *oidctest.Holder
	licence  *license.Licence
	deptID   string
	dept     string // its access token
	allScope []string
}

var allScopes = []string{oidc.ScopeSharingQuery, oidc.ScopeSharingVerify, oidc.ScopeSharingDownload, oidc.ScopeSharingArchive}

func newConsentPlatform(t *testing.T) *consentPlatform {
	t.Helper()
	p := newPlatform(t)
	signer, cert, err := p.env.Keys.PlatformSigner(p.ctx)
	if err != nil {
		t.Fatal(err)
	}
	cp := &consentPlatform{platform: p, copier: &markCopier{docs: p.env.Documents}}
	if err := p.svc.EnableConsent(sharing.ConsentConfig{Store: p.env.DB, People: p.env.Identity, Copier: cp.copier,
		Events: p.env.Audit, Signer: signer, CertDER: cert}); err != nil {
		t.Fatal(err)
	}
	cp.holder, err = p.env.Entity(p.ctx, 501, "李娜", oidctest.IDNumber("33010619850312002"), "13900000501", "258369")
	if err != nil {
		t.Fatal(err)
	}
	if cp.licence, err = p.env.Licenses.Get(p.ctx, cp.holder.Code); err != nil {
		t.Fatal(err)
	}
	cp.deptID, cp.dept = p.client("市场监管办件系统", allScopes, "query", "verify", "download", "archive")
	return cp
}

// purposeFor is a purpose of case k.
func purposeFor(k string) string {
	return `"use_cause":"办理食品经营许可，核验申请人营业执照","service_item":"330000-FOOD-001","case_number":"` + k + `"`
}

// query asks for the non-public items of the licence in case k.
func (cp *consentPlatform) query(token, k, extra string) (rec struct {
	Face      map[string]any
	NonPublic *struct {
		Items   []string
		Capital *license.Capital
	} `json:"non_public"`
	ConsentRequired *sharing.ConsentNotice `json:"consent_required"`
}) {
	cp.tb.Helper()
	cp.post("/api/v1/sharing/query", token, `{`+purposeFor(k)+`,"identifier":"`+cp.licence.Identifier+`","non_public":["*"]`+extra+`}`).
		expect(cp.tb, 200).decode(cp.tb, &rec)
	return rec
}

// wallet sends a request of the holder's phone: a form (csrf added) or JSON (CSRF header).
func (cp *consentPlatform) wallet(method, path string, form url.Values, jsonBody string) reply {
	cp.tb.Helper()
	var body io.Reader
	if form != nil {
		form.Set("csrf", cp.holder.CSRF)
		body = strings.NewReader(form.Encode())
	} else if jsonBody != "" {
		body = strings.NewReader(jsonBody)
	}
	req, _ := http.NewRequestWithContext(cp.ctx, method, cp.url+path, body)
	req.Header.Set("Accept-Language", "en")
	req.AddCookie(&http.Cookie{Name: "elicense_wallet", Value: cp.holder.Wallet})
	switch {
	case form != nil:
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case jsonBody != "":
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-CSRF-Token", cp.holder.CSRF)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		cp.tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, b}
}

func TestConsentRequest(t *testing.T) {
	cp := newConsentPlatform(t)
	code := cp.holder.Code
	_, other := cp.client("另一个部门系统", allScopes, "query", "download")

	// Without consent: the public items and a clear indication; downloads refused.
	rec := cp.query(cp.dept, "K1", "")
	if rec.NonPublic != nil || rec.ConsentRequired == nil || fmt.Sprint(rec.ConsentRequired.Missing) != "[capital form]" ||
		!strings.Contains(rec.ConsentRequired.EN, "capital") || rec.Face["name"] != cp.licence.Face.Name {
		t.Errorf("query without consent: %+v", rec)
	}
	r := cp.post("/api/v1/sharing/download", cp.dept, `{`+purposeFor("K1")+`,"identifier":"`+cp.licence.Identifier+`","format":"ofd"}`).expect(t, 403)
	if f, m := r.errField(t); f != "consent" || !strings.Contains(m, "download") {
		t.Errorf("download without consent: %s %s", f, m)
	}
	// Unknown non-public item, a request for nothing, an unknown entity.
	if f, _ := cp.post("/api/v1/sharing/query", cp.dept, `{`+purposeFor("K1")+`,"identifier":"`+cp.licence.Identifier+`","non_public":["salary"]}`).
		expect(t, 400).errField(t); f != "non_public" {
		t.Errorf("unknown item: field %q", f)
	}
	cp.post("/api/v1/sharing/consents/requests", cp.dept, `{`+purposeFor("K1")+`,"entity_code":"`+code+`"}`).expect(t, 400)
	cp.post("/api/v1/sharing/consents/requests", cp.dept, `{`+purposeFor("K1")+`,"entity_code":"91330106MA0000990X","download":true}`).expect(t, 404)

	// The department asks; the holder sees the request in the wallet and approves it with the PIN.
	var req struct{ ID, Status string }
	cp.post("/api/v1/sharing/consents/requests", cp.dept, `{`+purposeFor("K1")+`,"entity_code":"`+code+`","non_public":["capital"],"download":true}`).
		expect(t, 200).decode(t, &req)
	if req.Status != "pending" || req.ID == "" {
		t.Fatalf("request: %+v", req)
	}
	cp.post("/api/v1/sharing/consents/requests/"+req.ID, cp.dept, "").expect(t, 405)
	poll := func(token string, want int) string {
		t.Helper()
		var v struct{ Status string }
		rq, _ := http.NewRequest("GET", cp.url+"/api/v1/sharing/consents/requests/"+req.ID, nil)
		rq.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(rq)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		reply{resp.StatusCode, b}.expect(t, want)
		if want == 200 {
			_ = json.Unmarshal(b, &v)
		}
		return v.Status
	}
	if s := poll(cp.dept, 200); s != "pending" {
		t.Errorf("poll: %s", s)
	}
	poll(other, 404) // another department does not see it
	page := cp.wallet("GET", "/wallet/licences/"+code+"/consents", nil, "").expect(t, 200)
	if !bytes.Contains(page.body, []byte(req.ID)) || !bytes.Contains(page.body, []byte("市场监管办件系统")) {
		t.Errorf("the wallet does not show the request: %.2000s", page.body)
	}
	cp.wallet("POST", "/wallet/licences/"+code+"/consents/"+req.ID+"/approve", url.Values{"method": {"pin"}, "pin": {"111111"}}, "").expect(t, 401)
	if s := poll(cp.dept, 200); s != "pending" {
		t.Errorf("approved with a wrong PIN: %s", s)
	}
	cp.wallet("POST", "/wallet/licences/"+code+"/consents/"+req.ID+"/approve", url.Values{"method": {"pin"}, "pin": {cp.holder.PIN}}, "").expect(t, 303)
	if s := poll(cp.dept, 200); s != "approved" {
		t.Errorf("poll after approval: %s", s)
	}
	// The approval covers that case and what was asked: capital, not form; another case nothing.
	rec = cp.query(cp.dept, "K1", "")
	if rec.NonPublic == nil || rec.NonPublic.Capital == nil || rec.NonPublic.Capital.Amount != "100" || rec.ConsentRequired == nil ||
		fmt.Sprint(rec.ConsentRequired.Missing) != "[form]" {
		t.Errorf("query after approval: %+v %+v", rec.NonPublic, rec.ConsentRequired)
	}
	if rec := cp.query(cp.dept, "K2", ""); rec.NonPublic != nil {
		t.Errorf("approval of K1 covered K2: %+v", rec.NonPublic)
	}
	if rec := cp.query(other, "K1", ""); rec.NonPublic != nil {
		t.Errorf("approval for one department covered another: %+v", rec.NonPublic)
	}
	cp.post("/api/v1/sharing/download", cp.dept, `{`+purposeFor("K1")+`,"identifier":"`+cp.licence.Identifier+`","format":"pdf"}`).expect(t, 200)

	// Revoked: at once, nothing is covered any more.
	cp.wallet("POST", "/wallet/licences/"+code+"/consents/"+req.ID+"/revoke", url.Values{}, "").expect(t, 303)
	if rec := cp.query(cp.dept, "K1", ""); rec.NonPublic != nil || rec.ConsentRequired == nil {
		t.Errorf("query after revocation: %+v", rec.NonPublic)
	}
	cp.post("/api/v1/sharing/download", cp.dept, `{`+purposeFor("K1")+`,"identifier":"`+cp.licence.Identifier+`","format":"pdf"}`).expect(t, 403)
	if s := poll(cp.dept, 200); s != "revoked" {
		t.Errorf("poll after revocation: %s", s)
	}

	// Declined (through the wallet's JSON endpoint): the case gets nothing.
	var req2 struct{ ID string }
	cp.post("/api/v1/sharing/consents/requests", cp.dept, `{`+purposeFor("K2")+`,"entity_code":"`+code+`","download":true}`).expect(t, 200).decode(t, &req2)
	var list struct{ Consents []struct{ ID, State string } }
	cp.wallet("GET", "/wallet/api/licences/"+code+"/consents", nil, "").expect(t, 200).decode(t, &list)
	if len(list.Consents) != 2 || list.Consents[0].ID != req2.ID || list.Consents[0].State != "pending" || list.Consents[1].State != "revoked" {
		t.Errorf("wallet API list: %+v", list)
	}
	var dec struct{ State string }
	cp.wallet("POST", "/wallet/api/licences/"+code+"/consents/"+req2.ID+"/decline", nil, "").expect(t, 200).decode(t, &dec)
	if dec.State != "declined" {
		t.Errorf("decline: %+v", dec)
	}
	cp.wallet("POST", "/wallet/api/licences/"+code+"/consents/"+req2.ID+"/approve", nil, `{"method":"pin","pin":"`+cp.holder.PIN+`"}`).expect(t, 409)
	cp.post("/api/v1/sharing/download", cp.dept, `{`+purposeFor("K2")+`,"identifier":"`+cp.licence.Identifier+`","format":"ofd"}`).expect(t, 403)

	// Every decision is in the audit log.
	evs, err := cp.env.Audit.Find(cp.ctx, audit.Filter{Subject: code, ActionPrefix: "consent."})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range evs {
		actions = append(actions, e.Action)
	}
	if fmt.Sprint(actions) != "[consent.decline consent.revoke consent.approve]" {
		t.Errorf("consent events: %v", actions)
	}
}

func TestConsentCodeAndStanding(t *testing.T) {
	cp := newConsentPlatform(t)
	code := cp.holder.Code
	// The holder makes a 用证码 in the wallet; it is shown once.
	page := cp.wallet("POST", "/wallet/licences/"+code+"/consents/code", url.Values{"method": {"pin"}, "pin": {cp.holder.PIN}}, "").expect(t, 200)
	m := regexp.MustCompile(`id="consent-code">([0-9A-Z]{4}) ([0-9A-Z]{4})<`).FindSubmatch(page.body)
	if m == nil {
		t.Fatalf("no code on the page: %.3000s", page.body)
	}
	secret := strings.ToLower(string(m[1])) + "-" + string(m[2]) // typed in any case, with a hyphen
	cc := `,"consent_code":"` + secret + `"`
	// Another entity's department call with it: the code is bound to this entity.
	other := cp.issue(1, 1)[0]
	r := cp.post("/api/v1/sharing/download", cp.dept, `{`+purposeFor("K3")+cc+`,"identifier":"`+other.Identifier+`","format":"ofd"}`).expect(t, 403)
	if f, _ := r.errField(t); f != "consent_code" {
		t.Errorf("code of another entity: field %q", f)
	}
	// First use: covers the case K3.
	var dl struct {
		URL       string
		ExpiresAt time.Time `json:"expires_at"`
	}
	cp.post("/api/v1/sharing/download", cp.dept, `{`+purposeFor("K3")+cc+`,"identifier":"`+cp.licence.Identifier+`","format":"ofd"}`).expect(t, 200).decode(t, &dl)
	if !strings.HasPrefix(dl.URL, cp.url+"/api/v1/sharing/files/") {
		t.Errorf("url: %s", dl.URL)
	}
	// Second use refused, whatever the case.
	r = cp.post("/api/v1/sharing/download", cp.dept, `{`+purposeFor("K4")+cc+`,"identifier":"`+cp.licence.Identifier+`","format":"ofd"}`).expect(t, 403)
	if f, msg := r.errField(t); f != "consent_code" || !strings.Contains(msg, "used") {
		t.Errorf("second use: %s %s", f, msg)
	}
	cp.post("/api/v1/sharing/query", cp.dept, `{`+purposeFor("K3")+cc+`,"identifier":"`+cp.licence.Identifier+`","non_public":["capital"]}`).expect(t, 403)
	// The used code goes on covering its case, and only it.
	if rec := cp.query(cp.dept, "K3", ""); rec.NonPublic == nil || rec.ConsentRequired != nil {
		t.Errorf("used code does not cover its case: %+v", rec.ConsentRequired)
	}
	if rec := cp.query(cp.dept, "K4", ""); rec.NonPublic != nil {
		t.Error("used code covers another case")
	}
	// An expired code.
	page = cp.wallet("POST", "/wallet/licences/"+code+"/consents/code", url.Values{"method": {"pin"}, "pin": {cp.holder.PIN}}, "").expect(t, 200)
	m = regexp.MustCompile(`id="consent-code">([0-9A-Z]{4}) ([0-9A-Z]{4})<`).FindSubmatch(page.body)
	cp.env.Clock.Advance(sharing.CodeLifetime)
	_, fresh := cp.client("新令牌", allScopes, "query", "download") // tokens live 10 minutes too
	r = cp.post("/api/v1/sharing/download", fresh, `{`+purposeFor("K5")+`,"consent_code":"`+string(m[1])+string(m[2])+`","identifier":"`+cp.licence.Identifier+`","format":"ofd"}`).expect(t, 403)
	if _, msg := r.errField(t); !strings.Contains(msg, "expired") {
		t.Errorf("expired code: %s", msg)
	}
	cp.env.Clock.Advance(-sharing.CodeLifetime)

	// Standing authorisation for one department, all items, until a date.
	deptB, tokB := cp.client("税务登记系统", allScopes, "query", "download")
	until := time.Now().In(time.FixedZone("", 8*3600)).AddDate(0, 6, 0).Format(time.DateOnly)
	form := url.Values{"client_id": {deptB}, "until": {until}, "method": {"pin"}, "pin": {cp.holder.PIN}}
	tooLong := url.Values{"client_id": {deptB}, "until": {time.Now().AddDate(1, 1, 0).Format(time.DateOnly)}, "method": {"pin"}, "pin": {cp.holder.PIN}}
	page = cp.wallet("POST", "/wallet/licences/"+code+"/consents", tooLong, "").expect(t, 400)
	if !bytes.Contains(page.body, []byte("at most a year")) {
		t.Errorf("a standing authorisation of more than a year: %.2000s", page.body)
	}
	cp.wallet("POST", "/wallet/licences/"+code+"/consents", url.Values{"client_id": {"nobody"}, "until": {until}, "method": {"pin"}, "pin": {cp.holder.PIN}}, "").expect(t, 400)
	cp.wallet("POST", "/wallet/licences/"+code+"/consents", form, "").expect(t, 303)
	for _, k := range []string{"K7", "K8"} {
		if rec := cp.query(tokB, k, ""); rec.NonPublic == nil || len(rec.NonPublic.Items) != 2 || rec.ConsentRequired != nil {
			t.Errorf("standing authorisation, case %s: %+v", k, rec.ConsentRequired)
		}
	}
	if rec := cp.query(cp.dept, "K7", ""); rec.NonPublic != nil {
		t.Error("standing authorisation of B covers A")
	}
	// Its end: a day after the date given.
	cp.env.Clock.Advance(200 * 24 * time.Hour)
	_, tokB2 := cp.client("税务登记系统（新令牌）", allScopes)
	_ = tokB2
	vs, err := cp.svc.Consents(cp.ctx, cp.holder.PersonID, code)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 || vs[0].Kind != sharing.ConsentStanding || vs[0].State != "expired" {
		t.Errorf("consents after the end: %+v", vs)
	}
	cp.env.Clock.Advance(-200 * 24 * time.Hour)

	// Only the holder and administrators manage authorisations; an agent may not.
	agent, err := cp.env.Person(cp.ctx, "赵强", oidctest.IDNumber("33010619900101003"), "13900000777")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cp.env.Identity.GrantAgent(cp.ctx, cp.holder.PersonID, code, identity.AgentGrant{Name: "赵强",
		IDNumber: oidctest.IDNumber("33010619900101003"), AllItems: true, Until: time.Now().Add(24 * time.Hour)},
		identity.Proof{Method: identity.MethodPIN, PIN: cp.holder.PIN}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cp.svc.NewCode(cp.ctx, agent.Person.ID, code, "", identity.Proof{Method: identity.MethodPIN, PIN: "147258"}); err == nil {
		t.Error("an agent made a consent code")
	}
	if _, err := cp.svc.Consents(cp.ctx, agent.Person.ID, code); err == nil {
		t.Error("an agent sees the authorisations")
	}
}

func TestDownloads(t *testing.T) {
	cp := newConsentPlatform(t)
	_, queryOnly := cp.client("只能查询", allScopes, "query")
	_, noScope := cp.client("令牌无下载范围", []string{oidc.ScopeSharingQuery}, "query", "download")
	// Standing authorisation for the department.
	if _, err := cp.svc.GrantStanding(cp.ctx, cp.holder.PersonID, cp.holder.Code, sharing.StandingGrant{ClientID: cp.deptID,
		Until: time.Now().Add(30 * 24 * time.Hour)}, identity.Proof{Method: identity.MethodPIN, PIN: cp.holder.PIN}); err != nil {
		t.Fatal(err)
	}
	dlBody := func(k, format string) string {
		return `{` + purposeFor(k) + `,"identifier":"` + cp.licence.Identifier + `","format":"` + format + `"}`
	}
	// Denied: wrong type permission, token scope, no purpose, bad format, unknown identifier.
	cp.post("/api/v1/sharing/download", queryOnly, dlBody("K1", "ofd")).expect(t, 403)
	cp.post("/api/v1/sharing/download", noScope, dlBody("K1", "ofd")).expect(t, 403)
	if f, _ := cp.post("/api/v1/sharing/download", cp.dept, `{"identifier":"`+cp.licence.Identifier+`","format":"ofd"}`).expect(t, 400).errField(t); f != "use_cause" {
		t.Errorf("no purpose: field %q", f)
	}
	if f, _ := cp.post("/api/v1/sharing/download", cp.dept, dlBody("K1", "docx")).expect(t, 400).errField(t); f != "format" {
		t.Errorf("bad format: field %q", f)
	}
	cp.post("/api/v1/sharing/download", cp.dept, `{`+purposeFor("K1")+`,"identifier":"`+strings.Replace(cp.licence.Identifier, ".1", ".9", 1)+`","format":"ofd"}`).expect(t, 404)

	get := func(u string) reply {
		t.Helper()
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Accept-Language", "en")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return reply{resp.StatusCode, b}
	}
	var dl struct{ URL string }
	cp.post("/api/v1/sharing/download", cp.dept, dlBody("K1", "ofd")).expect(t, 200).decode(t, &dl)
	file := get(dl.URL).expect(t, 200)
	rep, err := cp.env.Documents.Verify(cp.ctx, file.body)
	if err != nil || rep.Identifier != cp.licence.Identifier {
		t.Errorf("the copy does not verify: %+v %v", rep, err)
	}
	if len(cp.copier.marks) != 1 || cp.copier.marks[0].Caller != cp.deptID || cp.copier.marks[0].CallerName != "市场监管办件系统" ||
		cp.copier.marks[0].Case != "K1" || cp.copier.marks[0].Cause == "" {
		t.Errorf("mark: %+v", cp.copier.marks)
	}
	// Second use of a one-time URL.
	if _, m := get(dl.URL).expect(t, 410).errField(t); !strings.Contains(m, "used") {
		t.Errorf("second fetch: %s", m)
	}
	// An expired URL (the clock moved past 10 minutes), unknown ones.
	cp.post("/api/v1/sharing/download", cp.dept, dlBody("K2", "pdf")).expect(t, 200).decode(t, &dl)
	cp.env.Clock.Advance(sharing.DownloadLifetime)
	if _, m := get(dl.URL).expect(t, 410).errField(t); !strings.Contains(m, "expired") {
		t.Errorf("expired fetch: %s", m)
	}
	cp.env.Clock.Advance(-sharing.DownloadLifetime)
	get(cp.url+"/api/v1/sharing/files/"+strings.Repeat("A", 43)).expect(t, 404)
	get(cp.url+"/api/v1/sharing/files/short").expect(t, 404)
	// Two fetches at once: one copy.
	cp.post("/api/v1/sharing/download", cp.dept, dlBody("K3", "ofd")).expect(t, 200).decode(t, &dl)
	codes := make(chan int, 2)
	for range 2 {
		go func() {
			resp, err := http.Get(dl.URL)
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	if a, b := <-codes, <-codes; a+b != 200+410 {
		t.Errorf("two concurrent fetches: %d %d", a, b)
	}
	// Both the downloads and the fetches are recorded.
	var ops []string
	for _, e := range cp.usages() {
		if e.Action == "share.download" || e.Action == "share.fetch" {
			var u struct{ Result string }
			_ = json.Unmarshal(e.Data, &u)
			ops = append(ops, strings.TrimPrefix(e.Action, "share.")+":"+u.Result)
		}
	}
	want := "[download:denied download:denied download:not_found download:ok fetch:ok download:ok download:ok fetch:ok]"
	if fmt.Sprint(ops) != want {
		t.Errorf("records: %v, want %s", ops, want)
	}
	// The national envelope: no permission is status 100.
	var env struct{ Head struct{ Status int } }
	cp.post("/api/gov/v1/sharing/download", queryOnly, dlBody("K1", "ofd")).expect(t, 200).decode(t, &env)
	if env.Head.Status != 100 {
		t.Errorf("gov download: %+v", env)
	}
}

func TestArchive(t *testing.T) {
	cp := newConsentPlatform(t)
	_, queryOnly := cp.client("只能查询", allScopes, "query")
	body := `{` + purposeFor("K1") + `,"identifier":"` + cp.licence.Identifier + `"}`
	var rc sharing.Receipt
	cp.post("/api/v1/sharing/archive", cp.dept, body).expect(t, 200).decode(t, &rc)
	if rc.Identifier != cp.licence.Identifier || rc.Version != 1 || rc.Caller != cp.deptID || len(rc.DocumentSM3) != 64 ||
		rc.DocumentSM3 != sharing.DocumentSM3(cp.licence) || len(rc.Signature) == 0 || rc.CertSerial == "" {
		t.Errorf("receipt: %+v", rc)
	}
	// Offline: the platform certificate verifies the signature over the canonical encoding.
	_, cert, _ := cp.env.Keys.PlatformSigner(cp.ctx)
	if !verifyWithCert(t, cert, sharing.ReceiptBytes(&rc), rc.Signature) {
		t.Error("receipt signature does not verify with the platform certificate")
	}
	check := func(r sharing.Receipt) sharing.ReceiptCheck {
		b, _ := json.Marshal(r)
		var ck sharing.ReceiptCheck
		cp.post("/api/v1/sharing/archive/verify", cp.dept, string(b)).expect(t, 200).decode(t, &ck)
		return ck
	}
	if ck := check(rc); !ck.Valid || !ck.SignatureValid || !ck.OnRecord || !ck.DocumentMatches {
		t.Errorf("valid receipt: %+v", ck)
	}
	bad := rc
	bad.Version = 2
	if ck := check(bad); ck.Valid || ck.SignatureValid || ck.OnRecord || !strings.Contains(ck.EN, "signature") {
		t.Errorf("altered receipt: %+v", ck)
	}
	// Denied: no archive permission, no purpose.
	cp.post("/api/v1/sharing/archive", queryOnly, body).expect(t, 403)
	cp.post("/api/v1/sharing/archive", cp.dept, `{"identifier":"`+cp.licence.Identifier+`"}`).expect(t, 400)
	// The list of the caller's own entries, paged.
	for range 2 {
		cp.post("/api/v1/sharing/archive", cp.dept, body).expect(t, 200)
	}
	list := func(token, q string) (pg sharing.ArchivePage) {
		req, _ := http.NewRequest("GET", cp.url+"/api/v1/sharing/archive"+q, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		reply{resp.StatusCode, b}.expect(t, 200).decode(t, &pg)
		return pg
	}
	p1 := list(cp.dept, "?limit=2")
	p2 := list(cp.dept, "?limit=2&cursor="+url.QueryEscape(p1.Next))
	if len(p1.Receipts) != 2 || p1.Next == "" || len(p2.Receipts) != 1 || p2.Next != "" || p2.Receipts[0].ReceiptID != rc.ReceiptID {
		t.Errorf("archive pages: %+v %+v", p1, p2)
	}
	if pg := list(queryOnly, ""); len(pg.Receipts) != 0 {
		t.Errorf("another department's list: %+v", pg)
	}
	// In the envelope.
	var env struct {
		Head struct{ Status int }
		Data sharing.Receipt
	}
	cp.post("/api/gov/v1/sharing/archive", cp.dept, body).expect(t, 200).decode(t, &env)
	if env.Head.Status != 0 || env.Data.ReceiptID == "" {
		t.Errorf("gov archive: %+v", env)
	}
}

func TestUsagePage(t *testing.T) {
	cp := newConsentPlatform(t)
	code := cp.holder.Code
	deptB, tokB := cp.client("税务登记系统", allScopes, "query", "verify")
	// Calls of two departments, for two service items, and one the entity refuses.
	cp.query(cp.dept, "K1", "")
	cp.post("/api/v1/sharing/verify", tokB, `{"use_cause":"税务登记","service_item":"TAX-001","case_number":"T1","code":"`+code+`"}`).expect(t, 200)
	cp.post("/api/v1/sharing/archive", cp.dept, `{`+purposeFor("K1")+`,"identifier":"`+cp.licence.Identifier+`"}`).expect(t, 200)
	cp.post("/api/v1/sharing/query", cp.dept, `{"use_cause":"=HYPERLINK(\"x\")","service_item":"TAX-001","case_number":"T2","identifier":"`+cp.licence.Identifier+`"}`).expect(t, 200)
	cp.post("/api/v1/sharing/download", cp.dept, `{`+purposeFor("K1")+`,"identifier":"`+cp.licence.Identifier+`","format":"ofd"}`).expect(t, 403)

	evs, err := cp.env.Audit.Find(cp.ctx, audit.Filter{Subject: code, ActionPrefix: "share.", Limit: 1000})
	if err != nil || len(evs) != 5 {
		t.Fatalf("%d usage events: %v", len(evs), err)
	}
	// The page shows every one.
	page := cp.wallet("GET", "/wallet/licences/"+code+"/uses", nil, "").expect(t, 200)
	for _, e := range evs {
		if !bytes.Contains(page.body, []byte(fmt.Sprintf(`data-seq="%d"`, e.Seq))) {
			t.Errorf("use %d (%s) not on the page", e.Seq, e.Action)
		}
	}
	if !bytes.Contains(page.body, []byte("税务登记系统")) || !bytes.Contains(page.body, []byte("市场监管办件系统")) {
		t.Error("the page does not name the departments")
	}
	// The CSV has a byte order mark and the same records.
	csvBody := cp.wallet("GET", "/wallet/licences/"+code+"/uses?format=csv", nil, "").expect(t, 200).body
	if !bytes.HasPrefix(csvBody, []byte("\uFEFF")) {
		t.Error("CSV without a UTF-8 byte order mark")
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(csvBody, []byte("\uFEFF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// The wallet's list of uses (internal/present) has every use of the licence: the sharing
	// calls, and the holder's own claim.
	if rows[0][0] != "seq" {
		t.Fatalf("CSV header %v", rows[0])
	}
	bySeq := map[string][]string{}
	for _, row := range rows[1:] {
		bySeq[row[0]] = row
	}
	for _, e := range evs {
		var u struct{ UseCause, ServiceItem, CaseNumber string }
		_ = json.Unmarshal(e.Data, &struct {
			UseCause    *string `json:"use_cause"`
			ServiceItem *string `json:"service_item"`
			CaseNumber  *string `json:"case_number"`
		}{&u.UseCause, &u.ServiceItem, &u.CaseNumber})
		row, ok := bySeq[fmt.Sprint(e.Seq)]
		if !ok {
			t.Errorf("use %d (%s) not in the CSV", e.Seq, e.Action)
			continue
		}
		if row[3] != e.Action || !strings.Contains(row[5], u.UseCause) || !strings.Contains(row[5], u.ServiceItem) ||
			!strings.Contains(row[5], u.CaseNumber) || strings.HasPrefix(row[5], "=") {
			t.Errorf("CSV row %v, event %s %s", row, e.Action, e.Data)
		}
		if !strings.Contains(row[4], "系统") {
			t.Errorf("CSV row %v does not name the department", row)
		}
	}
	// An agent for one service item sees only its uses.
	agent, err := cp.env.Person(cp.ctx, "赵强", oidctest.IDNumber("33010619900101003"), "13900000777")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cp.env.Identity.GrantAgent(cp.ctx, cp.holder.PersonID, code, identity.AgentGrant{Name: "赵强",
		IDNumber: oidctest.IDNumber("33010619900101003"), Items: []string{"TAX-001"}, Until: time.Now().Add(24 * time.Hour)},
		identity.Proof{Method: identity.MethodPIN, PIN: cp.holder.PIN}); err != nil {
		t.Fatal(err)
	}
	pg, err := cp.svc.UsesFor(cp.ctx, agent.Person.ID, code, sharing.UsageFilter{})
	if err != nil || len(pg.Uses) != 2 || pg.Uses[0].Item != "TAX-001" || pg.Uses[1].Item != "TAX-001" {
		t.Errorf("agent's view: %+v %v", pg, err)
	}
	stranger, err := cp.env.Person(cp.ctx, "钱多", oidctest.IDNumber("33010619900101011"), "13900000778")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cp.svc.UsesFor(cp.ctx, stranger.Person.ID, code, sharing.UsageFilter{}); err == nil {
		t.Error("a stranger sees the uses")
	}
	// Paging of the holder's view.
	pg, err = cp.svc.UsesFor(cp.ctx, cp.holder.PersonID, code, sharing.UsageFilter{Limit: 3})
	if err != nil || len(pg.Uses) != 3 || pg.Next == 0 {
		t.Fatalf("first page: %+v %v", pg, err)
	}
	pg2, _ := cp.svc.UsesFor(cp.ctx, cp.holder.PersonID, code, sharing.UsageFilter{Limit: 3, Before: pg.Next})
	if len(pg2.Uses) != 2 || pg2.Next != 0 || pg2.Uses[0].Seq >= pg.Uses[2].Seq {
		t.Errorf("second page: %+v", pg2)
	}
	// A department sees its own calls; an operator all, or one client's.
	calls := func(token, q string) sharing.UsagePage {
		var out sharing.UsagePage
		req, _ := http.NewRequest("GET", cp.url+"/api/v1/sharing/calls"+q, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		reply{resp.StatusCode, b}.expect(t, 200).decode(t, &out)
		return out
	}
	own := calls(tokB, "")
	if len(own.Uses) != 1 || own.Uses[0].ClientID != deptB || own.Uses[0].Operation != "verify" || own.Uses[0].ClientName != "税务登记系统" {
		t.Errorf("B's calls: %+v", own)
	}
	if all := calls(cp.operator, ""); len(all.Uses) != 5 {
		t.Errorf("operator sees %d calls", len(all.Uses))
	}
	if some := calls(cp.operator, "?client_id="+deptB); len(some.Uses) != 1 {
		t.Errorf("operator, one client: %d calls", len(some.Uses))
	}
	cp.post("/api/v1/sharing/calls", tokB, "").expect(t, 405)
	req, _ := http.NewRequest("GET", cp.url+"/api/v1/sharing/calls?since=yesterday", nil)
	req.Header.Set("Authorization", "Bearer "+tokB)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("bad since: %d", resp.StatusCode)
	}
	if slices.ContainsFunc(own.Uses, func(u sharing.Use) bool { return u.ClientID != deptB }) {
		t.Error("a department sees others' calls")
	}
}

var _ sharing.ConsentStore = (*store.DB)(nil)

// verifyWithCert checks an SM2 signature with the public key of a DER certificate.
func verifyWithCert(t *testing.T, der, msg, sig []byte) bool {
	t.Helper()
	c, err := gm.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	return ok && gm.Verify(pub, msg, sig)
}
