package account_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
)

// memStore is an in-memory account.Store.
type memStore struct {
	mu       sync.Mutex
	accounts map[string]account.Account
	sessions map[string]account.Session
	tokens   map[string]account.Token
}

func newMemStore() *memStore {
	return &memStore{accounts: map[string]account.Account{}, sessions: map[string]account.Session{}, tokens: map[string]account.Token{}}
}

func (m *memStore) CreateAccount(_ context.Context, a *account.Account) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range m.accounts {
		if b.Username == a.Username {
			return errs.Conflictf("用户名已存在", "username taken")
		}
	}
	m.accounts[a.ID] = *a
	return nil
}

func (m *memStore) AccountByID(_ context.Context, id string) (*account.Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, ok := m.accounts[id]; ok {
		return &a, nil
	}
	return nil, errs.NotFoundf("账户不存在", "no account %s", id)
}

func (m *memStore) AccountByUsername(_ context.Context, username string) (*account.Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.accounts {
		if a.Username == username {
			return &a, nil
		}
	}
	return nil, errs.NotFoundf("账户不存在", "no account %s", username)
}

func (m *memStore) RecordLogin(_ context.Context, id string, failed int, lockedUntil time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.accounts[id]
	if !ok {
		return errs.NotFoundf("账户不存在", "no account %s", id)
	}
	a.FailedLogins, a.LockedUntil = failed, lockedUntil
	m.accounts[id] = a
	return nil
}

func (m *memStore) ListAccounts(context.Context) ([]*account.Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*account.Account
	for _, a := range m.accounts {
		out = append(out, &a)
	}
	slices.SortFunc(out, func(x, y *account.Account) int { return strings.Compare(x.Username, y.Username) })
	return out, nil
}

func (m *memStore) CreateSession(_ context.Context, s *account.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[string(s.IDHash)] = *s
	return nil
}

// SessionByHash does not filter expired sessions: the service must not rely on the store's
// clock agreeing with its own.
func (m *memStore) SessionByHash(_ context.Context, hash []byte) (*account.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sessions[string(hash)]; ok {
		return &s, nil
	}
	return nil, errs.NotFoundf("会话不存在", "no session")
}

func (m *memStore) DeleteSession(_ context.Context, hash []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, string(hash))
	return nil
}

func (m *memStore) CreateToken(_ context.Context, t *account.Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens[string(t.Hash)] = *t
	return nil
}

func (m *memStore) TokenByHash(_ context.Context, hash []byte) (*account.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.tokens[string(hash)]; ok {
		return &t, nil
	}
	return nil, errs.NotFoundf("令牌不存在", "no token")
}

func (m *memStore) setDisabled(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.accounts[id]
	a.Disabled = true
	m.accounts[id] = a
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const (
	registrarCode = "11100000MB0143028R"
	goodPassword  = "correct horse battery"
)

func setup(t *testing.T) (*account.Service, *memStore, *clock) {
	t.Helper()
	st := newMemStore()
	c := &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	return account.NewService(st, c.now), st, c
}

func create(t *testing.T, s *account.Service, username string) *account.Account {
	t.Helper()
	a, err := s.Create(context.Background(), username, "张三", goodPassword, account.Registrar, registrarCode)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

var phcRE = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})$`)

func TestCreate(t *testing.T) {
	ctx := context.Background()
	s, _, c := setup(t)
	a, err := s.Create(ctx, "  Zhang.San ", "", goodPassword, account.Registrar, strings.ToLower(registrarCode))
	if err != nil {
		t.Fatal(err)
	}
	if a.Username != "zhang.san" || a.DisplayName != "zhang.san" || a.Role != account.Registrar || a.Authority != registrarCode || a.ID == "" || !a.CreatedAt.Equal(c.now()) {
		t.Errorf("created %+v", a)
	}
	// The stored password is an Argon2id PHC string with the OWASP parameters, and it is the
	// hash of the password (checked here with the library directly).
	m := phcRE.FindStringSubmatch(a.PasswordHash)
	if m == nil {
		t.Fatalf("password hash %q is not argon2id PHC with m=19456,t=2,p=1", a.PasswordHash)
	}
	salt, _ := base64.RawStdEncoding.DecodeString(m[1])
	key, _ := base64.RawStdEncoding.DecodeString(m[2])
	if !bytes.Equal(argon2.IDKey([]byte(goodPassword), salt, 2, 19456, 1, 32), key) {
		t.Error("stored hash is not Argon2id of the password")
	}
	if strings.Contains(a.PasswordHash, goodPassword) {
		t.Error("password stored in clear")
	}

	op, err := s.Create(ctx, "ops", "平台运维", goodPassword, account.Operator, "")
	if err != nil {
		t.Fatal(err)
	}
	if op.Authority != "" || op.PasswordHash == a.PasswordHash {
		t.Errorf("operator %+v", op)
	}
	if phcRE.FindStringSubmatch(op.PasswordHash)[1] == m[1] {
		t.Error("two hashes share a salt")
	}

	_, err = s.Create(ctx, "ZHANG.SAN", "", goodPassword, account.Operator, "")
	if e := errs.As(err); !errs.Is(err, errs.Conflict) || e.Field != "username" {
		t.Errorf("duplicate username = %v, want Conflict on username", err)
	}
	if as, _ := s.Accounts(ctx); len(as) != 2 {
		t.Errorf("Accounts = %d, want 2", len(as))
	}
	if got, err := s.Account(ctx, a.ID); err != nil || got.Username != "zhang.san" {
		t.Errorf("Account = %+v, %v", got, err)
	}
	if _, err := s.Account(ctx, "nope"); !errs.Is(err, errs.NotFound) {
		t.Errorf("Account(unknown) = %v", err)
	}
}

func TestCreateValidation(t *testing.T) {
	ctx := context.Background()
	s, st, _ := setup(t)
	tests := []struct {
		name              string
		username, display string
		password          string
		role              account.Role
		authority         string
		fields            []string
		contains          string
	}{
		{"short username", "ab", "", goodPassword, account.Operator, "", []string{"username"}, "3 to 64"},
		{"long username", strings.Repeat("a", 65), "", goodPassword, account.Operator, "", []string{"username"}, "3 to 64"},
		{"bad username", "zhang san", "", goodPassword, account.Operator, "", []string{"username"}, "lower-case"},
		{"chinese username", "张三丰", "", goodPassword, account.Operator, "", []string{"username"}, "lower-case"},
		{"short password", "zhangsan", "", "123456789", account.Operator, "", []string{"password"}, "at least 10"},
		{"password is username", "zhangsan12", "", "ZhangSan12", account.Operator, "", []string{"password"}, "username"},
		{"huge password", "zhangsan", "", strings.Repeat("x", 2000), account.Operator, "", []string{"password"}, "at most"},
		{"long display name", "zhangsan", strings.Repeat("张", 101), goodPassword, account.Operator, "", []string{"display_name"}, "at most 100"},
		{"unknown role", "zhangsan", "", goodPassword, "admin", "", []string{"role"}, "operator, registrar or issuer"},
		{"registrar without authority", "zhangsan", "", goodPassword, account.Registrar, "", []string{"authority"}, "needs"},
		{"issuer without department", "zhangsan", "", goodPassword, account.Issuer, "", []string{"authority"}, "needs"},
		{"registrar bad authority", "zhangsan", "", goodPassword, account.Registrar, "11100000MB0143028X", []string{"authority"}, "position 18"},
		{"operator with authority", "zhangsan", "", goodPassword, account.Operator, registrarCode, []string{"authority"}, "no authority"},
		{"all at once", "a", "", "short", account.Registrar, "", []string{"username", "password", "authority"}, "3 to 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Create(ctx, tt.username, tt.display, tt.password, tt.role, tt.authority)
			var list errs.List
			if !errs.Is(err, errs.Invalid) || !errors.As(err, &list) {
				t.Fatalf("err = %v, want an errs.List of Invalid", err)
			}
			var fields []string
			for _, e := range list {
				fields = append(fields, e.Field)
				if e.ZH == "" || e.EN == "" {
					t.Errorf("message missing a language: %+v", e)
				}
			}
			if !slices.Equal(fields, tt.fields) {
				t.Errorf("fields = %v, want %v", fields, tt.fields)
			}
			if !strings.Contains(list[0].EN, tt.contains) {
				t.Errorf("message %q does not contain %q", list[0].EN, tt.contains)
			}
		})
	}
	if len(st.accounts) != 0 {
		t.Errorf("invalid accounts were stored: %v", st.accounts)
	}
}

func TestLogin(t *testing.T) {
	ctx := context.Background()
	s, _, _ := setup(t)
	a := create(t, s, "zhangsan")

	got, err := s.Login(ctx, " ZhangSan ", goodPassword)
	if err != nil || got.ID != a.ID {
		t.Fatalf("Login = %+v, %v", got, err)
	}
	_, wrong := s.Login(ctx, "zhangsan", goodPassword+"!")
	_, unknown := s.Login(ctx, "lisi", goodPassword)
	_, malformed := s.Login(ctx, "李四", goodPassword)
	for _, err := range []error{wrong, unknown, malformed} {
		if !errs.Is(err, errs.Unauthenticated) {
			t.Fatalf("err = %v, want Unauthenticated", err)
		}
	}
	if *errs.As(wrong) != *errs.As(unknown) || *errs.As(wrong) != *errs.As(malformed) {
		t.Errorf("wrong password %+v and unknown user %+v are told apart", errs.As(wrong), errs.As(unknown))
	}
}

// An unknown username costs a password hash too, so response times do not reveal which
// usernames exist.
func TestLoginTiming(t *testing.T) {
	ctx := context.Background()
	s, _, _ := setup(t)
	create(t, s, "zhangsan")
	measure := func(user string) time.Duration {
		best := time.Hour
		for range 3 {
			start := time.Now()
			s.Login(ctx, user, "wrong password")
			best = min(best, time.Since(start))
		}
		return best
	}
	s.Login(ctx, "nobody", "warm up") // the dummy hash is made on first use
	wrong, unknown := measure("zhangsan"), measure("nobody")
	if unknown < wrong/3 {
		t.Errorf("unknown user took %s, wrong password %s", unknown, wrong)
	}
}

func TestLockout(t *testing.T) {
	ctx := context.Background()
	s, st, c := setup(t)
	a := create(t, s, "zhangsan")

	// A success resets the count.
	for range account.MaxFailedLogins - 1 {
		if _, err := s.Login(ctx, "zhangsan", "wrong password"); !errs.Is(err, errs.Unauthenticated) {
			t.Fatal(err)
		}
	}
	if _, err := s.Login(ctx, "zhangsan", goodPassword); err != nil {
		t.Fatal(err)
	}
	if st.accounts[a.ID].FailedLogins != 0 {
		t.Errorf("FailedLogins = %d after a success", st.accounts[a.ID].FailedLogins)
	}

	for i := range account.MaxFailedLogins - 1 {
		if _, err := s.Login(ctx, "zhangsan", "wrong password"); !errs.Is(err, errs.Unauthenticated) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	_, err := s.Login(ctx, "zhangsan", "wrong password")
	if !errs.Is(err, errs.TooMany) {
		t.Fatalf("failure %d = %v, want TooMany", account.MaxFailedLogins, err)
	}
	unlock := c.now().Add(15 * time.Minute)
	if e := errs.As(err); !strings.Contains(e.EN, "2026-03-01 08:15:00 UTC") || !strings.Contains(e.ZH, "2026-03-01 08:15:00 UTC") {
		t.Errorf("lock message %q / %q lacks the unlock time %s", e.EN, e.ZH, unlock)
	}
	if got := st.accounts[a.ID].LockedUntil; !got.Equal(unlock) {
		t.Errorf("LockedUntil = %s, want %s", got, unlock)
	}

	// While locked even the right password is refused.
	c.add(14 * time.Minute)
	if _, err := s.Login(ctx, "zhangsan", goodPassword); !errs.Is(err, errs.TooMany) {
		t.Errorf("right password while locked = %v, want TooMany", err)
	}
	c.add(time.Minute)
	got, err := s.Login(ctx, "zhangsan", goodPassword)
	if err != nil {
		t.Fatalf("after the lock: %v", err)
	}
	if got.FailedLogins != 0 || !got.LockedUntil.IsZero() || st.accounts[a.ID].FailedLogins != 0 || !st.accounts[a.ID].LockedUntil.IsZero() {
		t.Errorf("login state not reset: %+v", st.accounts[a.ID])
	}
}

func TestDisabledAccount(t *testing.T) {
	ctx := context.Background()
	s, st, _ := setup(t)
	a := create(t, s, "zhangsan")
	cookie, _, err := s.NewSession(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	token, err := s.NewToken(ctx, a.ID, "batch", 0)
	if err != nil {
		t.Fatal(err)
	}
	st.setDisabled(a.ID)

	if _, err := s.Login(ctx, "zhangsan", "wrong password"); !errs.Is(err, errs.Unauthenticated) {
		t.Errorf("wrong password on a disabled account = %v, want Unauthenticated", err)
	}
	if _, err := s.Login(ctx, "zhangsan", goodPassword); !errs.Is(err, errs.Forbidden) {
		t.Errorf("disabled login = %v, want Forbidden", err)
	}
	if _, _, err := s.Session(ctx, cookie); !errs.Is(err, errs.Forbidden) {
		t.Errorf("session of a disabled account = %v, want Forbidden", err)
	}
	if _, err := s.AuthenticateToken(ctx, token); !errs.Is(err, errs.Forbidden) {
		t.Errorf("token of a disabled account = %v, want Forbidden", err)
	}
	if _, _, err := s.NewSession(ctx, a.ID); !errs.Is(err, errs.Forbidden) {
		t.Errorf("new session for a disabled account = %v, want Forbidden", err)
	}
}

var secretRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

func TestSessions(t *testing.T) {
	ctx := context.Background()
	s, st, c := setup(t)
	a := create(t, s, "zhangsan")
	cookie, sess, err := s.NewSession(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !secretRE.MatchString(cookie) {
		t.Errorf("cookie value %q is not 32 bytes of base64url", cookie)
	}
	h := gm.SM3([]byte(cookie))
	if !bytes.Equal(sess.IDHash, h[:]) {
		t.Error("session is not stored under the SM3 hash of the cookie")
	}
	for k, v := range st.sessions {
		if strings.Contains(k, cookie) || v.CSRF == cookie {
			t.Error("cookie value stored")
		}
	}
	if !sess.ExpiresAt.Equal(c.now().Add(12*time.Hour)) || sess.AccountID != a.ID || !secretRE.MatchString(sess.CSRF) {
		t.Errorf("session %+v", sess)
	}

	got, gotSess, err := s.Session(ctx, cookie)
	if err != nil || got.ID != a.ID || gotSess.CSRF != sess.CSRF {
		t.Fatalf("Session = %+v %+v %v", got, gotSess, err)
	}
	if !account.ValidCSRF(gotSess, sess.CSRF) || account.ValidCSRF(gotSess, sess.CSRF[1:]) || account.ValidCSRF(gotSess, "") || account.ValidCSRF(nil, "x") {
		t.Error("ValidCSRF")
	}
	other, otherSess, _ := s.NewSession(ctx, a.ID)
	if other == cookie || otherSess.CSRF == sess.CSRF {
		t.Error("two sessions share a secret")
	}

	for _, bad := range []string{"", "x", cookie[:42], cookie + "A", strings.Repeat("A", 43), "elt_" + cookie} {
		if _, _, err := s.Session(ctx, bad); !errs.Is(err, errs.Unauthenticated) {
			t.Errorf("Session(%q) = %v, want Unauthenticated", bad, err)
		}
	}

	c.add(12*time.Hour - time.Second)
	if _, _, err := s.Session(ctx, cookie); err != nil {
		t.Errorf("session just before expiry: %v", err)
	}
	c.add(time.Second)
	if _, _, err := s.Session(ctx, cookie); !errs.Is(err, errs.Unauthenticated) {
		t.Errorf("expired session = %v, want Unauthenticated", err)
	}

	if err := s.EndSession(ctx, other); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Session(ctx, other); !errs.Is(err, errs.Unauthenticated) {
		t.Errorf("ended session = %v, want Unauthenticated", err)
	}
	if err := s.EndSession(ctx, other); err != nil {
		t.Errorf("ending twice: %v", err)
	}
	if err := s.EndSession(ctx, "garbage"); err != nil {
		t.Errorf("ending garbage: %v", err)
	}
	if _, _, err := s.NewSession(ctx, "nobody"); !errs.Is(err, errs.NotFound) {
		t.Errorf("session for an unknown account = %v, want NotFound", err)
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	s, st, c := setup(t)
	a := create(t, s, "zhangsan")
	forever, err := s.NewToken(ctx, a.ID, "bulk import", 0)
	if err != nil {
		t.Fatal(err)
	}
	day, err := s.NewToken(ctx, a.ID, "today", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{forever, day} {
		if !strings.HasPrefix(tok, "elt_") || !secretRE.MatchString(tok[4:]) {
			t.Errorf("token %q is not elt_ + 32 bytes of base64url", tok)
		}
		h := gm.SM3([]byte(tok))
		stored, ok := st.tokens[string(h[:])]
		if !ok {
			t.Fatalf("token not stored under its SM3 hash")
		}
		if stored.AccountID != a.ID {
			t.Errorf("stored token %+v", stored)
		}
	}
	if forever == day {
		t.Error("two tokens are the same")
	}
	for _, tok := range []string{forever, day} {
		if got, err := s.AuthenticateToken(ctx, tok); err != nil || got.ID != a.ID {
			t.Errorf("AuthenticateToken = %+v, %v", got, err)
		}
	}
	tampered := forever[:10] + string(forever[10]^1) + forever[11:]
	for _, bad := range []string{"", "elt_", forever[4:], "Bearer " + forever, tampered, forever + "x", "ELT_" + forever[4:]} {
		if _, err := s.AuthenticateToken(ctx, bad); !errs.Is(err, errs.Unauthenticated) {
			t.Errorf("AuthenticateToken(%q) = %v, want Unauthenticated", bad, err)
		}
	}

	c.add(24 * time.Hour)
	if _, err := s.AuthenticateToken(ctx, day); !errs.Is(err, errs.Unauthenticated) {
		t.Errorf("expired token = %v, want Unauthenticated", err)
	}
	c.add(10 * 365 * 24 * time.Hour)
	if _, err := s.AuthenticateToken(ctx, forever); err != nil {
		t.Errorf("token without expiry: %v", err)
	}

	for _, tt := range []struct {
		name  string
		ttl   time.Duration
		field string
	}{{"", 0, "name"}, {strings.Repeat("x", 101), 0, "name"}, {"ok", -time.Second, "ttl"}} {
		_, err := s.NewToken(ctx, a.ID, tt.name, tt.ttl)
		if e := errs.As(err); !errs.Is(err, errs.Invalid) || e.Field != tt.field {
			t.Errorf("NewToken(%q, %s) = %v, want Invalid on %s", tt.name, tt.ttl, err, tt.field)
		}
	}
	if _, err := s.NewToken(ctx, "nobody", "x", 0); !errs.Is(err, errs.NotFound) {
		t.Errorf("token for an unknown account = %v, want NotFound", err)
	}
}

// A stored hash with other parameters (for example made before the parameters were raised)
// still verifies, and a corrupt one matches nothing.
func TestStoredHashParameters(t *testing.T) {
	ctx := context.Background()
	s, st, _ := setup(t)
	a := create(t, s, "zhangsan")
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(goodPassword), salt, 3, 12288, 1, 32)
	set := func(h string) {
		st.mu.Lock()
		acc := st.accounts[a.ID]
		acc.PasswordHash = h
		st.accounts[a.ID] = acc
		st.mu.Unlock()
	}
	set("$argon2id$v=19$m=12288,t=3,p=1$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(key))
	if _, err := s.Login(ctx, "zhangsan", goodPassword); err != nil {
		t.Errorf("hash with other parameters: %v", err)
	}
	for _, h := range []string{"", "plain", "$argon2i$v=19$m=12288,t=3,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=99999999,t=3,p=1$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(key)} {
		set(h)
		if _, err := s.Login(ctx, "zhangsan", goodPassword); !errs.Is(err, errs.Unauthenticated) {
			t.Errorf("corrupt hash %q = %v, want Unauthenticated", h, err)
		}
		st.RecordLogin(ctx, a.ID, 0, time.Time{})
	}
}
