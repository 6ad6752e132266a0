package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL driver, to create the benchmark database

	"github.com/elicense/elicense/internal/demo"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/importer"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/loadgen"
)

// cmdBench runs the repository's load generators (docs/benchmarks.md).
func cmdBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "issue" {
		return usageError("usage: elicense bench issue [-n 1000000] [--db postgres://…]")
	}
	return benchIssue(ctx, args[1:], getenv, stdout, stderr)
}

// benchIssue measures bulk issuance (validate, sign, store, audit) through the import path on a
// fresh database, and the raw SM2 signing rate on all cores in the same run as its baseline.
func benchIssue(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench issue", stderr)
	n := fs.Int("n", 1_000_000, "licences to issue")
	dsn := fs.String("db", "", "PostgreSQL server DSN to create a fresh benchmark database on (default: SQLite in a temporary directory)")
	batch := fs.Int("batch", importer.DefaultBatchSize, "rows per transaction")
	keep := fs.String("dir", "", "work directory (default: a temporary directory, removed afterwards)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the import to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dir := *keep
	if dir == "" {
		d, err := os.MkdirTemp("", "elicense-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}

	signRate, err := rawSignRate(ctx, 3*time.Second)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "raw SM2 sign rate (%d cores): %.0f signatures/s\n", runtime.GOMAXPROCS(0), signRate)

	file := filepath.Join(dir, "bench.jsonl")
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := demo.WriteJSONL(w, demo.DefaultSeed, *n); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	f.Close()

	c := Config{Data: filepath.Join(dir, "data")}
	dialect := "sqlite"
	if *dsn != "" {
		dialect = "postgres"
		if c.DB, err = freshPostgres(ctx, *dsn); err != nil {
			return err
		}
	}
	ap, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer ap.Close()
	if _, _, err := demo.EnsureAuthorities(ctx, ap.keys, demo.Authorities()); err != nil {
		return err
	}
	opts := importer.Options{Actor: license.Actor{ID: "bench", AnyAuthority: true}, BatchSize: *batch,
		Progress: importer.ProgressTo(stderr, 200_000)}
	var peak atomic.Int64
	stop := watchMemory(&peak)
	if *cpuProfile != "" {
		pf, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pf.Close()
	}
	endBulk, err := ap.db.BulkWrites(ctx)
	if err != nil {
		return err
	}
	defer endBulk()
	sum, err := importer.ImportFile(ctx, file, opts, ap.licenses)
	stop()
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	if sum.Issued != int64(*n) {
		return fmt.Errorf("bench: issued %d of %d (failed %d): %v", sum.Issued, *n, sum.Failed, sum.Errors)
	}
	rate := float64(sum.Issued) / sum.Duration.Seconds()
	fmt.Fprintf(stdout, "bulk issuance on %s: %d licences in %.1f s = %.0f licences/s\n", dialect, sum.Issued, sum.Duration.Seconds(), rate)
	fmt.Fprintf(stdout, "ratio to raw SM2 signing: %.2f\n", rate/signRate)
	fmt.Fprintf(stdout, "peak memory (RSS high-water mark of the process): %d MiB\n", peak.Load()>>20)
	if err := verifyCount(ctx, ap, sum.Issued); err != nil {
		return err
	}
	return nil
}

// verifyCount checks that the audit log recorded every issuance.
func verifyCount(ctx context.Context, ap *app, issued int64) error {
	seq, _, err := ap.db.Head(ctx)
	if err != nil {
		return err
	}
	if seq < issued {
		return fmt.Errorf("bench: audit log has %d entries for %d licences", seq, issued)
	}
	return nil
}

// rawSignRate signs on every core for d and returns signatures per second.
func rawSignRate(ctx context.Context, d time.Duration) (float64, error) {
	k, err := gm.GenerateKey()
	if err != nil {
		return 0, err
	}
	msg := make([]byte, 600) // about the size of a licence's canonical encoding
	var count atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	start := time.Now()
	for i := 0; i < runtime.GOMAXPROCS(0); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if _, err := k.Sign(ctx, msg); err != nil {
					return
				}
				count.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(count.Load()) / time.Since(start).Seconds(), nil
}

// watchMemory samples the process's RSS high-water mark until stop is called.
func watchMemory(peak *atomic.Int64) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			if v := loadgen.PeakRSS(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); peak.Store(max(peak.Load(), loadgen.PeakRSS())) }
}

// freshPostgres creates an empty database on the server of dsn and returns its DSN.
func freshPostgres(ctx context.Context, dsn string) (string, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", err
	}
	defer db.Close()
	name := fmt.Sprintf("elicense_bench_%d", time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("bench: create database: %w", err)
	}
	i := strings.LastIndex(dsn, "/")
	q := ""
	if j := strings.Index(dsn[i:], "?"); j >= 0 {
		q = dsn[i+j:]
	}
	return dsn[:i+1] + name + q, nil
}
