package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/elicense/elicense/internal/ident"
	"github.com/elicense/elicense/internal/uscc"
)

// lang picks the CLI's language: --lang, else LC_ALL/LC_MESSAGES/LANG starting with "en";
// zh-CN by default.
func lang(flagValue string, getenv func(string) string) string {
	if flagValue != "" {
		return flagValue
	}
	for _, k := range []string{"ELICENSE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := getenv(k); v != "" {
			if strings.HasPrefix(v, "en") {
				return "en"
			}
			return "zh"
		}
	}
	return "zh"
}

type problem interface {
	MessageZH() string
	MessageEN() string
}

func message(err error, lng string) string {
	if p, ok := err.(problem); ok {
		if lng == "en" {
			return p.MessageEN()
		}
		return p.MessageZH()
	}
	return err.Error()
}

// cmdUSCC validates credit codes and legacy registration numbers: exit 0 if all are valid, 1 if
// any is not, 2 for a usage error.
func cmdUSCC(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		return usageError("usage: elicense uscc check [--allow-codes FILE] [--lang zh|en] CODE...")
	}
	fs := newFlagSet("uscc check", stderr)
	var c Config
	fs.StringVar(&c.AllowCodes, "allow-codes", getenv("ELICENSE_ALLOW_CODES"), "file of issued codes that fail a check but are accepted (ELICENSE_ALLOW_CODES)")
	lng := fs.String("lang", "", "language of messages: zh or en (default from LANG)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError("uscc check: give at least one code")
	}
	allow, err := c.allowList()
	if err != nil {
		return usageError("%v", err)
	}
	l := lang(*lng, getenv)
	v := uscc.Validator{Allow: allow}
	bad := 0
	for _, code := range fs.Args() {
		norm, _, err := v.Validate(code)
		switch {
		case err != nil:
			bad++
			fmt.Fprintf(stdout, "%s\t%s\n", code, message(err, l))
		case allow[norm] && uscc.Check(norm) != nil:
			fmt.Fprintf(stdout, "%s\tok (%s)\n", code, pick(l, "在例外名单中", "on the allow-list"))
		default:
			fmt.Fprintf(stdout, "%s\tok\n", code)
		}
	}
	if bad > 0 {
		return exitError{code: 1}
	}
	return nil
}

// cmdID validates licence identifiers (GB/T 36904, MOD 37,36).
func cmdID(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		return usageError("usage: elicense id check [--lang zh|en] ID...")
	}
	fs := newFlagSet("id check", stderr)
	lng := fs.String("lang", "", "language of messages: zh or en")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError("id check: give at least one identifier")
	}
	l := lang(*lng, getenv)
	bad := 0
	for _, id := range fs.Args() {
		if err := ident.Check(strings.ToUpper(strings.TrimSpace(id))); err != nil {
			bad++
			fmt.Fprintf(stdout, "%s\t%s\n", id, message(err, l))
			continue
		}
		fmt.Fprintf(stdout, "%s\tok\n", id)
	}
	if bad > 0 {
		return exitError{code: 1}
	}
	return nil
}

func pick(lng, zh, en string) string {
	if lng == "en" {
		return en
	}
	return zh
}
