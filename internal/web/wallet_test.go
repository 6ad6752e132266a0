package web

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"html"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/citizen"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/identity/passkey"
	"github.com/elicense/elicense/internal/identity/passkey/passkeytest"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/web/webtest"
)

// codeBox is the Sender of the wallet tests: it keeps the last one-time code of each phone.
type codeBox struct {
	mu   sync.Mutex
	last map[string]string
}

func (c *codeBox) SendCode(_ context.Context, phone, code string, _ identity.Purpose) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last[phone] = code
	return nil
}

func (c *codeBox) code(phone string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last[phone]
}

// testProtector seals and hashes ID numbers as cmd/elicense's protector does; the licence
// service and the identity service share it, as they must.
type testProtector struct {
	sealer *gm.Sealer
	key    []byte
}

func (p testProtector) SealPersonID(id, code string) ([]byte, error) {
	return p.sealer.Seal([]byte(id), []byte("person-id:"+code))
}

func (p testProtector) HashPersonID(id string) []byte {
	h := gm.HMACSM3(p.key, []byte(id))
	return h[:]
}

// walletFixture is the web layer with the identity service, over real storage: an authority,
// two active licences naming 张三 (holderID), a cancelled one naming him too, and a licence of
// another person.
type walletFixture struct {
	env            *webtest.Env
	lic            *license.Service
	ids            *identity.Service
	oidc           *oidc.Provider
	srv            *server
	h              http.Handler
	codes          *codeBox
	log            *syncBuffer
	actor          license.Actor
	code, code2    string // active licences of 张三
	cancelled      string
	other          string // an active licence of 李四
	name, name2    string
	origin         string
	portal         identity.Client
	holderPhone    string
	holderPIN      string
	otherPersonIDs []string // valid ID numbers of people named on no licence
}

const holderID = personID // 张三, on the fixture's licences

// walletOrigin is the platform's origin in the wallet's HTTP tests. WebAuthn needs a domain
// (an IP address cannot be a relying party ID).
const walletOrigin = "http://localhost"

// testCitizenID returns a valid GB 11643 number for a person born on birth (YYYYMMDD) with the
// sequence seq.
func testCitizenID(t testing.TB, birth string, seq int) string {
	t.Helper()
	first := "330106" + birth + fmt.Sprintf("%03d", seq)
	c, err := citizen.CheckChar(first)
	if err != nil {
		t.Fatal(err)
	}
	return first + string(c)
}

func newWalletFixture(t testing.TB, origin string) *walletFixture {
	t.Helper()
	ctx := context.Background()
	env, err := webtest.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	sealer, err := gm.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	prot := testProtector{sealer: sealer, key: key}
	f := &walletFixture{env: env, codes: &codeBox{last: map[string]string{}}, log: &syncBuffer{}, origin: origin,
		holderPhone: "13800138000", holderPIN: "860427",
		portal: identity.Client{ID: "portal-zj", Name: "浙江政务服务网", Department: "浙江省大数据发展管理局", Region: "浙江省"}}
	f.lic = license.NewService(license.Config{Store: env.DB, Keys: env.Keys, Clock: env.Clock.Now, Protect: prot})
	auth := mustCode(t, '1', '1', "330106", "MB0A0001")
	if _, err := env.Authority(ctx, auth, "杭州市西湖区市场监督管理局", "330106"); err != nil {
		t.Fatal(err)
	}
	f.actor = license.Actor{ID: "registrar", Authority: auth}
	issue := func(n int, name, person, id string) string {
		t.Helper()
		reg := webtest.Registration(license.Company, webtest.Code(license.Company, "330106", n), name)
		reg.Face.Person, reg.PersonID = person, id
		l, err := f.lic.Issue(ctx, f.actor, reg)
		if err != nil {
			t.Fatalf("issue %s: %v", name, err)
		}
		return l.Code
	}
	f.name, f.name2 = "杭州钱包测试科技有限公司", "杭州钱包第二贸易有限公司"
	f.code = issue(11, f.name, "张三", holderID)
	f.code2 = issue(12, f.name2, "张三", holderID)
	f.cancelled = issue(13, "杭州钱包已注销有限公司", "张三", holderID)
	f.other = issue(14, "杭州李四餐饮有限公司", "李四", testCitizenID(t, "19800101", 11))
	if _, err := f.lic.SetStatus(ctx, f.actor, f.cancelled, license.StatusChange{Action: license.Cancel, Reason: "股东会决议解散"}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		f.otherPersonIDs = append(f.otherPersonIDs, testCitizenID(t, "19920615", 20+2*i))
	}
	pk, err := passkey.New(passkey.Config{Origins: []string{origin}})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(f.log, nil))
	// The OpenID Connect provider, wired as cmd/elicense does: it ends sessions for identity,
	// and identity confirms its logins.
	if f.oidc, err = oidc.New(ctx, oidc.Config{Store: env.DB, Keys: env.DB, Sealer: sealer, Issuer: origin,
		Logger: logger, Clock: env.Clock.Now}); err != nil {
		t.Fatal(err)
	}
	f.ids = identity.NewService(identity.Config{Store: env.DB, Licences: env.DB, Protect: prot, Sender: f.codes,
		Revoker: f.oidc, Passkeys: pk, SubjectKey: key, Clock: env.Clock.Now})
	f.oidc.SetIdentity(f.ids)
	f.srv, err = newServer(Deps{Licenses: f.lic, Keys: env.Keys, Accounts: env.Accounts, Audit: env.Audit,
		Documents: env.Documents, DB: env.DB, Identity: f.ids, OIDC: f.oidc, Logger: logger,
		Clock: env.Clock.Now, PublicURL: origin})
	if err != nil {
		t.Fatal(err)
	}
	f.h = f.srv.handler()
	return f
}

// phone is a browser on a phone: a cookie jar and the CSRF token of the last page.
type phone struct {
	t    *testing.T
	c    *http.Client
	base string
	csrf string
}

// page is a response as the phone saw it, after redirects.
type page struct {
	status int
	url    string
	body   string // HTML-unescaped
	header http.Header
}

func (f *walletFixture) phone(t *testing.T) (*phone, func()) {
	srv := httptest.NewServer(f.h)
	jar, _ := cookiejar.New(nil)
	return &phone{t: t, c: &http.Client{Jar: jar}, base: srv.URL}, srv.Close
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)">`)

func (p *phone) read(res *http.Response, err error) *page {
	p.t.Helper()
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	if m := csrfMeta.FindSubmatch(b); m != nil {
		p.csrf = string(m[1])
	}
	return &page{status: res.StatusCode, url: res.Request.URL.RequestURI(), body: html.UnescapeString(string(b)), header: res.Header}
}

func (p *phone) get(path string) *page {
	p.t.Helper()
	return p.read(p.c.Get(p.base + path))
}

// post submits a form with the CSRF token of the last page (unless the form has one).
func (p *phone) post(path string, form url.Values) *page {
	p.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("csrf") {
		form.Set("csrf", p.csrf)
	}
	return p.read(p.c.PostForm(p.base+path, form))
}

// options asks the wallet script's JSON endpoint for passkey options.
func (p *phone) options(path string) (ceremony string, options []byte) {
	p.t.Helper()
	req, _ := http.NewRequest("POST", p.base+path, nil)
	req.Header.Set(walletCSRFHeader, p.csrf)
	res, err := p.c.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	var c struct {
		Ceremony string          `json:"ceremony"`
		Options  json.RawMessage `json:"options"`
	}
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || json.Unmarshal(b, &c) != nil || c.Ceremony == "" {
		p.t.Fatalf("POST %s: %d %s", path, res.StatusCode, b)
	}
	return c.Ceremony, c.Options
}

func (pg *page) expect(t *testing.T, status int, want ...string) {
	t.Helper()
	if pg.status != status {
		t.Fatalf("%s: status %d, want %d\n%s", pg.url, pg.status, status, pg.body)
	}
	for _, w := range want {
		if !strings.Contains(pg.body, w) {
			t.Fatalf("%s: the page does not say %q:\n%s", pg.url, w, pg.body)
		}
	}
}

// register registers a person through the pages and returns with them signed in.
func (f *walletFixture) register(t *testing.T, p *phone, name, id, tel string) *page {
	t.Helper()
	p.get("/wallet/register")
	pg := p.post("/wallet/register", url.Values{"name": {name}, "id_number": {id}, "phone": {tel}})
	pg.expect(t, 200, "验证码已发送至", identity.MaskPhone(tel))
	codeID := regexp.MustCompile(`name="code_id" value="([^"]+)"`).FindStringSubmatch(pg.body)
	if codeID == nil {
		t.Fatalf("no code_id on the code page:\n%s", pg.body)
	}
	return p.post("/wallet/code", url.Values{"code_id": {codeID[1]}, "code": {f.codes.code(tel)},
		"purpose": {"register"}, "phone": {identity.MaskPhone(tel)}})
}

// bind binds a software passkey to the signed-in person through the devices page.
func (f *walletFixture) bind(t *testing.T, p *phone) *passkeytest.Authenticator {
	t.Helper()
	a, err := passkeytest.New(f.origin)
	if err != nil {
		t.Fatal(err)
	}
	p.get("/wallet/devices")
	ceremony, opts := p.options("/wallet/devices/options")
	resp, err := a.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	pg := p.post("/wallet/devices", url.Values{"device_name": {"测试手机"}, "ceremony": {ceremony}, "response": {string(resp)}})
	pg.expect(t, 200, "本机已绑定", "测试手机")
	return a
}

// scanQR makes a login QR as the platform's login page does and returns its ID and the
// browser secret bound to it.
func (f *walletFixture) scanQR(t *testing.T) (id, browser string) {
	t.Helper()
	browser = randomToken()
	q, err := f.ids.NewLoginQR(context.Background(), browser, f.portal, "authreq-"+browser[:8])
	if err != nil {
		t.Fatal(err)
	}
	return q.ID, browser
}

func TestWalletAssets(t *testing.T) {
	f := newWalletFixture(t, walletOrigin)
	p, done := f.phone(t)
	defer done()

	pg := p.get("/wallet/")
	pg.expect(t, 200, `rel="manifest" href="/wallet/manifest.webmanifest"`, `name="viewport"`, "获取验证码", "使用通行密钥登录")
	if csp := pg.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	if pg.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", pg.header.Get("Cache-Control"))
	}
	// No inline script or style: the CSP would block them.
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]|style="|<style|\son[a-z]+="`).MatchString(pg.body) {
		t.Errorf("inline script or style on the sign-in page:\n%s", pg.body)
	}
	// Every input has a label.
	for _, m := range regexp.MustCompile(`<input id="([^"]+)"[^>]*type="(?:text|tel|password)"`).FindAllStringSubmatch(pg.body, -1) {
		if !strings.Contains(pg.body, `for="`+m[1]+`"`) {
			t.Errorf("input %s has no label", m[1])
		}
	}

	res, err := p.c.Get(p.base + "/wallet/manifest.webmanifest")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Name, StartURL, Scope, Display string
		Icons                          []struct{ Src, Sizes, Type string }
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if err := json.Unmarshal(b, &m); err != nil || res.Header.Get("Content-Type") != "application/manifest+json" {
		t.Fatalf("manifest %s: %v %q", b, err, res.Header.Get("Content-Type"))
	}
	var mm map[string]any
	_ = json.Unmarshal(b, &mm)
	if mm["start_url"] != "/wallet/" || mm["scope"] != "/wallet/" || mm["display"] != "standalone" || len(m.Icons) < 3 {
		t.Errorf("manifest %s", b)
	}
	for _, ic := range m.Icons {
		res, err := p.c.Get(p.base + ic.Src)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != ic.Type {
			t.Errorf("icon %s: %d %s", ic.Src, res.StatusCode, res.Header.Get("Content-Type"))
		}
		if ic.Type == "image/png" {
			img, err := png.Decode(res.Body)
			if err != nil || fmt.Sprintf("%dx%d", img.Bounds().Dx(), img.Bounds().Dy()) != ic.Sizes {
				t.Errorf("icon %s: %v", ic.Src, err)
			}
		}
		res.Body.Close()
	}

	// The script and the stylesheet, with their types (nosniff), and a first screen well under
	// 200 KB.
	weight := len(pg.body)
	for _, re := range []string{`<script src="([^"]+)"`, `<link rel="stylesheet" href="([^"]+)"`} {
		src := regexp.MustCompile(re).FindStringSubmatch(pg.body)
		if src == nil {
			t.Fatalf("no %s", re)
		}
		res, err := p.c.Get(p.base + src[1])
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		weight += len(b)
		ct := res.Header.Get("Content-Type")
		if res.StatusCode != 200 || !strings.HasPrefix(ct, "text/javascript") && !strings.HasPrefix(ct, "text/css") {
			t.Errorf("%s: %d %s", src[1], res.StatusCode, ct)
		}
	}
	if weight > 200_000 {
		t.Errorf("the first screen weighs %d bytes", weight)
	}

	// English.
	pg = p.get("/wallet/?lang=en")
	pg.expect(t, 200, `<html lang="en">`, "Send code", "Sign in with a passkey")
}

func TestWalletDisabled(t *testing.T) {
	f := newFixture(t)
	r := f.do("GET", "/wallet/", "")
	if r.Code != http.StatusServiceUnavailable || !strings.Contains(r.body, "未启用") {
		t.Errorf("wallet without identity: %d %s", r.Code, r.body)
	}
	if r := f.do("GET", "/wallet/manifest.webmanifest", ""); r.Code != 200 {
		t.Errorf("manifest: %d", r.Code)
	}
}

// TestWalletHolder is issue 4 items 2–4 on the phone: register with a mistake, confirm the
// phone, claim (领照) with a PIN typed twice, bind a passkey, and confirm scan-to-login with the
// PIN and with the passkey; then decline one, sign out, and sign in again by code and by
// passkey.
func TestWalletHolder(t *testing.T) {
	f := newWalletFixture(t, walletOrigin)
	p, done := f.phone(t)
	defer done()
	ctx := context.Background()

	// Registration: every mistake at once, next to its field.
	p.get("/wallet/register")
	bad := holderID[:17] + "1"
	pg := p.post("/wallet/register", url.Values{"name": {"张三"}, "id_number": {bad}, "phone": {"12345"}})
	pg.expect(t, 400, `id="id_number-error"`, "校验码", `id="phone-error"`, "手机号码应为11位数字")
	if strings.Contains(f.log.String(), holderID) {
		t.Error("the ID number reached the log")
	}
	// A wrong code, then the right one.
	pg = p.post("/wallet/register", url.Values{"name": {"张三"}, "id_number": {strings.ToLower(holderID)}, "phone": {"138-0013-8000"}})
	pg.expect(t, 200, "138****8000", "[DEMO ONLY]")
	codeID := regexp.MustCompile(`name="code_id" value="([^"]+)"`).FindStringSubmatch(pg.body)[1]
	wrong := "000000"
	if f.codes.code(f.holderPhone) == wrong {
		wrong = "000001"
	}
	pg = p.post("/wallet/code", url.Values{"code_id": {codeID}, "code": {wrong}, "purpose": {"register"}})
	pg.expect(t, 401, "验证码错误，还可尝试4次")
	pg = p.post("/wallet/code", url.Values{"code_id": {codeID}, "code": {f.codes.code(f.holderPhone)}, "purpose": {"register"}})
	pg.expect(t, 200, "注册成功", "已实名认证", "可以领取的执照", f.name, f.name2)
	if strings.Contains(pg.body, "杭州钱包已注销有限公司") {
		t.Error("a cancelled licence is offered for claiming")
	}
	if !strings.HasPrefix(pg.url, "/wallet/?done=registered") {
		t.Errorf("after registering the phone is at %s", pg.url)
	}

	// Claim: PINs that differ, a weak PIN (his birth date), then a good one.
	pg = p.get("/wallet/claim")
	pg.expect(t, 200, f.name, f.code, "设置执照密码")
	pg = p.post("/wallet/claim", url.Values{"code": {f.code}, "pin": {f.holderPIN}, "pin2": {"860428"}})
	pg.expect(t, 400, "两次输入的密码不一致", `id="pin2-`+f.code+`-error"`)
	pg = p.post("/wallet/claim", url.Values{"code": {f.code}, "pin": {"491231"}, "pin2": {"491231"}})
	pg.expect(t, 400, "出生日期")
	pg = p.post("/wallet/claim", url.Values{"code": {f.code}, "pin": {f.holderPIN}, "pin2": {f.holderPIN}})
	pg.expect(t, 200, "领照成功", f.name, "领照人", "绑定本机")
	if pg.url != "/wallet/licences/"+f.code+"?done=claim" {
		t.Errorf("after claiming the phone is at %s", pg.url)
	}
	pg = p.get("/wallet/")
	pg.expect(t, 200, "我领取的执照", f.name)

	// Bind this phone with a passkey.
	auth := f.bind(t, p)
	pg = p.get("/wallet/")
	if strings.Contains(pg.body, "本机尚未绑定") {
		t.Error("the home page still asks to bind the phone")
	}

	// Scan to log in, with the licence PIN: a wrong one first.
	qr, browser := f.scanQR(t)
	pg = p.get("/wallet/scan/" + qr)
	pg.expect(t, 200, "浙江政务服务网", "浙江省大数据发展管理局", "浙江省", f.name, "执照密码", "使用通行密钥确认")
	if st, err := f.ids.Poll(ctx, qr, browser); err != nil || st.Status != identity.QRScanned {
		t.Fatalf("after the scan the QR is %v %v", st, err)
	}
	pg = p.post("/wallet/scan/"+qr+"/confirm", url.Values{"entity": {f.code}, "method": {"pin"}, "pin": {"860428"}})
	pg.expect(t, 401, "执照密码错误，还可尝试4次", "浙江政务服务网")
	pg = p.post("/wallet/scan/"+qr+"/confirm", url.Values{"entity": {f.code}, "method": {"pin"}, "pin": {f.holderPIN}})
	pg.expect(t, 200, "已确认登录", "浙江政务服务网", f.code)
	id, err := f.ids.Consume(ctx, qr, browser)
	if err != nil || id.EntityCode != f.code || id.Role != identity.RoleHolder || id.ACR != identity.ACRLicencePIN {
		t.Fatalf("consumed %+v %v", id, err)
	}
	// Confirming again is refused cleanly.
	pg = p.post("/wallet/scan/"+qr+"/confirm", url.Values{"entity": {f.code}, "pin": {f.holderPIN}})
	pg.expect(t, 409, "二维码已使用")

	// With the passkey (the second licence is not claimed, so only the first is offered).
	qr, browser = f.scanQR(t)
	pg = p.get("/wallet/scan/" + qr)
	pg.expect(t, 200, f.name)
	if strings.Contains(pg.body, f.name2) {
		t.Error("an unclaimed licence is offered for login")
	}
	// The JSON API for phone apps gives the same kind of challenge.
	if c, o := p.options("/wallet/api/passkey/begin"); c == "" || len(o) == 0 {
		t.Fatal("no challenge from /wallet/api/passkey/begin")
	}
	ceremony, opts := p.options("/wallet/passkey/confirm-options")
	resp, err := auth.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	pg = p.post("/wallet/scan/"+qr+"/confirm", url.Values{"entity": {f.code}, "method": {"passkey"},
		"ceremony": {ceremony}, "response": {string(resp)}})
	pg.expect(t, 200, "已确认登录")
	if id, err := f.ids.Consume(ctx, qr, browser); err != nil || id.ACR != identity.ACRPasskey || id.DeviceID == "" {
		t.Fatalf("consumed %+v %v", id, err)
	}

	// Decline.
	qr, browser = f.scanQR(t)
	p.get("/wallet/scan/"+qr).expect(t, 200)
	p.post("/wallet/scan/"+qr+"/decline", nil).expect(t, 200, "已拒绝此次登录")
	if st, err := f.ids.Poll(ctx, qr, browser); err != nil || st.Status != identity.QRDeclined {
		t.Errorf("after declining: %+v %v", st, err)
	}

	// Sign out; signing in by passkey (no phone number needed), then by code.
	p.post("/wallet/logout", nil).expect(t, 200, "获取验证码")
	p.get("/wallet/devices").expect(t, 200, "获取验证码") // sent to sign in
	ceremony, opts = p.options("/wallet/passkey/login-options")
	if resp, err = auth.Get(opts); err != nil {
		t.Fatal(err)
	}
	pg = p.post("/wallet/passkey/login", url.Values{"ceremony": {ceremony}, "response": {string(resp)}, "next": {"/wallet/devices"}})
	pg.expect(t, 200, "测试手机", "本机") // the session knows its device
	if pg.url != "/wallet/devices" {
		t.Errorf("after the passkey sign-in the phone is at %s", pg.url)
	}
	p.post("/wallet/logout", nil)
	f.env.Clock.Set(time.Now().Add(2 * time.Minute)) // one code a minute per phone
	pg = p.post("/wallet/login", url.Values{"phone": {f.holderPhone}})
	pg.expect(t, 200, "138****8000")
	codeID = regexp.MustCompile(`name="code_id" value="([^"]+)"`).FindStringSubmatch(pg.body)[1]
	pg = p.post("/wallet/code", url.Values{"code_id": {codeID}, "code": {f.codes.code(f.holderPhone)}, "purpose": {"login"}})
	pg.expect(t, 200, "已登录", f.name)

	// An unregistered phone is told so.
	pg = p.post("/wallet/logout", nil)
	pg = p.post("/wallet/login", url.Values{"phone": {"13900139000"}})
	pg.expect(t, 404, "该手机号尚未注册", `id="phone-error"`)
}

// TestWalletScanSignIn opens a scanned QR without a session: the wallet asks to sign in and
// then shows the QR's page.
func TestWalletScanSignIn(t *testing.T) {
	f := newWalletFixture(t, walletOrigin)
	p, done := f.phone(t)
	defer done()
	pg := f.register(t, p, "张三", holderID, f.holderPhone)
	pg.expect(t, 200, "注册成功")
	p.post("/wallet/claim", url.Values{"code": {f.code}, "pin": {f.holderPIN}, "pin2": {f.holderPIN}}).expect(t, 200, "领照成功")
	p.post("/wallet/logout", nil)

	f.env.Clock.Set(time.Now().Add(2 * time.Minute)) // one code a minute per phone
	qr, _ := f.scanQR(t)
	pg = p.get("/wallet/scan/" + qr)
	pg.expect(t, 200, "获取验证码", `name="next" value="/wallet/scan/`+qr+`"`)
	pg = p.post("/wallet/login", url.Values{"phone": {f.holderPhone}, "next": {"/wallet/scan/" + qr}})
	codeID := regexp.MustCompile(`name="code_id" value="([^"]+)"`).FindStringSubmatch(pg.body)[1]
	pg = p.post("/wallet/code", url.Values{"code_id": {codeID}, "code": {f.codes.code(f.holderPhone)}, "next": {"/wallet/scan/" + qr}})
	pg.expect(t, 200, "浙江政务服务网", "确认登录")
	if pg.url != "/wallet/scan/"+qr {
		t.Errorf("after signing in the phone is at %s", pg.url)
	}
	// A next that leaves the wallet is ignored.
	if safeWalletNext("//evil.example/wallet/") != "/wallet/" || safeWalletNext("https://evil.example/") != "/wallet/" {
		t.Error("safeWalletNext lets the browser leave the wallet")
	}

	// An expired QR code.
	qr2, _ := f.scanQR(t)
	f.env.Clock.Set(time.Now().Add(10 * time.Minute))
	p.get("/wallet/scan/"+qr2).expect(t, 409, "二维码已过期")
	p.get("/wallet/scan/NOSUCHQR").expect(t, 404, "二维码无效")
}

// TestWalletStaff is issue 4 item 5 on the phone: the holder appoints an administrator and
// grants an agent (chosen items, a period); the administrator sees the role and grants an agent
// too; a grant is revoked; each needs the PIN.
func TestWalletStaff(t *testing.T) {
	f := newWalletFixture(t, walletOrigin)
	ctx := context.Background()
	holder, done := f.phone(t)
	defer done()
	f.register(t, holder, "张三", holderID, f.holderPhone).expect(t, 200)
	holder.post("/wallet/claim", url.Values{"code": {f.code}, "pin": {f.holderPIN}, "pin2": {f.holderPIN}}).expect(t, 200, "领照成功")

	admin, done2 := f.phone(t)
	defer done2()
	f.register(t, admin, "王五", f.otherPersonIDs[0], "13700137000").expect(t, 200, "尚未实名认证")
	agent, done3 := f.phone(t)
	defer done3()
	f.register(t, agent, "赵六", f.otherPersonIDs[1], "13600136000").expect(t, 200)

	members := "/wallet/licences/" + f.code + "/members"
	pg := holder.get(members)
	pg.expect(t, 200, "管理授权", "任命证照管理员", "授权办事人", "还没有任命")

	// Appoint: a wrong PIN, a name that does not match, then right.
	pg = holder.post("/wallet/licences/"+f.code+"/administrators", url.Values{"name": {"王五"}, "id_number": {f.otherPersonIDs[0]}, "pin": {"111112"}})
	pg.expect(t, 401, "执照密码错误", `value="王五"`)
	pg = holder.post("/wallet/licences/"+f.code+"/administrators", url.Values{"name": {"王六"}, "id_number": {f.otherPersonIDs[0]}, "pin": {f.holderPIN}})
	pg.expect(t, 400, "姓名与身份号码不符")
	pg = holder.post("/wallet/licences/"+f.code+"/administrators", url.Values{"name": {"王五"}, "id_number": {f.otherPersonIDs[0]}, "pin": {f.holderPIN}})
	pg.expect(t, 200, "已任命证照管理员", "王*", "证照管理员", "有效")
	if strings.Contains(pg.body, f.otherPersonIDs[0]) {
		t.Error("the members page shows an ID number")
	}

	// Grant an agent two items until a date (inclusive): the period must have an end.
	grant := url.Values{"name": {"赵六"}, "id_number": {f.otherPersonIDs[1]}, "items": {"tax.declare, social.insurance"}, "pin": {f.holderPIN}}
	pg = holder.post("/wallet/licences/"+f.code+"/agents", grant)
	pg.expect(t, 400, "请填写授权截止时间", `id="grant-until-error"`)
	until := time.Now().In(chinaTime).AddDate(0, 2, 0).Format(time.DateOnly)
	grant.Set("until", until)
	grant.Set("items", "tax.declare, social insurance!")
	pg = holder.post("/wallet/licences/"+f.code+"/agents", grant)
	pg.expect(t, 400, "不允许")
	grant.Set("items", "tax.declare\nsocial.insurance")
	pg = holder.post("/wallet/licences/"+f.code+"/agents", grant)
	pg.expect(t, 200, "已授权办事人", "赵*", "tax.declare, social.insurance", until)

	// The agent sees the role; without a personal PIN, the scan page says to set one.
	pg = agent.get("/wallet/")
	pg.expect(t, 200, "我可以代表的市场主体", f.name, "办事人", "tax.declare", "请先设置")
	agent.post("/wallet/pin", url.Values{"new_pin": {"852963"}, "new_pin2": {"852963"}}).expect(t, 200, "密码已保存")
	qr, browser := f.scanQR(t)
	pg = agent.get("/wallet/scan/" + qr)
	pg.expect(t, 200, f.name, "个人密码")
	agent.post("/wallet/scan/"+qr+"/confirm", url.Values{"entity": {f.code}, "pin": {"852963"}}).expect(t, 200, "已确认登录")
	if id, err := f.ids.Consume(ctx, qr, browser); err != nil || id.Role != identity.RoleAgent || id.ACR != identity.ACRPersonalPIN {
		t.Fatalf("agent login %+v %v", id, err)
	}

	// The administrator manages: no appointment form, but may grant; sets a personal PIN.
	admin.post("/wallet/pin", url.Values{"new_pin": {"741852"}, "new_pin2": {"741852"}}).expect(t, 200)
	pg = admin.get(members)
	pg.expect(t, 200, "授权办事人")
	if strings.Contains(pg.body, "任命证照管理员") {
		t.Error("an administrator is offered to appoint administrators")
	}
	third, done4 := f.phone(t)
	defer done4()
	f.register(t, third, "钱七", f.otherPersonIDs[2], "13500135000").expect(t, 200)
	pg = admin.post("/wallet/licences/"+f.code+"/agents", url.Values{"name": {"钱七"}, "id_number": {f.otherPersonIDs[2]},
		"all": {"1"}, "until": {until}, "pin": {"741852"}})
	pg.expect(t, 200, "已授权办事人", "全部业务")

	// The agent cannot manage.
	agent.get(members).expect(t, 403, "只有领照人和证照管理员")

	// Revoke the agent: the grant's row has the form; then the agent can no longer log in.
	gs, err := f.ids.Members(ctx, f.lookupPerson(t, holder), f.code)
	if err != nil {
		t.Fatal(err)
	}
	var grantID string
	for _, g := range gs.Grants {
		if g.Grant.Role == identity.RoleAgent && !g.Grant.AllItems {
			grantID = g.Grant.ID
		}
	}
	pg = holder.get(members)
	pg.expect(t, 200, `/grants/`+grantID+`/revoke`)
	pg = holder.post("/wallet/licences/"+f.code+"/grants/"+grantID+"/revoke", url.Values{"pin": {f.holderPIN}})
	pg.expect(t, 200, "已撤销", "已撤销，该人员")
	qr, _ = f.scanQR(t)
	agent.get("/wallet/scan/"+qr).expect(t, 403, "没有可用于登录的营业执照")
}

// lookupPerson returns the ID of the person signed in on the phone.
func (f *walletFixture) lookupPerson(t *testing.T, p *phone) string {
	t.Helper()
	u, _ := url.Parse(p.base + "/wallet/")
	for _, c := range p.c.Jar.Cookies(u) {
		if c.Name == walletCookie {
			person, _, err := f.ids.Session(context.Background(), c.Value)
			if err != nil {
				t.Fatal(err)
			}
			return person.ID
		}
	}
	t.Fatal("not signed in")
	return ""
}

// TestWalletDevices: a second device needs a passkey session or a fresh real-name check;
// removing the device a session was opened with ends that session (lost phone).
func TestWalletDevices(t *testing.T) {
	f := newWalletFixture(t, walletOrigin)
	p, done := f.phone(t)
	defer done()
	f.register(t, p, "张三", holderID, f.holderPhone).expect(t, 200)
	auth := f.bind(t, p)

	// A code session may not bind a second device…
	p.get("/wallet/devices").expect(t, 200, "重新实名认证")
	req, _ := http.NewRequest("POST", p.base+"/wallet/devices/options", nil)
	req.Header.Set(walletCSRFHeader, p.csrf)
	res, err := p.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 403 || !strings.Contains(string(b), "重新进行实名认证") {
		t.Errorf("second device from a code session: %d %s", res.StatusCode, b)
	}
	// …until the real name is checked again (the wrong number first).
	p.get("/wallet/realname")
	p.post("/wallet/realname", url.Values{"id_number": {f.otherPersonIDs[0]}}).expect(t, 400, "身份号码与注册信息不一致")
	p.post("/wallet/realname", url.Values{"id_number": {holderID}, "next": {"/wallet/devices"}}).expect(t, 200, "钱包设备")
	second := f.bind(t, p)

	// The options endpoint needs the CSRF header.
	req, _ = http.NewRequest("POST", p.base+"/wallet/devices/options", nil)
	res, err = p.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 403 {
		t.Errorf("options without the CSRF header: %d", res.StatusCode)
	}

	// A session opened with the first passkey removes the first device: the session ends.
	other, done2 := f.phone(t)
	defer done2()
	other.get("/wallet/")
	ceremony, opts := other.options("/wallet/passkey/login-options")
	resp, err := auth.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	other.post("/wallet/passkey/login", url.Values{"ceremony": {ceremony}, "response": {string(resp)}}).expect(t, 200, "已登录")
	pg := other.get("/wallet/devices")
	pg.expect(t, 200, "本机")
	ids := regexp.MustCompile(`action="/wallet/devices/([^/"]+)/remove"`).FindAllStringSubmatch(pg.body, -1)
	if len(ids) != 2 {
		t.Fatalf("%d devices listed", len(ids))
	}
	this := regexp.MustCompile(`<strong>([^<]+)</strong><span class="badge ok">本机`).FindStringSubmatch(pg.body)
	if this == nil {
		t.Fatal("this device is not marked")
	}
	first := ids[0][1]
	other.post("/wallet/devices/"+first+"/remove", nil).expect(t, 200, "设备已移除", "获取验证码")
	// The removed passkey no longer signs in; the second one does.
	ceremony, opts = other.options("/wallet/passkey/login-options")
	resp, _ = auth.Get(opts)
	other.post("/wallet/passkey/login", url.Values{"ceremony": {ceremony}, "response": {string(resp)}}).expect(t, 401, "通行密钥")
	ceremony, opts = other.options("/wallet/passkey/login-options")
	resp, _ = second.Get(opts)
	other.post("/wallet/passkey/login", url.Values{"ceremony": {ceremony}, "response": {string(resp)}}).expect(t, 200, "已登录")
}

// TestWalletCSRF: every POST needs the form's token, and a cross-site POST is refused.
func TestWalletCSRF(t *testing.T) {
	f := newWalletFixture(t, walletOrigin)
	p, done := f.phone(t)
	defer done()
	f.register(t, p, "张三", holderID, f.holderPhone).expect(t, 200)
	for _, path := range []string{"/wallet/claim", "/wallet/pin", "/wallet/logout", "/wallet/devices", "/wallet/realname"} {
		p.post(path, url.Values{"csrf": {"forged"}}).expect(t, 403, "CSRF")
	}
	// Before sign-in: the double-submitted token.
	anon, done2 := f.phone(t)
	defer done2()
	anon.post("/wallet/login", url.Values{"phone": {f.holderPhone}, "csrf": {"x"}}).expect(t, 403, "CSRF")
	// Cross-site, even with the right token.
	p.get("/wallet/pin")
	req, _ := http.NewRequest("POST", p.base+"/wallet/logout", strings.NewReader("csrf="+url.QueryEscape(p.csrf)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := p.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 403 {
		t.Errorf("cross-site POST: %d", res.StatusCode)
	}
	p.get("/wallet/").expect(t, 200, "我的电子营业执照") // still signed in
}

// TestWalletResetPIN: five wrong licence PINs lock it; the holder who forgot it verifies their
// real name again and sets a new one, which lifts the lock.
func TestWalletResetPIN(t *testing.T) {
	f := newWalletFixture(t, walletOrigin)
	p, done := f.phone(t)
	defer done()
	f.register(t, p, "张三", holderID, f.holderPhone).expect(t, 200)
	p.post("/wallet/claim", url.Values{"code": {f.code}, "pin": {f.holderPIN}, "pin2": {f.holderPIN}}).expect(t, 200, "领照成功")

	qr, browser := f.scanQR(t)
	p.get("/wallet/scan/"+qr).expect(t, 200)
	for i := 1; i < identity.MaxPINTries; i++ {
		p.post("/wallet/scan/"+qr+"/confirm", url.Values{"entity": {f.code}, "pin": {"975310"}}).expect(t, 401, "执照密码错误")
	}
	p.post("/wallet/scan/"+qr+"/confirm", url.Values{"entity": {f.code}, "pin": {"975310"}}).expect(t, 429, "已锁定")
	p.post("/wallet/scan/"+qr+"/confirm", url.Values{"entity": {f.code}, "pin": {f.holderPIN}}).expect(t, 429, "已锁定")

	licence := "/wallet/licences/" + f.code
	pg := p.get(licence)
	pg.expect(t, 200, "忘记执照密码", `href="/wallet/realname?next=`+licence+`"`)
	p.post(licence+"/pin/reset", url.Values{"new_pin": {"864213"}, "new_pin2": {"864213"}}).expect(t, 403, "重新进行实名认证")
	p.post("/wallet/realname", url.Values{"id_number": {holderID}, "next": {licence}}).expect(t, 200, `action="`+licence+`/pin/reset"`)
	p.post(licence+"/pin/reset", url.Values{"new_pin": {"864213"}, "new_pin2": {"864210"}}).expect(t, 400, "不一致")
	p.post(licence+"/pin/reset", url.Values{"new_pin": {"864213"}, "new_pin2": {"864213"}}).expect(t, 200, "密码已保存")

	p.post("/wallet/scan/"+qr+"/confirm", url.Values{"entity": {f.code}, "pin": {"864213"}}).expect(t, 200, "已确认登录")
	if st, err := f.ids.Poll(context.Background(), qr, browser); err != nil || st.Status != identity.QRConfirmed {
		t.Errorf("after the reset: %+v %v", st, err)
	}
	// Changing it needs the current PIN.
	p.post(licence+"/pin", url.Values{"pin": {f.holderPIN}, "new_pin": {"864297"}, "new_pin2": {"864297"}}).expect(t, 401, "执照密码错误")
	p.post(licence+"/pin", url.Values{"pin": {"864213"}, "new_pin": {"864297"}, "new_pin2": {"864297"}}).expect(t, 200, "密码已保存")
}

// FuzzSafeWalletNext: whatever a sign-in form posts as "next", the browser stays in the wallet.
func FuzzSafeWalletNext(f *testing.F) {
	for _, s := range []string{"/wallet/scan/ABC", "//evil.example/", "/wallet/\\evil", "https://evil.example/wallet/", "/wallet//x", "/admin/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeWalletNext(next)
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(got, "/wallet/") || strings.HasPrefix(got, "//") ||
			strings.ContainsAny(got, "\\\r\n") {
			t.Fatalf("safeWalletNext(%q) = %q", next, got)
		}
	})
}

// FuzzSplitItems: the service item codes typed into the grant form never include a separator
// or an empty code.
func FuzzSplitItems(f *testing.F) {
	f.Add("tax.declare, social.insurance\nA-1；B_2、C:3")
	f.Fuzz(func(t *testing.T, s string) {
		for _, it := range splitItems(s) {
			if it == "" || strings.ContainsAny(it, ",，;；、 \t\r\n\u3000") {
				t.Fatalf("splitItems(%q) has %q", s, it)
			}
		}
	})
}

func TestParseDay(t *testing.T) {
	d, ok := parseDay(" 2026-03-01 ")
	if !ok || !d.Equal(time.Date(2026, 2, 28, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("parseDay = %v %v, want the start of 1 March in China", d, ok)
	}
	if _, ok := parseDay("03/01/2026"); ok {
		t.Error("parseDay accepts another format")
	}
	if got := lastDay(d).In(chinaTime).Format(time.DateOnly); got != "2026-02-28" {
		t.Errorf("the last day before 1 March is %s", got)
	}
}
