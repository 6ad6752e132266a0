package sharing_test

// End-to-end tests of the sharing service over HTTP on 127.0.0.1: real services on SQLite
// (internal/oidc/oidctest), real client-credentials tokens from the platform's token endpoint,
// and the web handler with the sharing service wired.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/inbox"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/oidc/oidctest"
	"github.com/elicense/elicense/internal/present"
	"github.com/elicense/elicense/internal/sharing"
	"github.com/elicense/elicense/internal/store"
	"github.com/elicense/elicense/internal/uscc"
	"github.com/elicense/elicense/internal/web"
)

type platform struct {
	tb       testing.TB
	ctx      context.Context
	url      string
	env      *oidctest.Env
	svc      *sharing.Service
	auth     string // registering authority code
	operator string // operator API token
}

func newPlatform(tb testing.TB) *platform {
	tb.Helper()
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	issuer := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	env, err := oidctest.Open(ctx, oidctest.Options{Dir: tb.TempDir(), Issuer: issuer})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { env.Close() })
	svc := sharing.NewService(sharing.Config{Store: env.DB, Clients: env.DB, Tokens: env.OIDC, Licences: env.Licenses,
		Documents: env.Documents, Audit: env.Audit, Clock: env.Clock.Now})
	h, err := web.New(web.Deps{Licenses: env.Licenses, Keys: env.Keys, Accounts: env.Accounts, Audit: env.Audit,
		Documents: env.Documents, Identity: env.Identity, OIDC: env.OIDC, Sharing: svc, DB: env.DB, Clock: env.Clock.Now,
		PublicURL: issuer, Inbox: inbox.New(env.Clock.Now, svc),
		Present: present.NewService(present.Config{Identity: env.Identity, Licences: env.Licenses,
			Keys: env.Keys, Audit: env.Audit, PublicURL: issuer, Clock: env.Clock.Now,
			ClientName: func(ctx context.Context, id string) (string, error) {
				c, err := env.DB.OIDCClient(ctx, id)
				if err != nil {
					return "", err
				}
				return c.Name, nil
			}})})
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	p := &platform{tb: tb, ctx: ctx, url: issuer, env: env, svc: svc}
	p.auth, err = uscc.Generate('1', '1', "330106", "MB000000")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := env.Keys.CreateAuthority(ctx, keys.Authority{Code: p.auth, Name: "杭州市西湖区市场监督管理局", Region: "330106"}); err != nil {
		tb.Fatal(err)
	}
	op, err := env.Accounts.Create(ctx, "operator", "平台运维", "correct horse battery staple", account.Operator, "")
	if err != nil {
		tb.Fatal(err)
	}
	if p.operator, err = env.Accounts.NewToken(ctx, op.ID, "test", time.Hour); err != nil {
		tb.Fatal(err)
	}
	return p
}

func registration(n int) license.Registration {
	code, err := uscc.Generate('9', '1', "330106", fmt.Sprintf("MA%06d", n))
	if err != nil {
		panic(err)
	}
	return license.Registration{Code: code, Kind: license.Company, Face: license.Face{
		Name: fmt.Sprintf("杭州共享测试科技有限公司%d", n), Type: "有限责任公司（自然人投资或控股）", Person: "王芳",
		Capital: &license.Capital{Amount: "100", Currency: "CNY"}, EstablishedOn: "2015-03-18",
		TermFrom: "2015-03-18", TermTo: license.LongTerm, Address: "浙江省杭州市西湖区文三路 90 号 301 室",
		Scope: "一般项目：技术服务、技术开发、技术咨询。"}}
}

// issue issues licences n..n+count-1.
func (p *platform) issue(n, count int) []*license.Licence {
	p.tb.Helper()
	regs := make([]license.Registration, count)
	for i := range regs {
		regs[i] = registration(n + i)
	}
	res, err := p.env.Licenses.IssueBatch(p.ctx, license.Actor{ID: "test", Authority: p.auth}, regs)
	if err != nil {
		p.tb.Fatal(err)
	}
	out := make([]*license.Licence, count)
	for i, r := range res {
		if r.Err != nil {
			p.tb.Fatal(r.Err)
		}
		out[i] = r.Licence
	}
	return out
}

func (p *platform) setStatus(code string, a license.Action) {
	p.tb.Helper()
	if _, err := p.env.Licenses.SetStatus(p.ctx, license.Actor{ID: "test", Authority: p.auth}, code,
		license.StatusChange{Action: a, Reason: "测试"}); err != nil {
		p.tb.Fatal(err)
	}
}

// client registers a department's system with scopes, grants it ops on the business licence
// through the operator API (none: no grant), and returns a token with every scope.
func (p *platform) client(name string, scopes []string, ops ...string) (id, token string) {
	p.tb.Helper()
	c, secret, err := p.env.OIDC.RegisterClient(p.ctx, oidc.ClientSpec{Name: name,
		GrantTypes: []string{oidc.GrantClientCredentials}, Scopes: scopes}, "test")
	if err != nil {
		p.tb.Fatal(err)
	}
	if len(ops) > 0 {
		b, _ := json.Marshal(map[string]any{"client_id": c.ID, "operations": ops})
		p.post("/api/v1/sharing/permissions", p.operator, string(b)).expect(p.tb, 200)
	}
	cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: secret, TokenURL: p.url + oidc.PathToken, Scopes: scopes}
	tok, err := cc.Token(p.ctx)
	if err != nil {
		p.tb.Fatal(err)
	}
	return c.ID, tok.AccessToken
}

type reply struct {
	status int
	body   []byte
}

func (p *platform) post(path, token, body string) reply {
	p.tb.Helper()
	req, _ := http.NewRequestWithContext(p.ctx, "POST", p.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
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
	return reply{resp.StatusCode, b}
}

func (r reply) expect(tb testing.TB, status int) reply {
	tb.Helper()
	if r.status != status {
		tb.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

func (r reply) decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		tb.Fatalf("%v: %s", err, r.body)
	}
}

// errField returns the error's field and message.
func (r reply) errField(tb testing.TB) (string, string) {
	var e struct {
		Error struct{ Code, Message, Field string }
	}
	r.decode(tb, &e)
	return e.Error.Field, e.Error.Message
}

const purpose = `"use_cause":"办理食品经营许可，核验申请人营业执照","service_item":"330000-FOOD-001","case_number":"ZJ2026-000123"`

func body(extra string) string { return "{" + purpose + "," + extra + "}" }

// usages returns the sharing events of the audit log.
func (p *platform) usages() []audit.Event {
	p.tb.Helper()
	var out []audit.Event
	if err := p.env.DB.Scan(p.ctx, 1, func(e *audit.Event) error {
		if strings.HasPrefix(e.Action, "share.") && e.Action != "share.permission" {
			out = append(out, *e)
		}
		return nil
	}); err != nil {
		p.tb.Fatal(err)
	}
	return out
}

func TestOperationsAllowed(t *testing.T) {
	p := newPlatform(t)
	ls := p.issue(1, 3)
	clientID, tok := p.client("市场监管数据共享系统", []string{oidc.ScopeSharingQuery, oidc.ScopeSharingVerify}, "query", "verify")
	l := ls[0]

	// Query by identifier: public face items only.
	var rec map[string]any
	p.post("/api/v1/sharing/query", tok, body(`"identifier":"`+l.Identifier+`"`)).expect(t, 200).decode(t, &rec)
	face := rec["face"].(map[string]any)
	if rec["identifier"] != l.Identifier || rec["holder_code"] != l.Code || rec["holder_code_type"] != "001" || face["name"] != l.Face.Name || face["person"] != "王芳" {
		t.Errorf("query: %v", rec)
	}
	if _, ok := face["capital"]; ok {
		t.Errorf("non-public item capital returned without consent: %v", face)
	}
	// Not found.
	p.post("/api/v1/sharing/query", tok, body(`"identifier":"`+strings.Replace(l.Identifier, ".1", ".9", 1)+`"`)).expect(t, 404)

	// List by holder.
	var list struct{ Licences []map[string]any }
	p.post("/api/v1/sharing/licences", tok, body(`"holder_code":"`+l.Code+`","holder_code_type":"001"`)).expect(t, 200).decode(t, &list)
	if len(list.Licences) != 1 || list.Licences[0]["identifier"] != l.Identifier {
		t.Errorf("list: %+v", list)
	}
	p.post("/api/v1/sharing/licences", tok, body(`"holder_code":"`+l.Code+`","holder_code_type":"099"`)).expect(t, 200).decode(t, &list)
	if len(list.Licences) != 0 {
		t.Errorf("list by the wrong code type: %+v", list)
	}
	r := p.post("/api/v1/sharing/licences", tok, body(`"holder_code":"`+l.Code+`","holder_code_type":"111"`)).expect(t, 400)
	if f, _ := r.errField(t); f != "holder_code_type" {
		t.Errorf("bad code type: field %q", f)
	}

	// Batch query.
	var bq struct {
		Results []struct {
			Identifier string
			Licence    map[string]any
			Error      *struct{ Code string }
		}
	}
	p.post("/api/v1/sharing/batch/query", tok, body(`"items":["`+ls[1].Identifier+`","`+ls[2].Identifier+`","no-such"]`)).expect(t, 200).decode(t, &bq)
	if len(bq.Results) != 3 || bq.Results[0].Licence["identifier"] != ls[1].Identifier || bq.Results[1].Licence == nil ||
		bq.Results[2].Error == nil || bq.Results[2].Error.Code != "not_found" {
		t.Errorf("batch query: %s", must(json.Marshal(bq)))
	}

	// Verify a file and a QR code (delegated to the document service).
	file, err := p.env.Documents.Render(p.ctx, l, document.Options{Format: document.OFD})
	if err != nil {
		t.Fatal(err)
	}
	b64, _ := json.Marshal(file)
	var rep document.Report
	p.post("/api/v1/sharing/verify/file", tok, body(`"file":`+string(b64))).expect(t, 200).decode(t, &rep)
	if rep.Result != 0 || rep.Identifier != l.Identifier {
		t.Errorf("verify file: %+v", rep)
	}
	qr, err := p.env.Documents.Token(p.ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	p.post("/api/v1/sharing/verify/qr", tok, body(`"token":"`+qr+`"`)).expect(t, 200).decode(t, &rep)
	if rep.Result != 0 || rep.Code != l.Code {
		t.Errorf("verify qr: %+v", rep)
	}

	// Every call is in the audit log with its purpose: 2 queries, 3 listings (the bad code type
	// is refused before), 3 batch items, file, QR.
	evs := p.usages()
	if len(evs) != 2+2+3+2 {
		for _, e := range evs {
			t.Logf("%s %s %s", e.Action, e.Subject, e.Data)
		}
		t.Fatalf("%d usage records, want 9", len(evs))
	}
	var u struct{ UseCause, ServiceItem, CaseNumber, Result string }
	for _, e := range evs {
		if err := json.Unmarshal(e.Data, &struct {
			UseCause    *string `json:"use_cause"`
			ServiceItem *string `json:"service_item"`
			CaseNumber  *string `json:"case_number"`
			Result      *string `json:"result"`
		}{&u.UseCause, &u.ServiceItem, &u.CaseNumber, &u.Result}); err != nil {
			t.Fatal(err)
		}
		if e.Actor != clientID || u.UseCause != "办理食品经营许可，核验申请人营业执照" || u.ServiceItem != "330000-FOOD-001" || u.CaseNumber != "ZJ2026-000123" || u.Result == "" {
			t.Errorf("usage record %s: actor %s %+v", e.Action, e.Actor, u)
		}
	}
	if evs[0].Action != "share.query" || evs[0].Subject != l.Code || !strings.Contains(string(evs[0].Data), `"result":"ok"`) {
		t.Errorf("first record: %s %s %s", evs[0].Action, evs[0].Subject, evs[0].Data)
	}
	if evs[len(evs)-1].Action != "share.verify_qr" || !strings.Contains(string(evs[len(evs)-1].Data), `"result":"result:0"`) {
		t.Errorf("last record: %s %s", evs[len(evs)-1].Action, evs[len(evs)-1].Data)
	}
}

func must(b []byte, _ error) string { return string(b) }

func TestOperationsDenied(t *testing.T) {
	p := newPlatform(t)
	l := p.issue(1, 1)[0]
	_, queryOnly := p.client("只能查询的系统", []string{oidc.ScopeSharingQuery, oidc.ScopeSharingVerify}, "query")
	_, noGrant := p.client("未授权的系统", []string{oidc.ScopeSharingQuery, oidc.ScopeSharingVerify})
	_, verifyScope := p.client("令牌范围不足", []string{oidc.ScopeSharingVerify}, "query", "verify")
	_, ok := p.client("正常系统", []string{oidc.ScopeSharingQuery, oidc.ScopeSharingVerify}, "query", "verify")
	q := `"identifier":"` + l.Identifier + `"`
	v := `"code":"` + l.Code + `"`

	for _, path := range []string{"/api/v1/sharing/query", "/api/v1/sharing/verify", "/api/v1/sharing/licences",
		"/api/v1/sharing/batch/query", "/api/v1/sharing/batch/verify", "/api/v1/sharing/verify/file", "/api/v1/sharing/verify/qr"} {
		// No token, a token that is not one, a person's API token of the platform.
		p.post(path, "", body(q)).expect(t, 401)
		p.post(path, "garbage", body(q)).expect(t, 401)
		p.post(path, p.operator, body(q)).expect(t, 401)
	}
	// Verify needs the verify permission; a client without any grant may do nothing.
	r := p.post("/api/v1/sharing/verify", queryOnly, body(v)).expect(t, 403)
	if _, m := r.errField(t); !strings.Contains(m, "verify") {
		t.Errorf("403 message: %s", m)
	}
	p.post("/api/v1/sharing/batch/verify", queryOnly, body(`"items":[{`+v+`}]`)).expect(t, 403)
	p.post("/api/v1/sharing/verify/qr", queryOnly, body(`"token":"x"`)).expect(t, 403)
	p.post("/api/v1/sharing/query", noGrant, body(q)).expect(t, 403)
	p.post("/api/v1/sharing/licences", noGrant, body(`"holder_code":"`+l.Code+`","holder_code_type":"001"`)).expect(t, 403)
	// The client may query, but its token lacks the sharing.query scope.
	r = p.post("/api/v1/sharing/query", verifyScope, body(q)).expect(t, 403)
	if _, m := r.errField(t); !strings.Contains(m, "sharing.query") {
		t.Errorf("scope message: %s", m)
	}
	// The purpose: each field missing, the cause too long.
	for _, c := range []struct{ body, field string }{
		{`{"service_item":"A1","case_number":"C1",` + q + `}`, "use_cause"},
		{`{"use_cause":"   ","service_item":"A1","case_number":"C1",` + q + `}`, "use_cause"},
		{`{"use_cause":"核验","case_number":"C1",` + q + `}`, "service_item"},
		{`{"use_cause":"核验","service_item":"A1",` + q + `}`, "case_number"},
		{`{"use_cause":"核验","service_item":"A 1","case_number":"C1",` + q + `}`, "service_item"},
		{`{"use_cause":"` + strings.Repeat("核", 201) + `","service_item":"A1","case_number":"C1",` + q + `}`, "use_cause"},
	} {
		r := p.post("/api/v1/sharing/query", ok, c.body).expect(t, 400)
		if f, m := r.errField(t); f != c.field || m == "" {
			t.Errorf("%.60s: field %q %q, want %s", c.body, f, m, c.field)
		}
	}
	// 200 characters exactly is fine.
	p.post("/api/v1/sharing/query", ok, `{"use_cause":"`+strings.Repeat("核", 200)+`","service_item":"A1","case_number":"C1",`+q+`}`).expect(t, 200)
	// The messages are in Chinese by default.
	req, _ := http.NewRequest("POST", p.url+"/api/v1/sharing/query", strings.NewReader(`{"service_item":"A1","case_number":"C1",`+q+`}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+ok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	zh, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(zh), "缺少用证事由") {
		t.Errorf("zh message: %s", zh)
	}
	// Batches of more than 1,000 are refused.
	items := strings.Repeat(`"x",`, 1000) + `"x"`
	if f, _ := p.post("/api/v1/sharing/batch/query", ok, body(`"items":[`+items+`]`)).expect(t, 400).errField(t); f != "items" {
		t.Errorf("batch of 1,001: field %q", f)
	}
	// Only operators set permissions.
	p.post("/api/v1/sharing/permissions", ok, `{"client_id":"x","operations":["query"]}`).expect(t, 401)
	r = p.post("/api/v1/sharing/permissions", p.operator, `{"client_id":"nobody","operations":["fly"]}`).expect(t, 400)
	var e struct {
		Error struct{ Details []struct{ Field string } }
	}
	r.decode(t, &e)
	if len(e.Error.Details) != 2 || e.Error.Details[0].Field != "client_id" || e.Error.Details[1].Field != "operations" {
		t.Errorf("bad permission: %s", r.body)
	}
	// Refused permissions are recorded (with the purpose); missing purposes are not calls.
	denied := 0
	for _, ev := range p.usages() {
		if strings.Contains(string(ev.Data), `"result":"denied"`) {
			denied++
		}
	}
	if denied != 6 {
		t.Errorf("%d denied calls recorded, want 6", denied)
	}
}

func TestVerifyResults(t *testing.T) {
	p := newPlatform(t)
	ls := p.issue(1, 5)
	_, tok := p.client("核验系统", []string{oidc.ScopeSharingVerify}, "verify")
	p.setStatus(ls[1].Code, license.Suspend)
	p.setStatus(ls[2].Code, license.Cancel)
	p.setStatus(ls[3].Code, license.Revoke)
	other, _ := uscc.Generate('9', '1', "330106", "MA999999")
	l := ls[0]
	for _, c := range []struct {
		name, fields string
		result       int
		wrong        []string
	}{
		{"valid by code and name", `"code":"` + l.Code + `","name":"` + l.Face.Name + `","person":"王芳"`, 0, nil},
		{"valid by identifier, brackets and spaces normalised", `"identifier":"` + l.Identifier + `","type":"有限责任公司(自然人投资或控股)","address":"浙江省杭州市西湖区文三路90号301室"`, 0, nil},
		{"suspended", `"code":"` + ls[1].Code + `","name":"` + ls[1].Face.Name + `"`, 2, nil},
		{"cancelled", `"code":"` + ls[2].Code + `"`, 3, nil},
		{"revoked", `"code":"` + ls[3].Code + `"`, 3, nil},
		{"no such licence", `"code":"` + other + `","name":"某公司"`, 5, nil},
		{"malformed code", `"code":"91330106MA0000000X"`, 5, nil},
		{"no data", ``, 6, nil},
		{"not enough data", `"name":"` + l.Face.Name + `"`, 4, nil},
		{"wrong name and person", `"code":"` + l.Code + `","name":"杭州别的公司","person":"李四","established_on":"2015-03-18"`, 7, []string{"name", "person"}},
		{"identifier of another entity", `"identifier":"` + l.Identifier + `","code":"` + ls[4].Code + `"`, 7, []string{"code"}},
	} {
		var v sharing.Verification
		p.post("/api/v1/sharing/verify", tok, "{"+purpose+strings.TrimSuffix(","+c.fields, ",")+"}").expect(t, 200).decode(t, &v)
		if v.Result != c.result || fmt.Sprint(v.Wrong) != fmt.Sprint(c.wrong) || v.ZH == "" || v.EN == "" {
			t.Errorf("%s: %+v, want result %d wrong %v", c.name, v, c.result, c.wrong)
		}
		if c.result == 7 && !strings.Contains(v.EN, "name") && !strings.Contains(v.EN, "code") {
			t.Errorf("%s: message does not name the field: %s", c.name, v.EN)
		}
	}
	// The same in a batch.
	var bv struct{ Results []sharing.Verification }
	p.post("/api/v1/sharing/batch/verify", tok, body(`"items":[{"code":"`+l.Code+`"},{"code":"`+ls[1].Code+`"},{},{"code":"`+l.Code+`","name":"x"}]`)).
		expect(t, 200).decode(t, &bv)
	if len(bv.Results) != 4 || bv.Results[0].Result != 0 || bv.Results[1].Result != 2 || bv.Results[2].Result != 6 || bv.Results[3].Result != 7 {
		t.Errorf("batch verify: %+v", bv.Results)
	}
	if n := len(p.usages()); n != 11+4 {
		t.Errorf("%d usage records, want 15", n)
	}
}

func TestGovEnvelope(t *testing.T) {
	p := newPlatform(t)
	ls := p.issue(1, 4)
	_, tok := p.client("国家标准接口系统", []string{oidc.ScopeSharingQuery, oidc.ScopeSharingVerify}, "query", "verify")
	_, noGrant := p.client("无权系统", []string{oidc.ScopeSharingQuery})
	p.setStatus(ls[1].Code, license.Cancel)
	p.setStatus(ls[2].Code, license.Suspend)
	type env struct {
		Head struct {
			Status  int
			Message string
		}
		Data json.RawMessage
	}
	call := func(path, token, b string, want int) env {
		t.Helper()
		var e env
		p.post("/api/gov/v1/sharing/"+path, token, b).expect(t, 200).decode(t, &e)
		if e.Head.Status != want || e.Head.Message == "" {
			t.Errorf("%s %.80s: head %+v, want status %d", path, b, e.Head, want)
		}
		return e
	}
	e := call("query", tok, body(`"identifier":"`+ls[0].Identifier+`"`), 0)
	var rec sharing.Record
	if err := json.Unmarshal(e.Data, &rec); err != nil || rec.Identifier != ls[0].Identifier {
		t.Errorf("data: %s", e.Data)
	}
	call("query", tok, body(`"identifier":"`+ls[1].Identifier+`"`), 21)
	call("query", tok, body(`"identifier":"`+ls[2].Identifier+`"`), 23)
	call("query", tok, body(`"identifier":"`+strings.Replace(ls[0].Identifier, ".1", ".7", 1)+`"`), 10)
	call("licences", tok, body(`"holder_code":"`+ls[3].Code+`","holder_code_type":"099"`), 10)
	call("licences", tok, body(`"holder_code":"`+ls[3].Code+`","holder_code_type":"001"`), 0)
	call("licences", tok, body(`"holder_code":"`+ls[3].Code+`","holder_code_type":"001","type_code":"11100000MB0143028R999"`), 13)
	call("query", "", body(`"identifier":"`+ls[0].Identifier+`"`), 11)
	call("query", tok, `{"identifier":"`+ls[0].Identifier+`"}`, 12)
	call("query", noGrant, body(`"identifier":"`+ls[0].Identifier+`"`), 100)
	e = call("verify", tok, body(`"code":"`+ls[0].Code+`","name":"错的名称"`), 0)
	var v sharing.Verification
	if err := json.Unmarshal(e.Data, &v); err != nil || v.Result != 7 || fmt.Sprint(v.Wrong) != "[name]" {
		t.Errorf("verify in the envelope: %s", e.Data)
	}
	call("batch/verify", tok, body(`"items":[{"code":"`+ls[0].Code+`"}]`), 0)
}

// TestDisabled: without a sharing service the routes answer 503.
func TestDisabled(t *testing.T) {
	p := newPlatform(t)
	h, err := web.New(web.Deps{Licenses: p.env.Licenses, Keys: p.env.Keys, Accounts: p.env.Accounts, Audit: p.env.Audit,
		Documents: p.env.Documents, DB: p.env.DB})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/sharing/query", "/api/gov/v1/sharing/query", "/api/v1/sharing/permissions"} {
		req, _ := http.NewRequest("POST", path, bytes.NewReader([]byte(body(`"identifier":"x"`))))
		req.Header.Set("Content-Type", "application/json")
		rec := &recorder{header: http.Header{}}
		h.ServeHTTP(rec, req)
		if rec.status != 503 || !strings.Contains(rec.body.String(), "共享服务") {
			t.Errorf("%s: %d %s", path, rec.status, rec.body.String())
		}
	}
}

type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(s int) { r.status = s }

// BenchmarkBatchVerify verifies 1,000 licences per call over HTTP (the usage records written)
// and fails when a call takes 1 s or more on average.
func BenchmarkBatchVerify(b *testing.B) {
	p := newPlatform(b)
	ls := p.issue(1, sharing.MaxBatch)
	_, tok := p.client("批量核验系统", []string{oidc.ScopeSharingVerify}, "verify")
	items := make([]string, len(ls))
	for i, l := range ls {
		items[i] = `{"code":"` + l.Code + `","name":"` + l.Face.Name + `","person":"王芳"}`
	}
	req := body(`"items":[` + strings.Join(items, ",") + `]`)
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		var bv struct{ Results []sharing.Verification }
		p.post("/api/v1/sharing/batch/verify", tok, req).expect(b, 200).decode(b, &bv)
		if len(bv.Results) != sharing.MaxBatch || bv.Results[999].Result != 0 {
			b.Fatalf("results: %d", len(bv.Results))
		}
	}
	per := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(float64(per.Milliseconds()), "ms/batch")
	if per >= time.Second {
		b.Fatalf("a batch of 1,000 verifications took %v, target < 1 s", per)
	}
}

var _ sharing.Store = (*store.DB)(nil)
