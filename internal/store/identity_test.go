package store

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/citizen"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/identity/passkey"
	"github.com/elicense/elicense/internal/identity/passkey/passkeytest"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/uscc"
)

// The identity storage (identity.Store, identity.LicenceFinder) on both databases: the
// compare-and-set transitions and counted attempts under concurrency, then the real
// identity.Service end to end over the store.

// idEvent is an audit event of the identity service.
func idEvent(action, subject string, at time.Time) audit.Event {
	return audit.Event{Time: at, Action: action, Actor: "person:test", Subject: subject, Data: []byte(`{}`)}
}

// testPerson returns a person to store, the n-th of the test.
func testPerson(n int, at time.Time) *identity.Person {
	h := gm.SM3([]byte(fmt.Sprint("id number ", n)))
	return &identity.Person{
		ID: fmt.Sprintf("PERSON%020d", n), Name: fmt.Sprint("测试", n), IDNumberHash: h[:],
		IDNumberSealed: []byte(fmt.Sprint("sealed ", n)), Phone: fmt.Sprintf("139%08d", n),
		PhoneVerifiedAt: at, WeakPINs: [][]byte{[]byte("weak-1-" + fmt.Sprint(n)), []byte("weak-2")}, CreatedAt: at,
	}
}

// registrationCode returns a registration code carrying p.
func registrationCode(id string, p *identity.Person, at time.Time) *identity.PhoneCode {
	return &identity.PhoneCode{ID: id, Purpose: identity.PurposeRegister, Phone: p.Phone, Hash: []byte("hash of " + id),
		SentAt: at, ExpiresAt: at.Add(5 * time.Minute), Person: p}
}

// addPerson stores p as ConfirmPhone does: a registration code, then CreatePerson.
func addPerson(t *testing.T, db *DB, p *identity.Person) {
	t.Helper()
	c := registrationCode("CODE-"+p.ID, p, p.CreatedAt)
	if err := db.CreatePhoneCode(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := db.CreatePerson(ctx, p, c.ID, idEvent("identity.register", p.ID, p.CreatedAt)); err != nil {
		t.Fatal(err)
	}
}

// actions returns the actions of the audit events, in order.
func actions(t *testing.T, db *DB) []string {
	t.Helper()
	var out []string
	if err := db.Scan(ctx, 1, func(e *audit.Event) error { out = append(out, e.Action); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestIdentityPersonsAndCodes(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		now := d.clock.Now()
		p := testPerson(1, now)
		p.RealNameVerifiedAt = now.Add(-time.Second)
		c := registrationCode("CODE-1", p, now)
		if err := d.CreatePhoneCode(ctx, c); err != nil {
			t.Fatal(err)
		}
		wantKind(t, d.CreatePhoneCode(ctx, c), errs.Conflict)
		got, err := d.PhoneCode(ctx, c.ID)
		if err != nil || !reflect.DeepEqual(got, c) {
			t.Fatalf("PhoneCode = %+v (person %+v), %v; want %+v (person %+v)", got, got.Person, err, c, c.Person)
		}
		_, err = d.PhoneCode(ctx, "NOPE")
		wantKind(t, err, errs.NotFound)
		login := &identity.PhoneCode{ID: "CODE-2", Purpose: identity.PurposeLogin, Phone: p.Phone, Hash: []byte("h2"),
			SentAt: now.Add(time.Minute), ExpiresAt: now.Add(6 * time.Minute)}
		if err := d.CreatePhoneCode(ctx, login); err != nil {
			t.Fatal(err)
		}
		if got, err := d.PhoneCode(ctx, login.ID); err != nil || !reflect.DeepEqual(got, login) {
			t.Fatalf("login code = %+v, %v", got, err)
		}
		sent, err := d.RecentPhoneCodes(ctx, p.Phone, now)
		if err != nil || len(sent) != 2 || !sent[0].Equal(now) || !sent[1].Equal(now.Add(time.Minute)) {
			t.Errorf("RecentPhoneCodes = %v, %v", sent, err)
		}
		if sent, err := d.RecentPhoneCodes(ctx, p.Phone, now.Add(time.Second)); err != nil || len(sent) != 1 {
			t.Errorf("RecentPhoneCodes since later = %v, %v", sent, err)
		}
		if sent, err := d.RecentPhoneCodes(ctx, "13800000000", now); err != nil || len(sent) != 0 {
			t.Errorf("RecentPhoneCodes of another phone = %v, %v", sent, err)
		}

		// Tries are counted.
		for i := 1; i <= 3; i++ {
			got, err := d.TryPhoneCode(ctx, login.ID)
			if err != nil || got.Tries != i || got.Phone != p.Phone {
				t.Fatalf("TryPhoneCode #%d = %+v, %v", i, got, err)
			}
		}
		_, err = d.TryPhoneCode(ctx, "NOPE")
		wantKind(t, err, errs.NotFound)
		if err := d.UsePhoneCode(ctx, login.ID, now); err != nil {
			t.Fatal(err)
		}
		wantKind(t, d.UsePhoneCode(ctx, login.ID, now), errs.Conflict)
		wantKind(t, d.UsePhoneCode(ctx, "NOPE", now), errs.NotFound)
		if got, _ := d.PhoneCode(ctx, login.ID); !got.UsedAt.Equal(now) || got.Tries != 3 {
			t.Errorf("used code %+v", got)
		}

		// The person is created with the code marked used, and the event logged.
		base := auditRows(t, d.DB)
		_, err = d.Person(ctx, p.ID)
		wantKind(t, err, errs.NotFound)
		wantKind(t, d.CreatePerson(ctx, p, "NOPE", idEvent("identity.register", p.ID, now)), errs.NotFound)
		if err := d.CreatePerson(ctx, p, c.ID, idEvent("identity.register", p.ID, now)); err != nil {
			t.Fatal(err)
		}
		for _, get := range []func() (*identity.Person, error){
			func() (*identity.Person, error) { return d.Person(ctx, p.ID) },
			func() (*identity.Person, error) { return d.PersonByIDHash(ctx, p.IDNumberHash) },
			func() (*identity.Person, error) { return d.PersonByPhone(ctx, p.Phone) },
		} {
			got, err := get()
			if err != nil || !reflect.DeepEqual(got, p) {
				t.Fatalf("stored person = %+v, %v; want %+v", got, err, p)
			}
		}
		if got, _ := d.PhoneCode(ctx, c.ID); !got.UsedAt.Equal(p.CreatedAt) {
			t.Errorf("registration code not used: %+v", got)
		}
		if n := auditRows(t, d.DB); n != base+1 {
			t.Errorf("%d events after CreatePerson, want %d", n, base+1)
		}
		// The same code cannot create a second person.
		e := wantKind(t, d.CreatePerson(ctx, testPerson(2, now), c.ID, idEvent("identity.register", "x", now)), errs.Conflict)
		if e.Field != "code" {
			t.Errorf("used code: field %q", e.Field)
		}

		// A registered ID number or phone: conflict naming the field, the code stays unused and
		// nothing is logged.
		for i, mut := range []func(q *identity.Person) string{
			func(q *identity.Person) string { q.IDNumberHash = p.IDNumberHash; return "id_number" },
			func(q *identity.Person) string { q.Phone = p.Phone; return "phone" },
			func(q *identity.Person) string { q.ID = p.ID; return "id" },
		} {
			q := testPerson(10+i, now)
			field := mut(q)
			qc := registrationCode(fmt.Sprint("CODE-DUP-", i), q, now)
			if err := d.CreatePhoneCode(ctx, qc); err != nil {
				t.Fatal(err)
			}
			e := wantKind(t, d.CreatePerson(ctx, q, qc.ID, idEvent("identity.register", q.ID, now)), errs.Conflict)
			if e.Field != field {
				t.Errorf("duplicate %s: field %q (%v)", field, e.Field, e)
			}
			if got, _ := d.PhoneCode(ctx, qc.ID); !got.UsedAt.IsZero() {
				t.Errorf("duplicate %s: the code was marked used", field)
			}
		}
		if n := auditRows(t, d.DB); n != base+1 {
			t.Errorf("%d events after refused creations, want %d", n, base+1)
		}

		// Real-name verification.
		at := now.Add(time.Hour)
		if err := d.SetRealName(ctx, p.ID, at, idEvent("identity.real_name", p.ID, at)); err != nil {
			t.Fatal(err)
		}
		wantKind(t, d.SetRealName(ctx, "NOPE", at, idEvent("identity.real_name", "x", at)), errs.NotFound)
		if got, _ := d.Person(ctx, p.ID); !got.RealNameVerifiedAt.Equal(at) {
			t.Errorf("RealNameVerifiedAt = %v", got.RealNameVerifiedAt)
		}
		if n := checkChain(t, d.DB); n != base+2 {
			t.Errorf("%d events, want %d", n, base+2)
		}

		// Housekeeping: a new code removes those sent more than a day before it.
		later := &identity.PhoneCode{ID: "CODE-LATER", Purpose: identity.PurposeLogin, Phone: p.Phone, Hash: []byte("h"),
			SentAt: now.Add(25 * time.Hour), ExpiresAt: now.Add(25*time.Hour + 5*time.Minute)}
		if err := d.CreatePhoneCode(ctx, later); err != nil {
			t.Fatal(err)
		}
		_, err = d.PhoneCode(ctx, c.ID)
		wantKind(t, err, errs.NotFound)
		if _, err := d.PhoneCode(ctx, later.ID); err != nil {
			t.Error(err)
		}
	})
}

// Concurrent attempts at one code each get their own count, across processes.
func TestIdentityConcurrentCodeTries(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		now := d.clock.Now()
		c := &identity.PhoneCode{ID: "CODE", Purpose: identity.PurposeLogin, Phone: "13900000001", Hash: []byte("h"),
			SentAt: now, ExpiresAt: now.Add(5 * time.Minute)}
		if err := d.CreatePhoneCode(ctx, c); err != nil {
			t.Fatal(err)
		}
		handles := []*DB{d.DB, d.open(t)}
		const n = 24
		tries := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := handles[i%2].TryPhoneCode(ctx, c.ID)
				if err != nil {
					t.Error(err)
					return
				}
				tries[i] = got.Tries
			}()
		}
		wg.Wait()
		sort.Ints(tries)
		for i, v := range tries {
			if v != i+1 {
				t.Fatalf("concurrent tries got counts %v, want 1…%d each once", tries, n)
			}
		}
	})
}

func TestIdentitySessionsDevicesCeremonies(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		now := d.clock.Now()
		p, other := testPerson(1, now), testPerson(2, now)
		addPerson(t, d.DB, p)
		addPerson(t, d.DB, other)

		// Devices.
		d1 := &identity.Device{ID: "DEV1", PersonID: p.ID, Name: "我的手机", CredentialID: []byte("cred-1"),
			PublicKey: []byte("cose-1"), SignCount: 7, AAGUID: bytes.Repeat([]byte{1}, 16), Record: []byte(`{"r":1}`), CreatedAt: now}
		d2 := &identity.Device{ID: "DEV2", PersonID: p.ID, Name: "平板", CredentialID: []byte("cred-2"),
			PublicKey: []byte("cose-2"), CreatedAt: now.Add(time.Minute)}
		base := auditRows(t, d.DB)
		for _, dv := range []*identity.Device{d2, d1} {
			if err := d.AddDevice(ctx, dv, idEvent("identity.device_add", p.ID, now)); err != nil {
				t.Fatal(err)
			}
		}
		dup := *d1
		dup.ID = "DEV3"
		e := wantKind(t, d.AddDevice(ctx, &dup, idEvent("identity.device_add", p.ID, now)), errs.Conflict)
		if e.Field != "credential_id" {
			t.Errorf("duplicate credential: field %q", e.Field)
		}
		dup = *d1
		dup.CredentialID = []byte("cred-3")
		e = wantKind(t, d.AddDevice(ctx, &dup, idEvent("identity.device_add", p.ID, now)), errs.Conflict)
		if e.Field != "id" {
			t.Errorf("duplicate device ID: field %q", e.Field)
		}
		dup.ID, dup.PersonID = "DEV4", "NOBODY"
		wantKind(t, d.AddDevice(ctx, &dup, idEvent("identity.device_add", p.ID, now)), errs.NotFound)
		if n := auditRows(t, d.DB); n != base+2 {
			t.Errorf("%d events after adding devices, want %d", n, base+2)
		}
		devs, err := d.Devices(ctx, p.ID)
		if err != nil || len(devs) != 2 || !reflect.DeepEqual(devs[0], d1) || !reflect.DeepEqual(devs[1], d2) {
			t.Fatalf("Devices = %+v, %v", devs, err)
		}
		if devs, err := d.Devices(ctx, other.ID); err != nil || len(devs) != 0 {
			t.Errorf("Devices of another person = %v, %v", devs, err)
		}
		if err := d.UseDevice(ctx, d1.ID, 8, []byte(`{"r":2}`), now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		wantKind(t, d.UseDevice(ctx, "NOPE", 1, nil, now), errs.NotFound)
		devs, _ = d.Devices(ctx, p.ID)
		if devs[0].SignCount != 8 || string(devs[0].Record) != `{"r":2}` || !devs[0].LastUsedAt.Equal(now.Add(time.Hour)) {
			t.Errorf("used device %+v", devs[0])
		}

		// Wallet sessions; removing a device ends the sessions it opened, and only those.
		s1 := &identity.Session{IDHash: []byte("sess-1"), PersonID: p.ID, DeviceID: d1.ID, CSRF: "csrf1",
			RealNameAt: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		s2 := &identity.Session{IDHash: []byte("sess-2"), PersonID: p.ID, CSRF: "csrf2", CreatedAt: now, ExpiresAt: now.Add(2 * time.Hour)}
		for _, s := range []*identity.Session{s1, s2} {
			if err := d.CreateWalletSession(ctx, s); err != nil {
				t.Fatal(err)
			}
			got, err := d.WalletSessionByHash(ctx, s.IDHash)
			if err != nil || !reflect.DeepEqual(got, s) {
				t.Errorf("WalletSessionByHash = %+v, %v; want %+v", got, err, s)
			}
		}
		wantKind(t, d.CreateWalletSession(ctx, s1), errs.Conflict)
		wantKind(t, d.CreateWalletSession(ctx, &identity.Session{IDHash: []byte("x"), PersonID: "NOBODY", CreatedAt: now, ExpiresAt: now}), errs.NotFound)
		_, err = d.WalletSessionByHash(ctx, []byte("unknown"))
		wantKind(t, err, errs.NotFound)

		wantKind(t, d.RemoveDevice(ctx, other.ID, d1.ID, now, idEvent("identity.device_remove", other.ID, now)), errs.NotFound)
		base = auditRows(t, d.DB)
		if err := d.RemoveDevice(ctx, p.ID, d1.ID, now, idEvent("identity.device_remove", p.ID, now)); err != nil {
			t.Fatal(err)
		}
		wantKind(t, d.RemoveDevice(ctx, p.ID, d1.ID, now, idEvent("identity.device_remove", p.ID, now)), errs.NotFound)
		if n := auditRows(t, d.DB); n != base+1 {
			t.Errorf("%d events after removing a device, want %d", n, base+1)
		}
		_, err = d.WalletSessionByHash(ctx, s1.IDHash)
		wantKind(t, err, errs.NotFound)
		if _, err := d.WalletSessionByHash(ctx, s2.IDHash); err != nil {
			t.Errorf("the session not opened with the device: %v", err)
		}
		devs, _ = d.Devices(ctx, p.ID)
		if len(devs) != 1 || devs[0].ID != d2.ID {
			t.Errorf("Devices after removal = %+v", devs)
		}
		// A removed device can no longer record a sign-in, nor be bound again.
		wantKind(t, d.UseDevice(ctx, d1.ID, 9, nil, now), errs.NotFound)
		dup = *d1
		dup.ID = "DEV5"
		wantKind(t, d.AddDevice(ctx, &dup, idEvent("identity.device_add", p.ID, now)), errs.Conflict)

		// Sessions expire; deleting one is idempotent.
		d.clock.Advance(time.Hour + time.Minute)
		if _, err := d.WalletSessionByHash(ctx, s2.IDHash); err != nil {
			t.Errorf("session before expiry: %v", err)
		}
		d.clock.Advance(time.Hour)
		_, err = d.WalletSessionByHash(ctx, s2.IDHash)
		wantKind(t, err, errs.NotFound)
		for range 2 {
			if err := d.DeleteWalletSession(ctx, s2.IDHash); err != nil {
				t.Fatal(err)
			}
		}

		// Ceremonies are single use, also under concurrency.
		cer := &identity.Ceremony{ID: "CER1", Purpose: identity.CeremonyConfirm, PersonID: p.ID, State: []byte(`{"challenge":"x"}`),
			ExpiresAt: now.Add(5 * time.Minute)}
		if err := d.CreateCeremony(ctx, cer); err != nil {
			t.Fatal(err)
		}
		wantKind(t, d.CreateCeremony(ctx, cer), errs.Conflict)
		handles := []*DB{d.DB, d.open(t)}
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			taken  []*identity.Ceremony
			misses int
		)
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := handles[i%2].TakeCeremony(ctx, cer.ID)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					taken = append(taken, c)
				case errs.Is(err, errs.NotFound):
					misses++
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if len(taken) != 1 || misses != 9 || !reflect.DeepEqual(taken[0], cer) {
			t.Fatalf("concurrent takes: %d got it (%+v), %d missed", len(taken), taken, misses)
		}
		disc := &identity.Ceremony{ID: "CER2", Purpose: identity.CeremonyLogin, State: []byte("s"), ExpiresAt: now}
		if err := d.CreateCeremony(ctx, disc); err != nil {
			t.Fatal(err)
		}
		// Ceremonies that expired a day before a new one are deleted.
		if err := d.CreateCeremony(ctx, &identity.Ceremony{ID: "CER3", Purpose: identity.CeremonyLogin, State: []byte("s"),
			ExpiresAt: now.Add(25 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		_, err = d.TakeCeremony(ctx, disc.ID)
		wantKind(t, err, errs.NotFound)
		if got, err := d.TakeCeremony(ctx, "CER3"); err != nil || got.PersonID != "" {
			t.Errorf("TakeCeremony(CER3) = %+v, %v", got, err)
		}
	})
}

func TestIdentityHoldersAndPINs(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		now := d.clock.Now()
		a, b, c := testPerson(1, now), testPerson(2, now), testPerson(3, now)
		for _, p := range []*identity.Person{a, b, c} {
			addPerson(t, d.DB, p)
		}
		const code1, code2 = "91330106MA0000001X", "91330106MA0000002X"
		h1 := &identity.Holder{EntityCode: code1, PersonID: a.ID, PINHash: "hash-a", ClaimedAt: now.Add(time.Minute)}
		h2 := &identity.Holder{EntityCode: code2, PersonID: a.ID, PINHash: "hash-a2", ClaimedAt: now}
		_, err := d.Holder(ctx, code1)
		wantKind(t, err, errs.NotFound)
		base := auditRows(t, d.DB)
		for _, h := range []*identity.Holder{h1, h2} {
			if err := d.SaveHolder(ctx, h, "", idEvent("identity.claim", h.EntityCode, now)); err != nil {
				t.Fatal(err)
			}
		}
		// A second first claim, or a replacement of the wrong holder, fails and logs nothing.
		e := wantKind(t, d.SaveHolder(ctx, &identity.Holder{EntityCode: code1, PersonID: b.ID, PINHash: "x", ClaimedAt: now}, "",
			idEvent("identity.claim", code1, now)), errs.Conflict)
		if e.Field != "entity" {
			t.Errorf("second claim: field %q", e.Field)
		}
		wantKind(t, d.SaveHolder(ctx, &identity.Holder{EntityCode: code1, PersonID: b.ID, PINHash: "x", ClaimedAt: now}, c.ID,
			idEvent("identity.claim", code1, now)), errs.Conflict)
		wantKind(t, d.SaveHolder(ctx, &identity.Holder{EntityCode: "91330106MA0000009X", PersonID: b.ID, PINHash: "x", ClaimedAt: now}, c.ID,
			idEvent("identity.claim", code1, now)), errs.Conflict)
		wantKind(t, d.SaveHolder(ctx, &identity.Holder{EntityCode: "91330106MA0000009X", PersonID: "NOBODY", PINHash: "x", ClaimedAt: now}, "",
			idEvent("identity.claim", code1, now)), errs.NotFound)
		if n := auditRows(t, d.DB); n != base+2 {
			t.Errorf("%d events after claims, want %d", n, base+2)
		}
		hs, err := d.HoldersOf(ctx, a.ID)
		if err != nil || len(hs) != 2 || !reflect.DeepEqual(hs[0], h2) || !reflect.DeepEqual(hs[1], h1) {
			t.Fatalf("HoldersOf = %+v, %v", hs, err)
		}
		if hs, err := d.HoldersOf(ctx, b.ID); err != nil || len(hs) != 0 {
			t.Errorf("HoldersOf(b) = %v, %v", hs, err)
		}

		// Licence PIN: attempts are counted, a lock holds the count, SetPIN resets.
		ref := identity.PINRef{EntityCode: code1}
		for i := 1; i <= 3; i++ {
			n, until, err := d.PINAttempt(ctx, ref, now)
			if err != nil || n != i || !until.IsZero() {
				t.Fatalf("PINAttempt #%d = %d, %v, %v", i, n, until, err)
			}
		}
		lock := now.Add(30 * time.Minute)
		if err := d.SetPINState(ctx, ref, 0, lock); err != nil {
			t.Fatal(err)
		}
		n, until, err := d.PINAttempt(ctx, ref, now.Add(time.Minute))
		if err != nil || n != 0 || !until.Equal(lock) {
			t.Errorf("PINAttempt while locked = %d, %v, %v", n, until, err)
		}
		n, until, err = d.PINAttempt(ctx, ref, lock) // the lock ends at lock
		if err != nil || n != 1 || !until.IsZero() {
			t.Errorf("PINAttempt when the lock ends = %d, %v, %v", n, until, err)
		}
		if err := d.SetPIN(ctx, ref, "hash-a-new", idEvent("identity.pin_change", code1, now)); err != nil {
			t.Fatal(err)
		}
		got, _ := d.Holder(ctx, code1)
		if got.PINHash != "hash-a-new" || got.FailedPIN != 0 || !got.LockedUntil.IsZero() {
			t.Errorf("holder after SetPIN %+v", got)
		}
		if err := d.SetPINState(ctx, ref, 2, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if got, _ := d.Holder(ctx, code1); got.FailedPIN != 2 {
			t.Errorf("FailedPIN = %d", got.FailedPIN)
		}

		// A new legal representative's claim replaces the record and its PIN counters.
		h1b := &identity.Holder{EntityCode: code1, PersonID: b.ID, PINHash: "hash-b", ClaimedAt: now.Add(time.Hour)}
		if err := d.SaveHolder(ctx, h1b, a.ID, idEvent("identity.claim", code1, now)); err != nil {
			t.Fatal(err)
		}
		if got, err := d.Holder(ctx, code1); err != nil || !reflect.DeepEqual(got, h1b) {
			t.Errorf("replaced holder = %+v, %v", got, err)
		}
		wantKind(t, d.SaveHolder(ctx, h1, a.ID, idEvent("identity.claim", code1, now)), errs.Conflict)

		// Personal PIN.
		pref := identity.PINRef{PersonID: c.ID}
		if err := d.SetPIN(ctx, pref, "personal", idEvent("identity.pin_set", c.ID, now)); err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 2; i++ {
			if n, _, err := d.PINAttempt(ctx, pref, now); err != nil || n != i {
				t.Fatalf("personal PINAttempt #%d = %d, %v", i, n, err)
			}
		}
		if err := d.SetPINState(ctx, pref, 0, lock); err != nil {
			t.Fatal(err)
		}
		pc, _ := d.Person(ctx, c.ID)
		if pc.PINHash != "personal" || pc.FailedPIN != 0 || !pc.PINLockedUntil.Equal(lock) {
			t.Errorf("person after lock %+v", pc)
		}
		if n, until, err := d.PINAttempt(ctx, pref, now); err != nil || n != 0 || !until.Equal(lock) {
			t.Errorf("personal PINAttempt while locked = %d, %v, %v", n, until, err)
		}
		if err := d.SetPIN(ctx, pref, "personal-2", idEvent("identity.pin_change", c.ID, now)); err != nil {
			t.Fatal(err)
		}
		if pc, _ := d.Person(ctx, c.ID); pc.PINHash != "personal-2" || !pc.PINLockedUntil.IsZero() {
			t.Errorf("person after SetPIN %+v", pc)
		}

		for _, r := range []identity.PINRef{{EntityCode: "91330106MA0000009X"}, {PersonID: "NOBODY"}} {
			_, _, err := d.PINAttempt(ctx, r, now)
			wantKind(t, err, errs.NotFound)
			wantKind(t, d.SetPINState(ctx, r, 0, time.Time{}), errs.NotFound)
			wantKind(t, d.SetPIN(ctx, r, "h", idEvent("identity.pin_set", "x", now)), errs.NotFound)
		}
		if _, _, err := d.PINAttempt(ctx, identity.PINRef{}, now); err == nil {
			t.Error("PINAttempt of an empty reference succeeded")
		}
		checkChain(t, d.DB)
	})
}

// Parallel PIN guesses from several processes are each counted once, and none is counted while
// the PIN is locked.
func TestIdentityConcurrentPINAttempts(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		now := d.clock.Now()
		p := testPerson(1, now)
		addPerson(t, d.DB, p)
		const code = "91330106MA0000001X"
		if err := d.SaveHolder(ctx, &identity.Holder{EntityCode: code, PersonID: p.ID, PINHash: "h", ClaimedAt: now}, "",
			idEvent("identity.claim", code, now)); err != nil {
			t.Fatal(err)
		}
		handles := []*DB{d.DB, d.open(t)}
		for _, ref := range []identity.PINRef{{EntityCode: code}, {PersonID: p.ID}} {
			const n = 30
			counts := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, until, err := handles[i%2].PINAttempt(ctx, ref, now)
					if err != nil || !until.IsZero() {
						t.Errorf("PINAttempt = %d, %v, %v", c, until, err)
					}
					counts[i] = c
				}()
			}
			wg.Wait()
			sort.Ints(counts)
			for i, c := range counts {
				if c != i+1 {
					t.Fatalf("%+v: concurrent attempts got counts %v, want 1…%d each once", ref, counts, n)
				}
			}
			lock := now.Add(time.Hour)
			if err := d.SetPINState(ctx, ref, 5, lock); err != nil {
				t.Fatal(err)
			}
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, until, err := handles[i%2].PINAttempt(ctx, ref, now)
					if err != nil || c != 5 || !until.Equal(lock) {
						t.Errorf("PINAttempt while locked = %d, %v, %v", c, until, err)
					}
				}()
			}
			wg.Wait()
		}
	})
}

func TestIdentityGrants(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		now := d.clock.Now()
		var ps []*identity.Person
		for i := range 9 {
			p := testPerson(i+1, now)
			addPerson(t, d.DB, p)
			ps = append(ps, p)
		}
		const code = "91330106MA0000001X"
		admin := func(i int, id string) *identity.Grant {
			return &identity.Grant{ID: id, EntityCode: code, PersonID: ps[i].ID, Role: identity.RoleAdministrator, AllItems: true,
				ValidFrom: now, GrantedBy: ps[0].ID, GrantedAt: now.Add(time.Duration(i) * time.Second)}
		}
		base := auditRows(t, d.DB)
		var admins []*identity.Grant
		for i := 1; i <= 5; i++ {
			g := admin(i, fmt.Sprint("ADMIN", i))
			if err := d.AddGrant(ctx, g, 5, idEvent("identity.appoint", code, now)); err != nil {
				t.Fatalf("admin %d: %v", i, err)
			}
			admins = append(admins, g)
		}
		e := wantKind(t, d.AddGrant(ctx, admin(6, "ADMIN6"), 5, idEvent("identity.appoint", code, now)), errs.Conflict)
		if e.Field != "role" {
			t.Errorf("sixth administrator: field %q", e.Field)
		}
		// The limit is per entity.
		other := admin(6, "OTHER")
		other.EntityCode = "91330106MA0000002X"
		if err := d.AddGrant(ctx, other, 5, idEvent("identity.appoint", other.EntityCode, now)); err != nil {
			t.Fatal(err)
		}
		// An agent is not counted; the same person cannot hold two grants.
		agent := &identity.Grant{ID: "AGENT1", EntityCode: code, PersonID: ps[7].ID, Role: identity.RoleAgent,
			Items: []string{"A.1", "B-2:x"}, ValidFrom: now.Add(time.Hour), ValidUntil: now.Add(48 * time.Hour),
			GrantedBy: ps[1].ID, GrantedAt: now.Add(10 * time.Second)}
		if err := d.AddGrant(ctx, agent, 5, idEvent("identity.grant", code, now)); err != nil {
			t.Fatal(err)
		}
		second := *agent
		second.ID, second.AllItems, second.Items = "AGENT2", true, nil
		e = wantKind(t, d.AddGrant(ctx, &second, 5, idEvent("identity.grant", code, now)), errs.Conflict)
		if e.Field != "person_id" {
			t.Errorf("second grant: field %q", e.Field)
		}
		dupID := *agent
		dupID.ID, dupID.PersonID = admins[0].ID, ps[8].ID
		e = wantKind(t, d.AddGrant(ctx, &dupID, 5, idEvent("identity.grant", code, now)), errs.Conflict)
		if e.Field != "id" {
			t.Errorf("duplicate grant ID: field %q", e.Field)
		}
		unknown := *agent
		unknown.ID, unknown.PersonID = "AGENT3", "NOBODY"
		wantKind(t, d.AddGrant(ctx, &unknown, 5, idEvent("identity.grant", code, now)), errs.NotFound)
		if n := auditRows(t, d.DB); n != base+7 {
			t.Errorf("%d events after grants, want %d", n, base+7)
		}

		got, err := d.Grant(ctx, agent.ID)
		if err != nil || !reflect.DeepEqual(got, agent) {
			t.Fatalf("Grant = %+v, %v; want %+v", got, err, agent)
		}
		_, err = d.Grant(ctx, "NOPE")
		wantKind(t, err, errs.NotFound)
		all, err := d.GrantsFor(ctx, code)
		if err != nil || len(all) != 6 || !reflect.DeepEqual(all[0], admins[0]) || all[5].ID != agent.ID {
			t.Fatalf("GrantsFor = %+v, %v", all, err)
		}

		// Revoking frees the administrator slot and the person.
		at := now.Add(time.Minute)
		if err := d.RevokeGrant(ctx, admins[0].ID, ps[0].ID, at, idEvent("identity.dismiss", code, at)); err != nil {
			t.Fatal(err)
		}
		e = wantKind(t, d.RevokeGrant(ctx, admins[0].ID, ps[0].ID, at, idEvent("identity.dismiss", code, at)), errs.Conflict)
		wantKind(t, d.RevokeGrant(ctx, "NOPE", ps[0].ID, at, idEvent("identity.dismiss", code, at)), errs.NotFound)
		if g, _ := d.Grant(ctx, admins[0].ID); g.RevokedBy != ps[0].ID || !g.RevokedAt.Equal(at) || !g.Revoked() {
			t.Errorf("revoked grant %+v", g)
		}
		if gs, err := d.GrantsOf(ctx, ps[1].ID); err != nil || len(gs) != 0 {
			t.Errorf("GrantsOf a dismissed administrator = %+v, %v", gs, err)
		}
		if gs, _ := d.GrantsFor(ctx, code); len(gs) != 6 {
			t.Errorf("GrantsFor keeps revoked grants: %d", len(gs))
		}
		again := admin(1, "ADMIN1-AGAIN")
		if err := d.AddGrant(ctx, again, 5, idEvent("identity.appoint", code, at)); err != nil {
			t.Fatalf("re-appointing after a dismissal: %v", err)
		}
		if gs, err := d.GrantsOf(ctx, ps[1].ID); err != nil || len(gs) != 1 || gs[0].ID != again.ID {
			t.Errorf("GrantsOf = %+v, %v", gs, err)
		}
		// A grant that has ended does not block a new one.
		ended := &identity.Grant{ID: "ENDED", EntityCode: code, PersonID: ps[8].ID, Role: identity.RoleAgent, AllItems: true,
			ValidFrom: now, ValidUntil: now.Add(time.Hour), GrantedBy: ps[0].ID, GrantedAt: now}
		if err := d.AddGrant(ctx, ended, 5, idEvent("identity.grant", code, now)); err != nil {
			t.Fatal(err)
		}
		next := *ended
		next.ID, next.GrantedAt, next.ValidFrom, next.ValidUntil = "NEXT", now.Add(time.Hour), now.Add(time.Hour), now.Add(2*time.Hour)
		if err := d.AddGrant(ctx, &next, 5, idEvent("identity.grant", code, now)); err != nil {
			t.Errorf("a grant after the previous one ended: %v", err)
		}
		if gs, _ := d.GrantsOf(ctx, ps[8].ID); len(gs) != 2 || gs[0].ID != "ENDED" || gs[1].ID != "NEXT" {
			t.Errorf("GrantsOf = %+v", gs)
		}
		checkChain(t, d.DB)
	})
}

// Racing appointments for the last administrator slot, from several processes: exactly one
// wins; racing grants to one person: exactly one wins.
func TestIdentityConcurrentGrants(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		now := d.clock.Now()
		var ps []*identity.Person
		for i := range 16 {
			p := testPerson(i+1, now)
			addPerson(t, d.DB, p)
			ps = append(ps, p)
		}
		handles := []*DB{d.DB, d.open(t), d.open(t)}
		race := func(code string, grants []*identity.Grant) (won []string) {
			var (
				wg sync.WaitGroup
				mu sync.Mutex
			)
			for i, g := range grants {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := handles[i%len(handles)].AddGrant(ctx, g, 5, idEvent("identity.appoint", code, now))
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						won = append(won, g.ID)
					case !errs.Is(err, errs.Conflict):
						t.Errorf("AddGrant %s: %v", g.ID, err)
					}
				}()
			}
			wg.Wait()
			return won
		}
		for round := range 3 {
			code := fmt.Sprintf("91330106MA000000%dX", round)
			newAdmin := func(i int) *identity.Grant {
				return &identity.Grant{ID: fmt.Sprintf("R%d-A%d", round, i), EntityCode: code, PersonID: ps[i].ID,
					Role: identity.RoleAdministrator, AllItems: true, ValidFrom: now, GrantedBy: ps[0].ID, GrantedAt: now}
			}
			for i := 1; i <= 4; i++ {
				if err := d.AddGrant(ctx, newAdmin(i), 5, idEvent("identity.appoint", code, now)); err != nil {
					t.Fatal(err)
				}
			}
			var racers []*identity.Grant
			for i := 5; i < 11; i++ {
				racers = append(racers, newAdmin(i))
			}
			if won := race(code, racers); len(won) != 1 {
				t.Fatalf("round %d: %d appointments won the fifth slot: %v", round, len(won), won)
			}
			var admins int
			gs, _ := d.GrantsFor(ctx, code)
			for _, g := range gs {
				if g.Role == identity.RoleAdministrator && !g.Revoked() {
					admins++
				}
			}
			if admins != 5 {
				t.Fatalf("round %d: %d administrators stored", round, admins)
			}
			// Several grants to one person at once.
			var same []*identity.Grant
			for i := range 6 {
				same = append(same, &identity.Grant{ID: fmt.Sprintf("R%d-G%d", round, i), EntityCode: code, PersonID: ps[12].ID,
					Role: identity.RoleAgent, AllItems: true, ValidFrom: now, ValidUntil: now.Add(time.Hour), GrantedBy: ps[0].ID, GrantedAt: now})
			}
			if won := race(code, same); len(won) != 1 {
				t.Fatalf("round %d: %d grants to one person won: %v", round, len(won), won)
			}
		}
		checkChain(t, d.DB)
	})
}

func TestIdentityLoginQR(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		now := d.clock.Now()
		q := &identity.LoginQR{ID: "QR1", BrowserBinding: []byte("binding"), AuthRequestID: "auth-1",
			Client:    identity.Client{ID: "zjzwfw", Name: "浙江政务服务网", Department: "浙江省大数据发展管理局", Region: "330000", SectorID: "zjzwfw.gov.cn"},
			CreatedAt: now, ExpiresAt: now.Add(2 * time.Minute), Status: identity.QRPending}
		if err := d.CreateLoginQR(ctx, q); err != nil {
			t.Fatal(err)
		}
		wantKind(t, d.CreateLoginQR(ctx, q), errs.Conflict)
		got, err := d.LoginQR(ctx, q.ID)
		if err != nil || !reflect.DeepEqual(got, q) {
			t.Fatalf("LoginQR = %+v, %v; want %+v", got, err, q)
		}
		_, err = d.LoginQR(ctx, "NOPE")
		wantKind(t, err, errs.NotFound)

		base := auditRows(t, d.DB)
		scanned := *q
		scanned.Status, scanned.PersonID, scanned.ScannedAt = identity.QRScanned, "P1", now.Add(time.Second)
		if err := d.UpdateLoginQR(ctx, &scanned, identity.QRPending, nil); err != nil {
			t.Fatal(err)
		}
		// The same transition again finds the status moved.
		other := scanned
		other.PersonID = "P2"
		e := wantKind(t, d.UpdateLoginQR(ctx, &other, identity.QRPending, nil), errs.Conflict)
		if e.Field != "qr" {
			t.Errorf("moved status: field %q", e.Field)
		}
		missing := scanned
		missing.ID = "NOPE"
		wantKind(t, d.UpdateLoginQR(ctx, &missing, identity.QRPending, nil), errs.NotFound)
		if got, _ := d.LoginQR(ctx, q.ID); !reflect.DeepEqual(got, &scanned) {
			t.Errorf("after scan %+v", got)
		}
		if n := auditRows(t, d.DB); n != base {
			t.Errorf("a transition without event logged %d events", n-base)
		}

		// Ten concurrent confirmations from three processes: exactly one wins, and only its
		// event is logged.
		handles := []*DB{d.DB, d.open(t), d.open(t)}
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			winner []*identity.LoginQR
		)
		for i := range 10 {
			c := scanned
			c.Status, c.EntityCode, c.Role, c.ACR = identity.QRConfirmed, fmt.Sprintf("CODE%d", i), identity.RoleHolder, identity.ACRLicencePIN
			c.AMR, c.ConfirmedAt, c.ExpiresAt = []string{"pin"}, now.Add(3*time.Second), now.Add(time.Minute)
			wg.Add(1)
			go func() {
				defer wg.Done()
				ev := idEvent("identity.login_confirm", c.EntityCode, now)
				err := handles[i%3].UpdateLoginQR(ctx, &c, identity.QRScanned, &ev)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winner = append(winner, &c)
				case !errs.Is(err, errs.Conflict):
					t.Errorf("confirmation %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		if len(winner) != 1 {
			t.Fatalf("%d confirmations won", len(winner))
		}
		got, _ = d.LoginQR(ctx, q.ID)
		if !reflect.DeepEqual(got, winner[0]) {
			t.Errorf("stored %+v, the winner wrote %+v", got, winner[0])
		}
		acts := actions(t, d.DB)
		if len(acts) != int(base)+1 || acts[len(acts)-1] != "identity.login_confirm" {
			t.Errorf("events after the race: %v", acts[base:])
		}
		var subject string
		d.Scan(ctx, base+1, func(e *audit.Event) error { subject = e.Subject; return nil })
		if subject != winner[0].EntityCode {
			t.Errorf("the logged confirmation is for %s, the winner confirmed %s", subject, winner[0].EntityCode)
		}

		consumed := *got
		consumed.Status, consumed.ConsumedAt = identity.QRConsumed, now.Add(4*time.Second)
		if err := d.UpdateLoginQR(ctx, &consumed, identity.QRConfirmed, nil); err != nil {
			t.Fatal(err)
		}
		wantKind(t, d.UpdateLoginQR(ctx, &consumed, identity.QRConfirmed, nil), errs.Conflict)
		if got, _ := d.LoginQR(ctx, q.ID); !reflect.DeepEqual(got, &consumed) {
			t.Errorf("consumed %+v", got)
		}

		// Codes that expired a day before a new one are deleted.
		later := *q
		later.ID, later.CreatedAt, later.ExpiresAt = "QR2", now.Add(25*time.Hour), now.Add(25*time.Hour+2*time.Minute)
		if err := d.CreateLoginQR(ctx, &later); err != nil {
			t.Fatal(err)
		}
		_, err = d.LoginQR(ctx, q.ID)
		wantKind(t, err, errs.NotFound)
	})
}

func TestIdentityLicencesByPerson(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		now := d.clock.Now()
		hash := []byte("the person's keyed hash, 32 bytes")
		var ls []*license.Licence
		for i := range 3 {
			l := newLicence(testCode("330106", i+1), license.Company, "330106", "A", fmt.Sprint("公司", i), now)
			ls = append(ls, l)
		}
		ls[0].PersonIDHash, ls[2].PersonIDHash = hash, hash
		noHash := newLicence(testCode("330106", 9), license.Company, "330106", "A", "无身份号码", now)
		noHash.PersonIDHash = nil
		var changes []license.Change
		for _, l := range append(ls, noHash) {
			changes = append(changes, issue(l))
		}
		if err := d.Save(ctx, changes); err != nil {
			t.Fatal(err)
		}
		codes := func(hash []byte) []string {
			t.Helper()
			got, err := d.ByPersonIDHash(ctx, hash)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, l := range got {
				out = append(out, fmt.Sprint(l.Code, "/", l.Version, "/", l.Status))
			}
			return out
		}
		want := []string{ls[0].Code + "/1/active", ls[2].Code + "/1/active"}
		if got := codes(hash); !slices.Equal(got, want) {
			t.Errorf("ByPersonIDHash = %v, want %v", got, want)
		}
		if got := codes(nil); len(got) != 0 {
			t.Errorf("ByPersonIDHash(nil) = %v", got)
		}
		if got := codes([]byte("nobody")); len(got) != 0 {
			t.Errorf("ByPersonIDHash(unknown) = %v", got)
		}
		// A change registration naming another person drops the entity; a cancelled licence
		// stays (any status); the new person finds the new version.
		ch := nextVersion(ls[0], "公司0改名", now.Add(time.Hour))
		ch.Licence.PersonIDHash = []byte("the new legal representative")
		cancel := statusChange(ls[2], license.Cancelled, "注销", now.Add(time.Hour))
		if err := d.Save(ctx, []license.Change{ch, cancel}); err != nil {
			t.Fatal(err)
		}
		if got, want := codes(hash), []string{ls[2].Code + "/1/cancelled"}; !slices.Equal(got, want) {
			t.Errorf("after changes ByPersonIDHash = %v, want %v", got, want)
		}
		if got, want := codes([]byte("the new legal representative")), []string{ls[0].Code + "/2/active"}; !slices.Equal(got, want) {
			t.Errorf("the new person: %v, want %v", got, want)
		}
	})
}

// The index serves the look-up on both databases.
func TestIdentityPersonIndexUsed(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		q := selectLicence + ` WHERE v.person_id_hash = $1 AND v.person_id_hash IS NOT NULL AND v.version = l.current_version`
		var plan []string
		conn, err := d.w.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		explain := "EXPLAIN QUERY PLAN "
		if d.Dialect() == Postgres {
			explain = "EXPLAIN "
			// An empty table would be scanned whatever the indexes.
			if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
				t.Fatal(err)
			}
			defer conn.ExecContext(ctx, "RESET enable_seqscan")
		}
		rows, err := conn.QueryContext(ctx, explain+q, []byte("h"))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, fmt.Sprint(vals...))
		}
		if !slices.ContainsFunc(plan, func(s string) bool { return bytes.Contains([]byte(s), []byte("licence_versions_person")) }) {
			t.Errorf("the plan does not use licence_versions_person:\n%s", plan)
		}
	})
}

// ---- the identity service over the store ----

// idProtector is the licence service's kind of protector: SM4 and HMAC-SM3 under test keys.
type idProtector struct{ sealer *gm.Sealer }

func (p idProtector) SealPersonID(id, code string) ([]byte, error) {
	return p.sealer.Seal([]byte(id), []byte("person-id:"+code))
}

func (p idProtector) HashPersonID(id string) []byte {
	h := gm.HMACSM3([]byte("test lookup key"), []byte(id))
	return h[:]
}

// codeSender captures the one-time codes instead of sending them (identity.LogSender in the demo).
type codeSender struct {
	mu    sync.Mutex
	codes map[string]string // phone → last code
}

func (s *codeSender) SendCode(_ context.Context, phone, code string, _ identity.Purpose) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[phone] = code
	return nil
}

func (s *codeSender) last(phone string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codes[phone]
}

// revocations records what the OpenID Connect layer is asked to end.
type revocations struct {
	mu    sync.Mutex
	calls []string
}

func (r *revocations) RevokeFor(_ context.Context, personID, entityCode string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "for "+personID+" "+entityCode)
	return nil
}

func (r *revocations) RevokeDevice(_ context.Context, personID, deviceID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "device "+personID+" "+deviceID)
	return nil
}

// citizenID completes 17 digits with their GB 11643 check character.
func citizenID(t *testing.T, first17 string) string {
	c, err := citizen.CheckChar(first17)
	if err != nil {
		t.Fatal(err)
	}
	return first17 + string(c)
}

// TestIdentityServiceOverStore runs the real identity service on the real store: register and
// confirm phones, real-name verification, claim, appoint, grant, bind a passkey, scan-to-login with
// racing confirmations, revocation, and a change of legal representative.
func TestIdentityServiceOverStore(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		sealer, err := gm.NewSealer(bytes.Repeat([]byte{7}, 16))
		if err != nil {
			t.Fatal(err)
		}
		prot := idProtector{sealer}
		sender := &codeSender{codes: map[string]string{}}
		rev := &revocations{}
		const origin = "https://elicense.test"
		pk, err := passkey.New(passkey.Config{Origins: []string{origin}})
		if err != nil {
			t.Fatal(err)
		}
		svc := identity.NewService(identity.Config{Store: d.DB, Licences: d.DB, Protect: prot, Sender: sender, Revoker: rev,
			Passkeys: pk, SubjectKey: []byte("subject key"), Clock: d.clock.Now})
		// A second process on the same database.
		svc2 := identity.NewService(identity.Config{Store: d.open(t), Licences: d.DB, Protect: prot, Sender: sender, Revoker: rev,
			Passkeys: pk, SubjectKey: []byte("subject key"), Clock: d.clock.Now})

		zhangID, liID, wangID, zhaoID := citizenID(t, "33010619800101001"), citizenID(t, "33010619850202002"),
			citizenID(t, "33010619900303003"), citizenID(t, "33010619750404004")
		code, err := uscc.Generate('9', '1', "330106", "MA000001")
		if err != nil {
			t.Fatal(err)
		}
		lic := newLicence(code, license.Company, "330106", "11330106MB0000001X", "杭州示例科技有限公司", d.clock.Now())
		lic.Face.Person, lic.PersonIDHash = "张三", prot.HashPersonID(zhangID)
		if err := d.Save(ctx, []license.Change{issue(lic)}); err != nil {
			t.Fatal(err)
		}

		phones := 0
		register := func(name, idNum string) *identity.SignIn {
			t.Helper()
			phones++
			phone := fmt.Sprintf("139%08d", phones)
			pend, err := svc.Register(ctx, name, idNum, phone)
			if err != nil {
				t.Fatalf("register %s: %v", name, err)
			}
			// A wrong code is counted and refused.
			wrong := "000000"
			if sender.last(phone) == wrong {
				wrong = "000001"
			}
			_, err = svc2.ConfirmPhone(ctx, pend.CodeID, wrong)
			wantKind(t, err, errs.Unauthenticated)
			in, err := svc2.ConfirmPhone(ctx, pend.CodeID, sender.last(phone))
			if err != nil {
				t.Fatalf("confirm %s: %v", name, err)
			}
			// The code is used up.
			_, err = svc.ConfirmPhone(ctx, pend.CodeID, sender.last(phone))
			wantKind(t, err, errs.Invalid)
			return in
		}

		zhang := register("张三", zhangID)
		if zhang.Person.RealNameVerifiedAt.IsZero() {
			t.Fatal("the person named on a licence registers verified")
		}
		// A second registration of the ID number is refused.
		_, err = svc.Register(ctx, "张三", zhangID, "13900009999")
		if e := wantKind(t, err, errs.Conflict); e.Field != "id_number" {
			t.Errorf("second registration: field %q", e.Field)
		}
		// Session look-up in the other process; real-name check rotates the session.
		if p, _, err := svc2.Session(ctx, zhang.Cookie); err != nil || p.ID != zhang.Person.ID {
			t.Fatalf("Session = %+v, %v", p, err)
		}
		fresh, err := svc.VerifyRealName(ctx, zhang.Session, zhangID)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = svc.Session(ctx, zhang.Cookie)
		wantKind(t, err, errs.Unauthenticated)
		zhang = fresh

		if cl, err := svc.Claimable(ctx, zhang.Person.ID); err != nil || len(cl) != 1 || cl[0].Code != code {
			t.Fatalf("Claimable = %v, %v", cl, err)
		}
		const holderPIN = "482916"
		if _, err := svc.Claim(ctx, zhang.Person.ID, code, holderPIN); err != nil {
			t.Fatal(err)
		}
		_, err = svc2.Claim(ctx, zhang.Person.ID, code, holderPIN)
		wantKind(t, err, errs.Conflict)

		li := register("李四", liID)
		wang := register("王五", wangID)
		// A wrong licence PIN is counted in the store.
		_, err = svc.Appoint(ctx, zhang.Person.ID, code, "李四", liID, identity.Proof{Method: identity.MethodPIN, PIN: "111333"})
		wantKind(t, err, errs.Unauthenticated)
		if h, _ := d.Holder(ctx, code); h.FailedPIN != 1 {
			t.Errorf("FailedPIN after a wrong PIN = %d", h.FailedPIN)
		}
		adm, err := svc2.Appoint(ctx, zhang.Person.ID, code, "李四", liID, identity.Proof{Method: identity.MethodPIN, PIN: holderPIN})
		if err != nil {
			t.Fatal(err)
		}
		if h, _ := d.Holder(ctx, code); h.FailedPIN != 0 {
			t.Errorf("FailedPIN after the right PIN = %d", h.FailedPIN)
		}
		const liPIN, wangPIN = "730519", "264805"
		if err := svc.SetPersonalPIN(ctx, li.Session, "", liPIN); err != nil {
			t.Fatal(err)
		}
		now := d.clock.Now()
		grant, err := svc.GrantAgent(ctx, li.Person.ID, code, identity.AgentGrant{Name: "王五", IDNumber: wangID,
			Items: []string{"tax.declare", "social.insurance"}, Until: now.Add(30 * 24 * time.Hour)},
			identity.Proof{Method: identity.MethodPIN, PIN: liPIN})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc2.SetPersonalPIN(ctx, wang.Session, "", wangPIN); err != nil {
			t.Fatal(err)
		}
		m, err := svc.Members(ctx, zhang.Person.ID, code)
		if err != nil || m.Holder == nil || m.Holder.PersonID != zhang.Person.ID || len(m.Grants) != 2 {
			t.Fatalf("Members = %+v, %v", m, err)
		}

		// The agent logs in to a portal by scanning; two confirmations race, one per process.
		portal := identity.Client{ID: "zjzwfw", Name: "浙江政务服务网", Department: "浙江省大数据发展管理局", Region: "330000", SectorID: "zjzwfw.gov.cn"}
		const browser = "browser-binding-cookie-value-0123456789"
		q, err := svc.NewLoginQR(ctx, browser, portal, "auth-request-1")
		if err != nil {
			t.Fatal(err)
		}
		view, err := svc2.Scan(ctx, q.ID, wang.Person.ID)
		if err != nil || len(view.Choices) != 1 || view.Choices[0].Kind != identity.RoleAgent || !view.PersonalPIN {
			t.Fatalf("Scan = %+v, %v", view, err)
		}
		_, err = svc.Scan(ctx, q.ID, li.Person.ID)
		wantKind(t, err, errs.Forbidden)
		if st, err := svc.Poll(ctx, q.ID, browser); err != nil || st.Status != identity.QRScanned {
			t.Fatalf("Poll = %+v, %v", st, err)
		}
		var (
			wg      sync.WaitGroup
			results = make([]error, 2)
		)
		for i, s := range []*identity.Service{svc, svc2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, results[i] = s.Confirm(ctx, q.ID, wang.Person.ID, code, identity.Proof{Method: identity.MethodPIN, PIN: wangPIN})
			}()
		}
		wg.Wait()
		if (results[0] == nil) == (results[1] == nil) {
			t.Fatalf("racing confirmations: %v, %v; want exactly one to succeed", results[0], results[1])
		}
		for _, err := range results {
			if err != nil {
				wantKind(t, err, errs.Conflict)
			}
		}
		_, err = svc.Consume(ctx, q.ID, "another-browser-cookie-value-000")
		wantKind(t, err, errs.Forbidden)
		id, err := svc2.Consume(ctx, q.ID, browser)
		if err != nil {
			t.Fatal(err)
		}
		if id.PersonID != wang.Person.ID || id.EntityCode != code || id.Role != identity.RoleAgent || id.GrantID != grant.ID ||
			id.ACR != identity.ACRPersonalPIN || !slices.Equal(id.AMR, []string{"pin"}) || id.AuthRequestID != "auth-request-1" {
			t.Errorf("identity %+v", id)
		}
		_, err = svc.Consume(ctx, q.ID, browser)
		wantKind(t, err, errs.Conflict)
		cl, err := svc.Claims(ctx, id, portal, identity.Scopes)
		if err != nil || cl.EntityName != "杭州示例科技有限公司" || !slices.Equal(cl.GrantItems, grant.Items) || cl.Role != identity.RoleAgent {
			t.Errorf("Claims = %+v, %v", cl, err)
		}

		// The holder binds a passkey, signs in with it and confirms a login with it.
		phone, err := passkeytest.New(origin)
		if err != nil {
			t.Fatal(err)
		}
		must := func(b []byte, err error) []byte {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		ch, err := svc.BeginDeviceRegistration(ctx, zhang.Session)
		if err != nil {
			t.Fatal(err)
		}
		dev, err := svc2.FinishDeviceRegistration(ctx, zhang.Session, ch.Ceremony, "华为手机", must(phone.Create(ch.Options)))
		if err != nil {
			t.Fatal(err)
		}
		ch, err = svc.BeginPasskeyLogin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		resp := must(phone.Get(ch.Options))
		pkIn, err := svc2.PasskeyLogin(ctx, ch.Ceremony, resp)
		if err != nil || pkIn.Session.DeviceID != dev.ID {
			t.Fatalf("PasskeyLogin = %+v, %v", pkIn, err)
		}
		_, err = svc.PasskeyLogin(ctx, ch.Ceremony, resp) // the ceremony is used up
		wantKind(t, err, errs.Unauthenticated)
		q2, err := svc.NewLoginQR(ctx, browser, portal, "auth-request-2")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Scan(ctx, q2.ID, zhang.Person.ID); err != nil {
			t.Fatal(err)
		}
		ch, err = svc.BeginPasskey(ctx, zhang.Person.ID)
		if err != nil {
			t.Fatal(err)
		}
		done, err := svc2.Confirm(ctx, q2.ID, zhang.Person.ID, code,
			identity.Proof{Method: identity.MethodPasskey, Ceremony: ch.Ceremony, Response: must(phone.Get(ch.Options))})
		if err != nil || done.ACR != identity.ACRPasskey || done.DeviceID != dev.ID || done.Role != identity.RoleHolder {
			t.Fatalf("passkey confirmation %+v, %v", done, err)
		}
		if devs, _ := svc.Devices(ctx, zhang.Person.ID); len(devs) != 1 || devs[0].SignCount != phone.Count {
			t.Errorf("devices %+v, authenticator at %d", devs, phone.Count)
		}
		// Removing the device ends the session it opened.
		if err := svc.RemoveDevice(ctx, pkIn.Session, dev.ID); err != nil {
			t.Fatal(err)
		}
		_, _, err = svc2.Session(ctx, pkIn.Cookie)
		wantKind(t, err, errs.Unauthenticated)

		// Revoking the agent stops the agent at once.
		if err := svc2.Revoke(ctx, zhang.Person.ID, code, grant.ID, identity.Proof{Method: identity.MethodPIN, PIN: holderPIN}); err != nil {
			t.Fatal(err)
		}
		_, err = svc.CanAct(ctx, wang.Person.ID, code, "tax.declare", d.clock.Now())
		wantKind(t, err, errs.Forbidden)
		_, err = svc.Claims(ctx, id, portal, identity.Scopes)
		wantKind(t, err, errs.Forbidden)
		if r, err := svc.CanAct(ctx, li.Person.ID, code, "anything", d.clock.Now()); err != nil || r.Grant.ID != adm.ID {
			t.Errorf("administrator CanAct = %+v, %v", r, err)
		}

		// A change registration names a new legal representative, who registers and claims; the
		// former holder's role lapses.
		cur, err := d.Current(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		change := nextVersion(cur, "杭州示例科技有限公司", d.clock.Now())
		change.Licence.Face.Person, change.Licence.PersonIDHash = "赵六", prot.HashPersonID(zhaoID)
		if err := d.Save(ctx, []license.Change{change}); err != nil {
			t.Fatal(err)
		}
		zhao := register("赵六", zhaoID)
		if _, err := svc.Claim(ctx, zhao.Person.ID, code, "593017"); err != nil {
			t.Fatal(err)
		}
		if h, _ := d.Holder(ctx, code); h.PersonID != zhao.Person.ID {
			t.Errorf("holder after the new claim: %s", h.PersonID)
		}
		_, err = svc.CanAct(ctx, zhang.Person.ID, code, "", d.clock.Now())
		wantKind(t, err, errs.Forbidden)
		if hs, err := svc.Holdings(ctx, zhang.Person.ID); err != nil || len(hs) != 0 {
			t.Errorf("former holder's holdings = %+v, %v", hs, err)
		}

		rev.mu.Lock()
		calls := slices.Clone(rev.calls)
		rev.mu.Unlock()
		wantCalls := []string{"device " + zhang.Person.ID + " " + dev.ID, "for " + wang.Person.ID + " " + code,
			"for " + zhang.Person.ID + " " + code}
		if !slices.Equal(calls, wantCalls) {
			t.Errorf("revocations %v, want %v", calls, wantCalls)
		}

		// Every change is in the audit log, chained.
		checkChain(t, d.DB)
		var got []string
		for _, a := range actions(t, d.DB) {
			if len(a) > 9 && a[:9] == "identity." {
				got = append(got, a)
			}
		}
		want := []string{"identity.register", "identity.real_name", "identity.claim", "identity.register", "identity.register",
			"identity.appoint", "identity.pin_set", "identity.grant", "identity.pin_set", "identity.login_confirm",
			"identity.device_add", "identity.login_confirm", "identity.device_remove", "identity.revoke",
			"identity.register", "identity.claim"}
		if !slices.Equal(got, want) {
			t.Errorf("audit actions\n got %v\nwant %v", got, want)
		}
	})
}
