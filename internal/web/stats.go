package web

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/stats"
)

// Usage statistics (internal/stats, issue 6): the operators' dashboard /admin/stats with its CSV
// export, the public summary /stats, and their JSON (GET /api/v1/stats for operators, GET
// /api/v1/stats/summary for anyone). Every figure comes from the audit log through the daily
// roll-up; the answers say up to which event they count.

// Statistics is what the pages need of the statistics service (*stats.Service).
type Statistics interface {
	// Report answers an operators' query; the parameters are validated by the service.
	Report(ctx context.Context, p stats.Params) (*stats.Report, error)
	// Summary answers the public summary.
	Summary(ctx context.Context) (*stats.Report, error)
}

var errStatsOff = errs.New(errs.Unavailable, "", "本平台未启用统计服务", "statistics are not enabled on this platform")

// statsParams reads a query's parameters; the service validates them.
func statsParams(r *http.Request) stats.Params {
	q := r.URL.Query()
	return stats.Params{Metric: q.Get("metric"), From: q.Get("from"), To: q.Get("to"), Grain: q.Get("grain"),
		By: q.Get("by"), Region: q.Get("region"), Department: q.Get("department"), Scenario: q.Get("scenario")}
}

// statsFormat reads ?format= (html or json by the route, or csv).
func statsFormat(r *http.Request) (string, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "", "csv":
		return f, nil
	default:
		return "", errs.Invalidf("format", "未知的格式 %q（可用：csv）", "unknown format %q (known: csv)", f)
	}
}

// statsBar reads ?bar=, the metric of the bar chart (default: the query's first metric).
func statsBar(r *http.Request, rep *stats.Report) (stats.Metric, error) {
	v := r.URL.Query().Get("bar")
	if v == "" {
		return rep.Query.Metrics[0], nil
	}
	m := stats.Metric(v)
	if !slices.Contains(rep.Query.Metrics, m) {
		return "", errs.Invalidf("bar", "柱状图指标 %q 不在所选指标中", "the bar chart's metric %q is not among the metrics chosen", v)
	}
	return m, nil
}

// adminStats answers GET /admin/stats (operators): the dashboard, or with ?format=csv the same
// figures as CSV.
func (s *server) adminStats(w http.ResponseWriter, r *http.Request) {
	st, ok := s.signIn(w, r, account.Operator)
	if !ok {
		return
	}
	if s.Stats == nil {
		s.staffError(w, r, st, errStatsOff)
		return
	}
	lang := langOf(r)
	title := statsWord("stats.title", lang)
	format, err := statsFormat(r)
	var rep *stats.Report
	if err == nil {
		rep, err = s.Stats.Report(r.Context(), statsParams(r))
	}
	var bar stats.Metric
	if err == nil {
		bar, err = statsBar(r, rep)
	}
	if err != nil {
		p := s.describe(w, r, err)
		if p.Status >= 500 || format == "csv" {
			s.staffError(w, r, st, err)
			return
		}
		v := &statsView{Lang: lang, Form: statsParams(r), Problem: &p, Errors: fieldErrors(p)}
		v.options()
		s.render(w, r, p.Status, "stats", s.staffPage(st, "stats", title, v))
		return
	}
	if format == "csv" {
		writeStatsCSV(w, rep, lang)
		return
	}
	v := newStatsView(rep, lang, statsParams(r), bar, false)
	v.CSV = "/admin/stats?" + withFormat(r.URL.Query(), "csv")
	s.render(w, r, http.StatusOK, "stats", s.staffPage(st, "stats", title, v))
}

// publicStats answers GET /stats: the public summary (no login, no department named).
func (s *server) publicStats(w http.ResponseWriter, r *http.Request) {
	if s.Stats == nil {
		s.pageError(w, r, errStatsOff)
		return
	}
	lang := langOf(r)
	rep, err := s.Stats.Summary(r.Context())
	var bar stats.Metric
	if err == nil {
		bar, err = statsBar(r, rep)
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := newStatsView(rep, lang, stats.Params{}, bar, true)
	w.Header().Set("Cache-Control", "public, max-age=60")
	s.render(w, r, http.StatusOK, "stats_public", &pageData{Title: statsWord("stats.public", lang), Data: v})
}

// apiStats answers GET /api/v1/stats (operators, Bearer token): the dashboard's figures as JSON,
// or as CSV with ?format=csv.
func (s *server) apiStats(w http.ResponseWriter, r *http.Request) {
	if _, err := s.apiAccount(r, account.Operator); err != nil {
		s.apiError(w, r, err)
		return
	}
	if s.Stats == nil {
		s.apiError(w, r, errStatsOff)
		return
	}
	format, err := statsFormat(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	rep, err := s.Stats.Report(r.Context(), statsParams(r))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if format == "csv" {
		writeStatsCSV(w, rep, langOf(r))
		return
	}
	writeJSON(w, http.StatusOK, statsJSONOf(rep, langOf(r)))
}

// apiStatsSummary answers GET /api/v1/stats/summary: the public summary as JSON.
func (s *server) apiStatsSummary(w http.ResponseWriter, r *http.Request) {
	if s.Stats == nil {
		s.apiError(w, r, errStatsOff)
		return
	}
	rep, err := s.Stats.Summary(r.Context())
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cache-Control", "public, max-age=60")
	writeJSON(w, http.StatusOK, statsJSONOf(rep, langOf(r)))
}

// withFormat returns the query string q with format set.
func withFormat(q url.Values, format string) string {
	c := url.Values{}
	for k, v := range q {
		c[k] = v
	}
	c.Set("format", format)
	return c.Encode()
}

// ---- JSON ----

type statsJSON struct {
	From      string           `json:"from"`
	To        string           `json:"to"`
	Grain     string           `json:"grain"`
	By        string           `json:"by"`
	Filters   statsFiltersJSON `json:"filters"`
	Totals    []statsTotalJSON `json:"totals"`
	Series    []statsPointJSON `json:"series"`
	Breakdown []statsPartJSON  `json:"breakdown"`
	AsOf      stats.Freshness  `json:"as_of"`
}

type statsFiltersJSON struct {
	Region     string `json:"region,omitempty"`
	Department string `json:"department,omitempty"`
	Scenario   string `json:"scenario,omitempty"`
}

type statsTotalJSON struct {
	Metric string `json:"metric"`
	Name   string `json:"name"`
	N      int64  `json:"n"`
}

type statsPointJSON struct {
	Period string `json:"period"`
	Start  string `json:"start"` // first day of the period, YYYY-MM-DD (China)
	Metric string `json:"metric"`
	N      int64  `json:"n"`
}

type statsPartJSON struct {
	Key    string `json:"key"`
	Name   string `json:"name"`
	Metric string `json:"metric"`
	N      int64  `json:"n"`
}

func metricName(m stats.Metric, lang string) string {
	zh, en := m.Name()
	return text{zh, en}.in(lang)
}

func statsDay(t time.Time) string { return t.In(stats.China).Format(time.DateOnly) }

func statsJSONOf(rep *stats.Report, lang string) statsJSON {
	q := rep.Query
	out := statsJSON{From: statsDay(q.From), To: statsDay(q.To), Grain: string(q.Grain), By: string(q.By),
		Filters: statsFiltersJSON{q.Region, q.Department, q.Scenario}, AsOf: rep.Freshness,
		Totals: make([]statsTotalJSON, len(rep.Totals)), Series: make([]statsPointJSON, len(rep.Series)),
		Breakdown: make([]statsPartJSON, len(rep.Breakdown))}
	for i, t := range rep.Totals {
		out.Totals[i] = statsTotalJSON{string(t.Metric), metricName(t.Metric, lang), t.N}
	}
	for i, p := range rep.Series {
		out.Series[i] = statsPointJSON{p.Period, statsDay(p.Start), string(p.Metric), p.N}
	}
	for i, p := range rep.Breakdown {
		out.Breakdown[i] = statsPartJSON{p.Key, text{p.NameZH, p.NameEN}.in(lang), string(p.Metric), p.N}
	}
	return out
}

// ---- CSV ----

// statsCSVHeader are the columns of the CSV export (docs/statistics.md).
var statsCSVHeader = []string{"section", "period", "start", "key", "name", "metric", "metric_name", "n"}

// csvCell keeps a spreadsheet from reading a cell as a formula (CSV injection).
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// writeStatsCSV writes the report as CSV in UTF-8 with a byte-order mark, so that spreadsheet
// programs read the Chinese text right: the totals, then the time series, then the breakdown.
func writeStatsCSV(w http.ResponseWriter, rep *stats.Report, lang string) {
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	cw := csv.NewWriter(&buf)
	q := rep.Query
	_ = cw.Write(statsCSVHeader) // writes to a bytes.Buffer cannot fail
	span := statsDay(q.From) + ".." + statsDay(q.To)
	for _, t := range rep.Totals {
		_ = cw.Write([]string{"total", span, statsDay(q.From), "", "", string(t.Metric), metricName(t.Metric, lang), strconv.FormatInt(t.N, 10)})
	}
	for _, p := range rep.Series {
		_ = cw.Write([]string{"series", p.Period, statsDay(p.Start), "", "", string(p.Metric), metricName(p.Metric, lang), strconv.FormatInt(p.N, 10)})
	}
	for _, p := range rep.Breakdown {
		_ = cw.Write([]string{"breakdown:" + string(q.By), span, statsDay(q.From), csvCell(p.Key),
			csvCell(text{p.NameZH, p.NameEN}.in(lang)), string(p.Metric), metricName(p.Metric, lang), strconv.FormatInt(p.N, 10)})
	}
	cw.Flush()
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="elicense-stats-`+statsDay(q.From)+"-"+statsDay(q.To)+`.csv"`)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("X-Stats-Cursor", strconv.FormatInt(rep.Freshness.Cursor, 10))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// ---- pages ----

// statsView is what the statistics templates show.
type statsView struct {
	Lang    string
	Public  bool
	Form    stats.Params
	Problem *problem
	Errors  map[string]string

	Report    *stats.Report
	From, To  string
	Totals    []statsTotalView
	Periods   []statsRowView // the time series as a table: one row per period
	Parts     []statsRowView // the breakdown as a table: one row per key
	Metrics   []statsOption  // the query's metrics (table columns)
	LineChart template.HTML
	BarChart  template.HTML
	BarMetric string
	CSV       string

	MetricOptions   []statsOption
	GrainOptions    []statsOption
	ByOptions       []statsOption
	ScenarioOptions []statsOption
}

type statsTotalView struct {
	Metric, Name, N string
}

type statsRowView struct {
	Label, Key, Link string
	Values           []string
}

type statsOption struct {
	Value, Name string
	Selected    bool
}

// W returns a word of the statistics pages in the page's language.
func (v *statsView) W(key string) string { return statsWord(key, v.Lang) }

// AsOf describes how fresh the figures are.
func (v *statsView) AsOf() string {
	f := v.Report.Freshness
	s := statsWordf(v.Lang, "stats.asof", fmtN(f.Cursor))
	if !f.RolledAt.IsZero() {
		s += " · " + f.RolledAt.In(chinaTime).Format("2006-01-02 15:04:05 (UTC+8)")
	}
	if f.Pending > 0 {
		s += " · " + statsWordf(v.Lang, "stats.pending", fmtN(f.Pending))
	}
	return s
}

// options fills the choices of the filter form.
func (v *statsView) options() {
	chosen := map[string]bool{}
	for m := range strings.SplitSeq(v.Form.Metric, ",") {
		chosen[strings.TrimSpace(m)] = true
	}
	for _, m := range stats.Metrics {
		v.MetricOptions = append(v.MetricOptions, statsOption{string(m), metricName(m, v.Lang), chosen[string(m)]})
	}
	for _, g := range []string{"day", "week", "month", "year"} {
		v.GrainOptions = append(v.GrainOptions, statsOption{g, statsWord("stats.grain."+g, v.Lang), v.Form.Grain == g})
	}
	for _, d := range []string{"region", "province", "city", "department", "scenario"} {
		v.ByOptions = append(v.ByOptions, statsOption{d, statsWord("stats.by."+d, v.Lang), v.Form.By == d})
	}
	codes := stats.ScenarioCodes()
	if v.Form.Scenario != "" && !slices.Contains(codes, v.Form.Scenario) {
		codes = append(codes, v.Form.Scenario)
	}
	for _, c := range codes {
		zh, en := stats.ScenarioName(c)
		v.ScenarioOptions = append(v.ScenarioOptions, statsOption{c, text{zh, en}.in(v.Lang), v.Form.Scenario == c})
	}
}

// newStatsView prepares the pages' content: cards, tables and charts of one report.
func newStatsView(rep *stats.Report, lang string, form stats.Params, bar stats.Metric, public bool) *statsView {
	q := rep.Query
	v := &statsView{Lang: lang, Public: public, Form: form, Report: rep, From: statsDay(q.From), To: statsDay(q.To),
		BarMetric: metricName(bar, lang)}
	if form.From == "" {
		v.Form.From = v.From
	}
	if form.To == "" {
		v.Form.To = v.To
	}
	v.options()
	col := map[stats.Metric]int{}
	for i, m := range q.Metrics {
		col[m] = i
		v.Metrics = append(v.Metrics, statsOption{Value: string(m), Name: metricName(m, lang)})
	}
	for _, t := range rep.Totals {
		v.Totals = append(v.Totals, statsTotalView{string(t.Metric), metricName(t.Metric, lang), fmtN(t.N)})
	}
	// The series as a table and as lines.
	series := make([]chartSeries, len(q.Metrics))
	for i, m := range q.Metrics {
		series[i].Name = metricName(m, lang)
	}
	var labels []string
	for i := 0; i < len(rep.Series); i += len(q.Metrics) {
		p := rep.Series[i]
		row := statsRowView{Label: p.Period, Values: make([]string, len(q.Metrics))}
		labels = append(labels, p.Period)
		for j := range q.Metrics {
			n := rep.Series[i+j].N
			row.Values[j] = fmtN(n)
			series[j].Values = append(series[j].Values, n)
		}
		v.Periods = append(v.Periods, row)
	}
	grain := statsWord("stats.grain."+string(q.Grain), lang)
	v.LineChart = template.HTML(lineSVG("chart-series", statsWordf(lang, "stats.chart.series", grain, v.From, v.To),
		statsWordf(lang, "stats.chart.series.desc", len(labels), grain), labels, series))
	// The breakdown as a table (every metric) and as bars (one metric).
	rows := map[string]*statsRowView{}
	var order []string
	var bars []chartBar
	for _, p := range rep.Breakdown {
		r, ok := rows[p.Key]
		if !ok {
			r = &statsRowView{Label: text{p.NameZH, p.NameEN}.in(lang), Key: p.Key, Values: make([]string, len(q.Metrics))}
			for j := range r.Values {
				r.Values[j] = "0"
			}
			if !public {
				r.Link = breakdownLink(form, q.By, p.Key)
			}
			rows[p.Key] = r
			order = append(order, p.Key)
		}
		if j, ok := col[p.Metric]; ok {
			r.Values[j] = fmtN(p.N)
		}
		if p.Metric == bar && p.N > 0 {
			bars = append(bars, chartBar{r.Label, p.N})
		}
	}
	for _, k := range order {
		v.Parts = append(v.Parts, *rows[k])
	}
	slices.SortStableFunc(bars, func(a, b chartBar) int { return cmp.Compare(b.N, a.N) })
	if len(bars) > 20 {
		bars = bars[:20]
	}
	dim := statsWord("stats.by."+string(q.By), lang)
	v.BarChart = template.HTML(barSVG("chart-breakdown", statsWordf(lang, "stats.chart.bars", v.BarMetric, dim),
		statsWordf(lang, "stats.chart.bars.desc", len(bars), dim), bars))
	return v
}

// breakdownLink is the dashboard filtered on one value of the breakdown.
func breakdownLink(form stats.Params, by stats.Dimension, key string) string {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("metric", form.Metric)
	set("from", form.From)
	set("to", form.To)
	set("grain", form.Grain)
	set("region", form.Region)
	set("department", form.Department)
	set("scenario", form.Scenario)
	switch by {
	case stats.ByDepartment:
		if key == "" {
			return ""
		}
		q.Set("department", key)
	case stats.ByScenario:
		if key == "" {
			return ""
		}
		q.Set("scenario", key)
	default:
		if key == stats.Unknown || key == stats.National {
			q.Set("region", key)
		} else if strings.HasSuffix(key, "0000") {
			q.Set("region", key[:2])
			q.Set("by", "city")
		} else {
			q.Set("region", strings.TrimSuffix(key, "00"))
			q.Set("by", "city")
		}
	}
	return "/admin/stats?" + q.Encode()
}

// statsWords are the words of the statistics pages (kept here rather than in the shared ui map).
var statsWords = map[string]text{
	"stats.title":             {"使用统计", "Usage statistics"},
	"stats.public":            {"电子营业执照应用统计", "E-business licence in use"},
	"stats.nav":               {"统计", "Statistics"},
	"stats.intro":             {"所有数字均由审计日志中记录的事件汇总而来，与日志逐条计数一致。", "Every figure is summed from the events recorded in the audit log and equals a count taken from the log itself."},
	"stats.public.intro":      {"电子营业执照在各地的发放、领取与使用情况。数字由平台审计日志汇总，不含部门名称。", "How the electronic business licence is issued, claimed and used across regions. The figures are summed from the platform's audit log and name no department."},
	"stats.filters":           {"筛选", "Filters"},
	"stats.metric":            {"指标", "Metrics"},
	"stats.metric.hint":       {"不选即全部", "none chosen: all"},
	"stats.from":              {"起始日期", "From"},
	"stats.to":                {"截止日期", "To"},
	"stats.grain":             {"时间粒度", "Grain"},
	"stats.by":                {"分组", "Break down by"},
	"stats.region":            {"行政区划代码（前缀）", "Division code (prefix)"},
	"stats.region.hint":       {"如 33（浙江）、3301（杭州）；unknown 为未知地区", "e.g. 33 (Zhejiang), 3301 (Hangzhou); unknown for an unknown region"},
	"stats.department":        {"部门（客户端标识或登记机关代码）", "Department (client ID or authority code)"},
	"stats.scenario":          {"场景", "Scenario"},
	"stats.all":               {"全部", "All"},
	"stats.apply":             {"查询", "Show"},
	"stats.csv":               {"导出 CSV", "Export CSV"},
	"stats.totals":            {"合计", "Totals"},
	"stats.series":            {"时间趋势", "Over time"},
	"stats.breakdown":         {"分组统计", "Breakdown"},
	"stats.period":            {"周期", "Period"},
	"stats.name":              {"名称", "Name"},
	"stats.none":              {"所选范围内没有记录。", "Nothing was recorded in this range."},
	"stats.table.series":      {"时间趋势数据表", "Data of the chart over time"},
	"stats.table.breakdown":   {"分组数据表", "Data of the breakdown"},
	"stats.grain.day":         {"按日", "by day"},
	"stats.grain.week":        {"按周", "by week"},
	"stats.grain.month":       {"按月", "by month"},
	"stats.grain.year":        {"按年", "by year"},
	"stats.by.region":         {"地区", "region"},
	"stats.by.province":       {"省份", "province"},
	"stats.by.city":           {"城市", "city"},
	"stats.by.department":     {"部门", "department"},
	"stats.by.scenario":       {"场景", "scenario"},
	"stats.asof":              {"统计至审计日志第 %s 条", "Counted up to audit event %s"},
	"stats.pending":           {"另有 %s 条待汇总", "%s more to be counted"},
	"stats.chart.series":      {"%s统计（%s 至 %s）", "Figures %s (%s to %s)"},
	"stats.chart.series.desc": {"折线图：%d 个周期（%s），每条线一个指标，图下有数据表。", "Line chart: %d periods (%s), one line per metric; the data table follows the chart."},
	"stats.chart.bars":        {"%s（按%s）", "%s by %s"},
	"stats.chart.bars.desc":   {"条形图：前 %d 个%s，按数量从大到小排列，图下有数据表。", "Bar chart: the top %d by %s, largest first; the data table follows the chart."},
	"stats.bar":               {"条形图指标", "Bar chart metric"},
	"stats.months":            {"近 12 个月", "The last 12 months"},
	"stats.since":             {"平台启用以来累计", "Since the platform started"},
}

// statsWord returns a word of the statistics pages; a missing key shows itself.
func statsWord(key, lang string) string {
	if t, ok := statsWords[key]; ok {
		return t.in(lang)
	}
	return key
}

// statsWordf formats a word of the statistics pages.
func statsWordf(lang, key string, args ...any) string {
	return fmt.Sprintf(statsWord(key, lang), args...)
}
