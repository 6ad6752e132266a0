package document

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/draw"
	"image/png"
	"slices"
	"sync"

	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/qrtoken"
)

// boundedCache is a map of at most n entries that forgets its oldest entry when full (first in,
// first out). The render caches hold data derived from immutable inputs (a licence version, a
// font, an image), cheap enough to derive again that recency tracking is not worth its cost.
// A cache with n ≤ 0 holds nothing. It is safe for concurrent use.
type boundedCache[K comparable, V any] struct {
	mu    sync.RWMutex
	n     int
	m     map[K]V
	order []K // insertion order, a ring of n keys
	next  int // where the next key goes in order
}

func newBoundedCache[K comparable, V any](n int) *boundedCache[K, V] {
	return &boundedCache[K, V]{n: n}
}

func (c *boundedCache[K, V]) get(k K) (V, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

// put stores v under k unless k is present already, and returns what the cache holds for k.
func (c *boundedCache[K, V]) put(k K, v V) V {
	if c.n <= 0 {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[k]; ok {
		return old
	}
	if c.m == nil {
		c.m = make(map[K]V, min(c.n, 1024))
		c.order = make([]K, c.n)
	}
	if len(c.m) >= c.n {
		delete(c.m, c.order[c.next])
	}
	c.m[k] = v
	c.order[c.next] = k
	c.next = (c.next + 1) % c.n
	return v
}

func (c *boundedCache[K, V]) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// The render caches. A render signs afresh (the seal's SES_Signature, the PDF signature), but
// much of what it writes depends only on the licence version, the font and the images: the QR
// code (its token is signed once per licence version and authority certificate), the font subset
// of a set of characters and its compressed form, the images and their hashes. These are derived
// once and kept, so that a render spends its time on the signature.
const (
	qrCacheSize     = 4096 // licence versions: ~2 KB each
	subsetCacheSize = 256  // font subsets per font: ~75 KB each (a licence's original and duplicate differ)
	// tokenCacheSize bounds the verified QR tokens VerifyToken keeps (~500 bytes each, parsed).
	tokenCacheSize = 1 << 15
)

// packed is the content of a package file prepared for the zip writer and the seal's reference
// list: its CRC-32 and SM3 and, when it is worth compressing, its raw deflate stream.
type packed struct {
	data     []byte
	deflated []byte // nil: stored as is
	crc      uint32
	sm3      [32]byte
}

// flatePool keeps deflate writers at the level per-render files are compressed with: each holds
// about a megabyte of state, too much to allocate for every file of every document.
var flatePool sync.Pool

// pack prepares data for the zip: compressed at level unless that is flate.NoCompression (the
// writers of flate.BestSpeed, the level renders use, are pooled).
func pack(data []byte, level int) *packed {
	p := &packed{data: data, crc: crc32.ChecksumIEEE(data), sm3: gm.SM3(data)}
	if level == flate.NoCompression {
		return p
	}
	var b bytes.Buffer
	b.Grow(len(data)/2 + 64)
	var fw *flate.Writer
	if level == flate.BestSpeed {
		fw, _ = flatePool.Get().(*flate.Writer)
	}
	if fw == nil {
		fw, _ = flate.NewWriter(&b, level) // the level is valid
	} else {
		fw.Reset(&b)
	}
	_, _ = fw.Write(data) // a bytes.Buffer does not fail
	_ = fw.Close()
	if level == flate.BestSpeed {
		flatePool.Put(fw)
	}
	if b.Len() < len(data) {
		p.deflated = b.Bytes()
	}
	return p
}

// fontSubset is a font subset for one set of characters: for the PDF writer its bytes, for the
// OFD package also its compressed form and hashes, made on first use.
type fontSubset struct {
	data []byte
	once sync.Once
	ofd  *packed
}

func (f *fontSubset) packed() *packed {
	f.once.Do(func() { f.ofd = pack(f.data, flate.BestSpeed) }) // a better level saves 7 % for twice the time
	return f.ofd
}

// subset returns the subset of the font for the runes (in any order, with repeats).
func (r *fontRes) subset(runes []rune) (*fontSubset, error) {
	rs := slices.Clone(runes)
	slices.Sort(rs)
	rs = slices.Compact(rs)
	key := string(rs)
	if v, ok := r.subsets.get(key); ok {
		return v, nil
	}
	data, err := r.font.Subset(rs)
	if err != nil {
		return nil, err
	}
	return r.subsets.put(key, &fontSubset{data: data}), nil
}

// emblemRes is the emblem image prepared for the writers: as given for the OFD package, and for
// the PDF without an alpha channel (laid on white, which is what the page under it is), because
// gopdf would otherwise split and recompress the alpha channel on every render; a PNG gopdf
// cannot read (interlaced, 16 bits per channel) is re-encoded too.
type emblemRes struct {
	format string // "PNG" or "JPG"
	ofd    *packed
	pdf    []byte
}

func newEmblemRes(b []byte) (*emblemRes, error) {
	e := &emblemRes{pdf: b}
	switch {
	case len(b) > 8 && string(b[:8]) == "\x89PNG\r\n\x1a\n":
		e.format = "PNG"
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("document: the emblem cannot be read: %w", err)
		}
		interlaced, deep := len(b) > 28 && b[28] != 0, len(b) > 24 && b[24] == 16 // IHDR
		if o, ok := img.(interface{ Opaque() bool }); !ok || !o.Opaque() || interlaced || deep {
			flat := image.NewRGBA(img.Bounds())
			draw.Draw(flat, flat.Rect, image.White, image.Point{}, draw.Src)
			draw.Draw(flat, flat.Rect, img, img.Bounds().Min, draw.Over)
			var out bytes.Buffer
			if err := png.Encode(&out, flat); err != nil {
				return nil, fmt.Errorf("document: emblem: %w", err)
			}
			e.pdf = out.Bytes()
		}
	case len(b) > 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		e.format = "JPG"
	default:
		return nil, errors.New("document: the emblem must be a PNG or JPEG image")
	}
	e.ofd = pack(b, flate.NoCompression) // already compressed
	return e, nil
}

// qrKey identifies a QR code: the token's claims and the address of the verification page.
type qrKey struct {
	permit                bool // a permit token (qrtoken.TypePermit), not a licence's
	identifier, code      string
	version               int
	issuedAt              int64
	authority, certSerial string
	publicURL             string
}

// qrEntry is the QR code of a licence version: the token, signed once by the registering
// authority, and its image (PNG) prepared for the OFD package.
type qrEntry struct {
	token string
	png   *packed
}

// qrFor returns the QR code of a licence or permit version, making it on first use: a token with
// claims c signed by the registering authority or issuing department (package qrtoken) in the
// URL of the public verification page, {publicURL}/v/{token}, drawn as a QR code.
func (s *Service) qrFor(ctx context.Context, c qrtoken.Claims, signer gm.Signer, publicURL string) (*qrEntry, error) {
	k := qrKey{permit: c.Type == qrtoken.TypePermit, identifier: c.Identifier, code: c.Code, version: c.Version, issuedAt: c.IssuedAt.Unix(),
		authority: c.AuthorityCode, certSerial: c.CertSerial, publicURL: publicURL}
	if v, ok := s.qrs.get(k); ok {
		return v, nil
	}
	tok, err := qrtoken.Encode(ctx, signer, c)
	if err != nil {
		return nil, fmt.Errorf("document: qr token: %w", err)
	}
	img, err := qrPNG(qrtoken.URL(publicURL, tok))
	if err != nil {
		return nil, err
	}
	return s.qrs.put(k, &qrEntry{token: tok, png: pack(img, flate.NoCompression)}), nil
}
