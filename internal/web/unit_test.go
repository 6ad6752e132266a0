package web

import (
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLangOf(t *testing.T) {
	tests := []struct {
		target, accept, cookie, want string
	}{
		{"/", "", "", "zh"},
		{"/?lang=en", "", "", "en"},
		{"/?lang=EN-us", "", "", "en"},
		{"/?lang=zh", "en", "en", "zh"},
		{"/?lang=fr", "en", "", "en"}, // unknown: fall through
		{"/", "", "en", "en"},
		{"/", "zh-CN", "en", "en"}, // the chosen language beats the browser's
		{"/", "en-US,en;q=0.9", "", "en"},
		{"/", "zh-CN,zh;q=0.9,en;q=0.8", "", "zh"},
		{"/", "en;q=0.5,zh;q=0.8", "", "zh"},
		{"/", "fr-FR,en;q=0.3", "", "en"},
		{"/", "fr-FR,de", "", "zh"},
		{"/", "en;q=0", "", "zh"},
		{"/", "en;q=bogus", "", "zh"},
		{"/", "*", "", "zh"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", tt.target, nil)
		if tt.accept != "" {
			r.Header.Set("Accept-Language", tt.accept)
		}
		if tt.cookie != "" {
			r.Header.Set("Cookie", "lang="+tt.cookie)
		}
		if got := langOf(r); got != tt.want {
			t.Errorf("%s Accept-Language %q cookie %q: %s, want %s", tt.target, tt.accept, tt.cookie, got, tt.want)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/admin/licences?kind=company": "/admin/licences?kind=company",
		"/admin/tokens":                "/admin/tokens",
		"https://evil.example/":        "/admin/licences",
		"//evil.example/admin/":        "/admin/licences",
		"/admin/\\evil":                "/admin/licences",
		"/verify":                      "/admin/licences",
		"":                             "/admin/licences",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTruncate(t *testing.T) {
	s := strings.Repeat("营", 100) // 3 bytes each
	if got := truncate(s, 10); got != "营营营" {
		t.Errorf("truncate = %q", got)
	}
	if got := truncate("abc", 10); got != "abc" {
		t.Errorf("truncate = %q", got)
	}
}

func TestParseLocalTime(t *testing.T) {
	got, err := parseLocalTime("2024-05-01T09:30")
	if err != nil || !got.Equal(time.Date(2024, 5, 1, 1, 30, 0, 0, time.UTC)) {
		t.Errorf("parseLocalTime = %v, %v", got, err)
	}
	if got, err := parseLocalTime(" "); err != nil || !got.IsZero() {
		t.Errorf("empty: %v, %v", got, err)
	}
	if _, err := parseLocalTime("2024-13-01T09:30"); err == nil {
		t.Error("a bad month is accepted")
	}
}

func TestSigCache(t *testing.T) {
	c := newSigCache(10)
	key := func(i int) [32]byte { return [32]byte{byte(i), byte(i >> 8)} }
	for i := range 100 {
		c.put(key(i), i%2 == 0)
	}
	if n := len(c.young) + len(c.old); n > 10 {
		t.Errorf("the cache holds %d entries, more than 10", n)
	}
	if v, ok := c.get(key(99)); !ok || v {
		t.Errorf("the newest entry: %v %v", v, ok)
	}
	if _, ok := c.get(key(0)); ok {
		t.Error("the oldest entry survived")
	}
	// A hot entry survives rotations.
	c.put(key(1000), true)
	for i := range 50 {
		c.put(key(2000+i), true)
		if _, ok := c.get(key(1000)); !ok {
			t.Fatalf("the hot entry was dropped after %d puts", i)
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				c.put(key(g*1000+i), true)
				c.get(key(i))
			}
		}()
	}
	wg.Wait()
}
