package demo

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/library"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/uscc"
)

// The enterprise licence library's demo data (issue 5): three licence types, the departments
// that issue them with their keys, certificates and issuer accounts, and permits for about 30%
// of the demo entities, derived from the seed.

// LibraryService is what LoadLibrary works through; *library.Service is one.
type LibraryService interface {
	CreateDepartment(ctx context.Context, d keys.Authority) (*keys.Authority, error)
	RegisterType(ctx context.Context, a library.Actor, t library.Type) (*library.Type, error)
	Current(ctx context.Context, typeCode, number string) (*library.Permit, error)
	IssueBatch(ctx context.Context, a library.Actor, ins []library.Issuance) ([]library.Result, error)
}

// LibraryDeps are the services LoadLibrary needs.
type LibraryDeps struct {
	Library  LibraryService
	Accounts AccountService
}

// LibrarySummary says what LoadLibrary did.
type LibrarySummary struct {
	DepartmentsCreated, DepartmentsExisting int
	TypesCreated, TypesExisting             int
	Issued, AlreadyIssued                   int
	Accounts                                []Credential // issuer accounts (Role account.Issuer)
}

// Defining authorities of the demo's licence types. 国家市场监督管理总局's code is public
// (STANDARDS §1). 住房和城乡建设部's code as given (11100000000019302Y) fails GB 11714 at position
// 17; its corrected form is used. 生态环境部's code is a placeholder with valid check characters
// (the real one was not available).
const (
	SAMRCode   = "11100000MB0143028R" // 国家市场监督管理总局
	MOHURDCode = "1110000000001930X6" // 住房和城乡建设部 (check characters corrected)
	MEECode    = "11100000MB1729602Q" // 生态环境部 (placeholder)
)

// Type codes of the demo's licence types (the three digits are the demo's choice).
const (
	FoodTypeCode         = SAMRCode + "101"   // 食品经营许可证
	ConstructionTypeCode = MOHURDCode + "001" // 建筑业企业资质证书
	DischargeTypeCode    = MEECode + "001"    // 排污许可证
)

// libraryShare is the share of entities with a permit, in percent.
const libraryShare = 30

// libraryRef is the day the demo's issue dates count back from, so the data set does not depend
// on the day it is loaded.
var libraryRef = time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)

// IssuerUsername is the demo issuer account of a department: "iss-330000-jz".
func IssuerUsername(division, suffix string) string { return "iss-" + division + "-" + suffix }

// libraryDept is an issuing department of the demo.
type libraryDept struct {
	keys.Authority
	suffix string // of the issuer account's username
}

// provincial departments: 住房和城乡建设 (construction) and 生态环境 (environment) of each
// province of the demo register.
func libraryDepartments() (construction, environment map[string]libraryDept) {
	construction, environment = map[string]libraryDept{}, map[string]libraryDept{}
	for _, a := range Authorities() {
		prov := a.Region[:2]
		if _, ok := construction[prov]; ok {
			continue
		}
		name := provinceNames[prov]
		jz, hb := name+"住房和城乡建设厅", name+"生态环境厅"
		if prov == "11" || prov == "12" || prov == "31" || prov == "50" { // municipalities
			jz, hb = name+"住房和城乡建设委员会", name+"生态环境局"
		}
		div := prov + "0000"
		construction[prov] = libraryDept{keys.Authority{Code: deptCode(div, "JG"), Name: jz, Region: div}, "jz"}
		environment[prov] = libraryDept{keys.Authority{Code: deptCode(div, "HB"), Name: hb, Region: div}, "hb"}
	}
	return construction, environment
}

func deptCode(division, tag string) string {
	code, err := uscc.Generate('1', '1', division, "MC"+tag+division[:4])
	if err != nil {
		panic("demo: department code: " + err.Error()) // the divisions are 6 digits
	}
	return code
}

// libraryTypes are the demo's three licence types; food licences are issued by the registering
// authorities (市场监督管理局), the others by the provincial departments.
func libraryTypes(construction, environment map[string]libraryDept) []library.Type {
	var food, jz, hb []string
	for _, a := range Authorities() {
		food = append(food, a.Code)
	}
	for _, d := range construction {
		jz = append(jz, d.Code)
	}
	for _, d := range environment {
		hb = append(hb, d.Code)
	}
	slices.Sort(jz)
	slices.Sort(hb)
	text := func(key, zh, en string, required, public bool, max int) library.Item {
		return library.Item{Key: key, LabelZH: zh, LabelEN: en, Kind: library.Text, Required: required, Public: public, MaxLen: max}
	}
	return []library.Type{
		{Code: FoodTypeCode, Name: "食品经营许可证", NameEN: "Food business licence", DefinedBy: SAMRCode, DefinedByName: "国家市场监督管理总局",
			Issuers: food, ValidityYears: 5, Class: library.Qualification, Items: []library.Item{
				text("legal_representative", "法定代表人（负责人）", "Legal representative (person in charge)", true, true, 60),
				text("residence", "住所", "Domicile", true, true, 300),
				text("premises", "经营场所", "Business premises", true, true, 300),
				{Key: "main_body", LabelZH: "主体业态", LabelEN: "Main business form", Kind: library.Enum, Required: true, Public: true,
					Options: []string{"食品销售经营者", "餐饮服务经营者", "单位食堂"}},
				text("scope", "经营项目", "Business items", true, true, 1000),
				text("supervisor", "日常监督管理机构", "Supervising authority", true, true, 100),
				text("complaint_phone", "投诉举报电话", "Complaints hotline", false, true, 20),
				text("safety_manager", "食品安全管理员", "Food safety manager", false, false, 60),
			}},
		{Code: ConstructionTypeCode, Name: "建筑业企业资质证书", NameEN: "Construction enterprise qualification certificate",
			DefinedBy: MOHURDCode, DefinedByName: "住房和城乡建设部", Issuers: jz, ValidityYears: 5, Class: library.Qualification,
			Items: []library.Item{
				text("legal_representative", "法定代表人", "Legal representative", true, true, 60),
				text("address", "详细地址", "Address", true, true, 300),
				{Key: "registered_capital", LabelZH: "注册资本（万元）", LabelEN: "Registered capital (10,000 CNY)", Kind: library.Number, Public: true},
				text("economic_nature", "经济性质", "Economic nature", true, true, 60),
				{Key: "qualification", LabelZH: "资质类别及等级", LabelEN: "Qualification and grade", Kind: library.Enum, Required: true, Public: true,
					Options: constructionGrades},
				text("technical_director", "技术负责人", "Technical director", false, false, 60),
			}},
		{Code: DischargeTypeCode, Name: "排污许可证", NameEN: "Pollutant discharge permit", DefinedBy: MEECode, DefinedByName: "生态环境部",
			Issuers: hb, ValidityYears: 5, Class: library.Qualification, Items: []library.Item{
				text("legal_representative", "法定代表人（主要负责人）", "Legal representative (principal)", true, true, 60),
				text("site", "生产经营场所地址", "Production site", true, true, 300),
				{Key: "industry", LabelZH: "行业类别", LabelEN: "Industry", Kind: library.Enum, Required: true, Public: true, Options: dischargeIndustries},
				{Key: "management", LabelZH: "管理类别", LabelEN: "Management category", Kind: library.Enum, Required: true, Public: true,
					Options: []string{"重点管理", "简化管理"}},
				text("pollutants", "主要污染物类别", "Main pollutants", true, true, 200),
				{Key: "site_area", LabelZH: "占地面积（平方米）", LabelEN: "Site area (m²)", Kind: library.Number},
			}},
	}
}

var (
	constructionGrades = []string{"建筑工程施工总承包一级", "建筑工程施工总承包二级", "建筑工程施工总承包三级",
		"市政公用工程施工总承包二级", "建筑装修装饰工程专业承包二级", "电子与智能化工程专业承包二级", "施工劳务不分等级"}
	dischargeIndustries = []string{"食品制造业", "纺织业", "化学原料和化学制品制造业", "金属制品业", "汽车制造业", "电力、热力生产和供应业"}
	foodScopes          = []string{"预包装食品（含冷藏冷冻食品）销售", "散装食品（不含冷藏冷冻食品）销售", "热食类食品制售",
		"冷食类食品制售", "糕点类食品制售（含裱花蛋糕）", "自制饮品制售"}
	pollutants = []string{"废气", "废水", "废气、废水", "废气、废水、固体废物"}
	natures    = []string{"有限责任公司", "股份有限公司", "私营企业"}
)

// LoadLibrary puts the library's demo data into the platform: the departments (with their SM2
// keys and certificates), one issuer account per provincial department and one for the
// 杭州市西湖区 authority, the three types, and the permits of about 30% of Generate(opts.Seed,
// opts.N) (the registering authorities must exist: run Load first). It is idempotent: what
// exists is recognised and left alone.
func LoadLibrary(ctx context.Context, deps LibraryDeps, opts Options) (*LibrarySummary, error) {
	if opts.Seed == 0 {
		opts.Seed = DefaultSeed
	}
	if opts.N <= 0 {
		opts.N = DefaultN
	}
	sum := &LibrarySummary{}
	construction, environment := libraryDepartments()
	var depts []libraryDept
	for _, m := range []map[string]libraryDept{construction, environment} {
		for _, d := range m {
			depts = append(depts, d)
		}
	}
	slices.SortFunc(depts, func(a, b libraryDept) int { return strings.Compare(a.Code, b.Code) })
	for _, d := range depts {
		_, err := deps.Library.CreateDepartment(ctx, d.Authority)
		switch {
		case err == nil:
			sum.DepartmentsCreated++
		case errs.Is(err, errs.Conflict):
			sum.DepartmentsExisting++
		default:
			return nil, fmt.Errorf("demo: create department %s: %w", d.Name, err)
		}
	}
	xihu := authorityCode(pXihu.code)
	creds := []Credential{{Username: IssuerUsername(pXihu.code, "sp"), Role: account.Issuer, Authority: xihu, AuthorityName: "杭州市西湖区市场监督管理局"}}
	for _, d := range depts {
		creds = append(creds, Credential{Username: IssuerUsername(d.Region, d.suffix), Role: account.Issuer, Authority: d.Code, AuthorityName: d.Name})
	}
	for i := range creds {
		c := &creds[i]
		pw, err := password(opts.Secret, c.Username)
		if err != nil {
			return nil, err
		}
		_, err = deps.Accounts.Create(ctx, c.Username, c.AuthorityName+"发证员", pw, account.Issuer, c.Authority)
		switch {
		case err == nil:
			c.Created, c.Password = true, pw
		case errs.Is(err, errs.Conflict):
			if opts.Secret != nil {
				c.Password = pw
			}
		default:
			return nil, fmt.Errorf("demo: create account %s: %w", c.Username, err)
		}
	}
	sum.Accounts = creds

	op := library.Actor{ID: "demo"}
	for _, t := range libraryTypes(construction, environment) {
		_, err := deps.Library.RegisterType(ctx, op, t)
		switch {
		case err == nil:
			sum.TypesCreated++
		case errs.Is(err, errs.Conflict):
			sum.TypesExisting++
		default:
			return nil, fmt.Errorf("demo: register type %s: %w", t.Name, err)
		}
	}

	// The permits, grouped by issuing department (a batch has one actor).
	byDept := map[string][]library.Issuance{}
	for i, e := range Generate(opts.Seed, opts.N) {
		in, dept, ok := permitFor(opts.Seed, i, &e, construction, environment)
		if !ok {
			continue
		}
		if _, err := deps.Library.Current(ctx, in.TypeCode, in.Number); err == nil {
			sum.AlreadyIssued++
			continue
		} else if !errs.Is(err, errs.NotFound) {
			return nil, fmt.Errorf("demo: permit %s: %w", in.Number, err)
		}
		byDept[dept] = append(byDept[dept], in)
	}
	codes := make([]string, 0, len(byDept))
	for d := range byDept {
		codes = append(codes, d)
	}
	slices.Sort(codes)
	for _, dept := range codes {
		ins := byDept[dept]
		for lo := 0; lo < len(ins); lo += library.MaxBatch {
			res, err := deps.Library.IssueBatch(ctx, library.Actor{ID: "demo", Department: dept}, ins[lo:min(lo+library.MaxBatch, len(ins))])
			if err != nil {
				return nil, fmt.Errorf("demo: issue permits of %s: %w", dept, err)
			}
			for k, r := range res {
				switch {
				case r.Err == nil:
					sum.Issued++
				case errs.Is(r.Err, errs.Conflict):
					sum.AlreadyIssued++ // issued meanwhile by another loader
				default:
					return nil, fmt.Errorf("demo: permit %s: %w", ins[lo+k].Number, r.Err)
				}
			}
		}
	}
	return sum, nil
}

// permitFor decides, from the seed, whether entity i of the register has a permit and makes
// it: its issuance and the issuing department.
func permitFor(seed int64, i int, e *Entity, construction, environment map[string]libraryDept) (library.Issuance, string, bool) {
	r := rand.New(rand.NewPCG(uint64(seed)^0x6c6962726172792e, uint64(i)))
	if r.IntN(100) >= libraryShare {
		return library.Issuance{}, "", false
	}
	reg := e.Registration
	for _, s := range e.Steps { // the registration as it stands after every change
		if s.Change != nil {
			reg = *s.Change
		}
	}
	codeType := library.CodeUSCC
	if len(reg.Code) == 15 {
		codeType = library.CodeOtherOrg
	}
	prov := reg.Region[:2]
	est, _ := time.Parse(time.DateOnly, reg.Face.EstablishedOn)
	issued := libraryRef.AddDate(0, 0, -r.IntN(7*365))
	if issued.Before(est) {
		issued = est.AddDate(0, 0, r.IntN(60))
		if issued.After(libraryRef) {
			issued = libraryRef
		}
	}
	in := library.Issuance{HolderName: reg.Face.Name, HolderCode: reg.Code, HolderCodeType: codeType,
		AreaCode: reg.Region, IssueDate: issued.Format(time.DateOnly)}
	w := r.IntN(100)
	company := reg.Kind == license.Company || reg.Kind == license.Branch
	switch {
	case w < 60 || !company:
		main := pick(r, []string{"食品销售经营者", "餐饮服务经营者", "餐饮服务经营者", "单位食堂"})
		scope := pick(r, foodScopes)
		if main != "食品销售经营者" {
			scope = pick(r, foodScopes[2:])
		}
		in.TypeCode = FoodTypeCode
		in.Number = fmt.Sprintf("JY%d%s%07d", 1+r.IntN(3), reg.Region, i)
		in.Items = map[string]string{"legal_representative": reg.Face.Person, "residence": reg.Face.Address,
			"premises": reg.Face.Address, "main_body": main, "scope": scope, "supervisor": e.AuthorityName, "complaint_phone": "12315",
			"safety_manager": pick(r, []string{"王芳", "李娜", "张伟", "刘洋", "陈静"})}
		return in, reg.Authority, true
	case w < 80:
		d := construction[prov]
		in.TypeCode = ConstructionTypeCode
		in.Number = fmt.Sprintf("D%d%s%06d", 2+r.IntN(3), prov, i)
		capital := "1000"
		if reg.Face.Capital != nil {
			capital = reg.Face.Capital.Amount
		}
		in.Items = map[string]string{"legal_representative": reg.Face.Person, "address": reg.Face.Address, "registered_capital": capital,
			"economic_nature": pick(r, natures), "qualification": pick(r, constructionGrades), "technical_director": pick(r, []string{"赵刚", "孙磊", "周敏"})}
		return in, d.Code, true
	default:
		d := environment[prov]
		in.TypeCode = DischargeTypeCode
		in.Number = reg.Code + fmt.Sprintf("%03dP", 1+r.IntN(2))
		in.Items = map[string]string{"legal_representative": reg.Face.Person, "site": reg.Face.Address, "industry": pick(r, dischargeIndustries),
			"management": pick(r, []string{"重点管理", "简化管理", "简化管理"}), "pollutants": pick(r, pollutants),
			"site_area": fmt.Sprint(500 + r.IntN(50000))}
		return in, d.Code, true
	}
}

// Print writes the summary for the console in zh-CN and English, with the issuer accounts.
func (s *LibrarySummary) Print(w io.Writer) {
	fmt.Fprintf(w, "企业证照库演示数据 / licence library demo data: %d 个发证部门/departments created (%d existed), "+
		"%d 个证照类型/types created (%d existed), %d 张证照/permits issued (%d existed)\n",
		s.DepartmentsCreated, s.DepartmentsExisting, s.TypesCreated, s.TypesExisting, s.Issued, s.AlreadyIssued)
	fmt.Fprintln(w, "发证人员账户 / issuer accounts:")
	for _, c := range s.Accounts {
		pw := c.Password
		if pw == "" {
			pw = "（已存在，密码未知 / existed; password unknown）"
		}
		fmt.Fprintf(w, "  %-18s %-22s %s\n", c.Username, pw, c.AuthorityName)
	}
}
