package oidc

import (
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// opClient is a Client as the provider library sees it.
type opClient struct {
	c *Client
	p *Provider
}

var _ op.Client = opClient{}

func (o opClient) GetID() string                    { return o.c.ID }
func (o opClient) RedirectURIs() []string           { return o.c.RedirectURIs }
func (o opClient) PostLogoutRedirectURIs() []string { return o.c.PostLogoutRedirectURIs }

// ApplicationType: public clients are native or browser apps; the library then allows their
// loopback http redirects. Every redirect URI is matched exactly before that (server.go).
func (o opClient) ApplicationType() op.ApplicationType {
	if o.c.Public() {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

func (o opClient) AuthMethod() oidc.AuthMethod {
	switch o.c.AuthMethod {
	case AuthNone:
		return oidc.AuthMethodNone
	case AuthPrivateKeyJWT:
		return oidc.AuthMethodPrivateKeyJWT
	case AuthSecretPost:
		return oidc.AuthMethodPost
	default:
		return oidc.AuthMethodBasic
	}
}

func (o opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (o opClient) GrantTypes() []oidc.GrantType {
	gs := make([]oidc.GrantType, len(o.c.GrantTypes))
	for i, g := range o.c.GrantTypes {
		gs[i] = oidc.GrantType(g)
	}
	return gs
}

func (o opClient) LoginURL(id string) string { return o.p.loginURL(id) }

// AccessTokenType: access tokens are JWTs (RFC 9068), so resource servers can check them
// offline; user tokens are also kept in the Store, so userinfo and introspection see
// revocations at once.
func (o opClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (o opClient) IDTokenLifetime() time.Duration      { return IDTokenLifetime }
func (o opClient) DevMode() bool                       { return false }
func (o opClient) ClockSkew() time.Duration            { return 0 }

func (o opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (o opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (o opClient) IsScopeAllowed(scope string) bool { return slices.Contains(o.c.Scopes, scope) }

// IDTokenUserinfoClaimsAssertion: the entity claims are in the ID token as well as at
// userinfo (they are not the profile/email scopes the setting is about).
func (o opClient) IDTokenUserinfoClaimsAssertion() bool { return true }
