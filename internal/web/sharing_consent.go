package web

// The sharing service's second slice for departments' systems (internal/sharing; issue 5 items
// 4–7): consent requests and their polling, one-time download URLs of watermarked copies and
// the copies themselves, archive receipts and their verification, and a department's own
// usage records (operators: everyone's). The same operations answer in the national-style
// envelope under /api/gov/v1/sharing/. The entity's side is in wallet_consent.go.

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/sharing"
)

// Request bodies.
type (
	shareConsentRequest struct {
		sharing.Purpose
		EntityCode string `json:"entity_code"`
		sharing.Want
	}
	shareDownloadRequest struct {
		sharing.Purpose
		Identifier string `json:"identifier"`
		Format     string `json:"format"`
	}
	shareArchiveRequest struct {
		sharing.Purpose
		Identifier string `json:"identifier"`
	}
)

// consentRequestView is a consent request as its department sees it.
type consentRequestView struct {
	ID          string     `json:"id"`
	Status      string     `json:"status"` // pending, approved, declined, revoked, expired
	EntityCode  string     `json:"entity_code"`
	ServiceItem string     `json:"service_item"`
	CaseNumber  string     `json:"case_number"`
	UseCause    string     `json:"use_cause"`
	NonPublic   []string   `json:"non_public"`
	Download    bool       `json:"download"`
	CreatedAt   time.Time  `json:"created_at"`
	ValidUntil  time.Time  `json:"valid_until"` // of the request while pending; of the approval once approved
	DecidedAt   *time.Time `json:"decided_at,omitempty"`
}

func (s *server) requestView(k *sharing.Consent) *consentRequestView {
	v := &consentRequestView{ID: k.ID, Status: sharing.ConsentState(k, s.now()), EntityCode: k.EntityCode,
		ServiceItem: strings.Join(k.Items, ","), CaseNumber: k.CaseNumber, UseCause: k.Cause, NonPublic: []string{},
		CreatedAt: k.CreatedAt, ValidUntil: k.ValidUntil}
	for _, c := range k.Covers {
		if c == sharing.ItemDownload {
			v.Download = true
		} else {
			v.NonPublic = append(v.NonPublic, c)
		}
	}
	if !k.DecidedAt.IsZero() {
		t := k.DecidedAt
		v.DecidedAt = &t
	}
	return v
}

func (s *server) shareConsentRequest(ctx context.Context, c *sharing.Caller, w http.ResponseWriter, r *http.Request) (any, error) {
	var req shareConsentRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return nil, err
	}
	k, err := s.Sharing.RequestConsent(ctx, c, req.Purpose, req.EntityCode, req.Want)
	if err != nil {
		return nil, err
	}
	return s.requestView(k), nil
}

func (s *server) shareConsentPoll(ctx context.Context, c *sharing.Caller, w http.ResponseWriter, r *http.Request) (any, error) {
	k, err := s.Sharing.ConsentRequest(ctx, c, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return s.requestView(k), nil
}

// downloadView is the answer of a download: the one-time URL.
type downloadView struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// baseURL is where the platform is reached: PublicURL, or the request's own host.
func (s *server) baseURL(r *http.Request) string {
	if s.PublicURL != "" {
		return strings.TrimSuffix(s.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *server) shareDownload(ctx context.Context, c *sharing.Caller, w http.ResponseWriter, r *http.Request) (any, error) {
	var req shareDownloadRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return nil, err
	}
	d, err := s.Sharing.Download(ctx, c, req.Purpose, req.Identifier, req.Format)
	if err != nil {
		return nil, err
	}
	return downloadView{URL: s.baseURL(r) + "/api/v1/sharing/files/" + d.Token, ExpiresAt: d.ExpiresAt}, nil
}

// shareFile answers GET /api/v1/sharing/files/{token}: the watermarked copy, once. The URL is
// the credential; a used or expired one is 410 Gone.
func (s *server) shareFile(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if s.Sharing == nil {
		s.apiError(w, r, errSharingOff)
		return
	}
	f, err := s.Sharing.Fetch(r.Context(), r.PathValue("token"))
	if err != nil {
		if sharing.IsGone(err) {
			err = &statusError{http.StatusGone, errs.As(err)}
		}
		s.apiError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", map[string]string{"ofd": "application/ofd", "pdf": "application/pdf"}[f.Format])
	h.Set("Content-Disposition", "attachment; filename=\""+f.Name+"\"")
	h.Set("Content-Length", strconv.Itoa(len(f.Body)))
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(f.Body)
}

func (s *server) shareArchive(ctx context.Context, c *sharing.Caller, w http.ResponseWriter, r *http.Request) (any, error) {
	var req shareArchiveRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return nil, err
	}
	return s.Sharing.Archive(ctx, c, req.Purpose, req.Identifier)
}

func (s *server) shareArchiveVerify(ctx context.Context, c *sharing.Caller, w http.ResponseWriter, r *http.Request) (any, error) {
	var req sharing.Receipt
	if err := decodeJSON(w, r, &req); err != nil {
		return nil, err
	}
	return s.Sharing.VerifyReceipt(ctx, c, req)
}

func (s *server) shareArchives(ctx context.Context, c *sharing.Caller, w http.ResponseWriter, r *http.Request) (any, error) {
	q := r.URL.Query()
	limit, err := intParam(q, "limit")
	if err != nil {
		return nil, err
	}
	return s.Sharing.Archives(ctx, c, q.Get("cursor"), int(limit))
}

// intParam reads an optional non-negative integer query parameter.
func intParam(q url.Values, name string) (int64, error) {
	v := strings.TrimSpace(q.Get(name))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, errs.Invalidf(name, "%s 须为非负整数（收到 %q）", "%s must be a non-negative integer (got %q)", name, v)
	}
	return n, nil
}

// timeParam reads an optional time: RFC 3339, or a date (the start of that day in China).
func timeParam(q url.Values, name string) (time.Time, error) {
	v := strings.TrimSpace(q.Get(name))
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, ok := parseDay(v); ok {
		return t, nil
	}
	return time.Time{}, errs.Invalidf(name, "%s 须为日期（2026-01-31）或 RFC 3339 时间（收到 %q）",
		"%s must be a date (2026-01-31) or an RFC 3339 time (got %q)", name, v)
}

// usageFilter reads the filter of a usage listing from the query string.
func usageFilter(q url.Values) (sharing.UsageFilter, error) {
	var f sharing.UsageFilter
	var list errs.List
	var err error
	if f.Since, err = timeParam(q, "since"); err != nil {
		list = append(list, errs.As(err))
	}
	if f.Until, err = timeParam(q, "until"); err != nil {
		list = append(list, errs.As(err))
	}
	if f.Before, err = intParam(q, "before"); err != nil {
		list = append(list, errs.As(err))
	}
	n, err := intParam(q, "limit")
	if err != nil {
		list = append(list, errs.As(err))
	}
	f.Limit, f.Item = int(min(n, sharing.MaxUsagePage)), strings.TrimSpace(q.Get("service_item"))
	return f, list.Err()
}

// shareCalls answers GET /api/v1/sharing/calls: a department's own usage records (its
// client-credentials token), or, for an operator's API token, every record, optionally of one
// client_id or entity_code.
func (s *server) shareCalls(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	page, err := s.calls(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *server) calls(r *http.Request) (*sharing.UsagePage, error) {
	if s.Sharing == nil {
		return nil, errSharingOff
	}
	ctx, q := r.Context(), r.URL.Query()
	f, err := usageFilter(q)
	if err != nil {
		return nil, err
	}
	token, _ := bearer(r)
	if strings.HasPrefix(token, "elt_") { // a platform API token: operators see all
		if _, err := s.apiAccount(r, account.Operator); err != nil {
			return nil, err
		}
		f.ClientID, f.EntityCode = strings.TrimSpace(q.Get("client_id")), strings.TrimSpace(q.Get("entity_code"))
		return s.Sharing.Usage(ctx, f)
	}
	c, err := s.Sharing.Authenticate(ctx, token)
	if err != nil {
		return nil, err
	}
	f.EntityCode = strings.TrimSpace(q.Get("entity_code"))
	return s.Sharing.CallsOf(ctx, c.ClientID, f)
}
