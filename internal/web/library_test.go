package web

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/library"
)

// libFixture is the web fixture with the library: two issuing departments (A listed in the
// food type's issuers, B too, C not), an issuer account of each, and the food type.
type libFixture struct {
	*fixture
	lib                 *library.Service
	deptA, deptB, deptC string
	issA, issB, issC    string // API tokens
	typeCode            string
}

const foodTypeJSON = `{"code":"11100000MB0143028R101","name":"食品经营许可证","name_en":"Food business licence",
 "defined_by":"11100000MB0143028R","defined_by_name":"国家市场监督管理总局","issuers":[%s],"validity_years":5,
 "class":"qualification","items":[
  {"key":"main_body","label_zh":"主体业态","label_en":"Main business form","kind":"enum","options":["食品销售经营者","餐饮服务经营者"],"required":true,"public":true},
  {"key":"scope","label_zh":"经营项目","label_en":"Business items","kind":"text","required":true,"public":true},
  {"key":"person_in_charge","label_zh":"负责人","label_en":"Person in charge","kind":"text"}]}`

func newLibFixture(t *testing.T) *libFixture {
	t.Helper()
	ctx := context.Background()
	f := &libFixture{fixture: newFixture(t), typeCode: "11100000MB0143028R101"}
	env := f.env
	f.lib = library.NewService(library.Config{Store: env.DB, Keys: env.Keys, Licences: env.Licenses, Clock: env.Clock.Now})
	var err error
	f.srv, err = newServer(Deps{Licenses: env.Licenses, Keys: env.Keys, Accounts: env.Accounts, Audit: env.Audit,
		Documents: env.Documents, DB: env.DB, Logger: slog.New(slog.NewJSONHandler(f.log, nil)), Clock: env.Clock.Now,
		PublicURL: "http://127.0.0.1", Library: f.lib})
	if err != nil {
		t.Fatal(err)
	}
	f.h = f.srv.handler()
	for i, d := range []*string{&f.deptA, &f.deptB, &f.deptC} {
		*d = mustCode(t, '1', '1', "330106", fmt.Sprintf("MB0D000%d", i+1))
		if _, err := f.lib.CreateDepartment(ctx, keys.Authority{Code: *d, Name: fmt.Sprintf("发证部门%c", 'A'+i), Region: "330106"}); err != nil {
			t.Fatal(err)
		}
	}
	for i, x := range []struct {
		tok  *string
		dept string
	}{{&f.issA, f.deptA}, {&f.issB, f.deptB}, {&f.issC, f.deptC}} {
		if _, *x.tok, err = env.Account(ctx, fmt.Sprintf("iss-%d", i), account.Issuer, x.dept); err != nil {
			t.Fatal(err)
		}
	}
	r := f.post("/api/v1/library/types", f.op, fmt.Sprintf(foodTypeJSON, `"`+f.deptA+`","`+f.deptB+`"`))
	expect(t, r, 201)
	return f
}

func (f *libFixture) issuance(number, holder string) string {
	return `{"type_code":"` + f.typeCode + `","number":"` + number + `","holder_name":"杭州西湖数字科技有限公司","holder_code":"` + holder +
		`","items":{"main_body":"餐饮服务经营者","scope":"热食类食品制售","person_in_charge":"李四"}}`
}

func (f *libFixture) put(target, token, body string) *response {
	return f.do("PUT", target, body, "Content-Type", "application/json", "Authorization", "Bearer "+token)
}

func TestLibraryTypesAPI(t *testing.T) {
	f := newLibFixture(t)
	// Wrong roles: registrar, issuer, anonymous.
	body := fmt.Sprintf(foodTypeJSON, `"`+f.deptA+`"`)
	expect(t, f.post("/api/v1/library/types", f.regA, body), 403)
	expect(t, f.post("/api/v1/library/types", f.issA, body), 403)
	expect(t, f.post("/api/v1/library/types", "", body), 401)
	expect(t, f.post("/api/v1/library/types", f.op, body), 409)
	// A bad schema names the field.
	bad := strings.Replace(strings.Replace(body, `"code":"11100000MB0143028R101"`, `"code":"11100000MB0143028R102"`, 1), `"key":"scope"`, `"key":"Scope"`, 1)
	r := f.post("/api/v1/library/types", f.op, bad)
	expect(t, r, 400)
	if e := r.err(t); e.Field != "items[1].key" || !strings.Contains(e.Message, "Scope") {
		t.Fatalf("bad key: %+v", e)
	}
	r = f.post("/api/v1/library/types?lang=en", f.op, strings.Replace(body, `"code":"11100000MB0143028R101"`, `"code":"11100000MB0143028R10"`, 1))
	expect(t, r, 400)
	if e := r.err(t); e.Field != "code" || !strings.Contains(e.Message, "3 digits") {
		t.Fatalf("bad code: %+v", e)
	}
	// Public reads.
	r = f.do("GET", "/api/v1/library/types", "")
	expect(t, r, 200)
	var list struct{ Items []library.Type }
	r.decode(t, &list)
	if len(list.Items) != 2 || !list.Items[0].BuiltIn || list.Items[1].Code != f.typeCode || len(list.Items[1].Items) != 3 {
		t.Fatalf("types: %s", r.body)
	}
	expect(t, f.do("GET", "/api/v1/library/types/"+strings.ToLower(f.typeCode), ""), 200)
	expect(t, f.do("GET", "/api/v1/library/types/11100000MB0143028R999", ""), 404)
	// Update: operators only.
	upd := strings.Replace(body, `"validity_years":5`, `"validity_years":3`, 1)
	expect(t, f.put("/api/v1/library/types/"+f.typeCode, f.regA, upd), 403)
	r = f.put("/api/v1/library/types/"+f.typeCode, f.op, upd)
	expect(t, r, 200)
	var ty library.Type
	r.decode(t, &ty)
	if ty.ValidityYears != 3 || len(ty.Issuers) != 1 {
		t.Fatalf("updated: %s", r.body)
	}
	expect(t, f.put("/api/v1/library/types/11100000MB0143028R001", f.op, upd), 409) // the business licence is built in
	r = f.put("/api/v1/library/types/"+f.typeCode, f.op, strings.Replace(upd, "R101", "R102", 1))
	expect(t, r, 400)
	if r.err(t).Field != "code" {
		t.Fatalf("code in body differs from the path: %s", r.body)
	}
}

func TestLibraryLicencesAPI(t *testing.T) {
	f := newLibFixture(t)
	// Wrong roles: a registrar, an operator, an issuer of a department not listed.
	for _, tok := range []string{f.regA, f.op, f.issC} {
		expect(t, f.post("/api/v1/library/licences", tok, f.issuance("JY1", f.valid)), 403)
	}
	expect(t, f.post("/api/v1/library/licences", "", f.issuance("JY1", f.valid)), 401)
	// A bad item names items.<key>, in Chinese by default and in English on request.
	bad := strings.Replace(f.issuance("JY1", f.valid), `"餐饮服务经营者"`, `"网吧"`, 1)
	r := f.post("/api/v1/library/licences", f.issA, bad)
	expect(t, r, 400)
	if e := r.err(t); e.Field != "items.main_body" || !strings.Contains(e.Message, "主体业态") {
		t.Fatalf("bad item: %+v", e)
	}
	r = f.post("/api/v1/library/licences", f.issA, strings.Replace(f.issuance("JY1", f.valid), `"scope"`, `"colour"`, 1), "Accept-Language", "en")
	expect(t, r, 400)
	if e := r.err(t); len(e.Details) != 2 || !strings.Contains(r.body, `"field":"items.colour"`) || !strings.Contains(r.body, "Business items is required") {
		t.Fatalf("unknown item: %s", r.body)
	}
	r = f.post("/api/v1/library/licences", f.issA, strings.Replace(f.issuance("JY1", f.valid), `"items"`, `"itemz"`, 1))
	expect(t, r, 400)

	r = f.post("/api/v1/library/licences", f.issA, f.issuance("jy1", f.valid))
	expect(t, r, 201)
	var p struct {
		library.Permit
		SignatureValid *bool `json:"signature_valid"`
	}
	r.decode(t, &p)
	if p.Number != "JY1" || p.Version != 1 || p.Status != "valid" || p.SignatureValid == nil || !*p.SignatureValid ||
		r.Header().Get("Location") != "/api/v1/library/licences/"+p.Identifier {
		t.Fatalf("issued: %s", r.body)
	}
	expect(t, f.post("/api/v1/library/licences", f.issA, f.issuance("JY1", f.valid)), 409)

	// Reading: anonymous callers see the public items only.
	r = f.do("GET", "/api/v1/library/licences/"+strings.ToLower(p.Identifier), "")
	expect(t, r, 200)
	if strings.Contains(r.body, "person_in_charge") || !strings.Contains(r.body, `"public_view":true`) || !strings.Contains(r.body, `"signature_valid":true`) {
		t.Fatalf("public view: %s", r.body)
	}
	for _, tok := range []string{f.op, f.regB, f.issA} {
		r = f.do("GET", "/api/v1/library/licences/"+p.Identifier, "", "Authorization", "Bearer "+tok)
		expect(t, r, 200)
		if !strings.Contains(r.body, `"person_in_charge":"李四"`) || strings.Contains(r.body, "public_view") {
			t.Fatalf("full view: %s", r.body)
		}
	}
	r = f.do("GET", "/api/v1/library/licences/"+p.Identifier, "", "Authorization", "Bearer "+f.issB)
	if strings.Contains(r.body, "person_in_charge") {
		t.Fatalf("another department sees private items: %s", r.body)
	}
	expect(t, f.do("GET", "/api/v1/library/licences/"+p.Identifier, "", "Authorization", "Bearer elt_nope"), 401)
	r = f.do("GET", "/api/v1/library/licences/1.2.156.3005.2.X", "")
	expect(t, r, 400)
	if r.err(t).Field != "identifier" {
		t.Fatalf("bad identifier: %s", r.body)
	}
	expect(t, f.do("GET", "/api/v1/library/licences/"+p.Identifier[:len(p.Identifier)-13]+"JY2.001.0", ""), 400) // wrong check char
	missing := strings.Replace(p.Identifier, ".JY1.001.", ".JY9.001.", 1)
	if r := f.do("GET", "/api/v1/library/licences/"+missing, ""); r.Code != 404 && r.Code != 400 {
		t.Fatalf("unknown identifier: %d", r.Code)
	}

	// A change: only the issuing department (B is listed in the type, but did not issue it).
	change := `{"prev_version":1,"items":{"main_body":"食品销售经营者","scope":"预包装食品销售"}}`
	for _, tok := range []string{f.issB, f.regA, f.op} {
		expect(t, f.post("/api/v1/library/licences/"+p.Identifier+"/versions", tok, change), 403)
	}
	r = f.post("/api/v1/library/licences/"+p.Identifier+"/versions", f.issA, `{"prev_version":1,"items":{"main_body":"x","scope":"y"}}`)
	expect(t, r, 400)
	if r.err(t).Field != "items.main_body" {
		t.Fatalf("bad change: %s", r.body)
	}
	r = f.post("/api/v1/library/licences/"+p.Identifier+"/versions", f.issA, change)
	expect(t, r, 201)
	var v2 library.Permit
	r.decode(t, &v2)
	if v2.Version != 2 || v2.Items["scope"] != "预包装食品销售" {
		t.Fatalf("v2: %s", r.body)
	}
	expect(t, f.post("/api/v1/library/licences/"+p.Identifier+"/versions", f.issA, change), 409) // stale prev_version

	// Status.
	sus := `{"action":"suspend","reason":"责令停业整顿"}`
	for _, tok := range []string{f.issB, f.regA} {
		expect(t, f.post("/api/v1/library/licences/"+v2.Identifier+"/status", tok, sus), 403)
	}
	expect(t, f.post("/api/v1/library/licences/"+v2.Identifier+"/status", f.issA, `{"action":"pause","reason":"xx"}`), 400)
	r = f.post("/api/v1/library/licences/"+v2.Identifier+"/status", f.issA, sus)
	expect(t, r, 200)
	if !strings.Contains(r.body, `"status":"suspended"`) {
		t.Fatalf("suspended: %s", r.body)
	}
	expect(t, f.post("/api/v1/library/licences/"+v2.Identifier+"/status", f.issA, sus), 409)
	r = f.do("GET", "/api/v1/library/licences/"+p.Identifier, "")
	if !strings.Contains(r.body, `"status":"superseded"`) {
		t.Fatalf("old version: %s", r.body)
	}
}

func TestLibraryBatchAPI(t *testing.T) {
	f := newLibFixture(t)
	rows := []string{f.issuance("B1", f.valid), strings.Replace(f.issuance("B2", f.valid), `"李四"`, `"李\u0007四"`, 1), f.issuance("B1", f.changed)}
	body := "[" + strings.Join(rows, ",") + "]"
	expect(t, f.post("/api/v1/library/licences/batch", f.regA, body), 403)
	expect(t, f.post("/api/v1/library/licences/batch", f.issC, body), 403) // an issuer of another department
	r := f.post("/api/v1/library/licences/batch", f.issA, body)
	expect(t, r, 200)
	var rep struct {
		Issued, Failed int
		Rows           []struct {
			Row        int
			Outcome    string
			Identifier string
			Error      *struct{ Code, Message, Field string }
		}
	}
	r.decode(t, &rep)
	if rep.Issued != 1 || rep.Failed != 2 || rep.Rows[0].Identifier == "" || rep.Rows[1].Error.Field != "items.person_in_charge" ||
		rep.Rows[2].Error.Code != "conflict" || rep.Rows[2].Row != 3 {
		t.Fatalf("report: %s", r.body)
	}
	expect(t, f.post("/api/v1/library/licences/batch", f.issA, "[]"), 400)
	expect(t, f.post("/api/v1/library/licences/batch", f.issA, `{"a":1}`), 400)
}

func TestLibraryEntityAPIAndPage(t *testing.T) {
	f := newLibFixture(t)
	ctx := context.Background()
	r := f.post("/api/v1/library/licences", f.issA, f.issuance("JY1", f.changed))
	expect(t, r, 201)
	var p library.Permit
	r.decode(t, &p)
	if _, err := f.lib.RecordService(ctx, library.Record{HolderCode: f.changed, Item: "330100-0101", ItemName: "食品经营许可证变更",
		Case: "2026-0001", Department: "client-x", DepartmentName: "西湖区行政服务中心", Licences: []string{p.Identifier}}); err != nil {
		t.Fatal(err)
	}
	// Anonymous: the business licence versions, the permit's public items, no records.
	r = f.do("GET", "/api/v1/library/entities/"+strings.ToLower(f.changed), "")
	expect(t, r, 200)
	var ent struct {
		Code     string
		Licence  *licenceView
		Versions []licenceView
		Permits  []map[string]any
		Records  []library.Record
	}
	r.decode(t, &ent)
	if ent.Code != f.changed || ent.Licence == nil || ent.Licence.Version != 2 || len(ent.Versions) != 2 || len(ent.Permits) != 1 ||
		ent.Records != nil || strings.Contains(r.body, "person_in_charge") || strings.Contains(r.body, personID) {
		t.Fatalf("public entity: %s", r.body)
	}
	for _, tok := range []string{f.op, f.regB} {
		r = f.do("GET", "/api/v1/library/entities/"+f.changed, "", "Authorization", "Bearer "+tok)
		expect(t, r, 200)
		if !strings.Contains(r.body, `"case":"2026-0001"`) || !strings.Contains(r.body, "person_in_charge") {
			t.Fatalf("staff entity: %s", r.body)
		}
	}
	r = f.do("GET", "/api/v1/library/entities/"+f.changed, "", "Authorization", "Bearer "+f.issB)
	if strings.Contains(r.body, `"records"`) || strings.Contains(r.body, "person_in_charge") {
		t.Fatalf("issuer of another department: %s", r.body)
	}
	// Revoked entities are found and marked.
	r = f.do("GET", "/api/v1/library/entities/"+f.revoked, "")
	expect(t, r, 200)
	if !strings.Contains(r.body, `"status":"revoked"`) {
		t.Fatalf("revoked entity: %s", r.body)
	}
	expect(t, f.do("GET", "/api/v1/library/entities/"+f.unknown, ""), 404)
	expect(t, f.do("GET", "/api/v1/library/entities/a-b", ""), 400)

	// The admin page: operators and registrars; linked from the licence page.
	c := f.login(t, "reg-b")
	r = c.get(t, "/admin/library/"+f.changed)
	expect(t, r, 200)
	contains(t, r, "食品经营许可证", "JY1", "热食类食品制售", "李四", "2026-0001", "西湖区行政服务中心", f.chgName)
	r = c.get(t, "/admin/library/"+f.changed+"?lang=en")
	contains(t, r, "Food business licence", "Service records")
	r = c.get(t, "/admin/licences/"+f.changed)
	contains(t, r, `href="/admin/library/`+f.changed+`"`)
	expect(t, c.get(t, "/admin/library/"+f.unknown), 404)
	ic := f.login(t, "iss-0")
	expect(t, ic.get(t, "/admin/library/"+f.changed), 403)
}
