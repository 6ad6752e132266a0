// Package audit is the tamper-evident log of the platform (用证记录 and registration events): every
// event is chained to the previous one by an SM3 hash (GB/T 32905), and checkpoints signed with the
// platform's SM2 key pin the chain so that rewriting history requires the platform key. Events are
// appended by the store in the same transaction as the change they record.
package audit

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/elicense/elicense/internal/gm"
)

// Event is one entry of the log.
type Event struct {
	Seq     int64           `json:"seq"`     // 1, 2, 3, … assigned by the store
	Time    time.Time       `json:"time"`    // UTC, truncated to microseconds by Chain
	Action  string          `json:"action"`  // e.g. "license.issue", "license.cancel"
	Actor   string          `json:"actor"`   // who did it (account ID, client ID, "cli:…")
	Subject string          `json:"subject"` // what it concerns, e.g. a credit code
	Data    json.RawMessage `json:"data"`    // details, JSON
	Prev    [32]byte        `json:"-"`       // hash of the previous event (zero for the first)
	Hash    [32]byte        `json:"-"`       // SM3(Prev ‖ encoding of this event)
}

// Chain sets e.Seq, e.Prev and e.Hash for an event that follows prev at position seq, and
// normalises its time. Stores call it inside the appending transaction.
func (e *Event) Chain(seq int64, prev [32]byte) {
	e.Seq = seq
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	if len(e.Data) == 0 {
		e.Data = json.RawMessage("{}")
	}
	e.Prev = prev
	e.Hash = e.computeHash()
}

// Valid reports whether e.Hash is the hash of e following e.Prev.
func (e *Event) Valid() bool { return e.computeHash() == e.Hash }

func (e *Event) computeHash() [32]byte {
	var stack [512]byte // most events fit: no allocation
	b := stack[:0]
	b = append(b, e.Prev[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixMicro()))
	for _, s := range [3]string{e.Action, e.Actor, e.Subject} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Data)))
	b = append(b, e.Data...)
	return gm.SM3(b)
}

// Checkpoint pins the chain at Seq with a signature by the platform key.
type Checkpoint struct {
	Seq       int64
	Hash      [32]byte
	Time      time.Time
	Signature []byte
}

// SignedBytes is what the platform signs for a checkpoint.
func (c Checkpoint) SignedBytes() []byte {
	b := []byte("elicense-audit-checkpoint-v1\x00")
	b = binary.BigEndian.AppendUint64(b, uint64(c.Seq))
	b = append(b, c.Hash[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Time.UTC().Truncate(time.Microsecond).UnixMicro()))
	return b
}

// Store is the storage the log needs; package store implements it.
type Store interface {
	// Append appends events in one transaction, chaining them after the current head.
	Append(ctx context.Context, events []Event) error
	// Head returns the sequence number and hash of the last event (0 and zero hash when empty).
	Head(ctx context.Context) (int64, [32]byte, error)
	// Scan calls fn for every event with Seq ≥ from, in order; stops at fn's first error.
	Scan(ctx context.Context, from int64, fn func(*Event) error) error
	// SaveCheckpoint stores a checkpoint.
	SaveCheckpoint(ctx context.Context, c Checkpoint) error
	// Checkpoints returns every checkpoint in order of Seq.
	Checkpoints(ctx context.Context) ([]Checkpoint, error)
}

// Filter selects events for Find. Empty fields do not filter. Events are returned newest first.
type Filter struct {
	// Subject is an exact subject, e.g. a credit code, and Actor an exact actor, e.g. a client
	// ID; issue events (license.issue) are not found by subject or actor (the licence's versions
	// say when it was issued, and bulk issuance must not pay for two more indexes).
	Subject string
	Actor   string
	// ActionPrefix keeps events whose action starts with it ("share." keeps every sharing call).
	ActionPrefix string
	Since        time.Time // Time ≥ Since
	Until        time.Time // Time < Until
	Before       int64     // Seq < Before: the cursor of the next page (0: from the newest)
	Limit        int       // at most this many (0: 100; capped at 10,000)
}

// Finder reads events by subject or actor; package store implements it.
type Finder interface {
	FindEvents(ctx context.Context, f Filter) ([]Event, error)
}

// MaxFind is the most events one Find returns.
const MaxFind = 10000

// Find returns the events f selects, newest first. The store must implement Finder.
func (l *Log) Find(ctx context.Context, f Filter) ([]Event, error) {
	fd, ok := l.st.(Finder)
	if !ok {
		return nil, fmt.Errorf("audit: find: the store cannot search events")
	}
	switch {
	case f.Limit <= 0:
		f.Limit = 100
	case f.Limit > MaxFind:
		f.Limit = MaxFind
	}
	evs, err := fd.FindEvents(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("audit: find: %w", err)
	}
	return evs, nil
}
