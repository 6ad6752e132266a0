package web

import (
	"net/http"
	"strings"
)

// route is one entry of the site's routing table.
type route struct {
	pattern string // net/http ServeMux pattern, always with its method
	// doc marks a route of the public interface that openapi.json must describe; a test holds
	// the two lists equal.
	doc bool
	h   http.HandlerFunc
}

// routes is the routing table of the whole site, in one place.
func (s *server) routes() []route {
	return []route{
		// Public API (no authentication).
		{"GET /api/v1/licenses/{code}", true, s.apiLicence},
		{"GET /api/v1/licenses/{code}/history", true, s.apiHistory},
		{"GET /api/v1/licenses", true, s.apiList},
		{"GET /api/v1/authorities", true, s.apiAuthorities},
		{"GET /api/v1/openapi.json", true, s.apiOpenAPI},
		{"GET /.well-known/elicense/certificates", true, s.certificates},

		// Licence files and their verification (document.go).
		{"GET /api/v1/licenses/{code}/document", true, s.docs.Document},
		{"POST /api/v1/verify", true, s.docs.VerifyAPI},
		{"GET /v/{token}", false, s.docs.TokenPage},
		{"GET /verify/file", false, s.docs.FilePage},
		{"POST /verify/file", false, s.docs.FilePage},

		// Registrar API (Bearer token of a registrar account).
		{"POST /api/v1/licenses", true, s.apiIssue},
		{"POST /api/v1/licenses/{code}/versions", true, s.apiChange},
		{"POST /api/v1/licenses/{code}/status", true, s.apiStatus},

		// Operator API and tokens.
		{"POST /api/v1/authorities", true, s.apiCreateAuthority},
		{"POST /api/v1/accounts", true, s.apiCreateAccount},
		{"POST /api/v1/tokens", true, s.apiCreateToken},

		// Operations.
		{"GET /healthz", false, s.healthz},
		{"GET /readyz", false, s.readyz},
		{"GET /metrics", false, s.metricsHandler},

		// Public pages.
		{"GET /{$}", false, s.verifyPage},
		{"GET /verify", false, s.verifyPage},
		{"GET /static/{file}", false, s.static},

		// Registering-authority staff pages (登记机关工作人员).
		{"GET /admin/{$}", false, s.adminHome},
		{"GET /admin/login", false, s.loginPage},
		{"POST /admin/login", false, s.login},
		{"POST /admin/logout", false, s.logout},
		{"GET /admin/licences", false, s.adminLicences},
		{"GET /admin/licences/new", false, s.issuePage},
		{"POST /admin/licences", false, s.issue},
		{"GET /admin/licences/{code}", false, s.adminLicence},
		{"GET /admin/licences/{code}/change", false, s.changePage},
		{"POST /admin/licences/{code}/change", false, s.change},
		{"GET /admin/licences/{code}/status", false, s.statusPage},
		{"POST /admin/licences/{code}/status", false, s.setStatus},
		{"GET /admin/authorities", false, s.authoritiesPage},
		{"POST /admin/authorities", false, s.createAuthority},
		{"GET /admin/accounts", false, s.accountsPage},
		{"POST /admin/accounts", false, s.createAccount},
		{"GET /admin/tokens", false, s.tokensPage},
		{"POST /admin/tokens", false, s.createToken},
		{"GET /admin/audit", false, s.auditPage},
	}
}

// route wraps a handler of the table: it tells the access log and metrics which pattern
// matched, and puts the admin pages' POSTs behind the cross-origin check.
func (s *server) route(rt route) http.Handler {
	var h http.Handler = rt.h
	if strings.HasPrefix(rt.pattern, "POST /admin/") {
		h = s.xorigin.Handler(h)
	}
	pattern := rt.pattern
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rw, ok := w.(*respWriter); ok {
			rw.pattern = pattern
		}
		h.ServeHTTP(w, r)
	})
}

// isAPI reports whether errors for this request are rendered as JSON rather than as a page.
func isAPI(r *http.Request) bool {
	p := r.URL.Path
	return strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/.well-known/")
}
