package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/license"
)

// DefaultMaxRowBytes is the longest row (CSV record or JSON line) accepted; a longer row is
// reported as a row error and skipped, never held in memory whole.
const DefaultMaxRowBytes = 64 << 10

var bom = []byte("\xef\xbb\xbf")

// record is one data row read from a file: a registration, or the error that makes it bad.
type record struct {
	row  int64 // data row, 1-based
	line int64 // line of the file where the row starts
	reg  license.Registration
	bad  *RowError
}

// rowReader reads the data rows of an import file one at a time. next returns io.EOF after
// the last row; any other error is an I/O failure that ends the import.
type rowReader interface {
	next() (record, error)
	// consumed returns the number of bytes of the file read so far.
	consumed() int64
}

// splitter cuts a stream into rows: physical lines for JSON Lines, and CSV records, which
// continue over line breaks inside quoted fields. It never buffers more than max bytes of a
// row: a longer row is consumed to its end and reported as long.
type splitter struct {
	br    *bufio.Reader
	csv   bool
	max   int
	buf   []byte
	n     int64 // bytes consumed
	line  int64 // lines consumed
	start int64 // line where the last row returned starts
	first bool  // nothing read yet: a UTF-8 byte order mark may follow
}

func newSplitter(r io.Reader, csv bool, max int) *splitter {
	if max <= 0 {
		max = DefaultMaxRowBytes
	}
	return &splitter{br: bufio.NewReaderSize(r, 64<<10), csv: csv, max: max, first: true}
}

// CSV quote states (RFC 4180), enough to tell whether a line break ends the record.
type quoteState uint8

const (
	atFieldStart quoteState = iota
	inUnquoted
	inQuoted
	afterQuote // a quote inside a quoted field: closes it, or starts an escaped ""
)

func scanQuotes(st quoteState, b []byte) quoteState {
	if st != inQuoted && st != afterQuote && bytes.IndexByte(b, '"') < 0 {
		if len(b) == 0 {
			return st
		}
		if c := b[len(b)-1]; c == ',' || c == '\n' {
			return atFieldStart
		}
		return inUnquoted
	}
	for _, c := range b {
		switch st {
		case atFieldStart:
			switch c {
			case '"':
				st = inQuoted
			case ',', '\n':
			default:
				st = inUnquoted
			}
		case inUnquoted:
			if c == ',' || c == '\n' {
				st = atFieldStart
			}
		case inQuoted:
			if c == '"' {
				st = afterQuote
			}
		case afterQuote:
			switch c {
			case '"':
				st = inQuoted
			case ',', '\n':
				st = atFieldStart
			default:
				st = inUnquoted // malformed; the parser reports it
			}
		}
	}
	return st
}

// next returns the next row without its line ending; long reports a row over the limit, whose
// content is not returned. At the end of the input it returns io.EOF.
func (s *splitter) next() (row []byte, long bool, err error) {
	s.buf = s.buf[:0]
	s.start = s.line + 1
	st := atFieldStart
	got := false
	for {
		chunk, err := s.br.ReadSlice('\n')
		s.n += int64(len(chunk))
		if s.first && len(chunk) > 0 {
			s.first = false
			chunk = bytes.TrimPrefix(chunk, bom)
		}
		if len(chunk) > 0 {
			got = true
		}
		if s.csv {
			st = scanQuotes(st, chunk)
		}
		if !long {
			if len(s.buf)+len(chunk) > s.max+2 { // +2: the line ending does not count
				long = true
				s.buf = s.buf[:0]
			} else {
				s.buf = append(s.buf, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if !got {
				return nil, false, io.EOF
			}
			s.line++
			return s.finish(long)
		case err != nil:
			return nil, false, fmt.Errorf("importer: read: %w", err)
		}
		s.line++
		if !s.csv || st != inQuoted {
			return s.finish(long)
		}
	}
}

func (s *splitter) finish(long bool) ([]byte, bool, error) {
	b := bytes.TrimSuffix(s.buf, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) > s.max {
		long = true
	}
	if long {
		return nil, true, nil
	}
	return b, false, nil
}

// csvError is a malformed CSV record.
type csvError struct{ zh, en string }

// parseCSV splits one record (RFC 4180, as encoding/csv reads it without LazyQuotes) into
// fields, appending to dst. Line breaks inside quoted fields are "\n".
func parseCSV(rec []byte, dst []string, tmp []byte) ([]string, []byte, *csvError) {
	if bytes.IndexByte(rec, '\r') >= 0 {
		rec = bytes.ReplaceAll(rec, []byte("\r\n"), []byte("\n"))
	}
	dst = dst[:0]
	i := 0
	for {
		if i < len(rec) && rec[i] == '"' {
			i++
			tmp = tmp[:0]
			for {
				j := bytes.IndexByte(rec[i:], '"')
				if j < 0 {
					return dst, tmp, &csvError{"引号未闭合", "quoted field is not closed"}
				}
				tmp = append(tmp, rec[i:i+j]...)
				i += j + 1
				if i < len(rec) && rec[i] == '"' {
					tmp = append(tmp, '"')
					i++
					continue
				}
				break
			}
			dst = append(dst, string(tmp))
			if i == len(rec) {
				return dst, tmp, nil
			}
			if rec[i] != ',' {
				return dst, tmp, &csvError{
					fmt.Sprintf("第 %d 列：引号后有多余字符", len(dst)),
					fmt.Sprintf("field %d: unexpected character after closing quote", len(dst)),
				}
			}
			i++
			continue
		}
		j := bytes.IndexByte(rec[i:], ',')
		f := rec[i:]
		if j >= 0 {
			f = rec[i : i+j]
		}
		if bytes.IndexByte(f, '"') >= 0 {
			return dst, tmp, &csvError{
				fmt.Sprintf("第 %d 列：未加引号的字段中有引号", len(dst)+1),
				fmt.Sprintf("field %d: bare quote in a field that is not quoted", len(dst)+1),
			}
		}
		dst = append(dst, string(f))
		if j < 0 {
			return dst, tmp, nil
		}
		i += j + 1
	}
}

// csvReader reads the data rows of a CSV file with a header row.
type csvReader struct {
	sp      *splitter
	cols    []int // column index (in Columns) of each field of a record
	row     int64
	fields  []string
	tmp     []byte
	defAuth string
}

// newCSVReader reads the header row. A header that is missing, malformed, names an unknown
// or duplicate column, or lacks a required one fails the whole import.
func newCSVReader(r io.Reader, maxRow int, defAuth string) (*csvReader, error) {
	c := &csvReader{sp: newSplitter(r, true, maxRow), defAuth: defAuth}
	var head []byte
	for {
		b, long, err := c.sp.next()
		if errors.Is(err, io.EOF) {
			return nil, errs.New(errs.Invalid, "header", "文件为空，缺少表头行", "the file is empty: no header row")
		}
		if err != nil {
			return nil, err
		}
		if long {
			return nil, errs.Invalidf("header", "表头行超过 %d 字节", "the header row is longer than %d bytes", c.sp.max)
		}
		if len(b) > 0 {
			head = b
			break
		}
	}
	if !utf8.Valid(head) {
		return nil, errs.New(errs.Invalid, "header", "表头行不是有效的 UTF-8 文本", "the header row is not valid UTF-8")
	}
	names, _, perr := parseCSV(head, nil, nil)
	if perr != nil {
		return nil, errs.New(errs.Invalid, "header", "表头行格式错误："+perr.zh, "malformed header row: "+perr.en)
	}
	seen := make(map[int]bool, len(names))
	c.cols = make([]int, len(names))
	for i, name := range names {
		name = strings.ToLower(strings.TrimSpace(name))
		idx, ok := columnIndex[name]
		if !ok {
			return nil, errs.New(errs.Invalid, name,
				fmt.Sprintf("未知列 %q（可用的列见 docs/import.md）", name),
				fmt.Sprintf("unknown column %q (see docs/import.md for the columns)", name))
		}
		if seen[idx] {
			return nil, errs.New(errs.Invalid, name,
				fmt.Sprintf("列 %q 重复", name), fmt.Sprintf("column %q appears twice", name))
		}
		seen[idx] = true
		c.cols[i] = idx
	}
	for _, name := range required {
		if !seen[columnIndex[name]] {
			return nil, errs.New(errs.Invalid, name,
				fmt.Sprintf("缺少必需的列 %q", name), fmt.Sprintf("required column %q is missing", name))
		}
	}
	return c, nil
}

func (c *csvReader) consumed() int64 { return c.sp.n }

func (c *csvReader) next() (record, error) {
	var b []byte
	for {
		var long bool
		var err error
		b, long, err = c.sp.next()
		if err != nil {
			return record{}, err
		}
		if long {
			c.row++
			return record{row: c.row, line: c.sp.start, bad: tooLong(c.sp.max)}, nil
		}
		if len(b) > 0 {
			break
		}
	}
	c.row++
	rec := record{row: c.row, line: c.sp.start}
	var perr *csvError
	c.fields, c.tmp, perr = parseCSV(b, c.fields, c.tmp)
	if perr != nil {
		rec.bad = &RowError{ZH: perr.zh, EN: perr.en}
		if len(c.fields) > 0 && c.cols[0] == colCode {
			rec.bad.Code = strings.TrimSpace(c.fields[0])
		}
		return rec, nil
	}
	if len(c.fields) != len(c.cols) {
		rec.bad = &RowError{
			ZH: fmt.Sprintf("该行有 %d 列，表头有 %d 列", len(c.fields), len(c.cols)),
			EN: fmt.Sprintf("the row has %d fields but the header has %d", len(c.fields), len(c.cols)),
		}
		return rec, nil
	}
	var v [numColumns]string
	for i, f := range c.fields {
		v[c.cols[i]] = f
	}
	for i, f := range c.fields {
		if !utf8.ValidString(f) {
			rec.bad = badUTF8(Columns[c.cols[i]])
			if utf8.ValidString(v[colCode]) {
				rec.bad.Code = strings.TrimSpace(v[colCode])
			}
			return rec, nil
		}
	}
	rec.reg = registration(&v, c.defAuth)
	return rec, nil
}

func tooLong(max int) *RowError {
	return &RowError{
		ZH: fmt.Sprintf("该行超过 %d 字节的上限", max),
		EN: fmt.Sprintf("the row is longer than the limit of %d bytes", max),
	}
}

func badUTF8(field string) *RowError {
	return &RowError{Field: field, ZH: "不是有效的 UTF-8 文本", EN: "is not valid UTF-8 text"}
}

// jsonRow holds the keys of one JSON Lines object; RawMessage keeps each value's type so a
// wrong one is reported with its key.
type jsonRow struct {
	Code            json.RawMessage `json:"code"`
	Kind            json.RawMessage `json:"kind"`
	Name            json.RawMessage `json:"name"`
	Type            json.RawMessage `json:"type"`
	Person          json.RawMessage `json:"person"`
	PersonID        json.RawMessage `json:"person_id"`
	CapitalAmount   json.RawMessage `json:"capital_amount"`
	CapitalCurrency json.RawMessage `json:"capital_currency"`
	Form            json.RawMessage `json:"form"`
	EstablishedOn   json.RawMessage `json:"established_on"`
	TermFrom        json.RawMessage `json:"term_from"`
	TermTo          json.RawMessage `json:"term_to"`
	Address         json.RawMessage `json:"address"`
	Scope           json.RawMessage `json:"scope"`
	Region          json.RawMessage `json:"region"`
	Authority       json.RawMessage `json:"authority"`
}

func (j *jsonRow) raw() [numColumns]*json.RawMessage {
	return [numColumns]*json.RawMessage{
		&j.Code, &j.Kind, &j.Name, &j.Type, &j.Person, &j.PersonID,
		&j.CapitalAmount, &j.CapitalCurrency, &j.Form, &j.EstablishedOn, &j.TermFrom, &j.TermTo,
		&j.Address, &j.Scope, &j.Region, &j.Authority,
	}
}

// jsonlReader reads JSON Lines: one object per line with the keys of Columns.
type jsonlReader struct {
	sp      *splitter
	row     int64
	defAuth string
}

func newJSONLReader(r io.Reader, maxRow int, defAuth string) *jsonlReader {
	return &jsonlReader{sp: newSplitter(r, false, maxRow), defAuth: defAuth}
}

func (j *jsonlReader) consumed() int64 { return j.sp.n }

func (j *jsonlReader) next() (record, error) {
	var b []byte
	for {
		var long bool
		var err error
		b, long, err = j.sp.next()
		if err != nil {
			return record{}, err
		}
		if long {
			j.row++
			return record{row: j.row, line: j.sp.start, bad: tooLong(j.sp.max)}, nil
		}
		b = bytes.TrimSpace(b)
		if len(b) > 0 {
			break
		}
	}
	j.row++
	rec := record{row: j.row, line: j.sp.start}
	rec.reg, rec.bad = parseJSONLine(b, j.defAuth)
	return rec, nil
}

// parseJSONLine decodes one JSON Lines row (trimmed, not empty).
func parseJSONLine(b []byte, defAuth string) (license.Registration, *RowError) {
	if !utf8.Valid(b) {
		at := 0
		for at < len(b) {
			r, size := utf8.DecodeRune(b[at:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			at += size
		}
		return license.Registration{}, &RowError{
			ZH: fmt.Sprintf("第 %d 字节处不是有效的 UTF-8 文本", at+1),
			EN: fmt.Sprintf("not valid UTF-8 text at byte %d", at+1),
		}
	}
	if b[0] != '{' {
		return license.Registration{}, &RowError{ZH: "每行须为一个 JSON 对象", EN: "each line must be one JSON object"}
	}
	var v [numColumns]string
	if !parseFlatJSON(b, &v) {
		var bad *RowError
		if v, bad = decodeJSON(b); bad != nil {
			return license.Registration{}, bad
		}
	}
	return registration(&v, defAuth), nil
}

// decodeJSON decodes one JSON Lines object with encoding/json, rejecting unknown keys and
// values that are not strings, numbers or null.
func decodeJSON(b []byte) ([numColumns]string, *RowError) {
	var v [numColumns]string
	var jr jsonRow
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&jr); err != nil {
		return v, jsonError(err, jr.Code)
	}
	if rest := bytes.TrimSpace(b[dec.InputOffset():]); len(rest) > 0 {
		return v, &RowError{
			ZH: fmt.Sprintf("第 %d 字节后有多余内容：每行只能有一个 JSON 对象", dec.InputOffset()),
			EN: fmt.Sprintf("unexpected data after byte %d: one JSON object per line", dec.InputOffset()),
		}
	}
	for i, p := range jr.raw() {
		s, ok := jsonText(*p)
		if !ok {
			bad := &RowError{Field: Columns[i], ZH: "应为字符串", EN: "must be a string"}
			bad.Code, _ = jsonText(jr.Code)
			return v, bad
		}
		v[i] = s
	}
	return v, nil
}

// parseFlatJSON is the fast path of parseJSONLine, four to five times faster than
// encoding/json: it decodes an object whose keys are all columns (exactly as written) and whose
// values are strings without escapes, numbers or null. It returns false for anything else, and
// the caller decodes the line with encoding/json, which gives the same result or explains what
// is wrong (FuzzFlatJSON holds the two paths together).
func parseFlatJSON(b []byte, v *[numColumns]string) bool {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipWS(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		key, next, ok := plainString(b, i)
		if !ok {
			return false
		}
		col, known := columnIndex[string(key)]
		if !known {
			return false
		}
		i = skipWS(b, next)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return false
		}
		switch c := b[i]; {
		case c == '"':
			s, next, ok := plainString(b, i)
			if !ok {
				return false
			}
			v[col], i = string(s), next
		case c == 'n':
			if !bytes.HasPrefix(b[i:], []byte("null")) {
				return false
			}
			v[col], i = "", i+4
		default:
			n := numberLen(b[i:])
			if n == 0 {
				return false
			}
			v[col], i = string(b[i:i+n]), i+n
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return skipWS(b, i+1) == len(b)
		default:
			return false
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString returns the content of the JSON string starting at b[i] (a quote) if it has no
// escapes and no control characters, and the index after its closing quote.
func plainString(b []byte, i int) ([]byte, int, bool) {
	j := bytes.IndexByte(b[i+1:], '"')
	if j < 0 {
		return nil, 0, false
	}
	s := b[i+1 : i+1+j]
	for _, c := range s {
		if c < 0x20 || c == '\\' {
			return nil, 0, false
		}
	}
	return s, i + 2 + j, true
}

// numberLen returns the length of the JSON number (RFC 8259 §6) at the start of b, or 0.
func numberLen(b []byte) int {
	i := 0
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return 0
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return 0
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return 0
		}
	}
	return i
}

// jsonText returns a JSON value as text: strings as they are, numbers as written, null as "".
func jsonText(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 {
		return "", true
	}
	switch c := raw[0]; {
	case c == '"':
		if bytes.IndexByte(raw, '\\') < 0 {
			return string(raw[1 : len(raw)-1]), true
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false
		}
		return s, true
	case c == '-' || c >= '0' && c <= '9':
		return string(raw), true
	case string(raw) == "null":
		return "", true
	}
	return "", false
}

// jsonError turns a decoding error into a row error naming the key at fault when there is one.
func jsonError(err error, code json.RawMessage) *RowError {
	bad := &RowError{}
	bad.Code, _ = jsonText(code)
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	msg := err.Error()
	switch {
	case errors.As(err, &syn):
		bad.ZH = fmt.Sprintf("第 %d 字节处 JSON 格式错误", syn.Offset)
		bad.EN = fmt.Sprintf("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		bad.Field = typ.Field
		bad.ZH, bad.EN = "应为字符串", "must be a string"
		if typ.Field == "" {
			bad.ZH, bad.EN = "每行须为一个 JSON 对象", "each line must be one JSON object"
		}
	case strings.Contains(msg, "unknown field"):
		name := msg
		if i := strings.IndexByte(msg, '"'); i >= 0 {
			if s, err := strconv.QuotedPrefix(msg[i:]); err == nil {
				name, _ = strconv.Unquote(s)
			}
		}
		bad.Field = name
		bad.ZH = fmt.Sprintf("未知字段 %q（可用的字段见 docs/import.md）", name)
		bad.EN = fmt.Sprintf("unknown field %q (see docs/import.md for the keys)", name)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		bad.ZH, bad.EN = "JSON 对象不完整", "the JSON object is incomplete"
	default:
		bad.ZH = "JSON 格式错误：" + msg
		bad.EN = "malformed JSON: " + msg
	}
	return bad
}
