package identity_test

import (
	"testing"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
)

// bindDevice binds a device with the given credential ID to the signed-in person.
func (e *env) bindDevice(in *identity.SignIn, credID string) *authenticator {
	e.t.Helper()
	auth := &authenticator{id: []byte(credID), handle: []byte(in.Person.ID)}
	ch, err := e.svc.BeginDeviceRegistration(e.ctx, in.Session)
	if err != nil {
		e.t.Fatalf("begin registration: %v", err)
	}
	if _, err := e.svc.FinishDeviceRegistration(e.ctx, in.Session, ch.Ceremony, "我的手机", auth.answer(e.t, ch)); err != nil {
		e.t.Fatalf("finish registration: %v", err)
	}
	return auth
}

// passkeyLogin signs in with a passkey.
func (e *env) passkeyLogin(auth *authenticator) (*identity.SignIn, error) {
	ch, err := e.svc.BeginPasskeyLogin(e.ctx)
	if err != nil {
		return nil, err
	}
	return e.svc.PasskeyLogin(e.ctx, ch.Ceremony, auth.answer(e.t, ch))
}

func TestDevices(t *testing.T) {
	w := newWorld(t)
	hid := w.holder.Person.ID

	// The first device binds from a code sign-in.
	phone1 := w.bindDevice(w.holder, "cred-1")
	devs, err := w.svc.Devices(w.ctx, hid)
	if err != nil || len(devs) != 1 || devs[0].Name != "我的手机" || string(devs[0].CredentialID) != "cred-1" ||
		string(devs[0].Record) != `{"record":1}` || len(devs[0].PublicKey) == 0 {
		t.Fatalf("devices %+v, %v", devs, err)
	}
	if len(w.st.eventsWith("identity.device_add")) != 1 {
		t.Error("binding not audited")
	}
	// A second one needs a passkey session or a fresh real-name check.
	_, err = w.svc.BeginDeviceRegistration(w.ctx, w.holder.Session)
	wantKind(t, err, errs.Forbidden)
	onPhone1, err := w.passkeyLogin(phone1)
	if err != nil {
		t.Fatal(err)
	}
	if onPhone1.Person.ID != hid || onPhone1.Session.DeviceID != devs[0].ID {
		t.Fatalf("passkey sign-in %+v", onPhone1.Session)
	}
	phone2 := w.bindDevice(onPhone1, "cred-2")
	onPhone2, err := w.passkeyLogin(phone2)
	if err != nil {
		t.Fatal(err)
	}
	// The same credential cannot be bound twice.
	ch, _ := w.svc.BeginDeviceRegistration(w.ctx, onPhone1.Session)
	_, err = w.svc.FinishDeviceRegistration(w.ctx, onPhone1.Session, ch.Ceremony, "", phone2.answer(t, ch))
	wantKind(t, err, errs.Conflict)

	// Phone 1 is lost: removing it from phone 2 ends its sessions at once.
	err = w.svc.RemoveDevice(w.ctx, w.holder.Session, devs[0].ID)
	wantKind(t, err, errs.Forbidden) // a code sign-in alone may not
	if err := w.svc.RemoveDevice(w.ctx, onPhone2.Session, devs[0].ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = w.svc.Session(w.ctx, onPhone1.Cookie)
	wantKind(t, err, errs.Unauthenticated)
	if _, _, err := w.svc.Session(w.ctx, onPhone2.Cookie); err != nil {
		t.Errorf("phone 2's session ended too: %v", err)
	}
	if _, forDevice := w.revoker.calls(); len(forDevice) != 1 || forDevice[0] != hid+" "+devs[0].ID {
		t.Errorf("device revocations %v", forDevice)
	}
	if len(w.st.eventsWith("identity.device_remove")) != 1 {
		t.Error("removal not audited")
	}
	_, err = w.passkeyLogin(phone1)
	wantKind(t, err, errs.Unauthenticated)
	err = w.svc.RemoveDevice(w.ctx, onPhone2.Session, devs[0].ID)
	wantKind(t, err, errs.NotFound)

	// Both phones lost: a fresh real-name check on a code sign-in manages devices again.
	fresh, err := w.svc.VerifyRealName(w.ctx, w.holder.Session, idNumber(zhangID))
	if err != nil {
		t.Fatal(err)
	}
	devs, _ = w.svc.Devices(w.ctx, hid)
	if err := w.svc.RemoveDevice(w.ctx, fresh.Session, devs[0].ID); err != nil {
		t.Fatal(err)
	}
	w.bindDevice(fresh, "cred-3")
}

func TestCeremonies(t *testing.T) {
	w := newWorld(t)
	auth := w.bindDevice(w.holder, "cred-1")

	// A ceremony works once.
	ch, err := w.svc.BeginPasskeyLogin(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	resp := auth.answer(t, ch)
	if _, err := w.svc.PasskeyLogin(w.ctx, ch.Ceremony, resp); err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.PasskeyLogin(w.ctx, ch.Ceremony, resp)
	wantKind(t, err, errs.Unauthenticated)

	// It expires.
	ch, _ = w.svc.BeginPasskeyLogin(w.ctx)
	w.clock.Advance(identity.CeremonyLifetime)
	_, err = w.svc.PasskeyLogin(w.ctx, ch.Ceremony, auth.answer(t, ch))
	wantKind(t, err, errs.Unauthenticated)

	// A login ceremony cannot confirm, nor another person's confirm ceremony.
	ch, _ = w.svc.BeginPasskeyLogin(w.ctx)
	q := w.newQR()
	if _, err := w.svc.Scan(w.ctx, q.ID, w.holder.Person.ID); err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.Confirm(w.ctx, q.ID, w.holder.Person.ID, w.lic.Code,
		identity.Proof{Method: identity.MethodPasskey, Ceremony: ch.Ceremony, Response: auth.answer(t, ch)})
	wantKind(t, err, errs.Unauthenticated)

	// A counter that goes backwards suggests a cloned authenticator.
	auth.count = 0
	ch, _ = w.svc.BeginPasskeyLogin(w.ctx)
	_, err = w.svc.PasskeyLogin(w.ctx, ch.Ceremony, auth.answer(t, ch))
	wantKind(t, err, errs.Forbidden)

	// Nobody without devices can start a passkey confirmation.
	_, err = w.svc.BeginPasskey(w.ctx, w.person("李四").Person.ID)
	wantKind(t, err, errs.Conflict)
}

func TestPersonalPIN(t *testing.T) {
	w := newWorld(t)
	agent := w.person("赵六")
	err := w.svc.SetPersonalPIN(w.ctx, agent.Session, "", "123456")
	wantKind(t, err, errs.Invalid)
	w.setPersonalPIN(agent, "583920")
	if len(w.st.eventsWith("identity.pin_set")) != 1 {
		t.Error("not audited")
	}
	// Changing it needs the current PIN, from a code sign-in.
	err = w.svc.SetPersonalPIN(w.ctx, agent.Session, "", "583921")
	wantKind(t, err, errs.Invalid)
	err = w.svc.SetPersonalPIN(w.ctx, agent.Session, "111222", "583921")
	wantKind(t, err, errs.Unauthenticated)
	if err := w.svc.SetPersonalPIN(w.ctx, agent.Session, "583920", "583921"); err != nil {
		t.Fatal(err)
	}
	// From a passkey sign-in, the device vouches for the person (a forgotten PIN).
	auth := w.bindDevice(agent, "agent-cred")
	in, err := w.passkeyLogin(auth)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.svc.SetPersonalPIN(w.ctx, in.Session, "", "583922"); err != nil {
		t.Fatal(err)
	}
}
