package sharing

// Group commit of usage records. Every sharing call waits until its usage record is in the
// audit log before it answers (a call whose use cannot be recorded fails), and the log is one
// hash chain behind one lock: one transaction per call makes the calls queue on the database's
// writer. Instead, the records of calls that arrive while a transaction is being written wait
// together and go into the next one. The first caller leads: it writes every pending record in
// one transaction, tells each waiting caller the outcome, and hands the lead to a caller that
// arrived meanwhile, so that no caller writes more than one batch beyond its own.

import (
	"context"
	"errors"
	"sync"

	"github.com/elicense/elicense/internal/audit"
)

// maxBatchEvents bounds the events of one transaction.
const maxBatchEvents = 5000

// errLead tells a waiting caller that it now leads.
var errLead = errors.New("sharing: lead the next batch")

type pendingRecord struct {
	evs  []audit.Event
	done chan error // the outcome, or errLead
}

// batcher groups usage records into shared transactions. Its zero value is ready.
type batcher struct {
	mu      sync.Mutex
	pending []*pendingRecord
	leading bool // a caller is writing a batch
	stats   batchStats
}

// append writes evs to the log, in one transaction with the records of concurrent callers, and
// returns when they are committed.
func (b *batcher) append(ctx context.Context, log Auditor, evs []audit.Event) error {
	p := &pendingRecord{evs: evs, done: make(chan error, 1)}
	b.mu.Lock()
	b.pending = append(b.pending, p)
	lead := !b.leading
	b.leading = true
	b.mu.Unlock()
	if !lead {
		if err := <-p.done; err != errLead {
			return err
		}
	}
	// Leading: let concurrent calls join (batch_gather.go), then take what is pending (this
	// caller's record included), up to maxBatchEvents.
	b.gather()
	b.mu.Lock()
	batch := make([]*pendingRecord, 0, len(b.pending))
	n, mine := 0, false
	for len(b.pending) > 0 && (n == 0 || n+len(b.pending[0].evs) <= maxBatchEvents) {
		q := b.pending[0]
		b.pending = b.pending[1:]
		batch, n, mine = append(batch, q), n+len(q.evs), mine || q == p
	}
	b.mu.Unlock()
	b.stats.add(n)
	var own error
	if !mine {
		// Cannot happen: this caller's record is pending until a leader takes it, and only the
		// leader takes records. Written defensively all the same.
		own = log.Append(ctx, evs...)
	}
	for i, err := range flush(ctx, log, batch, n) {
		if q := batch[i]; q == p {
			own = err
		} else {
			q.done <- err
		}
	}
	b.mu.Lock()
	if len(b.pending) > 0 {
		b.pending[0].done <- errLead
	} else {
		b.leading = false
	}
	b.mu.Unlock()
	return own
}

// flush writes the batch (n events) in one transaction; if that fails, each record alone, so
// that one caller's failure is not another's. The leader's cancellation does not cancel the
// others'. The outcome of batch[i] is out[i].
func flush(ctx context.Context, log Auditor, batch []*pendingRecord, n int) []error {
	ctx = context.WithoutCancel(ctx)
	out := make([]error, len(batch))
	if len(batch) == 1 {
		out[0] = log.Append(ctx, batch[0].evs...)
		return out
	}
	all := make([]audit.Event, 0, n)
	for _, q := range batch {
		all = append(all, q.evs...)
	}
	if err := log.Append(ctx, all...); err == nil {
		return out
	}
	for i, q := range batch {
		out[i] = log.Append(ctx, q.evs...)
	}
	return out
}
