package main

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// getJSON fetches a JSON document of the demo platform, with an optional Bearer token.
func (d *servedDemo) getJSON(t *testing.T, path, token string, v any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", d.base+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v: %s", path, err, b)
		}
	}
	return resp.StatusCode
}

// operatorToken logs in as the demo's operator account and returns an API token.
func (d *servedDemo) operatorToken(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  admin\s+(\S+)\s+operator`).FindStringSubmatch(d.out.String())
	if m == nil {
		t.Fatalf("no operator account printed:\n%s", d.out.String())
	}
	resp, err := http.Post(d.base+"/api/v1/tokens", "application/json",
		strings.NewReader(`{"username":"admin","password":"`+m[1]+`","name":"e2e"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.Token == "" {
		t.Fatalf("operator token: %d %v", resp.StatusCode, err)
	}
	return tok.Token
}

// checkChainRecorded asserts what the platform recorded for the case: the entity's licence
// library holds the service record with the business licence used, and the public statistics
// count the material not asked for (figures come from the audit log, rolled up in the
// background within seconds).
func checkChainRecorded(t *testing.T, d *servedDemo, caseNo string) {
	t.Helper()
	var e struct {
		Licence struct {
			Identifier string `json:"identifier"`
		} `json:"licence"`
		Records []struct {
			Case       string   `json:"case"`
			Item       string   `json:"item"`
			Department string   `json:"department_name"`
			Licences   []string `json:"licences"`
		} `json:"records"`
	}
	if st := d.getJSON(t, "/api/v1/library/entities/"+d.entity, d.operatorToken(t), &e); st != 200 {
		t.Fatalf("library entity: %d", st)
	}
	found := false
	for _, r := range e.Records {
		if r.Case == caseNo {
			found = true
			if r.Item != "bank.basic-account" || r.Department != "演示银行 · 企业开户" || len(r.Licences) != 1 || r.Licences[0] != e.Licence.Identifier {
				t.Errorf("service record %+v, licence %s", r, e.Licence.Identifier)
			}
		}
	}
	if !found {
		t.Errorf("no service record of case %s in the library: %+v", caseNo, e.Records)
	}
	var sum struct {
		Totals []struct {
			Metric string `json:"metric"`
			N      int64  `json:"n"`
		} `json:"totals"`
	}
	var n int64 = -1
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if st := d.getJSON(t, "/api/v1/stats/summary", "", &sum); st != 200 {
			t.Fatalf("stats summary: %d", st)
		}
		for _, x := range sum.Totals {
			if x.Metric == "not_asked" {
				n = x.N
			}
		}
		if n == 1 {
			return
		}
	}
	t.Errorf("the public statistics count %d materials not asked for, want 1", n)
}
