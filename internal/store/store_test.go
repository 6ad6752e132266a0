package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/license"
)

var ctx = context.Background()

func wantKind(t *testing.T, err error, k errs.Kind) *errs.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", k)
	}
	if !errs.Is(err, k) {
		t.Fatalf("got %v (kind %v), want kind %v", err, errs.KindOf(err), k)
	}
	e := errs.As(err)
	if e.ZH == "" || e.EN == "" {
		t.Fatalf("error %v lacks a zh or en message", err)
	}
	return e
}

func TestOpenAndMigrate(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		if err := d.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		ms, err := loadMigrations(migrationFiles, d.Dialect())
		if err != nil || len(ms) == 0 {
			t.Fatalf("loadMigrations: %v (%d)", err, len(ms))
		}
		// Reopening applies nothing twice and keeps the data.
		if err := d.Save(ctx, []license.Change{issue(newLicence(testCode("330106", 1), license.Company, "330106", "A", "甲公司", d.clock.Now()))}); err != nil {
			t.Fatal(err)
		}
		d.Close()
		db2 := d.open(t)
		db3 := d.open(t)
		var n int
		if err := db3.r.QueryRow("SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != len(ms) {
			t.Fatalf("schema_migrations has %d rows (%v), want %d", n, err, len(ms))
		}
		if _, err := db2.Current(ctx, testCode("330106", 1)); err != nil {
			t.Fatalf("after reopen: %v", err)
		}

		// An applied migration that was edited afterwards stops the start.
		edited := fstest.MapFS{}
		for _, m := range ms {
			edited["migrations/"+d.Dialect()+"/"+m.name] = &fstest.MapFile{Data: []byte(m.sql + "\n-- edited\n")}
		}
		if err := db2.migrate(ctx, edited); err == nil || !strings.Contains(err.Error(), "changed after it was applied") {
			t.Fatalf("migrate with an edited file: %v", err)
		}
		// So does a database newer than the program.
		older := fstest.MapFS{}
		if _, err := db2.w.Exec("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (9999, 'x', 'y', 0)"); err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			older["migrations/"+d.Dialect()+"/"+m.name] = &fstest.MapFile{Data: []byte(m.sql)}
		}
		if err := db2.migrate(ctx, older); err == nil || !strings.Contains(err.Error(), "unknown to this program") {
			t.Fatalf("migrate a newer database: %v", err)
		}
	})
}

// Processes starting together on an empty database must not both migrate.
func TestConcurrentOpen(t *testing.T) {
	run := func(t *testing.T, dsn string) {
		var wg sync.WaitGroup
		errc := make(chan error, 4)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db, err := Open(ctx, dsn, Options{})
				if err == nil {
					db.Close()
				}
				errc <- err
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatalf("concurrent Open: %v", err)
			}
		}
		db := openTestDB(t, dsn)
		ms, err := loadMigrations(migrationFiles, db.Dialect())
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.r.QueryRow("SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != len(ms) {
			t.Fatalf("schema_migrations: %d rows, %v", n, err)
		}
	}
	t.Run(SQLite, func(t *testing.T) { run(t, sqliteDSN(t)) })
	t.Run(Postgres, func(t *testing.T) { run(t, postgresDSN(t)) })
}

func TestOpenSQLiteForms(t *testing.T) {
	dir := t.TempDir()
	for _, dsn := range []string{
		filepath.Join(dir, "a", "plain.db"),
		"sqlite:" + filepath.Join(dir, "b.db"),
		"file:" + filepath.Join(dir, "c d.db") + "?cache=private",
	} {
		db, err := Open(ctx, dsn, Options{})
		if err != nil {
			t.Fatalf("Open(%q): %v", dsn, err)
		}
		if db.Dialect() != SQLite {
			t.Errorf("Open(%q).Dialect() = %q", dsn, db.Dialect())
		}
		var mode string
		if err := db.w.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("Open(%q): journal_mode %q, %v", dsn, mode, err)
		}
		var fk int
		if err := db.r.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
			t.Errorf("Open(%q): reader foreign_keys %d, %v", dsn, fk, err)
		}
		db.Close()
	}
	if _, err := Open(ctx, ":memory:", Options{}); !errs.Is(err, errs.Invalid) {
		t.Errorf("Open(:memory:) = %v, want Invalid", err)
	}
}

func TestSaveAndRead(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		at := time.Date(2025, 1, 2, 3, 4, 5, 123456000, time.UTC)
		var changes []license.Change
		var want []*license.Licence
		for i := range 3 {
			l := newLicence(testCode("330106", i), license.Company, "330106", "11330106MB0000001X", fmt.Sprintf("杭州甲乙%d科技有限公司", i), at)
			want = append(want, l)
			changes = append(changes, issue(l))
		}
		want[2].PersonIDHash, want[2].PersonIDSealed = nil, nil // no person ID
		if err := d.Save(ctx, changes); err != nil {
			t.Fatalf("Save: %v", err)
		}
		for i, c := range changes {
			if c.Event.Seq != int64(i+1) || !c.Event.Valid() {
				t.Errorf("event %d: seq %d, valid %v", i, c.Event.Seq, c.Event.Valid())
			}
		}
		for _, w := range want {
			got, err := d.Current(ctx, w.Code)
			if err != nil {
				t.Fatalf("Current(%s): %v", w.Code, err)
			}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("Current(%s) =\n%+v\nwant\n%+v", w.Code, got, w)
			}
			byVer, err := d.Version(ctx, w.Code, w.Version)
			if err != nil || !reflect.DeepEqual(byVer, w) {
				t.Errorf("Version(%s, %d) = %+v, %v", w.Code, w.Version, byVer, err)
			}
			h, err := d.History(ctx, w.Code)
			if err != nil || len(h) != 1 || !reflect.DeepEqual(h[0], w) {
				t.Errorf("History(%s) = %v, %v", w.Code, h, err)
			}
		}
		if n := checkChain(t, d.DB); n != 3 {
			t.Errorf("audit log has %d events, want 3", n)
		}
		err := d.Scan(ctx, 1, func(e *audit.Event) error {
			c := changes[e.Seq-1].Event
			if e.Action != "license.issue" || e.Subject != c.Subject || e.Actor != "cli:test" ||
				!e.Time.Equal(at.Truncate(time.Microsecond)) || !bytes.Equal(e.Data, c.Data) || e.Hash != c.Hash {
				return fmt.Errorf("event %d = %+v, want %+v", e.Seq, e, c)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		// Not found is an error with both messages.
		_, err = d.Current(ctx, "91330106000000999X")
		wantKind(t, err, errs.NotFound)
		_, err = d.Version(ctx, "91330106000000999X", 1)
		wantKind(t, err, errs.NotFound)
		_, err = d.History(ctx, "91330106000000999X")
		wantKind(t, err, errs.NotFound)
	})
}

func TestNewVersionAndStatus(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		t0 := time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC)
		l := newLicence(testCode("310115", 7), license.Company, "310115", "AUTH", "上海旧名有限公司", t0)
		if err := d.Save(ctx, []license.Change{issue(l)}); err != nil {
			t.Fatal(err)
		}
		t1 := t0.Add(24 * time.Hour)
		ch := nextVersion(l, "上海新名有限公司", t1)
		t2 := t1.Add(time.Hour)
		v2 := *ch.Licence
		st := statusChange(&v2, license.Suspended, "经营异常", t2)
		// A new version and a status change of it, in one batch.
		if err := d.Save(ctx, []license.Change{ch, st}); err != nil {
			t.Fatalf("Save: %v", err)
		}
		cur, err := d.Current(ctx, l.Code)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Version != 2 || cur.Face.Name != "上海新名有限公司" || cur.Status != license.Suspended ||
			cur.StatusReason != "经营异常" || cur.StatusAt == nil || !cur.StatusAt.Equal(t2) || cur.SupersededAt != nil {
			t.Errorf("Current = v%d %s %s %q %v %v", cur.Version, cur.Face.Name, cur.Status, cur.StatusReason, cur.StatusAt, cur.SupersededAt)
		}
		h, err := d.History(ctx, l.Code)
		if err != nil || len(h) != 2 {
			t.Fatalf("History = %d versions, %v", len(h), err)
		}
		old := h[0]
		if old.Version != 1 || old.Status != license.Superseded || old.SupersededAt == nil || !old.SupersededAt.Equal(t1) ||
			old.Face.Name != "上海旧名有限公司" || old.Identifier != l.Identifier || !bytes.Equal(old.Signature, l.Signature) {
			t.Errorf("History[0] = v%d %s %v %s", old.Version, old.Status, old.SupersededAt, old.Face.Name)
		}
		if h[1].Version != 2 || h[1].Status != license.Suspended || h[1].Identifier != ch.Licence.Identifier {
			t.Errorf("History[1] = v%d %s %s", h[1].Version, h[1].Status, h[1].Identifier)
		}
		byOld, err := d.Version(ctx, l.Code, 1)
		if err != nil || byOld.Status != license.Superseded || byOld.Version != 1 {
			t.Errorf("Version(old) = %+v, %v", byOld, err)
		}

		// Restore, then list it under its new name and status.
		if err := d.Save(ctx, []license.Change{statusChange(cur, license.Active, "", t2.Add(time.Hour))}); err != nil {
			t.Fatal(err)
		}
		cur, _ = d.Current(ctx, l.Code)
		if cur.Status != license.Active {
			t.Errorf("after restore: %s", cur.Status)
		}
		ls, _, err := d.List(ctx, license.Filter{Query: "新名"})
		if err != nil || len(ls) != 1 || ls[0].Version != 2 {
			t.Errorf("List(新名) = %v, %v", ls, err)
		}
		if ls, _, _ := d.List(ctx, license.Filter{Query: "旧名"}); len(ls) != 0 {
			t.Errorf("List(旧名) found the superseded name")
		}
		if n := checkChain(t, d.DB); n != 4 {
			t.Errorf("audit events = %d, want 4", n)
		}
	})
}

func TestSaveConflicts(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		at := d.clock.Now()
		a := newLicence(testCode("440305", 1), license.Company, "440305", "AUTH", "深圳甲公司", at)
		if err := d.Save(ctx, []license.Change{issue(a)}); err != nil {
			t.Fatal(err)
		}
		events := auditRows(t, d.DB)

		nothingStored := func(t *testing.T, codes ...string) {
			t.Helper()
			for _, c := range codes {
				if _, err := d.Current(ctx, c); !errs.Is(err, errs.NotFound) {
					t.Errorf("Current(%s) after a failed batch: %v", c, err)
				}
			}
			if n := auditRows(t, d.DB); n != events {
				t.Errorf("a failed batch left %d audit events", n-events)
			}
		}

		// A batch of 1,200 new licences (more than one INSERT chunk) with an existing code
		// in the middle: conflict naming that code, nothing of the batch stored.
		var batch []license.Change
		var codes []string
		for i := 2; i < 1202; i++ {
			l := newLicence(testCode("440305", i), license.Company, "440305", "AUTH", fmt.Sprintf("深圳%d公司", i), at)
			batch = append(batch, issue(l))
			codes = append(codes, l.Code)
			if i == 900 {
				dup := *a
				dup.Identifier += "-other"
				batch = append(batch, issue(&dup))
			}
		}
		e := wantKind(t, d.Save(ctx, batch), errs.Conflict)
		if !strings.Contains(e.EN, a.Code) || !strings.Contains(e.ZH, a.Code) {
			t.Errorf("conflict does not name the code: %v / %s", e, e.ZH)
		}
		nothingStored(t, codes...)

		// The same code twice in one batch.
		b := newLicence(testCode("440305", 5000), license.Company, "440305", "AUTH", "乙", at)
		b2 := *b
		b2.Identifier += "x"
		wantKind(t, d.Save(ctx, []license.Change{issue(b), issue(&b2)}), errs.Conflict)
		nothingStored(t, b.Code)

		// A stale Prev, after good changes in the same batch.
		c := newLicence(testCode("440305", 6000), license.Company, "440305", "AUTH", "丙", at)
		stale := nextVersion(a, "新", at)
		stale.Prev, stale.Licence.Version = 2, 3
		e = wantKind(t, d.Save(ctx, []license.Change{issue(c), stale}), errs.Conflict)
		if !strings.Contains(e.EN, a.Code) {
			t.Errorf("stale conflict does not name the code: %v", e)
		}
		nothingStored(t, c.Code)

		// A stale status change.
		sc := statusChange(a, license.Cancelled, "注销", at)
		sc.Prev = 3
		wantKind(t, d.Save(ctx, []license.Change{issue(c), sc}), errs.Conflict)
		nothingStored(t, c.Code)

		// A status change decided from a status the entity no longer has (another process
		// changed it after this one read it): refused, naming the status.
		sc = statusChange(a, license.Suspended, "检查", at)
		sc.PrevStatus = license.Revoked
		e = wantKind(t, d.Save(ctx, []license.Change{issue(c), sc}), errs.Conflict)
		if e.Field != "status" {
			t.Errorf("status conflict field = %q (%v)", e.Field, e)
		}
		nothingStored(t, c.Code)
		// (A change decided from the right status goes through: the licence service's lifecycle
		// tests set PrevStatus on every status change.)

		// A status change of an entity that does not exist.
		wantKind(t, d.Save(ctx, []license.Change{issue(c), statusChange(b, license.Revoked, "x", at)}), errs.NotFound)
		nothingStored(t, c.Code)

		// Identifiers are derived from (code, version) by the licence service, which the primary
		// key keeps unique; the store does not index them (see the migration).

		// Two writers changing one licence from the same version: exactly one wins.
		var wg sync.WaitGroup
		results := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ch := nextVersion(a, fmt.Sprintf("并发%d", i), at)
				ch.Licence.Identifier += fmt.Sprint(i)
				results[i] = d.Save(ctx, []license.Change{ch})
			}()
		}
		wg.Wait()
		if (results[0] == nil) == (results[1] == nil) {
			t.Fatalf("concurrent changes: %v, %v; want exactly one to succeed", results[0], results[1])
		}
		for _, err := range results {
			if err != nil {
				wantKind(t, err, errs.Conflict)
			}
		}
		if h, _ := d.History(ctx, a.Code); len(h) != 2 {
			t.Errorf("History has %d versions, want 2", len(h))
		}
		checkChain(t, d.DB)

		// The unchanged licence is still intact and the batch can now be saved.
		if err := d.Save(ctx, batch[:10]); err != nil {
			t.Fatalf("Save after conflicts: %v", err)
		}
		checkChain(t, d.DB)
	})
}

func TestList(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		at := d.clock.Now()
		kinds := []license.Kind{license.Company, license.Branch, license.Individual}
		auths := []string{"AUTH-A", "AUTH-B"}
		var changes []license.Change
		var all []*license.Licence
		for i := range 60 {
			region := testRegions[i%len(testRegions)]
			name := fmt.Sprintf("测试%02d商贸有限公司", i)
			switch i % 10 {
			case 3:
				name = fmt.Sprintf("Alpha_%d 100%% Trading", i)
			case 7:
				name = fmt.Sprintf(`测试\%d`, i)
			}
			l := newLicence(testCode(region, i), kinds[i%3], region, auths[i%2], name, at)
			all = append(all, l)
			changes = append(changes, issue(l))
		}
		for i := 0; i < 60; i += 7 {
			changes = append(changes, statusChange(all[i], license.Cancelled, "注销", at))
			all[i].Status = license.Cancelled
		}
		if err := d.Save(ctx, changes); err != nil {
			t.Fatal(err)
		}
		codes := func(ls []*license.Licence) []string {
			var s []string
			for _, l := range ls {
				s = append(s, l.Code)
			}
			return s
		}
		want := func(pred func(l *license.Licence) bool) []string {
			var s []string
			for _, l := range all {
				if pred(l) {
					s = append(s, l.Code)
				}
			}
			sort.Strings(s)
			return s
		}
		// pages collects every page with the given page size.
		pages := func(f license.Filter) []string {
			t.Helper()
			var got []string
			for i := 0; ; i++ {
				ls, next, err := d.List(ctx, f)
				if err != nil {
					t.Fatalf("List(%+v): %v", f, err)
				}
				if len(ls) > max(f.Limit, 1) && f.Limit != 0 {
					t.Fatalf("page of %d with limit %d", len(ls), f.Limit)
				}
				got = append(got, codes(ls)...)
				if next == "" {
					return got
				}
				if i > 100 {
					t.Fatal("List does not end")
				}
				f.Cursor = next
			}
		}
		tests := []struct {
			name string
			f    license.Filter
			pred func(l *license.Licence) bool
		}{
			{"all", license.Filter{Limit: 7}, func(*license.Licence) bool { return true }},
			{"all default limit", license.Filter{}, func(*license.Licence) bool { return true }},
			{"kind", license.Filter{Kind: license.Branch, Limit: 4}, func(l *license.Licence) bool { return l.Kind == license.Branch }},
			{"province", license.Filter{Region: "33", Limit: 3}, func(l *license.Licence) bool { return strings.HasPrefix(l.Region, "33") }},
			{"city", license.Filter{Region: "3301", Limit: 5}, func(l *license.Licence) bool { return strings.HasPrefix(l.Region, "3301") }},
			{"county", license.Filter{Region: "330102", Limit: 5}, func(l *license.Licence) bool { return l.Region == "330102" }},
			{"other province", license.Filter{Region: "51", Limit: 5}, func(l *license.Licence) bool { return strings.HasPrefix(l.Region, "51") }},
			{"status", license.Filter{Status: license.Cancelled, Limit: 2}, func(l *license.Licence) bool { return l.Status == license.Cancelled }},
			{"authority", license.Filter{Authority: "AUTH-B", Limit: 9}, func(l *license.Licence) bool { return l.AuthorityCode == "AUTH-B" }},
			{"combined", license.Filter{Kind: license.Company, Region: "33", Authority: "AUTH-A", Status: license.Active, Limit: 2},
				func(l *license.Licence) bool {
					return l.Kind == license.Company && strings.HasPrefix(l.Region, "33") && l.AuthorityCode == "AUTH-A" && l.Status == license.Active
				}},
			{"name part", license.Filter{Query: "商贸", Limit: 10}, func(l *license.Licence) bool { return strings.Contains(l.Face.Name, "商贸") }},
			{"name any case", license.Filter{Query: "alpha", Limit: 10}, func(l *license.Licence) bool { return strings.Contains(l.Face.Name, "Alpha") }},
			{"percent is literal", license.Filter{Query: "%", Limit: 10}, func(l *license.Licence) bool { return strings.Contains(l.Face.Name, "%") }},
			{"underscore is literal", license.Filter{Query: "_", Limit: 10}, func(l *license.Licence) bool { return strings.Contains(l.Face.Name, "_") }},
			{"backslash is literal", license.Filter{Query: `\`, Limit: 10}, func(l *license.Licence) bool { return strings.Contains(l.Face.Name, `\`) }},
			{"code lower case", license.Filter{Query: strings.ToLower(all[5].Code)}, func(l *license.Licence) bool { return l == all[5] }},
			{"nothing", license.Filter{Kind: license.Cooperative}, func(*license.Licence) bool { return false }},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, exp := pages(tc.f), want(tc.pred)
				if !reflect.DeepEqual(got, exp) {
					t.Errorf("got %d %v\nwant %d %v", len(got), got, len(exp), exp)
				}
			})
		}

		// Pages hold current versions with their status.
		ls, next, err := d.List(ctx, license.Filter{Limit: 500})
		if err != nil || next != "" || len(ls) != 60 {
			t.Fatalf("List(500) = %d, %q, %v", len(ls), next, err)
		}
		for _, l := range ls {
			if l.Status == "" || l.Identifier == "" || len(l.Signature) == 0 || l.Face.Name == "" {
				t.Fatalf("listed licence lacks data: %+v", l)
			}
		}
		_, _, err = d.List(ctx, license.Filter{Limit: 501})
		if e := wantKind(t, err, errs.Invalid); e.Field != "limit" {
			t.Errorf("field %q", e.Field)
		}
		_, _, err = d.List(ctx, license.Filter{Cursor: "%%%"})
		if e := wantKind(t, err, errs.Invalid); e.Field != "cursor" {
			t.Errorf("field %q", e.Field)
		}
	})
}

func TestDigests(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		var changes []license.Change
		var codes []string
		for i := range 700 {
			l := newLicence(testCode("110108", i), license.Company, "110108", "AUTH", "x", d.clock.Now())
			l.Digest = []byte(fmt.Sprintf("digest-%d", i))
			changes = append(changes, issue(l))
			codes = append(codes, l.Code)
		}
		if err := d.Save(ctx, changes); err != nil {
			t.Fatal(err)
		}
		ch := nextVersion(changes[3].Licence, "y", d.clock.Now())
		ch.Licence.Digest = []byte("changed")
		if err := d.Save(ctx, []license.Change{ch}); err != nil {
			t.Fatal(err)
		}
		got, err := d.Digests(ctx, append(codes, "91110108999999999X", codes[0]))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 700 {
			t.Fatalf("Digests returned %d codes, want 700", len(got))
		}
		if string(got[codes[10]]) != "digest-10" || string(got[codes[3]]) != "changed" {
			t.Errorf("Digests = %q, %q", got[codes[10]], got[codes[3]])
		}
		if got, err := d.Digests(ctx, nil); err != nil || len(got) != 0 {
			t.Errorf("Digests(nil) = %v, %v", got, err)
		}
	})
}

func TestAudit(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		seq, head, err := d.Head(ctx)
		if err != nil || seq != 0 || head != [32]byte{} {
			t.Fatalf("Head of an empty log = %d, %x, %v", seq, head, err)
		}
		// 2,500 events: more than one INSERT chunk and more than one Scan chunk.
		var evs []audit.Event
		for i := range 2500 {
			evs = append(evs, audit.Event{Action: "license.use", Actor: "dept:1", Subject: fmt.Sprint(i), Data: []byte(`{"i":` + fmt.Sprint(i) + `}`)})
		}
		evs[0].Data = nil
		if err := d.Append(ctx, evs[:1000]); err != nil {
			t.Fatal(err)
		}
		if err := d.Append(ctx, evs[1000:]); err != nil {
			t.Fatal(err)
		}
		if n := checkChain(t, d.DB); n != 2500 {
			t.Fatalf("%d events, want 2500", n)
		}
		// Events without a time get the store's clock; empty data becomes {}.
		var first audit.Event
		d.Scan(ctx, 1, func(e *audit.Event) error { first = *e; return errors.New("stop") })
		if !first.Time.Equal(d.clock.Now()) || string(first.Data) != "{}" {
			t.Errorf("first event: time %v data %q", first.Time, first.Data)
		}
		// Scan from the middle, in order, and stop at fn's error.
		var got []int64
		stop := errors.New("enough")
		err = d.Scan(ctx, 1998, func(e *audit.Event) error {
			got = append(got, e.Seq)
			if e.Seq == 2003 {
				return stop
			}
			return nil
		})
		if err != stop || !reflect.DeepEqual(got, []int64{1998, 1999, 2000, 2001, 2002, 2003}) {
			t.Errorf("Scan from 1998 = %v, %v", got, err)
		}
		n := 0
		if err := d.Scan(ctx, 2501, func(*audit.Event) error { n++; return nil }); err != nil || n != 0 {
			t.Errorf("Scan past the end: %d, %v", n, err)
		}

		// Find by subject, actor, action prefix and time, newest first, paged by seq.
		more := []audit.Event{
			{Action: "share.query", Actor: "dept:2", Subject: "7"},
			{Action: "share.verify", Actor: "dept:2", Subject: "7"},
			{Action: "license.issue", Actor: "dept:2", Subject: "7"},
		}
		if err := d.Append(ctx, more); err != nil {
			t.Fatal(err)
		}
		seqs := func(evs []audit.Event, err error) []int64 {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			var s []int64
			for _, e := range evs {
				s = append(s, e.Seq)
			}
			return s
		}
		for _, c := range []struct {
			f    audit.Filter
			want []int64
		}{
			{audit.Filter{Subject: "7", Limit: 10}, []int64{2502, 2501, 8}},
			{audit.Filter{Subject: "7", Limit: 1}, []int64{2502}},
			{audit.Filter{Subject: "7", Before: 2502, Limit: 10}, []int64{2501, 8}},
			{audit.Filter{Subject: "7", ActionPrefix: "share.", Limit: 10}, []int64{2502, 2501}},
			{audit.Filter{Actor: "dept:2", Limit: 10}, []int64{2502, 2501}},
			{audit.Filter{Actor: "dept:2", ActionPrefix: "share.q", Limit: 10}, []int64{2501}},
			{audit.Filter{Subject: "7", Until: d.clock.Now(), Limit: 10}, nil},
			{audit.Filter{Subject: "7", Since: d.clock.Now(), Limit: 10}, []int64{2502, 2501, 8}},
			{audit.Filter{Subject: "nobody", Limit: 10}, nil},
		} {
			if got := seqs(d.FindEvents(ctx, c.f)); !reflect.DeepEqual(got, c.want) {
				t.Errorf("FindEvents(%+v) = %v, want %v", c.f, got, c.want)
			}
		}

		// Checkpoints.
		cps, err := d.Checkpoints(ctx)
		if err != nil || len(cps) != 0 {
			t.Fatalf("Checkpoints = %v, %v", cps, err)
		}
		seq, head, _ = d.Head(ctx)
		cp2 := audit.Checkpoint{Seq: seq, Hash: head, Time: d.clock.Now(), Signature: []byte("sig2")}
		cp1 := audit.Checkpoint{Seq: 1000, Hash: evs[999].Hash, Time: d.clock.Now().Add(-time.Hour), Signature: []byte("sig1")}
		for _, c := range []audit.Checkpoint{cp2, cp1} {
			if err := d.SaveCheckpoint(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		wantKind(t, d.SaveCheckpoint(ctx, cp1), errs.Conflict)
		cps, err = d.Checkpoints(ctx)
		if err != nil || !reflect.DeepEqual(cps, []audit.Checkpoint{cp1, cp2}) {
			t.Errorf("Checkpoints = %+v, %v", cps, err)
		}
	})
}

// Appenders in several processes (here: several handles) queue on the head: the chain never forks.
func TestAuditConcurrentAppenders(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		handles := []*DB{d.DB, d.open(t)}
		var wg sync.WaitGroup
		errc := make(chan error, 8)
		total := 0
		for w := range 8 {
			db := handles[w%2]
			total += 30 * (1 + w%3)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 30 {
					batch := make([]audit.Event, 1+w%3)
					for j := range batch {
						batch[j] = audit.Event{Action: "test", Actor: fmt.Sprint("w", w), Subject: fmt.Sprint(i, "/", j)}
					}
					if w%2 == 1 {
						l := newLicence(testCode("330106", w*1000+i), license.Company, "330106", "A", "并发", time.Now())
						if err := db.Save(ctx, []license.Change{issue(l)}); err != nil {
							errc <- err
							return
						}
					}
					if err := db.Append(ctx, batch); err != nil {
						errc <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		if n := checkChain(t, d.DB); n != int64(total+4*30) {
			t.Errorf("chain has %d events, want %d", n, total+4*30)
		}
	})
}

func TestKeys(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		_, err := d.Key(ctx, keys.RootKeyID)
		wantKind(t, err, errs.NotFound)
		_, err = d.KeyBySerial(ctx, "01")
		wantKind(t, err, errs.NotFound)

		// Many processes racing to create the root key all get the same winner.
		handles := []*DB{d.DB, d.open(t)}
		var wg sync.WaitGroup
		got := make([]*keys.Key, 8)
		errl := make([]error, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errl[i] = handles[i%2].PutKey(ctx, keys.Key{
					ID: keys.RootKeyID, Sealed: []byte(fmt.Sprint("sealed-", i)), CertDER: []byte(fmt.Sprint("cert-", i)),
					Serial: fmt.Sprintf("%02x", i+1), CreatedAt: d.clock.Now(),
				})
			}()
		}
		wg.Wait()
		for i := range 8 {
			if errl[i] != nil {
				t.Fatalf("PutKey %d: %v", i, errl[i])
			}
			if !reflect.DeepEqual(got[i], got[0]) {
				t.Fatalf("PutKey results differ: %+v vs %+v", got[i], got[0])
			}
		}
		stored, err := d.Key(ctx, keys.RootKeyID)
		if err != nil || !reflect.DeepEqual(stored, got[0]) {
			t.Fatalf("Key = %+v, %v; PutKey returned %+v", stored, err, got[0])
		}
		if !stored.CreatedAt.Equal(d.clock.Now()) || len(stored.Sealed) == 0 {
			t.Errorf("stored key %+v", stored)
		}
		bySerial, err := d.KeyBySerial(ctx, stored.Serial)
		if err != nil || bySerial.ID != keys.RootKeyID {
			t.Errorf("KeyBySerial = %+v, %v", bySerial, err)
		}
		// A different key with a serial that is taken.
		_, err = d.PutKey(ctx, keys.Key{ID: "platform", Sealed: []byte("s"), CertDER: []byte("c"), Serial: stored.Serial, CreatedAt: d.clock.Now()})
		wantKind(t, err, errs.Conflict)

		// Authorities.
		_, err = d.Authority(ctx, "11330106MB0000001X")
		wantKind(t, err, errs.NotFound)
		as, err := d.Authorities(ctx)
		if err != nil || len(as) != 0 {
			t.Fatalf("Authorities = %v, %v", as, err)
		}
		b := keys.Authority{Code: "11330106MB0000002X", Name: "西湖区市场监督管理局", Region: "330106", CertDER: []byte("der-b"), Serial: "0b", CreatedAt: d.clock.Now()}
		a := keys.Authority{Code: "11330106MB0000001X", Name: "旧名", Region: "330106", CertDER: []byte("der-a"), Serial: "0a", CreatedAt: d.clock.Now()}
		for _, x := range []keys.Authority{b, a} {
			if err := d.PutAuthority(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		a.Name, a.Serial, a.CertDER = "杭州市市场监督管理局", "0c", []byte("der-c")
		updated := a
		updated.CreatedAt = d.clock.Now().Add(time.Hour) // creation time stays
		if err := d.PutAuthority(ctx, updated); err != nil {
			t.Fatal(err)
		}
		got1, err := d.Authority(ctx, a.Code)
		if err != nil || !reflect.DeepEqual(*got1, a) {
			t.Errorf("Authority = %+v, %v; want %+v", got1, err, a)
		}
		as, err = d.Authorities(ctx)
		if err != nil || len(as) != 2 || !reflect.DeepEqual(*as[0], a) || !reflect.DeepEqual(*as[1], b) {
			t.Errorf("Authorities = %+v, %v", as, err)
		}
	})
}

func TestAccounts(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		now := d.clock.Now()
		op := &account.Account{ID: "acc-1", Username: "admin", DisplayName: "管理员", Role: account.Operator,
			PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA", CreatedAt: now}
		reg := &account.Account{ID: "acc-2", Username: "xihu", DisplayName: "西湖登记员", Role: account.Registrar,
			Authority: "11330106MB0000001X", PasswordHash: "h", CreatedAt: now}
		for _, a := range []*account.Account{reg, op} {
			if err := d.CreateAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		e := wantKind(t, d.CreateAccount(ctx, &account.Account{ID: "acc-3", Username: "admin", Role: account.Operator, CreatedAt: now}), errs.Conflict)
		if e.Field != "username" || !strings.Contains(e.EN, "admin") {
			t.Errorf("duplicate username: %v (field %q)", e, e.Field)
		}
		wantKind(t, d.CreateAccount(ctx, &account.Account{ID: "acc-1", Username: "other", Role: account.Operator, CreatedAt: now}), errs.Conflict)

		got, err := d.AccountByUsername(ctx, "xihu")
		if err != nil || !reflect.DeepEqual(got, reg) {
			t.Errorf("AccountByUsername = %+v, %v", got, err)
		}
		got, err = d.AccountByID(ctx, "acc-1")
		if err != nil || !reflect.DeepEqual(got, op) {
			t.Errorf("AccountByID = %+v, %v", got, err)
		}
		_, err = d.AccountByID(ctx, "nobody")
		wantKind(t, err, errs.NotFound)
		_, err = d.AccountByUsername(ctx, "nobody")
		wantKind(t, err, errs.NotFound)

		locked := now.Add(15 * time.Minute)
		if err := d.RecordLogin(ctx, "acc-1", 5, locked); err != nil {
			t.Fatal(err)
		}
		got, _ = d.AccountByID(ctx, "acc-1")
		if got.FailedLogins != 5 || !got.LockedUntil.Equal(locked) {
			t.Errorf("after RecordLogin: %d, %v", got.FailedLogins, got.LockedUntil)
		}
		if err := d.RecordLogin(ctx, "acc-1", 0, time.Time{}); err != nil {
			t.Fatal(err)
		}
		got, _ = d.AccountByID(ctx, "acc-1")
		if got.FailedLogins != 0 || !got.LockedUntil.IsZero() {
			t.Errorf("after reset: %d, %v", got.FailedLogins, got.LockedUntil)
		}
		wantKind(t, d.RecordLogin(ctx, "nobody", 1, time.Time{}), errs.NotFound)
		list, err := d.ListAccounts(ctx)
		if err != nil || len(list) != 2 || list[0].Username != "admin" || list[1].Username != "xihu" {
			t.Errorf("ListAccounts = %v, %v", list, err)
		}

		// Sessions expire.
		s := &account.Session{IDHash: []byte("session-hash-1"), AccountID: "acc-2", CSRF: "csrf", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := d.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		wantKind(t, d.CreateSession(ctx, &account.Session{IDHash: []byte("h2"), AccountID: "nobody", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}), errs.NotFound)
		gs, err := d.SessionByHash(ctx, s.IDHash)
		if err != nil || !reflect.DeepEqual(gs, s) {
			t.Errorf("SessionByHash = %+v, %v", gs, err)
		}
		d.clock.Advance(time.Hour)
		_, err = d.SessionByHash(ctx, s.IDHash)
		wantKind(t, err, errs.NotFound)
		d.clock.Advance(-time.Minute)
		if _, err := d.SessionByHash(ctx, s.IDHash); err != nil {
			t.Errorf("session a minute before expiry: %v", err)
		}
		if err := d.DeleteSession(ctx, s.IDHash); err != nil {
			t.Fatal(err)
		}
		_, err = d.SessionByHash(ctx, s.IDHash)
		wantKind(t, err, errs.NotFound)
		if err := d.DeleteSession(ctx, s.IDHash); err != nil {
			t.Errorf("deleting a deleted session: %v", err)
		}

		// Tokens: with and without expiry.
		now = d.clock.Now()
		t1 := &account.Token{Hash: []byte("token-1"), AccountID: "acc-2", Name: "import", CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
		t2 := &account.Token{Hash: []byte("token-2"), AccountID: "acc-2", Name: "forever", CreatedAt: now}
		for _, tk := range []*account.Token{t1, t2} {
			if err := d.CreateToken(ctx, tk); err != nil {
				t.Fatal(err)
			}
		}
		wantKind(t, d.CreateToken(ctx, t1), errs.Conflict)
		wantKind(t, d.CreateToken(ctx, &account.Token{Hash: []byte("t3"), AccountID: "nobody", CreatedAt: now}), errs.NotFound)
		for _, tk := range []*account.Token{t1, t2} {
			got, err := d.TokenByHash(ctx, tk.Hash)
			if err != nil || !reflect.DeepEqual(got, tk) {
				t.Errorf("TokenByHash = %+v, %v; want %+v", got, err, tk)
			}
		}
		d.clock.Advance(25 * time.Hour)
		_, err = d.TokenByHash(ctx, t1.Hash)
		wantKind(t, err, errs.NotFound)
		if _, err := d.TokenByHash(ctx, t2.Hash); err != nil {
			t.Errorf("token without expiry: %v", err)
		}
		_, err = d.TokenByHash(ctx, []byte("unknown"))
		wantKind(t, err, errs.NotFound)
	})
}
