package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/elicense/elicense/internal/demo"
	"github.com/elicense/elicense/internal/inbox"
	"github.com/elicense/elicense/internal/notice"
	"github.com/elicense/elicense/internal/notice/webhook"
	"github.com/elicense/elicense/internal/present"
	"github.com/elicense/elicense/internal/sharing"
	"github.com/elicense/elicense/internal/signing"
	"github.com/elicense/elicense/internal/web"
)

// cmdServe starts the platform: it opens (and migrates) the database, creates the platform keys
// on first start, loads the demo data with --demo, and serves HTTP until ctx ends.
func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	var c Config
	storageFlags(fs, &c, getenv)
	serverFlags(fs, &c, getenv)
	withDemo := fs.Bool("demo", getenv("ELICENSE_DEMO") == "1", "load the demo data set (ELICENSE_DEMO=1)")
	demoN := fs.Int("demo-n", demo.DefaultN, "number of demo entities")
	withPortals := fs.Bool("demo-portals", getenv("ELICENSE_DEMO_PORTALS") != "0",
		"with --demo, also start the demo department portals on the next ports (ELICENSE_DEMO_PORTALS=0 turns them off)")
	var df documentFlags
	fs.StringVar(&df.emblem, "emblem", getenv("ELICENSE_EMBLEM"), "PNG or JPEG image shown at the top of licences (ELICENSE_EMBLEM; default a neutral placeholder)")
	fs.StringVar(&df.font, "font", getenv("ELICENSE_FONT"), "TrueType font for licences (ELICENSE_FONT; default the embedded WenQuanYi Micro Hei)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	logger := newLogger(c.LogFormat, stderr)
	ap, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer ap.Close()
	c = ap.cfg

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("--addr (ELICENSE_ADDR) %s: %w", c.Addr, err)
	}
	defer ln.Close()
	base := "http://" + ln.Addr().String()
	if c.PublicURL == "" {
		c.PublicURL = defaultPublicURL(ln.Addr())
	}
	// The OpenID Connect library logs through slog's default logger.
	slog.SetDefault(logger)
	if err := ap.openIdentity(ctx, c.PublicURL, logger); err != nil {
		return err
	}

	var demoSum *demo.Summary
	if *withDemo {
		fmt.Fprintf(stdout, "正在加载演示数据 loading demo data (%d entities)…\n", *demoN)
		if demoSum, err = ap.loadDemo(ctx, *demoN); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
	}

	df.publicURL = c.PublicURL
	docs, err := df.service(ap)
	if err != nil {
		return err
	}
	// The sharing service: departments' systems with client-credentials tokens.
	share := sharing.NewService(sharing.Config{Store: ap.db, Clients: ap.db, Tokens: ap.oidc,
		Licences: ap.licenses, Documents: docs, Audit: ap.audit, Clock: ap.clock})
	// @library
	// The enterprise licence library: licence types, other departments' permits, service records.
	lib := ap.library()
	share.SetLibrary(lib) // departments query, list and verify permits through the sharing service
	if *withDemo {
		secret, err := ap.demoSecret()
		if err != nil {
			return err
		}
		libSum, err := demo.LoadLibrary(ctx, demo.LibraryDeps{Library: lib, Accounts: ap.accounts}, demo.Options{N: *demoN, Secret: secret})
		if err != nil {
			return fmt.Errorf("demo data (licence library): %w", err)
		}
		libSum.Print(stdout)
	}

	// @consent
	if err := ap.enableConsent(ctx, share, docs); err != nil {
		return err
	}

	// @notice
	// Change notices (docs/notices.md): the dispatcher (audit log → outbox) and the deliverer run
	// in every process, the database sharing the work; they stop before the database closes.
	// ELICENSE_NOTICE_ALLOW_HTTP=1 allows http:// webhooks beyond loopback hosts (intranets).
	notices := notice.NewService(notice.Config{Store: ap.db, Tokens: noticeTokens(share), Licences: ap.licenses, Keys: ap.keys,
		Poster: webhook.New(), Clock: ap.clock, Logger: logger, AllowHTTP: getenv("ELICENSE_NOTICE_ALLOW_HTTP") == "1"})
	share.SetFollower(notices) // a department that archives a licence follows its entity
	noticeCtx, stopNotices := context.WithCancel(ctx)
	noticesDone := make(chan struct{})
	go func() { defer close(noticesDone); notices.Run(noticeCtx) }()
	defer func() { stopNotices(); <-noticesDone }()

	// @catalog
	// The service catalogue (事项材料目录) and applications through portals, over the library and
	// the sharing service.
	cat := withApplications(ap, lib, share)

	// @stats
	// Usage statistics, rolled up from the audit log every few seconds.
	statsSvc := ap.startStats(ctx, logger)

	// @present
	// Showing licences from the wallet (出示) and the uses of a licence.
	presentSvc := present.NewService(present.Config{Identity: ap.identity, Licences: ap.licenses, Keys: ap.keys,
		Audit: ap.audit, PublicURL: c.PublicURL, Clock: ap.clock, ClientName: ap.clientName})

	// @sign
	// Signing on behalf of entities with their own seals, and the wallet's inbox (issue 7).
	signer := signing.NewService(signing.Config{Store: ap.db, Identity: ap.identity, Documents: docs,
		Licences: ap.licenses, Clock: ap.clock})
	// Consent requests of departments (用证授权) wait in the same inbox (sharing.Service.Items).
	box := inbox.New(ap.clock, signer, inbox.LoginSource{Store: ap.db}, share)

	h, err := web.New(web.Deps{Licenses: ap.licenses, Keys: ap.keys, Accounts: ap.accounts, Audit: ap.audit,
		Documents: docs, Identity: ap.identity, OIDC: ap.oidc, Sharing: share, Catalog: cat, DB: ap.db, Logger: logger,
		Clock: ap.clock, PublicURL: c.PublicURL, Library: lib, Signing: signer, Inbox: box, Notices: notices,
		Present: presentSvc, Stats: statsSvc})
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}

	var portals []runningPortal
	if *withDemo && *withPortals {
		if portals, err = ap.startDemoPortals(ctx, ln.Addr(), c.PublicURL, share, logger); err != nil {
			return err
		}
	}

	go func() {
		ap.audit.SetLogger(logger)
		_ = ap.audit.RunCheckpoints(ctx, time.Minute)
	}()
	// Purges expired codes, tokens and sessions; every process may run it.
	go ap.oidc.Run(ctx, 10*time.Minute)

	fmt.Fprintf(stdout, "elicense %s 已启动 listening on %s\n", version, base)
	fmt.Fprintf(stdout, "  核验页面 verification page: %s/\n", c.PublicURL)
	fmt.Fprintf(stdout, "  登记机关管理 authority admin: %s/admin/\n", c.PublicURL)
	fmt.Fprintf(stdout, "  API: %s/api/v1/openapi.json\n", c.PublicURL)
	fmt.Fprintf(stdout, "  OpenID Connect: %s/.well-known/openid-configuration\n", c.PublicURL)
	fmt.Fprintf(stdout, "  移动端执照 wallet: %s/wallet/\n", c.PublicURL)
	fmt.Fprintf(stdout, "  database: %s\n", redactDSN(c.DB))
	if demoSum != nil {
		printDemo(stdout, demoSum)
	}
	printPortals(stdout, portals)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// defaultPublicURL is the URL users reach a server listening on addr at: on a loopback address
// it names localhost, because passkeys (WebAuthn) need a host name, not an IP address.
func defaultPublicURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if ok && tcp.IP.IsLoopback() {
		return fmt.Sprintf("http://localhost:%d", tcp.Port)
	}
	return "http://" + addr.String()
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// redactDSN hides a password in a PostgreSQL DSN.
func redactDSN(dsn string) string {
	for i := 0; i+3 < len(dsn); i++ {
		if dsn[i:i+3] == "://" {
			rest := dsn[i+3:]
			at := -1
			for j := 0; j < len(rest) && rest[j] != '/'; j++ {
				if rest[j] == '@' {
					at = j
				}
			}
			if at < 0 {
				return dsn
			}
			user := rest[:at]
			for j := 0; j < len(user); j++ {
				if user[j] == ':' {
					return dsn[:i+3] + user[:j] + ":***" + rest[at:]
				}
			}
			return dsn
		}
	}
	return dsn
}
