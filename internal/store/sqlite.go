package store

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// SQLite checkpointing. In WAL mode every commit appends its pages to the -wal file, and a
// checkpoint copies them back into the database file. SQLite's default runs that copy inside the
// committing transaction every 1,000 pages, on the single writer's critical path, and copies a
// page that many commits touch (an index page under random keys) once per checkpoint. Instead,
// a background connection checkpoints PASSIVE-ly, concurrently with the writer, every
// checkpointEvery; when the WAL has nonetheless grown beyond walLimitFrames (a writer that never
// pauses keeps a passive checkpoint from ever completing), the writer runs a RESTART checkpoint
// after its next commit, so the WAL starts over and stays bounded.
const (
	checkpointEvery = time.Second
	walLimitFrames  = 65536 // 256 MiB of 4 KiB pages
	// optimizeEvery is how often the planner statistics are refreshed (PRAGMA optimize, which
	// re-analyses only tables that changed much): without them SQLite may sort a whole kind of
	// licences to show one page of it.
	optimizeEvery = 10 * time.Minute
)

type checkpointer struct {
	db      *sql.DB // a connection of its own
	big     atomic.Bool
	stop    chan struct{}
	stopped sync.WaitGroup
	once    sync.Once
	err     error
}

func startCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, stop: make(chan struct{})}
	c.stopped.Add(1)
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer c.stopped.Done()
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	lastOptimize := time.Now()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		if time.Since(lastOptimize) > optimizeEvery {
			c.db.Exec("PRAGMA optimize")
			lastOptimize = time.Now()
		}
		var busy, frames, done int
		if err := c.db.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done); err == nil {
			c.big.Store(frames > walLimitFrames)
		}
	}
}

// afterCommit runs on the writer after each commit: a RESTART checkpoint when the WAL is too big.
func (c *checkpointer) afterCommit(ctx context.Context, w *sql.DB) {
	if c == nil || !c.big.Load() {
		return
	}
	var busy, frames, done int
	if err := w.QueryRowContext(ctx, "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &frames, &done); err == nil && busy == 0 {
		c.big.Store(false)
	}
}

// close stops the checkpointer and runs a last checkpoint that truncates the WAL.
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	c.once.Do(func() {
		close(c.stop)
		c.stopped.Wait()
		c.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		c.err = c.db.Close()
	})
	return c.err
}
