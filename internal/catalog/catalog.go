// Package catalog is the service catalogue (事项材料目录, issue 6): for each service item (政务服务
// 事项 or a bank's or utility's service) the department that handles it, the region and scenario it
// belongs to, and the materials it needs. A material is a licence type of the licence library or an
// ordinary document; it is classified as an identity credential (身份类) or a qualification (资质类),
// with or without an archive need (需要存档), and the rule for how it is satisfied follows from that
// classification (DeriveRule): an identity credential or a licence that must be archived is fetched
// as its sealed file into the case; a qualification without an archive need is checked only for
// existence and validity by a data check; an ordinary document is uploaded.
//
// Match tells, for an entity's licences, which materials are already satisfied and how, which
// need the entity's consent, and which must still be uploaded: the once-only counter ("materials
// not asked for") counts the materials the entity did not have to hand in. The Service imports and
// exports the catalogue as JSON and CSV (format.go), serves it, loads the starter catalogue
// (starter.go) and runs applications (办件, apply.go).
//
// The package is a domain package: no SQL, no HTTP. internal/store implements Store,
// internal/web serves it under /api/v1/catalog/ and /admin/catalog, and docs/catalog.md describes
// the model, the file formats and the decisions.
package catalog

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/uscc"
)

// Scenario is the life event of an enterprise a service item belongs to (应用场景).
type Scenario string

// The scenarios of the starter catalogue (issue 6), in the order pages list them.
const (
	MarketEntry     Scenario = "market_entry"     // 市场准入
	Tax             Scenario = "tax"              // 纳税申报
	BankAccount     Scenario = "bank_account"     // 银行开户
	SocialInsurance Scenario = "social_insurance" // 社保缴纳
	RealEstate      Scenario = "real_estate"      // 不动产登记
	Investment      Scenario = "investment"       // 企业投资
	Construction    Scenario = "construction"     // 建设工程
	Livelihood      Scenario = "livelihood"       // 民生事务
)

// Scenarios lists every scenario in display order.
var Scenarios = []Scenario{MarketEntry, Tax, BankAccount, SocialInsurance, RealEstate, Investment, Construction, Livelihood}

var scenarioNames = map[Scenario][2]string{
	MarketEntry:     {"市场准入", "Market entry"},
	Tax:             {"纳税申报", "Tax filing"},
	BankAccount:     {"银行开户", "Bank account opening"},
	SocialInsurance: {"社保缴纳", "Social insurance"},
	RealEstate:      {"不动产登记", "Real estate registration"},
	Investment:      {"企业投资", "Enterprise investment"},
	Construction:    {"建设工程", "Construction projects"},
	Livelihood:      {"民生事务", "Livelihood services"},
}

// Name returns the scenario's name in zh-CN and English ("" for an unknown scenario).
func (s Scenario) Name() (zh, en string) {
	n := scenarioNames[s]
	return n[0], n[1]
}

// Valid reports whether s is one of Scenarios.
func (s Scenario) Valid() bool { _, ok := scenarioNames[s]; return ok }

// index is the position of s in Scenarios (len(Scenarios) for an unknown one).
func (s Scenario) index() int {
	for i, x := range Scenarios {
		if x == s {
			return i
		}
	}
	return len(Scenarios)
}

// Class is how the notice classifies a material.
type Class string

// The classes of materials.
const (
	Identity      Class = "identity"      // 身份类证照: proves who the entity is
	Qualification Class = "qualification" // 资质类证照: proves it may do something
)

// Rule is how a material is satisfied in a case.
type Rule string

// The rules.
const (
	// Fetch: the licence's sealed file is fetched from the library into the case (identity
	// credentials, and licences that must be archived).
	Fetch Rule = "fetch"
	// Check: the licence is checked for existence and validity by a data check, no file
	// (qualifications without an archive need).
	Check Rule = "check"
	// Upload: an ordinary document the applicant uploads.
	Upload Rule = "upload"
)

// Department is who handles a service item.
type Department struct {
	Name string `json:"name"` // e.g. 国家税务总局杭州市西湖区税务局
	Code string `json:"code"` // its unified social credit code
}

// Material is one thing a service item needs.
type Material struct {
	Code   string `json:"code"` // unique within the item, [A-Za-z0-9._:-]{1,64}
	Name   string `json:"name"`
	NameEN string `json:"name_en,omitempty"`
	// LicenceType is the type code of a licence of the library (the business licence's, or
	// another type's: defining authority's credit code + 3 digits); "" for an ordinary document.
	LicenceType string `json:"licence_type,omitempty"`
	// Class is identity or qualification; required for a licence, optional for a document.
	Class    Class `json:"class,omitempty"`
	Archive  bool  `json:"archive"`  // 需要存档: the department keeps a copy
	Required bool  `json:"required"` // optional materials are asked for only when they apply
	// Rule is derived from LicenceType, Class and Archive (DeriveRule); an import may state it,
	// and then it must agree.
	Rule Rule `json:"rule"`
}

// Item is a service item (事项) and the materials it needs.
type Item struct {
	Code       string     `json:"code"` // 事项编码, [A-Za-z0-9._:-]{1,64}, as in sharing's service_item
	Name       string     `json:"name"`
	NameEN     string     `json:"name_en,omitempty"`
	Department Department `json:"department"`
	// Region is where the item is offered: a GB/T 2260 division (6 digits), "000000" for the
	// whole country. An item of 330000 applies in every division of Zhejiang.
	Region    string     `json:"region"`
	Scenario  Scenario   `json:"scenario"`
	Materials []Material `json:"materials"`
}

// National is the region of an item offered in the whole country.
const National = "000000"

// Limits of the catalogue.
const (
	MaxCode      = 64  // item and material codes
	MaxName      = 100 // characters of a zh-CN name
	MaxNameEN    = 200 // characters of an English name
	MaxMaterials = 50  // materials of one item
)

// DeriveRule is the rule of the notice for a material: an identity credential or a licence that
// must be archived is fetched; a qualification without an archive need is checked; a document
// without a licence type is uploaded.
func DeriveRule(m *Material) Rule {
	switch {
	case m.LicenceType == "":
		return Upload
	case m.Class == Identity || m.Archive:
		return Fetch
	default:
		return Check
	}
}

// ValidCode reports whether s is a well-formed item or material code: 1 to 64 letters, digits
// and . _ - : (the alphabet of sharing's service_item).
func ValidCode(s string) bool {
	if s == "" || len(s) > MaxCode {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == ':') {
			return false
		}
	}
	return true
}

// provinces are the first two digits of GB/T 2260 divisions.
var provinces = map[string]bool{
	"11": true, "12": true, "13": true, "14": true, "15": true, "21": true, "22": true, "23": true,
	"31": true, "32": true, "33": true, "34": true, "35": true, "36": true, "37": true,
	"41": true, "42": true, "43": true, "44": true, "45": true, "46": true,
	"50": true, "51": true, "52": true, "53": true, "54": true,
	"61": true, "62": true, "63": true, "64": true, "65": true, "71": true, "81": true, "82": true,
}

// ValidRegion reports whether s is National or a 6-digit GB/T 2260 division of a province.
func ValidRegion(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < 6; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s == National || provinces[s[:2]]
}

// RegionsOf returns the regions whose items apply in division: the country, its province, its
// city and itself (330106 → 000000, 330000, 330100, 330106), without duplicates.
func RegionsOf(division string) []string {
	out := []string{National}
	for _, r := range []string{division[:2] + "0000", division[:4] + "00", division} {
		if r != out[len(out)-1] && r != National {
			out = append(out, r)
		}
	}
	return out
}

// Namer names the field at fault for an error: JSON paths (items[3].materials[1].class) or CSV
// positions (row 7, column class). material is -1 for a field of the item itself.
type Namer func(item, material int, field string) string

// JSONNamer names fields by their JSON path.
func JSONNamer(item, material int, field string) string {
	if material < 0 {
		return fmt.Sprintf("items[%d].%s", item, field)
	}
	return fmt.Sprintf("items[%d].materials[%d].%s", item, material, field)
}

// maxErrors is how many errors one import reports; the last one says how many more there were.
const maxErrors = 1000

// validator collects every problem of a catalogue.
type validator struct {
	name Namer
	list errs.List
	more int
}

func (v *validator) add(item, material int, field, zh, en string, args ...any) {
	if len(v.list) >= maxErrors {
		v.more++
		return
	}
	v.list = append(v.list, errs.Invalidf(v.name(item, material, field), zh, en, args...))
}

// addText adds a problem whose two messages are already written.
func (v *validator) addText(item, material int, field, zh, en string) {
	if len(v.list) >= maxErrors {
		v.more++
		return
	}
	v.list = append(v.list, errs.New(errs.Invalid, v.name(item, material, field), zh, en))
}

func (v *validator) err() error {
	if v.more > 0 {
		v.list = append(v.list, errs.Invalidf("", "另有 %d 处错误未列出", "%d more errors not listed", v.more))
	}
	return v.list.Err()
}

// text checks a name: trimmed, at most limit characters, no control characters.
func (v *validator) text(item, material int, field string, s *string, required bool, limit int) {
	*s = strings.TrimSpace(*s)
	n := utf8.RuneCountInString(*s)
	switch {
	case n == 0 && required:
		v.add(item, material, field, "不能为空", "is required")
	case n > limit:
		v.add(item, material, field, "过长（%d 个字符，上限 %d）", "is too long (%d characters, limit %d)", n, limit)
	case !utf8.ValidString(*s):
		v.add(item, material, field, "不是有效的 UTF-8 文本", "is not valid UTF-8 text")
	default:
		if i := strings.IndexFunc(*s, unicode.IsControl); i >= 0 {
			r, _ := utf8.DecodeRuneInString((*s)[i:])
			v.add(item, material, field, "第 %d 个字符是控制字符 %U", "character %d is the control character %U",
				utf8.RuneCountInString((*s)[:i])+1, r)
		}
	}
}

// code checks an item or material code and names the first character not allowed.
func (v *validator) code(item, material int, field string, s *string) {
	*s = strings.TrimSpace(*s)
	switch {
	case *s == "":
		v.add(item, material, field, "不能为空", "is required")
	case len(*s) > MaxCode:
		v.add(item, material, field, "编码过长（%d 个字符，上限 %d）", "the code is too long (%d characters, limit %d)", utf8.RuneCountInString(*s), MaxCode)
	case !ValidCode(*s):
		for i, r := range *s {
			if r > unicode.MaxASCII || !ValidCode(string(r)) {
				v.add(item, material, field, "第 %d 个字符 %q 不允许：编码只能由字母、数字和 ._-: 组成",
					"character %d (%q) is not allowed: a code holds letters, digits and ._-: only", utf8.RuneCountInString((*s)[:i])+1, r)
				break
			}
		}
	}
}

// TypeCodeLen is the length of a licence type code: a credit code and 3 digits (STANDARDS §2).
const TypeCodeLen = uscc.Len + 3

// checkTypeCode validates a licence type code and returns it normalised, or the problem.
func checkTypeCode(s string) (string, *errs.Error) {
	n := uscc.Normalize(s)
	if l := utf8.RuneCountInString(n); l != TypeCodeLen {
		return n, errs.Invalidf("", "证照类型代码应为 21 个字符（定义机关统一社会信用代码 + 3 位数字），收到 %d 个",
			"a licence type code has 21 characters (the defining authority's credit code and 3 digits), got %d", l)
	}
	for i := uscc.Len; i < TypeCodeLen; i++ {
		if n[i] < '0' || n[i] > '9' {
			return n, errs.Invalidf("", "证照类型代码第 %d 位应为数字，收到 %q", "position %d of a licence type code must be a digit, got %q", i+1, n[i:i+1])
		}
	}
	if err := uscc.Check(n[:uscc.Len]); err != nil {
		if p, ok := err.(*uscc.Problem); ok {
			return n, errs.New(errs.Invalid, "", "证照类型代码的定义机关代码有误："+p.MessageZH(),
				"the defining authority's code in the licence type code is wrong: "+p.MessageEN())
		}
		return n, errs.Invalidf("", "证照类型代码有误", "the licence type code is wrong")
	}
	return n, nil
}

// validate normalises items in place (trimming, upper-case codes, derived rules) and returns
// every problem, named by name. known, if not nil, is asked whether a licence type exists.
func validate(items []Item, name Namer, known func(typeCode string) bool) error {
	v := &validator{name: name}
	seen := make(map[string]int, len(items))
	for i := range items {
		it := &items[i]
		v.code(i, -1, "code", &it.Code)
		if first, dup := seen[it.Code]; dup && it.Code != "" {
			v.add(i, -1, "code", "事项编码 %s 重复（与第 %d 个事项相同）", "the item code %s appears twice (as item %d)", it.Code, first)
		} else {
			seen[it.Code] = i
		}
		v.text(i, -1, "name", &it.Name, true, MaxName)
		v.text(i, -1, "name_en", &it.NameEN, false, MaxNameEN)
		v.text(i, -1, "department.name", &it.Department.Name, true, MaxName)
		it.Department.Code = uscc.Normalize(it.Department.Code)
		if it.Department.Code == "" {
			v.add(i, -1, "department.code", "不能为空", "is required")
		} else if err := uscc.Check(it.Department.Code); err != nil {
			if p, ok := err.(*uscc.Problem); ok {
				v.addText(i, -1, "department.code", "部门统一社会信用代码有误："+p.MessageZH(), "the department's credit code is wrong: "+p.MessageEN())
			}
		}
		it.Region = strings.TrimSpace(it.Region)
		if !ValidRegion(it.Region) {
			v.add(i, -1, "region", "行政区划代码应为 6 位数字（GB/T 2260，全国为 000000），收到 %q",
				"the region must be a 6-digit division code (GB/T 2260; 000000 for the whole country), got %q", it.Region)
		}
		it.Scenario = Scenario(strings.TrimSpace(string(it.Scenario)))
		if !it.Scenario.Valid() {
			v.add(i, -1, "scenario", "应用场景 %q 未知，可选：%s", "unknown scenario %q; one of: %s", string(it.Scenario), scenarioList())
		}
		switch n := len(it.Materials); {
		case n == 0:
			v.add(i, -1, "materials", "至少需要一项材料", "at least one material is required")
		case n > MaxMaterials:
			v.add(i, -1, "materials", "材料过多（%d 项，上限 %d）", "too many materials (%d, limit %d)", n, MaxMaterials)
		}
		mseen := make(map[string]int, len(it.Materials))
		for j := range it.Materials {
			m := &it.Materials[j]
			v.code(i, j, "code", &m.Code)
			if first, dup := mseen[m.Code]; dup && m.Code != "" {
				v.add(i, j, "code", "材料编码 %s 在本事项中重复（与第 %d 项相同）", "the material code %s appears twice in this item (as material %d)", m.Code, first)
			} else {
				mseen[m.Code] = j
			}
			v.text(i, j, "name", &m.Name, true, MaxName)
			v.text(i, j, "name_en", &m.NameEN, false, MaxNameEN)
			if m.LicenceType = strings.TrimSpace(m.LicenceType); m.LicenceType != "" {
				n, e := checkTypeCode(m.LicenceType)
				m.LicenceType = n
				switch {
				case e != nil:
					v.addText(i, j, "licence_type", e.ZH, e.EN)
				case known != nil && !known(n):
					v.add(i, j, "licence_type", "证照目录中没有类型 %s", "the licence library has no type %s", n)
				}
			}
			m.Class = Class(strings.TrimSpace(string(m.Class)))
			switch {
			case m.Class == "" && m.LicenceType != "":
				v.add(i, j, "class", "证照材料须注明分类：identity（身份类）或 qualification（资质类）",
					"a licence needs its class: identity or qualification")
			case m.Class != "" && m.Class != Identity && m.Class != Qualification:
				v.add(i, j, "class", "分类 %q 未知，可选：identity（身份类）、qualification（资质类）",
					"unknown class %q; one of: identity, qualification", string(m.Class))
			}
			want := DeriveRule(m)
			m.Rule = Rule(strings.TrimSpace(string(m.Rule)))
			switch {
			case m.Rule == "":
				m.Rule = want
			case m.Rule != Fetch && m.Rule != Check && m.Rule != Upload:
				v.add(i, j, "rule", "规则 %q 未知，可选：fetch、check、upload", "unknown rule %q; one of: fetch, check, upload", string(m.Rule))
			case m.Rule != want:
				v.addText(i, j, "rule", "规则应为 "+string(want)+"："+ruleWhyZH(m), "the rule must be "+string(want)+": "+ruleWhyEN(m))
			}
		}
	}
	return v.err()
}

func ruleWhyZH(m *Material) string {
	switch {
	case m.LicenceType == "":
		return "没有证照类型的材料由申请人上传"
	case m.Class == Identity:
		return "身份类证照调取其电子文件入卷"
	case m.Archive:
		return "需要存档的证照调取其电子文件入卷"
	}
	return "不需存档的资质类证照只做数据核验"
}

func ruleWhyEN(m *Material) string {
	switch {
	case m.LicenceType == "":
		return "a material without a licence type is uploaded"
	case m.Class == Identity:
		return "an identity credential's file is fetched into the case"
	case m.Archive:
		return "a licence that must be archived is fetched into the case"
	}
	return "a qualification without an archive need is checked by data only"
}

func scenarioList() string {
	s := make([]string, len(Scenarios))
	for i, x := range Scenarios {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}

// Validate checks and normalises items as one catalogue (item codes unique), naming every
// problem by its JSON path (items[3].materials[1].class). It returns nil or an errs.List.
func Validate(items []Item) error { return validate(items, JSONNamer, nil) }
