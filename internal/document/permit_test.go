package document

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/ident"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/uscc"
)

// permitLibrary is an in-memory register of permits: the Permits the library provides in
// production, for the verifier's register checks.
type permitLibrary struct {
	mu sync.Mutex
	m  map[string]*Permit
}

func (l *permitLibrary) Permit(_ context.Context, identifier string) (*Permit, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.m[strings.ToUpper(identifier)]
	if !ok {
		return nil, errs.NotFoundf("证照库中没有 %s", "no permit %s", identifier)
	}
	c := *p
	return &c, nil
}

func (l *permitLibrary) put(p *Permit) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*Permit{}
	}
	c := *p
	l.m[strings.ToUpper(p.Identifier)] = &c
}

func (l *permitLibrary) setStatus(identifier, status string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m[strings.ToUpper(identifier)].Status = status
}

// permitEnv is env with an issuing department (an authority in keys) and a library of permits.
type permitEnv struct {
	*env
	dept    *keys.Authority
	library *permitLibrary
}

func newPermitEnv(t testing.TB) *permitEnv {
	t.Helper()
	e := newEnv(t)
	code, err := uscc.Generate('1', '1', "330106", "00330199")
	if err != nil {
		t.Fatal(err)
	}
	dept, err := e.keys.CreateAuthority(e.ctx, keys.Authority{Code: code, Name: "杭州市西湖区市场监督管理局食品许可科", Region: "330106"})
	if err != nil {
		t.Fatal(err)
	}
	lib := &permitLibrary{}
	e.docs = NewService(Config{Keys: e.keys, Licences: e.licences, Clock: e.clock, PublicURL: testPublicURL, Permits: lib})
	return &permitEnv{env: e, dept: dept, library: lib}
}

const foodTypeCode = "11100000MB0143028R101"

// foodPermit is a 食品经营许可证 of a company with the usual items, issued by the department and
// registered in the library.
func (e *permitEnv) foodPermit(t testing.TB, serial string, version int) *Permit {
	t.Helper()
	id, err := ident.New(foodTypeCode, e.dept.Code, serial, version)
	if err != nil {
		t.Fatal(err)
	}
	holder, err := uscc.Generate('9', '1', "330106", "MA2FD001")
	if err != nil {
		t.Fatal(err)
	}
	p := &Permit{
		TypeCode: foodTypeCode, TypeName: "食品经营许可证", TypeNameEN: "Food Business Licence",
		Identifier: id, Number: serial, Version: version,
		HolderName: "杭州西湖示例餐饮管理有限公司", HolderCode: holder, HolderCodeType: "001",
		IssuerCode: e.dept.Code, IssuerName: e.dept.Name, AreaCode: "330106",
		IssuedAt:   time.Date(2024, 5, 10, 2, 0, 0, 0, time.UTC),
		ValidFrom:  time.Date(2024, 5, 10, 0, 0, 0, 0, chinaTime),
		ValidUntil: time.Date(2029, 5, 9, 0, 0, 0, 0, chinaTime),
		Items: []Item{
			{"法定代表人（负责人）", "Legal representative", "李四"},
			{"住所", "Domicile", "浙江省杭州市西湖区文三路100号1幢5层501室"},
			{"经营场所", "Business premises", "浙江省杭州市西湖区文三路100号1幢1层101室"},
			{"主体业态", "Business type", "餐饮服务经营者（中型餐馆）"},
			{"经营项目", "Business items", "预包装食品（含冷藏冷冻食品）销售；散装食品（含冷藏冷冻食品）销售；热食类食品制售；冷食类食品制售；生食类食品制售；糕点类食品（含裱花蛋糕）制售；自制饮品制售"},
			{"日常监督管理机构", "Supervising authority", "杭州市西湖区市场监督管理局文新市场监督管理所"},
			{"日常监督管理人员", "Supervisors", "王五、赵六"},
			{"投诉举报电话", "Complaints hotline", "12315"},
			{"备注", "Remarks", ""}, // no value: not shown
		},
		Status: PermitValid,
	}
	e.library.put(p)
	return p
}

// longPermit is a permit with many items and a very long one: it continues on more pages.
func (e *permitEnv) longPermit(t testing.TB) *Permit {
	t.Helper()
	p := e.foodPermit(t, "JY13301060099999", 1)
	var b strings.Builder
	for i := 0; b.Len() < 3*4000; i++ {
		fmt.Fprintf(&b, "第%d项：预包装食品（含冷藏冷冻食品）销售、散装食品销售；", i+1)
	}
	p.Items[4].Value = string([]rune(b.String())[:4000])
	for i := 0; i < 40; i++ {
		p.Items = append(p.Items, Item{LabelZH: fmt.Sprintf("许可事项第%d项", i+1), Value: fmt.Sprintf("许可内容%d：自制饮品制售（不含自酿酒），经营场所面积%d平方米", i+1, 100+i)})
	}
	p.Items = append(p.Items, Item{LabelZH: "一个非常非常长的事项名称用于检验标签换行的效果", Value: "短值"})
	e.library.put(p)
	return p
}

func (e *permitEnv) renderPermit(t testing.TB, p *Permit, f Format, c Copy) []byte {
	t.Helper()
	b, err := e.docs.RenderPermit(e.ctx, p, Options{Format: f, Copy: c})
	if err != nil {
		t.Fatalf("render permit %s %s: %v", f, c, err)
	}
	return b
}

// TestWriteSamples writes sample documents to $ELICENSE_DOC_SAMPLES, for looking at them.
func TestWriteSamples(t *testing.T) {
	dir := os.Getenv("ELICENSE_DOC_SAMPLES")
	if dir == "" {
		t.Skip("set ELICENSE_DOC_SAMPLES=DIR to write sample documents")
	}
	e := newPermitEnv(t)
	l := e.issue(t, companyReg(t, "MA2AB3CD"))
	m := testMark()
	for _, f := range []Format{OFD, PDF} {
		for _, c := range []Copy{Original, Duplicate} {
			write := func(name string, b []byte, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s.%s", name, c, f)), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			o := Options{Format: f, Copy: c}
			b, err := e.docs.RenderPermit(e.ctx, e.foodPermit(t, "JY13301060012345", 1), o)
			write("permit", b, err)
			b, err = e.docs.RenderPermit(e.ctx, e.longPermit(t), o)
			write("permit-long", b, err)
			b, err = e.docs.RenderCopy(e.ctx, l, o, m)
			write("copy", b, err)
			b, err = e.docs.RenderPermitCopy(e.ctx, e.foodPermit(t, "JY13301060012345", 1), o, m)
			write("permit-copy", b, err)
		}
	}
}

func testMark() Mark {
	return Mark{
		ID: "dl-7f3a9c", Caller: "client-hz-tax", CallerName: "国家税务总局杭州市西湖区税务局",
		Cause: "办理税务登记", Item: "330106-TAX-001 税务登记", Case: "XH2024052000123",
		At:      time.Date(2024, 5, 20, 2, 30, 0, 0, time.UTC),
		Expires: time.Date(2024, 5, 30, 2, 30, 0, 0, time.UTC),
	}
}
