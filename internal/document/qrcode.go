package document

import (
	"errors"
)

// A QR code encoder (ISO/IEC 18004:2015) for what the licence QR holds: one byte-mode segment at
// error correction level M, the smallest version that fits, and the mask with the lowest
// penalty. It replaces go-qrcode on the render path, where encoding the QR code was a third of a
// first render's time (go-qrcode allocates per polynomial step and redraws the symbol for each
// of the eight masks): this one draws the function patterns once, computes Reed–Solomon with
// log tables and scores each mask in place. go-qrcode remains the reference the tests compare
// against (qrcode_test.go decodes the symbols of both).

// qrECCPerBlock and qrBlocks are the error correction codewords per block and the number of
// blocks of each version (index 1–40) at level M.
var (
	qrECCPerBlock = [41]int{0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
		26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28}
	qrBlocks = [41]int{0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
		17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49}
)

// qrFormatM is the two-bit code of error correction level M in the format information.
const qrFormatM = 0

// qrRawModules is the number of modules of a version that carry data and error correction
// (everything but the function patterns and the format and version information).
func qrRawModules(ver int) int {
	n := (16*ver+128)*ver + 64
	if ver >= 2 {
		align := ver/7 + 2
		n -= (25*align-10)*align - 55
		if ver >= 7 {
			n -= 36
		}
	}
	return n
}

// qrDataCodewords is the number of data codewords of a version at level M.
func qrDataCodewords(ver int) int {
	return qrRawModules(ver)/8 - qrECCPerBlock[ver]*qrBlocks[ver]
}

// qrAlignment returns the centres (on both axes) of a version's alignment patterns.
func qrAlignment(ver int) []int {
	if ver == 1 {
		return nil
	}
	n := ver/7 + 2
	size := 17 + 4*ver
	step := 26
	if ver != 32 {
		step = (ver*4 + n*2 + 1) / (n*2 - 2) * 2
	}
	pos := make([]int, n)
	pos[0] = 6
	for i, p := n-1, size-7; i >= 1; i, p = i-1, p-step {
		pos[i] = p
	}
	return pos
}

// GF(256) with the QR code's polynomial x⁸ + x⁴ + x³ + x² + 1.
var gfExp, gfLog = func() (exp [512]byte, log [256]byte) {
	x := 1
	for i := 0; i < 255; i++ {
		exp[i] = byte(x)
		log[x] = byte(i)
		x <<= 1
		if x&0x100 != 0 {
			x ^= 0x11D
		}
	}
	for i := 255; i < 512; i++ {
		exp[i] = exp[i-255]
	}
	return exp, log
}()

func gfMul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return gfExp[int(gfLog[a])+int(gfLog[b])]
}

// rsDivisor returns the generator polynomial of degree n, (x − α⁰)…(x − αⁿ⁻¹), without its
// leading 1, highest power first.
func rsDivisor(n int) []byte {
	d := make([]byte, n)
	d[n-1] = 1
	root := byte(1)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			d[j] = gfMul(d[j], root)
			if j+1 < n {
				d[j] ^= d[j+1]
			}
		}
		root = gfMul(root, 2)
	}
	return d
}

// rsRemainder returns the error correction codewords of data for the divisor.
func rsRemainder(data, divisor []byte) []byte {
	r := make([]byte, len(divisor))
	for _, b := range data {
		f := b ^ r[0]
		copy(r, r[1:])
		r[len(r)-1] = 0
		if f == 0 {
			continue
		}
		lf := int(gfLog[f])
		for i, c := range divisor {
			if c != 0 {
				r[i] ^= gfExp[lf+int(gfLog[c])]
			}
		}
	}
	return r
}

// qrSymbol is a QR code: size × size modules, row by row, true for dark.
type qrSymbol struct {
	size    int
	version int
	mask    int
	dark    []bool
	fn      []bool // function modules (not data)
}

func (q *qrSymbol) set(x, y int, dark bool) {
	q.dark[y*q.size+x] = dark
	q.fn[y*q.size+x] = true
}

// qrEncode encodes data as a QR code in byte mode at level M.
func qrEncode(data []byte) (*qrSymbol, error) {
	ver := 0
	for v := 1; v <= 40; v++ {
		lenBits := 8
		if v >= 10 {
			lenBits = 16
		}
		if 4+lenBits+8*len(data) <= 8*qrDataCodewords(v) {
			ver = v
			break
		}
	}
	if ver == 0 {
		return nil, errors.New("document: qr: content too long for a QR code")
	}
	// The bit stream: mode, count, the bytes, a terminator, then padding.
	capacity := qrDataCodewords(ver)
	bits := make([]byte, 0, capacity)
	var acc uint64
	var nacc int
	put := func(v uint64, n int) {
		acc, nacc = acc<<n|v, nacc+n
		for nacc >= 8 {
			bits = append(bits, byte(acc>>(nacc-8)))
			nacc -= 8
		}
	}
	put(0b0100, 4)
	if ver >= 10 {
		put(uint64(len(data)), 16)
	} else {
		put(uint64(len(data)), 8)
	}
	for _, b := range data {
		put(uint64(b), 8)
	}
	if room := capacity*8 - (len(bits)*8 + nacc); room > 0 {
		put(0, min(4, room))
	}
	if nacc > 0 {
		put(0, 8-nacc)
	}
	for pad := byte(0xEC); len(bits) < capacity; pad ^= 0xEC ^ 0x11 {
		bits = append(bits, pad)
	}

	// Blocks with their error correction, interleaved.
	nBlocks, ecc := qrBlocks[ver], qrECCPerBlock[ver]
	raw := qrRawModules(ver) / 8
	nShort := nBlocks - raw%nBlocks
	shortLen := raw / nBlocks // data + ecc of a short block
	div := rsDivisor(ecc)
	blocks := make([][]byte, nBlocks)
	for i, k := 0, 0; i < nBlocks; i++ {
		n := shortLen - ecc
		if i >= nShort {
			n++
		}
		blocks[i] = append(bits[k:k+n:k+n], rsRemainder(bits[k:k+n], div)...)
		k += n
	}
	stream := make([]byte, 0, raw)
	for i := 0; i <= shortLen; i++ {
		for j, b := range blocks {
			// Short blocks have no data codeword at index shortLen − ecc.
			di := i
			if j < nShort {
				if i == shortLen-ecc {
					continue
				}
				if i > shortLen-ecc {
					di = i - 1
				}
			}
			if di < len(b) {
				stream = append(stream, b[di])
			}
		}
	}

	q := newQRSymbol(ver)
	q.place(stream)
	base := append([]bool(nil), q.dark...)
	pattern := make([]bool, len(base))
	best, bestScore := 0, -1
	for m := 0; m < 8; m++ {
		q.maskWith(base, m, pattern)
		if s := q.penalty(); bestScore < 0 || s < bestScore {
			best, bestScore = m, s
		}
	}
	q.maskWith(base, best, pattern)
	q.mask = best
	return q, nil
}

// maskWith sets the symbol to the unmasked modules base with mask m applied and its format
// information drawn; pattern is scratch space of the symbol's size.
func (q *qrSymbol) maskWith(base []bool, m int, pattern []bool) {
	qrMaskPattern(m, q.size, pattern)
	for i, b := range base {
		q.dark[i] = b != (pattern[i] && !q.fn[i])
	}
	q.drawFormat(m)
}

// newQRSymbol draws the function patterns of a version (format information reserved).
func newQRSymbol(ver int) *qrSymbol {
	size := 17 + 4*ver
	q := &qrSymbol{size: size, version: ver, dark: make([]bool, size*size), fn: make([]bool, size*size)}
	for i := 0; i < size; i++ { // timing patterns
		q.set(6, i, i%2 == 0)
		q.set(i, 6, i%2 == 0)
	}
	for _, c := range [][2]int{{3, 3}, {size - 4, 3}, {3, size - 4}} { // finders with separators
		for dy := -4; dy <= 4; dy++ {
			for dx := -4; dx <= 4; dx++ {
				x, y := c[0]+dx, c[1]+dy
				if x >= 0 && x < size && y >= 0 && y < size {
					d := max(abs(dx), abs(dy))
					q.set(x, y, d != 2 && d != 4)
				}
			}
		}
	}
	al := qrAlignment(ver)
	for i, ay := range al {
		for j, ax := range al {
			if i == 0 && j == 0 || i == 0 && j == len(al)-1 || i == len(al)-1 && j == 0 {
				continue // on a finder
			}
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					q.set(ax+dx, ay+dy, max(abs(dx), abs(dy)) != 1)
				}
			}
		}
	}
	q.drawFormat(0) // reserves the format areas and the dark module
	if ver >= 7 {
		rem := ver
		for i := 0; i < 12; i++ {
			rem = rem<<1 ^ (rem>>11)*0x1F25
		}
		v := ver<<12 | rem
		for i := 0; i < 18; i++ {
			bit := v>>i&1 != 0
			a, b := size-11+i%3, i/3
			q.set(a, b, bit)
			q.set(b, a, bit)
		}
	}
	return q
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// qrFormatBits is the 15-bit format information for level M and a mask.
func qrFormatBits(mask int) int {
	d := qrFormatM<<3 | mask
	rem := d
	for i := 0; i < 10; i++ {
		rem = rem<<1 ^ (rem>>9)*0x537
	}
	return (d<<10 | rem) ^ 0x5412
}

// drawFormat writes the format information for a mask (both copies) and the dark module.
func (q *qrSymbol) drawFormat(mask int) {
	bits, size := qrFormatBits(mask), q.size
	bit := func(i int) bool { return bits>>i&1 != 0 }
	for i := 0; i <= 5; i++ {
		q.set(8, i, bit(i))
	}
	q.set(8, 7, bit(6))
	q.set(8, 8, bit(7))
	q.set(7, 8, bit(8))
	for i := 9; i < 15; i++ {
		q.set(14-i, 8, bit(i))
	}
	for i := 0; i < 8; i++ {
		q.set(size-1-i, 8, bit(i))
	}
	for i := 8; i < 15; i++ {
		q.set(8, size-15+i, bit(i))
	}
	q.set(8, size-8, true)
}

// place writes the codewords in the zigzag order of the standard, two columns at a time from
// the right, skipping the vertical timing pattern.
func (q *qrSymbol) place(stream []byte) {
	size, i := q.size, 0
	for right := size - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		up := (right+1)&2 == 0
		for vert := 0; vert < size; vert++ {
			y := vert
			if up {
				y = size - 1 - vert
			}
			for j := 0; j < 2; j++ {
				x := right - j
				if q.fn[y*size+x] {
					continue
				}
				if i < len(stream)*8 {
					q.dark[y*size+x] = stream[i>>3]>>(7-i&7)&1 != 0
					i++
				}
			}
		}
	}
}

// qrMaskPattern fills p (size × size, row by row) with the modules mask m inverts (ISO/IEC
// 18004 table 10), a row at a time.
func qrMaskPattern(m, size int, p []bool) {
	for y := 0; y < size; y++ {
		row := p[y*size : (y+1)*size]
		switch m {
		case 0:
			for x := range row {
				row[x] = (x+y)%2 == 0
			}
		case 1:
			for x := range row {
				row[x] = y%2 == 0
			}
		case 2:
			for x := range row {
				row[x] = x%3 == 0
			}
		case 3:
			for x := range row {
				row[x] = (x+y)%3 == 0
			}
		case 4:
			for x := range row {
				row[x] = (x/3+y/2)%2 == 0
			}
		case 5:
			for x := range row {
				row[x] = x*y%2+x*y%3 == 0
			}
		case 6:
			for x := range row {
				row[x] = (x*y%2+x*y%3)%2 == 0
			}
		default:
			for x := range row {
				row[x] = ((x+y)%2+x*y%3)%2 == 0
			}
		}
	}
}

// penalty scores the symbol by the four rules of the standard (§7.8.3): runs of five or more
// modules of one colour, 2 × 2 blocks of one colour, finder-like 1:1:3:1:1 patterns with four
// light modules on a side, and the departure of the share of dark modules from half. The loops
// are written without data-dependent branches where they can be: the modules are random, so
// such branches would mostly be mispredicted.
func (q *qrSymbol) penalty() int {
	size, d := q.size, q.dark
	score, darkCount := 0, 0
	line := make([]bool, size)
	for y := 0; y < size; y++ {
		row := d[y*size : (y+1)*size]
		score += qrLinePenalty(row)
		for _, c := range row {
			darkCount += b2i(c)
		}
	}
	for x := 0; x < size; x++ {
		for y := range line {
			line[y] = d[y*size+x]
		}
		score += qrLinePenalty(line)
	}
	for y := 0; y < size-1; y++ {
		r0, r1 := d[y*size:(y+1)*size], d[(y+1)*size:(y+2)*size]
		for x := 0; x < size-1; x++ {
			v := b2i(r0[x]) + b2i(r0[x+1]) + b2i(r1[x]) + b2i(r1[x+1])
			score += 3 * b2i(v&3 == 0) // all four light (0) or all dark (4)
		}
	}
	total := size * size
	k := (abs(darkCount*20-total*10)+total-1)/total - 1
	return score + 10*k
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// qrLinePenalty scores one row or column by rules 1 and 3.
func qrLinePenalty(l []bool) int {
	n := len(l)
	if n == 0 {
		return 0
	}
	score, run := 0, 1
	window := b2i(l[0]) // the last seven modules, newest in bit 0
	for x := 1; x < n; x++ {
		// Rule 1: a run of five scores 3, each further module of the run 1.
		run = run*b2i(l[x] == l[x-1]) + 1
		score += 3*b2i(run == 5) + b2i(run > 5)
		// Rule 3: dark-light-dark-dark-dark-light-dark ends here.
		window = (window<<1 | b2i(l[x])) & 0x7F
		if window == 0b1011101 {
			if qrLight(l, x-10, x-7) {
				score += 40
			}
			if qrLight(l, x+1, x+4) {
				score += 40
			}
		}
	}
	return score
}

// qrLight reports whether modules from to to of a line are light (outside the symbol counts as
// light).
func qrLight(l []bool, from, to int) bool {
	for i := max(from, 0); i <= min(to, len(l)-1); i++ {
		if l[i] {
			return false
		}
	}
	return true
}
