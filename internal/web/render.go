package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/license"
)

//go:embed templates/*.html static/* openapi.json openapi/*.json
var files embed.FS

// assets are the static files, served under names that contain a hash of their content so
// that browsers may cache them for good.
type assets struct {
	byName map[string]string // "style.css" → "style.1a2b3c4d5e.css"
	byHash map[string][]byte // hashed name → content
	types  map[string]string // hashed name → Content-Type
}

func loadAssets() (*assets, error) {
	a := &assets{byName: map[string]string{}, byHash: map[string][]byte{}, types: map[string]string{}}
	entries, err := fs.ReadDir(files, "static")
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	for _, e := range entries {
		b, err := files.ReadFile("static/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("web: static files: %w", err)
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(e.Name())
		hashed := strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:5]) + ext
		a.byName[e.Name()] = hashed
		a.byHash[hashed] = b
		switch ext {
		case ".css":
			a.types[hashed] = "text/css; charset=utf-8"
		case ".svg":
			a.types[hashed] = "image/svg+xml"
		default:
			a.types[hashed] = "application/octet-stream"
		}
	}
	return a, nil
}

// url returns the address of a static file by its plain name.
func (a *assets) url(name string) string { return "/static/" + a.byName[name] }

// static serves GET /static/{file}.
func (s *server) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, ok := s.assets.byHash[name]
	if !ok {
		s.pageError(w, r, errNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", s.assets.types[name])
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// loadOpenAPI builds the OpenAPI document: openapi.json holds the info, the shared components
// and the core paths; each file of openapi/ adds the paths and components of one area (so that
// areas are documented beside each other without editing one long file). A path or component
// defined twice is an error.
func loadOpenAPI() ([]byte, error) {
	b, err := files.ReadFile("openapi.json")
	if err != nil {
		return nil, fmt.Errorf("web: openapi.json: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("web: openapi.json: %w", err)
	}
	paths, _ := doc["paths"].(map[string]any)
	comps, _ := doc["components"].(map[string]any)
	if paths == nil || comps == nil {
		return nil, fmt.Errorf("web: openapi.json: no paths or components")
	}
	names, err := fs.Glob(files, "openapi/*.json")
	if err != nil {
		return nil, fmt.Errorf("web: openapi: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		fb, err := files.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("web: %s: %w", name, err)
		}
		var frag struct {
			Paths      map[string]any            `json:"paths"`
			Components map[string]map[string]any `json:"components"`
		}
		if err := json.Unmarshal(fb, &frag); err != nil {
			return nil, fmt.Errorf("web: %s: %w", name, err)
		}
		for p, v := range frag.Paths {
			if _, dup := paths[p]; dup {
				return nil, fmt.Errorf("web: %s: path %s is defined twice", name, p)
			}
			paths[p] = v
		}
		for kind, defs := range frag.Components {
			m, _ := comps[kind].(map[string]any)
			if m == nil {
				m = map[string]any{}
				comps[kind] = m
			}
			for k, v := range defs {
				if _, dup := m[k]; dup {
					return nil, fmt.Errorf("web: %s: component %s/%s is defined twice", name, kind, k)
				}
				m[k] = v
			}
		}
	}
	return json.Marshal(doc)
}

// pages are the parsed templates, one set per page, each with the common layout.
type pages struct {
	byName map[string]*template.Template
	buf    sync.Pool
}

// chinaTime is the time zone licences show dates in (China Standard Time has no daylight time).
var chinaTime = time.FixedZone("UTC+8", 8*60*60)

var funcs = template.FuncMap{
	// date shows the calendar day in China of an instant.
	"date": func(t any) string {
		switch t := t.(type) {
		case time.Time:
			return t.In(chinaTime).Format(time.DateOnly)
		case *time.Time:
			if t != nil {
				return t.In(chinaTime).Format(time.DateOnly)
			}
		}
		return ""
	},
	// datetime shows an instant in China time, with the offset.
	"datetime": func(t any) string {
		switch t := t.(type) {
		case time.Time:
			return t.In(chinaTime).Format("2006-01-02 15:04:05 (UTC+8)")
		case *time.Time:
			if t != nil {
				return t.In(chinaTime).Format("2006-01-02 15:04:05 (UTC+8)")
			}
		}
		return ""
	},
	// localInput formats an instant for an <input type="datetime-local"> in China time.
	"localInput": func(t time.Time) string { return t.In(chinaTime).Format("2006-01-02T15:04") },
	"eq":         func(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) },
}

func parsePages(a *assets) (*pages, error) {
	f := template.FuncMap{"asset": a.url}
	for k, v := range funcs {
		f[k] = v
	}
	base, err := template.New("").Funcs(f).ParseFS(files, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	p := &pages{byName: map[string]*template.Template{}}
	p.buf.New = func() any { return new(bytes.Buffer) }
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(files, n)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// pageData is what every page template receives; Data holds the page's own content.
type pageData struct {
	Lang    string
	Title   string
	Switch  string // the same page in the other language
	Account *account.Account
	CSRF    string // the session's CSRF token, for forms
	Nav     string // the admin section to highlight
	Data    any
}

// T returns the interface word for key in the page's language.
func (p *pageData) T(key string) string { return uiText(key, p.Lang) }

// L returns a face-item label in the page's language.
func (p *pageData) L(l license.Label) string {
	if p.Lang == langEN {
		return l.EN
	}
	return l.ZH
}

// N returns a two-language name in the page's language.
func (p *pageData) N(n names) string {
	if p.Lang == langEN {
		return n.EN
	}
	return n.ZH
}

// KindName returns the name of a kind of entity in the page's language.
func (p *pageData) KindName(k license.Kind) string {
	zh, en := license.KindName(k)
	return p.N(names{zh, en})
}

// StatusName returns the name of a status in the page's language.
func (p *pageData) StatusName(st license.Status) string {
	zh, en := license.StatusName(st)
	return p.N(names{zh, en})
}

// faceBlock is what the "face" template shows: a licence's face items with the labels of its kind.
type faceBlock struct {
	P *pageData
	V *licenceView
	L license.Labels
}

// Face prepares the face items of v for the "face" template.
func (p *pageData) Face(v *licenceView) faceBlock {
	return faceBlock{P: p, V: v, L: license.LabelsFor(v.Kind)}
}

// Input prepares a plain text input with its error from errors, for the "plain" template.
func (p *pageData) Input(errors map[string]string, name, label, value string) inputField {
	return inputField{Name: name, Label: label, Value: value, Type: "text", Error: errors[name]}
}

// Kinds lists the kinds of entity, for selects.
func (p *pageData) Kinds() []license.Kind { return license.Kinds }

// Statuses lists the statuses, for selects.
func (p *pageData) Statuses() []license.Status { return license.Statuses }

// render executes the page template name with d and writes it with the status. The template runs
// into a buffer first, so a template failure is a clean 500.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, d *pageData) {
	d.Lang = langOf(r)
	d.Switch = switchURL(r, d.Lang)
	if v := r.URL.Query().Get("lang"); v != "" {
		if l, ok := parseLang(v); ok {
			http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
				HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
		}
	}
	t, ok := s.pages.byName[name]
	if !ok {
		s.Logger.Error("web: no template", "name", name, "request_id", requestID(w))
		http.Error(w, "internal error "+requestID(w), http.StatusInternalServerError)
		return
	}
	buf := s.pages.buf.Get().(*bytes.Buffer)
	buf.Reset()
	defer s.pages.buf.Put(buf)
	if err := t.ExecuteTemplate(buf, "layout", d); err != nil {
		s.Logger.Error("web: template failed", "name", name, "request_id", requestID(w), "error", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(uiText("error.title", d.Lang) + " (request ID " + requestID(w) + ")\n"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Vary", "Accept-Language, Cookie")
	if strings.HasPrefix(r.URL.Path, "/admin/") {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// switchURL is the current address with the language switched.
func switchURL(r *http.Request, lang string) string {
	other := langEN
	if lang == langEN {
		other = langZH
	}
	q := r.URL.Query()
	q.Set("lang", other)
	if r.Method != http.MethodGet {
		// After a POST, switch on the page the form came from is unknown: stay on the path.
		return (&url.URL{Path: r.URL.Path, RawQuery: "lang=" + other}).String()
	}
	return (&url.URL{Path: r.URL.Path, RawQuery: q.Encode()}).String()
}
