package web

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/elicense/elicense/internal/browsertest"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/web/webtest"
)

// TestBrowserVerifyPage opens the public verification page in Chromium, types the codes of a
// valid, a cancelled and a revoked licence, and reads what the page says; then switches to
// English, and checks the layout at a phone's width.
func TestBrowserVerifyPage(t *testing.T) {
	b := browsertest.New(t, 1280, 900)
	f := newFixture(t)
	srv := httptest.NewServer(f.h) // 127.0.0.1:0
	defer srv.Close()

	verify := func(code string) (verdict, entity string) {
		t.Helper()
		b.Do(30*time.Second,
			chromedp.Navigate(srv.URL+"/"),
			chromedp.WaitVisible(chromedp.CSS("#q")),
			chromedp.SendKeys(chromedp.CSS("#q"), code),
			chromedp.Click(chromedp.CSS("form.verify button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS(".verdict")),
		)
		return browsertest.Get(b, 10*time.Second, chromedp.Text(chromedp.CSS(".verdict"))),
			browsertest.Get(b, 10*time.Second, chromedp.Text(chromedp.CSS(".entity")))
	}
	for _, tt := range []struct{ name, code, verdict, entity string }{
		{"valid", f.valid, "有效", f.validName},
		{"cancelled", f.cancelled, "已注销", f.cancelName},
		{"revoked", strings.ToLower(f.revoked), "已吊销", f.revName},
		{"superseded", f.changedOld, "已被新版本替代", f.chgName},
	} {
		verdict, entity := verify(tt.code)
		if strings.TrimSpace(verdict) != tt.verdict || strings.TrimSpace(entity) != tt.entity {
			t.Errorf("%s: the page shows %q / %q, want %q / %q", tt.name, verdict, entity, tt.verdict, tt.entity)
		}
		b.Screenshot(tt.name)
	}

	// The superseded version links to the current one.
	b.Do(30*time.Second,
		chromedp.Navigate(srv.URL+"/verify?q="+f.changedOld),
		chromedp.Click(chromedp.CSS(".notice a")),
		chromedp.WaitVisible(chromedp.CSS(`.verdict[data-status="active"]`)), // the next page, not this one
	)
	if v := browsertest.Get(b, 10*time.Second, chromedp.Text(chromedp.CSS(".verdict"))); strings.TrimSpace(v) != "有效" {
		t.Errorf("the link from the superseded version leads to %q", v)
	}

	// The English switch, then a wrong check character shown inline in English.
	verify(f.valid)
	b.Do(30*time.Second,
		chromedp.Click(chromedp.CSS("a.lang")),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] .verdict`)),
	)
	if v := browsertest.Get(b, 10*time.Second, chromedp.Text(chromedp.CSS(".verdict"))); strings.TrimSpace(v) != "Valid" {
		t.Errorf("after switching to English the page shows %q", v)
	}
	b.Screenshot("valid-en")
	bad := f.valid[:17] + string(otherChar(f.valid[17]))
	b.Do(30*time.Second,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.SendKeys(chromedp.CSS("#q"), bad),
		chromedp.Click(chromedp.CSS("form.verify button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#q-problem")),
	)
	if p := browsertest.Get(b, 10*time.Second, chromedp.Text(chromedp.CSS("#q-problem"))); !strings.Contains(p, "position 18") {
		t.Errorf("the problem shown is %q", p)
	}
	b.Screenshot("bad-code-en")

	// At a phone's 360 px nothing overflows sideways, in either language.
	for _, lang := range []string{"zh", "en"} {
		b.Do(30*time.Second,
			chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile),
			chromedp.Navigate(srv.URL+"/verify?lang="+lang+"&q="+f.valid),
			chromedp.WaitVisible(chromedp.CSS(".verdict")),
		)
		fits := browsertest.Get(b, 10*time.Second, chromedp.Evaluate[bool](
			`document.documentElement.scrollWidth <= window.innerWidth`))
		width := browsertest.Get(b, 10*time.Second, chromedp.Evaluate[int](`window.innerWidth`))
		if width != 360 {
			t.Errorf("the viewport is %d px wide, want 360", width)
		}
		if !fits {
			t.Errorf("%s: at 360 px the page overflows horizontally", lang)
		}
		b.Screenshot("valid-360px-" + lang)
	}
}

// TestBrowserAdmin signs in as a registrar in Chromium, submits the issue form with a mistake,
// sees the message next to the field, corrects it, and sees the issued licence; then cancels it
// through the confirmation form.
func TestBrowserAdmin(t *testing.T) {
	b := browsertest.New(t, 1280, 900)
	f := newFixture(t)
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	code := webtest.Code(license.Company, "330106", 500)

	b.Do(30*time.Second,
		chromedp.Navigate(srv.URL+"/admin/licences/new?kind=company"),
		chromedp.WaitVisible(chromedp.CSS("#username")), // sent to the login page first
		chromedp.SendKeys(chromedp.CSS("#username"), "reg-a"),
		chromedp.SendKeys(chromedp.CSS("#password"), webtest.Password),
		chromedp.Click(chromedp.CSS("main button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`#i-face\.name`)),
		chromedp.SendKeys(chromedp.CSS("#i-code"), code),
		chromedp.SendKeys(chromedp.CSS(`#i-face\.type`), "有限责任公司（自然人投资或控股）"),
		chromedp.SendKeys(chromedp.CSS(`#i-face\.person`), "王五"),
		chromedp.SendKeys(chromedp.CSS(`#i-face\.capital\.amount`), "300"),
		chromedp.SetValue(chromedp.CSS(`#i-face\.established_on`), "2021-06-01"),
		chromedp.SetValue(chromedp.CSS(`#i-face\.term_from`), "2021-06-01"),
		chromedp.SendKeys(chromedp.CSS(`#i-face\.term_to`), "长期"),
		chromedp.SendKeys(chromedp.CSS(`#i-face\.address`), "浙江省杭州市西湖区学院路 28 号"),
		chromedp.SendKeys(chromedp.CSS(`#i-face\.scope`), "技术服务、技术开发。"),
		chromedp.Click(chromedp.CSS("form[action='/admin/licences'] button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`#e-face\.name`)), // the name was left empty
	)
	if msg := browsertest.Get(b, 10*time.Second, chromedp.Text(chromedp.CSS(`#e-face\.name`))); !strings.Contains(msg, "名称") {
		t.Errorf("the message next to the name is %q", msg)
	}
	b.Screenshot("issue-error")
	b.Do(30*time.Second,
		chromedp.SendKeys(chromedp.CSS(`#i-face\.name`), "杭州浏览器测试有限公司"),
		chromedp.Click(chromedp.CSS("form[action='/admin/licences'] button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("p.done")),
	)
	if h := browsertest.Get(b, 10*time.Second, chromedp.Text(chromedp.CSS("main h1"))); h != "杭州浏览器测试有限公司" {
		t.Errorf("the licence page is titled %q", h)
	}
	b.Screenshot("issued")
	b.Do(30*time.Second,
		chromedp.Click(chromedp.CSS(`a[href$="action=cancel"]`)),
		chromedp.WaitVisible(chromedp.CSS("#i-reason")),
		chromedp.SendKeys(chromedp.CSS("#i-reason"), "股东会决议解散"),
		chromedp.Click(chromedp.CSS("#i-confirm")),
		chromedp.Click(chromedp.CSS("form button[type=submit].bad")),
		chromedp.WaitVisible(chromedp.CSS("p.done")),
	)
	if s := browsertest.Get(b, 10*time.Second, chromedp.Text(chromedp.CSS(".status-line .badge"))); s != "注销" {
		t.Errorf("after cancelling, the status shows %q", s)
	}
	b.Screenshot("cancelled")
}
