package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/elicense/elicense/internal/errs"
)

// maxBody is the largest request body accepted, JSON or form.
const maxBody = 1 << 20

// decodeJSON reads exactly one JSON value of at most maxBody bytes into v. It refuses another
// Content-Type (415), unknown fields (naming the field), wrong types (naming the field), and
// anything after the value.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := parseJSONType(ct); err != nil || mt != "application/json" {
		return &statusError{http.StatusUnsupportedMediaType, errs.New(errs.Invalid, "Content-Type",
			"请求体须为 JSON（Content-Type: application/json），收到的是 "+quoteOrNone(ct, "无"),
			"the body must be JSON (Content-Type: application/json), got "+quoteOrNone(ct, "none"))}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return errTooLarge
		}
		return errs.New(errs.Invalid, "", "JSON 值之后还有多余的数据", "unexpected data after the JSON value")
	}
	return nil
}

// parseJSONType is mime.ParseMediaType, answering the common exact "application/json" without
// parsing it.
func parseJSONType(ct string) (string, map[string]string, error) {
	if ct == "application/json" {
		return ct, nil, nil
	}
	return mime.ParseMediaType(ct)
}

// jsonError explains a decoding failure in the user's terms.
func jsonError(err error) error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return errTooLarge
	}
	if errors.Is(err, io.EOF) {
		return errs.New(errs.Invalid, "", "请求体为空，需要一个 JSON 对象", "the body is empty; a JSON object is required")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errs.New(errs.Invalid, "", "JSON 不完整", "the JSON is incomplete")
	}
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return errs.Invalidf("", "JSON 格式错误（第 %d 字节）：%s", "malformed JSON at byte %d: %s", se.Offset, se.Error())
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		field := te.Field
		if field == "" {
			return errs.Invalidf("", "请求体须为 JSON 对象，收到的是 %s", "the body must be a JSON object, not %s", te.Value)
		}
		return errs.Invalidf(field, "字段 %s 的类型错误：须为 %s，收到的是 %s", "field %s has the wrong type: want %s, got %s",
			field, jsonType(te.Type.Kind().String()), te.Value)
	}
	// encoding/json reports an unknown field only in the message: json: unknown field "x".
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if f, err := strconv.Unquote(name); err == nil {
			name = f
		}
		return errs.Invalidf(name, "未知字段 %q", "unknown field %q", name)
	}
	// Errors of UnmarshalJSON methods (a bad time, say) carry no field; say what was wrong.
	return errs.Invalidf("", "JSON 内容无效：%s", "invalid JSON content: %s", err.Error())
}

func jsonType(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "struct", "map", "ptr":
		return "object"
	case "slice", "array":
		return "array"
	case "bool":
		return "boolean"
	default:
		return "number"
	}
}

func quoteOrNone(s, none string) string {
	if s == "" {
		return none
	}
	return strconv.Quote(s)
}

// contentTypeJSON is the Content-Type of JSON responses, shared (net/http only reads it; cap 1,
// so an Add copies).
var contentTypeJSON = []string{"application/json; charset=utf-8"}[:1:1]

// jsonBufs are the buffers responses are encoded into.
var jsonBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writeJSON renders v with the status. Encoding errors cannot happen for the types rendered
// here; if one did, the client gets a 500 without a body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := jsonBufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer jsonBufs.Put(buf)
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	h["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
