// Command bench measures the throughput of GET /api/v1/licenses/{code} against a bare net/http
// handler on the same machine, in the same run (docs/benchmarks.md).
//
// It builds the real services over a fresh SQLite database holding -n licences, starts the real
// web handler and a bare handler that returns a JSON body of the same size on 127.0.0.1:0, then
// hammers each with -c concurrent keep-alive clients for -d, alternating the two -rounds times,
// and prints requests per second of each, their ratio, latency percentiles and peak memory.
//
//	go run ./internal/web/bench -n 10000 -c 32 -d 3s -rounds 10
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elicense/elicense/internal/loadgen"
	"github.com/elicense/elicense/internal/store"
	"github.com/elicense/elicense/internal/web"
	"github.com/elicense/elicense/internal/web/webtest"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type config struct {
	n, c, rounds int
	conns, cache int
	d, warm      time.Duration
	dir, logTo   string
	cpuProfile   string
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var cfg config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.IntVar(&cfg.n, "n", 10000, "licences in the database")
	fs.IntVar(&cfg.c, "c", 32, "concurrent keep-alive clients")
	fs.IntVar(&cfg.conns, "conns", 0, "database read connections (0: the store's default)")
	fs.IntVar(&cfg.cache, "cache", 0, "licences in the store's cache (0: the store's default, -1: no cache)")
	fs.IntVar(&cfg.rounds, "rounds", 10, "measurements of each handler, alternating")
	fs.DurationVar(&cfg.d, "d", 3*time.Second, "duration of one measurement")
	fs.DurationVar(&cfg.warm, "warmup", 2*time.Second, "warm-up before the measurements")
	fs.StringVar(&cfg.dir, "dir", "", "directory for the database (default: a temporary directory, removed afterwards)")
	fs.StringVar(&cfg.logTo, "log", "", "write the access log to this file (default: discard)")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the measurements to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.n < 1 || cfg.c < 1 || cfg.rounds < 1 || cfg.d <= 0 {
		return errors.New("-n, -c, -rounds and -d must be positive")
	}
	dir, removeDir, err := loadgen.TempDir(cfg.dir, "elicense-bench-")
	if err != nil {
		return err
	}
	defer removeDir()
	cfg.dir = dir

	env, err := webtest.OpenWith(ctx, cfg.dir, store.Options{MaxConns: cfg.conns, LicenceCache: cfg.cache})
	if err != nil {
		return err
	}
	defer env.Close()
	start := time.Now()
	lics, err := env.IssueCompanies(ctx, cfg.n)
	if err != nil {
		return err
	}
	codes := make([]string, len(lics))
	for i, l := range lics {
		codes[i] = l.Code
	}
	fmt.Fprintf(out, "database: %d licences issued in %s (SQLite, %s)\n", len(codes), time.Since(start).Round(time.Millisecond), cfg.dir)

	logOut, closeLog, err := loadgen.Output(cfg.logTo)
	if err != nil {
		return err
	}
	defer closeLog()
	h, err := web.New(web.Deps{Licenses: env.Licenses, Keys: env.Keys, Accounts: env.Accounts, Audit: env.Audit,
		Documents: env.Documents, DB: env.DB, Logger: slog.New(slog.NewJSONHandler(logOut, nil)), Clock: env.Clock.Now})
	if err != nil {
		return err
	}
	realAddr, stopReal, err := loadgen.Serve(h)
	realURL := "http://" + realAddr
	if err != nil {
		return err
	}
	defer stopReal()

	client := loadgen.Client(cfg.c)
	defer client.CloseIdleConnections()

	// The bare handler returns the body the real one gives for a typical licence.
	sample, err := fetch(ctx, client, realURL+"/api/v1/licenses/"+codes[0])
	if err != nil {
		return err
	}
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(sample)))
		_, _ = w.Write(sample)
	})
	bareAddr, stopBare, err := loadgen.Serve(bare)
	bareURL := "http://" + bareAddr
	if err != nil {
		return err
	}
	defer stopBare()
	fmt.Fprintf(out, "response body: %d bytes; %d clients; %d × %s per handler; GOMAXPROCS %d on %d CPUs\n",
		len(sample), cfg.c, cfg.rounds, cfg.d, runtime.GOMAXPROCS(0), runtime.NumCPU())

	// Warm up: every licence once (each signature is verified once per process, then cached),
	// then both handlers under load.
	heap0 := loadgen.LiveHeap()
	wstart := time.Now()
	if err := touchAll(ctx, client, realURL, codes, cfg.c); err != nil {
		return err
	}
	fmt.Fprintf(out, "first look-up of every licence (cold, signature verified): %s, %.0f req/s\n",
		time.Since(wstart).Round(time.Millisecond), float64(len(codes))/time.Since(wstart).Seconds())
	// What the first look-ups left on the heap: mostly the store's licence cache, the response
	// bodies and the signature checks.
	grown := float64(loadgen.LiveHeap() - heap0)
	fmt.Fprintf(out, "live heap grown by the first look-ups: %.1f MiB, %.2f KiB per licence\n",
		grown/(1<<20), grown/1024/float64(len(codes)))
	if cfg.warm > 0 {
		load(ctx, client, bareURL, codes, cfg.c, cfg.warm/2)
		load(ctx, client, realURL, codes, cfg.c, cfg.warm/2)
	}

	stopProfile, err := loadgen.StartCPUProfile(cfg.cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	// Alternate short measurements of the two handlers, so that both see the same background
	// load of the machine; the ratio is taken per pair and over the totals.
	var cmp loadgen.Comparison
	for i := 0; i < cfg.rounds; i++ {
		b := load(ctx, client, bareURL, codes, cfg.c, cfg.d)
		r := load(ctx, client, realURL, codes, cfg.c, cfg.d)
		if b.Failed > 0 || r.Failed > 0 {
			return fmt.Errorf("round %d: %d bare and %d real requests failed", i+1, b.Failed, r.Failed)
		}
		fmt.Fprintf(out, "round %2d: bare %7.0f req/s (p50 %s, p99 %s) | elicense %7.0f req/s (p50 %s, p99 %s) | ratio %.2f\n",
			i+1, b.Rate, b.P50, b.P99, r.Rate, r.P50, r.P99, cmp.Add(b, r))
	}
	fmt.Fprintf(out, "total: bare %.0f req/s, elicense %.0f req/s, ratio %.2f; median ratio of the pairs %.2f (target ≥ 0.60)\n",
		cmp.Base.Rate(), cmp.Subject.Rate(), cmp.Ratio(), cmp.MedianRatio())
	// CPU time per request does not depend on how much of the machine other processes take.
	cpus := runtime.NumCPU()
	fmt.Fprintf(out, "CPU per request (servers + load generator): bare %s, elicense %s; ratio %.2f; process CPU use %.0f%% and %.0f%% of %d CPUs\n",
		cmp.Base.CPUPerOp(), cmp.Subject.CPUPerOp(), cmp.CPURatio(), 100*cmp.Base.CPUShare(cpus), 100*cmp.Subject.CPUShare(cpus), cpus)
	loadgen.ReportPeakRSS(out)
	return nil
}

func fetch(ctx context.Context, c *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	var v struct {
		SignatureValid bool `json:"signature_valid"`
	}
	if err := json.Unmarshal(b, &v); err == nil && strings.Contains(url, "/licenses/") && !v.SignatureValid {
		return nil, fmt.Errorf("GET %s: signature not valid", url)
	}
	return b, nil
}

// touchAll requests every licence once with c clients.
func touchAll(ctx context.Context, client *http.Client, base string, codes []string, c int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, c)
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(codes) {
					return
				}
				if _, err := fetch(ctx, client, base+"/api/v1/licenses/"+codes[i]); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc
}

// load sends GET {base}/api/v1/licenses/{random code} from c clients for d.
func load(ctx context.Context, client *http.Client, base string, codes []string, c int, d time.Duration) loadgen.Result {
	return loadgen.Loop(ctx, c, d, 42, func(ctx context.Context, rng *rand.Rand) error {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/licenses/"+codes[rng.IntN(len(codes))], nil)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != 200 {
			err = fmt.Errorf("GET %s: %d", req.URL.Path, resp.StatusCode)
		}
		return err
	})
}
