package catalog

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestMatch(t *testing.T) {
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	const (
		tPermit = "11100000MB0143028R002"
		tArch   = "11100000MB0143028R003"
		tOther  = "11100000MB0143028R004"
		tSusp   = "11100000MB0143028R005"
		tOld    = "11100000MB0143028R006"
	)
	item := &Item{Code: "x", Materials: []Material{
		{Code: "bl", Name: "营业执照", LicenceType: bizType, Class: Identity, Required: true},
		{Code: "permit", LicenceType: tPermit, Class: Qualification, Required: true},
		{Code: "arch", LicenceType: tArch, Class: Qualification, Archive: true},
		{Code: "other", LicenceType: tOther, Class: Qualification, Required: true},
		{Code: "susp", LicenceType: tSusp, Class: Qualification},
		{Code: "old", LicenceType: tOld, Class: Identity},
		{Code: "form", Name: "申请书", Required: true},
	}}
	for i := range item.Materials {
		item.Materials[i].Rule = DeriveRule(&item.Materials[i])
	}
	held := []Held{
		{TypeCode: bizType, Identifier: "BL-old", Status: "superseded"},
		{TypeCode: bizType, Identifier: "BL", Status: "active"},
		{TypeCode: tPermit, Identifier: "P-short", Status: "valid", ValidUntil: at.AddDate(1, 0, 0)},
		{TypeCode: tPermit, Identifier: "P-long", Status: "valid", ValidUntil: at.AddDate(3, 0, 0)},
		{TypeCode: tPermit, Identifier: "P-mid", Status: "valid", ValidUntil: at.AddDate(2, 0, 0)},
		{TypeCode: tArch, Identifier: "A", Status: "valid", Public: true},
		{TypeCode: tSusp, Identifier: "S", Status: "suspended"},
		{TypeCode: tOld, Identifier: "O", Status: "valid", ValidUntil: at}, // ends exactly now
	}
	got := Match(item, held, at)
	type short struct {
		State      State
		Identifier string
		Reason     string
	}
	var s []short
	for _, x := range got {
		s = append(s, short{x.State, x.Identifier, x.Reason})
	}
	want := []short{
		{ConsentNeeded, "BL", ""},
		{Checked, "P-long", ""},
		{Fetched, "A", ""},
		{Missing, "", NotHeld},
		{Missing, "S", NotValid},
		{Missing, "O", Expired},
		{ToUpload, "", ""},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("match:\n got %+v\nwant %+v", s, want)
	}
	if got[0].Name != "营业执照" || got[0].Rule != Fetch || !got[0].Required || got[2].Required {
		t.Errorf("material fields not copied: %+v", got[0])
	}
	if n := NotAsked(got); n != 2 {
		t.Errorf("not asked %d, want 2 (checked + fetched)", n)
	}
	// Without a limit beats any limit.
	held = append(held, Held{TypeCode: tPermit, Identifier: "P-forever", Status: "valid"})
	if got := Match(item, held, at); got[1].Identifier != "P-forever" {
		t.Errorf("longest validity: %s", got[1].Identifier)
	}
	// Public makes the business licence fetchable.
	held[1].Public = true
	if got := Match(item, held, at); got[0].State != Fetched || NotAsked(got) != 3 {
		t.Errorf("public: %+v", got[0])
	}
	if got := Match(item, nil, at); NotAsked(got) != 0 || got[0].State != Missing {
		t.Errorf("nothing held: %+v", got)
	}
}

// benchHolding is an entity with 50 licences of 40 types (some several versions or invalid) and an
// item with 20 materials: 12 licence types (some held, some not) and 8 documents.
func benchHolding() (*Item, []Held, time.Time) {
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	typ := func(i int) string { return fmt.Sprintf("11100000MB0143028R%03d", i) }
	var held []Held
	for i := 0; i < 50; i++ {
		h := Held{TypeCode: typ(i % 40), Identifier: fmt.Sprintf("1.2.156.3005.2.%s.11330100002505299F.%08d.001.X", typ(i%40), i),
			Status: "valid", ValidUntil: at.AddDate(0, 0, i), Public: i%3 == 0}
		if i%7 == 0 {
			h.Status = "suspended"
		}
		held = append(held, h)
	}
	item := &Item{Code: "bench"}
	for j := 0; j < 20; j++ {
		m := Material{Code: fmt.Sprintf("m%02d", j), Name: "材料", Required: j%2 == 0}
		if j < 12 {
			m.LicenceType, m.Class, m.Archive = typ(j*4), Qualification, j%3 == 0
		}
		m.Rule = DeriveRule(&m)
		item.Materials = append(item.Materials, m)
	}
	return item, held, at
}

// BenchmarkMatch measures Match for a service item with 20 materials against an entity with 50
// licences (issue 6: p99 < 5 ms). Besides ns/op it times 100,000 single calls and reports their
// p50 and p99 in microseconds.
func BenchmarkMatch(b *testing.B) {
	item, held, at := benchHolding()
	if n := NotAsked(Match(item, held, at)); n == 0 {
		b.Fatal("the benchmark matches nothing")
	}
	const calls = 100_000
	d := make([]time.Duration, calls)
	var sink int
	b.ResetTimer()
	for b.Loop() {
		sink += len(Match(item, held, at))
	}
	b.StopTimer()
	for i := range d {
		start := time.Now()
		sink += len(Match(item, held, at))
		d[i] = time.Since(start)
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[calls/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(d[calls*99/100].Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(float64(d[calls-1].Nanoseconds())/1e3, "max-µs")
	if sink == 0 {
		b.Fatal("no result")
	}
}
