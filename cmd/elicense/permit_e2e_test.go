package main

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"testing"
)

// TestPermitDocumentsEndToEnd: on the demo platform, an operator downloads the sealed document
// of another department's permit from the licence library, in both formats, and the platform's
// verification recognises it as that permit, valid; an anonymous caller may not download it.
func TestPermitDocumentsEndToEnd(t *testing.T) {
	d := startDemo(t, "--demo-portals=false")
	token := d.operatorToken(t)
	call := func(method, path, token, ctype string, body io.Reader) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, d.base+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	tok := struct{ Token string }{token}

	// Find a demo entity with permits.
	st, b := call("GET", "/api/v1/licenses?limit=100", "", "", nil)
	var list struct {
		Items []struct {
			Code string `json:"code"`
		} `json:"items"`
	}
	if st != 200 || json.Unmarshal(b, &list) != nil || len(list.Items) == 0 {
		t.Fatalf("licence list: %d %s", st, b)
	}
	var permit struct {
		Identifier string `json:"identifier"`
		TypeName   string `json:"type_name"`
		Number     string `json:"number"`
	}
	for _, it := range list.Items {
		st, b = call("GET", "/api/v1/library/entities/"+it.Code, tok.Token, "", nil)
		var e struct {
			Permits []struct {
				Identifier string `json:"identifier"`
				TypeName   string `json:"type_name"`
				Number     string `json:"number"`
				Status     string `json:"status"`
			} `json:"permits"`
		}
		if st != 200 || json.Unmarshal(b, &e) != nil {
			t.Fatalf("entity %s: %d %s", it.Code, st, b)
		}
		for _, p := range e.Permits {
			if p.Status == "valid" {
				permit.Identifier, permit.TypeName, permit.Number = p.Identifier, p.TypeName, p.Number
			}
		}
		if permit.Identifier != "" {
			break
		}
	}
	if permit.Identifier == "" {
		t.Fatal("no demo entity among the first 100 has a valid permit")
	}
	path := "/api/v1/library/licences/" + permit.Identifier + "/document"
	if st, b := call("GET", path, "", "", nil); st != 403 {
		t.Errorf("anonymous download of a permit document: %d %s", st, b)
	}
	for _, format := range []string{"ofd", "pdf"} {
		st, doc := call("GET", path+"?format="+format, tok.Token, "", nil)
		if st != 200 || len(doc) < 1000 {
			t.Fatalf("%s document: %d %.200s", format, st, doc)
		}
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", "permit."+format)
		fw.Write(doc)
		mw.Close()
		st, b := call("POST", "/api/v1/verify", "", mw.FormDataContentType(), &body)
		var rep struct {
			Result     int    `json:"result"`
			Kind       string `json:"kind"`
			Identifier string `json:"identifier"`
			Number     string `json:"number"`
		}
		if st != 200 || json.Unmarshal(b, &rep) != nil {
			t.Fatalf("verify %s: %d %s", format, st, b)
		}
		if rep.Result != 0 || rep.Kind != "permit" || rep.Identifier != permit.Identifier || rep.Number != permit.Number {
			t.Errorf("verify %s: %s", format, b)
		}
	}
}
