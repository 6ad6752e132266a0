package identity_test

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
)

const browser = "browser-binding-cookie-value-0123456789"

var portal = identity.Client{ID: "zjzwfw", Name: "浙江政务服务网", Department: "浙江省大数据发展管理局", Region: "330000", SectorID: "zjzwfw.gov.cn"}

func (w *world) newQR() *identity.LoginQR {
	w.t.Helper()
	q, err := w.svc.NewLoginQR(w.ctx, browser, portal, "auth-request-1")
	if err != nil {
		w.t.Fatal(err)
	}
	return q
}

func (w *world) wantStatus(qrID string, want identity.QRStatus) {
	w.t.Helper()
	st, err := w.svc.Poll(w.ctx, qrID, browser)
	if err != nil || st.Status != want {
		w.t.Fatalf("poll: %+v, %v; want %s", st, err, want)
	}
}

func TestScanToLogin(t *testing.T) {
	w := newWorld(t)
	hid, code := w.holder.Person.ID, w.lic.Code
	q := w.newQR()
	if len(q.ID) < 26 || !q.ExpiresAt.Equal(q.CreatedAt.Add(2*time.Minute)) || q.Status != identity.QRPending {
		t.Fatalf("qr %+v", q)
	}
	w.wantStatus(q.ID, identity.QRPending)

	view, err := w.svc.Scan(w.ctx, q.ID, hid)
	if err != nil {
		t.Fatal(err)
	}
	if view.Client != portal || len(view.Choices) != 1 || view.Choices[0].Kind != identity.RoleHolder ||
		view.Choices[0].Licence.Face.Name != "杭州示例科技有限公司" || view.Passkey || view.PersonalPIN {
		t.Errorf("view %+v", view)
	}
	w.wantStatus(q.ID, identity.QRScanned)
	if _, err := w.svc.Scan(w.ctx, q.ID, hid); err != nil { // the wallet page reloads
		t.Fatalf("rescan: %v", err)
	}

	// A wrong PIN does not confirm and leaves the code scanned.
	_, err = w.svc.Confirm(w.ctx, q.ID, hid, code, pinProof("111222"))
	wantKind(t, err, errs.Unauthenticated)
	w.wantStatus(q.ID, identity.QRScanned)

	done, err := w.svc.Confirm(w.ctx, q.ID, hid, code, pinProof(holderPIN))
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != identity.QRConfirmed || done.ACR != identity.ACRLicencePIN || !slices.Equal(done.AMR, []string{"pin"}) {
		t.Errorf("confirmed %+v", done)
	}
	evs := w.st.eventsWith("identity.login_confirm")
	if len(evs) != 1 || evs[0].Subject != code {
		t.Fatalf("confirmation events %+v", evs)
	}
	var data map[string]any
	if err := json.Unmarshal(evs[0].Data, &data); err != nil || data["client"] != "zjzwfw" || data["role"] != "holder" {
		t.Errorf("event data %s", evs[0].Data)
	}
	w.wantStatus(q.ID, identity.QRConfirmed)

	// Confirming twice fails.
	_, err = w.svc.Confirm(w.ctx, q.ID, hid, code, pinProof(holderPIN))
	wantKind(t, err, errs.Conflict)
	// Another browser can neither poll nor consume.
	_, err = w.svc.Poll(w.ctx, q.ID, "another-browser-cookie-value-000")
	wantKind(t, err, errs.Forbidden)
	_, err = w.svc.Consume(w.ctx, q.ID, "another-browser-cookie-value-000")
	wantKind(t, err, errs.Forbidden)

	id, err := w.svc.Consume(w.ctx, q.ID, browser)
	if err != nil {
		t.Fatal(err)
	}
	want := identity.Identity{PersonID: hid, EntityCode: code, Role: identity.RoleHolder, ACR: identity.ACRLicencePIN,
		AMR: []string{"pin"}, AuthTime: done.ConfirmedAt, ClientID: "zjzwfw", AuthRequestID: "auth-request-1"}
	if id.PersonID != want.PersonID || id.EntityCode != want.EntityCode || id.Role != want.Role || id.ACR != want.ACR ||
		!slices.Equal(id.AMR, want.AMR) || !id.AuthTime.Equal(want.AuthTime) || id.ClientID != want.ClientID || id.AuthRequestID != want.AuthRequestID {
		t.Errorf("identity %+v, want %+v", id, want)
	}
	w.wantStatus(q.ID, identity.QRConsumed)
	// Replays: consuming, scanning or confirming again.
	_, err = w.svc.Consume(w.ctx, q.ID, browser)
	wantKind(t, err, errs.Conflict)
	_, err = w.svc.Scan(w.ctx, q.ID, hid)
	wantKind(t, err, errs.Conflict)
	_, err = w.svc.Confirm(w.ctx, q.ID, hid, code, pinProof(holderPIN))
	wantKind(t, err, errs.Conflict)
	_, err = w.svc.Scan(w.ctx, "NOSUCHCODE", hid)
	wantKind(t, err, errs.NotFound)
}

func TestLoginQRValidation(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct {
		browser string
		client  identity.Client
		req     string
	}{
		{"short", portal, "r"},
		{browser, identity.Client{ID: "x"}, "r"},
		{browser, portal, ""},
	} {
		_, err := w.svc.NewLoginQR(w.ctx, c.browser, c.client, c.req)
		wantKind(t, err, errs.Invalid)
	}
}

func TestLoginQRExpiry(t *testing.T) {
	w := newWorld(t)
	hid, code := w.holder.Person.ID, w.lic.Code

	q := w.newQR()
	w.clock.Advance(identity.QRLifetime)
	w.wantStatus(q.ID, identity.QRExpired)
	_, err := w.svc.Scan(w.ctx, q.ID, hid)
	wantKind(t, err, errs.Conflict)

	q = w.newQR()
	if _, err := w.svc.Scan(w.ctx, q.ID, hid); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(identity.QRLifetime)
	_, err = w.svc.Confirm(w.ctx, q.ID, hid, code, pinProof(holderPIN))
	if x := wantKind(t, err, errs.Conflict); x.EN == "" || x.Field != "qr" {
		t.Errorf("error %+v", x)
	}

	// A confirmed login must be taken within ConsumeWindow.
	q = w.newQR()
	w.clock.Advance(identity.QRLifetime - time.Second)
	if _, err := w.svc.Scan(w.ctx, q.ID, hid); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Confirm(w.ctx, q.ID, hid, code, pinProof(holderPIN)); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(30 * time.Second) // past the 2 minutes, within the window
	w.wantStatus(q.ID, identity.QRConfirmed)
	w.clock.Advance(identity.ConsumeWindow)
	_, err = w.svc.Consume(w.ctx, q.ID, browser)
	wantKind(t, err, errs.Conflict)
}

func TestLoginQRWrongAccount(t *testing.T) {
	w := newWorld(t)
	hid, code := w.holder.Person.ID, w.lic.Code
	stranger := w.person("李四")

	// A person with no role is refused and does not take the code.
	q := w.newQR()
	_, err := w.svc.Scan(w.ctx, q.ID, stranger.Person.ID)
	wantKind(t, err, errs.Forbidden)
	w.wantStatus(q.ID, identity.QRPending)
	if _, err := w.svc.Scan(w.ctx, q.ID, hid); err != nil {
		t.Fatal(err)
	}
	// Once scanned, nobody else may scan, confirm or decline it.
	agent := w.person("赵六")
	w.grantAgent(agent, identity.AgentGrant{AllItems: true, Until: w.clock.Now().Add(time.Hour)})
	w.setPersonalPIN(agent, "583920")
	_, err = w.svc.Scan(w.ctx, q.ID, agent.Person.ID)
	wantKind(t, err, errs.Forbidden)
	_, err = w.svc.Confirm(w.ctx, q.ID, agent.Person.ID, code, pinProof("583920"))
	wantKind(t, err, errs.Forbidden)
	err = w.svc.Decline(w.ctx, q.ID, agent.Person.ID)
	wantKind(t, err, errs.Forbidden)
	// The scanner cannot confirm for an entity they have no role for.
	other := w.addLicence(2, "别人的有限公司", "钱八", idNumber("11010519851203010"))
	_, err = w.svc.Confirm(w.ctx, q.ID, hid, other.Code, pinProof(holderPIN))
	wantKind(t, err, errs.Forbidden)
	w.wantStatus(q.ID, identity.QRScanned)

	// Confirming a code that was not scanned.
	q2 := w.newQR()
	_, err = w.svc.Confirm(w.ctx, q2.ID, hid, code, pinProof(holderPIN))
	wantKind(t, err, errs.Conflict)
}

func TestLoginQRDecline(t *testing.T) {
	w := newWorld(t)
	hid, code := w.holder.Person.ID, w.lic.Code
	q := w.newQR()
	if _, err := w.svc.Scan(w.ctx, q.ID, hid); err != nil {
		t.Fatal(err)
	}
	_, err := w.svc.Consume(w.ctx, q.ID, browser)
	wantKind(t, err, errs.Conflict) // not confirmed yet
	if err := w.svc.Decline(w.ctx, q.ID, hid); err != nil {
		t.Fatal(err)
	}
	w.wantStatus(q.ID, identity.QRDeclined)
	_, err = w.svc.Confirm(w.ctx, q.ID, hid, code, pinProof(holderPIN))
	wantKind(t, err, errs.Conflict)
	_, err = w.svc.Consume(w.ctx, q.ID, browser)
	wantKind(t, err, errs.Forbidden)
}

func TestLoginQRAgent(t *testing.T) {
	w := newWorld(t)
	code := w.lic.Code
	agent := w.person("赵六")
	g := w.grantAgent(agent, identity.AgentGrant{Items: []string{"tax-01"}, Until: w.clock.Now().Add(24 * time.Hour)})

	q := w.newQR()
	view, err := w.svc.Scan(w.ctx, q.ID, agent.Person.ID)
	if err != nil || len(view.Choices) != 1 || view.Choices[0].Grant.ID != g.ID || view.PersonalPIN {
		t.Fatalf("view %+v, %v", view, err)
	}
	// No personal PIN yet: set one first (the licence PIN is the holder's, not the agent's).
	_, err = w.svc.Confirm(w.ctx, q.ID, agent.Person.ID, code, pinProof(holderPIN))
	wantKind(t, err, errs.Conflict)
	w.setPersonalPIN(agent, "583920")
	_, err = w.svc.Confirm(w.ctx, q.ID, agent.Person.ID, code, pinProof(holderPIN))
	wantKind(t, err, errs.Unauthenticated)
	done, err := w.svc.Confirm(w.ctx, q.ID, agent.Person.ID, code, pinProof("583920"))
	if err != nil {
		t.Fatal(err)
	}
	if done.Role != identity.RoleAgent || done.GrantID != g.ID || done.ACR != identity.ACRPersonalPIN {
		t.Errorf("confirmed %+v", done)
	}
	// The grant is revoked between confirmation and consumption: the browser gets nothing.
	if err := w.svc.Revoke(w.ctx, w.holder.Person.ID, code, g.ID, pinProof(holderPIN)); err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.Consume(w.ctx, q.ID, browser)
	wantKind(t, err, errs.Forbidden)
}

func TestLoginQRPasskey(t *testing.T) {
	w := newWorld(t)
	hid, code := w.holder.Person.ID, w.lic.Code
	auth := w.bindDevice(w.holder, "cred-1")

	q := w.newQR()
	view, err := w.svc.Scan(w.ctx, q.ID, hid)
	if err != nil || !view.Passkey {
		t.Fatalf("view %+v, %v", view, err)
	}
	ch, err := w.svc.BeginPasskey(w.ctx, hid)
	if err != nil {
		t.Fatal(err)
	}
	resp := auth.answer(t, ch)
	done, err := w.svc.Confirm(w.ctx, q.ID, hid, code, identity.Proof{Method: identity.MethodPasskey, Ceremony: ch.Ceremony, Response: resp})
	if err != nil {
		t.Fatal(err)
	}
	devs, _ := w.svc.Devices(w.ctx, hid)
	if done.ACR != identity.ACRPasskey || !slices.Equal(done.AMR, []string{"hwk", "user"}) || done.DeviceID != devs[0].ID {
		t.Errorf("confirmed %+v", done)
	}
	if devs[0].SignCount != auth.count || devs[0].LastUsedAt.IsZero() {
		t.Errorf("device use not recorded: %+v", devs[0])
	}
	// The ceremony is single-use: replaying the assertion on another code fails.
	q2 := w.newQR()
	if _, err := w.svc.Scan(w.ctx, q2.ID, hid); err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.Confirm(w.ctx, q2.ID, hid, code, identity.Proof{Method: identity.MethodPasskey, Ceremony: ch.Ceremony, Response: resp})
	wantKind(t, err, errs.Unauthenticated)
	_, err = w.svc.Confirm(w.ctx, q2.ID, hid, code, identity.Proof{Method: "sms"})
	wantKind(t, err, errs.Invalid)
}

func TestLoginQRConcurrentConfirm(t *testing.T) {
	w := newWorld(t)
	hid, code := w.holder.Person.ID, w.lic.Code
	for round := 0; round < 3; round++ {
		q := w.newQR()
		if _, err := w.svc.Scan(w.ctx, q.ID, hid); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		results := make([]error, 2)
		start := make(chan struct{})
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, results[i] = w.svc.Confirm(w.ctx, q.ID, hid, code, pinProof(holderPIN))
			}()
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range results {
			switch {
			case err == nil:
				wins++
			case !errs.Is(err, errs.Conflict):
				t.Errorf("loser failed with %v, want a conflict", err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d confirmations won, want exactly 1 (%v)", round, wins, results)
		}
		// And of two consumers, exactly one gets the identity.
		ids := make([]*identity.Identity, 2)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ids[i], results[i] = w.svc.Consume(w.ctx, q.ID, browser)
			}()
		}
		wg.Wait()
		if (ids[0] == nil) == (ids[1] == nil) {
			t.Fatalf("consumers: %v", results)
		}
	}
}
