package sharing_test

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/oidc/oidctest"
)

// TestConsentInbox: a department's consent request appears in the wallet inbox of the holder
// and of an administrator, with who asks and why, linking to the approval page; not in the
// inbox of an agent or of another entity's holder; once approved (or declined) it is gone.
func TestConsentInbox(t *testing.T) {
	cp := newConsentPlatform(t)
	code := cp.holder.Code
	inboxOf := func(h *oidctest.Holder) string {
		t.Helper()
		req, _ := http.NewRequestWithContext(cp.ctx, "GET", cp.url+"/wallet/inbox", nil)
		req.Header.Set("Accept-Language", "en")
		req.AddCookie(&http.Cookie{Name: "elicense_wallet", Value: h.Wallet})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("inbox: %d %.500s", resp.StatusCode, b.Bytes())
		}
		return b.String()
	}
	item := func(id string) *regexp.Regexp {
		return regexp.MustCompile(`(?s)<li class="card inbox-item" data-kind="consent" data-id="` + id + `">.*?</li>`)
	}

	// An administrator and an agent of the entity, and the holder of another entity.
	admin, err := cp.env.Person(cp.ctx, "赵敏", oidctest.IDNumber("33010619900101003"), "13900000601")
	if err != nil {
		t.Fatal(err)
	}
	proof := identity.Proof{Method: identity.MethodPIN, PIN: cp.holder.PIN}
	if _, err := cp.env.Identity.Appoint(cp.ctx, cp.holder.PersonID, code, "赵敏", oidctest.IDNumber("33010619900101003"), proof); err != nil {
		t.Fatal(err)
	}
	agent, err := cp.env.Person(cp.ctx, "钱进", oidctest.IDNumber("33010619920202004"), "13900000602")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cp.env.Identity.GrantAgent(cp.ctx, cp.holder.PersonID, code, identity.AgentGrant{Name: "钱进",
		IDNumber: oidctest.IDNumber("33010619920202004"), AllItems: true, Until: cp.env.Clock.Now().Add(30 * 24 * time.Hour)}, proof); err != nil {
		t.Fatal(err)
	}
	stranger, err := cp.env.Entity(cp.ctx, 502, "周杰", oidctest.IDNumber("33010619880808005"), "13900000502", "147258")
	if err != nil {
		t.Fatal(err)
	}
	adminH := &oidctest.Holder{Wallet: admin.Cookie}
	agentH := &oidctest.Holder{Wallet: agent.Cookie}

	if s := inboxOf(cp.holder); !bytes.Contains([]byte(s), []byte(`id="inbox-empty"`)) {
		t.Fatalf("inbox not empty before any request: %.1500s", s)
	}
	var req struct{ ID string }
	cp.post("/api/v1/sharing/consents/requests", cp.dept, `{`+purposeFor("K9")+`,"entity_code":"`+code+`","non_public":["capital"]}`).
		expect(t, 200).decode(t, &req)

	for name, h := range map[string]*oidctest.Holder{"holder": cp.holder, "administrator": adminH} {
		m := item(req.ID).FindString(inboxOf(h))
		if m == "" {
			t.Errorf("%s: the request is not in the inbox", name)
			continue
		}
		for _, want := range []string{"市场监管办件系统", "办理食品经营许可，核验申请人营业执照", cp.licence.Face.Name,
			`href="/wallet/licences/` + code + `/consents#consent-` + req.ID + `"`, "Consent to use the licence"} {
			if !bytes.Contains([]byte(m), []byte(want)) {
				t.Errorf("%s: the inbox item lacks %q: %s", name, want, m)
			}
		}
	}
	for name, h := range map[string]*oidctest.Holder{"agent": agentH, "another holder": stranger} {
		if item(req.ID).MatchString(inboxOf(h)) {
			t.Errorf("%s sees the request", name)
		}
	}
	// The link leads to the approval form of this request.
	page := cp.wallet("GET", "/wallet/licences/"+code+"/consents", nil, "").expect(t, 200)
	if !bytes.Contains(page.body, []byte(`id="consent-`+req.ID+`"`)) ||
		!bytes.Contains(page.body, []byte(`/consents/`+req.ID+`/approve`)) {
		t.Errorf("the consents page has no anchor or form for the request")
	}

	// Approved: gone from every inbox.
	cp.wallet("POST", "/wallet/licences/"+code+"/consents/"+req.ID+"/approve", url.Values{"method": {"pin"}, "pin": {cp.holder.PIN}}, "").expect(t, 303)
	for name, h := range map[string]*oidctest.Holder{"holder": cp.holder, "administrator": adminH} {
		if item(req.ID).MatchString(inboxOf(h)) {
			t.Errorf("%s: the approved request is still in the inbox", name)
		}
	}

	// Declined, and expired: gone too.
	var req2, req3 struct{ ID string }
	cp.post("/api/v1/sharing/consents/requests", cp.dept, `{`+purposeFor("K10")+`,"entity_code":"`+code+`","download":true}`).expect(t, 200).decode(t, &req2)
	if !item(req2.ID).MatchString(inboxOf(cp.holder)) {
		t.Fatal("the second request is not in the inbox")
	}
	cp.wallet("POST", "/wallet/licences/"+code+"/consents/"+req2.ID+"/decline", url.Values{}, "").expect(t, 303)
	if item(req2.ID).MatchString(inboxOf(cp.holder)) {
		t.Error("the declined request is still in the inbox")
	}
	cp.post("/api/v1/sharing/consents/requests", cp.dept, `{`+purposeFor("K11")+`,"entity_code":"`+code+`","download":true}`).expect(t, 200).decode(t, &req3)
	cp.env.Clock.Advance(7*24*time.Hour + time.Second)
	defer cp.env.Clock.Advance(-(7*24*time.Hour + time.Second))
	if item(req3.ID).MatchString(inboxOf(cp.holder)) {
		t.Error("the expired request is still in the inbox")
	}
}
