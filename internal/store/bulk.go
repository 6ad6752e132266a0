package store

import (
	"context"
	"fmt"
)

// The SQLite writer's page cache, in KiB (negative: PRAGMA cache_size counts KiB). Serving keeps
// it small: every commit walks the writer's whole page-cache table, so a large cache makes each
// small transaction (a usage record, a login) slower as the database grows. Bulk issuance wants
// a large one: its index pages (credit codes, identifiers, search) are written at random places
// across the whole batch, and re-reading them from the file costs more than the walk.
const (
	writerCache     = -8 << 10   // 8 MiB while serving
	bulkWriterCache = -128 << 10 // 128 MiB during BulkWrites
)

// BulkWrites prepares the database for a bulk import and returns the function that ends it: on
// SQLite the writer's page cache grows to 128 MiB until done is called (PostgreSQL: nothing).
// Imports call it around their batches; serving never does.
func (db *DB) BulkWrites(ctx context.Context) (done func(), err error) {
	if db.dialect != SQLite {
		return func() {}, nil
	}
	if _, err := db.w.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = %d", bulkWriterCache)); err != nil {
		return nil, fmt.Errorf("store: bulk writes: %w", err)
	}
	return func() {
		// A failure leaves the large cache: slower small commits, nothing wrong.
		_, _ = db.w.ExecContext(context.Background(), fmt.Sprintf("PRAGMA cache_size = %d", writerCache))
	}, nil
}
