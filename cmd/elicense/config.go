package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/elicense/elicense/internal/ident"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/uscc"
)

// Config is the whole configuration, from flags with ELICENSE_… environment variables as
// defaults. It is validated once, by validate, with messages that name the bad setting.
type Config struct {
	Addr       string // ELICENSE_ADDR
	Data       string // ELICENSE_DATA
	DB         string // ELICENSE_DB
	PublicURL  string // ELICENSE_PUBLIC_URL
	MasterKey  string // ELICENSE_MASTER_KEY (hex); empty: DATA/master.key
	TypeCode   string // ELICENSE_TYPE_CODE
	AllowCodes string // ELICENSE_ALLOW_CODES: file with issued codes that fail a check
	LogFormat  string // ELICENSE_LOG_FORMAT: text or json
}

// storageFlags registers the flags every command that opens the database has.
func storageFlags(fs *flag.FlagSet, c *Config, getenv func(string) string) {
	fs.StringVar(&c.Data, "data", envOr(getenv, "ELICENSE_DATA", "data"), "data directory (ELICENSE_DATA)")
	fs.StringVar(&c.DB, "db", getenv("ELICENSE_DB"), "database: SQLite file path or postgres://… DSN (ELICENSE_DB; default DATA/elicense.db)")
	fs.StringVar(&c.MasterKey, "master-key", getenv("ELICENSE_MASTER_KEY"), "hex SM4 master key for private keys at rest (ELICENSE_MASTER_KEY; default DATA/master.key)")
	fs.StringVar(&c.TypeCode, "type-code", envOr(getenv, "ELICENSE_TYPE_CODE", license.DefaultTypeCode), "licence type code in identifiers (ELICENSE_TYPE_CODE)")
	fs.StringVar(&c.AllowCodes, "allow-codes", getenv("ELICENSE_ALLOW_CODES"), "file of issued credit codes that fail a check but are accepted, one per line (ELICENSE_ALLOW_CODES)")
}

func serverFlags(fs *flag.FlagSet, c *Config, getenv func(string) string) {
	fs.StringVar(&c.Addr, "addr", envOr(getenv, "ELICENSE_ADDR", "127.0.0.1:8080"), "listen address (ELICENSE_ADDR)")
	fs.StringVar(&c.PublicURL, "public-url", getenv("ELICENSE_PUBLIC_URL"), "public base URL, e.g. https://elicense.example.gov.cn (ELICENSE_PUBLIC_URL; default http://ADDR)")
	fs.StringVar(&c.LogFormat, "log-format", envOr(getenv, "ELICENSE_LOG_FORMAT", "text"), "log format: text or json (ELICENSE_LOG_FORMAT)")
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args, turning flag errors into usage errors (exit status 2).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitError{code: 0}
		}
		return usageError("%v", err)
	}
	return nil
}

// validate checks the configuration and fills derived defaults.
func (c *Config) validate() error {
	if c.Data == "" {
		return usageError("--data (ELICENSE_DATA) must not be empty")
	}
	if c.DB == "" {
		c.DB = filepath.Join(c.Data, "elicense.db")
	}
	if c.TypeCode != "" {
		if _, err := ident.New(c.TypeCode, "11100000MB0143028R", "1", 1); err != nil {
			return usageError("--type-code (ELICENSE_TYPE_CODE) %q is not a licence type code (a credit code and 3 digits): %v", c.TypeCode, err)
		}
	}
	if c.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			return usageError("--addr (ELICENSE_ADDR) %q is not host:port: %v", c.Addr, err)
		}
	}
	if c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		return usageError("--public-url (ELICENSE_PUBLIC_URL) %q must start with http:// or https://", c.PublicURL)
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if c.LogFormat != "" && c.LogFormat != "text" && c.LogFormat != "json" {
		return usageError("--log-format (ELICENSE_LOG_FORMAT) must be text or json, not %q", c.LogFormat)
	}
	return nil
}

// allowList reads the operator's allow-list of issued codes that fail a check.
func (c *Config) allowList() (uscc.AllowList, error) {
	allow := uscc.AllowList{}
	if c.AllowCodes == "" {
		return allow, nil
	}
	f, err := os.Open(c.AllowCodes)
	if err != nil {
		return nil, fmt.Errorf("--allow-codes (ELICENSE_ALLOW_CODES): %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		code := uscc.Normalize(line)
		if len(code) != 18 {
			return nil, fmt.Errorf("--allow-codes %s line %d: %q is not 18 characters", c.AllowCodes, n, line)
		}
		allow[code] = true
	}
	return allow, sc.Err()
}
