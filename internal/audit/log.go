package audit

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
)

// Log appends to the audit log, pins it with signed checkpoints and verifies it.
type Log struct {
	st     Store
	signer gm.Signer
	clock  func() time.Time

	mu     sync.Mutex
	logger *slog.Logger
	last   *Checkpoint // newest checkpoint this process knows of
	loaded bool        // last has been read from the store
}

// Report is the outcome of verifying the whole log.
type Report struct {
	Entries        int64  `json:"entries"`         // events read
	Checkpoints    int64  `json:"checkpoints"`     // checkpoints stored
	LastCheckpoint int64  `json:"last_checkpoint"` // seq of the newest checkpoint verified; later entries are not yet pinned
	OK             bool   `json:"ok"`
	FirstBroken    int64  `json:"first_broken,omitempty"` // seq of the first broken entry (0 when OK)
	Reason         string `json:"reason,omitempty"`       // why, in English
	ReasonZH       string `json:"reason_zh,omitempty"`    // why, in zh-CN
}

// NewLog returns a log over st. signer is the platform signing key; it may be nil for a log that
// only verifies. clock defaults to time.Now.
func NewLog(st Store, signer gm.Signer, clock func() time.Time) *Log {
	if clock == nil {
		clock = time.Now
	}
	return &Log{st: st, signer: signer, clock: clock, logger: slog.Default()}
}

// SetLogger sets where RunCheckpoints reports failures (slog.Default() unless set).
func (l *Log) SetLogger(lg *slog.Logger) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.logger = lg
}

// Append appends events to the log in one transaction; the store gives them their sequence
// numbers and hashes. An event without a time gets the current time.
func (l *Log) Append(ctx context.Context, events ...Event) error {
	if len(events) == 0 {
		return nil
	}
	now := l.clock().UTC()
	evs := slices.Clone(events)
	for i := range evs {
		e := &evs[i]
		if e.Action == "" {
			return fmt.Errorf("audit: append: event %d has no action", i)
		}
		if len(e.Data) > 0 && !json.Valid(e.Data) {
			return fmt.Errorf("audit: append: event %d (%s): data is not valid JSON", i, e.Action)
		}
		if e.Time.IsZero() {
			e.Time = now
		}
	}
	if err := l.st.Append(ctx, evs); err != nil {
		return fmt.Errorf("audit: append: %w", err)
	}
	return nil
}

// errEmpty is returned by Checkpoint when there is nothing to pin.
func errEmpty() error {
	return errs.New(errs.NotFound, "", "审计日志为空，无需生成检查点", "the audit log is empty: nothing to checkpoint")
}

// Checkpoint signs the current head of the log with the platform key and stores the
// checkpoint. When the head has not moved since the newest checkpoint it returns that one and
// does nothing else. Before signing it checks every entry added since the previous checkpoint,
// so that a checkpoint never blesses a chain that was tampered with. An empty log is
// errs.NotFound.
func (l *Log) Checkpoint(ctx context.Context) (*Checkpoint, error) {
	if l.signer == nil {
		return nil, errors.New("audit: checkpoint: no signing key")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	seq, hash, err := l.st.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint: %w", err)
	}
	if seq == 0 {
		return nil, errEmpty()
	}
	if !l.loaded {
		cps, err := l.st.Checkpoints(ctx)
		if err != nil {
			return nil, fmt.Errorf("audit: checkpoint: %w", err)
		}
		if err := l.setLast(cps); err != nil {
			return nil, err
		}
	}
	from, prev := int64(1), [32]byte{}
	if last := l.last; last != nil {
		switch {
		case seq == last.Seq && hash == last.Hash:
			c := *last
			return &c, nil
		case seq < last.Seq:
			return nil, fmt.Errorf("audit: checkpoint: the log ends at entry %d but checkpoint %d exists: entries were deleted", seq, last.Seq)
		case seq == last.Seq:
			return nil, fmt.Errorf("audit: checkpoint: entry %d differs from its signed checkpoint: the log was rewritten", seq)
		}
		from, prev = last.Seq+1, last.Hash
	}

	// Check what was added since the previous checkpoint, and sign exactly what was checked.
	var rep Report
	ck := checker{next: from, prev: prev, rep: &rep}
	err = l.st.Scan(ctx, from, func(e *Event) error {
		rep.Entries++
		if !ck.event(e) {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, fmt.Errorf("audit: checkpoint: %w", err)
	}
	if rep.FirstBroken != 0 {
		return nil, fmt.Errorf("audit: checkpoint: not signing a broken log: %s", rep.Reason)
	}
	if ck.next == from {
		return nil, fmt.Errorf("audit: checkpoint: the head is entry %d but no entry follows entry %d", seq, from-1)
	}
	c := Checkpoint{Seq: ck.next - 1, Hash: ck.prev, Time: l.clock().UTC().Truncate(time.Microsecond)}
	if c.Signature, err = l.signer.Sign(ctx, c.SignedBytes()); err != nil {
		return nil, fmt.Errorf("audit: checkpoint: %w", err)
	}
	if err := l.st.SaveCheckpoint(ctx, c); err != nil {
		if !errs.Is(err, errs.Conflict) {
			return nil, fmt.Errorf("audit: checkpoint: %w", err)
		}
		// Another process pinned the same entry first: use its checkpoint.
		cps, err := l.st.Checkpoints(ctx)
		if err != nil {
			return nil, fmt.Errorf("audit: checkpoint: %w", err)
		}
		if err := l.setLast(cps); err != nil {
			return nil, err
		}
		if l.last == nil {
			return nil, errors.New("audit: checkpoint: the store refused the checkpoint and holds none")
		}
		c := *l.last
		return &c, nil
	}
	l.last = &c
	out := c
	return &out, nil
}

// setLast records the newest of cps, after checking it is the platform's.
func (l *Log) setLast(cps []Checkpoint) error {
	l.loaded = true
	if len(cps) == 0 {
		l.last = nil
		return nil
	}
	last := slices.MaxFunc(cps, func(a, b Checkpoint) int { return cmpInt(a.Seq, b.Seq) })
	if !gm.Verify(l.signer.Public(), last.SignedBytes(), last.Signature) {
		return fmt.Errorf("audit: checkpoint at entry %d is not signed by the platform key", last.Seq)
	}
	l.last = &last
	return nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

var errStop = errors.New("audit: stop scanning")

// Verify re-checks the whole log: sequence numbers run 1, 2, 3, … without gaps, each entry links
// to the hash of the one before, each entry matches its hash, and each checkpoint carries a valid
// signature by pub over the hash of the entry it pins. It reports the first broken entry; the
// error is only for failures to read the log.
func (l *Log) Verify(ctx context.Context, pub *ecdsa.PublicKey) (Report, error) {
	if !gm.IsSM2(pub) {
		return Report{}, errors.New("audit: verify: no SM2 public key of the platform")
	}
	cps, err := l.st.Checkpoints(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("audit: verify: %w", err)
	}
	slices.SortStableFunc(cps, func(a, b Checkpoint) int { return cmpInt(a.Seq, b.Seq) })
	rep := Report{Checkpoints: int64(len(cps))}
	ck := checker{pub: pub, cps: cps, next: 1, rep: &rep}
	err = l.st.Scan(ctx, 1, func(e *Event) error {
		if rep.Entries%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rep.Entries++
		if rep.FirstBroken == 0 {
			ck.event(e)
		}
		return nil
	})
	if err != nil {
		return Report{}, fmt.Errorf("audit: verify: %w", err)
	}
	if rep.FirstBroken == 0 && ck.ci < len(cps) {
		cp := cps[ck.ci]
		ck.fail(ck.next, "日志在第 %[1]d 条记录处结束，但已签名的检查点覆盖到第 %[2]d 条：第 %[3]d 条及之后的记录被删除",
			"the log ends at entry %[1]d but a signed checkpoint covers entry %[2]d: entries from %[3]d on were deleted",
			ck.next-1, cp.Seq, ck.next)
	}
	rep.OK = rep.FirstBroken == 0
	return rep, nil
}

// checker follows the chain entry by entry and records the first break in rep.
type checker struct {
	pub  *ecdsa.PublicKey
	cps  []Checkpoint // sorted by Seq
	ci   int          // next checkpoint to check
	next int64        // seq the next entry must have
	prev [32]byte     // hash of the entry before it
	rep  *Report
}

func (c *checker) fail(seq int64, zh, en string, args ...any) {
	c.rep.FirstBroken = seq
	c.rep.ReasonZH = fmt.Sprintf(zh, args...)
	c.rep.Reason = fmt.Sprintf(en, args...)
}

// event checks e, the next entry read, and the checkpoints that pin it. It returns false at the
// first break.
func (c *checker) event(e *Event) bool {
	switch {
	case e.Seq > c.next:
		c.fail(c.next, "第 %[1]d 条记录缺失或顺序错乱（此处是第 %[2]d 条）",
			"entry %[1]d is missing or out of order (entry %[2]d comes in its place)", c.next, e.Seq)
		return false
	case e.Seq < c.next:
		c.fail(c.next, "第 %[1]d 条记录的位置上是第 %[2]d 条记录（顺序错乱或重复）",
			"entry %[2]d was found where entry %[1]d belongs (out of order or duplicated)", c.next, e.Seq)
		return false
	case e.Prev != c.prev:
		c.fail(e.Seq, "第 %d 条记录与前一条记录的哈希不衔接（前面的记录被改动或删除）",
			"entry %d does not link to the hash of the entry before it (an earlier entry was changed or removed)", e.Seq)
		return false
	case !e.Valid():
		c.fail(e.Seq, "第 %d 条记录的内容与其哈希不符（记录被篡改）", "entry %d does not match its hash (its content was changed)", e.Seq)
		return false
	}
	for c.ci < len(c.cps) && c.cps[c.ci].Seq <= e.Seq {
		cp := &c.cps[c.ci]
		c.ci++
		switch {
		case cp.Seq < e.Seq:
			c.fail(e.Seq, "存在指向无效位置 %d 的检查点", "a checkpoint pins the invalid position %d", cp.Seq)
			return false
		case !gm.Verify(c.pub, cp.SignedBytes(), cp.Signature):
			c.fail(cp.Seq, "第 %d 条记录处的检查点签名无效（检查点被伪造或改动）",
				"the checkpoint at entry %d has an invalid signature (it was forged or altered)", cp.Seq)
			return false
		case cp.Hash != e.Hash:
			c.fail(cp.Seq, "第 %[1]d 条记录与平台签名的检查点不符：第 %[2]d 条至第 %[1]d 条之间的记录被改写",
				"entry %[1]d differs from the checkpoint the platform signed: entries between %[2]d and %[1]d were rewritten",
				cp.Seq, c.rep.LastCheckpoint+1)
			return false
		}
		c.rep.LastCheckpoint = cp.Seq
	}
	c.next, c.prev = e.Seq+1, e.Hash
	return true
}

// RunCheckpoints checkpoints the log every interval until ctx ends, and once more then so that
// a clean shutdown leaves the whole log pinned. A tick when nothing was appended costs one read
// of the head. Failures are logged and retried at the next tick; it returns when ctx ends.
func (l *Log) RunCheckpoints(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		return fmt.Errorf("audit: checkpoint interval must be positive, got %s", every)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			l.tick(final)
			cancel()
			return nil
		case <-t.C:
			l.tick(ctx)
		}
	}
}

func (l *Log) tick(ctx context.Context) {
	if _, err := l.Checkpoint(ctx); err != nil && !errs.Is(err, errs.NotFound) {
		l.mu.Lock()
		lg := l.logger
		l.mu.Unlock()
		lg.ErrorContext(ctx, "audit checkpoint failed", "err", err)
	}
}
