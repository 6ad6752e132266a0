package web

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// respWriter records what the access log and the metrics need, and carries the request ID to
// the handlers (requestID) without a context allocation per request.
type respWriter struct {
	http.ResponseWriter
	id      string
	pattern string // set by the matched route; "" when nothing matched
	status  int
	bytes   int64
	// swallow is set when the mux answers an unmatched request itself: its plain-text body is
	// replaced by our own error.
	swallow bool
	s       *server
	r       *http.Request
}

func (w *respWriter) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	if w.pattern == "" && (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) {
		// ServeMux's own 404 or 405: answer in our format, then drop the mux's plain text.
		h := w.Header()
		h.Del("Content-Type")
		w.pattern = "unmatched"
		var err error = errNotFound
		if code == http.StatusMethodNotAllowed {
			err = &statusError{code, errMethod(h.Get("Allow"))}
		}
		w.s.fail(w, w.r, err)
		w.swallow = true
		return
	}
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *respWriter) Write(b []byte) (int, error) {
	if w.swallow {
		return len(b), nil
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *respWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestID returns the ID of the request being answered on w.
func requestID(w http.ResponseWriter) string {
	if rw, ok := w.(*respWriter); ok {
		return rw.id
	}
	return ""
}

// routeOf returns the pattern that matched the request answered on w.
func routeOf(w http.ResponseWriter) string {
	if rw, ok := w.(*respWriter); ok {
		return rw.pattern
	}
	return ""
}

// ids makes request IDs: a random prefix per process and a counter, so IDs are unique across the
// processes sharing a database and cost no system call.
type ids struct {
	prefix string
	n      atomic.Uint64
}

func newIDs() *ids {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return &ids{prefix: hex.EncodeToString(b[:]) + "-"}
}

func (g *ids) next() string {
	return g.prefix + strconv.FormatUint(g.n.Add(1), 36)
}

// handler returns the site: security headers, request ID, access log and metrics, panic
// recovery, then the routes.
func (s *server) handler() http.Handler {
	gen := newIDs()
	// The security headers of every response, with canonical names so that they are set without
	// canonicalising them each time. net/http only reads these slices.
	security := map[string][]string{
		"Content-Security-Policy":    {"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
		"X-Frame-Options":            {"DENY"},
		"X-Content-Type-Options":     {"nosniff"},
		"Referrer-Policy":            {"same-origin"},
		"Cross-Origin-Opener-Policy": {"same-origin"},
	}
	if s.secure {
		security["Strict-Transport-Security"] = []string{"max-age=31536000"}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h := w.Header()
		for k, v := range security {
			h[k] = v
		}
		rw := &respWriter{ResponseWriter: w, id: gen.next(), s: s, r: r}
		h["X-Request-Id"] = []string{rw.id}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.LogAttrs(r.Context(), slog.LevelError, "panic",
					slog.String("request_id", rw.id), slog.String("route", rw.pattern),
					slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
				if rw.status == 0 {
					s.fail(rw, r, fmt.Errorf("web: panic: %v", v))
				} else {
					rw.status = http.StatusInternalServerError // for the log; the response is lost
				}
			}
			s.logRequest(r, rw, time.Since(start))
		}()
		s.mux.ServeHTTP(rw, r)
	})
}

// logRequest writes the access log line and the metrics. It logs no header, cookie, token or
// query string (the query may hold personal data); only method, path (with anything that looks
// like a citizen ID number masked), route and outcome.
func (s *server) logRequest(r *http.Request, rw *respWriter, d time.Duration) {
	status := rw.status
	if status == 0 {
		status = http.StatusOK
	}
	route := rw.pattern
	if route == "" {
		route = "unmatched"
	}
	s.metrics.observe(route, status, d)
	remote, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		remote = r.RemoteAddr
	}
	s.Logger.LogAttrs(r.Context(), slog.LevelInfo, "http",
		slog.String("request_id", rw.id),
		slog.String("method", r.Method),
		slog.String("path", redactPath(r.URL.Path)),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Int64("bytes", rw.bytes),
		slog.Duration("duration", d),
		slog.String("remote", remote),
	)
}

// redactPath masks the path segments that look like a citizen ID number (GB 11643: 17 digits, a
// birth date at positions 7–14, a digit or X), which someone may have typed in place of a credit
// code: personal data stays out of the log even when the number is mistyped.
func redactPath(p string) string {
	// A one-time download URL is itself the credential (sharing downloads): never log it.
	if rest, ok := strings.CutPrefix(p, secretPathPrefix); ok && rest != "" {
		return secretPathPrefix + "[token]"
	}
	if len(p) < 18 || !anySegment(p, looksLikeCitizenID) { // the common case: no allocation
		return p
	}
	segs := strings.Split(p, "/")
	changed := false
	for i, seg := range segs {
		if looksLikeCitizenID(seg) {
			segs[i], changed = "[id-number]", true
		}
	}
	if !changed {
		return p
	}
	return strings.Join(segs, "/")
}

// secretPathPrefix starts the paths whose last segment is a bearer credential.
const secretPathPrefix = "/api/v1/sharing/files/"

// anySegment reports whether f holds for a segment of the slash-separated path p.
func anySegment(p string, f func(string) bool) bool {
	for {
		i := strings.IndexByte(p, '/')
		if i < 0 {
			return f(p)
		}
		if f(p[:i]) {
			return true
		}
		p = p[i+1:]
	}
}

func looksLikeCitizenID(s string) bool {
	if len(s) != 18 {
		return false
	}
	for i := 0; i < 17; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	if c := s[17]; (c < '0' || c > '9') && c != 'X' && c != 'x' {
		return false
	}
	_, err := time.Parse("20060102", s[6:14])
	return err == nil && s[6:8] >= "18"
}
