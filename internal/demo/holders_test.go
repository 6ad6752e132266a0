package demo_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/demo"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/store"
)

// protector seals and hashes ID numbers; the licence and identity services share it, as in
// cmd/elicense.
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

// logSender fails the test if the demo's own service ever sends a code through the
// platform's Sender: Load must catch the codes itself.
type logSender struct{ t *testing.T }

func (s logSender) SendCode(context.Context, string, string, identity.Purpose) error {
	s.t.Error("Load sent a one-time code through the platform's Sender")
	return nil
}

// TestLoadHolders: with the identity service, Load gives the first active entities a holder
// who registered, is verified and has claimed the licence with a PIN derived from the secret;
// a second Load changes nothing and shows the same PINs.
func TestLoadHolders(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the demo register into a database")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "elicense.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	sealer, err := gm.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	ks := keys.NewService(db, sealer, nil)
	if err := ks.Init(ctx); err != nil {
		t.Fatal(err)
	}
	prot := protector{sealer: sealer, key: key}
	lic := license.NewService(license.Config{Store: db, Keys: ks, Protect: prot})
	cfg := identity.Config{Store: db, Licences: db, Protect: prot, Sender: logSender{t}}
	deps := demo.Deps{Keys: ks, Accounts: account.NewService(db, nil), Licences: lic, Identity: &cfg}
	opts := demo.Options{Seed: 7, N: 120, Holders: 6, Secret: []byte("data directory secret")}

	sum, err := demo.Load(ctx, deps, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Holders) != 6 {
		t.Fatalf("%d holders", len(sum.Holders))
	}
	ids := identity.NewService(cfg)
	for i, h := range sum.Holders {
		if !h.Created || h.PIN == "" || len(h.Phone) != 11 || !strings.HasPrefix(h.Phone, "1990000") || h.Name == "" {
			t.Errorf("holder %+v", h)
		}
		l, err := lic.Get(ctx, h.EntityCode)
		if err != nil || l.Status != license.Active || l.Face.Person != h.Name || l.Face.Name != h.EntityName {
			t.Errorf("holder %d: licence %+v %v", i, l, err)
		}
		p, err := db.PersonByPhone(ctx, h.Phone)
		if err != nil || p.RealNameVerifiedAt.IsZero() {
			t.Fatalf("holder %d: person %+v %v", i, p, err)
		}
		// The PIN shown confirms as the holder.
		id, err := ids.Authorize(ctx, p.ID, h.EntityCode, "", identity.Proof{Method: identity.MethodPIN, PIN: h.PIN})
		if err != nil || id.Role != identity.RoleHolder {
			t.Errorf("holder %d: PIN %s: %+v %v", i, h.PIN, id, err)
		}
	}

	again, err := demo.Load(ctx, deps, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !again.AlreadyLoaded || len(again.Holders) != 6 {
		t.Errorf("second load %+v", again)
	}
	for i, h := range again.Holders {
		if h.Created || h != (demo.Holder{Name: sum.Holders[i].Name, Phone: sum.Holders[i].Phone, EntityCode: sum.Holders[i].EntityCode,
			EntityName: sum.Holders[i].EntityName, PIN: sum.Holders[i].PIN}) {
			t.Errorf("second load, holder %+v, first %+v", h, sum.Holders[i])
		}
	}
	var out bytes.Buffer
	again.Print(&out)
	if !strings.Contains(out.String(), sum.Holders[0].Phone) || !strings.Contains(out.String(), "PIN "+sum.Holders[0].PIN) ||
		!strings.Contains(out.String(), "1 more") {
		t.Errorf("summary printed:\n%s", out.String())
	}

	// More holders later: the first six stay, more are added.
	opts.Holders = 8
	more, err := demo.Load(ctx, deps, opts)
	if err != nil || len(more.Holders) != 8 || more.Holders[5].Created || !more.Holders[7].Created || more.AlreadyLoaded {
		t.Errorf("load with more holders: %+v %v", more, err)
	}
}
