package web

// Signing on behalf of an entity (internal/signing, issue 7 item 3) and the wallet's inbox
// (internal/inbox, issue 7 item 2).
//
// Portals (OpenID Connect clients with a client-credentials token and the scope "signing") send
// a document to be signed with POST /api/v1/signing/requests, poll GET …/{id} and fetch the
// sealed file from GET …/{id}/document. In the wallet, /wallet/inbox lists what waits for the
// person; /wallet/sign/{id} shows a request (the document itself at …/document, only to a person
// who may act on it) with the confirmation form (licence PIN, personal PIN or passkey) and the
// decline button.

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/inbox"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/signing"
)

var errSigningOff = errs.New(errs.Unavailable, "", "本平台未启用代表市场主体签署文件的服务", "signing on behalf of entities is not enabled on this platform")

// maxSignBody is the body limit of a signing request: a 10 MB document in base64 and the rest.
const maxSignBody = (signing.MaxDocument/3+1)*4 + 64<<10

// signRequestJSON is a signing request as a portal sees it.
type signRequestJSON struct {
	ID          string     `json:"id"`
	Status      string     `json:"status"`
	EntityCode  string     `json:"entity_code"`
	EntityName  string     `json:"entity_name"`
	Title       string     `json:"title"`
	Purpose     string     `json:"purpose"`
	ServiceItem string     `json:"service_item,omitempty"`
	Format      string     `json:"format"`
	Pages       int        `json:"pages"`
	Size        int        `json:"size"`
	DocumentSM3 string     `json:"document_sm3"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	DecidedAt   *time.Time `json:"decided_at,omitempty"`
	SignerRole  string     `json:"signer_role,omitempty"`
	SignedSM3   string     `json:"signed_sm3,omitempty"`
	DocumentURL string     `json:"document_url,omitempty"`
}

func signJSON(r *signing.Request) signRequestJSON {
	out := signRequestJSON{ID: r.ID, Status: string(r.Status), EntityCode: r.EntityCode, EntityName: r.EntityName,
		Title: r.Title, Purpose: r.Purpose, ServiceItem: r.ServiceItem, Format: r.Format, Pages: r.Pages, Size: r.DocSize,
		DocumentSM3: hex.EncodeToString(r.DocHash), CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC()}
	if !r.DecidedAt.IsZero() {
		t := r.DecidedAt.UTC()
		out.DecidedAt, out.SignerRole = &t, string(r.Role)
	}
	if r.Status == signing.Signed {
		out.SignedSM3 = hex.EncodeToString(r.SignedHash)
		out.DocumentURL = "/api/v1/signing/requests/" + r.ID + "/document"
	}
	return out
}

// signCaller authenticates the portal of an API request: a client-credentials access token of
// this platform with the scope "signing".
func (s *server) signCaller(r *http.Request) (*signing.Caller, error) {
	if s.Signing == nil || s.OIDC == nil {
		return nil, errSigningOff
	}
	token, ok := bearer(r)
	if !ok {
		return nil, errs.New(errs.Unauthenticated, "Authorization", "需要客户端凭证访问令牌：Authorization: Bearer …",
			"a client-credentials access token is required: Authorization: Bearer …")
	}
	t, err := s.OIDC.VerifyAccessToken(r.Context(), token)
	if err != nil {
		return nil, err
	}
	if !t.Machine {
		return nil, errs.New(errs.Unauthenticated, "Authorization", "签署接口只接受客户端凭证（client_credentials）令牌",
			"the signing API accepts client-credentials tokens only")
	}
	if !t.HasScope(oidc.ScopeSigning) {
		return nil, errs.New(errs.Forbidden, "scope", "访问令牌没有 signing 权限范围", "the access token lacks the scope \"signing\"")
	}
	c, err := s.OIDC.Client(r.Context(), t.ClientID)
	if err != nil {
		return nil, err
	}
	return &signing.Caller{ClientID: c.ID, Name: c.Name, Department: c.Department}, nil
}

// signAPICaller is signCaller for a handler of the signing API: its responses are never cached,
// and a caller refused gets the error rendered (false).
func (s *server) signAPICaller(w http.ResponseWriter, r *http.Request) (*signing.Caller, bool) {
	w.Header().Set("Cache-Control", "no-store")
	c, err := s.signCaller(r)
	if err != nil {
		s.apiError(w, r, err)
		return nil, false
	}
	return c, true
}

// decodeSignJSON is decodeJSON with the larger limit of a document upload.
func decodeSignJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return &statusError{http.StatusUnsupportedMediaType, errs.New(errs.Invalid, "Content-Type",
			"请求体须为 JSON（Content-Type: application/json）", "the body must be JSON (Content-Type: application/json)")}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxSignBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if err = dec.Decode(&struct{}{}); errors.Is(err, io.EOF) {
			return nil
		} else if err == nil {
			return errs.New(errs.Invalid, "", "JSON 值之后还有多余的数据", "unexpected data after the JSON value")
		}
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return &errs.Error{Kind: errs.TooLarge, Field: "document", ZH: fmt.Sprintf("请求体过大：文件上限 %d MB", signing.MaxDocument>>20),
			EN: fmt.Sprintf("the request is too large: the document may have at most %d MB", signing.MaxDocument>>20)}
	}
	return jsonError(err)
}

// apiSignSubmit answers POST /api/v1/signing/requests.
func (s *server) apiSignSubmit(w http.ResponseWriter, r *http.Request) {
	c, ok := s.signAPICaller(w, r)
	if !ok {
		return
	}
	var in signing.NewRequest
	if err := decodeSignJSON(w, r, &in); err != nil {
		s.apiError(w, r, err)
		return
	}
	req, err := s.Signing.Submit(r.Context(), c, in)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/signing/requests/"+req.ID)
	writeJSON(w, http.StatusCreated, signJSON(req))
}

// apiSignGet answers GET /api/v1/signing/requests/{id}: the portal polls its request.
func (s *server) apiSignGet(w http.ResponseWriter, r *http.Request) {
	c, ok := s.signAPICaller(w, r)
	if !ok {
		return
	}
	req, err := s.Signing.Get(r.Context(), c, r.PathValue("id"))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, signJSON(req))
}

// apiSignDocument answers GET /api/v1/signing/requests/{id}/document: the sealed file.
func (s *server) apiSignDocument(w http.ResponseWriter, r *http.Request) {
	c, ok := s.signAPICaller(w, r)
	if !ok {
		return
	}
	req, err := s.Signing.SignedDocument(r.Context(), c, r.PathValue("id"))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	writeFile(w, req.SignedDoc, req.Format, req.ID+"-signed", "attachment")
}

// writeFile sends a document: PDF or OFD, inline (the browser's viewer) or as an attachment.
func writeFile(w http.ResponseWriter, b []byte, format, name, disposition string) {
	h := w.Header()
	typ := "application/ofd"
	if format == "pdf" {
		typ = "application/pdf"
		// The browser's PDF viewer is a plugin: let it run for this response only.
		h.Set("Content-Security-Policy", "default-src 'none'; object-src 'self'; frame-ancestors 'none'")
	}
	h.Set("Content-Type", typ)
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": name + "." + format}))
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// ---- wallet ----

// inboxPage is the content of /wallet/inbox.
type inboxPage struct {
	Items []inbox.Item
}

// walletInbox answers GET /wallet/inbox: everything waiting for the person's confirmation.
func (s *server) walletInbox(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	var items []inbox.Item
	if s.Inbox != nil {
		var err error
		if items, err = s.Inbox.List(r.Context(), u.p.ID); err != nil {
			s.walletError(w, r, u, err)
			return
		}
	}
	s.signRender(w, r, http.StatusOK, "inbox", "inbox.title", u, &walletData{Nav: "home", Page: &inboxPage{Items: items}})
}

// inboxCount is the number on the wallet home's badge (0 without an inbox).
func (s *server) inboxCount(r *http.Request, u *walletUser) (int, error) {
	if s.Inbox == nil {
		return 0, nil
	}
	return s.Inbox.Count(r.Context(), u.p.ID)
}

// signPage is the content of /wallet/sign/{id}.
type signPage struct {
	It       *signing.Item
	Pending  bool
	PINLabel string // holders: the licence PIN; others: the personal PIN
	NoPIN    bool   // an administrator or agent without a personal PIN
	Passkey  bool
	Problem  *problem
	Errors   map[string]string
}

// DocSM3 is the document's SM3 hash in hex, grouped for reading.
func (p *signPage) DocSM3() string {
	h := hex.EncodeToString(p.It.DocHash)
	var b strings.Builder
	for i := 0; i < len(h); i += 8 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(h[i:min(i+8, len(h))])
	}
	return b.String()
}

// SizeKB is the document's size in kilobytes.
func (p *signPage) SizeKB() string {
	return strconv.FormatFloat(float64(p.It.DocSize)/1024, 'f', 1, 64)
}

// RoleKey is the word key of the person's role.
func (p *signPage) RoleKey() string { return "role." + string(p.It.Role.Kind) }

func (s *server) renderSign(w http.ResponseWriter, r *http.Request, u *walletUser, status int, it *signing.Item, p *problem, fe map[string]string) {
	d := &signPage{It: it, Pending: it.Status == signing.Pending, Problem: p, Errors: fe, PINLabel: "scan.pin.holder"}
	if it.Role.Kind != identity.RoleHolder {
		d.PINLabel, d.NoPIN = "scan.pin.own", u.p.PINHash == ""
	}
	if devs, err := s.Identity.Devices(r.Context(), u.p.ID); err == nil {
		d.Passkey = len(devs) > 0
	}
	s.signRender(w, r, status, "sign", "sign.title", u, &walletData{Nav: "home", Page: d})
}

// walletSign answers GET /wallet/sign/{id}: the request, to preview and confirm or decline.
func (s *server) walletSign(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	if s.Signing == nil {
		s.walletError(w, r, u, errSigningOff)
		return
	}
	it, err := s.Signing.View(r.Context(), u.p.ID, r.PathValue("id"))
	if err != nil {
		s.walletError(w, r, u, err)
		return
	}
	s.renderSign(w, r, u, http.StatusOK, it, nil, nil)
}

// walletSignDocument answers GET /wallet/sign/{id}/document: the document as the portal sent it,
// to the persons who may act on the request only (the PDF opens in the browser's viewer).
func (s *server) walletSignDocument(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	if s.Signing == nil {
		s.walletError(w, r, u, errSigningOff)
		return
	}
	it, err := s.Signing.View(r.Context(), u.p.ID, r.PathValue("id"))
	if err != nil {
		s.walletError(w, r, u, err)
		return
	}
	disp := "inline"
	if it.Format != "pdf" {
		disp = "attachment"
	}
	writeFile(w, it.Document, it.Format, it.ID, disp)
}

// signDonePage is the content of the page after a confirmation or a decline.
type signDonePage struct {
	Req    *signing.Request
	Signed bool
}

// walletSignConfirm answers POST /wallet/sign/{id}/confirm: sign with the licence PIN, the
// personal PIN or a passkey.
func (s *server) walletSignConfirm(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	if s.Signing == nil {
		s.walletError(w, r, u, errSigningOff)
		return
	}
	ctx, id := r.Context(), r.PathValue("id")
	err := s.walletLimit(r, oidc.LimitConfirm)
	var req *signing.Request
	if err == nil {
		req, err = s.Signing.Confirm(ctx, u.p.ID, id, proofOf(r))
	}
	if err != nil {
		// A wrong PIN can be corrected on the page; a request that can no longer be confirmed
		// (expired, decided, not the person's) cannot, and its error is the page.
		it, verr := s.Signing.View(ctx, u.p.ID, id)
		if verr != nil || it.Status != signing.Pending {
			s.walletError(w, r, u, err)
			return
		}
		p, fe, ok := s.formProblem(w, r, u, err)
		if ok {
			s.renderSign(w, r, u, p.Status, it, p, fe)
		}
		return
	}
	s.signRender(w, r, http.StatusOK, "sign_done", "sign.title", u, &walletData{Nav: "home", Page: &signDonePage{Req: req, Signed: true}})
}

// walletSignDecline answers POST /wallet/sign/{id}/decline.
func (s *server) walletSignDecline(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	if s.Signing == nil {
		s.walletError(w, r, u, errSigningOff)
		return
	}
	req, err := s.Signing.Decline(r.Context(), u.p.ID, r.PathValue("id"))
	if err != nil {
		s.walletError(w, r, u, err)
		return
	}
	s.signRender(w, r, http.StatusOK, "sign_done", "sign.title", u, &walletData{Nav: "home", Page: &signDonePage{Req: req}})
}

// pageText is one page of an OFD document's text, numbered from 1.
type pageText struct {
	N    int
	Text string
}

// Texts returns the OFD document's text by page.
func (p *signPage) Texts() []pageText {
	out := make([]pageText, len(p.It.DocText))
	for i, t := range p.It.DocText {
		out[i] = pageText{N: i + 1, Text: t}
	}
	return out
}
