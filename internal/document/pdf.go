package document

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/digitorus/pdf"
	"github.com/digitorus/pdfsign/sign"
	"github.com/signintech/gopdf"
)

// mm → PDF points.
func pt(mm float64) float64 { return mm * 72 / 25.4 }

// renderPDF draws the layout with gopdf (the font embedded as a subset, so text extracts
// exactly), embeds the licence data as an attached file, and signs the whole file with the
// authority's document-signing key (PKCS #7 detached, a certification signature that permits
// no change), which ordinary PDF readers validate.
func (s *Service) renderPDF(ctx context.Context, r *rendering) ([]byte, error) {
	first := r.lay.Pages[0]
	doc := &gopdf.GoPdf{}
	doc.Start(gopdf.Config{PageSize: gopdf.Rect{W: pt(first.W), H: pt(first.H)}, Unit: gopdf.UnitPT})
	doc.SetCompressLevel(flate.BestSpeed) // the page contents: a few kilobytes of text operators
	// gopdf subsets fonts itself but keeps the original glyph numbering (a 49,000-glyph loca and
	// hmtx for a CJK font) and compresses at zlib's default level: handing it our own subset
	// first makes the PDF render several times faster and the file smaller.
	var used []rune
	for _, pg := range r.lay.Pages {
		for _, t := range pg.Texts {
			used = append(used, []rune(t.Text)...)
		}
	}
	sub, err := r.font.subset(used)
	if err != nil {
		return nil, err
	}
	if err := doc.AddTTFFontData(pdfFontFamily, sub.data); err != nil {
		return nil, fmt.Errorf("document: pdf font: %w", err)
	}
	if r.copy != nil {
		if err := doc.AddTTFFontData(pdfMarkFamily, r.copy.sub.data); err != nil {
			return nil, fmt.Errorf("document: pdf font: %w", err)
		}
	}
	// The images come from the render caches; gopdf copies them. Its compiled form of an image
	// is cheap for these: the emblem has no alpha channel (emblemRes), the QR code and the seal
	// are paletted, so gopdf passes their compressed data through.
	emblem := pdfImage("emblem", r.emblem.pdf)
	qr := pdfImage("qr", r.qr.png.data)
	stamp := pdfImage("seal", r.seal.picture)
	for i, pg := range r.lay.Pages {
		doc.AddPage()
		if r.copy != nil {
			if err := r.copy.pdfWatermark(doc); err != nil {
				return nil, err
			}
		}
		for _, b := range pg.Rects {
			doc.SetStrokeColor(b.Color[0], b.Color[1], b.Color[2])
			doc.SetLineWidth(pt(b.Line))
			doc.RectFromUpperLeftWithStyle(pt(b.X), pt(b.Y), pt(b.W), pt(b.H), "D")
		}
		for _, im := range pg.Images {
			h := emblem
			if im.Kind == imgQR {
				h = qr
			}
			if err := doc.ImageByHolder(h, pt(im.X), pt(im.Y), &gopdf.Rect{W: pt(im.W), H: pt(im.H)}); err != nil {
				return nil, fmt.Errorf("document: pdf image: %w", err)
			}
		}
		for _, t := range pg.Texts {
			if err := doc.SetFont(pdfFontFamily, "", pt(t.Size)); err != nil {
				return nil, fmt.Errorf("document: pdf font: %w", err)
			}
			_ = doc.SetCharSpacing(pt(t.Spacing))
			doc.SetTextColor(t.Color[0], t.Color[1], t.Color[2])
			doc.SetXY(pt(t.X), pt(t.Y))
			if err := doc.Text(t.Text); err != nil {
				return nil, fmt.Errorf("document: pdf text: %w", err)
			}
		}
		if i == 0 {
			if r.copy != nil {
				if err := r.copy.pdfFirstPage(doc, r); err != nil {
					return nil, err
				}
			}
			sb := r.stamp
			if err := doc.ImageByHolder(stamp, pt(sb.X), pt(sb.Y), &gopdf.Rect{W: pt(sb.W), H: pt(sb.H)}); err != nil {
				return nil, fmt.Errorf("document: pdf seal image: %w", err)
			}
		}
	}
	raw, err := doc.GetBytesPdfReturnErr()
	if err != nil {
		return nil, fmt.Errorf("document: pdf: %w", err)
	}
	info := pdfInfo{
		Title: r.meta.Title, Author: r.meta.Author,
		Subject: r.meta.Subject, Keywords: r.meta.Keywords, Producer: "elicense",
	}
	if r.copy != nil || r.lic == nil { // a licence's original keeps the information it always had
		info.Custom = r.meta.Custom
	}
	withData, err := appendAttachment(raw, r.payload.marshal(), info, r.at)
	if err != nil {
		return nil, err
	}
	ds, err := r.sealBy.pdf(ctx)
	if err != nil {
		return nil, fmt.Errorf("document: pdf signing key: %w", err)
	}
	rdr, err := pdf.NewReader(bytes.NewReader(withData), int64(len(withData)))
	if err != nil {
		return nil, fmt.Errorf("document: pdf: read back: %w", err)
	}
	var out bytes.Buffer
	out.Grow(len(withData) + 8192)
	err = sign.Sign(bytes.NewReader(withData), &out, rdr, int64(len(withData)), sign.SignData{
		Signature: sign.SignDataSignature{
			Info: sign.SignDataSignatureInfo{
				Name: pdfsignText(r.sealBy.name, ds.Cert.Subject.SerialNumber), Location: pdfsignText(r.sealBy.region, ""), Date: r.at,
				Reason: pdfsignText(r.meta.Reason, r.meta.ReasonASCII),
			},
			CertType:   sign.CertificationSignature,
			DocMDPPerm: sign.DoNotAllowAnyChangesPerms,
		},
		Signer:            ds.Signer,
		DigestAlgorithm:   crypto.SHA256,
		Certificate:       ds.Cert,
		CertificateChains: [][]*x509.Certificate{{ds.Cert, ds.Root}},
	})
	if err != nil {
		return nil, fmt.Errorf("document: pdf sign: %w", err)
	}
	return out.Bytes(), nil
}

// imageHolder hands gopdf an image with a fixed name, sparing it the MD5 that
// gopdf.ImageHolderByBytes computes to name the image.
type imageHolder struct {
	id string
	*bytes.Reader
}

func (h imageHolder) ID() string { return h.id }

func pdfImage(id string, b []byte) imageHolder { return imageHolder{id, bytes.NewReader(b)} }

// pdfInfo is the document information dictionary written with the attachment.
type pdfInfo struct {
	Title, Author, Subject, Keywords, Producer string
	// Custom entries (a copy's mark), each under its PDF name Key.
	Custom []customData
}

var (
	gopdfCatalog = []byte("1 0 obj\n<<\n  /Type /Catalog\n  /Pages 2 0 R\n>>\nendobj\n")
	reSize       = regexp.MustCompile(`/Size (\d+)`)
	reStartXref  = regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`)
)

// appendAttachment adds the licence data to the PDF gopdf wrote, as an incremental update: an
// embedded file (PDF 1.7 §7.11.4, associated with the document as /AF with relationship Data), a
// catalog naming it, and an information dictionary.
func appendAttachment(raw, data []byte, info pdfInfo, at interface{ Format(string) string }) ([]byte, error) {
	if !bytes.Contains(raw, gopdfCatalog) {
		return nil, errors.New("document: pdf: unexpected catalog from gopdf")
	}
	m := reStartXref.FindSubmatch(raw)
	sz := reSize.FindAllSubmatch(raw, -1)
	if m == nil || len(sz) == 0 {
		return nil, errors.New("document: pdf: no trailer from gopdf")
	}
	prev, _ := strconv.Atoi(string(m[1]))
	size, _ := strconv.Atoi(string(sz[len(sz)-1][1]))
	ef, fs, inf := size, size+1, size+2

	var b bytes.Buffer
	b.Grow(len(raw) + len(data) + 2048)
	b.Write(raw)
	if raw[len(raw)-1] != '\n' {
		b.WriteByte('\n')
	}
	offsets := map[int]int{}
	obj := func(n int, body string) {
		offsets[n] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", n, body)
	}
	obj(1, fmt.Sprintf("<<\n  /Type /Catalog\n  /Pages 2 0 R\n  /Names << /EmbeddedFiles << /Names [%s %d 0 R] >> >>\n  /AF [%d 0 R]\n>>",
		pdfText(payloadName), fs, fs))
	offsets[ef] = b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n<< /Type /EmbeddedFile /Subtype /application#2Fjson /Length %d >>\nstream\n", ef, len(data))
	b.Write(data)
	b.WriteString("\nendstream\nendobj\n")
	obj(fs, fmt.Sprintf("<< /Type /Filespec /F %s /UF %s /AFRelationship /Data /Desc %s /EF << /F %d 0 R >> >>",
		pdfText(payloadName), pdfText(payloadName), pdfText("登记机关签名的执照数据 (licence data signed by the registering authority, SM2)"), ef))
	date := "D:" + at.Format("20060102150405") + "Z"
	var custom strings.Builder
	for _, c := range info.Custom {
		fmt.Fprintf(&custom, " /%s %s", c.Key, pdfText(c.Value))
	}
	obj(inf, fmt.Sprintf("<< /Title %s /Author %s /Subject %s /Keywords %s /Creator %s /Producer %s /CreationDate (%s) /ModDate (%s)%s >>",
		pdfText(info.Title), pdfText(info.Author), pdfText(info.Subject), pdfText(info.Keywords), pdfText("elicense"), pdfText(info.Producer), date, date, custom.String()))
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 1\n0000000000 65535 f \n1 1\n%010d 00000 n \n%d 3\n%010d 00000 n \n%010d 00000 n \n%010d 00000 n \n",
		offsets[1], ef, offsets[ef], offsets[fs], offsets[inf])
	fmt.Fprintf(&b, "trailer\n<<\n  /Size %d\n  /Root 1 0 R\n  /Info %d 0 R\n  /Prev %d\n>>\nstartxref\n%d\n%%%%EOF\n", inf+1, inf, prev, xref)
	return b.Bytes(), nil
}

// pdfsignText returns s when package pdfsign writes it correctly, else fallback: pdfsign writes
// non-ASCII text as UTF-16BE in a literal string without escaping, so a character one of whose
// two bytes is '(', ')', '\\' or CR (用 is U+7528) would break or garble the signature dictionary.
func pdfsignText(s, fallback string) string {
	if !slices.ContainsFunc([]rune(s), func(r rune) bool { return r >= 0x80 }) {
		return s // ASCII: pdfsign escapes it
	}
	for _, u := range utf16.Encode([]rune(s)) {
		for _, b := range [2]byte{byte(u >> 8), byte(u)} {
			if b == '(' || b == ')' || b == '\\' || b == '\r' {
				return strings.Map(func(r rune) rune { // the fallback must be ASCII
					if r >= 0x80 {
						return '?'
					}
					return r
				}, fallback)
			}
		}
	}
	return s
}

// pdfText encodes s as a PDF text string: UTF-16BE with a byte-order mark, in hex.
func pdfText(s string) string {
	u := utf16.Encode([]rune(s))
	buf := make([]byte, 2+2*len(u))
	buf[0], buf[1] = 0xFE, 0xFF
	for i, c := range u {
		buf[2+2*i], buf[3+2*i] = byte(c>>8), byte(c)
	}
	return "<" + hex.EncodeToString(buf) + ">"
}
