package document

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"math/rand/v2"
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
)

// TestQREncode checks the encoder (qrcode.go) with a decoder written for the test, which reads
// a symbol's format information, unmasks it, reads the codewords in placement order,
// de-interleaves the blocks, checks each block's Reed–Solomon codewords and decodes the
// segments. The decoder is first shown to read go-qrcode's symbols (an independent encoder,
// which also uses numeric and alphanumeric segments) for the same contents, so the two agree on
// the standard; then the encoder's symbols must decode to their content, with the smallest
// version that fits and the mask of lowest penalty.
func TestQREncode(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var contents []string
	for n := 1; n <= 2331; n += 1 + n/6 { // 2331 bytes: the most version 40 holds at level M
		var b strings.Builder
		for range n {
			b.WriteByte(b64[rng.IntN(len(b64))])
		}
		contents = append(contents, b.String(), testPublicURL+"/v/"+b.String())
	}
	contents = append(contents, "https://elicense.example.cn/v/AQEBwFIttw8xAO4y8jgoQeZSLbcPMQ", "0123456789", "HELLO WORLD 12345", "电子营业执照", strings.Repeat("9", 300))
	// A real licence URL.
	e := newEnv(t)
	l := e.issue(t, companyReg(t, "MA2AB3CD"))
	tok, err := e.docs.Token(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	contents = append(contents, testPublicURL+"/v/"+tok)

	versions := map[int]bool{}
	for _, c := range contents {
		ref, err := qrcode.New(c, qrcode.Medium)
		if err != nil {
			t.Fatal(err)
		}
		ref.DisableBorder = true
		if got, err := decodeQR(ref.Bitmap()); err != nil || got != c {
			t.Fatalf("the test decoder reads go-qrcode's symbol for %.40q… as %.40q… (%v)", c, got, err)
		}
		q, err := qrEncode([]byte(c))
		if err != nil {
			t.Fatal(err)
		}
		versions[q.version] = true
		if got, err := decodeQR(q.bitmap()); err != nil || got != c {
			t.Fatalf("%.40q… (version %d, mask %d) decodes as %.40q… (%v)", c, q.version, q.mask, got, err)
		}
		// The smallest version for one byte-mode segment.
		lenBits := 8
		if q.version-1 >= 10 {
			lenBits = 16
		}
		if q.version > 1 && 4+lenBits+8*len(c) <= 8*qrDataCodewords(q.version-1) {
			t.Errorf("%.40q…: version %d, but %d fits", c, q.version, q.version-1)
		}
		// The mask chosen has the lowest penalty.
		for m := 0; m < 8; m++ {
			s := *q
			s.dark = append([]bool(nil), q.dark...)
			s.fn = append([]bool(nil), q.fn...)
			s.applyMask(q.mask)
			s.applyMask(m)
			s.drawFormat(m)
			if p, want := s.penalty(), penaltyRef(&s); p != want {
				t.Fatalf("%.40q…: mask %d: penalty %d, the straightforward count says %d", c, m, p, want)
			}
			if s.penalty() < q.penalty() {
				t.Errorf("%.40q…: mask %d scores lower than the chosen %d", c, m, q.mask)
			}
		}
		// go-qrcode packs runs of digits and capitals tighter; for mixed-case text such as a
		// token URL, byte mode costs at most one version.
		if strings.ContainsAny(c, "abcdefghijklmnopqrstuvwxyz") && q.version > ref.VersionNumber+1 {
			t.Errorf("%.40q…: version %d, go-qrcode %d", c, q.version, ref.VersionNumber)
		}
	}
	t.Logf("%d contents, versions %v", len(contents), versions)
	if !versions[1] || !versions[40] || len(versions) < 20 {
		t.Errorf("only %d versions exercised", len(versions))
	}
	if _, err := qrEncode(bytes.Repeat([]byte("x"), 2400)); err == nil {
		t.Error("content beyond version 40 was encoded")
	}

	// qrPNG draws the symbol with a two-module quiet zone, qrModulePx pixels a module.
	url := testPublicURL + "/v/" + tok
	b, err := qrPNG(url)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	q, _ := qrEncode([]byte(url))
	if want := (q.size + 4) * qrModulePx; img.Bounds().Dx() != want {
		t.Fatalf("image %v, want %d px", img.Bounds(), want)
	}
	bm := make([][]bool, q.size)
	for y := range bm {
		bm[y] = make([]bool, q.size)
		for x := range bm[y] {
			r, _, _, _ := img.At((x+2)*qrModulePx+qrModulePx/2, (y+2)*qrModulePx+qrModulePx/2).RGBA()
			bm[y][x] = r < 0x8000
		}
	}
	if got, err := decodeQR(bm); err != nil || got != url {
		t.Errorf("the PNG decodes as %q (%v)", got, err)
	}
}

// qrMasked reports whether mask m inverts the module at (x, y): the formulas of the standard,
// module by module (the encoder fills whole rows, qrMaskPattern).
func qrMasked(m, x, y int) bool {
	switch m {
	case 0:
		return (x+y)%2 == 0
	case 1:
		return y%2 == 0
	case 2:
		return x%3 == 0
	case 3:
		return (x+y)%3 == 0
	case 4:
		return (x/3+y/2)%2 == 0
	case 5:
		return x*y%2+x*y%3 == 0
	case 6:
		return (x*y%2+x*y%3)%2 == 0
	default:
		return ((x+y)%2+x*y%3)%2 == 0
	}
}

// applyMask inverts the data modules that mask m selects (applying it twice undoes it).
func (q *qrSymbol) applyMask(m int) {
	for y := 0; y < q.size; y++ {
		for x := 0; x < q.size; x++ {
			if i := y*q.size + x; !q.fn[i] && qrMasked(m, x, y) {
				q.dark[i] = !q.dark[i]
			}
		}
	}
}

// penaltyRef is the mask penalty of ISO/IEC 18004 §7.8.3 counted the plain way, to check the
// encoder's branch-free count.
func penaltyRef(q *qrSymbol) int {
	n := q.size
	at := func(x, y int, rows bool) bool {
		if rows {
			return q.dark[y*n+x]
		}
		return q.dark[x*n+y]
	}
	score, dark := 0, 0
	for _, rows := range []bool{true, false} {
		for y := 0; y < n; y++ {
			for x := 0; x < n; {
				end := x
				for end < n && at(end, y, rows) == at(x, y, rows) {
					end++
				}
				if end-x >= 5 {
					score += 3 + end - x - 5
				}
				x = end
			}
			for x := 0; x+7 <= n; x++ {
				if !(at(x, y, rows) && !at(x+1, y, rows) && at(x+2, y, rows) && at(x+3, y, rows) && at(x+4, y, rows) &&
					!at(x+5, y, rows) && at(x+6, y, rows)) {
					continue
				}
				for _, side := range [][2]int{{x - 4, x - 1}, {x + 7, x + 10}} {
					light := true
					for i := side[0]; i <= side[1]; i++ {
						if i >= 0 && i < n && at(i, y, rows) {
							light = false
						}
					}
					if light {
						score += 40
					}
				}
			}
		}
	}
	for y := 0; y+1 < n; y++ {
		for x := 0; x+1 < n; x++ {
			c := q.dark[y*n+x]
			if q.dark[y*n+x+1] == c && q.dark[(y+1)*n+x] == c && q.dark[(y+1)*n+x+1] == c {
				score += 3
			}
		}
	}
	for _, c := range q.dark {
		if c {
			dark++
		}
	}
	// Rule 4: 10 points for each full 5 % by which the share of dark modules departs from 45–55 %.
	k := 0
	for pct := float64(dark) * 100 / float64(n*n); pct < 45-5*float64(k) || pct > 55+5*float64(k); {
		k++
	}
	return score + 10*k
}

func (q *qrSymbol) bitmap() [][]bool {
	bm := make([][]bool, q.size)
	for y := range bm {
		bm[y] = q.dark[y*q.size : (y+1)*q.size]
	}
	return bm
}

// decodeQR reads a QR code symbol (no quiet zone) at level M.
func decodeQR(bm [][]bool) (string, error) {
	size := len(bm)
	if size < 21 || (size-17)%4 != 0 {
		return "", fmt.Errorf("size %d", size)
	}
	ver := (size - 17) / 4
	// Format information, first copy: around the top-left finder.
	var bits int
	for i, p := range [][2]int{{8, 0}, {8, 1}, {8, 2}, {8, 3}, {8, 4}, {8, 5}, {8, 7}, {8, 8}, {7, 8}, {5, 8}, {4, 8}, {3, 8}, {2, 8}, {1, 8}, {0, 8}} {
		if bm[p[1]][p[0]] {
			bits |= 1 << i
		}
	}
	mask := -1
	for m := 0; m < 8; m++ {
		if qrFormatBits(m) == bits {
			mask = m
		}
	}
	if mask < 0 {
		return "", fmt.Errorf("format information %015b is not level M", bits)
	}
	// The data modules: everything that is not a function pattern, unmasked, in placement order.
	fn := newQRSymbol(ver).fn
	var stream []byte
	var cur byte
	n := 0
	for right := size - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		for vert := 0; vert < size; vert++ {
			for j := 0; j < 2; j++ {
				x := right - j
				y := vert
				if (right+1)&2 == 0 {
					y = size - 1 - vert
				}
				if fn[y*size+x] {
					continue
				}
				bit := bm[y][x] != qrMasked(mask, x, y)
				cur <<= 1
				if bit {
					cur |= 1
				}
				if n++; n%8 == 0 {
					stream = append(stream, cur)
				}
			}
		}
	}
	// De-interleave: data codewords block by block, then the error correction codewords.
	nBlocks, ecc := qrBlocks[ver], qrECCPerBlock[ver]
	raw := qrRawModules(ver) / 8
	if len(stream) != raw {
		return "", fmt.Errorf("%d codewords, want %d", len(stream), raw)
	}
	nShort := nBlocks - raw%nBlocks
	shortData := raw/nBlocks - ecc
	blocks := make([][]byte, nBlocks)
	k := 0
	for i := 0; i <= shortData; i++ {
		for j := range blocks {
			if i < shortData || j >= nShort {
				blocks[j] = append(blocks[j], stream[k])
				k++
			}
		}
	}
	eccs := make([][]byte, nBlocks)
	for i := 0; i < ecc; i++ {
		for j := range eccs {
			eccs[j] = append(eccs[j], stream[k])
			k++
		}
	}
	var data []byte
	div := rsDivisor(ecc)
	for j, b := range blocks {
		if !bytes.Equal(rsRemainder(b, div), eccs[j]) {
			return "", errors.New("a block's error correction codewords are wrong")
		}
		data = append(data, b...)
	}
	// Segments.
	pos := 0
	read := func(n int) int {
		v := 0
		for i := 0; i < n; i++ {
			v <<= 1
			if pos < len(data)*8 && data[pos>>3]>>(7-pos&7)&1 != 0 {
				v |= 1
			}
			pos++
		}
		return v
	}
	group := 0
	if ver >= 10 {
		group = 1
	}
	if ver >= 27 {
		group = 2
	}
	var out strings.Builder
	const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	for pos+4 <= len(data)*8 {
		switch mode := read(4); mode {
		case 0:
			return out.String(), nil
		case 1: // numeric
			count := read([]int{10, 12, 14}[group])
			for ; count >= 3; count -= 3 {
				fmt.Fprintf(&out, "%03d", read(10))
			}
			switch count {
			case 2:
				fmt.Fprintf(&out, "%02d", read(7))
			case 1:
				fmt.Fprintf(&out, "%d", read(4))
			}
		case 2: // alphanumeric
			count := read([]int{9, 11, 13}[group])
			for ; count >= 2; count -= 2 {
				v := read(11)
				out.WriteByte(alnum[v/45])
				out.WriteByte(alnum[v%45])
			}
			if count == 1 {
				out.WriteByte(alnum[read(6)])
			}
		case 4: // byte
			count := read([]int{8, 16, 16}[group])
			for range count {
				out.WriteByte(byte(read(8)))
			}
		default:
			return "", fmt.Errorf("mode %04b", mode)
		}
	}
	return out.String(), nil
}
