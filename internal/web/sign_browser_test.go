package web

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/browsertest"
	"github.com/elicense/elicense/internal/document/doctest"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/inbox"
	"github.com/elicense/elicense/internal/signing"
)

// TestBrowserSigning runs the holder's side of signing on behalf of the entity (issue 7 items
// 2–3) in a phone-sized Chromium (360×640) with a virtual WebAuthn authenticator: the badge on
// the wallet's home, the inbox, the preview of a PDF request (the document fetched from its
// same-origin URL), confirmation with the licence PIN after a wrong one; then an OFD request
// previewed as text and confirmed with the passkey. Screenshots go to $ELICENSE_ARTIFACTS.
func TestBrowserSigning(t *testing.T) {
	b := browsertest.New(t, 360, 640)
	f, origin := walletServer(t)
	svc := signing.NewService(signing.Config{Store: f.env.DB, Identity: f.ids, Documents: f.env.Documents,
		Licences: f.lic, Clock: f.env.Clock.Now})
	f.srv.Signing, f.srv.Inbox = svc, inbox.New(f.env.Clock.Now, svc, inbox.LoginSource{Store: f.env.DB})
	phoneAuthenticator(t, b.Ctx)
	text := func(sel string) string {
		t.Helper()
		return strings.TrimSpace(browsertest.Get(b, 10*time.Second, chromedp.Text(chromedp.CSS(sel))))
	}
	phoneHolder(t, b, f, origin, false)

	// A portal asks the entity to sign a contract (PDF) and a letter (OFD).
	ctx := context.Background()
	portal := &signing.Caller{ClientID: f.portal.ID, Name: f.portal.Name, Department: f.portal.Department}
	pdf, err := doctest.PDF("技术服务合同", []string{"甲方：" + f.name, "乙方：浙江政务服务网"}, []string{"签署页"})
	if err != nil {
		t.Fatal(err)
	}
	ofd, err := doctest.OFD("授权委托书", []string{"兹委托李四办理开户手续。"})
	if err != nil {
		t.Fatal(err)
	}
	rp, err := svc.Submit(ctx, portal, signing.NewRequest{EntityCode: f.code, Title: "技术服务合同", Purpose: "确认签订技术服务合同",
		Document: base64.StdEncoding.EncodeToString(pdf)})
	if err != nil {
		t.Fatal(err)
	}
	ro, err := svc.Submit(ctx, portal, signing.NewRequest{EntityCode: f.code, Title: "授权委托书", Purpose: "委托办理银行开户",
		Document: base64.StdEncoding.EncodeToString(ofd)})
	if err != nil {
		t.Fatal(err)
	}

	b.Do(30*time.Second,
		chromedp.Navigate(origin+"/wallet/"),
		chromedp.WaitVisible(chromedp.CSS("#inbox-count")),
	)
	if s := text("#inbox-count"); s != "2" {
		t.Errorf("the badge says %q, want 2", s)
	}
	fits(t, b, "home with badge")
	b.Screenshot("sign-01-home-badge")
	b.Do(30*time.Second,
		chromedp.Click(chromedp.CSS("#inbox-link")),
		chromedp.WaitVisible(chromedp.CSS(`li.inbox-item[data-id="`+rp.ID+`"]`)),
	)
	if s := text(`li.inbox-item[data-id="` + rp.ID + `"]`); !strings.Contains(s, f.portal.Name) || !strings.Contains(s, "技术服务合同") || !strings.Contains(s, f.name) {
		t.Errorf("the inbox item says %q", s)
	}
	fits(t, b, "inbox")
	b.Screenshot("sign-02-inbox")

	// The PDF request: preview, the document from its same-origin URL, a wrong PIN, the PIN.
	b.Do(30*time.Second,
		chromedp.Click(chromedp.CSS(`li.inbox-item[data-id="`+rp.ID+`"] a.button`)),
		chromedp.WaitVisible(chromedp.CSS("#sign-confirm")),
	)
	if s := text("#sign-title"); s != "技术服务合同" {
		t.Errorf("title %q", s)
	}
	if s := text("#sign-pages"); s != "2" {
		t.Errorf("pages %q", s)
	}
	if s := text("#sign-portal"); s != f.portal.Name {
		t.Errorf("portal %q", s)
	}
	head := browsertest.Get(b, 10*time.Second, chromedp.Evaluate[string](`fetch(document.getElementById('sign-open').href, {credentials: 'same-origin'})
		.then(r => r.headers.get('content-type') + ' ' + r.status + ' ')`, chromedp.EvalAwaitPromise))
	if !strings.HasPrefix(head, "application/pdf 200") {
		t.Errorf("the document link answers %q", head)
	}
	fits(t, b, "sign request")
	b.Screenshot("sign-03-request-pdf")
	b.Do(30*time.Second,
		chromedp.SendKeys(chromedp.CSS("#sign-pin"), "123457"),
		chromedp.Click(chromedp.CSS("#sign-confirm")),
		chromedp.WaitVisible(chromedp.CSS("#sign-pin-error")),
	)
	b.Screenshot("sign-04-wrong-pin")
	b.Do(30*time.Second,
		chromedp.SendKeys(chromedp.CSS("#sign-pin"), f.holderPIN),
		chromedp.Click(chromedp.CSS("#sign-confirm")),
		chromedp.WaitVisible(chromedp.CSS(`#sign-result[data-status="signed"]`)),
	)
	fits(t, b, "signed")
	b.Screenshot("sign-05-signed")
	if got, err := svc.Get(ctx, portal, rp.ID); err != nil || got.Status != signing.Signed || got.ACR != identity.ACRLicencePIN {
		t.Fatalf("after the PIN: %+v %v", got, err)
	}

	// The OFD request: its text on the page, confirmed with the passkey.
	b.Do(30*time.Second,
		chromedp.Navigate(origin+"/wallet/inbox"),
		chromedp.WaitVisible(chromedp.CSS(`li.inbox-item[data-id="`+ro.ID+`"]`)),
		chromedp.Click(chromedp.CSS(`li.inbox-item[data-id="`+ro.ID+`"] a.button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/confirm"] button[data-passkey]`)),
	)
	if s := text(`pre.ofd-text[data-page="1"]`); !strings.Contains(s, "兹委托李四办理开户手续。") {
		t.Errorf("the OFD text shows %q", s)
	}
	b.Screenshot("sign-06-request-ofd")
	b.Do(30*time.Second,
		chromedp.Click(chromedp.CSS(`form[action$="/confirm"] button[data-passkey]`)),
		chromedp.WaitVisible(chromedp.CSS(`#sign-result[data-status="signed"]`)),
	)
	got, err := svc.Get(ctx, portal, ro.ID)
	if err != nil || got.Status != signing.Signed || got.ACR != identity.ACRPasskey {
		t.Fatalf("after the passkey: %+v %v", got, err)
	}
	signed, err := svc.SignedDocument(ctx, portal, ro.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := f.env.Documents.Verify(ctx, signed.SignedDoc); err != nil || !rep.Valid || rep.Code != f.code {
		t.Errorf("the signed OFD: %+v %v", rep, err)
	}
	evs, err := f.env.Audit.Find(ctx, audit.Filter{Subject: f.code, ActionPrefix: "sign."})
	if err != nil || len(evs) != 4 { // two requests, two confirmations
		t.Errorf("audit: %d events %v", len(evs), err)
	}
	b.Do(30*time.Second,
		chromedp.Navigate(origin+"/wallet/inbox"),
		chromedp.WaitVisible(chromedp.CSS("#inbox-empty")),
	)
	b.Screenshot("sign-07-inbox-empty")
}
