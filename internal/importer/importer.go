// Package importer issues e-business licences in bulk from a CSV or JSON Lines file
// (批量导入): a reader goroutine parses rows while batches of registrations are issued, so
// parsing overlaps signing. Bad rows (malformed, or refused by licence validation) are
// reported with their row number, column and reason in zh-CN and English, and the good rows
// are imported all the same. Each batch is one transaction of the licence store, and a row
// that was issued before is reported Unchanged, so re-running an interrupted import resumes
// it without duplicates. The file format is documented in docs/import.md.
package importer

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/license"
)

// Format is the format of an import file.
type Format string

// The formats.
const (
	CSV   Format = "csv"   // comma-separated values with a header row (RFC 4180), UTF-8
	JSONL Format = "jsonl" // JSON Lines: one object per line
)

// FormatOf returns the format a file name's extension stands for: .csv, or .jsonl / .ndjson.
func FormatOf(name string) (Format, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return CSV, nil
	case ".jsonl", ".ndjson":
		return JSONL, nil
	}
	return "", errs.New(errs.Invalid, "format",
		fmt.Sprintf("无法从文件名 %q 判断格式：请使用 .csv、.jsonl 或 .ndjson 扩展名，或指定格式", filepath.Base(name)),
		fmt.Sprintf("cannot tell the format of %q: use a .csv, .jsonl or .ndjson extension, or give the format", filepath.Base(name)))
}

// ParseFormat parses a format name given by the user: "csv", "jsonl" or "ndjson".
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "csv":
		return CSV, nil
	case "jsonl", "ndjson":
		return JSONL, nil
	}
	return "", errs.New(errs.Invalid, "format",
		fmt.Sprintf("未知格式 %q：可用 csv 或 jsonl", s), fmt.Sprintf("unknown format %q: use csv or jsonl", s))
}

// Issuer issues a batch of registrations in one transaction; *license.Service is one.
type Issuer interface {
	IssueBatch(ctx context.Context, a license.Actor, regs []license.Registration) ([]license.Result, error)
}

// Preparer is an Issuer that can validate and sign a batch before storing it; the import then
// prepares the next batch while the previous one commits. *license.Service is one.
type Preparer interface {
	PrepareBatch(ctx context.Context, a license.Actor, regs []license.Registration) (*license.Batch, error)
	CommitBatch(ctx context.Context, b *license.Batch) ([]license.Result, error)
}

// DefaultBatchSize is the number of rows per IssueBatch call (and per transaction).
const DefaultBatchSize = 2000

// Options configure an import.
type Options struct {
	Format Format        // required by Run; ImportFile takes it from the extension when empty
	Actor  license.Actor // who issues; the CLI uses Actor{ID: "cli:<user>", AnyAuthority: true}
	// Authority is the registering authority's credit code for rows whose authority column
	// is empty or absent.
	Authority   string
	BatchSize   int // rows per transaction; DefaultBatchSize when 0
	MaxRowBytes int // longest row accepted; DefaultMaxRowBytes when 0
	// ErrorReport receives the error report: CSV (UTF-8 with a byte order mark) with the
	// ReportColumns, one line per reason a row was refused. Nil: errors are only counted.
	ErrorReport io.Writer
	Size        int64 // total bytes of the input, for the percentage and ETA; 0 when unknown
	// Progress is called after every batch and once at the end (Done set); see ProgressTo.
	Progress func(Progress)
}

// Summary is the outcome of an import.
type Summary struct {
	Rows      int64         // data rows processed
	Issued    int64         // licences issued
	Unchanged int64         // rows issued before with the same data (a re-run)
	Failed    int64         // rows not imported; each has at least one line in the error report
	Duration  time.Duration // wall time of the import
	// Errors holds the first row errors (up to MaxSampleErrors) for a quick look; the
	// error report has all of them.
	Errors []RowError
}

// MaxSampleErrors is how many row errors Summary.Errors keeps.
const MaxSampleErrors = 20

// RowError is why one row was not imported. A row refused for several reasons has one
// RowError per reason.
type RowError struct {
	Row   int64  // data row, 1-based (the header is not a data row)
	Line  int64  // line of the file where the row starts (the header is line 1)
	Code  string // the row's credit code, when it could be read
	Field string // the column at fault; empty when it concerns the whole row
	ZH    string // reason in zh-CN
	EN    string // reason in English
}

// Error describes the row error in English.
func (e *RowError) Error() string {
	s := fmt.Sprintf("row %d (line %d)", e.Row, e.Line)
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.EN
}

// ReportColumns is the header of the CSV error report.
var ReportColumns = []string{"row", "line", "code", "field", "reason_zh", "reason_en"}

// ImportFile imports the file at path: the format comes from its extension unless
// opts.Format is set, and opts.Size from the file's size.
func ImportFile(ctx context.Context, path string, opts Options, iss Issuer) (Summary, error) {
	if opts.Format == "" {
		f, err := FormatOf(path)
		if err != nil {
			return Summary{}, err
		}
		opts.Format = f
	}
	f, err := os.Open(path)
	if err != nil {
		return Summary{}, fmt.Errorf("importer: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		opts.Size = fi.Size()
	}
	return Run(ctx, f, opts, iss)
}

// batch is a run of consecutive rows: the good ones to issue, and the rows that could not be
// read, in row order.
type batch struct {
	regs  []license.Registration
	rows  []record // row and line of each registration (reg not kept)
	bad   []RowError
	bytes int64 // bytes of the file consumed through this batch
	err   error // a read failure that ends the import
}

// Run reads an import file from src and issues its rows through iss in batches. It returns
// the summary and, when the import did not reach the end, why: a malformed header
// (*errs.Error naming the column), a read or store failure, or the cancellation of ctx. Every
// batch is committed whole or not at all, so after an interruption running the same import
// again resumes it: rows already issued come back Unchanged.
func Run(ctx context.Context, src io.Reader, opts Options, iss Issuer) (Summary, error) {
	start := time.Now()
	var sum Summary
	if opts.Actor.ID == "" {
		return sum, errors.New("importer: Options.Actor has no ID")
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.MaxRowBytes <= 0 {
		opts.MaxRowBytes = DefaultMaxRowBytes
	}
	var rr rowReader
	switch opts.Format {
	case CSV:
		c, err := newCSVReader(src, opts.MaxRowBytes, opts.Authority)
		if err != nil {
			return sum, err
		}
		rr = c
	case JSONL:
		rr = newJSONLReader(src, opts.MaxRowBytes, opts.Authority)
	default:
		return sum, errs.New(errs.Invalid, "format",
			fmt.Sprintf("未知格式 %q", opts.Format), fmt.Sprintf("unknown format %q", opts.Format))
	}

	var report *csv.Writer
	if opts.ErrorReport != nil {
		// A byte order mark lets spreadsheet programs open the Chinese text as UTF-8.
		if _, err := io.WriteString(opts.ErrorReport, "\ufeff"); err != nil {
			return sum, fmt.Errorf("importer: error report: %w", err)
		}
		report = csv.NewWriter(opts.ErrorReport)
		if err := report.Write(ReportColumns); err != nil {
			return sum, fmt.Errorf("importer: error report: %w", err)
		}
	}

	readCtx, stop := context.WithCancel(ctx)
	defer stop()
	batches := make(chan *batch, 1) // one batch parsed ahead while the previous one is signed
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(batches)
		read(readCtx, rr, opts.BatchSize, batches)
	}()
	defer func() {
		stop()
		if ctx.Err() == nil {
			<-readDone
		}
		// On cancellation the reader ends at its next row; a blocked read of src is not
		// waited for.
	}()

	progress := func(done bool, bytes int64) {
		if opts.Progress != nil {
			opts.Progress(Progress{
				Bytes: bytes, Size: opts.Size, Rows: sum.Rows, Issued: sum.Issued,
				Unchanged: sum.Unchanged, Failed: sum.Failed, Elapsed: time.Since(start), Done: done,
			})
		}
	}
	var consumed int64
	finish := func(err error) (Summary, error) {
		sum.Duration = time.Since(start)
		if report != nil {
			report.Flush()
			if ferr := report.Error(); ferr != nil && err == nil {
				err = fmt.Errorf("importer: error report: %w", ferr)
			}
		}
		progress(true, consumed)
		return sum, err
	}

	// With a Preparer, one goroutine validates and signs batch k+1 while batch k commits.
	type staged struct {
		*batch
		prepared *license.Batch
		perr     error
	}
	stagedc := make(chan staged, 1)
	prep, pipelined := iss.(Preparer)
	go func() {
		defer close(stagedc)
		for b := range batches {
			st := staged{batch: b}
			if pipelined && b.err == nil && len(b.regs) > 0 && ctx.Err() == nil {
				st.prepared, st.perr = prep.PrepareBatch(ctx, opts.Actor, b.regs)
			}
			select {
			case stagedc <- st:
			case <-ctx.Done():
				// Drain so the reader can finish.
				for range batches {
				}
				return
			}
		}
	}()
	defer func() {
		for range stagedc {
		}
	}()

	for st := range stagedc {
		b := st.batch
		if b.err != nil {
			return finish(b.err)
		}
		if err := ctx.Err(); err != nil {
			return finish(interrupted(sum, err))
		}
		var results []license.Result
		if len(b.regs) > 0 {
			var err error
			switch {
			case st.perr != nil:
				err = st.perr
			case st.prepared != nil:
				results, err = prep.CommitBatch(ctx, st.prepared)
			default:
				results, err = iss.IssueBatch(ctx, opts.Actor, b.regs)
			}
			// A batch that returned results was committed, even if ctx was cancelled meanwhile:
			// count it, and stop before the next one.
			if err != nil && ctx.Err() != nil {
				return finish(interrupted(sum, ctx.Err()))
			}
			if err != nil {
				return finish(fmt.Errorf("importer: rows %d to %d: %w", b.rows[0].row, b.rows[len(b.rows)-1].row, err))
			}
			if len(results) != len(b.regs) {
				return finish(fmt.Errorf("importer: issuer returned %d results for %d rows", len(results), len(b.regs)))
			}
		}
		// Merge issue results with read errors in row order.
		bi := 0
		emit := func(e RowError) error {
			if len(sum.Errors) < MaxSampleErrors {
				sum.Errors = append(sum.Errors, e)
			}
			if report == nil {
				return nil
			}
			return report.Write([]string{
				strconv.FormatInt(e.Row, 10), strconv.FormatInt(e.Line, 10), e.Code, e.Field, e.ZH, e.EN,
			})
		}
		var werr error
		flushBad := func(upTo int64) {
			for bi < len(b.bad) && b.bad[bi].Row < upTo {
				sum.Rows++
				sum.Failed++
				if err := emit(b.bad[bi]); err != nil && werr == nil {
					werr = err
				}
				bi++
			}
		}
		for i, res := range results {
			r := b.rows[i]
			flushBad(r.row)
			sum.Rows++
			switch res.Outcome {
			case license.Issued:
				sum.Issued++
			case license.Unchanged:
				sum.Unchanged++
			default:
				sum.Failed++
				for _, e := range rowErrors(res.Err) {
					e.Row, e.Line = r.row, r.line
					if e.Code == "" {
						e.Code = b.regs[i].Code
					}
					if err := emit(e); err != nil && werr == nil {
						werr = err
					}
				}
			}
		}
		flushBad(1 << 62)
		if report != nil {
			report.Flush()
			if err := report.Error(); err != nil && werr == nil {
				werr = err
			}
		}
		if werr != nil {
			return finish(fmt.Errorf("importer: error report: %w", werr))
		}
		consumed = b.bytes
		progress(false, consumed)
	}
	if err := ctx.Err(); err != nil {
		return finish(interrupted(sum, err))
	}
	return finish(nil)
}

func interrupted(sum Summary, err error) error {
	return fmt.Errorf("importer: interrupted after %d rows (run the same import again to resume): %w", sum.Rows, err)
}

// read parses rows into batches until the end of the input or the cancellation of ctx.
func read(ctx context.Context, rr rowReader, size int, out chan<- *batch) {
	b := &batch{}
	send := func() bool {
		b.bytes = rr.consumed()
		select {
		case out <- b:
			b = &batch{}
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		if ctx.Err() != nil {
			return
		}
		rec, err := rr.next()
		if errors.Is(err, io.EOF) {
			if len(b.regs)+len(b.bad) > 0 {
				send()
			}
			return
		}
		if err != nil {
			b = &batch{err: err}
			send()
			return
		}
		if rec.bad != nil {
			rec.bad.Row, rec.bad.Line = rec.row, rec.line
			b.bad = append(b.bad, *rec.bad)
		} else {
			b.regs = append(b.regs, rec.reg)
			b.rows = append(b.rows, record{row: rec.row, line: rec.line})
		}
		if len(b.regs)+len(b.bad) >= size && !send() {
			return
		}
	}
}

// rowErrors turns the error of a failed row into one RowError per reason, with the field
// named as the import column.
func rowErrors(err error) []RowError {
	if err == nil {
		return []RowError{{ZH: "未导入（原因不明）", EN: "not imported (no reason given)"}}
	}
	var list errs.List
	if errors.As(err, &list) && len(list) > 0 {
		out := make([]RowError, 0, len(list))
		for _, e := range list {
			out = append(out, RowError{Field: columnOf(e.Field), ZH: e.Message("zh"), EN: e.Message("en")})
		}
		return out
	}
	if e := errs.As(err); e != nil {
		return []RowError{{Field: columnOf(e.Field), ZH: e.Message("zh"), EN: e.Message("en")}}
	}
	return []RowError{{ZH: "内部错误：" + err.Error(), EN: "internal error: " + err.Error()}}
}
