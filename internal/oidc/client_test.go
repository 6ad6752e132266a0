package oidc

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/elicense/elicense/internal/errs"
)

func TestValidateSpec(t *testing.T) {
	portal := ClientSpec{Name: "浙江政务服务网", RedirectURIs: []string{"https://a.example.cn/cb", "https://a.example.cn/cb2"},
		GrantTypes: []string{GrantAuthorizationCode, GrantRefreshToken}}
	c, err := validateSpec(portal)
	if err != nil {
		t.Fatal(err)
	}
	if c.AuthMethod != AuthSecretBasic || c.SectorID != "a.example.cn" ||
		!slices.Equal(c.Scopes, []string{"openid", "entity", "entity.person", "entity.grants", "offline_access"}) {
		t.Errorf("portal: %+v", c)
	}
	machine, err := validateSpec(ClientSpec{Name: "共享", GrantTypes: []string{GrantClientCredentials}})
	if err != nil || !slices.Equal(machine.Scopes, machineScopes) || machine.SectorID != "" {
		t.Errorf("machine: %+v %v", machine, err)
	}
	public, err := validateSpec(ClientSpec{Name: "App", Public: true, RedirectURIs: []string{"http://127.0.0.1:8765/cb"},
		GrantTypes: []string{GrantAuthorizationCode}})
	if err != nil || public.AuthMethod != AuthNone {
		t.Errorf("public: %+v %v", public, err)
	}

	bad := []struct {
		field string
		spec  ClientSpec
	}{
		{"name", ClientSpec{GrantTypes: []string{GrantClientCredentials}}},
		{"grant_types", ClientSpec{Name: "x"}},
		{"grant_types", ClientSpec{Name: "x", GrantTypes: []string{"password"}}},
		{"grant_types", ClientSpec{Name: "x", GrantTypes: []string{GrantRefreshToken}}},
		{"redirect_uris", ClientSpec{Name: "x", GrantTypes: []string{GrantAuthorizationCode}}},
		{"redirect_uris[0]", ClientSpec{Name: "x", GrantTypes: []string{GrantAuthorizationCode}, RedirectURIs: []string{"http://portal.example.cn/cb"}}},
		{"redirect_uris[0]", ClientSpec{Name: "x", GrantTypes: []string{GrantAuthorizationCode}, RedirectURIs: []string{"https://a.example.cn/cb#x"}}},
		{"redirect_uris[0]", ClientSpec{Name: "x", GrantTypes: []string{GrantAuthorizationCode}, RedirectURIs: []string{"com.example.app:/cb"}}},
		{"redirect_uris[0]", ClientSpec{Name: "x", GrantTypes: []string{GrantAuthorizationCode}, RedirectURIs: []string{"https://u:p@a.example.cn/cb"}}},
		{"grant_types", ClientSpec{Name: "x", Public: true, GrantTypes: []string{GrantClientCredentials}}},
		{"scopes", ClientSpec{Name: "x", GrantTypes: []string{GrantClientCredentials}, Scopes: []string{"openid"}}},
		{"scopes", ClientSpec{Name: "x", GrantTypes: []string{GrantClientCredentials}, Scopes: []string{"admin"}}},
		{"jwks", ClientSpec{Name: "x", GrantTypes: []string{GrantClientCredentials}, AuthMethod: AuthPrivateKeyJWT}},
		{"jwks", ClientSpec{Name: "x", GrantTypes: []string{GrantClientCredentials}, AuthMethod: AuthPrivateKeyJWT,
			JWKS: json.RawMessage(`{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cLV8Lp6Xo5oIF5xjSfDvXk","kid":"k"}]}`)}},
		{"token_endpoint_auth_method", ClientSpec{Name: "x", GrantTypes: []string{GrantClientCredentials}, AuthMethod: "tls_client_auth"}},
		{"backchannel_logout_uri", ClientSpec{Name: "x", GrantTypes: []string{GrantAuthorizationCode}, RedirectURIs: []string{"https://a.example.cn/cb"},
			BackchannelLogoutURI: "ftp://a.example.cn/logout"}},
	}
	for _, b := range bad {
		_, err := validateSpec(b.spec)
		l, ok := err.(errs.List)
		if !ok {
			t.Errorf("%+v: %v", b.spec, err)
			continue
		}
		found := false
		for _, e := range l {
			found = found || e.Field == b.field
		}
		if !found {
			t.Errorf("%+v: no error on %s: %v", b.spec, b.field, l)
		}
	}
}

func TestSectorOf(t *testing.T) {
	for _, c := range []struct {
		uris []string
		want string
	}{
		{[]string{"https://a.example.cn/cb", "https://a.example.cn:8443/x"}, "a.example.cn"},
		{[]string{"https://a.example.cn/cb", "https://b.example.cn/cb"}, ""},
		{nil, ""},
	} {
		if got := sectorOf(c.uris); got != c.want {
			t.Errorf("sectorOf(%v) = %q, want %q", c.uris, got, c.want)
		}
	}
}
