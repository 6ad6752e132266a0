package oidc

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
)

// server is the library's legacy server with the parts this provider does differently:
// pushed requests and exact redirect matching before anything else, PKCE (S256) required
// for every client, private_key_jwt for the client-credentials grant with single-use
// assertions, codes checked against PKCE on every exchange, and its own discovery,
// userinfo, introspection and logout.
type server struct {
	*op.LegacyServer
	p *Provider
}

// requestURIPrefix starts every request_uri of a pushed request (RFC 9126 §2.2).
const requestURIPrefix = "urn:ietf:params:oauth:request_uri:"

// discovery is the provider metadata (OpenID Connect Discovery 1.0, RFC 8414) with what the
// library's type lacks.
type discovery struct {
	*oidc.DiscoveryConfiguration
	PAR          string `json:"pushed_authorization_request_endpoint"`
	RequirePAR   bool   `json:"require_pushed_authorization_requests"`
	IssParameter bool   `json:"authorization_response_iss_parameter_supported"`
}

func (s *server) Discovery(ctx context.Context, _ *op.Request[struct{}]) (*op.Response, error) {
	i := s.p.issuer
	d := &oidc.DiscoveryConfiguration{
		Issuer:                                     i,
		AuthorizationEndpoint:                      i + PathAuthorize,
		TokenEndpoint:                              i + PathToken,
		IntrospectionEndpoint:                      i + PathIntrospect,
		UserinfoEndpoint:                           i + PathUserinfo,
		RevocationEndpoint:                         i + PathRevoke,
		EndSessionEndpoint:                         i + PathEndSession,
		JwksURI:                                    i + PathKeys,
		ScopesSupported:                            Scopes(),
		ResponseTypesSupported:                     []string{string(oidc.ResponseTypeCode)},
		ResponseModesSupported:                     []string{string(oidc.ResponseModeQuery)},
		GrantTypesSupported:                        []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeClientCredentials},
		ACRValuesSupported:                         []string{identity.ACRLicencePIN, identity.ACRPersonalPIN, identity.ACRPasskey},
		SubjectTypesSupported:                      []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:           []string{"ES256"},
		TokenEndpointAuthMethodsSupported:          []oidc.AuthMethod{oidc.AuthMethodNone, oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodPrivateKeyJWT},
		TokenEndpointAuthSigningAlgValuesSupported: assertionAlgs,
		IntrospectionEndpointAuthMethodsSupported:  []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodPrivateKeyJWT},
		IntrospectionEndpointAuthSigningAlgValuesSupported: assertionAlgs,
		RevocationEndpointAuthMethodsSupported:             []oidc.AuthMethod{oidc.AuthMethodNone, oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodPrivateKeyJWT},
		RevocationEndpointAuthSigningAlgValuesSupported:    assertionAlgs,
		ClaimsSupported:                   supportedClaims,
		CodeChallengeMethodsSupported:     []oidc.CodeChallengeMethod{oidc.CodeChallengeMethodS256},
		ClaimsParameterSupported:          false,
		RequestParameterSupported:         false,
		RequestURIParameterSupported:      true,
		BackChannelLogoutSupported:        true,
		BackChannelLogoutSessionSupported: true,
		UILocalesSupported:                s.p.op.SupportedUILocales(),
		ServiceDocumentation:              i + "/api/v1/openapi.json",
	}
	return op.NewResponse(&discovery{DiscoveryConfiguration: d, PAR: i + PathPAR, IssParameter: true}), nil
}

// assertionAlgs are the algorithms of client assertions (private_key_jwt) accepted.
var assertionAlgs = []string{"ES256", "ES384", "RS256", "PS256"}

// VerifyAuthRequest resolves a pushed request (request_uri), finds the client, and matches
// the redirect URI exactly (RFC 9700 §4.1.3) before anything else, so that no error is ever
// sent to an address the client did not register.
func (s *server) VerifyAuthRequest(ctx context.Context, r *op.Request[oidc.AuthRequest]) (*op.ClientRequest[oidc.AuthRequest], error) {
	if uri := r.Form.Get("request_uri"); uri != "" {
		data, form, err := s.p.pushed(ctx, uri, r.Data.ClientID)
		if err != nil {
			return nil, err
		}
		r = &op.Request[oidc.AuthRequest]{Method: r.Method, URL: r.URL, Header: r.Header, Form: form, PostForm: form, Data: data}
	}
	if r.Data.ClientID == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("client_id is missing")
	}
	c, err := s.p.loadClient(ctx, r.Data.ClientID)
	if errs.Is(err, errs.NotFound) {
		return nil, oidc.ErrInvalidRequestRedirectURI().WithDescription("unknown client_id")
	}
	if err != nil {
		return nil, serverError(err)
	}
	if !slices.Contains(c.RedirectURIs, r.Data.RedirectURI) {
		return nil, oidc.ErrInvalidRequestRedirectURI().WithDescription("the redirect_uri is not registered for this client (it must match exactly)")
	}
	return &op.ClientRequest[oidc.AuthRequest]{Request: r, Client: s.p.opClient(c)}, nil
}

// Authorize stores the request and sends the browser to the login page. Its errors go to the
// client's (verified) redirect URI.
func (s *server) Authorize(ctx context.Context, r *op.ClientRequest[oidc.AuthRequest]) (*op.Redirect, error) {
	if r.Data.RequestParam != "" {
		return nil, oidc.ErrRequestNotSupported()
	}
	sub, err := op.ValidateAuthReqIDTokenHint(ctx, r.Data.IDTokenHint, s.p.op.IDTokenHintVerifier(ctx))
	if err != nil {
		return nil, err
	}
	a, err := s.p.createAuthRequest(ctx, r.Data, sub)
	if err != nil {
		return nil, err
	}
	return op.NewRedirect(s.p.loginURL(a.ID)), nil
}

// validateParams applies this provider's rules to an authorisation request whose client and
// redirect URI are verified: code flow in query mode, PKCE with S256 for every client (RFC
// 9700 §2.1.1), the openid scope, and only scopes the client was registered for.
func validateParams(c *Client, req *oidc.AuthRequest) (*Params, error) {
	if !c.HasGrant(GrantAuthorizationCode) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("the client is not registered for the authorization_code grant")
	}
	if req.ResponseType != oidc.ResponseTypeCode {
		return nil, &oidc.Error{ErrorType: "unsupported_response_type", Description: "only response_type=code is supported"}
	}
	if req.ResponseMode != "" && req.ResponseMode != oidc.ResponseModeQuery {
		return nil, oidc.ErrInvalidRequest().WithDescription("only response_mode=query is supported")
	}
	if req.CodeChallenge == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE is required: send code_challenge with code_challenge_method=S256")
	}
	if req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("only code_challenge_method=S256 is supported")
	}
	if len(req.CodeChallenge) < 43 || len(req.CodeChallenge) > 128 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge must be the base64url SHA-256 of a verifier")
	}
	if !slices.Contains(req.Scopes, identity.ScopeOpenID) {
		return nil, oidc.ErrInvalidScope().WithDescription("the openid scope is required")
	}
	var scopes []string
	for _, sc := range req.Scopes {
		if slices.Contains(c.Scopes, sc) && slices.Contains(userScopes, sc) && !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	if len(req.State) > 1024 || len(req.Nonce) > 1024 {
		return nil, oidc.ErrInvalidRequest().WithDescription("state and nonce are limited to 1024 characters")
	}
	return &Params{RedirectURI: req.RedirectURI, Scopes: scopes, State: req.State, Nonce: req.Nonce,
		ResponseType: string(req.ResponseType), ResponseMode: string(req.ResponseMode), CodeChallenge: req.CodeChallenge,
		CodeChallengeMethod: string(req.CodeChallengeMethod), Prompt: req.Prompt, MaxAge: req.MaxAge}, nil
}

// createAuthRequest validates and stores an authorisation request.
func (p *Provider) createAuthRequest(ctx context.Context, req *oidc.AuthRequest, hintSubject string) (*AuthRequest, error) {
	c, err := p.loadClient(ctx, req.ClientID)
	if err != nil {
		return nil, serverError(err)
	}
	params, err := validateParams(c, req)
	if err != nil {
		return nil, err
	}
	params.HintSubject = hintSubject
	now := p.now()
	a := &AuthRequest{ID: rand.Text(), ClientID: c.ID, Params: *params, CreatedAt: now, ExpiresAt: now.Add(AuthRequestLifetime)}
	if err := p.st.CreateAuthRequest(ctx, a); err != nil {
		return nil, serverError(err)
	}
	return a, nil
}

// pushed takes the pushed request a request_uri names, for clientID (RFC 9126 §4): once,
// before it expires, and only for the client that pushed it.
func (p *Provider) pushed(ctx context.Context, uri, clientID string) (*oidc.AuthRequest, url.Values, error) {
	id, ok := strings.CutPrefix(uri, requestURIPrefix)
	if !ok || id == "" {
		return nil, nil, oidc.ErrInvalidRequest().WithDescription("request_uri is not one this server issued")
	}
	pr, err := p.st.TakePushedRequest(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return nil, nil, oidc.ErrInvalidRequest().WithDescription("request_uri is unknown or was already used")
	}
	if err != nil {
		return nil, nil, serverError(err)
	}
	if pr.ClientID != clientID {
		return nil, nil, oidc.ErrInvalidRequest().WithDescription("request_uri belongs to another client")
	}
	if !p.now().Before(pr.ExpiresAt) {
		return nil, nil, oidc.ErrInvalidRequest().WithDescription("request_uri has expired")
	}
	req := new(oidc.AuthRequest)
	if err := p.op.Decoder().Decode(req, pr.Form); err != nil {
		return nil, nil, oidc.ErrInvalidRequest().WithDescription("stored request cannot be read").WithParent(err)
	}
	req.ClientID = pr.ClientID
	pr.Form.Set("client_id", pr.ClientID)
	return req, pr.Form, nil
}

// par answers the pushed authorisation request endpoint (RFC 9126): the client authenticates
// as at the token endpoint, the request is validated as at the authorisation endpoint, and
// the answer names it for a single use within PushedLifetime.
func (s *server) par(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeOAuthError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the form cannot be read")
		return
	}
	ctx := s.p.ctx(r.Context())
	c, err := s.p.authenticate(ctx, r)
	if err != nil {
		op.WriteError(w, r, clientStatus(err), nil)
		return
	}
	if r.PostForm.Has("request_uri") || r.PostForm.Has("request") {
		op.WriteError(w, r, oidc.ErrInvalidRequest().WithDescription("request_uri and request are not allowed here"), nil)
		return
	}
	req := new(oidc.AuthRequest)
	if err := s.p.op.Decoder().Decode(req, r.PostForm); err != nil {
		op.WriteError(w, r, oidc.ErrInvalidRequest().WithDescription("the request cannot be read").WithParent(err), nil)
		return
	}
	if req.ClientID != "" && req.ClientID != c.ID {
		op.WriteError(w, r, oidc.ErrInvalidRequest().WithDescription("client_id does not match the authenticated client"), nil)
		return
	}
	req.ClientID = c.ID
	if !slices.Contains(c.RedirectURIs, req.RedirectURI) {
		op.WriteError(w, r, oidc.ErrInvalidRequest().WithDescription("the redirect_uri is not registered for this client (it must match exactly)"), nil)
		return
	}
	if _, err := op.ValidateAuthReqPrompt(req.Prompt, req.MaxAge); err != nil {
		op.WriteError(w, r, err, nil)
		return
	}
	if _, err := validateParams(c, req); err != nil {
		op.WriteError(w, r, err, nil)
		return
	}
	form := url.Values{}
	for k, v := range r.PostForm {
		switch k {
		case "client_secret", "client_assertion", "client_assertion_type":
		default:
			form[k] = v
		}
	}
	pr := &PushedRequest{ID: rand.Text(), ClientID: c.ID, Form: form, ExpiresAt: s.p.now().Add(PushedLifetime)}
	if err := s.p.st.CreatePushedRequest(ctx, pr); err != nil {
		op.WriteError(w, r, serverError(err), nil)
		return
	}
	b, _ := jsonMarshal(map[string]any{"request_uri": requestURIPrefix + pr.ID, "expires_in": int(PushedLifetime / time.Second)})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(b)
}

// authenticate identifies the client of a back-channel request (PAR, introspection): by
// assertion (private_key_jwt), by secret (Basic or form), or as a public client by client_id.
func (p *Provider) authenticate(ctx context.Context, r *http.Request) (*Client, error) {
	f := r.PostForm
	id, secret, basic := r.BasicAuth()
	if basic {
		var err error
		if id, err = url.QueryUnescape(id); err != nil {
			return nil, oidc.ErrInvalidClient().WithDescription("invalid basic auth header")
		}
		if secret, err = url.QueryUnescape(secret); err != nil {
			return nil, oidc.ErrInvalidClient().WithDescription("invalid basic auth header")
		}
		if f.Has("client_secret") || f.Has("client_assertion") {
			return nil, oidc.ErrInvalidRequest().WithDescription("client authentication must not use more than one method")
		}
	} else {
		id, secret = f.Get("client_id"), f.Get("client_secret")
	}
	if a := f.Get("client_assertion"); a != "" {
		if secret != "" || f.Get("client_assertion_type") != oidc.ClientAssertionTypeJWTAssertion {
			return nil, oidc.ErrInvalidClient().WithDescription("invalid client_assertion")
		}
		c, err := p.assertionClient(ctx, a)
		if err != nil {
			return nil, err
		}
		if id != "" && id != c.ID {
			return nil, oidc.ErrInvalidClient().WithDescription("client_id does not match the assertion")
		}
		return c, nil
	}
	if secret != "" {
		c, err := p.storage.secretClient(ctx, id, secret)
		if err != nil {
			return nil, clientError(err)
		}
		return c, nil
	}
	c, err := p.loadClient(ctx, id)
	if errs.Is(err, errs.NotFound) || err == nil && !c.Public() {
		return nil, oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	if err != nil {
		return nil, serverError(err)
	}
	return c, nil
}

// clientError keeps a server error and turns anything else into invalid_client.
func clientError(err error) error {
	var e *oidc.Error
	if errors.As(err, &e) && e.ErrorType == oidc.ServerError {
		return err
	}
	return oidc.ErrInvalidClient().WithDescription("client authentication failed").WithParent(err)
}

// assertionClient verifies a client assertion (private_key_jwt, RFC 7523 §2.2, OpenID
// Connect Core §9): signed by a key the client registered, iss = sub = client ID, audience
// the issuer or the token endpoint, at most AssertionMaxAge old, not expired, and its jti
// never seen before (a replayed assertion is refused).
func (p *Provider) assertionClient(ctx context.Context, assertion string) (*Client, error) {
	v := op.NewJWTProfileVerifier(p.storage, p.issuer, AssertionMaxAge, 5*time.Second)
	req, err := op.VerifyJWTAssertion(ctx, assertion, v)
	if errors.Is(err, oidc.ErrAudience) {
		v = op.NewJWTProfileVerifier(p.storage, p.issuer+PathToken, AssertionMaxAge, 5*time.Second)
		req, err = op.VerifyJWTAssertion(ctx, assertion, v)
	}
	if err != nil {
		return nil, oidc.ErrInvalidClient().WithDescription("client assertion is not valid").WithParent(err)
	}
	c, err := p.loadClient(ctx, req.Issuer)
	if err != nil {
		return nil, oidc.ErrInvalidClient().WithDescription("client assertion is not valid").WithParent(err)
	}
	if c.AuthMethod != AuthPrivateKeyJWT {
		return nil, oidc.ErrInvalidClient().WithDescription("the client does not authenticate with private_key_jwt")
	}
	if req.JWTID == "" {
		return nil, oidc.ErrInvalidClient().WithDescription("the client assertion needs a jti")
	}
	exp := req.ExpiresAt.AsTime()
	if max := p.now().Add(AssertionMaxAge); exp.After(max) {
		exp = max // an assertion is only accepted within AssertionMaxAge of its iat anyway
	}
	if err := p.st.UseAssertion(ctx, c.ID, req.JWTID, exp); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, oidc.ErrInvalidClient().WithDescription("the client assertion was already used")
		}
		return nil, serverError(err)
	}
	return c, nil
}

// clientStatus answers a failed client authentication with 401 (RFC 6749 §5.2).
func clientStatus(err error) error {
	var e *oidc.Error
	if errors.As(err, &e) && e.ErrorType == oidc.InvalidClient {
		return op.NewStatusError(e, http.StatusUnauthorized)
	}
	return err
}

// VerifyClient authenticates the client at the token and revocation endpoints. Unlike the
// library, it accepts private_key_jwt for the client-credentials grant.
func (s *server) VerifyClient(ctx context.Context, r *op.Request[op.ClientCredentials]) (op.Client, error) {
	c, err := s.verifyClient(ctx, r)
	return c, clientStatus(err)
}

func (s *server) verifyClient(ctx context.Context, r *op.Request[op.ClientCredentials]) (op.Client, error) {
	if r.Data.ClientAssertion != "" {
		c, err := s.p.assertionClient(ctx, r.Data.ClientAssertion)
		if err != nil {
			return nil, err
		}
		if r.Data.ClientID != "" && r.Data.ClientID != c.ID {
			return nil, oidc.ErrInvalidClient().WithDescription("client_id does not match the assertion")
		}
		return s.p.opClient(c), nil
	}
	if oidc.GrantType(r.Form.Get("grant_type")) == oidc.GrantTypeClientCredentials {
		c, err := s.p.storage.secretClient(ctx, r.Data.ClientID, r.Data.ClientSecret)
		if err != nil {
			return nil, clientError(err)
		}
		return s.p.opClient(c), nil
	}
	return s.LegacyServer.VerifyClient(ctx, r)
}

// CodeExchange redeems an authorisation code: once, within CodeLifetime, by the client it
// was issued to, with the redirect URI of the request and the PKCE verifier of its
// challenge (always: PKCE is required for every client).
func (s *server) CodeExchange(ctx context.Context, r *op.ClientRequest[oidc.AccessTokenRequest]) (*op.Response, error) {
	ar, err := op.AuthRequestByCode(ctx, s.p.storage, r.Data.Code)
	if err != nil {
		return nil, err
	}
	if r.Client.GetID() != ar.GetClientID() {
		return nil, oidc.ErrInvalidGrant().WithDescription("the code was issued to another client")
	}
	if ar.GetCodeChallenge() == nil {
		return nil, oidc.ErrInvalidGrant().WithDescription("the request had no PKCE challenge")
	}
	if err := op.AuthorizeCodeChallenge(r.Data.CodeVerifier, ar.GetCodeChallenge()); err != nil {
		return nil, err
	}
	if r.Data.RedirectURI != ar.GetRedirectURI() {
		return nil, oidc.ErrInvalidGrant().WithDescription("redirect_uri does not correspond")
	}
	resp, err := op.CreateTokenResponse(ctx, ar, r.Client, s.p.op, true, r.Data.Code, "")
	if err != nil {
		return nil, err
	}
	return op.NewResponse(resp), nil
}

// JWTProfile: the JWT bearer authorisation grant (RFC 7523 §2.1) is not offered.
func (s *server) JWTProfile(context.Context, *op.Request[oidc.JWTProfileGrantRequest]) (*op.Response, error) {
	return nil, oidc.ErrUnsupportedGrantType().WithDescription("the JWT bearer grant is not supported")
}

// TokenExchange: token exchange (RFC 8693) is not offered.
func (s *server) TokenExchange(context.Context, *op.ClientRequest[oidc.TokenExchangeRequest]) (*op.Response, error) {
	return nil, oidc.ErrUnsupportedGrantType().WithDescription("token exchange is not supported")
}

// invalidToken is the RFC 6750 §3.1 error of a missing, expired or revoked access token.
func invalidToken(desc string) error {
	return op.NewStatusError(&oidc.Error{ErrorType: "invalid_token", Description: desc}, http.StatusUnauthorized)
}

// UserInfo answers the userinfo endpoint from a user access token (header or POST body; the
// guard refuses one in the URL). identity re-checks the login, so a revoked grant stops it.
func (s *server) UserInfo(ctx context.Context, r *op.Request[oidc.UserInfoRequest]) (*op.Response, error) {
	info, err := s.p.VerifyAccessToken(ctx, r.Data.AccessToken)
	if err != nil {
		if errs.KindOf(err) == errs.Unauthenticated {
			return nil, invalidToken(errs.As(err).EN)
		}
		return nil, serverError(err)
	}
	if info.Machine {
		return nil, invalidToken("a client-credentials token has no user")
	}
	ui := new(oidc.UserInfo)
	if err := s.p.storage.SetUserinfoFromToken(ctx, ui, info.ID, info.Subject, ""); err != nil {
		switch errs.KindOf(err) {
		case errs.Unauthenticated, errs.Forbidden, errs.NotFound:
			return nil, invalidToken(errs.As(err).EN)
		}
		return nil, serverError(err)
	}
	return op.NewResponse(ui), nil
}

// Introspect answers RFC 7662 for an authenticated client: active user tokens (stored, not
// revoked) and machine tokens (valid signature and time) with their scope and claims.
func (s *server) Introspect(ctx context.Context, r *op.Request[op.IntrospectionRequest]) (*op.Response, error) {
	hr := &http.Request{Header: r.Header, PostForm: r.Form, Form: r.Form}
	if _, err := s.p.authenticate(ctx, hr); err != nil {
		return nil, clientStatus(err)
	}
	resp := &oidc.IntrospectionResponse{}
	info, err := s.p.VerifyAccessToken(ctx, r.Data.Token)
	if err != nil {
		if errs.KindOf(err) == errs.Unauthenticated {
			return op.NewResponse(resp), nil
		}
		return nil, serverError(err)
	}
	resp.Active, resp.Scope, resp.ClientID, resp.Subject = true, info.Scopes, info.ClientID, info.Subject
	resp.TokenType, resp.Issuer, resp.JWTID = oidc.BearerToken, s.p.issuer, info.ID
	resp.Expiration, resp.IssuedAt, resp.Audience = oidc.FromTime(info.ExpiresAt), oidc.FromTime(info.IssuedAt), info.Audience
	resp.Claims = info.Claims
	return op.NewResponse(resp), nil
}

// EndSession is RP-initiated logout: it ends the SSO session named by the id_token_hint's
// sid (or, without a hint, the browser's session cookie), revokes its tokens, notifies its
// portals by back-channel logout, and returns to a registered post-logout address.
func (s *server) EndSession(ctx context.Context, r *op.Request[oidc.EndSessionRequest]) (*op.Redirect, error) {
	req, err := op.ValidateEndSessionRequest(ctx, r.Data, s.p.op)
	if err != nil {
		return nil, err
	}
	sid := ""
	if req.IDTokenHintClaims != nil {
		sid, _ = req.IDTokenHintClaims.Claims["sid"].(string)
	}
	if sid == "" {
		hr := &http.Request{Header: r.Header}
		if c, err := hr.Cookie(SSOCookie); err == nil && c.Value != "" {
			if sess, err := s.p.st.SSOSession(ctx, hashOf(c.Value)); err == nil {
				sid = sess.ID
			}
		}
	}
	if sid != "" {
		if _, err := s.p.revoke(ctx, Revocation{SessionID: sid}); err != nil {
			return nil, serverError(err)
		}
	}
	return op.NewRedirect(req.RedirectURI), nil
}
