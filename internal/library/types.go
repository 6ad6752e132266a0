package library

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/uscc"
)

// Limits of a type's schema.
const (
	MaxItems        = 100   // face items per type
	MaxOptions      = 200   // values of an enum
	MaxIssuers      = 1000  // departments per type
	DefaultMaxLen   = 500   // characters of a text item without MaxLen
	MaxItemLen      = 10000 // the largest MaxLen
	MaxValidity     = 100   // years
	maxTypeName     = 100
	maxLabel        = 60
	maxKey          = 40
	maxOptionLength = 100
)

var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Config configures a Service.
type Config struct {
	Store    Store
	Keys     Keys
	Licences Licences
	Clock    func() time.Time // defaults to time.Now
	Allow    uscc.AllowList   // issued credit codes that fail a check but are accepted
	// BusinessLicenceDefiner is the name of the authority that defines the business licence
	// (default 国家市场监督管理总局).
	BusinessLicenceDefiner string
}

// Service is the enterprise licence library. All rules live here so that every store behaves
// the same.
type Service struct {
	store    Store
	keys     Keys
	licences Licences
	clock    func() time.Time
	codes    uscc.Validator
	definer  string
}

// NewService returns the library.
func NewService(c Config) *Service {
	s := &Service{store: c.Store, keys: c.Keys, licences: c.Licences, clock: c.Clock,
		codes: uscc.Validator{Allow: c.Allow}, definer: c.BusinessLicenceDefiner}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.definer == "" {
		s.definer = "国家市场监督管理总局"
	}
	return s
}

func (s *Service) now() time.Time { return s.clock().UTC().Truncate(time.Second) }

// BusinessLicence returns the built-in type of the e-business licence (电子营业执照): its type
// code is the licence service's, its items the face items of C0135-2019 (STANDARDS §3), and its
// issuers are the registering authorities (an empty list here: the licence service decides).
func (s *Service) BusinessLicence() *Type {
	code := s.licences.TypeCode()
	definedBy := code
	if len(code) == 21 {
		definedBy = code[:18]
	}
	text := func(key, zh, en string, required bool, max int) Item {
		return Item{Key: key, LabelZH: zh, LabelEN: en, Kind: Text, Required: required, Public: true, MaxLen: max}
	}
	return &Type{
		Code: code, Name: "电子营业执照", NameEN: "Electronic business licence",
		DefinedBy: definedBy, DefinedByName: s.definer, Issuers: []string{}, Class: Identity, BuiltIn: true,
		Items: []Item{
			text("name", "名称", "Name", true, 200),
			text("type", "类型", "Type", true, 100),
			text("person", "法定代表人（负责人、经营者）", "Legal representative (person in charge, operator)", true, 60),
			text("capital", "注册资本", "Registered capital", false, 40),
			text("form", "组成形式", "Form of organisation", false, 10),
			{Key: "established_on", LabelZH: "成立日期", LabelEN: "Date of establishment", Kind: Date, Required: true, Public: true},
			text("term", "营业期限", "Business term", false, 40),
			text("address", "住所（经营场所）", "Domicile (business premises)", true, 300),
			text("scope", "经营范围", "Business scope", true, 10000),
		},
	}
}

// validateType normalises t and checks it; every problem is reported at once, naming its field
// (items[2].key, issuers[0], …).
func (s *Service) validateType(ctx context.Context, t *Type) error {
	var list errs.List
	add := func(field, zh, en string, args ...any) {
		list = append(list, errs.Invalidf(field, zh, en, args...))
	}
	// add2 takes messages formatted apart, for arguments that differ between the languages.
	add2 := func(field, zh, en string) { list = append(list, errs.New(errs.Invalid, field, zh, en)) }
	t.Code = uscc.Normalize(t.Code)
	t.DefinedBy = uscc.Normalize(t.DefinedBy)
	if err := s.checkCredit("defined_by", "证照定义机构代码", "the defining authority's code", t.DefinedBy); err != nil {
		list = append(list, err)
	}
	// GB/T 36904: the type code is the defining authority's credit code and three digits.
	switch {
	case t.Code == "":
		add("code", "证照类型代码不能为空", "the type code is required")
	case len(t.Code) != 21 || !allDigits(t.Code[18:]):
		add("code", "证照类型代码应为证照定义机构的统一社会信用代码加 3 位数字（共 21 位），收到 %q",
			"the type code must be the defining authority's credit code followed by 3 digits (21 characters), got %q", t.Code)
	default:
		if err := s.checkCredit("code", "证照类型代码前 18 位", "the first 18 characters of the type code", t.Code[:18]); err != nil {
			list = append(list, err)
		} else if t.DefinedBy != "" && t.Code[:18] != t.DefinedBy {
			add("code", "证照类型代码前 18 位 %s 应为证照定义机构代码 %s", "the type code's first 18 characters %s must be the defining authority's code %s",
				t.Code[:18], t.DefinedBy)
		}
		if t.Code == s.licences.TypeCode() {
			add("code", "%s 是电子营业执照的类型代码，已内置", "%s is the type code of the business licence, which is built in", t.Code)
		}
	}
	text := func(field, zhName, enName string, v *string, max int, required bool) {
		*v = strings.TrimSpace(*v)
		n := utf8.RuneCountInString(*v)
		switch {
		case *v == "" && required:
			add2(field, zhName+"不能为空", enName+" is required")
		case !utf8.ValidString(*v):
			add2(field, zhName+"不是有效的 UTF-8 文本", enName+" is not valid UTF-8 text")
		case n > max:
			add2(field, fmt.Sprintf("%s最多 %d 个字符，实际 %d 个", zhName, max, n),
				fmt.Sprintf("%s may have at most %d characters, got %d", enName, max, n))
		default:
			if i, r := controlAt(*v); i > 0 {
				add2(field, fmt.Sprintf("%s第 %d 个字符 %U 不允许", zhName, i, r),
					fmt.Sprintf("%s: character %d (%U) is not allowed", enName, i, r))
			}
		}
	}
	text("name", "证照类型名称", "the type's name", &t.Name, maxTypeName, true)
	text("name_en", "证照类型英文名称", "the type's English name", &t.NameEN, maxTypeName, true)
	text("defined_by_name", "证照定义机构名称", "the defining authority's name", &t.DefinedByName, maxTypeName, true)
	switch t.Class {
	case Identity, Qualification:
	case "":
		add("class", "请选择证照类别：identity（身份类）或 qualification（资格资质类）", "the class is required: identity or qualification")
	default:
		add("class", "证照类别 %q 未知，应为 identity 或 qualification", "unknown class %q: want identity or qualification", t.Class)
	}
	if t.ValidityYears < 0 || t.ValidityYears > MaxValidity {
		add("validity_years", "最长有效期应在 0 到 %d 年之间（0 表示不限）", "validity_years must be between 0 and %d (0: no maximum)", MaxValidity)
	}
	if t.BuiltIn {
		add("built_in", "只有电子营业执照是内置类型", "only the business licence is built in")
	}

	// Issuers: existing departments, each once.
	if len(t.Issuers) == 0 {
		add("issuers", "至少需要一个发证部门", "at least one issuing department is required")
	}
	if len(t.Issuers) > MaxIssuers {
		add("issuers", "发证部门不能超过 %d 个", "at most %d issuing departments", MaxIssuers)
	}
	seen := map[string]int{}
	for i := range t.Issuers {
		field := fmt.Sprintf("issuers[%d]", i)
		t.Issuers[i] = uscc.Normalize(t.Issuers[i])
		code := t.Issuers[i]
		if j, ok := seen[code]; ok {
			add(field, "发证部门 %s 与 issuers[%d] 重复", "issuing department %s repeats issuers[%d]", code, j)
			continue
		}
		seen[code] = i
		if err := s.checkCredit(field, "发证部门代码", "the issuing department's code", code); err != nil {
			list = append(list, err)
			continue
		}
		if _, err := s.keys.Authority(ctx, code); errs.Is(err, errs.NotFound) {
			add(field, "发证部门 %s 不存在（请先创建发证部门及其证书）", "issuing department %s does not exist (create it with its certificate first)", code)
		} else if err != nil {
			return fmt.Errorf("library: issuer %s: %w", code, err)
		}
	}

	// Items: the schema.
	if len(t.Items) == 0 {
		add("items", "至少需要一个照面项", "at least one face item is required")
	}
	if len(t.Items) > MaxItems {
		add("items", "照面项不能超过 %d 个", "at most %d face items", MaxItems)
	}
	itemKeys := map[string]int{}
	for i := range t.Items {
		it := &t.Items[i]
		f := fmt.Sprintf("items[%d]", i)
		it.Key = strings.TrimSpace(it.Key)
		switch {
		case it.Key == "":
			add(f+".key", "照面项的键不能为空", "the item's key is required")
		case len(it.Key) > maxKey || !keyPattern.MatchString(it.Key):
			add(f+".key", "照面项的键 %q 应为小写字母开头、由小写字母、数字和 _ 组成（最多 %d 个字符）",
				"the item's key %q must be a lower-case letter followed by lower-case letters, digits and _ (at most %d characters)", it.Key, maxKey)
		default:
			if j, ok := itemKeys[it.Key]; ok {
				add(f+".key", "照面项的键 %q 与 items[%d] 重复", "the item's key %q repeats items[%d]", it.Key, j)
			} else {
				itemKeys[it.Key] = i
			}
		}
		text(f+".label_zh", "中文标签", "the Chinese label", &it.LabelZH, maxLabel, true)
		text(f+".label_en", "英文标签", "the English label", &it.LabelEN, maxLabel, true)
		switch it.Kind {
		case Text, Date, Number:
			if len(it.Options) > 0 {
				add(f+".options", "只有 enum 类照面项有可选值", "only enum items have options")
			}
		case Enum:
			if len(it.Options) == 0 {
				add(f+".options", "enum 类照面项至少需要一个可选值", "an enum item needs at least one option")
			}
			if len(it.Options) > MaxOptions {
				add(f+".options", "可选值不能超过 %d 个", "at most %d options", MaxOptions)
			}
			opts := map[string]int{}
			for k := range it.Options {
				of := fmt.Sprintf("%s.options[%d]", f, k)
				text(of, "可选值", "the option", &it.Options[k], maxOptionLength, true)
				if j, ok := opts[it.Options[k]]; ok && it.Options[k] != "" {
					add(of, "可选值 %q 与 options[%d] 重复", "option %q repeats options[%d]", it.Options[k], j)
				}
				opts[it.Options[k]] = k
			}
		case "":
			add(f+".kind", "请给出照面项类型：text、date、number 或 enum", "the item's kind is required: text, date, number or enum")
		default:
			add(f+".kind", "照面项类型 %q 未知，应为 text、date、number 或 enum", "unknown item kind %q: want text, date, number or enum", it.Kind)
		}
		if it.MaxLen < 0 || it.MaxLen > MaxItemLen {
			add(f+".max_len", "最大长度应在 0 到 %d 之间（0 表示默认 %d）", "max_len must be between 0 and %d (0: the default %d)", MaxItemLen, DefaultMaxLen)
		}
	}
	return list.Err()
}

// checkCredit validates a unified social credit code (already normalised), naming field.
func (s *Service) checkCredit(field, zhName, enName, code string) *errs.Error {
	if code == "" {
		return errs.New(errs.Invalid, field, zhName+"不能为空", enName+" is required")
	}
	if len(code) != 18 {
		return errs.New(errs.Invalid, field, fmt.Sprintf("%s应为 18 位统一社会信用代码，收到 %q", zhName, code),
			fmt.Sprintf("%s must be an 18-character unified social credit code, got %q", enName, code))
	}
	if _, _, err := s.codes.Validate(code); err != nil {
		e := &errs.Error{Kind: errs.Invalid, Field: field, ZH: zhName + "无效", EN: enName + " is not valid", Err: err}
		if p, ok := err.(interface {
			MessageZH() string
			MessageEN() string
		}); ok {
			e.ZH += "：" + p.MessageZH()
			e.EN += ": " + p.MessageEN()
		}
		return e
	}
	return nil
}

// controlAt returns the 1-based position and value of the first control character of s (a
// line break is allowed), or 0.
func controlAt(s string) (int, rune) {
	i := 0
	for _, r := range s {
		i++
		if unicode.IsControl(r) && r != '\n' || r == utf8.RuneError {
			return i, r
		}
	}
	return 0, 0
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func typeEvent(action string, a Actor, t *Type, at time.Time) audit.Event {
	b, _ := json.Marshal(map[string]any{"name": t.Name, "defined_by": t.DefinedBy, "issuers": t.Issuers,
		"items": len(t.Items), "validity_years": t.ValidityYears, "class": t.Class})
	return audit.Event{Time: at, Action: action, Actor: a.ID, Subject: t.Code, Data: b}
}

// RegisterType registers a licence type (an operator's act; the caller authorises it).
func (s *Service) RegisterType(ctx context.Context, a Actor, t Type) (*Type, error) {
	t.Issuers = slices.Clone(t.Issuers)
	t.Items = cloneItems(t.Items)
	if err := s.validateType(ctx, &t); err != nil {
		return nil, err
	}
	now := s.now()
	t.CreatedAt, t.UpdatedAt = now, now
	if err := s.store.CreateType(ctx, &t, typeEvent("library.type.add", a, &t, now)); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, &errs.Error{Kind: errs.Conflict, Field: "code", ZH: fmt.Sprintf("证照类型 %s 已存在", t.Code),
				EN: fmt.Sprintf("licence type %s exists already", t.Code), Err: err}
		}
		return nil, fmt.Errorf("library: register type: %w", err)
	}
	return &t, nil
}

// UpdateType replaces the definition of the type code (an operator's act). The code and the
// defining authority cannot change; licences issued before keep the items they were issued
// with, and their changes are validated against the new schema.
func (s *Service) UpdateType(ctx context.Context, a Actor, code string, t Type) (*Type, error) {
	code = uscc.Normalize(code)
	if code == s.licences.TypeCode() {
		return nil, errs.New(errs.Conflict, "code", "电子营业执照是内置类型，不能修改", "the business licence is built in and cannot be changed")
	}
	old, err := s.store.LibraryType(ctx, code)
	if err != nil {
		return nil, fmt.Errorf("library: type %s: %w", code, typeNotFound(err, code))
	}
	if t.Code == "" {
		t.Code = code
	}
	if uscc.Normalize(t.Code) != code {
		return nil, errs.Invalidf("code", "不能修改证照类型代码（%s）", "the type code (%s) cannot be changed", code)
	}
	if t.DefinedBy == "" {
		t.DefinedBy = old.DefinedBy
	}
	t.Issuers = slices.Clone(t.Issuers)
	t.Items = cloneItems(t.Items)
	if err := s.validateType(ctx, &t); err != nil {
		return nil, err
	}
	now := s.now()
	t.CreatedAt, t.UpdatedAt = old.CreatedAt, now
	if err := s.store.UpdateType(ctx, &t, typeEvent("library.type.update", a, &t, now)); err != nil {
		return nil, fmt.Errorf("library: update type: %w", typeNotFound(err, code))
	}
	return &t, nil
}

func typeNotFound(err error, code string) error {
	if errs.Is(err, errs.NotFound) {
		return &errs.Error{Kind: errs.NotFound, Field: "code", ZH: fmt.Sprintf("证照类型 %s 不存在", code),
			EN: fmt.Sprintf("no licence type %s", code), Err: err}
	}
	return err
}

func cloneItems(items []Item) []Item {
	out := slices.Clone(items)
	for i := range out {
		out[i].Options = slices.Clone(out[i].Options)
	}
	return out
}

// Type returns the licence type with this code, the business licence included.
func (s *Service) Type(ctx context.Context, code string) (*Type, error) {
	code = uscc.Normalize(code)
	if code == s.licences.TypeCode() {
		return s.BusinessLicence(), nil
	}
	t, err := s.store.LibraryType(ctx, code)
	if err != nil {
		return nil, typeNotFound(err, code)
	}
	return t, nil
}

// Types lists every licence type: the business licence first, then the registered ones by code.
func (s *Service) Types(ctx context.Context) ([]*Type, error) {
	ts, err := s.store.LibraryTypes(ctx)
	if err != nil {
		return nil, fmt.Errorf("library: types: %w", err)
	}
	return append([]*Type{s.BusinessLicence()}, ts...), nil
}

// CreateDepartment registers a licence-issuing department (发证部门): like a registering
// authority, it gets its own SM2 key and a certificate from the platform root (keys.Service).
func (s *Service) CreateDepartment(ctx context.Context, d keys.Authority) (*keys.Authority, error) {
	return s.keys.CreateAuthority(ctx, d)
}

// mayIssue reports whether the department is one of the type's issuers.
func (t *Type) mayIssue(dept string) bool { return dept != "" && slices.Contains(t.Issuers, dept) }

// item returns the schema of the item key.
func (t *Type) item(key string) (*Item, bool) {
	for i := range t.Items {
		if t.Items[i].Key == key {
			return &t.Items[i], true
		}
	}
	return nil, false
}
