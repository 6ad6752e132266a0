package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/stats"
	"github.com/elicense/elicense/internal/stats/statstest"
)

// rollAll rolls up in batches of limit until the cursor reaches the head.
func rollAll(t testing.TB, db *DB, limit int) {
	t.Helper()
	ctx := context.Background()
	for range 1_000_000 {
		head, _, err := db.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r, err := db.RollStats(ctx, limit, stats.Tally)
		if err != nil {
			t.Fatalf("roll: %v", err)
		}
		if r.Claimed && r.To >= head {
			return
		}
	}
	t.Fatal("the roll-up never caught up")
}

// compareWithLog checks that the roll-up equals a direct count of the log, in total and by day,
// region, department and scenario.
func compareWithLog(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	want, err := statstest.Count(ctx, db, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Metric) < len(stats.Metrics) {
		t.Fatalf("the mix counts only %v: every metric should occur", want.Metric)
	}
	got := map[string]int64{}
	rows, err := db.StatsRows(ctx, stats.RowFilter{}, stats.GroupNone)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		got[string(r.Metric)] += r.N
	}
	if fmt.Sprint(got) != fmt.Sprint(want.Metric) {
		t.Fatalf("totals: roll-up %v, log %v", got, want.Metric)
	}
	for _, g := range []struct {
		group stats.Group
		want  map[[2]string]int64
	}{{stats.GroupDay, want.MetricDay}, {stats.GroupRegion, want.MetricRegion},
		{stats.GroupDepartment, want.MetricDept}, {stats.GroupScenario, want.MetricScen}} {
		rows, err := db.StatsRows(ctx, stats.RowFilter{}, g.group)
		if err != nil {
			t.Fatal(err)
		}
		got := map[[2]string]int64{}
		for _, r := range rows {
			k := r.Key
			if g.group == stats.GroupDay {
				k = r.Day.In(stats.China).Format(time.DateOnly)
			}
			got[[2]string{string(r.Metric), k}] += r.N
		}
		if fmt.Sprint(got) != fmt.Sprint(g.want) {
			t.Errorf("by %s: roll-up %v\nlog %v", g.group, got, g.want)
		}
	}
	// The margins, by day and by month, agree with the log too.
	for _, grain := range []stats.Grain{stats.Day, stats.Month} {
		for _, g := range []struct {
			dim  stats.Group
			want map[[2]string]int64
		}{{stats.GroupRegion, want.MetricRegion}, {stats.GroupDepartment, want.MetricDept}, {stats.GroupScenario, want.MetricScen}} {
			rows, err := db.MarginRows(ctx, grain, g.dim, time.Time{}, time.Time{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := map[[2]string]int64{}
			for _, r := range rows {
				got[[2]string{string(r.Metric), r.Key}] += r.N
			}
			if fmt.Sprint(got) != fmt.Sprint(g.want) {
				t.Errorf("margins by %s %s: %v\nlog %v", grain, g.dim, got, g.want)
			}
		}
		rows, err := db.MarginRows(ctx, grain, stats.GroupNone, time.Time{}, time.Time{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		byPeriod, total := map[[2]string]int64{}, map[string]int64{}
		for _, r := range rows {
			total[string(r.Metric)] += r.N
			byPeriod[[2]string{string(r.Metric), r.Day.In(stats.China).Format(time.DateOnly)}] += r.N
		}
		if fmt.Sprint(total) != fmt.Sprint(want.Metric) {
			t.Errorf("margins by %s: %v\nlog %v", grain, total, want.Metric)
		}
		if grain == stats.Day && fmt.Sprint(byPeriod) != fmt.Sprint(want.MetricDay) {
			t.Errorf("daily margins: %v\nlog %v", byPeriod, want.MetricDay)
		}
	}
}

func TestStatsRollUp(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		gen := statstest.NewGen(1, time.Date(2025, 2, 27, 20, 0, 0, 0, time.UTC), 7*time.Minute, 300, 12)
		if err := d.Append(ctx, gen.Register()); err != nil {
			t.Fatal(err)
		}
		// A client registered through the store records its registration too.
		c := &oidc.Client{ID: "portal-bank", Name: "银行开户门户", Region: "330100", AuthMethod: oidc.AuthSecretBasic,
			GrantTypes: []string{oidc.GrantAuthorizationCode}, CreatedBy: "cli", CreatedAt: d.clock.Now()}
		if err := d.CreateOIDCClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := d.Append(ctx, gen.Events(700)); err != nil {
			t.Fatal(err)
		}
		// Roll up in small batches while other events are being appended.
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				if err := d.Append(ctx, gen.Events(60)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		for range 40 {
			if _, err := d.RollStats(ctx, 37, stats.Tally); err != nil {
				t.Fatal(err)
			}
		}
		wg.Wait()
		rollAll(t, d.DB, 37)
		compareWithLog(t, d.DB)

		// Idempotent: a roll with nothing new changes nothing.
		r, err := d.RollStats(ctx, 100, stats.Tally)
		if err != nil || !r.Claimed || r.Events != 0 {
			t.Fatalf("roll at the head: %+v, %v", r, err)
		}
		head, _, _ := d.Head(ctx)
		cur, at, err := d.StatsCursor(ctx)
		if err != nil || cur != head || at.IsZero() {
			t.Fatalf("cursor %d at %v (%v), head %d", cur, at, err, head)
		}
		compareWithLog(t, d.DB)

		// The portal registered through the store is counted by its client ID.
		rows, err := d.StatsRows(ctx, stats.RowFilter{Metrics: []stats.Metric{stats.Portals}, Department: "portal-bank"}, stats.GroupRegion)
		if err != nil || len(rows) != 1 || rows[0].Key != "330100" || rows[0].N != 1 {
			t.Fatalf("portal-bank: %+v, %v", rows, err)
		}
	})
}

func TestStatsRowsFilters(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		day := func(s string) time.Time {
			t, _ := time.ParseInLocation(time.DateOnly, s, stats.China)
			return t.UTC()
		}
		ev := func(at, action, subject, data string) audit.Event {
			tm, _ := time.ParseInLocation("2006-01-02 15:04", at, stats.China)
			return audit.Event{Time: tm, Action: action, Actor: "c1", Subject: subject, Data: []byte(data)}
		}
		code := "91330106673959654P" // Hangzhou, Xihu
		sh := "91310115MA1K3XXX0W"   // Shanghai, Pudong (check characters are not verified here)
		err := d.Append(ctx, []audit.Event{
			ev("2025-03-01 00:10", "share.query", code, `{"result":"ok"}`),
			ev("2025-03-01 23:50", "share.query", sh, `{"result":"ok"}`),
			ev("2025-03-02 08:00", "share.verify", code, `{"result":"result:0"}`),
			ev("2025-03-02 08:00", "catalog.apply.submit", code, `{"scenario":"tax","not_asked":3}`),
			ev("2025-03-03 08:00", "catalog.apply.submit", "APP-1", `{"scenario":"bank_account","not_asked":2}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		rollAll(t, d.DB, 2)
		sum := func(f stats.RowFilter) int64 {
			rows, err := d.StatsRows(ctx, f, stats.GroupNone)
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			for _, r := range rows {
				n += r.N
			}
			return n
		}
		for _, c := range []struct {
			name string
			f    stats.RowFilter
			want int64
		}{
			{"all", stats.RowFilter{}, 1 + 1 + 1 + 3 + 2},
			{"one day (China time)", stats.RowFilter{From: day("2025-03-01"), To: day("2025-03-02")}, 2},
			{"province", stats.RowFilter{Region: "33"}, 1 + 1 + 3},
			{"city", stats.RowFilter{Region: "3101"}, 1},
			{"unknown region", stats.RowFilter{Region: stats.Unknown}, 2},
			{"metric", stats.RowFilter{Metrics: []stats.Metric{stats.Shared}}, 2},
			{"metrics", stats.RowFilter{Metrics: []stats.Metric{stats.Shared, stats.NotAsked}}, 7},
			{"department", stats.RowFilter{Department: "c1"}, 3},
			{"scenario", stats.RowFilter{Scenario: "tax"}, 3},
			{"nothing", stats.RowFilter{Region: "44"}, 0},
		} {
			if got := sum(c.f); got != c.want {
				t.Errorf("%s: %d, want %d", c.name, got, c.want)
			}
		}
	})
}

// TestStatsConcurrentRollers runs rollers on two handles of one database (two processes) while
// events are appended: every event is counted exactly once.
func TestStatsConcurrentRollers(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		other := d.open(t)
		gen := statstest.NewGen(2, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), 3*time.Minute, 200, 8)
		var mu sync.Mutex
		next := func(n int) []audit.Event { mu.Lock(); defer mu.Unlock(); return gen.Events(n) }
		if err := d.Append(ctx, gen.Register()); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		done := make(chan struct{})
		for _, db := range []*DB{d.DB, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					if _, err := db.RollStats(ctx, 25, stats.Tally); err != nil {
						t.Error(err)
						return
					}
					select {
					case <-done:
						return
					default:
					}
				}
			}()
		}
		for range 20 {
			if err := other.Append(ctx, next(30)); err != nil {
				t.Fatal(err)
			}
		}
		close(done)
		wg.Wait()
		rollAll(t, d.DB, 25)
		compareWithLog(t, d.DB)
	})
}

// dayCounts returns the roll-up by metric and day.
func dayCounts(t *testing.T, db *DB) map[string]int64 {
	t.Helper()
	rows, err := db.StatsRows(context.Background(), stats.RowFilter{}, stats.GroupDay)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int64{}
	for _, r := range rows {
		m[string(r.Metric)+" "+r.Day.In(stats.China).Format(time.DateOnly)] += r.N
	}
	return m
}

// The crash test kills a process inside the roll-up transaction, after it added counts and
// before it moved the cursor; the counts must not survive, and a later roll-up counts each event
// once.
const envStatsHelper = "ELICENSE_STATS_HELPER_DSN"

func TestStatsRollKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	eachDB(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		gen := statstest.NewGen(3, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), time.Minute, 100, 6)
		if err := d.Append(ctx, append(gen.Register(), gen.Events(400)...)); err != nil {
			t.Fatal(err)
		}
		// Part of the log is rolled up before the crash.
		if _, err := d.RollStats(ctx, 150, stats.Tally); err != nil {
			t.Fatal(err)
		}
		before, _, _ := d.StatsCursor(ctx)
		rowsBefore := dayCounts(t, d.DB)

		cmd := exec.Command(os.Args[0], "-test.run=^TestStatsRollHelper$", "-test.v")
		cmd.Env = append(os.Environ(), envStatsHelper+"="+d.dsn)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		reached := false
		for sc.Scan() {
			if strings.Contains(sc.Text(), "STATS-IN-TRANSACTION") {
				reached = true
				break
			}
		}
		if !reached {
			cmd.Wait()
			t.Fatal("the helper never reached the roll-up transaction")
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()

		after, _, err := d.StatsCursor(ctx)
		if err != nil || after != before {
			t.Fatalf("cursor %d after the crash (%v), %d before", after, err, before)
		}
		rowsAfter := dayCounts(t, d.DB)
		if fmt.Sprint(rowsAfter) != fmt.Sprint(rowsBefore) {
			t.Fatalf("counts of the killed transaction survived:\nbefore %v\nafter  %v", rowsBefore, rowsAfter)
		}
		// PostgreSQL rolls the dead connection's transaction back when it notices; until then
		// the cursor is still locked and rollers skip it.
		for i := 0; ; i++ {
			r, err := d.RollStats(ctx, 1000, stats.Tally)
			if err != nil {
				t.Fatal(err)
			}
			if r.Claimed {
				break
			}
			if i > 500 {
				t.Fatal("the killed process's lock on the cursor was never released")
			}
			time.Sleep(20 * time.Millisecond)
		}
		rollAll(t, d.DB, 1000)
		compareWithLog(t, d.DB)
	})
}

// TestStatsRollHelper is the process TestStatsRollKilled kills: it rolls up and stops inside
// the transaction.
func TestStatsRollHelper(t *testing.T) {
	dsn := os.Getenv(envStatsHelper)
	if dsn == "" {
		t.Skip("run by TestStatsRollKilled")
	}
	db, err := Open(context.Background(), dsn, Options{LicenceCache: -1})
	if err != nil {
		t.Fatal(err)
	}
	statsRollHook = func() {
		fmt.Println("STATS-IN-TRANSACTION")
		os.Stdout.Sync()
		time.Sleep(time.Hour) // wait to be killed
	}
	_, err = db.RollStats(context.Background(), 1000, stats.Tally)
	t.Fatalf("the roll-up returned: %v", err)
}
