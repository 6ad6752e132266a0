package qrtoken

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/ident"
)

// permit returns the claims of a permit QR: a 食品经营许可证 of a company, issued by a district
// department.
func permit(t testing.TB) Claims {
	t.Helper()
	id, err := ident.New("11100000MB0143028R002", authority, "JY13301060012345", 1)
	if err != nil {
		t.Fatal(err)
	}
	return Claims{
		Type: TypePermit, Identifier: id, Code: "91330106673959654P", Version: 1,
		IssuedAt:      time.Date(2025, 5, 22, 3, 4, 5, 0, time.UTC),
		AuthorityCode: authority, CertSerial: "5f1e0c9ab2d34e8f9a0b1c2d3e4f5a6b7c8d9e0f",
	}
}

func TestPermitRoundTrip(t *testing.T) {
	k := mustKey(t)
	person := permit(t)
	person.Code = "330***********123X" // a person's masked ID number
	for name, c := range map[string]Claims{"company": permit(t), "person": person} {
		tok := encode(t, k, c)
		got, err := Parse(tok)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got.Claims, c) {
			t.Errorf("%s: claims\n got %+v\nwant %+v", name, got.Claims, c)
		}
		if err := got.Verify(k.Public()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if err := got.CheckTime(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
			t.Errorf("%s: a permit token expired: %v", name, err)
		}
		if len(tok) > 256 { // a version-13 QR code at level M with a 30-character public URL
			t.Errorf("%s: token of %d characters", name, len(tok))
		}
	}
	// The type byte is signed: a licence token is not a permit token.
	lt := encode(t, k, licence(t))
	got, err := Parse(lt)
	if err != nil || got.Type != TypeLicence {
		t.Fatalf("licence token: %v %+v", err, got)
	}
	// A permit token has no expiry, role or fields.
	c := permit(t)
	c.Role = "x"
	if _, err := Encode(ctx, k, c); err == nil {
		t.Error("permit token with a role encoded")
	}
	c = permit(t)
	c.Identifier = ""
	if _, err := Encode(ctx, k, c); err == nil {
		t.Error("permit token without an identifier encoded")
	}
	// Type 4 is unknown.
	p := []byte{4, FormatVersion}
	if _, err := unmarshal(p); !errors.Is(err, ErrMalformed) {
		t.Errorf("type 4: %v", err)
	}
}
