// Package oidctest builds the platform's real services with the OpenID Connect provider over
// a database (SQLite or PostgreSQL), for the provider's end-to-end tests and its load
// benchmark. Nothing is faked: store, keys, licences, identity, the provider and the web
// handler are the ones cmd/elicense wires; only one-time codes are captured instead of sent,
// and the clock can be set.
package oidctest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/citizen"
	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/identity/passkey"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/library"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/permitdoc"
	"github.com/elicense/elicense/internal/store"
	"github.com/elicense/elicense/internal/uscc"
	"github.com/elicense/elicense/internal/web"
)

// Clock is a settable clock; its zero value reads the real time.
type Clock struct {
	mu  sync.Mutex
	off time.Duration
}

// Now returns the real time shifted by the offset.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.off)
}

// Advance moves the clock forward by d (it keeps running).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// Reset returns to the real time.
func (c *Clock) Reset() {
	c.mu.Lock()
	c.off = 0
	c.mu.Unlock()
}

// Sender captures one-time codes instead of sending SMS.
type Sender struct {
	mu    sync.Mutex
	codes map[string]string // phone → last code
}

// SendCode records the code.
func (s *Sender) SendCode(_ context.Context, phone, code string, _ identity.Purpose) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.codes == nil {
		s.codes = map[string]string{}
	}
	s.codes[phone] = code
	return nil
}

// Code returns the last code sent to phone.
func (s *Sender) Code(phone string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codes[phone]
}

// Options configure an Env.
type Options struct {
	// DSN is the database: a postgres:// URL, or "" for a new SQLite file in Dir.
	DSN string
	Dir string
	// Master is the master key (16 bytes); processes sharing a database share it. Nil: random.
	Master []byte
	// Issuer is the platform's public URL (the provider's issuer).
	Issuer string
	// Logger defaults to one that discards everything.
	Logger *slog.Logger
	// Clock defaults to a new Clock.
	Clock *Clock
	// Sender defaults to a new Sender.
	Sender *Sender
}

// Env is one platform process: real services over one database, and its web handler.
type Env struct {
	DB        *store.DB
	Keys      *keys.Service
	Accounts  *account.Service
	Licenses  *license.Service
	Audit     *audit.Log
	Documents *document.Service
	Identity  *identity.Service
	OIDC      *oidc.Provider
	Handler   http.Handler
	Clock     *Clock
	Sender    *Sender
	Master    []byte
	Issuer    string
}

// Open builds the services and the web handler.
func Open(ctx context.Context, o Options) (*Env, error) {
	if o.Clock == nil {
		o.Clock = &Clock{}
	}
	if o.Sender == nil {
		o.Sender = &Sender{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Master == nil {
		o.Master = make([]byte, 16)
		_, _ = rand.Read(o.Master) // crypto/rand.Read never fails
	}
	dsn := o.DSN
	if dsn == "" {
		if o.Dir == "" {
			return nil, errors.New("oidctest: Dir or DSN is required")
		}
		dsn = filepath.Join(o.Dir, "db.sqlite")
	}
	db, err := store.Open(ctx, dsn, store.Options{Clock: o.Clock.Now})
	if err != nil {
		return nil, fmt.Errorf("oidctest: %w", err)
	}
	e := &Env{DB: db, Clock: o.Clock, Sender: o.Sender, Master: o.Master, Issuer: o.Issuer}
	if err := e.wire(ctx, o); err != nil {
		db.Close()
		return nil, err
	}
	return e, nil
}

func (e *Env) wire(ctx context.Context, o Options) error {
	sealer, err := gm.NewSealer(o.Master)
	if err != nil {
		return fmt.Errorf("oidctest: %w", err)
	}
	e.Keys = keys.NewService(e.DB, sealer, e.Clock.Now)
	if err := e.Keys.Init(ctx); err != nil {
		return fmt.Errorf("oidctest: %w", err)
	}
	platform, _, err := e.Keys.PlatformSigner(ctx)
	if err != nil {
		return fmt.Errorf("oidctest: %w", err)
	}
	e.Audit = audit.NewLog(e.DB, platform, e.Clock.Now)
	e.Accounts = account.NewService(e.DB, e.Clock.Now)
	lookup := gm.HMACSM3(o.Master, []byte("elicense person-id lookup key v1"))
	prot := Protector{sealer: sealer, key: lookup[:]}
	e.Licenses = license.NewService(license.Config{Store: e.DB, Keys: e.Keys, Clock: e.Clock.Now, Protect: prot})
	// As cmd/elicense does, the verifier checks permits against the licence library (any
	// library.Service over the same database sees the permits a test issues).
	lib := library.NewService(library.Config{Store: e.DB, Keys: e.Keys, Licences: e.Licenses, Clock: e.Clock.Now})
	e.Documents = document.NewService(document.Config{Keys: e.Keys, Licences: e.Licenses, Clock: e.Clock.Now, PublicURL: o.Issuer,
		Permits: permitdoc.Source{Library: lib, Clock: e.Clock.Now}})
	if e.OIDC, err = oidc.New(ctx, oidc.Config{Store: e.DB, Keys: e.DB, Sealer: sealer, Issuer: o.Issuer,
		Logger: o.Logger, Clock: e.Clock.Now}); err != nil {
		return err
	}
	pk, err := passkey.New(passkey.Config{Origins: []string{o.Issuer}})
	if err != nil {
		return err
	}
	subjectKey := gm.HMACSM3(o.Master, []byte("elicense pairwise subject key v1"))
	e.Identity = identity.NewService(identity.Config{Store: e.DB, Licences: e.DB, Protect: prot, Sender: e.Sender,
		Revoker: e.OIDC, Passkeys: pk, SubjectKey: subjectKey[:], Clock: e.Clock.Now})
	e.OIDC.SetIdentity(e.Identity)
	e.Handler, err = web.New(web.Deps{Licenses: e.Licenses, Keys: e.Keys, Accounts: e.Accounts, Audit: e.Audit,
		Documents: e.Documents, Identity: e.Identity, OIDC: e.OIDC, DB: e.DB, Logger: o.Logger, Clock: e.Clock.Now,
		PublicURL: o.Issuer})
	return err
}

// Close closes the database.
func (e *Env) Close() error { return e.DB.Close() }

// Protector seals ID numbers with SM4 and hashes them with a keyed SM3, as cmd/elicense does.
type Protector struct {
	sealer *gm.Sealer
	key    []byte
}

// SealPersonID encrypts id bound to code.
func (p Protector) SealPersonID(id, code string) ([]byte, error) {
	return p.sealer.Seal([]byte(id), []byte("person-id:"+code))
}

// HashPersonID is the keyed hash of id.
func (p Protector) HashPersonID(id string) []byte {
	h := gm.HMACSM3(p.key, []byte(id))
	return h[:]
}

// IDNumber completes 17 digits with their GB 11643 check character.
func IDNumber(first17 string) string {
	c, err := citizen.CheckChar(first17)
	if err != nil {
		panic(err)
	}
	return first17 + string(c)
}

// Holder is a person who claimed an entity's licence, with what the tests need to act as them.
type Holder struct {
	PersonID string
	Name     string
	IDNumber string
	Phone    string
	Code     string // the entity's credit code
	Entity   string // the entity's name
	PIN      string // the licence PIN
	// Wallet is the wallet session cookie value of the registration's sign-in (for the
	// phone's JSON requests), CSRF its token.
	Wallet, CSRF string
}

// Entity issues a company licence naming a person (name, ID number) as legal representative,
// registers that person with phone and has them claim it with pin. n makes the credit code
// unique; the platform needs one authority, created on first use.
func (e *Env) Entity(ctx context.Context, n int, name, idNumber, phone, pin string) (*Holder, error) {
	auth, err := uscc.Generate('1', '1', "330106", "MB000000")
	if err != nil {
		return nil, err
	}
	if _, err := e.Keys.Authority(ctx, auth); err != nil {
		_, err := e.Keys.CreateAuthority(ctx, keys.Authority{Code: auth, Name: "杭州市西湖区市场监督管理局", Region: "330106"})
		if err != nil && !errs.Is(err, errs.Conflict) {
			return nil, fmt.Errorf("oidctest: authority: %w", err)
		}
	}
	code, err := uscc.Generate('9', '1', "330106", fmt.Sprintf("MA%06d", n%1_000_000))
	if err != nil {
		return nil, err
	}
	entity := fmt.Sprintf("杭州示例科技有限公司%d", n)
	reg := license.Registration{Code: code, Kind: license.Company, PersonID: idNumber, Face: license.Face{
		Name: entity, Type: "有限责任公司（自然人投资或控股）", Person: name,
		Capital: &license.Capital{Amount: "100", Currency: "CNY"}, EstablishedOn: "2015-03-18",
		TermFrom: "2015-03-18", TermTo: license.LongTerm, Address: "浙江省杭州市西湖区文三路 90 号 301 室",
		Scope: "一般项目：技术服务、技术开发、技术咨询。（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）"}}
	if _, err := e.Licenses.Issue(ctx, license.Actor{ID: "oidctest", Authority: auth}, reg); err != nil {
		return nil, fmt.Errorf("oidctest: issue: %w", err)
	}
	in, err := e.Person(ctx, name, idNumber, phone)
	if err != nil {
		return nil, err
	}
	if _, err := e.Identity.Claim(ctx, in.Person.ID, code, pin); err != nil {
		return nil, fmt.Errorf("oidctest: claim: %w", err)
	}
	return &Holder{PersonID: in.Person.ID, Name: name, IDNumber: idNumber, Phone: phone, Code: code, Entity: entity, PIN: pin,
		Wallet: in.Cookie, CSRF: in.Session.CSRF}, nil
}

// Person registers a person and confirms their phone with the captured code.
func (e *Env) Person(ctx context.Context, name, idNumber, phone string) (*identity.SignIn, error) {
	p, err := e.Identity.Register(ctx, name, idNumber, phone)
	if err != nil {
		return nil, fmt.Errorf("oidctest: register: %w", err)
	}
	in, err := e.Identity.ConfirmPhone(ctx, p.CodeID, e.Sender.Code(identity.NormalizePhone(phone)))
	if err != nil {
		return nil, fmt.Errorf("oidctest: confirm phone: %w", err)
	}
	return in, nil
}
