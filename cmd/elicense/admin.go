package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/keys"
)

// userError prints an errs.Error in the caller's language.
func userError(err error, getenv func(string) string) error {
	if e := errs.As(err); e != nil && e.Kind != errs.Internal {
		msg := e.Message(lang("", getenv))
		if e.Field != "" {
			msg = e.Field + ": " + msg
		}
		return exitError{code: 1, msg: msg}
	}
	return err
}

func cmdAuthority(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "list") {
		return usageError("usage: elicense authority add --code CODE --name NAME --region DIVISION | elicense authority list")
	}
	fs := newFlagSet("authority "+args[0], stderr)
	var c Config
	storageFlags(fs, &c, getenv)
	var a keys.Authority
	fs.StringVar(&a.Code, "code", "", "credit code of the authority")
	fs.StringVar(&a.Name, "name", "", "name, e.g. 杭州市西湖区市场监督管理局")
	fs.StringVar(&a.Region, "region", "", "GB/T 2260 division code, 6 digits")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	ap, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer ap.Close()
	if args[0] == "list" {
		list, err := ap.keys.Authorities(ctx)
		if err != nil {
			return err
		}
		for _, x := range list {
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", x.Code, x.Region, x.Name, x.Serial)
		}
		return nil
	}
	created, err := ap.keys.CreateAuthority(ctx, a)
	if err != nil {
		return userError(err, getenv)
	}
	fmt.Fprintf(stdout, "authority %s %s created; certificate serial %s\n", created.Code, created.Name, created.Serial)
	return nil
}

// randomPassword makes a password for a new account when none is given.
func randomPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func cmdAccount(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return usageError("usage: elicense account add --username U --role operator|registrar|issuer|department [--authority CODE] [--client ID] [--display-name N] [--password-stdin]")
	}
	fs := newFlagSet("account add", stderr)
	var c Config
	storageFlags(fs, &c, getenv)
	username := fs.String("username", "", "login name")
	display := fs.String("display-name", "", "name shown in pages")
	role := fs.String("role", "registrar", "operator, registrar, issuer (a licence-issuing department's staff, with --authority) or department (the console, with --client)")
	authority := fs.String("authority", "", "credit code of the registering authority (registrars) or the issuing department (issuers)")
	client := fs.String("client", "", "OpenID Connect client ID of the department's system (department accounts, /console/)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input (default: generate and print one)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	password := randomPassword()
	if *fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			return err
		}
		password = strings.TrimRight(line, "\r\n")
	}
	ap, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer ap.Close()
	if *display == "" {
		*display = *username
	}
	var acc *account.Account
	if account.Role(*role) == account.Department {
		acc, err = createDepartment(ctx, ap, *username, *display, password, *authority, *client)
	} else {
		acc, err = ap.accounts.Create(ctx, *username, *display, password, account.Role(*role), *authority)
	}
	if err != nil {
		return userError(err, getenv)
	}
	fmt.Fprintf(stdout, "account %s (%s) created, id %s\n", acc.Username, acc.Role, acc.ID)
	if !*fromStdin {
		fmt.Fprintf(stdout, "password: %s\n", password)
	}
	return nil
}

func cmdToken(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError("usage: elicense token create --username U [--name N] [--ttl 720h]")
	}
	fs := newFlagSet("token create", stderr)
	var c Config
	storageFlags(fs, &c, getenv)
	username := fs.String("username", "", "account the token acts as")
	name := fs.String("name", "cli", "what the token is for")
	ttl := fs.Duration("ttl", 0, "lifetime (0: no expiry)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	ap, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer ap.Close()
	acc, err := ap.db.AccountByUsername(ctx, *username)
	if err != nil {
		return userError(err, getenv)
	}
	tok, err := ap.accounts.NewToken(ctx, acc.ID, *name, *ttl)
	if err != nil {
		return userError(err, getenv)
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

func cmdAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "checkpoint") {
		return usageError("usage: elicense audit verify [--json] | elicense audit checkpoint")
	}
	fs := newFlagSet("audit "+args[0], stderr)
	var c Config
	storageFlags(fs, &c, getenv)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	ap, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer ap.Close()
	if args[0] == "checkpoint" {
		cp, err := ap.audit.Checkpoint(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "checkpoint at entry %d (%x) signed %s\n", cp.Seq, cp.Hash[:8], cp.Time.Format(time.RFC3339))
		return nil
	}
	signer, _, err := ap.keys.PlatformSigner(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	rep, err := ap.audit.Verify(ctx, signer.Public())
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else if rep.OK {
		fmt.Fprintf(stdout, "ok: %d entries and %d checkpoints verified in %s; entries after %d are not yet pinned by a signed checkpoint\n", rep.Entries, rep.Checkpoints, time.Since(start).Round(time.Millisecond), rep.LastCheckpoint)
	} else {
		reason := rep.Reason
		if lang("", getenv) != "en" && rep.ReasonZH != "" {
			reason = rep.ReasonZH
		}
		fmt.Fprintf(stdout, "BROKEN at entry %d: %s\n", rep.FirstBroken, reason)
	}
	if !rep.OK {
		return exitError{code: 1}
	}
	return nil
}
