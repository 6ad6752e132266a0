package sharing

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/store"
)

// TestGroupCommit appends the usage records of many concurrent calls through the batcher on a
// real database: every call returns only when its record is in the log, the records form one
// unbroken hash chain in the order of the transactions, and the counts of UsageBatches add up.
// Closing the database makes every later call fail: a use that cannot be recorded is not
// answered.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "elicense.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log := audit.NewLog(db, nil, nil)
	s := NewService(Config{Audit: log})

	const calls = 64
	var wg sync.WaitGroup
	errc := make(chan error, calls)
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := audit.Event{Action: "share.query", Actor: "client", Subject: fmt.Sprintf("call-%02d", i), Data: []byte(`{"result":"ok"}`)}
			if err := s.record(ctx, ev); err != nil {
				errc <- err
				return
			}
			// The record is committed when the call returns.
			evs, err := log.Find(ctx, audit.Filter{Subject: ev.Subject, Limit: 2})
			if err != nil || len(evs) != 1 {
				errc <- fmt.Errorf("call %d: %d records after it returned (%v)", i, len(evs), err)
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	tx, recs := s.UsageBatches()
	if recs != calls || tx < 1 || tx > calls {
		t.Errorf("UsageBatches() = %d transactions, %d records; want 1..%d, %d", tx, recs, calls, calls)
	}
	t.Logf("%d records in %d transactions", recs, tx)

	var prev [32]byte
	var n int64
	if err := db.Scan(ctx, 1, func(e *audit.Event) error {
		n++
		if e.Seq != n || e.Prev != prev || !e.Valid() {
			return fmt.Errorf("event %d: seq %d, chained %v, valid %v", n, e.Seq, e.Prev == prev, e.Valid())
		}
		prev = e.Hash
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != calls {
		t.Errorf("%d events in the log, want %d", n, calls)
	}

	db.Close()
	var failed sync.WaitGroup
	for range 8 {
		failed.Add(1)
		go func() {
			defer failed.Done()
			if err := s.record(ctx, audit.Event{Action: "share.query", Actor: "client", Subject: "late"}); err == nil {
				t.Error("a record was accepted by a closed database")
			}
		}()
	}
	failed.Wait()
}
