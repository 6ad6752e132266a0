package web

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/web/webtest"
)

func contains(t *testing.T, r *response, want ...string) {
	t.Helper()
	body := html.UnescapeString(r.body)
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

func TestVerifyPage(t *testing.T) {
	f := newFixture(t)
	r := f.do("GET", "/", "")
	expect(t, r, 200)
	contains(t, r, `<html lang="zh-CN">`, `<label for="q">`, "核验电子营业执照", `href="/?lang=en"`)

	tests := []struct {
		name, q, lang string
		status        int
		want          []string
	}{
		{"valid", f.valid, "", 200, []string{"有效", f.validName, f.valid, "签名有效", "杭州市西湖区市场监督管理局", "法定代表人", "注册资本"}},
		{"lower case", strings.ToLower(f.valid), "", 200, []string{"有效", f.validName}},
		{"cancelled", f.cancelled, "", 200, []string{"已注销", f.cancelName, "股东会决议解散"}},
		{"revoked", f.revoked, "", 200, []string{"已吊销", f.revName}},
		{"superseded", f.changedOld, "", 200, []string{"已被新版本替代", `href="/verify?q=` + f.changed + `"`, "查看当前有效版本"}},
		{"individual", f.individual, "", 200, []string{"有效", "经营者", "组成形式", "个人经营"}},
		{"english", f.valid, "en", 200, []string{`<html lang="en">`, "Valid", "Legal representative", "Signature valid", f.validName}},
		{"english cancelled", f.cancelled, "en", 200, []string{"Cancelled"}},
		{"bad check", f.valid[:17] + string(otherChar(f.valid[17])), "", 400, []string{`aria-invalid="true"`, `id="q-problem"`, "第18位"}},
		{"bad check english", f.valid[:17] + string(otherChar(f.valid[17])), "en", 400, []string{`aria-invalid="true"`, "position 18"}},
		{"unknown", f.unknown, "", 404, []string{`id="q-problem"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := "/verify?q=" + url.QueryEscape(tt.q)
			if tt.lang != "" {
				target += "&lang=" + tt.lang
			}
			r := f.do("GET", target, "")
			expect(t, r, tt.status)
			contains(t, r, tt.want...)
			if tt.status == 200 && !strings.Contains(r.body, `role="status"`) {
				t.Error("the verdict is not announced (role=status)")
			}
		})
	}
	// The English switch is remembered in a cookie; Accept-Language works without it.
	r = f.do("GET", "/?lang=en", "")
	if c := r.Result().Cookies(); len(c) != 1 || c[0].Name != "lang" || c[0].Value != "en" {
		t.Errorf("lang cookie: %v", c)
	}
	contains(t, f.do("GET", "/verify?q="+f.valid, "", "Cookie", "lang=en"), "Valid", `href="/verify?lang=zh&q=`+f.valid+`"`)
	contains(t, f.do("GET", "/verify?q="+f.valid, "", "Accept-Language", "en-GB,en;q=0.9"), "Valid")
	// The stylesheet is embedded and served under its content hash.
	css := regexp.MustCompile(`href="(/static/style\.[0-9a-f]{10}\.css)"`).FindStringSubmatch(r.body)
	if css == nil {
		t.Fatalf("no hashed stylesheet link in %s", r.body)
	}
	r = f.do("GET", css[1], "")
	expect(t, r, 200)
	if r.Header().Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(r.Header().Get("Cache-Control"), "immutable") {
		t.Errorf("stylesheet headers: %v", r.Header())
	}
	expect(t, f.do("GET", "/static/style.css", ""), 404)
	if strings.Contains(r.body, "http://") || strings.Contains(r.body, "https://") {
		t.Error("the stylesheet refers to an external resource")
	}
}

// client is a browser-like session on the admin pages.
type client struct {
	f       *fixture
	cookies map[string]string
	csrf    string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) send(t *testing.T, req *http.Request) *response {
	t.Helper()
	for k, v := range c.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	rec := httptest.NewRecorder()
	c.f.h.ServeHTTP(rec, req)
	for _, ck := range rec.Result().Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	r := &response{rec, rec.Body.String()}
	if m := csrfField.FindStringSubmatch(r.body); m != nil {
		c.csrf = m[1]
	}
	return r
}

func (c *client) get(t *testing.T, target string) *response {
	t.Helper()
	return c.send(t, httptest.NewRequest("GET", target, nil))
}

// postForm posts the form with the current CSRF token unless the form has one.
func (c *client) postForm(t *testing.T, target string, v url.Values, hdr ...string) *response {
	t.Helper()
	if _, ok := v["csrf"]; !ok {
		v.Set("csrf", c.csrf)
	}
	req := httptest.NewRequest("POST", target, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return c.send(t, req)
}

// login signs in as username through the login form.
func (f *fixture) login(t *testing.T, username string) *client {
	t.Helper()
	c := &client{f: f, cookies: map[string]string{}}
	r := c.get(t, "/admin/login?next=/admin/licences")
	expect(t, r, 200)
	r = c.postForm(t, "/admin/login", url.Values{"username": {username}, "password": {webtest.Password}, "next": {"/admin/licences"}})
	expect(t, r, http.StatusSeeOther)
	if loc := r.Header().Get("Location"); loc != "/admin/licences" {
		t.Fatalf("login redirects to %q", loc)
	}
	if c.cookies[sessionCookie] == "" {
		t.Fatal("no session cookie")
	}
	expect(t, c.get(t, "/admin/licences"), 200) // picks up the session's CSRF token
	return c
}

func TestLogin(t *testing.T) {
	f := newFixture(t)
	c := &client{f: f, cookies: map[string]string{}}
	// Not signed in: to the login page, coming back afterwards.
	r := c.get(t, "/admin/licences?kind=company")
	expect(t, r, http.StatusSeeOther)
	if loc := r.Header().Get("Location"); loc != "/admin/login?next="+url.QueryEscape("/admin/licences?kind=company") {
		t.Errorf("Location = %q", loc)
	}
	r = c.get(t, "/admin/login?next=https://evil.example/")
	expect(t, r, 200)
	contains(t, r, `name="next" value="/admin/licences"`, `<label for="username">`, `<label for="password">`)
	if h := r.Header().Get("Set-Cookie"); !strings.Contains(h, "HttpOnly") || !strings.Contains(h, "SameSite=Lax") {
		t.Errorf("login CSRF cookie: %s", h)
	}

	// CSRF: missing, wrong, or without the cookie.
	expect(t, c.postForm(t, "/admin/login", url.Values{"csrf": {""}, "username": {"reg-a"}, "password": {webtest.Password}}), 403)
	expect(t, c.postForm(t, "/admin/login", url.Values{"csrf": {"forged"}, "username": {"reg-a"}, "password": {webtest.Password}}), 403)
	other := &client{f: f, cookies: map[string]string{}}
	expect(t, other.postForm(t, "/admin/login", url.Values{"csrf": {c.csrf}, "username": {"reg-a"}, "password": {webtest.Password}}), 403)

	// Wrong password: the form again, with the message.
	r = c.postForm(t, "/admin/login", url.Values{"username": {"reg-a"}, "password": {"wrong-password"}})
	expect(t, r, 401)
	contains(t, r, "用户名或密码错误", `value="reg-a"`)
	r = c.postForm(t, "/admin/login?lang=en", url.Values{"username": {"reg-a"}, "password": {"wrong-password"}})
	contains(t, r, "wrong username or password")

	r = c.postForm(t, "/admin/login", url.Values{"username": {"reg-a"}, "password": {webtest.Password}, "next": {"/admin/licences/new"}})
	expect(t, r, http.StatusSeeOther)
	if r.Header().Get("Location") != "/admin/licences/new" {
		t.Errorf("Location = %q", r.Header().Get("Location"))
	}
	set := r.Header().Values("Set-Cookie")
	if !strings.Contains(strings.Join(set, "\n"), sessionCookie+"=") || !strings.Contains(strings.Join(set, "\n"), "HttpOnly") {
		t.Errorf("session cookie: %v", set)
	}
	r = c.get(t, "/admin/licences")
	expect(t, r, 200)
	if r.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("admin pages may be cached: %q", r.Header().Get("Cache-Control"))
	}
	// Log out needs the token too; afterwards the session is gone.
	expect(t, c.postForm(t, "/admin/logout", url.Values{"csrf": {"forged"}}), 403)
	session := c.cookies[sessionCookie]
	expect(t, c.postForm(t, "/admin/logout", url.Values{}), http.StatusSeeOther)
	c.cookies[sessionCookie] = session
	expect(t, c.get(t, "/admin/licences"), http.StatusSeeOther)
}

func TestSecureCookies(t *testing.T) {
	f := newFixture(t)
	d := f.srv.Deps
	d.PublicURL, d.Metrics = "https://elicense.example.cn", nil
	s, err := newServer(d)
	if err != nil {
		t.Fatal(err)
	}
	f.h = s.handler()
	r := f.do("GET", "/admin/login", "")
	if h := r.Header().Get("Set-Cookie"); !strings.Contains(h, "Secure") {
		t.Errorf("cookie without Secure behind https: %s", h)
	}
	if r.Header().Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS behind https")
	}
	if _, err := New(Deps{Licenses: d.Licenses, Keys: d.Keys, Accounts: d.Accounts, Audit: d.Audit, Documents: d.Documents, DB: d.DB, PublicURL: "elicense.example.cn"}); err == nil {
		t.Error("a PublicURL without scheme is accepted")
	}
	if _, err := New(Deps{Keys: d.Keys}); err == nil {
		t.Error("missing services are accepted")
	}
}

func TestAdminIssueChangeStatus(t *testing.T) {
	f := newFixture(t)
	c := f.login(t, "reg-a")

	// Choose a kind, then the form with its labels.
	contains(t, c.get(t, "/admin/licences/new"), `href="/admin/licences/new?kind=individual"`, "个体工商户")
	r := c.get(t, "/admin/licences/new?kind=individual")
	expect(t, r, 200)
	contains(t, r, "经营者", "组成形式", "经营场所", `<label for="i-face.name">`)
	if strings.Contains(r.body, "注册资本") {
		t.Error("the individual-business form asks for registered capital")
	}
	contains(t, c.get(t, "/admin/licences/new?kind=partnership&lang=en"), "Executive partner", "Partnership term")
	delete(c.cookies, langCookie) // back to Chinese

	// A bad form shows each problem next to its field, and stores nothing.
	code := webtest.Code(license.Company, "330106", 400)
	form := url.Values{"kind": {"company"}, "code": {code}, "face.name": {"x"}, "face.type": {"有限责任公司"},
		"face.person": {"王五"}, "face.established_on": {"2020-01-01"}, "face.term_from": {"2020-01-01"}, "face.term_to": {"长期"},
		"face.address": {"浙江省杭州市西湖区某路 1 号"}, "face.scope": {"技术服务"}, "face.capital.amount": {"abc"},
		"face.capital.currency": {"CNY"}, "person_id": {personID}}
	r = c.postForm(t, "/admin/licences", form)
	expect(t, r, 400)
	contains(t, r, `id="e-face.name"`, `id="e-face.capital.amount"`, `aria-invalid="true"`, `value="王五"`)
	if strings.Contains(r.body, personID) {
		t.Error("the form echoes the ID number")
	}
	expect(t, f.do("GET", "/api/v1/licenses/"+code, ""), 404)

	// CSRF: a forged token or a cross-site request is refused.
	form.Set("face.name", "杭州表单新设有限公司")
	form.Set("face.capital.amount", "200")
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("csrf", "forged")
	expect(t, c.postForm(t, "/admin/licences", bad), 403)
	expect(t, c.postForm(t, "/admin/licences", form, "Sec-Fetch-Site", "cross-site"), 403)
	expect(t, f.do("GET", "/api/v1/licenses/"+code, ""), 404)

	r = c.postForm(t, "/admin/licences", form)
	expect(t, r, http.StatusSeeOther)
	if loc := r.Header().Get("Location"); loc != "/admin/licences/"+code+"?done=issue" {
		t.Fatalf("Location = %q", loc)
	}
	r = c.get(t, "/admin/licences/"+code+"?done=issue")
	expect(t, r, 200)
	contains(t, r, "执照已发放", "杭州表单新设有限公司", "200 万元人民币", "变更登记", `href="/admin/licences/`+code+`/status?action=cancel"`)

	// Change registration: prefilled, then a new version.
	r = c.get(t, "/admin/licences/"+code+"/change")
	expect(t, r, 200)
	contains(t, r, `value="杭州表单新设有限公司"`, `name="prev_version" value="1"`, `value="200"`)
	change := url.Values{"kind": {"company"}, "prev_version": {"1"}, "face.name": {"杭州表单变更有限公司"}, "face.type": {"有限责任公司"},
		"face.person": {"王五"}, "face.established_on": {"2020-01-01"}, "face.term_from": {"2020-01-01"}, "face.term_to": {"长期"},
		"face.address": {"浙江省杭州市西湖区某路 1 号"}, "face.scope": {"技术服务"}, "face.capital.amount": {"200"}, "face.capital.currency": {"CNY"}}
	expect(t, c.postForm(t, "/admin/licences/"+code+"/change", change), http.StatusSeeOther)
	r = c.postForm(t, "/admin/licences/"+code+"/change", change) // stale prev_version
	expect(t, r, 409)
	contains(t, r, "当前版本是 2")
	r = c.get(t, "/admin/licences/"+code)
	contains(t, r, "杭州表单变更有限公司", "已被新版本替代")

	// Status: the confirmation is required.
	r = c.get(t, "/admin/licences/"+code+"/status?action=cancel")
	expect(t, r, 200)
	contains(t, r, `name="confirm"`, `type="datetime-local"`, "注销")
	st := url.Values{"action": {"cancel"}, "reason": {"股东会决议解散"}, "effective_at": {""}}
	r = c.postForm(t, "/admin/licences/"+code+"/status", st)
	expect(t, r, 400)
	contains(t, r, `id="e-confirm"`)
	st.Set("confirm", "yes")
	st.Set("effective_at", "yesterday")
	r = c.postForm(t, "/admin/licences/"+code+"/status", st)
	expect(t, r, 400)
	contains(t, r, `id="e-effective_at"`)
	st.Set("effective_at", "2024-05-01T09:30")
	expect(t, c.postForm(t, "/admin/licences/"+code+"/status", st), http.StatusSeeOther)
	r = f.do("GET", "/api/v1/licenses/"+code, "")
	var v licenceView
	r.decode(t, &v)
	if v.Status != license.Cancelled || v.StatusAt == nil || v.StatusAt.Format("2006-01-02T15:04Z07:00") != "2024-05-01T01:30Z" {
		t.Errorf("after cancel: %s", r.body)
	}
	expect(t, c.get(t, "/admin/licences/"+code+"/status?action=explode"), 400)

	// Another authority's licence: the service refuses, the page says so.
	cb := f.login(t, "reg-b")
	r = cb.postForm(t, "/admin/licences/"+f.valid+"/status", url.Values{"action": {"suspend"}, "reason": {"测试越权"}, "confirm": {"yes"}})
	expect(t, r, 403)
	contains(t, r, "无权")
	// Operators may not issue.
	co := f.login(t, "ops")
	expect(t, co.get(t, "/admin/licences/new"), 403)
}

func TestAdminList(t *testing.T) {
	f := newFixture(t)
	c := f.login(t, "reg-a")
	r := c.get(t, "/admin/licences?limit=2")
	expect(t, r, 200)
	next := regexp.MustCompile(`href="(/admin/licences\?[^"]*cursor=[^"]+)" rel="next"`).FindStringSubmatch(r.body)
	if next == nil {
		t.Fatalf("no next page link:\n%s", r.body)
	}
	r = c.get(t, html.UnescapeString(next[1]))
	expect(t, r, 200)
	contains(t, r, "第一页")
	contains(t, c.get(t, "/admin/licences?status=revoked"), f.revoked, f.revName)
	r = c.get(t, "/admin/licences?q="+url.QueryEscape("已注销"))
	contains(t, r, f.cancelled)
	if strings.Contains(r.body, f.valid) {
		t.Error("the search shows licences that do not match")
	}
	// The search box is the full-text search: the representative's name finds their entities.
	contains(t, c.get(t, "/admin/licences?q="+url.QueryEscape("张三")), f.valid, f.cancelled)
	// A registrar sees only its authority unless asking for all.
	cb := f.login(t, "reg-b")
	contains(t, cb.get(t, "/admin/licences"), "没有符合条件的执照")
	contains(t, cb.get(t, "/admin/licences?all=1"), f.valid)
	expect(t, c.get(t, "/admin/licences?kind=bank"), 400)
	r = c.get(t, "/admin/licences/"+f.changed)
	expect(t, r, 200)
	contains(t, r, f.changedOld, "已被新版本替代", "存续（在营）")
	expect(t, c.get(t, "/admin/licences/"+f.unknown), 404)
}

func TestOperatorPages(t *testing.T) {
	f := newFixture(t)
	c := f.login(t, "ops")
	r := c.get(t, "/admin/authorities")
	expect(t, r, 200)
	contains(t, r, f.authA, "杭州市西湖区市场监督管理局")
	code := mustCode(t, '1', '1', "320102", "MB0C0004")
	r = c.postForm(t, "/admin/authorities", url.Values{"code": {code}, "name": {"南京市玄武区市场监督管理局"}, "region": {"320102"}})
	expect(t, r, http.StatusSeeOther)
	contains(t, c.get(t, "/admin/authorities"), code)
	r = c.postForm(t, "/admin/authorities", url.Values{"code": {"123"}, "name": {"x"}, "region": {"1"}})
	expect(t, r, 400)
	contains(t, r, `id="e-code"`, `id="e-region"`)

	contains(t, c.get(t, "/admin/accounts"), "reg-a", "reg-b")
	r = c.postForm(t, "/admin/accounts", url.Values{"username": {"nj-1"}, "display_name": {"赵六"}, "password": {webtest.Password}, "role": {"registrar"}, "authority": {code}})
	expect(t, r, http.StatusSeeOther)
	contains(t, c.get(t, "/admin/accounts"), "nj-1", "赵六")
	expect(t, c.postForm(t, "/admin/accounts", url.Values{"username": {"nj-1"}, "display_name": {"x"}, "password": {webtest.Password}, "role": {"registrar"}, "authority": {code}}), 409)

	r = c.get(t, "/admin/audit")
	expect(t, r, 200)
	contains(t, r, "审计日志完整")
	contains(t, r, `<a href="/admin/catalog">事项材料目录</a>`) // the operators' navigation

	r = c.postForm(t, "/admin/tokens", url.Values{"name": {"ops script"}, "ttl_days": {"30"}})
	expect(t, r, http.StatusCreated)
	tok := regexp.MustCompile(`id="new-token">(elt_[^<]+)<`).FindStringSubmatch(r.body)
	if tok == nil {
		t.Fatalf("no token shown: %s", r.body)
	}
	expect(t, f.post("/api/v1/authorities", tok[1], `{"code":"bad","name":"x","region":"1"}`), 400) // the token works
	expect(t, c.postForm(t, "/admin/tokens", url.Values{"name": {"x"}, "ttl_days": {"-3"}}), 400)

	// Registrars may not use the operator pages.
	cr := f.login(t, "reg-a")
	for _, p := range []string{"/admin/authorities", "/admin/accounts", "/admin/audit"} {
		expect(t, cr.get(t, p), 403)
	}
	if r := cr.get(t, "/admin/licences"); strings.Contains(r.body, `href="/admin/catalog"`) {
		t.Error("a registrar's navigation links to the operators' catalogue page")
	}
	expect(t, cr.postForm(t, "/admin/authorities", url.Values{"code": {code}, "name": {"x"}, "region": {"320102"}}), 403)
}
