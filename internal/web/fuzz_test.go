package web

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/license"
)

func FuzzAcceptLanguage(f *testing.F) {
	for _, s := range []string{"", "en", "zh-CN,zh;q=0.9,en;q=0.8", "en;q=0.5,zh;q=0.8", "en;q=", ";;,,q=1", "*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if got := acceptLanguage(h); got != langZH && got != langEN {
			t.Fatalf("acceptLanguage(%q) = %q", h, got)
		}
	})
}

// FuzzDecodeJSON checks that any body gives either a value or a user error (400, 413), never a
// panic or an internal error.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"code":"x"}`, `{"face":{"capital":{"amount":"1"}}}`, `{"x":1}`, `[]`, `{"code":1}`, `{} {}`, `{`, ``, "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/api/v1/licenses", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var reg license.Registration
		err := decodeJSON(httptest.NewRecorder(), r, &reg)
		if err == nil {
			return
		}
		if e := errs.As(err); e == nil || (e.Kind != errs.Invalid && e.Kind != errs.TooLarge) || e.ZH == "" || e.EN == "" {
			t.Fatalf("body %q: error %v is not a user error in both languages", body, err)
		}
	})
}
