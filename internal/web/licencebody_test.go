package web

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/elicense/elicense/internal/license"
)

// The licence answer is encoded once per licence value and is byte for byte what encoding the
// view gives; a different value (here: a forged signature) gets its own check and body; a status
// change shows in the next answer.
func TestLicenceBodyCache(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r1 := f.do("GET", "/api/v1/licenses/"+f.valid, "")
	expect(t, r1, 200)
	r2 := f.do("GET", "/api/v1/licenses/"+f.valid, "")
	expect(t, r2, 200)
	if r1.body != r2.body {
		t.Errorf("two answers differ:\n%s\n%s", r1.body, r2.body)
	}
	for h, want := range map[string]string{"Content-Type": "application/json; charset=utf-8",
		"Content-Length": strconv.Itoa(len(r1.body)), "Access-Control-Allow-Origin": "*"} {
		if got := r1.Header().Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}

	l, err := f.env.Licenses.Get(ctx, f.valid)
	if err != nil {
		t.Fatal(err)
	}
	v := viewOf(l)
	ok := true
	v.SignatureValid = &ok
	var want bytes.Buffer
	if err := json.NewEncoder(&want).Encode(v); err != nil {
		t.Fatal(err)
	}
	if r1.body != want.String() {
		t.Errorf("answer:\n%s\nwant\n%s", r1.body, want.String())
	}

	forged := *l
	forged.Signature = bytes.Clone(l.Signature)
	forged.Signature[len(forged.Signature)/2] ^= 1
	b, err := f.srv.licenceBody(ctx, &forged)
	if err != nil {
		t.Fatal(err)
	}
	var got licenceView
	if err := json.Unmarshal(b.json, &got); err != nil || got.SignatureValid == nil || *got.SignatureValid {
		t.Errorf("forged signature: %s, %v", b.json, err)
	}
	if b, err := f.srv.licenceBody(ctx, l); err != nil || string(b.json) != r1.body {
		t.Errorf("after the forged value, the genuine one answers %s, %v", b.json, err)
	}

	expect(t, f.post("/api/v1/licenses/"+f.valid+"/status", f.regA, `{"action":"suspend","reason":"涉嫌虚假登记"}`), 200)
	r := f.do("GET", "/api/v1/licenses/"+f.valid, "")
	r.decode(t, &got)
	if got.Status != license.Suspended || got.StatusReason != "涉嫌虚假登记" || got.SignatureValid == nil || !*got.SignatureValid {
		t.Errorf("after suspension: %s", r.body)
	}
}

// The answers of many licence values stay within the bound.
func TestBodyCacheBound(t *testing.T) {
	c := newBodyCache(100)
	keep := &license.Licence{Code: "keep"}
	kb := &licenceBody{json: []byte("keep")}
	ls := make([]*license.Licence, 1000)
	for i := range ls {
		ls[i] = &license.Licence{Code: strconv.Itoa(i)}
		c.put(ls[i], nil, &licenceBody{})
		if i%10 == 0 {
			c.put(keep, nil, kb)
		}
		if b, ok := c.get(keep, nil); i >= 10 && (!ok || b != kb) {
			t.Fatalf("the entry in use was dropped after %d others", i)
		}
	}
	c.mu.RLock()
	n := len(c.young) + len(c.old)
	c.mu.RUnlock()
	if n > 100 {
		t.Errorf("cache of 100 holds %d", n)
	}
}
