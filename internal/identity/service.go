package identity

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
)

// Rules and lifetimes.
const (
	CodeLifetime      = 5 * time.Minute  // a one-time code is valid this long
	MaxCodeTries      = 5                // wrong entries that burn a code
	ResendInterval    = time.Minute      // at most one code per phone in this interval
	MaxCodesPerHour   = 5                // and at most this many per phone per hour
	MaxPINTries       = 5                // consecutive wrong PINs that lock it
	PINLock           = 30 * time.Minute // how long a PIN stays locked
	SessionLifetime   = 7 * 24 * time.Hour
	RealNameFreshFor  = 10 * time.Minute // how long a real-name check in a session counts as fresh
	CeremonyLifetime  = 5 * time.Minute  // time to answer a WebAuthn challenge
	QRLifetime        = 2 * time.Minute  // a login QR is valid this long
	ConsumeWindow     = time.Minute      // time the browser has to take a confirmed login
	MaxAdministrators = 5                // licence administrators per entity (STANDARDS §6)
	MaxGrantPeriod    = 3 * 366 * 24 * time.Hour
	MaxItems          = 100 // service items in one agent grant
)

// Config configures a Service. Store, Licences, Protect and Sender are required.
type Config struct {
	Store    Store
	Licences LicenceFinder
	Protect  Protector        // the same value as license.Config.Protect
	Sender   Sender           // delivers one-time codes
	RealName RealNameVerifier // defaults to RegistryVerifier over Licences and Protect
	Revoker  SessionRevoker   // ends OpenID Connect sessions; nil: none to end
	Passkeys Passkeys         // nil: passkeys are unavailable
	// SubjectKey keys the pairwise subjects of tokens (HMAC-SM3). Keep it stable: changing it
	// changes every subject every portal knows.
	SubjectKey []byte
	Clock      func() time.Time // defaults to time.Now
}

// Service applies the rules of unified identity authentication. Every method is safe for
// concurrent use, and several processes may share one Store.
type Service struct {
	st       Store
	lic      LicenceFinder
	protect  Protector
	sender   Sender
	realName RealNameVerifier
	revoker  SessionRevoker
	passkeys Passkeys
	subKey   []byte
	clock    func() time.Time
}

// NewService returns an identity service.
func NewService(c Config) *Service {
	s := &Service{st: c.Store, lic: c.Licences, protect: c.Protect, sender: c.Sender, realName: c.RealName,
		revoker: c.Revoker, passkeys: c.Passkeys, subKey: c.SubjectKey, clock: c.Clock}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.realName == nil {
		s.realName = &RegistryVerifier{Licences: c.Licences, Protect: c.Protect}
	}
	return s
}

// now is the service time: UTC, in the microseconds databases keep.
func (s *Service) now() time.Time { return s.clock().UTC().Truncate(time.Microsecond) }

// newID returns a random identifier of 130 bits (26 base32 characters).
func newID() string { return rand.Text() }

// actor is how persons appear in the audit log.
func actor(personID string) string { return "person:" + personID }

func event(action, personID, subject string, at time.Time, data map[string]any) audit.Event {
	b, _ := json.Marshal(data) // maps of strings, numbers and times always encode
	return audit.Event{Time: at, Action: action, Actor: actor(personID), Subject: subject, Data: b}
}

// revokeFor ends the OpenID Connect state of personID for entityCode.
func (s *Service) revokeFor(ctx context.Context, personID, entityCode string) error {
	if s.revoker == nil {
		return nil
	}
	if err := s.revoker.RevokeFor(ctx, personID, entityCode); err != nil {
		return fmt.Errorf("identity: end sessions of %s for %s: %w", personID, entityCode, err)
	}
	return nil
}

// person loads a person; an unknown ID is errs.NotFound with a message.
func (s *Service) person(ctx context.Context, id string) (*Person, error) {
	p, err := s.st.Person(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return nil, &errs.Error{Kind: errs.NotFound, ZH: "用户不存在", EN: "no such person", Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("identity: person %s: %w", id, err)
	}
	return p, nil
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
