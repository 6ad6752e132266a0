package web

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/elicense/elicense/internal/errs"
)

// statusError gives an error a status that no error kind expresses (415, 405).
type statusError struct {
	status int
	err    *errs.Error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// Errors of the HTTP layer itself.
var (
	errCSRF = errs.New(errs.Forbidden, "csrf",
		"表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试", "the form has expired or comes from another site (CSRF check failed); reload the page and try again")
	errNoToken = errs.New(errs.Unauthenticated, "Authorization",
		"需要 API 令牌：Authorization: Bearer elt_…", "an API token is required: Authorization: Bearer elt_…")
	errNotFound = errs.New(errs.NotFound, "", "没有这个页面或接口", "no such page or endpoint")
	errTooLarge = errs.New(errs.TooLarge, "", "请求体过大（上限 1 MiB）", "request body too large (limit 1 MiB)")
)

// errMethod is the error of a request whose method the path does not accept.
func errMethod(allow string) *errs.Error {
	return errs.New(errs.Invalid, "", "此地址不接受该请求方法（可用："+allow+"）", "method not allowed here (allowed: "+allow+")")
}

// statusOf is the one place that maps an error to an HTTP status.
func statusOf(err error) int {
	if se, ok := errors.AsType[*statusError](err); ok {
		return se.status
	}
	switch errs.KindOf(err) {
	case errs.Invalid:
		return http.StatusBadRequest
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Conflict:
		return http.StatusConflict
	case errs.Unauthenticated:
		return http.StatusUnauthorized
	case errs.Forbidden:
		return http.StatusForbidden
	case errs.TooLarge:
		return http.StatusRequestEntityTooLarge
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	case errs.TooMany:
		return http.StatusTooManyRequests
	default:
		return http.StatusInternalServerError
	}
}

// problem is what a user is told about an error.
type problem struct {
	Status    int           `json:"-"`
	Code      string        `json:"code"`
	Message   string        `json:"message"`
	Field     string        `json:"field,omitempty"`
	RequestID string        `json:"request_id"`
	Details   []fieldDetail `json:"details,omitempty"` // every validation error when there are several
}

type fieldDetail struct {
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// describe turns err into what the user may see, in their language. Internal and unavailable
// errors are logged with the request ID; the user sees only the ID.
func (s *server) describe(w http.ResponseWriter, r *http.Request, err error) problem {
	id := requestID(w)
	p := problem{Status: statusOf(err), RequestID: id}
	lang := langOf(r)
	e := errs.As(err)
	if e == nil || e.Kind == errs.Internal || e.Kind == errs.Unavailable {
		s.Logger.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("request_id", id), slog.String("route", routeOf(w)), slog.Any("error", err))
		p.Code = errs.Internal.String()
		p.Message = text{"服务器内部错误，请凭请求编号 " + id + " 联系平台运维",
			"internal error; give the request ID " + id + " to the platform operator"}.in(lang)
		if e != nil && e.Kind == errs.Unavailable {
			p.Code = e.Kind.String()
			p.Message = e.Message(lang) + text{"（请求编号 " + id + "）", " (request ID " + id + ")"}.in(lang)
		}
		return p
	}
	p.Code, p.Message, p.Field = e.Kind.String(), e.Message(lang), e.Field
	if l, ok := errors.AsType[errs.List](err); ok && len(l) > 1 {
		for _, x := range l {
			p.Details = append(p.Details, fieldDetail{Field: x.Field, Message: x.Message(lang)})
		}
	}
	return p
}

// apiError renders err as {"error":{"code","message","field","request_id"}}.
func (s *server) apiError(w http.ResponseWriter, r *http.Request, err error) {
	p := s.describe(w, r, err)
	h := w.Header()
	if p.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="elicense"`)
	}
	h.Add("Vary", "Accept-Language")
	if r.Method == http.MethodGet {
		h.Set("Access-Control-Allow-Origin", "*") // public look-ups: scripts elsewhere may read errors too
	}
	writeJSON(w, p.Status, struct {
		Error problem `json:"error"`
	}{p})
}

// pageError renders err as an error page.
func (s *server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	p := s.describe(w, r, err)
	s.render(w, r, p.Status, "error", &pageData{Title: uiText("error.title", langOf(r)), Data: p})
}

// fail renders err as JSON or as a page, depending on where the request went.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if isAPI(r) {
		s.apiError(w, r, err)
	} else {
		s.pageError(w, r, err)
	}
}
