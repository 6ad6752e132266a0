package oidc

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
)

// Cookies the login flow uses. The login page (package web) sets them from the values the
// provider returns; only their hashes are stored.
const (
	// SSOCookie holds the single sign-on session (HttpOnly, SameSite=Lax, path /).
	SSOCookie = "elicense_sso"
	// BrowserCookie binds login QR codes to the browser that shows them (path /login).
	BrowserCookie = "elicense_login"
)

// LoginPage is what the platform's login page does for an authorisation request: either
// send the browser on at once (Redirect: a single sign-on finished the login, or the portal
// asked for no prompt and gets an error), or show QR for the holder to scan.
type LoginPage struct {
	Redirect string
	Request  *AuthRequest
	Client   *Client
	QR       *identity.LoginQR
}

// Finished is a login the login page completed: where the browser goes, and the SSO cookie
// it sets (shown once).
type Finished struct {
	Redirect      string
	Cookie        string
	CookieExpires time.Time
}

func errRequestGone() error {
	return errs.New(errs.NotFound, "authRequest", "登录请求无效或已过期，请回到网站重新登录", "this login request is unknown or has expired; go back to the portal and log in again")
}

// pending loads an authorisation request the login page may still finish, with its client.
func (p *Provider) pending(ctx context.Context, id string) (*AuthRequest, *Client, error) {
	if id == "" || len(id) > 64 {
		return nil, nil, errRequestGone()
	}
	a, err := p.st.AuthRequest(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return nil, nil, errRequestGone()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("oidc: auth request: %w", err)
	}
	if !p.now().Before(a.ExpiresAt) {
		return nil, nil, errRequestGone()
	}
	if a.Login != nil {
		return nil, nil, errs.New(errs.Conflict, "authRequest", "此次登录已完成，请回到网站", "this login has already been completed; go back to the portal")
	}
	c, err := p.clientOf(ctx, a.ClientID)
	if err != nil {
		return nil, nil, err
	}
	return a, c, nil
}

// StartLogin is the login page's first step. With a live SSO session cookie that satisfies the
// request (no prompt=login, max_age, id_token_hint) the login finishes at once without any
// prompt; with prompt=none and no such session the portal gets login_required; otherwise a
// new login QR bound to browser (the BrowserCookie value) is made, counted against the rate
// limit of the client address addr.
func (p *Provider) StartLogin(ctx context.Context, authRequestID, ssoCookie, browser, addr string) (*LoginPage, error) {
	a, c, err := p.pending(ctx, authRequestID)
	if err != nil {
		return nil, err
	}
	if sess := p.reusable(ctx, a, c, ssoCookie); sess != nil {
		redirect, err := p.finish(ctx, a, c, sess)
		if err != nil {
			return nil, err
		}
		return &LoginPage{Redirect: redirect}, nil
	}
	if slices.Contains(a.Params.Prompt, oidc.PromptNone) {
		return &LoginPage{Redirect: p.errorRedirect(a, oidc.ErrLoginRequired().WithDescription("no single sign-on session"))}, nil
	}
	qr, err := p.newQR(ctx, a, c, browser, addr)
	if err != nil {
		return nil, err
	}
	return &LoginPage{Request: a, Client: c, QR: qr}, nil
}

// NewQR makes a fresh login QR for the request (the page asks when the previous one expired).
func (p *Provider) NewQR(ctx context.Context, authRequestID, browser, addr string) (*identity.LoginQR, error) {
	a, c, err := p.pending(ctx, authRequestID)
	if err != nil {
		return nil, err
	}
	return p.newQR(ctx, a, c, browser, addr)
}

func (p *Provider) newQR(ctx context.Context, a *AuthRequest, c *Client, browser, addr string) (*identity.LoginQR, error) {
	ids, err := p.identity()
	if err != nil {
		return nil, err
	}
	if err := p.Limit(ctx, LimitLoginQR, addr); err != nil {
		return nil, err
	}
	return ids.NewLoginQR(ctx, browser, c.Identity(), a.ID)
}

// QRContent is what a login QR code encodes: the wallet's address for it.
func (p *Provider) QRContent(qrID string) string {
	return p.issuer + "/wallet/scan/" + url.PathEscape(qrID)
}

// PollQR tells the waiting browser the state of its QR code.
func (p *Provider) PollQR(ctx context.Context, qrID, browser string) (*identity.QRState, error) {
	ids, err := p.identity()
	if err != nil {
		return nil, err
	}
	return ids.Poll(ctx, qrID, browser)
}

// FinishLogin completes a confirmed scan-to-login for the browser that shows the QR: it
// takes the identity (once), starts an SSO session, finishes the authorisation request and
// returns the redirect to the portal with the code.
func (p *Provider) FinishLogin(ctx context.Context, qrID, browser string) (*Finished, error) {
	ids, err := p.identity()
	if err != nil {
		return nil, err
	}
	id, err := ids.Consume(ctx, qrID, browser)
	if err != nil {
		return nil, err
	}
	a, c, err := p.pending(ctx, id.AuthRequestID)
	if err != nil {
		return nil, err
	}
	if id.ClientID != a.ClientID {
		return nil, errs.Forbiddenf("二维码与登录请求不符", "the QR code belongs to another login request")
	}
	now := p.now()
	value := random()
	sess := &Session{ID: rand.Text(), CookieHash: hashOf(value), Login: loginOf(id), CreatedAt: now, ExpiresAt: now.Add(SessionLifetime)}
	if a.Params.HintSubject != "" {
		if sub, err := ids.Subject(c.Identity(), id.PersonID); err != nil || sub != a.Params.HintSubject {
			return &Finished{Redirect: p.errorRedirect(a, oidc.ErrLoginRequired().WithDescription("another person confirmed the login"))}, nil
		}
	}
	if err := p.st.CreateSSOSession(ctx, sess); err != nil {
		return nil, fmt.Errorf("oidc: create session: %w", err)
	}
	redirect, err := p.finish(ctx, a, c, sess)
	if err != nil {
		return nil, err
	}
	return &Finished{Redirect: redirect, Cookie: value, CookieExpires: sess.ExpiresAt}, nil
}

// CancelLogin gives up an authorisation request (the person declined, or chose to go back):
// the portal gets access_denied.
func (p *Provider) CancelLogin(ctx context.Context, authRequestID string) (string, error) {
	a, _, err := p.pending(ctx, authRequestID)
	if err != nil {
		return "", err
	}
	return p.errorRedirect(a, oidc.ErrAccessDenied().WithDescription("the login was cancelled")), nil
}

// reusable returns the browser's SSO session when it may finish a without a prompt.
func (p *Provider) reusable(ctx context.Context, a *AuthRequest, c *Client, cookie string) *Session {
	if cookie == "" || len(cookie) > 128 {
		return nil
	}
	for _, pr := range a.Params.Prompt {
		if pr == oidc.PromptLogin || pr == oidc.PromptConsent || pr == oidc.PromptSelectAccount {
			return nil
		}
	}
	sess, err := p.st.SSOSession(ctx, hashOf(cookie))
	if err != nil {
		if !errs.Is(err, errs.NotFound) {
			p.log.Warn("oidc: load SSO session", "error", err)
		}
		return nil
	}
	now := p.now()
	if !sess.EndedAt.IsZero() || !now.Before(sess.ExpiresAt) {
		return nil
	}
	if m := a.Params.MaxAge; m != nil && (*m == 0 || now.Sub(sess.Login.AuthTime) > time.Duration(*m)*time.Second) {
		return nil
	}
	if a.Params.HintSubject != "" {
		ids, err := p.identity()
		if err != nil {
			return nil
		}
		if sub, err := ids.Subject(c.Identity(), sess.Login.PersonID); err != nil || sub != a.Params.HintSubject {
			return nil
		}
	}
	if err := p.stillActs(ctx, &sess.Login); err != nil {
		return nil
	}
	return sess
}

// stillActs checks that the login's person may still act for its entity in the same role
// and grant (errs.Forbidden when not).
func (p *Provider) stillActs(ctx context.Context, l *Login) error {
	ids, err := p.identity()
	if err != nil {
		return err
	}
	r, err := ids.CanAct(ctx, l.PersonID, l.EntityCode, "", p.now())
	if err != nil {
		return err
	}
	if r.Kind != l.Role || (r.Grant != nil && r.Grant.ID != l.GrantID) {
		return errs.Forbiddenf("授权已变更，请重新登录", "the grant changed; log in again")
	}
	return nil
}

// finish completes a with the session's login and returns the redirect with a new code.
func (p *Provider) finish(ctx context.Context, a *AuthRequest, c *Client, sess *Session) (string, error) {
	ids, err := p.identity()
	if err != nil {
		return "", err
	}
	sub, err := ids.Subject(c.Identity(), sess.Login.PersonID)
	if err != nil {
		return "", err
	}
	code := random()
	now := p.now()
	l := sess.Login
	a.Login, a.SessionID, a.Subject, a.DoneAt = &l, sess.ID, sub, now
	a.CodeHash, a.CodeExpiresAt = hashOf(code), now.Add(CodeLifetime)
	if err := p.st.CompleteAuthRequest(ctx, a); err != nil {
		if errs.Is(err, errs.Conflict) {
			return "", errs.New(errs.Conflict, "authRequest", "此次登录已完成，请回到网站", "this login has already been completed; go back to the portal")
		}
		return "", fmt.Errorf("oidc: complete auth request: %w", err)
	}
	return p.responseURL(a, url.Values{"code": {code}}), nil
}

// responseURL is the authorisation response in query mode, with state and the issuer (RFC
// 9207, against mix-up attacks).
func (p *Provider) responseURL(a *AuthRequest, v url.Values) string {
	u, err := url.Parse(a.Params.RedirectURI)
	if err != nil { // registered and matched exactly, so it parses
		return a.Params.RedirectURI
	}
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	if a.Params.State != "" {
		q.Set("state", a.Params.State)
	}
	q.Set("iss", p.issuer)
	u.RawQuery = q.Encode()
	return u.String()
}

// errorRedirect is an authorisation error response to the portal.
func (p *Provider) errorRedirect(a *AuthRequest, e *oidc.Error) string {
	v := url.Values{"error": {string(e.ErrorType)}}
	if e.Description != "" {
		v.Set("error_description", e.Description)
	}
	return p.responseURL(a, v)
}
