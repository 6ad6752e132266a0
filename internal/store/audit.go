package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/elicense/elicense/internal/audit"
)

// auditCols is the number of columns of an audit_events row.
const auditCols = 8

// auditChunk is how many events one multi-row INSERT carries (8 parameters each; SQLite allows
// 32766 parameters per statement, PostgreSQL 65535).
const auditChunk = 500

// scanChunk is how many events Scan reads per query, so that a scan of millions of events holds
// only one chunk in memory and no read transaction open while fn runs.
const scanChunk = 1000

// Append appends events in one transaction, chaining them after the current head.
func (db *DB) Append(ctx context.Context, events []audit.Event) error {
	if len(events) == 0 {
		return nil
	}
	evs := make([]*audit.Event, len(events))
	for i := range events {
		evs[i] = &events[i]
	}
	return db.inTxStmts(ctx, func(ts *txStmts) error { return db.appendEvents(ctx, ts, evs) })
}

// appendEvents chains events after the head and inserts them within tx. It locks the head row
// (FOR UPDATE on PostgreSQL), so appenders in several processes queue on it and the chain never
// forks. Events get Seq, Prev and Hash set in place; a zero Time becomes the store's clock.
func (db *DB) appendEvents(ctx context.Context, ts *txStmts, events []*audit.Event) error {
	if len(events) == 0 {
		return nil
	}
	var (
		seq  int64
		head []byte
	)
	if err := db.writerQueryRow(ctx, ts, sqlAuditHead+db.forUpdate).Scan(&seq, &head); err != nil {
		return fmt.Errorf("store: lock audit head: %w", mapBusy(err))
	}
	var prev [32]byte
	if len(head) != len(prev) {
		return fmt.Errorf("store: audit head hash has %d bytes", len(head))
	}
	copy(prev[:], head)
	now := db.now()
	for _, e := range events {
		if e.Time.IsZero() {
			e.Time = now
		}
		seq++
		e.Chain(seq, prev)
		prev = e.Hash
	}

	if db.dialect == Postgres {
		if err := copyEvents(ctx, ts, events); err != nil {
			return err
		}
	}
	for start, n := 0, 0; db.dialect == SQLite && start < len(events); start += n {
		n = auditInsertRows(len(events) - start)
		chunk := events[start : start+n]
		args := make([]any, 0, len(chunk)*auditCols)
		for _, e := range chunk {
			args = append(args, e.Seq, micros(e.Time), e.Action, e.Actor, e.Subject, string(e.Data), e.Prev[:], e.Hash[:])
		}
		if _, err := db.writerExec(ctx, ts, db.auditInsertSQL(len(chunk)), args...); err != nil {
			return fmt.Errorf("store: insert audit events: %w", mapBusy(err))
		}
	}
	if _, err := db.writerExec(ctx, ts, sqlAuditHeadSet, seq, prev[:]); err != nil {
		return fmt.Errorf("store: update audit head: %w", mapBusy(err))
	}
	return nil
}

// Head returns the sequence number and hash of the last event (0 and zero hash when empty).
func (db *DB) Head(ctx context.Context) (int64, [32]byte, error) {
	var (
		seq  int64
		b    []byte
		hash [32]byte
	)
	if err := db.r.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&seq, &b); err != nil {
		return 0, hash, fmt.Errorf("store: audit head: %w", err)
	}
	copy(hash[:], b)
	return seq, hash, nil
}

// Scan calls fn for every event with Seq ≥ from, in order; it stops at fn's first error and
// returns it. Events are read in chunks, so the log may be far larger than memory.
func (db *DB) Scan(ctx context.Context, from int64, fn func(*audit.Event) error) error {
	next := max(from, 1)
	chunk := make([]audit.Event, 0, scanChunk)
	for {
		chunk = chunk[:0]
		rows, err := db.r.QueryContext(ctx,
			"SELECT "+eventCols+" FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2",
			next, scanChunk)
		if err != nil {
			return fmt.Errorf("store: scan audit events: %w", err)
		}
		for rows.Next() {
			e, err := scanEvent(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("store: scan audit events: %w", err)
			}
			chunk = append(chunk, e)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("store: scan audit events: %w", err)
		}
		for i := range chunk {
			if err := fn(&chunk[i]); err != nil {
				return err
			}
		}
		if len(chunk) < scanChunk {
			return nil
		}
		next = chunk[len(chunk)-1].Seq + 1
	}
}

// SaveCheckpoint stores a checkpoint; a second checkpoint at the same Seq is errs.Conflict.
func (db *DB) SaveCheckpoint(ctx context.Context, c audit.Checkpoint) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO audit_checkpoints (seq, hash, time, signature) VALUES ($1, $2, $3, $4)",
			c.Seq, c.Hash[:], micros(c.Time), c.Signature)
		if isUnique(err) {
			return conflictf(err, "审计日志在序号 %d 处已有检查点", "the audit log already has a checkpoint at %d", c.Seq)
		}
		if err != nil {
			return fmt.Errorf("store: save checkpoint: %w", mapBusy(err))
		}
		return nil
	})
}

// Checkpoints returns every checkpoint in order of Seq.
func (db *DB) Checkpoints(ctx context.Context) ([]audit.Checkpoint, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT seq, hash, time, signature FROM audit_checkpoints ORDER BY seq")
	if err != nil {
		return nil, fmt.Errorf("store: checkpoints: %w", err)
	}
	defer rows.Close()
	cps := []audit.Checkpoint{}
	for rows.Next() {
		var (
			c    audit.Checkpoint
			hash []byte
			us   int64
		)
		if err := rows.Scan(&c.Seq, &hash, &us, &c.Signature); err != nil {
			return nil, fmt.Errorf("store: checkpoints: %w", err)
		}
		copy(c.Hash[:], hash)
		c.Time = fromMicros(us)
		cps = append(cps, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: checkpoints: %w", err)
	}
	return cps, nil
}

// FindEvents returns the events f selects, newest first (audit.Finder). Subject and actor use
// the indexes of migration 0006.
func (db *DB) FindEvents(ctx context.Context, f audit.Filter) ([]audit.Event, error) {
	var q query
	if f.Subject != "" {
		q.where("subject = ?", f.Subject)
	}
	if f.Actor != "" {
		q.where("actor = ?", f.Actor)
	}
	if f.Subject != "" || f.Actor != "" {
		q.where("action <> 'license.issue'") // the partial indexes' predicate
	}
	if f.ActionPrefix != "" {
		// A range instead of LIKE: no escaping, and it uses an index on action where one exists.
		q.where("action >= ?", f.ActionPrefix)
		q.where("action < ?", f.ActionPrefix+"\U0010FFFF")
	}
	if !f.Since.IsZero() {
		q.where("time >= ?", f.Since.UTC().UnixMicro())
	}
	if !f.Until.IsZero() {
		q.where("time < ?", f.Until.UTC().UnixMicro())
	}
	if f.Before > 0 {
		q.where("seq < ?", f.Before)
	}
	stmt := "SELECT " + eventCols + " FROM audit_events" + q.clause() + " ORDER BY seq DESC LIMIT " + q.arg(f.Limit)
	rows, err := db.r.QueryContext(ctx, stmt, q.args...)
	if err != nil {
		return nil, fmt.Errorf("store: find audit events: %w", err)
	}
	defer rows.Close()
	var out []audit.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("store: find audit events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: find audit events: %w", err)
	}
	return out, nil
}
