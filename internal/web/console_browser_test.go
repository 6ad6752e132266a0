package web

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/elicense/elicense/internal/browsertest"
	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/web/webtest"
)

// TestBrowserConsole signs in to the department console in Chromium as a department user,
// searches an entity by name, looks it up with a purpose, archives the version from the look-up
// (the receipt in "my archive", verified there), verifies an uploaded licence file (OFD), and
// finds every call in the call history.
func TestBrowserConsole(t *testing.T) {
	b := browsertest.New(t, 1280, 900)
	cf := newConsoleFixture(t)
	srv := httptest.NewServer(cf.h)
	defer srv.Close()
	ctx := context.Background()

	l, err := cf.env.Licenses.Get(ctx, cf.valid)
	if err != nil {
		t.Fatal(err)
	}
	ofd, err := cf.env.Documents.Render(ctx, l, document.Options{Format: document.OFD})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "licence.ofd")
	if err := os.WriteFile(file, ofd, 0o600); err != nil {
		t.Fatal(err)
	}

	b.Do(30*time.Second,
		chromedp.Navigate(srv.URL+"/console/"),
		chromedp.WaitVisible(chromedp.CSS("#username")), // sent to the sign-in page first
		chromedp.SendKeys(chromedp.CSS("#username"), cf.user),
		chromedp.SendKeys(chromedp.CSS("#password"), webtest.Password),
		chromedp.Click(chromedp.CSS("main button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#c-q")),
		chromedp.SendKeys(chromedp.CSS("#c-q"), "西湖数字"),
		chromedp.Click(chromedp.CSS("form[role=search] button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("table.found")),
	)
	b.Screenshot("console-search")
	b.Do(30*time.Second,
		chromedp.Click(chromedp.CSS(`table.found a.button`)),
		chromedp.WaitVisible(chromedp.CSS("#c-use_cause")),
		// Submitting without a purpose: the form says what is missing.
		chromedp.Click(chromedp.CSS("form.purpose button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#ce-use_cause")),
	)
	if msg := browsertest.Get(b, 10*time.Second, chromedp.Text(chromedp.CSS("#ce-use_cause"))); !strings.Contains(msg, "用证事由") {
		t.Errorf("the message next to the use cause is %q", msg)
	}
	b.Do(30*time.Second,
		chromedp.SendKeys(chromedp.CSS("#c-use_cause"), "办理对公账户开户，核验营业执照"),
		chromedp.SendKeys(chromedp.CSS("#c-service_item"), "BANK-ACCT-001"),
		chromedp.SendKeys(chromedp.CSS("#c-case_number"), "KH2026-0101"),
		chromedp.Click(chromedp.CSS("form.purpose button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("article.record")),
	)
	if name := browsertest.Get(b, 10*time.Second, chromedp.Text(chromedp.CSS("article.record .entity"))); name != cf.validName {
		t.Errorf("the look-up shows %q", name)
	}
	if st, want := browsertest.Get(b, 10*time.Second, chromedp.Text(chromedp.CSS("article.record .status-line .badge"))), activeZH(); st != want {
		t.Errorf("the status shows %q, want %q", st, want)
	}
	b.Screenshot("console-lookup")

	// Archive the version looked up, with the look-up's purpose: the receipt is in "my archive",
	// and verifies there.
	b.Do(30*time.Second,
		chromedp.Click(chromedp.CSS("article.record form.archive-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("table.receipts tr.new")),
	)
	if row := browsertest.Get(b, 10*time.Second, chromedp.Text(chromedp.CSS("table.receipts tr.new"))); !strings.Contains(row, l.Identifier) ||
		!strings.Contains(row, "KH2026-0101") || !strings.Contains(row, "办理对公账户开户，核验营业执照") || !strings.Contains(row, cf.valid) {
		t.Errorf("the archive entry says %q", row)
	}
	b.Screenshot("console-archive")
	b.Do(30*time.Second,
		chromedp.Click(chromedp.CSS("table.receipts tr.new form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`#receipt-verdict[data-valid="true"]`)),
	)
	b.Screenshot("console-archive-verified")

	// Verify the uploaded licence file.
	b.Do(30*time.Second,
		chromedp.Click(chromedp.CSS(`nav a[href="/console/verify"]`)),
		chromedp.WaitVisible(chromedp.CSS("#c-file")),
		chromedp.SetUploadFiles(chromedp.CSS("#c-file"), []string{file}),
		chromedp.SendKeys(chromedp.CSS("#c-use_cause"), "核验申请人提交的电子营业执照文件"),
		chromedp.SendKeys(chromedp.CSS("#c-service_item"), "BANK-ACCT-001"),
		chromedp.SendKeys(chromedp.CSS("#c-case_number"), "KH2026-0101"),
		chromedp.Click(chromedp.CSS("form.purpose button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".report .verdict")),
	)
	if code := browsertest.Get(b, 10*time.Second, chromedp.Text(chromedp.CSS(".report .result-code"))); code != "0" {
		verdict := browsertest.Get(b, 10*time.Second, chromedp.Text(chromedp.CSS(".report")))
		t.Errorf("the uploaded licence verifies with result %q: %s", code, verdict)
	}
	b.Screenshot("console-verify")

	// Both calls are in the history, newest first.
	b.Do(30*time.Second,
		chromedp.Click(chromedp.CSS(`nav a[href="/console/history"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.history")),
	)
	rows := browsertest.Get(b, 10*time.Second, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("table.history tbody tr")].map(r => r.innerText)`))
	if len(rows) != 4 || !strings.Contains(rows[0], "核验文件") || !strings.Contains(rows[0], "result:0") ||
		!strings.Contains(rows[1], "核验存档回执") || !strings.Contains(rows[2], "存档") || !strings.Contains(rows[2], "KH2026-0101") ||
		!strings.Contains(rows[3], "查询主体证照") || !strings.Contains(rows[3], "KH2026-0101") {
		t.Errorf("history rows: %q", rows)
	}
	b.Screenshot("console-history")
}

func activeZH() string {
	zh, _ := license.StatusName(license.Active)
	return zh
}
