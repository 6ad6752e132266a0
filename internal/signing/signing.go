// Package signing is signing on behalf of a market entity (网上行为确认/电子签名, issue 7 item 3):
// a portal — an OpenID Connect client with a client-credentials token and the scope "signing" —
// sends a document (PDF or OFD) to be signed by an entity; the entity's holder, an administrator
// or an agent (with a grant for the request's service item, when it names one) previews it in the
// wallet and confirms with the licence PIN, the personal PIN or a passkey, or declines; the
// platform then seals the document with the entity's own electronic seal (package document,
// keys under the platform root from package keys) and the portal fetches it.
//
// The entity's seal is usable only through Confirm, after identity.Service.Authorize. Every
// request, confirmation and decline is an audit event whose subject is the entity's credit code
// (sign.request, sign.confirm — which carries the signature —, sign.decline): a use of the licence.
// The state change and its event are written in one transaction.
//
// The package is a domain package: no SQL, no HTTP. internal/store implements Store,
// internal/web serves the portal API under /api/v1/signing/ and the wallet pages.
package signing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/signing/signreq"
)

// Status is the state of a signing request.
type Status = signreq.Status

// The states. Expired is never stored: it is computed from ExpiresAt.
const (
	Pending  = signreq.Pending
	Signed   = signreq.Signed
	Declined = signreq.Declined
	Expired  = signreq.Expired
)

// Limits.
const (
	MaxDocument    = 10 << 20 // bytes of a document to sign
	MaxTitle       = 100      // characters
	MaxPurpose     = 500      // characters
	DefaultTTL     = 24 * time.Hour
	maxServiceItem = identity.MaxItemCode
)

// Request is one signing request (签署请求).
type Request = signreq.Request

// Store keeps signing requests; package store implements it on SQLite and PostgreSQL. Look-ups
// of something absent fail with errs.NotFound.
type Store interface {
	// CreateSigningRequest stores a new request and appends ev in the same transaction.
	CreateSigningRequest(ctx context.Context, r *Request, ev audit.Event) error
	// SigningRequest returns a request; with files, Document and SignedDoc are filled.
	SigningRequest(ctx context.Context, id string, files bool) (*Request, error)
	// PendingSigningRequests returns the requests of these entities that are pending and not
	// expired at now, without files, newest first; empty when none.
	PendingSigningRequests(ctx context.Context, entityCodes []string, now time.Time) ([]*Request, error)
	// UpdateSigningRequest is a compare-and-set: it stores every field of r only if the stored
	// status is still from, and appends ev in the same transaction; errs.Conflict when the status
	// moved, so of concurrent decisions exactly one wins.
	UpdateSigningRequest(ctx context.Context, r *Request, from Status, ev audit.Event) error
}

// Identity is what the service needs of unified identity authentication (*identity.Service).
type Identity interface {
	Roles(ctx context.Context, personID string) ([]*identity.Role, error)
	CanAct(ctx context.Context, personID, entityCode, serviceItem string, at time.Time) (*identity.Role, error)
	Authorize(ctx context.Context, personID, entityCode, serviceItem string, proof identity.Proof) (*identity.Identity, error)
}

// Documents checks and seals documents (*document.Service).
type Documents interface {
	Inspect(file []byte) (*document.Inspection, error)
	SignForEntity(ctx context.Context, file []byte, e document.EntitySigning) (*document.EntitySigned, error)
}

// Licences reads current licences (*license.Service).
type Licences interface {
	Get(ctx context.Context, codeOrIdentifier string) (*license.Licence, error)
}

// Config holds the dependencies of a Service.
type Config struct {
	Store     Store
	Identity  Identity
	Documents Documents
	Licences  Licences
	TTL       time.Duration    // how long a request waits; DefaultTTL when zero
	Clock     func() time.Time // defaults to time.Now
}

// Service applies the rules of signing on behalf of an entity. It is safe for concurrent use,
// and several processes may share one Store.
type Service struct {
	c Config
}

// NewService returns a signing service.
func NewService(c Config) *Service {
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.TTL <= 0 {
		c.TTL = DefaultTTL
	}
	return &Service{c: c}
}

// now is the service time: UTC, in the microseconds databases keep.
func (s *Service) now() time.Time { return s.c.Clock().UTC().Truncate(time.Microsecond) }

// newID returns a random request ID: "sr_" and 128 bits in hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "sr_" + hex.EncodeToString(b[:])
}

func event(action, actor, subject string, at time.Time, data map[string]any) audit.Event {
	b, _ := json.Marshal(data) // strings, numbers and times always encode
	return audit.Event{Time: at, Action: action, Actor: actor, Subject: subject, Data: b}
}

// Caller is an authenticated portal (the web layer checks the client-credentials token and its
// scope "signing").
type Caller struct {
	ClientID   string
	Name       string
	Department string
}

func (c *Caller) actor() string { return "client:" + c.ClientID }
