package stats_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/stats"
	"github.com/elicense/elicense/internal/stats/statstest"
	"github.com/elicense/elicense/internal/store"
)

func TestClassify(t *testing.T) {
	at := time.Date(2025, 3, 1, 17, 30, 0, 0, time.UTC) // 2025-03-02 01:30 in China
	for _, c := range []struct {
		name                   string
		e                      audit.Event
		ok                     bool
		metric                 stats.Metric
		region, dept, scenario string
		n                      int64
	}{
		{"issue", audit.Event{Action: "license.issue", Actor: "acct", Subject: "91330106673959654P", Data: []byte(`{"authority":"11330106MB0A0001X"}`)},
			true, stats.Issued, "330100", "11330106MB0A0001X", "", 1},
		{"claim", audit.Event{Action: "identity.claim", Actor: "person:P", Subject: "91110105MA003A481G"}, true, stats.Claimed, "110100", "", "", 1},
		{"login", audit.Event{Action: "identity.login_confirm", Subject: "914403001922038216", Data: []byte(`{"client":"bank"}`)},
			true, stats.Logins, "440300", "bank", "", 1},
		{"portal", audit.Event{Action: "oidc.client_register", Actor: "cli", Subject: "portal1", Data: []byte(`{"region":"330106"}`)},
			true, stats.Portals, "330100", "portal1", "", 1},
		{"verify qr", audit.Event{Action: "share.verify_qr", Actor: "c1", Subject: "91330106673959654P", Data: []byte(`{"result":"result:5"}`)},
			true, stats.Verifications, "330100", "c1", "", 1},
		{"verify denied", audit.Event{Action: "share.verify", Actor: "c1", Data: []byte(`{"result":"denied"}`)}, false, "", "", "", "", 0},
		{"query not found", audit.Event{Action: "share.query", Actor: "c1", Data: []byte(`{"result":"not_found"}`)}, false, "", "", "", "", 0},
		{"list none", audit.Event{Action: "share.list", Actor: "c1", Data: []byte(`{"result":"none"}`)}, false, "", "", "", "", 0},
		{"download", audit.Event{Action: "share.download", Actor: "c1", Subject: "140000100028286", Data: []byte(`{"result":"ok"}`)},
			true, stats.Shared, "140000", "c1", "", 1},
		{"archive national", audit.Event{Action: "share.archive", Actor: "c1", Subject: "11100000MB0143028R", Data: []byte(`{"result":"ok"}`)},
			true, stats.Archived, "100000", "c1", "", 1},
		{"archive by identifier", audit.Event{Action: "share.archive", Actor: "c1",
			Subject: "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"},
			true, stats.Archived, "220000", "c1", "", 1},
		{"not asked", audit.Event{Action: "catalog.apply.submit", Subject: "APP-1",
			Data: []byte(`{"scenario":"tax","region":"510107","not_asked":4,"department":"d9"}`)}, true, stats.NotAsked, "510100", "d9", "tax", 4},
		{"not asked string", audit.Event{Action: "catalog.apply.submit", Data: []byte(`{"not_asked":"3"}`)}, true, stats.NotAsked, stats.Unknown, "", "", 3},
		{"not asked huge", audit.Event{Action: "catalog.apply.submit", Data: []byte(`{"not_asked":1e9}`)}, true, stats.NotAsked, stats.Unknown, "", "", 1000},
		{"not asked zero", audit.Event{Action: "catalog.apply.submit", Data: []byte(`{"not_asked":0}`)}, false, "", "", "", "", 0},
		{"not asked negative", audit.Event{Action: "catalog.apply.submit", Data: []byte(`{"not_asked":-2}`)}, false, "", "", "", "", 0},
		{"not asked wrong type", audit.Event{Action: "catalog.apply.submit", Data: []byte(`{"not_asked":[1],"scenario":7}`)}, false, "", "", "", "", 0},
		{"malformed data", audit.Event{Action: "share.query", Actor: "c1", Data: []byte(`{"result":`)}, true, stats.Shared, stats.Unknown, "c1", "", 1},
		{"uncounted", audit.Event{Action: "license.change"}, false, "", "", "", "", 0},
		{"prefix of no rule", audit.Event{Action: "share.permission"}, false, "", "", "", "", 0},
		{"control characters", audit.Event{Action: "share.query", Actor: "c\x001", Data: []byte(`{"result":"ok","scenario":"a\u0007b"}`)},
			true, stats.Shared, stats.Unknown, "c1", "ab", 1},
	} {
		c.e.Time = at
		got, ok := stats.Classify(&c.e)
		if ok != c.ok {
			t.Errorf("%s: counted %v, want %v", c.name, ok, c.ok)
			continue
		}
		if !ok {
			continue
		}
		want := stats.Count{Day: time.Date(2025, 3, 2, 0, 0, 0, 0, stats.China).UTC(), Metric: c.metric, Region: c.region,
			Department: c.dept, Scenario: c.scenario, N: c.n}
		if got != want {
			t.Errorf("%s: %+v, want %+v", c.name, got, want)
		}
	}
}

func TestRulesAreOneTable(t *testing.T) {
	seen := map[stats.Metric]bool{}
	for _, r := range stats.Rules {
		if !r.Metric.Known() {
			t.Errorf("rule %s: unknown metric %s", r.Action, r.Metric)
		}
		if r.Count != "" && r.Count != "not_asked" {
			t.Errorf("rule %s counts the field %q, which Classify does not read", r.Action, r.Count)
		}
		seen[r.Metric] = true
	}
	for _, m := range stats.Metrics {
		if !seen[m] {
			t.Errorf("no rule counts %s", m)
		}
		if zh, en := m.Name(); zh == en {
			t.Errorf("metric %s has no names", m)
		}
	}
	if r, ok := stats.RuleFor("share.verify_file"); !ok || r.Metric != stats.Verifications {
		t.Errorf("share.verify_file: %+v", r)
	}
	if _, ok := stats.RuleFor("share.download_fetch"); ok {
		t.Error("share.download_fetch counts: a download would count twice")
	}
}

func TestParse(t *testing.T) {
	today := time.Date(2025, 3, 31, 20, 0, 0, 0, time.UTC) // 2025-04-01 in China
	q, err := stats.Parse(stats.Params{}, today)
	if err != nil {
		t.Fatal(err)
	}
	day := func(s string) time.Time { t, _ := time.ParseInLocation(time.DateOnly, s, stats.China); return t.UTC() }
	if !q.To.Equal(day("2025-04-01")) || !q.From.Equal(day("2025-03-03")) || q.Grain != stats.Day || q.By != stats.ByRegion ||
		len(q.Metrics) != len(stats.Metrics) {
		t.Fatalf("defaults: %+v", q)
	}
	q, err = stats.Parse(stats.Params{Metric: "shared, issued,shared", To: "2025-02-10", Grain: "week", By: "city", Region: "33"}, today)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(q.Metrics) != "[issued shared]" || !q.From.Equal(day("2025-01-12")) {
		t.Fatalf("parsed %+v", q)
	}
	_, err = stats.Parse(stats.Params{Metric: "bogus", From: "2025-02-30", Grain: "hour", By: "x", Region: "3٣"}, today)
	l, ok := err.(errs.List)
	if !ok || len(l) != 5 {
		t.Fatalf("want 5 problems, got %v", err)
	}
	fields := []string{}
	for _, e := range l {
		fields = append(fields, e.Field)
	}
	if strings.Join(fields, ",") != "metric,from,grain,by,region" {
		t.Errorf("fields %v", fields)
	}
	if !strings.Contains(l[4].Message("zh"), "第 2 个字符") {
		t.Errorf("region message %q does not name the character", l[4].Message("zh"))
	}
}

// openStore opens a fresh SQLite store.
func openStore(t *testing.T, clock func() time.Time) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "stats.db"), store.Options{Clock: clock, LicenceCache: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestReportMarginsAndCube checks that unfiltered reports (read from the margins, months and
// edge days) equal the filtered ones (read from the cube) added up over every region, for
// ranges that start and end inside months and for every grain.
func TestReportMarginsAndCube(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
	db := openStore(t, func() time.Time { return now })
	gen := statstest.NewGen(5, time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC), 150*time.Minute, 300, 8)
	log := audit.NewLog(db, nil, func() time.Time { return now })
	if err := log.Append(ctx, gen.Register()...); err != nil {
		t.Fatal(err)
	}
	if err := log.Append(ctx, gen.Events(1500)...); err != nil {
		t.Fatal(err)
	}
	svc := stats.NewService(stats.Config{Store: db, Names: db, Clock: func() time.Time { return now }, Batch: 300})
	regions := []string{stats.Unknown}
	for d := range 10 {
		regions = append(regions, fmt.Sprint(d))
	}
	for _, p := range []stats.Params{
		{From: "2025-01-17", To: "2025-04-11", Grain: "month"},
		{From: "2025-02-01", To: "2025-02-28", Grain: "week", By: "department"},
		{From: "2025-01-01", To: "2025-06-30", Grain: "day", By: "scenario", Metric: "not_asked,shared"},
		{From: "2025-03-05", To: "2025-03-09", Grain: "year", By: "province"},
	} {
		whole, err := svc.Report(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if whole.Freshness.Pending != 0 {
			t.Fatalf("the report did not catch up: %+v", whole.Freshness)
		}
		sumSeries, sumParts, sumTotals := map[string]int64{}, map[string]int64{}, map[string]int64{}
		for _, r := range regions {
			q := p
			q.Region = r
			part, err := svc.Report(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range part.Series {
				sumSeries[x.Period+" "+string(x.Metric)] += x.N
			}
			for _, x := range part.Totals {
				sumTotals[string(x.Metric)] += x.N
			}
			if p.By != "region" && p.By != "province" {
				for _, x := range part.Breakdown {
					sumParts[x.Key+" "+string(x.Metric)] += x.N
				}
			}
		}
		gotSeries, gotParts, gotTotals := map[string]int64{}, map[string]int64{}, map[string]int64{}
		for _, x := range whole.Series {
			gotSeries[x.Period+" "+string(x.Metric)] += x.N
		}
		for _, x := range whole.Totals {
			gotTotals[string(x.Metric)] += x.N
		}
		if p.By != "region" && p.By != "province" {
			for _, x := range whole.Breakdown {
				gotParts[x.Key+" "+string(x.Metric)] += x.N
			}
		}
		if fmt.Sprint(gotSeries) != fmt.Sprint(sumSeries) || fmt.Sprint(gotTotals) != fmt.Sprint(sumTotals) ||
			fmt.Sprint(gotParts) != fmt.Sprint(sumParts) {
			t.Errorf("%+v: margins and cube differ:\n%v\n%v\n%v\n%v\n%v\n%v", p, gotTotals, sumTotals, gotSeries, sumSeries, gotParts, sumParts)
		}
		var n int64
		for _, x := range whole.Totals {
			n += x.N
		}
		if n == 0 {
			t.Errorf("%+v: nothing counted", p)
		}
	}
}
