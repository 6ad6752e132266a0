package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
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
	t, err := template.New("verify").Parse(documentPage)
	if err != nil {
		return nil, fmt.Errorf("web: document page: %w", err)
	}
	return &DocumentHandlers{docs: docs, licences: licences, fail: fail, page: t}, nil
}

// Document answers GET /api/v1/licenses/{code}/document: the licence (current version for a
// credit code, that version for an identifier) rendered and sealed, as an attachment.
func (h *DocumentHandlers) Document(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := document.ParseFormat(q.Get("format"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := document.ParseCopy(q.Get("copy"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	l, err := h.licences.Get(r.Context(), truncate(r.PathValue("code"), maxQuery))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b, err := h.docs.Render(r.Context(), l, document.Options{Format: f, Copy: c})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	copyZH := "正本"
	if c == document.Duplicate {
		copyZH = "副本"
	}
	name := fmt.Sprintf("营业执照-%s-%s-v%d.%s", l.Code, copyZH, l.Version, f)
	ascii := fmt.Sprintf("licence-%s-%s-v%d.%s", l.Code, c, l.Version, f)
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

// documentView is what the verification page shows.
type documentView struct {
	Lang   string
	EN     bool
	Report *document.Report
	Tone   string // ok, warn, bad
	Error  string
	Checks []checkView
	Status string
}

type checkView struct {
	OK   bool
	Text string
}

func (h *DocumentHandlers) render(w http.ResponseWriter, r *http.Request, rep *document.Report, problem string) {
	lang := langOf(r)
	v := documentView{Lang: lang, EN: lang == langEN, Report: rep, Error: problem}
	if rep != nil {
		switch rep.Result {
		case document.ResultValid:
			v.Tone = "ok"
		case document.ResultNotActivated, document.ResultSuspended, document.ResultNoLonger:
			v.Tone = "warn"
		default:
			v.Tone = "bad"
		}
		for _, c := range rep.Checks {
			t := c.ZH
			if v.EN {
				t = c.EN
			}
			v.Checks = append(v.Checks, checkView{OK: c.OK, Text: t})
		}
		if rep.Status != "" {
			zh, en := license.StatusName(rep.Status)
			v.Status = zh
			if v.EN {
				v.Status = en
			}
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	status := http.StatusOK
	if problem != "" {
		status = http.StatusBadRequest
	}
	w.WriteHeader(status)
	if err := h.page.Execute(w, v); err != nil {
		h.fail(w, r, err)
	}
}

// documentPage is the public verification page for QR codes and files. It is self-contained
// (inline style) so that it renders the same wherever the verdict is linked from.
const documentPage = `<!doctype html>
<html lang="{{if .EN}}en{{else}}zh-CN{{end}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .EN}}Verify an e-business licence{{else}}电子营业执照核验{{end}}</title>
<style>
body{font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;margin:0;background:#f6f4ef;color:#222}
main{max-width:760px;margin:0 auto;padding:24px 16px}
h1{font-size:1.4rem;margin:0 0 16px}
.verdict{padding:16px;border-radius:8px;margin:16px 0;font-size:1.1rem}
.ok{background:#e3f4e6;border:1px solid #3a8d4b}.warn{background:#fff4d6;border:1px solid #c48a00}.bad{background:#fde4e4;border:1px solid #c0392b}
dl{display:grid;grid-template-columns:max-content 1fr;gap:6px 16px;background:#fff;padding:16px;border-radius:8px}
dt{color:#666}dd{margin:0;word-break:break-all}
ul{background:#fff;padding:12px 16px 12px 36px;border-radius:8px}li{margin:4px 0}
.pass{color:#2d7a3e}.fail{color:#b03a2e}
form{background:#fff;padding:16px;border-radius:8px;margin-top:24px}
label{display:block;margin:8px 0 4px}input[type=text]{width:100%;box-sizing:border-box;padding:6px}
button{margin-top:12px;padding:8px 18px}
nav{margin-bottom:8px;font-size:.9rem}
</style>
</head>
<body><main>
<nav><a href="/">{{if .EN}}Home{{else}}首页{{end}}</a> · {{if .EN}}<a href="?lang=zh">中文</a>{{else}}<a href="?lang=en">English</a>{{end}}</nav>
<h1>{{if .EN}}Verify an e-business licence{{else}}电子营业执照核验{{end}}</h1>
{{with .Error}}<div class="verdict bad">{{.}}</div>{{end}}
{{with .Report}}
<div class="verdict {{$.Tone}}" id="verdict" data-result="{{.Result}}"><strong>{{if $.EN}}{{.EN}}{{else}}{{.ZH}}{{end}}</strong></div>
{{if .Identifier}}<dl>
{{if .Name}}<dt>{{if $.EN}}Name{{else}}名称{{end}}</dt><dd>{{.Name}}</dd>{{end}}
<dt>{{if $.EN}}Credit code{{else}}统一社会信用代码{{end}}</dt><dd>{{.Code}}</dd>
<dt>{{if $.EN}}Licence identifier{{else}}电子证照标识{{end}}</dt><dd>{{.Identifier}}</dd>
<dt>{{if $.EN}}Version{{else}}版本{{end}}</dt><dd>{{.Version}}{{if and .CurrentVersion (ne .CurrentVersion .Version)}} ({{if $.EN}}current{{else}}当前为第{{end}} {{.CurrentVersion}}{{if not $.EN}} 版{{end}}){{end}}</dd>
{{if .Authority}}<dt>{{if $.EN}}Registering authority{{else}}登记机关{{end}}</dt><dd>{{.Authority}}</dd>{{end}}
{{if $.Status}}<dt>{{if $.EN}}Status now{{else}}当前状态{{end}}</dt><dd>{{$.Status}}</dd>{{end}}
<dt>{{if $.EN}}Result code{{else}}核验结果代码{{end}}</dt><dd>{{.Result}}</dd>
</dl>{{end}}
<ul>{{range $.Checks}}<li class="{{if .OK}}pass{{else}}fail{{end}}">{{if .OK}}✔{{else}}✘{{end}} {{.Text}}</li>{{end}}</ul>
{{end}}
<form method="post" action="/verify/file" enctype="multipart/form-data">
<label for="file">{{if .EN}}Upload a licence file (OFD or PDF){{else}}上传执照文件（OFD 或 PDF）{{end}}</label>
<input type="file" id="file" name="file" accept=".ofd,.pdf,application/pdf,application/ofd">
<label for="token">{{if .EN}}…or paste the content of its QR code{{else}}……或粘贴二维码内容{{end}}</label>
<input type="text" id="token" name="token" autocomplete="off">
<button type="submit">{{if .EN}}Verify{{else}}核验{{end}}</button>
</form>
</main></body></html>
`
