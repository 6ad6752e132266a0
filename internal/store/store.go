// Package store holds all the SQL of the platform: one package over database/sql that implements
// the Store interfaces of the domain packages (license, audit, keys, account) on SQLite (embedded,
// modernc.org/sqlite) and PostgreSQL (pgx). Both dialects run the same SQL text wherever possible
// ($1…$n placeholders, ON CONFLICT, RETURNING); schema migrations are embedded per dialect. Bulk
// writes (a batch of issued licences, audit events) are the exception: multi-row INSERTs with
// anonymous parameters on SQLite, COPY on PostgreSQL.
//
// On SQLite a DB holds one writer connection (all write transactions queue on it), a pool of
// read-only connections, and a background connection that checkpoints the WAL (sqlite.go).
//
// Times are stored as BIGINT microseconds since the Unix epoch (UTC), so both databases compare and
// order them the same way; a zero time.Time is stored as NULL.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/license"
)

// The interfaces *DB implements.
var (
	_ license.Store = (*DB)(nil)
	_ audit.Store   = (*DB)(nil)
	_ keys.Store    = (*DB)(nil)
	_ account.Store = (*DB)(nil)
)

// Dialect names returned by (*DB).Dialect.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Options tunes a DB. The zero value is fine.
type Options struct {
	// Clock returns the current time; it decides session and token expiry and the updated_at
	// columns. Defaults to time.Now.
	Clock func() time.Time
	// MaxConns caps the reader pool on SQLite and the connection pool on PostgreSQL.
	// Defaults to 16 on SQLite and 32 on PostgreSQL.
	MaxConns int
	// BusyTimeout is how long an SQLite connection waits for a lock held by another process.
	// Defaults to 10s.
	BusyTimeout time.Duration
	// LicenceCache is how many current licences the read-through cache holds (cache.go): 0 means
	// DefaultLicenceCache, a negative number turns the cache off.
	LicenceCache int
}

// DB is the platform's database. It is safe for concurrent use.
type DB struct {
	dialect string
	// w runs every write transaction. On SQLite it is a separate pool of exactly one
	// connection (SQLite has one writer at a time; queueing in Go beats spinning on
	// SQLITE_BUSY), and its transactions begin IMMEDIATE so that a transaction that reads
	// before it writes cannot fail to upgrade its lock. On PostgreSQL w == r.
	w *sql.DB
	// r runs reads.
	r     *sql.DB
	clock func() time.Time

	// forUpdate is appended to SELECTs that lock rows within a write transaction: PostgreSQL
	// needs FOR UPDATE; SQLite's single writer already excludes everyone else.
	forUpdate string

	// ckpt checkpoints SQLite's WAL in the background (nil on PostgreSQL).
	ckpt *checkpointer

	// stmtCurrent and stmtVersion read one licence (prepared on r).
	stmtCurrent, stmtVersion *sql.Stmt
	// cache holds current licences (nil when turned off; see cache.go).
	cache *licenceCache
	// wstmts holds the statements of audit appends prepared on w (SQLite; audit_stmts.go).
	wstmts writerStmts
}

// Open opens (creating if needed) the database named by dsn and applies pending migrations.
// A dsn starting with postgres:// or postgresql:// names a PostgreSQL database; anything else is
// an SQLite file: a path, sqlite:PATH or file:PATH.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	var (
		db  *DB
		err error
	)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		db, err = openPostgres(dsn, opts)
	} else {
		db, err = openSQLite(dsn, opts)
	}
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx, migrationFiles); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.prepare(ctx, opts); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// prepare prepares the statements of the licence look-ups and of audit appends (SQLite) and
// starts the licence cache.
func (db *DB) prepare(ctx context.Context, opts Options) error {
	var err error
	if db.stmtCurrent, err = db.r.PrepareContext(ctx, selectCurrent); err != nil {
		return fmt.Errorf("store: prepare licence read: %w", err)
	}
	if db.stmtVersion, err = db.r.PrepareContext(ctx, selectVersion); err != nil {
		return fmt.Errorf("store: prepare licence read: %w", err)
	}
	if err := db.prepareWriter(ctx); err != nil {
		return err
	}
	if opts.LicenceCache < 0 {
		return nil
	}
	size := opts.LicenceCache
	if size == 0 {
		size = DefaultLicenceCache
	}
	return db.startCache(ctx, size)
}

func openPostgres(dsn string, opts Options) (*DB, error) {
	pool, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	n := opts.MaxConns
	if n <= 0 {
		n = 32
	}
	pool.SetMaxOpenConns(n)
	pool.SetMaxIdleConns(n)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{
		dialect:   Postgres,
		w:         pool,
		r:         pool,
		clock:     opts.Clock,
		forUpdate: " FOR UPDATE",
	}, nil
}

func openSQLite(dsn string, opts Options) (*DB, error) {
	path := dsn
	for _, p := range []string{"sqlite://", "sqlite:", "file:"} {
		if strings.HasPrefix(path, p) {
			path = strings.TrimPrefix(path, p)
			break
		}
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == "" || path == ":memory:" || strings.Contains(path, "mode=memory") {
		return nil, errs.New(errs.Invalid, "db",
			"数据库必须是文件路径或 postgres:// 地址（不支持内存数据库）",
			"the database must be a file path or a postgres:// URL (in-memory databases are not supported)")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create database directory: %w", err)
		}
	}
	base := "file:" + (&url.URL{Path: path}).EscapedPath()
	pragmas := fmt.Sprintf("?_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)",
		opts.BusyTimeout.Milliseconds())

	// The writer sets WAL before any other connection opens the file.
	w, err := sql.Open("sqlite", base+pragmas+
		fmt.Sprintf("&_pragma=cache_size(%d)&_pragma=temp_store(MEMORY)&_txlock=immediate", writerCache))
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	// journal_mode=WAL persists in the file; checkpoints run in the background (see sqlite.go).
	for _, p := range []string{"PRAGMA journal_mode = WAL", "PRAGMA wal_autocheckpoint = 0"} {
		if err := execRetryBusy(w, p, opts.BusyTimeout); err != nil {
			w.Close()
			return nil, fmt.Errorf("store: open sqlite %s: %s: %w", path, p, err)
		}
	}
	cdb, err := sql.Open("sqlite", base+pragmas)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	cdb.SetMaxOpenConns(1)
	// Planner statistics from a sample, refreshed now when stale and later by the checkpointer.
	cdb.Exec("PRAGMA analysis_limit = 1000")
	cdb.Exec("PRAGMA optimize = 0x10002")
	ckpt := startCheckpointer(cdb)

	r, err := sql.Open("sqlite", base+pragmas+"&_pragma=cache_size(-32768)&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		ckpt.close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	n := opts.MaxConns
	if n <= 0 {
		n = 16
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{
		dialect: SQLite,
		w:       w,
		r:       r,
		ckpt:    ckpt,
		clock:   opts.Clock,
	}, nil
}

// execRetryBusy runs q on an SQLite pool, again while it fails with SQLITE_BUSY, for up to
// timeout. Opening a WAL database can meet SQLITE_BUSY without SQLite waiting in its busy handler:
// when another process closes its last connection it checkpoints and removes the WAL under an
// exclusive lock, and a connection opening meanwhile is refused at once.
func execRetryBusy(db *sql.DB, q string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_, err := db.Exec(q)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Dialect returns "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect }

// Ping checks that the database answers (for /readyz).
func (db *DB) Ping(ctx context.Context) error {
	if err := db.r.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	if db.w != db.r {
		if err := db.w.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping: %w", err)
		}
	}
	return nil
}

// Close closes the database.
func (db *DB) Close() error {
	db.cache.close()
	db.wstmts.close()
	for _, st := range []*sql.Stmt{db.stmtCurrent, db.stmtVersion} {
		if st != nil {
			st.Close()
		}
	}
	err := db.w.Close()
	if e := db.ckpt.close(); err == nil {
		err = e
	}
	if db.r != db.w {
		if e := db.r.Close(); err == nil {
			err = e
		}
	}
	if err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// now returns the clock's time in UTC.
func (db *DB) now() time.Time { return db.clock().UTC() }

// txStmts is a write transaction with the statements it prepared: a bulk INSERT of a batch runs
// the same (long) SQL several times. (Statements cannot be prepared on the DB ahead of the
// transaction: SQLite's writer pool has a single connection, which the transaction holds.) conn
// is the transaction's connection, for PostgreSQL's COPY.
type txStmts struct {
	tx   *sql.Tx
	conn *sql.Conn
	m    map[string]*sql.Stmt
}

// get returns the statement for query, preparing it on first use. It is closed with the
// transaction.
func (t *txStmts) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := t.m[query]; ok {
		return s, nil
	}
	s, err := t.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	t.m[query] = s
	return s, nil
}

// inTx runs fn in a write transaction, committing if it returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.inTxStmts(ctx, func(ts *txStmts) error { return fn(ts.tx) })
}

// inTxStmts runs fn in a write transaction on a connection of its own, committing if fn
// returns nil.
func (db *DB) inTxStmts(ctx context.Context, fn func(ts *txStmts) error) error {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return mapBusy(fmt.Errorf("store: connect: %w", err))
	}
	err = func() error {
		defer conn.Close()
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return mapBusy(fmt.Errorf("store: begin: %w", err))
		}
		if err := fn(&txStmts{tx: tx, conn: conn, m: map[string]*sql.Stmt{}}); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return mapBusy(fmt.Errorf("store: commit: %w", err))
		}
		return nil
	}()
	if err != nil {
		return err
	}
	// After the connection went back: on SQLite the checkpoint needs the single writer.
	db.ckpt.afterCommit(ctx, db.w)
	return nil
}

// micros converts t to the stored form.
func micros(t time.Time) int64 { return t.UTC().UnixMicro() }

// nullMicros converts t to the stored form, NULL for the zero time.
func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UTC().UnixMicro(), Valid: true}
}

// fromMicros converts a stored time back.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// fromNullMicros converts a nullable stored time back (zero time for NULL).
func fromNullMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMicros(n.Int64)
}

// isUnique reports whether err is a unique or primary-key violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// isForeignKey reports whether err is a foreign-key violation.
func isForeignKey(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}

// mapBusy turns "database is locked" (another process holds SQLite's write lock beyond the busy
// timeout) and PostgreSQL serialization/deadlock failures into errs.Unavailable, which callers
// may retry; other errors are returned as they are.
func mapBusy(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_BUSY || se.Code()&0xff == sqlite3.SQLITE_LOCKED) {
		return &errs.Error{Kind: errs.Unavailable, ZH: "数据库繁忙，请稍后重试", EN: "the database is busy; try again later", Err: err}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01") {
		return &errs.Error{Kind: errs.Unavailable, ZH: "数据库繁忙，请稍后重试", EN: "the database is busy; try again later", Err: err}
	}
	return err
}

// placeholders returns "(…),(…)" with rows groups of cols parameters, for multi-row INSERTs and
// IN lists. PostgreSQL gets $1…$n. SQLite gets anonymous ?s: with hundreds of $n parameters in one
// statement, SQLite's name lookup per parameter makes binding quadratic.
func (db *DB) placeholders(rows, cols int) string {
	var b strings.Builder
	b.Grow(rows * cols * 6)
	n := 1
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := 0; j < cols; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			if db.dialect == SQLite {
				b.WriteByte('?')
			} else {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(n))
			}
			n++
		}
		b.WriteByte(')')
	}
	return b.String()
}

// conflictf returns an errs.Conflict error wrapping the database error cause.
func conflictf(cause error, zh, en string, args ...any) *errs.Error {
	e := errs.Conflictf(zh, en, args...)
	e.Err = cause
	return e
}

// notFoundf returns an errs.NotFound error wrapping cause (usually sql.ErrNoRows).
func notFoundf(cause error, zh, en string, args ...any) *errs.Error {
	e := errs.NotFoundf(zh, en, args...)
	e.Err = cause
	return e
}
