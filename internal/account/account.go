// Package account holds the platform's staff accounts (operators and registering-authority
// staff), their web sessions and API tokens. Persons and market-entity users arrive with the
// identity service; this package is only for the people who run the platform and the registers.
package account

import (
	"context"
	"time"
)

// Role is what an account may do.
type Role string

// The roles.
const (
	Operator  Role = "operator"  // runs the platform: authorities, accounts, audit
	Registrar Role = "registrar" // staff of a registering authority (登记机关): issues and manages licences
	Issuer    Role = "issuer"    // staff of a licence-issuing department (发证部门): issues permits (package library)
	// Department is a user of a department that uses licences (部门用证工作台, department.go): it
	// acts as its department's system, an OpenID Connect client (Client).
	Department Role = "department"
)

// Account is a staff account.
type Account struct {
	ID           string    `json:"id"`
	Username     string    `json:"username"`
	DisplayName  string    `json:"display_name"`
	Role         Role      `json:"role"`
	Authority    string    `json:"authority,omitempty"` // credit code of the authority (registrars) or department (issuers)
	Client       string    `json:"client,omitempty"`    // OpenID Connect client ID (departments)
	PasswordHash string    `json:"-"`                   // Argon2id, PHC string format
	FailedLogins int       `json:"-"`
	LockedUntil  time.Time `json:"-"`
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"created_at"`
}

// Session is a web login session. Only the hash of its secret is stored.
type Session struct {
	IDHash    []byte // SM3 of the cookie value
	AccountID string
	CSRF      string // per-session CSRF token for forms
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Token is an API token. Only the hash of its secret is stored.
type Token struct {
	Hash      []byte // SM3 of the token
	AccountID string
	Name      string
	CreatedAt time.Time
	ExpiresAt time.Time // zero: no expiry
}

// Store is the storage the account service needs; package store implements it.
type Store interface {
	CreateAccount(ctx context.Context, a *Account) error // errs.Conflict on a taken username
	AccountByID(ctx context.Context, id string) (*Account, error)
	AccountByUsername(ctx context.Context, username string) (*Account, error)
	// RecordLogin stores FailedLogins and LockedUntil after an attempt.
	RecordLogin(ctx context.Context, id string, failed int, lockedUntil time.Time) error
	ListAccounts(ctx context.Context) ([]*Account, error)
	CreateSession(ctx context.Context, s *Session) error
	SessionByHash(ctx context.Context, hash []byte) (*Session, error) // errs.NotFound, also when expired
	DeleteSession(ctx context.Context, hash []byte) error
	CreateToken(ctx context.Context, t *Token) error
	TokenByHash(ctx context.Context, hash []byte) (*Token, error) // errs.NotFound, also when expired
}
