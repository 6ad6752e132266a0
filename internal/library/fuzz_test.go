package library_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/library"
)

// FuzzIssue feeds outside input to the issuance path: it never panics, an issued permit
// verifies, and every refusal is an Invalid or Conflict error naming a field.
func FuzzIssue(f *testing.F) {
	e := newEnv(f)
	ctx := context.Background()
	a := library.Actor{ID: "fuzz", Department: e.dept}
	f.Add("JY1", "餐饮服务经营者", "热食类食品制售", "12.5", "2026-01-01", "001", `{"a":1}`)
	f.Add("", "网吧", "", "1e5", "2026-13-01", "111", `[]`)
	f.Add("jy\u00002", "\xff", "a\x07b", "-0.5", "", "999", `{"a":`)
	f.Fuzz(func(t *testing.T, number, mainBody, scope, area, inspected, codeType, ext string) {
		in := issuance(e, t, number)
		in.HolderCodeType = codeType
		in.Items = map[string]string{"operator": "x", "main_body": mainBody, "scope": scope, "area": area, "inspected_on": inspected}
		in.Extension = json.RawMessage(ext)
		p, err := e.lib.Issue(ctx, a, in)
		if err == nil {
			if err := e.lib.VerifySignature(ctx, p); err != nil {
				t.Fatalf("issued permit does not verify: %v", err)
			}
			return
		}
		k := errs.KindOf(err)
		if k != errs.Invalid && k != errs.Conflict {
			t.Fatalf("unexpected error: %v", err)
		}
		for _, f := range fields(err) {
			if f == "" {
				t.Fatalf("error without field: %v", err)
			}
		}
	})
}
