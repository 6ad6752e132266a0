package store

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/license"
)

func TestSearch(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		at := d.clock.Now()
		type ent struct {
			name, person string
			kind         license.Kind
			region       string
		}
		ents := []ent{
			{"杭州西湖网络科技有限公司", "张三", license.Company, "330106"},
			{"杭州滨江网络科技有限公司", "李四", license.Company, "330108"},
			{"上海浦东贸易有限公司", "王五", license.Company, "310115"},
			{"深圳南山电子科技有限公司", "张伟", license.Branch, "440305"},
			{"北京海淀Alpha软件有限公司", "赵六", license.Company, "110108"},
			{"成都武侯小吃店", "张小明", license.Individual, "510107"},
			{"杭州西湖茶叶合作社", "陈七", license.Cooperative, "330106"},
		}
		var (
			all     []*license.Licence
			changes []license.Change
		)
		for i, e := range ents {
			auth := "AUTH-A"
			if i == 4 {
				auth = "AUTH-B"
			}
			l := newLicence(testCode(e.region, i), e.kind, e.region, auth, e.name, at)
			l.Face.Person = e.person
			all = append(all, l)
			changes = append(changes, issue(l))
		}
		if err := d.Save(ctx, changes); err != nil {
			t.Fatal(err)
		}
		cur := func(i int) *license.Licence {
			t.Helper()
			l, err := d.Current(ctx, all[i].Code)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		// 上海浦东 is revoked, 成都武侯 cancelled: still found, with their status.
		if err := d.Save(ctx, []license.Change{
			statusChange(cur(2), license.Revoked, "吊销", at),
			statusChange(cur(5), license.Cancelled, "注销", at),
		}); err != nil {
			t.Fatal(err)
		}

		search := func(q license.SearchQuery) []*license.Licence {
			t.Helper()
			ls, err := d.Search(ctx, q)
			if err != nil {
				t.Fatalf("Search(%+v): %v", q, err)
			}
			return ls
		}
		names := func(ls []*license.Licence) []string {
			s := []string{}
			for _, l := range ls {
				s = append(s, l.Face.Name)
			}
			return s
		}
		sorted := func(s []string) []string { sort.Strings(s); return s }
		tests := []struct {
			name string
			q    license.SearchQuery
			want []string
		}{
			{"name 3+ chars", license.SearchQuery{Text: "网络科技"}, []string{ents[0].name, ents[1].name}},
			{"name 2 chars", license.SearchQuery{Text: "西湖"}, []string{ents[0].name, ents[6].name}},
			{"name 1 char", license.SearchQuery{Text: "茶"}, []string{ents[6].name}},
			{"name ascii any case", license.SearchQuery{Text: "alpha"}, []string{ents[4].name}},
			{"name ascii any case 2 chars", license.SearchQuery{Text: "AL"}, []string{ents[4].name}},
			{"person 2 chars", license.SearchQuery{Text: "张伟"}, []string{ents[3].name}},
			{"person 3 chars", license.SearchQuery{Text: "张小明"}, []string{ents[5].name}},
			{"person 1 char", license.SearchQuery{Text: "张"}, []string{ents[0].name, ents[3].name, ents[5].name}},
			{"kind filter", license.SearchQuery{Text: "科技", Kind: license.Branch}, []string{ents[3].name}},
			{"region filter", license.SearchQuery{Text: "杭州", Region: "330106"}, []string{ents[0].name, ents[6].name}},
			{"region prefix", license.SearchQuery{Text: "有限公司", Region: "33"}, []string{ents[0].name, ents[1].name}},
			{"authority filter", license.SearchQuery{Text: "有限公司", Authority: "AUTH-B"}, []string{ents[4].name}},
			{"status filter", license.SearchQuery{Text: "有限公司", Status: license.Revoked}, []string{ents[2].name}},
			{"no match", license.SearchQuery{Text: "不存在的公司"}, []string{}},
			{"wildcards are literal", license.SearchQuery{Text: "%_%"}, []string{}},
			{"quote", license.SearchQuery{Text: `"西湖"`}, []string{}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if got := sorted(names(search(tc.q))); !reflect.DeepEqual(got, sorted(tc.want)) {
					t.Errorf("got %q, want %q", got, tc.want)
				}
			})
		}

		// Code: exact, any case.
		ls := search(license.SearchQuery{Text: strings.ToLower(all[0].Code)})
		if len(ls) != 1 || ls[0].Code != all[0].Code {
			t.Fatalf("code search = %q", names(ls))
		}
		if ls := search(license.SearchQuery{Text: all[0].Code, Kind: license.Branch}); len(ls) != 0 {
			t.Fatalf("code search with another kind = %q", names(ls))
		}
		// Long queries (more characters than the PostgreSQL index is asked for) are matched whole.
		if got := names(search(license.SearchQuery{Text: "深圳南山电子科技"})); !reflect.DeepEqual(got, []string{ents[3].name}) {
			t.Fatalf("long query = %q", got)
		}
		if got := names(search(license.SearchQuery{Text: "深圳南山电子贸易"})); len(got) != 0 {
			t.Fatalf("long query with a different end = %q", got)
		}
		// Ranking: name matches before person matches.
		l := cur(1)
		if err := d.Save(ctx, []license.Change{nextVersion(l, "杭州李四网络有限公司", at)}); err != nil {
			t.Fatal(err)
		}
		ls = search(license.SearchQuery{Text: "李四"})
		if got := names(ls); !reflect.DeepEqual(got, []string{"杭州李四网络有限公司"}) {
			t.Fatalf("李四 = %q (one entity, by its name)", got)
		}
		// Limit and the exact code ranked first.
		ls = search(license.SearchQuery{Text: all[3].Code, Limit: 1})
		if len(ls) != 1 || ls[0].Code != all[3].Code {
			t.Fatalf("code search with limit 1 = %q", names(ls))
		}
		ls = search(license.SearchQuery{Text: "有限公司", Limit: 2})
		if len(ls) != 2 {
			t.Fatalf("limit 2 gave %d", len(ls))
		}

		// Status marks.
		for _, l := range search(license.SearchQuery{Text: "有限公司", Limit: 100}) {
			want := license.Active
			switch l.Code {
			case all[2].Code:
				want = license.Revoked
			}
			if l.Status != want || l.Signature == nil || l.Version == 0 {
				t.Errorf("%s: status %q version %d, want %q", l.Face.Name, l.Status, l.Version, want)
			}
		}
		if ls := search(license.SearchQuery{Text: "小吃"}); len(ls) != 1 || ls[0].Status != license.Cancelled || ls[0].StatusReason != "注销" {
			t.Errorf("cancelled entity: %+v", ls)
		}

		// The index follows a change registration: new name found, old name gone, current version.
		if err := d.Save(ctx, []license.Change{nextVersion(cur(0), "杭州云栖数据服务有限公司", at)}); err != nil {
			t.Fatal(err)
		}
		if ls := search(license.SearchQuery{Text: "云栖数据"}); len(ls) != 1 || ls[0].Code != all[0].Code || ls[0].Version != 2 {
			t.Errorf("renamed entity by its new name: %q", names(ls))
		}
		if ls := search(license.SearchQuery{Text: "云栖"}); len(ls) != 1 {
			t.Errorf("renamed entity by 2 chars of its new name: %q", names(ls))
		}
		if got := sorted(names(search(license.SearchQuery{Text: "西湖网络"}))); len(got) != 0 {
			t.Errorf("old name still found: %q", got)
		}
		// A new representative replaces the old one.
		n := nextVersion(cur(6), ents[6].name, at)
		n.Licence.Face.Person = "周八"
		if err := d.Save(ctx, []license.Change{n}); err != nil {
			t.Fatal(err)
		}
		if ls := search(license.SearchQuery{Text: "周八"}); len(ls) != 1 || ls[0].Code != all[6].Code {
			t.Errorf("new representative: %q", names(ls))
		}
		if ls := search(license.SearchQuery{Text: "陈七"}); len(ls) != 0 {
			t.Errorf("old representative still found: %q", names(ls))
		}

		// Another handle (process) sees the index as written.
		other := d.open(t)
		if ls, err := other.Search(ctx, license.SearchQuery{Text: "云栖数据"}); err != nil || len(ls) != 1 {
			t.Errorf("other handle: %d, %v", len(ls), err)
		}

		_, err := d.Search(ctx, license.SearchQuery{Text: "  "})
		if e := wantKind(t, err, errs.Invalid); e.Field != "q" {
			t.Errorf("field %q", e.Field)
		}
		for _, bad := range []string{"杭州\x00", "\xff\xfe", "西\n湖"} {
			_, err = d.Search(ctx, license.SearchQuery{Text: bad})
			if e := wantKind(t, err, errs.Invalid); e.Field != "q" {
				t.Errorf("%q: field %q", bad, e.Field)
			}
		}
		_, err = d.Search(ctx, license.SearchQuery{Text: "杭州", Limit: license.MaxSearchLimit + 1})
		if e := wantKind(t, err, errs.Invalid); e.Field != "limit" {
			t.Errorf("field %q", e.Field)
		}
	})
}
