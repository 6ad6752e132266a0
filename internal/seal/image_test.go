package seal

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/image/font/gofont/goregular"
)

// Set SEAL_SAMPLES=dir to write the drawn seals there, to look at them.
func TestDrawImage(t *testing.T) {
	cases := []struct{ name, bottom string }{
		{"杭州市西湖区市场监督管理局", "登记专用章"},
		{"国家市场监督管理总局", ""},
		{"测试局", ""},
		{"内蒙古自治区呼和浩特市赛罕区市场监督管理局登记注册分局", ""},
	}
	for i, c := range cases {
		b, err := DrawImage(c.name, ImageOptions{BottomText: c.bottom})
		if err != nil {
			t.Fatal(err)
		}
		if dir := os.Getenv("SEAL_SAMPLES"); dir != "" {
			if err := os.WriteFile(filepath.Join(dir, "seal-"+strconv.Itoa(i)+".png"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if len(b) > 40<<10 {
			t.Errorf("%s: %d bytes, want ≤ 40 KiB", c.name, len(b))
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds() != image.Rect(0, 0, 400, 400) {
			t.Errorf("bounds %v", img.Bounds())
		}
		nrgba := func(x, y int) color.NRGBA { return color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA) }
		// Transparent outside the ring and between star and ring; solid seal red on the ring
		// (left and right, clear of the text) and in the star's centre.
		for _, p := range []image.Point{{0, 0}, {399, 399}, {200, 270}, {120, 200}} {
			if a := nrgba(p.X, p.Y).A; a != 0 {
				t.Errorf("%s: pixel %v has alpha %d, want transparent", c.name, p, a)
			}
		}
		for _, p := range []image.Point{{200, 200}, {19, 200}, {380, 200}, {200, 380}} {
			if got := nrgba(p.X, p.Y); got != SealRed {
				t.Errorf("%s: pixel %v is %v, want %v", c.name, p, got, SealRed)
			}
		}
		// A clear margin all round: the ring (42 of 45 mm) stays off the image's edges, so it
		// is not cut off where the picture is scaled.
		share := RingDiameter
		margin := int(200 * (1 - share)) // 13 px
		for i := 0; i < 400; i++ {
			for d := 0; d < margin-1; d++ {
				for _, p := range []image.Point{{i, d}, {i, 399 - d}, {d, i}, {399 - d, i}} {
					if a := nrgba(p.X, p.Y).A; a != 0 {
						t.Fatalf("%s: pixel %v in the margin has alpha %d", c.name, p, a)
					}
				}
			}
		}
		// The name is drawn: ink along the upper arc.
		ink := 0
		for x := 0; x < 400; x++ {
			for y := 25; y < 120; y++ {
				if nrgba(x, y).A > 128 {
					ink++
				}
			}
		}
		if ink < 2000 {
			t.Errorf("%s: %d inked pixels in the upper band, the name seems missing", c.name, ink)
		}
		t.Logf("%s: %d bytes", c.name, len(b))
	}
	// Other sizes.
	for _, px := range []int{64, 1200} {
		b, err := DrawImage("某某市市场监督管理局", ImageOptions{SizePx: px})
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil || cfg.Width != px || cfg.Height != px {
			t.Errorf("size %d: %+v %v", px, cfg, err)
		}
	}
}

func TestDrawImageRejects(t *testing.T) {
	for name, c := range map[string]struct {
		name string
		opts ImageOptions
		want string
	}{
		"empty name":    {" ", ImageOptions{}, "empty"},
		"long name":     {strings.Repeat("局", MaxNameRunes+1), ImageOptions{}, "more than"},
		"control":       {"某某\n局", ImageOptions{}, "control"},
		"bad UTF-8":     {"\xff", ImageOptions{}, "UTF-8"},
		"long bottom":   {"某某局", ImageOptions{BottomText: strings.Repeat("章", MaxBottomRunes+1)}, "more than"},
		"tiny":          {"某某局", ImageOptions{SizePx: 10}, "out of range"},
		"huge":          {"某某局", ImageOptions{SizePx: 10000}, "out of range"},
		"not a font":    {"某某局", ImageOptions{Font: []byte("not a font")}, "font"},
		"font, no CJK":  {"某某局", ImageOptions{Font: goregular.TTF}, "no CJK"},
		"missing glyph": {"某某局\U0001F600", ImageOptions{}, "no glyph"},
	} {
		_, err := DrawImage(c.name, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", name, err, c.want)
		}
	}
}

func BenchmarkDrawImage(b *testing.B) {
	for b.Loop() {
		if _, err := DrawImage("杭州市西湖区市场监督管理局", ImageOptions{BottomText: "登记专用章"}); err != nil {
			b.Fatal(err)
		}
	}
}
