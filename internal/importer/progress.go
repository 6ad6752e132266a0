package importer

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Progress is the state of an import, reported after every batch.
type Progress struct {
	Bytes     int64 // bytes of the input consumed
	Size      int64 // total bytes of the input; 0 when unknown
	Rows      int64 // rows processed
	Issued    int64
	Unchanged int64
	Failed    int64
	Elapsed   time.Duration
	Done      bool // the last report of the import
}

// Fraction returns the part of the input consumed, from 0 to 1, or -1 when the size is unknown.
func (p Progress) Fraction() float64 {
	if p.Size <= 0 {
		return -1
	}
	f := float64(p.Bytes) / float64(p.Size)
	return min(max(f, 0), 1)
}

// Rate returns the rows processed per second.
func (p Progress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Rows) / p.Elapsed.Seconds()
}

// ETA estimates the time left from the part of the input consumed; ok is false when it
// cannot be told yet.
func (p Progress) ETA() (d time.Duration, ok bool) {
	f := p.Fraction()
	if f <= 0 || p.Elapsed <= 0 {
		return 0, false
	}
	return time.Duration(float64(p.Elapsed) * (1 - f) / f), true
}

// IsTerminal reports whether w is a terminal (a *os.File, or anything with Fd, on a tty).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// DefaultProgressEvery is how many rows pass between two progress lines when the output is not
// a terminal.
const DefaultProgressEvery = 100_000

// ProgressTo returns an Options.Progress that writes to w. On a terminal it redraws one line
// with a bar, the percentage of the file, the row count, the rate and the time left. Otherwise
// it prints a plain line every `every` rows (DefaultProgressEvery when 0; none when negative),
// so logs of a batch job stay short; the caller prints the summary at the end.
func ProgressTo(w io.Writer, every int64) func(Progress) {
	if IsTerminal(w) {
		return (&bar{w: w, width: 30}).update
	}
	if every == 0 {
		every = DefaultProgressEvery
	}
	if every < 0 {
		return func(Progress) {}
	}
	var mu sync.Mutex
	var next = every
	return func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		if p.Done || p.Rows < next {
			return
		}
		for next <= p.Rows {
			next += every
		}
		fmt.Fprintf(w, "导入 import: %d 行/rows (issued %d, unchanged %d, failed %d), %.0f rows/s%s\n",
			p.Rows, p.Issued, p.Unchanged, p.Failed, p.Rate(), percent(p))
	}
}

func percent(p Progress) string {
	if f := p.Fraction(); f >= 0 {
		return fmt.Sprintf(", %.1f%%", f*100)
	}
	return ""
}

// bar draws a single-line progress bar, at most ten times a second.
type bar struct {
	mu    sync.Mutex
	w     io.Writer
	width int
	last  time.Time
}

func (b *bar) update(p Progress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if !p.Done && now.Sub(b.last) < 100*time.Millisecond {
		return
	}
	b.last = now
	line := RenderBar(p, b.width)
	if p.Done {
		fmt.Fprintf(b.w, "\r%s\x1b[K\n", line)
		return
	}
	fmt.Fprintf(b.w, "\r%s\x1b[K", line)
}

// RenderBar renders the progress line the terminal bar shows, width characters of bar:
//
//	导入 import  42.3% [============>                 ] 423000 rows  17250 rows/s  ETA 0:34
func RenderBar(p Progress, width int) string {
	var sb strings.Builder
	sb.WriteString("导入 import ")
	if f := p.Fraction(); f >= 0 {
		if p.Done && p.Bytes >= p.Size {
			f = 1
		}
		fill := int(f * float64(width))
		fmt.Fprintf(&sb, "%5.1f%% [", f*100)
		sb.WriteString(strings.Repeat("=", fill))
		if fill < width {
			sb.WriteByte('>')
			sb.WriteString(strings.Repeat(" ", width-fill-1))
		}
		sb.WriteString("] ")
	}
	fmt.Fprintf(&sb, "%d rows  %.0f rows/s", p.Rows, p.Rate())
	if p.Failed > 0 {
		fmt.Fprintf(&sb, "  %d failed", p.Failed)
	}
	if p.Done {
		fmt.Fprintf(&sb, "  %s", clock(p.Elapsed))
	} else if eta, ok := p.ETA(); ok {
		fmt.Fprintf(&sb, "  ETA %s", clock(eta))
	}
	return sb.String()
}

// clock formats a duration as h:mm:ss or m:ss.
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
