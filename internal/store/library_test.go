package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/library"
)

const testTypeCode = "11100000MB0143028R101"

func testPermit(number, holder string, at time.Time) *library.Permit {
	return &library.Permit{Identifier: "1.2.156.3005.2." + testTypeCode + ".11330106MB1000010X." + number + ".001.0",
		Number: number, TypeCode: testTypeCode, TypeName: "食品经营许可证", Version: 1, IssuerCode: "11330106MB1000010X",
		IssuerName: "西湖区市场监督管理局", DefinedBy: "11100000MB0143028R", DefinedByName: "国家市场监督管理总局",
		IssueDate: "2026-03-01", ValidFrom: "2026-03-01", ValidUntil: "2031-02-28", AreaCode: "330106",
		HolderName: "杭州示例餐饮有限公司", HolderCode: holder, HolderCodeType: "001",
		Items:     map[string]string{"scope": "热食类食品制售", "note": "<b>&"},
		Extension: json.RawMessage(`{"a":"<x>","b":1}`), IssuedAt: at, Signature: []byte{1, 2, 3}, CertSerial: "abc",
		Status: library.Valid}
}

func permitEvent(action string, p *library.Permit) audit.Event {
	return audit.Event{Action: action, Actor: "issuer", Subject: p.HolderCode, Data: json.RawMessage(`{"number":"` + p.Number + `"}`)}
}

func TestLibraryTypes(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		at := d.clock.Now()
		ty := &library.Type{Code: testTypeCode, Name: "食品经营许可证", NameEN: "Food business licence", DefinedBy: "11100000MB0143028R",
			Issuers: []string{"11330106MB1000010X"}, Items: []library.Item{{Key: "scope", LabelZH: "经营项目", LabelEN: "Items", Kind: library.Text}},
			Class: library.Qualification, ValidityYears: 5, CreatedAt: at, UpdatedAt: at}
		ev := audit.Event{Action: "library.type.add", Actor: "op", Subject: ty.Code}
		if err := d.CreateType(ctx, ty, ev); err != nil {
			t.Fatal(err)
		}
		if err := d.CreateType(ctx, ty, ev); !errs.Is(err, errs.Conflict) {
			t.Fatalf("create twice: %v", err)
		}
		if n := auditRows(t, d.DB); n != 1 {
			t.Fatalf("audit rows after a failed create: %d", n)
		}
		got, err := d.LibraryType(ctx, ty.Code)
		if err != nil || got.Name != ty.Name || len(got.Items) != 1 || got.Items[0].Key != "scope" || !got.CreatedAt.Equal(at) {
			t.Fatalf("type: %v %+v", err, got)
		}
		ty.ValidityYears = 3
		if err := d.UpdateType(ctx, ty, audit.Event{Action: "library.type.update", Actor: "op", Subject: ty.Code}); err != nil {
			t.Fatal(err)
		}
		missing := *ty
		missing.Code = "11100000MB0143028R999"
		if err := d.UpdateType(ctx, &missing, audit.Event{Action: "library.type.update", Actor: "op", Subject: missing.Code}); !errs.Is(err, errs.NotFound) {
			t.Fatalf("update missing: %v", err)
		}
		if _, err := d.LibraryType(ctx, missing.Code); !errs.Is(err, errs.NotFound) {
			t.Fatalf("missing type: %v", err)
		}
		ts, err := d.LibraryTypes(ctx)
		if err != nil || len(ts) != 1 || ts[0].ValidityYears != 3 {
			t.Fatalf("types: %v %+v", err, ts)
		}
		if n := checkChain(t, d.DB); n != 2 {
			t.Fatalf("audit events: %d", n)
		}
	})
}

func TestLibraryPermits(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		at := d.clock.Now()
		holder := testCode("330106", 1)
		p := testPermit("JY1", holder, at)
		if err := d.SavePermits(ctx, []library.PermitChange{{Op: library.OpIssue, Permit: p, Event: permitEvent("library.issue", p)}}); err != nil {
			t.Fatal(err)
		}
		got, err := d.Permit(ctx, p.Identifier)
		if err != nil {
			t.Fatal(err)
		}
		if got.Number != "JY1" || got.Items["note"] != "<b>&" || string(got.Extension) != `{"a":"<x>","b":1}` ||
			!got.IssuedAt.Equal(at) || string(got.Signature) != "\x01\x02\x03" || got.Status != library.Valid || got.StatusAt != nil {
			t.Fatalf("permit: %+v", got)
		}
		// A batch with a taken number stores nothing, audit events included.
		q := testPermit("JY2", holder, at)
		dup := testPermit("JY1", holder, at)
		dup.Identifier += "X"
		err = d.SavePermits(ctx, []library.PermitChange{{Op: library.OpIssue, Permit: q, Event: permitEvent("library.issue", q)},
			{Op: library.OpIssue, Permit: dup, Event: permitEvent("library.issue", dup)}})
		if !errs.Is(err, errs.Conflict) {
			t.Fatalf("taken number: %v", err)
		}
		if _, err := d.Permit(ctx, q.Identifier); !errs.Is(err, errs.NotFound) {
			t.Fatalf("rolled back permit: %v", err)
		}
		if n := auditRows(t, d.DB); n != 1 {
			t.Fatalf("audit rows: %d", n)
		}

		// A new version supersedes the old one.
		d.clock.Advance(time.Hour)
		v2 := testPermit("JY1", holder, d.clock.Now())
		v2.Version, v2.Identifier, v2.Items = 2, p.Identifier[:len(p.Identifier)-5]+"002.1", map[string]string{"scope": "预包装食品销售"}
		stale := library.PermitChange{Op: library.OpNewVersion, Permit: v2, Prev: 2, PrevStatus: library.Valid, Event: permitEvent("library.change", v2)}
		if err := d.SavePermits(ctx, []library.PermitChange{stale}); !errs.Is(err, errs.Conflict) {
			t.Fatalf("stale change: %v", err)
		}
		ch := library.PermitChange{Op: library.OpNewVersion, Permit: v2, Prev: 1, PrevStatus: library.Valid, Event: permitEvent("library.change", v2)}
		if err := d.SavePermits(ctx, []library.PermitChange{ch}); err != nil {
			t.Fatal(err)
		}
		old, err := d.Permit(ctx, p.Identifier)
		if err != nil || old.Status != library.Superseded || old.SupersededAt == nil || !old.SupersededAt.Equal(d.clock.Now()) {
			t.Fatalf("old version: %v %+v", err, old)
		}
		cur, err := d.CurrentPermit(ctx, testTypeCode, "JY1")
		if err != nil || cur.Version != 2 || cur.Items["scope"] != "预包装食品销售" {
			t.Fatalf("current: %v %+v", err, cur)
		}
		vs, err := d.PermitVersions(ctx, testTypeCode, "JY1")
		if err != nil || len(vs) != 2 || vs[0].Version != 1 || vs[1].Version != 2 {
			t.Fatalf("versions: %v %+v", err, vs)
		}
		if _, err := d.PermitVersions(ctx, testTypeCode, "NONE"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("versions of nothing: %v", err)
		}

		// A status change decided from a status that is no longer current is a conflict.
		sus := *cur
		now := d.clock.Now()
		sus.Status, sus.StatusReason, sus.StatusAt = library.Suspended, "检查", &now
		if err := d.SavePermits(ctx, []library.PermitChange{{Op: library.OpStatus, Permit: &sus, Prev: 2, PrevStatus: library.Suspended,
			Event: permitEvent("library.suspend", &sus)}}); !errs.Is(err, errs.Conflict) {
			t.Fatalf("status from the wrong status: %v", err)
		}
		if err := d.SavePermits(ctx, []library.PermitChange{{Op: library.OpStatus, Permit: &sus, Prev: 2, PrevStatus: library.Valid,
			Event: permitEvent("library.suspend", &sus)}}); err != nil {
			t.Fatal(err)
		}
		cur, _ = d.CurrentPermit(ctx, testTypeCode, "JY1")
		if cur.Status != library.Suspended || cur.StatusReason != "检查" || cur.StatusAt == nil || !cur.StatusAt.Equal(now) {
			t.Fatalf("suspended: %+v", cur)
		}

		// By holder: current versions, filtered.
		other := testPermit("JY3", holder, at)
		other.TypeCode, other.Identifier = "11100000000013338W001", other.Identifier+"Y"
		third := testPermit("JY4", testCode("330106", 2), at)
		third.Identifier += "Z"
		for _, x := range []*library.Permit{other, third} {
			if err := d.SavePermits(ctx, []library.PermitChange{{Op: library.OpIssue, Permit: x, Event: permitEvent("library.issue", x)}}); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			codeType, typeCode string
			want               int
		}{{"", "", 2}, {"001", "", 2}, {"111", "", 0}, {"", testTypeCode, 1}, {"001", "11100000000013338W001", 1}} {
			ps, err := d.PermitsByHolder(ctx, holder, tc.codeType, tc.typeCode)
			if err != nil || len(ps) != tc.want {
				t.Fatalf("by holder %q %q: %v %d, want %d", tc.codeType, tc.typeCode, err, len(ps), tc.want)
			}
		}
		ps, _ := d.PermitsByHolder(ctx, holder, "", "")
		if ps[0].TypeCode != "11100000000013338W001" || ps[1].Version != 2 || ps[1].Status != library.Suspended {
			t.Fatalf("by holder order/state: %+v %+v", ps[0], ps[1])
		}
		if n := checkChain(t, d.DB); n != 5 {
			t.Fatalf("audit events: %d", n)
		}
	})
}

func TestLibraryRecords(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		holder := testCode("330106", 1)
		for i := range 7 {
			d.clock.Advance(time.Minute)
			r := &library.Record{ID: "R" + strconv.Itoa(i), HolderCode: holder, Item: "01", ItemName: "许可", Case: fmt.Sprintf("C%d", i),
				Department: "client", DepartmentName: "部门", At: d.clock.Now(), Licences: []string{"x"}, Materials: json.RawMessage(`{"n":1}`)}
			if err := d.AddRecord(ctx, r, audit.Event{Action: "library.record", Actor: "client", Subject: holder}); err != nil {
				t.Fatal(err)
			}
		}
		dup := &library.Record{ID: "R0", HolderCode: holder, At: d.clock.Now()}
		if err := d.AddRecord(ctx, dup, audit.Event{Action: "library.record", Actor: "client", Subject: holder}); !errs.Is(err, errs.Conflict) {
			t.Fatalf("duplicate id: %v", err)
		}
		var cases []string
		before := ""
		for page := 0; ; page++ {
			rs, next, err := d.Records(ctx, holder, library.Page{Before: before, Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				cases = append(cases, r.Case)
			}
			if next == "" {
				break
			}
			if page > 5 {
				t.Fatal("paging does not end")
			}
			before = next
		}
		if fmt.Sprint(cases) != "[C6 C5 C4 C3 C2 C1 C0]" {
			t.Fatalf("pages: %v", cases)
		}
		rs, next, err := d.Records(ctx, testCode("330106", 9), library.Page{Limit: 3})
		if err != nil || len(rs) != 0 || next != "" {
			t.Fatalf("no records: %v %v %q", err, rs, next)
		}
		if n := checkChain(t, d.DB); n != 7 {
			t.Fatalf("audit events: %d", n)
		}
	})
}
