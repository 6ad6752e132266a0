package importer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/license"
)

const header = "code,kind,name,type,person,person_id,capital_amount,capital_currency,form,established_on,term_from,term_to,address,scope,region,authority\n"

// readAll reads every row of an import file.
func readAll(t testing.TB, f Format, data string, maxRow int) ([]record, error) {
	t.Helper()
	var rr rowReader
	switch f {
	case CSV:
		c, err := newCSVReader(strings.NewReader(data), maxRow, "")
		if err != nil {
			return nil, err
		}
		rr = c
	default:
		rr = newJSONLReader(strings.NewReader(data), maxRow, "")
	}
	var out []record
	for {
		rec, err := rr.next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

func TestParseCSVMatchesEncodingCSV(t *testing.T) {
	for _, in := range []string{
		`a,b,c`,
		`a,,c`,
		`,`,
		``,
		`"a","b ""quoted""",c`,
		`"multi` + "\n" + `line",x`,
		`"with, comma",y`,
		`"",""`,
		`a,b,`,
		"\"crlf inside\r\nfield\",z",
		` a , b `,
		`中文,“引号”,字段`,
	} {
		got, _, perr := parseCSV([]byte(in), nil, nil)
		if perr != nil {
			t.Errorf("parseCSV(%q): %s", in, perr.en)
			continue
		}
		r := csv.NewReader(strings.NewReader(in + "\n"))
		r.FieldsPerRecord = -1
		want, err := r.Read()
		if errors.Is(err, io.EOF) {
			want = []string{""} // encoding/csv skips an empty line; we never pass one
		} else if err != nil {
			t.Fatalf("encoding/csv(%q): %v", in, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("parseCSV(%q) = %q, encoding/csv = %q", in, got, want)
		}
	}
}

func TestParseCSVErrors(t *testing.T) {
	for _, in := range []string{`a"b,c`, `"abc`, `"a"b,c`, `x,"y"z`} {
		if _, _, perr := parseCSV([]byte(in), nil, nil); perr == nil {
			t.Errorf("parseCSV(%q) accepted a malformed record", in)
		}
		r := csv.NewReader(strings.NewReader(in))
		if _, err := r.Read(); err == nil {
			t.Errorf("encoding/csv accepts %q; the test case is wrong", in)
		}
	}
}

func TestSplitter(t *testing.T) {
	in := "\xef\xbb\xbfh1,h2\r\n\r\na,\"multi\r\nline\"\r\n" + strings.Repeat("x", 100) + "\nlast"
	sp := newSplitter(strings.NewReader(in), true, 50)
	type row struct {
		text  string
		long  bool
		start int64
	}
	var got []row
	for {
		b, long, err := sp.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, row{string(b), long, sp.start})
	}
	want := []row{
		{"h1,h2", false, 1},
		{"", false, 2},
		{"a,\"multi\r\nline\"", false, 3},
		{"", true, 5},
		{"last", false, 6},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows:\n got %+v\nwant %+v", got, want)
	}
	if sp.n != int64(len(in)) {
		t.Errorf("consumed %d bytes, want %d", sp.n, len(in))
	}
}

func TestSplitterLongRowAcrossBuffer(t *testing.T) {
	// Longer than bufio's buffer and the limit: consumed to its end, then reading goes on.
	long := strings.Repeat("汉", 100_000)
	sp := newSplitter(strings.NewReader("a\n"+long+"\nb\n"), false, 1000)
	var rows []string
	for {
		b, isLong, err := sp.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if isLong {
			rows = append(rows, "<long>")
		} else {
			rows = append(rows, string(b))
		}
	}
	if want := []string{"a", "<long>", "b"}; !reflect.DeepEqual(rows, want) {
		t.Errorf("rows = %q, want %q", rows, want)
	}
}

func TestCSVHeader(t *testing.T) {
	for _, tc := range []struct {
		name, in, field, msg string
	}{
		{"empty", "", "header", "empty"},
		{"blank lines only", "\n\n", "header", "empty"},
		{"unknown column", "code,kind,name,colour\n", "colour", `unknown column "colour"`},
		{"duplicate", "code,kind,name,Name\n", "name", "twice"},
		{"missing required", "code,name\n", "kind", `required column "kind"`},
		{"malformed", "code,\"kind\n", "header", "malformed"},
		{"bad utf-8", "code,kind,name,\xff\n", "header", "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newCSVReader(strings.NewReader(tc.in), 0, "")
			e := errs.As(err)
			if e == nil || e.Kind != errs.Invalid || e.Field != tc.field || !strings.Contains(e.EN, tc.msg) || e.ZH == "" {
				t.Errorf("error = %#v, want field %q and %q", e, tc.field, tc.msg)
			}
		})
	}
	// Any order, any case, surrounding spaces, a BOM.
	c, err := newCSVReader(strings.NewReader("\xef\xbb\xbf Name ,KIND,code\n"), 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{colName, colKind, colCode}; !reflect.DeepEqual(c.cols, want) {
		t.Errorf("cols = %v, want %v", c.cols, want)
	}
}

func TestCSVRows(t *testing.T) {
	in := header +
		"91330106MA2H7K3Q0L,company,杭州云帆网络科技有限公司,有限责任公司（自然人投资或控股）,张伟,330106198503122015,500,,,2019-04-12,2019-04-12,长期,地址,\"范围，含逗号\n和换行\",330106,113301060033010600\n" +
		"\n" +
		"too,few\n" +
		"91330106MA2J0B8E3J,个体工商户,名称\xff,,,,,,,,,,,,,\n" +
		"x,\"unterminated\n"
	recs, err := readAll(t, CSV, in, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 {
		t.Fatalf("%d rows, want 4: %+v", len(recs), recs)
	}
	r := recs[0]
	if r.bad != nil || r.row != 1 || r.line != 2 {
		t.Fatalf("row 1 = %+v", r)
	}
	want := license.Registration{Code: "91330106MA2H7K3Q0L", Kind: license.Company, PersonID: "330106198503122015",
		Region: "330106", Authority: "113301060033010600", Face: license.Face{
			Name: "杭州云帆网络科技有限公司", Type: "有限责任公司（自然人投资或控股）", Person: "张伟",
			Capital: &license.Capital{Amount: "500"}, EstablishedOn: "2019-04-12", TermFrom: "2019-04-12",
			TermTo: "长期", Address: "地址", Scope: "范围，含逗号\n和换行"}}
	if !reflect.DeepEqual(r.reg, want) {
		t.Errorf("row 1:\n got %+v\nwant %+v", r.reg, want)
	}
	if r := recs[1]; r.bad == nil || r.row != 2 || r.line != 5 || !strings.Contains(r.bad.EN, "2 fields") {
		t.Errorf("row 2 = %+v %+v", r, r.bad)
	}
	if r := recs[2]; r.bad == nil || r.row != 3 || r.line != 6 || r.bad.Field != "name" || r.bad.Code != "91330106MA2J0B8E3J" {
		t.Errorf("row 3 = %+v %+v", r, r.bad)
	}
	if r := recs[3]; r.bad == nil || r.row != 4 || r.line != 7 || !strings.Contains(r.bad.EN, "not closed") {
		t.Errorf("row 4 = %+v %+v", r, r.bad)
	}
}

func TestCSVKindAlias(t *testing.T) {
	recs, err := readAll(t, CSV, "code,kind,name\nX,个体工商户,Y\nX,农民专业合作社,Y\n", 0)
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].reg.Kind != license.Individual || recs[1].reg.Kind != license.Cooperative {
		t.Errorf("kinds = %q, %q", recs[0].reg.Kind, recs[1].reg.Kind)
	}
}

func TestJSONLRows(t *testing.T) {
	long := `{"code":"` + strings.Repeat("9", 2000) + `"}`
	in := `{"code":"91330106MA2H7K3Q0L","kind":"company","capital_amount":12.5,"name":"名\"称","scope":null}` + "\n" +
		"   \n" +
		`{"code":"A","colour":"red"}` + "\n" +
		`{"code":"B","name":` + "\n" +
		`{"code":"C","name":["x"]}` + "\n" +
		`{"code":"D"} {"code":"E"}` + "\n" +
		"[1,2]\n" +
		"{\"code\":\"F\",\"name\":\"\xff\"}\n" +
		long + "\n" +
		`{"code":"G","kind":"branch"}`
	recs, err := readAll(t, JSONL, in, 1000)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		row, line int64
		field     string
		msg       string
	}
	wants := []want{
		{1, 1, "", ""},
		{2, 3, "colour", `unknown field "colour"`},
		{3, 4, "", "JSON"},
		{4, 5, "name", "must be a string"},
		{5, 6, "", "one JSON object per line"},
		{6, 7, "", "one JSON object"},
		{7, 8, "", "UTF-8"},
		{8, 9, "", "longer than the limit of 1000 bytes"},
		{9, 10, "", ""},
	}
	if len(recs) != len(wants) {
		t.Fatalf("%d rows, want %d: %+v", len(recs), len(wants), recs)
	}
	for i, w := range wants {
		r := recs[i]
		if r.row != w.row || r.line != w.line {
			t.Errorf("row %d: row/line = %d/%d, want %d/%d", i, r.row, r.line, w.row, w.line)
		}
		if w.msg == "" {
			if r.bad != nil {
				t.Errorf("row %d: unexpected error %+v", w.row, r.bad)
			}
			continue
		}
		if r.bad == nil || r.bad.Field != w.field || !strings.Contains(r.bad.EN, w.msg) || r.bad.ZH == "" {
			t.Errorf("row %d: error %+v, want field %q and %q", w.row, r.bad, w.field, w.msg)
		}
	}
	first := recs[0].reg
	if first.Face.Name != `名"称` || first.Face.Capital == nil || first.Face.Capital.Amount != "12.5" || first.Face.Scope != "" {
		t.Errorf("row 1 = %+v", first)
	}
	if recs[1].bad.Code != "A" || recs[2].bad.Code != "" || recs[3].bad.Code != "C" {
		t.Errorf("codes of bad rows: %q %q %q", recs[1].bad.Code, recs[2].bad.Code, recs[3].bad.Code)
	}
}

func TestColumnOf(t *testing.T) {
	for in, want := range map[string]string{
		"face.name": "name", "face.capital.amount": "capital_amount", "face.capital.currency": "capital_currency",
		"face.capital": "capital_amount", "face.term_from": "term_from", "person_id": "person_id", "code": "code",
		"authority": "authority", "face": "face", "": "",
	} {
		if got := columnOf(in); got != want {
			t.Errorf("columnOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	regs := []license.Registration{
		{Code: "91330106MA2H7K3Q0L", Kind: license.Company, PersonID: "330106198503122015", Region: "330106",
			Authority: "113301060033010600", Face: license.Face{Name: "杭州, \"云帆\"", Type: "类型", Person: "张伟",
				Capital: &license.Capital{Amount: "500", Currency: "USD"}, EstablishedOn: "2019-04-12",
				TermFrom: "2019-04-12", TermTo: "长期", Address: "地址", Scope: "第一行\n第二行 <&>"}},
		{Code: "92330106MA2K5L9T8B", Kind: license.Individual, Face: license.Face{Name: "n", Form: "个人经营"}},
	}
	seq := func(yield func(license.Registration) bool) {
		for _, r := range regs {
			if !yield(r) {
				return
			}
		}
	}
	for _, f := range []Format{CSV, JSONL} {
		var buf bytes.Buffer
		write := WriteCSV
		if f == JSONL {
			write = WriteJSONL
		}
		n, err := write(&buf, seq)
		if err != nil || n != 2 {
			t.Fatalf("%s: write = %d, %v", f, n, err)
		}
		recs, err := readAll(t, f, buf.String(), 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range recs {
			if r.bad != nil || !reflect.DeepEqual(r.reg, regs[i]) {
				t.Errorf("%s row %d:\n got %+v (%+v)\nwant %+v", f, i+1, r.reg, r.bad, regs[i])
			}
		}
	}
}

// checkRows asserts what every reader guarantees for any input.
func checkRows(t *testing.T, data []byte, recs []record) {
	for i, r := range recs {
		if r.row != int64(i+1) {
			t.Fatalf("row %d numbered %d", i+1, r.row)
		}
		if i > 0 && r.line <= recs[i-1].line {
			t.Fatalf("row %d starts at line %d, not after row %d's line %d", r.row, r.line, i, recs[i-1].line)
		}
		if r.bad != nil {
			if r.bad.ZH == "" || r.bad.EN == "" {
				t.Fatalf("row %d: error without a message: %+v", r.row, r.bad)
			}
			continue
		}
		v := values(&r.reg)
		for k, s := range v {
			if !utf8.ValidString(s) {
				t.Fatalf("row %d: %s is not valid UTF-8: %q", r.row, Columns[k], s)
			}
		}
	}
	if lines := int64(bytes.Count(data, []byte("\n")) + 1); len(recs) > 0 && recs[len(recs)-1].line > lines {
		t.Fatalf("last row starts at line %d of %d", recs[len(recs)-1].line, lines)
	}
}

func FuzzReadCSV(f *testing.F) {
	f.Add([]byte(header + "91330106MA2H7K3Q0L,company,名称,,,,,,,,,,,,,\n"))
	f.Add([]byte("code,kind,name\r\n\"a\nb\",c,\"d\"\"e\"\r\n\xef\xbb\xbf,,\n"))
	f.Add([]byte("\xef\xbb\xbfname,kind,code\nx,y\n\"unterminated\n"))
	f.Add([]byte("code,kind,name\n\xff\xfe,a\"b,c\n" + strings.Repeat("z", 300) + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := readAll(t, CSV, string(data), 256)
		if err != nil {
			if errs.As(err) == nil {
				t.Fatalf("header error without a kind: %v", err)
			}
			return
		}
		checkRows(t, data, recs)
	})
}

func FuzzReadJSONL(f *testing.F) {
	f.Add([]byte(`{"code":"91330106MA2H7K3Q0L","kind":"company","capital_amount":1e3}` + "\n"))
	f.Add([]byte("{\"a\":1}\n[]\nnull\n{\"code\":\"\\u00e9\"} x\n\xef\xbb\xbf{}\n"))
	f.Add([]byte(`{"name":"` + strings.Repeat("长", 200) + `"}` + "\n{\"code\":\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := readAll(t, JSONL, string(data), 256)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		checkRows(t, data, recs)
	})
}

// FuzzParseCSV checks the record parser against encoding/csv on single-line records: both
// accept with the same fields, or both refuse.
func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{`a,b`, `"a""b",c`, `a"b`, `"a"b`, `"",`, `,,`, `"x`, ` "a"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s == "" || strings.ContainsAny(s, "\r\n") {
			return
		}
		got, _, perr := parseCSV([]byte(s), nil, nil)
		r := csv.NewReader(strings.NewReader(s))
		r.FieldsPerRecord = -1
		want, err := r.Read()
		switch {
		case (perr != nil) != (err != nil):
			t.Fatalf("parseCSV(%q) error %v, encoding/csv error %v", s, perr, err)
		case perr == nil && !reflect.DeepEqual(got, want):
			t.Fatalf("parseCSV(%q) = %q, encoding/csv = %q", s, got, want)
		}
	})
}

// FuzzFlatJSON holds the fast path of JSON Lines decoding to encoding/json: whatever it
// accepts, encoding/json decodes to the same values.
func FuzzFlatJSON(f *testing.F) {
	for _, s := range []string{
		`{"code":"x","kind":"company","capital_amount":-12.5e+3,"scope":null}`,
		` { "name" : "名称" , "name":"again" } `,
		`{}`, `{"code":01}`, `{"Code":"x"}`, `{"code":"a\"b"}`, `{"code":"x",}`, `{"code":1.}`, `{"colour":"x"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var fast [numColumns]string
		if !utf8.ValidString(s) || !parseFlatJSON([]byte(s), &fast) {
			return
		}
		slow, bad := decodeJSON([]byte(s))
		if bad != nil {
			t.Fatalf("fast path accepted %q; encoding/json: %s", s, bad.EN)
		}
		if fast != slow {
			t.Fatalf("%q: fast path %q, encoding/json %q", s, fast, slow)
		}
	})
}
