package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/elicense/elicense/internal/oidc"
)

// listFlag is a flag that may be repeated; each value is appended.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// cmdClient registers and lists OpenID Connect clients (portals and departments' systems):
//
//	elicense client add --name NAME --redirect-uri URI --grant GRANT [--scope S] [--public]
//	    [--backchannel-logout-uri U] [--post-logout-redirect-uri U] [--department D --region R
//	    --logo URL] [--auth-method M] [--jwks FILE] [--json]
//	elicense client list
//
// --redirect-uri, --post-logout-redirect-uri, --grant and --scope may be repeated. A
// confidential client's secret is printed once; with --json the output is
// {"client_id":…,"client_secret":…} (no secret for public and private_key_jwt clients).
func cmdClient(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "list") {
		return usageError("usage: elicense client add --name NAME --redirect-uri URI --grant GRANT [--scope S] [--public] [--json] | elicense client list")
	}
	fs := newFlagSet("client "+args[0], stderr)
	var c Config
	storageFlags(fs, &c, getenv)
	var spec oidc.ClientSpec
	var redirects, logouts, grants, scopes listFlag
	fs.StringVar(&spec.Name, "name", "", "portal or system name, shown on the wallet's confirmation screen")
	fs.StringVar(&spec.Department, "department", "", "department running it")
	fs.StringVar(&spec.Region, "region", "", "GB/T 2260 division or region name")
	fs.StringVar(&spec.LogoURI, "logo", "", "https address of its logo")
	fs.Var(&redirects, "redirect-uri", "redirect URI, matched exactly (repeatable)")
	fs.Var(&logouts, "post-logout-redirect-uri", "address to return to after logout (repeatable)")
	fs.Var(&grants, "grant", "grant type: authorization_code, refresh_token or client_credentials (repeatable)")
	fs.Var(&scopes, "scope", "allowed scope (repeatable; default: every scope of the grants)")
	fs.BoolVar(&spec.Public, "public", false, "public client (browser or native app): no secret, PKCE only")
	fs.StringVar(&spec.AuthMethod, "auth-method", "", "client_secret_basic (default), client_secret_post or private_key_jwt")
	fs.StringVar(&spec.BackchannelLogoutURI, "backchannel-logout-uri", "", "where logout tokens are posted (OpenID Connect Back-Channel Logout)")
	jwksFile := fs.String("jwks", "", "file with the public keys (JWKS) of a private_key_jwt client")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	ap, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer ap.Close()
	if args[0] == "list" {
		cs, err := ap.db.OIDCClients(ctx)
		if err != nil {
			return err
		}
		for _, x := range cs {
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", x.ID, strings.Join(x.GrantTypes, ","), x.Name, strings.Join(x.RedirectURIs, " "))
		}
		return nil
	}
	spec.RedirectURIs, spec.PostLogoutRedirectURIs, spec.GrantTypes, spec.Scopes = redirects, logouts, grants, scopes
	if *jwksFile != "" {
		b, err := os.ReadFile(*jwksFile)
		if err != nil {
			return usageError("--jwks: %v", err)
		}
		spec.JWKS = b
	}
	cl, secret, err := oidc.RegisterClient(ctx, ap.db, spec, "cli", ap.clock())
	if err != nil {
		return userError(err, getenv)
	}
	if *asJSON {
		out := struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret,omitempty"`
		}{cl.ID, secret}
		b, _ := json.Marshal(out)
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	fmt.Fprintf(stdout, "client %s (%s) registered: client_id %s\n", cl.Name, strings.Join(cl.GrantTypes, ", "), cl.ID)
	if secret != "" {
		fmt.Fprintf(stdout, "client_secret: %s\n(shown once; only its hash is stored)\n", secret)
	}
	return nil
}
