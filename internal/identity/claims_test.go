package identity_test

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/license"
)

// login runs a whole scan-to-login with a PIN and returns the identity.
func (w *world) login(in *identity.SignIn, pin string) *identity.Identity {
	w.t.Helper()
	q := w.newQR()
	if _, err := w.svc.Scan(w.ctx, q.ID, in.Person.ID); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.svc.Confirm(w.ctx, q.ID, in.Person.ID, w.lic.Code, pinProof(pin)); err != nil {
		w.t.Fatal(err)
	}
	id, err := w.svc.Consume(w.ctx, q.ID, browser)
	if err != nil {
		w.t.Fatal(err)
	}
	return id
}

func TestSubject(t *testing.T) {
	w := newWorld(t)
	pid := w.holder.Person.ID
	a, _ := w.svc.Subject(identity.Client{ID: "a", SectorID: "gov.example"}, pid)
	b, _ := w.svc.Subject(identity.Client{ID: "b", SectorID: "gov.example"}, pid)
	c, _ := w.svc.Subject(identity.Client{ID: "c"}, pid)
	d, _ := w.svc.Subject(identity.Client{ID: "c"}, w.person("李四").Person.ID)
	if a != b || a == c || c == d {
		t.Errorf("subjects %s %s %s %s", a, b, c, d)
	}
	if !regexp.MustCompile(`^[a-z2-7]{52}$`).MatchString(a) || strings.Contains(a, pid) {
		t.Errorf("subject %q", a)
	}
	if _, err := identity.NewService(identity.Config{}).Subject(portal, pid); err == nil {
		t.Error("a subject without a key")
	}
}

func TestClaimsByScope(t *testing.T) {
	w := newWorld(t)
	id := w.login(w.holder, holderPIN)

	c, err := w.svc.Claims(w.ctx, id, portal, []string{identity.ScopeOpenID})
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := w.svc.Subject(portal, w.holder.Person.ID)
	if c.Subject != sub || c.ACR != identity.ACRLicencePIN || !slices.Equal(c.AMR, []string{"pin"}) || len(c.Custom()) != 0 {
		t.Errorf("openid claims %+v", c)
	}

	c, err = w.svc.Claims(w.ctx, id, portal, identity.Scopes)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Custom()
	want := map[string]any{"entity_code": w.lic.Code, "entity_code_type": "001", "entity_name": "杭州示例科技有限公司",
		"entity_kind": "company", "entity_status": "active", "licence_id": w.lic.Identifier, "person_name": "张*", "role": "holder"}
	if len(got) != len(want) {
		t.Errorf("claims %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("claim %s = %v, want %v", k, got[k], v)
		}
	}
	b, _ := json.Marshal(c)
	if strings.Contains(string(b), "grant") || strings.Contains(string(b), "张三") {
		t.Errorf("holder's claims %s", b)
	}

	// After a change registration the claims show the current version.
	w.changeLicence(w.lic.Code, func(l *license.Licence) {
		l.Face.Name, l.Identifier = "杭州示例数字科技有限公司", strings.TrimSuffix(l.Identifier, "001")+"002"
	})
	c, _ = w.svc.Claims(w.ctx, id, portal, []string{identity.ScopeOpenID, identity.ScopeEntity})
	if c.EntityName != "杭州示例数字科技有限公司" || !strings.HasSuffix(c.LicenceID, "002") || c.Role != "" || c.PersonName != "" {
		t.Errorf("claims after change %+v", c)
	}
	// After cancellation no claims at all: the portal's refresh or userinfo call fails.
	w.changeLicence(w.lic.Code, func(l *license.Licence) { l.Status = license.Cancelled })
	_, err = w.svc.Claims(w.ctx, id, portal, []string{identity.ScopeOpenID})
	wantKind(t, err, errs.Forbidden)
}

func TestAgentClaims(t *testing.T) {
	w := newWorld(t)
	agent := w.person("赵六")
	until := w.clock.Now().Add(30 * 24 * time.Hour)
	g := w.grantAgent(agent, identity.AgentGrant{Items: []string{"tax-01", "ss-02"}, Until: until})
	w.setPersonalPIN(agent, "583920")
	id := w.login(agent, "583920")
	if id.Role != identity.RoleAgent || id.GrantID != g.ID || id.ACR != identity.ACRPersonalPIN {
		t.Fatalf("identity %+v", id)
	}
	c, err := w.svc.Claims(w.ctx, id, portal, identity.Scopes)
	if err != nil {
		t.Fatal(err)
	}
	if c.Role != identity.RoleAgent || c.PersonName != "赵*" || c.GrantAll == nil || *c.GrantAll ||
		!slices.Equal(c.GrantItems, []string{"tax-01", "ss-02"}) || c.GrantUntil != until.Format(time.RFC3339) {
		t.Errorf("agent claims %+v", c)
	}
	if m := c.Custom(); m["grant_all"] != false || m["grant_until"] != until.Format(time.RFC3339) {
		t.Errorf("custom %v", m)
	}
	// Without entity.grants, no grant claims.
	c, _ = w.svc.Claims(w.ctx, id, portal, []string{identity.ScopeOpenID, identity.ScopeEntityPerson})
	if c.GrantAll != nil || c.GrantItems != nil || c.Role != identity.RoleAgent {
		t.Errorf("claims %+v", c)
	}
	// Revoked: no more tokens; re-granted: the old login does not carry over.
	if err := w.svc.Revoke(w.ctx, w.holder.Person.ID, w.lic.Code, g.ID, pinProof(holderPIN)); err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.Claims(w.ctx, id, portal, identity.Scopes)
	wantKind(t, err, errs.Forbidden)
	w.grantAgent(agent, identity.AgentGrant{AllItems: true, Until: until})
	_, err = w.svc.Claims(w.ctx, id, portal, identity.Scopes)
	wantKind(t, err, errs.Forbidden)
	// The grant ends: claims stop at its end.
	id = w.login(agent, "583920")
	w.clock.Advance(31 * 24 * time.Hour)
	_, err = w.svc.Claims(w.ctx, id, portal, identity.Scopes)
	wantKind(t, err, errs.Forbidden)
}
