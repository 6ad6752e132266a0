package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// migrationFiles holds the schema migrations, one directory per dialect. A shipped file is
// never edited: the checksum recorded when it was applied is compared at every start.
//
//go:embed migrations
var migrationFiles embed.FS

// migrationLockID is the PostgreSQL advisory lock key that serialises migrating processes
// ("elicense" as a number).
const migrationLockID = 0x656c6963656e7365

// migration is one numbered SQL file.
type migration struct {
	version  int
	name     string
	sql      string
	checksum string
}

// loadMigrations reads migrations/<dialect>/NNNN_name.sql from fsys, ordered by number.
func loadMigrations(fsys fs.FS, dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	var ms []migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migration %s: name must be NNNN_name.sql", e.Name())
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("store: migrations %s and %s share number %d", other, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(b)
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b), checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// migrate applies the pending migrations of the DB's dialect, each in its own transaction
// recorded in schema_migrations. On PostgreSQL every transaction first takes an advisory lock,
// so processes starting together on one database apply each migration exactly once; on SQLite
// the IMMEDIATE transaction of the single writer does the same. It fails if an applied
// migration's file has changed since, or if the database is newer than this program.
func (db *DB) migrate(ctx context.Context, fsys fs.FS) error {
	ms, err := loadMigrations(fsys, db.dialect)
	if err != nil {
		return err
	}
	known := map[int]migration{}
	for _, m := range ms {
		known[m.version] = m
	}
	for _, m := range ms {
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			if db.dialect == Postgres {
				if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLockID)); err != nil {
					return fmt.Errorf("store: migration lock: %w", err)
				}
			}
			if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version    INTEGER PRIMARY KEY,
				name       TEXT NOT NULL,
				checksum   TEXT NOT NULL,
				applied_at BIGINT NOT NULL)`); err != nil {
				return fmt.Errorf("store: create schema_migrations: %w", err)
			}
			applied, err := appliedMigrations(ctx, tx)
			if err != nil {
				return err
			}
			for v, sum := range applied {
				k, ok := known[v]
				if !ok {
					return fmt.Errorf("store: the database has migration %d, unknown to this program (is it older than the database?)", v)
				}
				if k.checksum != sum {
					return fmt.Errorf("store: migration %s was changed after it was applied (checksum %s, applied %s)", k.name, k.checksum, sum)
				}
			}
			if _, ok := applied[m.version]; ok {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("store: apply migration %s: %w", m.name, err)
			}
			if _, err := tx.ExecContext(ctx,
				"INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
				m.version, m.name, m.checksum, micros(db.now())); err != nil {
				return fmt.Errorf("store: record migration %s: %w", m.name, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func appliedMigrations(ctx context.Context, tx *sql.Tx) (map[int]string, error) {
	rows, err := tx.QueryContext(ctx, "SELECT version, checksum FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("store: read schema_migrations: %w", err)
	}
	defer rows.Close()
	m := map[int]string{}
	for rows.Next() {
		var v int
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, fmt.Errorf("store: read schema_migrations: %w", err)
		}
		m[v] = sum
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read schema_migrations: %w", err)
	}
	return m, nil
}
