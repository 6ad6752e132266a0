// Package statstest helps test the statistics against the audit log: a generator of a realistic
// mix of audit events (the actions and data shapes the platform records, plus refused calls,
// events no metric counts and malformed data), and a direct count of a log written from the table
// in docs/statistics.md independently of stats.Rules, which the roll-up must equal.
package statstest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/uscc"
)

// Divisions are the county-level divisions the generated entities are registered in.
var Divisions = []string{"330106", "330110", "330212", "310115", "310104", "110108", "110105", "440305",
	"440106", "510107", "320102", "320506", "330000", "100000"}

// Scenarios are the scenario codes of the generated applications.
var Scenarios = []string{"market_entry", "tax", "bank_account", "social_insurance", "real_estate",
	"investment", "construction", "livelihood"}

// Gen generates audit events. Its zero value is not usable; call NewGen.
type Gen struct {
	rng         *rand.Rand
	divisions   []string
	byProvince  map[string][]string // entity codes by province (first two digits)
	byCity      map[string][]string // entity codes by city (first four digits)
	codes       []string            // entity credit codes
	clients     []string            // client IDs of departments' systems and portals
	clientRegs  []string            // division of each client
	authorities []string            // registering authorities' credit codes
	t           time.Time
	step        time.Duration
	n           int
}

// NewGen returns a generator of events starting at start, step apart, about entities entities,
// clients clients and an authority per division. The same seed gives the same events.
func NewGen(seed uint64, start time.Time, step time.Duration, entities, clients int) *Gen {
	return NewGenIn(seed, start, step, entities, clients, Divisions)
}

// NewGenIn is NewGen with the entities and clients spread over divisions.
func NewGenIn(seed uint64, start time.Time, step time.Duration, entities, clients int, divisions []string) *Gen {
	g := &Gen{rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), t: start.UTC(), step: step, divisions: divisions,
		byProvince: map[string][]string{}, byCity: map[string][]string{}}
	for i, d := range divisions {
		g.authorities = append(g.authorities, mustCode('1', '1', d, fmt.Sprintf("MB%06d", i+1)))
	}
	for i := range entities {
		d := divisions[i%len(divisions)]
		cat := byte('1')
		if i%5 == 0 {
			cat = '2'
		}
		c := mustCode('9', cat, d, fmt.Sprintf("MA%06X", i+1))
		g.codes = append(g.codes, c)
		g.byProvince[d[:2]] = append(g.byProvince[d[:2]], c)
		g.byCity[d[:4]] = append(g.byCity[d[:4]], c)
	}
	for i := range clients {
		g.clients = append(g.clients, fmt.Sprintf("client%04d", i))
		g.clientRegs = append(g.clientRegs, divisions[(i*7)%len(divisions)])
	}
	return g
}

// ManyDivisions returns n synthetic county-level divisions spread over the provinces of
// GB/T 2260 (three cities each), for benchmarks at the scale of a national platform.
func ManyDivisions(n int) []string {
	provs := []string{"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
		"42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65"}
	out := make([]string, n)
	for i := range out {
		p := provs[i%len(provs)]
		city := 1 + (i/len(provs))%3
		county := 2 + i/(len(provs)*3)
		out[i] = fmt.Sprintf("%s%02d%02d", p, city, county)
	}
	return out
}

func mustCode(dept, cat byte, div, org string) string {
	c, err := uscc.Generate(dept, cat, div, org)
	if err != nil {
		panic(err) // the arguments are always well formed
	}
	return c
}

// Clients returns the client IDs the generator uses (it registers each with an
// oidc.client_register event when Register is called).
func (g *Gen) Clients() []string { return g.clients }

// ClientRegion returns the division of the generator's client id ("" for another ID).
func (g *Gen) ClientRegion(id string) string {
	for i, c := range g.clients {
		if c == id {
			return g.clientRegs[i]
		}
	}
	return ""
}

// Register returns the registration events of the generator's clients.
func (g *Gen) Register() []audit.Event {
	out := make([]audit.Event, len(g.clients))
	for i, id := range g.clients {
		out[i] = g.event("oidc.client_register", "account:op", id, map[string]any{
			"name": "系统 " + id, "department": "部门" + id[len(id)-2:], "region": g.clientRegs[i],
			"grant_types": []string{"client_credentials"}})
	}
	return out
}

// Events returns the next n events.
func (g *Gen) Events(n int) []audit.Event {
	out := make([]audit.Event, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

func (g *Gen) event(action, actor, subject string, data map[string]any) audit.Event {
	b, _ := json.Marshal(data)
	e := audit.Event{Time: g.t, Action: action, Actor: actor, Subject: subject, Data: b}
	g.n++
	g.t = g.t.Add(g.step)
	return e
}

// Next returns one event of the mix.
func (g *Gen) Next() audit.Event {
	r := g.rng
	ci := r.IntN(len(g.clients))
	client := g.clients[ci]
	// Departments and portals mostly serve the entities of their own city, sometimes of their
	// province; one in ten (banks, national portals) serves every region alike.
	code := g.codes[r.IntN(len(g.codes))]
	if ci%10 != 0 {
		home := g.clientRegs[ci]
		switch x := r.IntN(100); {
		case x < 90 && len(g.byCity[home[:4]]) > 0:
			own := g.byCity[home[:4]]
			code = own[r.IntN(len(own))]
		case x < 98 && len(g.byProvince[home[:2]]) > 0:
			own := g.byProvince[home[:2]]
			code = own[r.IntN(len(own))]
		}
	}
	person := fmt.Sprintf("person:P%05d", r.IntN(50000))
	purpose := func(result string) map[string]any {
		return map[string]any{"use_cause": "办理业务", "service_item": "ITEM-" + client[len(client)-2:],
			"case_number": fmt.Sprintf("CASE-%d", g.n), "result": result}
	}
	pick := func(vs ...string) string { return vs[r.IntN(len(vs))] }
	switch x := r.IntN(100); {
	case x < 22:
		auth := g.authorities[indexOf(g.divisions, code[2:8])]
		return g.event("license.issue", "account:reg", code, map[string]any{"identifier": "1.2.156.3005.2.x",
			"version": 1, "authority": auth, "status": "active"})
	case x < 25:
		return g.event(pick("license.change", "license.suspend", "license.cancel"), "account:reg", code,
			map[string]any{"version": 2})
	case x < 30:
		return g.event("identity.claim", person, code, map[string]any{"identifier": "1.2.156.3005.2.x", "version": 1})
	case x < 33:
		return g.event(pick("identity.register", "identity.device_add", "identity.pin_set", "identity.grant"), person, person, nil)
	case x < 48:
		return g.event("identity.login_confirm", person, code, map[string]any{"qr": "Q", "client": client,
			"client_name": "门户 " + client, "role": "holder"})
	case x < 62:
		act := pick("share.verify", "share.verify", "share.verify_file", "share.verify_qr")
		res := pick("result:0", "result:0", "result:7", "result:5", "denied")
		return g.event(act, client, code, purpose(res))
	case x < 76:
		act := pick("share.query", "share.query", "share.list", "share.download")
		res := pick("ok", "ok", "ok", "denied", "not_found", "none")
		return g.event(act, client, code, purpose(res))
	case x < 82:
		return g.event("share.archive", client, code, purpose(pick("ok", "ok", "ok", "denied")))
	case x < 84:
		return g.event("share.permission", "account:op", client, map[string]any{"type_code": "T"})
	case x < 88:
		return g.event("catalog.apply.start", person, code, map[string]any{"item": "I"})
	case x < 97:
		d := map[string]any{"item": "ITEM", "scenario": Scenarios[r.IntN(len(Scenarios))],
			"region": code[2:8], "department": client}
		switch y := r.IntN(20); {
		case y == 0: // malformed: no count
		case y == 1:
			d["not_asked"] = fmt.Sprint(r.IntN(6)) // a number given as a string
		case y == 2:
			d["not_asked"] = -3 // never subtracts
		default:
			d["not_asked"] = r.IntN(8)
		}
		return g.event("catalog.apply.submit", person, code, d)
	default:
		// Subjects that are no credit code: a division in the data, or nothing at all.
		if r.IntN(2) == 0 {
			return g.event("catalog.apply.submit", person, "APP-"+fmt.Sprint(g.n),
				map[string]any{"scenario": "tax", "region": g.divisions[r.IntN(len(g.divisions))], "not_asked": 2})
		}
		return g.event("share.verify_file", client, "", purpose("result:6"))
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return 0
}

// Counts is a direct count of a log.
type Counts struct {
	Metric       map[string]int64    // metric → n
	MetricDay    map[[2]string]int64 // {metric, day YYYY-MM-DD (China)} → n
	MetricRegion map[[2]string]int64 // {metric, city-level region} → n
	MetricDept   map[[2]string]int64 // {metric, department} → n
	MetricScen   map[[2]string]int64 // {metric, scenario} → n
	Events       int64               // events read
}

// NewCounts returns empty counts.
func NewCounts() *Counts {
	return &Counts{Metric: map[string]int64{}, MetricDay: map[[2]string]int64{}, MetricRegion: map[[2]string]int64{},
		MetricDept: map[[2]string]int64{}, MetricScen: map[[2]string]int64{}}
}

var china = time.FixedZone("UTC+8", 8*3600)

// Add counts one event by the table of docs/statistics.md.
func (c *Counts) Add(e *audit.Event) {
	c.Events++
	var d map[string]any
	_ = json.Unmarshal(e.Data, &d)
	str := func(k string) string { s, _ := d[k].(string); return s }
	result := str("result")
	var metric, dept string
	n := int64(1)
	switch a := e.Action; {
	case a == "license.issue":
		metric, dept = "issued", str("authority")
	case a == "identity.claim":
		metric = "claimed"
	case a == "identity.login_confirm":
		metric, dept = "logins", str("client")
	case a == "oidc.client_register":
		metric, dept = "portals", e.Subject
	case strings.HasPrefix(a, "share.verify") && result != "denied":
		metric, dept = "verifications", e.Actor
	case (strings.HasPrefix(a, "share.query") || a == "share.list" || a == "share.download") &&
		result != "denied" && result != "not_found" && result != "none":
		metric, dept = "shared", e.Actor
	case a == "share.archive" && result != "denied" && result != "not_found" && result != "none":
		metric, dept = "archived", e.Actor
	case a == "catalog.apply.submit":
		metric, dept = "not_asked", str("department")
		switch v := d["not_asked"].(type) {
		case float64:
			n = int64(v)
		case string:
			fmt.Sscan(v, &n)
		default:
			n = 0
		}
		if n <= 0 {
			return
		}
	default:
		return
	}
	region := "unknown"
	s := e.Subject
	switch {
	case len(s) == 18 && digits(s[2:8]):
		region = city(s[2:8])
	case len(s) == 15 && digits(s):
		region = city(s[:6])
	case len(str("region")) == 6 && digits(str("region")):
		region = city(str("region"))
	}
	day := e.Time.In(china).Format(time.DateOnly)
	c.Metric[metric] += n
	c.MetricDay[[2]string{metric, day}] += n
	c.MetricRegion[[2]string{metric, region}] += n
	c.MetricDept[[2]string{metric, dept}] += n
	c.MetricScen[[2]string{metric, str("scenario")}] += n
}

func city(d string) string {
	if d == "100000" {
		return d
	}
	return d[:4] + "00"
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Scanner reads the log in order (audit.Store's Scan).
type Scanner interface {
	Scan(ctx context.Context, from int64, fn func(*audit.Event) error) error
}

// Count counts every event of the log with seq in [1, upTo] (upTo 0: all).
func Count(ctx context.Context, s Scanner, upTo int64) (*Counts, error) {
	c := NewCounts()
	errStop := fmt.Errorf("statstest: stop")
	err := s.Scan(ctx, 1, func(e *audit.Event) error {
		if upTo > 0 && e.Seq > upTo {
			return errStop
		}
		c.Add(e)
		return nil
	})
	if err != nil && err != errStop {
		return nil, err
	}
	return c, nil
}
