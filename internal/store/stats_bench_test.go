package store

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/stats"
	"github.com/elicense/elicense/internal/stats/statstest"
)

// BenchmarkStatsDashboard measures the statistics at scale. It bulk-loads ELICENSE_STATS_EVENTS
// audit events (default 200,000) of the realistic mix over one year — 100 divisions in 31
// provinces, 200 departments' systems, 200,000 entities — with COPY on PostgreSQL (multi-row
// INSERTs on SQLite), rolls them up from the log as serve does (reports the roll-up rate), then
// times the dashboard's queries one after another and reports their p50 and p99. At 10,000,000
// on PostgreSQL:
//
//	ELICENSE_TEST_POSTGRES=… ELICENSE_STATS_EVENTS=10000000 nice go test ./internal/store -run '^$' \
//	    -bench 'StatsDashboard/postgres' -benchtime 1x -timeout 3h
func BenchmarkStatsDashboard(b *testing.B) {
	b.Run(SQLite, func(b *testing.B) { benchmarkStats(b, openTestDB(b, sqliteDSN(b))) })
	b.Run(Postgres, func(b *testing.B) { benchmarkStats(b, openTestDB(b, postgresDSN(b))) })
}

// statsLoadChunk is how many events one bulk-load transaction writes.
const statsLoadChunk = 50_000

func benchmarkStats(b *testing.B, d *testDB) {
	ctx := context.Background()
	n := 200_000
	if v := os.Getenv("ELICENSE_STATS_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			b.Fatalf("ELICENSE_STATS_EVENTS=%q: want a number ≥ 1000", v)
		}
	}
	// One year of events, ending yesterday, so that "the last 30 days" is full.
	end := stats.DayOf(time.Now())
	start := end.AddDate(-1, 0, 0)
	step := end.Sub(start) / time.Duration(n)
	gen := statstest.NewGenIn(42, start, step, 200_000, 200, statstest.ManyDivisions(100))

	t0 := time.Now()
	var seq int64
	for seq < int64(n) {
		events := gen.Events(min(statsLoadChunk, n-int(seq)))
		if err := d.loadEvents(ctx, seq, events); err != nil {
			b.Fatal(err)
		}
		seq += int64(len(events))
	}
	load := time.Since(t0)
	b.Logf("%s: loaded %d events in %v (%.0f/s)", d.Dialect(), n, load.Round(time.Second), float64(n)/load.Seconds())

	batch := 5000
	if d.Dialect() == Postgres {
		batch = 50_000
	}
	svc := stats.NewService(stats.Config{Store: d.DB, Names: d.DB, Batch: batch, FreshLag: -1})
	t0 = time.Now()
	rolled, err := svc.CatchUp(ctx)
	if err != nil {
		b.Fatal(err)
	}
	roll := time.Since(t0)
	if rolled != int64(n) {
		b.Fatalf("rolled up %d events of %d", rolled, n)
	}
	var cells int64
	if err := d.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM stats_daily").Scan(&cells); err != nil {
		b.Fatal(err)
	}
	if d.Dialect() == Postgres {
		// As autovacuum would after a bulk load: statistics and the visibility map.
		if _, err := d.w.ExecContext(ctx, "VACUUM ANALYZE stats_daily"); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%s: rolled up %d events in %v (%.0f events/s) into %d roll-up rows", d.Dialect(), n, roll.Round(time.Second),
		float64(n)/roll.Seconds(), cells)

	if os.Getenv("ELICENSE_STATS_EXPLAIN") != "" && d.Dialect() == Postgres {
		for _, q := range []string{
			"EXPLAIN (ANALYZE, BUFFERS) SELECT metric, day, CAST(SUM(n) AS BIGINT) FROM stats_daily WHERE day >= $1 AND day < $2 GROUP BY metric, day",
			"EXPLAIN (ANALYZE, BUFFERS) SELECT metric, region, CAST(SUM(n) AS BIGINT) FROM stats_daily WHERE day >= $1 AND day < $2 GROUP BY metric, region",
		} {
			rows, err := d.r.QueryContext(ctx, q, micros(start), micros(end))
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				var line string
				rows.Scan(&line)
				b.Log(line)
			}
			rows.Close()
		}
	}
	day := func(t time.Time) string { return t.In(stats.China).Format(time.DateOnly) }
	last := end.AddDate(0, 0, -1)
	queries := []struct {
		name string
		p    stats.Params
	}{
		{"default: last 30 days by day, by region", stats.Params{}},
		{"a year by month, by region", stats.Params{From: day(start), To: day(last), Grain: "month"}},
		{"a year by week, by department", stats.Params{From: day(start), To: day(last), Grain: "week", By: "department"}},
		{"a year by month, one province by city", stats.Params{From: day(start), To: day(last), Grain: "month", Region: "33"}},
		{"a quarter by day, one metric, by scenario", stats.Params{From: day(last.AddDate(0, -3, 0)), To: day(last), Metric: "not_asked", By: "scenario"}},
		{"a year by month, one department", stats.Params{From: day(start), To: day(last), Grain: "month", Department: "client0007"}},
	}
	const reps = 15
	var all []time.Duration
	b.ResetTimer()
	for range b.N {
		all = all[:0]
		for _, q := range queries {
			ds := make([]time.Duration, 0, reps)
			for range reps {
				t0 := time.Now()
				if _, err := svc.Report(ctx, q.p); err != nil {
					b.Fatalf("%s: %v", q.name, err)
				}
				ds = append(ds, time.Since(t0))
			}
			all = append(all, ds...)
			p50, p99 := percentiles(ds)
			b.Logf("%s %s: p50 %v p99 %v", d.Dialect(), q.name, p50, p99)
		}
		ds := make([]time.Duration, 0, reps)
		for range reps {
			t0 := time.Now()
			if _, err := svc.Summary(ctx); err != nil {
				b.Fatal(err)
			}
			ds = append(ds, time.Since(t0))
		}
		all = append(all, ds...)
		p50, p99 := percentiles(ds)
		b.Logf("%s public summary (all-time totals, 12 months, provinces): p50 %v p99 %v", d.Dialect(), p50, p99)
	}
	b.StopTimer()
	p50, p99 := percentiles(all)
	b.ReportMetric(float64(n)/roll.Seconds(), "rollup-events/s")
	b.ReportMetric(float64(cells), "rollup-rows")
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
}

// loadEvents writes events after seq without chaining them (the benchmark measures the
// statistics, not the hash chain), and moves the head past them.
func (db *DB) loadEvents(ctx context.Context, seq int64, events []audit.Event) error {
	zero := make([]byte, 32)
	return db.inTxStmts(ctx, func(ts *txStmts) error {
		if db.dialect == Postgres {
			rows := make([][]any, len(events))
			for i, e := range events {
				rows[i] = []any{seq + int64(i) + 1, micros(e.Time), e.Action, e.Actor, e.Subject, string(e.Data), zero, zero}
			}
			if err := copyFrom(ctx, ts, "audit_events", auditColumns, rows); err != nil {
				return fmt.Errorf("copy events: %w", err)
			}
		} else {
			for start := 0; start < len(events); start += auditChunk {
				chunk := events[start:min(start+auditChunk, len(events))]
				st, err := ts.get(ctx, "INSERT INTO audit_events (seq, time, action, actor, subject, data, prev, hash) VALUES "+
					db.placeholders(len(chunk), auditCols))
				if err != nil {
					return err
				}
				args := make([]any, 0, len(chunk)*auditCols)
				for i, e := range chunk {
					args = append(args, seq+int64(start+i)+1, micros(e.Time), e.Action, e.Actor, e.Subject, string(e.Data), zero, zero)
				}
				if _, err := st.ExecContext(ctx, args...); err != nil {
					return err
				}
			}
		}
		_, err := ts.tx.ExecContext(ctx, "UPDATE audit_head SET seq = $1 WHERE id = 1", seq+int64(len(events)))
		return err
	})
}
