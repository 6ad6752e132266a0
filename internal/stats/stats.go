// Package stats computes the usage figures that promote the electronic business licence (推广统计):
// licences issued and claimed, logins with the e-licence, portals connected, verifications,
// licences shared and archived, and materials not asked for (the once-only counter), by region,
// department, scenario and time.
//
// Every figure comes from the recorded audit events, never from a counter kept beside them: the
// table Rules maps audit actions to metrics, a roller reads the events after a cursor and adds
// their counts to a daily roll-up (stats_daily) in the same transaction that moves the cursor, and
// the dashboards read the roll-up. A count taken directly from the log therefore always equals
// the dashboard's, up to the cursor the dashboard reports.
package stats

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/audit"
)

// Metric is one figure of the dashboards.
type Metric string

// The metrics, in the order the dashboards show them.
const (
	Issued        Metric = "issued"        // 发放执照: licences issued
	Claimed       Metric = "claimed"       // 领取执照: licences claimed by their holder
	Logins        Metric = "logins"        // 扫码登录: logins with the e-licence
	Portals       Metric = "portals"       // 接入系统: portals and systems connected (OIDC clients)
	Verifications Metric = "verifications" // 核验: verifications by departments
	Shared        Metric = "shared"        // 共享用证: licences shared with departments
	Archived      Metric = "archived"      // 存档: licences archived by departments
	NotAsked      Metric = "not_asked"     // 免提交材料: materials the entity was not asked for
)

// Metrics lists every metric in display order.
var Metrics = []Metric{Issued, Claimed, Logins, Portals, Verifications, Shared, Archived, NotAsked}

// metricNames are the names of the metrics in zh-CN and English.
var metricNames = map[Metric][2]string{
	Issued:        {"发放执照", "Licences issued"},
	Claimed:       {"领取执照", "Licences claimed"},
	Logins:        {"扫码登录", "Logins with the e-licence"},
	Portals:       {"接入系统", "Portals connected"},
	Verifications: {"核验次数", "Verifications"},
	Shared:        {"共享用证", "Licences shared"},
	Archived:      {"存档次数", "Licences archived"},
	NotAsked:      {"免提交材料", "Materials not asked for"},
}

// Name returns the metric's name in zh-CN and in English.
func (m Metric) Name() (zh, en string) {
	n, ok := metricNames[m]
	if !ok {
		return string(m), string(m)
	}
	return n[0], n[1]
}

// Known reports whether m is one of Metrics.
func (m Metric) Known() bool { _, ok := metricNames[m]; return ok }

// Source says where a dimension of an event comes from.
type Source string

// Sources of the department of an event.
const (
	FromNone          Source = ""                // no department applies
	FromActor         Source = "actor"           // the event's actor (a client ID for sharing calls)
	FromSubject       Source = "subject"         // the event's subject (the client ID of a registration)
	FromDataAuthority Source = "data.authority"  // the registering authority's credit code
	FromDataClient    Source = "data.client"     // the portal's client ID
	FromDataDept      Source = "data.department" // a department named in the event's data
)

// Rule maps audit events to a metric.
type Rule struct {
	// Action is an exact action, or a prefix when it ends in "*" ("share.verify*").
	Action string
	Metric Metric
	// Department is where the event's department comes from.
	Department Source
	// Count is the data field holding how much the event counts (a non-negative integer);
	// "" counts each event once.
	Count string
	// Skip lists values of data.result for which the event is not counted: calls that were
	// refused, or that found nothing to share.
	Skip []string
}

// Rules is the one table from audit actions to metrics (docs/statistics.md explains each row).
// An action matches its exact rule first, then the longest prefix rule.
var Rules = []Rule{
	{Action: "license.issue", Metric: Issued, Department: FromDataAuthority},
	{Action: "identity.claim", Metric: Claimed},
	{Action: "identity.login_confirm", Metric: Logins, Department: FromDataClient},
	{Action: "oidc.client_register", Metric: Portals, Department: FromSubject},
	{Action: "share.verify*", Metric: Verifications, Department: FromActor, Skip: []string{"denied"}},
	{Action: "share.query*", Metric: Shared, Department: FromActor, Skip: []string{"denied", "not_found", "none"}},
	{Action: "share.list", Metric: Shared, Department: FromActor, Skip: []string{"denied", "not_found", "none"}},
	{Action: "share.download", Metric: Shared, Department: FromActor, Skip: []string{"denied", "not_found", "none"}},
	{Action: "share.archive", Metric: Archived, Department: FromActor, Skip: []string{"denied", "not_found", "none"}},
	{Action: "catalog.apply.submit", Metric: NotAsked, Department: FromDataDept, Count: "not_asked"},
}

// RuleFor returns the rule that counts action, if any.
func RuleFor(action string) (Rule, bool) {
	r, ok := ruleIndex.lookup(action)
	return r, ok
}

// rules indexes Rules for lookups.
type rules struct {
	exact    map[string]Rule
	prefixes []Rule // longest first
}

var ruleIndex = indexRules(Rules)

func indexRules(rs []Rule) *rules {
	ix := &rules{exact: map[string]Rule{}}
	for _, r := range rs {
		if p, ok := strings.CutSuffix(r.Action, "*"); ok {
			r.Action = p
			ix.prefixes = append(ix.prefixes, r)
			continue
		}
		ix.exact[r.Action] = r
	}
	for i := 1; i < len(ix.prefixes); i++ { // few entries: insertion sort, longest first
		for j := i; j > 0 && len(ix.prefixes[j].Action) > len(ix.prefixes[j-1].Action); j-- {
			ix.prefixes[j], ix.prefixes[j-1] = ix.prefixes[j-1], ix.prefixes[j]
		}
	}
	return ix
}

func (ix *rules) lookup(action string) (Rule, bool) {
	if r, ok := ix.exact[action]; ok {
		return r, true
	}
	for _, r := range ix.prefixes {
		if strings.HasPrefix(action, r.Action) {
			return r, true
		}
	}
	return Rule{}, false
}

// Count is an amount added to one cell of the daily roll-up.
type Count struct {
	Day        time.Time // 00:00 China Standard Time of the event's day
	Metric     Metric
	Region     string // GB/T 2260 city-level division ("330100"), or Unknown
	Department string // "" when none applies
	Scenario   string // "" when none
	N          int64
}

// key is a cell of the roll-up.
type key struct {
	day                          int64
	metric                       Metric
	region, department, scenario string
}

// Margin is an amount added to one margin of the roll-up: a metric in a period (a day, or a
// month from its first day) summed over every region, department and scenario (Dim GroupNone),
// or by one of those dimensions (Key its value).
type Margin struct {
	Grain  Grain // Day or Month
	Period time.Time
	Metric Metric
	Dim    Group // GroupNone, GroupRegion, GroupDepartment or GroupScenario
	Key    string
	N      int64
}

// Tallies are what a batch of events adds to the roll-up: the cells of the cube and its margins.
type Tallies struct {
	Cells   []Count
	Margins []Margin
}

// Tally counts events by the rules, one Count per cell of the cube and one Margin per margin,
// in no particular order. Events no rule counts are ignored.
func Tally(events []audit.Event) Tallies {
	cells := map[key]int64{}
	for i := range events {
		c, ok := Classify(&events[i])
		if !ok {
			continue
		}
		cells[key{c.Day.UnixMicro(), c.Metric, c.Region, c.Department, c.Scenario}] += c.N
	}
	out := Tallies{Cells: make([]Count, 0, len(cells))}
	type mkey struct {
		grain  Grain
		period int64
		metric Metric
		dim    Group
		key    string
	}
	margins := map[mkey]int64{}
	months := map[int64]int64{} // day → its month, computed once per day
	for k, n := range cells {
		day := time.UnixMicro(k.day).UTC()
		out.Cells = append(out.Cells, Count{Day: day, Metric: k.metric, Region: k.region,
			Department: k.department, Scenario: k.scenario, N: n})
		month, ok := months[k.day]
		if !ok {
			y, m, _ := day.In(China).Date()
			month = time.Date(y, m, 1, 0, 0, 0, 0, China).UnixMicro()
			months[k.day] = month
		}
		for _, g := range []struct {
			grain  Grain
			period int64
		}{{Day, k.day}, {Month, month}} {
			margins[mkey{g.grain, g.period, k.metric, GroupNone, ""}] += n
			margins[mkey{g.grain, g.period, k.metric, GroupRegion, k.region}] += n
			margins[mkey{g.grain, g.period, k.metric, GroupDepartment, k.department}] += n
			margins[mkey{g.grain, g.period, k.metric, GroupScenario, k.scenario}] += n
		}
	}
	out.Margins = make([]Margin, 0, len(margins))
	for k, n := range margins {
		out.Margins = append(out.Margins, Margin{Grain: k.grain, Period: time.UnixMicro(k.period).UTC(), Metric: k.metric,
			Dim: k.dim, Key: k.key, N: n})
	}
	return out
}

// Classify returns what one event counts for, by the rules; false when it counts for nothing.
func Classify(e *audit.Event) (Count, bool) {
	r, ok := ruleIndex.lookup(e.Action)
	if !ok {
		return Count{}, false
	}
	var d eventData
	if len(e.Data) > 0 && bytes.IndexByte(e.Data, '{') >= 0 {
		_ = json.Unmarshal(e.Data, &d) // the fields are lenient: a malformed value is left empty
	}
	for _, s := range r.Skip {
		if string(d.Result) == s {
			return Count{}, false
		}
	}
	n := int64(1)
	if r.Count != "" {
		n = int64(d.NotAsked)
		if r.Count != "not_asked" || n <= 0 {
			return Count{}, false
		}
	}
	c := Count{Day: DayOf(e.Time), Metric: r.Metric, N: n,
		Region: RegionOf(e.Subject, string(d.Region)), Scenario: clean(string(d.Scenario), maxScenario)}
	switch r.Department {
	case FromActor:
		c.Department = e.Actor
	case FromSubject:
		c.Department = e.Subject
	case FromDataAuthority:
		c.Department = string(d.Authority)
	case FromDataClient:
		c.Department = string(d.Client)
	case FromDataDept:
		c.Department = string(d.Department)
	}
	c.Department = clean(c.Department, maxDepartment)
	return c, true
}

// Limits of the dimension values kept from events.
const (
	maxDepartment = 128
	maxScenario   = 64
	// maxNotAsked caps what one application may count as not asked for: a service item has
	// tens of materials, so anything larger is a faulty event, counted as the cap.
	maxNotAsked = 1000
)

// clean keeps s as a dimension value: printable, without separators that would break a CSV
// export's meaning, at most max bytes (cut at a character boundary).
func clean(s string, max int) string {
	s = strings.TrimSpace(s)
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return -1
			}
			return r
		}, s)
	}
	return s
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// eventData is what the rules read from an event's data. Fields of an unexpected JSON type are
// left empty instead of failing the whole event.
type eventData struct {
	Authority  lenientString `json:"authority"`
	Client     lenientString `json:"client"`
	Department lenientString `json:"department"`
	Region     lenientString `json:"region"`
	Scenario   lenientString `json:"scenario"`
	Result     lenientString `json:"result"`
	NotAsked   lenientCount  `json:"not_asked"`
}

// lenientString decodes a JSON string; any other value decodes as "".
type lenientString string

func (s *lenientString) UnmarshalJSON(b []byte) error {
	var v string
	if json.Unmarshal(b, &v) == nil {
		*s = lenientString(v)
	}
	return nil
}

// lenientCount decodes a non-negative integer given as a JSON number or a numeric string; any
// other value decodes as 0, and values above maxNotAsked as maxNotAsked.
type lenientCount int64

func (c *lenientCount) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int64(f)) {
			return nil
		}
		n = int64(f)
	}
	*c = lenientCount(min(max(n, 0), maxNotAsked))
	return nil
}
