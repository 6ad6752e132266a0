package web

import "testing"

// TestRedactPath checks that path segments looking like a citizen ID number are masked and
// that other paths are returned as they are.
func TestRedactPath(t *testing.T) {
	for in, want := range map[string]string{
		"/api/v1/sharing/query":                      "/api/v1/sharing/query",
		"/api/v1/licences/91110000MA01234567":        "/api/v1/licences/91110000MA01234567",
		"/api/v1/licences/11010519491231002X":        "/api/v1/licences/[id-number]",
		"/11010519491231002X/x/110105194912310021":   "/[id-number]/x/[id-number]",
		"110105194912310021":                         "[id-number]",
		"/api/v1/sharing/files/dGhpcyBpcyBhIHRva2Vu": "/api/v1/sharing/files/[token]",
	} {
		if got := redactPath(in); got != want {
			t.Errorf("redactPath(%q) = %q, want %q", in, got, want)
		}
	}
}
