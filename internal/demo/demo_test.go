package demo_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/citizen"
	"github.com/elicense/elicense/internal/demo"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/importer"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/store"
	"github.com/elicense/elicense/internal/uscc"
)

var anyAuthority = license.Actor{ID: "test", AnyAuthority: true}

// validator validates registrations as the licence service does, without storage.
var validator = license.NewService(license.Config{})

// checkRegistration asserts what a demo registration must be: valid for the licence service,
// with a valid code of the right category, a valid ID number of the same province, and an
// authority of the demo.
func checkRegistration(t *testing.T, reg license.Registration, authorities map[string]keys.Authority) {
	t.Helper()
	orig := reg
	if err := validator.Validate(&reg, anyAuthority); err != nil {
		t.Fatalf("%s %s: %v", reg.Code, reg.Face.Name, err)
	}
	if !reflect.DeepEqual(reg, orig) {
		t.Errorf("%s: validation changed the registration:\n%+v\n%+v", orig.Code, orig, reg)
	}
	a, ok := authorities[reg.Authority]
	if !ok {
		t.Fatalf("%s: unknown authority %s", reg.Code, reg.Authority)
	}
	switch len(reg.Code) {
	case 18:
		if err := uscc.Check(reg.Code); err != nil {
			t.Errorf("%s: %v", reg.Code, err)
		}
		if uscc.Division(reg.Code) != a.Region {
			t.Errorf("%s: division %s, authority %s is in %s", reg.Code, uscc.Division(reg.Code), a.Name, a.Region)
		}
	case 15:
		if reg.Kind != license.Individual {
			t.Errorf("%s: registration number for a %s", reg.Code, reg.Kind)
		}
		if err := uscc.CheckRegNo(reg.Code); err != nil {
			t.Errorf("%s: %v", reg.Code, err)
		}
	default:
		t.Errorf("code %q", reg.Code)
	}
	if err := citizen.Check(reg.PersonID); err != nil {
		t.Errorf("%s: person ID %s: %v", reg.Code, reg.PersonID, err)
	}
	if reg.PersonID[:2] != reg.Region[:2] || reg.Region[:2] != a.Region[:2] {
		t.Errorf("%s: person ID %s, region %s, authority region %s are not in one province", reg.Code, reg.PersonID, reg.Region, a.Region)
	}
	birth, _ := time.Parse("20060102", reg.PersonID[6:14])
	est, _ := time.Parse(time.DateOnly, reg.Face.EstablishedOn)
	if age := est.Sub(birth).Hours() / 24 / 365.25; age < 18 || age > 65 {
		t.Errorf("%s: the person was %.0f years old at establishment", reg.Code, age)
	}
	if !strings.HasSuffix(reg.Face.Scope, "（依法须经批准的项目，经相关部门批准后方可开展经营活动）") &&
		!strings.HasSuffix(reg.Face.Scope, "（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）。") {
		t.Errorf("%s: scope ends %q", reg.Code, reg.Face.Scope[max(0, len(reg.Face.Scope)-60):])
	}
	if !strings.HasPrefix(reg.Face.Address, provinceOf(reg.Region)) {
		t.Errorf("%s: address %s is not in region %s", reg.Code, reg.Face.Address, reg.Region)
	}
}

var provinces = map[string]string{"11": "北京市", "31": "上海市", "33": "浙江省", "44": "广东省", "51": "四川省", "32": "江苏省"}

func provinceOf(region string) string { return provinces[region[:2]] }

func authorityMap() map[string]keys.Authority {
	m := map[string]keys.Authority{}
	for _, a := range demo.Authorities() {
		m[a.Code] = a
	}
	return m
}

func TestAuthorities(t *testing.T) {
	as := demo.Authorities()
	if len(as) < 12 {
		t.Fatalf("%d authorities", len(as))
	}
	seen := map[string]bool{}
	for _, a := range as {
		if err := uscc.Check(a.Code); err != nil || a.Code[:2] != "11" || uscc.Division(a.Code) != a.Region {
			t.Errorf("%s %s: code %v", a.Code, a.Name, err)
		}
		if !strings.HasSuffix(a.Name, "市场监督管理局") || seen[a.Code] || seen[a.Region] {
			t.Errorf("authority %+v", a)
		}
		seen[a.Code], seen[a.Region] = true, true
	}
	if !seen["330106"] || !seen["110000"] {
		t.Error("杭州市西湖区 or 北京市 missing")
	}
}

func TestGenerate(t *testing.T) {
	es := demo.Generate(demo.DefaultSeed, demo.DefaultN)
	if len(es) != demo.DefaultN {
		t.Fatalf("%d entities", len(es))
	}
	auths := authorityMap()
	kinds := map[license.Kind]int{}
	provinceKinds := map[string]map[license.Kind]bool{}
	codes, names := map[string]bool{}, map[string]bool{}
	actions := map[string]int{}
	long, foreign, family, legacy, longTerm, changedTwice := 0, 0, 0, 0, 0, 0
	for _, e := range es {
		reg := e.Registration
		checkRegistration(t, reg, auths)
		if e.AuthorityName != auths[reg.Authority].Name {
			t.Errorf("%s: authority name %s", reg.Code, e.AuthorityName)
		}
		kinds[reg.Kind]++
		p := provinceOf(reg.Region)
		if provinceKinds[p] == nil {
			provinceKinds[p] = map[license.Kind]bool{}
		}
		provinceKinds[p][reg.Kind] = true
		if codes[reg.Code] || names[reg.Face.Name] {
			t.Errorf("duplicate code or name: %s %s", reg.Code, reg.Face.Name)
		}
		codes[reg.Code], names[reg.Face.Name] = true, true
		if n := utf8.RuneCountInString(reg.Face.Scope); n >= demo.LongScope {
			long++
		}
		if c := reg.Face.Capital; c != nil && c.Currency != "CNY" {
			foreign++
		}
		if reg.Face.Form == license.FormFamily {
			family++
		}
		if len(reg.Code) == 15 {
			legacy++
		}
		if reg.Face.TermTo == license.LongTerm {
			longTerm++
		}
		changes := 0
		prev := reg
		for _, s := range e.Steps {
			if s.Change != nil {
				changes++
				actions["change"]++
				c := *s.Change
				checkRegistration(t, c, auths)
				if c.Code != reg.Code || c.Kind != reg.Kind || c.Authority != reg.Authority {
					t.Errorf("%s: a change registration changed code, kind or authority", reg.Code)
				}
				if reflect.DeepEqual(c, prev) {
					t.Errorf("%s: a change registration changes nothing", reg.Code)
				}
				prev = c
				continue
			}
			actions[string(s.Status)]++
			if n := utf8.RuneCountInString(s.Reason); n < 2 || n > license.MaxReason {
				t.Errorf("%s: reason %q", reg.Code, s.Reason)
			}
		}
		if changes == 2 {
			changedTwice++
		}
	}
	t.Logf("kinds %v; actions %v; %d long scopes, %d foreign capital, %d family, %d legacy numbers, %d 长期",
		kinds, actions, long, foreign, family, legacy, longTerm)
	for _, k := range license.Kinds {
		if kinds[k] < 40 {
			t.Errorf("only %d entities of kind %s", kinds[k], k)
		}
	}
	if len(provinceKinds) != len(provinces) {
		t.Errorf("provinces: %v", provinceKinds)
	}
	for p, ks := range provinceKinds {
		for _, k := range license.Kinds {
			if !ks[k] {
				t.Errorf("no %s in %s", k, p)
			}
		}
	}
	for _, a := range []string{"change", "suspend", "restore", "cancel", "revoke"} {
		if actions[a] < 3 {
			t.Errorf("only %d %s steps", actions[a], a)
		}
	}
	if long < 5 || foreign < 5 || family < 5 || legacy < 3 || longTerm < 100 || changedTwice < 1 {
		t.Errorf("too few: %d long scopes, %d foreign capital, %d family, %d legacy, %d long-term, %d changed twice",
			long, foreign, family, legacy, longTerm, changedTwice)
	}
}

func TestGenerateEveryFateInSmallRegisters(t *testing.T) {
	for _, n := range []int{20, 57} {
		actions := map[string]bool{}
		for _, e := range demo.Generate(3, n) {
			for _, s := range e.Steps {
				if s.Change != nil {
					actions["change"] = true
				} else {
					actions[string(s.Status)] = true
				}
			}
		}
		if len(actions) != 5 {
			t.Errorf("n=%d: actions %v", n, actions)
		}
	}
}

func TestDeterministic(t *testing.T) {
	a, b := demo.Generate(42, 300), demo.Generate(42, 300)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("Generate(42, 300) differs between two calls")
	}
	c := demo.Generate(43, 300)
	same := 0
	for i := range a {
		if a[i].Registration.Code == c[i].Registration.Code {
			same++
		}
	}
	if same > 3 {
		t.Errorf("seeds 42 and 43 share %d codes", same)
	}
	// A prefix of the register is the smaller register.
	small := demo.Generate(42, 100)
	for i := range small {
		if !reflect.DeepEqual(small[i].Registration, a[i].Registration) {
			t.Fatalf("entity %d differs between n=100 and n=300", i)
		}
	}
	// The stream gives the same registrations, but for names made again to be unique.
	i, renamed := 0, 0
	for reg := range demo.Registrations(42, 300, nil) {
		want := a[i].Registration
		if reg.Face.Name != want.Face.Name {
			renamed++
		} else if !reflect.DeepEqual(reg, want) {
			t.Fatalf("row %d: stream %+v, Generate %+v", i, reg, want)
		}
		i++
	}
	if i != 300 || renamed > 3 {
		t.Errorf("%d rows streamed, %d renamed", i, renamed)
	}
}

func TestRegistrationsOtherAuthorities(t *testing.T) {
	other := []keys.Authority{
		{Name: "福建省市场监督管理局", Region: "350000"},
		{Name: "福州市市场监督管理局", Region: "350100"},
		{Name: "福州市鼓楼区市场监督管理局", Region: "350102"},
		{Name: "杭州市西湖区市场监督管理局", Region: "330106"},
	}
	auths := map[string]keys.Authority{}
	for i := range other {
		code, err := uscc.Generate('1', '1', other[i].Region, "MB"+other[i].Region)
		if err != nil {
			t.Fatal(err)
		}
		other[i].Code = code
		auths[code] = other[i]
	}
	provinces["35"] = "福建省"
	defer delete(provinces, "35")
	kinds := map[license.Kind]bool{}
	for reg := range demo.Registrations(5, 500, other) {
		checkRegistration(t, reg, auths)
		kinds[reg.Kind] = true
	}
	if len(kinds) != len(license.Kinds) {
		t.Errorf("kinds: %v", kinds)
	}
}

func TestRegistrationsStream(t *testing.T) {
	n := 0
	for range demo.Registrations(1, 10, nil) {
		n++
		if n == 4 {
			break
		}
	}
	if n != 4 {
		t.Errorf("stopped after %d rows", n)
	}
	if testing.Short() {
		return
	}
	start := time.Now()
	n = 0
	for range demo.Registrations(1, 200_000, nil) {
		n++
	}
	if d := time.Since(start); n != 200_000 || d > 10*time.Second {
		t.Errorf("%d rows in %s", n, d)
	}
}

func TestWriteFiles(t *testing.T) {
	register := map[string]bool{}
	for _, e := range demo.Generate(9, demo.DefaultN) {
		register[e.Registration.Code] = true
	}
	auths := authorityMap()
	var rows [2][]license.Registration
	for k, f := range []importer.Format{importer.CSV, importer.JSONL} {
		var b, again bytes.Buffer
		write := demo.WriteCSV
		if f == importer.JSONL {
			write = demo.WriteJSONL
		}
		n, err := write(&b, 9, 300)
		if err != nil || n != 300 {
			t.Fatalf("%s: %d rows, %v", f, n, err)
		}
		write(&again, 9, 300)
		if !bytes.Equal(b.Bytes(), again.Bytes()) {
			t.Errorf("%s: two exports of seed 9 differ", f)
		}
		sum, err := importer.Run(context.Background(), &b, importer.Options{Format: f, Actor: anyAuthority},
			collect(func(r license.Registration) { rows[k] = append(rows[k], r) }))
		if err != nil || sum.Failed != 0 || sum.Issued != 300 {
			t.Fatalf("%s: import %+v %v", f, sum, err)
		}
		codes := map[string]bool{}
		for i, r := range rows[k] {
			checkRegistration(t, r, auths)
			if register[r.Code] || codes[r.Code] {
				t.Errorf("%s row %d: %s is in the demo register or twice in the file", f, i+1, r.Code)
			}
			codes[r.Code] = true
		}
	}
	if !reflect.DeepEqual(rows[0], rows[1]) {
		t.Error("the CSV and JSON Lines exports hold different registrations")
	}
}

// collect is an importer.Issuer that validates and collects registrations.
type collect func(license.Registration)

func (c collect) IssueBatch(ctx context.Context, a license.Actor, regs []license.Registration) ([]license.Result, error) {
	res := make([]license.Result, len(regs))
	for i, r := range regs {
		c(r)
		if err := validator.Validate(&r, a); err != nil {
			res[i] = license.Result{Outcome: license.Failed, Err: err}
			continue
		}
		res[i].Outcome = license.Issued
	}
	return res, nil
}

// platform is the real services on a temporary SQLite database.
type platform struct {
	deps     demo.Deps
	licences *license.Service
	accounts *account.Service
}

func newPlatform(t *testing.T) *platform {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "elicense.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key := make([]byte, 16)
	rand.Read(key)
	sealer, err := gm.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	ks := keys.NewService(db, sealer, nil)
	if err := ks.Init(ctx); err != nil {
		t.Fatal(err)
	}
	p := &platform{licences: license.NewService(license.Config{Store: db, Keys: ks}), accounts: account.NewService(db, nil)}
	p.deps = demo.Deps{Keys: ks, Accounts: p.accounts, Licences: p.licences}
	return p
}

func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the demo register into a database (a few seconds)")
	}
	p := newPlatform(t)
	ctx := context.Background()
	opts := demo.Options{Seed: 11, N: 400, Secret: []byte("data directory secret")}
	sum, err := demo.Load(ctx, p.deps, opts)
	if err != nil {
		t.Fatal(err)
	}
	es := demo.Generate(11, 400)
	changes, statuses := 0, 0
	for _, e := range es {
		for _, s := range e.Steps {
			if s.Change != nil {
				changes++
			} else {
				statuses++
			}
		}
	}
	if sum.AlreadyLoaded || sum.Issued != 400 || sum.AlreadyIssued != 0 || sum.Changes != changes ||
		sum.StatusChanges != statuses || sum.AuthoritiesCreated != len(demo.Authorities()) || sum.Skipped != 0 {
		t.Errorf("summary %+v, want %d changes and %d status changes", sum, changes, statuses)
	}
	if len(sum.Accounts) != len(demo.Authorities())+1 {
		t.Fatalf("%d accounts", len(sum.Accounts))
	}
	for _, c := range sum.Accounts {
		if !c.Created || len(c.Password) < account.MinPassword {
			t.Errorf("account %+v", c)
		}
		a, err := p.accounts.Login(ctx, c.Username, c.Password)
		if err != nil {
			t.Fatalf("login %s: %v", c.Username, err)
		}
		if a.Role != c.Role || a.Authority != c.Authority {
			t.Errorf("account %s: role %s authority %s", c.Username, a.Role, a.Authority)
		}
	}
	if sum.Accounts[0].Username != demo.AdminUsername || sum.Accounts[0].Role != account.Operator {
		t.Errorf("first account %+v", sum.Accounts[0])
	}
	if sum.Accounts[1].Password == sum.Accounts[2].Password {
		t.Error("two accounts share a password")
	}

	// Every status, every kind, and the versions of changed entities.
	for _, s := range license.Statuses {
		page, _, err := p.licences.List(ctx, license.Filter{Status: s, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			t.Errorf("no %s licence", s)
		}
	}
	for _, e := range es {
		code := e.Registration.Code
		l, err := p.licences.Get(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		want := license.Active
		version := 1
		for _, s := range e.Steps {
			if s.Change != nil {
				version++
				if l.Face.Name == "" {
					t.Errorf("%s: no name", code)
				}
				continue
			}
			want = map[license.Action]license.Status{license.Suspend: license.Suspended, license.Restore: license.Active,
				license.Cancel: license.Cancelled, license.Revoke: license.Revoked}[s.Status]
		}
		if l.Status != want || l.Version != version {
			t.Errorf("%s: %s version %d, want %s version %d", code, l.Status, l.Version, want, version)
		}
		if version > 1 {
			h, err := p.licences.History(ctx, code)
			if err != nil || len(h) != version || h[0].Status != license.Superseded {
				t.Errorf("%s: history of %d versions, %v", code, len(h), err)
			}
			last := e.Steps[len(e.Steps)-1]
			if last.Change != nil && !reflect.DeepEqual(l.Face, last.Change.Face) {
				t.Errorf("%s: face after the change %+v, want %+v", code, l.Face, last.Change.Face)
			}
		}
		if err := p.licences.VerifySignature(ctx, l); err != nil {
			t.Errorf("%s: %v", code, err)
		}
	}

	// Again: nothing changes, and the passwords are the same.
	again, err := demo.Load(ctx, p.deps, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !again.AlreadyLoaded || again.Issued != 0 || again.AlreadyIssued != 400 || again.Changes != 0 || again.StatusChanges != 0 ||
		again.AuthoritiesExisting != len(demo.Authorities()) {
		t.Errorf("second load %+v", again)
	}
	for i, c := range again.Accounts {
		if c.Created || c.Password != sum.Accounts[i].Password {
			t.Errorf("second load, account %+v", c)
		}
	}
	// An export of the same seed imports next to the demo register.
	var file bytes.Buffer
	if _, err := demo.WriteCSV(&file, 11, 200); err != nil {
		t.Fatal(err)
	}
	isum, err := importer.Run(ctx, &file, importer.Options{Format: importer.CSV, Actor: anyAuthority}, p.licences)
	if err != nil || isum.Issued != 200 || isum.Failed != 0 {
		t.Errorf("import of an export next to the demo data: %+v %v", isum, err)
	}

	var out bytes.Buffer
	again.Print(&out)
	if !strings.Contains(out.String(), "already loaded") || !strings.Contains(out.String(), sum.Accounts[0].Password) {
		t.Errorf("summary printed:\n%s", out.String())
	}
}

// failing lets the n-th call of Change or SetStatus fail, as an interrupted Load would.
type failing struct {
	demo.LicenceService
	n, calls int
}

var errInterrupted = errors.New("interrupted")

func (f *failing) step() error {
	f.calls++
	if f.calls == f.n {
		return errInterrupted
	}
	return nil
}

func (f *failing) Change(ctx context.Context, a license.Actor, code string, prev int, reg license.Registration) (*license.Licence, error) {
	if err := f.step(); err != nil {
		return nil, err
	}
	return f.LicenceService.Change(ctx, a, code, prev, reg)
}

func (f *failing) SetStatus(ctx context.Context, a license.Actor, code string, ch license.StatusChange) (*license.Licence, error) {
	if err := f.step(); err != nil {
		return nil, err
	}
	return f.LicenceService.SetStatus(ctx, a, code, ch)
}

func TestLoadResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the demo register into a database")
	}
	p := newPlatform(t)
	ctx := context.Background()
	opts := demo.Options{Seed: 5, N: 150}
	deps := p.deps
	deps.Licences = &failing{LicenceService: p.licences, n: 6}
	if _, err := demo.Load(ctx, deps, opts); !errors.Is(err, errInterrupted) {
		t.Fatalf("interrupted load: %v", err)
	}
	sum, err := demo.Load(ctx, p.deps, opts)
	if err != nil {
		t.Fatal(err)
	}
	steps := 0
	for _, e := range demo.Generate(5, 150) {
		steps += len(e.Steps)
	}
	if sum.AlreadyLoaded || sum.Issued != 0 || sum.AlreadyIssued != 150 || sum.Changes+sum.StatusChanges != steps-5 || sum.Skipped != 0 {
		t.Errorf("resumed load %+v, want %d steps", sum, steps-5)
	}
	// Without a secret, existing accounts' passwords are unknown.
	for _, c := range sum.Accounts {
		if c.Created || c.Password != "" {
			t.Errorf("account %+v", c)
		}
	}
	if _, _, err := demo.EnsureAuthorities(ctx, p.deps.Keys, nil); err != nil {
		t.Error(err)
	}
	// An entity whose licence someone else changed is left alone.
	var victim *demo.Entity
	es := demo.Generate(5, 150)
	for i := range es {
		if st := es[i].Steps; len(st) == 1 && st[0].Status == license.Suspend {
			victim = &es[i]
			break
		}
	}
	if victim == nil {
		t.Fatal("no entity that is only suspended")
	}
	if _, err := p.licences.SetStatus(ctx, anyAuthority, victim.Registration.Code,
		license.StatusChange{Action: license.Restore, Reason: "核查无误，恢复使用"}); err != nil {
		t.Fatal(err)
	}
	sum, err = demo.Load(ctx, p.deps, opts)
	if err != nil || !sum.AlreadyLoaded || sum.Skipped != 1 {
		t.Errorf("load after an outside change: %+v %v", sum, err)
	}
	if l, err := p.licences.Get(ctx, victim.Registration.Code); err != nil || l.Status != license.Active {
		t.Errorf("the restored licence was touched: %+v %v", l, err)
	}
}
