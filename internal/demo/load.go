package demo

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/license"
)

// AuthorityService creates registering authorities; *keys.Service is one.
type AuthorityService interface {
	CreateAuthority(ctx context.Context, a keys.Authority) (*keys.Authority, error)
}

// AccountService creates staff accounts; *account.Service is one.
type AccountService interface {
	Create(ctx context.Context, username, displayName, password string, role account.Role, authority string) (*account.Account, error)
}

// LicenceService issues and manages licences; *license.Service is one.
type LicenceService interface {
	IssueBatch(ctx context.Context, a license.Actor, regs []license.Registration) ([]license.Result, error)
	Change(ctx context.Context, a license.Actor, code string, prev int, reg license.Registration) (*license.Licence, error)
	SetStatus(ctx context.Context, a license.Actor, code string, ch license.StatusChange) (*license.Licence, error)
	Get(ctx context.Context, codeOrIdentifier string) (*license.Licence, error)
}

// Deps are the services Load works through; the keys service must be initialised (Init).
type Deps struct {
	Keys     AuthorityService
	Accounts AccountService
	Licences LicenceService
	// Identity, when set, is the configuration of the platform's identity service (the same
	// Store, Licences and Protect as the running one): Load then gives demo entities a holder
	// who has claimed the licence (see Options.Holders), through a service of its own whose
	// Sender keeps the one-time codes instead of sending them. Nil: no holders.
	Identity *identity.Config

	// @library

	// @consent

	// @notice

	// @catalog
	// Catalog, when set, gets the starter service catalogue (issue 6): 2 or more items for each
	// of the eight scenarios.
	Catalog CatalogService

	// @stats

	// @present

	// @sign
}

// Options configure Load.
type Options struct {
	Seed int64 // DefaultSeed when 0
	N    int   // number of entities; DefaultN when 0
	// Secret derives the demo accounts' passwords (HMAC-SM3), so a data directory keeps the
	// same passwords and they can be shown again on every start; use a secret of the data
	// directory such as one derived from its master key. Nil: random passwords, shown only by
	// the Load that creates the accounts.
	Secret []byte
	// Actor issues and manages the demo licences; Actor{ID: "demo", AnyAuthority: true} when
	// its ID is empty.
	Actor license.Actor
	// Holders is how many entities (the first active ones) get a demo holder when
	// Deps.Identity is set: DefaultHolders when 0, none when negative. The same Secret gives
	// the same licence PINs, so they can be shown on every start.
	Holders int
}

// Credential is a demo staff account and its password.
type Credential struct {
	Username      string
	Password      string // "" when the account existed and its password cannot be derived
	Role          account.Role
	Authority     string // credit code of a registrar's authority
	AuthorityName string
	Created       bool // created by this Load
}

// Summary says what Load did.
type Summary struct {
	Seed, Entities      int64
	AuthoritiesCreated  int
	AuthoritiesExisting int
	Accounts            []Credential
	Issued              int // licences issued by this Load
	AlreadyIssued       int // entities found already issued
	Changes             int // change registrations applied
	StatusChanges       int // suspensions, restorations, cancellations and revocations applied
	Skipped             int // entities whose licence was changed by someone else; left alone
	// Holders are the demo persons who claimed a licence (with Deps.Identity), in the order
	// of the entities.
	Holders []Holder
	// AlreadyLoaded is true when the demo data was there already and Load changed nothing.
	AlreadyLoaded bool
	Duration      time.Duration
}

// AdminUsername is the demo operator account.
const AdminUsername = "admin"

// RegistrarUsername is the demo registrar account of the authority in region: "reg-330106".
func RegistrarUsername(region string) string { return "reg-" + region }

const batchSize = 500

// Load puts the demo register into the platform: the registering authorities (with their SM2
// keys and certificates), an operator account "admin" and one registrar account per authority,
// the licences of Generate(opts.Seed, opts.N), and their change registrations and status
// actions. It is idempotent: what exists is recognised and left alone (an existing
// authority or account is kept, a licence issued before is Unchanged, and a step is applied
// only if the licence is in the state the step before it leaves), so running it again — or
// after an interrupted run — completes the register without duplicating anything.
func Load(ctx context.Context, deps Deps, opts Options) (*Summary, error) {
	start := time.Now()
	if opts.Seed == 0 {
		opts.Seed = DefaultSeed
	}
	if opts.N <= 0 {
		opts.N = DefaultN
	}
	if opts.Actor.ID == "" {
		opts.Actor = license.Actor{ID: "demo", AnyAuthority: true}
	}
	sum := &Summary{Seed: opts.Seed, Entities: int64(opts.N)}

	created, existing, err := EnsureAuthorities(ctx, deps.Keys, nil)
	if err != nil {
		return nil, err
	}
	sum.AuthoritiesCreated, sum.AuthoritiesExisting = created, existing

	if sum.Accounts, err = ensureAccounts(ctx, deps.Accounts, opts.Secret); err != nil {
		return nil, err
	}

	entities := Generate(opts.Seed, opts.N)
	for lo := 0; lo < len(entities); lo += batchSize {
		hi := min(lo+batchSize, len(entities))
		regs := make([]license.Registration, 0, hi-lo)
		for _, e := range entities[lo:hi] {
			regs = append(regs, e.Registration)
		}
		res, err := deps.Licences.IssueBatch(ctx, opts.Actor, regs)
		if err != nil {
			return nil, fmt.Errorf("demo: issue licences: %w", err)
		}
		for k, r := range res {
			switch {
			case r.Outcome == license.Issued:
				sum.Issued++
			case r.Outcome == license.Unchanged:
				sum.AlreadyIssued++
			case errs.Is(r.Err, errs.Conflict):
				// Issued before and changed since by a step of this register.
				sum.AlreadyIssued++
			default:
				return nil, fmt.Errorf("demo: issue licence of %s (%s): %w", regs[k].Code, regs[k].Face.Name, r.Err)
			}
		}
	}

	for _, e := range entities {
		if len(e.Steps) == 0 {
			continue
		}
		if err := applySteps(ctx, deps.Licences, opts.Actor, &e, sum); err != nil {
			return nil, err
		}
	}

	if n := opts.Holders; deps.Identity != nil && n >= 0 {
		if n == 0 {
			n = DefaultHolders
		}
		if sum.Holders, err = ensureHolders(ctx, *deps.Identity, entities, n, opts.Secret); err != nil {
			return nil, err
		}
	}

	created = sum.AuthoritiesCreated + sum.Issued + sum.Changes + sum.StatusChanges
	for _, c := range sum.Accounts {
		if c.Created {
			created++
		}
	}
	for _, h := range sum.Holders {
		if h.Created {
			created++
		}
	}
	sum.AlreadyLoaded = created == 0
	sum.Duration = time.Since(start)
	// @library

	// @consent

	// @notice

	// @catalog
	if deps.Catalog != nil {
		if _, err := deps.Catalog.LoadStarter(ctx, "demo"); err != nil {
			return nil, fmt.Errorf("demo: starter catalogue: %w", err)
		}
	}

	// @stats

	// @present

	// @sign

	return sum, nil
}

// EnsureAuthorities creates the registering authorities that do not exist yet (nil: the
// demo's own, see Authorities) and returns how many it created and how many existed.
func EnsureAuthorities(ctx context.Context, ks AuthorityService, authorities []keys.Authority) (created, existing int, err error) {
	if authorities == nil {
		authorities = Authorities()
	}
	for _, a := range authorities {
		_, err := ks.CreateAuthority(ctx, keys.Authority{Code: a.Code, Name: a.Name, Region: a.Region})
		switch {
		case err == nil:
			created++
		case errs.Is(err, errs.Conflict):
			existing++
		default:
			return created, existing, fmt.Errorf("demo: create authority %s: %w", a.Name, err)
		}
	}
	return created, existing, nil
}

func ensureAccounts(ctx context.Context, as AccountService, secret []byte) ([]Credential, error) {
	creds := []Credential{{Username: AdminUsername, Role: account.Operator}}
	for _, s := range authoritySpecs {
		creds = append(creds, Credential{Username: RegistrarUsername(s.at.code), Role: account.Registrar,
			Authority: authorityCode(s.at.code), AuthorityName: s.name})
	}
	for i := range creds {
		c := &creds[i]
		display := "演示平台管理员 Demo operator"
		if c.Role == account.Registrar {
			display = c.AuthorityName + "登记员"
		}
		pw, err := password(secret, c.Username)
		if err != nil {
			return nil, err
		}
		_, err = as.Create(ctx, c.Username, display, pw, c.Role, c.Authority)
		switch {
		case err == nil:
			c.Created, c.Password = true, pw
		case errs.Is(err, errs.Conflict):
			if secret != nil {
				c.Password = pw // the same secret made it, unless the account was made otherwise
			}
		default:
			return nil, fmt.Errorf("demo: create account %s: %w", c.Username, err)
		}
	}
	return creds, nil
}

// passwordAlphabet has no characters that are easily confused (0/o, 1/l/i).
const passwordAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// password makes a demo account's password: four groups of four characters, derived from the
// secret and the username, or random without a secret.
func password(secret []byte, username string) (string, error) {
	var b []byte
	if secret != nil {
		h := gm.HMACSM3(secret, []byte("elicense demo password v1\x00"+username))
		b = h[:16]
	} else {
		b = make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("demo: password: %w", err)
		}
	}
	var sb strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(passwordAlphabet[int(c)%len(passwordAlphabet)])
	}
	return sb.String(), nil
}

// state is what a step leaves a licence in.
type state struct {
	version int
	status  license.Status
	reason  string
}

var actionStatus = map[license.Action]license.Status{
	license.Suspend: license.Suspended, license.Restore: license.Active,
	license.Cancel: license.Cancelled, license.Revoke: license.Revoked,
}

// applySteps applies the steps of e that are not applied yet: it finds which step's result the
// current licence is in, and continues from there.
func applySteps(ctx context.Context, ls LicenceService, a license.Actor, e *Entity, sum *Summary) error {
	code := e.Registration.Code
	cur, err := ls.Get(ctx, code)
	if err != nil {
		return fmt.Errorf("demo: licence of %s: %w", code, err)
	}
	states := []state{{1, license.Active, ""}}
	for _, s := range e.Steps {
		last := states[len(states)-1]
		if s.Change != nil {
			states = append(states, state{last.version + 1, license.Active, ""})
		} else {
			states = append(states, state{last.version, actionStatus[s.Status], s.Reason})
		}
	}
	now := state{cur.Version, cur.Status, cur.StatusReason}
	done := -1
	for k := len(states) - 1; k >= 0; k-- {
		if states[k] == now {
			done = k
			break
		}
	}
	if done < 0 {
		sum.Skipped++
		return nil
	}
	version := cur.Version
	for _, s := range e.Steps[done:] {
		if s.Change != nil {
			l, err := ls.Change(ctx, a, code, version, *s.Change)
			if err != nil {
				return fmt.Errorf("demo: change registration of %s: %w", code, err)
			}
			version = l.Version
			sum.Changes++
			continue
		}
		if _, err := ls.SetStatus(ctx, a, code, license.StatusChange{Action: s.Status, Reason: s.Reason}); err != nil {
			return fmt.Errorf("demo: %s %s: %w", s.Status, code, err)
		}
		sum.StatusChanges++
	}
	return nil
}

// Print writes the summary for the console in zh-CN and English: what was loaded and the
// demo accounts with their passwords.
func (s *Summary) Print(w io.Writer) {
	if s.AlreadyLoaded {
		fmt.Fprintf(w, "演示数据已存在，未做改动 / demo data already loaded, nothing changed (seed %d, %d entities)\n", s.Seed, s.Entities)
	} else {
		fmt.Fprintf(w, "演示数据已载入 / demo data loaded (seed %d): %d 个登记机关/authorities created (%d existed), "+
			"%d 张执照/licences issued (%d existed), %d 次变更/changes, %d 次状态变化/status changes",
			s.Seed, s.AuthoritiesCreated, s.AuthoritiesExisting, s.Issued, s.AlreadyIssued, s.Changes, s.StatusChanges)
		if s.Skipped > 0 {
			fmt.Fprintf(w, ", %d 个被他人修改而跳过/skipped (changed by someone else)", s.Skipped)
		}
		fmt.Fprintf(w, " in %s\n", s.Duration.Round(time.Millisecond))
	}
	fmt.Fprintln(w, "演示账户 / demo accounts:")
	for _, c := range s.Accounts {
		pw := c.Password
		if pw == "" {
			pw = "（已存在，密码未知 / existed; password unknown）"
		}
		who := "平台管理员 operator"
		if c.Role == account.Registrar {
			who = c.AuthorityName
		}
		fmt.Fprintf(w, "  %-12s %-22s %s\n", c.Username, pw, who)
	}
	s.PrintHolders(w, 5)
}

// PrintHolders writes up to max demo holders for the console: how to sign in to the wallet as
// them and the licence PIN that confirms a scan-to-login.
func (s *Summary) PrintHolders(w io.Writer, max int) {
	if len(s.Holders) == 0 {
		return
	}
	fmt.Fprintf(w, "演示领照人 / demo licence holders (%d; wallet /wallet/: sign in with the phone number, "+
		"the one-time code is in this log marked [DEMO ONLY]; confirm logins with the licence PIN):\n", len(s.Holders))
	for i, h := range s.Holders {
		if i == max {
			fmt.Fprintf(w, "  … %d more\n", len(s.Holders)-max)
			break
		}
		pin := h.PIN
		if pin == "" {
			pin = "(unknown)"
		}
		fmt.Fprintf(w, "  %s  PIN %s  %s  %s %s\n", h.Phone, pin, h.Name, h.EntityCode, h.EntityName)
	}
}
