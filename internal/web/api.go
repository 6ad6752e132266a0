package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/license"
)

// apiLicence answers GET /api/v1/licenses/{code}: the current licence of a credit code, or the
// version named by a licence identifier, with its signature checked. The body is encoded once
// per licence value the store hands out (licencebody.go).
func (s *server) apiLicence(w http.ResponseWriter, r *http.Request) {
	l, err := s.Licenses.Get(r.Context(), r.PathValue("code"))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	b, err := s.licenceBody(r.Context(), l)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	h := w.Header()
	h["Access-Control-Allow-Origin"] = headerAnyOrigin
	h["Content-Type"] = headerJSON
	h["Content-Length"] = b.length
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.json)
}

// apiHistory answers GET /api/v1/licenses/{code}/history: every version, oldest first.
func (s *server) apiHistory(w http.ResponseWriter, r *http.Request) {
	ls, err := s.Licenses.History(r.Context(), r.PathValue("code"))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	items := make([]licenceView, len(ls))
	for i, l := range ls {
		items[i] = viewOf(l)
		ok, err := s.verify(r.Context(), l)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		items[i].SignatureValid = &ok
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, struct {
		Items []licenceView `json:"items"`
	}{items})
}

// apiList answers GET /api/v1/licenses: one page of current licences, or with q= the ranked
// results of a full-text search (one page: the exact code, then name matches, then
// representative matches).
func (s *server) apiList(w http.ResponseWriter, r *http.Request) {
	f, err := filterOf(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	var (
		ls   []*license.Licence
		next string
	)
	if strings.TrimSpace(f.Query) != "" {
		if f.Cursor != "" {
			s.apiError(w, r, errs.New(errs.Invalid, "cursor", "搜索结果只有一页，不能与分页游标同用",
				"search results are a single page: q cannot be combined with cursor"))
			return
		}
		ls, err = s.Licenses.Search(r.Context(), license.SearchQuery{Text: f.Query, Kind: f.Kind, Region: f.Region,
			Status: f.Status, Authority: f.Authority, Limit: f.Limit})
	} else {
		ls, next, err = s.Licenses.List(r.Context(), f)
	}
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	items := make([]licenceView, len(ls))
	for i, l := range ls {
		items[i] = viewOf(l)
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, struct {
		Items      []licenceView `json:"items"`
		NextCursor string        `json:"next_cursor"`
	}{items, next})
}

// filterOf reads the list filters from the query string; the service validates their values.
func filterOf(r *http.Request) (license.Filter, error) {
	q := r.URL.Query()
	f := license.Filter{
		Kind:      license.Kind(q.Get("kind")),
		Region:    q.Get("region"),
		Status:    license.Status(q.Get("status")),
		Authority: q.Get("authority"),
		Query:     q.Get("q"),
		Cursor:    q.Get("cursor"),
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return f, errs.Invalidf("limit", "每页条数 %q 不是整数", "limit %q is not an integer", v)
		}
		if n == 0 {
			n = -1 // an explicit 0 is out of range, not "default"
		}
		f.Limit = n
	}
	return f, nil
}

// authorityView is the public view of a registering authority.
type authorityView struct {
	Code       string    `json:"code"`
	Name       string    `json:"name"`
	Region     string    `json:"region"`
	CertSerial string    `json:"cert_serial"`
	CreatedAt  time.Time `json:"created_at"`
}

func authorityViewOf(a *keys.Authority) authorityView {
	return authorityView{Code: a.Code, Name: a.Name, Region: a.Region, CertSerial: a.Serial, CreatedAt: a.CreatedAt.UTC()}
}

// apiAuthorities answers GET /api/v1/authorities.
func (s *server) apiAuthorities(w http.ResponseWriter, r *http.Request) {
	as, err := s.Keys.Authorities(r.Context())
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	items := make([]authorityView, len(as))
	for i, a := range as {
		items[i] = authorityViewOf(a)
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, struct {
		Items []authorityView `json:"items"`
	}{items})
}

// certificates answers GET /.well-known/elicense/certificates: the platform root, the platform
// signing certificate and every authority's certificate, as JSON or (?format=pem) one PEM bundle.
func (s *server) certificates(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "pem" {
		s.apiError(w, r, errs.Invalidf("format", "格式 %q 未知，应为 json 或 pem", "unknown format %q: want json or pem", format))
		return
	}
	cs, err := s.Keys.Certificates(r.Context())
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if format == "pem" {
		var b strings.Builder
		for _, c := range cs {
			b.WriteString(c.PEM)
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write([]byte(b.String()))
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Certificates []keys.Certificate `json:"certificates"`
	}{cs})
}

// apiOpenAPI serves the OpenAPI document of the API.
func (s *server) apiOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(s.openapi)
}

// apiAccount authenticates the Bearer token of the request and checks the account's role.
func (s *server) apiAccount(r *http.Request, role account.Role) (*account.Account, error) {
	token, ok := bearer(r)
	if !ok {
		return nil, errNoToken
	}
	a, err := s.Accounts.AuthenticateToken(r.Context(), token)
	if err != nil {
		return nil, err
	}
	if a.Role != role {
		return nil, errRole(role)
	}
	return a, nil
}

func errRole(role account.Role) *errs.Error {
	return errs.New(errs.Forbidden, "", "此操作需要“"+uiText("role."+string(role), langZH)+"”角色",
		"this needs the "+strings.ToLower(uiText("role."+string(role), langEN))+" role")
}

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func actorOf(a *account.Account) license.Actor {
	return license.Actor{ID: a.ID, Authority: a.Authority}
}

// apiIssue answers POST /api/v1/licenses: a registrar issues a licence.
func (s *server) apiIssue(w http.ResponseWriter, r *http.Request) {
	a, err := s.apiAccount(r, account.Registrar)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	var reg license.Registration
	if err := decodeJSON(w, r, &reg); err != nil {
		s.apiError(w, r, err)
		return
	}
	l, err := s.Licenses.Issue(r.Context(), actorOf(a), reg)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.metrics.changed("issue")
	s.writeLicence(w, r, http.StatusCreated, l)
}

// changeRequest is the body of POST /api/v1/licenses/{code}/versions.
type changeRequest struct {
	PrevVersion  int                  `json:"prev_version"`
	Registration license.Registration `json:"registration"`
}

// apiChange answers POST /api/v1/licenses/{code}/versions: a change registration (变更登记).
func (s *server) apiChange(w http.ResponseWriter, r *http.Request) {
	a, err := s.apiAccount(r, account.Registrar)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	var req changeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.apiError(w, r, err)
		return
	}
	l, err := s.Licenses.Change(r.Context(), actorOf(a), r.PathValue("code"), req.PrevVersion, req.Registration)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.metrics.changed("change")
	s.writeLicence(w, r, http.StatusCreated, l)
}

// apiStatus answers POST /api/v1/licenses/{code}/status: suspend, restore, cancel or revoke.
func (s *server) apiStatus(w http.ResponseWriter, r *http.Request) {
	a, err := s.apiAccount(r, account.Registrar)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	var ch license.StatusChange
	if err := decodeJSON(w, r, &ch); err != nil {
		s.apiError(w, r, err)
		return
	}
	l, err := s.Licenses.SetStatus(r.Context(), actorOf(a), r.PathValue("code"), ch)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.metrics.changed(string(ch.Action))
	s.writeLicence(w, r, http.StatusOK, l)
}

// writeLicence renders a licence just written, with its signature checked (which also fills the
// cache for the public look-ups that follow).
func (s *server) writeLicence(w http.ResponseWriter, r *http.Request, status int, l *license.Licence) {
	v := viewOf(l)
	if ok, err := s.verify(r.Context(), l); err == nil {
		v.SignatureValid = &ok
	}
	if status == http.StatusCreated {
		w.Header().Set("Location", "/api/v1/licenses/"+l.Code)
	}
	writeJSON(w, status, v)
}

// authorityRequest is the body of POST /api/v1/authorities.
type authorityRequest struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	Region string `json:"region"`
}

// apiCreateAuthority answers POST /api/v1/authorities: an operator registers an authority,
// which gets an SM2 key and a certificate from the platform root.
func (s *server) apiCreateAuthority(w http.ResponseWriter, r *http.Request) {
	if _, err := s.apiAccount(r, account.Operator); err != nil {
		s.apiError(w, r, err)
		return
	}
	var req authorityRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.apiError(w, r, err)
		return
	}
	a, err := s.Keys.CreateAuthority(r.Context(), keys.Authority{Code: req.Code, Name: req.Name, Region: req.Region})
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, authorityViewOf(a))
}

// accountRequest is the body of POST /api/v1/accounts.
type accountRequest struct {
	Username    string       `json:"username"`
	DisplayName string       `json:"display_name"`
	Password    string       `json:"password"`
	Role        account.Role `json:"role"`
	Authority   string       `json:"authority"`
}

// apiCreateAccount answers POST /api/v1/accounts: an operator creates a staff account.
func (s *server) apiCreateAccount(w http.ResponseWriter, r *http.Request) {
	if _, err := s.apiAccount(r, account.Operator); err != nil {
		s.apiError(w, r, err)
		return
	}
	var req accountRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.apiError(w, r, err)
		return
	}
	a, err := s.Accounts.Create(r.Context(), req.Username, req.DisplayName, req.Password, req.Role, req.Authority)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, a)
}

// tokenRequest is the body of POST /api/v1/tokens. Without a Bearer token, username and
// password identify the account (the way to get a first token from a script).
type tokenRequest struct {
	Name     string `json:"name"`
	TTLHours int    `json:"ttl_hours"` // 0: no expiry
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
}

// maxTokenTTL bounds ttl_hours (ten years).
const maxTokenTTL = 10 * 365 * 24

// apiCreateToken answers POST /api/v1/tokens: an account creates an API token for itself; the
// token is shown once.
func (s *server) apiCreateToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.apiError(w, r, err)
		return
	}
	if req.TTLHours < 0 || req.TTLHours > maxTokenTTL {
		s.apiError(w, r, errs.Invalidf("ttl_hours", "有效期应在 0 到 %d 小时之间", "ttl_hours must be between 0 and %d", maxTokenTTL))
		return
	}
	var (
		a   *account.Account
		err error
	)
	if token, ok := bearer(r); ok {
		if req.Username != "" || req.Password != "" {
			s.apiError(w, r, errs.New(errs.Invalid, "username", "已用令牌认证时不能再给出用户名和密码", "give either a Bearer token or a username and password, not both"))
			return
		}
		a, err = s.Accounts.AuthenticateToken(r.Context(), token)
	} else {
		if req.Username == "" || req.Password == "" {
			s.apiError(w, r, errNoToken)
			return
		}
		a, err = s.Accounts.Login(r.Context(), req.Username, req.Password)
	}
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	token, err := s.Accounts.NewToken(r.Context(), a.ID, req.Name, time.Duration(req.TTLHours)*time.Hour)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	var expires *time.Time
	if req.TTLHours > 0 {
		t := s.now().Add(time.Duration(req.TTLHours) * time.Hour).Truncate(time.Second)
		expires = &t
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, struct {
		Token     string     `json:"token"`
		Name      string     `json:"name"`
		AccountID string     `json:"account_id"`
		ExpiresAt *time.Time `json:"expires_at,omitempty"`
	}{token, req.Name, a.ID, expires})
}

// healthz answers GET /healthz: the process is up.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz answers GET /readyz: the database answers.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.DB.Ping(r.Context()); err != nil {
		s.apiError(w, r, &errs.Error{Kind: errs.Unavailable, ZH: "数据库不可用", EN: "the database is unavailable", Err: err})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ready\n"))
}

// metricsHandler answers GET /metrics in the Prometheus text format.
func (s *server) metricsHandler(w http.ResponseWriter, r *http.Request) {
	s.metrics.handler.ServeHTTP(w, r)
}
