package identity_test

import (
	"testing"

	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/identity/passkey"
	"github.com/elicense/elicense/internal/identity/passkey/passkeytest"
)

// TestRealPasskeys runs the wallet flows with the go-webauthn adapter and a software
// authenticator instead of the test double: bind a phone, sign in with it, confirm a login.
func TestRealPasskeys(t *testing.T) {
	w := newWorld(t)
	pk, err := passkey.New(passkey.Config{Origins: []string{"https://elicense.test"}})
	if err != nil {
		t.Fatal(err)
	}
	svc := identity.NewService(identity.Config{Store: w.st, Licences: w.st, Protect: w.prot, Sender: w.sender,
		Revoker: w.revoker, Passkeys: pk, SubjectKey: []byte("k"), Clock: w.clock.Now})
	phone, err := passkeytest.New("https://elicense.test")
	if err != nil {
		t.Fatal(err)
	}
	must := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	ch, err := svc.BeginDeviceRegistration(w.ctx, w.holder.Session)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := svc.FinishDeviceRegistration(w.ctx, w.holder.Session, ch.Ceremony, "华为手机", must(phone.Create(ch.Options)))
	if err != nil {
		t.Fatal(err)
	}

	ch, err = svc.BeginPasskeyLogin(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	in, err := svc.PasskeyLogin(w.ctx, ch.Ceremony, must(phone.Get(ch.Options)))
	if err != nil {
		t.Fatal(err)
	}
	if in.Person.ID != w.holder.Person.ID || in.Session.DeviceID != dev.ID {
		t.Fatalf("signed in as %s on %s", in.Person.ID, in.Session.DeviceID)
	}

	q, err := svc.NewLoginQR(w.ctx, browser, portal, "auth-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Scan(w.ctx, q.ID, in.Person.ID); err != nil {
		t.Fatal(err)
	}
	ch, err = svc.BeginPasskey(w.ctx, in.Person.ID)
	if err != nil {
		t.Fatal(err)
	}
	proof := identity.Proof{Method: identity.MethodPasskey, Ceremony: ch.Ceremony, Response: must(phone.Get(ch.Options))}
	done, err := svc.Confirm(w.ctx, q.ID, in.Person.ID, w.lic.Code, proof)
	if err != nil {
		t.Fatal(err)
	}
	if done.ACR != identity.ACRPasskey || done.DeviceID != dev.ID {
		t.Errorf("confirmed %+v", done)
	}
	devs, _ := svc.Devices(w.ctx, in.Person.ID)
	if devs[0].SignCount != phone.Count {
		t.Errorf("sign count %d, authenticator at %d", devs[0].SignCount, phone.Count)
	}
}
