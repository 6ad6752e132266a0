// Package demo makes the platform's synthetic demo register (演示数据): registering authorities
// of six provinces, their staff accounts, and about a thousand market entities of every kind
// (companies, branches, partnerships, sole proprietorships, 个体工商户 and farmers'
// cooperatives) with valid credit codes (GB 32100), plausible Chinese names, legal
// representatives with valid citizen ID numbers (GB 11643), addresses and business scopes; a
// few of them changed, suspended, cancelled (注销) and revoked (吊销).
//
// Everything is derived from a seed, so the same seed gives the same register. Generate and
// Registrations are pure; Load puts the register into a running platform and is idempotent.
// Registrations, WriteCSV and WriteJSONL also stream a million rows for the bulk benchmark.
// No row describes a real entity or person.
package demo

import (
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/elicense/elicense/internal/importer"
	"github.com/elicense/elicense/internal/license"
)

// fate is what happens to an entity after its licence is issued.
type fate int

const (
	fateNone fate = iota
	fateChange
	fateChange2
	fateSuspend
	fateSuspendRestore
	fateCancel
	fateRevoke
	fateRevokeCancel
	fateChangeCancel
	numFates
)

// fatePerMille is how often each fate happens, per thousand entities.
var fatePerMille = [numFates]int{0, 30, 8, 12, 8, 25, 12, 6, 6}

// Random streams of the generator, so that entity data, fates and steps vary independently.
const (
	fateStream = 0x66617465
	stepStream = 0x73746570
)

// Generate returns n entities of the demo register for seed, with unique names, and the
// change registrations and status actions that Load applies to some of them. When n is large
// enough (a few dozen), at least one entity has each fate: changed once and twice, suspended,
// suspended and restored, cancelled, revoked, revoked and then cancelled, changed and then
// cancelled. The registrations are those of Registrations(seed, n, nil) except where a
// name had to be made again to keep names unique.
func Generate(seed int64, n int) []Entity {
	if n <= 0 {
		return nil
	}
	g := newGenerator(seed, nil)
	drafts := make([]draft, n)
	names := make(map[string]bool, n)
	for i := range drafts {
		d := g.entity(i, 0)
		for attempt := 1; names[d.reg.Face.Name] && attempt < 100; attempt++ {
			d = g.entity(i, attempt)
		}
		names[d.reg.Face.Name] = true
		drafts[i] = d
	}

	fates := make([]fate, n)
	var have [numFates]bool
	for i := range fates {
		x := g.rng(fateStream, i, 0).IntN(1000)
		for f := fate(1); f < numFates; f++ {
			if x < fatePerMille[f] {
				fates[i] = f
				break
			}
			x -= fatePerMille[f]
		}
		have[fates[i]] = true
	}
	// Make sure every fate shows, taking entities that have none, from the end.
	j := n - 1
	for f := fate(1); f < numFates; f++ {
		if have[f] {
			continue
		}
		for j >= 0 && fates[j] != fateNone {
			j--
		}
		if j < 0 {
			break
		}
		fates[j] = f
		j--
	}

	out := make([]Entity, n)
	for i := range drafts {
		d := &drafts[i]
		out[i] = Entity{Registration: d.reg, AuthorityName: d.authName, Steps: g.steps(i, d, fates[i])}
	}
	return out
}

// steps makes the change registrations and status actions of a fate.
func (g *generator) steps(i int, d *draft, f fate) []Step {
	if f == fateNone {
		return nil
	}
	r := g.rng(stepStream, i, 0)
	cur := d.reg
	var steps []Step
	change := func() {
		next := g.change(r, d, cur)
		steps = append(steps, Step{Change: &next})
		cur = next
	}
	status := func(a license.Action, reasons []string) {
		steps = append(steps, Step{Status: a, Reason: pick(r, reasons)})
	}
	cancel := cancelReasons[string(d.reg.Kind)]
	switch f {
	case fateChange:
		change()
	case fateChange2:
		change()
		change()
	case fateSuspend:
		status(license.Suspend, suspendReasons)
	case fateSuspendRestore:
		status(license.Suspend, suspendReasons)
		status(license.Restore, restoreReasons)
	case fateCancel:
		status(license.Cancel, cancel)
	case fateRevoke:
		status(license.Revoke, revokeReasons)
	case fateRevokeCancel:
		status(license.Revoke, revokeReasons)
		status(license.Cancel, cancelReasons["revoked"])
	case fateChangeCancel:
		change()
		status(license.Cancel, cancel)
	}
	return steps
}

// changeYear is the year change registrations are written in (the scope in the style after
// the reform).
var changeYear = time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)

// change makes a change registration (变更登记) of cur: a new address, business scope, person,
// registered capital or name, as the kind of entity allows.
func (g *generator) change(r *rand.Rand, d *draft, cur license.Registration) license.Registration {
	next := cur
	if cur.Face.Capital != nil {
		c := *cur.Face.Capital
		next.Face.Capital = &c
	}
	what := []string{"address", "scope"}
	switch cur.Kind {
	case license.Company:
		what = append(what, "person", "capital", "name")
	case license.Branch, license.Partnership:
		what = append(what, "person")
	case license.Cooperative:
		what = append(what, "person", "capital")
	}
	for try := 0; try < 20; try++ {
		switch pick(r, what) {
		case "address":
			switch cur.Kind {
			case license.Cooperative:
				next.Face.Address = ruralAddress(r, d.loc, d.town)
			default:
				next.Face.Address = address(r, d.loc, cur.Kind == license.Individual)
			}
		case "scope":
			switch cur.Kind {
			case license.Individual:
				next.Face.Scope = scopeText(changeYear, choose(r, d.shop.scope, len(d.shop.scope)), nil, "、")
			case license.Cooperative:
				next.Face.Scope = scopeText(changeYear, append(append([]string{}, d.prod.scope...), coopCommon...), nil, "；")
			default:
				next.Face.Scope = industryScope(r, d.ind, changeYear, 3, 10)
			}
		case "person":
			p := newPerson(r, g.home(r, d.loc), d.estTime)
			next.Face.Person, next.PersonID = p.name, p.id
		case "capital":
			v, err := strconv.ParseFloat(next.Face.Capital.Amount, 64)
			if err == nil {
				next.Face.Capital.Amount = strconv.FormatFloat(v*float64(2+r.IntN(4)), 'f', -1, 64)
			}
		case "name":
			next.Face.Name = g.companyName(r, d.form, d.ind, d.loc, d.auth)
		}
		if !sameRegistration(&next, &cur) {
			break
		}
	}
	return next
}

func sameRegistration(a, b *license.Registration) bool {
	ca, cb := a.Face.Capital, b.Face.Capital
	fa, fb := a.Face, b.Face
	fa.Capital, fb.Capital = nil, nil
	sameCap := (ca == nil) == (cb == nil) && (ca == nil || *ca == *cb)
	return fa == fb && sameCap && a.PersonID == b.PersonID
}

// ExportFirst is the first entity of the import files WriteCSV and WriteJSONL make. Entities
// from there on never share a credit code with the demo register of Generate (which starts at
// 0), so a file imports cleanly into a platform that has the demo data, and the demo data loads
// into a platform that imported a file.
const ExportFirst = 1 << 22

// WriteCSV writes the registrations of n synthetic entities for seed as an import file in CSV
// (docs/import.md), registered with the demo's authorities, and returns the rows written.
// Load (or EnsureAuthorities) must have created the authorities before the file is imported.
// A million rows take a few seconds and no memory; names may repeat in large files.
func WriteCSV(w io.Writer, seed int64, n int) (int64, error) {
	return importer.WriteCSV(w, stream(seed, ExportFirst, n, nil))
}

// WriteJSONL is WriteCSV in JSON Lines.
func WriteJSONL(w io.Writer, seed int64, n int) (int64, error) {
	return importer.WriteJSONL(w, stream(seed, ExportFirst, n, nil))
}
