// Command demo-portal runs one department portal of the demo (internal/demoportal) on its own:
// it logs entities in through an elicense platform's OpenID Connect provider and applies for
// service items through the platform's application API. `elicense serve --demo` starts two of
// them itself; this command is for running one elsewhere, against any platform.
//
//	demo-portal --issuer http://localhost:8080 --client-id … --client-secret … \
//	    --addr 127.0.0.1:8081 --services ITEM1,ITEM2
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/elicense/elicense/internal/demoportal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "demo-portal:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo-portal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	issuer := fs.String("issuer", env("DEMO_PORTAL_ISSUER", "http://localhost:8080"), "the platform's public URL (DEMO_PORTAL_ISSUER)")
	id := fs.String("client-id", env("DEMO_PORTAL_CLIENT_ID", ""), "the portal's client ID at the platform (DEMO_PORTAL_CLIENT_ID)")
	secret := fs.String("client-secret", env("DEMO_PORTAL_CLIENT_SECRET", ""), "its client secret (DEMO_PORTAL_CLIENT_SECRET)")
	addr := fs.String("addr", env("DEMO_PORTAL_ADDR", "127.0.0.1:8081"), "listen address (DEMO_PORTAL_ADDR)")
	base := fs.String("base-url", env("DEMO_PORTAL_BASE_URL", ""), "where browsers reach the portal (default http://localhost:PORT)")
	name := fs.String("name", env("DEMO_PORTAL_NAME", "演示门户"), "the portal's name (DEMO_PORTAL_NAME)")
	services := fs.String("services", env("DEMO_PORTAL_SERVICES", ""), "comma-separated catalogue item codes (DEMO_PORTAL_SERVICES)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *id == "" || *services == "" {
		return errors.New("--client-id and --services are required")
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", *addr, err)
	}
	if *base == "" {
		*base = fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	}
	p, err := demoportal.New(demoportal.Config{Name: *name, NameEN: *name, Issuer: *issuer, ClientID: *id, ClientSecret: *secret,
		BaseURL: *base, Services: strings.Split(*services, ","), Logger: slog.New(slog.NewTextHandler(stderr, nil))})
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: p.Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "demo portal %s at %s (redirect URI %s/callback)\n", *name, *base, *base)
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
