package document

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sync"

	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/qrtoken"
)

// licenceClaims are the claims of the QR token of licence version l, signed by its authority's
// certificate with serial certSerial.
func licenceClaims(l *license.Licence, certSerial string) qrtoken.Claims {
	return qrtoken.Claims{
		Type: qrtoken.TypeLicence, Identifier: l.Identifier, Code: l.Code, Version: l.Version,
		IssuedAt: l.IssuedAt.UTC().Truncate(1e9), AuthorityCode: l.AuthorityCode, CertSerial: certSerial,
	}
}

// licenceToken is the QR token of licence version l, signed by its authority's current key.
func licenceToken(ctx context.Context, l *license.Licence, signer gm.Signer, certSerial string) (string, error) {
	tok, err := qrtoken.Encode(ctx, signer, licenceClaims(l, certSerial))
	if err != nil {
		return "", fmt.Errorf("document: qr token: %w", err)
	}
	return tok, nil
}

// Token returns a QR token of licence version l (what its documents' QR codes carry, in the URL
// {publicURL}/v/{token}), signed now by the registering authority. SM2 signatures are
// randomised, so each call gives another token with the same claims; each verifies. (The
// documents of a version share one token, made on its first render: see qrFor.)
func (s *Service) Token(ctx context.Context, l *license.Licence) (string, error) {
	a, signer, err := s.keys.AuthoritySigner(ctx, l.AuthorityCode)
	if err != nil {
		return "", fmt.Errorf("document: authority of %s: %w", l.Code, err)
	}
	return licenceToken(ctx, l, signer, a.Serial)
}

// qrModulePx is the size of one QR module in the image: readers scale the image to the printed
// size, so a few pixels per module keep the edges sharp at any zoom without interpolation blur.
const qrModulePx = 4

// qrPNG draws content as a QR code (error correction M, qrcode.go) with a two-module quiet zone,
// as a 1-bit paletted PNG (white, black), qrModulePx pixels a module. The PNG is written here
// rather than by image/png, which reads a 1-bit image pixel by pixel through an interface.
func qrPNG(content string) ([]byte, error) {
	q, err := qrEncode([]byte(content))
	if err != nil {
		return nil, err
	}
	const quiet = 2
	w := (q.size + 2*quiet) * qrModulePx
	stride := 1 + (w+7)/8 // filter byte, then the pixels, most significant bit first
	raw := make([]byte, stride*w)
	for y := 0; y < q.size; y++ {
		first := (y + quiet) * qrModulePx
		row := raw[first*stride : (first+1)*stride]
		for x := 0; x < q.size; x++ {
			if q.dark[y*q.size+x] {
				for px := (x + quiet) * qrModulePx; px < (x+quiet+1)*qrModulePx; px++ {
					row[1+px/8] |= 0x80 >> (px % 8)
				}
			}
		}
		for i := 1; i < qrModulePx; i++ { // the module's other pixel rows are the same
			copy(raw[(first+i)*stride:(first+i+1)*stride], row)
		}
	}
	var z bytes.Buffer
	zw, _ := zlibPool.Get().(*zlib.Writer)
	if zw == nil {
		zw, _ = zlib.NewWriterLevel(&z, zlib.BestSpeed) // the level is valid
	} else {
		zw.Reset(&z)
	}
	_, _ = zw.Write(raw) // a bytes.Buffer does not fail
	_ = zw.Close()
	zlibPool.Put(zw)

	var b bytes.Buffer
	b.Grow(z.Len() + 80)
	b.WriteString("\x89PNG\r\n\x1a\n")
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(w))
	ihdr[8], ihdr[9] = 1, 3 // bit depth 1, colour type 3 (palette); compression, filter, interlace 0
	pngChunk(&b, "IHDR", ihdr[:])
	pngChunk(&b, "PLTE", []byte{0xFF, 0xFF, 0xFF, 0, 0, 0})
	pngChunk(&b, "IDAT", z.Bytes())
	pngChunk(&b, "IEND", nil)
	return b.Bytes(), nil
}

// zlibPool keeps zlib writers for qrPNG: each holds about a megabyte of state.
var zlibPool sync.Pool

// pngChunk writes a PNG chunk: length, type, data, CRC-32 of type and data.
func pngChunk(b *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	b.Write(n[:])
	start := b.Len()
	b.WriteString(typ)
	b.Write(data)
	binary.BigEndian.PutUint32(n[:], crc32.ChecksumIEEE(b.Bytes()[start:]))
	b.Write(n[:])
}
