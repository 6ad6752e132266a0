package document

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
)

// Font is a parsed TrueType font: the metrics the layout measures text with, and the glyph data
// the OFD writer subsets. It is read-only after parsing and safe for concurrent use.
type Font struct {
	data      []byte
	tables    map[string][]byte
	upem      float64
	ascent    float64 // hhea ascender, in em
	descent   float64 // hhea descender (negative), in em
	numGlyphs int
	advance   []uint16 // per glyph, font units
	lsb       []int16  // per glyph, font units
	bmp       []uint16 // rune → glyph for the Basic Multilingual Plane (0: none)
	astral    map[rune]uint16
	loca      []uint32 // glyph offsets into glyf, numGlyphs+1 entries
	name      string   // family name, from the name table
}

var errFont = errors.New("document: font is not a TrueType font this renderer can use")

// ParseFont parses a TrueType font (glyf outlines; CFF fonts are refused).
func ParseFont(b []byte) (*Font, error) {
	if len(b) < 12 {
		return nil, errFont
	}
	switch binary.BigEndian.Uint32(b) {
	case 0x00010000, 0x74727565: // TrueType, 'true'
	default:
		return nil, fmt.Errorf("%w (sfnt version %#x)", errFont, binary.BigEndian.Uint32(b))
	}
	n := int(binary.BigEndian.Uint16(b[4:]))
	if len(b) < 12+16*n {
		return nil, errFont
	}
	f := &Font{data: b, tables: make(map[string][]byte, n)}
	for i := 0; i < n; i++ {
		rec := b[12+16*i:]
		tag := string(rec[:4])
		off, ln := binary.BigEndian.Uint32(rec[8:]), binary.BigEndian.Uint32(rec[12:])
		if uint64(off)+uint64(ln) > uint64(len(b)) {
			return nil, fmt.Errorf("%w: table %q out of bounds", errFont, tag)
		}
		f.tables[tag] = b[off : off+ln]
	}
	for _, t := range []string{"head", "hhea", "maxp", "hmtx", "cmap", "loca", "glyf"} {
		if _, ok := f.tables[t]; !ok {
			return nil, fmt.Errorf("%w: no %q table", errFont, t)
		}
	}
	head, hhea, maxp := f.tables["head"], f.tables["hhea"], f.tables["maxp"]
	if len(head) < 54 || len(hhea) < 36 || len(maxp) < 6 {
		return nil, fmt.Errorf("%w: short head/hhea/maxp", errFont)
	}
	f.upem = float64(binary.BigEndian.Uint16(head[18:]))
	if f.upem == 0 {
		return nil, fmt.Errorf("%w: unitsPerEm is 0", errFont)
	}
	longLoca := binary.BigEndian.Uint16(head[50:]) == 1
	f.ascent = float64(int16(binary.BigEndian.Uint16(hhea[4:]))) / f.upem
	f.descent = float64(int16(binary.BigEndian.Uint16(hhea[6:]))) / f.upem
	nh := int(binary.BigEndian.Uint16(hhea[34:]))
	f.numGlyphs = int(binary.BigEndian.Uint16(maxp[4:]))
	if nh == 0 || nh > f.numGlyphs {
		return nil, fmt.Errorf("%w: bad numberOfHMetrics", errFont)
	}
	hmtx := f.tables["hmtx"]
	if len(hmtx) < 4*nh+2*(f.numGlyphs-nh) {
		return nil, fmt.Errorf("%w: short hmtx", errFont)
	}
	f.advance = make([]uint16, f.numGlyphs)
	f.lsb = make([]int16, f.numGlyphs)
	for g := 0; g < f.numGlyphs; g++ {
		if g < nh {
			f.advance[g] = binary.BigEndian.Uint16(hmtx[4*g:])
			f.lsb[g] = int16(binary.BigEndian.Uint16(hmtx[4*g+2:]))
		} else {
			f.advance[g] = f.advance[nh-1]
			f.lsb[g] = int16(binary.BigEndian.Uint16(hmtx[4*nh+2*(g-nh):]))
		}
	}
	loca := f.tables["loca"]
	f.loca = make([]uint32, f.numGlyphs+1)
	for g := 0; g <= f.numGlyphs; g++ {
		if longLoca {
			if len(loca) < 4*(g+1) {
				return nil, fmt.Errorf("%w: short loca", errFont)
			}
			f.loca[g] = binary.BigEndian.Uint32(loca[4*g:])
		} else {
			if len(loca) < 2*(g+1) {
				return nil, fmt.Errorf("%w: short loca", errFont)
			}
			f.loca[g] = 2 * uint32(binary.BigEndian.Uint16(loca[2*g:]))
		}
		if f.loca[g] > uint32(len(f.tables["glyf"])) || (g > 0 && f.loca[g] < f.loca[g-1]) {
			return nil, fmt.Errorf("%w: bad loca entry %d", errFont, g)
		}
	}
	if err := f.parseCmap(); err != nil {
		return nil, err
	}
	f.name = f.familyName()
	if f.name == "" {
		f.name = "Embedded"
	}
	return f, nil
}

func (f *Font) parseCmap() error {
	cmap := f.tables["cmap"]
	if len(cmap) < 4 {
		return fmt.Errorf("%w: short cmap", errFont)
	}
	n := int(binary.BigEndian.Uint16(cmap[2:]))
	var fmt4, fmt12 []byte
	for i := 0; i < n && 4+8*i+8 <= len(cmap); i++ {
		rec := cmap[4+8*i:]
		pid, eid, off := binary.BigEndian.Uint16(rec), binary.BigEndian.Uint16(rec[2:]), binary.BigEndian.Uint32(rec[4:])
		if int(off)+4 > len(cmap) {
			continue
		}
		sub := cmap[off:]
		switch format := binary.BigEndian.Uint16(sub); {
		case format == 12 && (pid == 3 && eid == 10 || pid == 0):
			fmt12 = sub
		case format == 4 && (pid == 3 && eid == 1 || pid == 0):
			fmt4 = sub
		}
	}
	f.bmp = make([]uint16, 0x10000)
	f.astral = map[rune]uint16{}
	switch {
	case fmt12 != nil:
		if len(fmt12) < 16 {
			return fmt.Errorf("%w: short cmap format 12", errFont)
		}
		groups := int(binary.BigEndian.Uint32(fmt12[12:]))
		if groups > (len(fmt12)-16)/12 {
			return fmt.Errorf("%w: short cmap format 12", errFont)
		}
		for i := 0; i < groups; i++ {
			g := fmt12[16+12*i:]
			start, end, gid := binary.BigEndian.Uint32(g), binary.BigEndian.Uint32(g[4:]), binary.BigEndian.Uint32(g[8:])
			if end < start || end > 0x10FFFF || end-start > 0x10FFFF {
				continue
			}
			for c := start; c <= end; c++ {
				f.setGlyph(rune(c), gid+(c-start))
			}
		}
	case fmt4 != nil:
		if len(fmt4) < 14 {
			return fmt.Errorf("%w: short cmap format 4", errFont)
		}
		segs := int(binary.BigEndian.Uint16(fmt4[6:])) / 2
		if len(fmt4) < 16+8*segs {
			return fmt.Errorf("%w: short cmap format 4", errFont)
		}
		ends, starts := fmt4[14:], fmt4[16+2*segs:]
		deltas, ranges := fmt4[16+4*segs:], fmt4[16+6*segs:]
		for i := 0; i < segs; i++ {
			end, start := binary.BigEndian.Uint16(ends[2*i:]), binary.BigEndian.Uint16(starts[2*i:])
			delta, ro := binary.BigEndian.Uint16(deltas[2*i:]), binary.BigEndian.Uint16(ranges[2*i:])
			for c := uint32(start); c <= uint32(end) && c != 0xFFFF; c++ {
				var gid uint16
				if ro == 0 {
					gid = uint16(c) + delta
				} else {
					p := 16 + 6*segs + 2*i + int(ro) + 2*int(c-uint32(start))
					if p+2 > len(fmt4) {
						continue
					}
					if gid = binary.BigEndian.Uint16(fmt4[p:]); gid != 0 {
						gid += delta
					}
				}
				f.setGlyph(rune(c), uint32(gid))
			}
		}
	default:
		return fmt.Errorf("%w: no Unicode cmap", errFont)
	}
	return nil
}

func (f *Font) setGlyph(r rune, gid uint32) {
	if gid == 0 || gid >= uint32(f.numGlyphs) {
		return
	}
	if r < 0x10000 {
		f.bmp[r] = uint16(gid)
	} else {
		f.astral[r] = uint16(gid)
	}
}

// familyName returns the family name (name ID 1) from the name table, preferring the English
// Windows record.
func (f *Font) familyName() string {
	t := f.tables["name"]
	if len(t) < 6 {
		return ""
	}
	count, strOff := int(binary.BigEndian.Uint16(t[2:])), int(binary.BigEndian.Uint16(t[4:]))
	best := ""
	for i := 0; i < count && 6+12*i+12 <= len(t); i++ {
		r := t[6+12*i:]
		pid, eid, lang, nid := binary.BigEndian.Uint16(r), binary.BigEndian.Uint16(r[2:]), binary.BigEndian.Uint16(r[4:]), binary.BigEndian.Uint16(r[6:])
		ln, off := int(binary.BigEndian.Uint16(r[8:])), int(binary.BigEndian.Uint16(r[10:]))
		if nid != 1 || strOff+off+ln > len(t) {
			continue
		}
		s := t[strOff+off : strOff+off+ln]
		if pid == 3 && eid == 1 && ln%2 == 0 {
			u := make([]rune, 0, ln/2)
			for j := 0; j+1 < len(s); j += 2 {
				u = append(u, rune(binary.BigEndian.Uint16(s[j:])))
			}
			if lang == 0x409 || best == "" {
				best = string(u)
			}
		} else if pid == 1 && eid == 0 && best == "" {
			best = string(s)
		}
	}
	return best
}

// Name returns the family name of the font.
func (f *Font) Name() string { return f.name }

// glyph returns the glyph of r, 0 when the font has none.
func (f *Font) glyph(r rune) uint16 {
	if r >= 0 && r < 0x10000 {
		return f.bmp[r]
	}
	return f.astral[r]
}

// Has reports whether the font has a glyph for r.
func (f *Font) Has(r rune) bool { return f.glyph(r) != 0 }

// Advance returns the advance width of r in em (the .notdef glyph's for a missing rune).
func (f *Font) Advance(r rune) float64 { return float64(f.advance[f.glyph(r)]) / f.upem }

// Width returns the advance width of s in em.
func (f *Font) Width(s string) float64 {
	w := 0.0
	for _, r := range s {
		w += f.Advance(r)
	}
	return w
}

// Subset returns a TrueType font holding only the glyphs of the given runes (and the glyphs their
// composite glyphs use), renumbered, with a cmap for exactly those runes. Hinting tables are
// kept; the result is a valid font for readers that load embedded fonts.
func (f *Font) Subset(runes []rune) ([]byte, error) {
	glyf := f.tables["glyf"]
	old := []uint16{0}
	newID := map[uint16]uint16{0: 0}
	add := func(g uint16) {
		if _, ok := newID[g]; !ok {
			newID[g] = uint16(len(old))
			old = append(old, g)
		}
	}
	rs := slices.Clone(runes)
	slices.Sort(rs)
	rs = slices.Compact(rs)
	cmap := make([][2]uint32, 0, len(rs)) // rune, old glyph
	for _, r := range rs {
		if g := f.glyph(r); g != 0 {
			add(g)
			cmap = append(cmap, [2]uint32{uint32(r), uint32(g)})
		}
	}
	// Composite glyphs name their components; take those too (transitively: old grows).
	for i := 0; i < len(old); i++ {
		gd := glyf[f.loca[old[i]]:f.loca[old[i]+1]]
		if len(gd) < 10 || int16(binary.BigEndian.Uint16(gd)) >= 0 {
			continue
		}
		if err := walkComponents(gd, func(pos int) { add(binary.BigEndian.Uint16(gd[pos:])) }); err != nil {
			return nil, err
		}
		if len(old) > 0xFFFF {
			return nil, errors.New("document: font subset has too many glyphs")
		}
	}
	// glyf and loca (long offsets).
	var newGlyf []byte
	loca := make([]byte, 4*(len(old)+1))
	for i, g := range old {
		binary.BigEndian.PutUint32(loca[4*i:], uint32(len(newGlyf)))
		gd := glyf[f.loca[g]:f.loca[g+1]]
		start := len(newGlyf)
		newGlyf = append(newGlyf, gd...)
		if len(gd) >= 10 && int16(binary.BigEndian.Uint16(gd)) < 0 {
			cp := newGlyf[start:]
			_ = walkComponents(cp, func(pos int) {
				binary.BigEndian.PutUint16(cp[pos:], newID[binary.BigEndian.Uint16(cp[pos:])])
			})
		}
		for len(newGlyf)%4 != 0 {
			newGlyf = append(newGlyf, 0)
		}
	}
	binary.BigEndian.PutUint32(loca[4*len(old):], uint32(len(newGlyf)))
	hmtx := make([]byte, 4*len(old))
	for i, g := range old {
		binary.BigEndian.PutUint16(hmtx[4*i:], f.advance[g])
		binary.BigEndian.PutUint16(hmtx[4*i+2:], uint16(f.lsb[g]))
	}
	head := slices.Clone(f.tables["head"])
	binary.BigEndian.PutUint32(head[8:], 0)  // checkSumAdjustment, set below
	binary.BigEndian.PutUint16(head[50:], 1) // indexToLocFormat: long
	hhea := slices.Clone(f.tables["hhea"])
	binary.BigEndian.PutUint16(hhea[34:], uint16(len(old)))
	maxp := slices.Clone(f.tables["maxp"])
	binary.BigEndian.PutUint16(maxp[4:], uint16(len(old)))
	for i := range cmap {
		cmap[i][1] = uint32(newID[uint16(cmap[i][1])])
	}
	tables := map[string][]byte{
		"head": head, "hhea": hhea, "maxp": maxp, "hmtx": hmtx, "loca": loca, "glyf": newGlyf,
		"cmap": buildCmap(cmap),
	}
	if post := f.tables["post"]; len(post) >= 32 {
		p := slices.Clone(post[:32])
		binary.BigEndian.PutUint32(p, 0x00030000) // no glyph names
		tables["post"] = p
	}
	for _, t := range []string{"OS/2", "name", "cvt ", "fpgm", "prep", "gasp"} {
		if b, ok := f.tables[t]; ok {
			tables[t] = b
		}
	}
	return writeSfnt(tables), nil
}

// walkComponents calls fn with the offset of each component's glyph index in a composite glyph.
func walkComponents(gd []byte, fn func(pos int)) error {
	const (
		argsAreWords  = 0x0001
		haveScale     = 0x0008
		moreComps     = 0x0020
		haveXYScale   = 0x0040
		have2x2       = 0x0080
		maxComponents = 1024
	)
	p := 10
	for n := 0; n < maxComponents; n++ {
		if p+4 > len(gd) {
			return errors.New("document: font: truncated composite glyph")
		}
		flags := binary.BigEndian.Uint16(gd[p:])
		fn(p + 2)
		p += 4
		if flags&argsAreWords != 0 {
			p += 4
		} else {
			p += 2
		}
		switch {
		case flags&haveScale != 0:
			p += 2
		case flags&haveXYScale != 0:
			p += 4
		case flags&have2x2 != 0:
			p += 8
		}
		if flags&moreComps == 0 {
			return nil
		}
	}
	return errors.New("document: font: composite glyph with too many components")
}

// buildCmap writes a cmap with a (3,1) format 4 subtable for the BMP runes and, when there are
// others, a (3,10) format 12 subtable for all. pairs are (rune, glyph), sorted by rune.
func buildCmap(pairs [][2]uint32) []byte {
	type seg struct{ start, end, delta uint32 }
	var segs []seg
	for _, p := range pairs {
		if p[0] >= 0xFFFF {
			continue
		}
		if n := len(segs); n > 0 && segs[n-1].end+1 == p[0] && (p[1]-p[0])&0xFFFF == segs[n-1].delta {
			segs[n-1].end = p[0]
			continue
		}
		segs = append(segs, seg{p[0], p[0], (p[1] - p[0]) & 0xFFFF})
	}
	segs = append(segs, seg{0xFFFF, 0xFFFF, 1})
	n := len(segs)
	f4 := make([]byte, 16+8*n)
	binary.BigEndian.PutUint16(f4, 4)
	binary.BigEndian.PutUint16(f4[2:], uint16(len(f4)))
	binary.BigEndian.PutUint16(f4[6:], uint16(2*n))
	sr := 1
	for sr*2 <= n {
		sr *= 2
	}
	entry := 0
	for (1 << (entry + 1)) <= n {
		entry++
	}
	binary.BigEndian.PutUint16(f4[8:], uint16(2*sr))
	binary.BigEndian.PutUint16(f4[10:], uint16(entry))
	binary.BigEndian.PutUint16(f4[12:], uint16(2*n-2*sr))
	for i, s := range segs {
		binary.BigEndian.PutUint16(f4[14+2*i:], uint16(s.end))
		binary.BigEndian.PutUint16(f4[16+2*n+2*i:], uint16(s.start))
		binary.BigEndian.PutUint16(f4[16+4*n+2*i:], uint16(s.delta))
		// idRangeOffset stays 0.
	}
	subs := [][]byte{f4}
	ids := [][2]uint16{{3, 1}}
	if len(pairs) > 0 && pairs[len(pairs)-1][0] >= 0x10000 {
		var groups [][3]uint32
		for _, p := range pairs {
			if k := len(groups); k > 0 && groups[k-1][1]+1 == p[0] && groups[k-1][2]+(p[0]-groups[k-1][0]) == p[1] {
				groups[k-1][1] = p[0]
				continue
			}
			groups = append(groups, [3]uint32{p[0], p[0], p[1]})
		}
		f12 := make([]byte, 16+12*len(groups))
		binary.BigEndian.PutUint16(f12, 12)
		binary.BigEndian.PutUint32(f12[4:], uint32(len(f12)))
		binary.BigEndian.PutUint32(f12[12:], uint32(len(groups)))
		for i, g := range groups {
			binary.BigEndian.PutUint32(f12[16+12*i:], g[0])
			binary.BigEndian.PutUint32(f12[20+12*i:], g[1])
			binary.BigEndian.PutUint32(f12[24+12*i:], g[2])
		}
		subs = append(subs, f12)
		ids = append(ids, [2]uint16{3, 10})
	}
	out := make([]byte, 4+8*len(subs))
	binary.BigEndian.PutUint16(out[2:], uint16(len(subs)))
	off := len(out)
	for i, s := range subs {
		binary.BigEndian.PutUint16(out[4+8*i:], ids[i][0])
		binary.BigEndian.PutUint16(out[6+8*i:], ids[i][1])
		binary.BigEndian.PutUint32(out[8+8*i:], uint32(off))
		off += len(s)
	}
	for _, s := range subs {
		out = append(out, s...)
	}
	return out
}

// writeSfnt assembles tables into a TrueType file with checksums and head.checkSumAdjustment.
func writeSfnt(tables map[string][]byte) []byte {
	tags := make([]string, 0, len(tables))
	for t := range tables {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	n := len(tags)
	size := 12 + 16*n
	for _, t := range tags {
		size += (len(tables[t]) + 3) &^ 3
	}
	out := make([]byte, 12+16*n, size)
	binary.BigEndian.PutUint32(out, 0x00010000)
	binary.BigEndian.PutUint16(out[4:], uint16(n))
	sr, entry := 1, 0
	for sr*2 <= n {
		sr *= 2
		entry++
	}
	binary.BigEndian.PutUint16(out[6:], uint16(16*sr))
	binary.BigEndian.PutUint16(out[8:], uint16(entry))
	binary.BigEndian.PutUint16(out[10:], uint16(16*n-16*sr))
	headOff := 0
	for i, t := range tags {
		b := tables[t]
		off := len(out)
		if t == "head" {
			headOff = off
		}
		out = append(out, b...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
		rec := out[12+16*i:]
		copy(rec, t)
		binary.BigEndian.PutUint32(rec[4:], checksum(out[off:len(out)]))
		binary.BigEndian.PutUint32(rec[8:], uint32(off))
		binary.BigEndian.PutUint32(rec[12:], uint32(len(b)))
	}
	binary.BigEndian.PutUint32(out[headOff+8:], 0xB1B0AFBA-checksum(out))
	return out
}

func checksum(b []byte) uint32 {
	var s uint32
	for i := 0; i+4 <= len(b); i += 4 {
		s += binary.BigEndian.Uint32(b[i:])
	}
	if r := len(b) % 4; r != 0 {
		var last [4]byte
		copy(last[:], b[len(b)-r:])
		s += binary.BigEndian.Uint32(last[:])
	}
	return s
}
