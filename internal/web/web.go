// Package web serves elicense over HTTP: the public licence API and verification page
// (电子营业执照核验), the registering authorities' admin pages, the registrar and operator APIs,
// health, readiness and Prometheus metrics.
//
// Every handler has one shape: parse the request, make one service call, render the result or
// the error. All routes are listed in routes.go; statusOf in errors.go is the one place that maps
// error kinds to HTTP statuses. Pages are html/template files parsed at start-up; templates,
// stylesheet and the OpenAPI document are embedded in the binary. Messages are in zh-CN by default
// and in English when the caller asks for it (?lang=en, a lang cookie, or Accept-Language).
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/catalog"
	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/inbox"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/library"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/notice"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/present"
	"github.com/elicense/elicense/internal/sharing"
	"github.com/elicense/elicense/internal/signing"
)

// Pinger reports whether the database answers; /readyz calls it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are the services and settings the web layer needs. Licenses, Keys, Accounts, Audit,
// Documents and DB are required.
type Deps struct {
	Licenses  *license.Service
	Keys      *keys.Service
	Accounts  *account.Service
	Audit     *audit.Log
	Documents *document.Service // licence files (OFD/PDF) and their verification
	// Identity is unified identity authentication (persons, wallet sessions, claiming, roles,
	// scan-to-login); nil: the wallet (/wallet/) answers that it is not enabled.
	Identity *identity.Service
	// OIDC is the OpenID Connect provider (its endpoints, the platform's login page, the
	// wallet's JSON endpoints and client registration); nil: those answer 404.
	OIDC *oidc.Provider
	// Sharing is the sharing service for departments' systems (/api/v1/sharing/ and the
	// national-style /api/gov/v1/sharing/); nil: those answer 503.
	Sharing *sharing.Service
	// @library
	// Library is the enterprise licence library (licence types, permits of other types, an
	// entity's licences and service records); nil: /api/v1/library/ answers 503.
	Library *library.Service

	// @consent

	// @notice
	// Notices are change notices for departments' systems (/api/v1/notices/) and the
	// department console (/console/); nil: those answer 503.
	Notices *notice.Service

	// @catalog
	// Catalog is the service catalogue (事项材料目录: /api/v1/catalog/, /admin/catalog); nil:
	// those answer 503.
	Catalog *catalog.Service

	// @stats
	// Stats answers the usage statistics (/admin/stats, /stats, /api/v1/stats…; stats.go);
	// nil: those answer 503.
	Stats Statistics

	// @present
	// Present shows licences from the wallet (出示: presentation QR codes and their counter side
	// on /v/{token} and POST /api/v1/verify) and lists their uses; nil: those wallet pages
	// answer 503 and presentation tokens get the document verification only.
	Present *present.Service

	// @sign
	// Signing signs documents on behalf of entities (/api/v1/signing/, /wallet/sign/); nil:
	// those answer 503.
	Signing *signing.Service
	// Inbox is the wallet's to-do list (/wallet/inbox, the badge on the wallet's home); nil:
	// an empty list.
	Inbox *inbox.Inbox

	DB     Pinger
	Logger *slog.Logger     // defaults to slog.Default()
	Clock  func() time.Time // defaults to time.Now
	// PublicURL is the address users reach the platform at, e.g. https://elicense.example.cn.
	// An https URL makes cookies Secure and adds Strict-Transport-Security.
	PublicURL string
	// Metrics is the registry the HTTP metrics are registered on; nil creates one with the Go and
	// process collectors.
	Metrics *prometheus.Registry
}

// server holds the dependencies and everything prepared at start-up.
type server struct {
	Deps
	secure  bool // PublicURL is https
	mux     *http.ServeMux
	pages   *pages
	assets  *assets
	openapi []byte
	sigs    *sigCache
	bodies  *bodyCache // encoded licence answers (licencebody.go)
	metrics *metrics
	xorigin *http.CrossOriginProtection
	docs    *DocumentHandlers
	wallet  *walletRes // the wallet's manifest, icons and cross-origin check (wallet.go)
}

// New checks d, parses the templates, registers the routes and metrics, and returns the handler
// of the whole site.
func New(d Deps) (http.Handler, error) {
	s, err := newServer(d)
	if err != nil {
		return nil, err
	}
	return s.handler(), nil
}

func newServer(d Deps) (*server, error) {
	switch {
	case d.Licenses == nil:
		return nil, errors.New("web: Deps.Licenses is required")
	case d.Keys == nil:
		return nil, errors.New("web: Deps.Keys is required")
	case d.Accounts == nil:
		return nil, errors.New("web: Deps.Accounts is required")
	case d.Audit == nil:
		return nil, errors.New("web: Deps.Audit is required")
	case d.Documents == nil:
		return nil, errors.New("web: Deps.Documents is required")
	case d.DB == nil:
		return nil, errors.New("web: Deps.DB is required")
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Clock == nil {
		d.Clock = time.Now
	}
	s := &server{Deps: d, sigs: newSigCache(100_000), bodies: newBodyCache(licenceBodySize)}
	if d.PublicURL != "" {
		u, err := url.Parse(d.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("web: PublicURL %q is not an absolute http(s) URL", d.PublicURL)
		}
		s.secure = u.Scheme == "https"
	}
	if s.Metrics == nil {
		s.Metrics = prometheus.NewRegistry()
		s.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	var err error
	if s.metrics, err = newMetrics(s.Metrics); err != nil {
		return nil, err
	}
	if s.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if s.pages, err = parsePages(s.assets); err != nil {
		return nil, err
	}
	if err = s.initWallet(); err != nil {
		return nil, err
	}
	if s.openapi, err = loadOpenAPI(); err != nil {
		return nil, err
	}
	if s.docs, err = NewDocumentHandlers(d.Documents, d.Licenses, s.fail); err != nil {
		return nil, err
	}
	// Browsers send Sec-Fetch-Site/Origin; a cross-site POST to the admin pages is refused even
	// before the CSRF token is checked.
	s.xorigin = http.NewCrossOriginProtection()
	s.xorigin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.pageError(w, r, errCSRF)
	}))
	s.mux = http.NewServeMux()
	for _, rt := range s.routes() {
		s.mux.Handle(rt.pattern, s.route(rt))
	}
	return s, nil
}

// now returns the clock's time in UTC.
func (s *server) now() time.Time { return s.Clock().UTC() }
