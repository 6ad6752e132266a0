package store

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/catalog"
	"github.com/elicense/elicense/internal/errs"
)

func catalogEvents(t *testing.T, d *testDB, prefix string) []audit.Event {
	t.Helper()
	evs, err := d.FindEvents(context.Background(), audit.Filter{ActionPrefix: prefix, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestCatalogItems(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		now := d.clock.Now()
		items, err := catalog.Starter("11100000MB0143028R001")
		if err != nil {
			t.Fatal(err)
		}
		ev := audit.Event{Action: "catalog.import", Actor: "test", Subject: "catalog"}
		n, err := d.SaveCatalogItems(ctx, items, false, "test", now, ev)
		if err != nil || n != len(items) {
			t.Fatalf("save: %d %v", n, err)
		}
		got, err := d.CatalogItem(ctx, "bank.basic-account")
		if err != nil {
			t.Fatal(err)
		}
		var want catalog.Item
		for _, it := range items {
			if it.Code == "bank.basic-account" {
				want = it
			}
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("item read back:\n%+v\n%+v", *got, want)
		}
		if _, err := d.CatalogItem(ctx, "nope"); !errs.Is(err, errs.NotFound) {
			t.Errorf("unknown item: %v", err)
		}

		list := func(f catalog.Filter) []string {
			t.Helper()
			if f.Limit == 0 {
				f.Limit = 100
			}
			its, err := d.CatalogItems(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var codes []string
			for _, it := range its {
				codes = append(codes, it.Code)
			}
			return codes
		}
		if all := list(catalog.Filter{}); len(all) != len(items) {
			t.Errorf("all: %d items", len(all))
		}
		if got := list(catalog.Filter{Scenario: catalog.Tax}); !reflect.DeepEqual(got, []string{"tax.invoice-approval", "tax.registration-confirm"}) {
			t.Errorf("tax: %v", got)
		}
		// Items applying in a district of Zhejiang: national, provincial and city items; none
		// in Beijing but the national one.
		if got := list(catalog.Filter{Scenario: catalog.Investment, Regions: catalog.RegionsOf("330106")}); len(got) != 3 {
			t.Errorf("investment in 330106: %v", got)
		}
		if got := list(catalog.Filter{Regions: catalog.RegionsOf("110105")}); !reflect.DeepEqual(got, []string{"market.annual-report"}) {
			t.Errorf("in Beijing: %v", got)
		}
		// Text: name, English name, code, department; case-insensitive; wildcards are literal.
		if got := list(catalog.Filter{Query: "账户"}); !reflect.DeepEqual(got, []string{"bank.basic-account"}) {
			t.Errorf("q=账户: %v", got)
		}
		if got := list(catalog.Filter{Query: "BASIC DEPOSIT"}); !reflect.DeepEqual(got, []string{"bank.basic-account"}) {
			t.Errorf("q=BASIC DEPOSIT: %v", got)
		}
		if got := list(catalog.Filter{Query: "生态环境局"}); len(got) != 2 {
			t.Errorf("by department: %v", got)
		}
		if got := list(catalog.Filter{Query: "%"}); len(got) != 0 {
			t.Errorf("q=%%: %v", got)
		}
		if got := list(catalog.Filter{Limit: 3}); len(got) != 3 {
			t.Errorf("limit: %v", got)
		}

		// Replacing one and adding one; onlyNew leaves existing items alone and records nothing
		// when nothing is new.
		changed := want
		changed.Name = "基本存款账户开立（新）"
		extra := want
		extra.Code = "bank.extra"
		n, err = d.SaveCatalogItems(ctx, []catalog.Item{changed, extra}, false, "op", now, ev)
		if err != nil || n != 1 {
			t.Fatalf("upsert: %d %v", n, err)
		}
		if got, _ := d.CatalogItem(ctx, "bank.basic-account"); got.Name != changed.Name {
			t.Errorf("not replaced: %s", got.Name)
		}
		changed.Name = "不应写入"
		if n, err := d.SaveCatalogItems(ctx, []catalog.Item{changed}, true, "op", now, ev); err != nil || n != 0 {
			t.Fatalf("only new: %d %v", n, err)
		}
		if got, _ := d.CatalogItem(ctx, "bank.basic-account"); got.Name == changed.Name {
			t.Error("onlyNew replaced an item")
		}
		if evs := catalogEvents(t, d, "catalog.import"); len(evs) != 2 {
			t.Errorf("%d import events, want 2", len(evs))
		}
	})
}

func TestCatalogApplications(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		now := d.clock.Now().Truncate(time.Microsecond)
		items, err := catalog.Starter("11100000MB0143028R001")
		if err != nil {
			t.Fatal(err)
		}
		a := &catalog.Application{ID: "A1", Item: items[0], EntityCode: "91330106MA0000017A", PersonID: "P1", Role: "holder",
			Case: "BJ20250301-AAAA", Status: catalog.Draft, NotAsked: 1, CreatedAt: now,
			Materials: catalog.Match(&items[0], nil, now)}
		start := audit.Event{Action: catalog.ActionStart, Actor: "person:P1", Subject: a.EntityCode, Data: json.RawMessage(`{"not_asked":1}`)}
		if err := d.CreateApplication(ctx, a, start); err != nil {
			t.Fatal(err)
		}
		got, err := d.Application(ctx, "A1")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, a) {
			t.Errorf("read back:\n%+v\n%+v", got, a)
		}
		dup := *a
		dup.ID = "A2"
		if err := d.CreateApplication(ctx, &dup, start); !errs.Is(err, errs.Conflict) {
			t.Errorf("same case number: %v", err)
		}
		if _, err := d.Application(ctx, "A2"); !errs.Is(err, errs.NotFound) {
			t.Errorf("refused application stored: %v", err)
		}

		d.clock.Advance(time.Minute)
		sub := *a
		sub.Status, sub.SubmittedAt, sub.NotAsked, sub.Role = catalog.Submitted, now.Add(time.Minute), 2, "agent"
		sub.Materials[1].Upload = "ab"
		submit := audit.Event{Action: catalog.ActionSubmit, Actor: "person:P1", Subject: a.EntityCode, Data: json.RawMessage(`{"not_asked":2}`)}
		if err := d.SubmitApplication(ctx, &sub, submit); err != nil {
			t.Fatal(err)
		}
		if got, _ := d.Application(ctx, "A1"); !reflect.DeepEqual(got, &sub) {
			t.Errorf("submitted:\n%+v\n%+v", got, &sub)
		}
		// Only a draft is submitted, once; the refused submission records nothing.
		if err := d.SubmitApplication(ctx, &sub, submit); !errs.Is(err, errs.Conflict) {
			t.Errorf("second submission: %v", err)
		}
		ghost := sub
		ghost.ID = "nope"
		if err := d.SubmitApplication(ctx, &ghost, submit); !errs.Is(err, errs.NotFound) {
			t.Errorf("unknown application: %v", err)
		}
		if evs := catalogEvents(t, d, "catalog.apply."); len(evs) != 2 || evs[0].Action != catalog.ActionSubmit || evs[1].Action != catalog.ActionStart {
			t.Errorf("events: %+v", evs)
		}

		b := *a
		b.ID, b.Case, b.CreatedAt, b.Materials = "B1", "BJ20250301-BBBB", now.Add(time.Hour), nil
		if err := d.CreateApplication(ctx, &b, start); err != nil {
			t.Fatal(err)
		}
		as, err := d.ApplicationsOf(ctx, a.EntityCode, 10)
		if err != nil || len(as) != 2 || as[0].ID != "B1" || as[1].ID != "A1" {
			t.Errorf("applications of: %+v %v", as, err)
		}
		if as, _ := d.ApplicationsOf(ctx, "other", 10); len(as) != 0 {
			t.Errorf("other entity: %+v", as)
		}
	})
}
