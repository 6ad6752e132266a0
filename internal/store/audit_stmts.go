package store

// Prepared statements of appending audit events on SQLite. Every usage record of the sharing
// service and every licence change appends to the audit log in a write transaction; preparing
// the head read, the INSERT and the head update afresh in each transaction (parsing SQL in
// modernc.org/sqlite) cost about as much as running them for small batches. They are prepared
// once on the writer pool when the database opens (preparing later, from within a transaction,
// would wait for the writer's only connection, which the transaction holds), and a transaction
// takes them with Tx.StmtContext, which reuses the statement prepared on the writer connection.
// INSERTs of up to auditSmall rows have a statement for each row count; larger batches are
// inserted in chunks of auditChunk rows and a remainder. PostgreSQL does not use this: COPY
// writes the events there, and pgx caches its own statements.

import (
	"context"
	"database/sql"
	"fmt"
)

// auditSmall is the largest row count with an INSERT statement of its own below auditChunk.
const auditSmall = 64

const (
	sqlAuditHead    = "SELECT seq, hash FROM audit_head WHERE id = 1"
	sqlAuditHeadSet = "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1"
)

// writerStmts are the statements prepared on the writer pool (SQLite). They are set when the
// database opens and only read afterwards.
type writerStmts struct {
	byQuery map[string]*sql.Stmt
	// insert[n] is the INSERT of n audit events (n ≤ auditSmall, or auditChunk).
	insert map[int]string
}

// prepareWriter prepares the statements of audit appends on the SQLite writer.
func (db *DB) prepareWriter(ctx context.Context) error {
	if db.dialect != SQLite {
		return nil
	}
	ws := writerStmts{byQuery: map[string]*sql.Stmt{}, insert: map[int]string{}}
	queries := []string{sqlAuditHead, sqlAuditHeadSet}
	for n := 1; n <= auditSmall; n++ {
		ws.insert[n] = db.auditInsert(n)
	}
	ws.insert[auditChunk] = db.auditInsert(auditChunk)
	for _, q := range ws.insert {
		queries = append(queries, q)
	}
	for _, q := range queries {
		st, err := db.w.PrepareContext(ctx, q)
		if err != nil {
			ws.close()
			return fmt.Errorf("store: prepare audit append: %w", err)
		}
		ws.byQuery[q] = st
	}
	db.wstmts = ws
	return nil
}

func (db *DB) auditInsert(n int) string {
	return "INSERT INTO audit_events (seq, time, action, actor, subject, data, prev, hash) VALUES " + db.placeholders(n, auditCols)
}

// auditInsertRows is how many of n rows still to insert the next INSERT takes: auditChunk, at
// most auditSmall, or all of them.
func auditInsertRows(n int) int {
	switch {
	case n >= auditChunk:
		return auditChunk
	case n > auditSmall:
		return auditSmall
	}
	return n
}

// auditInsertSQL returns the INSERT of n audit events.
func (db *DB) auditInsertSQL(n int) string {
	if q, ok := db.wstmts.insert[n]; ok {
		return q
	}
	return db.auditInsert(n)
}

// writerQueryRow runs a query of one row in the transaction ts, with the prepared statement
// when there is one.
func (db *DB) writerQueryRow(ctx context.Context, ts *txStmts, query string, args ...any) *sql.Row {
	if st, ok := db.wstmts.byQuery[query]; ok {
		return ts.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return ts.tx.QueryRowContext(ctx, query, args...)
}

// writerExec runs a statement in the transaction ts, with the prepared statement when there is
// one.
func (db *DB) writerExec(ctx context.Context, ts *txStmts, query string, args ...any) (sql.Result, error) {
	if st, ok := db.wstmts.byQuery[query]; ok {
		return ts.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return ts.tx.ExecContext(ctx, query, args...)
}

// close closes the statements.
func (ws *writerStmts) close() {
	for _, st := range ws.byQuery {
		st.Close()
	}
	ws.byQuery = nil
}
