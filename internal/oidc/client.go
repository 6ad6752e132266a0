package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
)

// Grant types a client may be registered for.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// Client authentication methods at the token endpoint (OpenID Connect Core §9).
const (
	AuthSecretBasic   = "client_secret_basic" // also accepts client_secret_post
	AuthSecretPost    = "client_secret_post"
	AuthPrivateKeyJWT = "private_key_jwt"
	AuthNone          = "none" // public clients (PKCE is their only protection)
)

// Scopes beyond identity's. offline_access asks for a refresh token; the sharing scopes are
// what departments' systems ask for with the client-credentials grant, one per operation of
// the sharing service (issue 5), which checks them.
const (
	ScopeOfflineAccess   = "offline_access"
	ScopeSharingQuery    = "sharing.query"
	ScopeSharingDownload = "sharing.download"
	ScopeSharingVerify   = "sharing.verify"
	ScopeSharingArchive  = "sharing.archive"
	// ScopeSigning lets a portal send documents to be signed on behalf of an entity (issue 7).
	ScopeSigning = "signing"
)

// userScopes are the scopes of logins; machineScopes those of the client-credentials grant.
var (
	userScopes    = []string{identity.ScopeOpenID, identity.ScopeEntity, identity.ScopeEntityPerson, identity.ScopeEntityGrants, ScopeOfflineAccess}
	machineScopes = []string{ScopeSharingQuery, ScopeSharingDownload, ScopeSharingVerify, ScopeSharingArchive, ScopeSigning}
)

// Scopes lists every scope the provider knows, in the order of the documentation.
func Scopes() []string { return append(slices.Clone(userScopes), machineScopes...) }

// Client is a relying party: a portal (网站/门户) that logs entities in, or a department's system
// that obtains client-credentials tokens.
type Client struct {
	ID string
	// SecretHash is SHA-256 of the client secret. The secret is 256 random bits, so a fast
	// hash is enough (there is nothing to guess), and the token endpoint stays fast; it is
	// shown once at registration and never stored. Nil for public and private_key_jwt clients.
	SecretHash             []byte
	AuthMethod             string
	Name                   string // shown on the wallet's confirmation screen
	Department             string
	Region                 string
	LogoURI                string
	RedirectURIs           []string // matched exactly
	PostLogoutRedirectURIs []string
	GrantTypes             []string
	Scopes                 []string // the scopes it may be given
	BackchannelLogoutURI   string
	JWKS                   []byte // public keys for private_key_jwt (a JSON Web Key Set)
	SectorID               string // pairwise-subject sector: the host of its redirect URIs
	CreatedBy              string
	CreatedAt              time.Time
}

// Public reports whether the client has no credentials (a browser or native app).
func (c *Client) Public() bool { return c.AuthMethod == AuthNone }

// Identity returns what identity shows of the client and computes subjects for.
func (c *Client) Identity() identity.Client {
	return identity.Client{ID: c.ID, Name: c.Name, Department: c.Department, Region: c.Region, SectorID: c.SectorID}
}

// HasGrant reports whether the client may use the grant type.
func (c *Client) HasGrant(g string) bool { return slices.Contains(c.GrantTypes, g) }

// checkSecret reports whether secret is the client's, in constant time.
func (c *Client) checkSecret(secret string) bool {
	if len(c.SecretHash) == 0 || secret == "" {
		return false
	}
	h := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(h[:], c.SecretHash) == 1
}

// ClientSpec is what an operator registers.
type ClientSpec struct {
	Name                   string          `json:"name"`
	Department             string          `json:"department,omitempty"`
	Region                 string          `json:"region,omitempty"`
	LogoURI                string          `json:"logo_uri,omitempty"`
	RedirectURIs           []string        `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs []string        `json:"post_logout_redirect_uris,omitempty"`
	GrantTypes             []string        `json:"grant_types"`
	Scopes                 []string        `json:"scopes,omitempty"` // default: every scope of its grants
	Public                 bool            `json:"public,omitempty"`
	AuthMethod             string          `json:"token_endpoint_auth_method,omitempty"` // default client_secret_basic, none when public
	BackchannelLogoutURI   string          `json:"backchannel_logout_uri,omitempty"`
	JWKS                   json.RawMessage `json:"jwks,omitempty"` // private_key_jwt
}

// Limits of a registration.
const (
	maxURIs      = 20
	maxURILength = 2000
	maxNameRunes = 100
)

// RegisterClient validates spec and stores a new client. For a client with a secret it
// returns the secret, which is shown this once and kept only as a hash. createdBy is recorded
// (e.g. "account:<id>" or "cli").
func (p *Provider) RegisterClient(ctx context.Context, spec ClientSpec, createdBy string) (*Client, string, error) {
	return RegisterClient(ctx, p.st, spec, createdBy, p.now())
}

// RegisterClient is Provider.RegisterClient for callers that only need the registry (the
// command line).
func RegisterClient(ctx context.Context, st Store, spec ClientSpec, createdBy string, now time.Time) (*Client, string, error) {
	c, err := validateSpec(spec)
	if err != nil {
		return nil, "", err
	}
	c.ID = strings.ToLower(rand.Text())
	c.CreatedBy, c.CreatedAt = createdBy, now.UTC().Truncate(time.Microsecond)
	var secret string
	if c.AuthMethod == AuthSecretBasic || c.AuthMethod == AuthSecretPost {
		var b [32]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		secret = "elcs_" + base64.RawURLEncoding.EncodeToString(b[:])
		h := sha256.Sum256([]byte(secret))
		c.SecretHash = h[:]
	}
	if err := st.CreateOIDCClient(ctx, c); err != nil {
		return nil, "", fmt.Errorf("oidc: register client: %w", err)
	}
	return c, secret, nil
}

// EnsureClient registers a client under a given ID and secret unless that ID exists, and
// returns the stored client. It is for the demo's own portals, whose ID and secret derive from
// the data directory's master key so that every start finds the same registration; real
// portals register with RegisterClient and get a random ID and secret.
func EnsureClient(ctx context.Context, st Store, id, secret string, spec ClientSpec, createdBy string, now time.Time) (*Client, error) {
	if c, err := st.OIDCClient(ctx, id); err == nil {
		return c, nil
	} else if !errs.Is(err, errs.NotFound) {
		return nil, fmt.Errorf("oidc: ensure client: %w", err)
	}
	c, err := validateSpec(spec)
	if err != nil {
		return nil, err
	}
	if c.AuthMethod != AuthSecretBasic && c.AuthMethod != AuthSecretPost {
		return nil, fmt.Errorf("oidc: ensure client: only clients with a secret")
	}
	if len(secret) < 32 {
		return nil, fmt.Errorf("oidc: ensure client: the secret is too short")
	}
	h := sha256.Sum256([]byte(secret))
	c.ID, c.SecretHash, c.CreatedBy, c.CreatedAt = id, h[:], createdBy, now.UTC().Truncate(time.Microsecond)
	if err := st.CreateOIDCClient(ctx, c); errs.Is(err, errs.Conflict) {
		return st.OIDCClient(ctx, id) // another process registered it first
	} else if err != nil {
		return nil, fmt.Errorf("oidc: ensure client: %w", err)
	}
	return c, nil
}

// validateSpec checks a registration, reporting every problem at once (errs.List).
func validateSpec(s ClientSpec) (*Client, error) {
	var list errs.List
	bad := func(field, zh, en string, args ...any) { list = append(list, errs.Invalidf(field, zh, en, args...)) }
	c := &Client{Name: strings.TrimSpace(s.Name), Department: strings.TrimSpace(s.Department),
		Region: strings.TrimSpace(s.Region), LogoURI: strings.TrimSpace(s.LogoURI),
		BackchannelLogoutURI: strings.TrimSpace(s.BackchannelLogoutURI)}
	if c.Name == "" {
		bad("name", "请填写网站名称（将在手机确认登录时显示）", "the portal name is required (the wallet shows it when confirming a login)")
	}
	for _, f := range []struct{ field, v string }{{"name", c.Name}, {"department", c.Department}, {"region", c.Region}} {
		if utf8.RuneCountInString(f.v) > maxNameRunes {
			bad(f.field, "%s 不能超过 %d 个字", "%s must have at most %d characters", f.field, maxNameRunes)
		}
	}
	if c.LogoURI != "" && !validURL(c.LogoURI) {
		bad("logo_uri", "图标地址须为 https 地址", "the logo must be an https URL")
	}
	// Grant types.
	if len(s.GrantTypes) == 0 {
		bad("grant_types", "请至少选择一种授权方式（authorization_code、refresh_token、client_credentials）",
			"give at least one grant type (authorization_code, refresh_token, client_credentials)")
	}
	for _, g := range s.GrantTypes {
		switch g {
		case GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials:
			if !slices.Contains(c.GrantTypes, g) {
				c.GrantTypes = append(c.GrantTypes, g)
			}
		default:
			bad("grant_types", "不支持的授权方式 %q", "unsupported grant type %q", g)
		}
	}
	code, machine := c.HasGrant(GrantAuthorizationCode), c.HasGrant(GrantClientCredentials)
	if c.HasGrant(GrantRefreshToken) && !code {
		bad("grant_types", "refresh_token 须与 authorization_code 一起使用", "refresh_token needs authorization_code")
	}
	// Authentication method.
	c.AuthMethod = s.AuthMethod
	switch {
	case s.Public && (s.AuthMethod == "" || s.AuthMethod == AuthNone):
		c.AuthMethod = AuthNone
	case s.Public:
		bad("token_endpoint_auth_method", "公开客户端没有密钥，认证方式只能为 none", "a public client has no credentials: its method can only be none")
	case s.AuthMethod == "":
		c.AuthMethod = AuthSecretBasic
	case s.AuthMethod == AuthSecretBasic || s.AuthMethod == AuthSecretPost || s.AuthMethod == AuthPrivateKeyJWT:
	case s.AuthMethod == AuthNone:
		bad("token_endpoint_auth_method", "认证方式为 none 时请注明 public", "the method none is for public clients: set public")
	default:
		bad("token_endpoint_auth_method", "不支持的认证方式 %q", "unsupported authentication method %q", s.AuthMethod)
	}
	if c.AuthMethod == AuthNone && machine {
		bad("grant_types", "公开客户端不能使用 client_credentials", "a public client cannot use client_credentials")
	}
	if c.AuthMethod == AuthPrivateKeyJWT {
		jwks, err := validJWKS(s.JWKS)
		if err != nil {
			list = append(list, err)
		}
		c.JWKS = jwks
	} else if len(s.JWKS) > 0 && string(s.JWKS) != "null" {
		bad("jwks", "只有 private_key_jwt 客户端需要公钥", "only private_key_jwt clients have keys")
	}
	// Redirect URIs: exact, absolute, https (http only on the loopback interface), no fragment.
	for i, u := range s.RedirectURIs {
		u = strings.TrimSpace(u)
		if !validURL(u) {
			bad(fmt.Sprintf("redirect_uris[%d]", i), "回调地址须为完整的 https 地址（本机回环地址可用 http），不能含 # 片段",
				"a redirect URI must be an absolute https URL (http only for loopback), without a fragment")
			continue
		}
		if !slices.Contains(c.RedirectURIs, u) {
			c.RedirectURIs = append(c.RedirectURIs, u)
		}
	}
	for i, u := range s.PostLogoutRedirectURIs {
		u = strings.TrimSpace(u)
		if !validURL(u) {
			bad(fmt.Sprintf("post_logout_redirect_uris[%d]", i), "退出后跳转地址须为完整的 https 地址", "a post-logout redirect URI must be an absolute https URL")
			continue
		}
		c.PostLogoutRedirectURIs = append(c.PostLogoutRedirectURIs, u)
	}
	if len(s.RedirectURIs) > maxURIs || len(s.PostLogoutRedirectURIs) > maxURIs {
		bad("redirect_uris", "地址不能超过 %d 个", "at most %d URIs", maxURIs)
	}
	if code && len(c.RedirectURIs) == 0 {
		bad("redirect_uris", "authorization_code 需要至少一个回调地址", "authorization_code needs at least one redirect URI")
	}
	if !code && (len(s.RedirectURIs) > 0 || c.BackchannelLogoutURI != "") {
		bad("redirect_uris", "只有登录网站（authorization_code）需要回调与退出地址", "only portals (authorization_code) have redirect and logout URIs")
	}
	if c.BackchannelLogoutURI != "" && !validURL(c.BackchannelLogoutURI) {
		bad("backchannel_logout_uri", "后台退出通知地址须为完整的 https 地址", "the back-channel logout URI must be an absolute https URL")
	}
	// Scopes: default to everything the grants allow.
	allowed := []string{}
	if code {
		allowed = append(allowed, identity.ScopeOpenID, identity.ScopeEntity, identity.ScopeEntityPerson, identity.ScopeEntityGrants)
		if c.HasGrant(GrantRefreshToken) {
			allowed = append(allowed, ScopeOfflineAccess)
		}
	}
	if machine {
		allowed = append(allowed, machineScopes...)
	}
	if len(s.Scopes) == 0 {
		c.Scopes = allowed
	}
	for _, sc := range s.Scopes {
		switch {
		case !slices.Contains(Scopes(), sc):
			bad("scopes", "未知的权限范围 %q", "unknown scope %q", sc)
		case !slices.Contains(allowed, sc):
			bad("scopes", "授权方式不支持权限范围 %q", "scope %q does not go with the grant types", sc)
		case !slices.Contains(c.Scopes, sc):
			c.Scopes = append(c.Scopes, sc)
		}
	}
	if code && !slices.Contains(c.Scopes, identity.ScopeOpenID) && len(s.Scopes) > 0 {
		bad("scopes", "登录网站须有 openid 权限范围", "a portal needs the openid scope")
	}
	c.SectorID = sectorOf(c.RedirectURIs)
	if err := list.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// validURL accepts an absolute https URL, or an http URL on the loopback interface (for
// development and tests), without user information or fragment.
func validURL(s string) bool {
	if s == "" || len(s) > maxURILength || strings.Contains(s, "#") {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		return loopback(u.Hostname())
	}
	return false
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sectorOf is the sector of pairwise subjects (OpenID Connect Core §8.1): the host of the
// redirect URIs when they share one; "" (the client ID) otherwise.
func sectorOf(uris []string) string {
	host := ""
	for _, s := range uris {
		u, err := url.Parse(s)
		if err != nil {
			return ""
		}
		if host != "" && u.Hostname() != host {
			return ""
		}
		host = u.Hostname()
	}
	return host
}

// validJWKS checks a private_key_jwt client's key set: public EC P-256/P-384 or RSA (≥ 2048
// bits) signing keys, each with a key ID.
func validJWKS(raw json.RawMessage) ([]byte, *errs.Error) {
	var set jose.JSONWebKeySet
	if len(raw) == 0 || json.Unmarshal(raw, &set) != nil || len(set.Keys) == 0 {
		return nil, errs.Invalidf("jwks", "private_key_jwt 客户端须提供公钥集（JWKS，含 keys 数组）", "a private_key_jwt client needs its public keys as a JWKS with a keys array")
	}
	for i, k := range set.Keys {
		if !k.Valid() || !k.IsPublic() || k.KeyID == "" || (k.Use != "" && k.Use != "sig") {
			return nil, errs.Invalidf("jwks", "第 %d 个公钥无效：须为带 kid 的签名公钥，不能含私钥", "key %d is not valid: it must be a public signing key with a kid", i+1)
		}
	}
	b, _ := json.Marshal(set) // re-encoded: only what go-jose understood is kept
	return b, nil
}

// key returns the client's public key with this key ID, for private_key_jwt.
func (c *Client) key(kid string) (*jose.JSONWebKey, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(c.JWKS, &set); err != nil {
		return nil, fmt.Errorf("oidc: client %s keys: %w", c.ID, err)
	}
	keys := set.Keys
	if kid != "" {
		keys = set.Key(kid)
	}
	if len(keys) != 1 {
		return nil, fmt.Errorf("oidc: client %s has no single key %q", c.ID, kid)
	}
	return &keys[0], nil
}
