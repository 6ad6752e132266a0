package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
)

// storage adapts the Provider to the library's op.Storage and its optional interfaces.
type storage struct{ p *Provider }

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.ClientCredentialsStorage       = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ op.CanGetPrivateClaimsFromRequest = (*storage)(nil)
)

// Prefixes of token IDs (jti): user tokens are stored, machine (client-credentials) tokens
// are not.
const (
	userTokenPrefix    = "u_"
	machineTokenPrefix = "m_"
	familyPrefix       = "rt:" // token IDs the revocation endpoint gets for refresh tokens
)

// serverError is how the library expects a storage fault: a 500 server_error, the cause logged.
func serverError(err error) error { return oidc.ErrServerError().WithParent(err) }

// authReq is an authorisation request as the library sees it. It caches the claims it
// computed, since the ID token and the access token of one response need the same.
type authReq struct {
	a      *AuthRequest
	claims claimsCache
}

var _ op.AuthRequest = (*authReq)(nil)

func (r *authReq) GetID() string { return r.a.ID }
func (r *authReq) GetACR() string {
	if r.a.Login == nil {
		return ""
	}
	return r.a.Login.ACR
}
func (r *authReq) GetAMR() []string {
	if r.a.Login == nil {
		return nil
	}
	return r.a.Login.AMR
}
func (r *authReq) GetAudience() []string { return []string{r.a.ClientID} }
func (r *authReq) GetAuthTime() time.Time {
	if r.a.Login == nil {
		return time.Time{}
	}
	return r.a.Login.AuthTime
}
func (r *authReq) GetClientID() string { return r.a.ClientID }
func (r *authReq) GetCodeChallenge() *oidc.CodeChallenge {
	if r.a.Params.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: r.a.Params.CodeChallenge, Method: oidc.CodeChallengeMethod(r.a.Params.CodeChallengeMethod)}
}
func (r *authReq) GetNonce() string       { return r.a.Params.Nonce }
func (r *authReq) GetRedirectURI() string { return r.a.Params.RedirectURI }
func (r *authReq) GetResponseType() oidc.ResponseType {
	return oidc.ResponseType(r.a.Params.ResponseType)
}
func (r *authReq) GetResponseMode() oidc.ResponseMode {
	return oidc.ResponseMode(r.a.Params.ResponseMode)
}
func (r *authReq) GetScopes() []string { return r.a.Params.Scopes }
func (r *authReq) GetState() string    { return r.a.Params.State }
func (r *authReq) GetSubject() string  { return r.a.Subject }
func (r *authReq) Done() bool          { return r.a.Login != nil }

// refreshReq is a refresh-token exchange: the family's login, as the library sees it.
type refreshReq struct {
	token  *RefreshToken
	family *RefreshFamily
	scopes []string
	claims claimsCache
}

var _ op.RefreshTokenRequest = (*refreshReq)(nil)

func (r *refreshReq) GetAMR() []string                 { return r.family.Login.AMR }
func (r *refreshReq) GetAudience() []string            { return []string{r.family.ClientID} }
func (r *refreshReq) GetAuthTime() time.Time           { return r.family.Login.AuthTime }
func (r *refreshReq) GetClientID() string              { return r.family.ClientID }
func (r *refreshReq) GetScopes() []string              { return r.scopes }
func (r *refreshReq) GetSubject() string               { return r.family.Subject }
func (r *refreshReq) SetCurrentScopes(scopes []string) { r.scopes = scopes }

// machineReq is a client-credentials request: the client acts for itself.
type machineReq struct {
	clientID string
	audience []string
	scopes   []string
}

func (r *machineReq) GetSubject() string    { return r.clientID }
func (r *machineReq) GetAudience() []string { return r.audience }
func (r *machineReq) GetScopes() []string   { return r.scopes }

// claimsCache keeps the claims of one token response by scope list.
type claimsCache map[string]*identity.Claims

// login returns what a token request is about: its login, client, session and scopes; ok is
// false for machine requests.
func loginOfRequest(req any) (l *Login, clientID, sessionID string, cache *claimsCache, ok bool) {
	switch r := req.(type) {
	case *authReq:
		if r.a.Login == nil {
			return nil, "", "", nil, false
		}
		return r.a.Login, r.a.ClientID, r.a.SessionID, &r.claims, true
	case *refreshReq:
		return &r.family.Login, r.family.ClientID, r.family.SessionID, &r.claims, true
	}
	return nil, "", "", nil, false
}

// claims builds the identity claims of a login for a client and scopes. identity re-checks
// that the person may still act for the entity in the same role (errs.Forbidden otherwise).
func (s *storage) claims(ctx context.Context, l *Login, clientID string, scopes []string, cache *claimsCache) (*identity.Claims, error) {
	key := strings.Join(scopes, " ")
	if cache != nil && *cache != nil {
		if c, ok := (*cache)[key]; ok {
			return c, nil
		}
	}
	ids, err := s.p.identity()
	if err != nil {
		return nil, err
	}
	client, err := s.p.clientOf(ctx, clientID)
	if err != nil {
		return nil, err
	}
	c, err := ids.Claims(ctx, l.identity(clientID), client.Identity(), scopes)
	if err != nil {
		return nil, err
	}
	if cache != nil {
		if *cache == nil {
			*cache = claimsCache{}
		}
		(*cache)[key] = c
	}
	return c, nil
}

// tokenError turns a refused login (revoked grant, licence no longer active) into
// invalid_grant, and anything else into a server error.
func tokenError(err error) error {
	switch errs.KindOf(err) {
	case errs.Forbidden, errs.NotFound, errs.Conflict:
		e := errs.As(err)
		return oidc.ErrInvalidGrant().WithDescription("%s", e.EN).WithParent(err)
	}
	return serverError(err)
}

// CreateAuthRequest is the library's way to store a request; the provider's Authorize
// (server.go) validates and stores requests itself, with this same code.
func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, hintSubject string) (op.AuthRequest, error) {
	a, err := s.p.createAuthRequest(ctx, req, hintSubject)
	if err != nil {
		return nil, err
	}
	return &authReq{a: a}, nil
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	a, err := s.p.st.AuthRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	return &authReq{a: a}, nil
}

// AuthRequestByCode takes the code: it is valid for CodeLifetime and once. A second use is a
// replay (the code leaked): the tokens the first use gave are revoked (RFC 6749 §4.1.2).
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	now := s.p.now()
	a, err := s.p.st.UseAuthCode(ctx, hashOf(code), now)
	switch {
	case errs.Is(err, errs.Conflict) && a != nil:
		s.p.log.Warn("oidc: authorisation code used twice; revoking what it gave", "client", a.ClientID, "auth_request", a.ID)
		if _, rerr := s.p.revoke(ctx, Revocation{AuthRequestID: a.ID}); rerr != nil {
			return nil, serverError(rerr)
		}
		return nil, errors.New("the code was already used")
	case errs.Is(err, errs.NotFound):
		return nil, errors.New("unknown code")
	case err != nil:
		return nil, serverError(err)
	}
	if !now.Before(a.CodeExpiresAt) {
		return nil, errors.New("the code has expired")
	}
	if a.Login == nil {
		return nil, errors.New("the login is not finished")
	}
	if a.SessionID != "" {
		sess, err := s.p.st.SSOSessionByID(ctx, a.SessionID)
		if err != nil {
			return nil, serverError(err)
		}
		if !sess.EndedAt.IsZero() {
			return nil, errors.New("the session has ended")
		}
	}
	return &authReq{a: a}, nil
}

// SaveAuthCode is the library's way to store a code; codes here are made and stored by the
// login page (CompleteAuthRequest), never by the library.
func (s *storage) SaveAuthCode(context.Context, string, string) error {
	return errors.New("oidc: authorisation codes are issued by the login page")
}

// DeleteAuthRequest is called after a code exchange. The request stays (its code is marked
// used) until it expires, so that a replay of the code is recognised; the purge removes it.
func (s *storage) DeleteAuthRequest(context.Context, string) error { return nil }

// CreateAccessToken issues an access token without a refresh token.
func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	now := s.p.now()
	exp := now.Add(AccessTokenLifetime)
	if _, ok := req.(*machineReq); ok {
		return machineTokenPrefix + random()[:32], exp, nil
	}
	at, err := s.accessToken(req, now)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := s.p.st.CreateTokens(ctx, at, nil, nil); err != nil {
		return "", time.Time{}, serverError(err)
	}
	return at.ID, exp, nil
}

// accessToken builds the stored access token of a login request.
func (s *storage) accessToken(req op.TokenRequest, now time.Time) (*AccessToken, error) {
	l, clientID, sessionID, _, ok := loginOfRequest(req)
	if !ok {
		return nil, serverError(fmt.Errorf("oidc: token request %T carries no login", req))
	}
	at := &AccessToken{ID: userTokenPrefix + random()[:32], ClientID: clientID, SessionID: sessionID,
		Subject: req.GetSubject(), Scopes: req.GetScopes(), Login: *l, CreatedAt: now, ExpiresAt: now.Add(AccessTokenLifetime)}
	switch r := req.(type) {
	case *authReq:
		at.AuthRequestID = r.a.ID
	case *refreshReq:
		at.FamilyID, at.AuthRequestID = r.family.ID, r.family.AuthRequestID
	}
	return at, nil
}

// CreateAccessAndRefreshTokens issues an access token with a refresh token: a new family for
// a code exchange with offline_access, the next token of the family for a refresh (rotation).
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	now := s.p.now()
	at, err := s.accessToken(req, now)
	if err != nil {
		return "", "", time.Time{}, err
	}
	value := random()
	rt := &RefreshToken{Hash: hashOf(value), CreatedAt: now, ExpiresAt: now.Add(RefreshLifetime)}
	switch r := req.(type) {
	case *authReq:
		f := &RefreshFamily{ID: strings.ToLower(random()[:26]), ClientID: r.a.ClientID, SessionID: r.a.SessionID,
			AuthRequestID: r.a.ID, Subject: r.a.Subject, Scopes: r.a.Params.Scopes, Login: *r.a.Login,
			CreatedAt: now, ExpiresAt: now.Add(FamilyLifetime)}
		rt.FamilyID, at.FamilyID = f.ID, f.ID
		if rt.ExpiresAt.After(f.ExpiresAt) {
			rt.ExpiresAt = f.ExpiresAt
		}
		if err := s.p.st.CreateTokens(ctx, at, f, rt); err != nil {
			return "", "", time.Time{}, serverError(err)
		}
	case *refreshReq:
		rt.FamilyID = r.family.ID
		if rt.ExpiresAt.After(r.family.ExpiresAt) {
			rt.ExpiresAt = r.family.ExpiresAt
		}
		err := s.p.st.RotateRefreshToken(ctx, hashOf(current), now, rt, at)
		if errs.Is(err, errs.Conflict) {
			// Another request rotated it meanwhile: a reuse.
			s.reused(ctx, r.family)
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("the refresh token was already used")
		}
		if err != nil {
			return "", "", time.Time{}, serverError(err)
		}
	default:
		return "", "", time.Time{}, serverError(fmt.Errorf("oidc: refresh token for %T", req))
	}
	return at.ID, value, at.ExpiresAt, nil
}

// reused revokes a family whose refresh token was presented a second time (RFC 9700
// §4.14.2): the thief and the rightful client both lose it, and the rightful client logs in
// again.
func (s *storage) reused(ctx context.Context, f *RefreshFamily) {
	s.p.log.Warn("oidc: refresh token reused; revoking its family", "client", f.ClientID, "family", f.ID)
	if _, err := s.p.revoke(ctx, Revocation{FamilyID: f.ID}); err != nil {
		s.p.log.Error("oidc: revoke refresh family", "family", f.ID, "error", err)
	}
}

// TokenRequestByRefreshToken checks a refresh token: known, not used before (else the family
// is revoked), not expired, its family not revoked, and the person still able to act for
// the entity in the same role.
func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	rt, f, err := s.p.st.RefreshToken(ctx, hashOf(token))
	if errs.Is(err, errs.NotFound) {
		return nil, errors.New("unknown refresh token")
	}
	if err != nil {
		return nil, serverError(err)
	}
	now := s.p.now()
	switch {
	case !f.RevokedAt.IsZero():
		return nil, errors.New("the refresh token was revoked")
	case !rt.UsedAt.IsZero():
		s.reused(ctx, f)
		return nil, errors.New("the refresh token was already used")
	case !now.Before(rt.ExpiresAt) || !now.Before(f.ExpiresAt):
		return nil, errors.New("the refresh token has expired")
	}
	if err := s.p.stillActs(ctx, &f.Login); err != nil {
		if errs.KindOf(err) == errs.Forbidden {
			if _, rerr := s.p.revoke(ctx, Revocation{FamilyID: f.ID}); rerr != nil {
				return nil, serverError(rerr)
			}
		}
		return nil, tokenError(err)
	}
	return &refreshReq{token: rt, family: f, scopes: slices.Clone(f.Scopes)}, nil
}

// TerminateSession ends the sessions in which clientID knows the person as subject (the
// library's logout path; the provider's EndSession (logout.go) is what runs).
func (s *storage) TerminateSession(ctx context.Context, subject, clientID string) error {
	sessions, err := s.p.st.SessionsOfSubject(ctx, clientID, subject)
	if err != nil {
		return serverError(err)
	}
	for _, sess := range sessions {
		if _, err := s.p.revoke(ctx, Revocation{SessionID: sess.ID}); err != nil {
			return serverError(err)
		}
	}
	return nil
}

// GetRefreshTokenInfo identifies a refresh token for the revocation endpoint.
func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	_, f, err := s.p.st.RefreshToken(ctx, hashOf(token))
	if errs.Is(err, errs.NotFound) {
		return "", "", op.ErrInvalidRefreshToken
	}
	if err != nil {
		return "", "", err
	}
	if f.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return f.Subject, familyPrefix + f.ID, nil
}

// RevokeToken revokes a refresh token's family or an access token of the client (RFC 7009).
// A token unknown or of another client is ignored, as the RFC asks.
func (s *storage) RevokeToken(ctx context.Context, tokenOrID, _, clientID string) *oidc.Error {
	if fam, ok := strings.CutPrefix(tokenOrID, familyPrefix); ok {
		if _, err := s.p.revoke(ctx, Revocation{FamilyID: fam}); err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
		return nil
	}
	at, err := s.p.st.AccessToken(ctx, tokenOrID)
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	if at.ClientID != clientID {
		return nil
	}
	if _, err := s.p.revoke(ctx, Revocation{AccessTokenID: at.ID}); err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.p.key, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.ES256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{s.p.key}}, nil
}

func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.p.loadClient(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return nil, errors.New("unknown client")
	}
	if err != nil {
		return nil, serverError(err)
	}
	return s.p.opClient(c), nil
}

func (p *Provider) opClient(c *Client) opClient { return opClient{c: c, p: p} }

// loginURL is the login page's address for an authorisation request.
func (p *Provider) loginURL(id string) string {
	return p.issuer + PathLogin + "?authRequest=" + url.QueryEscape(id)
}

// AuthorizeClientIDSecret checks a client secret (client_secret_basic or _post).
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	_, err := s.secretClient(ctx, id, secret)
	return err
}

func (s *storage) secretClient(ctx context.Context, id, secret string) (*Client, error) {
	c, err := s.p.loadClient(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return nil, errors.New("unknown client")
	}
	if err != nil {
		return nil, serverError(err)
	}
	if (c.AuthMethod != AuthSecretBasic && c.AuthMethod != AuthSecretPost) || !c.checkSecret(secret) {
		return nil, errors.New("wrong client credentials")
	}
	return c, nil
}

// SetUserinfoFromScopes is deprecated in the library in favour of SetUserinfoFromRequest,
// which is implemented; the library asks for an empty implementation.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's claims from identity.
func (s *storage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	l, clientID, sessionID, cache, ok := loginOfRequest(req)
	if !ok {
		return serverError(fmt.Errorf("oidc: ID token for %T", req))
	}
	c, err := s.claims(ctx, l, clientID, scopes, cache)
	if err != nil {
		return tokenError(err)
	}
	fill(info, c)
	if sessionID != "" {
		info.AppendClaims("sid", sessionID)
	}
	// A refresh request is not an op.AuthRequest, so the library leaves acr out; add it.
	info.AppendClaims("acr", c.ACR)
	return nil
}

// fill copies identity's claims into a userinfo.
func fill(info *oidc.UserInfo, c *identity.Claims) {
	info.Subject = c.Subject
	for k, v := range c.Custom() {
		info.AppendClaims(k, v)
	}
}

// SetUserinfoFromToken answers the userinfo endpoint: the token must be a stored user token,
// not revoked or expired, and identity must still accept the login.
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, _, _ string) error {
	at, err := s.liveToken(ctx, tokenID)
	if err != nil {
		return err
	}
	c, err := s.claims(ctx, &at.Login, at.ClientID, at.Scopes, nil)
	if err != nil {
		return err
	}
	fill(info, c)
	info.AppendClaims("acr", c.ACR)
	info.AppendClaims("amr", c.AMR)
	return nil
}

// liveToken returns a stored, unrevoked, unexpired user access token; any other is
// errs.Unauthenticated.
func (s *storage) liveToken(ctx context.Context, id string) (*AccessToken, error) {
	if !strings.HasPrefix(id, userTokenPrefix) {
		return nil, errBadToken("not a login token")
	}
	at, err := s.p.st.AccessToken(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return nil, errBadToken("unknown token")
	}
	if err != nil {
		return nil, fmt.Errorf("oidc: access token: %w", err)
	}
	if !at.RevokedAt.IsZero() || !s.p.now().Before(at.ExpiresAt) {
		return nil, errBadToken("revoked or expired")
	}
	return at, nil
}

// SetIntrospectionFromToken is the library's introspection path; the provider's Introspect
// (server.go) answers from VerifyAccessToken instead, which also knows machine tokens.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	at, err := s.liveToken(ctx, tokenID)
	if err != nil {
		return err
	}
	resp.Subject, resp.ClientID, resp.Scope = subject, at.ClientID, at.Scopes
	resp.Expiration, resp.IssuedAt = oidc.FromTime(at.ExpiresAt), oidc.FromTime(at.CreatedAt)
	resp.Audience = []string{at.ClientID}
	return nil
}

// GetPrivateClaimsFromScopes is superseded by GetPrivateClaimsFromRequest.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetPrivateClaimsFromRequest gives access tokens their claims: scope always; for a login the
// entity claims of its scopes, acr, amr, auth_time and sid (RFC 9068 §2.2).
func (s *storage) GetPrivateClaimsFromRequest(ctx context.Context, req op.TokenRequest, scopes []string) (map[string]any, error) {
	m := map[string]any{"scope": strings.Join(req.GetScopes(), " ")}
	l, clientID, sessionID, cache, ok := loginOfRequest(req)
	if !ok {
		return m, nil
	}
	c, err := s.claims(ctx, l, clientID, scopes, cache)
	if err != nil {
		return nil, tokenError(err)
	}
	for k, v := range c.Custom() {
		m[k] = v
	}
	m["acr"], m["amr"], m["auth_time"] = c.ACR, c.AMR, l.AuthTime.Unix()
	if sessionID != "" {
		m["sid"] = sessionID
	}
	return m, nil
}

// GetKeyByIDAndClientID returns a private_key_jwt client's public key.
func (s *storage) GetKeyByIDAndClientID(ctx context.Context, keyID, clientID string) (*jose.JSONWebKey, error) {
	c, err := s.p.loadClient(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if c.AuthMethod != AuthPrivateKeyJWT {
		return nil, errors.New("the client does not authenticate with private_key_jwt")
	}
	return c.key(keyID)
}

// ValidateJWTProfileScopes belongs to the JWT bearer grant (RFC 7523 §2.1), which this
// provider does not offer (server.go refuses it before this is reached).
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType()
}

// Health is the library's readiness probe: the Store answers.
func (s *storage) Health(ctx context.Context) error {
	_, err := s.p.st.OIDCClients(ctx)
	return err
}

// ClientCredentials authenticates a client by its secret for the client-credentials grant.
func (s *storage) ClientCredentials(ctx context.Context, id, secret string) (op.Client, error) {
	c, err := s.secretClient(ctx, id, secret)
	if err != nil {
		return nil, err
	}
	return s.p.opClient(c), nil
}

// ClientCredentialsTokenRequest checks the scopes a client asks for: each must be a sharing
// scope it was registered for; none asked means all of them.
func (s *storage) ClientCredentialsTokenRequest(ctx context.Context, id string, scopes []string) (op.TokenRequest, error) {
	c, err := s.p.loadClient(ctx, id)
	if err != nil {
		return nil, serverError(err)
	}
	return machineRequest(c, scopes, s.p.issuer)
}

func machineRequest(c *Client, scopes []string, issuer string) (*machineReq, error) {
	allowed := []string{}
	for _, sc := range c.Scopes {
		if slices.Contains(machineScopes, sc) {
			allowed = append(allowed, sc)
		}
	}
	if len(scopes) == 0 {
		scopes = allowed
	}
	for _, sc := range scopes {
		if !slices.Contains(allowed, sc) {
			return nil, oidc.ErrInvalidScope().WithDescription("scope %q is not allowed for this client", sc)
		}
	}
	return &machineReq{clientID: c.ID, audience: []string{issuer}, scopes: slices.Clone(scopes)}, nil
}

// jsonMarshal encodes v; the claims types here always encode.
func jsonMarshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("oidc: encode claims: %w", err)
	}
	return b, nil
}
