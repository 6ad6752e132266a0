package importer

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"iter"

	"github.com/elicense/elicense/internal/license"
)

// WriteCSV writes registrations as an import file in CSV (header row with every column), the
// inverse of reading one. It returns the number of rows written.
func WriteCSV(w io.Writer, regs iter.Seq[license.Registration]) (int64, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	cw := csv.NewWriter(bw)
	if err := cw.Write(Columns); err != nil {
		return 0, fmt.Errorf("importer: write csv: %w", err)
	}
	var n int64
	rec := make([]string, numColumns)
	for reg := range regs {
		v := values(&reg)
		copy(rec, v[:])
		if err := cw.Write(rec); err != nil {
			return n, fmt.Errorf("importer: write csv: %w", err)
		}
		n++
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, fmt.Errorf("importer: write csv: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("importer: write csv: %w", err)
	}
	return n, nil
}

// WriteJSONL writes registrations as an import file in JSON Lines: one object per line with
// the keys of Columns in their order, empty values left out. It returns the number of rows
// written.
func WriteJSONL(w io.Writer, regs iter.Seq[license.Registration]) (int64, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	var n int64
	var line []byte
	for reg := range regs {
		line = append(line[:0], '{')
		for i, s := range values(&reg) {
			if s == "" {
				continue
			}
			if len(line) > 1 {
				line = append(line, ',')
			}
			line = append(line, '"')
			line = append(line, Columns[i]...)
			line = append(line, '"', ':')
			q, err := json.Marshal(s)
			if err != nil {
				return n, fmt.Errorf("importer: write jsonl: %w", err)
			}
			line = append(line, q...)
		}
		line = append(line, '}', '\n')
		if _, err := bw.Write(line); err != nil {
			return n, fmt.Errorf("importer: write jsonl: %w", err)
		}
		n++
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("importer: write jsonl: %w", err)
	}
	return n, nil
}
