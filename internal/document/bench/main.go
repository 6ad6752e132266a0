// Command bench measures licence verification over HTTP against the raw SM2 verification rate
// measured in the same run (docs/benchmarks.md, "Licence documents").
//
// It builds the real services over a fresh SQLite database holding -n licences, starts the real
// web handler on 127.0.0.1:0 and alternates, -rounds times: raw SM2 verifications
// (gm.Verify of a token-sized message) on every CPU for -d, then -c keep-alive clients sending
// POST /api/v1/verify for -d. It prints both rates, their ratio per round and over the totals,
// the CPU time per verification and latency percentiles.
//
// What a request carries depends on -mode:
//
//	qr        the QR token of a random licence, as {"token": …}: what a phone that scanned a
//	          printed licence sends again and again. The platform checks a token's signature
//	          once and remembers it; the licence's status is looked up on every request.
//	qr-fresh  a token never sent before (the authority signs tokens ahead of each round; SM2
//	          signatures are randomised, so each is a new token): every request checks a
//	          signature, as the first scan of each licence does.
//	ofd, pdf  a licence file as the raw body (a 正本 rendered for a random licence).
//
// The clients are lean (one connection each, requests written directly, responses read with
// net/http's parser) so that the load generator, which shares the CPUs with the server, takes
// as little of them as it can; every response must be 200 with "valid":true.
//
//	go run ./internal/document/bench -mode qr -n 1000 -c 16 -d 3s -rounds 6
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/loadgen"
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
	mode          string
	n, c, rounds  int
	d, warm       time.Duration
	dir, logTo    string
	cpuProfile    string
	freshPerRound int
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var cfg config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&cfg.mode, "mode", "qr", "what to verify: qr, qr-fresh, ofd or pdf")
	fs.IntVar(&cfg.n, "n", 1000, "licences in the database")
	fs.IntVar(&cfg.c, "c", 16, "concurrent keep-alive clients")
	fs.IntVar(&cfg.rounds, "rounds", 6, "measurements of each, alternating")
	fs.DurationVar(&cfg.d, "d", 3*time.Second, "duration of one measurement")
	fs.DurationVar(&cfg.warm, "warmup", 2*time.Second, "warm-up before the measurements")
	fs.IntVar(&cfg.freshPerRound, "fresh", 0, "qr-fresh: tokens signed ahead of each round (0: 1.5 × the previous round's requests)")
	fs.StringVar(&cfg.dir, "dir", "", "directory for the database (default: a temporary directory, removed afterwards)")
	fs.StringVar(&cfg.logTo, "log", "", "write the access log to this file (default: discard)")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the measurements to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case cfg.n < 1 || cfg.c < 1 || cfg.rounds < 1 || cfg.d <= 0:
		return errors.New("-n, -c, -rounds and -d must be positive")
	case !slices.Contains([]string{"qr", "qr-fresh", "ofd", "pdf"}, cfg.mode):
		return fmt.Errorf("-mode %q: want qr, qr-fresh, ofd or pdf", cfg.mode)
	}
	dir, removeDir, err := loadgen.TempDir(cfg.dir, "elicense-bench-")
	if err != nil {
		return err
	}
	defer removeDir()
	cfg.dir = dir

	env, err := webtest.Open(ctx, cfg.dir)
	if err != nil {
		return err
	}
	defer env.Close()
	start := time.Now()
	lics, err := env.IssueCompanies(ctx, cfg.n)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "database: %d licences issued in %s (SQLite, %s)\n", len(lics), time.Since(start).Round(time.Millisecond), cfg.dir)

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
	addr, stop, err := loadgen.Serve(h)
	if err != nil {
		return err
	}
	defer stop()

	// What the requests carry.
	start = time.Now()
	var src source
	switch cfg.mode {
	case "qr":
		toks := make([][]byte, len(lics))
		for i, l := range lics {
			tok, err := env.Documents.Token(ctx, l)
			if err != nil {
				return err
			}
			toks[i] = tokenBody(tok)
		}
		src = &fixedBodies{bodies: toks, contentType: "application/json"}
	case "qr-fresh":
		src = &freshTokens{docs: env.Documents, lics: lics}
	default:
		f := document.Format(cfg.mode)
		files := make([][]byte, min(len(lics), 64)) // files are large: a sample of the licences
		for i := range files {
			if files[i], err = env.Documents.Render(ctx, lics[i], document.Options{Format: f}); err != nil {
				return err
			}
		}
		src = &fixedBodies{bodies: files, contentType: f.ContentType()}
	}
	fmt.Fprintf(out, "request bodies prepared in %s\n", time.Since(start).Round(time.Millisecond))

	// The SM2 baseline verifies a token-sized message with an authority-like key.
	key, err := gm.GenerateKey()
	if err != nil {
		return err
	}
	msg := []byte("AQEBwFIttw8xAO4y8jgoQeZSLbcPMQ-licence-token-payload-of-typical-size-0123456789")
	sig, err := key.Sign(ctx, msg)
	if err != nil {
		return err
	}
	sm2 := func(d time.Duration) loadgen.Result {
		return spin(ctx, runtime.GOMAXPROCS(0), d, func() bool { return gm.Verify(key.Public(), msg, sig) })
	}

	fmt.Fprintf(out, "mode %s; %d clients; %d × %s each; GOMAXPROCS %d on %d CPUs\n",
		cfg.mode, cfg.c, cfg.rounds, cfg.d, runtime.GOMAXPROCS(0), runtime.NumCPU())
	if cfg.warm > 0 {
		sm2(cfg.warm / 2)
		if err := src.prepare(ctx, 2000); err != nil {
			return err
		}
		w := load(ctx, addr, src, cfg.c, cfg.warm/2)
		if w.Failed > 0 {
			return fmt.Errorf("warm-up: %d requests failed: %v", w.Failed, w.Err)
		}
		fmt.Fprintf(out, "warm-up: %.0f req/s\n", w.Rate)
	}
	stopProfile, err := loadgen.StartCPUProfile(cfg.cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()

	var cmp loadgen.Comparison
	prev := int64(0)
	for i := 0; i < cfg.rounds; i++ {
		s := sm2(cfg.d)
		want := cfg.freshPerRound
		if want == 0 {
			want = int(max(prev, int64(float64(s.OK)/3)) * 3 / 2) // a third of the SM2 rate at first
		}
		if err := src.prepare(ctx, want); err != nil {
			return err
		}
		r := load(ctx, addr, src, cfg.c, cfg.d)
		if r.Failed > 0 {
			return fmt.Errorf("round %d: %d requests failed: %v", i+1, r.Failed, r.Err)
		}
		prev = r.OK
		note := ""
		if r.Exhausted {
			note = " (fresh tokens ran out: the round ended early)"
		}
		fmt.Fprintf(out, "round %2d: SM2 verify %7.0f/s | %s over HTTP %7.0f/s (p50 %s, p99 %s) | ratio %.2f%s\n",
			i+1, s.Rate, cfg.mode, r.Rate, r.P50, r.P99, cmp.Add(s, r), note)
	}
	fmt.Fprintf(out, "total: SM2 verify %.0f/s, %s over HTTP %.0f/s, ratio %.2f; median ratio of the rounds %.2f\n",
		cmp.Base.Rate(), cfg.mode, cmp.Subject.Rate(), cmp.Ratio(), cmp.MedianRatio())
	fmt.Fprintf(out, "CPU per operation: SM2 verify %s, %s request %s (server and load generator); ratio %.2f\n",
		cmp.Base.CPUPerOp(), cfg.mode, cmp.Subject.CPUPerOp(), cmp.CPURatio())
	return nil
}

// source gives the request bodies.
type source interface {
	// prepare readies at least n bodies for the next measurement (fresh tokens only).
	prepare(ctx context.Context, n int) error
	// next returns a body for worker w, false when there is none left.
	next(w int, rng *rand.Rand) ([]byte, bool)
	contentTypeOf() string
}

// fixedBodies picks one of its bodies at random.
type fixedBodies struct {
	bodies      [][]byte
	contentType string
}

func (f *fixedBodies) prepare(context.Context, int) error { return nil }
func (f *fixedBodies) next(_ int, rng *rand.Rand) ([]byte, bool) {
	return f.bodies[rng.IntN(len(f.bodies))], true
}
func (f *fixedBodies) contentTypeOf() string { return f.contentType }

// freshTokens hands out each token once: tokens of random licences, signed ahead of a
// measurement by the registering authority.
type freshTokens struct {
	docs   *document.Service
	lics   []*license.Licence
	bodies [][]byte
	pos    atomic.Int64
}

func (f *freshTokens) prepare(ctx context.Context, n int) error {
	bodies := make([][]byte, n)
	var next atomic.Int64
	errc := make(chan error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(n)))
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				tok, err := f.docs.Token(ctx, f.lics[rng.IntN(len(f.lics))])
				if err != nil {
					errc <- err
					return
				}
				bodies[i] = tokenBody(tok)
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	f.bodies = bodies
	f.pos.Store(0)
	return nil
}

func (f *freshTokens) next(int, *rand.Rand) ([]byte, bool) {
	i := int(f.pos.Add(1)) - 1
	if i >= len(f.bodies) {
		return nil, false
	}
	return f.bodies[i], true
}
func (f *freshTokens) contentTypeOf() string { return "application/json" }

// tokenBody is the JSON body that asks for a token to be verified: the URL the QR code holds.
func tokenBody(tok string) []byte {
	b, _ := json.Marshal(map[string]string{"token": webtest.PublicURL + "/v/" + tok})
	return b
}

// spin calls op from n goroutines for d.
func spin(ctx context.Context, n int, d time.Duration, op func() bool) loadgen.Result {
	return loadgen.Measure(ctx, n, d, func(ctx context.Context, _ int, t *loadgen.Tally) {
		for ctx.Err() == nil {
			for range 16 {
				if op() {
					t.Count()
				} else {
					t.Fail(errors.New("SM2 verification failed"))
				}
			}
		}
	})
}

// load sends POST /api/v1/verify from c clients for d (or until the source runs dry).
func load(ctx context.Context, addr string, src source, c int, d time.Duration) loadgen.Result {
	return loadgen.Measure(ctx, c, d, func(ctx context.Context, w int, t *loadgen.Tally) {
		cl, err := dial(addr)
		if err != nil {
			t.Fail(err)
			return
		}
		defer func() { cl.close() }()
		rng := rand.New(rand.NewPCG(uint64(w), 42))
		for ctx.Err() == nil {
			body, more := src.next(w, rng)
			if !more {
				t.Stop()
				return
			}
			t0 := time.Now()
			if err := cl.verify(body, src.contentTypeOf()); err != nil {
				t.Fail(err)
				if cl, err = dial(addr); err != nil {
					return
				}
				continue
			}
			t.Done(w, time.Since(t0))
		}
	})
}

// client is a lean HTTP/1.1 keep-alive client on one connection.
type client struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	head []byte
	body bytes.Buffer
}

func dial(addr string) (*client, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &client{conn: conn, r: bufio.NewReaderSize(conn, 16<<10), w: bufio.NewWriterSize(conn, 16<<10)}, nil
}

func (c *client) close() { c.conn.Close() }

var validTrue = []byte(`"valid":true`)

// verify posts body to /api/v1/verify and checks that the answer is 200 and valid.
func (c *client) verify(body []byte, contentType string) error {
	c.head = append(c.head[:0], "POST /api/v1/verify HTTP/1.1\r\nHost: bench\r\nContent-Type: "...)
	c.head = append(c.head, contentType...)
	c.head = append(c.head, "\r\nContent-Length: "...)
	c.head = strconv.AppendInt(c.head, int64(len(body)), 10)
	c.head = append(c.head, "\r\n\r\n"...)
	c.w.Write(c.head)
	c.w.Write(body)
	if err := c.w.Flush(); err != nil {
		return err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return err
	}
	c.body.Reset()
	_, err = c.body.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(c.body.Bytes(), validTrue) {
		return fmt.Errorf("%d: %.300s", resp.StatusCode, strings.TrimSpace(c.body.String()))
	}
	return nil
}
