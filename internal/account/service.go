package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/passhash"
	"github.com/elicense/elicense/internal/uscc"
)

// Rules for accounts and credentials.
const (
	MinPassword     = 10   // characters
	maxPassword     = 1024 // bytes; hashing unbounded input would be a denial of service
	minUsername     = 3
	maxUsername     = 64
	maxDisplayName  = 100
	maxTokenName    = 100
	MaxFailedLogins = 5                // consecutive failures that lock an account
	LockDuration    = 15 * time.Minute // how long a lock lasts
	SessionLifetime = 12 * time.Hour

	secretLen   = 32 // random bytes in a session cookie or an API token
	TokenPrefix = "elt_"
)

var b64 = base64.RawURLEncoding

// encodedSecretLen is the length of a base64url-encoded secret.
var encodedSecretLen = b64.EncodedLen(secretLen)

// Service manages staff accounts, their logins, web sessions and API tokens.
type Service struct {
	st    Store
	clock func() time.Time

	dummyOnce sync.Once
	dummy     string // hash compared against when the username is unknown
}

// NewService returns an account service over st; clock defaults to time.Now.
func NewService(st Store, clock func() time.Time) *Service {
	if clock == nil {
		clock = time.Now
	}
	return &Service{st: st, clock: clock}
}

func (s *Service) now() time.Time { return s.clock().UTC() }

// normUsername is how usernames are compared: they are case-insensitive.
func normUsername(u string) string { return strings.ToLower(strings.TrimSpace(u)) }

func validUsername(u string) bool {
	if len(u) < minUsername || len(u) > maxUsername {
		return false
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) })
}

// Create creates a staff account. A registrar acts for one registering authority (its credit
// code), an issuer for one licence-issuing department (its credit code); an operator for none.
// Every invalid field is reported at once (errs.List); a taken username is errs.Conflict.
// Department accounts are made with CreateDepartment.
func (s *Service) Create(ctx context.Context, username, displayName, password string, role Role, authority string) (*Account, error) {
	return s.create(ctx, username, displayName, password, role, authority, "")
}

func (s *Service) create(ctx context.Context, username, displayName, password string, role Role, authority, client string) (*Account, error) {
	var list errs.List
	username = normUsername(username)
	if !validUsername(username) {
		list = append(list, errs.Invalidf("username",
			"用户名应为 %d 至 %d 个字符，只能包含小写字母、数字和 . _ -",
			"the username must be %d to %d characters of lower-case letters, digits and . _ -", minUsername, maxUsername))
	}
	displayName = strings.TrimSpace(displayName)
	if displayName == "" {
		displayName = username
	}
	if n := utf8.RuneCountInString(displayName); n > maxDisplayName || !utf8.ValidString(displayName) || hasControl(displayName) {
		list = append(list, errs.Invalidf("display_name", "显示名称不能超过 %d 个字符，且不能含有不可见字符",
			"the display name must be at most %d characters, without control characters", maxDisplayName))
	}
	switch {
	case utf8.RuneCountInString(password) < MinPassword:
		list = append(list, errs.Invalidf("password", "密码至少需要 %d 个字符", "the password must have at least %d characters", MinPassword))
	case len(password) > maxPassword:
		list = append(list, errs.Invalidf("password", "密码不能超过 %d 字节", "the password must be at most %d bytes", maxPassword))
	case strings.EqualFold(password, username):
		list = append(list, errs.New(errs.Invalid, "password", "密码不能与用户名相同", "the password must not be the username"))
	}
	authority = uscc.Normalize(authority)
	switch role {
	case Operator:
		if authority != "" {
			list = append(list, errs.New(errs.Invalid, "authority", "平台运维账户不属于任何登记机关", "an operator account belongs to no authority"))
		}
	case Registrar, Issuer:
		if authority == "" {
			list = append(list, errs.New(errs.Invalid, "authority", "登记机关账户需要填写登记机关的统一社会信用代码", "a registrar account needs the credit code of its authority"))
		} else if err := uscc.Check(authority); err != nil {
			e := &errs.Error{Kind: errs.Invalid, Field: "authority", ZH: "登记机关统一社会信用代码无效", EN: "invalid credit code of the authority", Err: err}
			var p *uscc.Problem
			if errors.As(err, &p) {
				e.ZH += "：" + p.MessageZH()
				e.EN += ": " + p.MessageEN()
			}
			list = append(list, e)
		}
	case Department:
		list = append(list, validateDepartment(authority, client)...)
	default:
		list = append(list, errs.Invalidf("role", "角色应为 %s、%s 或 %s", "the role must be %s, %s or %s", Operator, Registrar, Issuer))
	}
	if err := list.Err(); err != nil {
		return nil, err
	}
	hash, err := passhash.Hash(password)
	if err != nil {
		return nil, fmt.Errorf("account: create: %w", err)
	}
	a := &Account{
		ID:           rand.Text(),
		Username:     username,
		DisplayName:  displayName,
		Role:         role,
		Authority:    authority,
		Client:       client,
		PasswordHash: hash,
		CreatedAt:    s.now(),
	}
	if err := s.st.CreateAccount(ctx, a); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, &errs.Error{Kind: errs.Conflict, Field: "username",
				ZH: fmt.Sprintf("用户名 %s 已被使用", username), EN: fmt.Sprintf("the username %s is taken", username), Err: err}
		}
		return nil, fmt.Errorf("account: create %s: %w", username, err)
	}
	return a, nil
}

// Account returns the account with this ID (errs.NotFound).
func (s *Service) Account(ctx context.Context, id string) (*Account, error) {
	a, err := s.st.AccountByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("account: %s: %w", id, err)
	}
	return a, nil
}

// Accounts lists every account.
func (s *Service) Accounts(ctx context.Context) ([]*Account, error) {
	as, err := s.st.ListAccounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("account: list: %w", err)
	}
	return as, nil
}

func errLogin() error {
	return errs.New(errs.Unauthenticated, "", "用户名或密码错误", "wrong username or password")
}

func errLocked(until time.Time) error {
	t := until.UTC().Format("2006-01-02 15:04:05 UTC")
	return &errs.Error{Kind: errs.TooMany,
		ZH: fmt.Sprintf("连续 %d 次登录失败，账户已锁定至 %s", MaxFailedLogins, t),
		EN: fmt.Sprintf("the account is locked after %d failed logins until %s", MaxFailedLogins, t)}
}

func errDisabled() error {
	return errs.New(errs.Forbidden, "", "账户已停用", "the account is disabled")
}

// Login checks a username and password. An unknown username and a wrong password give the same
// errs.Unauthenticated error after the same amount of work. After MaxFailedLogins consecutive
// failures the account is locked for LockDuration (errs.TooMany, with the unlock time); a
// success resets the count. A disabled account is refused (errs.Forbidden) once the password
// is right.
func (s *Service) Login(ctx context.Context, username, password string) (*Account, error) {
	username = normUsername(username)
	if !validUsername(username) || len(password) > maxPassword {
		s.burn(password)
		return nil, errLogin()
	}
	a, err := s.st.AccountByUsername(ctx, username)
	if errs.Is(err, errs.NotFound) {
		s.burn(password)
		return nil, errLogin()
	}
	if err != nil {
		return nil, fmt.Errorf("account: login: %w", err)
	}
	now := s.now()
	if now.Before(a.LockedUntil) {
		return nil, errLocked(a.LockedUntil)
	}
	if !passhash.Verify(a.PasswordHash, password) {
		failed, until := a.FailedLogins+1, time.Time{}
		if failed >= MaxFailedLogins {
			// The count starts again once the lock ends.
			failed, until = 0, now.Add(LockDuration)
		}
		if err := s.st.RecordLogin(ctx, a.ID, failed, until); err != nil {
			return nil, fmt.Errorf("account: login: %w", err)
		}
		if !until.IsZero() {
			return nil, errLocked(until)
		}
		return nil, errLogin()
	}
	if a.FailedLogins != 0 || !a.LockedUntil.IsZero() {
		if err := s.st.RecordLogin(ctx, a.ID, 0, time.Time{}); err != nil {
			return nil, fmt.Errorf("account: login: %w", err)
		}
		a.FailedLogins, a.LockedUntil = 0, time.Time{}
	}
	if a.Disabled {
		return nil, errDisabled()
	}
	return a, nil
}

// burn does the work of checking a password against a stored hash, so that a login for an
// unknown user takes as long as one with a wrong password.
func (s *Service) burn(password string) {
	s.dummyOnce.Do(func() {
		h, err := passhash.Hash(rand.Text())
		if err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		s.dummy = h
	})
	if len(password) > maxPassword {
		password = password[:maxPassword]
	}
	passhash.Verify(s.dummy, password)
}

// newSecret returns 32 random bytes, base64url-encoded.
func newSecret() string {
	var b [secretLen]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return b64.EncodeToString(b[:])
}

func wellFormedSecret(s string) bool {
	if len(s) != encodedSecretLen {
		return false
	}
	_, err := b64.DecodeString(s)
	return err == nil
}

func secretHash(s string) []byte {
	h := gm.SM3([]byte(s))
	return h[:]
}

// activeAccount returns the account id when it may hold a session or token.
func (s *Service) activeAccount(ctx context.Context, id string) (*Account, error) {
	a, err := s.st.AccountByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Disabled {
		return nil, errDisabled()
	}
	return a, nil
}

// NewSession starts a web session of SessionLifetime for the account. It returns the cookie
// value (shown once; only its SM3 hash is stored) and the session with its CSRF token.
func (s *Service) NewSession(ctx context.Context, accountID string) (string, *Session, error) {
	if _, err := s.activeAccount(ctx, accountID); err != nil {
		return "", nil, fmt.Errorf("account: new session: %w", err)
	}
	value := newSecret()
	now := s.now()
	sess := &Session{
		IDHash:    secretHash(value),
		AccountID: accountID,
		CSRF:      newSecret(),
		CreatedAt: now,
		ExpiresAt: now.Add(SessionLifetime),
	}
	if err := s.st.CreateSession(ctx, sess); err != nil {
		return "", nil, fmt.Errorf("account: new session: %w", err)
	}
	return value, sess, nil
}

func errSession() error {
	return errs.New(errs.Unauthenticated, "", "登录已失效，请重新登录", "your session has ended; please log in again")
}

// Session returns the account and session of a cookie value. A malformed, unknown or expired
// value is errs.Unauthenticated; a disabled account is errs.Forbidden.
func (s *Service) Session(ctx context.Context, cookieValue string) (*Account, *Session, error) {
	if !wellFormedSecret(cookieValue) {
		return nil, nil, errSession()
	}
	sess, err := s.st.SessionByHash(ctx, secretHash(cookieValue))
	if errs.Is(err, errs.NotFound) {
		return nil, nil, errSession()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("account: session: %w", err)
	}
	if !s.now().Before(sess.ExpiresAt) {
		return nil, nil, errSession()
	}
	a, err := s.activeAccount(ctx, sess.AccountID)
	if errs.Is(err, errs.NotFound) {
		return nil, nil, errSession()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("account: session: %w", err)
	}
	return a, sess, nil
}

// ValidCSRF reports whether token is the CSRF token of sess, in constant time.
func ValidCSRF(sess *Session, token string) bool {
	return sess != nil && sess.CSRF != "" && subtle.ConstantTimeCompare([]byte(sess.CSRF), []byte(token)) == 1
}

// EndSession ends the session of a cookie value (log out). Ending a session that does not exist
// is not an error.
func (s *Service) EndSession(ctx context.Context, cookieValue string) error {
	if !wellFormedSecret(cookieValue) {
		return nil
	}
	if err := s.st.DeleteSession(ctx, secretHash(cookieValue)); err != nil && !errs.Is(err, errs.NotFound) {
		return fmt.Errorf("account: end session: %w", err)
	}
	return nil
}

// NewToken creates an API token for the account: TokenPrefix followed by 32 random bytes in
// base64url. It is returned once; only its SM3 hash is stored. ttl 0 means no expiry.
func (s *Service) NewToken(ctx context.Context, accountID, name string, ttl time.Duration) (string, error) {
	var list errs.List
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n == 0 || n > maxTokenName || !utf8.ValidString(name) || hasControl(name) {
		list = append(list, errs.Invalidf("name", "令牌名称应为 1 至 %d 个字符", "the token name must be 1 to %d characters", maxTokenName))
	}
	if ttl < 0 {
		list = append(list, errs.New(errs.Invalid, "ttl", "有效期不能为负数", "the lifetime must not be negative"))
	}
	if err := list.Err(); err != nil {
		return "", err
	}
	if _, err := s.activeAccount(ctx, accountID); err != nil {
		return "", fmt.Errorf("account: new token: %w", err)
	}
	token := TokenPrefix + newSecret()
	now := s.now()
	t := &Token{Hash: secretHash(token), AccountID: accountID, Name: name, CreatedAt: now}
	if ttl > 0 {
		t.ExpiresAt = now.Add(ttl)
	}
	if err := s.st.CreateToken(ctx, t); err != nil {
		return "", fmt.Errorf("account: new token: %w", err)
	}
	return token, nil
}

func errToken() error {
	return errs.New(errs.Unauthenticated, "", "API 令牌无效或已过期", "the API token is invalid or has expired")
}

// AuthenticateToken returns the account of an API token. A malformed, unknown or expired token
// is errs.Unauthenticated; a disabled account is errs.Forbidden.
func (s *Service) AuthenticateToken(ctx context.Context, token string) (*Account, error) {
	secret, ok := strings.CutPrefix(token, TokenPrefix)
	if !ok || !wellFormedSecret(secret) {
		return nil, errToken()
	}
	t, err := s.st.TokenByHash(ctx, secretHash(token))
	if errs.Is(err, errs.NotFound) {
		return nil, errToken()
	}
	if err != nil {
		return nil, fmt.Errorf("account: token: %w", err)
	}
	if !t.ExpiresAt.IsZero() && !s.now().Before(t.ExpiresAt) {
		return nil, errToken()
	}
	a, err := s.activeAccount(ctx, t.AccountID)
	if errs.Is(err, errs.NotFound) {
		return nil, errToken()
	}
	if err != nil {
		return nil, fmt.Errorf("account: token: %w", err)
	}
	return a, nil
}
