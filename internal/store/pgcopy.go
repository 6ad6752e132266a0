package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/elicense/elicense/internal/audit"
)

// PostgreSQL bulk writes use COPY (binary), several times faster than multi-row INSERTs.

var (
	licenceColumns = []string{"id", "code", "kind", "region", "authority_code", "name", "name_fold", "status",
		"status_reason", "status_at", "current_version", "updated_at"}
	versionColumns = []string{"licence_id", "version", "identifier", "data", "signature", "cert_serial",
		"issued_at", "superseded_at", "person_id_hash", "person_id_sealed", "digest"}
	auditColumns = []string{"seq", "time", "action", "actor", "subject", "data", "prev", "hash"}
)

// copyFrom copies rows into table within the transaction, on its connection.
func copyFrom(ctx context.Context, ts *txStmts, table string, cols []string, rows [][]any) error {
	return ts.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: COPY needs a pgx connection, not %T", dc)
		}
		n, err := c.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
		if err != nil {
			return err
		}
		if n != int64(len(rows)) {
			return fmt.Errorf("store: COPY %s wrote %d rows of %d", table, n, len(rows))
		}
		return nil
	})
}

// copyIssues writes the entities and first versions of a run of OpIssue changes with COPY. The
// ids come from the identity sequence first, since COPY returns nothing.
func (db *DB) copyIssues(ctx context.Context, ts *txStmts, run []prepared) error {
	rows, err := ts.tx.QueryContext(ctx,
		"SELECT nextval(pg_get_serial_sequence('licences', 'id')) FROM generate_series(1, $1)", len(run))
	if err != nil {
		return fmt.Errorf("store: allocate licence ids: %w", err)
	}
	ids := make([]int64, 0, len(run))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("store: allocate licence ids: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) != len(run) {
		return fmt.Errorf("store: allocate licence ids: %d of %d: %v", len(ids), len(run), err)
	}

	now := micros(db.now())
	lrows := make([][]any, len(run))
	vrows := make([][]any, len(run))
	for i, p := range run {
		l := p.c.Licence
		lrows[i] = []any{ids[i], l.Code, string(l.Kind), l.Region, l.AuthorityCode, l.Face.Name,
			strings.ToLower(l.Face.Name), string(l.Status), l.StatusReason, nullTime(l.StatusAt), l.Version, now}
		vrows[i] = appendVersionArgs(make([]any, 0, versionCols), p, ids[i])
	}
	for _, c := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{{"licences", licenceColumns, lrows}, {"licence_versions", versionColumns, vrows}} {
		if err := copyFrom(ctx, ts, c.table, c.cols, c.rows); err != nil {
			if isUnique(err) {
				return &issueConflict{cause: err}
			}
			return fmt.Errorf("store: copy %s: %w", c.table, mapBusy(err))
		}
	}
	return nil
}

// copyEvents writes chained events with COPY.
func copyEvents(ctx context.Context, ts *txStmts, events []*audit.Event) error {
	rows := make([][]any, len(events))
	for i, e := range events {
		rows[i] = []any{e.Seq, micros(e.Time), e.Action, e.Actor, e.Subject, string(e.Data), e.Prev[:], e.Hash[:]}
	}
	if err := copyFrom(ctx, ts, "audit_events", auditColumns, rows); err != nil {
		return fmt.Errorf("store: copy audit events: %w", mapBusy(err))
	}
	return nil
}
