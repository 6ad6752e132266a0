package sharing_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/library"
	"github.com/elicense/elicense/internal/sharing"
	"github.com/elicense/elicense/internal/uscc"
)

// libraryPlatform is the consent platform with the licence library wired into the sharing
// service, two permit types issued by one department — food (the department's system may
// query and verify it) and pollution (it may not) — and a permit of each for the holder's
// entity.
type libraryPlatform struct {
	*consentPlatform
	lib             *library.Service
	food, pollution *library.Type
	foodP, pollP    *library.Permit
}

func newLibraryPlatform(t *testing.T) *libraryPlatform {
	t.Helper()
	cp := newConsentPlatform(t)
	lp := &libraryPlatform{consentPlatform: cp}
	lp.lib = library.NewService(library.Config{Store: cp.env.DB, Keys: cp.env.Keys, Licences: cp.env.Licenses, Clock: cp.env.Clock.Now})
	cp.svc.SetLibrary(lp.lib)
	dept, err := uscc.Generate('1', '1', "330106", "MB100001")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lp.lib.CreateDepartment(cp.ctx, keys.Authority{Code: dept, Name: "杭州市西湖区市场监督管理局（发证）", Region: "330106"}); err != nil {
		t.Fatal(err)
	}
	op := library.Actor{ID: "op"}
	items := func(extra ...library.Item) []library.Item {
		return append([]library.Item{{Key: "operator", LabelZH: "经营者名称", LabelEN: "Operator", Kind: library.Text, Required: true, Public: true},
			{Key: "person_in_charge", LabelZH: "负责人", LabelEN: "Person in charge", Kind: library.Text}}, extra...)
	}
	if lp.food, err = lp.lib.RegisterType(cp.ctx, op, library.Type{Code: "11100000MB0143028R101", Name: "食品经营许可证", NameEN: "Food business licence",
		DefinedBy: "11100000MB0143028R", DefinedByName: "国家市场监督管理总局", Issuers: []string{dept}, ValidityYears: 5,
		Class: library.Qualification, Items: items()}); err != nil {
		t.Fatal(err)
	}
	if lp.pollution, err = lp.lib.RegisterType(cp.ctx, op, library.Type{Code: "11100000MB1729602Q001", Name: "排污许可证", NameEN: "Pollutant discharge permit",
		DefinedBy: "11100000MB1729602Q", DefinedByName: "生态环境部", Issuers: []string{dept}, ValidityYears: 5,
		Class: library.Qualification, Items: items()}); err != nil {
		t.Fatal(err)
	}
	issue := func(t0 *library.Type, number string) *library.Permit {
		p, err := lp.lib.Issue(cp.ctx, library.Actor{ID: "issuer", Department: dept}, library.Issuance{TypeCode: t0.Code, Number: number,
			HolderName: cp.licence.Face.Name, HolderCode: cp.holder.Code,
			Items: map[string]string{"operator": cp.licence.Face.Name, "person_in_charge": "李娜"}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	lp.foodP, lp.pollP = issue(lp.food, "JY13301060000001"), issue(lp.pollution, "91330106PW0001")
	// The department's system may query and verify food licences (through the operator API,
	// which must know the library's types); not pollution permits.
	cp.post("/api/v1/sharing/permissions", cp.operator, `{"client_id":"`+cp.deptID+`","type_code":"11100000MB0143028R999","operations":["query"]}`).
		expect(t, 400)
	cp.post("/api/v1/sharing/permissions", cp.operator, `{"client_id":"`+cp.deptID+`","type_code":"`+lp.food.Code+`","operations":["query","verify"]}`).
		expect(t, 200)
	return lp
}

type listAnswer struct {
	Licences []struct {
		Identifier, Number, Status, Kind string
		TypeCode                         string `json:"type_code"`
		TypeName                         string `json:"type_name"`
		HolderCode                       string `json:"holder_code"`
		Items                            map[string]string
	}
}

func TestSharingPermits(t *testing.T) {
	lp := newLibraryPlatform(t)
	code := lp.holder.Code
	holder := `"holder_code":"` + code + `","holder_code_type":"001"`

	// Listing without a type: the business licence and the food licence, public items only; not
	// the pollution permit.
	var list listAnswer
	lp.post("/api/v1/sharing/licences", lp.dept, body(holder)).expect(t, 200).decode(t, &list)
	var ids []string
	for _, l := range list.Licences {
		ids = append(ids, l.Identifier)
	}
	if !slices.Equal(ids, []string{lp.licence.Identifier, lp.foodP.Identifier}) {
		t.Fatalf("listed %v, want the business licence and the food licence", ids)
	}
	if f := list.Licences[1]; f.Kind != "" || f.Status != "valid" || f.Number != lp.foodP.Number || f.Items["operator"] != lp.licence.Face.Name ||
		f.Items["person_in_charge"] != "" {
		t.Errorf("the food licence listed: %+v", f)
	}
	// By type: the permitted type alone; the other refused; an unknown type named.
	lp.post("/api/v1/sharing/licences", lp.dept, body(holder+`,"type_code":"`+lp.food.Code+`"`)).expect(t, 200).decode(t, &list)
	if len(list.Licences) != 1 || list.Licences[0].Identifier != lp.foodP.Identifier {
		t.Errorf("listed by type: %+v", list)
	}
	lp.post("/api/v1/sharing/licences", lp.dept, body(holder+`,"type_code":"`+lp.pollution.Code+`"`)).expect(t, 403)
	if f, _ := lp.post("/api/v1/sharing/licences", lp.dept, body(holder+`,"type_code":"11100000MB0143028R998"`)).expect(t, 400).errField(t); f != "type_code" {
		t.Errorf("unknown type: field %q", f)
	}
	// A system allowed pollution permits only sees no business licence.
	pollID, pollTok := lp.client("生态环境执法系统", allScopes)
	lp.post("/api/v1/sharing/permissions", lp.operator, `{"client_id":"`+pollID+`","type_code":"`+lp.pollution.Code+`","operations":["query"]}`).expect(t, 200)
	lp.post("/api/v1/sharing/licences", pollTok, body(holder)).expect(t, 200).decode(t, &list)
	if len(list.Licences) != 1 || list.Licences[0].Identifier != lp.pollP.Identifier {
		t.Errorf("listed for the pollution system: %+v", list)
	}
	_, noneTok := lp.client("无权限系统", allScopes)
	lp.post("/api/v1/sharing/licences", noneTok, body(holder)).expect(t, 403)

	// Query by identifier: the permitted type answers, the other is refused.
	var rec struct {
		Identifier      string
		TypeName        string `json:"type_name"`
		Items           map[string]string
		ConsentRequired *sharing.ConsentNotice `json:"consent_required"`
		NonPublic       *sharing.NonPublic     `json:"non_public"`
	}
	lp.post("/api/v1/sharing/query", lp.dept, body(`"identifier":"`+strings.ToLower(lp.foodP.Identifier)+`"`)).expect(t, 200).decode(t, &rec)
	if rec.TypeName != "食品经营许可证" || rec.Items["operator"] == "" || rec.Items["person_in_charge"] != "" {
		t.Errorf("query of the food licence: %+v", rec)
	}
	lp.post("/api/v1/sharing/query", lp.dept, body(`"identifier":"`+lp.pollP.Identifier+`"`)).expect(t, 403)
	unknown := strings.Replace(lp.foodP.Identifier, "JY13301060000001", "JY13301060000009", 1)
	lp.post("/api/v1/sharing/query", lp.dept, body(`"identifier":"`+unknown+`"`)).expect(t, 404)
	// Non-public items: named as needing consent, then given under a standing authorisation.
	lp.post("/api/v1/sharing/query", lp.dept, body(`"identifier":"`+lp.foodP.Identifier+`","non_public":["*"]`)).expect(t, 200).decode(t, &rec)
	if rec.ConsentRequired == nil || fmt.Sprint(rec.ConsentRequired.Missing) != "[person_in_charge]" || rec.Items["person_in_charge"] != "" {
		t.Errorf("non-public without consent: %+v", rec)
	}
	if _, err := lp.svc.GrantStanding(lp.ctx, lp.holder.PersonID, code, sharing.StandingGrant{ClientID: lp.deptID,
		Until: lp.env.Clock.Now().Add(30 * 24 * time.Hour)}, identity.Proof{Method: identity.MethodPIN, PIN: lp.holder.PIN}); err != nil {
		t.Fatal(err)
	}
	rec.ConsentRequired = nil
	lp.post("/api/v1/sharing/query", lp.dept, body(`"identifier":"`+lp.foodP.Identifier+`","non_public":["*"]`)).expect(t, 200).decode(t, &rec)
	if rec.ConsentRequired != nil || rec.Items["person_in_charge"] != "李娜" || rec.NonPublic == nil {
		t.Errorf("non-public with a standing authorisation: %+v", rec)
	}

	// Verify by fields: 0 when all match, 7 naming the wrong field, by type and number, 5
	// for an unknown number, 2 once suspended; the other type refused.
	verify := func(token, fields string, status int) (v struct {
		Result int
		Wrong  []string `json:"wrong_fields"`
		Status string
	}) {
		t.Helper()
		lp.post("/api/v1/sharing/verify", token, body(fields)).expect(t, status).decode(t, &v)
		return v
	}
	all := `"identifier":"` + lp.foodP.Identifier + `","number":"` + lp.foodP.Number + `","code":"` + code + `","name":"` + lp.licence.Face.Name + `"`
	if v := verify(lp.dept, all, 200); v.Result != 0 || v.Status != "valid" {
		t.Errorf("verify: %+v", v)
	}
	if v := verify(lp.dept, `"identifier":"`+lp.foodP.Identifier+`","name":"别的公司"`, 200); v.Result != 7 || fmt.Sprint(v.Wrong) != "[name]" {
		t.Errorf("verify a wrong name: %+v", v)
	}
	if v := verify(lp.dept, `"type_code":"`+lp.food.Code+`","number":"jy13301060000001","code":"`+code+`"`, 200); v.Result != 0 {
		t.Errorf("verify by type and number: %+v", v)
	}
	if v := verify(lp.dept, `"type_code":"`+lp.food.Code+`","number":"JY0"`, 200); v.Result != 5 {
		t.Errorf("verify an unknown number: %+v", v)
	}
	if v := verify(lp.dept, `"type_code":"`+lp.food.Code+`"`, 200); v.Result != 4 {
		t.Errorf("verify without a number: %+v", v)
	}
	lp.post("/api/v1/sharing/verify", lp.dept, body(`"identifier":"`+lp.pollP.Identifier+`"`)).expect(t, 403)
	lp.post("/api/v1/sharing/verify", lp.dept, body(`"type_code":"`+lp.pollution.Code+`","number":"`+lp.pollP.Number+`"`)).expect(t, 403)
	dept := library.Actor{ID: "issuer", Department: lp.foodP.IssuerCode}
	if _, err := lp.lib.SetStatus(lp.ctx, dept, lp.foodP.Identifier, library.StatusChange{Action: library.Suspend, Reason: "整改期间暂停"}); err != nil {
		t.Fatal(err)
	}
	if v := verify(lp.dept, all, 200); v.Result != 2 || v.Status != "suspended" {
		t.Errorf("verify a suspended licence: %+v", v)
	}
	// The national-style envelope: suspended is 23.
	var env struct{ Head struct{ Status int } }
	lp.post("/api/gov/v1/sharing/query", lp.dept, body(`"identifier":"`+lp.foodP.Identifier+`"`)).expect(t, 200).decode(t, &env)
	if env.Head.Status != 23 {
		t.Errorf("envelope of a suspended permit: %+v", env)
	}

	// Every call is a usage record of the entity, refused ones as denied.
	evs, err := lp.env.Audit.Find(lp.ctx, audit.Filter{Subject: code, ActionPrefix: "share.", Actor: lp.deptID})
	if err != nil {
		t.Fatal(err)
	}
	var results []string
	for _, e := range evs {
		var u struct{ Identifier, Result string }
		_ = json.Unmarshal(e.Data, &u)
		if u.Identifier == lp.foodP.Identifier {
			results = append(results, e.Action+":"+u.Result)
		}
	}
	for _, want := range []string{"share.query:ok", "share.query:consent_required", "share.verify:result:0", "share.verify:result:7", "share.verify:result:2"} {
		if !slices.Contains(results, want) {
			t.Errorf("no usage record %s in %v", want, results)
		}
	}
}
