package catalog

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/elicense/elicense/internal/errs"
)

const bizType = "11100000MB0143028R001"

// fields returns the fields named by err (an errs.List or one *errs.Error).
func fields(t *testing.T, err error) []string {
	t.Helper()
	var l errs.List
	if errors.As(err, &l) {
		out := make([]string, len(l))
		for i, e := range l {
			out[i] = e.Field
			if e.ZH == "" || e.EN == "" {
				t.Errorf("%s: a message is missing: %q / %q", e.Field, e.ZH, e.EN)
			}
		}
		return out
	}
	if e := errs.As(err); e != nil {
		return []string{e.Field}
	}
	t.Fatalf("not a user error: %v", err)
	return nil
}

func goodItem() Item {
	return Item{Code: "bank.basic-account", Name: "企业银行基本存款账户开立", NameEN: "Opening a basic deposit account",
		Department: Department{Name: "示例商业银行杭州分行", Code: "91330100MA2B0C1D6H"}, Region: "330100", Scenario: BankAccount,
		Materials: []Material{
			{Code: "bl", Name: "营业执照", LicenceType: bizType, Class: Identity, Archive: true, Required: true},
			{Code: "id", Name: "法定代表人身份证件", Class: Identity, Required: true},
			{Code: "food", Name: "食品经营许可证", LicenceType: TypeFoodBusiness, Class: Qualification},
		}}
}

func TestDeriveRule(t *testing.T) {
	for _, c := range []struct {
		m    Material
		want Rule
	}{
		{Material{LicenceType: bizType, Class: Identity}, Fetch},
		{Material{LicenceType: bizType, Class: Identity, Archive: true}, Fetch},
		{Material{LicenceType: TypeFoodBusiness, Class: Qualification, Archive: true}, Fetch},
		{Material{LicenceType: TypeFoodBusiness, Class: Qualification}, Check},
		{Material{Class: Identity, Archive: true}, Upload},
		{Material{}, Upload},
	} {
		if got := DeriveRule(&c.m); got != c.want {
			t.Errorf("%+v: %s, want %s", c.m, got, c.want)
		}
	}
}

func TestValidateGood(t *testing.T) {
	items := []Item{goodItem()}
	items[0].Department.Code = " 91330100ma2b0c1d6h "
	items[0].Materials[0].LicenceType = strings.ToLower(bizType)
	if err := Validate(items); err != nil {
		t.Fatal(err)
	}
	m := items[0].Materials
	if items[0].Department.Code != "91330100MA2B0C1D6H" || m[0].LicenceType != bizType {
		t.Errorf("not normalised: %+v", items[0])
	}
	if m[0].Rule != Fetch || m[1].Rule != Upload || m[2].Rule != Check {
		t.Errorf("rules: %s %s %s", m[0].Rule, m[1].Rule, m[2].Rule)
	}
}

func TestValidateNamesEveryField(t *testing.T) {
	bad := goodItem()
	bad.Code = "bank 01"
	bad.Name = ""
	bad.Department.Code = "91330100MA2B0C1D6A" // wrong check character
	bad.Region = "990100"
	bad.Scenario = "shopping"
	bad.Materials[0].Class = "" // a licence needs its class
	bad.Materials[1].Rule = Fetch
	bad.Materials[2].LicenceType = "11100000MB0143028R02X"
	dup := goodItem() // same code as item 0 after the fix below
	second := goodItem()
	second.Code = "tax.x"
	second.Materials = append(second.Materials, Material{Code: "bl", Name: "重复", Class: "licence"})
	second.Materials[1].Name = "a\x07b"
	items := []Item{dup, bad, second, goodItem()}
	err := Validate(items)
	got := fields(t, err)
	want := []string{
		"items[1].code", "items[1].name", "items[1].department.code", "items[1].region", "items[1].scenario",
		"items[1].materials[0].class", "items[1].materials[1].rule", "items[1].materials[2].licence_type",
		"items[2].materials[1].name", "items[2].materials[3].code", "items[2].materials[3].class",
		"items[3].code",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fields:\n got %q\nwant %q\n%v", got, want, err)
	}
	// The messages say what is wrong.
	msg := err.Error()
	for _, s := range []string{"character 5", "position 18", "shopping", "the rule must be upload", "control character", "appears twice"} {
		if !strings.Contains(msg, s) {
			t.Errorf("message lacks %q: %s", s, msg)
		}
	}
}

func TestValidateLimits(t *testing.T) {
	it := goodItem()
	it.Materials = nil
	if f := fields(t, Validate([]Item{it})); !reflect.DeepEqual(f, []string{"items[0].materials"}) {
		t.Errorf("no materials: %q", f)
	}
	it = goodItem()
	for len(it.Materials) <= MaxMaterials {
		it.Materials = append(it.Materials, Material{Code: "d" + strings.Repeat("x", len(it.Materials)), Name: "文件"})
	}
	if f := fields(t, Validate([]Item{it})); !reflect.DeepEqual(f, []string{"items[0].materials"}) {
		t.Errorf("too many materials: %q", f)
	}
	it = goodItem()
	it.Name = strings.Repeat("名", MaxName+1)
	it.Code = strings.Repeat("a", MaxCode+1)
	if f := fields(t, Validate([]Item{it})); !reflect.DeepEqual(f, []string{"items[0].code", "items[0].name"}) {
		t.Errorf("too long: %q", f)
	}
	// At most maxErrors errors, and a last one saying how many more.
	var many []Item
	for i := 0; i < maxErrors+10; i++ {
		x := goodItem()
		x.Code = ""
		many = append(many, x)
	}
	var l errs.List
	if !errors.As(Validate(many), &l) || len(l) != maxErrors+1 || !strings.Contains(l[maxErrors].EN, "10 more") {
		t.Errorf("error cap: %d errors, last %v", len(l), l[len(l)-1])
	}
}

func TestRegions(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"330106", []string{"000000", "330000", "330100", "330106"}},
		{"330100", []string{"000000", "330000", "330100"}},
		{"330000", []string{"000000", "330000"}},
		{"000000", []string{"000000"}},
	} {
		if got := RegionsOf(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("RegionsOf(%s) = %v, want %v", c.in, got, c.want)
		}
	}
	for s, ok := range map[string]bool{"000000": true, "110105": true, "820000": true, "990000": false, "33010": false, "33010a": false} {
		if ValidRegion(s) != ok {
			t.Errorf("ValidRegion(%q) != %v", s, ok)
		}
	}
}

func TestStarter(t *testing.T) {
	items, err := Starter(bizType)
	if err != nil {
		t.Fatal(err)
	}
	per := map[Scenario]int{}
	for _, it := range items {
		per[it.Scenario]++
		for _, m := range it.Materials {
			if strings.HasPrefix(m.LicenceType, "$") {
				t.Errorf("%s/%s: placeholder left: %s", it.Code, m.Code, m.LicenceType)
			}
		}
	}
	if len(items) < 16 {
		t.Errorf("%d starter items, want 16 or more", len(items))
	}
	for _, s := range Scenarios {
		if per[s] < 2 {
			t.Errorf("scenario %s has %d items, want 2 or more", s, per[s])
		}
	}
	// The bank account of the brief: the business licence is fetched, the rest uploaded.
	for _, it := range items {
		if it.Code == "bank.basic-account" {
			if it.Materials[0].LicenceType != bizType || it.Materials[0].Rule != Fetch || it.Materials[1].Rule != Upload {
				t.Errorf("bank.basic-account: %+v", it.Materials)
			}
		}
	}
}

func TestJSONErrors(t *testing.T) {
	for _, c := range []struct {
		in, field, msg string
	}{
		{``, "", "empty"},
		{`{"items":[`, "", "incomplete"},
		{`{"items":[{"code":"a","colour":"red"}]}`, "colour", "unknown field"},
		{`{"items":[{"code":"a","materials":[{"archive":"yes"}]}]}`, "items.materials.archive", "wrong type"},
		{`{"items":[]} {}`, "", "unexpected data"},
		{`{}`, "items", "missing"},
	} {
		_, err := Parse(strings.NewReader(c.in), JSON)
		e := errs.As(err)
		if e == nil || e.Field != c.field || !strings.Contains(e.EN, c.msg) {
			t.Errorf("%s: %v (field %q)", c.in, err, c.field)
		}
	}
}

// csvHead is the header of the test files (without name_en columns and rule).
const csvHead = "item_code,item_name,department,department_code,region,scenario,material_code,material_name,licence_type,class,archive,required\n"

func TestCSVBadRows(t *testing.T) {
	file := csvHead +
		"bank.a,开户,示例银行,91330100MA2B0C1D6H,330100,bank_account,bl,营业执照," + bizType + ",identity,true,true\n" + // row 2 fine
		"bank.a,开户,示例银行,91330100MA2B0C1D6H,330100,bank_account,id,身份证件,,,true,maybe\n" + // row 3: required
		"bank.a,开户,别的银行,91330100MA2B0C1D6H,330100,bank_account,form,申请书,,,false,true\n" + // row 4: department differs
		"tax.b,登记,税务局,113301000025011246,330100,tax,bl,营业执照," + bizType + ",credential,false,true\n" + // row 5: class
		"tax.b,登记,税务局,113301000025011246,330100,tax,bl,营业执照,,,false,true\n" + // row 6: duplicate material
		"\n" +
		"x y,名称,部门,113301000025011246,3301,fun,m1,,,,false,false\n" + // row 8: code, region, scenario, material name
		"short,row\n" // row 9
	_, err := Parse(strings.NewReader(file), CSV)
	got := fields(t, err)
	want := []string{
		"row 3, column required", "row 4, column department", "row 9",
		"row 5, column class", "row 6, column material_code",
		"row 8, column item_code", "row 8, column region", "row 8, column scenario", "row 8, column material_name",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fields:\n got %q\nwant %q\n%v", got, want, err)
	}
	// Header problems come alone.
	_, err = Parse(strings.NewReader("item_code,colour\n"), CSV)
	got = fields(t, err)
	if got[0] != "row 1, column 2" || !slicesContains(got, "row 1, column material_code") {
		t.Errorf("header: %q", got)
	}
	// A malformed quote names its row.
	_, err = Parse(strings.NewReader(csvHead+"\"bank.a,x\n"), CSV)
	if e := errs.As(err); e == nil || !strings.HasPrefix(e.Field, "row 2") {
		t.Errorf("bad quote: %v", err)
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestRoundTrip(t *testing.T) {
	items, err := Starter(bizType)
	if err != nil {
		t.Fatal(err)
	}
	// Texts that CSV must quote survive.
	items[0].Name = "分支机构设立登记, \"含引号\""
	for _, f := range []Format{JSON, CSV} {
		var buf bytes.Buffer
		if err := Write(&buf, f, items); err != nil {
			t.Fatal(err)
		}
		back, err := Parse(bytes.NewReader(buf.Bytes()), f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !reflect.DeepEqual(back, items) {
			t.Errorf("%s round trip differs:\n%+v\n%+v", f, back[0], items[0])
		}
		var again bytes.Buffer
		if err := Write(&again, f, back); err != nil || !bytes.Equal(again.Bytes(), buf.Bytes()) {
			t.Errorf("%s: writing again gives other bytes", f)
		}
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add([]byte(csvHead + "a,b,c,91330100MA2B0C1D6H,330100,tax,m,n,,,true,true\n"))
	f.Add([]byte("\xef\xbb\xbf" + csvHead + "\"a\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		items, err := Parse(bytes.NewReader(b), CSV)
		if err == nil {
			if Validate(items) != nil {
				t.Errorf("parsed items do not validate")
			}
		} else if errs.As(err) == nil {
			t.Errorf("not a user error: %v", err)
		}
	})
}

func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`{"items":[]}`))
	f.Add(starterJSON)
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := Parse(bytes.NewReader(b), JSON); err != nil && errs.As(err) == nil {
			t.Errorf("not a user error: %v", err)
		}
	})
}
