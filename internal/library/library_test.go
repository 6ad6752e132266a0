package library_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/ident"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/library"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/store"
	"github.com/elicense/elicense/internal/uscc"
)

// env is a library over a real SQLite store, real keys and a real licence service.
type env struct {
	lib      *library.Service
	licences *license.Service
	db       *store.DB
	keys     *keys.Service
	clock    *clock
	definer  string // the defining authority of the test type
	dept     string // an issuing department listed in the type
	other    string // a department not listed
	typ      *library.Type
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func code(t testing.TB, dept, cat byte, region, org string) string {
	t.Helper()
	c, err := uscc.Generate(dept, cat, region, org)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)}
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "lib.db"), store.Options{Clock: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sealer, _ := gm.NewSealer(make([]byte, 16))
	ks := keys.NewService(db, sealer, c.now)
	if err := ks.Init(ctx); err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, keys: ks, clock: c, definer: "11100000MB0143028R"}
	e.licences = license.NewService(license.Config{Store: db, Keys: ks, Clock: c.now})
	e.lib = library.NewService(library.Config{Store: db, Keys: ks, Licences: e.licences, Clock: c.now})
	e.dept = code(t, '1', '1', "330106", "MB100001")
	e.other = code(t, '1', '1', "440300", "MB100002")
	for _, d := range []keys.Authority{{Code: e.dept, Name: "杭州市西湖区市场监督管理局", Region: "330106"},
		{Code: e.other, Name: "深圳市市场监督管理局", Region: "440300"}} {
		if _, err := e.lib.CreateDepartment(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	e.typ, err = e.lib.RegisterType(ctx, library.Actor{ID: "op"}, foodType(e))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// foodType is a valid type: 食品经营许可证.
func foodType(e *env) library.Type {
	return library.Type{Code: e.definer + "101", Name: "食品经营许可证", NameEN: "Food business licence",
		DefinedBy: e.definer, DefinedByName: "国家市场监督管理总局", Issuers: []string{e.dept}, ValidityYears: 5,
		Class: library.Qualification, Items: []library.Item{
			{Key: "operator", LabelZH: "经营者名称", LabelEN: "Operator", Kind: library.Text, Required: true, Public: true},
			{Key: "main_body", LabelZH: "主体业态", LabelEN: "Main business form", Kind: library.Enum, Required: true, Public: true,
				Options: []string{"食品销售经营者", "餐饮服务经营者", "单位食堂"}},
			{Key: "scope", LabelZH: "经营项目", LabelEN: "Business items", Kind: library.Text, Required: true, Public: true, MaxLen: 20},
			{Key: "person_in_charge", LabelZH: "负责人", LabelEN: "Person in charge", Kind: library.Text},
			{Key: "area", LabelZH: "经营面积（平方米）", LabelEN: "Area (m²)", Kind: library.Number},
			{Key: "inspected_on", LabelZH: "现场核查日期", LabelEN: "Inspected on", Kind: library.Date},
		}}
}

func issuance(e *env, t testing.TB, number string) library.Issuance {
	return library.Issuance{TypeCode: e.typ.Code, Number: number, HolderName: "杭州示例餐饮有限公司",
		HolderCode: code(t, '9', '1', "330106", "MA000001"),
		Items:      map[string]string{"operator": "杭州示例餐饮有限公司", "main_body": "餐饮服务经营者", "scope": "热食类食品制售", "person_in_charge": "李四", "area": "120.5"}}
}

func fields(err error) []string {
	var out []string
	var l errs.List
	if e, ok := err.(errs.List); ok {
		l = e
	} else if e := errs.As(err); e != nil {
		l = errs.List{e}
	}
	for _, e := range l {
		out = append(out, e.Field)
	}
	return out
}

func hasField(err error, f string) bool {
	for _, x := range fields(err) {
		if x == f {
			return true
		}
	}
	return false
}

func TestTypeValidationNamesFields(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	op := library.Actor{ID: "op"}
	cases := []struct {
		name  string
		edit  func(*library.Type)
		field string
	}{
		{"code not 21", func(x *library.Type) { x.Code = e.definer + "1" }, "code"},
		{"code digits", func(x *library.Type) { x.Code = e.definer + "1A1" }, "code"},
		{"code check char", func(x *library.Type) { x.Code = "11100000MB0143028X101"; x.DefinedBy = "" }, "code"},
		{"code not definer", func(x *library.Type) { x.Code = "91330106673959654P101" }, "code"},
		{"business licence code", func(x *library.Type) { x.Code = license.DefaultTypeCode }, "code"},
		{"defined_by bad", func(x *library.Type) { x.DefinedBy = "11100000MB0143028X" }, "defined_by"},
		{"name missing", func(x *library.Type) { x.Name = " " }, "name"},
		{"name_en control", func(x *library.Type) { x.NameEN = "Food\x00" }, "name_en"},
		{"class", func(x *library.Type) { x.Class = "other" }, "class"},
		{"validity", func(x *library.Type) { x.ValidityYears = -1 }, "validity_years"},
		{"no issuers", func(x *library.Type) { x.Issuers = nil }, "issuers"},
		{"unknown issuer", func(x *library.Type) { x.Issuers = []string{code(t, '1', '1', "110000", "MB999999")} }, "issuers[0]"},
		{"repeated issuer", func(x *library.Type) { x.Issuers = []string{e.dept, strings.ToLower(e.dept)} }, "issuers[1]"},
		{"bad issuer code", func(x *library.Type) { x.Issuers = []string{e.dept, "123"} }, "issuers[1]"},
		{"no items", func(x *library.Type) { x.Items = nil }, "items"},
		{"key pattern", func(x *library.Type) { x.Items[2].Key = "Scope" }, "items[2].key"},
		{"key leading digit", func(x *library.Type) { x.Items[1].Key = "1x" }, "items[1].key"},
		{"key repeated", func(x *library.Type) { x.Items[3].Key = "operator" }, "items[3].key"},
		{"label_zh", func(x *library.Type) { x.Items[0].LabelZH = "" }, "items[0].label_zh"},
		{"label_en", func(x *library.Type) { x.Items[4].LabelEN = "" }, "items[4].label_en"},
		{"kind", func(x *library.Type) { x.Items[0].Kind = "blob" }, "items[0].kind"},
		{"enum without options", func(x *library.Type) { x.Items[1].Options = nil }, "items[1].options"},
		{"option repeated", func(x *library.Type) { x.Items[1].Options = []string{"a", "a"} }, "items[1].options[1]"},
		{"options on text", func(x *library.Type) { x.Items[0].Options = []string{"a"} }, "items[0].options"},
		{"max_len", func(x *library.Type) { x.Items[0].MaxLen = -3 }, "items[0].max_len"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := foodType(e)
			x.Code = e.definer + "201"
			tc.edit(&x)
			_, err := e.lib.RegisterType(ctx, op, x)
			if !errs.Is(err, errs.Invalid) || !hasField(err, tc.field) {
				t.Fatalf("err = %v (fields %v), want Invalid naming %s", err, fields(err), tc.field)
			}
		})
	}
	// A valid type registers once; the second time is a conflict.
	if _, err := e.lib.RegisterType(ctx, op, foodType(e)); !errs.Is(err, errs.Conflict) {
		t.Fatalf("register twice: %v, want Conflict", err)
	}
	// Update: the code cannot change; the business licence cannot be changed.
	x := foodType(e)
	x.ValidityYears = 3
	if got, err := e.lib.UpdateType(ctx, op, e.typ.Code, x); err != nil || got.ValidityYears != 3 || got.CreatedAt != e.typ.CreatedAt {
		t.Fatalf("update: %v %+v", err, got)
	}
	if _, err := e.lib.UpdateType(ctx, op, license.DefaultTypeCode, x); !errs.Is(err, errs.Conflict) {
		t.Fatalf("update business licence: %v", err)
	}
	if _, err := e.lib.UpdateType(ctx, op, e.definer+"999", library.Type{}); !errs.Is(err, errs.NotFound) {
		t.Fatalf("update unknown: %v", err)
	}
	ts, err := e.lib.Types(ctx)
	if err != nil || len(ts) != 2 || !ts[0].BuiltIn || ts[0].Class != library.Identity || ts[0].Code != license.DefaultTypeCode || ts[1].ValidityYears != 3 {
		t.Fatalf("types: %v %+v", err, ts)
	}
	// Both changes are in the audit log.
	evs, err := audit.NewLog(e.db, nil, e.clock.now).Find(ctx, audit.Filter{Subject: e.typ.Code})
	if err != nil || len(evs) != 2 || evs[0].Action != "library.type.update" || evs[1].Action != "library.type.add" {
		t.Fatalf("audit: %v %+v", err, evs)
	}
}

func TestIssuanceValidationNamesFields(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := library.Actor{ID: "issuer", Department: e.dept}
	cases := []struct {
		name  string
		edit  func(*library.Issuance)
		field string
	}{
		{"unknown item", func(in *library.Issuance) { in.Items["colour"] = "red" }, "items.colour"},
		{"required item missing", func(in *library.Issuance) { delete(in.Items, "scope") }, "items.scope"},
		{"required item blank", func(in *library.Issuance) { in.Items["operator"] = "  " }, "items.operator"},
		{"enum", func(in *library.Issuance) { in.Items["main_body"] = "网吧" }, "items.main_body"},
		{"number", func(in *library.Issuance) { in.Items["area"] = "12,5" }, "items.area"},
		{"date", func(in *library.Issuance) { in.Items["inspected_on"] = "2026-02-30" }, "items.inspected_on"},
		{"max_len", func(in *library.Issuance) { in.Items["scope"] = strings.Repeat("食", 21) }, "items.scope"},
		{"control", func(in *library.Issuance) { in.Items["person_in_charge"] = "李\x07四" }, "items.person_in_charge"},
		{"number blank", func(in *library.Issuance) { in.Number = "" }, "number"},
		{"number chars", func(in *library.Issuance) { in.Number = "JY-1" }, "number"},
		{"holder name", func(in *library.Issuance) { in.HolderName = "" }, "holder_name"},
		{"holder code check", func(in *library.Issuance) { in.HolderCode = "91330106673959654X" }, "holder_code"},
		{"holder code type", func(in *library.Issuance) { in.HolderCodeType = "002" }, "holder_code_type"},
		{"citizen id", func(in *library.Issuance) { in.HolderCodeType = "111"; in.HolderCode = "110105194912310021" }, "holder_code"},
		{"area code", func(in *library.Issuance) { in.AreaCode = "33010" }, "area_code"},
		{"issue date future", func(in *library.Issuance) { in.IssueDate = "2026-03-03" }, "issue_date"},
		{"valid_from", func(in *library.Issuance) { in.ValidFrom = "2026/03/01" }, "valid_from"},
		{"valid_until before", func(in *library.Issuance) { in.ValidUntil = "2025-01-01" }, "valid_until"},
		{"valid_until too long", func(in *library.Issuance) { in.ValidUntil = "2031-03-02" }, "valid_until"},
		{"extension not object", func(in *library.Issuance) { in.Extension = json.RawMessage(`[1]`) }, "extension"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := issuance(e, t, "JY1")
			tc.edit(&in)
			_, err := e.lib.Issue(ctx, a, in)
			if !errs.Is(err, errs.Invalid) || !hasField(err, tc.field) {
				t.Fatalf("err = %v (fields %v), want Invalid naming %s", err, fields(err), tc.field)
			}
		})
	}
	// The defaults: today (China time), five years, the department's division.
	p, err := e.lib.Issue(ctx, a, issuance(e, t, "jy1"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Number != "JY1" || p.IssueDate != "2026-03-02" || p.ValidFrom != "2026-03-02" || p.ValidUntil != "2031-03-01" ||
		p.AreaCode != "330106" || p.HolderCodeType != "001" || p.Version != 1 || p.Status != library.Valid ||
		p.IssuerName != "杭州市西湖区市场监督管理局" || p.DefinedBy != e.definer {
		t.Fatalf("permit: %+v", p)
	}
	// A citizen holder with a valid ID number.
	in := issuance(e, t, "JY2")
	in.HolderCodeType, in.HolderCode, in.HolderName = "111", "11010519491231002x", "王五"
	if p, err := e.lib.Issue(ctx, a, in); err != nil || p.HolderCode != "11010519491231002X" {
		t.Fatalf("citizen holder: %v %+v", err, p)
	}
}

func TestIdentifierCheckCharacter(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p, err := e.lib.Issue(ctx, library.Actor{ID: "i", Department: e.dept}, issuance(e, t, "JY13301060000001"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := ident.Parse(p.Identifier)
	if err != nil {
		t.Fatalf("identifier %s does not parse: %v", p.Identifier, err)
	}
	if id.TypeCode != e.typ.Code || id.Issuer != e.dept || id.Serial != "JY13301060000001" || id.Version != 1 {
		t.Fatalf("parts: %+v", id)
	}
	body := id.TypeCode + id.Issuer + id.Serial + "001"
	want, _ := ident.CheckChar(body)
	if !strings.HasSuffix(p.Identifier, "."+string(want)) {
		t.Fatalf("identifier %s: check character, want %c", p.Identifier, want)
	}
	// A wrong check character is refused by Get, naming the identifier.
	bad := p.Identifier[:len(p.Identifier)-1] + string(other(want))
	if _, err := e.lib.Get(ctx, bad); !errs.Is(err, errs.Invalid) || !hasField(err, "identifier") {
		t.Fatalf("bad check char: %v", err)
	}
	// Case-insensitive look-up.
	if got, err := e.lib.Get(ctx, strings.ToLower(p.Identifier)); err != nil || got.Identifier != p.Identifier {
		t.Fatalf("lower-case get: %v", err)
	}
}

func other(c byte) byte {
	if c == '0' {
		return '1'
	}
	return '0'
}

func TestSignatureVerifiesAndFailsOnTamper(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	in := issuance(e, t, "JY3")
	in.Extension = json.RawMessage(`{ "b": 1, "a": "<x>" }`)
	p, err := e.lib.Issue(ctx, library.Actor{ID: "i", Department: e.dept}, in)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := e.lib.Get(ctx, p.Identifier)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.lib.VerifySignature(ctx, stored); err != nil {
		t.Fatalf("stored permit does not verify: %v", err)
	}
	// Offline: the department's certificate alone verifies the canonical encoding.
	auth, err := e.keys.Authority(ctx, e.dept)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := gm.ParseCertificate(auth.CertDER)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !gm.Verify(pub, library.SignedBytes(stored), stored.Signature) {
		t.Fatal("offline verification with the department certificate failed")
	}
	tampers := map[string]func(p *library.Permit){
		"item":        func(p *library.Permit) { p.Items["scope"] = "预包装食品销售" },
		"added item":  func(p *library.Permit) { p.Items["area"] = "999" },
		"holder":      func(p *library.Permit) { p.HolderCode = code(t, '9', '1', "330106", "MA000002") },
		"valid_until": func(p *library.Permit) { p.ValidUntil = "2099-12-31" },
		"extension":   func(p *library.Permit) { p.Extension = json.RawMessage(`{"a":"<y>","b":1}`) },
		"version":     func(p *library.Permit) { p.Version = 2 },
		"issued_at":   func(p *library.Permit) { p.IssuedAt = p.IssuedAt.Add(time.Second) },
		"signature":   func(p *library.Permit) { p.Signature[len(p.Signature)-3] ^= 1 },
	}
	for name, tamper := range tampers {
		t.Run(name, func(t *testing.T) {
			x, _ := e.lib.Get(ctx, p.Identifier)
			tamper(x)
			if err := e.lib.VerifySignature(ctx, x); !errs.Is(err, errs.Invalid) {
				t.Fatalf("tampered %s verifies: %v", name, err)
			}
		})
	}
	// Another department's certificate does not verify it.
	x, _ := e.lib.Get(ctx, p.Identifier)
	x.IssuerCode = e.other
	if err := e.lib.VerifySignature(ctx, x); err == nil {
		t.Fatal("verifies as another department's")
	}
	// The canonical encoding is stable: fields in order, HTML not escaped, items by key.
	b := string(library.SignedBytes(stored))
	if !strings.HasPrefix(b, `{"identifier":"`+p.Identifier+`","number":"JY3",`) || !strings.Contains(b, `"extension":{"a":"<x>","b":1}`) ||
		strings.Index(b, `"area"`) > strings.Index(b, `"operator"`) {
		t.Fatalf("canonical encoding: %s", b)
	}
}

func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := library.Actor{ID: "issuer-1", Department: e.dept}
	p, err := e.lib.Issue(ctx, a, issuance(e, t, "JY4"))
	if err != nil {
		t.Fatal(err)
	}
	// The same number again is a conflict naming the number.
	if _, err := e.lib.Issue(ctx, a, issuance(e, t, "JY4")); !errs.Is(err, errs.Conflict) || !hasField(err, "number") {
		t.Fatalf("issue twice: %v", err)
	}
	// Who may issue: a department not listed, an actor of no department.
	for _, x := range []library.Actor{{ID: "x", Department: e.other}, {ID: "op"}} {
		if _, err := e.lib.Issue(ctx, x, issuance(e, t, "JY5")); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("issue by %+v: %v, want Forbidden", x, err)
		}
	}
	// The business licence is not issued here.
	in := issuance(e, t, "JY5")
	in.TypeCode = license.DefaultTypeCode
	if _, err := e.lib.Issue(ctx, a, in); !errs.Is(err, errs.Invalid) || !hasField(err, "type_code") {
		t.Fatalf("issue business licence: %v", err)
	}
	in.TypeCode = e.definer + "999"
	if _, err := e.lib.Issue(ctx, a, in); !errs.Is(err, errs.Invalid) || !hasField(err, "type_code") {
		t.Fatalf("issue unknown type: %v", err)
	}

	// Change: new version; the department of another area may not.
	ch := library.Issuance{Items: map[string]string{"operator": "杭州示例餐饮有限公司", "main_body": "单位食堂", "scope": "热食类食品制售"}}
	if _, err := e.lib.Change(ctx, library.Actor{ID: "x", Department: e.other}, p.Identifier, 1, ch); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("change by another department: %v", err)
	}
	if _, err := e.lib.Change(ctx, a, p.Identifier, 2, ch); !errs.Is(err, errs.Conflict) {
		t.Fatalf("change with a stale version: %v", err)
	}
	if _, err := e.lib.Change(ctx, a, p.Identifier, 1, library.Issuance{Number: "JY9"}); !errs.Is(err, errs.Invalid) || !hasField(err, "number") {
		t.Fatalf("change of number: %v", err)
	}
	if _, err := e.lib.Change(ctx, a, p.Identifier, 1, library.Issuance{}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("change of nothing: %v", err)
	}
	e.clock.set(e.clock.now().Add(time.Hour))
	v2, err := e.lib.Change(ctx, a, p.Identifier, 1, ch)
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != 2 || v2.Identifier == p.Identifier || !strings.Contains(v2.Identifier, ".JY4.002.") || v2.Items["main_body"] != "单位食堂" ||
		v2.HolderName != p.HolderName || v2.ValidUntil != p.ValidUntil {
		t.Fatalf("v2: %+v", v2)
	}
	old, err := e.lib.Get(ctx, p.Identifier)
	if err != nil || old.Status != library.Superseded || old.SupersededAt == nil {
		t.Fatalf("old version: %v %+v", err, old)
	}
	if err := e.lib.VerifySignature(ctx, old); err != nil {
		t.Fatalf("old version verifies: %v", err)
	}
	vs, err := e.lib.Versions(ctx, p.Identifier)
	if err != nil || len(vs) != 2 || vs[0].Version != 1 || vs[1].Version != 2 || vs[1].Status != library.Valid {
		t.Fatalf("versions: %v %+v", err, vs)
	}
	if cur, err := e.lib.Current(ctx, e.typ.Code, "jy4"); err != nil || cur.Version != 2 {
		t.Fatalf("current: %v %+v", err, cur)
	}

	// Status: suspend, restore, revoke, cancel; an action from the wrong status is a conflict.
	if _, err := e.lib.SetStatus(ctx, a, v2.Identifier, library.StatusChange{Action: library.Restore, Reason: "恢复经营"}); !errs.Is(err, errs.Conflict) {
		t.Fatalf("restore a valid permit: %v", err)
	}
	if _, err := e.lib.SetStatus(ctx, a, v2.Identifier, library.StatusChange{Action: "pause", Reason: "xx"}); !hasField(err, "action") {
		t.Fatalf("unknown action: %v", err)
	}
	if _, err := e.lib.SetStatus(ctx, a, v2.Identifier, library.StatusChange{Action: library.Suspend}); !hasField(err, "reason") {
		t.Fatalf("no reason: %v", err)
	}
	for _, step := range []struct {
		act  library.Action
		want library.Status
	}{{library.Suspend, library.Suspended}, {library.Restore, library.Valid}, {library.Revoke, library.Revoked}, {library.Cancel, library.Cancelled}} {
		// Through the identifier of the old version too: the current one is acted on.
		got, err := e.lib.SetStatus(ctx, a, p.Identifier, library.StatusChange{Action: step.act, Reason: "监督检查 " + string(step.act)})
		if err != nil || got.Status != step.want || got.Version != 2 {
			t.Fatalf("%s: %v %+v", step.act, err, got)
		}
	}
	if _, err := e.lib.Change(ctx, a, v2.Identifier, 2, ch); !errs.Is(err, errs.Conflict) {
		t.Fatalf("change a cancelled permit: %v", err)
	}
	evs, err := audit.NewLog(e.db, nil, e.clock.now).Find(ctx, audit.Filter{Subject: p.HolderCode, ActionPrefix: "library."})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range evs {
		actions = append(actions, ev.Action)
	}
	if got := strings.Join(actions, " "); got != "library.cancel library.revoke library.restore library.suspend library.change library.issue" {
		t.Fatalf("audit actions: %s", got)
	}
}

func TestExpiredIsComputed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	in := issuance(e, t, "JY6")
	in.IssueDate, in.ValidUntil = "2021-03-01", "2026-02-28"
	p, err := e.lib.Issue(ctx, library.Actor{ID: "i", Department: e.dept}, in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != library.Valid || p.State(e.clock.now()) != library.Expired {
		t.Fatalf("status %s state %s", p.Status, p.State(e.clock.now()))
	}
	if st := p.State(time.Date(2026, 2, 28, 15, 0, 0, 0, time.UTC)); st != library.Valid { // 23:00 in China
		t.Fatalf("last day: %s", st)
	}
	if st := p.State(time.Date(2026, 2, 28, 16, 0, 0, 0, time.UTC)); st != library.Expired { // next day in China
		t.Fatalf("day after: %s", st)
	}
}

func TestBatch(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := library.Actor{ID: "i", Department: e.dept}
	var ins []library.Issuance
	for i := range 10 {
		ins = append(ins, issuance(e, t, fmt.Sprintf("JYB%03d", i)))
	}
	ins[3].Items["main_body"] = "网吧"    // bad item
	ins[7].Number = "JYB001"            // repeats row 2
	ins[9].TypeCode = e.definer + "998" // unknown type
	res, err := e.lib.IssueBatch(ctx, a, ins)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		switch i {
		case 3:
			if !hasField(r.Err, "items.main_body") {
				t.Errorf("row 3: %v", r.Err)
			}
		case 7:
			if !errs.Is(r.Err, errs.Conflict) {
				t.Errorf("row 7: %v", r.Err)
			}
		case 9:
			if !hasField(r.Err, "type_code") {
				t.Errorf("row 9: %v", r.Err)
			}
		default:
			if r.Err != nil || r.Permit == nil {
				t.Errorf("row %d: %v", i, r.Err)
			}
		}
	}
	// Again: the stored ones conflict one by one, a new one is issued.
	ins = []library.Issuance{issuance(e, t, "JYB000"), issuance(e, t, "JYB100")}
	res, err = e.lib.IssueBatch(ctx, a, ins)
	if err != nil || !errs.Is(res[0].Err, errs.Conflict) || res[1].Permit == nil {
		t.Fatalf("second batch: %v %+v", err, res)
	}
	if _, err := e.lib.IssueBatch(ctx, a, make([]library.Issuance, library.MaxBatch+1)); !errs.Is(err, errs.Invalid) {
		t.Fatalf("oversized batch: %v", err)
	}
	ps, err := e.lib.ByHolder(ctx, ins[0].HolderCode, "001", e.typ.Code)
	if err != nil || len(ps) != 8 { // 7 of the first batch, 1 of the second
		t.Fatalf("by holder: %v %d", err, len(ps))
	}
}

func TestEntityAndRecords(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	auth := code(t, '1', '1', "330106", "MB200001")
	if _, err := e.keys.CreateAuthority(ctx, keys.Authority{Code: auth, Name: "登记机关", Region: "330106"}); err != nil {
		t.Fatal(err)
	}
	holder := code(t, '9', '1', "330106", "MA000001")
	reg := license.Registration{Code: holder, Kind: license.Company, Face: license.Face{Name: "杭州示例餐饮有限公司", Type: "有限责任公司",
		Person: "张三", Capital: &license.Capital{Amount: "100", Currency: "CNY"}, EstablishedOn: "2020-01-02", TermFrom: "2020-01-02",
		TermTo: license.LongTerm, Address: "杭州市西湖区文三路1号", Scope: "餐饮服务"}}
	ra := license.Actor{ID: "reg", Authority: auth}
	if _, err := e.licences.Issue(ctx, ra, reg); err != nil {
		t.Fatal(err)
	}
	reg.Face.Address = "杭州市西湖区文三路2号"
	if _, err := e.licences.Change(ctx, ra, holder, 1, reg); err != nil {
		t.Fatal(err)
	}
	p, err := e.lib.Issue(ctx, library.Actor{ID: "i", Department: e.dept}, issuance(e, t, "JY7"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.lib.RecordService(ctx, library.Record{HolderCode: holder, Item: "330100-01", ItemName: "食品经营许可变更",
		Case: "", Department: "dept", DepartmentName: "西湖区市场监管局", Licences: []string{"1.2.3"}}); !hasField(err, "case") || !hasField(err, "licences[0]") {
		t.Fatalf("bad record: %v", err)
	}
	for i := range 25 {
		e.clock.set(e.clock.now().Add(time.Minute))
		if _, err := e.lib.RecordService(ctx, library.Record{HolderCode: strings.ToLower(holder), Item: "330100-01", ItemName: "食品经营许可变更",
			Case: fmt.Sprintf("C%03d", i), Department: "client-1", DepartmentName: "西湖区市场监管局", Licences: []string{p.Identifier},
			Materials: json.RawMessage(`{"files": 2}`)}); err != nil {
			t.Fatal(err)
		}
	}
	ent, err := e.lib.Entity(ctx, strings.ToLower(holder))
	if err != nil {
		t.Fatal(err)
	}
	if ent.Licence == nil || ent.Licence.Version != 2 || len(ent.Versions) != 2 || len(ent.Permits) != 1 || ent.Permits[0].Identifier != p.Identifier ||
		len(ent.Records) != library.DefaultRecords || ent.Records[0].Case != "C024" || ent.NextRecords == "" {
		t.Fatalf("entity: %+v", ent)
	}
	rest, next, err := e.lib.Records(ctx, holder, library.Page{Before: ent.NextRecords})
	if err != nil || len(rest) != 5 || rest[0].Case != "C004" || next != "" || string(rest[0].Materials) != `{"files":2}` {
		t.Fatalf("older records: %v %d %q", err, len(rest), next)
	}
	if _, err := e.lib.Entity(ctx, code(t, '9', '1', "330106", "MA000009")); !errs.Is(err, errs.NotFound) {
		t.Fatalf("unknown entity: %v", err)
	}
	evs, _ := audit.NewLog(e.db, nil, e.clock.now).Find(ctx, audit.Filter{Subject: holder, ActionPrefix: "library.record"})
	if len(evs) != 25 {
		t.Fatalf("record events: %d", len(evs))
	}
}

func TestPublicViewAndSheet(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	in := issuance(e, t, "JY8")
	in.HolderCodeType, in.HolderCode, in.HolderName = "111", "11010519491231002X", "王小五"
	in.Extension = json.RawMessage(`{"x":1}`)
	p, err := e.lib.Issue(ctx, library.Actor{ID: "i", Department: e.dept}, in)
	if err != nil {
		t.Fatal(err)
	}
	pub := library.Public(p, e.typ)
	if _, ok := pub.Items["person_in_charge"]; ok || pub.Items["scope"] == "" || pub.Extension != nil ||
		pub.HolderCode != "110*************2X" || pub.HolderName != "王**" {
		t.Fatalf("public view: %+v", pub)
	}
	if p.Items["person_in_charge"] != "李四" || p.HolderName != "王小五" {
		t.Fatal("Public changed the permit")
	}
	sh := library.SheetOf(p, e.typ, e.clock.now())
	if sh.TitleZH != "食品经营许可证" || sh.HolderCode.LabelZH != "居民身份证号码" || sh.HolderCode.Public || len(sh.Items) != 5 ||
		sh.Items[0].Key != "operator" || sh.Items[0].LabelEN != "Operator" || sh.ValidUntilZH != "2031-03-01" || sh.StatusZH != "有效" {
		t.Fatalf("sheet: %+v", sh)
	}
}
