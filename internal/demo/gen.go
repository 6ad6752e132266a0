package demo

import (
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/citizen"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/uscc"
)

// DefaultSeed and DefaultN make the standard demo register.
const (
	DefaultSeed = 20240601
	DefaultN    = 1200
)

// LongScope is the length (in characters) a long business scope reaches at least; about one
// company in forty has one.
const LongScope = 2000

// Entity is one market entity of the demo register: its first registration, and what happens
// to it afterwards.
type Entity struct {
	Registration  license.Registration
	AuthorityName string // 登记机关
	Steps         []Step // applied in order after the licence is issued
}

// Step is a change registration or a status action applied to an entity.
type Step struct {
	Change *license.Registration // the registration after a change registration (变更登记), or nil
	Status license.Action        // a status action when Change is nil
	Reason string                // the reason of the status action
}

// Authorities returns the registering authorities of the demo register (登记机关 of six
// provinces, from province to district level), with credit codes made by GB 32100 for
// department 1 (机构编制), category 1.
func Authorities() []keys.Authority {
	out := make([]keys.Authority, len(authoritySpecs))
	for i, s := range authoritySpecs {
		out[i] = keys.Authority{Code: authorityCode(s.at.code), Name: s.name, Region: s.at.code}
	}
	return out
}

func authorityCode(division string) string {
	code, err := uscc.Generate('1', '1', division, "00"+division)
	if err != nil {
		panic("demo: authority code: " + err.Error()) // the table holds 6-digit divisions
	}
	return code
}

// authCtx is a registering authority as the generator uses it.
type authCtx struct {
	code, name string
	at         place
	level      int
	subs       []place
	towns      []string
	products   []product
}

// locate picks where an entity registered here is located.
func (a *authCtx) locate(r *rand.Rand) place {
	if len(a.subs) > 0 {
		return a.subs[r.IntN(len(a.subs))]
	}
	return a.at
}

// generator makes entities deterministically: entity i depends only on the seed and i, so a
// stream of a million rows needs no memory and any row can be made again.
type generator struct {
	seed   uint64
	auths  []*authCtx
	byKind map[license.Kind][]*authCtx
	// districts are the county-level divisions in the table, by province (first two digits).
	districts map[string][]place
	// Bijections i → (i·a + b) mod m make the organisation code bodies unique per row.
	numA, numB, maA, maB, regA, regB uint64
}

const (
	numSpace = 100_000_000                 // 8 digits: organisation codes of entities before 2015
	maSpace  = 31 * 31 * 31 * 31 * 31 * 31 // "MA" + 6 symbols: codes given since 2015
	regSpace = 100_000_000                 // 8 digits of serial in a legacy registration number
)

const uscc31 = "0123456789ABCDEFGHJKLMNPQRTUWXY"

func splitmix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ x>>30) * 0xBF58476D1CE4E5B9
	x = (x ^ x>>27) * 0x94D049BB133111EB
	return x ^ x>>31
}

// coprime returns a multiplier for a bijection mod m, avoiding m's prime factors.
func coprime(x, m uint64, factors ...uint64) uint64 {
	a := x%(m-1) + 1
	for {
		ok := true
		for _, f := range factors {
			if a%f == 0 {
				ok = false
			}
		}
		if ok {
			return a
		}
		a = a%(m-1) + 1
	}
}

func newGenerator(seed int64, authorities []keys.Authority) *generator {
	s := uint64(seed)
	g := &generator{seed: s, byKind: map[license.Kind][]*authCtx{}, districts: map[string][]place{}}
	g.numA, g.numB = coprime(splitmix(s^1), numSpace, 2, 5), splitmix(s^2)%numSpace
	g.maA, g.maB = coprime(splitmix(s^3), maSpace, 31), splitmix(s^4)%maSpace
	g.regA, g.regB = coprime(splitmix(s^5), regSpace, 2, 5), splitmix(s^6)%regSpace
	if authorities == nil {
		for i := range authoritySpecs {
			sp := &authoritySpecs[i]
			g.auths = append(g.auths, &authCtx{code: authorityCode(sp.at.code), name: sp.name, at: sp.at,
				level: sp.level, subs: sp.subs, towns: sp.towns, products: sp.products})
		}
	} else {
		for _, a := range authorities {
			g.auths = append(g.auths, contextFor(a))
		}
	}
	seen := map[string]bool{}
	for _, a := range g.auths {
		for _, p := range append([]place{a.at}, a.subs...) {
			if isDistrict(p) && !seen[p.code] {
				seen[p.code] = true
				g.districts[p.code[:2]] = append(g.districts[p.code[:2]], p)
			}
		}
		for _, k := range license.Kinds {
			if eligible(a, k) {
				g.byKind[k] = append(g.byKind[k], a)
			}
		}
	}
	return g
}

// contextFor describes an authority that is not in the demo's table from its region.
func contextFor(a keys.Authority) *authCtx {
	for i := range authoritySpecs {
		if sp := &authoritySpecs[i]; sp.at.code == a.Region {
			return &authCtx{code: a.Code, name: a.Name, at: sp.at, level: sp.level, subs: sp.subs,
				towns: sp.towns, products: sp.products}
		}
	}
	prov := ""
	if len(a.Region) >= 2 {
		prov = provinceNames[a.Region[:2]]
	}
	if prov == "" {
		prov = "某省"
	}
	c := &authCtx{code: a.Code, name: a.Name, at: place{code: a.Region, province: prov}, level: district}
	switch {
	case strings.HasSuffix(a.Region, "0000"):
		c.level = provincial
	case strings.HasSuffix(a.Region, "00"):
		c.level = municipal
	default:
		c.towns = []string{"城关镇", "新街镇", "双桥镇", "石门镇"}
		c.products = []product{prVegetable, prFruit, prTea}
	}
	return c
}

// eligible tells which kinds of entity an authority registers: provincial authorities the
// large companies and their branches, district authorities everything local, rural districts
// also farmers' cooperatives.
func eligible(a *authCtx, k license.Kind) bool {
	switch k {
	case license.Company, license.Branch:
		return true
	case license.Partnership:
		return a.level >= municipal
	case license.SoleProprietorship:
		return a.level >= municipal
	case license.Individual:
		return a.level == district
	case license.Cooperative:
		return a.level == district && len(a.towns) > 0
	}
	return false
}

// kindWeights: how common each kind is, per hundred entities.
var kindWeights = []struct {
	kind   license.Kind
	weight int
}{
	{license.Company, 38}, {license.Individual, 24}, {license.Branch, 10},
	{license.Partnership, 8}, {license.SoleProprietorship, 10}, {license.Cooperative, 10},
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

var (
	firstDay = time.Date(1998, 1, 1, 0, 0, 0, 0, time.UTC)
	lastDay  = time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
)

// established picks a date of establishment, more recent ones more likely (as in the register).
func established(r *rand.Rand) time.Time {
	days := lastDay.Sub(firstDay).Hours() / 24
	return firstDay.AddDate(0, 0, int(days*math.Sqrt(r.Float64())))
}

// person is someone named on a licence.
type person struct {
	name, id string
}

// newPerson makes a person with a plausible name and a valid GB 11643 ID number: address code
// of a district in the province, a birth date making them 22 to 60 at est, an odd sequence
// for men and an even one for women, and the MOD 11-2 check character.
func newPerson(r *rand.Rand, home place, est time.Time) person {
	male := r.IntN(2) == 0
	given := pick(r, givenFemale)
	if male {
		given = pick(r, givenMale)
	}
	name := string(pick(r, surnames)) + given
	birth := est.AddDate(-(22 + r.IntN(39)), 0, -r.IntN(365))
	seq := r.IntN(500)*2 + 1
	if !male {
		seq--
	}
	first17 := home.code + birth.Format("20060102") + fmt.Sprintf("%03d", seq)
	c, err := citizen.CheckChar(first17)
	if err != nil {
		panic("demo: ID number: " + err.Error()) // first17 is 17 digits by construction
	}
	return person{name: name, id: first17 + string(c)}
}

func tradeName(r *rand.Rand) string {
	a := tradeFirst[r.IntN(len(tradeFirst))]
	b := tradeLast[r.IntN(len(tradeLast))]
	for b == a {
		b = tradeLast[r.IntN(len(tradeLast))]
	}
	return string([]rune{a, b})
}

func street(r *rand.Rand, p place) string {
	if s, ok := districtStreets[p.code]; ok {
		return pick(r, s)
	}
	if s, ok := streets[p.short()]; ok {
		return pick(r, s)
	}
	return pick(r, commonStreets)
}

// address makes an urban address: 浙江省杭州市西湖区文三路478号3幢1201室.
func address(r *rand.Rand, p place, shopFront bool) string {
	var b strings.Builder
	b.WriteString(p.full())
	b.WriteString(street(r, p))
	b.WriteString(strconv.Itoa(1 + r.IntN(999)))
	b.WriteString("号")
	if shopFront {
		switch r.IntN(4) {
		case 0:
			b.WriteString("一楼")
		case 1:
			fmt.Fprintf(&b, "%d号商铺", 1+r.IntN(30))
		}
		return b.String()
	}
	switch r.IntN(4) {
	case 0:
		fmt.Fprintf(&b, "%d幢%d%02d室", 1+r.IntN(12), 1+r.IntN(25), 1+r.IntN(20))
	case 1:
		fmt.Fprintf(&b, "%d层", 1+r.IntN(30))
	case 2:
		fmt.Fprintf(&b, "%d号楼%d层%d室", 1+r.IntN(9), 1+r.IntN(20), 1+r.IntN(30))
	}
	return b.String()
}

// ruralAddress makes a village address: 浙江省湖州市安吉县溪龙乡黄杜村58号.
func ruralAddress(r *rand.Rand, p place, town string) string {
	return p.full() + town + pick(r, villages) + strconv.Itoa(1+r.IntN(300)) + "号"
}

// The closing sentences of business scopes: before the 2021 reform of scope registration
// (经营范围规范表述) and after it.
const (
	approvalOld     = "（依法须经批准的项目，经相关部门批准后方可开展经营活动）"
	approvalGeneral = "（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）。"
	approvalLicence = "（依法须经批准的项目，经相关部门批准后方可开展经营活动，具体经营项目以审批结果为准）。"
	reformYear      = 2021
)

// choose returns k distinct phrases of pool in random order.
func choose(r *rand.Rand, pool []string, k int) []string {
	k = min(k, len(pool))
	idx := r.Perm(len(pool))[:k]
	out := make([]string, k)
	for i, j := range idx {
		out[i] = pool[j]
	}
	return out
}

// scopeText writes a business scope (经营范围) in the style of its year: phrases joined with
// 、 (；for cooperatives, whose phrases contain 、) and the approval sentence before the reform;
// 一般项目 and 许可项目 after it.
func scopeText(est time.Time, general, licensed []string, sep string) string {
	if est.Year() < reformYear {
		return strings.Join(append(append([]string{}, licensed...), general...), sep) + approvalOld
	}
	s := ""
	if len(licensed) > 0 {
		s = "许可项目：" + strings.Join(licensed, "；") + approvalLicence
	}
	return s + "一般项目：" + strings.Join(general, "；") + approvalGeneral
}

func industryScope(r *rand.Rand, ind *industry, est time.Time, min, max int) string {
	general := choose(r, ind.general, min+r.IntN(max-min+1))
	var licensed []string
	if len(ind.licensed) > 0 && r.IntN(3) == 0 {
		licensed = choose(r, ind.licensed, 1+r.IntN(len(ind.licensed)))
	}
	return scopeText(est, general, licensed, "、")
}

// longScope gathers phrases of every industry until the scope has at least LongScope
// characters, as the scopes of diversified groups do.
func longScope(r *rand.Rand, ind *industry, est time.Time) string {
	seen := map[string]bool{}
	var general []string
	n := 0
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			general = append(general, p)
			n += utf8.RuneCountInString(p) + 1
		}
	}
	for _, p := range ind.general {
		add(p)
	}
	var licensed []string
	for _, j := range r.Perm(len(allIndustries)) {
		other := allIndustries[j]
		for _, k := range r.Perm(len(other.general)) {
			add(other.general[k])
		}
		licensed = append(licensed, other.licensed...)
		if n >= LongScope+100 {
			break
		}
	}
	if n < LongScope+100 {
		for _, p := range licensed {
			add(p)
		}
		licensed = nil
	}
	if len(licensed) > 4 {
		licensed = licensed[:4]
	}
	return scopeText(est, general, licensed, "、")
}

// term makes a business term (营业期限) from the date of establishment: without end (长期) in
// longShare per cent of cases, otherwise a number of years that has not run out yet.
func term(r *rand.Rand, est time.Time, longShare int, years []int) (from, to string) {
	from = est.Format(time.DateOnly)
	if r.IntN(100) < longShare {
		return from, license.LongTerm
	}
	y := pick(r, years)
	for est.AddDate(y, 0, 0).Before(lastDay.AddDate(2, 0, 0)) {
		y += 10
	}
	return from, est.AddDate(y, 0, -1).Format(time.DateOnly)
}

// orgBody returns the organisation code body (positions 9–16) of entity i: eight digits for
// entities established before 2015, "MA" and six symbols after (as codes are given now).
func (g *generator) orgBody(i int, est time.Time) string {
	if est.Year() < 2015 {
		x := (uint64(i)%numSpace*g.numA + g.numB) % numSpace
		return fmt.Sprintf("%08d", x)
	}
	x := (uint64(i)%maSpace*g.maA + g.maB) % maSpace
	var b [8]byte
	b[0], b[1] = 'M', 'A'
	for k := 7; k >= 2; k-- {
		b[k] = uscc31[x%31]
		x /= 31
	}
	return string(b[:])
}

// regNo returns a legacy 15-digit registration number (注册号) of an individual business:
// the authority's division, an eight-digit serial, and the ISO 7064 MOD 11,10 check digit.
func (g *generator) regNo(i int, division string) string {
	x := (uint64(i)%regSpace*g.regA + g.regB) % regSpace
	first14 := division + fmt.Sprintf("%08d", x)
	c, err := uscc.RegNoCheckDigit(first14)
	if err != nil {
		panic("demo: registration number: " + err.Error())
	}
	return first14 + string(c)
}

func (g *generator) code(i int, dept, category byte, division string, est time.Time) string {
	c, err := uscc.Generate(dept, category, division, g.orgBody(i, est))
	if err != nil {
		panic("demo: credit code: " + err.Error())
	}
	return c
}

func (g *generator) rng(stream uint64, i int, attempt int) *rand.Rand {
	return rand.New(rand.NewPCG(g.seed^stream, uint64(i)|uint64(attempt)<<40))
}

// draft is an entity being made, with what a later change needs.
type draft struct {
	reg      license.Registration
	auth     *authCtx
	loc      place
	ind      *industry
	form     *companyForm
	town     string
	prod     product
	shop     shop
	estTime  time.Time
	authName string
}

// entity makes entity i (attempt > 0 makes another one in its place, for unique names).
func (g *generator) entity(i, attempt int) draft {
	r := g.rng(0, i, attempt)
	kind := license.Company
	w := r.IntN(100)
	for _, kw := range kindWeights {
		if w < kw.weight {
			kind = kw.kind
			break
		}
		w -= kw.weight
	}
	if len(g.byKind[kind]) == 0 {
		kind = license.Company
	}
	a := pick(r, g.byKind[kind])
	d := draft{auth: a, authName: a.name, loc: a.locate(r), estTime: established(r)}
	est := d.estTime
	reg := &d.reg
	reg.Kind = kind
	reg.Authority = a.code
	reg.Region = d.loc.code
	reg.Face.EstablishedOn = est.Format(time.DateOnly)
	p := newPerson(r, g.home(r, d.loc), est)
	reg.Face.Person, reg.PersonID = p.name, p.id

	switch kind {
	case license.Company:
		forms := localForms
		if a.level == provincial {
			forms = provincialForms
		}
		d.form = pick(r, forms)
		d.ind = pick(r, companyIndustries)
		reg.Code = g.code(i, '9', '1', a.at.code, est)
		reg.Face.Name = g.companyName(r, d.form, d.ind, d.loc, a)
		reg.Face.Type = d.form.typ
		reg.Face.Capital = &license.Capital{Amount: pick(r, d.form.capital), Currency: pick(r, d.form.currency)}
		years := []int{10, 20, 20, 30, 50}
		if d.form.foreign {
			years = []int{30, 50}
		}
		reg.Face.TermFrom, reg.Face.TermTo = term(r, est, 65, years)
		reg.Face.Address = address(r, d.loc, false)
		if r.IntN(40) == 0 {
			reg.Face.Scope = longScope(r, d.ind, est)
		} else {
			reg.Face.Scope = industryScope(r, d.ind, est, 3, 12)
		}

	case license.Branch:
		d.form = pick(r, branchForms)
		d.ind = pick(r, companyIndustries)
		reg.Code = g.code(i, '9', '1', a.at.code, est)
		parent := g.companyName(r, d.form, d.ind, g.auths[r.IntN(len(g.auths))].locate(r), nil)
		branch := d.loc.short()
		if d.loc.district != "" && r.IntN(2) == 0 {
			branch += d.loc.districtShort()
		}
		if strings.HasPrefix(parent, d.loc.short()) {
			// A branch in the parent's own city is named after its district or its number.
			branch = d.loc.districtShort()
			if branch == "" {
				branch = pick(r, []string{"第一", "第二", "城东", "城西", "营销"})
			}
		}
		reg.Face.Name = parent + branch + "分公司"
		reg.Face.Type = d.form.branchType
		reg.Face.TermFrom, reg.Face.TermTo = term(r, est, 75, []int{20, 30})
		reg.Face.Address = address(r, d.loc, false)
		reg.Face.Scope = industryScope(r, d.ind, est, 2, 8)

	case license.Partnership:
		d.ind = &indInvestment
		switch r.IntN(5) {
		case 0:
			d.ind = &indConsulting
		case 1:
			d.ind = pick(r, companyIndustries)
		}
		reg.Code = g.code(i, '9', '1', a.at.code, est)
		if r.IntN(4) == 0 {
			reg.Face.Name = d.loc.short() + tradeName(r) + pick(r, d.ind.words) + "合伙企业（普通合伙）"
			reg.Face.Type = "普通合伙企业"
		} else {
			reg.Face.Name = d.loc.short() + tradeName(r) + pick(r, d.ind.words) + "合伙企业（有限合伙）"
			reg.Face.Type = "有限合伙企业"
		}
		reg.Face.TermFrom, reg.Face.TermTo = term(r, est, 40, []int{5, 10, 15, 20, 30})
		reg.Face.Address = address(r, d.loc, false)
		reg.Face.Scope = industryScope(r, d.ind, est, 2, 6)

	case license.SoleProprietorship:
		d.ind = pick(r, companyIndustries)
		reg.Code = g.code(i, '9', '1', a.at.code, est)
		reg.Face.Name = d.loc.short() + tradeName(r) + pick(r, d.ind.words) + pick(r, []string{"商行", "经营部", "服务部", "工作室"})
		reg.Face.Type = "个人独资企业"
		reg.Face.Address = address(r, d.loc, false)
		reg.Face.Scope = industryScope(r, d.ind, est, 2, 6)

	case license.Individual:
		d.shop = pick(r, shops)
		if est.Year() < 2014 && r.IntN(6) == 0 {
			reg.Code = g.regNo(i, a.at.code)
		} else {
			reg.Code = g.code(i, '9', '2', a.at.code, est)
		}
		prefix := d.loc.district
		if r.IntN(3) == 0 {
			prefix = d.loc.city + d.loc.district
			if d.loc.city == "" {
				prefix = d.loc.province + d.loc.district
			}
		}
		var zihao string
		given := []rune(p.name)[1:]
		switch k := r.IntN(10); {
		case k < 4:
			zihao = "老" + string([]rune(p.name)[:1])
		case k < 7 && len(given) == 2:
			zihao = string(given)
		default:
			zihao = tradeName(r)
		}
		reg.Face.Name = prefix + zihao + d.shop.name
		reg.Face.Type = "个体工商户"
		reg.Face.Form = license.FormPersonal
		if r.IntN(4) == 0 {
			reg.Face.Form = license.FormFamily
		}
		reg.Face.Address = address(r, d.loc, true)
		reg.Face.Scope = scopeText(est, choose(r, d.shop.scope, 2+r.IntN(len(d.shop.scope)-1)), nil, "、")

	case license.Cooperative:
		d.town = pick(r, a.towns)
		d.prod = pick(r, a.products)
		reg.Code = g.code(i, '9', '3', a.at.code, est)
		var mid string
		switch r.IntN(4) {
		case 0, 1:
			mid = d.town
		case 2:
			mid = pick(r, villages)
		default:
			mid = tradeName(r)
		}
		reg.Face.Name = d.loc.district + mid + d.prod.name + "专业合作社"
		reg.Face.Type = "农民专业合作社"
		reg.Face.Capital = &license.Capital{Amount: pick(r, []string{"5", "10", "20", "30", "50", "100", "120", "200", "300", "500"}), Currency: "CNY"}
		reg.Face.Address = ruralAddress(r, d.loc, d.town)
		general := append(append([]string{}, d.prod.scope...), coopCommon...)
		reg.Face.Scope = scopeText(est, general, nil, "；")
	}
	return d
}

// isDistrict reports whether p is a county-level division (区县), not a city or province.
func isDistrict(p place) bool { return p.code[4:] != "00" }

// home picks the district of a person's ID number (GB 11643 address code): mostly where the
// entity is, otherwise another district of the same province.
func (g *generator) home(r *rand.Rand, loc place) place {
	if isDistrict(loc) && r.IntN(10) < 7 {
		return loc
	}
	same := g.districts[loc.code[:2]]
	if len(same) == 0 {
		return loc // the code of the province or city is still a valid address code
	}
	return pick(r, same)
}

// companyName makes an enterprise name (企业名称): 行政区划 + 字号 + 行业 + 组织形式.
func (g *generator) companyName(r *rand.Rand, f *companyForm, ind *industry, loc place, a *authCtx) string {
	region := loc.short()
	if a != nil && a.level == provincial && r.IntN(5) < 3 {
		region = a.at.short()
	}
	zihao := tradeName(r)
	switch {
	case f == &formState:
		return region + zihao + f.suffix
	case f.foreign:
		return zihao + pick(r, ind.words) + "（" + region + "）" + f.suffix
	}
	return region + zihao + pick(r, ind.words) + f.suffix
}

// Registrations streams the first registrations of n entities of the demo register for seed,
// registered with the given authorities (nil: the demo's own, see Authorities). Row i depends
// only on the seed and i, so a million rows take a few seconds and no memory; names may repeat
// in very large streams (Generate keeps them unique).
func Registrations(seed int64, n int, authorities []keys.Authority) iter.Seq[license.Registration] {
	return stream(seed, 0, n, authorities)
}

// stream yields the registrations of entities first, first+1, … first+n-1.
func stream(seed int64, first, n int, authorities []keys.Authority) iter.Seq[license.Registration] {
	return func(yield func(license.Registration) bool) {
		if n <= 0 {
			return
		}
		g := newGenerator(seed, authorities)
		if len(g.auths) == 0 {
			return
		}
		for i := first; i < first+n; i++ {
			if !yield(g.entity(i, 0).reg) {
				return
			}
		}
	}
}
