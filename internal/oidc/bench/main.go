// Command bench measures the OpenID Connect provider (docs/benchmarks.md, "OpenID Connect"):
// client-credentials tokens per second, authorization-code exchanges per second, and the time of
// a second portal's single sign-on login (server time, p50 and p99). The real services and web
// handler (oidctest) serve HTTP on 127.0.0.1, and the load generator runs in the same process,
// on the same cores (GOMAXPROCS -cpus).
//
//	go run ./internal/oidc/bench -d 10s -c 16
//	go run ./internal/oidc/bench -d 10s -c 16 -db postgres://…   # a fresh schema on that server
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create the schema
	"golang.org/x/oauth2"

	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/loadgen"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/oidc/oidctest"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type config struct {
	d        time.Duration
	c, cpus  int
	sso      int
	dsn, dir string
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var cfg config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.DurationVar(&cfg.d, "d", 10*time.Second, "duration of each throughput measurement")
	fs.IntVar(&cfg.c, "c", 16, "concurrent keep-alive clients")
	fs.IntVar(&cfg.cpus, "cpus", 2, "GOMAXPROCS: cores for the server and the load generator together")
	fs.IntVar(&cfg.sso, "sso", 1000, "second-portal SSO logins timed one after the other")
	fs.StringVar(&cfg.dsn, "db", "", "postgres:// URL of a server to use (a fresh schema); default a temporary SQLite file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	runtime.GOMAXPROCS(cfg.cpus)
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil))) // the provider library logs to the default logger
	dir, removeDir, err := loadgen.TempDir("", "oidc-bench-")
	if err != nil {
		return err
	}
	defer removeDir()
	cfg.dir = dir
	dsn := ""
	if cfg.dsn != "" {
		if dsn, err = freshSchema(cfg.dsn); err != nil {
			return err
		}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	issuer := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	env, err := oidctest.Open(ctx, oidctest.Options{Dir: dir, DSN: dsn, Issuer: issuer})
	if err != nil {
		return err
	}
	defer env.Close()
	timer := &serverTimer{}
	srv := &http.Server{Handler: timer.wrap(env.Handler), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	db := "SQLite"
	if dsn != "" {
		db = "PostgreSQL"
	}
	fmt.Fprintf(out, "OpenID Connect provider on %s, %s, GOMAXPROCS %d, %d clients, %s per measurement\n\n",
		issuer, db, runtime.GOMAXPROCS(0), cfg.c, cfg.d)
	b := &bench{ctx: ctx, cfg: cfg, env: env, url: issuer, timer: timer,
		hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.c * 2, MaxConnsPerHost: cfg.c * 2},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if err := b.clientCredentials(out); err != nil {
		return err
	}
	if err := b.codeFlow(out); err != nil {
		return err
	}
	return nil
}

// freshSchema creates a schema on the server and returns a DSN that uses it.
func freshSchema(base string) (string, error) {
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	schema := "elicense_oidc_bench_" + hex.EncodeToString(rnd[:])
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		return "", err
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// serverTimer records how long the server took for the requests of the SSO logins.
type serverTimer struct {
	on    atomic.Bool
	mu    sync.Mutex
	times map[string][]time.Duration // path → durations, in order
}

func (t *serverTimer) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !t.on.Load() {
			h.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		h.ServeHTTP(w, r)
		d := time.Since(start)
		t.mu.Lock()
		t.times[r.URL.Path] = append(t.times[r.URL.Path], d)
		t.mu.Unlock()
	})
}

type bench struct {
	ctx   context.Context
	cfg   config
	env   *oidctest.Env
	url   string
	hc    *http.Client
	timer *serverTimer
}

// load runs fn on c workers for d; the first failure ends its worker and is returned.
func (b *bench) load(fn func(worker int) error) (loadgen.Result, error) {
	r := loadgen.Measure(b.ctx, b.cfg.c, b.cfg.d, func(ctx context.Context, w int, t *loadgen.Tally) {
		for ctx.Err() == nil {
			s := time.Now()
			if err := fn(w); err != nil {
				t.Fail(err)
				return
			}
			t.Done(w, time.Since(s))
		}
	})
	return r, r.Err
}

// pct returns the p-quantile of ds, which it sorts.
func pct(ds []time.Duration, p float64) time.Duration {
	slices.Sort(ds)
	return loadgen.Percentile(ds, p)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func (b *bench) post(path string, form url.Values, user, pass string) (int, []byte, error) {
	req, err := http.NewRequest("POST", b.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// clientCredentials measures client-credentials tokens per second (client secret, Basic).
func (b *bench) clientCredentials(out io.Writer) error {
	c, secret, err := b.env.OIDC.RegisterClient(b.ctx, oidc.ClientSpec{Name: "数据共享系统", GrantTypes: []string{oidc.GrantClientCredentials}}, "bench")
	if err != nil {
		return err
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {oidc.ScopeSharingQuery + " " + oidc.ScopeSharingVerify}}
	var sample atomic.Value
	r, err := b.load(func(int) error {
		status, body, err := b.post(oidc.PathToken, form, c.ID, secret)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("token: %d %s", status, body)
		}
		sample.Store(body)
		return nil
	})
	if err != nil {
		return err
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(sample.Load().([]byte), &tr)
	if info, err := b.env.OIDC.VerifyAccessToken(b.ctx, tr.AccessToken); err != nil || !info.HasScope(oidc.ScopeSharingVerify) {
		return fmt.Errorf("the tokens do not verify: %v", err)
	}
	fmt.Fprintf(out, "client credentials (secret, Basic): %d tokens in %s = %.0f tokens/s; latency p50 %s, p99 %s; CPU %.0f µs per token\n",
		r.OK, r.Elapsed.Round(time.Millisecond), r.Rate, ms(r.P50), ms(r.P99),
		float64(r.CPU.Microseconds())/float64(r.OK))
	return nil
}

var reQR, reCSRF = regexp.MustCompile(`data-qr="([^"]+)"`), regexp.MustCompile(`data-csrf="([^"]+)"`)

// codeFlow logs in once by scan (portal A), then measures the second portal's SSO logins one
// after the other (server time and round trip), and code exchanges per second under load.
func (b *bench) codeFlow(out io.Writer) error {
	h, err := b.env.Entity(b.ctx, 1, "张伟", oidctest.IDNumber("33010619850101123"), "13800001234", "258036")
	if err != nil {
		return err
	}
	portal := func(name string) (*oidc.Client, string, error) {
		return b.env.OIDC.RegisterClient(b.ctx, oidc.ClientSpec{Name: name, RedirectURIs: []string{"https://" + name + ".example.cn/cb"},
			GrantTypes: []string{oidc.GrantAuthorizationCode}}, "bench")
	}
	a, secretA, err := portal("portal-a")
	if err != nil {
		return err
	}
	p2, secret2, err := portal("portal-b")
	if err != nil {
		return err
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Transport: b.hc.Transport, CheckRedirect: b.hc.CheckRedirect}
	verifier := oauth2.GenerateVerifier()
	authURL := func(c *oidc.Client) string {
		return b.url + oidc.PathAuthorize + "?" + url.Values{"client_id": {c.ID}, "redirect_uri": {c.RedirectURIs[0]},
			"response_type": {"code"}, "scope": {"openid entity entity.person"}, "state": {rand.Text()}, "nonce": {rand.Text()},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}.Encode()
	}
	get := func(u string) (*http.Response, []byte, error) {
		resp, err := browser.Get(u)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp, body, err
	}
	// sso logs in to c with the browser's session and returns the code.
	sso := func(c *oidc.Client) (string, error) {
		r1, _, err := get(authURL(c))
		if err != nil {
			return "", err
		}
		r2, body, err := get(r1.Header.Get("Location"))
		if err != nil {
			return "", err
		}
		if r2.StatusCode != http.StatusSeeOther {
			return "", fmt.Errorf("SSO login: %d %s", r2.StatusCode, body)
		}
		u, err := url.Parse(r2.Header.Get("Location"))
		if err != nil || u.Query().Get("code") == "" {
			return "", fmt.Errorf("SSO login: %s", r2.Header.Get("Location"))
		}
		return u.Query().Get("code"), nil
	}
	exchange := func(c *oidc.Client, secret, code string) error {
		status, body, err := b.post(oidc.PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {c.RedirectURIs[0]}, "code_verifier": {verifier}}, c.ID, secret)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("exchange: %d %s", status, body)
		}
		return nil
	}

	// The first login, by scan: the phone confirms with the licence PIN.
	r1, _, err := get(authURL(a))
	if err != nil {
		return err
	}
	_, page, err := get(r1.Header.Get("Location"))
	if err != nil {
		return err
	}
	qr, csrf := reQR.FindSubmatch(page), reCSRF.FindSubmatch(page)
	if qr == nil || csrf == nil {
		return errors.New("no QR on the login page")
	}
	if _, err := b.env.Identity.Scan(b.ctx, string(qr[1]), h.PersonID); err != nil {
		return err
	}
	if _, err := b.env.Identity.Confirm(b.ctx, string(qr[1]), h.PersonID, h.Code, identity.Proof{Method: identity.MethodPIN, PIN: h.PIN}); err != nil {
		return err
	}
	resp, err := browser.PostForm(b.url+"/login/complete", url.Values{"csrf": {string(csrf[1])}, "qr": {string(qr[1])}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	first, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || first.Query().Get("code") == "" {
		return fmt.Errorf("first login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if err := exchange(a, secretA, first.Query().Get("code")); err != nil {
		return err
	}

	// The second portal's SSO login, one after the other: authorize (302 to the login page)
	// and the login page (303 back to the portal with a code).
	b.timer.times = map[string][]time.Duration{}
	b.timer.on.Store(true)
	var rtt []time.Duration
	for range b.cfg.sso {
		s := time.Now()
		code, err := sso(p2)
		if err != nil {
			return err
		}
		rtt = append(rtt, time.Since(s))
		if err := exchange(p2, secret2, code); err != nil {
			return err
		}
	}
	b.timer.on.Store(false)
	auth, login := b.timer.times[oidc.PathAuthorize], b.timer.times[oidc.PathLogin]
	if len(auth) != len(login) || len(auth) != b.cfg.sso {
		return fmt.Errorf("timed %d authorize and %d login requests", len(auth), len(login))
	}
	server := make([]time.Duration, len(auth))
	for i := range auth {
		server[i] = auth[i] + login[i]
	}
	fmt.Fprintf(out, "second portal's SSO login (authorize → login page → redirect with code), %d one after the other:\n", b.cfg.sso)
	fmt.Fprintf(out, "  server time p50 %s, p99 %s (authorize p50 %s, login page p50 %s); round trip p50 %s, p99 %s\n",
		ms(pct(server, 0.5)), ms(pct(server, 0.99)), ms(pct(auth, 0.5)), ms(pct(login, 0.5)), ms(pct(rtt, 0.5)), ms(pct(rtt, 0.99)))

	// Code exchanges per second: codes are made (SSO) and redeemed in rounds, since a code
	// lives 60 s; only the redemption is timed.
	var total int
	var spent, used time.Duration
	var lat []time.Duration
	for spent < b.cfg.d {
		codes := make(chan string, 4096)
		var wg sync.WaitGroup
		var ferr atomic.Value
		for range b.cfg.c {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 2000 / b.cfg.c {
					code, err := sso(p2)
					if err != nil {
						ferr.Store(err)
						return
					}
					codes <- code
				}
			}()
		}
		wg.Wait()
		close(codes)
		if e, ok := ferr.Load().(error); ok {
			return e
		}
		n := len(codes)
		c0, t0 := loadgen.CPUTime(), time.Now()
		var mu sync.Mutex
		for range b.cfg.c {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for code := range codes {
					s := time.Now()
					if err := exchange(p2, secret2, code); err != nil {
						ferr.Store(err)
						return
					}
					d := time.Since(s)
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if e, ok := ferr.Load().(error); ok {
			return e
		}
		spent += time.Since(t0)
		used += loadgen.CPUTime() - c0
		total += n
	}
	fmt.Fprintf(out, "authorization-code exchanges (confidential client, PKCE, ID + access token): %d in %s = %.0f exchanges/s; latency p50 %s, p99 %s; CPU %.0f µs per exchange\n",
		total, spent.Round(time.Millisecond), float64(total)/spent.Seconds(), ms(pct(lat, 0.5)), ms(pct(lat, 0.99)),
		float64(used.Microseconds())/float64(total))
	return nil
}
