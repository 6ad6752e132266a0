package store

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/license"
)

// sameState reports whether got shows the version and status of want.
func sameState(got, want *license.Licence) bool {
	return got.Version == want.Version && got.Status == want.Status && got.StatusReason == want.StatusReason &&
		got.Face.Name == want.Face.Name
}

// A change saved by a process is seen by its next read at once, and the reads in between come from
// the cache.
func TestLicenceCacheSameProcess(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		at := d.clock.Now()
		l := newLicence(testCode("330106", 1), license.Company, "330106", "AUTH", "杭州缓存甲公司", at)
		if err := d.Save(ctx, []license.Change{issue(l)}); err != nil {
			t.Fatal(err)
		}
		first, err := d.Current(ctx, l.Code)
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := d.Current(ctx, l.Code); again != first {
			t.Fatal("a second read of the same licence did not come from the cache")
		}
		if v, _ := d.Version(ctx, l.Code, 1); v != first {
			t.Error("Version of the current version did not come from the cache")
		}

		cur := first
		steps := []func(cur *license.Licence) license.Change{
			func(cur *license.Licence) license.Change {
				return statusChange(cur, license.Suspended, "经营异常", at.Add(time.Hour))
			},
			func(cur *license.Licence) license.Change {
				return statusChange(cur, license.Active, "", at.Add(2*time.Hour))
			},
			func(cur *license.Licence) license.Change {
				return nextVersion(cur, "杭州缓存乙公司", at.Add(3*time.Hour))
			},
			func(cur *license.Licence) license.Change {
				return statusChange(cur, license.Cancelled, "注销", at.Add(4*time.Hour))
			},
		}
		for i, step := range steps {
			ch := step(cur)
			if err := d.Save(ctx, []license.Change{ch}); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			got, err := d.Current(ctx, l.Code)
			if err != nil {
				t.Fatal(err)
			}
			if !sameState(got, ch.Licence) {
				t.Fatalf("step %d: Current right after Save = v%d %s %q, want v%d %s", i, got.Version, got.Status,
					got.StatusReason, ch.Licence.Version, ch.Licence.Status)
			}
			cur = got
		}
		if old, err := d.Version(ctx, l.Code, 1); err != nil || old.Status != license.Superseded {
			t.Errorf("Version 1 = %+v, %v; want superseded", old, err)
		}
		if v2, err := d.Version(ctx, l.Code, 2); err != nil || v2 != cur {
			t.Errorf("Version 2 = %p, %v; want the cached current licence %p", v2, err, cur)
		}

		// A failed Save leaves the cache consistent with the database.
		stale := statusChange(first, license.Revoked, "吊销", at)
		wantKind(t, d.Save(ctx, []license.Change{stale}), errs.Conflict)
		if got, _ := d.Current(ctx, l.Code); got.Status != license.Cancelled || got.Version != 2 {
			t.Errorf("after a failed Save: v%d %s", got.Version, got.Status)
		}
		// Unknown codes are not cached: issuing one is seen at once, also by others.
		other := d.open(t)
		n := newLicence(testCode("330106", 2), license.Company, "330106", "AUTH", "杭州缓存丙公司", at)
		_, err = other.Current(ctx, n.Code)
		wantKind(t, err, errs.NotFound)
		if err := d.Save(ctx, []license.Change{issue(n)}); err != nil {
			t.Fatal(err)
		}
		if _, err := other.Current(ctx, n.Code); err != nil {
			t.Errorf("a new licence is not seen at once by another process: %v", err)
		}
	})
}

// awaitState reads code from db until it shows want, and fails if a read that began MaxStale after
// the change (at saved) still shows something else. It returns how long the change took to show.
func awaitState(t *testing.T, db *DB, code string, want *license.Licence, saved time.Time) time.Duration {
	t.Helper()
	for {
		start := time.Now()
		got, err := db.Current(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		if sameState(got, want) {
			return time.Since(saved)
		}
		if start.Sub(saved) >= MaxStale {
			t.Fatalf("%v after the change another process still reads v%d %s, want v%d %s",
				start.Sub(saved).Round(time.Millisecond), got.Version, got.Status, want.Version, want.Status)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// A change saved by one process is seen by another process on the same database (SQLite file or
// PostgreSQL) within MaxStale, which caches the licence in the meantime.
func TestLicenceCacheOtherProcess(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		a, b := d.DB, d.open(t)
		at := d.clock.Now()
		l := newLicence(testCode("510107", 1), license.Company, "510107", "AUTH", "成都缓存甲公司", at)
		if err := a.Save(ctx, []license.Change{issue(l)}); err != nil {
			t.Fatal(err)
		}
		cur := l
		steps := []func(cur *license.Licence) license.Change{
			func(cur *license.Licence) license.Change {
				return statusChange(cur, license.Suspended, "经营异常", at.Add(time.Hour))
			},
			func(cur *license.Licence) license.Change {
				return statusChange(cur, license.Active, "", at.Add(2*time.Hour))
			},
			func(cur *license.Licence) license.Change {
				return nextVersion(cur, "成都缓存乙公司", at.Add(3*time.Hour))
			},
			func(cur *license.Licence) license.Change {
				return statusChange(cur, license.Revoked, "吊销", at.Add(4*time.Hour))
			},
		}
		var slowest time.Duration
		for i, step := range steps {
			// b holds the licence in its cache.
			first, err := b.Current(ctx, l.Code)
			if err != nil {
				t.Fatal(err)
			}
			if again, _ := b.Current(ctx, l.Code); again != first {
				t.Fatalf("step %d: the other process does not cache the licence", i)
			}
			ch := step(cur)
			if err := a.Save(ctx, []license.Change{ch}); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			saved := time.Now()
			if got, _ := a.Current(ctx, l.Code); !sameState(got, ch.Licence) {
				t.Fatalf("step %d: the writing process reads v%d %s", i, got.Version, got.Status)
			}
			slowest = max(slowest, awaitState(t, b, l.Code, ch.Licence, saved))
			cur = ch.Licence
		}
		t.Logf("%s: changes showed in the other process within %v (bound %v, poll every %v)",
			d.Dialect(), slowest.Round(time.Millisecond), MaxStale, PollInterval)
	})
}

// Readers in two processes and a writer run together (go test -race); at the end both processes
// read the last state, the writer's at once, the other's within MaxStale.
func TestLicenceCacheConcurrent(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		a, b := d.DB, d.open(t)
		at := d.clock.Now()
		var codes []string
		var cur []*license.Licence
		for i := range 4 {
			l := newLicence(testCode("110108", i), license.Company, "110108", "AUTH", fmt.Sprintf("北京并发%d公司", i), at)
			if err := a.Save(ctx, []license.Change{issue(l)}); err != nil {
				t.Fatal(err)
			}
			codes = append(codes, l.Code)
			cur = append(cur, l)
		}
		var (
			stop  atomic.Bool
			wg    sync.WaitGroup
			reads atomic.Int64
		)
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db := a
				if w%2 == 1 {
					db = b
				}
				for i := 0; !stop.Load(); i++ {
					l, err := db.Current(ctx, codes[(i+w)%len(codes)])
					if err != nil {
						t.Error(err)
						return
					}
					if l.Code != codes[(i+w)%len(codes)] {
						t.Errorf("read %s, got %s", codes[(i+w)%len(codes)], l.Code)
						return
					}
					reads.Add(1)
					if i%64 == 0 {
						time.Sleep(100 * time.Microsecond) // leave the writer some CPU
					}
				}
			}()
		}
		statuses := []license.Status{license.Suspended, license.Active}
		for round := range 6 {
			for i := range cur {
				ch := statusChange(cur[i], statuses[round%2], fmt.Sprintf("第%d轮", round), at.Add(time.Duration(round+1)*time.Hour))
				if err := a.Save(ctx, []license.Change{ch}); err != nil {
					t.Fatal(err)
				}
				if got, _ := a.Current(ctx, codes[i]); !sameState(got, ch.Licence) {
					t.Fatalf("round %d: the writing process reads %s %q", round, got.Status, got.StatusReason)
				}
				cur[i] = ch.Licence
			}
			time.Sleep(20 * time.Millisecond)
		}
		saved := time.Now()
		for i := range cur {
			awaitState(t, b, codes[i], cur[i], saved)
		}
		stop.Store(true)
		wg.Wait()
		if reads.Load() == 0 {
			t.Fatal("no reads")
		}
	})
}

// The cache holds at most its size, keeps recently used entries, drops a fill that raced with an
// eviction, and is not used while the poller is behind or once an entry is older than MaxAge.
func TestLicenceCacheBounds(t *testing.T) {
	c := newLicenceCache(64)
	defer c.close()
	c.polled.Store(c.since())
	l := &license.Licence{Code: "hot"}
	c.add("hot", l, c.begin())
	for i := range 1000 {
		c.add(fmt.Sprint(i), &license.Licence{}, c.begin())
		if _, ok := c.get("hot"); !ok {
			t.Fatalf("the entry in use was dropped after %d others", i)
		}
	}
	if n := c.len(); n > 64 {
		t.Errorf("cache of 64 holds %d entries", n)
	}

	tok := c.begin()
	c.evict([]string{"something else"})
	c.add("late", l, tok)
	if _, ok := c.get("late"); ok {
		t.Error("a fill that began before an eviction was kept")
	}

	if _, ok := c.get("hot"); !ok {
		t.Fatal("hot is gone")
	}
	c.polled.Store(c.since() - int64(MaxStale))
	if _, ok := c.get("hot"); ok {
		t.Error("served from the cache while the poller is a MaxStale behind")
	}
	c.polled.Store(c.since())
	old := c.begin()
	old.at -= int64(MaxAge)
	c.add("old", l, old)
	if _, ok := c.get("old"); ok {
		t.Error("served an entry older than MaxAge")
	}
}

// The poll reads the partial index, not the table.
func TestChangePollPlan(t *testing.T) {
	d := openTestDB(t, sqliteDSN(t))
	rows, err := d.r.Query("EXPLAIN QUERY PLAN "+pollQuery, 0, pollPage)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if p := strings.Join(plan, "; "); !strings.Contains(p, "licences_change_seq") {
		t.Errorf("poll plan does not use licences_change_seq: %s", p)
	}
}

// With the cache off, reads go to the database and see every change at once.
func TestLicenceCacheOff(t *testing.T) {
	dsn := sqliteDSN(t)
	a, err := Open(ctx, dsn, Options{LicenceCache: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.cache != nil {
		t.Fatal("LicenceCache -1 made a cache")
	}
	l := newLicence(testCode("330102", 1), license.Company, "330102", "AUTH", "杭州无缓存公司", time.Now())
	if err := a.Save(ctx, []license.Change{issue(l)}); err != nil {
		t.Fatal(err)
	}
	x, _ := a.Current(ctx, l.Code)
	y, _ := a.Current(ctx, l.Code)
	if x == y || x.Code != l.Code {
		t.Error("reads with the cache off share a licence")
	}
}
