// Package webtest builds the platform's real services over a fresh SQLite database, for the web
// layer's HTTP tests, its browser test and its load benchmark. Nothing is faked: the store,
// keys, accounts, licences and the audit log are the ones cmd/elicense wires.
package webtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/store"
	"github.com/elicense/elicense/internal/uscc"
)

// Password is the password of every account the fixtures create.
const Password = "correct-horse-battery"

// PublicURL is the address the services are told they are reached at (QR codes in documents).
const PublicURL = "http://127.0.0.1"

// Clock is a settable clock; its zero value reads the real time.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the set time, or the real time when none is set.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		return time.Now().UTC()
	}
	return c.t
}

// Set fixes the clock at t (zero: real time again).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t.UTC()
	c.mu.Unlock()
}

// Env is a set of real services over one database.
type Env struct {
	DB        *store.DB
	Keys      *keys.Service
	Accounts  *account.Service
	Licenses  *license.Service
	Audit     *audit.Log
	Documents *document.Service
	Clock     *Clock
}

// Open creates the database file db.sqlite in dir and the services over it, with a fresh master
// key and platform keys.
func Open(ctx context.Context, dir string) (*Env, error) {
	return OpenWith(ctx, dir, store.Options{})
}

// OpenWith is Open with store options; the clock is always the Env's.
func OpenWith(ctx context.Context, dir string, opts store.Options) (*Env, error) {
	clock := &Clock{}
	opts.Clock = clock.Now
	db, err := store.Open(ctx, filepath.Join(dir, "db.sqlite"), opts)
	if err != nil {
		return nil, fmt.Errorf("webtest: %w", err)
	}
	master := make([]byte, 16)
	_, _ = rand.Read(master) // crypto/rand.Read never fails
	sealer, err := gm.NewSealer(master)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("webtest: %w", err)
	}
	e := &Env{DB: db, Clock: clock}
	e.Keys = keys.NewService(db, sealer, clock.Now)
	if err := e.Keys.Init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("webtest: %w", err)
	}
	platform, _, err := e.Keys.PlatformSigner(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("webtest: %w", err)
	}
	e.Audit = audit.NewLog(db, platform, clock.Now)
	e.Accounts = account.NewService(db, clock.Now)
	lookup := gm.HMACSM3(master, []byte("webtest person-id lookup"))
	e.Licenses = license.NewService(license.Config{Store: db, Keys: e.Keys, Clock: clock.Now,
		Protect: protector{sealer: sealer, key: lookup[:]}})
	e.Documents = document.NewService(document.Config{Keys: e.Keys, Licences: e.Licenses, Clock: clock.Now,
		PublicURL: PublicURL})
	return e, nil
}

// Close closes the database.
func (e *Env) Close() error { return e.DB.Close() }

// protector seals ID numbers with SM4 and hashes them with a keyed SM3, as cmd/elicense does.
type protector struct {
	sealer *gm.Sealer
	key    []byte
}

func (p protector) SealPersonID(id, code string) ([]byte, error) {
	return p.sealer.Seal([]byte(id), []byte("person-id:"+code))
}

func (p protector) HashPersonID(id string) []byte {
	h := gm.HMACSM3(p.key, []byte(id))
	return h[:]
}

// Authority registers a registering authority (登记机关) with its key and certificate.
func (e *Env) Authority(ctx context.Context, code, name, region string) (*keys.Authority, error) {
	return e.Keys.CreateAuthority(ctx, keys.Authority{Code: code, Name: name, Region: region})
}

// Account creates an account with Password and returns it with an API token of its own.
func (e *Env) Account(ctx context.Context, username string, role account.Role, authority string) (*account.Account, string, error) {
	a, err := e.Accounts.Create(ctx, username, username+" 测试", Password, role, authority)
	if err != nil {
		return nil, "", err
	}
	token, err := e.Accounts.NewToken(ctx, a.ID, "test", 0)
	if err != nil {
		return nil, "", err
	}
	return a, token, nil
}

// Code returns a valid unified social credit code for an entity of kind in the division, made
// unique by n.
func Code(kind license.Kind, division string, n int) string {
	category := byte('1')
	switch kind {
	case license.Individual:
		category = '2'
	case license.Cooperative:
		category = '3'
	}
	code, err := uscc.Generate('9', category, division, fmt.Sprintf("MA%06d", n%1_000_000))
	if err != nil {
		panic(err) // the arguments are always well formed
	}
	return code
}

// Registration returns a complete, valid registration of kind with this code and name.
func Registration(kind license.Kind, code, name string) license.Registration {
	f := license.Face{
		Name: name, Type: "有限责任公司（自然人投资或控股）", Person: "张三",
		EstablishedOn: "2015-03-18", Address: "浙江省杭州市西湖区文三路 90 号 301 室",
		Scope: "一般项目：技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广；软件开发。（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）",
	}
	switch kind {
	case license.Company:
		f.Capital = &license.Capital{Amount: "100", Currency: "CNY"}
		f.TermFrom, f.TermTo = "2015-03-18", license.LongTerm
	case license.Branch:
		f.Type = "有限责任公司分公司（自然人投资或控股）"
		f.TermFrom, f.TermTo = "2015-03-18", license.LongTerm
	case license.Partnership:
		f.Type = "有限合伙企业"
		f.TermFrom, f.TermTo = "2015-03-18", "2035-03-17"
	case license.SoleProprietorship:
		f.Type = "个人独资企业"
	case license.Individual:
		f.Type = "个体工商户"
		f.Form = license.FormPersonal
	case license.Cooperative:
		f.Type = "农民专业合作社"
		f.Capital = &license.Capital{Amount: "50", Currency: "CNY"}
		f.Scope = "组织采购、供应成员所需的生产资料；组织收购、销售成员生产的产品。"
	}
	return license.Registration{Code: code, Kind: kind, Face: f}
}
