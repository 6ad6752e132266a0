package present

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/errs"
)

func TestParseFields(t *testing.T) {
	got, err := ParseFields([]string{"status", "name", "name", "scope"})
	if err != nil || strings.Join(got, ",") != "name,scope,status" {
		t.Errorf("ParseFields = %v, %v", got, err)
	}
	if _, err := ParseFields([]string{"name", "id_number"}); !errs.Is(err, errs.Invalid) || errs.As(err).Field != "fields" {
		t.Errorf("an unknown item: %v", err)
	}
	if got, err := ParseFields(nil); err != nil || len(got) != 0 {
		t.Errorf("no items: %v %v", got, err)
	}
}

func TestKindOf(t *testing.T) {
	for action, want := range map[string]string{
		"identity.login_confirm": "login", "identity.grant": "manage", "share.query": "share", "share.verify": "verify",
		"share.batch_verify": "verify", "share.download": "download", "share.archive": "share", "sign.confirm": "sign",
		"wallet.present": "present", "wallet.present.verify": "verify", "license.suspend": "registry", "consent.approve": "manage",
		"consent.request": "share", "something.else": "other",
	} {
		if got := KindOf(action); got != want {
			t.Errorf("KindOf(%s) = %s, want %s", action, got, want)
		}
	}
}

func TestClip(t *testing.T) {
	s := strings.Repeat("经营范围", 40) // 480 bytes
	c := clip(s, 255)
	if len(c) > 255 || !utf8.ValidString(c) || !strings.HasSuffix(c, "…") || !strings.HasPrefix(s, strings.TrimSuffix(c, "…")) {
		t.Errorf("clip gives %d bytes %q", len(c), c)
	}
	if clip("短", 255) != "短" {
		t.Error("a short value is changed")
	}
}

func TestIsPresentation(t *testing.T) {
	for tok, want := range map[string]bool{
		"AgEBwFIt.MEQC": true, "https://x.cn/v/AgEBwFIt.MEQC?x": true, "AQEBwFIt.MEQC": false, "Ag": false, "": false, "A!EB.x": false,
	} {
		if got := IsPresentation(tok); got != want {
			t.Errorf("IsPresentation(%q) = %v", tok, got)
		}
	}
}
