package web

// The platform's login page (统一登录页, issue 4 item 4): the OpenID Connect provider sends
// every portal's login here. It finishes at once with a single sign-on session; otherwise it
// shows a one-time QR code (扫码登录) bound to this browser, which the holder scans with the
// wallet, and a small script (static/login.js; no inline script, CSP default-src 'self') polls
// until the phone confirms, asks for a new code when one expires, and then submits the form
// that takes the login and returns to the portal with its authorisation code.
//
// Also here: the provider's own endpoints, mounted from package oidc, and the client
// registration API (POST /api/v1/clients).

import (
	"encoding/base64"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/skip2/go-qrcode"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/oidc"
)

// Cookies of the login page (path /login; the SSO cookie's path is /, set by the provider's
// value).
const (
	loginPath = "/login"
	// loginCSRFCookieName carries the CSRF token of the login page's POSTs (double submit:
	// the X-CSRF-Token header or form field must equal it).
	loginPageCSRFCookie = "elicense_login_csrf"
	loginCookieAge      = 30 * 60 // seconds; an authorisation request lives as long
)

var errOIDCOff = errs.New(errs.NotFound, "", "本平台未启用统一身份认证", "unified identity authentication is not enabled on this platform")

// oidcEndpoint passes a request to the provider's endpoints (discovery, authorize, par,
// token, userinfo, introspect, revoke, end_session, keys); they answer in the OAuth format.
func (s *server) oidcEndpoint(w http.ResponseWriter, r *http.Request) {
	if s.OIDC == nil {
		s.fail(w, r, errOIDCOff)
		return
	}
	s.OIDC.Handler().ServeHTTP(w, r)
}

// clientAddr is the address rate limits count attempts by.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// setLoginCookie sets a cookie of the login page.
func (s *server) setLoginCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: loginPath, MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// loginCookie returns the value of a login-page cookie, setting a fresh random one when the
// browser has none.
func (s *server) loginCookie(w http.ResponseWriter, r *http.Request, name string) string {
	if c, err := r.Cookie(name); err == nil && len(c.Value) == 64 {
		return c.Value
	}
	v := randomToken()
	s.setLoginCookie(w, name, v, loginCookieAge)
	return v
}

// loginCSRF checks the double-submitted token of a login-page POST and that it comes from the
// platform's own pages.
func (s *server) loginCSRF(r *http.Request, token string) error {
	if err := s.xorigin.Check(r); err != nil {
		return errCSRF
	}
	c, err := r.Cookie(loginPageCSRFCookie)
	if err != nil || !sameToken(token, c.Value) {
		return errCSRF
	}
	return nil
}

// browserOf returns the browser-binding cookie value of a request ("" without one).
func browserOf(r *http.Request) string {
	if c, err := r.Cookie(oidc.BrowserCookie); err == nil {
		return c.Value
	}
	return ""
}

// loginQRData is the content of the login page.
type loginQRData struct {
	Lang        string
	AuthRequest string
	CSRF        string
	Client      *oidc.Client
	QR          string       // the QR's ID
	Image       template.URL // PNG data URI of the QR code
	Content     string       // what the QR encodes (also shown as a link, for a phone opening the page)
	ExpiresAt   time.Time
	Script      string // address of static/login.js
}

// T returns a word of the login page in its language.
func (d *loginQRData) T(key string) string { return loginText(key, d.Lang) }

// qrImage renders a QR code as a PNG data URI (server side: no script needed to draw it).
func qrImage(content string) (template.URL, error) {
	png, err := qrcode.Encode(content, qrcode.Medium, 288)
	if err != nil {
		return "", err
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)), nil
}

// portalLogin answers GET /login?authRequest=…: the provider's login page.
func (s *server) portalLogin(w http.ResponseWriter, r *http.Request) {
	if s.OIDC == nil {
		s.pageError(w, r, errOIDCOff)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	id := r.URL.Query().Get("authRequest")
	sso := ""
	if c, err := r.Cookie(oidc.SSOCookie); err == nil {
		sso = c.Value
	}
	browser := s.loginCookie(w, r, oidc.BrowserCookie)
	page, err := s.OIDC.StartLogin(r.Context(), id, sso, browser, clientAddr(r))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if page.Redirect != "" {
		http.Redirect(w, r, page.Redirect, http.StatusSeeOther)
		return
	}
	lang := langOf(r)
	d := &loginQRData{Lang: lang, AuthRequest: page.Request.ID, CSRF: s.loginCookie(w, r, loginPageCSRFCookie),
		Client: page.Client, QR: page.QR.ID, Content: s.OIDC.QRContent(page.QR.ID), ExpiresAt: page.QR.ExpiresAt,
		Script: s.walletAsset("login.js")}
	if d.Image, err = qrImage(d.Content); err != nil {
		s.pageError(w, r, err)
		return
	}
	// The completion form's answer redirects to the portal; browsers apply form-action to
	// that redirect too, so this page allows the portal's origin (and only it).
	if o := originOf(page.Request.Params.RedirectURI); o != "" {
		h := w.Header()
		h.Set("Content-Security-Policy", strings.Replace(h.Get("Content-Security-Policy"), "form-action 'self'", "form-action 'self' "+o, 1))
	}
	s.render(w, r, http.StatusOK, "portal_login", &pageData{Title: loginText("title", lang), Data: d})
}

// originOf returns scheme://host of an absolute URL ("" when it is not one).
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// qrJSON is a fresh QR code as the login script receives it.
type qrJSON struct {
	QR        string       `json:"qr"`
	Image     template.URL `json:"image"`
	Content   string       `json:"content"`
	ExpiresAt time.Time    `json:"expires_at"`
}

// loginNewQR answers POST /login/qr (the login script, when a QR code expired or was
// declined): a new QR code for the same authorisation request.
func (s *server) loginNewQR(w http.ResponseWriter, r *http.Request) {
	if s.OIDC == nil {
		s.apiError(w, r, errOIDCOff)
		return
	}
	if err := s.parseForm(w, r); err != nil {
		s.apiError(w, r, err)
		return
	}
	if err := s.loginCSRF(r, r.Header.Get(walletCSRFHeader)); err != nil {
		s.apiError(w, r, err)
		return
	}
	qr, err := s.OIDC.NewQR(r.Context(), r.PostForm.Get("authRequest"), browserOf(r), clientAddr(r))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	out := qrJSON{QR: qr.ID, Content: s.OIDC.QRContent(qr.ID), ExpiresAt: qr.ExpiresAt.UTC()}
	if out.Image, err = qrImage(out.Content); err != nil {
		s.apiError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

// loginPoll answers GET /login/qr/{qr}: the state of this browser's QR code (pending,
// scanned, confirmed, declined, consumed, expired).
func (s *server) loginPoll(w http.ResponseWriter, r *http.Request) {
	if s.OIDC == nil {
		s.apiError(w, r, errOIDCOff)
		return
	}
	st, err := s.OIDC.PollQR(r.Context(), r.PathValue("qr"), browserOf(r))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, struct {
		Status    identity.QRStatus `json:"status"`
		ExpiresAt time.Time         `json:"expires_at"`
	}{st.Status, st.ExpiresAt.UTC()})
}

// loginComplete answers POST /login/complete (the form the script submits once the phone
// confirmed, or the person's button): take the login, start the SSO session, and go back to
// the portal with the code.
func (s *server) loginComplete(w http.ResponseWriter, r *http.Request) {
	if s.OIDC == nil {
		s.pageError(w, r, errOIDCOff)
		return
	}
	if err := s.parseForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	if err := s.loginCSRF(r, r.PostForm.Get("csrf")); err != nil {
		s.pageError(w, r, err)
		return
	}
	done, err := s.OIDC.FinishLogin(r.Context(), r.PostForm.Get("qr"), browserOf(r))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if done.Cookie != "" {
		http.SetCookie(w, &http.Cookie{Name: oidc.SSOCookie, Value: done.Cookie, Path: "/",
			MaxAge: max(int(done.CookieExpires.Sub(s.now())/time.Second), 1), HttpOnly: true, Secure: s.secure,
			SameSite: http.SameSiteLaxMode})
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, done.Redirect, http.StatusSeeOther)
}

// loginCancel answers GET /login/cancel?authRequest=…: back to the portal, which is told the
// login was cancelled (access_denied).
func (s *server) loginCancel(w http.ResponseWriter, r *http.Request) {
	if s.OIDC == nil {
		s.pageError(w, r, errOIDCOff)
		return
	}
	to, err := s.OIDC.CancelLogin(r.Context(), r.URL.Query().Get("authRequest"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// loggedOutData is the content of the page after a logout without a portal to return to.
type loggedOutData struct{ Lang string }

// T returns a word of the page in its language.
func (d *loggedOutData) T(key string) string { return loginText(key, d.Lang) }

// loggedOut answers GET /login/logged-out.
func (s *server) loggedOut(w http.ResponseWriter, r *http.Request) {
	lang := langOf(r)
	s.render(w, r, http.StatusOK, "portal_logged_out", &pageData{Title: loginText("logged_out", lang), Data: &loggedOutData{lang}})
}

// clientView is a registered client as the API shows it (the secret only once, at
// registration).
type clientView struct {
	ClientID               string    `json:"client_id"`
	ClientSecret           string    `json:"client_secret,omitempty"`
	Name                   string    `json:"name"`
	Department             string    `json:"department,omitempty"`
	Region                 string    `json:"region,omitempty"`
	LogoURI                string    `json:"logo_uri,omitempty"`
	RedirectURIs           []string  `json:"redirect_uris"`
	PostLogoutRedirectURIs []string  `json:"post_logout_redirect_uris"`
	GrantTypes             []string  `json:"grant_types"`
	Scopes                 []string  `json:"scopes"`
	AuthMethod             string    `json:"token_endpoint_auth_method"`
	BackchannelLogoutURI   string    `json:"backchannel_logout_uri,omitempty"`
	CreatedAt              time.Time `json:"created_at"`
}

func clientViewOf(c *oidc.Client, secret string) clientView {
	nonNil := func(v []string) []string {
		if v == nil {
			return []string{}
		}
		return v
	}
	return clientView{ClientID: c.ID, ClientSecret: secret, Name: c.Name, Department: c.Department, Region: c.Region,
		LogoURI: c.LogoURI, RedirectURIs: nonNil(c.RedirectURIs), PostLogoutRedirectURIs: nonNil(c.PostLogoutRedirectURIs),
		GrantTypes: nonNil(c.GrantTypes), Scopes: nonNil(c.Scopes), AuthMethod: c.AuthMethod,
		BackchannelLogoutURI: c.BackchannelLogoutURI, CreatedAt: c.CreatedAt.UTC()}
}

// apiCreateClient answers POST /api/v1/clients (operators): register a portal or a
// department's system; a confidential client's secret is in this answer only.
func (s *server) apiCreateClient(w http.ResponseWriter, r *http.Request) {
	if s.OIDC == nil {
		s.apiError(w, r, errOIDCOff)
		return
	}
	a, err := s.apiAccount(r, account.Operator)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	var spec oidc.ClientSpec
	if err := decodeJSON(w, r, &spec); err != nil {
		s.apiError(w, r, err)
		return
	}
	c, secret, err := s.OIDC.RegisterClient(r.Context(), spec, "account:"+a.ID)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, clientViewOf(c, secret))
}

// loginUI holds the words of the login pages.
var loginUI = map[string]text{
	"title":        {"扫码登录", "Scan to log in"},
	"asks":         {"以下网站请求使用电子营业执照登录：", "This portal asks you to log in with your e-business licence:"},
	"department":   {"主办部门", "Department"},
	"region":       {"地区", "Region"},
	"scan":         {"请用手机打开电子营业执照钱包扫描二维码，并在手机上确认登录。", "Open the licence wallet on your phone, scan the QR code and confirm the login on the phone."},
	"qr.alt":       {"登录二维码", "Login QR code"},
	"open":         {"在本设备上打开钱包", "Open the wallet on this device"},
	"valid":        {"二维码有效期至", "The QR code is valid until"},
	"wait":         {"等待扫码…", "Waiting for the scan…"},
	"scanned":      {"已扫码，请在手机上确认", "Scanned: confirm on your phone"},
	"confirmed":    {"已确认，正在登录…", "Confirmed: logging you in…"},
	"declined":     {"已在手机上拒绝此次登录", "The login was declined on the phone"},
	"expired":      {"二维码已过期，正在刷新…", "The QR code expired; getting a new one…"},
	"failed":       {"出现问题，请刷新页面重试", "Something went wrong; reload the page"},
	"retry":        {"重新获取二维码", "Get a new QR code"},
	"continue":     {"我已在手机上确认", "I have confirmed on my phone"},
	"cancel":       {"取消并返回网站", "Cancel and go back to the portal"},
	"noscript":     {"本页需要 JavaScript 才能自动刷新；在手机上确认后请点击下面的按钮。", "Without JavaScript this page cannot refresh itself: after confirming on your phone, press the button below."},
	"logged_out":   {"已退出登录", "Logged out"},
	"logged_out.p": {"您已退出统一身份认证平台及参与本次登录的网站。", "You have logged out of the platform and of the portals of this session."},
}

// loginText returns a word of the login pages.
func loginText(key, lang string) string {
	if t, ok := loginUI[key]; ok {
		return t.in(lang)
	}
	return key
}
