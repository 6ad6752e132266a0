package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/elicense/elicense/internal/demo"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/importer"
	"github.com/elicense/elicense/internal/license"
)

// loadDemo loads the demo data set. The demo accounts' passwords derive from the master key, so
// every start can print them again.
func (a *app) loadDemo(ctx context.Context, n int) (*demo.Summary, error) {
	secret, err := a.demoSecret()
	if err != nil {
		return nil, err
	}
	deps := demo.Deps{Keys: a.keys, Accounts: a.accounts, Licences: a.licenses}
	deps.Catalog = newCatalog(a)
	if a.identity != nil {
		cfg := a.identityCfg
		deps.Identity = &cfg
	}
	return demo.Load(ctx, deps, demo.Options{N: n, Secret: secret})
}

func (a *app) demoSecret() ([]byte, error) {
	var master []byte
	var err error
	if a.cfg.MasterKey != "" {
		master, err = gm.ParseKey(a.cfg.MasterKey)
	} else {
		master, err = gm.LoadOrCreateKeyFile(filepath.Join(a.cfg.Data, "master.key"))
	}
	if err != nil {
		return nil, err
	}
	h := gm.HMACSM3(master, []byte("elicense demo passwords v1"))
	return h[:], nil
}

func printDemo(w io.Writer, s *demo.Summary) {
	if s.AlreadyLoaded {
		fmt.Fprintf(w, "演示数据已存在 demo data already loaded (%d entities)\n", s.Entities)
	} else {
		fmt.Fprintf(w, "演示数据 demo data: %d licences issued, %d changes, %d status changes, %d authorities in %s\n",
			s.Issued, s.Changes, s.StatusChanges, s.AuthoritiesCreated, s.Duration.Round(1e6))
	}
	if s.Skipped > 0 {
		fmt.Fprintf(w, "  %d 个主体已被他人修改，演示数据未覆盖 entities changed by someone else were left alone\n", s.Skipped)
	}
	s.PrintHolders(w, 5)
	fmt.Fprintln(w, "演示账号 demo accounts (username / password / role / authority):")
	for _, c := range s.Accounts {
		pw := c.Password
		if pw == "" {
			pw = "(unchanged)"
		}
		fmt.Fprintf(w, "  %-12s %-20s %-9s %s\n", c.Username, pw, c.Role, c.AuthorityName)
	}
}

// cmdDemo loads the demo data set, or with --export writes a synthetic import file.
func cmdDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	var c Config
	storageFlags(fs, &c, getenv)
	n := fs.Int("n", demo.DefaultN, "number of entities")
	seed := fs.Int64("seed", demo.DefaultSeed, "seed of the generator")
	export := fs.String("export", "", "write an import file (.csv or .jsonl) instead of loading the database")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 1 {
		return usageError("-n must be at least 1")
	}
	if *export != "" {
		f, err := os.Create(*export)
		if err != nil {
			return err
		}
		var rows int64
		switch {
		case strings.HasSuffix(*export, ".csv"):
			rows, err = demo.WriteCSV(f, *seed, *n)
		case strings.HasSuffix(*export, ".jsonl"), strings.HasSuffix(*export, ".ndjson"):
			rows, err = demo.WriteJSONL(f, *seed, *n)
		default:
			err = usageError("--export: the file name must end in .csv or .jsonl")
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %d rows to %s\n", rows, *export)
		return nil
	}
	ap, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer ap.Close()
	secret, err := ap.demoSecret()
	if err != nil {
		return err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := ap.openIdentity(ctx, envOr(getenv, "ELICENSE_PUBLIC_URL", "http://localhost:8080"), quiet); err != nil {
		return err
	}
	cfg := ap.identityCfg
	sum, err := demo.Load(ctx, demo.Deps{Keys: ap.keys, Accounts: ap.accounts, Licences: ap.licenses, Identity: &cfg, Catalog: newCatalog(ap)},
		demo.Options{N: *n, Seed: *seed, Secret: secret})
	if err != nil {
		return err
	}
	printDemo(stdout, sum)
	// The licence library's demo (types, issuing departments and their accounts, permits), as
	// serve --demo loads it; idempotent.
	libSum, err := demo.LoadLibrary(ctx, demo.LibraryDeps{Library: ap.library(), Accounts: ap.accounts},
		demo.Options{N: *n, Seed: *seed, Secret: secret})
	if err != nil {
		return fmt.Errorf("demo data (licence library): %w", err)
	}
	libSum.Print(stdout)
	return nil
}

// cmdImport issues licences in bulk from a CSV or JSON Lines file.
func cmdImport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", stderr)
	var c Config
	storageFlags(fs, &c, getenv)
	authority := fs.String("authority", "", "registering authority's credit code for rows without an authority column")
	batch := fs.Int("batch", importer.DefaultBatchSize, "rows per transaction")
	report := fs.String("errors", "", "write the per-row error report (CSV) to this file (default: FILE.errors.csv when there are errors)")
	format := fs.String("format", "", "csv or jsonl (default: from the file name)")
	quiet := fs.Bool("quiet", false, "no progress output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("usage: elicense import [flags] FILE")
	}
	file := fs.Arg(0)
	if _, err := os.Stat(file); err != nil {
		return usageError("import: %v", err)
	}
	opts := importer.Options{Actor: license.Actor{ID: "cli:" + cliUser(getenv), AnyAuthority: true},
		Authority: *authority, BatchSize: *batch}
	if *format != "" {
		f, err := importer.ParseFormat(*format)
		if err != nil {
			return userError(err, getenv)
		}
		opts.Format = f
	}
	reportPath := *report
	if reportPath == "" {
		reportPath = file + ".errors.csv"
	}
	rf, err := os.Create(reportPath)
	if err != nil {
		return err
	}
	opts.ErrorReport = rf
	if !*quiet {
		opts.Progress = importer.ProgressTo(stderr, 0)
	}
	ap, err := openApp(ctx, c)
	if err != nil {
		rf.Close()
		return err
	}
	defer ap.Close()
	endBulk, err := ap.db.BulkWrites(ctx)
	if err != nil {
		return err
	}
	defer endBulk()
	sum, runErr := importer.ImportFile(ctx, file, opts, ap.licenses)
	rf.Close()
	if sum.Failed == 0 && *report == "" {
		os.Remove(reportPath)
	}
	if runErr != nil && sum.Rows == 0 && ctx.Err() == nil {
		return userError(runErr, getenv)
	}
	fmt.Fprintf(stdout, "导入完成 import: %d rows, %d issued, %d unchanged, %d failed in %s (%.0f rows/s)\n",
		sum.Rows, sum.Issued, sum.Unchanged, sum.Failed, sum.Duration.Round(1e6), float64(sum.Rows)/max(sum.Duration.Seconds(), 1e-9))
	l := lang("", getenv)
	for _, e := range sum.Errors {
		msg := e.ZH
		if l == "en" {
			msg = e.EN
		}
		fmt.Fprintf(stdout, "  row %d (line %d) %s %s: %s\n", e.Row, e.Line, e.Code, e.Field, msg)
	}
	if sum.Failed > 0 {
		fmt.Fprintf(stdout, "错误报告 error report: %s\n", reportPath)
	}
	if runErr != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("import interrupted after %d rows; run the same command again to resume", sum.Rows)
		}
		return userError(runErr, getenv)
	}
	if sum.Failed > 0 {
		return exitError{code: 1}
	}
	return nil
}

func cliUser(getenv func(string) string) string {
	if u := getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}
