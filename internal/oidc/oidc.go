// Package oidc is the platform's OpenID Connect provider (统一身份认证): relying portals log market
// entities in with their e-business licence, and departments' systems obtain client-credentials
// tokens (issue 4; STANDARDS §6). It adapts package identity and its own Store to the
// OpenID-certified provider library github.com/zitadel/oidc/v3 (package op), and is the only
// package that imports it.
//
// Flows: authorisation code with PKCE (S256 only, required for every client), pushed
// authorisation requests (RFC 9126), refresh tokens with rotation and reuse detection,
// client credentials (client secret or private_key_jwt), userinfo, introspection, revocation,
// RP-initiated logout and back-channel logout. The authorisation endpoint sends the browser to
// the platform's login page (package web), which shows a one-time QR code of identity's
// scan-to-login, or finishes at once when the browser has a single sign-on session.
//
// Every state is in the Store (authorisation requests, codes, SSO sessions, refresh families,
// access tokens, assertion IDs, rate-limit windows) and the signing key is kept encrypted with
// the master key in the key store, so several processes on one database behave as one.
// docs/identity.md ("OpenID Connect") lists the scopes, claims and endpoints.
package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/cors"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/identity"
)

// Lifetimes (RFC 9700: short-lived, single-use codes; short access tokens).
const (
	AuthRequestLifetime = 30 * time.Minute // time to finish a login
	CodeLifetime        = 60 * time.Second // an authorisation code is valid this long, once
	PushedLifetime      = 90 * time.Second // a pushed authorisation request
	AccessTokenLifetime = 10 * time.Minute
	IDTokenLifetime     = 10 * time.Minute
	RefreshLifetime     = 24 * time.Hour     // one refresh token (sliding)
	FamilyLifetime      = 7 * 24 * time.Hour // a refresh-token family (absolute)
	SessionLifetime     = 8 * time.Hour      // an SSO session (absolute)
	AssertionMaxAge     = 10 * time.Minute   // a client assertion's iat may be this old
	LogoutTimeout       = 5 * time.Second    // delivery of one back-channel logout token
)

// Endpoint paths, under the issuer.
const (
	PathDiscovery     = "/.well-known/openid-configuration"
	PathAuthorize     = "/oauth/authorize"
	PathPAR           = "/oauth/par"
	PathToken         = "/oauth/token"
	PathUserinfo      = "/oauth/userinfo"
	PathIntrospect    = "/oauth/introspect"
	PathRevoke        = "/oauth/revoke"
	PathEndSession    = "/oauth/end_session"
	PathKeys          = "/oauth/keys"
	PathLogin         = "/login"            // the platform's login page (package web)
	PathLoggedOut     = "/login/logged-out" // where a logout without a portal address ends
	pathAuthorizeBack = PathAuthorize + "/callback"
)

// Config configures a Provider. Store, Keys, Sealer and Issuer are required; Identity may be
// given later with SetIdentity (the identity service takes the provider as its
// SessionRevoker).
type Config struct {
	Store    Store
	Identity *identity.Service
	Keys     KeyStore   // where the signing key is kept (keys.Store)
	Sealer   *gm.Sealer // the master key that encrypts it
	// Issuer is the platform's public URL, e.g. https://elicense.example.cn: the issuer of
	// tokens and the base of every endpoint.
	Issuer string
	Logger *slog.Logger     // defaults to slog.Default()
	Clock  func() time.Time // defaults to time.Now
	// HTTPClient delivers back-channel logout tokens; defaults to a client with LogoutTimeout.
	HTTPClient *http.Client
}

// Provider is the OpenID Connect provider. It is safe for concurrent use.
type Provider struct {
	st       Store
	id       atomic.Pointer[identity.Service]
	issuer   string
	secure   bool
	log      *slog.Logger
	clock    func() time.Time
	hc       *http.Client
	key      *signingKey
	op       *op.Provider
	storage  *storage
	handler  http.Handler
	verifier *op.AccessTokenVerifier
	clients  sync.Map // client ID → cachedClient
}

// clientTTL is how long a process keeps a client it loaded. Clients are registered, never
// changed in place, so the cache only saves the look-ups every token request would make.
const clientTTL = 5 * time.Second

type cachedClient struct {
	c     *Client
	until time.Time
}

// loadClient returns a client from the Store, through a short per-process cache. An unknown
// client is not cached: a registration in another process is seen at once.
func (p *Provider) loadClient(ctx context.Context, id string) (*Client, error) {
	now := time.Now()
	if v, ok := p.clients.Load(id); ok {
		if cc := v.(cachedClient); now.Before(cc.until) {
			return cc.c, nil
		}
	}
	c, err := p.st.OIDCClient(ctx, id)
	if err != nil {
		return nil, err
	}
	p.clients.Store(id, cachedClient{c: c, until: now.Add(clientTTL)})
	return c, nil
}

// New loads (or, on first start, creates) the signing key and builds the provider.
func New(ctx context.Context, c Config) (*Provider, error) {
	switch {
	case c.Store == nil:
		return nil, errors.New("oidc: Config.Store is required")
	case c.Keys == nil || c.Sealer == nil:
		return nil, errors.New("oidc: Config.Keys and Config.Sealer are required")
	}
	u, err := url.Parse(c.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" ||
		strings.Trim(u.Path, "/") != "" {
		return nil, fmt.Errorf("oidc: issuer %q is not an http(s) origin (the platform's public URL, without a path)", c.Issuer)
	}
	p := &Provider{st: c.Store, issuer: strings.TrimSuffix(c.Issuer, "/"), secure: u.Scheme == "https",
		log: c.Logger, clock: c.Clock, hc: c.HTTPClient}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.clock == nil {
		p.clock = time.Now
	}
	if p.hc == nil {
		p.hc = &http.Client{Timeout: LogoutTimeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a logout endpoint that redirects has failed
		}}
	}
	if c.Identity != nil {
		p.id.Store(c.Identity)
	}
	if p.key, err = loadSigningKey(ctx, c.Keys, c.Sealer, p.now()); err != nil {
		return nil, err
	}
	p.storage = &storage{p: p}
	cfg := &op.Config{
		// The library encrypts opaque tokens with this key; every token here is a JWT or our
		// own random value, but the key is still shared by all processes (derived from the
		// shared signing key).
		CryptoKey:                         sha256.Sum256(append([]byte("elicense oidc crypto key v1\x00"), p.key.seed...)),
		DefaultLogoutRedirectURI:          p.issuer + PathLoggedOut,
		CodeMethodS256:                    true,
		AuthMethodPost:                    true,
		AuthMethodPrivateKeyJWT:           true,
		GrantTypeRefreshToken:             true,
		SupportedUILocales:                []language.Tag{language.SimplifiedChinese, language.English},
		SupportedScopes:                   Scopes(),
		SupportedClaims:                   supportedClaims,
		BackChannelLogoutSupported:        true,
		BackChannelLogoutSessionSupported: true,
	}
	opts := []op.Option{}
	if !p.secure {
		opts = append(opts, op.WithAllowInsecure())
	}
	if p.op, err = op.NewProvider(cfg, p.storage, op.StaticIssuer(p.issuer), opts...); err != nil {
		return nil, fmt.Errorf("oidc: provider: %w", err)
	}
	p.verifier = op.NewAccessTokenVerifier(p.issuer, &op.OpenIDKeySet{Storage: p.storage})
	srv := &server{LegacyServer: op.NewLegacyServer(p.op, endpoints), p: p}
	h := op.RegisterLegacyServer(srv, func(w http.ResponseWriter, r *http.Request) {
		// The login page finishes authorisation requests itself; nothing comes back here.
		http.NotFound(w, r)
	}, op.WithServerCORSOptions(&cors.Options{
		// Browser apps (public clients) call the token, userinfo and revocation endpoints
		// from their own origins; no endpoint here reads cookies for them.
		AllowedOrigins: []string{"*"},
		AllowedMethods: []string{http.MethodGet, http.MethodPost},
		AllowedHeaders: []string{"Authorization", "Content-Type", "Accept", "Accept-Language"},
	}))
	p.handler = p.guard(h, srv)
	return p, nil
}

// endpoints are the provider's endpoints; device authorisation and session iframes are off.
var endpoints = op.Endpoints{
	Authorization: op.NewEndpoint(PathAuthorize),
	Token:         op.NewEndpoint(PathToken),
	Introspection: op.NewEndpoint(PathIntrospect),
	Userinfo:      op.NewEndpoint(PathUserinfo),
	Revocation:    op.NewEndpoint(PathRevoke),
	EndSession:    op.NewEndpoint(PathEndSession),
	JwksURI:       op.NewEndpoint(PathKeys),
}

// supportedClaims are the claims tokens and userinfo may carry (docs/identity.md).
var supportedClaims = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp",
	"at_hash", "c_hash", "sid", "client_id", "scope", "jti",
	"entity_code", "entity_code_type", "entity_name", "entity_kind", "entity_status", "licence_id",
	"person_name", "role", "grant_all", "grant_items", "grant_from", "grant_until"}

// SetIdentity gives the provider the identity service (once, before serving).
func (p *Provider) SetIdentity(s *identity.Service) { p.id.Store(s) }

func (p *Provider) identity() (*identity.Service, error) {
	s := p.id.Load()
	if s == nil {
		return nil, errors.New("oidc: no identity service (SetIdentity was not called)")
	}
	return s, nil
}

// Issuer returns the issuer (the platform's public URL, without a trailing slash).
func (p *Provider) Issuer() string { return p.issuer }

// Secure reports whether the issuer is https (cookies are then Secure).
func (p *Provider) Secure() bool { return p.secure }

// Handler returns the HTTP handler of the provider's endpoints: discovery, authorize, par,
// token, userinfo, introspect, revoke, end_session and keys.
func (p *Provider) Handler() http.Handler { return p.handler }

// now is the provider's time: UTC, in the microseconds databases keep.
func (p *Provider) now() time.Time { return p.clock().UTC().Truncate(time.Microsecond) }

// ctx adds the issuer to a context for the library's helpers, outside its handler.
func (p *Provider) ctx(ctx context.Context) context.Context {
	return op.ContextWithIssuer(ctx, p.issuer)
}

// guard applies the rules the library leaves to us, before it sees a request: no token or
// credential in a URL (RFC 6750 §2.3, RFC 9700 §4.3), token endpoints only by POST, and no
// caching of any answer.
func (p *Provider) guard(next http.Handler, srv *server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		if r.URL.RawQuery != "" && r.URL.Path != PathAuthorize && r.URL.Path != PathEndSession {
			q := r.URL.Query()
			for _, k := range []string{"access_token", "refresh_token", "code", "code_verifier", "client_secret",
				"client_assertion", "token", "logout_token"} {
				if q.Has(k) {
					writeOAuthError(w, http.StatusBadRequest, "invalid_request",
						"credentials and tokens must not be sent in the URL: use the Authorization header or a POST body")
					return
				}
			}
		}
		if r.URL.Path == PathAuthorize && r.URL.Query().Has("access_token") {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "tokens must not be sent in the URL")
			return
		}
		if r.URL.Path == PathPAR {
			// Not on the library's router: its middleware must come before any route.
			srv.par(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer error="`+code+`"`)
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%q,"error_description":%q}`+"\n", code, description)
}

// random returns 256 random bits, base64url-encoded.
func random() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return b64.EncodeToString(b[:])
}

// hashOf is SHA-256 of a secret value (codes, cookies, refresh tokens: 256 random bits each).
func hashOf(v string) []byte {
	h := sha256.Sum256([]byte(v))
	return h[:]
}

// clientOf loads a client; an unknown one is errs.NotFound with a message.
func (p *Provider) clientOf(ctx context.Context, id string) (*Client, error) {
	c, err := p.loadClient(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return nil, &errs.Error{Kind: errs.NotFound, Field: "client_id", ZH: "未注册的网站（client_id 无效）", EN: "unknown client_id", Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("oidc: client %s: %w", id, err)
	}
	return c, nil
}

// Client returns a registered client (for the wallet's confirmation screen: name, department,
// region, logo).
func (p *Provider) Client(ctx context.Context, id string) (*Client, error) {
	return p.clientOf(ctx, id)
}

// Clients lists the registered clients.
func (p *Provider) Clients(ctx context.Context) ([]*Client, error) {
	cs, err := p.st.OIDCClients(ctx)
	if err != nil {
		return nil, fmt.Errorf("oidc: clients: %w", err)
	}
	return cs, nil
}

// Run purges expired state every interval until ctx ends. Every process may run it.
func (p *Provider) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			// Keep a day past expiry: replayed codes and refresh tokens are still recognised.
			if err := p.st.PurgeOIDC(ctx, p.now().Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
				p.log.Warn("oidc: purge expired state", "error", err)
			}
		}
	}
}
