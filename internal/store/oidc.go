package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/oidc"
)

// Storage of the OpenID Connect provider (package oidc; migration 0003_oidc). What must be
// atomic is one statement or one transaction: UseAuthCode and RotateRefreshToken are
// compare-and-set updates (… WHERE used_at IS NULL), TakePushedRequest is DELETE … RETURNING,
// CompleteAuthRequest updates WHERE done_at IS NULL, CountHit is one upsert, and Revoke ends
// sessions, families and access tokens in one transaction.

var _ oidc.Store = (*DB)(nil)

// oidcJSON encodes a value of the JSON columns (lists of strings, logins, parameters).
func oidcJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil { // the types stored here always encode
		panic(fmt.Sprintf("store: encode %T: %v", v, err))
	}
	return string(b)
}

func oidcStrings(v []string) string {
	if v == nil {
		v = []string{}
	}
	return oidcJSON(v)
}

func oidcDecode(s string, v any) error {
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("store: decode %T: %w", v, err)
	}
	return nil
}

// oidcExec runs an UPDATE or DELETE in tx and returns the number of rows it changed.
func oidcExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (int64, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, mapBusy(err)
	}
	return res.RowsAffected()
}

// ---- clients ----

const selectOIDCClient = `SELECT id, secret_hash, auth_method, name, department, region, logo_uri, redirect_uris,
	post_logout_redirect_uris, grant_types, scopes, backchannel_logout_uri, jwks, sector_id, created_by, created_at
	FROM oidc_clients`

// CreateOIDCClient stores a new client (errs.Conflict when the ID is taken).
func (db *DB) CreateOIDCClient(ctx context.Context, c *oidc.Client) error {
	err := db.inTxStmts(ctx, func(ts *txStmts) error {
		_, err := ts.tx.ExecContext(ctx, `INSERT INTO oidc_clients (id, secret_hash, auth_method, name, department,
			region, logo_uri, redirect_uris, post_logout_redirect_uris, grant_types, scopes, backchannel_logout_uri,
			jwks, sector_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
			$14, $15, $16)`,
			c.ID, c.SecretHash, c.AuthMethod, c.Name, c.Department, c.Region, c.LogoURI, oidcStrings(c.RedirectURIs),
			oidcStrings(c.PostLogoutRedirectURIs), oidcStrings(c.GrantTypes), oidcStrings(c.Scopes),
			c.BackchannelLogoutURI, string(c.JWKS), c.SectorID, c.CreatedBy, micros(c.CreatedAt))
		if err != nil {
			return err
		}
		// The registration is recorded in the audit log in the same transaction (statistics:
		// portals connected).
		return db.appendEvents(ctx, ts, clientEvents(c))
	})
	if isUnique(err) {
		return conflictf(err, "客户端 %s 已存在", "client %s already exists", c.ID)
	}
	if err != nil {
		return fmt.Errorf("store: create client %s: %w", c.ID, mapBusy(err))
	}
	return nil
}

// OIDCClient returns the client with this ID (errs.NotFound).
func (db *DB) OIDCClient(ctx context.Context, id string) (*oidc.Client, error) {
	c, err := scanOIDCClient(db.r.QueryRowContext(ctx, selectOIDCClient+" WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "未找到客户端 %s", "no client %s", id)
	}
	if err != nil {
		return nil, fmt.Errorf("store: client %s: %w", id, err)
	}
	return c, nil
}

// OIDCClients returns every client, oldest first.
func (db *DB) OIDCClients(ctx context.Context) ([]*oidc.Client, error) {
	rows, err := db.r.QueryContext(ctx, selectOIDCClient+" ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("store: clients: %w", err)
	}
	defer rows.Close()
	cs := []*oidc.Client{}
	for rows.Next() {
		c, err := scanOIDCClient(rows)
		if err != nil {
			return nil, fmt.Errorf("store: clients: %w", err)
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: clients: %w", err)
	}
	return cs, nil
}

func scanOIDCClient(s rowScanner) (*oidc.Client, error) {
	var (
		c                                  oidc.Client
		redirects, logouts, grants, scopes string
		jwks                               string
		created                            int64
	)
	if err := s.Scan(&c.ID, &c.SecretHash, &c.AuthMethod, &c.Name, &c.Department, &c.Region, &c.LogoURI, &redirects,
		&logouts, &grants, &scopes, &c.BackchannelLogoutURI, &jwks, &c.SectorID, &c.CreatedBy, &created); err != nil {
		return nil, err
	}
	for _, x := range []struct {
		s string
		v *[]string
	}{{redirects, &c.RedirectURIs}, {logouts, &c.PostLogoutRedirectURIs}, {grants, &c.GrantTypes}, {scopes, &c.Scopes}} {
		if err := oidcDecode(x.s, x.v); err != nil {
			return nil, err
		}
	}
	if jwks != "" {
		c.JWKS = []byte(jwks)
	}
	if len(c.SecretHash) == 0 {
		c.SecretHash = nil
	}
	c.CreatedAt = fromMicros(created)
	return &c, nil
}

// ---- authorisation requests ----

const selectAuthRequest = `SELECT id, client_id, params, created_at, expires_at, login, session_id, subject, done_at,
	code_hash, code_expires_at, code_used_at FROM oidc_auth_requests`

// CreateAuthRequest stores a new authorisation request.
func (db *DB) CreateAuthRequest(ctx context.Context, a *oidc.AuthRequest) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO oidc_auth_requests (id, client_id, params, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5)`, a.ID, a.ClientID, oidcJSON(a.Params), micros(a.CreatedAt), micros(a.ExpiresAt))
		return err
	})
	if isUnique(err) {
		return conflictf(err, "登录请求 %s 已存在", "auth request %s already exists", a.ID)
	}
	if err != nil {
		return fmt.Errorf("store: create auth request: %w", mapBusy(err))
	}
	return nil
}

// AuthRequest returns the authorisation request with this ID (errs.NotFound).
func (db *DB) AuthRequest(ctx context.Context, id string) (*oidc.AuthRequest, error) {
	a, err := scanAuthRequest(db.r.QueryRowContext(ctx, selectAuthRequest+" WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "未找到登录请求", "no such auth request")
	}
	if err != nil {
		return nil, fmt.Errorf("store: auth request: %w", err)
	}
	return a, nil
}

func scanAuthRequest(s rowScanner) (*oidc.AuthRequest, error) {
	var (
		a                           oidc.AuthRequest
		params                      string
		login                       sql.NullString
		created, expires            int64
		done, codeExpires, codeUsed sql.NullInt64
	)
	if err := s.Scan(&a.ID, &a.ClientID, &params, &created, &expires, &login, &a.SessionID, &a.Subject, &done,
		&a.CodeHash, &codeExpires, &codeUsed); err != nil {
		return nil, err
	}
	if err := oidcDecode(params, &a.Params); err != nil {
		return nil, err
	}
	if login.Valid {
		a.Login = new(oidc.Login)
		if err := oidcDecode(login.String, a.Login); err != nil {
			return nil, err
		}
	}
	a.CreatedAt, a.ExpiresAt = fromMicros(created), fromMicros(expires)
	a.DoneAt, a.CodeExpiresAt, a.CodeUsedAt = fromNullMicros(done), fromNullMicros(codeExpires), fromNullMicros(codeUsed)
	return &a, nil
}

// CompleteAuthRequest records a finished login on a request that is not done yet
// (errs.Conflict otherwise) and, in the same transaction, the session client.
func (db *DB) CompleteAuthRequest(ctx context.Context, a *oidc.AuthRequest) error {
	if a.Login == nil {
		return fmt.Errorf("store: complete auth request %s without a login", a.ID)
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		n, err := oidcExec(ctx, tx, `UPDATE oidc_auth_requests SET login = $2, session_id = $3, subject = $4,
			done_at = $5, code_hash = $6, code_expires_at = $7 WHERE id = $1 AND done_at IS NULL`,
			a.ID, oidcJSON(a.Login), a.SessionID, a.Subject, micros(a.DoneAt), a.CodeHash, micros(a.CodeExpiresAt))
		if err != nil {
			return fmt.Errorf("store: complete auth request: %w", err)
		}
		if n == 0 {
			return conflictf(sql.ErrNoRows, "登录请求已完成或不存在", "the auth request is done or unknown")
		}
		if a.SessionID == "" {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO oidc_session_clients (session_id, client_id, subject)
			VALUES ($1, $2, $3) ON CONFLICT (session_id, client_id) DO NOTHING`, a.SessionID, a.ClientID, a.Subject); err != nil {
			return fmt.Errorf("store: record session client: %w", mapBusy(err))
		}
		return nil
	})
}

// UseAuthCode marks a code used, once; a used code is errs.Conflict with its request.
func (db *DB) UseAuthCode(ctx context.Context, codeHash []byte, at time.Time) (*oidc.AuthRequest, error) {
	var a *oidc.AuthRequest
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = scanAuthRequest(tx.QueryRowContext(ctx, `UPDATE oidc_auth_requests SET code_used_at = $2
			WHERE code_hash = $1 AND code_used_at IS NULL RETURNING id, client_id, params, created_at, expires_at,
			login, session_id, subject, done_at, code_hash, code_expires_at, code_used_at`, codeHash, micros(at)))
		return err
	})
	if err == nil {
		return a, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: use code: %w", mapBusy(err))
	}
	a, err = scanAuthRequest(db.r.QueryRowContext(ctx, selectAuthRequest+" WHERE code_hash = $1", codeHash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "授权码无效", "unknown code")
	}
	if err != nil {
		return nil, fmt.Errorf("store: use code: %w", err)
	}
	return a, conflictf(nil, "授权码已使用", "the code was already used")
}

// ---- pushed requests ----

// CreatePushedRequest stores a pushed authorisation request.
func (db *DB) CreatePushedRequest(ctx context.Context, p *oidc.PushedRequest) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO oidc_pushed_requests (id, client_id, form, expires_at)
			VALUES ($1, $2, $3, $4)`, p.ID, p.ClientID, oidcJSON(p.Form), micros(p.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: create pushed request: %w", mapBusy(err))
	}
	return nil
}

// TakePushedRequest deletes and returns a pushed request (errs.NotFound when absent).
func (db *DB) TakePushedRequest(ctx context.Context, id string) (*oidc.PushedRequest, error) {
	var (
		p       oidc.PushedRequest
		form    string
		expires int64
	)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `DELETE FROM oidc_pushed_requests WHERE id = $1
			RETURNING id, client_id, form, expires_at`, id).Scan(&p.ID, &p.ClientID, &form, &expires)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "未找到推送的授权请求", "no such pushed request")
	}
	if err != nil {
		return nil, fmt.Errorf("store: take pushed request: %w", mapBusy(err))
	}
	p.Form = url.Values{}
	if err := oidcDecode(form, &p.Form); err != nil {
		return nil, err
	}
	p.ExpiresAt = fromMicros(expires)
	return &p, nil
}

// ---- SSO sessions ----

const selectSSOSession = `SELECT id, cookie_hash, login, created_at, expires_at, ended_at FROM oidc_sessions`

// CreateSSOSession stores a new SSO session.
func (db *DB) CreateSSOSession(ctx context.Context, s *oidc.Session) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO oidc_sessions (id, cookie_hash, person_id, entity_code, login,
			device_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			s.ID, s.CookieHash, s.Login.PersonID, s.Login.EntityCode, oidcJSON(s.Login), s.Login.DeviceID,
			micros(s.CreatedAt), micros(s.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: create session: %w", mapBusy(err))
	}
	return nil
}

// SSOSession returns the session of a cookie hash (errs.NotFound).
func (db *DB) SSOSession(ctx context.Context, cookieHash []byte) (*oidc.Session, error) {
	return db.ssoSession(ctx, " WHERE cookie_hash = $1", cookieHash)
}

// SSOSessionByID returns the session with this sid (errs.NotFound).
func (db *DB) SSOSessionByID(ctx context.Context, id string) (*oidc.Session, error) {
	return db.ssoSession(ctx, " WHERE id = $1", id)
}

func (db *DB) ssoSession(ctx context.Context, where string, arg any) (*oidc.Session, error) {
	s, err := scanSSOSession(db.r.QueryRowContext(ctx, selectSSOSession+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "未找到登录会话", "no such session")
	}
	if err != nil {
		return nil, fmt.Errorf("store: session: %w", err)
	}
	return s, nil
}

func scanSSOSession(r rowScanner) (*oidc.Session, error) {
	var (
		s                oidc.Session
		login            string
		created, expires int64
		ended            sql.NullInt64
	)
	if err := r.Scan(&s.ID, &s.CookieHash, &login, &created, &expires, &ended); err != nil {
		return nil, err
	}
	if err := oidcDecode(login, &s.Login); err != nil {
		return nil, err
	}
	s.CreatedAt, s.ExpiresAt, s.EndedAt = fromMicros(created), fromMicros(expires), fromNullMicros(ended)
	return &s, nil
}

// SessionsOfSubject returns the active sessions in which clientID received subject.
func (db *DB) SessionsOfSubject(ctx context.Context, clientID, subject string) ([]*oidc.Session, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT s.id, s.cookie_hash, s.login, s.created_at, s.expires_at, s.ended_at
		FROM oidc_sessions s JOIN oidc_session_clients c ON c.session_id = s.id
		WHERE c.client_id = $1 AND c.subject = $2 AND s.ended_at IS NULL ORDER BY s.created_at`, clientID, subject)
	if err != nil {
		return nil, fmt.Errorf("store: sessions of subject: %w", err)
	}
	defer rows.Close()
	out := []*oidc.Session{}
	for rows.Next() {
		s, err := scanSSOSession(rows)
		if err != nil {
			return nil, fmt.Errorf("store: sessions of subject: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ---- tokens ----

// CreateTokens stores an access token and, with family, a new refresh-token family and its
// first token, in one transaction.
func (db *DB) CreateTokens(ctx context.Context, at *oidc.AccessToken, f *oidc.RefreshFamily, rt *oidc.RefreshToken) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if f != nil {
			if _, err := tx.ExecContext(ctx, `INSERT INTO oidc_refresh_families (id, client_id, session_id,
				auth_request_id, subject, scopes, person_id, entity_code, device_id, login, created_at, expires_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
				f.ID, f.ClientID, f.SessionID, f.AuthRequestID, f.Subject, oidcStrings(f.Scopes), f.Login.PersonID,
				f.Login.EntityCode, f.Login.DeviceID, oidcJSON(f.Login), micros(f.CreatedAt), micros(f.ExpiresAt)); err != nil {
				return err
			}
			if err := insertRefreshToken(ctx, tx, rt); err != nil {
				return err
			}
		}
		return insertAccessToken(ctx, tx, at)
	})
	if err != nil {
		return fmt.Errorf("store: create tokens: %w", mapBusy(err))
	}
	return nil
}

func insertRefreshToken(ctx context.Context, tx *sql.Tx, rt *oidc.RefreshToken) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO oidc_refresh_tokens (hash, family_id, created_at, expires_at)
		VALUES ($1, $2, $3, $4)`, rt.Hash, rt.FamilyID, micros(rt.CreatedAt), micros(rt.ExpiresAt))
	return err
}

func insertAccessToken(ctx context.Context, tx *sql.Tx, at *oidc.AccessToken) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO oidc_access_tokens (id, client_id, family_id, session_id,
		auth_request_id, subject, scopes, person_id, entity_code, device_id, login, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		at.ID, at.ClientID, at.FamilyID, at.SessionID, at.AuthRequestID, at.Subject, oidcStrings(at.Scopes),
		at.Login.PersonID, at.Login.EntityCode, at.Login.DeviceID, oidcJSON(at.Login), micros(at.CreatedAt), micros(at.ExpiresAt))
	return err
}

// RotateRefreshToken marks oldHash used and stores next and access, once (errs.Conflict when
// oldHash was used before).
func (db *DB) RotateRefreshToken(ctx context.Context, oldHash []byte, at time.Time, next *oidc.RefreshToken, access *oidc.AccessToken) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		n, err := oidcExec(ctx, tx, `UPDATE oidc_refresh_tokens SET used_at = $2 WHERE hash = $1 AND used_at IS NULL`,
			oldHash, micros(at))
		if err != nil {
			return fmt.Errorf("store: rotate refresh token: %w", err)
		}
		if n == 0 {
			return conflictf(sql.ErrNoRows, "刷新令牌已使用", "the refresh token was already used")
		}
		if err := insertRefreshToken(ctx, tx, next); err != nil {
			return fmt.Errorf("store: rotate refresh token: %w", mapBusy(err))
		}
		if err := insertAccessToken(ctx, tx, access); err != nil {
			return fmt.Errorf("store: rotate refresh token: %w", mapBusy(err))
		}
		return nil
	})
}

// RefreshToken returns a refresh token and its family (errs.NotFound).
func (db *DB) RefreshToken(ctx context.Context, hash []byte) (*oidc.RefreshToken, *oidc.RefreshFamily, error) {
	var (
		rt                                   oidc.RefreshToken
		f                                    oidc.RefreshFamily
		scopes, login                        string
		created, expires, fCreated, fExpires int64
		used, revoked                        sql.NullInt64
	)
	err := db.r.QueryRowContext(ctx, `SELECT t.hash, t.family_id, t.created_at, t.expires_at, t.used_at,
		f.id, f.client_id, f.session_id, f.auth_request_id, f.subject, f.scopes, f.login, f.created_at, f.expires_at,
		f.revoked_at FROM oidc_refresh_tokens t JOIN oidc_refresh_families f ON f.id = t.family_id WHERE t.hash = $1`,
		hash).Scan(&rt.Hash, &rt.FamilyID, &created, &expires, &used, &f.ID, &f.ClientID, &f.SessionID, &f.AuthRequestID,
		&f.Subject, &scopes, &login, &fCreated, &fExpires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, notFoundf(err, "刷新令牌无效", "unknown refresh token")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: refresh token: %w", err)
	}
	if err := oidcDecode(scopes, &f.Scopes); err != nil {
		return nil, nil, err
	}
	if err := oidcDecode(login, &f.Login); err != nil {
		return nil, nil, err
	}
	rt.CreatedAt, rt.ExpiresAt, rt.UsedAt = fromMicros(created), fromMicros(expires), fromNullMicros(used)
	f.CreatedAt, f.ExpiresAt, f.RevokedAt = fromMicros(fCreated), fromMicros(fExpires), fromNullMicros(revoked)
	return &rt, &f, nil
}

// AccessToken returns the access token with this ID (errs.NotFound).
func (db *DB) AccessToken(ctx context.Context, id string) (*oidc.AccessToken, error) {
	var (
		at               oidc.AccessToken
		scopes, login    string
		created, expires int64
		revoked          sql.NullInt64
	)
	err := db.r.QueryRowContext(ctx, `SELECT id, client_id, family_id, session_id, auth_request_id, subject, scopes,
		login, created_at, expires_at, revoked_at FROM oidc_access_tokens WHERE id = $1`, id).Scan(&at.ID, &at.ClientID,
		&at.FamilyID, &at.SessionID, &at.AuthRequestID, &at.Subject, &scopes, &login, &created, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "访问令牌无效", "unknown access token")
	}
	if err != nil {
		return nil, fmt.Errorf("store: access token: %w", err)
	}
	if err := oidcDecode(scopes, &at.Scopes); err != nil {
		return nil, err
	}
	if err := oidcDecode(login, &at.Login); err != nil {
		return nil, err
	}
	at.CreatedAt, at.ExpiresAt, at.RevokedAt = fromMicros(created), fromMicros(expires), fromNullMicros(revoked)
	return &at, nil
}

// revocationWhere builds the condition of one table: cols maps the Revocation's fields to
// the table's columns. ok is false when a set field has no column there (the table is left
// alone).
func revocationWhere(r oidc.Revocation, cols map[string]string, firstArg int) (where string, args []any, ok bool) {
	fields := []struct{ name, v string }{{"session", r.SessionID}, {"person", r.PersonID}, {"entity", r.EntityCode},
		{"device", r.DeviceID}, {"family", r.FamilyID}, {"request", r.AuthRequestID}, {"token", r.AccessTokenID}}
	var conds []string
	for _, f := range fields {
		if f.v == "" {
			continue
		}
		col, has := cols[f.name]
		if !has {
			return "", nil, false
		}
		args = append(args, f.v)
		conds = append(conds, col+" = $"+strconv.Itoa(firstArg+len(args)-1))
	}
	if len(conds) == 0 {
		return "", nil, false
	}
	return strings.Join(conds, " AND "), args, true
}

// Revoke ends the active sessions, families and access tokens r selects, in one transaction,
// and returns the ended sessions with their portals.
func (db *DB) Revoke(ctx context.Context, r oidc.Revocation, at time.Time) ([]*oidc.EndedSession, error) {
	if r == (oidc.Revocation{}) {
		return nil, fmt.Errorf("store: revoke needs a selection")
	}
	var ended []*oidc.EndedSession
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		ended = nil
		sessions := map[string]string{"session": "id", "person": "person_id", "entity": "entity_code", "device": "device_id"}
		if where, args, ok := revocationWhere(r, sessions, 2); ok {
			rows, err := tx.QueryContext(ctx, `UPDATE oidc_sessions SET ended_at = $1 WHERE ended_at IS NULL AND `+where+
				` RETURNING id, cookie_hash, login, created_at, expires_at, ended_at`, append([]any{micros(at)}, args...)...)
			if err != nil {
				return fmt.Errorf("store: end sessions: %w", mapBusy(err))
			}
			for rows.Next() {
				s, err := scanSSOSession(rows)
				if err != nil {
					rows.Close()
					return fmt.Errorf("store: end sessions: %w", err)
				}
				ended = append(ended, &oidc.EndedSession{Session: s})
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("store: end sessions: %w", err)
			}
		}
		families := map[string]string{"session": "session_id", "person": "person_id", "entity": "entity_code",
			"device": "device_id", "family": "id", "request": "auth_request_id"}
		if where, args, ok := revocationWhere(r, families, 2); ok {
			if _, err := tx.ExecContext(ctx, `UPDATE oidc_refresh_families SET revoked_at = $1 WHERE revoked_at IS NULL AND `+
				where, append([]any{micros(at)}, args...)...); err != nil {
				return fmt.Errorf("store: revoke refresh families: %w", mapBusy(err))
			}
		}
		tokens := map[string]string{"session": "session_id", "person": "person_id", "entity": "entity_code",
			"device": "device_id", "family": "family_id", "request": "auth_request_id", "token": "id"}
		if where, args, ok := revocationWhere(r, tokens, 2); ok {
			if _, err := tx.ExecContext(ctx, `UPDATE oidc_access_tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND `+
				where, append([]any{micros(at)}, args...)...); err != nil {
				return fmt.Errorf("store: revoke access tokens: %w", mapBusy(err))
			}
		}
		// Tokens of the ended sessions go too (selected by person and device above, they may
		// belong to a session selected differently).
		for _, e := range ended {
			if _, err := tx.ExecContext(ctx, `UPDATE oidc_refresh_families SET revoked_at = $1 WHERE revoked_at IS NULL
				AND session_id = $2`, micros(at), e.Session.ID); err != nil {
				return fmt.Errorf("store: revoke refresh families: %w", mapBusy(err))
			}
			if _, err := tx.ExecContext(ctx, `UPDATE oidc_access_tokens SET revoked_at = $1 WHERE revoked_at IS NULL
				AND session_id = $2`, micros(at), e.Session.ID); err != nil {
				return fmt.Errorf("store: revoke access tokens: %w", mapBusy(err))
			}
			rows, err := tx.QueryContext(ctx, `SELECT session_id, client_id, subject FROM oidc_session_clients
				WHERE session_id = $1 ORDER BY client_id`, e.Session.ID)
			if err != nil {
				return fmt.Errorf("store: session clients: %w", err)
			}
			for rows.Next() {
				var sc oidc.SessionClient
				if err := rows.Scan(&sc.SessionID, &sc.ClientID, &sc.Subject); err != nil {
					rows.Close()
					return fmt.Errorf("store: session clients: %w", err)
				}
				e.Clients = append(e.Clients, sc)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("store: session clients: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ended, nil
}

// ---- assertions, rate limits, purge ----

// UseAssertion records a client assertion's jti (errs.Conflict on a replay).
func (db *DB) UseAssertion(ctx context.Context, clientID, jti string, expiresAt time.Time) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO oidc_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3)`,
			clientID, jti, micros(expiresAt))
		return err
	})
	if isUnique(err) {
		return conflictf(err, "客户端断言已使用", "the client assertion was already used")
	}
	if err != nil {
		return fmt.Errorf("store: use assertion: %w", mapBusy(err))
	}
	return nil
}

// CountHit counts one hit of key in the window and returns the count, atomically.
func (db *DB) CountHit(ctx context.Context, key string, window time.Time) (int, error) {
	var n int
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO oidc_rate (rate_key, window_start, hits) VALUES ($1, $2, 1)
			ON CONFLICT (rate_key, window_start) DO UPDATE SET hits = oidc_rate.hits + 1 RETURNING hits`,
			key, micros(window)).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("store: count hit: %w", mapBusy(err))
	}
	return n, nil
}

// PurgeOIDC deletes what expired before before.
func (db *DB) PurgeOIDC(ctx context.Context, before time.Time) error {
	t := micros(before)
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			"DELETE FROM oidc_auth_requests WHERE expires_at < $1",
			"DELETE FROM oidc_pushed_requests WHERE expires_at < $1",
			"DELETE FROM oidc_access_tokens WHERE expires_at < $1",
			"DELETE FROM oidc_refresh_families WHERE expires_at < $1",
			"DELETE FROM oidc_sessions WHERE expires_at < $1",
			"DELETE FROM oidc_assertions WHERE expires_at < $1",
			"DELETE FROM oidc_rate WHERE window_start < $1",
		} {
			if _, err := tx.ExecContext(ctx, q, t); err != nil {
				return fmt.Errorf("store: purge: %w", mapBusy(err))
			}
		}
		return nil
	})
}
