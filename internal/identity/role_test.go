package identity_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/license"
)

func TestAppointAdministrators(t *testing.T) {
	w := newWorld(t)
	hid, code := w.holder.Person.ID, w.lic.Code
	var admins []*identity.SignIn
	for i := 0; i < identity.MaxAdministrators+1; i++ {
		admins = append(admins, w.person(fmt.Sprintf("管理员%c", '甲'+rune(i))))
	}
	// Refusals before anything is stored.
	_, err := w.svc.Appoint(w.ctx, hid, code, "管理员甲", w.ids[admins[0].Person.ID], pinProof("111222"))
	wantKind(t, err, errs.Unauthenticated)
	_, err = w.svc.Appoint(w.ctx, hid, code, "管理员乙", w.ids[admins[0].Person.ID], pinProof(holderPIN))
	if x := wantKind(t, err, errs.Invalid); x.Field != "name" {
		t.Errorf("field %q", x.Field)
	}
	_, err = w.svc.Appoint(w.ctx, hid, code, "赵六", idNumber("44030419791111007"), pinProof(holderPIN))
	wantKind(t, err, errs.NotFound) // not registered
	_, err = w.svc.Appoint(w.ctx, hid, code, "张三", idNumber(zhangID), pinProof(holderPIN))
	wantKind(t, err, errs.Invalid) // the holder
	_, err = w.svc.Appoint(w.ctx, admins[0].Person.ID, code, "管理员乙", w.ids[admins[1].Person.ID], pinProof(holderPIN))
	wantKind(t, err, errs.Forbidden) // not the holder

	for i, a := range admins[:identity.MaxAdministrators] {
		g, err := w.svc.Appoint(w.ctx, hid, code, a.Person.Name, w.ids[a.Person.ID], pinProof(holderPIN))
		if err != nil {
			t.Fatalf("administrator %d: %v", i+1, err)
		}
		if g.Role != identity.RoleAdministrator || !g.AllItems || g.GrantedBy != hid || !g.ValidUntil.IsZero() {
			t.Errorf("grant %+v", g)
		}
	}
	last := admins[identity.MaxAdministrators]
	_, err = w.svc.Appoint(w.ctx, hid, code, last.Person.Name, w.ids[last.Person.ID], pinProof(holderPIN))
	if x := wantKind(t, err, errs.Conflict); !strings.Contains(x.ZH, "最多任命5名") {
		t.Errorf("message %q", x.ZH)
	}
	_, err = w.svc.Appoint(w.ctx, hid, code, admins[0].Person.Name, w.ids[admins[0].Person.ID], pinProof(holderPIN))
	wantKind(t, err, errs.Conflict) // already an administrator
	if n := len(w.st.eventsWith("identity.appoint")); n != identity.MaxAdministrators {
		t.Errorf("%d appointments audited", n)
	}

	// Removing one makes room, ends that person's sessions for the entity, and is audited.
	gs, _ := w.st.GrantsOf(w.ctx, admins[0].Person.ID)
	if err := w.svc.Revoke(w.ctx, hid, code, gs[0].ID, pinProof(holderPIN)); err != nil {
		t.Fatal(err)
	}
	if forEntity, _ := w.revoker.calls(); len(forEntity) != 1 || forEntity[0] != admins[0].Person.ID+" "+code {
		t.Errorf("revocations %v", forEntity)
	}
	_, err = w.svc.CanAct(w.ctx, admins[0].Person.ID, code, "", w.clock.Now())
	wantKind(t, err, errs.Forbidden)
	if _, err := w.svc.Appoint(w.ctx, hid, code, last.Person.Name, w.ids[last.Person.ID], pinProof(holderPIN)); err != nil {
		t.Fatalf("after a removal: %v", err)
	}
	if len(w.st.eventsWith("identity.dismiss")) != 1 {
		t.Error("removal not audited")
	}
	// An administrator cannot remove another administrator.
	gs, _ = w.st.GrantsOf(w.ctx, admins[2].Person.ID)
	w.setPersonalPIN(admins[1], "583920")
	err = w.svc.Revoke(w.ctx, admins[1].Person.ID, code, gs[0].ID, pinProof("583920"))
	wantKind(t, err, errs.Forbidden)
}

// setPersonalPIN sets a person's first personal PIN.
func (w *world) setPersonalPIN(in *identity.SignIn, pin string) {
	w.t.Helper()
	if err := w.svc.SetPersonalPIN(w.ctx, in.Session, "", pin); err != nil {
		w.t.Fatalf("set personal PIN: %v", err)
	}
}

// grantAgent has the holder grant an agent.
func (w *world) grantAgent(agent *identity.SignIn, req identity.AgentGrant) *identity.Grant {
	w.t.Helper()
	req.Name, req.IDNumber = agent.Person.Name, w.ids[agent.Person.ID]
	g, err := w.svc.GrantAgent(w.ctx, w.holder.Person.ID, w.lic.Code, req, pinProof(holderPIN))
	if err != nil {
		w.t.Fatalf("grant: %v", err)
	}
	return g
}

func TestAgentGrants(t *testing.T) {
	w := newWorld(t)
	code, now := w.lic.Code, w.clock.Now()
	admin := w.person("王五")
	if _, err := w.svc.Appoint(w.ctx, w.holder.Person.ID, code, "王五", w.ids[admin.Person.ID], pinProof(holderPIN)); err != nil {
		t.Fatal(err)
	}
	w.setPersonalPIN(admin, "583920")
	agent := w.person("赵六")
	other := w.person("孙七")

	// Validation.
	bad := []identity.AgentGrant{
		{Name: "赵六", IDNumber: w.ids[agent.Person.ID], Until: now.Add(24 * time.Hour)},                                  // no items
		{Name: "赵六", IDNumber: w.ids[agent.Person.ID], AllItems: true, Items: []string{"A"}, Until: now.Add(time.Hour)}, // both
		{Name: "赵六", IDNumber: w.ids[agent.Person.ID], AllItems: true},                                                  // no end
		{Name: "赵六", IDNumber: w.ids[agent.Person.ID], AllItems: true, From: now.Add(time.Hour), Until: now.Add(time.Minute)},
		{Name: "赵六", IDNumber: w.ids[agent.Person.ID], AllItems: true, Until: now.Add(4 * 366 * 24 * time.Hour)},
		{Name: "赵六", IDNumber: w.ids[agent.Person.ID], Items: []string{"tax filing"}, Until: now.Add(time.Hour)},
	}
	for i, req := range bad {
		_, err := w.svc.GrantAgent(w.ctx, w.holder.Person.ID, code, req, pinProof(holderPIN))
		if err == nil {
			t.Errorf("bad grant %d accepted", i)
			continue
		}
		if errs.KindOf(err) != errs.Invalid {
			t.Errorf("bad grant %d: %v", i, err)
		}
	}

	// An administrator grants chosen items for a period starting tomorrow.
	from, until := now.Add(24*time.Hour), now.Add(31*24*time.Hour)
	g, err := w.svc.GrantAgent(w.ctx, admin.Person.ID, code, identity.AgentGrant{Name: "赵六", IDNumber: w.ids[agent.Person.ID],
		Items: []string{"330100-tax-01", " 330100-tax-01", "330100-ss-02"}, From: from, Until: until}, pinProof("583920"))
	if err != nil {
		t.Fatal(err)
	}
	if g.Role != identity.RoleAgent || g.AllItems || strings.Join(g.Items, ",") != "330100-tax-01,330100-ss-02" || g.GrantedBy != admin.Person.ID {
		t.Errorf("grant %+v", g)
	}
	if evs := w.st.eventsWith("identity.grant"); len(evs) != 1 || evs[0].Actor != "person:"+admin.Person.ID {
		t.Errorf("grant events %+v", evs)
	}

	cases := []struct {
		name string
		item string
		at   time.Time
		ok   bool
		msg  string
	}{
		{"before the period", "", now, false, "起生效"},
		{"granted item", "330100-tax-01", from, true, ""},
		{"acting in general", "", from.Add(time.Hour), true, ""},
		{"item not granted", "330100-env-09", from, false, "未获授权办理事项"},
		{"last moment", "330100-ss-02", until.Add(-time.Second), true, ""},
		{"period ended", "330100-ss-02", until, false, "到期"},
	}
	for _, c := range cases {
		r, err := w.svc.CanAct(w.ctx, agent.Person.ID, code, c.item, c.at)
		if c.ok {
			if err != nil || r.Kind != identity.RoleAgent || r.Grant.ID != g.ID {
				t.Errorf("%s: %v, %v", c.name, r, err)
			}
			continue
		}
		if x := wantKind(t, err, errs.Forbidden); !strings.Contains(x.ZH, c.msg) {
			t.Errorf("%s: message %q", c.name, x.ZH)
		}
	}
	_, err = w.svc.CanAct(w.ctx, other.Person.ID, code, "", from)
	wantKind(t, err, errs.Forbidden)

	// Agents cannot grant; a second grant to the same person is refused.
	w.setPersonalPIN(agent, "583920")
	_, err = w.svc.GrantAgent(w.ctx, agent.Person.ID, code, identity.AgentGrant{Name: "孙七", IDNumber: w.ids[other.Person.ID],
		AllItems: true, Until: until}, pinProof("583920"))
	wantKind(t, err, errs.Forbidden)
	_, err = w.svc.GrantAgent(w.ctx, w.holder.Person.ID, code, identity.AgentGrant{Name: "赵六", IDNumber: w.ids[agent.Person.ID],
		AllItems: true, Until: until}, pinProof(holderPIN))
	wantKind(t, err, errs.Conflict)

	// All business, for the holder's grant to 孙七.
	all := w.grantAgent(other, identity.AgentGrant{AllItems: true, Until: now.Add(time.Hour)})
	if r, err := w.svc.CanAct(w.ctx, other.Person.ID, code, "anything", now); err != nil || r.Grant.ID != all.ID {
		t.Errorf("all business: %v, %v", r, err)
	}
	// After the grant ended, a new one may be given.
	w.clock.Advance(time.Hour)
	w.grantAgent(other, identity.AgentGrant{Items: []string{"A"}, Until: w.clock.Now().Add(time.Hour)})

	// The administrator revokes 赵六's grant: sessions end at once, the grant stops working.
	if err := w.svc.Revoke(w.ctx, admin.Person.ID, code, g.ID, pinProof("583920")); err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.CanAct(w.ctx, agent.Person.ID, code, "330100-tax-01", from)
	wantKind(t, err, errs.Forbidden)
	forEntity, _ := w.revoker.calls()
	if len(forEntity) != 1 || forEntity[0] != agent.Person.ID+" "+code {
		t.Errorf("revocations %v", forEntity)
	}
	// Revoking again re-runs the session revocation (a retry after a failure) and succeeds.
	if err := w.svc.Revoke(w.ctx, admin.Person.ID, code, g.ID, identity.Proof{}); err != nil {
		t.Fatal(err)
	}
	if forEntity, _ = w.revoker.calls(); len(forEntity) != 2 {
		t.Errorf("revocations %v", forEntity)
	}
	if n := len(w.st.eventsWith("identity.revoke")); n != 1 {
		t.Errorf("%d revocations audited", n)
	}
	err = w.svc.Revoke(w.ctx, admin.Person.ID, code, "no-such-grant", pinProof("583920"))
	wantKind(t, err, errs.NotFound)
}

func TestRolesAndMembers(t *testing.T) {
	w := newWorld(t)
	code := w.lic.Code
	second := w.addLicence(2, "杭州另一家有限公司", "李四", idNumber("11010519851203002"))
	li := w.register("李四", idNumber("11010519851203002"))
	if _, err := w.svc.Claim(w.ctx, li.Person.ID, second.Code, "583920"); err != nil {
		t.Fatal(err)
	}
	// 李四 is an administrator of 张三's company and holds their own.
	if _, err := w.svc.Appoint(w.ctx, w.holder.Person.ID, code, "李四", w.ids[li.Person.ID], pinProof(holderPIN)); err != nil {
		t.Fatal(err)
	}
	agent := w.person("赵六")
	w.clock.Advance(time.Minute)
	w.grantAgent(agent, identity.AgentGrant{AllItems: true, Until: w.clock.Now().Add(24 * time.Hour)})

	roles, err := w.svc.Roles(w.ctx, li.Person.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range roles {
		got = append(got, string(r.Kind)+" "+r.EntityCode())
	}
	if want := "holder " + second.Code + ",administrator " + code; strings.Join(got, ",") != want {
		t.Errorf("roles %v, want %s", got, want)
	}

	m, err := w.svc.Members(w.ctx, li.Person.ID, code) // an administrator sees them
	if err != nil {
		t.Fatal(err)
	}
	if m.Holder == nil || m.Holder.Name != "张*" || !strings.Contains(m.Holder.Phone, "****") || len(m.Grants) != 2 {
		t.Fatalf("members %+v", m)
	}
	if m.Grants[0].Grant.Role != identity.RoleAgent || m.Grants[0].Name != "赵*" {
		t.Errorf("newest first: %+v", m.Grants[0])
	}
	_, err = w.svc.Members(w.ctx, agent.Person.ID, code)
	wantKind(t, err, errs.Forbidden)

	// A cancelled entity stays listed, but nobody may act for it or be granted.
	w.changeLicence(code, func(l *license.Licence) { l.Status = license.Cancelled })
	roles, _ = w.svc.Roles(w.ctx, agent.Person.ID)
	if len(roles) != 1 || roles[0].Licence.Status != license.Cancelled {
		t.Errorf("roles %+v", roles)
	}
	_, err = w.svc.CanAct(w.ctx, agent.Person.ID, code, "", w.clock.Now())
	if x := wantKind(t, err, errs.Forbidden); !strings.Contains(x.ZH, "注销") {
		t.Errorf("message %q", x.ZH)
	}
	_, err = w.svc.GrantAgent(w.ctx, w.holder.Person.ID, code, identity.AgentGrant{Name: "孙七", IDNumber: idNumber(zhangID),
		AllItems: true, Until: w.clock.Now().Add(time.Hour)}, pinProof(holderPIN))
	wantKind(t, err, errs.Conflict)
}

func TestAuthorize(t *testing.T) {
	w := newWorld(t)
	code := w.lic.Code
	id, err := w.svc.Authorize(w.ctx, w.holder.Person.ID, code, "sign-contract", pinProof(holderPIN))
	if err != nil || id.Role != identity.RoleHolder || id.ACR != identity.ACRLicencePIN || id.AuthTime.IsZero() {
		t.Fatalf("holder: %+v, %v", id, err)
	}
	_, err = w.svc.Authorize(w.ctx, w.holder.Person.ID, code, "", pinProof("111222"))
	wantKind(t, err, errs.Unauthenticated)

	agent := w.person("赵六")
	w.grantAgent(agent, identity.AgentGrant{Items: []string{"tax-01"}, Until: w.clock.Now().Add(time.Hour)})
	w.setPersonalPIN(agent, "583920")
	if _, err := w.svc.Authorize(w.ctx, agent.Person.ID, code, "tax-01", pinProof("583920")); err != nil {
		t.Fatal(err)
	}
	// The item is checked before the PIN is asked for, so no attempt is spent.
	_, err = w.svc.Authorize(w.ctx, agent.Person.ID, code, "sign-contract", pinProof("583920"))
	wantKind(t, err, errs.Forbidden)
}
