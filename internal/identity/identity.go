// Package identity is unified identity authentication (统一身份认证) for the e-business licence:
// natural persons and their verified phones, real-name verification, wallet sign-in sessions and
// devices (passkeys), claiming a licence (领照) with its licence PIN, the roles a person holds for
// market entities (holder, licence administrator 证照管理员, agent 办事人), the scan-to-login state
// machine (扫码登录), and the claims that tokens carry (STANDARDS §6; issue 4).
//
// The package holds the business rules only. It imports no storage, HTTP, OpenID Connect or
// WebAuthn library: storage is the Store interface, licences come through LicenceFinder, the
// WebAuthn ceremonies through Passkeys (package identity/passkey implements it), one-time codes
// leave through Sender, and ending OpenID Connect sessions goes through SessionRevoker. Every
// state another request may need is in the Store, so several processes share one database.
// docs/identity.md describes the model, the flows, the scopes and the claims.
package identity

import (
	"time"

	"github.com/elicense/elicense/internal/license"
)

// Person is a natural person (自然人) using the platform: a licence holder, an administrator or
// an agent. Only confirmed phones create persons, so every Person has a verified phone.
type Person struct {
	ID             string // random and opaque; also the WebAuthn user handle
	Name           string // legal name as on the citizen ID card
	IDNumberHash   []byte // keyed hash of the citizen ID number (Protector.HashPersonID); unique
	IDNumberSealed []byte // the ID number encrypted with SM4 (Protector.SealPersonID(number, ID))
	Phone          string // 11-digit mainland mobile number; unique
	// PhoneVerifiedAt is when a one-time code last confirmed Phone.
	PhoneVerifiedAt time.Time
	// RealNameVerifiedAt is when a RealNameVerifier last accepted the name and ID number;
	// zero until then. Claiming a licence needs it.
	RealNameVerifiedAt time.Time
	// WeakPINs are keyed hashes (Protector.HashPersonID of "weak-pin:"+digits) of the 6-digit
	// PINs derived from the person's own data — birth date forms and the ID number's last six
	// digits — computed at registration while the plain ID number is at hand. No PIN of the
	// person may be one of them.
	WeakPINs [][]byte
	// The personal PIN (个人PIN) confirms logins and management as administrator or agent
	// (a holder confirms with the licence PIN). "" until the person sets one.
	PINHash        string    // Argon2id, PHC string format
	FailedPIN      int       // consecutive wrong personal PINs
	PINLockedUntil time.Time // zero: not locked
	CreatedAt      time.Time
}

// Purpose says what a one-time code confirms.
type Purpose string

// The purposes of one-time codes.
const (
	PurposeRegister Purpose = "register" // confirm the phone of a new person
	PurposeLogin    Purpose = "login"    // sign in to the wallet
)

// PhoneCode is a one-time code (短信验证码) sent to a phone. Only its hash is stored.
type PhoneCode struct {
	ID        string  // random handle the client sends back with the code
	Purpose   Purpose // what confirming it does
	Phone     string  // where it was sent
	Hash      []byte  // SM3(ID ‖ ":" ‖ code)
	Tries     int     // verification attempts so far, counted before each check
	SentAt    time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero until confirmed or replaced by a resent code
	// Person is, for PurposeRegister, the person that confirming the code creates (not yet a
	// stored person; the store keeps all its fields with the code). Nil for PurposeLogin.
	Person *Person
}

// Session is a wallet sign-in session (the phone's web session). Only the hash of its cookie
// value is stored.
type Session struct {
	IDHash   []byte // SM3 of the cookie value
	PersonID string
	// DeviceID is the device whose passkey opened the session; "" for a sign-in with a
	// one-time code. Removing the device ends the session.
	DeviceID string
	CSRF     string // per-session token for forms
	// RealNameAt is when the person passed real-name verification in this session (zero:
	// never); a fresh verification allows managing devices and resetting a licence PIN.
	RealNameAt time.Time
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// Device is a wallet device bound to a person by a WebAuthn passkey credential.
type Device struct {
	ID           string
	PersonID     string
	Name         string // chosen by the person, e.g. "我的手机"
	CredentialID []byte // WebAuthn credential ID; unique
	PublicKey    []byte // COSE_Key of the credential
	SignCount    uint32 // last signature counter the authenticator reported
	AAGUID       []byte // authenticator model
	// Record is the whole credential record as the Passkeys implementation serialises it
	// (flags, transports, attestation); identity keeps it and hands it back unread.
	Record     []byte
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used after registration
	RemovedAt  time.Time // zero: active
}

// CeremonyPurpose says what a WebAuthn ceremony is for.
type CeremonyPurpose string

// The purposes of WebAuthn ceremonies.
const (
	CeremonyRegister CeremonyPurpose = "register" // bind a new device
	CeremonyLogin    CeremonyPurpose = "login"    // sign in to the wallet (discoverable credential)
	CeremonyConfirm  CeremonyPurpose = "confirm"  // confirm a login or a management action
)

// Ceremony is the server-side state of one WebAuthn ceremony between its two requests. It is
// single-use: taking it deletes it, so a signed challenge cannot be replayed.
type Ceremony struct {
	ID        string
	Purpose   CeremonyPurpose
	PersonID  string // "" for a discoverable login
	State     []byte // the Passkeys implementation's session data; opaque here
	ExpiresAt time.Time
}

// Holder is the person who claimed an entity's licence (领照), with the licence PIN. There is at
// most one per entity; it is keyed by the credit code, so it survives change registrations.
type Holder struct {
	EntityCode  string
	PersonID    string
	PINHash     string    // licence PIN, Argon2id PHC string
	FailedPIN   int       // consecutive wrong licence PINs
	LockedUntil time.Time // zero: not locked
	ClaimedAt   time.Time
}

// PINRef names the PIN an attempt is for: the licence PIN of an entity's holder record when
// EntityCode is set, otherwise the personal PIN of PersonID.
type PINRef struct {
	EntityCode string
	PersonID   string
}

// RoleKind is the capacity in which a person acts for an entity.
type RoleKind string

// The roles (STANDARDS §6).
const (
	RoleHolder        RoleKind = "holder"        // the person named on the licence who claimed it
	RoleAdministrator RoleKind = "administrator" // 证照管理员, appointed by the holder (at most 5)
	RoleAgent         RoleKind = "agent"         // 办事人, granted by the holder or an administrator
)

// Grant appoints a licence administrator (Role RoleAdministrator) or authorises an agent (Role
// RoleAgent) for an entity. A grant is never changed except to revoke it.
type Grant struct {
	ID         string
	EntityCode string
	PersonID   string   // who may act
	Role       RoleKind // RoleAdministrator or RoleAgent
	AllItems   bool     // every service item (全部业务); always true for administrators
	Items      []string // agents without AllItems: the service item codes they may handle
	ValidFrom  time.Time
	ValidUntil time.Time // agents: end of the period (exclusive); zero for administrators
	GrantedBy  string    // person ID of the holder or administrator who granted it
	GrantedAt  time.Time
	RevokedBy  string    // person ID; "" while in force
	RevokedAt  time.Time // zero while in force
}

// Revoked reports whether the grant was revoked.
func (g *Grant) Revoked() bool { return !g.RevokedAt.IsZero() }

// InForceAt reports whether the grant is not revoked and its period contains t.
func (g *Grant) InForceAt(t time.Time) bool {
	return !g.Revoked() && !t.Before(g.ValidFrom) && (g.ValidUntil.IsZero() || t.Before(g.ValidUntil))
}

// Allows reports whether the grant covers the service item ("" asks about acting at all).
func (g *Grant) Allows(item string) bool {
	if g.AllItems || item == "" {
		return true
	}
	for _, it := range g.Items {
		if it == item {
			return true
		}
	}
	return false
}

// Role is one entity a person may act for, and how.
type Role struct {
	Kind    RoleKind
	Licence *license.Licence // current version of the entity's licence
	Grant   *Grant           // for administrators and agents; nil for the holder
	Holder  *Holder          // for the holder; nil otherwise
}

// EntityCode returns the credit code of the entity the role is for.
func (r *Role) EntityCode() string { return r.Licence.Code }

// Holding is a licence as the holder's wallet shows it: the holder record with the current
// version of the licence. After a change registration it is the new version; after
// cancellation, revocation or suspension, or when a change registration named another person,
// Valid is false and ReasonZH/ReasonEN say why.
type Holding struct {
	Holder   *Holder
	Licence  *license.Licence
	Valid    bool   // the licence is active and still names this holder
	ReasonZH string // why it is not valid; "" when valid
	ReasonEN string
}

// Client is what the wallet shows of the portal (relying party) asking for a login, and what
// the claims are computed for.
type Client struct {
	ID         string // OpenID Connect client ID
	Name       string // portal name, e.g. "浙江政务服务网"
	Department string // department running it
	Region     string // GB/T 2260 division or region name
	// SectorID identifies the client's sector for pairwise subjects (OpenID Connect Core
	// §8.1): the host of its redirect URIs, or its sector_identifier_uri's host. Clients of
	// one sector see the same subject for a person. Empty: the client ID.
	SectorID string
}

// QRStatus is the state of a login QR.
type QRStatus string

// The states of a login QR. Expired is never stored: it is computed from ExpiresAt.
const (
	QRPending   QRStatus = "pending"   // shown, not scanned yet
	QRScanned   QRStatus = "scanned"   // a person scanned it; the wallet asks to confirm
	QRConfirmed QRStatus = "confirmed" // the person confirmed; the browser may consume it
	QRDeclined  QRStatus = "declined"  // the person declined
	QRConsumed  QRStatus = "consumed"  // the browser took the identity; final
	QRExpired   QRStatus = "expired"   // past ExpiresAt before being consumed
)

// LoginQR is one scan-to-login (扫码登录) request: the QR code on the platform's login page
// carries its ID, and only the browser that shows it may learn the outcome.
type LoginQR struct {
	ID             string // random, 130 bits; the QR code carries it
	BrowserBinding []byte // SM3 of the waiting browser's binding cookie value
	Client         Client // the portal asking
	AuthRequestID  string // the OpenID Connect authorisation request it belongs to
	CreatedAt      time.Time
	ExpiresAt      time.Time // 2 minutes after creation; 1 minute after confirmation
	Status         QRStatus  // as stored; StatusAt gives the effective status
	PersonID       string    // who scanned it; set from QRScanned on
	ScannedAt      time.Time
	EntityCode     string   // set on confirmation: the entity the person acts for
	Role           RoleKind // and in which role
	GrantID        string   // the grant, for administrators and agents
	ACR            string   // how the person confirmed (ACRLicencePIN, ACRPersonalPIN, ACRPasskey)
	AMR            []string // RFC 8176 methods: ["pin"] or ["hwk", "user"]
	DeviceID       string   // the device whose passkey confirmed; "" for a PIN
	ConfirmedAt    time.Time
	ConsumedAt     time.Time
}

// StatusAt returns the effective status at t: a pending, scanned or confirmed QR past its
// expiry is QRExpired.
func (q *LoginQR) StatusAt(t time.Time) QRStatus {
	switch q.Status {
	case QRPending, QRScanned, QRConfirmed:
		if !t.Before(q.ExpiresAt) {
			return QRExpired
		}
	}
	return q.Status
}

// Identity is a confirmed login: who acts, for which entity, in which role, and how they
// authenticated. The OpenID Connect layer keeps it with its session and builds tokens from it
// with Service.Claims.
type Identity struct {
	PersonID      string
	EntityCode    string
	Role          RoleKind
	GrantID       string // for administrators and agents
	ACR           string
	AMR           []string
	DeviceID      string    // the device whose passkey confirmed; "" for a PIN
	AuthTime      time.Time // when the person confirmed
	ClientID      string    // the portal the login was for
	AuthRequestID string    // the OpenID Connect authorisation request it completes
}

// Method is how a person proves a confirmation.
type Method string

// The confirmation methods.
const (
	MethodPIN     Method = "pin"     // the licence PIN (holder) or the personal PIN (others)
	MethodPasskey Method = "passkey" // a WebAuthn assertion by one of the person's devices
)

// Proof is what a person gives to confirm a login or a management action.
type Proof struct {
	Method Method
	PIN    string // MethodPIN
	// MethodPasskey: the ceremony from BeginPasskey and the browser's PublicKeyCredential
	// (navigator.credentials.get result) as JSON.
	Ceremony string
	Response []byte
}

// Authentication context classes (acr) the platform asserts.
const (
	ACRLicencePIN  = "urn:elicense:acr:licence-pin"  // the holder confirmed with the licence PIN
	ACRPersonalPIN = "urn:elicense:acr:personal-pin" // an administrator or agent with their own PIN
	ACRPasskey     = "urn:elicense:acr:passkey"      // a passkey on a bound wallet device
)
