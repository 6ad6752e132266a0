package web

// The entity's side of consent and usage records in the wallet (issue 5 items 6–7): the page
// /wallet/licences/{code}/consents lists departments' requests (approve with the PIN or a
// passkey, or decline), the authorisations in force (revoke at once) and past ones, and has the
// forms that give a standing authorisation and make a one-time code (用证码); the page
// /wallet/licences/{code}/uses lists every use of the licence, with a CSV export. The rules,
// including who may see and do what, are in package sharing; the JSON endpoints under
// /wallet/api/ do the same for scripts and tests.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/sharing"
	"github.com/elicense/elicense/internal/uscc"
)

// consentsPage is the content of the consents page.
type consentsPage struct {
	Licence  *license.Licence
	Pending  []consentRow
	Current  []consentRow
	Past     []consentRow
	Passkey  bool
	PINLabel string
	Code     string    // a code just made, shown once
	CodeEnds time.Time // and when it expires
	Standing standingForm
	Form     string // the form a problem is about: standing, code, approve, revoke
	Problem  *problem
	Errors   map[string]string
}

// ErrorsOf returns the field errors of the form named form.
func (p *consentsPage) ErrorsOf(form string) map[string]string {
	if form == p.Form {
		return p.Errors
	}
	return nil
}

// standingForm is what was typed into the standing authorisation form.
type standingForm struct {
	ClientID, Items, Until string
}

// consentRow is one authorisation on the page.
type consentRow struct {
	sharing.ConsentView
	KindKey, StateKey, Tone string
	Items, Covers           string
	Until                   time.Time // inclusive, for display
}

func consentsURL(code, done string) string {
	return "/wallet/licences/" + url.PathEscape(uscc.Normalize(code)) + "/consents?done=" + done
}

// walletConsentsOff answers when the sharing service or its consent part is missing.
func (s *server) consentReady(w http.ResponseWriter, r *http.Request, u *walletUser) bool {
	if s.Sharing == nil {
		s.walletError(w, r, u, errSharingOff)
		return false
	}
	return true
}

// walletConsents answers GET /wallet/licences/{code}/consents.
func (s *server) walletConsents(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok || !s.consentReady(w, r, u) {
		return
	}
	s.renderConsents(w, r, u, http.StatusOK, &consentsPage{})
}

func (s *server) renderConsents(w http.ResponseWriter, r *http.Request, u *walletUser, status int, d *consentsPage) {
	ctx := r.Context()
	code := uscc.Normalize(r.PathValue("code"))
	vs, err := s.Sharing.Consents(ctx, u.p.ID, code)
	if err != nil {
		s.walletError(w, r, u, err)
		return
	}
	if d.Licence, err = s.Licenses.Get(ctx, code); err != nil {
		s.walletError(w, r, u, err)
		return
	}
	devs, err := s.Identity.Devices(ctx, u.p.ID)
	if err != nil {
		s.walletError(w, r, u, err)
		return
	}
	d.Passkey, d.PINLabel = len(devs) > 0, "scan.pin.own"
	if _, err := s.Identity.Holding(ctx, u.p.ID, code); err == nil {
		d.PINLabel = "scan.pin.holder"
	}
	for _, v := range vs {
		row := consentRow{ConsentView: v, KindKey: "consent.kind." + string(v.Kind), StateKey: "consent.state." + v.State,
			Items: strings.Join(v.Items, ", "), Until: lastDay(v.ValidUntil)}
		var covers []string
		for _, c := range v.Covers {
			covers = append(covers, walletText("consent.covers."+c, langOf(r)))
		}
		row.Covers = strings.Join(covers, "、")
		switch v.State {
		case "pending":
			row.Tone = "warn"
			d.Pending = append(d.Pending, row)
		case "active", "approved", "used":
			row.Tone = "ok"
			d.Current = append(d.Current, row)
		default:
			row.Tone = "bad"
			d.Past = append(d.Past, row)
		}
	}
	s.walletRender(w, r, status, "consents", "consent.title", u, &walletData{Nav: "home", Page: d})
}

// consentsFailed shows the page again with the problem of one of its forms.
func (s *server) consentsFailed(w http.ResponseWriter, r *http.Request, u *walletUser, err error, d *consentsPage) {
	p, fe, ok := s.formProblem(w, r, u, err)
	if !ok {
		return
	}
	for k, v := range fe {
		if strings.HasPrefix(k, "items[") {
			fe["items"] = v
		}
	}
	d.Problem, d.Errors = p, fe
	s.renderConsents(w, r, u, p.Status, d)
}

// walletGrantConsent answers POST /wallet/licences/{code}/consents: a standing authorisation.
func (s *server) walletGrantConsent(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok || !s.consentReady(w, r, u) {
		return
	}
	f := r.PostForm
	code := r.PathValue("code")
	form := standingForm{ClientID: f.Get("client_id"), Items: f.Get("items"), Until: f.Get("until")}
	g := sharing.StandingGrant{ClientID: form.ClientID, Items: splitItems(form.Items)}
	var list errs.List
	g.Until = dayEnd(&list, "until", form.Until)
	err := list.Err()
	if err == nil {
		err = s.walletLimit(r, oidc.LimitConfirm)
	}
	if err == nil {
		_, err = s.Sharing.GrantStanding(r.Context(), u.p.ID, code, g, proofOf(r))
	}
	if err != nil {
		s.consentsFailed(w, r, u, err, &consentsPage{Form: "standing", Standing: form})
		return
	}
	http.Redirect(w, r, consentsURL(code, "consent.grant"), http.StatusSeeOther)
}

// walletConsentCode answers POST /wallet/licences/{code}/consents/code: make a 用证码 and show
// it once.
func (s *server) walletConsentCode(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok || !s.consentReady(w, r, u) {
		return
	}
	err := s.walletLimit(r, oidc.LimitConfirm)
	var secret string
	var k *sharing.Consent
	if err == nil {
		secret, k, err = s.Sharing.NewCode(r.Context(), u.p.ID, r.PathValue("code"), r.PostForm.Get("service_item"), proofOf(r))
	}
	if err != nil {
		s.consentsFailed(w, r, u, err, &consentsPage{Form: "code"})
		return
	}
	s.renderConsents(w, r, u, http.StatusOK, &consentsPage{Code: secret[:4] + " " + secret[4:], CodeEnds: k.ValidUntil})
}

// walletApproveConsent answers POST /wallet/licences/{code}/consents/{id}/approve.
func (s *server) walletApproveConsent(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok || !s.consentReady(w, r, u) {
		return
	}
	code := r.PathValue("code")
	err := s.walletLimit(r, oidc.LimitConfirm)
	if err == nil {
		_, err = s.Sharing.Approve(r.Context(), u.p.ID, code, r.PathValue("id"), proofOf(r))
	}
	if err != nil {
		s.consentsFailed(w, r, u, err, &consentsPage{Form: "approve"})
		return
	}
	http.Redirect(w, r, consentsURL(code, "consent.approve"), http.StatusSeeOther)
}

// walletDeclineConsent answers POST /wallet/licences/{code}/consents/{id}/decline.
func (s *server) walletDeclineConsent(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok || !s.consentReady(w, r, u) {
		return
	}
	code := r.PathValue("code")
	if _, err := s.Sharing.Decline(r.Context(), u.p.ID, code, r.PathValue("id")); err != nil {
		s.consentsFailed(w, r, u, err, &consentsPage{Form: "approve"})
		return
	}
	http.Redirect(w, r, consentsURL(code, "consent.decline"), http.StatusSeeOther)
}

// walletRevokeConsent answers POST /wallet/licences/{code}/consents/{id}/revoke.
func (s *server) walletRevokeConsent(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok || !s.consentReady(w, r, u) {
		return
	}
	code := r.PathValue("code")
	if _, err := s.Sharing.RevokeConsent(r.Context(), u.p.ID, code, r.PathValue("id")); err != nil {
		s.consentsFailed(w, r, u, err, &consentsPage{Form: "revoke"})
		return
	}
	http.Redirect(w, r, consentsURL(code, "consent.revoke"), http.StatusSeeOther)
}

// The wallet's JSON endpoints for consent.

// apiConsentView is an authorisation as the wallet's script sees it.
type apiConsentView struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	State      string    `json:"state"`
	ClientID   string    `json:"client_id,omitempty"`
	ClientName string    `json:"client_name,omitempty"`
	Items      []string  `json:"service_items"`
	CaseNumber string    `json:"case_number,omitempty"`
	UseCause   string    `json:"use_cause,omitempty"`
	Covers     []string  `json:"covers"`
	CreatedAt  time.Time `json:"created_at"`
	ValidUntil time.Time `json:"valid_until"`
}

func apiConsentOf(v sharing.ConsentView) apiConsentView {
	return apiConsentView{ID: v.ID, Kind: string(v.Kind), State: v.State, ClientID: v.ClientID, ClientName: v.ClientName,
		Items: append([]string{}, v.Items...), CaseNumber: v.CaseNumber, UseCause: v.Cause, Covers: v.Covers,
		CreatedAt: v.CreatedAt, ValidUntil: v.ValidUntil}
}

// walletAPIConsents answers GET /wallet/api/licences/{code}/consents.
func (s *server) walletAPIConsents(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAPIUser(w, r)
	if !ok {
		return
	}
	if s.Sharing == nil {
		s.apiError(w, r, errSharingOff)
		return
	}
	vs, err := s.Sharing.Consents(r.Context(), u.p.ID, r.PathValue("code"))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	out := struct {
		Consents []apiConsentView `json:"consents"`
	}{[]apiConsentView{}}
	for _, v := range vs {
		out.Consents = append(out.Consents, apiConsentOf(v))
	}
	writeJSON(w, http.StatusOK, out)
}

// apiProof is the body of a confirmation: method "pin" with pin, or "passkey" with the
// ceremony of /wallet/api/passkey/begin and the authenticator's response.
type apiProof struct {
	Method   identity.Method `json:"method"`
	PIN      string          `json:"pin,omitempty"`
	Ceremony string          `json:"ceremony,omitempty"`
	Response json.RawMessage `json:"response,omitempty"`
}

// walletAPIDecide answers POST /wallet/api/licences/{code}/consents/{id}/approve and
// …/decline.
func (s *server) walletAPIDecide(approve bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.walletAPIReady(w, r) {
			return
		}
		u, ok := s.walletAPIAuth(w, r)
		if !ok {
			return
		}
		if s.Sharing == nil {
			s.apiError(w, r, errSharingOff)
			return
		}
		ctx, code, id := r.Context(), r.PathValue("code"), r.PathValue("id")
		var k *sharing.Consent
		var err error
		if approve {
			var req apiProof
			if err = decodeJSON(w, r, &req); err == nil {
				if err = s.walletLimit(r, oidc.LimitConfirm); err == nil {
					k, err = s.Sharing.Approve(ctx, u.p.ID, code, id,
						identity.Proof{Method: req.Method, PIN: req.PIN, Ceremony: req.Ceremony, Response: []byte(req.Response)})
				}
			}
		} else {
			k, err = s.Sharing.Decline(ctx, u.p.ID, code, id)
		}
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, apiConsentOf(sharing.ConsentView{Consent: k, State: sharing.ConsentState(k, s.now())}))
	}
}
