package catalog

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/elicense/elicense/internal/errs"
)

// Format is a file format of the catalogue.
type Format string

// The formats.
const (
	JSON Format = "json" // {"items":[Item…]}
	CSV  Format = "csv"  // one row per material, the item's columns repeated (Columns)
)

// ParseFormat reads a format name (json or csv, any case); field names the input for errors.
func ParseFormat(s, field string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case JSON, CSV:
		return f, nil
	}
	return "", errs.Invalidf(field, "格式 %q 未知，可选：json、csv", "unknown format %q; one of: json, csv", s)
}

// FormatOf returns the format of a file by its extension (.json or .csv).
func FormatOf(name string) (Format, error) {
	return ParseFormat(strings.TrimPrefix(filepath.Ext(name), "."), "format")
}

// File is the JSON form of a catalogue.
type File struct {
	Items []Item `json:"items"`
}

// Columns are the columns of the CSV form, in the order Write writes them. One row is one
// material; the item's columns (item_code … scenario) are repeated on every row of the item.
var Columns = []string{
	"item_code", "item_name", "item_name_en", "department", "department_code", "region", "scenario",
	"material_code", "material_name", "material_name_en", "licence_type", "class", "archive", "required", "rule",
}

// requiredColumns must be in the header of a CSV file; the others may be left out (empty).
var requiredColumns = []string{"item_code", "item_name", "department", "department_code", "region", "scenario",
	"material_code", "material_name", "archive", "required"}

// csvField maps the fields validate names to CSV columns.
var csvField = map[[2]string]string{
	{"item", "code"}: "item_code", {"item", "name"}: "item_name", {"item", "name_en"}: "item_name_en",
	{"item", "department.name"}: "department", {"item", "department.code"}: "department_code",
	{"item", "region"}: "region", {"item", "scenario"}: "scenario", {"item", "materials"}: "material_code",
	{"material", "code"}: "material_code", {"material", "name"}: "material_name", {"material", "name_en"}: "material_name_en",
	{"material", "licence_type"}: "licence_type", {"material", "class"}: "class", {"material", "rule"}: "rule",
}

// csvName names a CSV position the way the error messages do.
func csvName(row int, column string) string { return fmt.Sprintf("row %d, column %s", row, column) }

// Parse reads a catalogue file and validates it, returning the items normalised or an
// errs.List of every problem: JSON problems are named by path (items[3].materials[1].class), CSV
// problems by row and column (row 7, column class; the header is row 1).
func Parse(r io.Reader, f Format) ([]Item, error) { return parse(r, f, nil) }

// parse is Parse that asks known, if not nil, whether each licence type exists.
func parse(r io.Reader, f Format, known func(string) bool) ([]Item, error) {
	switch f {
	case JSON:
		return parseJSON(r, known)
	case CSV:
		return parseCSV(r, known)
	}
	return nil, errs.Invalidf("format", "格式 %q 未知，可选：json、csv", "unknown format %q; one of: json, csv", string(f))
}

var utf8BOM = []byte("\xef\xbb\xbf")

func parseJSON(r io.Reader, known func(string) bool) ([]Item, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, utf8BOM) {
		br.Discard(3)
	}
	dec := json.NewDecoder(br)
	dec.DisallowUnknownFields()
	var file File
	if err := dec.Decode(&file); err != nil {
		return nil, jsonProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errs.New(errs.Invalid, "", "JSON 值之后还有多余的数据", "unexpected data after the JSON value")
	}
	if file.Items == nil {
		return nil, errs.New(errs.Invalid, "items", "缺少 items 数组", "the items array is missing")
	}
	if err := validate(file.Items, JSONNamer, known); err != nil {
		return nil, err
	}
	return file.Items, nil
}

// jsonProblem explains a decoding failure with the field where the decoder names one.
func jsonProblem(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return errs.New(errs.Invalid, "", "文件为空，需要一个 JSON 对象 {\"items\":[…]}", `the file is empty; a JSON object {"items":[…]} is required`)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.New(errs.Invalid, "", "JSON 不完整", "the JSON is incomplete")
	case errors.As(err, &se):
		return errs.Invalidf("", "JSON 格式错误（第 %d 字节）：%s", "malformed JSON at byte %d: %s", se.Offset, se.Error())
	case errors.As(err, &te):
		return errs.Invalidf(te.Field, "类型错误：不能是 %s", "wrong type: cannot be %s", te.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if f, e := strconv.Unquote(name); e == nil {
			name = f
		}
		return errs.Invalidf(name, "未知字段 %q", "unknown field %q", name)
	}
	return errs.Invalidf("", "JSON 内容无效：%s", "invalid JSON content: %s", err.Error())
}

// parseBool reads a yes/no cell.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "y", "是":
		return true, true
	case "false", "0", "no", "n", "否":
		return false, true
	}
	return false, false
}

func parseCSV(r io.Reader, known func(string) bool) ([]Item, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, utf8BOM) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errs.New(errs.Invalid, "", "文件为空，需要表头行", "the file is empty; a header row is required")
		}
		return nil, csvProblem(err)
	}
	ncol := len(header)
	col := map[string]int{}
	var list errs.List
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		known := false
		for _, c := range Columns {
			known = known || c == h
		}
		switch _, dup := col[h]; {
		case !known:
			list = append(list, errs.Invalidf(csvName(1, strconv.Itoa(i+1)), "未知列 %q，可用列：%s", "unknown column %q; the columns are: %s", h, strings.Join(Columns, ", ")))
		case dup:
			list = append(list, errs.Invalidf(csvName(1, h), "列 %s 重复", "the column %s appears twice", h))
		default:
			col[h] = i
		}
	}
	for _, c := range requiredColumns {
		if _, ok := col[c]; !ok {
			list = append(list, errs.Invalidf(csvName(1, c), "缺少必需的列 %s", "the required column %s is missing", c))
		}
	}
	if len(list) > 0 {
		return nil, list
	}

	var (
		items    []Item
		byCode   = map[string]int{}
		itemRow  []int   // the first row of each item
		matRows  [][]int // the row of each material
		rowItems [][]string
	)
	v := &validator{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			e := errs.As(csvProblem(err))
			if e == nil {
				return nil, err
			}
			return nil, append(v.list, e)
		}
		// A row is named by the line it starts on, as editors and spreadsheets number it (a
		// quoted cell with line breaks makes the numbers of later rows differ in spreadsheets).
		row, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a line of spaces
		}
		if len(rec) != ncol {
			v.list = append(v.list, errs.Invalidf(fmt.Sprintf("row %d", row), "该行有 %d 列，表头有 %d 列", "the row has %d columns, the header %d", len(rec), ncol))
			continue
		}
		cell := func(c string) string {
			if i, ok := col[c]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		it := Item{Code: cell("item_code"), Name: cell("item_name"), NameEN: cell("item_name_en"),
			Department: Department{Name: cell("department"), Code: cell("department_code")},
			Region:     cell("region"), Scenario: Scenario(cell("scenario"))}
		m := Material{Code: cell("material_code"), Name: cell("material_name"), NameEN: cell("material_name_en"),
			LicenceType: cell("licence_type"), Class: Class(cell("class")), Rule: Rule(cell("rule"))}
		for _, b := range []struct {
			name string
			dst  *bool
		}{{"archive", &m.Archive}, {"required", &m.Required}} {
			val, ok := parseBool(cell(b.name))
			if !ok {
				v.list = append(v.list, errs.Invalidf(csvName(row, b.name), "应为 true 或 false（也可写 是/否、1/0），收到 %q",
					"must be true or false (also 是/否, 1/0), got %q", cell(b.name)))
			}
			*b.dst = val
		}
		i, seen := byCode[it.Code]
		if !seen {
			i = len(items)
			byCode[it.Code] = i
			items = append(items, it)
			itemRow = append(itemRow, row)
			matRows = append(matRows, nil)
			rowItems = append(rowItems, itemCells(&it))
		} else {
			// The item's columns repeat on every row of the item: they must agree.
			cells := itemCells(&it)
			for k, c := range itemColumns {
				if cells[k] != rowItems[i][k] {
					v.list = append(v.list, errs.Invalidf(csvName(row, c), "与本事项第 %d 行的 %q 不一致：同一事项的各行须相同",
						"differs from %q on row %d of the same item: the item's columns must be the same on each of its rows", rowItems[i][k], itemRow[i]))
				}
			}
		}
		items[i].Materials = append(items[i].Materials, m)
		matRows[i] = append(matRows[i], row)
	}
	if items == nil && len(v.list) == 0 {
		return nil, errs.New(errs.Invalid, "", "文件中没有数据行", "the file has no data rows")
	}
	name := func(item, material int, field string) string {
		if material < 0 {
			return csvName(itemRow[item], csvField[[2]string{"item", field}])
		}
		return csvName(matRows[item][material], csvField[[2]string{"material", field}])
	}
	err = validate(items, name, known)
	var vl errs.List
	if errors.As(err, &vl) {
		v.list = append(v.list, vl...)
	}
	if len(v.list) > 0 {
		return nil, v.list
	}
	return items, nil
}

// itemColumns are the item's columns, in the order itemCells returns them.
var itemColumns = []string{"item_name", "item_name_en", "department", "department_code", "region", "scenario"}

func itemCells(it *Item) []string {
	return []string{it.Name, it.NameEN, it.Department.Name, it.Department.Code, it.Region, string(it.Scenario)}
}

func csvProblem(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return errs.Invalidf(fmt.Sprintf("row %d", pe.StartLine), "CSV 格式错误（第 %d 行第 %d 列）：%s",
			"malformed CSV at line %d, column %d: %s", pe.Line, pe.Column, pe.Err.Error())
	}
	return fmt.Errorf("catalog: read csv: %w", err)
}

// Write writes items in format f: JSON indented, CSV with a UTF-8 byte order mark (so that
// spreadsheet programs read the Chinese text) and the header Columns.
func Write(w io.Writer, f Format, items []Item) error {
	switch f {
	case JSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if items == nil {
			items = []Item{}
		}
		return enc.Encode(File{Items: items})
	case CSV:
		if _, err := w.Write(utf8BOM); err != nil {
			return err
		}
		cw := csv.NewWriter(w)
		if err := cw.Write(Columns); err != nil {
			return err
		}
		for i := range items {
			it := &items[i]
			for j := range it.Materials {
				m := &it.Materials[j]
				if err := cw.Write([]string{it.Code, it.Name, it.NameEN, it.Department.Name, it.Department.Code, it.Region,
					string(it.Scenario), m.Code, m.Name, m.NameEN, m.LicenceType, string(m.Class),
					strconv.FormatBool(m.Archive), strconv.FormatBool(m.Required), string(m.Rule)}); err != nil {
					return err
				}
			}
		}
		cw.Flush()
		return cw.Error()
	}
	return errs.Invalidf("format", "格式 %q 未知，可选：json、csv", "unknown format %q; one of: json, csv", string(f))
}
