package document

import (
	"compress/flate"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/signintech/gopdf"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/seal"
)

// Watermarked copies (加注件). A department that fetches a licence through the sharing service
// gets a copy that says on every page, diagonally, for whom, why and when it was made, carries
// the same in its metadata, and is sealed by the platform (not by the licence's authority), so
// that the copy is itself verifiable as a copy: Verify reports Copy with the mark and the words
// "valid copy". The licence data embedded in the copy keep the authority's SM2 signature, so the
// face is still checked against the register and the licence's status now.

// Mark says for whom, why and when a watermarked copy was made (STANDARDS §3: the copy's creation
// time, creator, cause and expiry; §7: a download carries the use cause).
type Mark struct {
	ID         string    `json:"id"`             // the copy's identifier (e.g. the download's ID); random when empty
	Caller     string    `json:"caller"`         // the calling department: its client ID or credit code
	CallerName string    `json:"caller_name"`    // its name, shown in the watermark
	Cause      string    `json:"cause"`          // 用证事由, at most 200 characters
	Item       string    `json:"item,omitempty"` // the service item (办事事项)
	Case       string    `json:"case,omitempty"` // the case number (办件编号)
	At         time.Time `json:"at"`             // when the copy was made; the render time when zero
	Expires    time.Time `json:"expires,omitzero"`
}

// Limits of a mark's fields, in characters.
const (
	maxMarkID     = 64
	maxMarkCaller = 128
	maxMarkName   = 100
	maxMarkCause  = 200 // STANDARDS §7
	maxMarkItem   = 200
	maxMarkCase   = 64
)

// checkMark validates m and fills in its ID and time.
func checkMark(m *Mark, now time.Time) error {
	fields := []struct {
		name, zh string
		v        *string
		max      int
		required bool
	}{
		{"mark.id", "加注件标识", &m.ID, maxMarkID, false},
		{"mark.caller", "用证单位标识", &m.Caller, maxMarkCaller, false},
		{"mark.caller_name", "用证单位名称", &m.CallerName, maxMarkName, true},
		{"mark.cause", "用证事由", &m.Cause, maxMarkCause, true},
		{"mark.item", "办事事项", &m.Item, maxMarkItem, false},
		{"mark.case", "办件编号", &m.Case, maxMarkCase, false},
	}
	for _, f := range fields {
		*f.v = strings.TrimSpace(*f.v)
		v := *f.v
		switch n := utf8.RuneCountInString(v); {
		case !utf8.ValidString(v):
			return invalid(f.name, f.zh+"不是有效的 UTF-8 文本", f.name+" is not valid UTF-8 text")
		case n == 0 && f.required:
			return invalid(f.name, "缺少"+f.zh, f.name+" is missing")
		case n > f.max:
			return invalid(f.name, fmt.Sprintf("%s过长（%d 个字符，上限 %d）", f.zh, n, f.max), fmt.Sprintf("%s is too long (%d characters, limit %d)", f.name, n, f.max))
		}
		for i, r := range []rune(v) {
			if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
				return invalid(f.name, fmt.Sprintf("%s的第 %d 个字符是控制字符", f.zh, i+1), fmt.Sprintf("%s: character %d is a control character", f.name, i+1))
			}
		}
	}
	if m.At.IsZero() {
		m.At = now
	}
	m.At = m.At.UTC().Truncate(time.Second)
	if !m.Expires.IsZero() {
		m.Expires = m.Expires.UTC().Truncate(time.Second)
		if !m.Expires.After(m.At) {
			return errs.Invalidf("mark.expires", "加注件的有效期（%s）应晚于加注时间（%s）", "the copy's expiry (%s) must come after its time (%s)",
				m.Expires.Format(time.RFC3339), m.At.Format(time.RFC3339))
		}
	}
	if m.ID == "" {
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("document: copy id: %w", err)
		}
		m.ID = hex.EncodeToString(b[:])
	}
	return nil
}

// markTime prints a mark's time as the watermark shows it (China time, to the minute).
func markTime(t time.Time) string { return t.In(chinaTime).Format("2006-01-02 15:04") }

// WatermarkText returns the words of a copy's watermark, in Chinese and English:
// 仅供<CallerName><Cause>使用 · 办件 <Case> · <time>.
func WatermarkText(m Mark) (zh, en string) {
	zh = "仅供" + m.CallerName + m.Cause + "使用"
	en = "For use by " + m.CallerName + " only: " + m.Cause
	if m.Case != "" {
		zh += " · 办件 " + m.Case
		en += " · case " + m.Case
	}
	zh += " · " + markTime(m.At)
	en += " · " + markTime(m.At) + " (UTC+8)"
	return zh, en
}

// RenderCopy renders licence version l as a watermarked copy (加注件) for m: the document of
// Render with the watermark on every page and the mark in the metadata, sealed by the platform.
// Each copy is unique: nothing of it is cached (what it shares with the original is: the QR code,
// the font subset of the face).
func (s *Service) RenderCopy(ctx context.Context, l *license.Licence, o Options, m Mark) ([]byte, error) {
	return s.renderLicence(ctx, l, o, &m)
}

// RenderPermitCopy renders permit p as a watermarked copy (加注件) for m, like RenderCopy.
func (s *Service) RenderPermitCopy(ctx context.Context, p *Permit, o Options, m Mark) ([]byte, error) {
	return s.renderPermit(ctx, p, o, &m)
}

// copyOverlay is what a copy adds to the pages: the watermark on every page, the caption under
// the platform's stamp, the authority's seal drawn as a picture where the original has it; all
// of its text is drawn with a font subset of its own (font 2), made for this copy and not kept.
type copyOverlay struct {
	mark    Mark
	runs    []markRun // every page
	caption []textRun // the first page, under the platform's stamp
	sub     *fontSubset
	// typoAscent is the font's typographic ascent (OS/2), in em: gopdf places cells by it.
	typoAscent float64
	authSeal   *sealRes // the authority's seal, drawn as a picture at authBox
	authBox    rectBox
	authPNG    *packed
}

// markRun is a line of the watermark: it starts at (X, Y) on its baseline and rises at Angle
// (radians, anticlockwise).
type markRun struct {
	X, Y, Size, Angle float64
	Text              string
}

// The watermark's look: grey, translucent, 30° up from the horizontal.
var (
	markColour = [3]uint8{80, 80, 80}
	copyRed    = [3]uint8{200, 0, 18}
)

const (
	markAlpha   = 0.45
	markAngle   = 30 * math.Pi / 180
	markMaxSize = 4.5 // mm on the 副本
	markWrapEm  = 26.0
	markGrid    = 3    // blocks across and down the page
	markLine    = 1.45 // line height / size
	enFactor    = 0.72 // the English line's size / the Chinese line's
)

// The platform's stamp on a copy: on the first page, left of the title, with a caption under it
// (design coordinates of the 副本, like layout.go).
const (
	copyStampX, copyStampY = 94.0, 24.0 // centre
	copyCaptionY           = 45.0
)

// prepareCopy turns rendering r of an original into a copy for m: the platform seals it, the
// authority's seal becomes a picture, the mark goes into the embedded data and the metadata, and
// the watermark onto every page.
func (s *Service) prepareCopy(ctx context.Context, r *rendering, m *Mark) error {
	if err := checkMark(m, r.at); err != nil {
		return err
	}
	signer, cert, err := s.keys.PlatformSigner(ctx)
	if err != nil {
		return fmt.Errorf("document: copy: platform key: %w", err)
	}
	ps, err := s.platformSeal(ctx, signer, cert)
	if err != nil {
		return err
	}
	if r.at.After(ps.validTo) {
		return fmt.Errorf("document: copy: the platform's seal expired on %s", ps.validTo.Format(time.DateOnly))
	}
	k := r.lay.Pages[0].W / pageDesignW(r.lay.Pages[0])
	c := &copyOverlay{mark: *m, authSeal: r.seal, authBox: r.stamp}
	c.authPNG = r.seal.packed()
	r.seal = ps
	r.stamp = rectBox{X: (copyStampX - sealD/2) * k, Y: (copyStampY - sealD/2) * k, W: sealD * k, H: sealD * k}
	name := s.platformName
	r.sealBy = sealIdentity{signer: signer, cert: cert, name: name,
		pdf: func(ctx context.Context) (*keys.DocumentSigner, error) {
			return s.docKeys.PlatformDocumentSigner(ctx, name)
		}}
	r.payload.Mark = &c.mark

	zh, en := WatermarkText(c.mark)
	r.meta.Title += "（加注件）"
	r.meta.Subject = "加注件 " + r.meta.Subject
	r.meta.Category += "加注件"
	r.meta.Reason = "加注件：" + zh
	r.meta.ReasonASCII = "watermarked copy " + m.ID + " of " + r.payload.Identifier
	r.meta.Custom = append(r.meta.Custom,
		customData{"加注件标识", "CopyID", m.ID},
		customData{"用证单位", "CopyCallerName", m.CallerName},
		customData{"用证单位标识", "CopyCaller", m.Caller},
		customData{"用证事由", "CopyCause", m.Cause},
		customData{"办事事项", "CopyItem", m.Item},
		customData{"办件编号", "CopyCase", m.Case},
		customData{"加注时间", "CopyAt", m.At.Format(time.RFC3339)},
	)
	if !m.Expires.IsZero() {
		r.meta.Custom = append(r.meta.Custom, customData{"加注件有效期至", "CopyExpires", m.Expires.Format(time.RFC3339)})
	}

	f := r.font.font
	first := r.lay.Pages[0]
	c.runs = watermark(zh, en, first.W, first.H, k, f)
	c.caption = copyCaption(c.mark, k, f)
	var used []rune
	for _, ru := range c.runs {
		used = append(used, []rune(ru.Text)...)
	}
	for _, t := range c.caption {
		used = append(used, []rune(t.Text)...)
	}
	slices.Sort(used)
	used = slices.Compact(used)
	data, err := f.Subset(used)
	if err != nil {
		return err
	}
	c.sub = &fontSubset{data: data}
	c.typoAscent = f.typoAscent()
	r.copy = c
	return nil
}

// pageDesignW is the design width of a page: the 副本's, whatever the page is scaled to.
func pageDesignW(pg page) float64 {
	if pg.W > duplicateW+1 {
		return duplicateW
	}
	return pg.W
}

// watermark lays out the watermark of a page W × H mm: the Chinese and English words, wrapped,
// rotated, centred in each cell of a markGrid × markGrid grid over the page; the size is the
// largest (up to markMaxSize, scaled by k) at which each block stays inside its cell.
func watermark(zh, en string, w, h, k float64, f *Font) []markRun {
	type line struct {
		text  string
		scale float64 // size / the block's size
		width float64 // em of the block's size
	}
	var lines []line
	for _, t := range wrap(zh, markWrapEm, f.Advance) {
		lines = append(lines, line{t, 1, f.Width(t)})
	}
	for _, t := range wrap(en, markWrapEm/enFactor, f.Advance) {
		lines = append(lines, line{t, enFactor, f.Width(t) * enFactor})
	}
	wb, hb := 0.0, 0.0
	for _, l := range lines {
		wb = max(wb, l.width)
		hb += markLine * l.scale
	}
	cos, sin := math.Cos(markAngle), math.Sin(markAngle)
	cw, ch := w/markGrid, h/markGrid
	s := min(markMaxSize*k, 0.9*cw/(wb*cos+hb*sin), 0.9*ch/(wb*sin+hb*cos))
	var runs []markRun
	for cell := range markGrid * markGrid {
		cx, cy := (float64(cell%markGrid)+0.5)*cw, (float64(cell/markGrid)+0.5)*ch
		v := -hb * s / 2
		for _, l := range lines {
			size := s * l.scale
			v += markLine * size
			base := v - (markLine-1)*size/2 - size*0.12 // the baseline within the line
			u := -l.width * s / 2
			// Along the text (cos, −sin), across it (sin, cos): y grows downwards.
			runs = append(runs, markRun{X: cx + u*cos + base*sin, Y: cy - u*sin + base*cos, Size: size, Angle: markAngle, Text: l.text})
		}
	}
	return runs
}

// copyCaption is the text under the platform's stamp: 电子证照加注件 and the copy's expiry.
func copyCaption(m Mark, k float64, f *Font) []textRun {
	var out []textRun
	add := func(y, s float64, text string) {
		wd := f.Width(text) * s
		out = append(out, textRun{X: (copyStampX - wd/2) * k, Y: y * k, Size: s * k, Text: text, Color: copyRed})
	}
	add(copyCaptionY, 2.8, "电子证照加注件")
	if !m.Expires.IsZero() {
		add(copyCaptionY+3.6, 2.2, "有效期至 "+m.Expires.In(chinaTime).Format("2006-01-02 15:04"))
	}
	return out
}

// platformSeal returns the platform's electronic seal for copies, making it on first use: the
// platform is both its maker and its only signer; its picture is a red seal with the platform's
// name and 加注专用章. It is stored like the authorities' seals, so every process uses the same.
func (s *Service) platformSeal(ctx context.Context, maker gm.Signer, makerCert []byte) (*sealRes, error) {
	c, err := gm.ParseCertificate(makerCert)
	if err != nil {
		return nil, fmt.Errorf("document: platform certificate: %w", err)
	}
	serial := c.SerialNumber.Text(16)
	return s.cachedSeal(ctx, keys.SealKeyID(keys.PlatformSealCode, serial), "the platform",
		func() ([]byte, error) { return s.docKeys.Seal(ctx, keys.PlatformSealCode, serial) },
		func() ([]byte, error) {
			return s.makeOrgSeal(ctx, maker, makerCert, orgSeal{
				idPrefix: "PLATFORM-COPY-", serial: serial, name: s.platformName + "加注专用章", signerCert: makerCert,
				validTo: c.NotAfter, picture: seal.ImageOptions{SizePx: 400, BottomText: "加注专用章"},
				pictureName: s.platformName, sizeMM: sealPictureMM,
			})
		},
		func(der []byte) ([]byte, error) { return s.docKeys.PutSeal(ctx, keys.PlatformSealCode, serial, der) })
}

// OFD resources of a copy.
const (
	idMarkFont    = 4
	idAuthSeal    = 5
	markFontFile  = "font_2.ttf"
	authSealFile  = "seal.png"
	pdfMarkFamily = "mark"
	markAlphaOFD  = 115 // of 255: markAlpha
)

// ofdFont is the Font element of the copy's own font ("" for an original).
func (c *copyOverlay) ofdFont(f *Font) string {
	if c == nil {
		return ""
	}
	return fmt.Sprintf(`<ofd:Font ID="%d" FontName="%s" FamilyName="%s"><ofd:FontFile>%s</ofd:FontFile></ofd:Font>`,
		idMarkFont, esc(f.Name()), esc(f.Name()), markFontFile)
}

// ofdMedia is the MultiMedia element of the authority's seal picture ("" for an original).
func (c *copyOverlay) ofdMedia() string {
	if c == nil {
		return ""
	}
	return fmt.Sprintf(`<ofd:MultiMedia ID="%d" Type="Image" Format="PNG"><ofd:MediaFile>%s</ofd:MediaFile></ofd:MultiMedia>`, idAuthSeal, authSealFile)
}

// ofdEntries are the package files a copy adds (none for an original).
func (c *copyOverlay) ofdEntries() []ofdEntry {
	if c == nil {
		return nil
	}
	return []ofdEntry{
		{"Doc_0/Res/" + markFontFile, pack(c.sub.data, flate.BestSpeed)},
		{"Doc_0/Res/" + authSealFile, c.authPNG},
	}
}

// ofdWatermark writes the watermark, first on the page: the page's content is drawn over it, so
// that the QR code stays whole for a scanner (and readers that ignore Alpha keep the text legible).
func (c *copyOverlay) ofdWatermark(b *strings.Builder, r *rendering, id func() int) {
	for _, m := range c.runs {
		ofdText(b, id(), r.font.font, m.X, m.Y, m.Size, m.Angle, m.Text, markColour, markAlphaOFD)
	}
}

// ofdFirstPage writes what a copy adds to the first page: the authority's seal picture and the
// caption under the platform's stamp.
func (c *copyOverlay) ofdFirstPage(b *strings.Builder, r *rendering, id func() int) {
	a := c.authBox
	fmt.Fprintf(b, `<ofd:ImageObject ID="%d" Boundary="%s %s %s %s" CTM="%s 0 0 %s 0 0" ResourceID="%d"/>`,
		id(), num(a.X), num(a.Y), num(a.W), num(a.H), num(a.W), num(a.H), idAuthSeal)
	for _, t := range c.caption {
		ofdText(b, id(), r.font.font, t.X, t.Y, t.Size, 0, t.Text, t.Color, 0)
	}
}

// ofdText writes a TextObject in the copy's font: text from (x, y) on its baseline, rotated by
// angle (radians, anticlockwise) about that point, with alpha (0: opaque).
func ofdText(b *strings.Builder, id int, f *Font, x, y, size, angle float64, text string, col [3]uint8, alpha int) {
	rs := []rune(text)
	if len(rs) == 0 {
		return
	}
	var dx strings.Builder
	w := 0.0
	for j, r := range rs {
		a := f.Advance(r) * size
		if j < len(rs)-1 {
			if j > 0 {
				dx.WriteByte(' ')
			}
			dx.WriteString(num(a))
		}
		w += a
	}
	asc, desc := f.ascent*size, -f.descent*size
	h := asc + desc
	// The object's own space: the text box from (0, 0), baseline at asc. It is turned by the CTM
	// about the baseline's start and placed so that the start lands on (x, y); the Boundary is
	// the turned box's extent.
	cos, sin := math.Cos(angle), math.Sin(angle)
	tx := func(u, v float64) (float64, float64) { return u*cos + (v-asc)*sin, -u*sin + (v-asc)*cos }
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range [][2]float64{{0, 0}, {w, 0}, {0, h}, {w, h}} {
		px, py := tx(p[0], p[1])
		x0, y0, x1, y1 = min(x0, px), min(y0, py), max(x1, px), max(y1, py)
	}
	fmt.Fprintf(b, `<ofd:TextObject ID="%d" Boundary="%s %s %s %s" Font="%d" Size="%s"`,
		id, num(x+x0), num(y+y0), num(x1-x0), num(y1-y0), idMarkFont, num(size))
	if angle != 0 { // unturned, the box is the Boundary and needs no CTM
		// x' = a·u + c·v + e, y' = b·u + d·v + f, relative to the Boundary's origin.
		e, g := -asc*sin-x0, -asc*cos-y0
		fmt.Fprintf(b, ` CTM="%s %s %s %s %s %s"`, num4(cos), num4(-sin), num4(sin), num4(cos), num(e), num(g))
	}
	if alpha > 0 {
		fmt.Fprintf(b, ` Alpha="%d"`, alpha)
	}
	fmt.Fprintf(b, `><ofd:FillColor Value="%d %d %d"/><ofd:TextCode X="0" Y="%s"`, col[0], col[1], col[2], num(asc))
	if dx.Len() > 0 {
		fmt.Fprintf(b, ` DeltaX="%s"`, dx.String())
	}
	fmt.Fprintf(b, `>%s</ofd:TextCode></ofd:TextObject>`, esc(text))
}

// num4 formats a matrix coefficient with four decimals.
func num4(v float64) string {
	s := fmt.Sprintf("%.4f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" || s == "" {
		return "0"
	}
	return s
}

// pdfFirstPage draws the authority's seal picture where the original has it (under the
// platform's stamp, which renderPDF draws next) and the caption under the platform's stamp.
func (c *copyOverlay) pdfFirstPage(doc *gopdf.GoPdf, r *rendering) error {
	a := c.authBox
	if err := doc.ImageByHolder(pdfImage("authseal", c.authSeal.picture), pt(a.X), pt(a.Y), &gopdf.Rect{W: pt(a.W), H: pt(a.H)}); err != nil {
		return fmt.Errorf("document: pdf seal image: %w", err)
	}
	asc := c.typoAscent
	for _, t := range c.caption {
		if err := pdfText1(doc, t.X, t.Y, t.Size, 0, asc, t.Text, t.Color, nil); err != nil {
			return err
		}
	}
	return nil
}

// pdfWatermark draws the watermark on the current page, translucent, first: the page's content
// is drawn over it, so that the QR code stays whole for a scanner.
func (c *copyOverlay) pdfWatermark(doc *gopdf.GoPdf) error {
	tr := &gopdf.Transparency{Alpha: markAlpha, BlendModeType: gopdf.NormalBlendMode}
	for _, m := range c.runs {
		if err := pdfText1(doc, m.X, m.Y, m.Size, m.Angle, c.typoAscent, m.Text, markColour, tr); err != nil {
			return err
		}
	}
	return nil
}

// pdfText1 draws a line in the copy's font from (x, y) mm on its baseline, turned by angle
// (radians, anticlockwise) about that point, with transparency tr (nil: opaque). It draws a
// gopdf cell, whose text (unlike Text's) takes the transparency, placed by its top: the baseline
// less the font's typographic ascent (asc, em).
func pdfText1(doc *gopdf.GoPdf, x, y, size, angle, asc float64, text string, col [3]uint8, tr *gopdf.Transparency) error {
	if err := doc.SetFont(pdfMarkFamily, "", pt(size)); err != nil {
		return fmt.Errorf("document: pdf font: %w", err)
	}
	_ = doc.SetCharSpacing(0)
	doc.SetTextColor(col[0], col[1], col[2])
	// The cell's graphics state (its transparency) is kept inside q … Q: gopdf's Rotate opens
	// one; a rotation of 0 does for an upright line.
	doc.Rotate(angle*180/math.Pi, pt(x), pt(y))
	doc.SetXY(pt(x), pt(y-asc*size))
	err := doc.CellWithOption(&gopdf.Rect{W: pt(1000), H: pt(size)}, text, gopdf.CellOption{Align: gopdf.Left | gopdf.Top, Transparency: tr})
	doc.RotateReset()
	if err != nil {
		return fmt.Errorf("document: pdf text: %w", err)
	}
	return nil
}

// typoAscent is the font's typographic ascender (OS/2 sTypoAscender) in em, or the hhea ascent
// when the font has no OS/2 table.
func (f *Font) typoAscent() float64 {
	if os2 := f.tables["OS/2"]; len(os2) >= 70 {
		return float64(int16(binary.BigEndian.Uint16(os2[68:]))) / f.upem
	}
	return f.ascent
}
