package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/catalog"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/library"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/oidc/oidctest"
	"github.com/elicense/elicense/internal/sharing"
	"github.com/elicense/elicense/internal/uscc"
)

// TestApplicationFetchesPermit: an application whose catalogue material is satisfied by a permit
// with the fetch rule (archive) goes through serve's wiring — the library's holdings, the
// consent given on the spot, the case recorder archiving the fetched permit through the sharing
// service on behalf of the portal, and the service record in the library. The services are
// real, on SQLite (oidctest wires them as openApp and openIdentity do).
func TestApplicationFetchesPermit(t *testing.T) {
	ctx := context.Background()
	env, err := oidctest.Open(ctx, oidctest.Options{Dir: t.TempDir(), Issuer: "http://localhost:8080"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	ap := &app{db: env.DB, keys: env.Keys, licenses: env.Licenses, audit: env.Audit, clock: env.Clock.Now,
		identity: env.Identity, oidc: env.OIDC}
	holder, err := env.Entity(ctx, 7, "杭州西湖食品有限公司", oidctest.IDNumber("33010619850304123"), "13800000007", "258036")
	if err != nil {
		t.Fatal(err)
	}

	// The library: the food licence type (the starter catalogue's code), a department, a permit.
	lib := ap.library()
	dept, err := uscc.Generate('1', '1', "330106", "MB100001")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lib.CreateDepartment(ctx, keys.Authority{Code: dept, Name: "杭州市西湖区市场监督管理局", Region: "330106"}); err != nil {
		t.Fatal(err)
	}
	food, err := lib.RegisterType(ctx, library.Actor{ID: "op"}, library.Type{Code: catalog.TypeFoodBusiness, Name: "食品经营许可证",
		NameEN: "Food business licence", DefinedBy: "11100000MB0143028R", DefinedByName: "国家市场监督管理总局", Issuers: []string{dept},
		ValidityYears: 5, Class: library.Qualification, Items: []library.Item{{Key: "operator", LabelZH: "经营者名称", LabelEN: "Operator",
			Kind: library.Text, Required: true, Public: true}}})
	if err != nil {
		t.Fatal(err)
	}
	permit, err := lib.Issue(ctx, library.Actor{ID: "issuer", Department: dept}, library.Issuance{TypeCode: food.Code,
		Number: "JY13301060000007", HolderName: "杭州西湖食品有限公司", HolderCode: holder.Code, Items: map[string]string{"operator": "杭州西湖食品有限公司"}})
	if err != nil {
		t.Fatal(err)
	}

	// The sharing service as serve wires it, and a portal allowed everything with both types.
	share := sharing.NewService(sharing.Config{Store: env.DB, Clients: env.DB, Tokens: env.OIDC, Licences: env.Licenses,
		Documents: env.Documents, Audit: env.Audit, Clock: env.Clock.Now})
	share.SetLibrary(lib)
	if err := ap.enableConsent(ctx, share, env.Documents); err != nil {
		t.Fatal(err)
	}
	portal, _, err := env.OIDC.RegisterClient(ctx, oidc.ClientSpec{Name: "浙江政务服务网 · 食品经营许可",
		GrantTypes: []string{oidc.GrantClientCredentials}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{env.Licenses.TypeCode(), food.Code} {
		if _, err := share.Grant(ctx, "test", sharing.Permission{ClientID: portal.ID, TypeCode: typ, Operations: sharing.Operations()}); err != nil {
			t.Fatal(err)
		}
	}
	cat := withApplications(ap, lib, share)
	if _, err := cat.LoadStarter(ctx, "test"); err != nil {
		t.Fatal(err)
	}

	// The holder applies through the portal: the files of the business licence and of the food
	// licence need the entity's consent, which the holder gives on submitting.
	a, err := cat.StartVia(ctx, portal.ID, holder.PersonID, "market.food-permit-change", holder.Code)
	if err != nil {
		t.Fatal(err)
	}
	state := func(a *catalog.Application, code string) catalog.Satisfaction {
		for _, m := range a.Materials {
			if m.Material == code {
				return m
			}
		}
		t.Fatalf("no material %s in %+v", code, a.Materials)
		return catalog.Satisfaction{}
	}
	if m := state(a, "food_business_permit"); m.State != catalog.ConsentNeeded || m.Identifier != permit.Identifier {
		t.Fatalf("the food licence material: %+v", m)
	}
	sm3 := strings.Repeat("ab", 32) // of the uploaded application form
	done, err := cat.Submit(ctx, holder.PersonID, a.ID, catalog.Submission{Consent: []string{"business_licence", "food_business_permit"},
		Uploads: map[string]string{"change_application": sm3}})
	if err != nil {
		t.Fatal(err)
	}
	if m := state(done, "food_business_permit"); m.State != catalog.Fetched || !m.Consented {
		t.Errorf("the food licence after submitting: %+v", m)
	}

	// The portal archived both: the permit's receipt is over the permit's signed data; each is a
	// usage record with the case's purpose.
	page, err := share.Archives(ctx, &sharing.Caller{ClientID: portal.ID}, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(page.Receipts, func(r *sharing.Receipt) bool { return r.Identifier == permit.Identifier })
	if len(page.Receipts) != 2 || i < 0 || page.Receipts[i].DocumentSM3 != sharing.PermitSM3(permit) || page.Receipts[i].Version != 1 {
		b, _ := json.Marshal(page.Receipts)
		t.Fatalf("the portal's receipts: %s", b)
	}
	evs, err := env.Audit.Find(ctx, audit.Filter{Actor: portal.ID, ActionPrefix: "share."})
	if err != nil {
		t.Fatal(err)
	}
	var uses []string
	for _, e := range evs {
		var u struct {
			Identifier string `json:"identifier"`
			Result     string `json:"result"`
			Case       string `json:"case_number"`
		}
		_ = json.Unmarshal(e.Data, &u)
		if u.Case == a.Case {
			uses = append(uses, e.Action+":"+u.Identifier+":"+u.Result)
		}
	}
	l, err := env.Licenses.Get(ctx, holder.Code)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"share.archive:" + permit.Identifier + ":ok", "share.archive:" + l.Identifier + ":ok"} {
		if !slices.Contains(uses, want) {
			t.Errorf("no usage record %s of the case in %v", want, uses)
		}
	}
	// The library's service record names both licences used.
	recs, _, err := lib.Records(ctx, holder.Code, library.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Case != a.Case || !slices.Contains(recs[0].Licences, permit.Identifier) || !slices.Contains(recs[0].Licences, l.Identifier) {
		t.Errorf("service records: %+v", recs)
	}
}
