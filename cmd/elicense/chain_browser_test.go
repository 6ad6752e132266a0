package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/elicense/elicense/internal/browsertest"
)

// servedDemo is `elicense serve --demo` started as a user starts it, with what it printed.
type servedDemo struct {
	base            string // the public URL
	out, errOut     *syncBuffer
	portals         map[string]string // name → URL
	phone, pin      string            // a demo holder
	entity, company string
	stop            func()
}

// startDemo runs serve --demo on a fresh data directory and reads the start-up output.
func startDemo(t *testing.T, extra ...string) *servedDemo {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &servedDemo{out: &syncBuffer{}, errOut: &syncBuffer{}, portals: map[string]string{}}
	env := map[string]string{"ELICENSE_DATA": t.TempDir()}
	done := make(chan error, 1)
	go func() {
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--demo", "--demo-n", "300"}, extra...)
		done <- run(ctx, args, func(k string) string { return env[k] }, strings.NewReader(""), d.out, d.errOut)
	}()
	d.stop = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			// A server that does not stop is a bug: show where it is stuck.
			var buf bytes.Buffer
			_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
			t.Errorf("serve did not stop within 60 s of its context ending; goroutines:\n%s", buf.String())
		}
	}
	t.Cleanup(d.stop)
	reBase := regexp.MustCompile(`verification page: (http://localhost:\d+)/`)
	for deadline := time.Now().Add(120 * time.Second); d.base == ""; time.Sleep(50 * time.Millisecond) {
		if m := reBase.FindStringSubmatch(d.out.String()); m != nil {
			d.base = m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s\n%s", err, d.out.String(), d.errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve printed no address:\n%s", d.out.String())
		}
	}
	// The banner is printed at once; wait for its last part.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(d.out.String(), "demo portals") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	out := d.out.String()
	for _, m := range regexp.MustCompile(`(?m)^  (\S.*?)\s+(http://localhost:\d+)/$`).FindAllStringSubmatch(out, -1) {
		d.portals[strings.TrimSpace(m[1])] = m[2]
	}
	// A company's holder (a credit code of 18 characters starting 91).
	h := regexp.MustCompile(`(?m)^  (1\d{10})  PIN (\d+)  \S+  (91[0-9A-Z]{16}) (.+)$`).FindStringSubmatch(out)
	if h == nil {
		t.Fatalf("no demo holder printed:\n%s", out)
	}
	d.phone, d.pin, d.entity, d.company = h[1], h[2], h[3], strings.TrimSpace(h[4])
	return d
}

// lastCode returns the newest one-time code the demo's log sender wrote for a masked phone.
func (d *servedDemo) lastCode(t *testing.T) string {
	t.Helper()
	masked := d.phone[:3] + "****" + d.phone[7:]
	re := regexp.MustCompile(`\[DEMO ONLY\] one-time code for ` + regexp.QuoteMeta(masked) + `: (\d+)`)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ms := re.FindAllStringSubmatch(d.errOut.String(), -1); len(ms) > 0 {
			return ms[len(ms)-1][1]
		}
	}
	t.Fatalf("no one-time code for %s in the log", masked)
	return ""
}

// step runs browser steps; on failure it shows where the browser is and what it shows.
func step(t *testing.T, b *browsertest.Browser, name string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.Screenshot("failed-" + name)
		loc := browsertest.Get(b, 10*time.Second, chromedp.Location())
		body := browsertest.Get(b, 10*time.Second, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		t.Fatalf("%s: %v; the browser is at %s showing:\n%s", name, err, loc, body)
	}
}

// TestBrowserOnceOnlyChain runs the chain the README promises, in two browsers: a company logs
// in to a demo bank portal by scanning its QR code with the holder's phone wallet, chooses a
// service, finds the business licence already there (it consents on the spot), uploads only
// the documents the platform cannot hold, and submits; the once-only counter moves.
func TestBrowserOnceOnlyChain(t *testing.T) {
	d := startDemo(t)
	bank := d.portals["演示银行 · 企业开户"]
	if bank == "" {
		t.Fatalf("no bank portal printed: %v\n%s", d.portals, d.out.String())
	}

	// The phone signs in to the wallet with the holder's number and the one-time code.
	phone := browsertest.New(t, 360, 640)
	step(t, phone, "wallet-signin",
		chromedp.Navigate(d.base+"/wallet/"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/wallet/login"] input[name=phone]`)),
		chromedp.SendKeys(chromedp.CSS(`form[action="/wallet/login"] input[name=phone]`), d.phone),
		chromedp.Click(chromedp.CSS(`form[action="/wallet/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/wallet/code"] input[name=code]`)),
	)
	step(t, phone, "wallet-code",
		chromedp.SendKeys(chromedp.CSS(`form[action="/wallet/code"] input[name=code]`), d.lastCode(t)),
		chromedp.Click(chromedp.CSS(`form[action="/wallet/code"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href^="/wallet/licences/`+d.entity+`"]`)),
	)
	phone.Screenshot("chain-01-phone-wallet")

	// The desktop opens the bank's portal and logs in with the e-licence: the platform's login
	// page shows a QR code.
	desktop := browsertest.New(t, 1280, 900)
	step(t, desktop, "portal-login",
		chromedp.Navigate(bank+"/"),
		chromedp.WaitVisible(chromedp.CSS("#portal-login")),
		chromedp.Click(chromedp.CSS("#portal-login")),
		chromedp.WaitVisible(chromedp.CSS("#qr-image")),
	)
	desktop.Screenshot("chain-02-desktop-qr")
	qrURL := browsertest.Get(desktop, 10*time.Second, chromedp.Evaluate[string](`document.getElementById("qr-link").href`))
	if !strings.HasPrefix(qrURL, d.base+"/wallet/scan/") {
		t.Fatalf("the QR code carries %q", qrURL)
	}

	// The phone "scans" it, sees the bank asking, and confirms with the licence PIN.
	step(t, phone, "scan",
		chromedp.Navigate(qrURL),
		chromedp.WaitVisible(chromedp.CSS("#scan-pin")),
	)
	if got := strings.TrimSpace(browsertest.Get(phone, 10*time.Second, chromedp.Text(chromedp.CSS("#portal-name")))); got != "演示银行 · 企业开户" {
		t.Errorf("the phone shows the portal %q", got)
	}
	phone.Screenshot("chain-03-phone-scan")
	step(t, phone, "scan-confirm",
		chromedp.SendKeys(chromedp.CSS("#scan-pin"), d.pin),
		chromedp.Click(chromedp.CSS("#scan-confirm")),
		chromedp.WaitVisible(chromedp.CSS(`#scan-result[data-status="confirmed"]`)),
	)

	// The desktop ends logged in at the portal, as the entity.
	step(t, desktop, "logged-in", chromedp.WaitVisible(chromedp.CSS("#entity-code")))
	if got := browsertest.Get(desktop, 10*time.Second, chromedp.Text(chromedp.CSS("#entity-code"))); got != d.entity {
		t.Fatalf("the portal shows entity %q, want %s", got, d.entity)
	}
	desktop.Screenshot("chain-04-desktop-portal")

	// Choose the service: opening a basic deposit account.
	step(t, desktop, "apply",
		chromedp.Navigate(bank+"/services/bank.basic-account"),
		chromedp.WaitVisible(chromedp.CSS("#apply")),
		chromedp.Click(chromedp.CSS("#apply")),
		chromedp.WaitVisible(chromedp.CSS(`#app-status[data-status="draft"]`)),
	)
	desktop.Screenshot("chain-05-desktop-materials")
	// The business licence is there already (the entity consents to fetching it); the two
	// documents the platform cannot hold must be uploaded.
	status := func(code string) string {
		return browsertest.Get(desktop, 10*time.Second, chromedp.Evaluate[string](
			`(document.querySelector('tr.material[data-code="`+code+`"]')||{dataset:{}}).dataset.status||""`))
	}
	for code, want := range map[string]string{"business_licence": "consent_needed", "legal_rep_id": "upload", "account_application": "upload"} {
		if got := status(code); got != want {
			t.Errorf("material %s: %q, want %q", code, got, want)
		}
	}
	dir := t.TempDir()
	files := map[string]string{}
	for _, m := range []string{"legal_rep_id", "account_application"} {
		files[m] = filepath.Join(dir, m+".pdf")
		if err := os.WriteFile(files[m], []byte("%PDF-1.4 "+m), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	step(t, desktop, "submit",
		chromedp.SetUploadFiles(chromedp.CSS(`input[name="file-legal_rep_id"]`), []string{files["legal_rep_id"]}),
		chromedp.SetUploadFiles(chromedp.CSS(`input[name="file-account_application"]`), []string{files["account_application"]}),
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS(`#app-status[data-status="submitted"]`)),
	)
	desktop.Screenshot("chain-06-desktop-submitted")
	if got := status("business_licence"); got != "fetched" {
		t.Errorf("business licence after submitting: %q, want fetched", got)
	}
	if got := browsertest.Get(desktop, 10*time.Second, chromedp.Text(chromedp.CSS("#not-asked"))); got != "1" {
		t.Errorf("materials not asked for: %q, want 1", got)
	}
	caseNo := strings.TrimSpace(browsertest.Get(desktop, 10*time.Second, chromedp.Text(chromedp.CSS("#case-number"))))
	if caseNo == "" {
		t.Fatal("no case number shown")
	}
	checkChainRecorded(t, d, caseNo)
}
