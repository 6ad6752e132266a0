package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/library"
)

// The enterprise licence library's commands (issue 5): licence types and issuing departments.

const (
	typeUsage   = "usage: elicense type add --file type.json | elicense type list"
	issuerUsage = "usage: elicense issuer add --code CODE --name NAME --region DIVISION"
)

// library returns the enterprise licence library over the app's database and keys.
func (a *app) library() *library.Service {
	allow, _ := a.cfg.allowList() // validated by openApp
	return library.NewService(library.Config{Store: a.db, Keys: a.keys, Licences: a.licenses, Clock: a.clock, Allow: allow})
}

// cmdType registers (from a JSON file, see docs/library.md) and lists licence types.
func cmdType(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "list") {
		return usageError(typeUsage)
	}
	fs := newFlagSet("type "+args[0], stderr)
	var c Config
	storageFlags(fs, &c, getenv)
	file := fs.String("file", "", "JSON file with the licence type (add)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	var t library.Type
	if args[0] == "add" {
		if *file == "" {
			return usageError(typeUsage)
		}
		b, err := os.ReadFile(*file)
		if err != nil {
			return fmt.Errorf("--file: %w", err)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return exitError{code: 1, msg: fmt.Sprintf("%s: malformed JSON at byte %d: %v", *file, se.Offset, err)}
			}
			return exitError{code: 1, msg: fmt.Sprintf("%s: %v", *file, err)}
		}
	}
	ap, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer ap.Close()
	lib := ap.library()
	if args[0] == "list" {
		ts, err := lib.Types(ctx)
		if err != nil {
			return err
		}
		for _, x := range ts {
			validity := "-"
			if x.ValidityYears > 0 {
				validity = fmt.Sprintf("%dy", x.ValidityYears)
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%d items\t%s\t%s\n", x.Code, x.Class, validity, len(x.Items), x.Name, strings.Join(x.Issuers, ","))
		}
		return nil
	}
	created, err := lib.RegisterType(ctx, library.Actor{ID: "cli:" + cliUser(getenv)}, t)
	if err != nil {
		return userError(err, getenv)
	}
	fmt.Fprintf(stdout, "licence type %s %s registered (%d items, %d issuing departments)\n", created.Code, created.Name, len(created.Items), len(created.Issuers))
	return nil
}

// cmdIssuer creates a licence-issuing department with its SM2 key and certificate.
func cmdIssuer(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return usageError(issuerUsage)
	}
	fs := newFlagSet("issuer add", stderr)
	var c Config
	storageFlags(fs, &c, getenv)
	var d keys.Authority
	fs.StringVar(&d.Code, "code", "", "credit code of the department")
	fs.StringVar(&d.Name, "name", "", "name, e.g. 杭州市西湖区市场监督管理局")
	fs.StringVar(&d.Region, "region", "", "GB/T 2260 division code, 6 digits")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	ap, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer ap.Close()
	created, err := ap.library().CreateDepartment(ctx, d)
	if err != nil {
		return userError(err, getenv)
	}
	fmt.Fprintf(stdout, "issuing department %s %s created; certificate serial %s\n"+
		"add its staff with: elicense account add --role issuer --authority %s --username …\n", created.Code, created.Name, created.Serial, created.Code)
	return nil
}
