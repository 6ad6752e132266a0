package passhash

import (
	"strings"
	"testing"
)

func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not in the expected PHC form", h)
	}
	if !Verify(h, "correct horse") || Verify(h, "correct hors") {
		t.Error("verify")
	}
	h2, _ := Hash("correct horse")
	if h == h2 {
		t.Error("salts must differ")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", strings.Replace(h, "t=2", "t=x", 1)} {
		if Verify(bad, "correct horse") {
			t.Errorf("malformed hash %q matched", bad)
		}
	}
}
