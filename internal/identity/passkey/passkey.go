// Package passkey implements identity.Passkeys with github.com/go-webauthn/webauthn: the
// WebAuthn (W3C Web Authentication Level 3) registration and assertion ceremonies that bind a
// person's wallet device and let it sign in and confirm. It is an adapter, kept out of package
// identity because the library pulls in net/http, which domain packages may not import; the
// identity service stores the ceremony state and the credentials and decides what they allow.
package passkey

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
)

// Config configures the relying party.
type Config struct {
	// Origins are the platform's public origins (e.g. "https://elicense.example.gov.cn"); the
	// first one's host is the relying party ID unless RPID is set.
	Origins []string
	RPID    string // optional: a registrable suffix of the origins' host
	Name    string // shown by the authenticator; default "电子营业执照"
	Timeout time.Duration
}

// WebAuthn runs the ceremonies. Passkeys are discoverable credentials with user verification
// (the phone's screen lock or biometrics), so a wallet signs in without typing anything.
type WebAuthn struct {
	w *webauthn.WebAuthn
}

var _ identity.Passkeys = (*WebAuthn)(nil)

// New returns the relying party of Config.
func New(c Config) (*WebAuthn, error) {
	if len(c.Origins) == 0 {
		return nil, errors.New("passkey: at least one origin is required")
	}
	if c.RPID == "" {
		u, err := url.Parse(c.Origins[0])
		if err != nil || u.Hostname() == "" {
			return nil, fmt.Errorf("passkey: origin %q is not a URL", c.Origins[0])
		}
		c.RPID = u.Hostname()
	}
	if c.Name == "" {
		c.Name = "电子营业执照"
	}
	if c.Timeout == 0 {
		c.Timeout = identity.CeremonyLifetime
	}
	w, err := webauthn.New(&webauthn.Config{
		RPID:          c.RPID,
		RPDisplayName: c.Name,
		RPOrigins:     c.Origins,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationRequired,
		},
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: c.Timeout, TimeoutUVD: c.Timeout},
			Registration: webauthn.TimeoutConfig{Timeout: c.Timeout, TimeoutUVD: c.Timeout},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &WebAuthn{w: w}, nil
}

// user adapts an identity.PasskeyUser to webauthn.User.
type user struct {
	u     *identity.PasskeyUser
	creds []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return u.u.Handle }
func (u *user) WebAuthnName() string                       { return u.u.Name }
func (u *user) WebAuthnDisplayName() string                { return u.u.DisplayName }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func adapt(pu *identity.PasskeyUser) (*user, error) {
	u := &user{u: pu}
	for _, c := range pu.Credentials {
		var wc webauthn.Credential
		if len(c.Record) > 0 {
			if err := json.Unmarshal(c.Record, &wc); err != nil {
				return nil, fmt.Errorf("passkey: credential record: %w", err)
			}
		}
		// The identity fields are authoritative; the record adds flags and transports.
		wc.ID, wc.PublicKey = c.ID, c.PublicKey
		wc.Authenticator.SignCount, wc.Authenticator.AAGUID, wc.Authenticator.CloneWarning = c.SignCount, c.AAGUID, false
		u.creds = append(u.creds, wc)
	}
	return u, nil
}

func credential(wc *webauthn.Credential) (*identity.Credential, error) {
	clone := wc.Authenticator.CloneWarning
	rec := *wc
	rec.Authenticator.CloneWarning = false
	b, err := json.Marshal(&rec)
	if err != nil {
		return nil, fmt.Errorf("passkey: encode credential: %w", err)
	}
	return &identity.Credential{ID: wc.ID, PublicKey: wc.PublicKey, SignCount: wc.Authenticator.SignCount,
		AAGUID: wc.Authenticator.AAGUID, Record: b, CloneWarning: clone}, nil
}

// failed is the error a person sees when a response does not verify; the library's reason is
// kept as the cause for the log.
func failed(err error) error {
	return &errs.Error{Kind: errs.Unauthenticated, ZH: "通行密钥验证失败，请重试", EN: "the passkey could not be verified; try again", Err: err}
}

func malformed(err error) error {
	return &errs.Error{Kind: errs.Invalid, Field: "response", ZH: "通行密钥响应格式错误", EN: "the passkey response is malformed", Err: err}
}

func encode(options any, session *webauthn.SessionData) ([]byte, []byte, error) {
	o, err := json.Marshal(options)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: encode options: %w", err)
	}
	s, err := json.Marshal(session)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: encode session: %w", err)
	}
	return o, s, nil
}

func decodeSession(state []byte) (webauthn.SessionData, error) {
	var s webauthn.SessionData
	if err := json.Unmarshal(state, &s); err != nil {
		return s, fmt.Errorf("passkey: decode session: %w", err)
	}
	return s, nil
}

func descriptors(u *user) []protocol.CredentialDescriptor {
	var d []protocol.CredentialDescriptor
	for i := range u.creds {
		d = append(d, u.creds[i].Descriptor())
	}
	return d
}

// BeginRegistration implements identity.Passkeys.
func (p *WebAuthn) BeginRegistration(pu *identity.PasskeyUser) ([]byte, []byte, error) {
	u, err := adapt(pu)
	if err != nil {
		return nil, nil, err
	}
	creation, session, err := p.w.BeginRegistration(u, webauthn.WithExclusions(descriptors(u)))
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: begin registration: %w", err)
	}
	return encode(creation, session)
}

// FinishRegistration implements identity.Passkeys.
func (p *WebAuthn) FinishRegistration(pu *identity.PasskeyUser, state, response []byte) (*identity.Credential, error) {
	u, err := adapt(pu)
	if err != nil {
		return nil, err
	}
	session, err := decodeSession(state)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, malformed(err)
	}
	for _, c := range u.creds {
		if bytes.Equal(c.ID, parsed.RawID) {
			return nil, errs.New(errs.Conflict, "", "该通行密钥已绑定", "this passkey is already bound")
		}
	}
	wc, err := p.w.CreateCredential(u, session, parsed)
	if err != nil {
		return nil, failed(err)
	}
	return credential(wc)
}

// BeginLogin implements identity.Passkeys; pu nil starts a discoverable login.
func (p *WebAuthn) BeginLogin(pu *identity.PasskeyUser) ([]byte, []byte, error) {
	if pu == nil {
		assertion, session, err := p.w.BeginDiscoverableLogin()
		if err != nil {
			return nil, nil, fmt.Errorf("passkey: begin login: %w", err)
		}
		return encode(assertion, session)
	}
	u, err := adapt(pu)
	if err != nil {
		return nil, nil, err
	}
	assertion, session, err := p.w.BeginLogin(u)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: begin login: %w", err)
	}
	return encode(assertion, session)
}

// UserHandle implements identity.Passkeys.
func (p *WebAuthn) UserHandle(response []byte) ([]byte, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, malformed(err)
	}
	if len(parsed.Response.UserHandle) == 0 {
		return nil, malformed(errors.New("the assertion names no user"))
	}
	return parsed.Response.UserHandle, nil
}

// FinishLogin implements identity.Passkeys.
func (p *WebAuthn) FinishLogin(pu *identity.PasskeyUser, state, response []byte) (*identity.Credential, error) {
	u, err := adapt(pu)
	if err != nil {
		return nil, err
	}
	session, err := decodeSession(state)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, malformed(err)
	}
	var wc *webauthn.Credential
	if len(session.UserID) == 0 {
		wc, err = p.w.ValidateDiscoverableLogin(func(_, handle []byte) (webauthn.User, error) {
			if !bytes.Equal(handle, u.u.Handle) {
				return nil, errors.New("the assertion is for another user")
			}
			return u, nil
		}, session, parsed)
	} else {
		wc, err = p.w.ValidateLogin(u, session, parsed)
	}
	if err != nil {
		return nil, failed(err)
	}
	return credential(wc)
}
