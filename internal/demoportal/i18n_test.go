package demoportal

import (
	"io/fs"
	"regexp"
	"testing"
)

// Every word a template asks for exists in both languages (a missing one would show its key).
func TestTemplatesUseKnownWords(t *testing.T) {
	re := regexp.MustCompile(`\bt \$?\.Lang "([^"]+)"`)
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil || len(names) == 0 {
		t.Fatalf("templates: %v", err)
	}
	for _, name := range names {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			w, ok := words[string(m[1])]
			if !ok || w[0] == "" || w[1] == "" {
				t.Errorf("%s asks for the word %q, which is missing", name, m[1])
			}
		}
	}
	for _, role := range []string{"holder", "administrator", "agent"} {
		if _, ok := words["role."+role]; !ok {
			t.Errorf("no word for the role %s", role)
		}
	}
}
