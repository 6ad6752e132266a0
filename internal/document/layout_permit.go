package document

import (
	"fmt"
	"math"
	"strings"
)

// The permit layout: a generic certificate on the pages of the business licence (the 副本's
// 297 × 210 mm as the design, ×√2 for the 正本), with its frame, emblem and QR code. Under the
// emblem, the type's name is the title (its English name under it); top left the permit's number;
// then the face as one table of label/value rows over the page's width — the holder, the holder's
// code, the type's items, the validity — wrapping long values by the Chinese line-breaking rules
// and shrinking together (4.2 mm to 2.4 mm) before they continue on continuation pages (续页);
// bottom right the issuing department and the issue date under its seal; the identifier in the
// footer.
//
// The area left of the title (x 78–110 mm, y 8–50 mm) is kept free for a copy's stamp (copy.go).

// Design coordinates of the permit's face (mm on the 副本).
var (
	permitCol     = column{x: 26, right: 272, top: 66, bot: 153}
	permitContCol = column{x: 26, right: 272, top: 50, bot: 186}
)

const (
	permitTitleW      = 66.0 // the title's width at most: clear of the stamp area and the QR caption
	permitTitleMax    = 9.0
	permitTitleMin    = 5.0
	permitLabelMaxEm  = 12 // the label column is at most 12 characters wide; longer labels wrap
	permitNumberW     = 50.0
	permitIssuerW     = 72.0
	qrCaptionPermit   = "扫描二维码核验本证照的真伪和当前状态"
	permitIssuerLabel = "发证机关"
	permitValidity    = "有效期"
	permitHolder      = "持证主体"
	permitNumberLabel = "证照编号"
	continuedLabel    = "（续）"
	continuedNote     = "（下转续页）"
)

// permitRow is a row of the permit's table: a label and its value, wrapped.
type permitRow struct {
	label  string
	values []string // the value's lines
	id     int      // 1 + the row's index (textRun.item)
	cont   bool     // continues a row begun on an earlier page
}

// permitItems are the rows of permit p: holder, holder's code, the type's items with a value, the
// validity.
func permitItems(p *Permit) []item {
	code := holderCodeTypes[p.HolderCodeType].zh
	items := []item{{Label: permitHolder, Value: p.HolderName}, {Label: code, Value: p.HolderCode}}
	for _, it := range p.Items {
		if strings.TrimSpace(it.Value) != "" {
			items = append(items, item{Label: it.LabelZH, Value: it.Value})
		}
	}
	until := "长期"
	if !p.ValidUntil.IsZero() {
		until = dateZH(p.ValidUntil)
	}
	items = append(items, item{Label: permitValidity, Value: dateZH(p.validFrom()) + " 至 " + until})
	for i := range items {
		items[i].id = i + 1
	}
	return items
}

// layoutPermit lays out permit p.
func layoutPermit(p *Permit, o layoutOptions) (*layout, error) {
	if o.Font == nil {
		return nil, fmt.Errorf("document: layout: no font")
	}
	k, pw, ph := o.sheet()
	f := o.Font
	items := permitItems(p)
	lay := &layout{}

	first := newPage(pw, ph, k)
	top := first.permitHeader(p, o.Copy, f, false)
	c := permitCol
	c.top = max(c.top, top)

	// The largest size at which the table fits the first page.
	s := maxItemSize
	var rows []permitRow
	var lw float64
	fits := false
	for ; s >= minItemSize-1e-9; s = math.Round((s-sizeStep)*10) / 10 {
		lw = permitLabelWidth(items, s)
		rows = wrapRows(items, c, s, lw, f)
		if rowsHeight(rows, s, lw, f) <= c.bot-c.top {
			fits = true
			break
		}
	}
	if !fits {
		s = minItemSize
		lw = permitLabelWidth(items, s)
		rows = wrapRows(items, c, s, lw, f)
	}
	lay.Size = s * k
	rest := first.placeRows(rows, c, s, lw, f, !fits)
	first.permitIssuer(p, f)
	lay.Seal = first.sealBox()
	first.permitFooter(p, f)
	pages := []*pageBuilder{first}
	for len(rest) > 0 {
		pg := newPage(pw, ph, k)
		pg.permitHeader(p, o.Copy, f, true)
		rest = pg.placeRows(rest, permitContCol, s, lw, f, true)
		pg.permitFooter(p, f)
		pages = append(pages, pg)
		if len(pages) > maxPages {
			return nil, errTooManyPages
		}
	}
	lay.addPages(pages, f)
	return lay, nil
}

// permitLabelWidth is the width of the label column: the longest label, at least four and at
// most permitLabelMaxEm characters.
func permitLabelWidth(items []item, s float64) float64 {
	n := 4
	for _, it := range items {
		n = max(n, runeCount(it.Label+continuedLabel)-runeCount(continuedLabel))
	}
	return float64(min(n, permitLabelMaxEm)) * s
}

// wrapRows wraps the values of items to the value column of c at size s.
func wrapRows(items []item, c column, s, lw float64, f *Font) []permitRow {
	width := (c.right - (c.x + lw + s)) / s
	rows := make([]permitRow, len(items))
	for i, it := range items {
		rows[i] = permitRow{label: it.Label, values: wrap(it.Value, width, f.Advance), id: it.id}
	}
	return rows
}

// rowLabel is the label lines of a row: wrapped to the label column, with （续） when the row
// continues from an earlier page.
func rowLabel(r permitRow, s, lw float64, f *Font) []string {
	l := r.label
	if r.cont {
		l += continuedLabel
	}
	return wrap(l, lw/s+1e-9, f.Advance)
}

// rowLines is how many lines a row takes.
func rowLines(r permitRow, s, lw float64, f *Font) int {
	return max(len(rowLabel(r, s, lw, f)), len(r.values), 1)
}

// rowsHeight is the height the rows take at size s.
func rowsHeight(rows []permitRow, s, lw float64, f *Font) float64 {
	h := 0.0
	for i, r := range rows {
		if i > 0 {
			h += gapFactor * s
		}
		h += float64(rowLines(r, s, lw, f)) * lineFactor * s
	}
	return h
}

// placeRows places rows into column c at size s; the lines that do not fit are returned as rows
// to continue on another page. With reserve, the last line is kept free for a note that the text
// continues.
func (p *pageBuilder) placeRows(rows []permitRow, c column, s, lw float64, f *Font, reserve bool) []permitRow {
	y := c.top
	lh := lineFactor * s
	bottom := c.bot
	if reserve && rowsHeight(rows, s, lw, f) > c.bot-c.top {
		bottom -= lh
	}
	valueX := c.x + lw + s
	for i, r := range rows {
		if i > 0 {
			y += gapFactor * s
		}
		label := rowLabel(r, s, lw, f)
		n := rowLines(r, s, lw, f)
		for j := 0; j < n; j++ {
			if y+lh > bottom+1e-9 {
				var out []permitRow
				if j < len(r.values) || j == 0 {
					out = append(out, permitRow{label: r.label, values: r.values[min(j, len(r.values)):], id: r.id, cont: r.cont || j > 0})
				}
				out = append(out, rows[i+1:]...)
				p.text(textRun{X: valueX, Y: y + lh*0.8, Size: s * 0.8, Text: continuedNote, Color: grey})
				return out
			}
			base := y + s*0.88
			if j < len(label) {
				if len(label) == 1 {
					p.text(distributed(c.x, base, s, min(lw, float64(max(4, runeCount(label[0])))*s), label[0]))
				} else {
					p.text(textRun{X: c.x, Y: base, Size: s, Text: label[j], Color: black})
				}
			}
			if j < len(r.values) && r.values[j] != "" {
				p.text(textRun{X: valueX, Y: base, Size: s, Text: r.values[j], Color: black, item: r.id})
			}
			y += lh
		}
	}
	return nil
}

// permitHeader draws the frame, emblem, title, number and QR code; it returns where the face may
// begin (design mm).
func (p *pageBuilder) permitHeader(pm *Permit, cp Copy, f *Font, continuation bool) float64 {
	w, h := duplicateW, duplicateH
	p.rect(5, 5, w-10, h-10, 0.8, frameGold)
	p.rect(7, 7, w-14, h-14, 0.25, frameGold)

	// The number, top left, at most permitNumberW wide.
	p.text(textRun{X: 24, Y: 34, Size: 3.5, Text: permitNumberLabel, Color: black})
	ns := min(4.2, permitNumberW/max(f.Width(pm.Number), 1e-9))
	p.text(textRun{X: 24, Y: 40.5, Size: ns, Text: pm.Number, Color: black})

	y := 45.0
	if continuation {
		ts, lines := titleLines(pm.TypeName, f)
		y = 24
		for _, ln := range lines {
			p.centred(w/2, y, ts, titleSpacing(ln, ts), ln, f, black)
			y += ts * 1.3
		}
		p.centred(w/2, y+1, 4, 0, "（续页）", f, black)
		return y + 6
	}
	p.image(w/2-10, 12, 20, 20, imgEmblem)
	p.image(246, 13, 28, 28, imgQR)
	for i, ln := range wrap(qrCaptionPermit, 34/2.2, f.Advance) {
		p.text(textRun{X: 208, Y: 20 + float64(i)*3.4, Size: 2.2, Text: ln, Color: grey})
	}
	ts, lines := titleLines(pm.TypeName, f)
	for i, ln := range lines {
		if i > 0 {
			y += ts * 1.3
		}
		p.centred(w/2, y, ts, titleSpacing(ln, ts), ln, f, black)
	}
	if pm.TypeNameEN != "" {
		es := min(3.2, 100/max(f.Width(pm.TypeNameEN), 1e-9))
		y += 2 + es*1.4
		p.centred(w/2, y, es, 0, pm.TypeNameEN, f, grey)
	}
	if cp == Duplicate {
		y += 6
		p.centred(w/2, y, 4.5, 0, copyText, f, black)
	}
	return y + 8
}

// titleLines sets the type's name as the title: as large as fits permitTitleW (letter-spaced when
// short), wrapped at the smallest size when it does not fit.
func titleLines(name string, f *Font) (float64, []string) {
	wd := f.Width(name)
	for s := permitTitleMax; s >= permitTitleMin-1e-9; s -= 0.5 {
		if wd*s+titleSpacing(name, s)*float64(runeCount(name)-1) <= permitTitleW {
			return s, []string{name}
		}
	}
	return permitTitleMin, wrap(name, permitTitleW/permitTitleMin, f.Advance)
}

// titleSpacing is the letter-spacing of a title line: half a character for up to eight.
func titleSpacing(ln string, s float64) float64 {
	if runeCount(ln) <= 8 {
		return s / 2
	}
	return 0
}

// permitIssuer draws the issuing department and the issue date (bottom right) under the seal.
func (p *pageBuilder) permitIssuer(pm *Permit, f *Font) {
	p.text(distributed(authX, authY-6, authSize, 4*authSize, permitIssuerLabel))
	date := dateZH(pm.IssuedAt)
	cx := dateX + f.Width(date)*authSize/2
	s := min(authSize, permitIssuerW/max(f.Width(pm.IssuerName), 1e-9))
	lines := []string{pm.IssuerName}
	if s < minItemSize {
		s = minItemSize
		lines = wrap(pm.IssuerName, permitIssuerW/s, f.Advance)
	}
	y := authY + 2 - float64(len(lines)-1)*s*1.3
	for _, ln := range lines {
		p.centred(cx, y, s, 0, ln, f, black)
		y += s * 1.3
	}
	p.text(textRun{X: dateX, Y: dateY, Size: authSize, Text: date, Color: black})
}

// permitFooter prints the identifier at the bottom left.
func (p *pageBuilder) permitFooter(pm *Permit, f *Font) {
	t := "电子证照标识：" + pm.Identifier
	s := min(2.6, 105/max(f.Width(t), 1e-9))
	p.text(textRun{X: 24, Y: 198, Size: s, Text: t, Color: black})
}
