package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/keys"
)

// authoritiesData is the content of the authorities page.
type authoritiesData struct {
	Items   []authorityView
	Form    authorityRequest
	Errors  map[string]string
	Problem *problem
	Listed  bool // Items was loaded (not after a failed creation)
}

// authoritiesPage answers GET /admin/authorities (operators): the registering authorities and
// a form to add one.
func (s *server) authoritiesPage(w http.ResponseWriter, r *http.Request) {
	st, ok := s.signIn(w, r, account.Operator)
	if !ok {
		return
	}
	as, err := s.Keys.Authorities(r.Context())
	if err != nil {
		s.staffError(w, r, st, err)
		return
	}
	d := &authoritiesData{Listed: true}
	for _, a := range as {
		d.Items = append(d.Items, authorityViewOf(a))
	}
	s.render(w, r, http.StatusOK, "authorities", s.staffPage(st, "authorities", uiText("admin.authorities", langOf(r)), d))
}

// createAuthority answers POST /admin/authorities (operators).
func (s *server) createAuthority(w http.ResponseWriter, r *http.Request) {
	st, ok := s.signIn(w, r, account.Operator)
	if !ok {
		return
	}
	req := authorityRequest{Code: r.PostForm.Get("code"), Name: r.PostForm.Get("name"), Region: r.PostForm.Get("region")}
	_, err := s.Keys.CreateAuthority(r.Context(), keys.Authority{Code: req.Code, Name: req.Name, Region: req.Region})
	if err == nil {
		http.Redirect(w, r, "/admin/authorities", http.StatusSeeOther)
		return
	}
	p := s.describe(w, r, err)
	if p.Status >= 500 {
		s.staffError(w, r, st, err)
		return
	}
	d := &authoritiesData{Form: req, Problem: &p, Errors: fieldErrors(p)}
	s.render(w, r, p.Status, "authorities", s.staffPage(st, "authorities", uiText("admin.authorities", langOf(r)), d))
}

// fieldErrors returns the messages of a problem by field.
func fieldErrors(p problem) map[string]string {
	m := map[string]string{}
	for _, d := range p.Details {
		if _, dup := m[d.Field]; !dup {
			m[d.Field] = d.Message
		}
	}
	if _, dup := m[p.Field]; !dup {
		m[p.Field] = p.Message
	}
	return m
}

// accountsData is the content of the accounts page.
type accountsData struct {
	Items   []*account.Account
	Form    accountRequest
	Errors  map[string]string
	Problem *problem
	Listed  bool
}

// accountsPage answers GET /admin/accounts (operators).
func (s *server) accountsPage(w http.ResponseWriter, r *http.Request) {
	st, ok := s.signIn(w, r, account.Operator)
	if !ok {
		return
	}
	as, err := s.Accounts.Accounts(r.Context())
	if err != nil {
		s.staffError(w, r, st, err)
		return
	}
	d := &accountsData{Items: as, Listed: true, Form: accountRequest{Role: account.Registrar}}
	s.render(w, r, http.StatusOK, "accounts", s.staffPage(st, "accounts", uiText("admin.accounts", langOf(r)), d))
}

// createAccount answers POST /admin/accounts (operators).
func (s *server) createAccount(w http.ResponseWriter, r *http.Request) {
	st, ok := s.signIn(w, r, account.Operator)
	if !ok {
		return
	}
	f := r.PostForm
	req := accountRequest{Username: f.Get("username"), DisplayName: f.Get("display_name"),
		Role: account.Role(f.Get("role")), Authority: f.Get("authority")}
	_, err := s.Accounts.Create(r.Context(), req.Username, req.DisplayName, f.Get("password"), req.Role, req.Authority)
	if err == nil {
		http.Redirect(w, r, "/admin/accounts", http.StatusSeeOther)
		return
	}
	p := s.describe(w, r, err)
	if p.Status >= 500 {
		s.staffError(w, r, st, err)
		return
	}
	d := &accountsData{Form: req, Problem: &p, Errors: fieldErrors(p)}
	s.render(w, r, p.Status, "accounts", s.staffPage(st, "accounts", uiText("admin.accounts", langOf(r)), d))
}

// tokensData is the content of the API-token page.
type tokensData struct {
	Name    string
	TTLDays string
	Token   string // the token just created, shown once
	Errors  map[string]string
	Problem *problem
}

// tokensPage answers GET /admin/tokens: a form to create an API token for oneself.
func (s *server) tokensPage(w http.ResponseWriter, r *http.Request) {
	st, ok := s.signIn(w, r)
	if !ok {
		return
	}
	d := &tokensData{TTLDays: "90"}
	s.render(w, r, http.StatusOK, "tokens", s.staffPage(st, "tokens", uiText("admin.tokens", langOf(r)), d))
}

// createToken answers POST /admin/tokens: the token is shown once on the page that answers.
func (s *server) createToken(w http.ResponseWriter, r *http.Request) {
	st, ok := s.signIn(w, r)
	if !ok {
		return
	}
	d := &tokensData{Name: r.PostForm.Get("name"), TTLDays: r.PostForm.Get("ttl_days")}
	days, err := strconv.Atoi(d.TTLDays)
	if err != nil || days < 0 || days > maxTokenTTL/24 {
		err = errs.Invalidf("ttl_days", "有效天数应为 0 到 %d 之间的整数", "the days of validity must be a whole number from 0 to %d", maxTokenTTL/24)
	} else {
		d.Token, err = s.Accounts.NewToken(r.Context(), st.acct.ID, d.Name, time.Duration(days)*24*time.Hour)
	}
	status := http.StatusCreated
	if err != nil {
		p := s.describe(w, r, err)
		if p.Status >= 500 {
			s.staffError(w, r, st, err)
			return
		}
		d.Problem, d.Errors, status = &p, fieldErrors(p), p.Status
		if _, ok := d.Errors["ttl"]; ok {
			d.Errors["ttl_days"] = d.Errors["ttl"]
		}
	}
	s.render(w, r, status, "tokens", s.staffPage(st, "tokens", uiText("admin.tokens", langOf(r)), d))
}

// auditPage answers GET /admin/audit (operators): re-checks the whole audit log against the
// platform key and shows the report.
func (s *server) auditPage(w http.ResponseWriter, r *http.Request) {
	st, ok := s.signIn(w, r, account.Operator)
	if !ok {
		return
	}
	signer, _, err := s.Keys.PlatformSigner(r.Context())
	if err != nil {
		s.staffError(w, r, st, err)
		return
	}
	rep, err := s.Audit.Verify(r.Context(), signer.Public())
	if err != nil {
		s.staffError(w, r, st, err)
		return
	}
	s.render(w, r, http.StatusOK, "audit", s.staffPage(st, "audit", uiText("admin.audit", langOf(r)), &rep))
}
