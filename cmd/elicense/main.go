// Command elicense runs the electronic business licence platform (电子营业执照): the server, the
// demo data set, bulk import, and checks of codes, identifiers and the audit log.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(os.Stderr, "elicense:", ee.msg)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "elicense:", err)
		os.Exit(1)
	}
}

// exitError ends the program with a specific status: 1 for a negative answer (an invalid code),
// 2 for a usage error.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return fmt.Sprintf("exit %d: %s", e.code, e.msg) }

func usageError(format string, args ...any) error {
	return exitError{code: 2, msg: fmt.Sprintf(format, args...)}
}

const usage = `elicense — electronic business licence platform (电子营业执照平台)

Usage:
  elicense serve [--demo] [flags]         start the platform (SQLite under ./data by default)
  elicense demo [-n N] [--seed S] [flags] load the demo data set (and the licence library's) into the database
  elicense demo --export FILE [-n N]      write a synthetic import file (.csv or .jsonl)
  elicense import FILE [flags]            issue licences in bulk from CSV or JSON Lines
  elicense render CODE|ID|--permit F.json [--format ofd|pdf] [--copy original|duplicate] [--copy-for DEPT --cause C [--case N]] -o FILE
  elicense verify FILE | --token URL [--json]   verify a licence, permit, copy or entity-signed file, or a QR token
  elicense uscc check CODE...             validate unified social credit codes / 注册号
  elicense id check ID...                 validate licence identifiers (电子证照标识)
  elicense authority add --code C --name N --region R   a registering authority (登记机关) and its certificate
  elicense authority list
  elicense issuer add --code C --name N --region R      a licence-issuing department (发证部门) and its certificate
  elicense type add --file type.json      register a licence type (证照目录, docs/library.md)
  elicense type list                      licence types: code, class, validity, items, name, issuers
  elicense account add --username U --role operator|registrar|issuer|department
                       [--authority C] [--client ID] [--display-name N] [--password-stdin]
                                          staff accounts: registrars and issuers with --authority,
                                          department console users with --client
  elicense token create --username U [--name N] [--ttl 720h]
  elicense client add --name N --redirect-uri URI --grant G [--scope S] [--public] [--json]
                                          portals (authorization_code) and departments' systems
                                          (client_credentials; scopes sharing.*, signing)
  elicense client list                    portals and departments' systems (OpenID Connect clients)
  elicense catalog import [--format csv|json] FILE   service items and their materials (事项材料目录)
  elicense catalog export [--format json|csv] [-o FILE]
  elicense catalog starter                load the starter catalogue of the eight scenarios
  elicense audit verify [--json]          re-check the whole tamper-evident log
  elicense audit checkpoint               sign a checkpoint of the log now
  elicense stats roll                     roll the audit log up into the usage statistics now
  elicense bench issue [-n N] [--db postgres://…]   measure bulk issuance (docs/benchmarks.md)
  elicense version

Common flags (each also from the environment):
  --data DIR        ELICENSE_DATA        data directory (default ./data)
  --db DSN          ELICENSE_DB          database: a SQLite path or postgres://… (default DATA/elicense.db)
  --master-key HEX  ELICENSE_MASTER_KEY  SM4 key for private keys at rest (default: DATA/master.key, created 0600)
Run 'elicense COMMAND -h' for the flags of a command.
`

// run is the whole program; tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, getenv, stdout, stderr)
	case "demo":
		return cmdDemo(ctx, rest, getenv, stdout, stderr)
	case "import":
		return cmdImport(ctx, rest, getenv, stdout, stderr)
	case "uscc":
		return cmdUSCC(ctx, rest, getenv, stdout, stderr)
	case "id":
		return cmdID(rest, getenv, stdout, stderr)
	case "authority":
		return cmdAuthority(ctx, rest, getenv, stdout, stderr)
	case "account":
		return cmdAccount(ctx, rest, getenv, stdin, stdout, stderr)
	case "token":
		return cmdToken(ctx, rest, getenv, stdout, stderr)
	case "audit":
		return cmdAudit(ctx, rest, getenv, stdout, stderr)
	case "client":
		return cmdClient(ctx, rest, getenv, stdout, stderr)
	case "render":
		return cmdRender(ctx, rest, getenv, stdout, stderr)
	case "verify":
		return cmdVerify(ctx, rest, getenv, stdout, stderr)
	case "bench":
		return cmdBench(ctx, rest, getenv, stdout, stderr)
	// @library
	case "type":
		return cmdType(ctx, rest, getenv, stdout, stderr)
	case "issuer":
		return cmdIssuer(ctx, rest, getenv, stdout, stderr)

	// @consent

	// @notice

	// @catalog
	case "catalog":
		return cmdCatalog(ctx, rest, getenv, stdout, stderr)

	// @stats
	case "stats":
		return cmdStats(ctx, rest, getenv, stdout, stderr)

	// @present

	// @sign

	case "version", "--version":
		fmt.Fprintln(stdout, "elicense", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageError("unknown command %q", cmd)
	}
}

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"
