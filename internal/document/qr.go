package document

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/qrtoken"
)

// qrImage makes the licence QR code: a token signed by the registering authority (package
// qrtoken) in the URL of the public verification page, {publicURL}/v/{token}.
func (s *Service) qrImage(ctx context.Context, l *license.Licence, signer gm.Signer, certSerial, publicURL string) ([]byte, error) {
	tok, err := licenceToken(ctx, l, signer, certSerial)
	if err != nil {
		return nil, err
	}
	return qrPNG(qrtoken.URL(publicURL, tok))
}

// licenceToken is the QR token of licence version l, signed by its authority's current key.
func licenceToken(ctx context.Context, l *license.Licence, signer gm.Signer, certSerial string) (string, error) {
	tok, err := qrtoken.Encode(ctx, signer, qrtoken.Claims{
		Type: qrtoken.TypeLicence, Identifier: l.Identifier, Code: l.Code, Version: l.Version,
		IssuedAt: l.IssuedAt.UTC().Truncate(1e9), AuthorityCode: l.AuthorityCode, CertSerial: certSerial,
	})
	if err != nil {
		return "", fmt.Errorf("document: qr token: %w", err)
	}
	return tok, nil
}

// Token returns the QR token of licence version l (what its documents' QR codes carry, in the
// URL {publicURL}/v/{token}), signed now by the registering authority.
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

// qrPNG draws content as a QR code (error correction M) with a two-module quiet zone, as a
// 1-bit PNG.
func qrPNG(content string) ([]byte, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("document: qr: %w", err)
	}
	q.DisableBorder = true
	bm := q.Bitmap()
	const quiet = 2
	n := len(bm) + 2*quiet
	img := image.NewPaletted(image.Rect(0, 0, n*qrModulePx, n*qrModulePx), color.Palette{color.White, color.Black})
	for y, row := range bm {
		for x, dark := range row {
			if !dark {
				continue
			}
			for dy := 0; dy < qrModulePx; dy++ {
				off := img.PixOffset((x+quiet)*qrModulePx, (y+quiet)*qrModulePx+dy)
				for dx := 0; dx < qrModulePx; dx++ {
					img.Pix[off+dx] = 1
				}
			}
		}
	}
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("document: qr: %w", err)
	}
	return b.Bytes(), nil
}
