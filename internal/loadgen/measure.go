package loadgen

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one measurement: what c workers did in a span of time.
type Result struct {
	Rate       float64 // successes per second
	OK, Failed int64
	Elapsed    time.Duration
	CPU        time.Duration // CPU time of the whole process (servers and load generator)
	P50, P99   time.Duration // latency of the successes, rounded to the microsecond
	Exhausted  bool          // a worker called Tally.Stop: the measurement ended early
	Err        error         // the first failure
}

// maxLatencies bounds the latencies one worker keeps.
const maxLatencies = 1 << 20

// Tally is what the workers of one measurement record into; its methods may be called from
// every worker at once.
type Tally struct {
	ctx      context.Context
	cancel   context.CancelFunc
	start    time.Time
	ok, fail atomic.Int64
	first    atomic.Pointer[error]
	stopped  atomic.Bool
	end      atomic.Int64 // nanoseconds after start when Stop was first called
	lat      [][]time.Duration
}

// Done records a success of worker w that took d.
func (t *Tally) Done(w int, d time.Duration) {
	t.ok.Add(1)
	if len(t.lat[w]) < maxLatencies {
		t.lat[w] = append(t.lat[w], d)
	}
}

// Count records a success whose latency is not kept (an operation too short to time).
func (t *Tally) Count() { t.ok.Add(1) }

// Fail records a failure; one after the measurement's end (a request cut short by it) does
// not count.
func (t *Tally) Fail(err error) {
	if t.ctx.Err() != nil {
		return
	}
	t.fail.Add(1)
	t.first.CompareAndSwap(nil, &err)
}

// Stop ends the measurement early (the workers ran out of work); the elapsed time is taken at
// the first call.
func (t *Tally) Stop() {
	if t.stopped.CompareAndSwap(false, true) {
		t.end.Store(int64(time.Since(t.start)))
		t.cancel()
	}
}

// Measure runs worker on c goroutines (w = 0…c-1) for d, or until one calls Tally.Stop, and
// returns what they recorded. A worker loops until ctx is done.
func Measure(ctx context.Context, c int, d time.Duration, worker func(ctx context.Context, w int, t *Tally)) Result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	t := &Tally{ctx: ctx, cancel: cancel, lat: make([][]time.Duration, c)}
	var wg sync.WaitGroup
	cpu0 := CPUTime()
	t.start = time.Now()
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker(ctx, w, t)
		}()
	}
	wg.Wait()
	elapsed := time.Since(t.start)
	if e := t.end.Load(); e > 0 {
		elapsed = time.Duration(e)
	}
	r := Result{OK: t.ok.Load(), Failed: t.fail.Load(), Elapsed: elapsed, CPU: CPUTime() - cpu0, Exhausted: t.stopped.Load()}
	r.Rate = float64(r.OK) / elapsed.Seconds()
	if e := t.first.Load(); e != nil {
		r.Err = *e
	}
	all := slices.Concat(t.lat...)
	slices.Sort(all)
	if len(all) > 0 {
		r.P50 = Percentile(all, 0.50).Round(time.Microsecond)
		r.P99 = Percentile(all, 0.99).Round(time.Microsecond)
	}
	return r
}

// Loop is Measure for a worker that sends one request after the other: each of c workers calls
// do until d has passed, with its own random source (seeded by the worker and seed), and a
// request counts as done when do returns nil.
func Loop(ctx context.Context, c int, d time.Duration, seed uint64, do func(ctx context.Context, rng *rand.Rand) error) Result {
	return Measure(ctx, c, d, func(ctx context.Context, w int, t *Tally) {
		rng := rand.New(rand.NewPCG(uint64(w), seed))
		for ctx.Err() == nil {
			t0 := time.Now()
			if err := do(ctx, rng); err != nil {
				t.Fail(err)
				continue
			}
			t.Done(w, time.Since(t0))
		}
	})
}

// Percentile returns the p-quantile (0 ≤ p < 1) of the sorted durations ds: the element at
// index ⌊len·p⌋; 0 for none.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}

// Totals sums the measurements of one side of a comparison.
type Totals struct {
	OK           int64
	Elapsed, CPU time.Duration
}

// Add adds a measurement.
func (t *Totals) Add(r Result) { t.OK, t.Elapsed, t.CPU = t.OK+r.OK, t.Elapsed+r.Elapsed, t.CPU+r.CPU }

// Rate returns the successes per second over all the measurements.
func (t Totals) Rate() float64 { return float64(t.OK) / t.Elapsed.Seconds() }

// CPUPerOp returns the process's CPU time per success.
func (t Totals) CPUPerOp() time.Duration {
	if t.OK == 0 {
		return 0
	}
	return t.CPU / time.Duration(t.OK)
}

// CPUShare returns the process's CPU use as a share of cpus CPUs (1: all of them busy).
func (t Totals) CPUShare(cpus int) float64 {
	return t.CPU.Seconds() / t.Elapsed.Seconds() / float64(cpus)
}

// Comparison holds rounds of a baseline measured alternately with a subject (the bare handler
// and the real one, say), so that both see the same background load of the machine.
type Comparison struct {
	Base, Subject Totals
	Ratios        []float64 // subject rate / base rate, per round
}

// Add records a round and returns its ratio.
func (c *Comparison) Add(base, subject Result) float64 {
	c.Base.Add(base)
	c.Subject.Add(subject)
	ratio := subject.Rate / base.Rate
	c.Ratios = append(c.Ratios, ratio)
	return ratio
}

// Ratio returns the ratio of the rates over the totals.
func (c *Comparison) Ratio() float64 { return c.Subject.Rate() / c.Base.Rate() }

// MedianRatio returns the median of the rounds' ratios.
func (c *Comparison) MedianRatio() float64 { return Median(c.Ratios) }

// CPURatio returns the base's CPU time per success over the subject's: how much of the
// baseline's efficiency the subject keeps.
func (c *Comparison) CPURatio() float64 {
	return float64(c.Base.CPUPerOp()) / float64(c.Subject.CPUPerOp())
}

// Client returns an HTTP client that keeps a connection alive for each of c workers.
func Client(c int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: c * 2, MaxIdleConnsPerHost: c * 2, MaxConnsPerHost: c,
		IdleConnTimeout: time.Minute}}
}

// TempDir returns dir, or when it is empty a new temporary directory named after pattern (as
// os.MkdirTemp) that remove deletes.
func TempDir(dir, pattern string) (_ string, remove func(), err error) {
	if dir != "" {
		return dir, func() {}, nil
	}
	if dir, err = os.MkdirTemp("", pattern); err != nil {
		return "", nil, err
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// Output returns a writer to the file at path (created or truncated), or io.Discard when path
// is empty, and a function that closes it.
func Output(path string) (io.Writer, func(), error) {
	if path == "" {
		return io.Discard, func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// StartCPUProfile starts a CPU profile written to path, and returns the function that stops it;
// with an empty path it does nothing.
func StartCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// ReportPeakRSS writes the line giving the process's peak memory.
func ReportPeakRSS(w io.Writer) {
	fmt.Fprintf(w, "peak memory of the process (VmHWM, servers + load generator): %d MiB\n", PeakRSS()>>20)
}
