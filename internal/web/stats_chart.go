package web

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Server-rendered SVG charts for the statistics pages: no script, no library. Each chart is
// an <svg role="img"> named by its <title> and described by its <desc>, every line, point and bar
// has a <title> of its own (shown as a tooltip, read by screen readers), lines differ by dash
// pattern as well as by colour, and every colour has a contrast of at least 4.5:1 on white. The
// pages also show the same figures as tables.

// chartColors are the series colours (contrast on white ≥ 4.5:1) and chartDashes their dash
// patterns, so that no series is told apart by colour alone.
var (
	chartColors = []string{"#0b57a4", "#b3261e", "#146c2e", "#8a5300", "#6a1b9a", "#00695c", "#4e342e", "#37474f"}
	chartDashes = []string{"", "8 4", "3 3", "10 3 3 3", "1 3", "12 5", "6 2 2 2 2 2", "4 6"}
)

const (
	chartText = "#1d2329"
	chartAxis = "#5b6570"
	chartGrid = "#d9dee3"
)

// chartSeries is one line of a line chart.
type chartSeries struct {
	Name   string
	Values []int64 // one per label
}

// chartBar is one bar of a bar chart.
type chartBar struct {
	Label string
	N     int64
}

// esc escapes text for SVG (XML) content and attributes.
func esc(s string) string { return html.EscapeString(s) }

// niceCeil returns the smallest 1, 2 or 5 × 10^k at least v (at least 1).
func niceCeil(v int64) int64 {
	if v <= 1 {
		return 1
	}
	p := int64(math.Pow(10, math.Floor(math.Log10(float64(v)))))
	for _, m := range []int64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// fmtN writes a count with thousands separators.
func fmtN(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// lineSVG draws a time series: one line per series over the labels (periods).
func lineSVG(id, title, desc string, labels []string, ss []chartSeries) string {
	const (
		w, plotH         = 760, 260
		left, right, top = 64, 16, 16
		bottom           = 40
		legendRow        = 22
		perRow           = 4
	)
	rows := (len(ss) + perRow - 1) / perRow
	h := top + plotH + bottom + rows*legendRow + 8
	var max int64
	for _, s := range ss {
		for _, v := range s.Values {
			max = maxInt64(max, v)
		}
	}
	top5 := niceCeil(max)
	plotW := float64(w - left - right)
	x := func(i int) float64 {
		if len(labels) <= 1 {
			return float64(left) + plotW/2
		}
		return float64(left) + plotW*float64(i)/float64(len(labels)-1)
	}
	y := func(v int64) float64 { return float64(top) + float64(plotH)*(1-float64(v)/float64(top5)) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="%s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" font-family="sans-serif" font-size="12">`,
		esc(id), w, h, esc(id), esc(id))
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, esc(id), esc(title), esc(id), esc(desc))
	// Grid and the y axis: five steps from 0 to the top.
	for i := 0; i <= 5; i++ {
		v := top5 * int64(i) / 5
		yy := y(v)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" stroke-width="1"/>`, left, yy, w-right, yy, chartGrid)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="%s">%s</text>`, left-6, yy+4, chartText, fmtN(v))
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="1"/>`, left, top, left, top+plotH, chartAxis)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="1"/>`, left, top+plotH, w-right, top+plotH, chartAxis)
	// At most eight period labels, evenly spaced, the last one always shown.
	step := max1((len(labels) + 7) / 8)
	for i, l := range labels {
		if i%step != 0 && i != len(labels)-1 {
			continue
		}
		if i != len(labels)-1 && len(labels)-1-i < step {
			continue // too close to the last label
		}
		anchor := "middle"
		switch {
		case len(labels) > 1 && i == 0:
			anchor = "start"
		case len(labels) > 1 && i == len(labels)-1:
			anchor = "end"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="%s" fill="%s">%s</text>`, x(i), top+plotH+18, anchor, chartText, esc(l))
	}
	for si, s := range ss {
		color, dash := chartColors[si%len(chartColors)], chartDashes[si%len(chartDashes)]
		var total int64
		for _, v := range s.Values {
			total += v
		}
		fmt.Fprintf(&b, `<g><title>%s: %s</title>`, esc(s.Name), fmtN(total))
		pts := make([]string, len(s.Values))
		for i, v := range s.Values {
			pts[i] = fmt.Sprintf("%.1f,%.1f", x(i), y(v))
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"`, color)
			if dash != "" {
				fmt.Fprintf(&b, ` stroke-dasharray="%s"`, dash)
			}
			fmt.Fprintf(&b, ` points="%s"/>`, strings.Join(pts, " "))
		}
		if len(s.Values) <= 62 {
			for i, v := range s.Values {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s · %s: %s</title></circle>`,
					x(i), y(v), color, esc(labels[i]), esc(s.Name), fmtN(v))
			}
		}
		b.WriteString(`</g>`)
	}
	// Legend: a sample of each line's colour and dash, with its name.
	for si, s := range ss {
		col, row := si%perRow, si/perRow
		lx := left + col*((w-left-right)/perRow)
		ly := top + plotH + bottom + row*legendRow + 6
		color, dash := chartColors[si%len(chartColors)], chartDashes[si%len(chartDashes)]
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"`, lx, ly, lx+28, ly, color)
		if dash != "" {
			fmt.Fprintf(&b, ` stroke-dasharray="%s"`, dash)
		}
		b.WriteString(`/>`)
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="%s">%s</text>`, lx+34, ly+4, chartText, esc(s.Name))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// barSVG draws horizontal bars, largest first as given.
func barSVG(id, title, desc string, bars []chartBar) string {
	const (
		w, labelW, valueW = 760, 200, 90
		barH, gap, top    = 22, 8, 8
	)
	h := top*2 + max1(len(bars))*(barH+gap)
	var max int64
	for _, br := range bars {
		max = maxInt64(max, br.N)
	}
	scale := float64(w-labelW-valueW-16) / float64(maxInt64(max, 1))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="%s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" font-family="sans-serif" font-size="12">`,
		esc(id), w, h, esc(id), esc(id))
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, esc(id), esc(title), esc(id), esc(desc))
	for i, br := range bars {
		y := top + i*(barH+gap)
		bw := float64(br.N) * scale
		fmt.Fprintf(&b, `<g><title>%s: %s</title>`, esc(br.Label), fmtN(br.N))
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" fill="%s">%s</text>`, labelW-8, y+barH/2+4, chartText, esc(truncateRunes(br.Label, 16)))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`, labelW, y, bw, barH, chartColors[0])
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="%s">%s</text>`, float64(labelW)+bw+6, y+barH/2+4, chartText, fmtN(br.N))
		b.WriteString(`</g>`)
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="1"/>`, labelW, top-4, labelW, h-top+4, chartAxis)
	b.WriteString(`</svg>`)
	return b.String()
}

// truncateRunes shortens s to n characters with an ellipsis.
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func maxInt64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}
