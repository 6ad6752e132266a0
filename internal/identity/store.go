package identity

import (
	"context"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/license"
)

// Store is the storage the identity service needs; package store implements it on SQLite and
// PostgreSQL. Every method that takes an audit.Event appends it to the audit log in the same
// transaction as the change (as license.Store.Save does); when the change fails, nothing is
// appended. Look-ups of something absent fail with an errs.NotFound error. Times are UTC.
type Store interface {
	// CreatePerson stores a new person whose phone the one-time code codeID confirmed: in one
	// transaction it marks the code used and inserts the person. It fails with errs.Conflict,
	// storing nothing, when the code is already used, or when a person with the same
	// IDNumberHash or Phone exists.
	CreatePerson(ctx context.Context, p *Person, codeID string, ev audit.Event) error
	// Person returns the person with this ID.
	Person(ctx context.Context, id string) (*Person, error)
	// PersonByIDHash returns the person with this ID-number hash.
	PersonByIDHash(ctx context.Context, hash []byte) (*Person, error)
	// PersonByPhone returns the person with this phone number.
	PersonByPhone(ctx context.Context, phone string) (*Person, error)
	// SetRealName records a passed real-name verification (Person.RealNameVerifiedAt = at).
	SetRealName(ctx context.Context, personID string, at time.Time, ev audit.Event) error

	// CreatePhoneCode stores a one-time code (with PhoneCode.Person for a registration).
	CreatePhoneCode(ctx context.Context, c *PhoneCode) error
	// PhoneCode returns the one-time code with this ID.
	PhoneCode(ctx context.Context, id string) (*PhoneCode, error)
	// RecentPhoneCodes returns the SentAt times of the codes sent to phone at or after since,
	// oldest first (empty when none); the service rate-limits with it.
	RecentPhoneCodes(ctx context.Context, phone string, since time.Time) ([]time.Time, error)
	// TryPhoneCode counts one verification attempt: it atomically increments the code's Tries and
	// returns the code as it is after the increment (concurrent attempts each get their own
	// count, so no more than the allowed number are ever checked).
	TryPhoneCode(ctx context.Context, id string) (*PhoneCode, error)
	// UsePhoneCode marks a code used (UsedAt = at); errs.Conflict when it is already used.
	UsePhoneCode(ctx context.Context, id string, at time.Time) error

	// CreateWalletSession stores a wallet session.
	CreateWalletSession(ctx context.Context, s *Session) error
	// WalletSessionByHash returns the session with this cookie hash (errs.NotFound also when it has
	// expired).
	WalletSessionByHash(ctx context.Context, hash []byte) (*Session, error)
	// DeleteWalletSession deletes a session; deleting an absent one is not an error.
	DeleteWalletSession(ctx context.Context, hash []byte) error

	// AddDevice stores a newly bound device; errs.Conflict when its CredentialID is taken.
	AddDevice(ctx context.Context, d *Device, ev audit.Event) error
	// Devices returns the person's active devices (RemovedAt zero), oldest first; empty when
	// none.
	Devices(ctx context.Context, personID string) ([]*Device, error)
	// UseDevice records a successful assertion: the new SignCount and Record (the
	// authenticator's flags may change, e.g. a passkey becoming synced) and LastUsedAt = at.
	UseDevice(ctx context.Context, id string, signCount uint32, record []byte, at time.Time) error
	// RemoveDevice sets RemovedAt = at on the person's active device and, in the same
	// transaction, deletes every wallet session opened with it. errs.NotFound when the person
	// has no such active device.
	RemoveDevice(ctx context.Context, personID, deviceID string, at time.Time, ev audit.Event) error
	// CreateCeremony stores the state of a WebAuthn ceremony.
	CreateCeremony(ctx context.Context, c *Ceremony) error
	// TakeCeremony deletes and returns a ceremony, atomically, so that only one request gets
	// it (errs.NotFound for an unknown or already taken ID; the service checks expiry).
	TakeCeremony(ctx context.Context, id string) (*Ceremony, error)

	// SaveHolder records a claim. With prevPersonID "" it inserts h and fails with
	// errs.Conflict when the entity has a holder; otherwise it replaces the holder record
	// only if its PersonID is still prevPersonID (errs.Conflict when not), resetting the PIN
	// counters to h's.
	SaveHolder(ctx context.Context, h *Holder, prevPersonID string, ev audit.Event) error
	// Holder returns the holder record of the entity.
	Holder(ctx context.Context, entityCode string) (*Holder, error)
	// HoldersOf returns the holder records of the person, oldest claim first; empty when none.
	HoldersOf(ctx context.Context, personID string) ([]*Holder, error)

	// SetPIN stores a new PIN hash for ref and resets its failure counter and lock.
	SetPIN(ctx context.Context, ref PINRef, hash string, ev audit.Event) error
	// PINAttempt counts an attempt at the PIN of ref before it is checked. Unless the PIN is
	// locked at now (its lock ends after now), it atomically increments the failure counter
	// and returns the new count and a zero time; when locked it changes nothing and returns
	// the count and the end of the lock.
	PINAttempt(ctx context.Context, ref PINRef, now time.Time) (failed int, lockedUntil time.Time, err error)
	// SetPINState sets the failure counter and lock end of ref's PIN (0 and zero after a
	// right PIN; 0 and the lock end when locking).
	SetPINState(ctx context.Context, ref PINRef, failed int, lockedUntil time.Time) error

	// AddGrant stores a new grant. In one transaction (serialised per entity, e.g. by locking
	// the entity's holder row with SELECT … FOR UPDATE) it fails with errs.Conflict, storing
	// nothing, when g.PersonID already has a grant for g.EntityCode that is not revoked and
	// whose ValidUntil is zero or after g.GrantedAt, or when g.Role is RoleAdministrator and
	// the entity already has maxAdmins administrator grants that are not revoked.
	AddGrant(ctx context.Context, g *Grant, maxAdmins int, ev audit.Event) error
	// Grant returns the grant with this ID.
	Grant(ctx context.Context, id string) (*Grant, error)
	// GrantsFor returns every grant of the entity, revoked ones included, oldest first.
	GrantsFor(ctx context.Context, entityCode string) ([]*Grant, error)
	// GrantsOf returns the person's grants that are not revoked, oldest first.
	GrantsOf(ctx context.Context, personID string) ([]*Grant, error)
	// RevokeGrant sets RevokedBy and RevokedAt; errs.Conflict when already revoked.
	RevokeGrant(ctx context.Context, id, by string, at time.Time, ev audit.Event) error

	// CreateLoginQR stores a new login QR.
	CreateLoginQR(ctx context.Context, q *LoginQR) error
	// LoginQR returns the login QR with this ID.
	LoginQR(ctx context.Context, id string) (*LoginQR, error)
	// UpdateLoginQR is a compare-and-set: it stores every field of q only if the stored
	// status is still from, and appends ev (when not nil) in the same transaction. It fails
	// with errs.Conflict when the status moved, so of concurrent transitions exactly one wins.
	UpdateLoginQR(ctx context.Context, q *LoginQR, from QRStatus, ev *audit.Event) error
}

// LicenceFinder looks up licences for identity; package store implements it next to
// license.Store.
type LicenceFinder interface {
	// Current returns the current version of the entity's licence (errs.NotFound).
	Current(ctx context.Context, code string) (*license.Licence, error)
	// ByPersonIDHash returns the current versions (never Superseded ones) whose PersonIDHash
	// is hash, in any status; empty when none.
	ByPersonIDHash(ctx context.Context, hash []byte) ([]*license.Licence, error)
}

// Protector protects citizen ID numbers: SM4 encryption for storage and a keyed SM3 hash for
// look-ups. It has the shape of license.PersonProtector, and must be the same value the licence
// service uses, so that a person's hash equals the hash on the licences that name them.
type Protector interface {
	// SealPersonID encrypts id, bound to code (here: the person's ID).
	SealPersonID(id, code string) ([]byte, error)
	// HashPersonID returns the keyed hash of id.
	HashPersonID(id string) []byte
}

// Sender delivers one-time codes to phones (an SMS gateway in production; LogSender for the
// demo).
type Sender interface {
	SendCode(ctx context.Context, phone, code string, purpose Purpose) error
}

// RealNameVerifier checks that a name and a citizen ID number belong to one real person.
type RealNameVerifier interface {
	// Verify returns the outcome; an error only when the check could not be made (e.g.
	// errs.Unavailable), never for a mismatch.
	Verify(ctx context.Context, name, idNumber string) (Match, error)
}

// Match is the outcome of a real-name check.
type Match struct {
	Verified bool     // the name and the ID number belong together
	Source   string   // what vouched, e.g. "registry"
	Entities []string // RegistryVerifier: credit codes of the entities whose licence names the person
}

// SessionRevoker ends OpenID Connect state; the OpenID Connect layer implements it. The service
// calls it right after the change that requires it is stored.
type SessionRevoker interface {
	// RevokeFor ends every SSO session, access token and refresh token in which personID acts
	// for entityCode.
	RevokeFor(ctx context.Context, personID, entityCode string) error
	// RevokeDevice ends every SSO session and token whose login the device confirmed.
	RevokeDevice(ctx context.Context, personID, deviceID string) error
}

// Passkeys runs the cryptographic part of WebAuthn ceremonies (W3C Web Authentication);
// package identity/passkey implements it with go-webauthn. options are the JSON the browser
// passes to navigator.credentials.create/get; state is what must be kept until the response
// arrives; response is the browser's PublicKeyCredential as JSON.
type Passkeys interface {
	// BeginRegistration starts binding a new credential to user, excluding its credentials.
	BeginRegistration(user *PasskeyUser) (options, state []byte, err error)
	// FinishRegistration verifies the attestation response and returns the new credential.
	FinishRegistration(user *PasskeyUser, state, response []byte) (*Credential, error)
	// BeginLogin starts an assertion by one of user's credentials; user nil starts a
	// discoverable login in which the authenticator names the user.
	BeginLogin(user *PasskeyUser) (options, state []byte, err error)
	// UserHandle returns the user handle an assertion response carries (unverified), to
	// find the user of a discoverable login.
	UserHandle(response []byte) ([]byte, error)
	// FinishLogin verifies the assertion response against user's credentials and returns the
	// credential used, with its new signature counter.
	FinishLogin(user *PasskeyUser, state, response []byte) (*Credential, error)
}

// PasskeyUser is a person as WebAuthn sees them.
type PasskeyUser struct {
	Handle      []byte // the person ID
	Name        string // masked phone, e.g. 138****0000
	DisplayName string // masked name, e.g. 张*
	Credentials []Credential
}

// Credential is a WebAuthn credential as Passkeys reports and receives it.
type Credential struct {
	ID        []byte
	PublicKey []byte // COSE_Key
	SignCount uint32
	AAGUID    []byte
	Record    []byte // the full credential record, serialised by the Passkeys implementation
	// CloneWarning is set by FinishLogin when the signature counter went backwards, a sign
	// that the authenticator was cloned.
	CloneWarning bool
}
