// Command bench measures the sharing service's query by identifier and verify by fields through
// the real HTTP stack — client-credentials token check, permission, purpose, the usage record
// written to the audit log before the answer — against a bare net/http handler on the same
// machine, in the same run (docs/benchmarks.md, issue 5).
//
// It builds the real services over a fresh SQLite database (or -db postgres://…) holding -n
// licences, registers a department's system with a real client-credentials token, and serves
// the real web handler and a bare handler that reads the request body and returns a JSON body
// of the same size, each on 127.0.0.1. Then -c concurrent keep-alive clients send query
// requests to each handler for -d, then verify requests, -rounds times, and it prints requests
// per second of each, the ratio for query and for verify (each the median of the rounds), the
// CPU time per request and the mean number of usage records per transaction.
//
//	go run ./internal/sharing/bench -n 2000 -c 32 -d 3s -rounds 5
package main

import (
	"bytes"
	"context"
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
	"runtime/pprof"
	"strconv"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/library"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/loadgen"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/oidc/oidctest"
	"github.com/elicense/elicense/internal/sharing"
	"github.com/elicense/elicense/internal/uscc"
	"github.com/elicense/elicense/internal/web"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type config struct {
	n, c, rounds int
	d, warm      time.Duration
	dsn, profile string
	memprofile   string
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var cfg config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.IntVar(&cfg.n, "n", 2000, "licences in the database")
	fs.IntVar(&cfg.c, "c", 32, "concurrent keep-alive clients")
	fs.IntVar(&cfg.rounds, "rounds", 5, "measurements of each handler and operation, alternating")
	fs.DurationVar(&cfg.d, "d", 3*time.Second, "duration of one measurement")
	fs.DurationVar(&cfg.warm, "warmup", 2*time.Second, "warm-up before the measurements")
	fs.StringVar(&cfg.dsn, "db", "", "postgres:// URL of an empty database (default: SQLite in a temporary directory)")
	fs.StringVar(&cfg.profile, "cpuprofile", "", "write a CPU profile of the measurements to this file")
	fs.StringVar(&cfg.memprofile, "memprofile", "", "write an allocation profile (since the start) to this file at the end")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.n < 1 || cfg.c < 1 || cfg.rounds < 1 || cfg.d <= 0 {
		return errors.New("-n, -c, -rounds and -d must be positive")
	}
	dir, removeDir, err := loadgen.TempDir("", "elicense-sharing-bench-")
	if err != nil {
		return err
	}
	defer removeDir()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	issuer := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	env, err := oidctest.Open(ctx, oidctest.Options{Dir: dir, DSN: cfg.dsn, Issuer: issuer})
	if err != nil {
		return err
	}
	defer env.Close()
	svc := sharing.NewService(sharing.Config{Store: env.DB, Clients: env.DB, Tokens: env.OIDC, Licences: env.Licenses,
		Documents: env.Documents, Audit: env.Audit, Clock: env.Clock.Now})
	// The licence library is wired as elicense serve wires it, so that the business licence's
	// paths are measured as they run in production (a permit is recognised by its type code).
	svc.SetLibrary(library.NewService(library.Config{Store: env.DB, Keys: env.Keys, Licences: env.Licenses, Clock: env.Clock.Now}))
	h, err := web.New(web.Deps{Licenses: env.Licenses, Keys: env.Keys, Accounts: env.Accounts, Audit: env.Audit,
		Documents: env.Documents, Identity: env.Identity, OIDC: env.OIDC, Sharing: svc, DB: env.DB, Clock: env.Clock.Now,
		PublicURL: issuer, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	start := time.Now()
	ls, err := populate(ctx, env, cfg.n)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "database: %d licences issued in %s (%s)\n", len(ls), time.Since(start).Round(time.Millisecond), dbName(cfg.dsn))
	token, err := department(ctx, env, svc, issuer)
	if err != nil {
		return err
	}

	client := loadgen.Client(cfg.c)
	defer client.CloseIdleConnections()
	ops := requests(ls)
	// The bare handler answers with bodies of the sizes the real one gives.
	var sizes [2]int
	for i := range sizes {
		b, err := send(ctx, client, issuer, token, ops[i].reqs[0])
		if err != nil {
			return err
		}
		sizes[i] = len(b)
	}
	bodies := [2][]byte{bytes.Repeat([]byte("x"), sizes[0]), bytes.Repeat([]byte("x"), sizes[1])}
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		b := bodies[0]
		if r.URL.Path == "/api/v1/sharing/verify" {
			b = bodies[1]
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
	})
	bareAddr, stopBare, err := loadgen.Serve(bare)
	if err != nil {
		return err
	}
	defer stopBare()
	bareURL := "http://" + bareAddr
	fmt.Fprintf(out, "response bodies: query %d, verify %d bytes; %d clients; %d × %s per handler; GOMAXPROCS %d on %d CPUs\n",
		sizes[0], sizes[1], cfg.c, cfg.rounds, cfg.d, runtime.GOMAXPROCS(0), runtime.NumCPU())

	seq0, _, err := env.DB.Head(ctx)
	if err != nil {
		return err
	}
	if cfg.warm > 0 {
		for _, op := range ops {
			load(ctx, client, bareURL, token, op.reqs, cfg.c, cfg.warm/4)
			load(ctx, client, issuer, token, op.reqs, cfg.c, cfg.warm/4)
		}
	}
	tx0, rec0 := svc.UsageBatches()
	stopProfile, err := loadgen.StartCPUProfile(cfg.profile)
	if err != nil {
		return err
	}
	defer stopProfile()
	var medians []float64
	for _, op := range ops {
		var cmp loadgen.Comparison
		for i := range cfg.rounds {
			b := load(ctx, client, bareURL, token, op.reqs, cfg.c, cfg.d)
			r := load(ctx, client, issuer, token, op.reqs, cfg.c, cfg.d)
			if b.Failed > 0 || r.Failed > 0 {
				return fmt.Errorf("%s round %d: %d bare and %d real requests failed (%v)", op.name, i+1, b.Failed, r.Failed, r.Err)
			}
			fmt.Fprintf(out, "%-6s round %2d: bare %7.0f req/s (p50 %s, p99 %s) | elicense %7.0f req/s (p50 %s, p99 %s) | ratio %.2f\n",
				op.name, i+1, b.Rate, b.P50, b.P99, r.Rate, r.P50, r.P99, cmp.Add(b, r))
		}
		medians = append(medians, cmp.MedianRatio())
		fmt.Fprintf(out, "%s: bare %.0f req/s, elicense %.0f req/s; median ratio of the rounds %.2f (target ≥ 0.50); "+
			"CPU per request (servers + load generator) bare %s, elicense %s, ratio %.2f\n",
			op.name, cmp.Base.Rate(), cmp.Subject.Rate(), cmp.MedianRatio(), cmp.Base.CPUPerOp(), cmp.Subject.CPUPerOp(), cmp.CPURatio())
	}
	fmt.Fprintf(out, "median ratio: query %.2f, verify %.2f (target ≥ 0.50)\n", medians[0], medians[1])
	tx1, rec1 := svc.UsageBatches()
	if tx1 > tx0 {
		fmt.Fprintf(out, "usage records per transaction (group commit): %.1f\n", float64(rec1-rec0)/float64(tx1-tx0))
	}
	// Every answered call has its usage record.
	seq1, _, err := env.DB.Head(ctx)
	if err != nil {
		return err
	}
	evs, err := env.Audit.Find(ctx, audit.Filter{ActionPrefix: "share.", Limit: 1})
	if err != nil || len(evs) == 0 {
		return fmt.Errorf("no usage record found: %v", err)
	}
	fmt.Fprintf(out, "usage records written during the run: %d (the audit log's sequence went from %d to %d)\n", seq1-seq0, seq0, seq1)
	loadgen.ReportPeakRSS(out)
	if cfg.memprofile != "" {
		f, err := os.Create(cfg.memprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return err
		}
	}
	return nil
}

func dbName(dsn string) string {
	if dsn == "" {
		return "SQLite"
	}
	return "PostgreSQL"
}

// populate issues n company licences.
func populate(ctx context.Context, env *oidctest.Env, n int) ([]*license.Licence, error) {
	auth, err := uscc.Generate('1', '1', "330106", "MB0B0001")
	if err != nil {
		return nil, err
	}
	if _, err := env.Keys.CreateAuthority(ctx, keys.Authority{Code: auth, Name: "杭州市西湖区市场监督管理局", Region: "330106"}); err != nil {
		return nil, err
	}
	var out []*license.Licence
	for lo := 0; lo < n; lo += 1000 {
		var regs []license.Registration
		for i := lo; i < min(lo+1000, n); i++ {
			code, err := uscc.Generate('9', '1', "330106", fmt.Sprintf("MB%06d", i))
			if err != nil {
				return nil, err
			}
			regs = append(regs, license.Registration{Code: code, Kind: license.Company, Face: license.Face{
				Name: fmt.Sprintf("杭州共享基准科技有限公司%d", i), Type: "有限责任公司（自然人投资或控股）", Person: "王芳",
				Capital: &license.Capital{Amount: "100", Currency: "CNY"}, EstablishedOn: "2015-03-18", TermFrom: "2015-03-18",
				TermTo: license.LongTerm, Address: "浙江省杭州市西湖区文三路 90 号 301 室", Scope: "一般项目：技术服务、技术开发、技术咨询。"}})
		}
		res, err := env.Licenses.IssueBatch(ctx, license.Actor{ID: "bench", Authority: auth}, regs)
		if err != nil {
			return nil, err
		}
		for _, r := range res {
			if r.Err != nil {
				return nil, r.Err
			}
			out = append(out, r.Licence)
		}
	}
	return out, nil
}

// department registers a department's system allowed to query and verify, and returns a
// client-credentials access token of it.
func department(ctx context.Context, env *oidctest.Env, svc *sharing.Service, issuer string) (string, error) {
	scopes := []string{oidc.ScopeSharingQuery, oidc.ScopeSharingVerify}
	c, secret, err := env.OIDC.RegisterClient(ctx, oidc.ClientSpec{Name: "基准测试部门系统",
		GrantTypes: []string{oidc.GrantClientCredentials}, Scopes: scopes}, "bench")
	if err != nil {
		return "", err
	}
	if _, err := svc.Grant(ctx, "bench", sharing.Permission{ClientID: c.ID, Operations: []sharing.Operation{sharing.OpQuery, sharing.OpVerify}}); err != nil {
		return "", err
	}
	cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: secret, TokenURL: issuer + oidc.PathToken, Scopes: scopes}
	tok, err := cc.Token(ctx)
	if err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

type request struct {
	path string
	body []byte
}

// operation is one of the operations measured, with its requests.
type operation struct {
	name string
	reqs []request
}

// requests returns a query by identifier and a verification by fields of each licence.
func requests(ls []*license.Licence) [2]operation {
	const purpose = `"use_cause":"办理食品经营许可，核验申请人营业执照","service_item":"330000-FOOD-001","case_number":"ZJ2026-000123"`
	out := [2]operation{{name: "query"}, {name: "verify"}}
	for _, l := range ls {
		out[0].reqs = append(out[0].reqs, request{"/api/v1/sharing/query", []byte(`{` + purpose + `,"identifier":"` + l.Identifier + `"}`)})
		out[1].reqs = append(out[1].reqs, request{"/api/v1/sharing/verify", []byte(`{` + purpose + `,"code":"` + l.Code + `","name":"` + l.Face.Name + `","person":"王芳"}`)})
	}
	return out
}

func send(ctx context.Context, c *http.Client, base, token string, r request) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", base+r.path, bytes.NewReader(r.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
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
		return nil, fmt.Errorf("POST %s: %d %s", r.path, resp.StatusCode, b)
	}
	return b, nil
}

// load sends the requests, from random places in the list, from c clients for d.
func load(ctx context.Context, client *http.Client, base, token string, reqs []request, c int, d time.Duration) loadgen.Result {
	return loadgen.Loop(ctx, c, d, 7, func(ctx context.Context, rng *rand.Rand) error {
		_, err := send(ctx, client, base, token, reqs[rng.IntN(len(reqs))])
		return err
	})
}
