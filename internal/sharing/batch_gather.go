package sharing

import (
	"runtime"
	"sync/atomic"
)

// maxGatherYields bounds how many times a leader yields to let concurrent calls join its batch.
const maxGatherYields = 16

// gather lets the calls that other goroutines are answering reach their usage record before
// the leader takes the batch, and returns when yielding adds no more records (or after
// maxGatherYields). Writing to the audit log costs CPU rather than waiting (SQLite in the
// process, no fsync per commit in WAL mode), so without this a batch holds only the records
// that arrived while the previous one was written on the other core: two on average with 32
// clients on 2 cores, each record paying half a transaction. It waits on no clock: when
// nothing else is runnable, a yield returns at once and adds nothing, so a lone call is not
// delayed.
func (b *batcher) gather() {
	n := b.count()
	for range maxGatherYields {
		runtime.Gosched()
		m := b.count()
		if m == n || m >= maxBatchEvents {
			return
		}
		n = m
	}
}

// count returns the number of pending calls.
func (b *batcher) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

// batchStats counts the transactions of usage records and the records in them.
type batchStats struct {
	batches, records atomic.Int64
}

func (s *batchStats) add(records int) {
	s.batches.Add(1)
	s.records.Add(int64(records))
}

// UsageBatches returns how many transactions of usage records this service has written and
// how many records they held (their ratio is the mean batch of the group commit, batch.go).
func (s *Service) UsageBatches() (transactions, records int64) {
	return s.rec.stats.batches.Load(), s.rec.stats.records.Load()
}
