package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/present"
)

// newPresentFixture is the wallet fixture with the presentation service wired as cmd/elicense
// wires it.
func newPresentFixture(t testing.TB, origin string) *walletFixture {
	t.Helper()
	f := newWalletFixture(t, origin)
	ps := present.NewService(present.Config{Identity: f.ids, Licences: f.lic, Keys: f.env.Keys, Audit: f.env.Audit,
		PublicURL: origin, Clock: f.env.Clock.Now})
	srv, err := newServer(Deps{Licenses: f.lic, Keys: f.env.Keys, Accounts: f.env.Accounts, Audit: f.env.Audit,
		Documents: f.env.Documents, DB: f.env.DB, Identity: f.ids, OIDC: f.oidc, Logger: slog.New(slog.NewJSONHandler(f.log, nil)),
		Clock: f.env.Clock.Now, PublicURL: origin, Present: ps})
	if err != nil {
		t.Fatal(err)
	}
	f.srv, f.h = srv, srv.handler()
	return f
}

var dataToken = regexp.MustCompile(`data-token="([^"]+)"`)

// showToken opens the presentation page with the query and returns the token it shows.
func showToken(t *testing.T, p *phone, code, query string) string {
	t.Helper()
	pg := p.get("/wallet/licences/" + code + "/show" + query)
	pg.expect(t, 200, `src="data:image/png;base64,`, "有效期至")
	m := dataToken.FindStringSubmatch(pg.body)
	if m == nil {
		t.Fatalf("no token on the presentation page:\n%s", pg.body)
	}
	return m[1]
}

// counterResult is the JSON a counter gets for a presentation token.
type counterResult struct {
	Result       int    `json:"result"`
	Valid        bool   `json:"valid"`
	Code         string `json:"code"`
	Name         string `json:"name"`
	Status       string `json:"status"`
	Presentation struct {
		Valid     bool                `json:"valid"`
		Authentic bool                `json:"authentic"`
		Expired   bool                `json:"expired"`
		Items     []present.ItemCheck `json:"items"`
		Presenter *present.Presenter  `json:"presenter"`
	} `json:"presentation"`
	Checks []struct {
		Name string `json:"name"`
		OK   bool   `json:"ok"`
		ZH   string `json:"zh"`
	} `json:"checks"`
}

// counter scans a token as a counter's system would: GET /v/{token} asking for JSON.
func counter(t *testing.T, base, tok string) *counterResult {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/v/"+tok, nil)
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var c counterResult
	if res.StatusCode != 200 || json.Unmarshal(b, &c) != nil {
		t.Fatalf("GET /v/…: %d %s", res.StatusCode, b)
	}
	return &c
}

func itemKeys(c *counterResult) string {
	var ks []string
	for _, it := range c.Presentation.Items {
		ks = append(ks, it.Key)
	}
	return strings.Join(ks, ",")
}

// TestWalletPresent: the holder shows the licence with the chosen items; the counter verifies
// the token (page, JSON, POST /api/v1/verify), sees the items and the presenter; an altered or
// expired token is refused; an agent's and an administrator's tokens stop being authorised
// when their grants end; every presentation and scan is a use.
func TestWalletPresent(t *testing.T) {
	f := newPresentFixture(t, walletOrigin)
	ctx := context.Background()
	holder, done := f.phone(t)
	defer done()
	f.register(t, holder, "张三", holderID, f.holderPhone).expect(t, 200)
	holder.post("/wallet/claim", url.Values{"code": {f.code}, "pin": {f.holderPIN}, "pin2": {f.holderPIN}}).expect(t, 200, "出示执照", "使用记录")

	// The default items; the counter sees them, the live status and the holder.
	tok := showToken(t, holder, f.code, "")
	c := counter(t, holder.base, tok)
	if !c.Valid || !c.Presentation.Valid || !c.Presentation.Authentic || c.Code != f.code || c.Name != f.name {
		t.Fatalf("the counter gets %+v", c)
	}
	if got := itemKeys(c); got != "n,k,r,t" {
		t.Errorf("default items %s, want n,k,r,t", got)
	}
	for _, it := range c.Presentation.Items {
		if !it.Same {
			t.Errorf("item %s %q differs from the register's %q", it.Key, it.Value, it.Now)
		}
	}
	if p := c.Presentation.Presenter; p == nil || p.Name != "张*" || p.Role != identity.RoleHolder || !p.Authorised {
		t.Errorf("presenter %+v", c.Presentation.Presenter)
	}
	pg := holder.get("/v/" + tok)
	pg.expect(t, 200, "核验通过", f.name, "张*", "领照人", "与登记一致", "出示码由平台签名")
	if strings.Contains(pg.body, holderID) || !strings.Contains(pg.body, `id="presenter-name">张*<`) {
		t.Error("the counter's page shows the presenter unmasked")
	}
	// The API answers the same for the token in JSON.
	res, err := http.Post(holder.base+"/api/v1/verify", "application/json", strings.NewReader(`{"token":"`+walletOrigin+`/v/`+tok+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), `"presentation":{"valid":true`) {
		t.Errorf("POST /api/v1/verify: %d %s", res.StatusCode, b)
	}

	// Chosen items: the address and the scope only (with the code and identifier).
	tok2 := showToken(t, holder, f.code, "?chosen=1&field=address&field=scope")
	if got := itemKeys(counter(t, holder.base, tok2)); got != "a,s" {
		t.Errorf("chosen items %s, want a,s", got)
	}
	holder.get("/wallet/licences/"+f.code+"/show?chosen=1&field=phone").expect(t, 400, "未知的出示项目")

	// The script's refresh gives a new token.
	req, _ := http.NewRequest("POST", holder.base+"/wallet/licences/"+f.code+"/show/token?chosen=1&field=name", nil)
	req.Header.Set(walletCSRFHeader, holder.csrf)
	res, err = holder.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var next showTokenJSON
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || json.Unmarshal(b, &next) != nil || next.Token == "" || next.Token == tok || next.RefreshIn < 200 ||
		!strings.HasPrefix(string(next.QR), "data:image/png;base64,") || next.URL != walletOrigin+"/v/"+next.Token {
		t.Fatalf("refresh: %d %s", res.StatusCode, b)
	}
	req.Header.Del(walletCSRFHeader)
	if res, err := holder.c.Do(req); err != nil || res.StatusCode != 403 {
		t.Errorf("refresh without the CSRF header: %v %v", res.StatusCode, err)
	}

	// An altered token: another signature character. Refused, with the reason.
	sig := strings.LastIndex(tok, ".") + 5
	flip := byte('A')
	if tok[sig] == 'A' {
		flip = 'B'
	}
	altered := tok[:sig] + string(flip) + tok[sig+1:]
	bad := counter(t, holder.base, altered)
	if bad.Valid || bad.Presentation.Authentic || len(bad.Presentation.Items) > 0 || bad.Presentation.Presenter != nil {
		t.Errorf("an altered token is accepted: %+v", bad)
	}
	holder.get("/v/"+altered).expect(t, 200, "出示码无效", "签名无效")
	holder.get("/v/"+altered+"?lang=en").expect(t, 200, "The code is not valid", "signature")

	// Expired: six minutes later. Refused with its time; nothing shown.
	f.env.Clock.Set(time.Now().Add(6 * time.Minute))
	exp := counter(t, holder.base, tok)
	if exp.Valid || !exp.Presentation.Expired || exp.Presentation.Valid || len(exp.Presentation.Items) > 0 {
		t.Errorf("an expired token: %+v", exp)
	}
	holder.get("/v/"+tok+"?lang=en").expect(t, 200, "The code has expired")
	holder.get("/v/"+tok+"?lang=zh").expect(t, 200, "出示码已过期", "请刷新后重新出示")
	f.env.Clock.Set(time.Time{})

	// An agent for two items, and an administrator.
	agent, done2 := f.phone(t)
	defer done2()
	f.register(t, agent, "赵六", f.otherPersonIDs[1], "13600136000").expect(t, 200)
	admin, done3 := f.phone(t)
	defer done3()
	f.register(t, admin, "王五", f.otherPersonIDs[0], "13700137000").expect(t, 200)
	until := time.Now().In(chinaTime).AddDate(0, 1, 0).Format(time.DateOnly)
	holder.post("/wallet/licences/"+f.code+"/agents", url.Values{"name": {"赵六"}, "id_number": {f.otherPersonIDs[1]},
		"items": {"tax.declare social.insurance"}, "until": {until}, "pin": {f.holderPIN}}).expect(t, 200, "已授权办事人")
	holder.post("/wallet/licences/"+f.code+"/administrators", url.Values{"name": {"王五"}, "id_number": {f.otherPersonIDs[0]},
		"pin": {f.holderPIN}}).expect(t, 200, "已任命证照管理员")
	agentTok := showToken(t, agent, f.code, "?chosen=1&field=name")
	ac := counter(t, holder.base, agentTok)
	if p := ac.Presentation.Presenter; !ac.Presentation.Valid || p == nil || p.Role != identity.RoleAgent || p.Name != "赵*" ||
		strings.Join(p.Items, " ") != "tax.declare social.insurance" || p.Until == nil || !p.Authorised {
		t.Fatalf("agent's presentation: %+v %+v", ac, ac.Presentation.Presenter)
	}
	agent.get("/v/"+agentTok).expect(t, 200, "办事人", "tax.declare, social.insurance", until)
	adminTok := showToken(t, admin, f.code, "")
	if ad := counter(t, holder.base, adminTok); !ad.Presentation.Valid || ad.Presentation.Presenter.Role != identity.RoleAdministrator {
		t.Fatalf("administrator's presentation: %+v", ad.Presentation)
	}

	// The agent sees only their own uses; a stranger none.
	agent.get("/wallet/licences/"+f.code+"/uses").expect(t, 200, "只能看到自己的使用记录", "出示")
	if pg := agent.get("/wallet/licences/" + f.code + "/uses"); strings.Count(pg.body, `<li class="use"`) != 1 {
		t.Errorf("the agent sees %d uses, want their one presentation", strings.Count(pg.body, `<li class="use"`))
	}
	stranger, done4 := f.phone(t)
	defer done4()
	f.register(t, stranger, "钱七", f.otherPersonIDs[2], "13500135000").expect(t, 200)
	stranger.get("/wallet/licences/"+f.code+"/uses").expect(t, 403, "无权查看")
	stranger.get("/wallet/licences/"+f.code+"/show").expect(t, 403)

	// Revoke the agent and dismiss the administrator: their tokens, still within their five
	// minutes, show them as no longer authorised, and they cannot make new ones.
	ms, err := f.ids.Members(ctx, f.lookupPerson(t, holder), f.code)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms.Grants {
		holder.post("/wallet/licences/"+f.code+"/grants/"+m.Grant.ID+"/revoke", url.Values{"pin": {f.holderPIN}}).expect(t, 200, "已撤销")
	}
	for who, tk := range map[string]string{"agent": agentTok, "administrator": adminTok} {
		c := counter(t, holder.base, tk)
		if p := c.Presentation.Presenter; c.Presentation.Valid || p == nil || p.Authorised || !strings.Contains(p.ReasonZH, "已无权") {
			t.Errorf("the %s's token after revocation: %+v", who, p)
		}
	}
	holder.get("/v/"+agentTok).expect(t, 200, "出示人已无权代表该市场主体", "已失效")
	agent.get("/wallet/licences/"+f.code+"/show").expect(t, 403)

	// Uses: the holder sees every presentation and scan; the filter keeps one kind; CSV.
	pg = holder.get("/wallet/licences/" + f.code + "/uses")
	pg.expect(t, 200, "使用记录", "出示", "核验", "公众核验（扫码）", "张*（本人）", "赵*", "王*")
	if strings.Contains(pg.body, holderID) || strings.Contains(pg.body, f.otherPersonIDs[1]) {
		t.Error("the uses page shows an ID number")
	}
	pg = holder.get("/wallet/licences/" + f.code + "/uses?kind=present")
	if n := strings.Count(pg.body, `data-kind="present"`); n != 5 || strings.Count(pg.body, `<li class="use"`) != n {
		t.Errorf("kind=present lists %d presentations of %d uses, want 5", n, strings.Count(pg.body, `<li class="use"`))
	}
	holder.get("/wallet/licences/"+f.code+"/uses?kind=nonsense").expect(t, 400, "未知的使用类型")
	holder.get("/wallet/licences/"+f.code+"/uses?since=2020-13-01").expect(t, 400, `id="uses-since-error"`)
	today := time.Now().In(chinaTime).Format(time.DateOnly)
	holder.get("/wallet/licences/"+f.code+"/uses?since=2000-01-01&until=2000-01-02").expect(t, 200, "没有符合条件的使用记录")
	holder.get("/wallet/licences/"+f.code+"/uses?since="+today+"&until="+today).expect(t, 200, `data-action="wallet.present.verify"`)

	res, err = holder.c.Get(holder.base + "/wallet/licences/" + f.code + "/uses?format=csv&kind=verify")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.HasPrefix(b, []byte("\uFEFF序号,时间,类型,操作,使用者,详情,结果\n")) ||
		!strings.Contains(res.Header.Get("Content-Disposition"), "uses-"+f.code+".csv") {
		t.Fatalf("CSV: %d %q…", res.StatusCode, b[:min(len(b), 200)])
	}
	evs, err := f.env.Audit.Find(ctx, audit.Filter{Subject: f.code, ActionPrefix: present.ActionVerify})
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(b), "\n") - 1; lines != len(evs) || len(evs) < 8 {
		t.Errorf("the CSV has %d verifications, the log %d", lines, len(evs))
	}
	// Paging: two at a time, every use once.
	seen, cursor := map[string]bool{}, "/wallet/licences/"+f.code+"/uses?kind=present"
	for pages := 0; cursor != ""; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		u, _ := url.Parse(cursor)
		q := u.Query()
		f2, _ := useFilter(q)
		f2.Limit = 2
		pg, err := f.srv.Present.Uses(ctx, f.lookupPerson(t, holder), f.code, f2)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range pg.Uses {
			if seen[strconv.FormatInt(x.Seq, 10)] {
				t.Errorf("use %d listed twice", x.Seq)
			}
			seen[strconv.FormatInt(x.Seq, 10)] = true
		}
		cursor = ""
		if pg.Next > 0 {
			cursor = fmt.Sprintf("/x?kind=present&before=%d", pg.Next)
		}
	}
	if len(seen) != 5 {
		t.Errorf("paging found %d presentations, want 5", len(seen))
	}

	// The members page shows each person's recent uses.
	holder.get("/wallet/licences/"+f.code+"/members").expect(t, 200, "最近使用", "出示")
}

// TestWalletLostPhone: on a new phone signed in with a one-time code, the holder types name
// and ID number again, removes the lost phone's device — whose session ends at once — and
// binds the new phone.
func TestWalletLostPhone(t *testing.T) {
	f := newPresentFixture(t, walletOrigin)
	old, done := f.phone(t)
	defer done()
	f.register(t, old, "张三", holderID, f.holderPhone).expect(t, 200)
	auth := f.bind(t, old)
	// The old phone signs in with its passkey, as it would every day.
	old.post("/wallet/logout", nil)
	old.get("/wallet/")
	ceremony, opts := old.options("/wallet/passkey/login-options")
	resp, err := auth.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	old.post("/wallet/passkey/login", url.Values{"ceremony": {ceremony}, "response": {string(resp)}}).expect(t, 200, "已登录")

	// The new phone: sign in with a code; the lost-phone link; the name and ID number again.
	neu, done2 := f.phone(t)
	defer done2()
	neu.get("/wallet/").expect(t, 200, "手机丢失？")
	// Signed out, the lost-phone page is the sign-in page, which comes back here afterwards.
	pg := neu.get("/wallet/lost")
	pg.expect(t, 200, "获取验证码")
	f.env.Clock.Set(time.Now().Add(2 * time.Minute)) // past the resend interval of the registration code
	defer f.env.Clock.Set(time.Time{})
	pg = neu.post("/wallet/login", url.Values{"phone": {f.holderPhone}, "next": {"/wallet/lost"}})
	codeID := regexp.MustCompile(`name="code_id" value="([^"]+)"`).FindStringSubmatch(pg.body)
	if codeID == nil {
		t.Fatalf("no code page:\n%s", pg.body)
	}
	pg = neu.post("/wallet/code", url.Values{"code_id": {codeID[1]}, "code": {f.codes.code(f.holderPhone)}, "purpose": {"login"}, "next": {"/wallet/lost"}})
	pg.expect(t, 200, "手机丢失", "核验姓名和身份号码")
	neu.post("/wallet/lost", url.Values{"name": {"张四"}, "id_number": {holderID}}).expect(t, 400, "姓名与注册信息不一致", `id="lost-name-error"`)
	neu.post("/wallet/lost", url.Values{"name": {"张三"}, "id_number": {f.otherPersonIDs[0]}}).expect(t, 400, "身份号码与注册信息不一致")
	pg = neu.post("/wallet/lost", url.Values{"name": {"张三"}, "id_number": {holderID}})
	pg.expect(t, 200, "核验通过。请移除丢失的设备", "测试手机")
	ids := regexp.MustCompile(`action="/wallet/devices/([^/"]+)/remove"`).FindAllStringSubmatch(pg.body, -1)
	if len(ids) != 1 {
		t.Fatalf("%d devices listed", len(ids))
	}
	neu.post("/wallet/devices/"+ids[0][1]+"/remove", nil).expect(t, 200, "设备已移除")
	// The old phone's session ended at once.
	old.get("/wallet/").expect(t, 200, "获取验证码")
	old.get("/wallet/devices").expect(t, 200, "获取验证码")
	// The new phone binds itself.
	f.bind(t, neu)
	devs, err := f.ids.Devices(context.Background(), f.lookupPerson(t, neu))
	if err != nil || len(devs) != 1 || devs[0].ID == ids[0][1] {
		t.Fatalf("devices after the lost phone: %+v %v", devs, err)
	}
}

// TestWalletPalette computes the WCAG 2.1 contrast ratio of every text colour of the wallet's
// stylesheet on the backgrounds it is used on: at least 4.5:1 (AA for normal text), and 3:1
// for the focus ring against the page (non-text contrast, 1.4.11).
func TestWalletPalette(t *testing.T) {
	css, err := os.ReadFile("static/wallet.css")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"white": "#fff"}
	for _, m := range regexp.MustCompile(`--([a-z-]+):\s*(#[0-9a-fA-F]{3,6})`).FindAllStringSubmatch(string(css), -1) {
		vars[m[1]] = m[2]
	}
	pairs := []struct {
		fg, bg string
		min    float64
	}{
		{"fg", "bg", 4.5}, {"fg", "card", 4.5}, {"muted", "bg", 4.5}, {"muted", "card", 4.5},
		{"link", "card", 4.5}, {"link", "bg", 4.5}, {"white", "link", 4.5}, {"white", "accent", 4.5}, {"white", "bad", 4.5},
		{"ok", "ok-bg", 4.5}, {"warn", "warn-bg", 4.5}, {"bad", "bad-bg", 4.5}, {"bad", "card", 4.5},
		{"fg", "ok-bg", 4.5}, {"fg", "warn-bg", 4.5}, {"fg", "bad-bg", 4.5}, {"accent", "card", 4.5}, {"muted", "ok-bg", 4.5},
		{"focus", "bg", 3}, {"focus", "card", 3},
	}
	for _, p := range pairs {
		fg, ok1 := vars[p.fg]
		bg, ok2 := vars[p.bg]
		if !ok1 || !ok2 {
			t.Fatalf("wallet.css has no --%s or --%s", p.fg, p.bg)
		}
		if r := contrast(t, fg, bg); r < p.min {
			t.Errorf("%s %s on %s %s: contrast %.2f:1, below %.1f:1", p.fg, fg, p.bg, bg, r, p.min)
		}
	}
	// The grey badge (#e8ecef) under normal text.
	if r := contrast(t, vars["fg"], "#e8ecef"); r < 4.5 {
		t.Errorf("badge text: %.2f:1", r)
	}
}

// contrast is the WCAG 2.1 contrast ratio of two sRGB colours (#rgb or #rrggbb).
func contrast(t *testing.T, a, b string) float64 {
	t.Helper()
	la, lb := luminance(t, a), luminance(t, b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(t *testing.T, hex string) float64 {
	t.Helper()
	h := strings.TrimPrefix(hex, "#")
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil || len(h) != 6 {
		t.Fatalf("colour %q", hex)
	}
	lin := func(c uint64) float64 {
		s := float64(c) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(v>>16&0xff) + 0.7152*lin(v>>8&0xff) + 0.0722*lin(v&0xff)
}

// presentHolder returns the fixture's holder, registered and holding f.code, for benchmarks.
func presentHolder(b *testing.B, f *walletFixture) string {
	b.Helper()
	ctx := context.Background()
	pend, err := f.ids.Register(ctx, "张三", holderID, f.holderPhone)
	if err != nil {
		b.Fatal(err)
	}
	in, err := f.ids.ConfirmPhone(ctx, pend.CodeID, f.codes.code(f.holderPhone))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.ids.Claim(ctx, in.Person.ID, f.code, f.holderPIN); err != nil {
		b.Fatal(err)
	}
	return in.Person.ID
}

// BenchmarkPresentCreate measures what the wallet does for each presentation code: the role
// check, the SM2 signature by the platform key, the audit record (wallet.present) and the QR
// code's PNG, on SQLite.
func BenchmarkPresentCreate(b *testing.B) {
	f := newPresentFixture(b, walletOrigin)
	person := presentHolder(b, f)
	ctx := context.Background()
	fields := []string{"name", "kind", "representative", "address", "status"}
	for b.Loop() {
		p, err := f.srv.Present.Create(ctx, person, f.code, fields)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := document.QRPNG(p.URL); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPresentVerify measures a counter's scan of a presentation code: the licence's
// verification (signature, register, status; the document service caches a verified token),
// the presentation's own signature check, the items compared with the register, the
// presenter's role checked now, and the audit record (wallet.present.verify), on SQLite.
func BenchmarkPresentVerify(b *testing.B) {
	f := newPresentFixture(b, walletOrigin)
	person := presentHolder(b, f)
	ctx := context.Background()
	p, err := f.srv.Present.Create(ctx, person, f.code, []string{"name", "kind", "representative", "address", "status"})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		rep, err := f.env.Documents.VerifyToken(ctx, p.Token)
		if err != nil {
			b.Fatal(err)
		}
		c, err := f.srv.Present.Verify(ctx, p.Token, "public", rep.Result)
		if err != nil || !c.Usable(rep.Valid) {
			b.Fatalf("%+v %v", c, err)
		}
	}
}
