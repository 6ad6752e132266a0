package identity

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/errs"
)

// MaxDeviceName is the length limit of a device name.
const MaxDeviceName = 30

// PasskeyChallenge is the first half of a WebAuthn ceremony: the browser answers Options and
// sends the response back with Ceremony.
type PasskeyChallenge struct {
	Ceremony  string
	Options   []byte // JSON for navigator.credentials.create or .get
	ExpiresAt time.Time
}

func errPasskeysOff() error {
	return errs.New(errs.Unavailable, "", "本平台未启用通行密钥", "passkeys are not available on this platform")
}

// passkeyUser is the person and their active devices as WebAuthn sees them.
func passkeyUser(p *Person, devs []*Device) *PasskeyUser {
	u := &PasskeyUser{Handle: []byte(p.ID), Name: p.MaskedPhone(), DisplayName: p.MaskedName()}
	for _, d := range devs {
		u.Credentials = append(u.Credentials, Credential{ID: d.CredentialID, PublicKey: d.PublicKey,
			SignCount: d.SignCount, AAGUID: d.AAGUID, Record: d.Record})
	}
	return u
}

func (s *Service) devices(ctx context.Context, personID string) ([]*Device, error) {
	devs, err := s.st.Devices(ctx, personID)
	if err != nil {
		return nil, fmt.Errorf("identity: devices: %w", err)
	}
	return devs, nil
}

// Devices returns the person's active wallet devices.
func (s *Service) Devices(ctx context.Context, personID string) ([]*Device, error) {
	return s.devices(ctx, personID)
}

// mayManageDevices: binding the first device needs only a session; otherwise the session must
// have been opened with one of the person's passkeys, or have passed real-name verification
// within RealNameFreshFor (a lost phone).
func (s *Service) mayManageDevices(sess *Session, devs []*Device) error {
	if len(devs) == 0 || sess.DeviceID != "" || s.freshRealName(sess) {
		return nil
	}
	return errs.Forbiddenf("请在已绑定的设备上操作，或先重新进行实名认证", "use a device you already bound, or verify your real name again first")
}

func (s *Service) challenge(ctx context.Context, purpose CeremonyPurpose, personID string, options, state []byte) (*PasskeyChallenge, error) {
	c := &Ceremony{ID: newID(), Purpose: purpose, PersonID: personID, State: state, ExpiresAt: s.now().Add(CeremonyLifetime)}
	if err := s.st.CreateCeremony(ctx, c); err != nil {
		return nil, fmt.Errorf("identity: store ceremony: %w", err)
	}
	return &PasskeyChallenge{Ceremony: c.ID, Options: options, ExpiresAt: c.ExpiresAt}, nil
}

// take takes a ceremony for its second half; it works once, before it expires, for the
// purpose and person it was started for.
func (s *Service) take(ctx context.Context, id string, purpose CeremonyPurpose, personID string) (*Ceremony, error) {
	c, err := s.st.TakeCeremony(ctx, id)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return nil, fmt.Errorf("identity: take ceremony: %w", err)
	}
	if err != nil || !s.now().Before(c.ExpiresAt) || c.Purpose != purpose || c.PersonID != personID {
		return nil, errs.New(errs.Unauthenticated, "ceremony", "验证已过期或无效，请重试", "the passkey check expired or is not valid; try again")
	}
	return c, nil
}

func passkeyError(err error) error {
	if errs.KindOf(err) != errs.Internal {
		return err
	}
	return fmt.Errorf("identity: passkey: %w", err)
}

// BeginDeviceRegistration starts binding a new wallet device (a passkey) to the session's
// person. See mayManageDevices for who may.
func (s *Service) BeginDeviceRegistration(ctx context.Context, sess *Session) (*PasskeyChallenge, error) {
	if s.passkeys == nil {
		return nil, errPasskeysOff()
	}
	p, err := s.person(ctx, sess.PersonID)
	if err != nil {
		return nil, err
	}
	devs, err := s.devices(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	if err := s.mayManageDevices(sess, devs); err != nil {
		return nil, err
	}
	options, state, err := s.passkeys.BeginRegistration(passkeyUser(p, devs))
	if err != nil {
		return nil, passkeyError(err)
	}
	return s.challenge(ctx, CeremonyRegister, p.ID, options, state)
}

// FinishDeviceRegistration verifies the browser's attestation and binds the device under name.
func (s *Service) FinishDeviceRegistration(ctx context.Context, sess *Session, ceremonyID, name string, response []byte) (*Device, error) {
	if s.passkeys == nil {
		return nil, errPasskeysOff()
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = "手机"
	}
	if n := utf8.RuneCountInString(name); n > MaxDeviceName || !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, errs.Invalidf("name", "设备名称最多%d个字符", "a device name has at most %d characters", MaxDeviceName)
	}
	c, err := s.take(ctx, ceremonyID, CeremonyRegister, sess.PersonID)
	if err != nil {
		return nil, err
	}
	p, err := s.person(ctx, sess.PersonID)
	if err != nil {
		return nil, err
	}
	devs, err := s.devices(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	if err := s.mayManageDevices(sess, devs); err != nil {
		return nil, err
	}
	cred, err := s.passkeys.FinishRegistration(passkeyUser(p, devs), c.State, response)
	if err != nil {
		return nil, passkeyError(err)
	}
	now := s.now()
	d := &Device{ID: newID(), PersonID: p.ID, Name: name, CredentialID: cred.ID, PublicKey: cred.PublicKey,
		SignCount: cred.SignCount, AAGUID: cred.AAGUID, Record: cred.Record, CreatedAt: now}
	ev := event("identity.device_add", p.ID, p.ID, now, map[string]any{"device": d.ID, "name": d.Name})
	if err := s.st.AddDevice(ctx, d, ev); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, &errs.Error{Kind: errs.Conflict, ZH: "该通行密钥已绑定", EN: "this passkey is already bound", Err: err}
		}
		return nil, fmt.Errorf("identity: add device: %w", err)
	}
	return d, nil
}

// RemoveDevice removes one of the person's devices: its passkey stops working, its wallet
// sessions end in the same transaction, and the SSO sessions its confirmations opened end at
// once (SessionRevoker.RevokeDevice). See mayManageDevices for who may (issue 7, lost phone).
func (s *Service) RemoveDevice(ctx context.Context, sess *Session, deviceID string) error {
	devs, err := s.devices(ctx, sess.PersonID)
	if err != nil {
		return err
	}
	found := false
	for _, d := range devs {
		found = found || d.ID == deviceID
	}
	if !found {
		return errs.New(errs.NotFound, "device", "设备不存在或已移除", "no such device, or it was removed")
	}
	if err := s.mayManageDevices(sess, devs); err != nil {
		return err
	}
	now := s.now()
	ev := event("identity.device_remove", sess.PersonID, sess.PersonID, now, map[string]any{"device": deviceID})
	if err := s.st.RemoveDevice(ctx, sess.PersonID, deviceID, now, ev); err != nil {
		if errs.Is(err, errs.NotFound) {
			return errs.New(errs.NotFound, "device", "设备不存在或已移除", "no such device, or it was removed")
		}
		return fmt.Errorf("identity: remove device: %w", err)
	}
	if s.revoker != nil {
		if err := s.revoker.RevokeDevice(ctx, sess.PersonID, deviceID); err != nil {
			return fmt.Errorf("identity: end sessions of device %s: %w", deviceID, err)
		}
	}
	return nil
}

// BeginPasskeyLogin starts a wallet sign-in with a discoverable passkey (no phone number
// needed: the authenticator names the person).
func (s *Service) BeginPasskeyLogin(ctx context.Context) (*PasskeyChallenge, error) {
	if s.passkeys == nil {
		return nil, errPasskeysOff()
	}
	options, state, err := s.passkeys.BeginLogin(nil)
	if err != nil {
		return nil, passkeyError(err)
	}
	return s.challenge(ctx, CeremonyLogin, "", options, state)
}

// PasskeyLogin finishes a passkey sign-in and starts a wallet session tied to the device.
func (s *Service) PasskeyLogin(ctx context.Context, ceremonyID string, response []byte) (*SignIn, error) {
	if s.passkeys == nil {
		return nil, errPasskeysOff()
	}
	c, err := s.take(ctx, ceremonyID, CeremonyLogin, "")
	if err != nil {
		return nil, err
	}
	handle, err := s.passkeys.UserHandle(response)
	if err != nil {
		return nil, passkeyError(err)
	}
	p, err := s.st.Person(ctx, string(handle))
	if errs.Is(err, errs.NotFound) {
		return nil, errUnknownPasskey()
	}
	if err != nil {
		return nil, fmt.Errorf("identity: passkey person: %w", err)
	}
	d, err := s.assert(ctx, p, c, response)
	if err != nil {
		return nil, err
	}
	return s.newSession(ctx, p, d.ID, time.Time{})
}

func errUnknownPasskey() error {
	return errs.New(errs.Unauthenticated, "", "通行密钥未绑定或已移除", "this passkey is not bound or was removed")
}

// BeginPasskey starts a passkey confirmation (MethodPasskey of a Proof) by one of the person's
// devices.
func (s *Service) BeginPasskey(ctx context.Context, personID string) (*PasskeyChallenge, error) {
	if s.passkeys == nil {
		return nil, errPasskeysOff()
	}
	p, err := s.person(ctx, personID)
	if err != nil {
		return nil, err
	}
	devs, err := s.devices(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	if len(devs) == 0 {
		return nil, errs.Conflictf("您还没有绑定设备，请用密码确认", "you have no bound device; confirm with your PIN")
	}
	options, state, err := s.passkeys.BeginLogin(passkeyUser(p, devs))
	if err != nil {
		return nil, passkeyError(err)
	}
	return s.challenge(ctx, CeremonyConfirm, p.ID, options, state)
}

// assert verifies an assertion by one of p's active devices and records its use.
func (s *Service) assert(ctx context.Context, p *Person, c *Ceremony, response []byte) (*Device, error) {
	devs, err := s.devices(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	if len(devs) == 0 {
		return nil, errUnknownPasskey()
	}
	cred, err := s.passkeys.FinishLogin(passkeyUser(p, devs), c.State, response)
	if err != nil {
		return nil, passkeyError(err)
	}
	var d *Device
	for _, x := range devs {
		if bytes.Equal(x.CredentialID, cred.ID) {
			d = x
		}
	}
	if d == nil {
		return nil, errUnknownPasskey()
	}
	if cred.CloneWarning {
		return nil, errs.Forbiddenf("该设备的签名计数异常，可能已被复制；请移除后重新绑定", "this device's signature counter went backwards, so it may have been cloned; remove it and bind it again")
	}
	if err := s.st.UseDevice(ctx, d.ID, cred.SignCount, cred.Record, s.now()); err != nil {
		return nil, fmt.Errorf("identity: use device: %w", err)
	}
	return d, nil
}

// prove checks a person's proof for acting in role r: the licence PIN for a holder, the
// personal PIN for an administrator or agent, or a passkey of one of their devices. It returns
// how they authenticated.
func (s *Service) prove(ctx context.Context, p *Person, r *Role, proof Proof) (*Identity, error) {
	id := &Identity{PersonID: p.ID, EntityCode: r.Licence.Code, Role: r.Kind}
	if r.Grant != nil {
		id.GrantID = r.Grant.ID
	}
	switch proof.Method {
	case MethodPIN:
		if r.Kind == RoleHolder {
			if err := s.checkPIN(ctx, PINRef{EntityCode: r.Holder.EntityCode}, r.Holder.PINHash, proof.PIN); err != nil {
				return nil, err
			}
			id.ACR = ACRLicencePIN
		} else {
			if p.PINHash == "" {
				return nil, errs.New(errs.Conflict, "pin", "请先设置个人密码", "set your personal PIN first")
			}
			if err := s.checkPIN(ctx, PINRef{PersonID: p.ID}, p.PINHash, proof.PIN); err != nil {
				return nil, err
			}
			id.ACR = ACRPersonalPIN
		}
		id.AMR = []string{"pin"}
	case MethodPasskey:
		if s.passkeys == nil {
			return nil, errPasskeysOff()
		}
		c, err := s.take(ctx, proof.Ceremony, CeremonyConfirm, p.ID)
		if err != nil {
			return nil, err
		}
		d, err := s.assert(ctx, p, c, proof.Response)
		if err != nil {
			return nil, err
		}
		id.ACR, id.AMR, id.DeviceID = ACRPasskey, []string{"hwk", "user"}, d.ID
	default:
		return nil, errs.Invalidf("method", "确认方式应为 pin 或 passkey", "the confirmation method must be pin or passkey")
	}
	return id, nil
}
