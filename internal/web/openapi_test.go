package web

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRoutes holds openapi.json and the routing table equal: every documented
// route is registered and every registered API route is documented, methods included.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	f := newFixture(t)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	r := f.do("GET", "/api/v1/openapi.json", "")
	expect(t, r, 200)
	r.decode(t, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	var registered []string
	for _, rt := range f.srv.routes() {
		api := strings.Contains(rt.pattern, " /api/") || strings.Contains(rt.pattern, " /.well-known/")
		if api != rt.doc {
			t.Errorf("%s: doc flag %v, but it is an API route: %v", rt.pattern, rt.doc, api)
		}
		if rt.doc {
			registered = append(registered, rt.pattern)
		}
	}
	for _, p := range registered {
		if !slices.Contains(documented, p) {
			t.Errorf("route %s is not in openapi.json", p)
		}
	}
	for _, p := range documented {
		if !slices.Contains(registered, p) {
			t.Errorf("openapi.json describes %s, which is not a route", p)
		}
		// And the mux routes a request of that method and path to exactly that pattern.
		method, path, _ := strings.Cut(p, " ")
		req := httptest.NewRequest(method, strings.ReplaceAll(path, "{code}", f.valid), nil)
		if _, pattern := f.srv.mux.Handler(req); pattern != p {
			t.Errorf("%s is routed to %q", p, pattern)
		}
	}
}

// TestOpenAPIDocument checks the document itself: every operation has responses, every error
// response uses the Error schema, and every $ref resolves.
func TestOpenAPIDocument(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(mustRead(t, "openapi.json"), &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if !resolves(doc, ref) {
					t.Errorf("%s: $ref %s does not resolve", path, ref)
				}
			}
			for k, x := range v {
				walk(path+"/"+k, x)
			}
		case []any:
			for _, x := range v {
				walk(path, x)
			}
		}
	}
	walk("#", doc)
	paths := doc["paths"].(map[string]any)
	for p, ops := range paths {
		for m, op := range ops.(map[string]any) {
			o := op.(map[string]any)
			resp, ok := o["responses"].(map[string]any)
			if !ok || len(resp) == 0 {
				t.Errorf("%s %s: no responses", m, p)
			}
			if o["operationId"] == nil || o["summary"] == nil {
				t.Errorf("%s %s: operationId or summary missing", m, p)
			}
			if strings.Contains(p, "{code}") {
				params, _ := o["parameters"].([]any)
				found := false
				for _, x := range params {
					if pm, ok := x.(map[string]any); ok && pm["name"] == "code" && pm["in"] == "path" {
						found = true
					}
				}
				if !found {
					t.Errorf("%s %s: path parameter code not described", m, p)
				}
			}
		}
	}
	for name, r := range doc["components"].(map[string]any)["responses"].(map[string]any) {
		schema := r.(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
		if schema["$ref"] != "#/components/schemas/Error" {
			t.Errorf("response %s does not use the Error schema", name)
		}
	}
}

func resolves(doc map[string]any, ref string) bool {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	var cur any = doc
	for part := range strings.SplitSeq(p, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[part]; !ok {
			return false
		}
	}
	return true
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := files.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
