package web

// Showing the licence (出示/亮照), its uses, and the lost phone (issue 7 items 1, 4–6): the
// wallet's presentation page with its dynamic QR code and the JSON endpoint its script refreshes
// it from, the counter side of a presentation token on the public verification page and API,
// the uses page with its CSV export, and the lost-phone real-name check. The rules live in
// package present (and identity); docs/wallet.md describes the pages.

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/present"
	"github.com/elicense/elicense/internal/uscc"
)

var errPresentOff = errs.New(errs.Unavailable, "", "本平台未启用执照出示", "showing the licence is not enabled on this platform")

// presentFields reads the chosen items of a presentation from the query: field=name&field=…,
// with chosen=1 once the holder has chosen (otherwise the defaults).
func presentFields(q url.Values) []string {
	if q.Get("chosen") == "" {
		return present.DefaultFields
	}
	return q["field"]
}

// fieldsQuery is the query that asks for these items again.
func fieldsQuery(fields []string) string {
	q := url.Values{"chosen": {"1"}}
	for _, f := range fields {
		q.Add("field", f)
	}
	return q.Encode()
}

// qrDataURI is the QR code as an image address (the CSP allows data: images).
func qrDataURI(png []byte) template.URL {
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
}

// showPage is the content of the presentation page.
type showPage struct {
	P         *present.Presentation
	View      *licenceView
	QR        template.URL
	RoleKey   string
	Items     string // an agent's service items
	Fields    []showField
	Query     string // fieldsQuery of the chosen items
	RefreshIn int    // seconds until the script fetches the next code
}

// showField is a checkbox of the presentation page.
type showField struct {
	Key    string
	Label  names
	Picked bool
}

// walletShow answers GET /wallet/licences/{code}/show: the licence face and a presentation QR
// code of the chosen items, made now (each page view is a recorded presentation).
func (s *server) walletShow(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	if s.Present == nil {
		s.walletError(w, r, u, errPresentOff)
		return
	}
	p, err := s.Present.Create(r.Context(), u.p.ID, r.PathValue("code"), presentFields(r.URL.Query()))
	if err != nil {
		s.walletError(w, r, u, err)
		return
	}
	png, err := document.QRPNG(p.URL)
	if err != nil {
		s.walletError(w, r, u, err)
		return
	}
	v := viewOf(p.Licence)
	d := &showPage{P: p, View: &v, QR: qrDataURI(png), RoleKey: "role." + string(p.Role), Query: fieldsQuery(p.Fields),
		RefreshIn: max(int(p.RefreshAt.Sub(s.now())/time.Second), 1)}
	if p.Grant != nil {
		d.Items = strings.Join(p.Grant.Items, ", ")
	}
	for _, f := range present.Fields {
		d.Fields = append(d.Fields, showField{Key: f.Key, Label: names{f.ZH, f.EN}, Picked: slices.Contains(p.Fields, f.Key)})
	}
	s.walletRender(w, r, http.StatusOK, "present_show", "present.title", u, &walletData{Nav: "home", Page: d})
}

// showTokenJSON is the next presentation code, for the page's script.
type showTokenJSON struct {
	Token     string       `json:"token"`
	URL       string       `json:"url"`
	QR        template.URL `json:"qr"` // data: URL of the PNG
	IssuedAt  time.Time    `json:"issued_at"`
	ExpiresAt time.Time    `json:"expires_at"`
	Expiry    string       `json:"expiry"`     // the expiry as the page shows it (China time)
	RefreshIn int          `json:"refresh_in"` // seconds until the next refresh
}

// walletShowToken answers POST /wallet/licences/{code}/show/token (script, CSRF header): a new
// presentation code of the items in the query.
func (s *server) walletShowToken(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAPIAuth(w, r)
	if !ok {
		return
	}
	if s.Present == nil {
		s.apiError(w, r, errPresentOff)
		return
	}
	p, err := s.Present.Create(r.Context(), u.p.ID, r.PathValue("code"), presentFields(r.URL.Query()))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	png, err := document.QRPNG(p.URL)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	walletJSON(w, showTokenJSON{Token: p.Token, URL: p.URL, QR: qrDataURI(png), IssuedAt: p.IssuedAt, ExpiresAt: p.ExpiresAt,
		Expiry: p.ExpiresAt.In(chinaTime).Format(time.TimeOnly), RefreshIn: max(int(p.RefreshAt.Sub(s.now())/time.Second), 1)})
}

// usesPage is the content of the uses page.
type usesPage struct {
	Page                 *present.UsePage
	Kinds                []present.Kind
	Kind, Since, Until   string
	More, CSV, FirstPage string // addresses of the next page, the export and the first page
	Before               int64
	Problem              *problem
	Errors               map[string]string
}

// useFilter reads the filter of the uses page: kind, since and until (days in China time, the
// last one included), before (the cursor).
func useFilter(q url.Values) (present.UseFilter, error) {
	f := present.UseFilter{Kind: strings.TrimSpace(q.Get("kind"))}
	var list errs.List
	f.Since, f.Until = dayStart(&list, "since", q.Get("since")), dayEnd(&list, "until", q.Get("until"))
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			list = append(list, errs.New(errs.Invalid, "before", "翻页参数无效", "the page cursor is not valid"))
		}
		f.Before = n
	}
	return f, list.Err()
}

// walletUses answers GET /wallet/licences/{code}/uses: the uses of the licence, filtered and
// paged; with format=csv, every use the filter selects (up to present.MaxExport) as CSV.
func (s *server) walletUses(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	if s.Present == nil {
		s.walletError(w, r, u, errPresentOff)
		return
	}
	q := r.URL.Query()
	code := uscc.Normalize(r.PathValue("code"))
	f, ferr := useFilter(q)
	if q.Get("format") == "csv" {
		if ferr != nil {
			s.walletError(w, r, u, ferr)
			return
		}
		s.usesCSV(w, r, u, code, f)
		return
	}
	d := &usesPage{Kinds: present.Kinds, Kind: q.Get("kind"), Since: q.Get("since"), Until: q.Get("until"), Before: f.Before}
	status := http.StatusOK
	var pg *present.UsePage
	err := ferr
	if err == nil {
		pg, err = s.Present.Uses(r.Context(), u.p.ID, code, f)
	}
	if err != nil {
		p, fe, ok := s.formProblem(w, r, u, err)
		if !ok {
			return
		}
		if p.Status == http.StatusForbidden || p.Status == http.StatusNotFound {
			s.walletProblem(w, r, u, *p)
			return
		}
		d.Problem, d.Errors, status = p, fe, p.Status
		// Show the page without the filter that failed.
		if pg, err = s.Present.Uses(r.Context(), u.p.ID, code, present.UseFilter{}); err != nil {
			s.walletError(w, r, u, err)
			return
		}
	}
	d.Page = pg
	base := "/wallet/licences/" + url.PathEscape(code) + "/uses"
	keep := url.Values{}
	for _, k := range []string{"kind", "since", "until"} {
		if v := strings.TrimSpace(q.Get(k)); v != "" && d.Problem == nil {
			keep.Set(k, v)
		}
	}
	if pg.Next > 0 {
		m := url.Values{}
		for k, v := range keep {
			m[k] = v
		}
		m.Set("before", strconv.FormatInt(pg.Next, 10))
		d.More = base + "?" + m.Encode()
	}
	c := url.Values{"format": {"csv"}}
	for k, v := range keep {
		c[k] = v
	}
	d.CSV = base + "?" + c.Encode()
	if f.Before > 0 {
		d.FirstPage = base + "?" + keep.Encode()
	}
	s.walletRender(w, r, status, "present_uses", "uses.title", u, &walletData{Nav: "home", Page: d})
}

// usesCSV writes the uses as CSV (UTF-8 with a byte-order mark, so that spreadsheet programs
// read the Chinese text), column names in the page's language.
func (s *server) usesCSV(w http.ResponseWriter, r *http.Request, u *walletUser, code string, f present.UseFilter) {
	lang := langOf(r)
	var rows []present.Use
	f.Limit = present.MaxPage
	for len(rows) < present.MaxExport {
		pg, err := s.Present.Uses(r.Context(), u.p.ID, code, f)
		if err != nil {
			s.walletError(w, r, u, err)
			return
		}
		rows = append(rows, pg.Uses...)
		if pg.Next == 0 {
			break
		}
		f.Before = pg.Next
	}
	if len(rows) > present.MaxExport {
		rows = rows[:present.MaxExport]
	}
	var buf bytes.Buffer
	buf.WriteString("\uFEFF")
	cw := csv.NewWriter(&buf)
	head := []string{"seq", "time", "kind", "action", "who", "details", "result"}
	if lang != langEN {
		head = []string{"序号", "时间", "类型", "操作", "使用者", "详情", "结果"}
	}
	_ = cw.Write(head) // a bytes.Buffer does not fail
	for _, x := range rows {
		_ = cw.Write([]string{strconv.FormatInt(x.Seq, 10), x.Time.In(chinaTime).Format("2006-01-02 15:04:05"),
			useKindName(x.Kind, lang), x.Action, csvCell(useWho(x, lang)), csvCell(useDetails(x, lang)), csvCell(useResult(x.Result, lang))})
	}
	cw.Flush()
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="uses-%s.csv"`, code))
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// useKindName is a kind of use in words.
func useKindName(key, lang string) string {
	for _, k := range present.Kinds {
		if k.Key == key {
			return text{k.ZH, k.EN}.in(lang)
		}
	}
	return walletText("uses.kind.other", lang)
}

// useWho says who used the licence.
func useWho(x present.Use, lang string) string {
	switch x.WhoKind {
	case "person":
		if x.Self {
			return x.Who + walletText("uses.self", lang)
		}
		return x.Who
	case "public":
		return walletText("uses.who.public", lang)
	case "staff":
		return walletText("uses.who.staff", lang)
	case "client":
		return walletText("uses.who.client", lang) + " " + x.Who
	}
	return x.Who
}

// useDetails are the details of a use in one line.
func useDetails(x present.Use, lang string) string {
	var parts []string
	for _, d := range x.Details {
		v := d.Value
		switch d.Key {
		case "role":
			v = walletText("role."+v, lang)
		case "fields":
			var ls []string
			for _, k := range strings.Split(v, ",") {
				for _, f := range present.Fields {
					if f.Key == k {
						ls = append(ls, text{f.ZH, f.EN}.in(lang))
					}
				}
			}
			v = strings.Join(ls, walletText("uses.sep", lang))
		}
		parts = append(parts, walletText("uses.d."+d.Key, lang)+": "+v)
	}
	return strings.Join(parts, "; ")
}

// useResult says a recorded result in words.
func useResult(res, lang string) string {
	switch {
	case res == "":
		return ""
	case res == "ok" || res == "denied" || res == "not_found" || res == "expired":
		return walletText("uses.r."+res, lang)
	case strings.HasPrefix(res, "result:"):
		n, err := strconv.Atoi(strings.TrimPrefix(res, "result:"))
		if err != nil {
			return res
		}
		zh, en := document.ResultWords(n)
		return text{zh, en}.in(lang)
	}
	return res
}

// UseWho, UseDetails, UseResult and UseKind show a use in the page's language.
func (p *pageData) UseWho(x present.Use) string     { return useWho(x, p.Lang) }
func (p *pageData) UseDetails(x present.Use) string { return useDetails(x, p.Lang) }
func (p *pageData) UseResult(res string) string     { return useResult(res, p.Lang) }
func (p *pageData) UseKind(key string) string       { return useKindName(key, p.Lang) }

// recentUses is what the members page shows of one person's last uses.
type recentUses struct {
	P     *pageData
	Uses  []present.Use
	Shown bool // the uses were looked up (say "none" rather than nothing)
}

// Recent prepares the last uses of the person for the "member-uses" template.
func (p *pageData) Recent(uses map[string][]present.Use, personID string) recentUses {
	us, ok := uses[personID]
	return recentUses{P: p, Uses: us, Shown: ok}
}

// memberUses returns the last three uses of each person on the members page (holder and
// administrators only); without the presentation service, none.
func (s *server) memberUses(w http.ResponseWriter, r *http.Request, u *walletUser, m *identity.Members) map[string][]present.Use {
	if s.Present == nil {
		return nil
	}
	var ids []string
	if m.Holder != nil {
		ids = append(ids, m.Holder.PersonID)
	}
	for _, g := range m.Grants {
		ids = append(ids, g.PersonID)
	}
	uses, err := s.Present.RecentUses(r.Context(), u.p.ID, m.Licence.Code, ids, 3)
	if err != nil {
		// The members page stands without the recent uses; the failure is logged.
		s.Logger.Warn("web: recent uses", "request_id", requestID(w), "error", err)
		return nil
	}
	return uses
}

// lostPage is the content of the lost-phone page.
type lostPage struct {
	Devices int
	Problem *problem
	Errors  map[string]string
}

// walletLostPage answers GET /wallet/lost: on a new phone signed in with a one-time code, type
// the name and ID number again to remove the lost phone and bind this one.
func (s *server) walletLostPage(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	s.renderLost(w, r, u, http.StatusOK, &lostPage{})
}

func (s *server) renderLost(w http.ResponseWriter, r *http.Request, u *walletUser, status int, d *lostPage) {
	devs, err := s.Identity.Devices(r.Context(), u.p.ID)
	if err != nil {
		s.walletError(w, r, u, err)
		return
	}
	d.Devices = len(devs)
	s.walletRender(w, r, status, "present_lost", "lost.title", u, &walletData{Nav: "devices", Page: d})
}

// walletLost answers POST /wallet/lost: the fresh real-name check; on success the devices page,
// where the lost phone is removed (its sessions end at once) and this phone bound.
func (s *server) walletLost(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	in, err := s.Identity.RecheckRealName(r.Context(), u.sess, r.PostForm.Get("name"), r.PostForm.Get("id_number"))
	if err != nil {
		p, fe, ok := s.formProblem(w, r, u, err)
		if ok {
			s.renderLost(w, r, u, p.Status, &lostPage{Problem: p, Errors: fe})
		}
		return
	}
	s.signInWallet(w, in)
	http.Redirect(w, r, "/wallet/devices?done=lost", http.StatusSeeOther)
}

// The counter side: the public verification page and API recognise presentation tokens and
// answer them with the presentation's check; every other token or file goes to the document
// handlers as before.

// presentJSON is the verification report of a presentation token: the document report with the
// presentation's part.
type presentJSON struct {
	*document.Report
	Presentation *presentationJSON `json:"presentation"`
}

// presentationJSON is what the counter learns from a presentation token.
type presentationJSON struct {
	Valid     bool                `json:"valid"` // authentic, in time, licence valid, presenter authorised
	Authentic bool                `json:"authentic"`
	Expired   bool                `json:"expired"`
	IssuedAt  *time.Time          `json:"issued_at,omitempty"`
	ExpiresAt *time.Time          `json:"expires_at,omitempty"`
	Items     []present.ItemCheck `json:"items"`
	Presenter *present.Presenter  `json:"presenter,omitempty"`
}

func presentationOf(rep *document.Report, c *present.Check) *presentJSON {
	out := &presentJSON{Report: rep, Presentation: &presentationJSON{Valid: c.Usable(rep.Valid), Authentic: c.Authentic,
		Expired: c.Expired, Items: c.Items, Presenter: c.Presenter}}
	if out.Presentation.Items == nil {
		out.Presentation.Items = []present.ItemCheck{}
	}
	if !c.IssuedAt.IsZero() {
		i, e := c.IssuedAt, c.ExpiresAt
		out.Presentation.IssuedAt, out.Presentation.ExpiresAt = &i, &e
	}
	return out
}

// tokenPage answers GET /v/{token}: a presentation token gets the counter's page (or JSON for
// Accept: application/json), any other the document handlers' verification page.
func (s *server) tokenPage(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	if s.Present == nil || !present.IsPresentation(tok) {
		s.docs.TokenPage(w, r)
		return
	}
	rep, c, err := s.verifyPresentation(r, tok, "public")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		writeJSON(w, http.StatusOK, presentationOf(rep, c))
		return
	}
	s.render(w, r, http.StatusOK, "presentation", &pageData{Title: walletText("counter.title", langOf(r)), Data: counterViewOf(rep, c, langOf(r))})
}

// verifyPresentation verifies a presentation token twice over: the licence (signature, register,
// status now) by the document service, who presents which items by the presentation service.
func (s *server) verifyPresentation(r *http.Request, tok, verifier string) (*document.Report, *present.Check, error) {
	rep, err := s.Documents.VerifyToken(r.Context(), tok)
	if err != nil {
		return nil, nil, err
	}
	for i, ch := range rep.Checks {
		if ch.Name == "token_signature" && ch.OK { // the document service's words are for licence QR codes
			rep.Checks[i].ZH, rep.Checks[i].EN = "出示码由平台签名，内容未被改动", "the presentation code is signed by the platform and unaltered"
		}
	}
	c, err := s.Present.Verify(r.Context(), tok, verifier, rep.Result)
	if err != nil {
		return nil, nil, err
	}
	return rep, c, nil
}

// verifyAPI answers POST /api/v1/verify: a presentation token (in ?token=, a form or JSON) gets
// the presentation's report; files and licence tokens the document handlers' report.
func (s *server) verifyAPI(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if tok == "" && s.Present != nil {
		ct := r.Header.Get("Content-Type")
		if strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data") {
			file, t, err := readVerifyInput(w, r)
			if err != nil {
				s.apiError(w, r, err)
				return
			}
			if !present.IsPresentation(t) {
				s.docs.writeReport(w, r, t, file, t != "")
				return
			}
			tok = t
		}
	}
	if s.Present == nil || tok == "" || !present.IsPresentation(tok) {
		s.docs.VerifyAPI(w, r)
		return
	}
	rep, c, err := s.verifyPresentation(r, tok, "public:api")
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, presentationOf(rep, c))
}

// counterView is what the counter's page shows of a presentation.
type counterView struct {
	C         *present.Check
	Report    *document.Report
	Valid     bool
	Tone      string // ok, warn, bad
	Verdict   string
	Reason    string
	Licence   string // the licence's verdict in words
	Status    string
	Checks    []checkView
	Items     []counterItem
	RoleKey   string
	Items2    string // the agent's service items
	Period    string
	Issued    string
	Expires   string
	Presenter *present.Presenter
	// PresenterReason says why the presenter is no longer authorised.
	PresenterReason string
}

// counterItem is a presented item on the counter's page.
type counterItem struct {
	Label, Value, Now string
	Same, Clipped     bool
}

func counterViewOf(rep *document.Report, c *present.Check, lang string) *counterView {
	en := lang == langEN
	pick := func(zh, e string) string {
		if en {
			return e
		}
		return zh
	}
	v := &counterView{C: c, Report: rep, Valid: c.Usable(rep.Valid), Presenter: c.Presenter}
	zh, e := document.ResultWords(rep.Result)
	v.Licence = pick(zh, e)
	if rep.Status != "" {
		szh, sen := license.StatusName(rep.Status)
		v.Status = pick(szh, sen)
	}
	for _, ch := range rep.Checks {
		v.Checks = append(v.Checks, checkView{OK: ch.OK, Text: pick(ch.ZH, ch.EN)})
	}
	switch {
	case !c.Authentic:
		v.Tone, v.Verdict = "bad", walletText("counter.bad", lang)
		v.Reason = pick(c.ProblemZH, c.ProblemEN)
	case c.Expired:
		v.Tone, v.Verdict = "bad", walletText("counter.expired", lang)
		v.Reason = pick(c.ProblemZH, c.ProblemEN)
	case v.Valid:
		v.Tone, v.Verdict = "ok", walletText("counter.ok", lang)
	case c.Presenter != nil && !c.Presenter.Authorised:
		v.Tone, v.Verdict = "bad", walletText("counter.unauthorised", lang)
		v.Reason = pick(c.Presenter.ReasonZH, c.Presenter.ReasonEN)
	default:
		v.Tone, v.Verdict = "warn", walletText("counter.licence", lang)
		v.Reason = pick(rep.ZH, rep.EN)
	}
	for _, it := range c.Items {
		ci := counterItem{Label: pick(it.ZH, it.EN), Value: it.Value, Now: it.Now, Same: it.Same, Clipped: it.Clipped}
		if it.Field == "status" {
			szh, sen := license.StatusName(license.Status(it.Value))
			ci.Value = pick(szh, sen)
			nzh, nen := license.StatusName(license.Status(it.Now))
			ci.Now = pick(nzh, nen)
		}
		v.Items = append(v.Items, ci)
	}
	if p := c.Presenter; p != nil {
		v.RoleKey = "role." + string(p.Role)
		v.PresenterReason = pick(p.ReasonZH, p.ReasonEN)
		v.Items2 = strings.Join(p.Items, ", ")
		if p.Count > len(p.Items) {
			v.Items2 += fmt.Sprintf(pick(" 等 %d 项", " (%d in all)"), p.Count)
		}
		if p.From != nil && p.Until != nil {
			v.Period = p.From.In(chinaTime).Format(time.DateOnly) + " – " + lastDay(*p.Until).In(chinaTime).Format(time.DateOnly)
		}
	}
	if !c.IssuedAt.IsZero() {
		v.Issued = c.IssuedAt.In(chinaTime).Format("2006-01-02 15:04:05")
		v.Expires = c.ExpiresAt.In(chinaTime).Format("2006-01-02 15:04:05")
	}
	return v
}
