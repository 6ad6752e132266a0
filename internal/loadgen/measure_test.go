package loadgen

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ds := make([]time.Duration, 200)
	for i := range ds {
		ds[i] = time.Duration(i + 1)
	}
	if got := Percentile(ds, 0.5); got != 101 {
		t.Errorf("p50 = %d, want 101", got)
	}
	if got := Percentile(ds, 0.99); got != 199 {
		t.Errorf("p99 = %d, want 199", got)
	}
	if got := Percentile(ds[:1], 0.99); got != 1 {
		t.Errorf("p99 of one = %d", got)
	}
	if Percentile(nil, 0.5) != 0 {
		t.Error("percentile of none")
	}
}

func TestComparison(t *testing.T) {
	var c Comparison
	r1 := c.Add(Result{Rate: 100, OK: 100, Elapsed: time.Second, CPU: 100 * time.Millisecond},
		Result{Rate: 50, OK: 50, Elapsed: time.Second, CPU: 100 * time.Millisecond})
	c.Add(Result{Rate: 100, OK: 300, Elapsed: 3 * time.Second, CPU: 300 * time.Millisecond},
		Result{Rate: 80, OK: 240, Elapsed: 3 * time.Second, CPU: 480 * time.Millisecond})
	c.Add(Result{Rate: 100, OK: 100, Elapsed: time.Second, CPU: 100 * time.Millisecond},
		Result{Rate: 70, OK: 70, Elapsed: time.Second, CPU: 140 * time.Millisecond})
	if r1 != 0.5 || c.MedianRatio() != 0.7 {
		t.Errorf("round ratio %v, median %v", r1, c.MedianRatio())
	}
	if c.Base.Rate() != 100 || c.Subject.Rate() != 72 || c.Ratio() != 0.72 {
		t.Errorf("rates %v %v ratio %v", c.Base.Rate(), c.Subject.Rate(), c.Ratio())
	}
	if c.Base.CPUPerOp() != time.Millisecond || c.Subject.CPUPerOp() != 2*time.Millisecond || c.CPURatio() != 0.5 {
		t.Errorf("CPU per op %s %s", c.Base.CPUPerOp(), c.Subject.CPUPerOp())
	}
	if got := c.Subject.CPUShare(2); got != 0.072 {
		t.Errorf("CPU share %v", got)
	}
	if (Totals{}).CPUPerOp() != 0 {
		t.Error("CPU per op of nothing")
	}
}

func TestLoopCountsSuccessesAndFailures(t *testing.T) {
	boom := errors.New("boom")
	r := Loop(context.Background(), 3, 50*time.Millisecond, 1, func(_ context.Context, rng *rand.Rand) error {
		time.Sleep(time.Millisecond)
		if rng.IntN(2) == 0 {
			return boom
		}
		return nil
	})
	if r.OK == 0 || r.Failed == 0 || !errors.Is(r.Err, boom) || r.Exhausted {
		t.Fatalf("result %+v", r)
	}
	if r.P50 <= 0 || r.P99 < r.P50 || r.Elapsed <= 0 || r.Rate <= 0 {
		t.Errorf("latencies or rate missing: %+v", r)
	}
}

func TestMeasureStop(t *testing.T) {
	r := Measure(context.Background(), 2, time.Hour, func(ctx context.Context, w int, tl *Tally) {
		for i := 0; ctx.Err() == nil; i++ {
			if i == 5 {
				tl.Stop()
				tl.Fail(errors.New("after the end")) // does not count
				return
			}
			tl.Done(w, time.Microsecond)
			tl.Count()
		}
	})
	if !r.Exhausted || r.Failed != 0 || r.Err != nil || r.OK < 10 || r.OK > 20 || r.P50 != time.Microsecond {
		t.Fatalf("result %+v", r)
	}
}

func TestTempDirAndOutput(t *testing.T) {
	given := t.TempDir()
	dir, remove, err := TempDir(given, "x-")
	if err != nil || dir != given {
		t.Fatal(dir, err)
	}
	remove()
	if _, err := os.Stat(given); err != nil {
		t.Error("a given directory was removed")
	}
	dir, remove, err = TempDir("", "loadgen-test-")
	if err != nil || dir == "" {
		t.Fatal(err)
	}
	remove()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Error("the temporary directory is still there")
	}
	w, done, err := Output(filepath.Join(given, "log"))
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("x"))
	done()
	if b, _ := os.ReadFile(filepath.Join(given, "log")); string(b) != "x" {
		t.Errorf("output %q", b)
	}
	if stop, err := StartCPUProfile(""); err != nil {
		t.Fatal(err)
	} else {
		stop()
	}
}
