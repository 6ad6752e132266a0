package stats

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/errs"
)

// Grain is the length of the periods of a time series.
type Grain string

// Grains of a time series.
const (
	Day   Grain = "day"
	Week  Grain = "week" // ISO 8601 weeks, Monday to Sunday
	Month Grain = "month"
	Year  Grain = "year"
)

// Dimension is what a breakdown is by.
type Dimension string

// Dimensions of a breakdown.
const (
	ByRegion     Dimension = "region"     // provinces, or the cities of the province filtered on
	ByProvince   Dimension = "province"   // provinces
	ByCity       Dimension = "city"       // cities
	ByDepartment Dimension = "department" // departments (client IDs, registering authorities)
	ByScenario   Dimension = "scenario"   // scenarios of the service catalogue
)

// Limits of a query.
const (
	// MaxPeriods is the most periods one time series has (e.g. about 2.7 years by day).
	MaxPeriods = 1000
	// DefaultDays is the length of the default range, ending today.
	DefaultDays = 30
)

// Params are the parameters of a query as the caller gives them (an HTTP query string); every
// field may be empty.
type Params struct {
	Metric     string // one metric or several separated by commas; "": all
	From, To   string // YYYY-MM-DD, both included; default the last DefaultDays days
	Grain      string // day, week, month or year; default day
	By         string // region, province, city, department or scenario; default region
	Region     string // prefix of a GB/T 2260 code ("33", "3301", "330100"), or "unknown"
	Department string // a department ID
	Scenario   string // a scenario code
}

// Query is a validated query.
type Query struct {
	Metrics    []Metric
	From, To   time.Time // 00:00 China Standard Time of the first and the last day included
	Grain      Grain
	By         Dimension
	Region     string
	Department string
	Scenario   string
}

// Report is the answer to a query: the figures of a dashboard.
type Report struct {
	Query     Query
	Totals    []Total // one per metric of the query, in display order
	Series    []Point // every period × metric of the range, zeros included, by period then metric
	Breakdown []Part  // by the query's dimension, largest first
	Freshness Freshness
}

// Total is the sum of one metric over the query.
type Total struct {
	Metric Metric
	N      int64
}

// Point is one metric in one period.
type Point struct {
	Period string    // "2025-03-01", "2025-W09", "2025-03" or "2025"
	Start  time.Time // 00:00 China Standard Time of the period's first day
	Metric Metric
	N      int64
}

// Part is one metric for one value of the breakdown's dimension.
type Part struct {
	Key    string // region code, department ID or scenario code ("" when none applies)
	NameZH string
	NameEN string
	Metric Metric
	N      int64
}

// Parse validates the parameters of a query; today decides the default range. Every problem is
// reported at once, each naming its parameter.
func Parse(p Params, today time.Time) (Query, error) {
	var list errs.List
	q := Query{Grain: Day, By: ByRegion}
	if m := strings.TrimSpace(p.Metric); m != "" {
		for part := range strings.SplitSeq(m, ",") {
			mt := Metric(strings.TrimSpace(part))
			if !mt.Known() {
				list = append(list, errs.Invalidf("metric", "未知的统计指标 %q（可用：%s）", "unknown metric %q (known: %s)",
					string(mt), metricList()))
				continue
			}
			if !slices.Contains(q.Metrics, mt) {
				q.Metrics = append(q.Metrics, mt)
			}
		}
		slices.SortFunc(q.Metrics, func(a, b Metric) int { return slices.Index(Metrics, a) - slices.Index(Metrics, b) })
	} else {
		q.Metrics = slices.Clone(Metrics)
	}
	end := DayOf(today)
	q.To = end
	q.From = end.AddDate(0, 0, -(DefaultDays - 1))
	var badDate bool
	if v := strings.TrimSpace(p.To); v != "" {
		d, err := parseDay("to", v)
		if err != nil {
			list, badDate = append(list, err), true
		} else {
			q.To = d
			if strings.TrimSpace(p.From) == "" {
				q.From = d.AddDate(0, 0, -(DefaultDays - 1))
			}
		}
	}
	if v := strings.TrimSpace(p.From); v != "" {
		d, err := parseDay("from", v)
		if err != nil {
			list, badDate = append(list, err), true
		} else {
			q.From = d
		}
	}
	if !badDate && q.From.After(q.To) {
		list = append(list, errs.Invalidf("from", "起始日期 %s 晚于截止日期 %s", "the start date %s is after the end date %s",
			fmtDay(q.From), fmtDay(q.To)))
	}
	switch g := Grain(strings.TrimSpace(p.Grain)); g {
	case "":
	case Day, Week, Month, Year:
		q.Grain = g
	default:
		list = append(list, errs.Invalidf("grain", "未知的时间粒度 %q（可用：day、week、month、year）",
			"unknown grain %q (known: day, week, month, year)", string(g)))
	}
	if len(list) == 0 {
		if n := len(periods(q.From, q.To, q.Grain)); n > MaxPeriods {
			list = append(list, errs.Invalidf("grain", "时间序列有 %d 个周期，超过上限 %d：请缩短日期范围或选用更粗的粒度（week、month、year）",
				"the time series would have %d periods, more than %d: shorten the range or choose a coarser grain (week, month, year)",
				n, MaxPeriods))
		}
	}
	switch d := Dimension(strings.TrimSpace(p.By)); d {
	case "":
	case ByRegion, ByProvince, ByCity, ByDepartment, ByScenario:
		q.By = d
	default:
		list = append(list, errs.Invalidf("by", "未知的分组维度 %q（可用：region、province、city、department、scenario）",
			"unknown dimension %q (known: region, province, city, department, scenario)", string(d)))
	}
	if r := strings.TrimSpace(p.Region); r != "" {
		if err := checkRegion(r); err != nil {
			list = append(list, err)
		}
		q.Region = r
	}
	if v := strings.TrimSpace(p.Department); v != "" {
		if err := checkText("department", "部门", "department", v, maxDepartment); err != nil {
			list = append(list, err)
		}
		q.Department = v
	}
	if v := strings.TrimSpace(p.Scenario); v != "" {
		if err := checkText("scenario", "场景", "scenario", v, maxScenario); err != nil {
			list = append(list, err)
		}
		q.Scenario = v
	}
	if len(list) > 0 {
		return Query{}, list
	}
	return q, nil
}

func metricList() string {
	s := make([]string, len(Metrics))
	for i, m := range Metrics {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}

// parseDay reads a YYYY-MM-DD date as 00:00 China Standard Time.
func parseDay(field, v string) (time.Time, *errs.Error) {
	t, err := time.ParseInLocation(time.DateOnly, v, China)
	if err != nil || t.Year() < 2000 || t.Year() > 2099 {
		return time.Time{}, errs.Invalidf(field, "日期 %q 无效：应为 2000 至 2099 年间的 YYYY-MM-DD", "date %q is not valid: want YYYY-MM-DD between 2000 and 2099", v)
	}
	return t.UTC(), nil
}

func fmtDay(t time.Time) string { return t.In(China).Format(time.DateOnly) }

// checkRegion accepts a prefix of a GB/T 2260 division code (1–6 digits) or "unknown", naming
// the first character that is wrong.
func checkRegion(r string) *errs.Error {
	if r == Unknown {
		return nil
	}
	if len(r) > 6 {
		return errs.Invalidf("region", "行政区划代码 %q 过长：最多 6 位数字（GB/T 2260）", "division code %q is too long: at most 6 digits (GB/T 2260)", r)
	}
	for i, c := range r {
		if c < '0' || c > '9' {
			return errs.Invalidf("region", "行政区划代码 %q 第 %d 个字符 %q 不是数字（GB/T 2260）",
				"division code %q: character %d (%q) is not a digit (GB/T 2260)", r, i+1, string(c))
		}
	}
	return nil
}

// checkText accepts a dimension value: valid UTF-8, no control characters, at most max bytes.
func checkText(field, zh, en, v string, max int) *errs.Error {
	if !utf8.ValidString(v) {
		return errs.New(errs.Invalid, field, zh+"不是有效的 UTF-8 文本", "the "+en+" is not valid UTF-8 text")
	}
	if len(v) > max {
		return errs.New(errs.Invalid, field, fmt.Sprintf("%s过长（最多 %d 字节）", zh, max),
			fmt.Sprintf("the %s is too long (at most %d bytes)", en, max))
	}
	for i, c := range []rune(v) {
		if c < 0x20 || c == 0x7f {
			return errs.New(errs.Invalid, field, fmt.Sprintf("%s第 %d 个字符是控制字符", zh, i+1),
				fmt.Sprintf("the %s has a control character at position %d", en, i+1))
		}
	}
	return nil
}

// Report answers a query for the operators' dashboard: totals, the time series and the
// breakdown, after bringing the roll-up up to date when it lags by little.
func (s *Service) Report(ctx context.Context, p Params) (*Report, error) {
	q, err := Parse(p, s.clock())
	if err != nil {
		return nil, err
	}
	fr, err := s.fresh(ctx)
	if err != nil {
		return nil, err
	}
	rep := &Report{Query: q, Freshness: fr}
	f := RowFilter{From: q.From, To: q.To.AddDate(0, 0, 1), Metrics: q.Metrics, Region: q.Region,
		Department: q.Department, Scenario: q.Scenario}
	if err := s.series(ctx, rep, f); err != nil {
		return nil, err
	}
	if err := s.breakdown(ctx, rep, f, true); err != nil {
		return nil, err
	}
	return rep, nil
}

// SummaryMonths is how many months the public summary's time series covers.
const SummaryMonths = 12

// Summary answers the public summary: every metric's total since the platform started, the
// last SummaryMonths months by month, and the totals by province. It names no department:
// which department uses whose licences how often is for operators only.
func (s *Service) Summary(ctx context.Context) (*Report, error) {
	fr, err := s.fresh(ctx)
	if err != nil {
		return nil, err
	}
	today := DayOf(s.clock())
	y, m, _ := today.In(China).Date()
	from := time.Date(y, m, 1, 0, 0, 0, 0, China).AddDate(0, -(SummaryMonths - 1), 0).UTC()
	q := Query{Metrics: slices.Clone(Metrics), From: from, To: today, Grain: Month, By: ByProvince}
	rep := &Report{Query: q, Freshness: fr}
	all := RowFilter{Metrics: q.Metrics}
	rows, err := s.marginSpan(ctx, GroupNone, time.Time{}, time.Time{}, q.Metrics)
	if err != nil {
		return nil, fmt.Errorf("stats: summary: %w", err)
	}
	sums := map[Metric]int64{}
	for _, r := range rows {
		sums[r.Metric] += r.N
	}
	if err := s.series(ctx, rep, RowFilter{From: q.From, To: q.To.AddDate(0, 0, 1), Metrics: q.Metrics}); err != nil {
		return nil, err
	}
	for i := range rep.Totals { // the headline numbers count from the start, not the last months
		rep.Totals[i].N = sums[rep.Totals[i].Metric]
	}
	if err := s.breakdown(ctx, rep, all, false); err != nil {
		return nil, err
	}
	return rep, nil
}

// series fills the time series and the totals of rep.
func (s *Service) series(ctx context.Context, rep *Report, f RowFilter) error {
	q := rep.Query
	var (
		rows []Row
		err  error
	)
	if f.filtered() {
		rows, err = s.st.StatsRows(ctx, f, GroupDay)
	} else {
		rows, err = s.st.MarginRows(ctx, Day, GroupNone, f.From, f.To, f.Metrics)
	}
	if err != nil {
		return fmt.Errorf("stats: series: %w", err)
	}
	ps := periods(q.From, q.To, q.Grain)
	index := make(map[string]int, len(ps))
	for i, p := range ps {
		index[p.label] = i
	}
	mi := make(map[Metric]int, len(q.Metrics))
	for i, m := range q.Metrics {
		mi[m] = i
	}
	rep.Series = make([]Point, len(ps)*len(q.Metrics))
	for i, p := range ps {
		for j, m := range q.Metrics {
			rep.Series[i*len(q.Metrics)+j] = Point{Period: p.label, Start: p.start, Metric: m}
		}
	}
	totals := make([]int64, len(q.Metrics))
	for _, r := range rows {
		j, ok := mi[r.Metric]
		if !ok {
			continue
		}
		i, ok := index[periodOf(r.Day, q.Grain).label]
		if !ok {
			continue
		}
		rep.Series[i*len(q.Metrics)+j].N += r.N
		totals[j] += r.N
	}
	rep.Totals = make([]Total, len(q.Metrics))
	for j, m := range q.Metrics {
		rep.Totals[j] = Total{Metric: m, N: totals[j]}
	}
	return nil
}

// breakdown fills the breakdown of rep by its query's dimension; names says whether
// departments are named.
func (s *Service) breakdown(ctx context.Context, rep *Report, f RowFilter, names bool) error {
	q := rep.Query
	group := GroupRegion
	switch q.By {
	case ByDepartment:
		group = GroupDepartment
	case ByScenario:
		group = GroupScenario
	}
	var rows []Row
	var err error
	if f.filtered() {
		rows, err = s.st.StatsRows(ctx, f, group)
	} else {
		rows, err = s.marginSpan(ctx, group, f.From, f.To, f.Metrics)
	}
	if err != nil {
		return fmt.Errorf("stats: breakdown: %w", err)
	}
	// Regions are rolled up by city; a breakdown by province (or by region without a province
	// filter) adds the cities up.
	toProvince := q.By == ByProvince || (q.By == ByRegion && len(q.Region) < 2)
	type cell struct {
		key    string
		metric Metric
	}
	sums := map[cell]int64{}
	for _, r := range rows {
		k := r.Key
		if group == GroupRegion && toProvince && k != Unknown {
			k = Province(k)
		}
		sums[cell{k, r.Metric}] += r.N
	}
	var dept map[string]string
	if group == GroupDepartment && names && s.names != nil {
		if dept, err = s.names.DepartmentNames(ctx); err != nil {
			return fmt.Errorf("stats: department names: %w", err)
		}
	}
	rep.Breakdown = make([]Part, 0, len(sums))
	for c, n := range sums {
		p := Part{Key: c.key, Metric: c.metric, N: n}
		switch group {
		case GroupRegion:
			p.NameZH, p.NameEN = RegionName(c.key)
		case GroupDepartment:
			p.NameZH, p.NameEN = departmentName(c.key, dept)
		case GroupScenario:
			p.NameZH, p.NameEN = ScenarioName(c.key)
		}
		rep.Breakdown = append(rep.Breakdown, p)
	}
	// Largest key first by its total over the metrics, then by metric order.
	keyTotal := map[string]int64{}
	for c, n := range sums {
		keyTotal[c.key] += n
	}
	sort.Slice(rep.Breakdown, func(i, j int) bool {
		a, b := rep.Breakdown[i], rep.Breakdown[j]
		if ta, tb := keyTotal[a.Key], keyTotal[b.Key]; ta != tb {
			return ta > tb
		}
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		return slices.Index(Metrics, a.Metric) < slices.Index(Metrics, b.Metric)
	})
	return nil
}

// filtered reports whether f selects by a dimension: such queries add up the cube, the others
// read its margins.
func (f RowFilter) filtered() bool { return f.Region != "" || f.Department != "" || f.Scenario != "" }

// marginSpan returns the margins by dim over the days from ≤ day < to (zero: unbounded): whole
// months from the monthly margins, the days before the first and after the last whole month
// from the daily ones, so that a year is read as twelve months.
func (s *Service) marginSpan(ctx context.Context, dim Group, from, to time.Time, metrics []Metric) ([]Row, error) {
	if from.IsZero() && to.IsZero() {
		return s.st.MarginRows(ctx, Month, dim, from, to, metrics)
	}
	monthStart := func(t time.Time) time.Time {
		y, m, _ := t.In(China).Date()
		return time.Date(y, m, 1, 0, 0, 0, 0, China).UTC()
	}
	var m1, m2 time.Time // the whole months: m1 ≤ month < m2 (zero: unbounded)
	if !from.IsZero() {
		if m1 = monthStart(from); m1.Before(from) {
			m1 = monthStart(from.In(China).AddDate(0, 1, 0))
		}
	}
	if !to.IsZero() {
		m2 = monthStart(to)
	}
	if !from.IsZero() && !to.IsZero() && !m1.Before(m2) {
		return s.st.MarginRows(ctx, Day, dim, from, to, metrics) // no whole month
	}
	type part struct {
		grain    Grain
		from, to time.Time
	}
	parts := []part{{Month, m1, m2}}
	if !from.IsZero() && from.Before(m1) {
		parts = append(parts, part{Day, from, m1})
	}
	if !to.IsZero() && m2.Before(to) {
		parts = append(parts, part{Day, m2, to})
	}
	var out []Row
	for _, p := range parts {
		rows, err := s.st.MarginRows(ctx, p.grain, dim, p.from, p.to, metrics)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

func departmentName(id string, names map[string]string) (zh, en string) {
	if id == "" {
		return "（无）", "(none)"
	}
	if n, ok := names[id]; ok && n != "" {
		return n, n
	}
	return id, id
}

// scenarios names the scenarios of the service catalogue (issue 6).
var scenarios = map[string][2]string{
	"market_entry":     {"市场准入", "Market entry"},
	"tax":              {"纳税申报", "Tax filing"},
	"bank_account":     {"银行开户", "Bank account opening"},
	"social_insurance": {"社保缴纳", "Social insurance"},
	"real_estate":      {"不动产登记", "Real-estate registration"},
	"investment":       {"企业投资", "Enterprise investment"},
	"construction":     {"建设工程", "Construction projects"},
	"livelihood":       {"民生事务", "Livelihood services"},
}

// ScenarioName returns the name of a scenario in zh-CN and English (its code when unknown).
func ScenarioName(code string) (zh, en string) {
	if code == "" {
		return "（无场景）", "(no scenario)"
	}
	if n, ok := scenarios[code]; ok {
		return n[0], n[1]
	}
	return code, code
}

// period is one period of a time series.
type period struct {
	label string
	start time.Time
}

// periodOf returns the period of grain that day falls in.
func periodOf(day time.Time, g Grain) period {
	t := day.In(China)
	y, m, d := t.Date()
	switch g {
	case Week:
		wd := (int(t.Weekday()) + 6) % 7 // Monday 0
		start := time.Date(y, m, d-wd, 0, 0, 0, 0, China)
		iy, iw := start.ISOWeek()
		return period{fmt.Sprintf("%04d-W%02d", iy, iw), start.UTC()}
	case Month:
		return period{fmt.Sprintf("%04d-%02d", y, int(m)), time.Date(y, m, 1, 0, 0, 0, 0, China).UTC()}
	case Year:
		return period{fmt.Sprintf("%04d", y), time.Date(y, 1, 1, 0, 0, 0, 0, China).UTC()}
	}
	return period{t.Format(time.DateOnly), time.Date(y, m, d, 0, 0, 0, 0, China).UTC()}
}

// periods lists the periods of grain from the one holding from to the one holding to; it stops
// counting past MaxPeriods+1.
func periods(from, to time.Time, g Grain) []period {
	var out []period
	p := periodOf(from, g)
	for !p.start.After(to) && len(out) <= MaxPeriods {
		out = append(out, p)
		next := p.start.In(China)
		switch g {
		case Week:
			next = next.AddDate(0, 0, 7)
		case Month:
			next = next.AddDate(0, 1, 0)
		case Year:
			next = next.AddDate(1, 0, 0)
		default:
			next = next.AddDate(0, 0, 1)
		}
		p = periodOf(next.UTC(), g)
	}
	return out
}

// ScenarioCodes lists the scenario codes of the service catalogue, in the catalogue's order.
func ScenarioCodes() []string {
	return []string{"market_entry", "tax", "bank_account", "social_insurance", "real_estate", "investment", "construction", "livelihood"}
}
