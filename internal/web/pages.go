package web

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/license"
)

// maxQuery bounds what the verification form accepts; identifiers have at most 128 characters.
const maxQuery = 256

// verifyData is the content of the public verification page.
type verifyData struct {
	Q       string
	Problem *problem // what is wrong with Q, shown next to the input
	Result  *licenceResult
}

// licenceResult is a licence as the verification page shows it.
type licenceResult struct {
	V      licenceView
	Labels license.Labels
	// Verdict is the key of the words shown in big letters; Tone styles them (ok, warn, bad).
	Verdict, Tone string
	// Sig is "ok", "bad" or "unknown" (the check could not be made).
	Sig string
}

// verifyPage answers GET / and GET /verify?q=: the public verification page.
func (s *server) verifyPage(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	d := &verifyData{Q: q}
	status := http.StatusOK
	if q != "" {
		l, err := s.Licenses.Get(r.Context(), truncate(q, maxQuery))
		switch k := errs.KindOf(err); {
		case err == nil:
			d.Result = s.result(w, r, l)
		case k == errs.Invalid || k == errs.NotFound:
			p := s.describe(w, r, err)
			d.Problem, status = &p, p.Status
		default:
			s.pageError(w, r, err)
			return
		}
	}
	s.render(w, r, status, "verify", &pageData{Title: uiText("verify.title", langOf(r)), Data: d})
}

// result judges a licence for the verification page: its status, and its signature.
func (s *server) result(w http.ResponseWriter, r *http.Request, l *license.Licence) *licenceResult {
	res := &licenceResult{V: viewOf(l), Labels: license.LabelsFor(l.Kind), Sig: "ok"}
	switch l.Status {
	case license.Active:
		res.Verdict, res.Tone = "verdict.active", "ok"
	case license.Suspended:
		res.Verdict, res.Tone = "verdict.suspended", "warn"
	case license.Superseded:
		res.Verdict, res.Tone = "verdict.superseded", "warn"
	case license.Cancelled:
		res.Verdict, res.Tone = "verdict.cancelled", "bad"
	default:
		res.Verdict, res.Tone = "verdict.revoked", "bad"
	}
	ok, err := s.verify(r.Context(), l)
	switch {
	case err != nil:
		res.Sig = "unknown"
		s.Logger.LogAttrs(r.Context(), slog.LevelError, "signature check failed",
			slog.String("request_id", requestID(w)), slog.String("identifier", l.Identifier), slog.Any("error", err))
	case !ok:
		res.Sig = "bad"
		res.Verdict, res.Tone = "verdict.badsig", "bad"
	}
	return res
}

// truncate cuts s to at most n bytes, at a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
