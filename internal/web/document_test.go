package web

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/store"
	"github.com/elicense/elicense/internal/uscc"
)

func TestDocumentHandlers(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "e.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sealer, _ := gm.NewSealer([]byte("0123456789abcdef"))
	ks := keys.NewService(db, sealer, nil)
	if err := ks.Init(ctx); err != nil {
		t.Fatal(err)
	}
	acode, _ := uscc.Generate('1', '1', "330106", "00330106")
	if _, err := ks.CreateAuthority(ctx, keys.Authority{Code: acode, Name: "杭州市西湖区市场监督管理局", Region: "330106"}); err != nil {
		t.Fatal(err)
	}
	ls := license.NewService(license.Config{Store: db, Keys: ks})
	code, _ := uscc.Generate('9', '2', "330106", "MA2AB3CD")
	l, err := ls.Issue(ctx, license.Actor{ID: "t", Authority: acode}, license.Registration{Code: code, Kind: license.Individual,
		Face: license.Face{Name: "西湖区示例小吃店", Type: "个体工商户", Person: "张三", Form: "个人经营", EstablishedOn: "2020-01-02",
			Address: "浙江省杭州市西湖区文三路1号", Scope: "餐饮服务。"}})
	if err != nil {
		t.Fatal(err)
	}
	docs := document.NewService(document.Config{Keys: ks, Licences: ls, PublicURL: "https://e.example.cn"})
	h, err := NewDocumentHandlers(docs, ls, func(w http.ResponseWriter, r *http.Request, err error) {
		writeJSON(w, statusOf(err), map[string]string{"error": err.Error(), "kind": errs.KindOf(err).String()})
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/licenses/{code}/document", h.Document)
	mux.HandleFunc("POST /api/v1/verify", h.VerifyAPI)
	mux.HandleFunc("GET /v/{token}", h.TokenPage)
	mux.HandleFunc("/verify/file", h.FilePage)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	get := func(path string) (*http.Response, []byte) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp, b.Bytes()
	}
	report := func(resp *http.Response, body []byte) document.Report {
		t.Helper()
		var rep document.Report
		if resp.StatusCode != 200 || json.Unmarshal(body, &rep) != nil {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		return rep
	}
	for _, f := range []string{"ofd", "pdf"} {
		resp, file := get("/api/v1/licenses/" + code + "/document?format=" + f + "&copy=duplicate")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != document.Format(f).ContentType() ||
			!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("%s: %d %v", f, resp.StatusCode, resp.Header)
		}
		// Raw body.
		r1, err := http.Post(srv.URL+"/api/v1/verify", "application/octet-stream", bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(r1.Body)
		r1.Body.Close()
		if rep := report(r1, b.Bytes()); !rep.Valid {
			t.Errorf("%s raw: %+v", f, rep)
		}
		// Multipart upload, tampered.
		file[len(file)/2] ^= 1
		var mb bytes.Buffer
		mw := multipart.NewWriter(&mb)
		fw, _ := mw.CreateFormFile("file", "licence."+f)
		fw.Write(file)
		mw.Close()
		r2, err := http.Post(srv.URL+"/api/v1/verify", mw.FormDataContentType(), &mb)
		if err != nil {
			t.Fatal(err)
		}
		b.Reset()
		b.ReadFrom(r2.Body)
		r2.Body.Close()
		if rep := report(r2, b.Bytes()); rep.Valid || rep.Result != document.ResultWrong {
			t.Errorf("%s tampered: %+v", f, rep)
		}
	}
	if resp, _ := get("/api/v1/licenses/" + code + "/document?format=doc"); resp.StatusCode != 400 {
		t.Errorf("bad format: %d", resp.StatusCode)
	}
	tok, err := docs.Token(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	resp, page := get("/v/" + tok)
	if resp.StatusCode != 200 || !strings.Contains(string(page), "证照正确且有效") || !strings.Contains(string(page), "西湖区示例小吃店") {
		t.Errorf("token page: %d %s", resp.StatusCode, page)
	}
	// The page is the site's: its layout and stylesheet, no inline style, and no policy of its
	// own that would override the site's Content-Security-Policy.
	if csp := resp.Header.Get("Content-Security-Policy"); csp != "" {
		t.Errorf("the token page sets its own CSP %q", csp)
	}
	for _, want := range []string{`<link rel="stylesheet" href="/static/style.`, `class="verdict ok"`, `role="status"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("token page lacks %s", want)
		}
	}
	if strings.Contains(string(page), "<style") || strings.Contains(string(page), "style=") {
		t.Error("the token page has inline style")
	}
	r3, err := http.Post(srv.URL+"/api/v1/verify", "application/json", strings.NewReader(`{"token":"https://e.example.cn/v/`+tok+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(r3.Body)
	r3.Body.Close()
	if rep := report(r3, b.Bytes()); !rep.Valid || rep.Format != "qr" {
		t.Errorf("token API: %+v", rep)
	}
	// Too large.
	big := bytes.Repeat([]byte("A"), document.MaxFileSize+100<<10)
	r4, err := http.Post(srv.URL+"/api/v1/verify", "application/octet-stream", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	r4.Body.Close()
	if r4.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("large upload: %d", r4.StatusCode)
	}
	if resp, page := get("/verify/file?lang=en"); resp.StatusCode != 200 || !strings.Contains(string(page), "Upload a licence file") {
		t.Errorf("file page: %d", resp.StatusCode)
	}
}
