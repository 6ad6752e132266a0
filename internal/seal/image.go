package seal

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"

	"github.com/elicense/elicense/internal/font"
)

// ImageOptions controls DrawImage.
type ImageOptions struct {
	// SizePx is the width and height of the square image in pixels: 400 when zero, 64–4096.
	SizePx int
	// Font is a TrueType font with the CJK characters needed; the embedded font (package font)
	// when nil.
	Font []byte
	// BottomText is an optional horizontal line under the star, such as the seal's purpose
	// (e.g. 登记专用章); at most 12 characters.
	BottomText string
}

// SealRed is the colour of the seal (印章红), close to the #E60012 used for official seals.
var SealRed = color.NRGBA{R: 0xE6, G: 0x00, B: 0x12, A: 0xFF}

// RingDiameter is the outer diameter of the seal's ring as a share of the image's width; the rest
// is a transparent margin, so that the ring's anti-aliased edge is never cut off where the
// picture is scaled and drawn. Drawn 45 mm wide, the ring is the 42 mm of an official seal.
const RingDiameter = 42.0 / 45

// Limits of DrawImage's input.
const (
	MaxNameRunes   = 40
	MaxBottomRunes = 12
	defaultSizePx  = 400
)

var defaultFont = sync.OnceValues(func() (*sfnt.Font, error) { return sfnt.Parse(font.Default()) })

// DrawImage draws the picture of an official seal for name, as a PNG: a red circle with a ring
// border, name along the upper arc with each character upright towards the rim (spaced or
// condensed to fit its length), a five-pointed star in the centre, and opts.BottomText under the
// star. The background is transparent, the edges anti-aliased.
func DrawImage(name string, opts ImageOptions) ([]byte, error) {
	name = strings.TrimSpace(name)
	bottom := strings.TrimSpace(opts.BottomText)
	if err := checkText("name", name, MaxNameRunes); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, errors.New("seal: draw image: the name is empty")
	}
	if err := checkText("bottom text", bottom, MaxBottomRunes); err != nil {
		return nil, err
	}
	size := opts.SizePx
	if size == 0 {
		size = defaultSizePx
	}
	if size < 64 || size > 4096 {
		return nil, fmt.Errorf("seal: draw image: size %d px out of range 64–4096", size)
	}
	f, err := defaultFont()
	if opts.Font != nil {
		f, err = sfnt.Parse(opts.Font)
	}
	if err != nil {
		return nil, fmt.Errorf("seal: draw image: font: %w", err)
	}
	d, err := newDrawer(f, size)
	if err != nil {
		return nil, fmt.Errorf("seal: draw image: %w", err)
	}
	c := float64(size) / 2
	outer := c * RingDiameter
	// S is the unit of the proportions below: the width of a picture whose ring leaves 1.2 % on
	// each side, which is how they were drawn before the margin was widened.
	S := outer / 0.488

	// Ring: about 1.3 mm wide on a 42 mm seal.
	ring := S * 0.032
	d.circle(c, c, outer, false)
	d.circle(c, c, outer-ring, true)
	d.fill()

	// Star: about 14 mm across on a 42 mm seal, pointing up.
	d.star(c, c, S*0.165)
	d.fill()

	if err := d.arcText([]rune(name), c, outer-ring-S*0.035, S); err != nil {
		return nil, fmt.Errorf("seal: draw image: %w", err)
	}
	if bottom != "" {
		if err := d.lineText([]rune(bottom), c, c+S*0.275, S*0.085, 0.82*(outer-ring)); err != nil {
			return nil, fmt.Errorf("seal: draw image: %w", err)
		}
	}
	return d.png()
}

func checkText(what, s string, max int) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("seal: draw image: the %s is not valid UTF-8", what)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Errorf("seal: draw image: the %s has %d characters, more than %d", what, n, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("seal: draw image: the %s holds a control character", what)
		}
	}
	return nil
}

// drawer accumulates shapes into an alpha mask.
type drawer struct {
	f    *sfnt.Font
	buf  sfnt.Buffer
	upem float64
	// midY is the vertical centre of the ideographic em box below the baseline, in ems (negative:
	// above the baseline, as y increases down).
	midY float64
	z    *vector.Rasterizer
	mask *image.Alpha
}

func newDrawer(f *sfnt.Font, size int) (*drawer, error) {
	d := &drawer{f: f, upem: float64(f.UnitsPerEm()), z: vector.NewRasterizer(size, size), mask: image.NewAlpha(image.Rect(0, 0, size, size))}
	if d.upem <= 0 {
		return nil, errors.New("font has no units per em")
	}
	// Centre characters on the ink of 国, which fills the ideographic em box.
	gi, err := f.GlyphIndex(&d.buf, '国')
	if err != nil || gi == 0 {
		return nil, errors.New("font has no CJK ideographs")
	}
	b, _, err := f.GlyphBounds(&d.buf, gi, fixed.Int26_6(f.UnitsPerEm())<<6, 0)
	if err != nil {
		return nil, fmt.Errorf("font: %w", err)
	}
	d.midY = float64(b.Min.Y+b.Max.Y) / 2 / 64 / d.upem
	return d, nil
}

func (d *drawer) fill() {
	d.z.Draw(d.mask, d.mask.Bounds(), image.Opaque, image.Point{})
	d.z.Reset(d.mask.Rect.Dx(), d.mask.Rect.Dy())
}

// circle adds a closed circle of radius r, counter-clockwise when reverse (to cut a hole).
func (d *drawer) circle(cx, cy, r float64, reverse bool) {
	const n = 128 // cubic Bézier arcs of 2π/n are exact to well under a pixel
	k := 4.0 / 3 * math.Tan(math.Pi/(2*n))
	dir := 1.0
	if reverse {
		dir = -1
	}
	pt := func(a float64) (float64, float64) { return cx + r*math.Cos(a), cy + r*math.Sin(a) }
	x0, y0 := pt(0)
	d.z.MoveTo(float32(x0), float32(y0))
	for i := 0; i < n; i++ {
		a0, a1 := dir*2*math.Pi*float64(i)/n, dir*2*math.Pi*float64(i+1)/n
		x0, y0 := pt(a0)
		x1, y1 := pt(a1)
		d.z.CubeTo(
			float32(x0-dir*k*r*math.Sin(a0)), float32(y0+dir*k*r*math.Cos(a0)),
			float32(x1+dir*k*r*math.Sin(a1)), float32(y1-dir*k*r*math.Cos(a1)),
			float32(x1), float32(y1))
	}
	d.z.ClosePath()
}

// star adds a five-pointed star of outer radius r centred on (cx, cy), one point up.
func (d *drawer) star(cx, cy, r float64) {
	inner := r * math.Sin(math.Pi/10) / math.Sin(7*math.Pi/10) // regular star: ≈ 0.382 r
	for i := 0; i < 10; i++ {
		rr := r
		if i%2 == 1 {
			rr = inner
		}
		a := -math.Pi/2 + float64(i)*math.Pi/5
		x, y := float32(cx+rr*math.Cos(a)), float32(cy+rr*math.Sin(a))
		if i == 0 {
			d.z.MoveTo(x, y)
		} else {
			d.z.LineTo(x, y)
		}
	}
	d.z.ClosePath()
}

// glyph adds the outline of r, em pixels high, through tf, which maps a point relative to the
// centre of the character's em box (x right, y down, in pixels) to the image.
func (d *drawer) glyph(r rune, em float64, tf func(x, y float64) (float64, float64)) error {
	gi, err := d.f.GlyphIndex(&d.buf, r)
	if err != nil {
		return fmt.Errorf("font: %w", err)
	}
	if gi == 0 {
		if unicode.IsSpace(r) {
			return nil
		}
		return fmt.Errorf("the font has no glyph for %q", r)
	}
	ppem := fixed.Int26_6(d.f.UnitsPerEm()) << 6
	adv, err := d.f.GlyphAdvance(&d.buf, gi, ppem, 0)
	if err != nil {
		return fmt.Errorf("font: %w", err)
	}
	segs, err := d.f.LoadGlyph(&d.buf, gi, ppem, nil)
	if err != nil {
		return fmt.Errorf("font: glyph %q: %w", r, err)
	}
	scale := em / d.upem / 64
	ox, oy := float64(adv)/2, d.midY*d.upem*64
	p := func(q fixed.Point26_6) (float32, float32) {
		x, y := tf((float64(q.X)-ox)*scale, (float64(q.Y)-oy)*scale)
		return float32(x), float32(y)
	}
	for _, s := range segs {
		switch s.Op {
		case sfnt.SegmentOpMoveTo:
			x, y := p(s.Args[0])
			d.z.MoveTo(x, y)
		case sfnt.SegmentOpLineTo:
			x, y := p(s.Args[0])
			d.z.LineTo(x, y)
		case sfnt.SegmentOpQuadTo:
			x1, y1 := p(s.Args[0])
			x2, y2 := p(s.Args[1])
			d.z.QuadTo(x1, y1, x2, y2)
		case sfnt.SegmentOpCubeTo:
			x1, y1 := p(s.Args[0])
			x2, y2 := p(s.Args[1])
			x3, y3 := p(s.Args[2])
			d.z.CubeTo(x1, y1, x2, y2, x3, y3)
		}
	}
	d.z.ClosePath()
	return nil
}

// arcText sets text along the upper arc of the circle centred at (c, c) whose inner edge (the
// tops of the characters) is at radius top, the characters' size a share of size. The characters are upright towards the rim, centred
// on the top of the circle; short names are spread towards 150°, long ones condensed to fit
// 250° (290° for the longest) and, past that, made smaller.
func (d *drawer) arcText(text []rune, c, top, size float64) error {
	const (
		minSpan   = 150 * math.Pi / 180
		minWidth  = 0.62 // narrowest condensing of a character
		fill      = 0.88 // share of a character's arc covered by its ink
		emOfImage = 0.15 // character height relative to size
	)
	n := float64(len(text))
	// Up to 16 characters fit in 250°; longer names reach further down, to 290°.
	maxSpan := (250 + 40*min(1, max(0, n-16)/16)) * math.Pi / 180
	em := emOfImage * size
	var rt, step, sx float64
	for range 2 {
		rt = top - em/2 // radius of the characters' centres
		natural := em / rt
		step = max(natural, min(1.4*natural, minSpan/n))
		sx = 1.0
		if n*step > maxSpan {
			step = maxSpan / n
			sx = min(1, step*rt/(em*fill))
		}
		if sx >= minWidth {
			break
		}
		em *= sx / minWidth // too condensed: make the characters smaller instead
	}
	for i, r := range text {
		th := (float64(i) - (n-1)/2) * step
		sin, cos := math.Sin(th), math.Cos(th)
		px, py := c+rt*sin, c-rt*cos
		err := d.glyph(r, em, func(x, y float64) (float64, float64) {
			x *= sx
			return px + x*cos - y*sin, py + x*sin + y*cos
		})
		if err != nil {
			return err
		}
	}
	d.fill()
	return nil
}

// lineText sets text on a horizontal line centred at (cx, cy), em pixels high, condensed to at
// most width pixels.
func (d *drawer) lineText(text []rune, cx, cy, em, width float64) error {
	n := float64(len(text))
	advance := em * 1.08
	sx := 1.0
	if n*advance > width {
		sx = width / (n * advance)
	}
	for i, r := range text {
		px := cx + (float64(i)-(n-1)/2)*advance*sx
		err := d.glyph(r, em, func(x, y float64) (float64, float64) { return px + x*sx, cy + y })
		if err != nil {
			return err
		}
	}
	d.fill()
	return nil
}

// png encodes the mask in SealRed as a paletted PNG: one colour at 256 levels of opacity
// compresses far better than RGBA.
func (d *drawer) png() ([]byte, error) {
	pal := make(color.Palette, 256)
	for i := range pal {
		pal[i] = color.NRGBA{R: SealRed.R, G: SealRed.G, B: SealRed.B, A: uint8(i)}
	}
	img := &image.Paletted{Pix: d.mask.Pix, Stride: d.mask.Stride, Rect: d.mask.Rect, Palette: pal}
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("seal: draw image: %w", err)
	}
	return b.Bytes(), nil
}
