package document

import (
	"fmt"
	"math"
	"strings"

	"github.com/elicense/elicense/internal/license"
)

// The page model: one layout, in millimetres, that both writers (PDF and OFD) draw. It is
// designed on the 副本 page (297 × 210 mm, A4 landscape) and scaled by √2 for the 正本
// (420 × 297 mm, A3 landscape), as the two sizes of the real licence are. Y grows downwards
// from the top edge, as in OFD; the PDF writer converts.

// Page sizes (STANDARDS §4).
const (
	originalW, originalH   = 420.0, 297.0
	duplicateW, duplicateH = 297.0, 210.0
)

// Colours.
var (
	black     = [3]uint8{0, 0, 0}
	frameGold = [3]uint8{176, 141, 87}
	grey      = [3]uint8{90, 90, 90}
)

// Fixed texts of the face (STANDARDS §4).
const (
	titleText     = "营业执照"
	copyText      = "(副 本)"
	websiteText   = "国家企业信用信息公示系统网址：http://www.gsxt.gov.cn"
	supervisedBy  = "国家市场监督管理总局监制"
	annualReport  = "市场主体应当于每年1月1日至6月30日通过国家企业信用信息公示系统报送公示年度报告。"
	qrCaption     = "扫描二维码核验本执照的真伪和当前状态"
	authorityText = "登记机关"
	regNoLabel    = "注册号"
)

// Font sizes of the face items, in mm on the 副本 (em size): the layout shrinks from max to min
// before it continues on another page.
const (
	maxItemSize = 4.2
	minItemSize = 2.4
	sizeStep    = 0.1
	lineFactor  = 1.55 // line height / font size
	gapFactor   = 0.7  // space between items / font size
)

// textRun is one line of text: it starts at (X, Y) on its baseline.
type textRun struct {
	X, Y    float64 // mm
	Size    float64 // em size, mm
	Spacing float64 // extra space after each character but the last, mm
	Text    string
	Color   [3]uint8
	item    int // 1 + index of the face item whose value this line is part of; 0 otherwise
}

// imageKind names the images a page shows.
type imageKind int

const (
	imgEmblem imageKind = iota
	imgQR
)

type imageBox struct {
	X, Y, W, H float64
	Kind       imageKind
}

type rectBox struct {
	X, Y, W, H float64
	Line       float64 // stroke width, mm
	Color      [3]uint8
}

type page struct {
	W, H   float64
	Texts  []textRun
	Images []imageBox
	Rects  []rectBox
}

// layout is a laid-out licence: its pages, and where the seal goes on the first page.
type layout struct {
	Pages []page
	Seal  rectBox // the stamp: centred over the date, page 0
	Size  float64 // the face items' font size chosen, mm (after scaling)
}

// item is a face item: a label and its value.
type item struct {
	Label string
	Value string
	id    int // 1-based position among all face items (0: not a face item)
}

// faceItems returns the face items of l in the two columns of the layout: the left column has
// name, type, person and the scope block; the right one capital (or form), date, term, place.
func faceItems(l *license.Licence) (left, right []item) {
	lb := license.LabelsFor(l.Kind)
	f := l.Face
	add := func(col *[]item, lab license.Label, v string) {
		if lab.ZH != "" && v != "" {
			*col = append(*col, item{Label: lab.ZH, Value: v})
		}
	}
	add(&left, lb.Name, f.Name)
	add(&left, lb.Type, f.Type)
	add(&left, lb.Person, f.Person)
	add(&left, lb.Scope, f.Scope)
	add(&right, lb.Capital, capitalText(f.Capital))
	add(&right, lb.Form, f.Form)
	add(&right, lb.Date, faceDate(f.EstablishedOn))
	add(&right, lb.Term, term(f.TermFrom, f.TermTo))
	add(&right, lb.Place, f.Address)
	for i := range left {
		left[i].id = i + 1
	}
	for i := range right {
		right[i].id = len(left) + i + 1
	}
	return left, right
}

// column is a region of the page that a list of items flows into.
type column struct {
	x, right float64 // label start, right edge of values
	top, bot float64 // first line's top, bottom limit
}

// placedLine is a wrapped line of an item.
type placedLine struct {
	item  int
	first bool // first line of its item: carries the label
	text  string
}

// wrapItems wraps every item of a column at size s; labelW is the width of the label column.
func wrapItems(items []item, c column, s, labelW float64, f *Font) []placedLine {
	var out []placedLine
	width := (c.right - (c.x + labelW + s)) / s
	for i, it := range items {
		for j, ln := range wrap(it.Value, width, f.Advance) {
			out = append(out, placedLine{item: i, first: j == 0, text: ln})
		}
	}
	return out
}

// height is the height the lines take at size s.
func height(lines []placedLine, s float64) float64 {
	h := 0.0
	for i, ln := range lines {
		if ln.first && i > 0 {
			h += gapFactor * s
		}
		h += lineFactor * s
	}
	return h
}

// labelWidth is the width of a column's label area: at least four characters, as the printed
// form has (名　　称), or the longest label.
func labelWidth(items []item, s float64) float64 {
	n := 4
	for _, it := range items {
		n = max(n, runeCount(it.Label))
	}
	return float64(n) * s
}

// distributed returns a label run spread over width w (名　　称 style) without space characters.
func distributed(x, y, s, w float64, text string) textRun {
	n := runeCount(text)
	sp := 0.0
	if n > 1 {
		sp = (w - float64(n)*s) / float64(n-1)
		if sp < 0 {
			sp = 0
		}
	}
	return textRun{X: x, Y: y, Size: s, Spacing: sp, Text: text, Color: black}
}

// Layout input beyond the licence.
type layoutOptions struct {
	Copy Copy
	Font *Font
}

// sheet returns the scale k of the design (drawn at the size of the 副本) and the page's width
// and height for the copy: the 正本 is the same design, larger.
func (o layoutOptions) sheet() (k, w, h float64) {
	if o.Copy == Original {
		return originalW / duplicateW, originalW, originalH
	}
	return 1, duplicateW, duplicateH
}

// design coordinates of the 副本; scale k applies to everything.
var (
	leftCol  = column{x: 26, right: 150, top: 66, bot: 186}
	rightCol = column{x: 160, right: 272, top: 66, bot: 146}
	contCol  = column{x: 26, right: 272, top: 50, bot: 186}
)

// layoutLicence lays out licence l.
func layoutLicence(l *license.Licence, o layoutOptions) (*layout, error) {
	if o.Font == nil {
		return nil, fmt.Errorf("document: layout: no font")
	}
	k, pw, ph := o.sheet()
	f := o.Font
	left, right := faceItems(l)
	lay := &layout{}

	// Choose the largest size at which both columns fit.
	s := maxItemSize
	var ll, rl []placedLine
	var lw, rw float64
	fits := false
	for ; s >= minItemSize-1e-9; s = math.Round((s-sizeStep)*10) / 10 {
		lw, rw = labelWidth(left, s), labelWidth(right, s)
		ll, rl = wrapItems(left, leftCol, s, lw, f), wrapItems(right, rightCol, s, rw, f)
		if height(ll, s) <= leftCol.bot-leftCol.top && height(rl, s) <= rightCol.bot-rightCol.top {
			fits = true
			break
		}
	}
	if !fits {
		s = minItemSize
		lw, rw = labelWidth(left, s), labelWidth(right, s)
		ll, rl = wrapItems(left, leftCol, s, lw, f), wrapItems(right, rightCol, s, rw, f)
	}
	lay.Size = s * k

	first := newPage(pw, ph, k)
	first.header(l, o.Copy, f, false)
	restL := first.flow(left, ll, leftCol, s, lw, f, !fits)
	restR := first.flow(right, rl, rightCol, s, rw, f, !fits)
	first.authority(l, f)
	lay.Seal = first.sealBox()
	first.footer(o.Copy, f)
	pages := []*pageBuilder{first}

	// Continuation pages (续页): whatever did not fit, full width.
	rest := append(restL, restR...)
	for len(rest) > 0 {
		p := newPage(pw, ph, k)
		p.header(l, o.Copy, f, true)
		var items, keys []item
		var lines []placedLine
		for _, r := range rest {
			idx := -1
			for i, it := range keys {
				if it == r.it {
					idx = i
				}
			}
			if idx < 0 {
				it := r.it
				if r.cont && !strings.HasSuffix(it.Label, "（续）") {
					it.Label += "（续）"
				}
				keys, items = append(keys, r.it), append(items, it)
				idx = len(items) - 1
			}
			lines = append(lines, placedLine{item: idx, first: r.first || r.cont, text: r.text})
		}
		cw := labelWidth(items, s)
		rest = p.flow(items, lines, contCol, s, cw, f, true)
		p.footer(o.Copy, f)
		pages = append(pages, p)
		if len(pages) > maxPages {
			return nil, errTooManyPages
		}
	}
	lay.addPages(pages, f)
	return lay, nil
}

// maxPages bounds the pages of one document: a face item that flows beyond it is an error.
const maxPages = 50

var errTooManyPages = fmt.Errorf("document: layout: more than %d pages", maxPages)

// addPages numbers pages when there are several and appends them to the layout.
func (lay *layout) addPages(pages []*pageBuilder, f *Font) {
	if len(pages) > 1 {
		for i, p := range pages {
			p.pageNumber(i+1, len(pages), f)
		}
	}
	for _, p := range pages {
		lay.Pages = append(lay.Pages, p.page)
	}
}

// pageBuilder adds design-unit elements to a page, scaled by k.
type pageBuilder struct {
	page
	k float64
}

func newPage(w, h, k float64) *pageBuilder {
	return &pageBuilder{page: page{W: w, H: h}, k: k}
}

func (p *pageBuilder) text(t textRun) {
	t.X, t.Y, t.Size, t.Spacing = t.X*p.k, t.Y*p.k, t.Size*p.k, t.Spacing*p.k
	p.Texts = append(p.Texts, t)
}

func (p *pageBuilder) image(x, y, w, h float64, kind imageKind) {
	p.Images = append(p.Images, imageBox{x * p.k, y * p.k, w * p.k, h * p.k, kind})
}

func (p *pageBuilder) rect(x, y, w, h, line float64, c [3]uint8) {
	p.Rects = append(p.Rects, rectBox{x * p.k, y * p.k, w * p.k, h * p.k, line * p.k, c})
}

// centred adds a run centred on x.
func (p *pageBuilder) centred(x, y, s, spacing float64, text string, f *Font, c [3]uint8) {
	w := f.Width(text)*s + spacing*float64(runeCount(text)-1)
	p.text(textRun{X: x - w/2, Y: y, Size: s, Spacing: spacing, Text: text, Color: c})
}

// header draws the frame, emblem, title, credit code and QR code.
func (p *pageBuilder) header(l *license.Licence, cp Copy, f *Font, continuation bool) {
	w, h := duplicateW, duplicateH
	p.rect(5, 5, w-10, h-10, 0.8, frameGold)
	p.rect(7, 7, w-14, h-14, 0.25, frameGold)
	if continuation {
		p.centred(w/2, 28, 8, 4, titleText, f, black)
		p.centred(w/2, 37, 4, 0, "（续页）", f, black)
	} else {
		p.image(w/2-10, 12, 20, 20, imgEmblem)
		p.centred(w/2, 49, 12, 6, titleText, f, black)
		if cp == Duplicate {
			p.centred(w/2, 57, 5, 0, copyText, f, black)
		}
	}
	label := license.LabelsFor(l.Kind).Code.ZH
	if l.CodeType == "099" {
		label = regNoLabel
	}
	p.text(textRun{X: 24, Y: 34, Size: 3.5, Text: label, Color: black})
	p.text(textRun{X: 24, Y: 40.5, Size: 4.2, Text: l.Code, Color: black})
	if !continuation {
		p.image(246, 13, 28, 28, imgQR)
		for i, ln := range wrap(qrCaption, 34/2.2, f.Advance) {
			p.text(textRun{X: 208, Y: 20 + float64(i)*3.4, Size: 2.2, Text: ln, Color: grey})
		}
	}
}

// rest is a line that did not fit on its page.
type rest struct {
	it    item // the item as it was on the page before
	first bool // the item's first line
	cont  bool // the first line on a new page of an item already begun
	text  string
}

// flow places the wrapped lines of items into column c; lines that do not fit are returned.
// With reserve, the last line is kept free for a note that the text continues.
func (p *pageBuilder) flow(items []item, lines []placedLine, c column, s, labelW float64, f *Font, reserve bool) []rest {
	y := c.top
	valueX := c.x + labelW + s
	lh := lineFactor * s
	bottom := c.bot
	total := height(lines, s)
	if reserve && total > c.bot-c.top {
		bottom -= lh
	}
	for i, ln := range lines {
		adv := lh
		if ln.first && i > 0 {
			adv += gapFactor * s
		}
		if y+adv > bottom+1e-9 {
			var out []rest
			for j, r := range lines[i:] {
				out = append(out, rest{it: items[r.item], first: r.first, cont: j == 0 && !r.first, text: r.text})
			}
			p.text(textRun{X: valueX, Y: y + lh*0.8, Size: s * 0.8, Text: "（下转续页）", Color: grey})
			return out
		}
		if ln.first && i > 0 {
			y += gapFactor * s
		}
		base := y + s*0.88
		if ln.first {
			lab := items[ln.item].Label
			p.text(distributed(c.x, base, s, labelW, lab))
		}
		if ln.text != "" {
			p.text(textRun{X: valueX, Y: base, Size: s, Text: ln.text, Color: black, item: items[ln.item].id})
		}
		y += lh
	}
	return nil
}

// The authority block (bottom right): 登记机关, the date under the seal.
const (
	authX, authY = 200.0, 166.0
	dateX, dateY = 214.0, 180.0
	authSize     = 4.2
	sealD        = sealPictureMM / (originalW / duplicateW) // the picture, 45 mm on the 正本: a 42 mm ring
)

func (p *pageBuilder) authority(l *license.Licence, f *Font) {
	p.text(distributed(authX, authY, authSize, 4*authSize, authorityText))
	p.text(textRun{X: dateX, Y: dateY, Size: authSize, Text: dateZH(l.IssuedAt), Color: black})
}

// sealBox is the seal's square, centred on the date line.
func (p *pageBuilder) sealBox() rectBox {
	dateW := 11 * authSize * 0.62 // 2016年05月20日: digits are narrower than ideographs
	cx, cy := dateX+dateW/2, dateY-authSize*0.9
	return rectBox{X: (cx - sealD/2) * p.k, Y: (cy - sealD/2) * p.k, W: sealD * p.k, H: sealD * p.k}
}

func (p *pageBuilder) footer(cp Copy, f *Font) {
	const s = 2.6
	if cp == Duplicate {
		p.text(textRun{X: 24, Y: 193, Size: s, Text: annualReport, Color: black})
	}
	p.text(textRun{X: 24, Y: 198, Size: s, Text: websiteText, Color: black})
	w := f.Width(supervisedBy) * s
	p.text(textRun{X: 273 - w, Y: 198, Size: s, Text: supervisedBy, Color: black})
}

func (p *pageBuilder) pageNumber(n, of int, f *Font) {
	p.centred(duplicateW/2, 198, 2.6, 0, fmt.Sprintf("第 %d 页 共 %d 页", n, of), f, grey)
}

// pageText is all the text of a page in reading order, for tests and diagnostics.
func (pg page) text() string {
	var b strings.Builder
	for _, t := range pg.Texts {
		b.WriteString(t.Text)
		b.WriteByte('\n')
	}
	return b.String()
}
