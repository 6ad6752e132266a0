package web

import (
	"context"
	"net/http"
	"time"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/library"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/sharing"
)

// The sharing service for departments' systems (internal/sharing): the platform's JSON API under
// /api/v1/sharing/ and the same operations in the national-style envelope
// ({head:{status,message},data}, STANDARDS §7) under /api/gov/v1/sharing/. Callers present a
// client-credentials access token (Authorization: Bearer …); every request body carries the
// purpose: use_cause, service_item, case_number.

var errSharingOff = errs.New(errs.Unavailable, "", "本平台未启用证照共享服务", "the licence sharing service is not enabled on this platform")

// Request bodies; the embedded Purpose adds use_cause, service_item and case_number.
type (
	shareQueryRequest struct {
		sharing.Purpose
		Identifier string `json:"identifier"`
		// NonPublic asks for non-public items (capital, form, or *), which need the entity's
		// authorisation (sharing_consent.go).
		NonPublic []string `json:"non_public,omitempty"`
	}
	shareListRequest struct {
		sharing.Purpose
		HolderCode     string `json:"holder_code"`
		HolderCodeType string `json:"holder_code_type"`
		TypeCode       string `json:"type_code,omitempty"`
	}
	shareVerifyRequest struct {
		sharing.Purpose
		sharing.Fields
	}
	shareBatchQueryRequest struct {
		sharing.Purpose
		Items []string `json:"items"`
	}
	shareBatchVerifyRequest struct {
		sharing.Purpose
		Items []sharing.Fields `json:"items"`
	}
	shareFileRequest struct {
		sharing.Purpose
		File []byte `json:"file"` // base64 in JSON
	}
	shareQRRequest struct {
		sharing.Purpose
		Token string `json:"token"`
	}
)

// shareList is the answer of a listing.
type shareList struct {
	Licences []*sharing.Record `json:"licences"`
}

// shareBatchItem is one answer of a batch query.
type shareBatchItem struct {
	Identifier string          `json:"identifier"`
	Licence    *sharing.Record `json:"licence,omitempty"`
	Error      *itemError      `json:"error,omitempty"`
}

type itemError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type shareBatchQuery struct {
	Results []shareBatchItem `json:"results"`
}

type shareBatchVerify struct {
	Results []*sharing.Verification `json:"results"`
}

// shareOp is one operation: decode the body, make the service call, return what to render.
type shareOp func(ctx context.Context, c *sharing.Caller, w http.ResponseWriter, r *http.Request) (any, error)

// shareHandler wraps an operation for the platform's API (gov false) or the national-style
// envelope.
func (s *server) shareHandler(gov bool, op shareOp) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		data, err := s.shareCall(w, r, op)
		w.Header().Set("Cache-Control", "no-store")
		if gov {
			s.govEnvelope(w, r, data, err)
			return
		}
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, data)
	}
}

func (s *server) shareCall(w http.ResponseWriter, r *http.Request, op shareOp) (any, error) {
	if s.Sharing == nil {
		return nil, errSharingOff
	}
	token, _ := bearer(r)
	c, err := s.Sharing.Authenticate(r.Context(), token)
	if err != nil {
		return nil, err
	}
	return op(r.Context(), c, w, r)
}

func (s *server) shareQuery(ctx context.Context, c *sharing.Caller, w http.ResponseWriter, r *http.Request) (any, error) {
	var req shareQueryRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return nil, err
	}
	return s.Sharing.QueryItems(ctx, c, req.Purpose, req.Identifier, req.NonPublic)
}

func (s *server) shareList(ctx context.Context, c *sharing.Caller, w http.ResponseWriter, r *http.Request) (any, error) {
	var req shareListRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return nil, err
	}
	l, err := s.Sharing.ListByHolder(ctx, c, req.Purpose, req.HolderCode, req.HolderCodeType, req.TypeCode)
	if err != nil {
		return nil, err
	}
	return shareList{l}, nil
}

func (s *server) shareVerify(ctx context.Context, c *sharing.Caller, w http.ResponseWriter, r *http.Request) (any, error) {
	var req shareVerifyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return nil, err
	}
	return s.Sharing.VerifyFields(ctx, c, req.Purpose, req.Fields)
}

func (s *server) shareBatchQuery(ctx context.Context, c *sharing.Caller, w http.ResponseWriter, r *http.Request) (any, error) {
	var req shareBatchQueryRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return nil, err
	}
	res, err := s.Sharing.BatchQuery(ctx, c, req.Purpose, req.Items)
	if err != nil {
		return nil, err
	}
	lang := langOf(r)
	out := shareBatchQuery{Results: make([]shareBatchItem, len(res))}
	for i, x := range res {
		out.Results[i] = shareBatchItem{Identifier: x.Identifier, Licence: x.Record}
		if e := errs.As(x.Err); e != nil {
			out.Results[i].Error = &itemError{Code: e.Kind.String(), Message: e.Message(lang)}
		}
	}
	return out, nil
}

func (s *server) shareBatchVerify(ctx context.Context, c *sharing.Caller, w http.ResponseWriter, r *http.Request) (any, error) {
	var req shareBatchVerifyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return nil, err
	}
	res, err := s.Sharing.BatchVerify(ctx, c, req.Purpose, req.Items)
	if err != nil {
		return nil, err
	}
	return shareBatchVerify{res}, nil
}

func (s *server) shareVerifyFile(ctx context.Context, c *sharing.Caller, w http.ResponseWriter, r *http.Request) (any, error) {
	var req shareFileRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return nil, err
	}
	return s.Sharing.VerifyFile(ctx, c, req.Purpose, req.File)
}

func (s *server) shareVerifyQR(ctx context.Context, c *sharing.Caller, w http.ResponseWriter, r *http.Request) (any, error) {
	var req shareQRRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return nil, err
	}
	return s.Sharing.VerifyQR(ctx, c, req.Purpose, req.Token)
}

// apiSharePermission answers POST /api/v1/sharing/permissions: an operator sets what a client
// may do with a licence type.
func (s *server) apiSharePermission(w http.ResponseWriter, r *http.Request) {
	if s.Sharing == nil {
		s.apiError(w, r, errSharingOff)
		return
	}
	a, err := s.apiAccount(r, account.Operator)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	var req sharing.Permission
	if err := decodeJSON(w, r, &req); err != nil {
		s.apiError(w, r, err)
		return
	}
	p, err := s.Sharing.Grant(r.Context(), "account:"+a.ID, sharing.Permission{ClientID: req.ClientID, TypeCode: req.TypeCode, Operations: req.Operations})
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// Status codes of the national-style envelope (STANDARDS §7).
const (
	govOK           = 0
	govNoLicence    = 10
	govAuthFailed   = 11
	govMissingParam = 12
	govUnknownType  = 13
	govCancelled    = 21
	govExpired      = 22
	govRestricted   = 23
	govNoPermission = 100
	govInternal     = 500 // not in the contract: the platform itself failed (HTTP 5xx too)
)

type govHead struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
}

type govBody struct {
	Head govHead `json:"head"`
	Data any     `json:"data"`
}

var govWords = map[int]text{
	govOK:         {"成功", "ok"},
	govNoLicence:  {"无匹配的证照", "no matching licence"},
	govCancelled:  {"证照已注销或吊销", "the licence is cancelled or revoked"},
	govExpired:    {"证照已过有效期", "the licence has expired"},
	govRestricted: {"证照已暂停使用", "the licence is suspended"},
}

// govEnvelope renders an answer in the national-style envelope: HTTP 200 with the contract's
// status in head for every answer of the contract; HTTP 5xx only when the platform failed.
func (s *server) govEnvelope(w http.ResponseWriter, r *http.Request, data any, err error) {
	lang := langOf(r)
	w.Header().Add("Vary", "Accept-Language")
	if err != nil {
		p := s.describe(w, r, err)
		status, code := http.StatusOK, govStatusOf(err)
		if code == govInternal {
			status = p.Status
		}
		if code == govNoLicence {
			p.Message = govWords[govNoLicence].in(lang) + "：" + p.Message
		}
		writeJSON(w, status, govBody{Head: govHead{Status: code, Message: p.Message}})
		return
	}
	code := govOK
	switch d := data.(type) {
	case *sharing.Record:
		code = govRecordStatus(d, s.Clock())
	case shareList:
		if len(d.Licences) == 0 {
			code = govNoLicence
		} else {
			code = govRecordStatus(d.Licences[0], s.Clock())
		}
	}
	writeJSON(w, http.StatusOK, govBody{Head: govHead{Status: code, Message: govWords[code].in(lang)}, Data: data})
}

// govStatusOf maps an error to the envelope's status.
func govStatusOf(err error) int {
	if sharing.IsUnknownType(err) {
		return govUnknownType
	}
	switch errs.KindOf(err) {
	case errs.NotFound:
		return govNoLicence
	case errs.Unauthenticated:
		return govAuthFailed
	case errs.Invalid, errs.TooLarge:
		return govMissingParam
	case errs.Forbidden:
		return govNoPermission
	}
	return govInternal
}

// govRecordStatus is the envelope's status of a licence answer: 21 cancelled or revoked, 23
// suspended, 22 past the end of its term, else 0.
func govRecordStatus(rec *sharing.Record, now time.Time) int {
	switch rec.Status {
	case license.Cancelled, license.Revoked:
		return govCancelled
	case license.Suspended:
		return govRestricted
	case license.Status(library.Expired): // a permit past its validity
		return govExpired
	}
	if to := rec.Face.TermTo; to != "" && to != license.LongTerm && to < now.UTC().Format(time.DateOnly) {
		return govExpired
	}
	return govOK
}
