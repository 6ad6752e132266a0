package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/elicense/elicense/internal/stats"
)

// statsEvery is how often serve rolls the audit log up into the statistics.
const statsEvery = 5 * time.Second

// statsService is the usage statistics over the app's database; departments are named after
// the OIDC clients and registering authorities stored there.
func (ap *app) statsService(logger *slog.Logger) *stats.Service {
	return stats.NewService(stats.Config{Store: ap.db, Names: ap.db, Clock: ap.clock, Logger: logger})
}

// startStats returns the statistics service and rolls the audit log up in the background until
// ctx ends; every process may do so (one rolls at a time).
func (ap *app) startStats(ctx context.Context, logger *slog.Logger) *stats.Service {
	s := ap.statsService(logger)
	go s.Run(ctx, statsEvery)
	return s
}

// cmdStats is `elicense stats roll`: roll the audit log up into the statistics now, e.g. after a
// bulk import, without waiting for a server to do it.
func cmdStats(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "roll" {
		return usageError("usage: elicense stats roll")
	}
	fs := newFlagSet("stats roll", stderr)
	var c Config
	storageFlags(fs, &c, getenv)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	ap, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer ap.Close()
	s := ap.statsService(slog.New(slog.NewTextHandler(stderr, nil)))
	start := time.Now()
	var total int64
	for {
		n, err := s.CatchUp(ctx)
		if err != nil {
			return err
		}
		total += n
		if n == 0 {
			break
		}
	}
	cur, _, err := ap.db.StatsCursor(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rolled up %d events in %s; the statistics count up to audit event %d\n",
		total, time.Since(start).Round(time.Millisecond), cur)
	return nil
}
