package oidc

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/elicense/elicense/internal/errs"
)

// TokenInfo is a verified access token, as a resource server (the sharing API) checks it.
type TokenInfo struct {
	ID        string // jti
	ClientID  string
	Subject   string // the pairwise subject of the person, or the client ID of a machine token
	Audience  []string
	Scopes    []string
	Machine   bool // a client-credentials token: no person, no entity
	IssuedAt  time.Time
	ExpiresAt time.Time
	// Claims are the token's other claims (entity_code, role, … for a login).
	Claims map[string]any
	// Login is who logged in, for a person's token (the stored login: person, entity, role,
	// grant); nil for a machine token.
	Login *Login
}

// HasScope reports whether the token was granted scope.
func (t *TokenInfo) HasScope(scope string) bool {
	for _, s := range t.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

func errBadToken(en string) error {
	return errs.New(errs.Unauthenticated, "Authorization", "访问令牌无效、已过期或已撤销", "the access token is not valid, has expired or was revoked: "+en)
}

// VerifyAccessToken checks an access token of this provider: its ES256 signature, issuer and
// expiry; for a login token also that it is stored and not revoked (so a revocation takes
// effect at once). An invalid token is errs.Unauthenticated.
func (p *Provider) VerifyAccessToken(ctx context.Context, token string) (*TokenInfo, error) {
	if token == "" {
		return nil, errBadToken("no token")
	}
	claims, err := op.VerifyAccessToken[*oidc.AccessTokenClaims](p.ctx(ctx), token, p.verifier)
	if err != nil {
		return nil, errBadToken(err.Error())
	}
	t := &TokenInfo{ID: claims.JWTID, ClientID: claims.ClientID, Subject: claims.Subject, Audience: claims.Audience,
		Scopes: []string(claims.Scopes), IssuedAt: claims.IssuedAt.AsTime(), ExpiresAt: claims.Expiration.AsTime(), Claims: claims.Claims}
	if len(t.Scopes) == 0 {
		if s, ok := claims.Claims["scope"].(string); ok {
			t.Scopes = strings.Fields(s)
		}
	}
	delete(t.Claims, "scope")
	switch {
	case strings.HasPrefix(t.ID, machineTokenPrefix):
		t.Machine = true
		return t, nil
	case strings.HasPrefix(t.ID, userTokenPrefix):
		at, err := p.storage.liveToken(ctx, t.ID)
		if errs.KindOf(err) == errs.Unauthenticated {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("oidc: verify access token: %w", err)
		}
		t.ClientID, t.Scopes = at.ClientID, at.Scopes
		login := at.Login
		t.Login = &login
		return t, nil
	}
	return nil, errBadToken("unknown token kind")
}
