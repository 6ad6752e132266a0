package web

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/elicense/elicense/internal/catalog"
)

// catalogFixture is the fixture with the catalogue service and the starter catalogue.
func catalogFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	// Without the service: 503.
	expect(t, f.do("GET", "/api/v1/catalog/items", ""), http.StatusServiceUnavailable)
	svc := catalog.NewService(catalog.Config{Store: f.env.DB, BusinessLicenceType: f.env.Licenses.TypeCode(), Clock: f.env.Clock.Now})
	if _, err := svc.LoadStarter(context.Background(), "test"); err != nil {
		t.Fatal(err)
	}
	d := f.srv.Deps
	d.Catalog, d.Metrics = svc, nil
	s, err := newServer(d)
	if err != nil {
		t.Fatal(err)
	}
	f.srv, f.h = s, s.handler()
	return f
}

func TestCatalogPublicAPI(t *testing.T) {
	f := catalogFixture(t)
	var list catalog.File
	r := f.do("GET", "/api/v1/catalog/items", "")
	expect(t, r, 200)
	r.decode(t, &list)
	if len(list.Items) < 16 || list.Items[0].Scenario != catalog.MarketEntry || r.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("items: %d, first %s", len(list.Items), list.Items[0].Scenario)
	}
	for q, n := range map[string]int{"scenario=tax": 2, "region=110105": 1, "scenario=bank_account&region=330106&q=%E5%BC%80%E7%AB%8B": 1, "limit=3": 3} {
		r := f.do("GET", "/api/v1/catalog/items?"+q, "")
		expect(t, r, 200)
		list = catalog.File{}
		r.decode(t, &list)
		if len(list.Items) != n {
			t.Errorf("?%s: %d items, want %d", q, len(list.Items), n)
		}
	}
	for q, field := range map[string]string{"scenario=shopping": "scenario", "region=33": "region", "limit=0": "limit", "limit=9999": "limit"} {
		r := f.do("GET", "/api/v1/catalog/items?"+q, "")
		expect(t, r, 400)
		if e := r.err(t); e.Field != field {
			t.Errorf("?%s: field %q", q, e.Field)
		}
	}
	r = f.do("GET", "/api/v1/catalog/items?scenario=shopping&lang=en", "")
	if e := r.err(t); !strings.Contains(e.Message, "unknown scenario") {
		t.Errorf("English message: %s", e.Message)
	}
	if e := f.do("GET", "/api/v1/catalog/items?scenario=shopping", "").err(t); !strings.Contains(e.Message, "应用场景") {
		t.Errorf("Chinese message: %s", e.Message)
	}

	var it catalog.Item
	r = f.do("GET", "/api/v1/catalog/items/bank.basic-account", "")
	expect(t, r, 200)
	r.decode(t, &it)
	if it.Code != "bank.basic-account" || it.Materials[0].Rule != catalog.Fetch || it.Materials[0].LicenceType != f.env.Licenses.TypeCode() {
		t.Errorf("item: %+v", it)
	}
	expect(t, f.do("GET", "/api/v1/catalog/items/no.such", ""), 404)
	expect(t, f.do("GET", "/api/v1/catalog/items/bad%20code", ""), 400)
}

func TestCatalogImportAPI(t *testing.T) {
	f := catalogFixture(t)
	send := func(token, query, ctype, body string) *response {
		h := []string{"Content-Type", ctype}
		if token != "" {
			h = append(h, "Authorization", "Bearer "+token)
		}
		return f.do("POST", "/api/v1/catalog/import"+query, body, h...)
	}
	good := `{"items":[{"code":"tax.new","name":"新事项","department":{"name":"税务局","code":"113301000025011246"},
		"region":"330100","scenario":"tax","materials":[{"code":"bl","name":"营业执照","licence_type":"` + f.env.Licenses.TypeCode() + `",
		"class":"identity","archive":false,"required":true}]}]}`
	// Operators only.
	expect(t, send("", "", "application/json", good), 401)
	r := send(f.regA, "", "application/json", good)
	expect(t, r, 403)
	expect(t, send(f.op, "", "application/xml", good), 415)
	expect(t, send(f.op, "?format=xml", "application/json", good), 400)

	r = send(f.op, "", "application/json", good)
	expect(t, r, 200)
	var res catalog.ImportResult
	r.decode(t, &res)
	if res.Items != 1 || res.Created != 1 || len(res.Digest) != 64 {
		t.Errorf("result %+v", res)
	}
	if it := f.do("GET", "/api/v1/catalog/items/tax.new", ""); it.Code != 200 || !strings.Contains(it.body, `"rule":"fetch"`) {
		t.Errorf("imported item: %d %s", it.Code, it.body)
	}

	// A CSV with bad rows: 400 listing every error by row and column; nothing imported.
	csv := "item_code,item_name,department,department_code,region,scenario,material_code,material_name,licence_type,class,archive,required\n" +
		"tax.csv,税务,税务局,113301000025011246,330100,tax,bl,营业执照," + f.env.Licenses.TypeCode() + ",identity,false,true\n" +
		"tax.csv,税务,税务局,113301000025011246,330100,tax,f,申请表,,,perhaps,true\n" +
		"tax.bad,税务,税务局,113301000025011246,330100,tax,bl,营业执照," + f.env.Licenses.TypeCode() + ",,false,true\n"
	r = send(f.op, "?format=csv", "text/plain", csv)
	expect(t, r, 400)
	e := r.err(t)
	var fields []string
	for _, d := range e.Details {
		fields = append(fields, d.Field)
	}
	if strings.Join(fields, "|") != "row 3, column archive|row 4, column class" {
		t.Errorf("details: %+v", e.Details)
	}
	expect(t, f.do("GET", "/api/v1/catalog/items/tax.csv", ""), 404)
	r = send(f.op, "", "text/csv", strings.Replace(strings.Replace(csv, "perhaps", "否", 1), ",,false,true\n", ",qualification,false,true\n", 1))
	expect(t, r, 200)
	expect(t, f.do("GET", "/api/v1/catalog/items/tax.csv", ""), 200)

	// Too large.
	expect(t, send(f.op, "", "text/csv", strings.Repeat("x", maxCatalogFile+1)), 413)

	// Export: operators only; CSV with a byte order mark.
	expect(t, f.do("GET", "/api/v1/catalog/export?format=csv", "", "Authorization", "Bearer "+f.regA), 403)
	r = f.do("GET", "/api/v1/catalog/export?format=csv", "", "Authorization", "Bearer "+f.op)
	expect(t, r, 200)
	if !strings.HasPrefix(r.body, "\xef\xbb\xbfitem_code,") || r.Header().Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.Contains(r.Header().Get("Content-Disposition"), "catalog.csv") || !strings.Contains(r.body, "tax.csv,") {
		t.Errorf("CSV export: %v %.80q", r.Header(), r.body)
	}
	r = f.do("GET", "/api/v1/catalog/export", "", "Authorization", "Bearer "+f.op)
	expect(t, r, 200)
	var file catalog.File
	r.decode(t, &file)
	if len(file.Items) < 18 {
		t.Errorf("JSON export: %d items", len(file.Items))
	}
}

// postFile posts a multipart form with the file to the admin page.
func (c *client) postFile(t *testing.T, target, csrf, name, content, format string) *response {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("csrf", csrf)
	mw.WriteField("format", format)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write([]byte(content))
	mw.Close()
	req := httptest.NewRequest("POST", target, &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.send(t, req)
}

func TestCatalogAdminPage(t *testing.T) {
	f := catalogFixture(t)
	reg := f.login(t, "reg-a")
	expect(t, reg.get(t, "/admin/catalog"), 403)
	expect(t, reg.get(t, "/admin/catalog/export?format=csv"), 403)

	op := f.login(t, "ops")
	r := op.get(t, "/admin/catalog")
	expect(t, r, 200)
	contains(t, r, "事项材料目录", "银行开户", "企业银行基本存款账户开立", "调取入卷", "数据核验", `enctype="multipart/form-data"`,
		`href="/admin/catalog/export?format=csv"`, `id="item-bank.basic-account"`)
	r = op.get(t, "/admin/catalog/export?format=json")
	expect(t, r, 200)
	exported := r.body
	csrf := op.csrf

	// A bad file: the page again, every error listed, nothing imported.
	bad := strings.Replace(exported, `"scenario": "tax"`, `"scenario": "taxes"`, 1)
	r = op.postFile(t, "/admin/catalog/import", csrf, "catalogue.json", bad, "")
	expect(t, r, 400)
	contains(t, r, "items[", ".scenario", "taxes")
	// A good file (the export itself): imported, replacing every item.
	r = op.postFile(t, "/admin/catalog/import", csrf, "catalogue.json", exported, "")
	expect(t, r, 200)
	contains(t, r, "导入成功", "新增 0")
	// The format must be known; the CSRF token must match.
	expect(t, op.postFile(t, "/admin/catalog/import", csrf, "catalogue.txt", exported, ""), 400)
	expect(t, op.postFile(t, "/admin/catalog/import", "forged", "catalogue.json", exported, ""), 403)
	r = op.postFile(t, "/admin/catalog/import", csrf, "catalogue.txt", exported, "json")
	expect(t, r, 200)
	contains(t, op.get(t, "/admin/catalog?lang=en"), "Service catalogue", "Bank account opening", "Opening a basic deposit account")
}
