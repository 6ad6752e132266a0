package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/elicense/elicense/internal/browsertest"
	"github.com/elicense/elicense/internal/inbox"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/sharing"
)

// TestBrowserConsentInbox: a department's consent request (用证授权) waits in the holder's
// wallet inbox (phone-sized Chromium), its link opens the entity's authorisations at that
// request, the holder approves it with the licence PIN, and the inbox is empty again.
func TestBrowserConsentInbox(t *testing.T) {
	b := browsertest.New(t, 360, 640)
	f, origin := walletServer(t)
	ctx := context.Background()
	share := sharing.NewService(sharing.Config{Store: f.env.DB, Clients: f.env.DB, Tokens: f.oidc, Licences: f.lic,
		Documents: f.env.Documents, Audit: f.env.Audit, Clock: f.env.Clock.Now})
	signer, cert, err := f.env.Keys.PlatformSigner(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := share.EnableConsent(sharing.ConsentConfig{Store: f.env.DB, People: f.ids, Copier: originalCopier{f.env.Documents},
		Events: f.env.Audit, Signer: signer, CertDER: cert}); err != nil {
		t.Fatal(err)
	}
	f.srv.Sharing, f.srv.Inbox = share, inbox.New(f.env.Clock.Now, share, inbox.LoginSource{Store: f.env.DB})
	dept, _, err := f.oidc.RegisterClient(ctx, oidc.ClientSpec{Name: "西湖区税务登记系统", Department: "国家税务总局杭州市西湖区税务局",
		GrantTypes: []string{oidc.GrantClientCredentials}, Scopes: []string{oidc.ScopeSharingQuery}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := share.Grant(ctx, "test", sharing.Permission{ClientID: dept.ID, Operations: []sharing.Operation{sharing.OpQuery}}); err != nil {
		t.Fatal(err)
	}
	phoneAuthenticator(t, b.Ctx)
	phoneHolder(t, b, f, origin, false)

	caller := &sharing.Caller{ClientID: dept.ID, Scopes: []string{oidc.ScopeSharingQuery}}
	req, err := share.RequestConsent(ctx, caller, sharing.Purpose{Cause: "办理税务登记，核对注册资本", Item: "330106-TAX-001", Case: "TAX-2026-0001"},
		f.code, sharing.Want{NonPublic: []string{"capital"}})
	if err != nil {
		t.Fatal(err)
	}
	item := `li.inbox-item[data-kind="consent"][data-id="` + req.ID + `"]`
	b.Do(30*time.Second,
		chromedp.Navigate(origin+"/wallet/inbox"),
		chromedp.WaitVisible(chromedp.CSS(item)),
	)
	s := strings.TrimSpace(browsertest.Get(b, 10*time.Second, chromedp.Text(chromedp.CSS(item))))
	for _, want := range []string{"西湖区税务登记系统", "国家税务总局杭州市西湖区税务局", "办理税务登记，核对注册资本", f.name} {
		if !strings.Contains(s, want) {
			t.Errorf("the inbox item lacks %q: %q", want, s)
		}
	}
	fits(t, b, "consent inbox")
	b.Screenshot("consent-01-inbox")
	li := "#consent-" + req.ID
	b.Do(30*time.Second,
		chromedp.Click(chromedp.CSS(item+" a.button")),
		chromedp.WaitVisible(chromedp.CSS(li+` form[action$="/approve"] input[name="pin"]`)),
	)
	b.Screenshot("consent-02-request")
	b.Do(30*time.Second,
		chromedp.SendKeys(chromedp.CSS(li+` form[action$="/approve"] input[name="pin"]`), f.holderPIN),
		chromedp.Click(chromedp.CSS(li+` form[action$="/approve"] button[type="submit"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(li)),
	)
	got, err := share.ConsentRequest(ctx, caller, req.ID)
	if err != nil || sharing.ConsentState(got, f.env.Clock.Now()) != "approved" {
		t.Fatalf("after approval: %+v %v", got, err)
	}
	b.Do(30*time.Second,
		chromedp.Navigate(origin+"/wallet/inbox"),
		chromedp.WaitVisible(chromedp.CSS("#inbox-empty")),
	)
}
