package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
)

// memStore is an in-memory audit.Store. It chains appended events as the real store does, and
// tests reach into events and cps to tamper with them.
type memStore struct {
	mu     sync.Mutex
	events []audit.Event
	cps    []audit.Checkpoint
	heads  atomic.Int64 // Head calls
	scans  atomic.Int64 // Scan calls
	fail   error        // returned by Head when set
}

func (m *memStore) Append(_ context.Context, events []audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range events {
		var seq int64
		var prev [32]byte
		if n := len(m.events); n > 0 {
			seq, prev = m.events[n-1].Seq, m.events[n-1].Hash
		}
		e.Data = bytes.Clone(e.Data)
		e.Chain(seq+1, prev)
		m.events = append(m.events, e)
	}
	return nil
}

func (m *memStore) Head(context.Context) (int64, [32]byte, error) {
	m.heads.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return 0, [32]byte{}, m.fail
	}
	if n := len(m.events); n > 0 {
		return m.events[n-1].Seq, m.events[n-1].Hash, nil
	}
	return 0, [32]byte{}, nil
}

// Scan returns events in the order they are held, so tests can reorder them. It holds the lock
// while calling fn, which must not call the store.
func (m *memStore) Scan(_ context.Context, from int64, fn func(*audit.Event) error) error {
	m.scans.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.events {
		if e.Seq < from {
			continue
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) SaveCheckpoint(_ context.Context, c audit.Checkpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.cps {
		if o.Seq == c.Seq {
			return errs.Conflictf("检查点已存在", "checkpoint %d exists", c.Seq)
		}
	}
	m.cps = append(m.cps, c)
	return nil
}

func (m *memStore) Checkpoints(context.Context) ([]audit.Checkpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]audit.Checkpoint(nil), m.cps...), nil
}

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func newKey(t testing.TB) *gm.PrivateKey {
	t.Helper()
	k, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func event(i int) audit.Event {
	return audit.Event{
		Time:    t0.Add(time.Duration(i) * time.Second),
		Action:  "license.issue",
		Actor:   "registrar-1",
		Subject: fmt.Sprintf("9133010667395965%02d", i%100),
		Data:    json.RawMessage(fmt.Sprintf(`{"version":%d}`, i)),
	}
}

// build appends n events, checkpointing after each entry listed in at.
func build(t testing.TB, n int, at ...int) (*memStore, *audit.Log, *gm.PrivateKey) {
	t.Helper()
	ctx := context.Background()
	st := &memStore{}
	key := newKey(t)
	l := audit.NewLog(st, key, func() time.Time { return t0.Add(time.Hour) })
	for i := 1; i <= n; i++ {
		if err := l.Append(ctx, event(i)); err != nil {
			t.Fatal(err)
		}
		for _, a := range at {
			if a == i {
				if _, err := l.Checkpoint(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return st, l, key
}

func TestAppend(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	l := audit.NewLog(st, newKey(t), func() time.Time { return t0 })
	evs := []audit.Event{{Action: "account.create", Actor: "cli:root"}, event(2)}
	if err := l.Append(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	if !evs[0].Time.IsZero() {
		t.Error("Append changed the caller's events")
	}
	if len(st.events) != 2 || st.events[0].Seq != 1 || st.events[1].Seq != 2 {
		t.Fatalf("stored %+v", st.events)
	}
	if !st.events[0].Time.Equal(t0) || string(st.events[0].Data) != "{}" {
		t.Errorf("defaults: %+v", st.events[0])
	}
	if !st.events[1].Time.Equal(event(2).Time) {
		t.Errorf("Append replaced a given time: %s", st.events[1].Time)
	}
	if err := l.Append(ctx); err != nil || len(st.events) != 2 {
		t.Errorf("empty Append = %v", err)
	}
	if err := l.Append(ctx, audit.Event{Actor: "x"}); err == nil {
		t.Error("event without an action was appended")
	}
	if err := l.Append(ctx, audit.Event{Action: "x", Data: json.RawMessage(`{"a":`)}); err == nil {
		t.Error("event with broken JSON was appended")
	}
	if len(st.events) != 2 {
		t.Errorf("rejected events were stored: %d", len(st.events))
	}
}

func TestCheckpoint(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	key := newKey(t)
	now := t0
	l := audit.NewLog(st, key, func() time.Time { return now })
	if _, err := l.Checkpoint(ctx); !errs.Is(err, errs.NotFound) {
		t.Fatalf("Checkpoint of an empty log = %v, want NotFound", err)
	}
	for i := 1; i <= 5; i++ {
		l.Append(ctx, event(i))
	}
	c, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Seq != 5 || c.Hash != st.events[4].Hash || !c.Time.Equal(now) {
		t.Errorf("checkpoint %+v", c)
	}
	if !gm.Verify(key.Public(), c.SignedBytes(), c.Signature) {
		t.Error("checkpoint signature does not verify")
	}
	if len(st.cps) != 1 {
		t.Fatalf("%d checkpoints stored", len(st.cps))
	}

	// Nothing appended: the same checkpoint, nothing signed or read beyond the head.
	now = now.Add(time.Minute)
	scans := st.scans.Load()
	again, err := l.Checkpoint(ctx)
	if err != nil || again.Seq != 5 || !bytes.Equal(again.Signature, c.Signature) || len(st.cps) != 1 {
		t.Errorf("checkpoint without new entries = %+v, %v (%d stored)", again, err, len(st.cps))
	}
	if st.scans.Load() != scans {
		t.Error("an unchanged head was scanned")
	}

	l.Append(ctx, event(6), event(7))
	c2, err := l.Checkpoint(ctx)
	if err != nil || c2.Seq != 7 || len(st.cps) != 2 {
		t.Fatalf("second checkpoint = %+v, %v", c2, err)
	}

	// A new process picks up from the stored checkpoints.
	l2 := audit.NewLog(st, key, func() time.Time { return now })
	c3, err := l2.Checkpoint(ctx)
	if err != nil || c3.Seq != 7 || !bytes.Equal(c3.Signature, c2.Signature) {
		t.Errorf("checkpoint in a new process = %+v, %v", c3, err)
	}
}

// A checkpoint never pins a chain that was tampered with after the previous checkpoint.
func TestCheckpointRefusesBrokenLog(t *testing.T) {
	ctx := context.Background()
	st, l, _ := build(t, 10, 5)
	st.events[7].Actor = "intruder"
	if _, err := l.Checkpoint(ctx); err == nil || !strings.Contains(err.Error(), "entry 8") {
		t.Errorf("Checkpoint over a tampered entry = %v, want an error naming entry 8", err)
	}
	st.events[7].Actor = "registrar-1"
	st.events = st.events[:3] // deleted below the last checkpoint
	if _, err := l.Checkpoint(ctx); err == nil || !strings.Contains(err.Error(), "deleted") {
		t.Errorf("Checkpoint over a truncated log = %v", err)
	}
	if len(st.cps) != 1 {
		t.Errorf("%d checkpoints stored, want 1", len(st.cps))
	}
}

// Two processes checkpoint the same head: the loser adopts the winner's checkpoint.
func TestCheckpointRace(t *testing.T) {
	ctx := context.Background()
	st, a, key := build(t, 10, 10)
	b := audit.NewLog(st, key, nil)
	if c, err := b.Checkpoint(ctx); err != nil || c.Seq != 10 {
		t.Fatalf("b: %+v, %v", c, err)
	}
	a.Append(ctx, event(11), event(12))
	won, err := a.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("losing process: %v", err)
	}
	if got.Seq != 12 || !bytes.Equal(got.Signature, won.Signature) || len(st.cps) != 2 {
		t.Errorf("loser got %+v, winner %+v, %d stored", got, won, len(st.cps))
	}
}

func TestVerifyIntact(t *testing.T) {
	ctx := context.Background()
	_, l, key := build(t, 25, 10, 20)
	rep, err := l.Verify(ctx, key.Public())
	if err != nil {
		t.Fatal(err)
	}
	want := audit.Report{Entries: 25, Checkpoints: 2, LastCheckpoint: 20, OK: true}
	if rep != want {
		t.Errorf("report = %+v, want %+v", rep, want)
	}
	if _, err := l.Verify(ctx, nil); err == nil {
		t.Error("Verify without a key succeeded")
	}
	empty := audit.NewLog(&memStore{}, nil, nil)
	if rep, err := empty.Verify(ctx, key.Public()); err != nil || !rep.OK || rep.Entries != 0 {
		t.Errorf("empty log: %+v, %v", rep, err)
	}
}

// rechain recomputes the hashes of events from index i on, as an intruder with database access
// but without the platform key would, renumbering them.
func rechain(st *memStore, i int) {
	var prev [32]byte
	if i > 0 {
		prev = st.events[i-1].Hash
	}
	for j := i; j < len(st.events); j++ {
		st.events[j].Chain(int64(j+1), prev)
		prev = st.events[j].Hash
	}
}

func TestVerifyTampering(t *testing.T) {
	// 20 entries, checkpoints at 10 and 20; indexes below are 0-based (entry 7 is events[6]).
	tests := []struct {
		name   string
		tamper func(st *memStore, other *gm.PrivateKey)
		first  int64
		reason string
	}{
		{"data changed", func(st *memStore, _ *gm.PrivateKey) {
			st.events[6].Data = json.RawMessage(`{"version":700}`)
		}, 7, "content was changed"},
		{"actor changed", func(st *memStore, _ *gm.PrivateKey) { st.events[6].Actor = "intruder" }, 7, "content was changed"},
		{"subject changed", func(st *memStore, _ *gm.PrivateKey) { st.events[6].Subject = "91330106673959654P" }, 7, "content was changed"},
		{"time changed", func(st *memStore, _ *gm.PrivateKey) { st.events[6].Time = st.events[6].Time.Add(time.Microsecond) }, 7, "content was changed"},
		{"action changed", func(st *memStore, _ *gm.PrivateKey) { st.events[6].Action = "license.cancel" }, 7, "content was changed"},
		{"changed and rehashed", func(st *memStore, _ *gm.PrivateKey) {
			st.events[6].Actor = "intruder"
			st.events[6].Chain(7, st.events[5].Hash)
		}, 8, "does not link"},
		{"changed and whole chain rehashed", func(st *memStore, _ *gm.PrivateKey) {
			st.events[6].Actor = "intruder"
			rechain(st, 6)
		}, 10, "between 1 and 10"},
		{"after a checkpoint, chain rehashed", func(st *memStore, _ *gm.PrivateKey) {
			st.events[14].Actor = "intruder"
			rechain(st, 14)
		}, 20, "between 11 and 20"},
		{"entry deleted", func(st *memStore, _ *gm.PrivateKey) {
			st.events = append(st.events[:6], st.events[7:]...)
		}, 7, "missing"},
		{"entry deleted and renumbered", func(st *memStore, _ *gm.PrivateKey) {
			st.events = append(st.events[:6], st.events[7:]...)
			rechain(st, 6)
		}, 10, "rewritten"},
		{"first entry deleted", func(st *memStore, _ *gm.PrivateKey) { st.events = st.events[1:] }, 1, "missing"},
		{"reordered", func(st *memStore, _ *gm.PrivateKey) { st.events[6], st.events[7] = st.events[7], st.events[6] }, 7, "out of order"},
		{"contents swapped, numbers kept", func(st *memStore, _ *gm.PrivateKey) {
			a, b := st.events[6], st.events[7]
			st.events[6], st.events[7] = b, a
			st.events[6].Seq, st.events[7].Seq = 7, 8
		}, 7, "does not link"},
		{"entry duplicated", func(st *memStore, _ *gm.PrivateKey) {
			st.events = append(st.events[:7], append([]audit.Event{st.events[6]}, st.events[7:]...)...)
		}, 8, "duplicated"},
		{"tail deleted", func(st *memStore, _ *gm.PrivateKey) { st.events = st.events[:18] }, 19, "deleted"},
		{"everything deleted", func(st *memStore, _ *gm.PrivateKey) { st.events = nil }, 1, "deleted"},
		{"checkpoint signature altered", func(st *memStore, _ *gm.PrivateKey) {
			st.cps[0].Signature[len(st.cps[0].Signature)-1] ^= 1
		}, 10, "invalid signature"},
		{"checkpoint time altered", func(st *memStore, _ *gm.PrivateKey) { st.cps[0].Time = st.cps[0].Time.Add(time.Second) }, 10, "invalid signature"},
		{"checkpoint moved to a rewritten chain", func(st *memStore, _ *gm.PrivateKey) {
			st.events[6].Actor = "intruder"
			rechain(st, 6)
			st.cps[0].Hash = st.events[9].Hash
		}, 10, "invalid signature"},
		{"checkpoint forged with another key", func(st *memStore, other *gm.PrivateKey) {
			c := audit.Checkpoint{Seq: 15, Hash: st.events[14].Hash, Time: t0}
			c.Signature, _ = other.Sign(context.Background(), c.SignedBytes())
			st.cps = append(st.cps, c)
		}, 15, "invalid signature"},
		{"checkpoint forged beyond the end", func(st *memStore, other *gm.PrivateKey) {
			st.cps = append(st.cps, audit.Checkpoint{Seq: 30, Time: t0, Signature: []byte{0x30, 0}})
		}, 21, "deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			st, l, key := build(t, 20, 10, 20)
			tt.tamper(st, newKey(t))
			rep, err := l.Verify(ctx, key.Public())
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || rep.FirstBroken != tt.first {
				t.Fatalf("report = %+v, want first broken entry %d", rep, tt.first)
			}
			if !strings.Contains(rep.Reason, tt.reason) {
				t.Errorf("reason %q does not say %q", rep.Reason, tt.reason)
			}
			if rep.ReasonZH == "" || !strings.Contains(rep.ReasonZH, fmt.Sprint(tt.first)) {
				t.Errorf("zh reason %q", rep.ReasonZH)
			}
			if rep.Entries != int64(len(st.events)) || rep.Checkpoints != int64(len(st.cps)) {
				t.Errorf("counted %d entries, %d checkpoints; hold %d, %d", rep.Entries, rep.Checkpoints, len(st.events), len(st.cps))
			}
		})
	}
}

func TestVerifyWrongKey(t *testing.T) {
	_, l, _ := build(t, 12, 5, 10)
	rep, err := l.Verify(context.Background(), newKey(t).Public())
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || rep.FirstBroken != 5 || rep.LastCheckpoint != 0 {
		t.Errorf("report with another platform key = %+v", rep)
	}
}

func TestVerifyCanceled(t *testing.T) {
	_, l, key := build(t, 5000)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Verify(ctx, key.Public()); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify with a canceled context = %v", err)
	}
}

func TestRunCheckpoints(t *testing.T) {
	st := &memStore{}
	key := newKey(t)
	l := audit.NewLog(st, key, nil)
	var logged bytes.Buffer
	var logMu sync.Mutex
	l.SetLogger(slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logged}, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.RunCheckpoints(ctx, 5*time.Millisecond) }()

	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	count := func() int { st.mu.Lock(); defer st.mu.Unlock(); return len(st.cps) }
	last := func() int64 { st.mu.Lock(); defer st.mu.Unlock(); return st.cps[len(st.cps)-1].Seq }

	// Empty log: ticks do nothing and log nothing.
	heads := st.heads.Load()
	waitFor("ticks", func() bool { return st.heads.Load() >= heads+3 })
	if count() != 0 {
		t.Fatal("checkpoint of an empty log")
	}
	l.Append(context.Background(), event(1), event(2), event(3))
	waitFor("a checkpoint", func() bool { return count() == 1 })
	if last() != 3 {
		t.Errorf("checkpoint at %d, want 3", last())
	}
	// No appends: the head is read, nothing else happens.
	heads = st.heads.Load()
	waitFor("idle ticks", func() bool { return st.heads.Load() >= heads+5 })
	if count() != 1 {
		t.Errorf("%d checkpoints while idle", count())
	}

	// A failing store is logged, and the loop carries on.
	st.mu.Lock()
	st.fail = errors.New("database is down")
	st.mu.Unlock()
	waitFor("a logged failure", func() bool {
		logMu.Lock()
		defer logMu.Unlock()
		return strings.Contains(logged.String(), "database is down")
	})
	st.mu.Lock()
	st.fail = nil
	st.mu.Unlock()

	// Shutting down pins what was appended since the last tick.
	l.Append(context.Background(), event(4))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if last() != 4 {
		t.Errorf("after shutdown the last checkpoint is %d, want 4", last())
	}
	rep, _ := l.Verify(context.Background(), key.Public())
	if !rep.OK || rep.LastCheckpoint != 4 {
		t.Errorf("report = %+v", rep)
	}
	if err := l.RunCheckpoints(context.Background(), 0); err == nil {
		t.Error("zero interval accepted")
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func BenchmarkVerify(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	st := &memStore{}
	key := newKey(b)
	l := audit.NewLog(st, key, func() time.Time { return t0 })
	batch := make([]audit.Event, 0, 1000)
	for i := 1; i <= n; i++ {
		batch = append(batch, event(i))
		if len(batch) == cap(batch) {
			if err := l.Append(ctx, batch...); err != nil {
				b.Fatal(err)
			}
			if _, err := l.Checkpoint(ctx); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	b.ResetTimer()
	for b.Loop() {
		rep, err := l.Verify(ctx, key.Public())
		if err != nil || !rep.OK || rep.Entries != n {
			b.Fatalf("%+v, %v", rep, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
