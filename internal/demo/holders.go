package demo

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/license"
)

// DefaultHolders is how many demo entities get a holder who has claimed the licence. Claiming
// hashes a licence PIN with Argon2id (about 30 ms), so the demo claims the first 50 active
// licences rather than all of them; that keeps a first start quick and gives plenty to try.
const DefaultHolders = 50

// demoPhonePrefix starts the demo holders' phone numbers: 199 0000 0001, 199 0000 0002, … No
// SMS is ever sent to them (the demo's Sender writes codes to the log).
const demoPhonePrefix = "1990000"

// Holder is a demo person who registered, confirmed their phone and claimed the licence of an
// entity (领照), so that a new user can sign in to the wallet as them and try scan-to-login.
type Holder struct {
	Name       string // the person named on the licence
	Phone      string // the wallet sign-in phone number
	EntityCode string
	EntityName string
	PIN        string // the licence PIN; "" when it existed and cannot be derived
	Created    bool   // registered or claimed by this Load
}

// codeCatcher is the Sender of the demo's own identity service: it keeps the one-time codes
// for Load to type in, and sends nothing.
type codeCatcher struct {
	mu    sync.Mutex
	codes map[string]string // phone → last code
}

func (c *codeCatcher) SendCode(_ context.Context, phone, code string, _ identity.Purpose) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.codes[phone] = code
	return nil
}

func (c *codeCatcher) code(phone string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.codes[phone]
}

// finalState is the registration and status an entity has after all its steps.
func finalState(e *Entity) (license.Registration, license.Status) {
	reg, st := e.Registration, license.Active
	for _, s := range e.Steps {
		if s.Change != nil {
			reg, st = *s.Change, license.Active
			continue
		}
		st = actionStatus[s.Status]
	}
	return reg, st
}

// ensureHolders gives the first n active entities a holder: the person named on the current
// licence registers with a demo phone number (their real name is verified against the
// register at once), confirms it with the code the catcher kept, and claims the licence with a
// PIN derived from secret. What exists is left alone: a registered person is looked up by the
// hash of their ID number, and a licence someone claimed already is not claimed again.
func ensureHolders(ctx context.Context, cfg identity.Config, entities []Entity, n int, secret []byte) ([]Holder, error) {
	catcher := &codeCatcher{codes: map[string]string{}}
	cfg.Sender = catcher
	// The demo's registration codes are dated an hour and more back, so that they do not count
	// against the phone's send limits: a user who starts the demo signs in at once.
	now := cfg.Clock
	if now == nil {
		now = time.Now
	}
	cfg.Clock = func() time.Time { return now().Add(-identity.ResendInterval - time.Hour) }
	svc := identity.NewService(cfg)
	var out []Holder
	for i := range entities {
		if len(out) >= n {
			break
		}
		reg, st := finalState(&entities[i])
		if st != license.Active || reg.PersonID == "" {
			continue
		}
		h := Holder{Name: reg.Face.Person, Phone: fmt.Sprintf("%s%04d", demoPhonePrefix, len(out)+1),
			EntityCode: reg.Code, EntityName: reg.Face.Name}
		done, err := ensureHolder(ctx, cfg, svc, catcher, reg, &h, secret)
		if err != nil {
			return nil, err
		}
		if done {
			out = append(out, h)
		}
	}
	return out, nil
}

// ensureHolder registers and claims for one entity. It reports false, changing nothing, when
// the entity cannot get a demo holder (the phone number or the licence belongs to someone
// else, e.g. after a load with another seed).
func ensureHolder(ctx context.Context, cfg identity.Config, svc *identity.Service, catcher *codeCatcher,
	reg license.Registration, h *Holder, secret []byte) (bool, error) {
	p, err := cfg.Store.PersonByIDHash(ctx, cfg.Protect.HashPersonID(reg.PersonID))
	switch {
	case err == nil:
		h.Phone = p.Phone
	case errs.Is(err, errs.NotFound):
		pend, err := svc.Register(ctx, reg.Face.Person, reg.PersonID, h.Phone)
		if errs.Is(err, errs.Conflict) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("demo: register holder of %s: %w", reg.Code, err)
		}
		in, err := svc.ConfirmPhone(ctx, pend.CodeID, catcher.code(h.Phone))
		if err != nil {
			return false, fmt.Errorf("demo: confirm phone of the holder of %s: %w", reg.Code, err)
		}
		// The wallet session the confirmation opened is not needed.
		if err := svc.EndSession(ctx, in.Cookie); err != nil {
			return false, fmt.Errorf("demo: %w", err)
		}
		p, h.Created = in.Person, true
	default:
		return false, fmt.Errorf("demo: person of %s: %w", reg.Code, err)
	}

	holder, err := cfg.Store.Holder(ctx, reg.Code)
	switch {
	case err == nil && holder.PersonID == p.ID:
		if secret != nil {
			h.PIN, err = demoPIN(secret, reg.Code, p.Phone)
		}
		return true, err
	case err == nil:
		return false, nil
	case !errs.Is(err, errs.NotFound):
		return false, fmt.Errorf("demo: holder of %s: %w", reg.Code, err)
	}
	if h.PIN, err = demoPIN(secret, reg.Code, p.Phone); err != nil {
		return false, err
	}
	if _, err := svc.Claim(ctx, p.ID, reg.Code, h.PIN); err != nil {
		return false, fmt.Errorf("demo: claim %s: %w", reg.Code, err)
	}
	h.Created = true
	return true, nil
}

// demoPIN derives the licence PIN of a demo holding from the secret (random digits without
// one). Its first two digits are 83–99 and the next two 13–99, so it is never a date (a day,
// a month or a year 19xx/20xx first), the start of a GB 11643 ID number (a province code,
// 11–82) or the end of one (a day of birth): the licence PIN rules' refusals from the person's
// own data cannot hit it. Runs, repeats and the phone's last six digits are skipped here, so a
// given secret always yields the PIN the claim accepted.
func demoPIN(secret []byte, code, phone string) (string, error) {
	for try := 0; try < 20; try++ {
		var b []byte
		if secret != nil {
			h := gm.HMACSM3(secret, fmt.Appendf(nil, "elicense demo licence pin v1\x00%s\x00%d", code, try))
			b = h[:8]
		} else {
			b = make([]byte, 8)
			if _, err := rand.Read(b); err != nil {
				return "", fmt.Errorf("demo: pin: %w", err)
			}
		}
		v := binary.BigEndian.Uint64(b)
		pin := fmt.Sprintf("%02d%02d%02d", 83+v%17, 13+(v/17)%87, (v/17/87)%100)
		if !weak(pin, phone) {
			return pin, nil
		}
	}
	return "", fmt.Errorf("demo: no acceptable licence PIN for %s", code)
}

// weak reports the PINs the licence PIN rules refuse that demoPIN's digits do not rule out
// already: runs, repeats and the phone's last six digits.
func weak(pin, phone string) bool {
	same, up, down := true, true, true
	for i := 1; i < len(pin); i++ {
		same = same && pin[i] == pin[0]
		up = up && pin[i] == pin[i-1]+1
		down = down && pin[i] == pin[i-1]-1
	}
	return same || up || down || pin[:2] == pin[2:4] && pin[2:4] == pin[4:] || pin[:3] == pin[3:] ||
		len(phone) == 11 && pin == phone[5:]
}
