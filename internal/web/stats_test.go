package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/stats"
	"github.com/elicense/elicense/internal/stats/statstest"
)

// statsFixture is the web fixture with the statistics service and a realistic mix of audit
// events besides the fixture's own (licences issued, changed, cancelled, revoked), part of them
// appended while the roller runs in the background.
func statsFixture(t *testing.T) (*fixture, *stats.Service) {
	t.Helper()
	f := newFixture(t)
	ctx := context.Background()
	svc := stats.NewService(stats.Config{Store: f.env.DB, Names: f.env.DB, Clock: f.env.Clock.Now, Batch: 97})
	f.srv.Stats = svc
	gen := statstest.NewGen(7, time.Date(2025, 2, 26, 9, 0, 0, 0, time.UTC), 11*time.Minute, 400, 10)
	// The departments' systems are registered as OIDC clients, which records their registration.
	for _, id := range gen.Clients() {
		c := &oidc.Client{ID: id, Name: "系统 " + id, Region: gen.ClientRegion(id), AuthMethod: oidc.AuthSecretBasic,
			GrantTypes: []string{oidc.GrantClientCredentials}, CreatedBy: "account:op", CreatedAt: time.Date(2025, 2, 26, 8, 0, 0, 0, time.UTC)}
		if err := f.env.DB.CreateOIDCClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.env.Audit.Append(ctx, gen.Events(900)...); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); svc.Run(runCtx, time.Millisecond) }()
	for range 12 {
		if err := f.env.Audit.Append(ctx, gen.Events(50)...); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	wg.Wait()
	return f, svc
}

// figures is what a dashboard answer says: totals, the series and the breakdown, by key.
type figures struct {
	totals    map[string]int64
	series    map[string]int64 // "period metric"
	breakdown map[string]int64 // "key metric"
}

func newFigures() *figures {
	return &figures{map[string]int64{}, map[string]int64{}, map[string]int64{}}
}

// expectedFigures counts the log directly, by month and province.
func expectedFigures(t *testing.T, f *fixture) *figures {
	t.Helper()
	c, err := statstest.Count(context.Background(), f.env.DB, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Metric) != len(stats.Metrics) {
		t.Fatalf("the mix counts %v: every metric should occur", c.Metric)
	}
	want := newFigures()
	for m, n := range c.Metric {
		want.totals[m] = n
	}
	for k, n := range c.MetricDay {
		want.series[k[1][:7]+" "+k[0]] += n
	}
	for k, n := range c.MetricRegion {
		p := k[1]
		if p != "unknown" && p != "100000" {
			p = p[:2] + "0000"
		}
		want.breakdown[p+" "+k[0]] += n
	}
	return want
}

func (g *figures) equal(t *testing.T, what string, want *figures) {
	t.Helper()
	for _, c := range []struct {
		name      string
		got, want map[string]int64
	}{{"totals", g.totals, want.totals}, {"series", g.series, want.series}, {"breakdown", g.breakdown, want.breakdown}} {
		for k, n := range c.got {
			if n == 0 {
				delete(c.got, k) // the series lists empty periods
			}
		}
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s %s:\n got %v\nwant %v", what, c.name, c.got, c.want)
		}
	}
}

func TestStatsEqualTheLog(t *testing.T) {
	f, _ := statsFixture(t)
	want := expectedFigures(t, f)
	to := time.Now().In(stats.China).Format(time.DateOnly)
	target := "/api/v1/stats?from=2025-01-01&to=" + to + "&grain=month&by=region"

	// JSON.
	r := f.do("GET", target, "", "Authorization", "Bearer "+f.op)
	expect(t, r, 200)
	var body statsJSON
	r.decode(t, &body)
	got := newFigures()
	for _, x := range body.Totals {
		got.totals[x.Metric] = x.N
	}
	for _, x := range body.Series {
		got.series[x.Period+" "+x.Metric] += x.N
	}
	for _, x := range body.Breakdown {
		got.breakdown[x.Key+" "+x.Metric] += x.N
	}
	got.equal(t, "JSON", want)
	head, _, _ := f.env.DB.Head(context.Background())
	if body.AsOf.Cursor != head || body.AsOf.Pending != 0 {
		t.Errorf("as_of %+v, head %d: the dashboard should have caught up", body.AsOf, head)
	}

	// CSV: the same figures, UTF-8 with a byte-order mark.
	r = f.do("GET", target+"&format=csv", "", "Authorization", "Bearer "+f.op)
	expect(t, r, 200)
	if ct := r.Header().Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if !strings.HasPrefix(r.body, "\ufeff") {
		t.Fatal("the CSV has no byte-order mark")
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.body, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "section,period,start,key,name,metric,metric_name,n" {
		t.Fatalf("CSV header %v", recs[0])
	}
	got = newFigures()
	for _, rec := range recs[1:] {
		n, err := strconv.ParseInt(rec[7], 10, 64)
		if err != nil {
			t.Fatalf("CSV row %v: %v", rec, err)
		}
		switch {
		case rec[0] == "total":
			got.totals[rec[5]] = n
		case rec[0] == "series":
			got.series[rec[1]+" "+rec[5]] += n
		case rec[0] == "breakdown:region":
			got.breakdown[rec[3]+" "+rec[5]] += n
		default:
			t.Fatalf("CSV row of section %q", rec[0])
		}
	}
	got.equal(t, "CSV", want)
	if !strings.Contains(r.body, "浙江省") || !strings.Contains(r.body, "发放执照") {
		t.Error("the CSV does not name regions and metrics in Chinese")
	}

	// The operators' dashboard shows the same totals, and its CSV link gives the same file.
	c := f.login(t, "ops")
	page := c.get(t, strings.Replace(target, "/api/v1/stats", "/admin/stats", 1))
	expect(t, page, 200)
	for m, n := range want.totals {
		name, _ := stats.Metric(m).Name()
		if !regexp.MustCompile(`<span class="stats-n">` + regexp.QuoteMeta(fmtN(n)) + `</span><span class="stats-label">` + name).MatchString(page.body) {
			t.Errorf("the dashboard does not show %s = %s", name, fmtN(n))
		}
	}
	pageCSV := c.get(t, strings.Replace(target, "/api/v1/stats", "/admin/stats", 1)+"&format=csv")
	expect(t, pageCSV, 200)
	if pageCSV.body != r.body {
		t.Error("the dashboard's CSV differs from the API's")
	}
}

func TestStatsBreakdowns(t *testing.T) {
	f, _ := statsFixture(t)
	c, err := statstest.Count(context.Background(), f.env.DB, 0)
	if err != nil {
		t.Fatal(err)
	}
	get := func(q string) statsJSON {
		t.Helper()
		r := f.do("GET", "/api/v1/stats?from=2025-02-01&to=2025-03-31&grain=week&"+q, "", "Authorization", "Bearer "+f.op)
		expect(t, r, 200)
		var b statsJSON
		r.decode(t, &b)
		return b
	}
	// By department, named after the registered clients.
	b := get("by=department&metric=shared")
	gotDept := map[string]int64{}
	named := false
	for _, p := range b.Breakdown {
		gotDept[p.Key] += p.N
		named = named || p.Name == "系统 "+p.Key
	}
	for k, n := range c.MetricDept {
		if k[0] == "shared" && gotDept[k[1]] != n {
			t.Errorf("shared by %s: %d, log %d", k[1], gotDept[k[1]], n)
		}
	}
	if !named {
		t.Errorf("no department is named after its client: %+v", b.Breakdown)
	}
	// By city within a province, and by scenario.
	b = get("by=region&region=33&metric=not_asked")
	for _, p := range b.Breakdown {
		if !strings.HasPrefix(p.Key, "33") || !strings.HasSuffix(p.Key, "00") {
			t.Errorf("city breakdown of 33 has %q", p.Key)
		}
		if p.Key == "330100" && p.Name != "浙江省杭州市" {
			t.Errorf("330100 is named %q", p.Name)
		}
	}
	b = get("by=scenario&metric=not_asked")
	var sum, want int64
	for _, p := range b.Breakdown {
		sum += p.N
	}
	for k, n := range c.MetricScen {
		if k[0] == "not_asked" {
			want += n
		}
	}
	if sum != want || sum == 0 {
		t.Errorf("not asked by scenario: %d, log %d", sum, want)
	}
	// Weeks start on Monday.
	if b.Series[0].Period != "2025-W05" || b.Series[0].Start != "2025-01-27" {
		t.Errorf("first week %+v", b.Series[0])
	}
}

func TestStatsErrors(t *testing.T) {
	f, _ := statsFixture(t)
	auth := []string{"Authorization", "Bearer " + f.op}
	expect(t, f.do("GET", "/api/v1/stats", ""), 401)
	expect(t, f.do("GET", "/api/v1/stats", "", "Authorization", "Bearer "+f.regA), 403)
	for _, c := range []struct {
		query, field, zh, en string
	}{
		{"metric=issued,visits", "metric", "未知的统计指标 \"visits\"", "unknown metric \"visits\""},
		{"from=2025-13-01", "from", "日期 \"2025-13-01\" 无效", "date \"2025-13-01\" is not valid"},
		{"from=2025-03-10&to=2025-03-01", "from", "晚于截止日期", "is after the end date"},
		{"grain=hour", "grain", "未知的时间粒度", "unknown grain"},
		{"from=2020-01-01&to=2025-01-01&grain=day", "grain", "超过上限 1000", "more than 1000"},
		{"by=person", "by", "未知的分组维度", "unknown dimension"},
		{"region=33x", "region", "第 3 个字符 \"x\" 不是数字", "character 3 (\"x\") is not a digit"},
		{"region=3301060", "region", "过长", "too long"},
		{"department=" + strings.Repeat("d", 200), "department", "部门过长", "department is too long"},
		{"scenario=%01tax", "scenario", "控制字符", "control character"},
		{"format=xlsx", "format", "未知的格式", "unknown format"},
	} {
		r := f.do("GET", "/api/v1/stats?"+c.query, "", auth...)
		expect(t, r, 400)
		e := r.err(t)
		if e.Field != c.field && !hasDetail(e, c.field) {
			t.Errorf("%s: field %q, want %q", c.query, e.Field, c.field)
		}
		if !strings.Contains(e.Message, c.zh) {
			t.Errorf("%s: %q does not say %q", c.query, e.Message, c.zh)
		}
		r = f.do("GET", "/api/v1/stats?lang=en&"+c.query, "", auth...)
		expect(t, r, 400)
		if e := r.err(t); !strings.Contains(e.Message, c.en) {
			t.Errorf("%s: %q does not say %q", c.query, e.Message, c.en)
		}
	}
	// Several problems at once are all reported.
	r := f.do("GET", "/api/v1/stats?metric=x&grain=y&region=z", "", auth...)
	expect(t, r, 400)
	if e := r.err(t); len(e.Details) != 3 {
		t.Errorf("details %+v", e.Details)
	}
	// The dashboard shows the problem next to the field, with the form kept.
	c := f.login(t, "ops")
	r = c.get(t, "/admin/stats?region=3a")
	expect(t, r, 400)
	contains(t, r, `id="e-region"`, `value="3a"`)
	// Registrars may not see it; without a session it asks to sign in.
	expect(t, f.login(t, "reg-a").get(t, "/admin/stats"), 403)
	expect(t, f.do("GET", "/admin/stats", ""), http.StatusSeeOther)
	// Without the service: 503.
	f.srv.Stats = nil
	expect(t, f.do("GET", "/api/v1/stats/summary", ""), 503)
}

func hasDetail(e errorBody, field string) bool {
	for _, d := range e.Details {
		if d.Field == field {
			return true
		}
	}
	return false
}

func TestStatsPublicSummary(t *testing.T) {
	f, _ := statsFixture(t)
	want, err := statstest.Count(context.Background(), f.env.DB, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The public summary does not roll up on demand: let the roller catch up as serve does.
	if _, err := f.srv.Stats.(*stats.Service).CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := f.do("GET", "/api/v1/stats/summary", "")
	expect(t, r, 200)
	if r.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Error("the public summary is not readable from other sites")
	}
	var b statsJSON
	r.decode(t, &b)
	for _, x := range b.Totals {
		if x.N != want.Metric[x.Metric] {
			t.Errorf("summary %s = %d, log %d", x.Metric, x.N, want.Metric[x.Metric])
		}
	}
	if b.By != "province" || b.Grain != "month" || len(b.Series) != 12*len(stats.Metrics) {
		t.Errorf("summary by %s, grain %s, %d points", b.By, b.Grain, len(b.Series))
	}
	page := f.do("GET", "/stats?lang=en", "")
	expect(t, page, 200)
	contains(t, page, "Since the platform started", "Licences issued", "Zhejiang")
	for _, body := range []string{r.body, page.body} {
		for _, id := range []string{"client0001", "系统 client", f.authA} {
			if strings.Contains(body, id) {
				t.Errorf("the public summary names the department %q", id)
			}
		}
	}
	expect(t, f.do("GET", "/stats?bar=visits", ""), 400)
}

// TestStatsSVG checks that the charts are well-formed XML, named by a title and described, with
// a title on every line, point and bar.
func TestStatsSVG(t *testing.T) {
	f, _ := statsFixture(t)
	c := f.login(t, "ops")
	for _, target := range []string{
		"/admin/stats?from=2025-02-20&to=2025-03-20&grain=day",
		"/admin/stats?from=2025-01-01&to=2025-12-31&grain=month&by=department&bar=logins&lang=en",
		"/admin/stats?from=2030-01-01&to=2030-01-02", // nothing recorded
		"/stats",
	} {
		var r *response
		if strings.HasPrefix(target, "/admin/") {
			r = c.get(t, target)
		} else {
			r = f.do("GET", target, "")
		}
		expect(t, r, 200)
		svgs := regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(r.body, -1)
		if len(svgs) == 0 {
			t.Fatalf("%s: no chart", target)
		}
		for _, svg := range svgs {
			checkSVG(t, target, svg)
		}
	}
}

// checkSVG parses one chart as XML and checks its titles.
func checkSVG(t *testing.T, where, svg string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	d.Strict = true
	var (
		stack    []string
		first    = true
		titles   = map[int]bool{} // depth → the element at that depth has a title child
		elements int
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: the chart is not well-formed XML: %v\n%s", where, err, svg)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if first {
				if e.Name.Local != "svg" || e.Name.Space != "http://www.w3.org/2000/svg" {
					t.Errorf("%s: root %v", where, e.Name)
				}
				if attr(e, "role") != "img" || attr(e, "aria-labelledby") == "" {
					t.Errorf("%s: the svg has no role=img and aria-labelledby", where)
				}
				first = false
			}
			if e.Name.Local == "title" && len(stack) > 0 {
				titles[len(stack)-1] = true
			}
			if e.Name.Local == "g" || e.Name.Local == "circle" {
				elements++
			}
			stack = append(stack, e.Name.Local)
			titles[len(stack)-1] = false
		case xml.EndElement:
			name := stack[len(stack)-1]
			if (name == "g" || name == "circle" || name == "svg") && !titles[len(stack)-1] {
				t.Errorf("%s: a <%s> has no <title>", where, name)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if !bytes.Contains([]byte(svg), []byte("<desc ")) {
		t.Errorf("%s: the chart has no description", where)
	}
	_ = elements
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}
