package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/license"
)

// Cookies of the admin pages.
const (
	sessionCookie = "elicense_session"
	// loginCSRFCookie carries the CSRF token of the login form, before there is a session
	// (double-submit: the form field must equal the cookie).
	loginCSRFCookie = "elicense_login_csrf"
)

// staff is the signed-in account of an admin request.
type staff struct {
	acct *account.Account
	sess *account.Session
}

// signIn loads the session of the request. Without a valid session it sends the browser to the
// login page and returns false; with a role other than one of roles (if given) it renders 403.
// For a POST it also reads the form and checks its CSRF token.
func (s *server) signIn(w http.ResponseWriter, r *http.Request, roles ...account.Role) (*staff, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		s.toLogin(w, r)
		return nil, false
	}
	a, sess, err := s.Accounts.Session(r.Context(), c.Value)
	if err != nil {
		switch errs.KindOf(err) {
		case errs.Unauthenticated, errs.NotFound:
			s.clearCookie(w, sessionCookie)
			s.toLogin(w, r)
		case errs.Forbidden: // a disabled account
			s.clearCookie(w, sessionCookie)
			s.pageError(w, r, err)
		default:
			s.pageError(w, r, err)
		}
		return nil, false
	}
	st := &staff{acct: a, sess: sess}
	if a.Role == account.Department { // department users have the console (/console/), not these pages
		s.staffError(w, r, nil, errConsoleOnly)
		return nil, false
	}
	if r.Method == http.MethodPost {
		if err := s.parseForm(w, r); err != nil {
			s.staffError(w, r, st, err)
			return nil, false
		}
		if !account.ValidCSRF(sess, r.PostForm.Get("csrf")) {
			s.staffError(w, r, st, errCSRF)
			return nil, false
		}
	}
	if len(roles) > 0 {
		allowed := false
		for _, role := range roles {
			allowed = allowed || a.Role == role
		}
		if !allowed {
			s.staffError(w, r, st, errRole(roles[0]))
			return nil, false
		}
	}
	return st, true
}

// toLogin redirects to the login page, coming back here afterwards (GETs only).
func (s *server) toLogin(w http.ResponseWriter, r *http.Request) {
	next := "/admin/licences"
	if r.Method == http.MethodGet {
		next = r.URL.RequestURI()
	}
	http.Redirect(w, r, "/admin/login?next="+url.QueryEscape(next), http.StatusSeeOther)
}

// staffError renders an error page that keeps the admin navigation.
func (s *server) staffError(w http.ResponseWriter, r *http.Request, st *staff, err error) {
	p := s.describe(w, r, err)
	s.render(w, r, p.Status, "error", s.staffPage(st, "", uiText("error.title", langOf(r)), p))
}

// staffPage builds the page data of an admin page.
func (s *server) staffPage(st *staff, nav, title string, data any) *pageData {
	d := &pageData{Title: title, Nav: nav, Data: data}
	if st != nil {
		d.Account, d.CSRF = st.acct, st.sess.CSRF
	}
	return d
}

// parseForm reads a urlencoded form of at most maxBody bytes.
func (s *server) parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return errTooLarge
		}
		return errs.Invalidf("", "表单无法解析：%s", "the form cannot be read: %s", err.Error())
	}
	return nil
}

func sameToken(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

func (s *server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/admin/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

func (s *server) clearCookie(w http.ResponseWriter, name string) { s.setCookie(w, name, "", -1) }

// safeNext returns next if it is a path of the admin pages, so that the login form cannot send
// the user to another site.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/admin/") && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return "/admin/licences"
}

// adminHome answers GET /admin/.
func (s *server) adminHome(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/admin/licences", http.StatusSeeOther)
}

// loginData is the content of the login page.
type loginData struct {
	Next, Username, CSRF string
	Problem              *problem
}

// loginPage answers GET /admin/login.
func (s *server) loginPage(w http.ResponseWriter, r *http.Request) {
	token := randomToken()
	s.setCookie(w, loginCSRFCookie, token, 3600)
	d := &loginData{Next: safeNext(r.URL.Query().Get("next")), CSRF: token}
	s.render(w, r, http.StatusOK, "login", &pageData{Title: uiText("admin.login", langOf(r)), Data: d})
}

// login answers POST /admin/login: check the password, start a session.
func (s *server) login(w http.ResponseWriter, r *http.Request) {
	if err := s.parseForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	c, err := r.Cookie(loginCSRFCookie)
	if err != nil || !sameToken(r.PostForm.Get("csrf"), c.Value) {
		s.pageError(w, r, errCSRF)
		return
	}
	d := &loginData{Next: safeNext(r.PostForm.Get("next")), Username: r.PostForm.Get("username"), CSRF: c.Value}
	a, err := s.Accounts.Login(r.Context(), d.Username, r.PostForm.Get("password"))
	if err == nil {
		var value string
		var sess *account.Session
		value, sess, err = s.Accounts.NewSession(r.Context(), a.ID)
		if err == nil {
			s.clearCookie(w, loginCSRFCookie)
			s.setCookie(w, sessionCookie, value, int(sess.ExpiresAt.Sub(s.now())/time.Second))
			http.Redirect(w, r, d.Next, http.StatusSeeOther)
			return
		}
	}
	p := s.describe(w, r, err)
	if p.Status >= 500 {
		s.pageError(w, r, err)
		return
	}
	d.Problem = &p
	s.render(w, r, p.Status, "login", &pageData{Title: uiText("admin.login", langOf(r)), Data: d})
}

// logout answers POST /admin/logout.
func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.signIn(w, r); !ok {
		return
	}
	c, _ := r.Cookie(sessionCookie) // present: signIn checked it
	if err := s.Accounts.EndSession(r.Context(), c.Value); err != nil {
		s.pageError(w, r, err)
		return
	}
	s.clearCookie(w, sessionCookie)
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

// listData is the content of the licence list page.
type listData struct {
	Filter license.Filter
	Limit  string
	All    bool // registrars: show every authority's licences
	Items  []licenceView
	Next   string // URL of the next page, "" on the last
	First  string // URL of the first page, "" on the first
}

// adminLicences answers GET /admin/licences: search and list licences page by page.
func (s *server) adminLicences(w http.ResponseWriter, r *http.Request) {
	st, ok := s.signIn(w, r)
	if !ok {
		return
	}
	f, err := filterOf(r)
	if err != nil {
		s.staffError(w, r, st, err)
		return
	}
	q := r.URL.Query()
	d := &listData{Filter: f, Limit: q.Get("limit"), All: q.Get("all") == "1" || st.acct.Role != account.Registrar}
	if !d.All && f.Authority == "" {
		f.Authority = st.acct.Authority
	}
	var ls []*license.Licence
	var next string
	if f.Query != "" && f.Cursor == "" {
		// A search box entry goes to the full-text search (name, representative or code),
		// ranked, one page of up to MaxSearchLimit results.
		ls, err = s.Licenses.Search(r.Context(), license.SearchQuery{Text: f.Query, Kind: f.Kind, Region: f.Region,
			Status: f.Status, Authority: f.Authority, Limit: license.MaxSearchLimit})
	} else {
		ls, next, err = s.Licenses.List(r.Context(), f)
	}
	if err != nil {
		s.staffError(w, r, st, err)
		return
	}
	for _, l := range ls {
		d.Items = append(d.Items, viewOf(l))
	}
	if next != "" {
		q.Set("cursor", next)
		q.Del("lang")
		d.Next = "/admin/licences?" + q.Encode()
	}
	if f.Cursor != "" {
		q.Del("cursor")
		q.Del("lang")
		d.First = "/admin/licences?" + q.Encode()
	}
	s.render(w, r, http.StatusOK, "licences", s.staffPage(st, "licences", uiText("admin.licences", langOf(r)), d))
}

// detailData is the content of a licence's page.
type detailData struct {
	Current *licenceView
	Labels  license.Labels
	History []licenceView // newest first
	Done    string        // the action just completed, to confirm it
}

// adminLicence answers GET /admin/licences/{code}: the licence with every version.
func (s *server) adminLicence(w http.ResponseWriter, r *http.Request) {
	st, ok := s.signIn(w, r)
	if !ok {
		return
	}
	ls, err := s.Licenses.History(r.Context(), r.PathValue("code"))
	if err != nil {
		s.staffError(w, r, st, err)
		return
	}
	d := &detailData{}
	if done := r.URL.Query().Get("done"); done == "issue" || done == "change" || knownAction(license.Action(done)) {
		d.Done = done
	}
	for i := len(ls) - 1; i >= 0; i-- {
		d.History = append(d.History, viewOf(ls[i]))
	}
	d.Current = &d.History[0]
	d.Labels = license.LabelsFor(d.Current.Kind)
	s.render(w, r, http.StatusOK, "licence", s.staffPage(st, "licences", d.Current.Face.Name, d))
}

// regForm is the content of the issue and change-registration forms.
type regForm struct {
	Change      bool
	Action      string // where the form posts
	Kind        license.Kind
	Labels      license.Labels
	Reg         license.Registration
	Amount      string
	Currency    string
	PrevVersion int
	Errors      map[string]string // message by field name, shown next to the field
	Other       []fieldDetail     // problems of fields the form does not show
	Problem     *problem
}

// inputField is one input of the form, for the "input" template.
type inputField struct {
	Name, Label, Value, Type, Error string
}

// Field prepares the input name of the form.
func (f *regForm) Field(name, label, value, typ string) inputField {
	return inputField{Name: name, Label: label, Value: value, Type: typ, Error: f.Errors[name]}
}

// fields lists the form fields shown for the form's kind.
func (f *regForm) fields() map[string]bool {
	m := map[string]bool{"code": !f.Change, "kind": true, "face.name": true, "face.type": true, "face.person": true,
		"face.established_on": true, "face.address": true, "face.scope": true, "person_id": true, "region": true,
		"prev_version": f.Change}
	if f.Labels.Capital.ZH != "" {
		m["face.capital.amount"], m["face.capital.currency"] = true, true
	}
	if f.Labels.Form.ZH != "" {
		m["face.form"] = true
	}
	if f.Labels.Term.ZH != "" {
		m["face.term_from"], m["face.term_to"] = true, true
	}
	return m
}

// setError puts the problem of err next to the fields it names.
func (f *regForm) setError(p problem) {
	f.Problem = &p
	f.Errors = map[string]string{}
	shown := f.fields()
	details := p.Details
	if len(details) == 0 {
		details = []fieldDetail{{Field: p.Field, Message: p.Message}}
	}
	for _, d := range details {
		if shown[d.Field] {
			if _, dup := f.Errors[d.Field]; !dup {
				f.Errors[d.Field] = d.Message
			}
		} else {
			f.Other = append(f.Other, d)
		}
	}
}

func knownKind(k license.Kind) bool {
	for _, x := range license.Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// issuePage answers GET /admin/licences/new: first the choice of kind, then its form.
func (s *server) issuePage(w http.ResponseWriter, r *http.Request) {
	st, ok := s.signIn(w, r, account.Registrar)
	if !ok {
		return
	}
	k := license.Kind(r.URL.Query().Get("kind"))
	f := &regForm{Action: "/admin/licences", Kind: k, Labels: license.LabelsFor(k), Currency: "CNY"}
	f.Reg.Kind = k
	if !knownKind(k) {
		f.Kind = ""
	}
	s.render(w, r, http.StatusOK, "issue", s.staffPage(st, "issue", uiText("admin.issue", langOf(r)), f))
}

// registrationOf reads a registration from the issue or change form.
func registrationOf(v url.Values) (license.Registration, string, string) {
	g := func(k string) string { return v.Get(k) }
	reg := license.Registration{
		Code: g("code"), Kind: license.Kind(g("kind")), PersonID: g("person_id"), Region: g("region"),
		Face: license.Face{Name: g("face.name"), Type: g("face.type"), Person: g("face.person"), Form: g("face.form"),
			EstablishedOn: g("face.established_on"), TermFrom: g("face.term_from"), TermTo: g("face.term_to"),
			Address: g("face.address"), Scope: g("face.scope")},
	}
	amount, currency := strings.TrimSpace(g("face.capital.amount")), strings.TrimSpace(g("face.capital.currency"))
	if amount != "" {
		reg.Face.Capital = &license.Capital{Amount: amount, Currency: currency}
	}
	return reg, amount, currency
}

// issue answers POST /admin/licences: issue a licence from the form.
func (s *server) issue(w http.ResponseWriter, r *http.Request) {
	st, ok := s.signIn(w, r, account.Registrar)
	if !ok {
		return
	}
	reg, amount, currency := registrationOf(r.PostForm)
	l, err := s.Licenses.Issue(r.Context(), actorOf(st.acct), reg)
	if err == nil {
		s.metrics.changed("issue")
		http.Redirect(w, r, "/admin/licences/"+url.PathEscape(l.Code)+"?done=issue", http.StatusSeeOther)
		return
	}
	f := &regForm{Action: "/admin/licences", Kind: reg.Kind, Labels: license.LabelsFor(reg.Kind), Reg: reg, Amount: amount, Currency: currency}
	s.formError(w, r, st, "issue", "admin.issue", f, err)
}

// formError shows the form again with the problems next to their fields.
func (s *server) formError(w http.ResponseWriter, r *http.Request, st *staff, page, title string, f *regForm, err error) {
	p := s.describe(w, r, err)
	if p.Status >= 500 {
		s.staffError(w, r, st, err)
		return
	}
	f.Reg.PersonID = "" // never echo an ID number back into a page
	f.setError(p)
	s.render(w, r, p.Status, page, s.staffPage(st, "issue", uiText(title, langOf(r)), f))
}

// changePage answers GET /admin/licences/{code}/change: the change form, prefilled.
func (s *server) changePage(w http.ResponseWriter, r *http.Request) {
	st, ok := s.signIn(w, r, account.Registrar)
	if !ok {
		return
	}
	l, err := s.Licenses.Get(r.Context(), r.PathValue("code"))
	if err != nil {
		s.staffError(w, r, st, err)
		return
	}
	f := &regForm{Change: true, Action: "/admin/licences/" + url.PathEscape(l.Code) + "/change", Kind: l.Kind,
		Labels: license.LabelsFor(l.Kind), PrevVersion: l.Version, Currency: "CNY",
		Reg: license.Registration{Code: l.Code, Kind: l.Kind, Face: l.Face, Region: l.Region}}
	if c := l.Face.Capital; c != nil {
		f.Amount, f.Currency = c.Amount, c.Currency
	}
	s.render(w, r, http.StatusOK, "issue", s.staffPage(st, "licences", uiText("admin.change", langOf(r)), f))
}

// change answers POST /admin/licences/{code}/change: record a change registration.
func (s *server) change(w http.ResponseWriter, r *http.Request) {
	st, ok := s.signIn(w, r, account.Registrar)
	if !ok {
		return
	}
	code := r.PathValue("code")
	reg, amount, currency := registrationOf(r.PostForm)
	reg.Code = code
	prev, _ := strconv.Atoi(r.PostForm.Get("prev_version")) // 0 when missing: the service says so
	l, err := s.Licenses.Change(r.Context(), actorOf(st.acct), code, prev, reg)
	if err == nil {
		s.metrics.changed("change")
		http.Redirect(w, r, "/admin/licences/"+url.PathEscape(l.Code)+"?done=change", http.StatusSeeOther)
		return
	}
	f := &regForm{Change: true, Action: "/admin/licences/" + url.PathEscape(code) + "/change", Kind: reg.Kind,
		Labels: license.LabelsFor(reg.Kind), Reg: reg, Amount: amount, Currency: currency, PrevVersion: prev}
	s.formError(w, r, st, "issue", "admin.change", f, err)
}

// statusForm is the content of the status-change form.
type statusForm struct {
	Licence     *licenceView
	Code        string
	Action      license.Action
	Reason      string
	EffectiveAt string // datetime-local value, China time
	Errors      map[string]string
	Problem     *problem
}

func knownAction(a license.Action) bool {
	switch a {
	case license.Suspend, license.Restore, license.Cancel, license.Revoke:
		return true
	}
	return false
}

// statusPage answers GET /admin/licences/{code}/status?action=: the form to suspend, restore,
// cancel or revoke, with a confirmation.
func (s *server) statusPage(w http.ResponseWriter, r *http.Request) {
	st, ok := s.signIn(w, r, account.Registrar)
	if !ok {
		return
	}
	act := license.Action(r.URL.Query().Get("action"))
	if !knownAction(act) {
		s.staffError(w, r, st, errs.Invalidf("action", "操作 %q 未知，应为 suspend、restore、cancel 或 revoke",
			"unknown action %q: want suspend, restore, cancel or revoke", act))
		return
	}
	l, err := s.Licenses.Get(r.Context(), r.PathValue("code"))
	if err != nil {
		s.staffError(w, r, st, err)
		return
	}
	v := viewOf(l)
	f := &statusForm{Licence: &v, Code: l.Code, Action: act, EffectiveAt: s.now().In(chinaTime).Format("2006-01-02T15:04")}
	s.render(w, r, http.StatusOK, "status", s.staffPage(st, "licences", uiText("action."+string(act), langOf(r)), f))
}

// setStatus answers POST /admin/licences/{code}/status.
func (s *server) setStatus(w http.ResponseWriter, r *http.Request) {
	st, ok := s.signIn(w, r, account.Registrar)
	if !ok {
		return
	}
	code := r.PathValue("code")
	f := &statusForm{Code: code, Action: license.Action(r.PostForm.Get("action")), Reason: r.PostForm.Get("reason"),
		EffectiveAt: r.PostForm.Get("effective_at")}
	at, err := parseLocalTime(f.EffectiveAt)
	if err == nil && r.PostForm.Get("confirm") != "yes" {
		err = errs.New(errs.Invalid, "confirm", "请勾选确认后再提交", "tick the confirmation to go ahead")
	}
	if err == nil {
		var l *license.Licence
		l, err = s.Licenses.SetStatus(r.Context(), actorOf(st.acct), code,
			license.StatusChange{Action: f.Action, Reason: f.Reason, EffectiveAt: at})
		if err == nil {
			s.metrics.changed(string(f.Action))
			http.Redirect(w, r, "/admin/licences/"+url.PathEscape(l.Code)+"?done="+string(f.Action), http.StatusSeeOther)
			return
		}
	}
	p := s.describe(w, r, err)
	if p.Status >= 500 {
		s.staffError(w, r, st, err)
		return
	}
	f.Problem = &p
	f.Errors = map[string]string{p.Field: p.Message}
	s.render(w, r, p.Status, "status", s.staffPage(st, "licences", uiText("action."+string(f.Action), langOf(r)), f))
}

// parseLocalTime reads a datetime-local value in China time; empty means now (zero).
func parseLocalTime(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, chinaTime); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errs.Invalidf("effective_at", "生效时间 %q 格式错误，应为 2024-05-01T09:30", "effective time %q is not like 2024-05-01T09:30", v)
}
