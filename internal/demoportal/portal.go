// Package demoportal is a department's service portal as an outside organisation would build
// one, for the demo and the end-to-end tests (issue 6 item 3): it logs an entity in through the
// platform's OpenID Connect provider (scan-to-login with the e-business licence), offers service
// items from the platform's catalogue, and applies for them through the platform's public
// application API with the person's access token, so that materials the platform already holds
// are never asked for.
//
// It deliberately imports nothing of the platform: it speaks HTTP only (OpenID Connect through
// github.com/coreos/go-oidc and golang.org/x/oauth2, as real portals do). Its sessions live in
// memory; a production portal would keep them in its own store.
package demoportal

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config describes one portal.
type Config struct {
	Name       string // e.g. 中国工商银行对公开户（演示）
	NameEN     string
	Department string // the organisation that runs it
	// Issuer is the platform's public URL, the OpenID Connect issuer.
	Issuer string
	// ClientID and ClientSecret are the portal's registration at the platform.
	ClientID, ClientSecret string
	// BaseURL is where browsers reach the portal; the redirect URI is BaseURL + "/callback".
	BaseURL string
	// Services are the catalogue item codes the portal offers.
	Services []string
	// HTTPClient talks to the platform (http.DefaultClient when nil).
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Portal serves the portal's pages.
type Portal struct {
	c     Config
	pages *template.Template

	mu       sync.Mutex
	provider *gooidc.Provider // discovered on first use: the platform may start after the portal
	pending  map[string]pending
	sessions map[string]*session
}

type pending struct {
	verifier, nonce, next string
	at                    time.Time
}

// session is a logged-in entity at the portal.
type session struct {
	IDToken     string
	AccessToken string
	Expiry      time.Time
	Claims      claims
}

// claims are the ID token claims the portal uses (identity issue, scopes entity and entity.person).
type claims struct {
	Subject    string `json:"sub"`
	EntityCode string `json:"entity_code"`
	EntityName string `json:"entity_name"`
	EntityKind string `json:"entity_kind"`
	Role       string `json:"role"`
	PersonName string `json:"person_name"`
	ACR        string `json:"acr"`
}

//go:embed templates/*.html
var files embed.FS

// New returns a portal; it contacts the platform only when a user logs in.
func New(c Config) (*Portal, error) {
	if c.Issuer == "" || c.ClientID == "" || c.BaseURL == "" {
		return nil, errors.New("demoportal: Issuer, ClientID and BaseURL are required")
	}
	if c.HTTPClient == nil {
		c.HTTPClient = http.DefaultClient
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Issuer = strings.TrimRight(c.Issuer, "/")
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	t, err := template.New("").Funcs(template.FuncMap{"t": tr}).ParseFS(files, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("demoportal: templates: %w", err)
	}
	return &Portal{c: c, pages: t, pending: map[string]pending{}, sessions: map[string]*session{}}, nil
}

// Handler returns the portal's routes.
func (p *Portal) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", p.home)
	mux.HandleFunc("GET /login", p.login)
	mux.HandleFunc("GET /callback", p.callback)
	mux.HandleFunc("POST /logout", p.logout)
	mux.HandleFunc("GET /services/{code}", p.service)
	mux.HandleFunc("POST /services/{code}/apply", p.apply)
	mux.HandleFunc("GET /applications/{id}", p.application)
	mux.HandleFunc("POST /applications/{id}/submit", p.submit)
	return mux
}

func (p *Portal) ctx(ctx context.Context) context.Context {
	return gooidc.ClientContext(ctx, p.c.HTTPClient)
}

func (p *Portal) oauth(ctx context.Context) (*oauth2.Config, *gooidc.Provider, error) {
	p.mu.Lock()
	prov := p.provider
	p.mu.Unlock()
	if prov == nil {
		var err error
		if prov, err = gooidc.NewProvider(p.ctx(ctx), p.c.Issuer); err != nil {
			return nil, nil, fmt.Errorf("discovery at %s: %w", p.c.Issuer, err)
		}
		p.mu.Lock()
		p.provider = prov
		p.mu.Unlock()
	}
	return &oauth2.Config{ClientID: p.c.ClientID, ClientSecret: p.c.ClientSecret, Endpoint: prov.Endpoint(),
		RedirectURL: p.c.BaseURL + "/callback", Scopes: []string{gooidc.ScopeOpenID, "entity", "entity.person", "entity.grants"}}, prov, nil
}

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// cookie is the session cookie's name: browsers share cookies across ports of one host, so
// each portal on localhost needs its own name.
func (p *Portal) cookie() string {
	id := p.c.ClientID
	if len(id) > 12 {
		id = id[:12]
	}
	return "portal_" + id
}

func (p *Portal) session(r *http.Request) *session {
	c, err := r.Cookie(p.cookie())
	if err != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.sessions[c.Value]
	if s != nil && time.Now().After(s.Expiry) {
		delete(p.sessions, c.Value)
		return nil
	}
	return s
}

// localNext keeps a redirect inside the portal.
func localNext(v string) string {
	if !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") || strings.ContainsAny(v, "\\\r\n") {
		return "/"
	}
	return v
}

func (p *Portal) login(w http.ResponseWriter, r *http.Request) {
	conf, _, err := p.oauth(r.Context())
	if err != nil {
		p.fail(w, r, http.StatusBadGateway, err)
		return
	}
	state, nonce, verifier := random(), random(), oauth2.GenerateVerifier()
	p.mu.Lock()
	for k, v := range p.pending { // forget abandoned logins
		if time.Since(v.at) > 15*time.Minute {
			delete(p.pending, k)
		}
	}
	p.pending[state] = pending{verifier: verifier, nonce: nonce, next: localNext(r.URL.Query().Get("next")), at: time.Now()}
	p.mu.Unlock()
	opts := []oauth2.AuthCodeOption{gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	if lang(r) == "en" {
		opts = append(opts, oauth2.SetAuthURLParam("ui_locales", "en"))
	}
	http.Redirect(w, r, conf.AuthCodeURL(state, opts...), http.StatusFound)
}

func (p *Portal) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	pd, ok := p.pending[q.Get("state")]
	delete(p.pending, q.Get("state"))
	p.mu.Unlock()
	switch {
	case !ok:
		p.fail(w, r, http.StatusBadRequest, errors.New("unknown or used login state"))
		return
	case q.Get("error") != "":
		p.fail(w, r, http.StatusUnauthorized, fmt.Errorf("%s: %s", q.Get("error"), q.Get("error_description")))
		return
	}
	conf, prov, err := p.oauth(r.Context())
	if err != nil {
		p.fail(w, r, http.StatusBadGateway, err)
		return
	}
	ctx := p.ctx(r.Context())
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pd.verifier))
	if err != nil {
		p.fail(w, r, http.StatusBadGateway, fmt.Errorf("token exchange: %w", err))
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := prov.Verifier(&gooidc.Config{ClientID: p.c.ClientID}).Verify(ctx, raw)
	if err != nil || idt.Nonce != pd.nonce {
		p.fail(w, r, http.StatusUnauthorized, fmt.Errorf("ID token: %v (nonce match %v)", err, err == nil && idt.Nonce == pd.nonce))
		return
	}
	s := &session{IDToken: raw, AccessToken: tok.AccessToken, Expiry: tok.Expiry}
	if s.Expiry.IsZero() {
		s.Expiry = time.Now().Add(time.Hour)
	}
	if err := idt.Claims(&s.Claims); err != nil {
		p.fail(w, r, http.StatusBadGateway, err)
		return
	}
	id := random()
	p.mu.Lock()
	p.sessions[id] = s
	p.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: p.cookie(), Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: strings.HasPrefix(p.c.BaseURL, "https://")})
	http.Redirect(w, r, pd.next, http.StatusFound)
}

func (p *Portal) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(p.cookie()); err == nil {
		p.mu.Lock()
		delete(p.sessions, c.Value)
		p.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: p.cookie(), Value: "", Path: "/", MaxAge: -1})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// item is a catalogue service item as the platform's public catalogue API returns it.
type item struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	NameEN     string `json:"name_en"`
	Scenario   string `json:"scenario"`
	Department struct {
		Name string `json:"name"`
	} `json:"department"`
	Materials []struct {
		Code     string `json:"code"`
		Name     string `json:"name"`
		NameEN   string `json:"name_en"`
		Required bool   `json:"required"`
	} `json:"materials"`
}

// application is the platform's application (办件) as its API returns it.
type application struct {
	ID         string `json:"id"`
	CaseNumber string `json:"case_number"`
	Status     string `json:"status"`
	Role       string `json:"role"`
	Item       struct {
		Code   string `json:"code"`
		Name   string `json:"name"`
		NameEN string `json:"name_en"`
	} `json:"item"`
	Entity struct {
		Code string `json:"code"`
		Name string `json:"name"`
	} `json:"entity"`
	Materials []struct {
		Code     string `json:"code"`
		Name     string `json:"name"`
		NameEN   string `json:"name_en"`
		Required bool   `json:"required"`
		Rule     string `json:"rule"`
		Status   string `json:"status"`
		Reason   string `json:"reason"`
		Licence  *struct {
			Identifier string `json:"identifier"`
			TypeName   string `json:"type_name"`
		} `json:"licence"`
		Consented bool   `json:"consented"`
		UploadSM3 string `json:"upload_sm3"`
	} `json:"materials"`
	NotAsked int    `json:"not_asked"`
	RecordID string `json:"record_id"`
}

// CanConsent reports whether the person may authorise fetching licence files (not an agent).
func (a *application) CanConsent() bool { return a.Role != "agent" }

// apiError is the platform's error body.
type apiError struct {
	Status int
	Code   string `json:"code"`
	Msg    string `json:"message"`
	Field  string `json:"field"`
}

func (e *apiError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s (%s)", e.Msg, e.Field)
	}
	return e.Msg
}

// call makes one platform API call with the person's access token (bearer "" for public calls).
func (p *Portal) call(ctx context.Context, r *http.Request, method, path, bearer string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.c.Issuer+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Accept-Language", map[string]string{"en": "en", "zh": "zh-CN"}[lang(r)])
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := p.c.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("platform unreachable: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error apiError `json:"error"`
		}
		if json.Unmarshal(b, &e) != nil || e.Error.Msg == "" {
			e.Error.Msg = fmt.Sprintf("platform answered %s", resp.Status)
		}
		e.Error.Status = resp.StatusCode
		return &e.Error
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// page is what every template gets.
type page struct {
	Lang      string
	Portal    Config
	Session   *session
	Items     []item
	Item      *item
	App       *application
	Err       string
	ErrStatus int
}

func (p *Portal) render(w http.ResponseWriter, r *http.Request, status int, name string, d page) {
	d.Lang, d.Portal = lang(r), p.c
	d.Portal.ClientSecret = ""
	var buf bytes.Buffer
	if err := p.pages.ExecuteTemplate(&buf, name, d); err != nil {
		p.c.Logger.Error("demo portal: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func (p *Portal) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	var ae *apiError
	if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 {
		status = ae.Status
	}
	p.render(w, r, status, "error.html", page{Session: p.session(r), Err: err.Error(), ErrStatus: status})
}

func (p *Portal) items(ctx context.Context, r *http.Request) []item {
	var out []item
	for _, code := range p.c.Services {
		var it item
		if err := p.call(ctx, r, "GET", "/api/v1/catalog/items/"+url.PathEscape(code), "", nil, &it); err != nil {
			it = item{Code: code, Name: code}
		}
		out = append(out, it)
	}
	return out
}

func (p *Portal) home(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusOK, "home.html", page{Session: p.session(r), Items: p.items(r.Context(), r)})
}

func (p *Portal) offered(code string) bool {
	for _, c := range p.c.Services {
		if c == code {
			return true
		}
	}
	return false
}

func (p *Portal) service(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	if !p.offered(code) {
		p.fail(w, r, http.StatusNotFound, fmt.Errorf("this portal does not offer %q", code))
		return
	}
	var it item
	if err := p.call(r.Context(), r, "GET", "/api/v1/catalog/items/"+url.PathEscape(code), "", nil, &it); err != nil {
		p.fail(w, r, http.StatusBadGateway, err)
		return
	}
	p.render(w, r, http.StatusOK, "service.html", page{Session: p.session(r), Item: &it})
}

// requireLogin sends a visitor without a session to log in and back.
func (p *Portal) requireLogin(w http.ResponseWriter, r *http.Request, back string) *session {
	s := p.session(r)
	if s == nil {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(back), http.StatusSeeOther)
	}
	return s
}

func (p *Portal) apply(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	s := p.requireLogin(w, r, "/services/"+url.PathEscape(code))
	if s == nil {
		return
	}
	if !p.offered(code) {
		p.fail(w, r, http.StatusNotFound, fmt.Errorf("this portal does not offer %q", code))
		return
	}
	var a application
	if err := p.call(r.Context(), r, "POST", "/api/v1/applications", s.AccessToken, map[string]string{"item": code}, &a); err != nil {
		p.fail(w, r, http.StatusBadGateway, err)
		return
	}
	http.Redirect(w, r, "/applications/"+url.PathEscape(a.ID), http.StatusSeeOther)
}

func (p *Portal) application(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s := p.requireLogin(w, r, "/applications/"+url.PathEscape(id))
	if s == nil {
		return
	}
	var a application
	if err := p.call(r.Context(), r, "GET", "/api/v1/applications/"+url.PathEscape(id), s.AccessToken, nil, &a); err != nil {
		p.fail(w, r, http.StatusBadGateway, err)
		return
	}
	p.render(w, r, http.StatusOK, "application.html", page{Session: s, App: &a})
}

// upload is a file the entity uploaded for a material; the platform keeps only its SM3 hash.
type upload struct {
	Material string `json:"material"`
	Name     string `json:"name"`
	Content  string `json:"content"` // base64
}

func (p *Portal) submit(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s := p.requireLogin(w, r, "/applications/"+url.PathEscape(id))
	if s == nil {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<20)
	if err := r.ParseMultipartForm(16 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		p.fail(w, r, http.StatusBadRequest, fmt.Errorf("upload: %w", err))
		return
	}
	ups := []upload{}
	if r.MultipartForm != nil {
		for field, fhs := range r.MultipartForm.File {
			material, ok := strings.CutPrefix(field, "file-")
			if !ok || len(fhs) == 0 || fhs[0].Size == 0 {
				continue
			}
			f, err := fhs[0].Open()
			if err != nil {
				p.fail(w, r, http.StatusBadRequest, err)
				return
			}
			b, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				p.fail(w, r, http.StatusBadRequest, err)
				return
			}
			ups = append(ups, upload{Material: material, Name: fhs[0].Filename, Content: base64.StdEncoding.EncodeToString(b)})
		}
	}
	consent := r.Form["consent"]
	if consent == nil {
		consent = []string{}
	}
	var a application
	if err := p.call(r.Context(), r, "POST", "/api/v1/applications/"+url.PathEscape(id)+"/submit", s.AccessToken,
		map[string]any{"consent": consent, "uploads": ups}, &a); err != nil {
		p.fail(w, r, http.StatusBadGateway, err)
		return
	}
	http.Redirect(w, r, "/applications/"+url.PathEscape(id), http.StatusSeeOther)
}
