package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/elicense/elicense/internal/account"
)

const selectAccount = `SELECT id, username, display_name, role, authority, password_hash, failed_logins,
	locked_until, disabled, created_at, client_id FROM accounts`

// CreateAccount stores a new account (errs.Conflict on a taken username or ID).
func (db *DB) CreateAccount(ctx context.Context, a *account.Account) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, username, display_name, role, authority,
			password_hash, failed_logins, locked_until, disabled, created_at, client_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			a.ID, a.Username, a.DisplayName, string(a.Role), a.Authority, a.PasswordHash, a.FailedLogins,
			nullMicros(a.LockedUntil), a.Disabled, micros(a.CreatedAt), a.Client)
		return err
	})
	if isUnique(err) {
		if _, e := db.AccountByUsername(ctx, a.Username); e != nil {
			return conflictf(err, "账号 ID %s 已存在", "account ID %s already exists", a.ID)
		}
		c := conflictf(err, "用户名 %s 已被使用", "the username %s is taken", a.Username)
		c.Field = "username"
		return c
	}
	if err != nil {
		return fmt.Errorf("store: create account %s: %w", a.Username, mapBusy(err))
	}
	return nil
}

// AccountByID returns the account with this ID (errs.NotFound).
func (db *DB) AccountByID(ctx context.Context, id string) (*account.Account, error) {
	a, err := scanAccount(db.r.QueryRowContext(ctx, selectAccount+" WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "未找到账号 %s", "no account %s", id)
	}
	if err != nil {
		return nil, fmt.Errorf("store: account %s: %w", id, err)
	}
	return a, nil
}

// AccountByUsername returns the account with this username (errs.NotFound).
func (db *DB) AccountByUsername(ctx context.Context, username string) (*account.Account, error) {
	a, err := scanAccount(db.r.QueryRowContext(ctx, selectAccount+" WHERE username = $1", username))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "未找到用户名为 %s 的账号", "no account with username %s", username)
	}
	if err != nil {
		return nil, fmt.Errorf("store: account %s: %w", username, err)
	}
	return a, nil
}

// RecordLogin stores FailedLogins and LockedUntil after an attempt (errs.NotFound).
func (db *DB) RecordLogin(ctx context.Context, id string, failed int, lockedUntil time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE accounts SET failed_logins = $2, locked_until = $3 WHERE id = $1",
			id, failed, nullMicros(lockedUntil))
		if err != nil {
			return fmt.Errorf("store: record login of %s: %w", id, mapBusy(err))
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: record login of %s: %w", id, err)
		} else if n == 0 {
			return notFoundf(sql.ErrNoRows, "未找到账号 %s", "no account %s", id)
		}
		return nil
	})
}

// ListAccounts returns every account ordered by username.
func (db *DB) ListAccounts(ctx context.Context) ([]*account.Account, error) {
	rows, err := db.r.QueryContext(ctx, selectAccount+" ORDER BY username")
	if err != nil {
		return nil, fmt.Errorf("store: list accounts: %w", err)
	}
	defer rows.Close()
	as := []*account.Account{}
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list accounts: %w", err)
		}
		as = append(as, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list accounts: %w", err)
	}
	return as, nil
}

func scanAccount(s rowScanner) (*account.Account, error) {
	var (
		a       account.Account
		role    string
		locked  sql.NullInt64
		created int64
	)
	if err := s.Scan(&a.ID, &a.Username, &a.DisplayName, &role, &a.Authority, &a.PasswordHash, &a.FailedLogins,
		&locked, &a.Disabled, &created, &a.Client); err != nil {
		return nil, err
	}
	a.Role = account.Role(role)
	a.LockedUntil = fromNullMicros(locked)
	a.CreatedAt = fromMicros(created)
	return &a, nil
}

// CreateSession stores a session (errs.NotFound for an unknown account).
func (db *DB) CreateSession(ctx context.Context, s *account.Session) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, account_id, csrf, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5)`, s.IDHash, s.AccountID, s.CSRF, micros(s.CreatedAt), micros(s.ExpiresAt))
		switch {
		case isForeignKey(err):
			return notFoundf(err, "未找到账号 %s", "no account %s", s.AccountID)
		case isUnique(err):
			return conflictf(err, "会话已存在", "the session already exists")
		case err != nil:
			return fmt.Errorf("store: create session: %w", mapBusy(err))
		}
		return nil
	})
}

// SessionByHash returns the unexpired session with this hash (errs.NotFound, also when expired).
func (db *DB) SessionByHash(ctx context.Context, hash []byte) (*account.Session, error) {
	var (
		s                  account.Session
		created, expiresAt int64
	)
	err := db.r.QueryRowContext(ctx, `SELECT id_hash, account_id, csrf, created_at, expires_at FROM sessions
		WHERE id_hash = $1 AND expires_at > $2`, hash, micros(db.now())).
		Scan(&s.IDHash, &s.AccountID, &s.CSRF, &created, &expiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "会话不存在或已过期，请重新登录", "the session does not exist or has expired; sign in again")
	}
	if err != nil {
		return nil, fmt.Errorf("store: session: %w", err)
	}
	s.CreatedAt, s.ExpiresAt = fromMicros(created), fromMicros(expiresAt)
	return &s, nil
}

// DeleteSession deletes the session with this hash, and every expired session with it; deleting
// a session that does not exist is not an error.
func (db *DB) DeleteSession(ctx context.Context, hash []byte) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE id_hash = $1 OR expires_at <= $2",
			hash, micros(db.now())); err != nil {
			return fmt.Errorf("store: delete session: %w", mapBusy(err))
		}
		return nil
	})
}

// CreateToken stores an API token (errs.NotFound for an unknown account).
func (db *DB) CreateToken(ctx context.Context, t *account.Token) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tokens (hash, account_id, name, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5)`, t.Hash, t.AccountID, t.Name, micros(t.CreatedAt), nullMicros(t.ExpiresAt))
		switch {
		case isForeignKey(err):
			return notFoundf(err, "未找到账号 %s", "no account %s", t.AccountID)
		case isUnique(err):
			return conflictf(err, "令牌已存在", "the token already exists")
		case err != nil:
			return fmt.Errorf("store: create token: %w", mapBusy(err))
		}
		return nil
	})
}

// TokenByHash returns the unexpired token with this hash (errs.NotFound, also when expired).
func (db *DB) TokenByHash(ctx context.Context, hash []byte) (*account.Token, error) {
	var (
		t         account.Token
		created   int64
		expiresAt sql.NullInt64
	)
	err := db.r.QueryRowContext(ctx, `SELECT hash, account_id, name, created_at, expires_at FROM tokens
		WHERE hash = $1 AND (expires_at IS NULL OR expires_at > $2)`, hash, micros(db.now())).
		Scan(&t.Hash, &t.AccountID, &t.Name, &created, &expiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "API 令牌无效或已过期", "the API token is not valid or has expired")
	}
	if err != nil {
		return nil, fmt.Errorf("store: token: %w", err)
	}
	t.CreatedAt, t.ExpiresAt = fromMicros(created), fromNullMicros(expiresAt)
	return &t, nil
}
