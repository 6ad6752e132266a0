package oidc

import (
	"context"
	"net/url"
	"time"

	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/keys"
)

// Login is who logged in and how: the confirmed identity.Identity without its per-request
// fields. SSO sessions, finished authorisation requests, refresh-token families and access
// tokens each keep one, and every token is built from it again with identity.Service.Claims.
type Login struct {
	PersonID   string            `json:"person_id"`
	EntityCode string            `json:"entity_code"`
	Role       identity.RoleKind `json:"role"`
	GrantID    string            `json:"grant_id,omitempty"`
	ACR        string            `json:"acr"`
	AMR        []string          `json:"amr"`
	DeviceID   string            `json:"device_id,omitempty"` // the passkey device that confirmed; "" for a PIN
	AuthTime   time.Time         `json:"auth_time"`
}

func loginOf(id *identity.Identity) Login {
	return Login{PersonID: id.PersonID, EntityCode: id.EntityCode, Role: id.Role, GrantID: id.GrantID,
		ACR: id.ACR, AMR: id.AMR, DeviceID: id.DeviceID, AuthTime: id.AuthTime.UTC()}
}

// identity returns the login as identity.Service.Claims takes it.
func (l *Login) identity(clientID string) *identity.Identity {
	return &identity.Identity{PersonID: l.PersonID, EntityCode: l.EntityCode, Role: l.Role, GrantID: l.GrantID,
		ACR: l.ACR, AMR: l.AMR, DeviceID: l.DeviceID, AuthTime: l.AuthTime, ClientID: clientID}
}

// Params are the validated parameters of an authorisation request.
type Params struct {
	RedirectURI         string   `json:"redirect_uri"`
	Scopes              []string `json:"scopes"`
	State               string   `json:"state,omitempty"`
	Nonce               string   `json:"nonce,omitempty"`
	ResponseType        string   `json:"response_type"`
	ResponseMode        string   `json:"response_mode,omitempty"`
	CodeChallenge       string   `json:"code_challenge"`
	CodeChallengeMethod string   `json:"code_challenge_method"`
	Prompt              []string `json:"prompt,omitempty"`
	MaxAge              *uint    `json:"max_age,omitempty"`
	// HintSubject is the subject of a valid id_token_hint: the login must be that person's.
	HintSubject string `json:"hint_subject,omitempty"`
}

// AuthRequest is an authorisation request from its arrival at the authorisation endpoint to
// the exchange of its code. It is kept (without its code) until it expires, so that a
// replayed code is recognised and the tokens it gave are revoked (RFC 6749 §4.1.2).
type AuthRequest struct {
	ID        string
	ClientID  string
	Params    Params
	CreatedAt time.Time
	ExpiresAt time.Time // the login must finish by then
	// Set when the login finished.
	Login     *Login
	SessionID string // the SSO session the login belongs to
	Subject   string // the pairwise subject of the person for this client
	DoneAt    time.Time
	// The authorisation code: only its SHA-256 is kept; valid until CodeExpiresAt, once.
	CodeHash      []byte
	CodeExpiresAt time.Time
	CodeUsedAt    time.Time
}

// PushedRequest is the parameters of a pushed authorisation request (RFC 9126), kept until
// the authorisation endpoint takes them (once) or they expire.
type PushedRequest struct {
	ID        string // the request_uri is "urn:ietf:params:oauth:request_uri:" + ID
	ClientID  string
	Form      url.Values
	ExpiresAt time.Time
}

// Session is a single sign-on session of the platform: one browser, one person acting for one
// entity. Only the SHA-256 of its cookie value is stored; ID is the sid of tokens and logout
// tokens.
type Session struct {
	ID         string
	CookieHash []byte
	Login      Login
	CreatedAt  time.Time
	ExpiresAt  time.Time
	EndedAt    time.Time // zero while active
}

// SessionClient records that a portal received a login from a session, with the subject it
// knows the person by: back-channel logout notifies each of them.
type SessionClient struct {
	SessionID string
	ClientID  string
	Subject   string
}

// EndedSession is a session that a logout or a revocation ended, with its portals.
type EndedSession struct {
	Session *Session
	Clients []SessionClient
}

// RefreshFamily is the chain of refresh tokens that rotation derives from one login. A token
// used twice reveals a theft, and the whole family is revoked (RFC 9700 §4.14.2).
type RefreshFamily struct {
	ID            string
	ClientID      string
	SessionID     string // "" when the session is unknown
	AuthRequestID string
	Subject       string
	Scopes        []string
	Login         Login
	CreatedAt     time.Time
	ExpiresAt     time.Time // absolute end of the family
	RevokedAt     time.Time
}

// RefreshToken is one refresh token of a family; only its SHA-256 is stored.
type RefreshToken struct {
	Hash      []byte
	FamilyID  string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // set when it was exchanged (rotated)
}

// AccessToken is an access token issued to a portal for a login. (Client-credentials tokens
// are not stored: they carry no person and are checked by their signature and expiry.)
type AccessToken struct {
	ID            string // the jti
	ClientID      string
	FamilyID      string // "" when issued without a refresh token
	SessionID     string
	AuthRequestID string
	Subject       string
	Scopes        []string
	Login         Login
	CreatedAt     time.Time
	ExpiresAt     time.Time
	RevokedAt     time.Time
}

// Revocation selects the sessions and tokens to end. Sessions are selected by SessionID, or
// by PersonID with EntityCode or DeviceID; families by those and also by FamilyID or
// AuthRequestID; access tokens by any field. Empty fields do not restrict; at least one
// field must be set, and a table no set field applies to is left alone.
type Revocation struct {
	SessionID     string
	PersonID      string
	EntityCode    string
	DeviceID      string
	FamilyID      string
	AuthRequestID string
	AccessTokenID string
}

// Store is the storage of the OpenID Connect provider; package store implements it on SQLite
// and PostgreSQL. Everything a request may need is here, so several processes on one database
// behave as one. Look-ups of something absent fail with errs.NotFound; times are UTC.
type Store interface {
	// CreateOIDCClient stores a new client (errs.Conflict when the ID is taken).
	CreateOIDCClient(ctx context.Context, c *Client) error
	// OIDCClient returns the client with this ID.
	OIDCClient(ctx context.Context, id string) (*Client, error)
	// OIDCClients returns every client, oldest first.
	OIDCClients(ctx context.Context) ([]*Client, error)

	// CreateAuthRequest stores a new authorisation request.
	CreateAuthRequest(ctx context.Context, a *AuthRequest) error
	// AuthRequest returns the authorisation request with this ID.
	AuthRequest(ctx context.Context, id string) (*AuthRequest, error)
	// CompleteAuthRequest records a finished login: Login, SessionID, Subject, DoneAt, CodeHash
	// and CodeExpiresAt of a, only if the stored request is not done yet (errs.Conflict
	// otherwise); in the same transaction it records the session client (SessionID, ClientID,
	// Subject) unless already recorded.
	CompleteAuthRequest(ctx context.Context, a *AuthRequest) error
	// UseAuthCode marks the code with this hash used at at, atomically, and returns its
	// request. A code already used is errs.Conflict, and the request is returned with it, so
	// that the caller can revoke what the first use gave.
	UseAuthCode(ctx context.Context, codeHash []byte, at time.Time) (*AuthRequest, error)

	// CreatePushedRequest stores a pushed authorisation request.
	CreatePushedRequest(ctx context.Context, p *PushedRequest) error
	// TakePushedRequest deletes and returns a pushed request, atomically (single use).
	TakePushedRequest(ctx context.Context, id string) (*PushedRequest, error)

	// CreateSSOSession stores a new SSO session.
	CreateSSOSession(ctx context.Context, s *Session) error
	// SSOSession returns the session whose cookie hashes to cookieHash (ended or not).
	SSOSession(ctx context.Context, cookieHash []byte) (*Session, error)
	// SSOSessionByID returns the session with this sid.
	SSOSessionByID(ctx context.Context, id string) (*Session, error)
	// SessionsOfSubject returns the active sessions in which clientID received subject.
	SessionsOfSubject(ctx context.Context, clientID, subject string) ([]*Session, error)

	// CreateTokens stores an access token and, when family is not nil, a new refresh-token
	// family with its first token, in one transaction.
	CreateTokens(ctx context.Context, access *AccessToken, family *RefreshFamily, refresh *RefreshToken) error
	// RotateRefreshToken marks the refresh token oldHash used at at and stores next (same
	// family) and access, in one transaction, only if oldHash was not used before
	// (errs.Conflict otherwise, storing nothing).
	RotateRefreshToken(ctx context.Context, oldHash []byte, at time.Time, next *RefreshToken, access *AccessToken) error
	// RefreshToken returns the refresh token with this hash and its family.
	RefreshToken(ctx context.Context, hash []byte) (*RefreshToken, *RefreshFamily, error)
	// AccessToken returns the access token with this ID.
	AccessToken(ctx context.Context, id string) (*AccessToken, error)
	// Revoke ends, in one transaction, the active sessions, refresh-token families and access
	// tokens r selects, at at, and returns the sessions it ended with their portals.
	Revoke(ctx context.Context, r Revocation, at time.Time) ([]*EndedSession, error)

	// UseAssertion records the jti of a client assertion (RFC 7523) until it expires; a jti
	// seen before for the client is errs.Conflict (a replay).
	UseAssertion(ctx context.Context, clientID, jti string, expiresAt time.Time) error
	// CountHit counts one attempt under key in the window starting at window and returns the
	// count so far, atomically (rate limits shared by every process).
	CountHit(ctx context.Context, key string, window time.Time) (int, error)
	// PurgeOIDC deletes what expired before before: authorisation and pushed requests,
	// sessions, tokens, families, assertions and rate-limit windows.
	PurgeOIDC(ctx context.Context, before time.Time) error
}

// KeyStore is where the token signing key is kept, encrypted with the master key, shared by
// every process (keys.Store implements it).
type KeyStore interface {
	PutKey(ctx context.Context, k keys.Key) (*keys.Key, error)
	Key(ctx context.Context, id string) (*keys.Key, error)
}
