package web

// The wallet (移动端电子营业执照, issues 4 and 7): a phone-sized, server-rendered web app under
// /wallet/ in which a natural person registers, signs in with a one-time code or a passkey,
// passes real-name verification, claims the licences that name them (领照), binds the phone
// as a wallet device (WebAuthn passkey), confirms scan-to-login requests (扫码登录) and manages
// who may use the licence (administrators and agents). Every page is one identity.Service call
// (or a few reads for the home page); the rules live in package identity.
//
// This file holds what every wallet page shares: the templates and assets, the manifest, the
// session cookie, CSRF, rendering and errors. wallet_pages.go has the handlers.

import (
	"bytes"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
)

//go:embed templates/wallet/*.html
var walletFiles embed.FS

// Cookies of the wallet. Their path is /wallet/, so the admin pages never see them.
const (
	walletCookie = "elicense_wallet" // the wallet session (identity.Session), HttpOnly
	// walletPreCookie carries the CSRF token of the forms shown before there is a session (sign
	// in, register, one-time code): double submit, the form field must equal the cookie.
	walletPreCookie = "elicense_wallet_csrf"
	walletPath      = "/wallet/"
)

// walletCSRFHeader carries the CSRF token of the wallet's script requests (passkey options).
const walletCSRFHeader = "X-CSRF-Token"

// walletRes is what the wallet prepares at start-up.
type walletRes struct {
	manifest []byte
	icons    map[string][]byte // "192.png" → PNG
	xorigin  *http.CrossOriginProtection
}

var errWalletOff = errs.New(errs.Unavailable, "", "本平台未启用电子营业执照钱包", "the licence wallet is not enabled on this platform")

// initWallet parses the wallet's templates (each page with the wallet layout, under the name
// "wallet/<page>") and prepares the manifest, the icons and the cross-origin check.
func (s *server) initWallet() error {
	f := template.FuncMap{"asset": s.assets.url, "walletAsset": s.walletAsset, "lastDay": lastDay}
	for k, v := range funcs {
		f[k] = v
	}
	// The shared blocks ("problem", "face") come from the site layout; the wallet layout then
	// replaces "layout".
	base, err := template.New("").Funcs(f).ParseFS(files, "templates/layout.html")
	if err != nil {
		return fmt.Errorf("web: wallet templates: %w", err)
	}
	if base, err = base.ParseFS(walletFiles, "templates/wallet/layout.html"); err != nil {
		return fmt.Errorf("web: wallet templates: %w", err)
	}
	names, err := fs.Glob(walletFiles, "templates/wallet/*.html")
	if err != nil {
		return fmt.Errorf("web: wallet templates: %w", err)
	}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(walletFiles, n)
		if err != nil {
			return fmt.Errorf("web: wallet template %s: %w", name, err)
		}
		s.pages.byName["wallet/"+name] = t
	}
	for _, a := range []string{"wallet.css", "wallet.js", "wallet-icon.svg"} {
		if _, ok := s.assets.byName[a]; !ok {
			return fmt.Errorf("web: static/%s is missing", a)
		}
	}
	icons, err := walletIcons()
	if err != nil {
		return err
	}
	s.wallet = &walletRes{icons: icons, manifest: s.walletManifestJSON()}
	s.wallet.xorigin = http.NewCrossOriginProtection()
	s.wallet.xorigin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.walletError(w, r, nil, errCSRF)
	}))
	return nil
}

// walletAsset returns the address of a static file under /wallet/static/, where it is served
// with its real content type (scripts need one, with nosniff).
func (s *server) walletAsset(name string) string { return "/wallet/static/" + s.assets.byName[name] }

// walletStatic answers GET /wallet/static/{file}: the content-hashed static files.
func (s *server) walletStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, ok := s.assets.byHash[name]
	if !ok {
		s.walletError(w, r, nil, errNotFound)
		return
	}
	typ := s.assets.types[name]
	switch path.Ext(name) {
	case ".js":
		typ = "text/javascript; charset=utf-8"
	case ".css":
		typ = "text/css; charset=utf-8"
	}
	h := w.Header()
	h.Set("Content-Type", typ)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// walletManifestJSON is the web app manifest (W3C Web Application Manifest) that lets the
// wallet be installed to a phone's home screen.
func (s *server) walletManifestJSON() []byte {
	type icon struct {
		Src     string `json:"src"`
		Sizes   string `json:"sizes"`
		Type    string `json:"type"`
		Purpose string `json:"purpose,omitempty"`
	}
	m := struct {
		Name            string `json:"name"`
		ShortName       string `json:"short_name"`
		Description     string `json:"description"`
		Lang            string `json:"lang"`
		ID              string `json:"id"`
		StartURL        string `json:"start_url"`
		Scope           string `json:"scope"`
		Display         string `json:"display"`
		Orientation     string `json:"orientation"`
		BackgroundColor string `json:"background_color"`
		ThemeColor      string `json:"theme_color"`
		Icons           []icon `json:"icons"`
	}{
		Name: "电子营业执照 E-Business Licence", ShortName: "电子执照",
		Description: "领取、出示和使用电子营业执照 · Claim, show and use your electronic business licence",
		Lang:        "zh-CN", ID: walletPath, StartURL: walletPath, Scope: walletPath,
		Display: "standalone", Orientation: "portrait", BackgroundColor: "#f4f6f8", ThemeColor: "#b3261e",
		Icons: []icon{
			{Src: "/wallet/icons/192.png", Sizes: "192x192", Type: "image/png", Purpose: "any"},
			{Src: "/wallet/icons/512.png", Sizes: "512x512", Type: "image/png", Purpose: "any"},
			{Src: "/wallet/icons/512.png", Sizes: "512x512", Type: "image/png", Purpose: "maskable"},
			{Src: s.walletAsset("wallet-icon.svg"), Sizes: "any", Type: "image/svg+xml"},
		},
	}
	b, _ := json.MarshalIndent(m, "", "  ") // strings only: always encodes
	return b
}

// walletManifest answers GET /wallet/manifest.webmanifest.
func (s *server) walletManifest(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/manifest+json")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("Content-Length", strconv.Itoa(len(s.wallet.manifest)))
	_, _ = w.Write(s.wallet.manifest)
}

// walletIcon answers GET /wallet/icons/{file}: the PNG icons of the manifest.
func (s *server) walletIcon(w http.ResponseWriter, r *http.Request) {
	b, ok := s.wallet.icons[r.PathValue("file")]
	if !ok {
		s.walletError(w, r, nil, errNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/png")
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// walletIcons draws the home-screen icons once per process: a white licence card with a red
// emblem and text lines on the platform's red, full-bleed so that it also serves as a maskable
// icon (the card stays inside the safe zone, the central 80 %).
var walletIcons = sync.OnceValues(func() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, size := range []int{192, 512} {
		img := drawWalletIcon(size)
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			return nil, fmt.Errorf("web: wallet icon: %w", err)
		}
		out[strconv.Itoa(size)+".png"] = buf.Bytes()
	}
	return out, nil
})

func drawWalletIcon(n int) *image.RGBA {
	red := color.RGBA{0xb3, 0x26, 0x1e, 0xff}
	white := color.RGBA{0xff, 0xff, 0xff, 0xff}
	grey := color.RGBA{0x9a, 0xa3, 0xad, 0xff}
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	fill := func(x0, y0, x1, y1 float64, c color.RGBA) {
		for y := int(y0 * float64(n)); y < int(y1*float64(n)); y++ {
			for x := int(x0 * float64(n)); x < int(x1*float64(n)); x++ {
				img.SetRGBA(x, y, c)
			}
		}
	}
	fill(0, 0, 1, 1, red)
	fill(0.24, 0.2, 0.76, 0.8, white) // the card, portrait like the paper licence
	// The emblem: a red disc near the top of the card.
	cx, cy, rad := 0.5*float64(n), 0.34*float64(n), 0.075*float64(n)
	for y := int(cy - rad); y <= int(cy+rad); y++ {
		for x := int(cx - rad); x <= int(cx+rad); x++ {
			if dx, dy := float64(x)-cx, float64(y)-cy; dx*dx+dy*dy <= rad*rad {
				img.SetRGBA(x, y, red)
			}
		}
	}
	for i, w := range []float64{0.4, 0.4, 0.3} { // lines of text
		y := 0.5 + float64(i)*0.08
		fill(0.3, y, 0.3+w, y+0.035, grey)
	}
	return img
}

// walletPage wraps every wallet handler: the wallet must be enabled, nothing a wallet page
// shows may be cached, and a POST must come from the platform's own pages (the browser's
// Sec-Fetch-Site / Origin), before its CSRF token is checked.
func (s *server) walletPage(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if s.Identity == nil {
			s.walletError(w, r, nil, errWalletOff)
			return
		}
		if r.Method == http.MethodPost {
			s.wallet.xorigin.Handler(h).ServeHTTP(w, r)
			return
		}
		h(w, r)
	}
}

// walletUser is the signed-in person of a wallet request.
type walletUser struct {
	p    *identity.Person
	sess *identity.Session
}

// walletSession returns the person signed in to the wallet, or nil when there is none (no
// cookie, or one that has ended; the stale cookie is removed). Other failures are errors.
func (s *server) walletSession(w http.ResponseWriter, r *http.Request) (*walletUser, error) {
	c, err := r.Cookie(walletCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	p, sess, err := s.Identity.Session(r.Context(), c.Value)
	if errs.Is(err, errs.Unauthenticated) || errs.Is(err, errs.NotFound) {
		s.setWalletCookie(w, walletCookie, "", -1)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &walletUser{p: p, sess: sess}, nil
}

// walletAuth loads the signed-in person of a page that needs one. Without a session a GET is
// sent to the sign-in page (and comes back here afterwards); a POST fails. For a POST it also
// reads the form and checks its CSRF token.
func (s *server) walletAuth(w http.ResponseWriter, r *http.Request) (*walletUser, bool) {
	u, err := s.walletSession(w, r)
	if err != nil {
		s.walletError(w, r, nil, err)
		return nil, false
	}
	if u == nil {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, "/wallet/?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		} else {
			s.walletError(w, r, nil, errs.New(errs.Unauthenticated, "", "登录已失效，请重新登录", "your session has ended; please sign in again"))
		}
		return nil, false
	}
	if r.Method == http.MethodPost {
		if err := s.parseForm(w, r); err != nil {
			s.walletError(w, r, u, err)
			return nil, false
		}
		if !identity.ValidCSRF(u.sess, r.PostForm.Get("csrf")) {
			s.walletError(w, r, u, errCSRF)
			return nil, false
		}
	}
	return u, true
}

// walletAPIAuth is walletAuth for the wallet script's JSON requests: the CSRF token comes in a
// header, and errors are JSON.
func (s *server) walletAPIAuth(w http.ResponseWriter, r *http.Request) (*walletUser, bool) {
	u, err := s.walletSession(w, r)
	switch {
	case err != nil:
		s.apiError(w, r, err)
		return nil, false
	case u == nil:
		s.apiError(w, r, errs.New(errs.Unauthenticated, "", "登录已失效，请重新登录", "your session has ended; please sign in again"))
		return nil, false
	case !identity.ValidCSRF(u.sess, r.Header.Get(walletCSRFHeader)):
		s.apiError(w, r, errCSRF)
		return nil, false
	}
	return u, true
}

// preToken returns the CSRF token of the forms shown before sign-in, setting its cookie when
// the browser has none.
func (s *server) preToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(walletPreCookie); err == nil && len(c.Value) == 64 {
		return c.Value
	}
	t := randomToken()
	s.setWalletCookie(w, walletPreCookie, t, 24*3600)
	return t
}

// validPre checks the double-submitted token of a form or script request made before sign-in.
func validPre(r *http.Request, token string) bool {
	c, err := r.Cookie(walletPreCookie)
	return err == nil && len(c.Value) == 64 && sameToken(token, c.Value)
}

// preForm reads the form of a POST made before sign-in and checks its CSRF token.
func (s *server) preForm(w http.ResponseWriter, r *http.Request) bool {
	if err := s.parseForm(w, r); err != nil {
		s.walletError(w, r, nil, err)
		return false
	}
	if !validPre(r, r.PostForm.Get("csrf")) {
		s.walletError(w, r, nil, errCSRF)
		return false
	}
	return true
}

func (s *server) setWalletCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: walletPath, MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// signInWallet sets the session cookie of a new sign-in.
func (s *server) signInWallet(w http.ResponseWriter, in *identity.SignIn) {
	age := int(in.Session.ExpiresAt.Sub(s.now()) / time.Second)
	s.setWalletCookie(w, walletCookie, in.Cookie, max(age, 1))
}

// safeWalletNext returns next if it is a wallet page, so that a sign-in cannot send the browser
// to another site; otherwise the wallet's home.
func safeWalletNext(next string) string {
	if !strings.HasPrefix(next, walletPath) || strings.ContainsAny(next, "\\\r\n") {
		return walletPath
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return walletPath
	}
	return next
}

// walletLimit counts an attempt of kind (oidc.LimitWalletStart, …) from the client's address
// against the provider's rate limits, shared by every process; without the provider there are
// only identity's own limits per phone, code and PIN.
func (s *server) walletLimit(r *http.Request, kind string) error {
	if s.OIDC == nil {
		return nil
	}
	return s.OIDC.Limit(r.Context(), kind, clientAddr(r))
}

// walletData is what every wallet template receives as .Data.
type walletData struct {
	Person *identity.Person // signed in; nil on the sign-in pages
	Nav    string           // the section to highlight in the bottom navigation
	Done   string           // key of a confirmation to show ("done.<key>")
	Page   any              // the page's own content
}

// walletRender renders the wallet page name (templates/wallet/<name>.html) with the title
// under key title.
func (s *server) walletRender(w http.ResponseWriter, r *http.Request, status int, name, title string, u *walletUser, d *walletData) {
	pd := &pageData{Title: walletText(title, langOf(r)), Data: d}
	if u != nil {
		d.Person, pd.CSRF = u.p, u.sess.CSRF
	} else {
		pd.CSRF = s.preToken(w, r)
	}
	if d.Done == "" && r.Method == http.MethodGet {
		if k := r.URL.Query().Get("done"); k != "" {
			if _, ok := walletUI["done."+k]; ok {
				d.Done = "done." + k
			}
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, "wallet/"+name, pd)
}

// walletError renders err as a wallet page.
func (s *server) walletError(w http.ResponseWriter, r *http.Request, u *walletUser, err error) {
	s.walletProblem(w, r, u, s.describe(w, r, err))
}

// walletProblem renders a described error as a wallet page.
func (s *server) walletProblem(w http.ResponseWriter, r *http.Request, u *walletUser, p problem) {
	s.walletRender(w, r, p.Status, "error", "error.title", u, &walletData{Page: &p})
}

// formProblem describes err for a form that shows it inline; ok is false (and the error page
// has been rendered) when it is not something the user can correct on the form.
func (s *server) formProblem(w http.ResponseWriter, r *http.Request, u *walletUser, err error) (*problem, map[string]string, bool) {
	p := s.describe(w, r, err)
	if p.Status >= 500 || p.Status == http.StatusForbidden && p.Field == "csrf" {
		s.walletProblem(w, r, u, p)
		return nil, nil, false
	}
	return &p, fieldErrors(p), true
}

// walletJSON writes a JSON answer of the wallet script.
func walletJSON(w http.ResponseWriter, v any) {
	writeJSON(w, http.StatusOK, v)
}

// challengeJSON is a passkey challenge as the wallet script receives it: the options for
// navigator.credentials.create or .get, and the ceremony to send back with the answer.
type challengeJSON struct {
	Ceremony  string          `json:"ceremony"`
	Options   json.RawMessage `json:"options"`
	ExpiresAt time.Time       `json:"expires_at"`
}

func challengeOf(c *identity.PasskeyChallenge) challengeJSON {
	return challengeJSON{Ceremony: c.Ceremony, Options: c.Options, ExpiresAt: c.ExpiresAt.UTC()}
}

// proofOf reads the confirmation of a form: the PIN typed, or the passkey assertion the wallet
// script put into the hidden fields (method=passkey, ceremony, response).
func proofOf(r *http.Request) identity.Proof {
	if r.PostForm.Get("method") == string(identity.MethodPasskey) {
		return identity.Proof{Method: identity.MethodPasskey, Ceremony: r.PostForm.Get("ceremony"),
			Response: []byte(r.PostForm.Get("response"))}
	}
	return identity.Proof{Method: identity.MethodPIN, PIN: strings.TrimSpace(r.PostForm.Get("pin"))}
}

// errPINMismatch is the error of a new PIN typed differently the second time.
func errPINMismatch(field string) error {
	return errs.New(errs.Invalid, field, "两次输入的密码不一致", "the two PINs you typed differ")
}

// sameSecret compares two typed secrets in constant time.
func sameSecret(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
