package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/license"
)

// DocumentHandlers serve licence documents (OFD/PDF) and their verification: the download API,
// the verification API for files and QR tokens, and the public pages that verify a scanned QR
// code (/v/{token}) or an uploaded file. Routes (routes.go):
//
//	GET  /api/v1/licenses/{code}/document?format=ofd|pdf&copy=original|duplicate  Document
//	POST /api/v1/verify                                                           VerifyAPI
//	GET  /v/{token}                                                               TokenPage
//	GET  /verify/file                                                             FilePage
//	POST /verify/file                                                             FilePage
type DocumentHandlers struct {
	docs     *document.Service
	licences *license.Service
	fail     func(http.ResponseWriter, *http.Request, error)
	page     *template.Template
}

// NewDocumentHandlers returns the document handlers; fail renders an error the site's way
// (server.fail).
func NewDocumentHandlers(docs *document.Service, licences *license.Service, fail func(http.ResponseWriter, *http.Request, error)) (*DocumentHandlers, error) {
	if docs == nil || licences == nil || fail == nil {
		return nil, errors.New("web: document handlers need the document and licence services and an error renderer")
	}
	t, err := documentTemplate()
	if err != nil {
		return nil, err
	}
	return &DocumentHandlers{docs: docs, licences: licences, fail: fail, page: t}, nil
}

// Document answers GET /api/v1/licenses/{code}/document: the licence (current version for a
// credit code, that version for an identifier) rendered and sealed, as an attachment.
func (h *DocumentHandlers) Document(w http.ResponseWriter, r *http.Request) {
	o, err := documentOptions(r.URL.Query())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	l, err := h.licences.Get(r.Context(), truncate(r.PathValue("code"), maxQuery))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b, err := h.docs.Render(r.Context(), l, o)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	copyZH := "正本"
	if o.Copy == document.Duplicate {
		copyZH = "副本"
	}
	writeDocument(w, o.Format, b, fmt.Sprintf("营业执照-%s-%s-v%d.%s", l.Code, copyZH, l.Version, o.Format),
		fmt.Sprintf("licence-%s-%s-v%d.%s", l.Code, o.Copy, l.Version, o.Format))
}

// documentOptions reads the query of a document download: ?format=ofd|pdf&copy=original|duplicate.
func documentOptions(q url.Values) (document.Options, error) {
	f, err := document.ParseFormat(q.Get("format"))
	if err != nil {
		return document.Options{}, err
	}
	c, err := document.ParseCopy(q.Get("copy"))
	if err != nil {
		return document.Options{}, err
	}
	return document.Options{Format: f, Copy: c}, nil
}

// writeDocument sends a rendered document b of format f as an attachment named name (ascii
// for clients that do not read RFC 6266's filename*), never cached.
func writeDocument(w http.ResponseWriter, f document.Format, b []byte, name, ascii string) {
	hd := w.Header()
	hd.Set("Content-Type", f.ContentType())
	hd.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, ascii, url.PathEscape(name)))
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// maxUpload bounds a verification request: the file plus multipart framing.
const maxUpload = document.MaxFileSize + 64<<10

func errUploadTooLarge() error {
	return errs.New(errs.TooLarge, "file", fmt.Sprintf("文件过大（上限 %d MiB）", document.MaxFileSize>>20),
		fmt.Sprintf("file too large (limit %d MiB)", document.MaxFileSize>>20))
}

// readVerifyInput reads what to verify from a request: a multipart upload (field "file", or
// "token"), a form or JSON body with "token", or the file as the raw body.
func readVerifyInput(w http.ResponseWriter, r *http.Request) (file []byte, token string, err error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	tooLarge := func(err error) error {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errUploadTooLarge()
		}
		return errs.Invalidf("file", "请求无法读取", "the request cannot be read: %v", err)
	}
	switch ct {
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxUpload); err != nil {
			return nil, "", tooLarge(err)
		}
		defer r.MultipartForm.RemoveAll()
		if t := r.FormValue("token"); t != "" {
			return nil, t, nil
		}
		f, _, err := r.FormFile("file")
		if err != nil {
			return nil, "", nil // nothing given: the report says so
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, document.MaxFileSize+1))
		if err != nil {
			return nil, "", tooLarge(err)
		}
		if len(b) > document.MaxFileSize {
			return nil, "", errUploadTooLarge()
		}
		return b, "", nil
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, "", tooLarge(err)
		}
		return nil, r.PostFormValue("token"), nil
	case "application/json":
		var v struct {
			Token string `json:"token"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&v); err != nil {
			return nil, "", errs.Invalidf("token", "JSON 请求体无法解析", "the JSON body cannot be parsed: %v", err)
		}
		return nil, v.Token, nil
	default:
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, "", tooLarge(err)
		}
		return b, "", nil
	}
}

// VerifyAPI answers POST /api/v1/verify with a verification report (STANDARDS §7 result codes):
// for an uploaded OFD or PDF file, or for a QR token (the URL a licence's QR code holds).
func (h *DocumentHandlers) VerifyAPI(w http.ResponseWriter, r *http.Request) {
	if tok := r.URL.Query().Get("token"); tok != "" {
		h.writeReport(w, r, tok, nil, true)
		return
	}
	file, tok, err := readVerifyInput(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeReport(w, r, tok, file, tok != "")
}

func (h *DocumentHandlers) report(r *http.Request, tok string, file []byte, isToken bool) (*document.Report, error) {
	if isToken {
		return h.docs.VerifyToken(r.Context(), tok)
	}
	return h.docs.Verify(r.Context(), file)
}

func (h *DocumentHandlers) writeReport(w http.ResponseWriter, r *http.Request, tok string, file []byte, isToken bool) {
	rep, err := h.report(r, tok, file, isToken)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, rep)
}

// TokenPage answers GET /v/{token}, where a licence's QR code leads: the verdict on the token
// (signature offline, status online) as a page, or as JSON for Accept: application/json.
func (h *DocumentHandlers) TokenPage(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	rep, err := h.docs.VerifyToken(r.Context(), tok)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		writeJSON(w, http.StatusOK, rep)
		return
	}
	h.render(w, r, rep, "")
}

// FilePage answers GET /verify/file (the upload form) and POST /verify/file (the verdict on the
// uploaded file, or on a pasted QR content).
func (h *DocumentHandlers) FilePage(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		h.render(w, r, nil, "")
		return
	}
	file, tok, err := readVerifyInput(w, r)
	if err != nil {
		if e := errs.As(err); e != nil && e.Kind != errs.Internal {
			h.render(w, r, nil, e.Message(langOf(r)))
			return
		}
		h.fail(w, r, err)
		return
	}
	rep, err := h.report(r, tok, file, tok != "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, rep, "")
}

// documentView is what the verification page shows (pageData.Data).
type documentView struct {
	Report  *document.Report
	Verdict string // the verdict in a few words, in the page's language
	Tone    string // ok, warn, bad
	Error   string
	Checks  []checkView
	Status  string
}

type checkView struct {
	OK   bool
	Text string
}

func (h *DocumentHandlers) render(w http.ResponseWriter, r *http.Request, rep *document.Report, problem string) {
	lang := langOf(r)
	en := lang == langEN
	v := &documentView{Report: rep, Error: problem}
	if rep != nil {
		switch rep.Result {
		case document.ResultValid:
			v.Tone = "ok"
		case document.ResultNotActivated, document.ResultSuspended, document.ResultNoLonger:
			v.Tone = "warn"
		default:
			v.Tone = "bad"
		}
		zh, enw := document.ResultWords(rep.Result)
		v.Verdict = zh
		if en {
			v.Verdict = strings.ToUpper(enw[:1]) + enw[1:] // the words begin with a lower-case ASCII letter
		}
		for _, c := range rep.Checks {
			t := c.ZH
			if en {
				t = c.EN
			}
			v.Checks = append(v.Checks, checkView{OK: c.OK, Text: t})
		}
		if rep.Status != "" {
			zh, enw := license.StatusName(rep.Status)
			v.Status = zh
			if en {
				v.Status = enw
			}
		}
	}
	title := "电子营业执照核验"
	if en {
		title = "Verify an e-business licence"
	}
	d := &pageData{Lang: lang, Title: title, Switch: switchURL(r, lang), Data: v}
	// The page runs into a buffer first, so that a template failure is a clean error page.
	var buf bytes.Buffer
	if err := h.page.ExecuteTemplate(&buf, "layout", d); err != nil {
		h.fail(w, r, fmt.Errorf("web: document page: %w", err))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	hd.Set("Vary", "Accept-Language, Cookie")
	status := http.StatusOK
	if problem != "" {
		status = http.StatusBadRequest
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// documentTemplate is the site's layout (templates/layout.html, with its stylesheet) around the
// verification page's content, so the page keeps the site's look and its Content-Security-Policy
// (no inline style or script).
func documentTemplate() (*template.Template, error) {
	a, err := loadAssets()
	if err != nil {
		return nil, err
	}
	f := template.FuncMap{"asset": a.url}
	for k, v := range funcs {
		f[k] = v
	}
	t, err := template.New("").Funcs(f).ParseFS(files, "templates/layout.html")
	if err == nil {
		_, err = t.New("content").Parse(documentContent)
	}
	if err != nil {
		return nil, fmt.Errorf("web: document page: %w", err)
	}
	return t, nil
}

// documentContent is the verification page for QR codes and files: the verdict, what the file or
// token says, every check, and the form to verify another.
const documentContent = `{{$d := .Data}}{{$en := eq .Lang "en"}}
{{- with $d.Error}}
<section class="card"><div class="problem" role="alert"><p>{{.}}</p></div></section>
{{- end}}
{{- with $d.Report}}
<section class="card result" aria-labelledby="result-title">
  <h1 id="result-title">{{if $en}}Verification result{{else}}核验结果{{end}}</h1>
  <p class="verdict {{$d.Tone}}" id="verdict" role="status" data-result="{{.Result}}">{{$d.Verdict}}</p>
  {{- if .Name}}<p class="entity">{{.Name}}</p>{{end}}
  {{- if .Identifier}}
  <dl class="face">
    <div><dt>{{if $en}}Credit code{{else}}统一社会信用代码{{end}}</dt><dd class="mono">{{.Code}}</dd></div>
    <div class="wide"><dt>{{if $en}}Licence identifier{{else}}电子证照标识{{end}}</dt><dd class="mono">{{.Identifier}}</dd></div>
    <div><dt>{{if $en}}Version{{else}}版本{{end}}</dt><dd>{{.Version}}{{if and .CurrentVersion (ne .CurrentVersion .Version)}} ({{if $en}}current: {{.CurrentVersion}}{{else}}当前为第 {{.CurrentVersion}} 版{{end}}){{end}}</dd></div>
    {{- if .Authority}}<div><dt>{{if $en}}Registering authority{{else}}登记机关{{end}}</dt><dd>{{.Authority}}</dd></div>{{end}}
    {{- if $d.Status}}<div><dt>{{if $en}}Status now{{else}}当前状态{{end}}</dt><dd>{{$d.Status}}</dd></div>{{end}}
    <div><dt>{{if $en}}Result code{{else}}核验结果代码{{end}}</dt><dd>{{.Result}}</dd></div>
  </dl>
  {{- end}}
  <h2>{{if $en}}Checks{{else}}核验项目{{end}}</h2>
  <ul class="checks">
    {{- range $d.Checks}}
    <li>{{if .OK}}<span class="badge active">✓ {{if $en}}passed{{else}}通过{{end}}</span>{{else}}<span class="badge revoked">✗ {{if $en}}failed{{else}}未通过{{end}}</span>{{end}} {{.Text}}</li>
    {{- end}}
  </ul>
</section>
{{- end}}
<section class="card">
  {{- if $d.Report}}
  <h2>{{if $en}}Verify another licence{{else}}核验其他执照{{end}}</h2>
  {{- else}}
  <h1>{{if $en}}Verify an e-business licence{{else}}电子营业执照核验{{end}}</h1>
  {{- end}}
  <form method="post" action="/verify/file" enctype="multipart/form-data">
    <div class="field">
      <label for="file">{{if $en}}Upload a licence file (OFD or PDF){{else}}上传执照文件（OFD 或 PDF）{{end}}</label>
      <input type="file" id="file" name="file" accept=".ofd,.pdf,application/pdf,application/ofd">
    </div>
    <div class="field">
      <label for="token">{{if $en}}…or paste the content of its QR code{{else}}……或粘贴二维码内容{{end}}</label>
      <input type="text" id="token" name="token" autocomplete="off" spellcheck="false">
    </div>
    <button type="submit">{{if $en}}Verify{{else}}核验{{end}}</button>
  </form>
</section>
`
