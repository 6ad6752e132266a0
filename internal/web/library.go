package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/library"
)

// The enterprise licence library (internal/library): licence types (operators write, anyone
// reads), permits of other types (issuing departments' staff write; anyone reads the public
// items), one entity's licences and service records, and the admin page of an entity.

var errLibraryOff = errs.New(errs.Unavailable, "", "本平台未启用企业证照库", "the enterprise licence library is not enabled on this platform")

// maxBatchBody bounds the body of a batch of permits (1,000 rows).
const maxBatchBody = 16 << 20

// permitView is a permit as the API renders it: Status is the status as of now (expired
// computed from the validity), StoredStatus what the issuer last set.
type permitView struct {
	*library.Permit
	Status       library.Status `json:"status"`
	StatusName   names          `json:"status_name"`
	StoredStatus library.Status `json:"stored_status"`
	// PublicView marks a view with only the type's public items (and a person's code masked).
	PublicView     bool  `json:"public_view,omitempty"`
	SignatureValid *bool `json:"signature_valid,omitempty"`
}

func (s *server) permitViewOf(p *library.Permit, public bool) permitView {
	st := p.State(s.now())
	zh, en := library.StatusName(st)
	return permitView{Permit: p, Status: st, StatusName: names{zh, en}, StoredStatus: p.Status, PublicView: public}
}

// libraryViewer is who reads a permit or an entity: nil for an anonymous caller.
type libraryViewer struct{ acct *account.Account }

// sees reports whether the viewer sees every item of a permit: operators and registrars see
// everything, an issuer the permits of its own department.
func (v libraryViewer) sees(p *library.Permit) bool {
	if v.acct == nil {
		return false
	}
	switch v.acct.Role {
	case account.Operator, account.Registrar:
		return true
	case account.Issuer:
		return v.acct.Authority == p.IssuerCode
	}
	return false
}

// seesAll reports whether the viewer sees everything of an entity, its service records included.
func (v libraryViewer) seesAll() bool {
	return v.acct != nil && (v.acct.Role == account.Operator || v.acct.Role == account.Registrar)
}

// libraryViewerOf authenticates an optional Bearer token: no token is an anonymous viewer, a bad
// one an error.
func (s *server) libraryViewerOf(r *http.Request) (libraryViewer, error) {
	if r.Header.Get("Authorization") == "" {
		return libraryViewer{}, nil
	}
	token, ok := bearer(r)
	if !ok {
		return libraryViewer{}, errNoToken
	}
	a, err := s.Accounts.AuthenticateToken(r.Context(), token)
	if err != nil {
		return libraryViewer{}, err
	}
	return libraryViewer{acct: a}, nil
}

// libraryActor authenticates the Bearer token of an account with one of roles.
func (s *server) libraryActor(r *http.Request, role account.Role) (library.Actor, error) {
	if s.Library == nil {
		return library.Actor{}, errLibraryOff
	}
	a, err := s.apiAccount(r, role)
	if err != nil {
		return library.Actor{}, err
	}
	act := library.Actor{ID: a.ID}
	if a.Role == account.Issuer {
		act.Department = a.Authority
	}
	return act, nil
}

// libraryInput authenticates the caller of a library write as an account with role and decodes
// the JSON body into v; on failure it renders the error and returns false.
func (s *server) libraryInput(w http.ResponseWriter, r *http.Request, role account.Role, v any) (library.Actor, bool) {
	a, err := s.libraryActor(r, role)
	if err == nil {
		err = decodeJSON(w, r, v)
	}
	if err != nil {
		s.apiError(w, r, err)
		return library.Actor{}, false
	}
	return a, true
}

// libraryReader is the viewer of a library read (libraryViewerOf); when the library is off or
// the token is bad it renders the error and returns false.
func (s *server) libraryReader(w http.ResponseWriter, r *http.Request) (libraryViewer, bool) {
	if s.Library == nil {
		s.apiError(w, r, errLibraryOff)
		return libraryViewer{}, false
	}
	v, err := s.libraryViewerOf(r)
	if err != nil {
		s.apiError(w, r, err)
		return libraryViewer{}, false
	}
	return v, true
}

// checkSignature records in v whether p's signature verifies; v says nothing when it could not
// be checked (a storage failure).
func (s *server) checkSignature(ctx context.Context, p *library.Permit, v *permitView) {
	if err := s.Library.VerifySignature(ctx, p); err == nil || errs.Is(err, errs.Invalid) {
		ok := err == nil
		v.SignatureValid = &ok
	}
}

// apiLibraryTypes answers GET /api/v1/library/types: every licence type, the business licence
// first.
func (s *server) apiLibraryTypes(w http.ResponseWriter, r *http.Request) {
	if s.Library == nil {
		s.apiError(w, r, errLibraryOff)
		return
	}
	ts, err := s.Library.Types(r.Context())
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, struct {
		Items []*library.Type `json:"items"`
	}{ts})
}

// apiLibraryType answers GET /api/v1/library/types/{code}.
func (s *server) apiLibraryType(w http.ResponseWriter, r *http.Request) {
	if s.Library == nil {
		s.apiError(w, r, errLibraryOff)
		return
	}
	t, err := s.Library.Type(r.Context(), r.PathValue("code"))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, t)
}

// apiLibraryAddType answers POST /api/v1/library/types: an operator registers a licence type.
func (s *server) apiLibraryAddType(w http.ResponseWriter, r *http.Request) {
	var t library.Type
	a, ok := s.libraryInput(w, r, account.Operator, &t)
	if !ok {
		return
	}
	created, err := s.Library.RegisterType(r.Context(), a, t)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/library/types/"+created.Code)
	writeJSON(w, http.StatusCreated, created)
}

// apiLibraryUpdateType answers PUT /api/v1/library/types/{code}: an operator replaces a type's
// definition.
func (s *server) apiLibraryUpdateType(w http.ResponseWriter, r *http.Request) {
	var t library.Type
	a, ok := s.libraryInput(w, r, account.Operator, &t)
	if !ok {
		return
	}
	updated, err := s.Library.UpdateType(r.Context(), a, r.PathValue("code"), t)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, updated)
}

// writePermit renders a permit just written, with its signature checked.
func (s *server) writePermit(w http.ResponseWriter, r *http.Request, status int, p *library.Permit) {
	v := s.permitViewOf(p, false)
	s.checkSignature(r.Context(), p, &v)
	if status == http.StatusCreated {
		w.Header().Set("Location", "/api/v1/library/licences/"+p.Identifier)
	}
	writeJSON(w, status, v)
}

// apiLibraryIssue answers POST /api/v1/library/licences: an issuer issues a permit.
func (s *server) apiLibraryIssue(w http.ResponseWriter, r *http.Request) {
	var in library.Issuance
	a, ok := s.libraryInput(w, r, account.Issuer, &in)
	if !ok {
		return
	}
	p, err := s.Library.Issue(r.Context(), a, in)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writePermit(w, r, http.StatusCreated, p)
}

// batchRow is the outcome of one row of a batch: the permit issued, or the problem.
type batchRow struct {
	Row        int      `json:"row"` // 1-based position in the request
	Outcome    string   `json:"outcome"`
	Identifier string   `json:"identifier,omitempty"`
	Error      *problem `json:"error,omitempty"`
}

// apiLibraryBatch answers POST /api/v1/library/licences/batch: an issuer issues up to 1,000
// permits; each row is reported (like the importer's report), and the valid rows are stored.
func (s *server) apiLibraryBatch(w http.ResponseWriter, r *http.Request) {
	a, err := s.libraryActor(r, account.Issuer)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	var ins []library.Issuance
	if err := decodeJSONArray(w, r, &ins); err != nil {
		s.apiError(w, r, err)
		return
	}
	res, err := s.Library.IssueBatch(r.Context(), a, ins)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	out := struct {
		Issued int        `json:"issued"`
		Failed int        `json:"failed"`
		Rows   []batchRow `json:"rows"`
	}{Rows: make([]batchRow, len(res))}
	for i, x := range res {
		row := batchRow{Row: i + 1}
		if x.Err != nil {
			p := s.describe(w, r, x.Err)
			p.RequestID = ""
			row.Outcome, row.Error = "failed", &p
			out.Failed++
		} else {
			row.Outcome, row.Identifier = "issued", x.Permit.Identifier
			out.Issued++
		}
		out.Rows[i] = row
	}
	writeJSON(w, http.StatusOK, out)
}

// decodeJSONArray is decodeJSON for the large body of a batch.
func decodeJSONArray(w http.ResponseWriter, r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return &statusError{http.StatusUnsupportedMediaType, errs.New(errs.Invalid, "Content-Type",
			"请求体须为 JSON（Content-Type: application/json），收到的是 "+quoteOrNone(ct, "无"),
			"the body must be JSON (Content-Type: application/json), got "+quoteOrNone(ct, "none"))}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBatchBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return errs.New(errs.TooLarge, "", "请求体过大（上限 16 MiB）", "request body too large (limit 16 MiB)")
		}
		return jsonError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return errs.New(errs.Invalid, "", "JSON 值之后还有多余的数据", "unexpected data after the JSON value")
	}
	return nil
}

// permitChangeRequest is the body of POST /api/v1/library/licences/{identifier}/versions.
type permitChangeRequest struct {
	PrevVersion int `json:"prev_version"`
	library.Issuance
}

// apiLibraryChange answers POST /api/v1/library/licences/{identifier}/versions: the issuing
// department records a change, which makes a new version.
func (s *server) apiLibraryChange(w http.ResponseWriter, r *http.Request) {
	var req permitChangeRequest
	a, ok := s.libraryInput(w, r, account.Issuer, &req)
	if !ok {
		return
	}
	p, err := s.Library.Change(r.Context(), a, r.PathValue("identifier"), req.PrevVersion, req.Issuance)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writePermit(w, r, http.StatusCreated, p)
}

// apiLibraryStatus answers POST /api/v1/library/licences/{identifier}/status: suspend, restore,
// cancel or revoke.
func (s *server) apiLibraryStatus(w http.ResponseWriter, r *http.Request) {
	var ch library.StatusChange
	a, ok := s.libraryInput(w, r, account.Issuer, &ch)
	if !ok {
		return
	}
	p, err := s.Library.SetStatus(r.Context(), a, r.PathValue("identifier"), ch)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writePermit(w, r, http.StatusOK, p)
}

// typeCache looks types up once per request.
type typeCache struct {
	lib *library.Service
	m   map[string]*library.Type
}

func (c *typeCache) get(ctx context.Context, code string) (*library.Type, error) {
	if t, ok := c.m[code]; ok {
		return t, nil
	}
	t, err := c.lib.Type(ctx, code)
	if errs.Is(err, errs.NotFound) {
		t, err = nil, nil // a type removed since: no item is public
	}
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]*library.Type{}
	}
	c.m[code] = t
	return t, nil
}

// viewPermit renders p for viewer v: everything, or the public items only.
func (s *server) viewPermit(ctx context.Context, v libraryViewer, types *typeCache, p *library.Permit) (permitView, error) {
	if v.sees(p) {
		return s.permitViewOf(p, false), nil
	}
	t, err := types.get(ctx, p.TypeCode)
	if err != nil {
		return permitView{}, err
	}
	return s.permitViewOf(library.Public(p, t), true), nil
}

// apiLibraryLicence answers GET /api/v1/library/licences/{identifier}: a permit version with its
// signature checked; anonymous callers see the public items only.
func (s *server) apiLibraryLicence(w http.ResponseWriter, r *http.Request) {
	viewer, ok := s.libraryReader(w, r)
	if !ok {
		return
	}
	p, err := s.Library.Get(r.Context(), r.PathValue("identifier"))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	v, err := s.viewPermit(r.Context(), viewer, &typeCache{lib: s.Library}, p)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.checkSignature(r.Context(), p, &v)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Add("Vary", "Authorization")
	writeJSON(w, http.StatusOK, v)
}

// entityView is one entity with everything the library holds about it.
type entityView struct {
	Code     string        `json:"code"`
	Licence  *licenceView  `json:"licence,omitempty"`
	Versions []licenceView `json:"versions"`
	Permits  []permitView  `json:"permits"`
	// Records are the recent service records, for operators and registrars only.
	Records     []library.Record `json:"records,omitempty"`
	NextRecords string           `json:"next_records,omitempty"`
}

// entityViewOf renders e for viewer v.
func (s *server) entityViewOf(ctx context.Context, v libraryViewer, e *library.Entity) (*entityView, error) {
	out := &entityView{Code: e.Code, Versions: make([]licenceView, len(e.Versions)), Permits: make([]permitView, len(e.Permits))}
	for i, l := range e.Versions {
		out.Versions[i] = viewOf(l)
	}
	if e.Licence != nil {
		lv := viewOf(e.Licence)
		out.Licence = &lv
	}
	types := &typeCache{lib: s.Library}
	for i, p := range e.Permits {
		pv, err := s.viewPermit(ctx, v, types, p)
		if err != nil {
			return nil, err
		}
		out.Permits[i] = pv
	}
	if v.seesAll() {
		out.Records, out.NextRecords = e.Records, e.NextRecords
	}
	return out, nil
}

// apiLibraryEntity answers GET /api/v1/library/entities/{code}: the entity's business licence
// with all versions, its other licences with their statuses, and (for operators and registrars)
// its recent service records.
func (s *server) apiLibraryEntity(w http.ResponseWriter, r *http.Request) {
	viewer, ok := s.libraryReader(w, r)
	if !ok {
		return
	}
	e, err := s.Library.Entity(r.Context(), r.PathValue("code"))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	v, err := s.entityViewOf(r.Context(), viewer, e)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Add("Vary", "Authorization")
	writeJSON(w, http.StatusOK, v)
}

// libraryPermitRow is a permit on the admin page, with its items labelled in schema order.
type libraryPermitRow struct {
	permitView
	Sheet library.Sheet
}

// libraryPage is the content of the admin page of an entity.
type libraryPage struct {
	Code     string
	Current  *licenceView
	Versions []licenceView // newest first
	Permits  []libraryPermitRow
	Records  []library.Record
	Next     string // link to older records
}

// adminLibrary answers GET /admin/library/{code}: the entity's business licence versions, its
// permits and its service records, for operators and registrars.
func (s *server) adminLibrary(w http.ResponseWriter, r *http.Request) {
	st, ok := s.signIn(w, r, account.Operator, account.Registrar)
	if !ok {
		return
	}
	if s.Library == nil {
		s.staffError(w, r, st, errLibraryOff)
		return
	}
	code := r.PathValue("code")
	e, err := s.Library.Entity(r.Context(), code)
	if err != nil {
		s.staffError(w, r, st, err)
		return
	}
	d := &libraryPage{Code: e.Code, Records: e.Records}
	if before := r.URL.Query().Get("before"); before != "" {
		if d.Records, e.NextRecords, err = s.Library.Records(r.Context(), e.Code, library.Page{Before: before}); err != nil {
			s.staffError(w, r, st, err)
			return
		}
	}
	if e.NextRecords != "" {
		d.Next = "/admin/library/" + e.Code + "?before=" + e.NextRecords
	}
	for _, l := range slices.Backward(e.Versions) {
		d.Versions = append(d.Versions, viewOf(l))
	}
	if len(d.Versions) > 0 {
		d.Current = &d.Versions[0]
	}
	types := &typeCache{lib: s.Library}
	now := s.now()
	for _, p := range e.Permits {
		t, err := types.get(r.Context(), p.TypeCode)
		if err != nil {
			s.staffError(w, r, st, err)
			return
		}
		if t == nil {
			t = &library.Type{Code: p.TypeCode, Name: p.TypeName, NameEN: p.TypeName}
		}
		d.Permits = append(d.Permits, libraryPermitRow{permitView: s.permitViewOf(p, false), Sheet: library.SheetOf(p, t, now)})
	}
	title := e.Code
	if d.Current != nil {
		title = d.Current.Face.Name
	}
	s.render(w, r, http.StatusOK, "library", s.staffPage(st, "licences", title, d))
}
