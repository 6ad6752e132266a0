package web

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/notice"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/sharing"
	"github.com/elicense/elicense/internal/uscc"
)

// The department console (部门用证工作台) under /console/: server-rendered pages for a user of a
// department that uses licences (account role department). The user acts as the department's
// system, the OpenID Connect client bound to the account, through the same services as the
// system's API calls: a look-up or a verification goes through the sharing service with a
// purpose and is recorded in the audit log like an API call of that client; the notices page
// shows the client's subscriptions and deliveries. Sign-in works like the admin pages (password,
// session cookie, per-session CSRF token in every form, cross-origin POSTs refused), with a
// cookie of its own restricted to /console/. All pages are in one template, console.html.

// Cookies of the console. Their path is /console/, so the admin pages never see them.
const (
	consoleCookie     = "elicense_console"
	consoleCSRFCookie = "elicense_console_csrf" // CSRF token of the sign-in form (double submit)
)

// consoleHistoryPage is how many calls the history shows per page.
const consoleHistoryPage = 20

// consoleUser is the signed-in department user of a console request.
type consoleUser struct {
	acct *account.Account
	sess *account.Session
}

// consoleData is what console.html receives as .Data; Section picks the part shown.
type consoleData struct {
	Section string // login, lookup, verify, history, notices, archive
	User    *account.Account
	CSRF    string
	Lang    string
	Problem *problem
	Errors  map[string]string // field → message
	Done    string            // a word key of what just succeeded

	// Sign-in.
	Next, Username string

	// Look-up: the search, the entity chosen, the purpose, and the sharing service's answer.
	Query   string
	Found   []licenceView
	Code    string
	Purpose sharing.Purpose
	Records []*sharing.Record

	// Verification.
	Token  string
	Report *document.Report

	// History.
	Calls []consoleCall
	Next2 string // URL of the next page

	// Notices.
	Subscriptions []notice.Subscription
	Failed        []notice.Delivery
	Recent        []notice.Delivery

	// My archive (console_archive.go).
	Archive *consoleArchiveView
}

// W returns a word of the console in the page's language.
func (d *consoleData) W(key string) string {
	if t, ok := consoleWords[key]; ok {
		return t.in(d.Lang)
	}
	return key
}

// consoleCall is one line of the call history: a usage record (用证记录) of the client.
type consoleCall struct {
	Seq        int64
	Time       time.Time
	Action     string
	Subject    string
	Identifier string
	Cause      string
	Item       string
	Case       string
	Result     string
}

// consolePost puts a console POST behind the cross-origin check (the session's CSRF token is
// checked too, by consoleSignIn, or by the sign-in form's double submit).
func (s *server) consolePost(h http.HandlerFunc) http.HandlerFunc {
	return s.xorigin.Handler(h).ServeHTTP
}

func (s *server) setConsoleCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/console/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// consoleSignIn loads the department user of the request. Without a valid session it sends the
// browser to the sign-in page; an account of another role is refused. For a POST it reads the
// form (multipart for uploads) and checks its CSRF token.
func (s *server) consoleSignIn(w http.ResponseWriter, r *http.Request) (*consoleUser, bool) {
	c, err := r.Cookie(consoleCookie)
	if err != nil || c.Value == "" {
		s.toConsoleLogin(w, r)
		return nil, false
	}
	a, sess, err := s.Accounts.Session(r.Context(), c.Value)
	if err != nil {
		switch errs.KindOf(err) {
		case errs.Unauthenticated, errs.NotFound:
			s.setConsoleCookie(w, consoleCookie, "", -1)
			s.toConsoleLogin(w, r)
		default:
			s.setConsoleCookie(w, consoleCookie, "", -1)
			s.pageError(w, r, err)
		}
		return nil, false
	}
	u := &consoleUser{acct: a, sess: sess}
	if a.Role != account.Department || a.Client == "" {
		s.consoleError(w, r, nil, errConsoleRole)
		return nil, false
	}
	if r.Method == http.MethodPost {
		if err := s.consoleForm(w, r); err != nil {
			s.consoleError(w, r, u, err)
			return nil, false
		}
		if !account.ValidCSRF(sess, r.PostFormValue("csrf")) {
			s.consoleError(w, r, u, errCSRF)
			return nil, false
		}
	}
	return u, true
}

var errConsoleRole = errs.New(errs.Forbidden, "", "部门用证工作台仅供部门账户使用", "the department console is for department accounts only")

// consoleForm reads a POST body: a urlencoded form, or a multipart one with a licence file.
func (s *server) consoleForm(w http.ResponseWriter, r *http.Request) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		return s.parseForm(w, r)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
	if err := r.ParseMultipartForm(maxUpload); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return errUploadTooLarge()
		}
		return errs.Invalidf("", "表单无法解析：%s", "the form cannot be read: %s", err.Error())
	}
	return nil
}

// toConsoleLogin redirects to the sign-in page, coming back here afterwards (GETs only).
func (s *server) toConsoleLogin(w http.ResponseWriter, r *http.Request) {
	next := "/console/lookup"
	if r.Method == http.MethodGet {
		next = r.URL.RequestURI()
	}
	http.Redirect(w, r, "/console/login?next="+url.QueryEscape(next), http.StatusSeeOther)
}

// consoleNext returns next if it is a console page, so that the sign-in form cannot send the
// user to another site.
func consoleNext(next string) string {
	if strings.HasPrefix(next, "/console/") && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return "/console/lookup"
}

// consolePage renders a console section.
func (s *server) consolePage(w http.ResponseWriter, r *http.Request, status int, u *consoleUser, d *consoleData) {
	d.Lang = langOf(r)
	if u != nil {
		d.User, d.CSRF = u.acct, u.sess.CSRF
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, "console", &pageData{Title: d.W("console." + d.Section), Nav: d.Section, Data: d})
}

// consoleError renders an error within the console (with its navigation when signed in).
func (s *server) consoleError(w http.ResponseWriter, r *http.Request, u *consoleUser, err error) {
	p := s.describe(w, r, err)
	s.consolePage(w, r, p.Status, u, &consoleData{Section: "error", Problem: &p})
}

// consoleFailed renders a failed request of the console: validation errors next to the fields
// of the section d, any other error on the error page.
func (s *server) consoleFailed(w http.ResponseWriter, r *http.Request, u *consoleUser, err error, d *consoleData) {
	if m, ok := consoleFieldErrors(err, langOf(r)); ok {
		d.Errors = m
		s.consolePage(w, r, statusOf(err), u, d)
		return
	}
	s.consoleError(w, r, u, err)
}

// consoleNeeds is consoleSignIn for a section that needs a service: when the service is not
// configured (on is false) it renders off on the console page and returns false.
func (s *server) consoleNeeds(w http.ResponseWriter, r *http.Request, on bool, off error) (*consoleUser, bool) {
	u, ok := s.consoleSignIn(w, r)
	if !ok {
		return nil, false
	}
	if !on {
		s.consoleError(w, r, u, off)
		return nil, false
	}
	return u, true
}

// consoleHome answers GET /console/.
func (s *server) consoleHome(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/console/lookup", http.StatusSeeOther)
}

// consoleLoginPage answers GET /console/login.
func (s *server) consoleLoginPage(w http.ResponseWriter, r *http.Request) {
	token := randomToken()
	s.setConsoleCookie(w, consoleCSRFCookie, token, 3600)
	s.consolePage(w, r, http.StatusOK, nil, &consoleData{Section: "login", CSRF: token, Next: consoleNext(r.URL.Query().Get("next"))})
}

// consoleLogin answers POST /console/login: check the password and the role, start a session.
func (s *server) consoleLogin(w http.ResponseWriter, r *http.Request) {
	if err := s.parseForm(w, r); err != nil {
		s.consoleError(w, r, nil, err)
		return
	}
	c, err := r.Cookie(consoleCSRFCookie)
	if err != nil || !sameToken(r.PostForm.Get("csrf"), c.Value) {
		s.consoleError(w, r, nil, errCSRF)
		return
	}
	d := &consoleData{Section: "login", Next: consoleNext(r.PostForm.Get("next")), Username: r.PostForm.Get("username")}
	a, err := s.Accounts.Login(r.Context(), d.Username, r.PostForm.Get("password"))
	if err == nil && a.Role != account.Department {
		err = errConsoleRole
	}
	if err == nil {
		var value string
		var sess *account.Session
		if value, sess, err = s.Accounts.NewSession(r.Context(), a.ID); err == nil {
			s.setConsoleCookie(w, consoleCSRFCookie, "", -1)
			s.setConsoleCookie(w, consoleCookie, value, int(sess.ExpiresAt.Sub(s.now())/time.Second))
			http.Redirect(w, r, d.Next, http.StatusSeeOther)
			return
		}
	}
	p := s.describe(w, r, err)
	if p.Status >= 500 {
		s.consoleError(w, r, nil, err)
		return
	}
	d.Problem, d.CSRF = &p, c.Value
	s.consolePage(w, r, p.Status, nil, d)
}

// consoleLogout answers POST /console/logout.
func (s *server) consoleLogout(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.consoleSignIn(w, r); !ok {
		return
	}
	c, _ := r.Cookie(consoleCookie) // present: consoleSignIn checked it
	if err := s.Accounts.EndSession(r.Context(), c.Value); err != nil {
		s.consoleError(w, r, nil, err)
		return
	}
	s.setConsoleCookie(w, consoleCookie, "", -1)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

// consoleShareCaller is the department's system as the sharing service sees the console user. Token
// scopes do not apply to the console (there is no token): what the client may do is decided by
// the permissions an operator granted it, as for its API calls.
func consoleShareCaller(u *consoleUser) *sharing.Caller {
	return &sharing.Caller{ClientID: u.acct.Client, Scopes: []string{oidc.ScopeSharingQuery, oidc.ScopeSharingVerify,
		oidc.ScopeSharingDownload, oidc.ScopeSharingArchive}}
}

func consoleNoticeCaller(u *consoleUser) *notice.Caller {
	return &notice.Caller{ClientID: u.acct.Client, Scopes: []string{oidc.ScopeSharingQuery}}
}

// consolePurpose reads the purpose fields of a console form.
func consolePurpose(r *http.Request) sharing.Purpose {
	return sharing.Purpose{Cause: r.PostFormValue("use_cause"), Item: r.PostFormValue("service_item"), Case: r.PostFormValue("case_number")}
}

// consoleFieldErrors spreads a validation error over the fields it names, for the form; ok is false
// when err is not a validation error.
func consoleFieldErrors(err error, lang string) (map[string]string, bool) {
	if l, ok := errors.AsType[errs.List](err); ok {
		m := map[string]string{}
		for _, e := range l {
			m[e.Field] = e.Message(lang)
		}
		return m, true
	}
	if e := errs.As(err); e != nil && e.Kind == errs.Invalid && e.Field != "" {
		return map[string]string{e.Field: e.Message(lang)}, true
	}
	return nil, false
}

// consoleLookup answers GET /console/lookup?q=…[&code=…]: a search of entities by name or
// code (the public list data, as GET /api/v1/licenses?q= gives it), or the purpose form for
// the entity chosen.
func (s *server) consoleLookup(w http.ResponseWriter, r *http.Request) {
	u, ok := s.consoleSignIn(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	d := &consoleData{Section: "lookup", Query: strings.TrimSpace(q.Get("q")), Code: uscc.Normalize(q.Get("code"))}
	if d.Code == "" && d.Query != "" {
		if code := uscc.Normalize(d.Query); uscc.Check(code) == nil || (len(code) == 15 && consoleDigits(code)) {
			d.Code = code // a code: straight to the purpose form
		} else {
			ls, err := s.Licenses.Search(r.Context(), license.SearchQuery{Text: d.Query, Limit: 20})
			if err != nil {
				s.consoleFailed(w, r, u, err, d)
				return
			}
			for _, l := range ls {
				d.Found = append(d.Found, viewOf(l))
			}
		}
	}
	s.consolePage(w, r, http.StatusOK, u, d)
}

func consoleDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// consoleLookupEntity answers POST /console/lookup: the entity's licences through the sharing
// service (ListByHolder) with the purpose given, recorded as the client's call.
func (s *server) consoleLookupEntity(w http.ResponseWriter, r *http.Request) {
	u, ok := s.consoleNeeds(w, r, s.Sharing != nil, errSharingOff)
	if !ok {
		return
	}
	d := &consoleData{Section: "lookup", Code: uscc.Normalize(r.PostFormValue("code")), Purpose: consolePurpose(r)}
	codeType := sharing.CodeTypeUSCC
	if len(d.Code) == 15 {
		codeType = sharing.CodeTypeOther
	}
	recs, err := s.Sharing.ListByHolder(r.Context(), consoleShareCaller(u), d.Purpose, d.Code, codeType, "")
	if err != nil {
		s.consoleFailed(w, r, u, err, d)
		return
	}
	d.Records, d.Done = recs, "lookup"
	s.consolePage(w, r, http.StatusOK, u, d)
}

// consoleVerifyPage answers GET /console/verify.
func (s *server) consoleVerifyPage(w http.ResponseWriter, r *http.Request) {
	u, ok := s.consoleSignIn(w, r)
	if !ok {
		return
	}
	s.consolePage(w, r, http.StatusOK, u, &consoleData{Section: "verify"})
}

// consoleVerify answers POST /console/verify: an uploaded licence file (OFD or PDF), or the
// content of a scanned QR code pasted as text (its URL or token), verified through the sharing
// service with the purpose given; the report has the STANDARDS §7 result.
func (s *server) consoleVerify(w http.ResponseWriter, r *http.Request) {
	u, ok := s.consoleSignIn(w, r)
	if !ok {
		return
	}
	defer func() {
		if r.MultipartForm != nil {
			_ = r.MultipartForm.RemoveAll()
		}
	}()
	if s.Sharing == nil {
		s.consoleError(w, r, u, errSharingOff)
		return
	}
	d := &consoleData{Section: "verify", Purpose: consolePurpose(r), Token: strings.TrimSpace(r.PostFormValue("token"))}
	file, err := consoleFile(r)
	if err == nil && file == nil && d.Token == "" {
		err = errs.New(errs.Invalid, "file", "请上传执照文件（OFD 或 PDF），或粘贴二维码内容", "upload a licence file (OFD or PDF) or paste the QR code's content")
	}
	if err == nil {
		if file != nil {
			d.Report, err = s.Sharing.VerifyFile(r.Context(), consoleShareCaller(u), d.Purpose, file)
		} else {
			d.Report, err = s.Sharing.VerifyQR(r.Context(), consoleShareCaller(u), d.Purpose, d.Token)
		}
	}
	if err != nil {
		s.consoleFailed(w, r, u, err, d)
		return
	}
	s.consolePage(w, r, http.StatusOK, u, d)
}

// consoleFile returns the uploaded file, nil when there is none.
func consoleFile(r *http.Request) ([]byte, error) {
	if r.MultipartForm == nil {
		return nil, nil
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		return nil, nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, document.MaxFileSize+1))
	if err != nil {
		return nil, errs.Invalidf("file", "文件无法读取", "the file cannot be read: %v", err)
	}
	if len(b) > document.MaxFileSize {
		return nil, errUploadTooLarge()
	}
	if len(b) == 0 {
		return nil, nil
	}
	return b, nil
}

// consoleHistory answers GET /console/history?before=…: the client's own sharing calls, newest
// first, from the audit log.
func (s *server) consoleHistory(w http.ResponseWriter, r *http.Request) {
	u, ok := s.consoleSignIn(w, r)
	if !ok {
		return
	}
	before, _, err := noticePageParams(r.URL.Query().Get("before"), "")
	if err != nil {
		s.consoleError(w, r, u, err)
		return
	}
	evs, err := s.Audit.Find(r.Context(), audit.Filter{Actor: u.acct.Client, ActionPrefix: "share.", Before: before,
		Limit: consoleHistoryPage + 1})
	if err != nil {
		s.consoleError(w, r, u, err)
		return
	}
	d := &consoleData{Section: "history"}
	if len(evs) > consoleHistoryPage {
		evs = evs[:consoleHistoryPage]
		d.Next2 = "/console/history?before=" + strconv.FormatInt(evs[len(evs)-1].Seq, 10)
	}
	for _, e := range evs {
		var u struct {
			Cause      string `json:"use_cause"`
			Item       string `json:"service_item"`
			Case       string `json:"case_number"`
			Identifier string `json:"identifier"`
			Result     string `json:"result"`
		}
		_ = json.Unmarshal(e.Data, &u) // a record without these fields shows empty cells
		d.Calls = append(d.Calls, consoleCall{Seq: e.Seq, Time: e.Time, Action: strings.TrimPrefix(e.Action, "share."),
			Subject: e.Subject, Identifier: u.Identifier, Cause: u.Cause, Item: u.Item, Case: u.Case, Result: u.Result})
	}
	s.consolePage(w, r, http.StatusOK, u, d)
}

// consoleNotices answers GET /console/notices: the client's subscriptions, its failed
// deliveries (each with a replay button) and its latest deliveries.
func (s *server) consoleNotices(w http.ResponseWriter, r *http.Request) {
	u, ok := s.consoleNeeds(w, r, s.Notices != nil, errNoticesOff)
	if !ok {
		return
	}
	c := consoleNoticeCaller(u)
	d := &consoleData{Section: "notices", Done: r.URL.Query().Get("done")}
	if d.Done != "" && d.Done != "replayed" {
		d.Done = ""
	}
	var err error
	if d.Subscriptions, err = s.Notices.Subscriptions(r.Context(), c); err == nil {
		if d.Failed, _, err = s.Notices.Deliveries(r.Context(), c, string(notice.Failed), 0, 50); err == nil {
			d.Recent, _, err = s.Notices.Deliveries(r.Context(), c, "", 0, 20)
		}
	}
	if err != nil {
		s.consoleError(w, r, u, err)
		return
	}
	s.consolePage(w, r, http.StatusOK, u, d)
}

// consoleReplay answers POST /console/notices/deliveries/{id}/replay.
func (s *server) consoleReplay(w http.ResponseWriter, r *http.Request) {
	u, ok := s.consoleNeeds(w, r, s.Notices != nil, errNoticesOff)
	if !ok {
		return
	}
	if _, err := s.Notices.Replay(r.Context(), consoleNoticeCaller(u), r.PathValue("id")); err != nil {
		s.consoleError(w, r, u, err)
		return
	}
	http.Redirect(w, r, "/console/notices?done=replayed", http.StatusSeeOther)
}

var errConsoleOnly = errs.New(errs.Forbidden, "", "部门账户请使用部门用证工作台（/console/）", "department accounts use the department console (/console/)")
