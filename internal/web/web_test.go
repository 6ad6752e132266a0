package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/uscc"
	"github.com/elicense/elicense/internal/web/webtest"
)

// personID is a well-formed citizen ID number (GB 11643 example); it must never reach a public
// response, a page or the log.
const personID = "11010519491231002X"

// syncBuffer is a log destination safe for concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fixture is the web layer over real services on a temporary SQLite database, with two
// authorities, a registrar of each, an operator, and licences in several states.
type fixture struct {
	env                 *webtest.Env
	srv                 *server
	h                   http.Handler
	log                 *syncBuffer
	authA, authB        string // authority credit codes
	regA, regB, op      string // API tokens
	regAcct             *account.Account
	valid, cancelled    string // credit codes
	revoked, changed    string
	changedOld          string // identifier of version 1 of changed
	individual          string // an individual business (个体工商户)
	unknown             string // a valid code that was never issued
	validName, revName  string
	cancelName, chgName string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	env, err := webtest.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	f := &fixture{env: env, log: &syncBuffer{}}
	f.authA = mustCode(t, '1', '1', "330106", "MB0A0001")
	f.authB = mustCode(t, '1', '1', "310115", "MB0B0002")
	if _, err := env.Authority(ctx, f.authA, "杭州市西湖区市场监督管理局", "330106"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Authority(ctx, f.authB, "上海市浦东新区市场监督管理局", "310115"); err != nil {
		t.Fatal(err)
	}
	if f.regAcct, f.regA, err = env.Account(ctx, "reg-a", account.Registrar, f.authA); err != nil {
		t.Fatal(err)
	}
	if _, f.regB, err = env.Account(ctx, "reg-b", account.Registrar, f.authB); err != nil {
		t.Fatal(err)
	}
	if _, f.op, err = env.Account(ctx, "ops", account.Operator, ""); err != nil {
		t.Fatal(err)
	}
	actor := license.Actor{ID: f.regAcct.ID, Authority: f.authA}
	issue := func(kind license.Kind, n int, name string) string {
		t.Helper()
		reg := webtest.Registration(kind, webtest.Code(kind, "330106", n), name)
		reg.PersonID = personID
		l, err := env.Licenses.Issue(ctx, actor, reg)
		if err != nil {
			t.Fatalf("issue %s: %v", name, err)
		}
		return l.Code
	}
	f.validName, f.cancelName, f.revName, f.chgName = "杭州西湖数字科技有限公司", "杭州已注销贸易有限公司", "杭州已吊销餐饮有限公司", "杭州变更测试有限公司"
	f.valid = issue(license.Company, 1, f.validName)
	f.cancelled = issue(license.Company, 2, f.cancelName)
	f.revoked = issue(license.Company, 3, f.revName)
	f.changed = issue(license.Company, 4, f.chgName)
	f.individual = issue(license.Individual, 5, "西湖区张三小吃店")
	f.unknown = webtest.Code(license.Company, "330106", 999)
	if _, err := env.Licenses.SetStatus(ctx, actor, f.cancelled, license.StatusChange{Action: license.Cancel, Reason: "股东会决议解散"}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Licenses.SetStatus(ctx, actor, f.revoked, license.StatusChange{Action: license.Revoke, Reason: "未按规定报送年度报告"}); err != nil {
		t.Fatal(err)
	}
	old, err := env.Licenses.Get(ctx, f.changed)
	if err != nil {
		t.Fatal(err)
	}
	f.changedOld = old.Identifier
	reg := webtest.Registration(license.Company, f.changed, f.chgName)
	reg.Face.Address = "浙江省杭州市西湖区天目山路 181 号"
	if _, err := env.Licenses.Change(ctx, actor, f.changed, 1, reg); err != nil {
		t.Fatal(err)
	}
	f.srv, err = newServer(Deps{Licenses: env.Licenses, Keys: env.Keys, Accounts: env.Accounts, Audit: env.Audit,
		Documents: env.Documents, DB: env.DB, Logger: slog.New(slog.NewJSONHandler(f.log, nil)), Clock: env.Clock.Now,
		PublicURL: webtest.PublicURL})
	if err != nil {
		t.Fatal(err)
	}
	f.h = f.srv.handler()
	return f
}

func mustCode(t testing.TB, dept, cat byte, div, org string) string {
	t.Helper()
	c, err := uscc.Generate(dept, cat, div, org)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// response is a recorded response.
type response struct {
	*httptest.ResponseRecorder
	body string
}

// errorBody is the decoded error of a response.
type errorBody struct {
	Code, Message, Field, RequestID string
	Details                         []fieldDetail
}

func (r *response) err(t *testing.T) errorBody {
	t.Helper()
	var b struct {
		Error struct {
			Code      string        `json:"code"`
			Message   string        `json:"message"`
			Field     string        `json:"field"`
			RequestID string        `json:"request_id"`
			Details   []fieldDetail `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.body), &b); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	e := b.Error
	if e.Code == "" || e.Message == "" || e.RequestID == "" {
		t.Fatalf("incomplete error body: %s", r.body)
	}
	if got := r.Header().Get("X-Request-ID"); got != e.RequestID {
		t.Fatalf("request_id %q differs from X-Request-ID %q", e.RequestID, got)
	}
	return errorBody{e.Code, e.Message, e.Field, e.RequestID, e.Details}
}

func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
}

// do sends a request; hdr holds header name/value pairs.
func (f *fixture) do(method, target, body string, hdr ...string) *response {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return &response{rec, rec.Body.String()}
}

// post sends JSON with a Bearer token.
func (f *fixture) post(target, token, body string, hdr ...string) *response {
	h := append([]string{"Content-Type", "application/json"}, hdr...)
	if token != "" {
		h = append(h, "Authorization", "Bearer "+token)
	}
	return f.do("POST", target, body, h...)
}

func expect(t *testing.T, r *response, status int) {
	t.Helper()
	if r.Code != status {
		t.Fatalf("status %d, want %d; body: %s", r.Code, status, r.body)
	}
}

func TestPublicLicence(t *testing.T) {
	f := newFixture(t)
	r := f.do("GET", "/api/v1/licenses/"+strings.ToLower(f.valid), "")
	expect(t, r, 200)
	var v map[string]any
	r.decode(t, &v)
	for _, k := range []string{"identifier", "code", "code_type", "kind", "kind_name", "version", "face", "region", "authority",
		"authority_code", "issued_at", "status", "status_name", "signature", "cert_serial", "signature_valid"} {
		if _, ok := v[k]; !ok {
			t.Errorf("field %s missing: %s", k, r.body)
		}
	}
	if v["code"] != f.valid || v["status"] != "active" || v["signature_valid"] != true || v["authority_code"] != f.authA {
		t.Errorf("unexpected licence: %s", r.body)
	}
	if n := v["status_name"].(map[string]any); n["zh"] == "" || n["en"] != "Active" {
		t.Errorf("status_name = %v", n)
	}
	if face := v["face"].(map[string]any); face["name"] != f.validName || face["person"] != "张三" {
		t.Errorf("face = %v", face)
	}
	if r.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", r.Header().Get("Content-Type"))
	}

	// By identifier, and the old identifier of a changed licence: that version, superseded.
	id := v["identifier"].(string)
	r = f.do("GET", "/api/v1/licenses/"+url.PathEscape(id), "")
	expect(t, r, 200)
	r = f.do("GET", "/api/v1/licenses/"+url.PathEscape(f.changedOld), "")
	expect(t, r, 200)
	r.decode(t, &v)
	if v["status"] != "superseded" || v["version"] != 1.0 || v["signature_valid"] != true {
		t.Errorf("old version: %s", r.body)
	}
	r = f.do("GET", "/api/v1/licenses/"+f.changed, "")
	r.decode(t, &v)
	if v["status"] != "active" || v["version"] != 2.0 {
		t.Errorf("current version: %s", r.body)
	}
	r = f.do("GET", "/api/v1/licenses/"+f.cancelled, "")
	r.decode(t, &v)
	if v["status"] != "cancelled" || v["status_reason"] != "股东会决议解散" || v["status_at"] == nil {
		t.Errorf("cancelled: %s", r.body)
	}
}

func TestPublicLicenceErrors(t *testing.T) {
	f := newFixture(t)
	// Wrong check character at position 18.
	bad := f.valid[:17] + string(otherChar(f.valid[17]))
	tests := []struct {
		name, path string
		hdr        []string
		status     int
		field      string
		message    *regexp.Regexp
	}{
		{"bad check zh", "/api/v1/licenses/" + bad, nil, 400, "code", regexp.MustCompile(`18`)},
		{"bad check en query", "/api/v1/licenses/" + bad + "?lang=en", nil, 400, "code", regexp.MustCompile(`(?i)position 18`)},
		{"bad check accept-language", "/api/v1/licenses/" + bad, []string{"Accept-Language", "en-US,en;q=0.9,zh;q=0.5"}, 400, "code", regexp.MustCompile(`(?i)position 18`)},
		{"zh preferred", "/api/v1/licenses/" + bad, []string{"Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8"}, 400, "code", regexp.MustCompile(`\p{Han}`)},
		{"bad char", "/api/v1/licenses/91330106MA0000I01X", nil, 400, "code", regexp.MustCompile(`\p{Han}`)},
		{"too short", "/api/v1/licenses/9133", []string{"Accept-Language", "en"}, 400, "code", regexp.MustCompile(`(?i)length|characters`)},
		{"bad identifier", "/api/v1/licenses/1.2.156.3005.2.X.Y.Z.001.0", nil, 400, "identifier", nil},
		{"unknown", "/api/v1/licenses/" + f.unknown, nil, 404, "", nil},
		{"history bad", "/api/v1/licenses/" + bad + "/history", nil, 400, "code", nil},
		{"history unknown", "/api/v1/licenses/" + f.unknown + "/history", nil, 404, "", nil},
		{"list bad limit", "/api/v1/licenses?limit=x", nil, 400, "limit", nil},
		{"list zero limit", "/api/v1/licenses?limit=0", nil, 400, "limit", nil},
		{"list big limit", "/api/v1/licenses?limit=501", nil, 400, "limit", nil},
		{"list bad kind", "/api/v1/licenses?kind=bank", nil, 400, "kind", nil},
		{"list bad status", "/api/v1/licenses?status=sleeping", nil, 400, "status", nil},
		{"list bad region", "/api/v1/licenses?region=abc", nil, 400, "region", nil},
		{"search with cursor", "/api/v1/licenses?q=x&cursor=abc", nil, 400, "cursor", nil},
		{"search big limit", "/api/v1/licenses?q=x&limit=101", nil, 400, "limit", nil},
		{"certificates bad format", "/.well-known/elicense/certificates?format=der", nil, 400, "format", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do("GET", tt.path, "", tt.hdr...)
			expect(t, r, tt.status)
			e := r.err(t)
			if e.Field != tt.field {
				t.Errorf("field %q, want %q (%s)", e.Field, tt.field, r.body)
			}
			if tt.message != nil && !tt.message.MatchString(e.Message) {
				t.Errorf("message %q does not match %s", e.Message, tt.message)
			}
		})
	}
	// The messages are in the caller's language.
	zh := f.do("GET", "/api/v1/licenses/"+f.unknown, "").err(t).Message
	en := f.do("GET", "/api/v1/licenses/"+f.unknown+"?lang=en", "").err(t).Message
	if !regexp.MustCompile(`\p{Han}`).MatchString(zh) || regexp.MustCompile(`\p{Han}`).MatchString(en) || zh == en {
		t.Errorf("zh %q, en %q", zh, en)
	}
}

// otherChar returns a code character different from c.
func otherChar(c byte) byte {
	if c == '0' {
		return '1'
	}
	return '0'
}

func TestHistoryAndList(t *testing.T) {
	f := newFixture(t)
	r := f.do("GET", "/api/v1/licenses/"+f.changed+"/history", "")
	expect(t, r, 200)
	var h struct {
		Items []licenceView `json:"items"`
	}
	r.decode(t, &h)
	if len(h.Items) != 2 || h.Items[0].Version != 1 || h.Items[0].Status != license.Superseded || h.Items[1].Version != 2 ||
		h.Items[0].SupersededAt == nil || h.Items[1].Status != license.Active {
		t.Fatalf("history: %s", r.body)
	}
	for _, it := range h.Items {
		if it.SignatureValid == nil || !*it.SignatureValid {
			t.Errorf("version %d: signature_valid %v", it.Version, it.SignatureValid)
		}
	}

	// Page through everything two at a time.
	var seen []string
	cursor := ""
	for range 10 {
		r := f.do("GET", "/api/v1/licenses?limit=2&cursor="+url.QueryEscape(cursor), "")
		expect(t, r, 200)
		var page struct {
			Items      []licenceView `json:"items"`
			NextCursor *string       `json:"next_cursor"`
		}
		r.decode(t, &page)
		if page.NextCursor == nil {
			t.Fatalf("next_cursor missing: %s", r.body)
		}
		for _, it := range page.Items {
			seen = append(seen, it.Code)
			if it.SignatureValid != nil {
				t.Errorf("lists do not check signatures, got signature_valid for %s", it.Code)
			}
		}
		if cursor = *page.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != 5 {
		t.Errorf("paged through %d licences, want 5: %v", len(seen), seen)
	}

	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"status=cancelled", []string{f.cancelled}},
		{"status=revoked", []string{f.revoked}},
		{"kind=individual", []string{f.individual}},
		{"region=33&status=active&kind=company", []string{f.valid, f.changed}},
		{"region=31", nil},
		{"q=" + url.QueryEscape("已吊销"), []string{f.revoked}},
		{"q=" + strings.ToLower(f.valid), []string{f.valid}},
		// Full-text search: 2-character names, the representative, filters, marked statuses.
		{"q=" + url.QueryEscape("西湖"), []string{f.valid, f.individual}},
		{"q=" + url.QueryEscape("张三"), []string{f.individual, f.valid, f.cancelled, f.revoked, f.changed}},
		{"q=" + url.QueryEscape("有限公司") + "&status=cancelled", []string{f.cancelled}},
		{"q=" + url.QueryEscape("张三") + "&kind=individual", []string{f.individual}},
	} {
		r := f.do("GET", "/api/v1/licenses?"+tt.query, "")
		expect(t, r, 200)
		var page struct {
			Items []licenceView `json:"items"`
		}
		r.decode(t, &page)
		var got []string
		for _, it := range page.Items {
			got = append(got, it.Code)
		}
		if strings.Join(sortedCopy(got), ",") != strings.Join(sortedCopy(tt.want), ",") {
			t.Errorf("%s: got %v, want %v", tt.query, got, tt.want)
		}
	}

	// Search ranks the exact code first, then name matches, then representative matches, and
	// marks revoked entities.
	for _, tt := range []struct{ q, first string }{{"张三", f.individual}, {strings.ToLower(f.revoked), f.revoked}} {
		r := f.do("GET", "/api/v1/licenses?q="+url.QueryEscape(tt.q), "")
		expect(t, r, 200)
		var page struct {
			Items []licenceView `json:"items"`
		}
		r.decode(t, &page)
		if len(page.Items) == 0 || page.Items[0].Code != tt.first {
			t.Errorf("q=%s: first result is not %s: %+v", tt.q, tt.first, page.Items)
		}
		for _, it := range page.Items {
			if it.Code == f.revoked && it.Status != license.Revoked {
				t.Errorf("q=%s: revoked entity has status %q", tt.q, it.Status)
			}
		}
	}
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

func TestAuthoritiesAndCertificates(t *testing.T) {
	f := newFixture(t)
	r := f.do("GET", "/api/v1/authorities", "")
	expect(t, r, 200)
	var as struct {
		Items []authorityView `json:"items"`
	}
	r.decode(t, &as)
	if len(as.Items) != 2 || as.Items[0].CertSerial == "" {
		t.Fatalf("authorities: %s", r.body)
	}
	r = f.do("GET", "/.well-known/elicense/certificates", "")
	expect(t, r, 200)
	var cs struct {
		Certificates []struct {
			Kind, Authority, PEM string
		} `json:"certificates"`
	}
	r.decode(t, &cs)
	kinds := map[string]int{}
	for _, c := range cs.Certificates {
		kinds[c.Kind]++
		if !strings.HasPrefix(c.PEM, "-----BEGIN CERTIFICATE-----") {
			t.Errorf("%s: not a PEM certificate", c.Kind)
		}
	}
	if kinds["root"] != 1 || kinds["authority"] != 2 {
		t.Errorf("certificates by kind: %v", kinds)
	}
	r = f.do("GET", "/.well-known/elicense/certificates?format=pem", "")
	expect(t, r, 200)
	if n := strings.Count(r.body, "-----BEGIN CERTIFICATE-----"); n != len(cs.Certificates) {
		t.Errorf("PEM bundle has %d certificates, want %d", n, len(cs.Certificates))
	}
}

// registration returns the JSON of a valid registration of a new company.
func registration(t *testing.T, n int, name string) string {
	t.Helper()
	reg := webtest.Registration(license.Company, webtest.Code(license.Company, "330106", n), name)
	reg.PersonID = personID
	b, err := json.Marshal(reg)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestIssueAPI(t *testing.T) {
	f := newFixture(t)
	body := registration(t, 100, "杭州新设科技有限公司")
	r := f.post("/api/v1/licenses", f.regA, body)
	expect(t, r, 201)
	var v licenceView
	r.decode(t, &v)
	if v.Version != 1 || v.Status != license.Active || v.AuthorityCode != f.authA || v.SignatureValid == nil || !*v.SignatureValid {
		t.Errorf("issued: %s", r.body)
	}
	if r.Header().Get("Location") != "/api/v1/licenses/"+v.Code {
		t.Errorf("Location = %q", r.Header().Get("Location"))
	}
	if strings.Contains(r.body, personID) || strings.Contains(r.body, "person_id") {
		t.Errorf("the response shows the ID number: %s", r.body)
	}
	// Issued again: conflict, nothing changed.
	expect(t, f.post("/api/v1/licenses", f.regA, body), 409)

	big := `{"code":"` + strings.Repeat("9", 2<<20) + `"}`
	tests := []struct {
		name, token, body string
		hdr               []string
		status            int
		code, field       string
	}{
		{"no token", "", body, nil, 401, "unauthenticated", "Authorization"},
		{"bad token", "elt_nonsense", body, nil, 401, "unauthenticated", ""},
		{"operator", f.op, body, nil, 403, "forbidden", ""},
		{"unknown field", f.regA, `{"code":"x","kind":"company","face":{},"colour":"red"}`, nil, 400, "invalid", "colour"},
		{"unknown nested field", f.regA, `{"code":"x","kind":"company","face":{"nickname":"x"}}`, nil, 400, "invalid", "nickname"},
		{"bad JSON", f.regA, `{"code":`, nil, 400, "invalid", ""},
		{"syntax error", f.regA, `{"code" "x"}`, nil, 400, "invalid", ""},
		{"wrong type", f.regA, `{"code":5}`, nil, 400, "invalid", "code"},
		{"not an object", f.regA, `[1,2]`, nil, 400, "invalid", ""},
		{"empty body", f.regA, ``, nil, 400, "invalid", ""},
		{"trailing data", f.regA, body + `{}`, nil, 400, "invalid", ""},
		{"oversized", f.regA, big, nil, 413, "too_large", ""},
		{"validation", f.regA, `{"code":"91330106MA0000010X","kind":"company","face":{"name":"x"}}`, nil, 400, "invalid", "code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.post("/api/v1/licenses", tt.token, tt.body, tt.hdr...)
			expect(t, r, tt.status)
			e := r.err(t)
			if e.Code != tt.code || (tt.field != "" && e.Field != tt.field) {
				t.Errorf("code %q field %q, want %q %q (%s)", e.Code, e.Field, tt.code, tt.field, r.body)
			}
			if tt.status == 401 && !strings.HasPrefix(r.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", r.Header().Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("validation lists every field", func(t *testing.T) {
		r := f.post("/api/v1/licenses?lang=en", f.regA, `{"code":"`+webtest.Code(license.Company, "330106", 101)+`","kind":"company","face":{"name":"x"}}`)
		expect(t, r, 400)
		e := r.err(t)
		fields := map[string]bool{}
		for _, d := range e.Details {
			fields[d.Field] = true
		}
		for _, want := range []string{"face.name", "face.type", "face.person", "face.address", "face.scope", "face.established_on", "face.capital.amount"} {
			if !fields[want] {
				t.Errorf("no detail for %s: %s", want, r.body)
			}
		}
	})
	t.Run("content type", func(t *testing.T) {
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", ""} {
			r := f.do("POST", "/api/v1/licenses", body, "Content-Type", ct, "Authorization", "Bearer "+f.regA)
			expect(t, r, 415)
			if e := r.err(t); e.Field != "Content-Type" {
				t.Errorf("field %q", e.Field)
			}
		}
		r := f.do("POST", "/api/v1/licenses", registration(t, 102, "杭州字符集测试有限公司"), "Content-Type", "application/json; charset=utf-8", "Authorization", "Bearer "+f.regA)
		expect(t, r, 201)
	})
	// Nothing of the failed requests was stored: only the three issued above exist among 100..102.
	r = f.do("GET", "/api/v1/licenses?limit=500", "")
	var page struct {
		Items []licenceView `json:"items"`
	}
	r.decode(t, &page)
	if len(page.Items) != 7 {
		t.Errorf("%d licences stored, want 7", len(page.Items))
	}
}

func TestChangeAndStatusAPI(t *testing.T) {
	f := newFixture(t)
	reg := webtest.Registration(license.Company, f.valid, f.validName)
	reg.Face.Capital.Amount = "500"
	b, _ := json.Marshal(changeRequest{PrevVersion: 1, Registration: reg})
	change := string(b)

	expect(t, f.post("/api/v1/licenses/"+f.valid+"/versions", f.regB, change), 403) // another authority
	expect(t, f.post("/api/v1/licenses/"+f.valid+"/versions", f.op, change), 403)   // not a registrar
	expect(t, f.post("/api/v1/licenses/"+f.valid+"/versions", "", change), 401)
	expect(t, f.post("/api/v1/licenses/"+f.unknown+"/versions", f.regA, change), 404)
	r := f.post("/api/v1/licenses/"+f.valid+"/versions", f.regA, change)
	expect(t, r, 201)
	var v licenceView
	r.decode(t, &v)
	if v.Version != 2 || v.Face.Capital.Amount != "500" {
		t.Errorf("changed: %s", r.body)
	}
	// The same change again is based on a stale version.
	r = f.post("/api/v1/licenses/"+f.valid+"/versions?lang=en", f.regA, change)
	expect(t, r, 409)
	if e := r.err(t); e.Field != "prev_version" || !strings.Contains(e.Message, "current version is 2") {
		t.Errorf("stale: %s", r.body)
	}
	expect(t, f.post("/api/v1/licenses/"+f.valid+"/versions", f.regA, `{"prev_version":2,"registration":{},"extra":1}`), 400)

	status := `{"action":"suspend","reason":"涉嫌虚假登记，调查期间暂停"}`
	expect(t, f.post("/api/v1/licenses/"+f.valid+"/status", f.regB, status), 403)
	expect(t, f.post("/api/v1/licenses/"+f.valid+"/status", f.op, status), 403)
	r = f.post("/api/v1/licenses/"+f.valid+"/status", f.regA, status)
	expect(t, r, 200)
	r.decode(t, &v)
	if v.Status != license.Suspended || v.StatusReason != "涉嫌虚假登记，调查期间暂停" {
		t.Errorf("suspended: %s", r.body)
	}
	expect(t, f.post("/api/v1/licenses/"+f.valid+"/status", f.regA, status), 409) // already suspended
	r = f.post("/api/v1/licenses/"+f.valid+"/status", f.regA, `{"action":"explode","reason":"xx"}`)
	expect(t, r, 400)
	if e := r.err(t); e.Field != "action" {
		t.Errorf("field %q", e.Field)
	}
	r = f.post("/api/v1/licenses/"+f.valid+"/status", f.regA, `{"action":"restore","reason":"调查结束","effective_at":"yesterday"}`)
	expect(t, r, 400)
	r = f.post("/api/v1/licenses/"+f.valid+"/status", f.regA, `{"action":"restore","reason":"调查结束"}`)
	expect(t, r, 200)
	// The public view follows at once.
	r = f.do("GET", "/api/v1/licenses/"+f.valid, "")
	r.decode(t, &v)
	if v.Status != license.Active || v.Version != 2 {
		t.Errorf("public view after restore: %s", r.body)
	}
}

func TestOperatorAPI(t *testing.T) {
	f := newFixture(t)
	code := mustCode(t, '1', '1', "320102", "MB0C0003")
	body := `{"code":"` + code + `","name":"南京市玄武区市场监督管理局","region":"320102"}`
	expect(t, f.post("/api/v1/authorities", f.regA, body), 403)
	expect(t, f.post("/api/v1/authorities", "", body), 401)
	r := f.post("/api/v1/authorities", f.op, body)
	expect(t, r, 201)
	var a authorityView
	r.decode(t, &a)
	if a.Code != code || a.CertSerial == "" {
		t.Errorf("authority: %s", r.body)
	}
	expect(t, f.post("/api/v1/authorities", f.op, body), 409)
	r = f.post("/api/v1/authorities", f.op, `{"code":"123","name":"","region":"x"}`)
	expect(t, r, 400)
	if e := r.err(t); len(e.Details) < 2 {
		t.Errorf("want every problem listed: %s", r.body)
	}

	acct := `{"username":"nj-reg","display_name":"李四","password":"` + webtest.Password + `","role":"registrar","authority":"` + code + `"}`
	expect(t, f.post("/api/v1/accounts", f.regA, acct), 403)
	r = f.post("/api/v1/accounts", f.op, acct)
	expect(t, r, 201)
	if strings.Contains(r.body, webtest.Password) || strings.Contains(r.body, "argon2") {
		t.Errorf("account response shows the password: %s", r.body)
	}
	expect(t, f.post("/api/v1/accounts", f.op, acct), 409)

	// The new registrar gets a token with its password, then issues with it.
	r = f.post("/api/v1/tokens", "", `{"name":"script","username":"nj-reg","password":"`+webtest.Password+`","ttl_hours":24}`)
	expect(t, r, 201)
	var tok struct {
		Token     string  `json:"token"`
		ExpiresAt *string `json:"expires_at"`
	}
	r.decode(t, &tok)
	if !strings.HasPrefix(tok.Token, "elt_") || tok.ExpiresAt == nil {
		t.Fatalf("token: %s", r.body)
	}
	if r.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", r.Header().Get("Cache-Control"))
	}
	reg := webtest.Registration(license.Company, webtest.Code(license.Company, "320102", 7), "南京玄武新设有限公司")
	b, _ := json.Marshal(reg)
	r = f.post("/api/v1/licenses", tok.Token, string(b))
	expect(t, r, 201)
	var v licenceView
	r.decode(t, &v)
	if v.AuthorityCode != code {
		t.Errorf("issued by %s, want %s", v.AuthorityCode, code)
	}
	// A token creates a token; wrong passwords do not.
	expect(t, f.post("/api/v1/tokens", tok.Token, `{"name":"second"}`), 201)
	expect(t, f.post("/api/v1/tokens", "", `{"name":"x","username":"nj-reg","password":"wrong-password-1"}`), 401)
	expect(t, f.post("/api/v1/tokens", "", `{"name":"x"}`), 401)
	expect(t, f.post("/api/v1/tokens", tok.Token, `{"name":"x","username":"nj-reg","password":"p"}`), 400)
	expect(t, f.post("/api/v1/tokens", tok.Token, `{"name":"x","ttl_hours":-1}`), 400)
	expect(t, f.post("/api/v1/tokens", tok.Token, `{"name":""}`), 400)
}

func TestOps(t *testing.T) {
	f := newFixture(t)
	expect(t, f.do("GET", "/healthz", ""), 200)
	expect(t, f.do("GET", "/readyz", ""), 200)
	f.do("GET", "/api/v1/licenses/"+f.valid, "")
	f.do("GET", "/api/v1/licenses/"+f.unknown, "")
	f.post("/api/v1/licenses", f.regA, registration(t, 200, "杭州指标测试有限公司"))
	r := f.do("GET", "/metrics", "")
	expect(t, r, 200)
	for _, want := range []string{
		`elicense_http_requests_total{code="200",route="GET /api/v1/licenses/{code}"} 1`,
		`elicense_http_requests_total{code="404",route="GET /api/v1/licenses/{code}"} 1`,
		`elicense_http_request_duration_seconds_count{route="GET /api/v1/licenses/{code}"} 2`,
		`elicense_licence_changes_total{op="issue"} 1`,
		"go_goroutines",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// downDB is a database that does not answer.
type downDB struct{}

func (downDB) Ping(context.Context) error { return io.ErrUnexpectedEOF }

func TestReadyzDown(t *testing.T) {
	f := newFixture(t)
	d := f.srv.Deps
	d.DB, d.Metrics = downDB{}, nil
	h, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"unavailable"`) {
		t.Errorf("readyz with the database down: %d %s", rec.Code, rec.Body.String())
	}
}

func TestMiddleware(t *testing.T) {
	f := newFixture(t)
	f.srv.mux.HandleFunc("GET /api/v1/panic", func(http.ResponseWriter, *http.Request) { panic("boom: secret detail") })
	f.srv.mux.HandleFunc("GET /panic-page", func(http.ResponseWriter, *http.Request) { panic("boom") })

	check := func(r *response) {
		t.Helper()
		h := r.Header()
		for k, want := range map[string]string{
			"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
		} {
			if h.Get(k) != want {
				t.Errorf("%s = %q, want %q", k, h.Get(k), want)
			}
		}
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("CSP = %q", csp)
		}
		if h.Get("X-Request-ID") == "" {
			t.Error("no X-Request-ID")
		}
	}

	r := f.do("GET", "/api/v1/panic", "")
	expect(t, r, 500)
	check(r)
	e := r.err(t)
	if e.Code != "internal" || strings.Contains(r.body, "secret detail") || !strings.Contains(e.Message, e.RequestID) {
		t.Errorf("panic answer: %s", r.body)
	}
	if !strings.Contains(f.log.String(), "secret detail") || !strings.Contains(f.log.String(), e.RequestID) {
		t.Errorf("the panic is not logged with its request ID")
	}
	r = f.do("GET", "/panic-page", "")
	expect(t, r, 500)
	if !strings.Contains(r.body, "<html") || !strings.Contains(r.body, r.Header().Get("X-Request-ID")) {
		t.Errorf("panic page: %s", r.body)
	}
	// The server keeps serving.
	r = f.do("GET", "/api/v1/licenses/"+f.valid, "")
	expect(t, r, 200)
	check(r)

	// Unmatched paths and methods answer in our format.
	r = f.do("GET", "/api/v1/nothing", "")
	expect(t, r, 404)
	check(r)
	if r.err(t).Code != "not_found" {
		t.Errorf("404: %s", r.body)
	}
	r = f.do("DELETE", "/api/v1/licenses/"+f.valid, "")
	expect(t, r, 405)
	check(r)
	r.err(t)
	if allow := r.Header().Get("Allow"); !strings.Contains(allow, "GET") {
		t.Errorf("Allow = %q", allow)
	}
	r = f.do("GET", "/no/such/page", "")
	expect(t, r, 404)
	check(r)
	if !strings.Contains(r.body, "<html") {
		t.Errorf("404 page is not HTML: %s", r.body)
	}

	// Distinct request IDs.
	a, b := f.do("GET", "/healthz", ""), f.do("GET", "/healthz", "")
	if a.Header().Get("X-Request-ID") == b.Header().Get("X-Request-ID") {
		t.Error("request IDs repeat")
	}
}

func TestAccessLogHasNoSecrets(t *testing.T) {
	f := newFixture(t)
	f.post("/api/v1/licenses", f.regA, registration(t, 300, "杭州日志测试有限公司"))
	f.do("GET", "/api/v1/licenses/"+f.valid+"?q="+personID, "", "Cookie", "elicense_session=cookie-secret-value", "Authorization", "Bearer "+f.regB)
	f.post("/api/v1/tokens", "", `{"name":"x","username":"reg-a","password":"`+webtest.Password+`"}`)
	expect(t, f.do("GET", "/api/v1/licenses/"+personID, ""), 400) // an ID number typed as a code
	expect(t, f.do("GET", "/api/v1/licenses/"+strings.ToLower(personID)+"/history", ""), 400)
	log := f.log.String()
	for _, secret := range []string{f.regA, f.regB, "cookie-secret-value", personID, strings.ToLower(personID), webtest.Password, "Bearer"} {
		if strings.Contains(log, secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
	if !strings.Contains(log, `"path":"/api/v1/licenses/[id-number]"`) {
		t.Error("the ID number in the path is not masked in the log")
	}
	if !strings.Contains(log, `"route":"POST /api/v1/licenses"`) || !strings.Contains(log, `"status":201`) {
		t.Errorf("the access log lacks route and status:\n%s", log)
	}
}

// TestPersonIDNeverPublic checks that the ID number of the person on a licence appears in no
// public response and no page.
func TestPersonIDNeverPublic(t *testing.T) {
	f := newFixture(t)
	pages := []string{
		"/api/v1/licenses/" + f.valid, "/api/v1/licenses/" + f.valid + "/history", "/api/v1/licenses?limit=500",
		"/api/v1/licenses/" + url.PathEscape(f.changedOld), "/api/v1/licenses/" + f.individual,
		"/?q=" + f.valid, "/verify?q=" + f.changed, "/verify?q=" + url.QueryEscape(f.changedOld), "/verify?q=" + f.individual,
	}
	c := f.login(t, "reg-a")
	for _, p := range pages {
		r := f.do("GET", p, "")
		expect(t, r, 200)
		if strings.Contains(r.body, personID) || strings.Contains(r.body, "person_id") {
			t.Errorf("%s shows the ID number", p)
		}
	}
	for _, p := range []string{"/admin/licences", "/admin/licences/" + f.valid, "/admin/licences/" + f.valid + "/change"} {
		r := c.get(t, p)
		expect(t, r, 200)
		if strings.Contains(r.body, personID) {
			t.Errorf("%s shows the ID number", p)
		}
	}
}

// TestDocumentRoutes checks that the licence-file routes are wired into the site with its
// middleware and error format: download a PDF, verify it, and see the upload page.
func TestDocumentRoutes(t *testing.T) {
	f := newFixture(t)
	r := f.do("GET", "/api/v1/licenses/"+f.valid+"/document?format=pdf&copy=duplicate", "")
	expect(t, r, 200)
	if r.Header().Get("Content-Type") != "application/pdf" || !strings.HasPrefix(r.body, "%PDF-") ||
		r.Header().Get("X-Request-ID") == "" || r.Header().Get("X-Frame-Options") != "DENY" {
		t.Fatalf("document response: %v", r.Header())
	}
	v := f.do("POST", "/api/v1/verify", r.body, "Content-Type", "application/pdf")
	expect(t, v, 200)
	var rep struct {
		Result int    `json:"result"`
		Code   string `json:"code"`
	}
	v.decode(t, &rep)
	if rep.Result != 0 || rep.Code != f.valid {
		t.Errorf("verification of the downloaded file: %s", v.body)
	}
	r = f.do("GET", "/api/v1/licenses/"+f.valid+"/document?format=doc", "")
	expect(t, r, 400)
	r.err(t)
	expect(t, f.do("GET", "/api/v1/licenses/"+f.unknown+"/document", ""), 404)
	r = f.do("GET", "/verify/file", "")
	expect(t, r, 200)
	if !strings.Contains(r.body, `name="file"`) {
		t.Errorf("upload page: %s", r.body)
	}
}
