package passkey_test

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/identity/passkey"
	"github.com/elicense/elicense/internal/identity/passkey/passkeytest"
)

const origin = "https://elicense.test"

var b64 = base64.RawURLEncoding

// authenticator wraps passkeytest.Authenticator, failing the test on errors.
type authenticator struct {
	*passkeytest.Authenticator
	t *testing.T
}

func newAuthenticator(t *testing.T) *authenticator {
	a, err := passkeytest.New(origin)
	if err != nil {
		t.Fatal(err)
	}
	return &authenticator{Authenticator: a, t: t}
}

func (a *authenticator) create(options []byte) []byte {
	b, err := a.Create(options)
	if err != nil {
		a.t.Fatal(err)
	}
	return b
}

func (a *authenticator) get(options []byte) []byte {
	b, err := a.Get(options)
	if err != nil {
		a.t.Fatal(err)
	}
	return b
}

func TestCeremonies(t *testing.T) {
	p, err := passkey.New(passkey.Config{Origins: []string{origin}})
	if err != nil {
		t.Fatal(err)
	}
	user := &identity.PasskeyUser{Handle: []byte("PERSONID0000000000000000000"), Name: "138****8000", DisplayName: "张*"}
	auth := newAuthenticator(t)

	// Registration.
	options, state, err := p.BeginRegistration(user)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(options, []byte(`"residentKey":"required"`)) || !bytes.Contains(options, []byte(`"userVerification":"required"`)) {
		t.Errorf("creation options %s", options)
	}
	cred, err := p.FinishRegistration(user, state, auth.create(options))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(auth.UserHandle, user.Handle) {
		t.Errorf("user handle in the options: %q", auth.UserHandle)
	}
	if !bytes.Equal(cred.ID, auth.CredentialID) || len(cred.PublicKey) == 0 || len(cred.Record) == 0 || len(cred.AAGUID) != 16 {
		t.Fatalf("credential %+v", cred)
	}
	user.Credentials = append(user.Credentials, *cred)

	// The same credential cannot be registered again.
	options, state, _ = p.BeginRegistration(user)
	if !bytes.Contains(options, []byte(b64.EncodeToString(auth.CredentialID))) {
		t.Error("the bound credential is not excluded")
	}
	_, err = p.FinishRegistration(user, state, auth.create(options))
	if !errs.Is(err, errs.Conflict) {
		t.Errorf("re-registration: %v", err)
	}

	// Discoverable sign-in.
	options, state, err = p.BeginLogin(nil)
	if err != nil {
		t.Fatal(err)
	}
	resp := auth.get(options)
	handle, err := p.UserHandle(resp)
	if err != nil || !bytes.Equal(handle, user.Handle) {
		t.Fatalf("user handle %q, %v", handle, err)
	}
	got, err := p.FinishLogin(user, state, resp)
	if err != nil {
		t.Fatal(err)
	}
	if got.SignCount != 1 || got.CloneWarning {
		t.Errorf("after login %+v", got)
	}
	user.Credentials[0] = *got

	// A replayed response fails against a new challenge.
	_, state, _ = p.BeginLogin(nil)
	_, err = p.FinishLogin(user, state, resp)
	if !errs.Is(err, errs.Unauthenticated) {
		t.Errorf("replay: %v", err)
	}

	// Confirmation by a known user (allowCredentials).
	options, state, err = p.BeginLogin(user)
	if err != nil {
		t.Fatal(err)
	}
	if got, err = p.FinishLogin(user, state, auth.get(options)); err != nil || got.SignCount != 2 {
		t.Fatalf("confirm: %+v, %v", got, err)
	}
	user.Credentials[0] = *got

	// A counter that goes backwards is flagged.
	auth.Count = 0
	options, state, _ = p.BeginLogin(user)
	if got, err = p.FinishLogin(user, state, auth.get(options)); err != nil || !got.CloneWarning {
		t.Errorf("clone: %+v, %v", got, err)
	}

	// Another user's assertion, another origin, or garbage fail.
	other := &identity.PasskeyUser{Handle: []byte("SOMEONEELSE"), Credentials: user.Credentials}
	options, state, _ = p.BeginLogin(nil)
	if _, err = p.FinishLogin(other, state, auth.get(options)); !errs.Is(err, errs.Unauthenticated) {
		t.Errorf("other user: %v", err)
	}
	auth.Origin = "https://phishing.test"
	options, state, _ = p.BeginLogin(user)
	if _, err = p.FinishLogin(user, state, auth.get(options)); !errs.Is(err, errs.Unauthenticated) {
		t.Errorf("other origin: %v", err)
	}
	if _, err = p.FinishLogin(user, state, []byte(`{"id":1}`)); !errs.Is(err, errs.Invalid) {
		t.Errorf("garbage: %v", err)
	}
	if _, err := passkey.New(passkey.Config{}); err == nil {
		t.Error("no origin accepted")
	}
}
