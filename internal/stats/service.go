package stats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/elicense/elicense/internal/audit"
)

// Store is the storage the statistics need; package store implements it.
type Store interface {
	// RollStats claims the roll-up cursor (on PostgreSQL a row lock taken with SKIP LOCKED: when
	// another process holds it, RollStats returns at once with Claimed false), reads at most
	// limit audit events after it in order of seq, and, in the same transaction, adds what
	// count makes of them to the cube (stats_daily) and its margins (stats_margins) and moves
	// the cursor to the last event read.
	RollStats(ctx context.Context, limit int, count func([]audit.Event) Tallies) (Roll, error)
	// StatsCursor returns the seq of the last event counted and when the cursor last moved.
	StatsCursor(ctx context.Context) (int64, time.Time, error)
	// Head returns the seq (and hash) of the newest audit event.
	Head(ctx context.Context) (int64, [32]byte, error)
	// StatsRows sums the cube over the rows f selects, grouped by metric and by the
	// dimension group (GroupNone: by metric only).
	StatsRows(ctx context.Context, f RowFilter, group Group) ([]Row, error)
	// MarginRows returns the margins of grain (Day or Month) by dim with from ≤ period < to (a
	// zero time does not bound) and, when metrics is not empty, one of metrics: Day holds the
	// period, Key the dimension's value.
	MarginRows(ctx context.Context, grain Grain, dim Group, from, to time.Time, metrics []Metric) ([]Row, error)
}

// Roll is the outcome of one roll-up transaction.
type Roll struct {
	Claimed bool  // false: another process was rolling; nothing was done
	From    int64 // cursor before
	To      int64 // cursor after
	Events  int   // events read
	Cells   int   // cells of the cube added to
	Margins int   // margins added to
}

// Group is the dimension StatsRows groups by besides the metric.
type Group string

// Groups of StatsRows.
const (
	GroupNone       Group = ""
	GroupDay        Group = "day"
	GroupRegion     Group = "region"
	GroupDepartment Group = "department"
	GroupScenario   Group = "scenario"
)

// RowFilter selects roll-up rows. Empty fields do not filter.
type RowFilter struct {
	From, To   time.Time // days: From ≤ day < To
	Metrics    []Metric
	Region     string // prefix of the region code ("33", "3301") or Unknown
	Department string // exact
	Scenario   string // exact
}

// Row is one sum of the roll-up.
type Row struct {
	Metric Metric
	Day    time.Time // GroupDay
	Key    string    // the region, department or scenario of the other groups
	N      int64
}

// Names returns display names of departments by ID: OIDC clients (portals and departments'
// systems) by client ID, registering authorities by credit code.
type Names interface {
	DepartmentNames(ctx context.Context) (map[string]string, error)
}

// Config is what a Service needs. Store is required.
type Config struct {
	Store Store
	// Names names departments on the operators' dashboard; nil shows their IDs.
	Names Names
	Clock func() time.Time // defaults to time.Now
	// Batch is how many events one roll-up transaction reads (default 5,000: on SQLite the
	// transaction holds the single writer, so it is kept short).
	Batch int
	// FreshLag is how far (in events) the cursor may lag the head for a query to roll up first,
	// so that a dashboard is exact up to the moment it is asked; a larger lag is left to the
	// background roller and the answer says how far it is behind. Default 20,000; negative: never.
	FreshLag int64
	Logger   *slog.Logger // defaults to slog.Default()
}

// Service rolls the audit log up and answers queries over the roll-up.
type Service struct {
	st       Store
	names    Names
	clock    func() time.Time
	batch    int
	freshLag int64
	log      *slog.Logger
}

// NewService returns a statistics service.
func NewService(c Config) *Service {
	s := &Service{st: c.Store, names: c.Names, clock: c.Clock, batch: c.Batch, freshLag: c.FreshLag, log: c.Logger}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.batch <= 0 {
		s.batch = 5000
	}
	if s.freshLag == 0 {
		s.freshLag = 20000
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// RollOnce runs one roll-up transaction of at most the batch size.
func (s *Service) RollOnce(ctx context.Context) (Roll, error) {
	r, err := s.st.RollStats(ctx, s.batch, Tally)
	if err != nil {
		return r, fmt.Errorf("stats: roll up: %w", err)
	}
	return r, nil
}

// CatchUp rolls up until the cursor reaches the head it read at the start, another process holds
// the cursor, or ctx ends. It returns the events it counted.
func (s *Service) CatchUp(ctx context.Context) (int64, error) {
	head, _, err := s.st.Head(ctx)
	if err != nil {
		return 0, fmt.Errorf("stats: roll up: %w", err)
	}
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		r, err := s.RollOnce(ctx)
		if err != nil {
			return total, err
		}
		total += int64(r.Events)
		if !r.Claimed || r.Events == 0 || r.To >= head {
			return total, nil
		}
	}
}

// Run rolls up every interval until ctx ends; every process may run it (one rolls at a time).
// Failures are logged and retried at the next tick.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.CatchUp(ctx); err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
			s.log.Warn("stats: roll-up failed; retrying at the next tick", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Freshness says up to which audit event the figures count.
type Freshness struct {
	Cursor   int64     `json:"cursor"`    // seq of the last event counted
	Head     int64     `json:"head"`      // seq of the newest event in the log
	Pending  int64     `json:"pending"`   // events not yet counted (Head − Cursor)
	RolledAt time.Time `json:"rolled_at"` // when the cursor last moved (zero: never)
}

// fresh brings the roll-up up to date when it lags by little, and reports how fresh it is.
func (s *Service) fresh(ctx context.Context) (Freshness, error) {
	head, _, err := s.st.Head(ctx)
	if err != nil {
		return Freshness{}, fmt.Errorf("stats: head: %w", err)
	}
	cur, at, err := s.st.StatsCursor(ctx)
	if err != nil {
		return Freshness{}, fmt.Errorf("stats: cursor: %w", err)
	}
	if lag := head - cur; lag > 0 && s.freshLag > 0 && lag <= s.freshLag {
		for cur < head {
			r, err := s.RollOnce(ctx)
			if err != nil {
				return Freshness{}, err
			}
			if !r.Claimed || r.Events == 0 {
				break // another process is rolling: answer with what is counted
			}
			cur = r.To
		}
		if cur, at, err = s.st.StatsCursor(ctx); err != nil {
			return Freshness{}, fmt.Errorf("stats: cursor: %w", err)
		}
	}
	return Freshness{Cursor: cur, Head: head, Pending: max(head-cur, 0), RolledAt: at}, nil
}
