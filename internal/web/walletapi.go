package web

// The wallet's JSON endpoints (/wallet/api/): what a phone needs for scan-to-login (扫码登录)
// without the wallet's pages — sign in with a one-time code, open a scanned QR code, confirm
// it with the PIN or a passkey, or decline it. The Go end-to-end tests and scripted demos drive
// the phone side through them. A session is the wallet's (cookie elicense_wallet, wallet.go);
// every request after sign-in carries the session's CSRF token in X-CSRF-Token, and POSTs must
// come from the platform's own origin (Sec-Fetch-Site / Origin) with a JSON body.

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/oidc"
)

// walletAPIReady checks what every wallet API request needs: the services, and for a POST
// that it comes from the platform's own pages (or from no browser at all).
func (s *server) walletAPIReady(w http.ResponseWriter, r *http.Request) bool {
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case s.Identity == nil:
		s.apiError(w, r, errWalletOff)
		return false
	case s.OIDC == nil:
		s.apiError(w, r, errOIDCOff)
		return false
	case r.Method == http.MethodPost && s.xorigin.Check(r) != nil:
		s.apiError(w, r, errCSRF)
		return false
	}
	return true
}

// walletAPIUser is the signed-in user of a wallet API request that needs one: walletAPIReady,
// then walletAPIAuth. On failure the error is rendered and it returns false.
func (s *server) walletAPIUser(w http.ResponseWriter, r *http.Request) (*walletUser, bool) {
	if !s.walletAPIReady(w, r) {
		return nil, false
	}
	return s.walletAPIAuth(w, r)
}

// walletStartRequest is the body of POST /wallet/api/login/start.
type walletStartRequest struct {
	Phone string `json:"phone"`
}

// walletAPIStart answers POST /wallet/api/login/start: send a one-time sign-in code to a
// registered phone.
func (s *server) walletAPIStart(w http.ResponseWriter, r *http.Request) {
	if !s.walletAPIReady(w, r) {
		return
	}
	var req walletStartRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.apiError(w, r, err)
		return
	}
	if err := s.OIDC.Limit(r.Context(), oidc.LimitWalletStart, clientAddr(r)); err != nil {
		s.apiError(w, r, err)
		return
	}
	p, err := s.Identity.StartLogin(r.Context(), req.Phone)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		CodeID      string    `json:"code_id"`
		Phone       string    `json:"phone"` // masked
		ExpiresAt   time.Time `json:"expires_at"`
		ResendAfter time.Time `json:"resend_after"`
	}{p.CodeID, p.Phone, p.ExpiresAt.UTC(), p.ResendAfter.UTC()})
}

// walletConfirmRequest is the body of POST /wallet/api/login/confirm.
type walletConfirmRequest struct {
	CodeID string `json:"code_id"`
	Code   string `json:"code"`
}

// walletAPIConfirm answers POST /wallet/api/login/confirm: check the one-time code and start
// the wallet session (cookie); the answer carries the session's CSRF token.
func (s *server) walletAPIConfirm(w http.ResponseWriter, r *http.Request) {
	if !s.walletAPIReady(w, r) {
		return
	}
	var req walletConfirmRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.apiError(w, r, err)
		return
	}
	if err := s.OIDC.Limit(r.Context(), oidc.LimitWalletCode, clientAddr(r)); err != nil {
		s.apiError(w, r, err)
		return
	}
	in, err := s.Identity.ConfirmPhone(r.Context(), req.CodeID, req.Code)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.signInWallet(w, in)
	writeJSON(w, http.StatusOK, struct {
		Name      string    `json:"name"` // masked
		CSRF      string    `json:"csrf"`
		ExpiresAt time.Time `json:"expires_at"`
	}{in.Person.MaskedName(), in.Session.CSRF, in.Session.ExpiresAt.UTC()})
}

// apiScanChoice is an entity the person may log in for.
type apiScanChoice struct {
	EntityCode string            `json:"entity_code"`
	EntityName string            `json:"entity_name"`
	Kind       license.Kind      `json:"kind"`
	Role       identity.RoleKind `json:"role"`
	GrantUntil *time.Time        `json:"grant_until,omitempty"`
}

// apiScanView is what the wallet shows after a scan.
type apiScanView struct {
	QR          string          `json:"qr"`
	Client      apiPortalView   `json:"client"`
	ExpiresAt   time.Time       `json:"expires_at"`
	Choices     []apiScanChoice `json:"choices"`
	PersonalPIN bool            `json:"personal_pin"` // administrators and agents confirm with it
	Passkey     bool            `json:"passkey"`
}

// apiPortalView is the portal asking for the login.
type apiPortalView struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Department string `json:"department,omitempty"`
	Region     string `json:"region,omitempty"`
	LogoURI    string `json:"logo_uri,omitempty"`
}

// walletAPIScan answers GET /wallet/api/scan/{qr}: the phone opened a scanned QR code.
func (s *server) walletAPIScan(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAPIUser(w, r)
	if !ok {
		return
	}
	v, err := s.Identity.Scan(r.Context(), r.PathValue("qr"), u.p.ID)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	out := apiScanView{QR: v.QR, ExpiresAt: v.ExpiresAt.UTC(), PersonalPIN: v.PersonalPIN, Passkey: v.Passkey,
		Client:  apiPortalView{ID: v.Client.ID, Name: v.Client.Name, Department: v.Client.Department, Region: v.Client.Region},
		Choices: []apiScanChoice{}}
	if c, err := s.OIDC.Client(r.Context(), v.Client.ID); err == nil {
		out.Client.LogoURI = c.LogoURI
	}
	for _, c := range v.Choices {
		ch := apiScanChoice{EntityCode: c.Licence.Code, EntityName: c.Licence.Face.Name, Kind: c.Licence.Kind, Role: c.Kind}
		if c.Grant != nil && !c.Grant.ValidUntil.IsZero() {
			t := c.Grant.ValidUntil.UTC()
			ch.GrantUntil = &t
		}
		out.Choices = append(out.Choices, ch)
	}
	writeJSON(w, http.StatusOK, out)
}

// apiScanConfirm is the body of POST /wallet/api/scan/{qr}/confirm: the entity, and the
// proof (method "pin" with pin, or "passkey" with the ceremony of
// /wallet/api/passkey/begin and the authenticator's response).
type apiScanConfirm struct {
	EntityCode string          `json:"entity_code"`
	Method     identity.Method `json:"method"`
	PIN        string          `json:"pin,omitempty"`
	Ceremony   string          `json:"ceremony,omitempty"`
	Response   json.RawMessage `json:"response,omitempty"`
}

// walletAPIScanConfirm answers POST /wallet/api/scan/{qr}/confirm.
func (s *server) walletAPIScanConfirm(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAPIUser(w, r)
	if !ok {
		return
	}
	var req apiScanConfirm
	if err := decodeJSON(w, r, &req); err != nil {
		s.apiError(w, r, err)
		return
	}
	if err := s.OIDC.Limit(r.Context(), oidc.LimitConfirm, clientAddr(r)); err != nil {
		s.apiError(w, r, err)
		return
	}
	proof := identity.Proof{Method: req.Method, PIN: req.PIN, Ceremony: req.Ceremony, Response: []byte(req.Response)}
	q, err := s.Identity.Confirm(r.Context(), r.PathValue("qr"), u.p.ID, req.EntityCode, proof)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Status     identity.QRStatus `json:"status"`
		EntityCode string            `json:"entity_code"`
		Role       identity.RoleKind `json:"role"`
		ACR        string            `json:"acr"`
	}{q.Status, q.EntityCode, q.Role, q.ACR})
}

// walletAPIScanDecline answers POST /wallet/api/scan/{qr}/decline.
func (s *server) walletAPIScanDecline(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAPIUser(w, r)
	if !ok {
		return
	}
	if err := s.Identity.Decline(r.Context(), r.PathValue("qr"), u.p.ID); err != nil {
		s.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Status identity.QRStatus `json:"status"`
	}{identity.QRDeclined})
}

// walletAPIPasskey answers POST /wallet/api/passkey/begin: the options of a passkey
// confirmation (navigator.credentials.get) and its ceremony.
func (s *server) walletAPIPasskey(w http.ResponseWriter, r *http.Request) {
	if !s.walletAPIReady(w, r) {
		return
	}
	// The same answer as the wallet pages' script gets.
	s.walletConfirmOptions(w, r)
}
