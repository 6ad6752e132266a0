package document

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
)

// placeholderEmblem draws the neutral mark shown where the licence has the national emblem until
// the operator supplies the real image (Config.Emblem): a gold ring around a stylised document
// (a page with a folded corner and text lines). It deliberately resembles no national symbol.
func placeholderEmblem() []byte {
	const size = 240
	const ss = 4 // supersampling per axis
	gold := color.NRGBA{R: 176, G: 141, B: 87, A: 255}
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	c := float64(size) / 2
	inside := func(x, y float64) bool {
		dx, dy := x-c, y-c
		r := math.Hypot(dx, dy)
		if r <= 118 && r >= 108 || r <= 102 && r >= 99 { // outer ring, thin inner ring
			return true
		}
		// The page: 70 × 92 with its top-right corner folded (a 20 px triangle).
		px, py := x-(c-35), y-(c-46)
		if px >= 0 && px <= 70 && py >= 0 && py <= 92 {
			if px+(20-py) > 70 && py < 20 { // cut corner
				return px-50 >= 0 && py <= 20 && px-50 <= py // the fold itself
			}
			border := px < 4 || px > 66 || py < 4 || py > 88 || (px > 46 && py < 24 && py > 20) || (px > 46 && px < 50 && py < 24)
			if border {
				return true
			}
			for _, ly := range []float64{34, 46, 58, 70} { // text lines
				if py >= ly && py <= ly+4 && px >= 12 && px <= 58 {
					return true
				}
			}
		}
		return false
	}
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			n := 0
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					if inside(float64(x)+(float64(sx)+0.5)/ss, float64(y)+(float64(sy)+0.5)/ss) {
						n++
					}
				}
			}
			if n > 0 {
				cl := gold
				cl.A = uint8(255 * n / (ss * ss))
				img.SetNRGBA(x, y, cl)
			}
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img) // encoding an in-memory image cannot fail
	return b.Bytes()
}
