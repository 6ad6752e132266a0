package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestUsageListsEveryCommand keeps the usage text in step with run's commands: every command
// run dispatches (its case labels in main.go) appears in the usage as "elicense COMMAND".
func TestUsageListsEveryCommand(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	body := string(src)
	body = body[strings.Index(body, "func run("):]
	cases := regexp.MustCompile(`(?m)^\tcase ((?:"[^"]+"(?:, )?)+):`).FindAllStringSubmatch(body, -1)
	if len(cases) < 10 {
		t.Fatalf("found only %d commands in run", len(cases))
	}
	for _, c := range cases {
		for _, name := range regexp.MustCompile(`"([^"]+)"`).FindAllStringSubmatch(c[1], -1) {
			cmd := name[1]
			if strings.HasPrefix(cmd, "-") || cmd == "help" {
				continue
			}
			if !strings.Contains(usage, "elicense "+cmd+" ") && !strings.Contains(usage, "elicense "+cmd+"\n") {
				t.Errorf("the usage text does not list %q", cmd)
			}
		}
	}
	for _, want := range []string{"--role operator|registrar|issuer|department", "signing"} {
		if !strings.Contains(usage, want) {
			t.Errorf("the usage text lacks %q", want)
		}
	}
}
