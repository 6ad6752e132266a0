package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/stats"
)

var _ stats.Store = (*DB)(nil)

// statsCols is the number of columns of a stats_daily row.
const statsCols = 6

// statsChunk is how many roll-up cells one multi-row upsert carries (6 parameters each: within
// SQLite's 32,766 and PostgreSQL's 65,535).
const statsChunk = 2000

// statsRollHook, when set (by tests only), runs inside the roll-up transaction after the counts
// were added and before the cursor moves: a process killed there must count nothing twice.
var statsRollHook func()

// RollStats claims the roll-up cursor, reads at most limit audit events after it, and in the
// same transaction adds what count makes of them to stats_daily and moves the cursor past them
// (stats.Store). On PostgreSQL the cursor row is claimed with FOR UPDATE SKIP LOCKED, so rollers
// in several processes never wait on each other: the one that holds it rolls, the others return
// with Claimed false. On SQLite the single writer already excludes every other roller.
func (db *DB) RollStats(ctx context.Context, limit int, count func([]audit.Event) stats.Tallies) (stats.Roll, error) {
	var r stats.Roll
	if limit <= 0 {
		limit = 5000
	}
	// Nothing new: answer without a write transaction (SQLite's writer stays free).
	cur, _, err := db.StatsCursor(ctx)
	if err != nil {
		return r, err
	}
	head, _, err := db.Head(ctx)
	if err != nil {
		return r, err
	}
	if head <= cur {
		return stats.Roll{Claimed: true, From: cur, To: cur}, nil
	}
	err = db.inTxStmts(ctx, func(ts *txStmts) error {
		r = stats.Roll{}
		lock := ""
		if db.dialect == Postgres {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		err := ts.tx.QueryRowContext(ctx, "SELECT seq FROM stats_cursor WHERE id = 1"+lock).Scan(&r.From)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // another process is rolling
		}
		if err != nil {
			return fmt.Errorf("store: claim stats cursor: %w", mapBusy(err))
		}
		r.Claimed, r.To = true, r.From
		events, err := readEvents(ctx, ts.tx, r.From, limit)
		if err != nil {
			return err
		}
		if len(events) == 0 {
			return nil
		}
		r.Events, r.To = len(events), events[len(events)-1].Seq
		t := count(events)
		r.Cells, r.Margins = len(t.Cells), len(t.Margins)
		for start := 0; start < len(t.Cells); start += statsChunk {
			chunk := t.Cells[start:min(start+statsChunk, len(t.Cells))]
			st, err := ts.get(ctx, "INSERT INTO stats_daily (day, metric, region, department, scenario, n) VALUES "+
				db.placeholders(len(chunk), statsCols)+
				" ON CONFLICT (day, metric, region, department, scenario) DO UPDATE SET n = stats_daily.n + excluded.n")
			if err != nil {
				return fmt.Errorf("store: prepare stats upsert: %w", err)
			}
			args := make([]any, 0, len(chunk)*statsCols)
			for _, c := range chunk {
				args = append(args, micros(c.Day), string(c.Metric), c.Region, c.Department, c.Scenario, c.N)
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("store: add stats: %w", mapBusy(err))
			}
		}
		for start := 0; start < len(t.Margins); start += statsChunk {
			chunk := t.Margins[start:min(start+statsChunk, len(t.Margins))]
			st, err := ts.get(ctx, "INSERT INTO stats_margins (grain, dim, period, metric, key, n) VALUES "+
				db.placeholders(len(chunk), statsCols)+
				" ON CONFLICT (grain, dim, period, metric, key) DO UPDATE SET n = stats_margins.n + excluded.n")
			if err != nil {
				return fmt.Errorf("store: prepare stats upsert: %w", err)
			}
			args := make([]any, 0, len(chunk)*statsCols)
			for _, m := range chunk {
				args = append(args, string(m.Grain), string(m.Dim), micros(m.Period), string(m.Metric), m.Key, m.N)
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("store: add stats margins: %w", mapBusy(err))
			}
		}
		if statsRollHook != nil {
			statsRollHook()
		}
		if _, err := ts.tx.ExecContext(ctx, "UPDATE stats_cursor SET seq = $1, updated_at = $2 WHERE id = 1",
			r.To, micros(db.now())); err != nil {
			return fmt.Errorf("store: move stats cursor: %w", mapBusy(err))
		}
		return nil
	})
	if err != nil {
		return stats.Roll{}, err
	}
	return r, nil
}

// readEvents reads at most limit events after seq within tx, without their hashes.
func readEvents(ctx context.Context, tx *sql.Tx, after int64, limit int) ([]audit.Event, error) {
	rows, err := tx.QueryContext(ctx,
		"SELECT "+eventBodyCols+" FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2", after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: read audit events: %w", mapBusy(err))
	}
	defer rows.Close()
	events := make([]audit.Event, 0, min(limit, 10000))
	for rows.Next() {
		e, err := scanEventBody(rows)
		if err != nil {
			return nil, fmt.Errorf("store: read audit events: %w", err)
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read audit events: %w", mapBusy(err))
	}
	return events, nil
}

// StatsCursor returns the seq of the last audit event rolled up and when the cursor last moved
// (zero time: never).
func (db *DB) StatsCursor(ctx context.Context) (int64, time.Time, error) {
	var seq, at int64
	if err := db.r.QueryRowContext(ctx, "SELECT seq, updated_at FROM stats_cursor WHERE id = 1").Scan(&seq, &at); err != nil {
		return 0, time.Time{}, fmt.Errorf("store: stats cursor: %w", err)
	}
	if at == 0 {
		return seq, time.Time{}, nil
	}
	return seq, fromMicros(at), nil
}

// statsGroupCols are the columns StatsRows may group by (a fixed list: never from input).
var statsGroupCols = map[stats.Group]string{
	stats.GroupDay:        "day",
	stats.GroupRegion:     "region",
	stats.GroupDepartment: "department",
	stats.GroupScenario:   "scenario",
}

// StatsRows sums stats_daily over the rows f selects, by metric and the group's column.
func (db *DB) StatsRows(ctx context.Context, f stats.RowFilter, group stats.Group) ([]stats.Row, error) {
	col, ok := statsGroupCols[group]
	if !ok && group != stats.GroupNone {
		return nil, fmt.Errorf("store: stats rows: unknown group %q", group)
	}
	var q query
	if !f.From.IsZero() {
		q.where("day >= ?", micros(f.From))
	}
	if !f.To.IsZero() {
		q.where("day < ?", micros(f.To))
	}
	if len(f.Metrics) > 0 && len(f.Metrics) < len(stats.Metrics) {
		q.where("metric IN (" + list(&q, f.Metrics) + ")")
	}
	switch {
	case f.Region == stats.Unknown:
		q.where("region = ?", f.Region)
	case f.Region != "":
		// A range instead of LIKE: no escaping, and byte order on both databases.
		q.where("region >= ?", f.Region)
		q.where("region < ?", f.Region+"\U0010FFFF")
	}
	if f.Department != "" {
		q.where("department = ?", f.Department)
	}
	if f.Scenario != "" {
		q.where("scenario = ?", f.Scenario)
		q.where("scenario <> ''") // the partial index's predicate
	}
	sel := "metric"
	if col != "" {
		sel = "metric, " + col
	}
	rows, err := db.r.QueryContext(ctx, "SELECT "+sel+", CAST(SUM(n) AS BIGINT) FROM stats_daily"+q.clause()+" GROUP BY "+sel, q.args...)
	if err != nil {
		return nil, fmt.Errorf("store: stats rows: %w", err)
	}
	defer rows.Close()
	var out []stats.Row
	for rows.Next() {
		var (
			r      stats.Row
			metric string
			err    error
		)
		switch group {
		case stats.GroupNone:
			err = rows.Scan(&metric, &r.N)
		case stats.GroupDay:
			var us int64
			err = rows.Scan(&metric, &us, &r.N)
			r.Day = fromMicros(us)
		default:
			err = rows.Scan(&metric, &r.Key, &r.N)
		}
		if err != nil {
			return nil, fmt.Errorf("store: stats rows: %w", err)
		}
		r.Metric = stats.Metric(metric)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: stats rows: %w", err)
	}
	return out, nil
}

// MarginRows returns the margins of the roll-up (stats.Store): of grain by dim, with
// from ≤ period < to (a zero time does not bound), of the metrics given (none: all).
func (db *DB) MarginRows(ctx context.Context, grain stats.Grain, dim stats.Group, from, to time.Time, metrics []stats.Metric) ([]stats.Row, error) {
	var q query
	q.where("grain = ?", string(grain))
	q.where("dim = ?", string(dim))
	if !from.IsZero() {
		q.where("period >= ?", micros(from))
	}
	if !to.IsZero() {
		q.where("period < ?", micros(to))
	}
	if len(metrics) > 0 && len(metrics) < len(stats.Metrics) {
		q.where("metric IN (" + list(&q, metrics) + ")")
	}
	rows, err := db.r.QueryContext(ctx, "SELECT period, metric, key, n FROM stats_margins"+q.clause(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("store: stats margins: %w", err)
	}
	defer rows.Close()
	var out []stats.Row
	for rows.Next() {
		var (
			r      stats.Row
			us     int64
			metric string
		)
		if err := rows.Scan(&us, &metric, &r.Key, &r.N); err != nil {
			return nil, fmt.Errorf("store: stats margins: %w", err)
		}
		r.Day, r.Metric = fromMicros(us), stats.Metric(metric)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: stats margins: %w", err)
	}
	return out, nil
}

// DepartmentNames names the departments of the statistics (stats.Names): OIDC clients by
// client ID and registering authorities by credit code.
func (db *DB) DepartmentNames(ctx context.Context) (map[string]string, error) {
	m := map[string]string{}
	for _, q := range []string{"SELECT id, name FROM oidc_clients", "SELECT code, name FROM authorities"} {
		rows, err := db.r.QueryContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("store: department names: %w", err)
		}
		for rows.Next() {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: department names: %w", err)
			}
			m[id] = name
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("store: department names: %w", err)
		}
	}
	return m, nil
}

// clientEvents are the audit events of an OIDC client's registration: the statistics count the
// portals and departments' systems connected from them (metric portals).
func clientEvents(c *oidc.Client) []*audit.Event {
	e := c.RegistrationEvent()
	return []*audit.Event{&e}
}
