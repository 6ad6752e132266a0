// Package notice delivers change notices (变更通知) to departments' systems: a department (an
// OpenID Connect client of the sharing service) subscribes a webhook to entities or licences, and
// every later change of their licences — a new version, a suspension, a restoration, a
// cancellation (注销), a revocation (吊销) — is POSTed to it as JSON signed with the platform's SM2
// key (issue 5 item 8).
//
// Nothing is lost and nothing is made twice across crashes: the dispatcher follows the audit log
// (the license.* events) from a cursor kept in the database and, in one transaction, writes an
// outbox row for every matching subscription and advances the cursor. The deliverer claims due
// outbox rows with a lease, POSTs them, and records the result; a row whose lease ran out (the
// process died mid-delivery) is claimed again and sent with the same id. Delivery is therefore
// at least once: receivers drop a notice whose id they have seen. Failed attempts are retried
// with exponential backoff and jitter; after MaxAttempts a delivery is failed, which the
// department sees and can replay.
//
// The package is a domain package: no SQL, no HTTP. internal/store implements Store,
// internal/notice/webhook implements Poster over net/http, internal/web serves the API under
// /api/v1/notices/ and the department console under /console/.
package notice

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/sharing/permit"
)

// Event is a kind of licence change a department can subscribe to.
type Event string

// The events.
const (
	NewVersion Event = "new_version" // a change registration made a new version (变更登记)
	Suspended  Event = "suspended"   // 暂停
	Restored   Event = "restored"    // 恢复
	Cancelled  Event = "cancelled"   // 注销
	Revoked    Event = "revoked"     // 吊销
)

// Events lists every event in the order of the documentation.
func Events() []Event { return []Event{NewVersion, Suspended, Restored, Cancelled, Revoked} }

// actions maps the audit actions of the licence service to events.
var actions = map[string]Event{
	"license.change":  NewVersion,
	"license.suspend": Suspended,
	"license.restore": Restored,
	"license.cancel":  Cancelled,
	"license.revoke":  Revoked,
}

// Actions lists the audit actions the dispatcher reads.
func Actions() []string {
	return []string{"license.change", "license.suspend", "license.restore", "license.cancel", "license.revoke"}
}

// Subscription is a department's webhook for changes of some entities or licences.
type Subscription struct {
	ID       string `json:"id"`
	ClientID string `json:"client_id"`
	URL      string `json:"url"`
	// Entities are credit codes (or 注册号): every licence of the entity.
	Entities []string `json:"entities"`
	// Licences are licence identifiers (电子证照标识): that licence of its entity, whatever its
	// later versions.
	Licences []string `json:"licences"`
	Events   []Event  `json:"events"`
	// Archived also delivers changes of every entity the department follows because it
	// archived one of its licences (Service.Subscribe).
	Archived  bool      `json:"archived"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`

	// Targets is what Entities and Licences resolve to; the store keeps them.
	Targets []Target `json:"-"`
}

// Target is one thing a subscription names: an entity (TypeCode and Identifier "") or one
// licence type of it, named by Identifier.
type Target struct {
	EntityCode string
	TypeCode   string
	Identifier string
}

// Match is a subscription that names an entity a batch of events concerns, as the store finds it.
type Match struct {
	SubscriptionID string
	ClientID       string
	URL            string
	Events         []Event
	EntityCode     string
	TypeCode       string // "" every licence of the entity
	// AfterSeq is the audit sequence number at which the subscription (or the follow) was
	// made: only later events are delivered.
	AfterSeq int64
}

// State is where a delivery stands.
type State string

// The states of a delivery.
const (
	Pending   State = "pending"   // due, in flight, or waiting for its next attempt
	Delivered State = "delivered" // the receiver answered 2xx
	Failed    State = "failed"    // MaxAttempts attempts failed; a replay makes it pending again
)

// Notice is the JSON body POSTed to a webhook.
type Notice struct {
	ID         string    `json:"id"` // receivers drop an id they have seen
	Event      Event     `json:"event"`
	EntityCode string    `json:"entity_code"`
	Identifier string    `json:"identifier"` // of the licence version after the change
	Version    int       `json:"version"`
	Status     string    `json:"status"` // licence status after the change: active, suspended, cancelled, revoked
	OccurredAt time.Time `json:"occurred_at"`
}

// Delivery is one notice to one subscription: a row of the outbox.
type Delivery struct {
	N              int64           `json:"-"` // order of creation, the paging cursor
	ID             string          `json:"id"`
	SubscriptionID string          `json:"subscription_id"`
	ClientID       string          `json:"-"`
	URL            string          `json:"url"`
	EventSeq       int64           `json:"-"` // the audit event reported
	Event          Event           `json:"event"`
	EntityCode     string          `json:"entity_code"`
	Body           json.RawMessage `json:"notice"` // exactly what is POSTed
	State          State           `json:"state"`
	Attempts       int             `json:"attempts"`
	// DueAt is, while pending, when the next attempt may start (or when the lease of the one in
	// flight ends).
	DueAt       time.Time  `json:"due_at"`
	Lease       string     `json:"-"`
	LastStatus  int        `json:"last_status,omitempty"` // HTTP status of the last attempt
	LastError   string     `json:"last_error,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
}

// DeliveryQuery selects a client's deliveries, newest first.
type DeliveryQuery struct {
	ClientID string
	State    State // "" every state
	Before   int64 // N < Before (0: from the newest)
	Limit    int
}

// Plan turns the licence events of one dispatch and the subscriptions matching their entities
// into the deliveries to write.
type Plan func(events []audit.Event, matches []Match) []Delivery

// Store is the storage the notices need; package store implements it. Methods that record an
// audit event append it in the same transaction as the change.
type Store interface {
	CreateNoticeSubscription(ctx context.Context, s *Subscription, ev audit.Event) error
	// NoticeSubscriptions returns a client's subscriptions, oldest first.
	NoticeSubscriptions(ctx context.Context, clientID string) ([]Subscription, error)
	// DeleteNoticeSubscription deletes a client's subscription and its pending deliveries
	// (errs.NotFound).
	DeleteNoticeSubscription(ctx context.Context, clientID, id string, ev audit.Event) error
	// FollowEntity records that a client follows an entity; false if it already did (and then
	// ev is not appended).
	FollowEntity(ctx context.Context, clientID, entityCode string, at time.Time, ev audit.Event) (bool, error)

	// DispatchNotices, in one transaction: reads the cursor, the events with one of actions
	// among the next limit audit events after it, and the subscriptions that name their
	// subjects (directly or through follows); writes the deliveries plan returns (one per
	// subscription and event at most); and moves the cursor past every event read. It returns
	// how many audit events the cursor moved over.
	DispatchNotices(ctx context.Context, actions []string, limit int, plan Plan) (int, error)
	// ClaimNotices takes up to limit pending deliveries due at now (FOR UPDATE SKIP LOCKED on
	// PostgreSQL): each gets lease, Attempts+1 and DueAt leaseUntil.
	ClaimNotices(ctx context.Context, now, leaseUntil time.Time, lease string, limit int) ([]Delivery, error)
	// FinishNotice stores State, DueAt, LastStatus, LastError, DeliveredAt and UpdatedAt of a
	// claimed delivery and clears its lease, if d.Lease still holds it; false if it does not
	// (the lease ran out and another process claimed it).
	FinishNotice(ctx context.Context, d *Delivery) (bool, error)
	// NoticeDelivery returns a client's delivery by id (errs.NotFound).
	NoticeDelivery(ctx context.Context, clientID, id string) (*Delivery, error)
	NoticeDeliveries(ctx context.Context, q DeliveryQuery) ([]Delivery, error)
	// RequeueNotice makes a delivery in state from pending again, due at now, with no
	// attempts; false if it is no longer in that state.
	RequeueNotice(ctx context.Context, clientID, id string, from State, now time.Time, ev audit.Event) (bool, error)

	// SharingPermissions returns what the sharing service allows a client.
	SharingPermissions(ctx context.Context, clientID string) ([]permit.Permission, error)
}

// Authenticator checks the access token of a department's system and returns its client ID
// and the token's scopes. It must accept client-credentials tokens only; the wiring adapts the
// sharing service's Authenticate. (The package does not import the OpenID Connect provider,
// which brings HTTP with it.)
type Authenticator func(ctx context.Context, token string) (clientID string, scopes []string, err error)

// Licences reads licences (*license.Service).
type Licences interface {
	Get(ctx context.Context, codeOrIdentifier string) (*license.Licence, error)
	TypeCode() string
}

// Keys gives the platform signing key and its certificate (*keys.Service).
type Keys interface {
	PlatformSigner(ctx context.Context) (gm.Signer, []byte, error)
}

// Poster sends one webhook request: a POST of body with the headers. It returns the HTTP
// status, or an error when there was no answer (refused, timed out, cancelled). Errors must not
// repeat the URL, which may carry a receiver's secret in its query.
type Poster interface {
	Post(ctx context.Context, url string, header map[string]string, body []byte) (int, error)
}

// Defaults of Config.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultLease       = time.Minute
	DefaultMaxAttempts = 10
	DefaultMinBackoff  = 30 * time.Second
	DefaultMaxBackoff  = 6 * time.Hour
	DefaultBatch       = 16
	DefaultInterval    = time.Second
	dispatchPage       = 500
)

// Config holds the dependencies and settings of a Service.
type Config struct {
	Store    Store
	Tokens   Authenticator
	Licences Licences
	Keys     Keys
	Poster   Poster
	Clock    func() time.Time // defaults to time.Now
	// Jitter returns a number in [0, 1); defaults to math/rand/v2.
	Jitter func() float64
	Logger *slog.Logger
	// AllowHTTP lets subscriptions use http:// webhooks on any host (the operator's choice,
	// e.g. on a government intranet); otherwise http:// is only for loopback hosts.
	AllowHTTP bool

	Timeout     time.Duration // per attempt; DefaultTimeout
	Lease       time.Duration // how long a claim lasts; DefaultLease, at least Timeout + 10 s
	MaxAttempts int           // then failed; DefaultMaxAttempts
	MinBackoff  time.Duration // delay after the first failed attempt; DefaultMinBackoff
	MaxBackoff  time.Duration // the longest delay; DefaultMaxBackoff
	Batch       int           // deliveries claimed (and sent in parallel) at a time; DefaultBatch
	Interval    time.Duration // how often Run looks for work; DefaultInterval
}

// Service manages subscriptions and delivers notices.
type Service struct {
	c Config
}

// NewService returns the service, with the defaults filled in.
func NewService(c Config) *Service {
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Jitter == nil {
		c.Jitter = rand.Float64
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Lease <= 0 {
		c.Lease = DefaultLease
	}
	c.Lease = max(c.Lease, c.Timeout+10*time.Second)
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.Batch <= 0 {
		c.Batch = DefaultBatch
	}
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	return &Service{c: c}
}

func (s *Service) now() time.Time { return s.c.Clock().UTC().Truncate(time.Microsecond) }
