package document

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/seal"
)

// OFD package paths (GB/T 33190-2016 §7). The verifier accepts any paths the XML names; these
// are what the renderer writes.
const (
	ofdNS            = "http://www.ofdspec.org/2016"
	ofdXMLPath       = "OFD.xml"
	docPath          = "Doc_0/Document.xml"
	publicResPath    = "Doc_0/PublicRes.xml"
	documentResPath  = "Doc_0/DocumentRes.xml"
	attachmentsPath  = "Doc_0/Attachs/Attachments.xml"
	payloadPath      = "Doc_0/Attachs/" + payloadName
	signaturesPath   = "Doc_0/Signs/Signatures.xml"
	signaturePath    = "Doc_0/Signs/Sign_0/Signature.xml"
	signedValuePath  = "Doc_0/Signs/Sign_0/SignedValue.dat"
	fontFileName     = "font_1.ttf"
	qrFileName       = "qr.png"
	oidSM3           = "1.2.156.10197.1.401"
	oidSM2WithSM3    = "1.2.156.10197.1.501"
	ofdProviderName  = "elicense"
	ofdSignatureType = "Seal"
)

// Resource IDs (ST_ID) shared by the pages.
const (
	idFont   = 1
	idEmblem = 2
	idQR     = 3
	idFirst  = 10 // page and object IDs start here
)

// ofdEntry is one file of the package.
type ofdEntry struct {
	name string
	*packed
}

// xmlEntry is a file written for this render, compressed quickly; files under a kilobyte are
// stored, because deflate's per-file cost (Huffman tables) buys them a few hundred bytes at most.
func xmlEntry(name string, data []byte) ofdEntry {
	level := flate.BestSpeed
	if len(data) < 1024 {
		level = flate.NoCompression
	}
	return ofdEntry{name, pack(data, level)}
}

// num formats a length in mm with at most three decimals.
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 3, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" || s == "" {
		return "0"
	}
	return s
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}

const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// renderOFD writes the layout as an OFD package and seals it: every file but OFD.xml, the
// signature list and the signature outputs is listed with its SM3 hash in Signature.xml, and
// SignedValue.dat is the authority's (for a copy, the platform's) SES_Signature (GB/T 38540) over SM3(Signature.xml), with a
// StampAnnot over the date on the first page.
func (s *Service) renderOFD(ctx context.Context, r *rendering) ([]byte, error) {
	f := r.font.font
	nextID := idFirst
	id := func() int { nextID++; return nextID }

	// Pages.
	var used []rune
	pages := make([][]byte, len(r.lay.Pages))
	pageIDs := make([]int, len(r.lay.Pages))
	for i, pg := range r.lay.Pages {
		pageIDs[i] = id()
		var b strings.Builder
		b.Grow(4096)
		b.WriteString(xmlHeader)
		fmt.Fprintf(&b, `<ofd:Page xmlns:ofd="%s"><ofd:Content><ofd:Layer ID="%d">`, ofdNS, id())
		if r.copy != nil {
			r.copy.ofdWatermark(&b, r, id)
		}
		for _, rc := range pg.Rects {
			h := rc.Line / 2
			fmt.Fprintf(&b, `<ofd:PathObject ID="%d" Boundary="%s %s %s %s" LineWidth="%s" Stroke="true" Fill="false">`+
				`<ofd:StrokeColor Value="%d %d %d"/><ofd:AbbreviatedData>M %s %s L %s %s L %s %s L %s %s C</ofd:AbbreviatedData></ofd:PathObject>`,
				id(), num(rc.X-h), num(rc.Y-h), num(rc.W+rc.Line), num(rc.H+rc.Line), num(rc.Line),
				rc.Color[0], rc.Color[1], rc.Color[2],
				num(h), num(h), num(rc.W+h), num(h), num(rc.W+h), num(rc.H+h), num(h), num(rc.H+h))
		}
		for _, im := range pg.Images {
			res := idEmblem
			if im.Kind == imgQR {
				res = idQR
			}
			fmt.Fprintf(&b, `<ofd:ImageObject ID="%d" Boundary="%s %s %s %s" CTM="%s 0 0 %s 0 0" ResourceID="%d"/>`,
				id(), num(im.X), num(im.Y), num(im.W), num(im.H), num(im.W), num(im.H), res)
		}
		for _, t := range pg.Texts {
			rs := []rune(t.Text)
			if len(rs) == 0 {
				continue
			}
			used = append(used, rs...)
			var dx strings.Builder
			w := 0.0
			for j, c := range rs {
				a := f.Advance(c) * t.Size
				if j < len(rs)-1 {
					a += t.Spacing
					if j > 0 {
						dx.WriteByte(' ')
					}
					dx.WriteString(num(a))
				}
				w += a
			}
			asc, desc := f.ascent*t.Size, -f.descent*t.Size
			fmt.Fprintf(&b, `<ofd:TextObject ID="%d" Boundary="%s %s %s %s" Font="%d" Size="%s">`+
				`<ofd:FillColor Value="%d %d %d"/><ofd:TextCode X="0" Y="%s"`,
				id(), num(t.X), num(t.Y-asc), num(w), num(asc+desc), idFont, num(t.Size),
				t.Color[0], t.Color[1], t.Color[2], num(asc))
			if dx.Len() > 0 {
				fmt.Fprintf(&b, ` DeltaX="%s"`, dx.String())
			}
			fmt.Fprintf(&b, `>%s</ofd:TextCode></ofd:TextObject>`, esc(t.Text))
		}
		if r.copy != nil && i == 0 {
			r.copy.ofdFirstPage(&b, r, id)
		}
		b.WriteString(`</ofd:Layer></ofd:Content></ofd:Page>`)
		pages[i] = []byte(b.String())
	}
	sub, err := r.font.subset(used)
	if err != nil {
		return nil, err
	}

	attachmentID := id()
	first := r.lay.Pages[0]
	var doc strings.Builder
	doc.WriteString(xmlHeader)
	fmt.Fprintf(&doc, `<ofd:Document xmlns:ofd="%s"><ofd:CommonData><ofd:MaxUnitID>%d</ofd:MaxUnitID>`+
		`<ofd:PageArea><ofd:PhysicalBox>0 0 %s %s</ofd:PhysicalBox></ofd:PageArea>`+
		`<ofd:PublicRes>PublicRes.xml</ofd:PublicRes><ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes></ofd:CommonData><ofd:Pages>`,
		ofdNS, nextID+1, num(first.W), num(first.H))
	for i, pid := range pageIDs {
		fmt.Fprintf(&doc, `<ofd:Page ID="%d" BaseLoc="Pages/Page_%d/Content.xml"/>`, pid, i)
	}
	doc.WriteString(`</ofd:Pages><ofd:Attachments>Attachs/Attachments.xml</ofd:Attachments></ofd:Document>`)

	publicRes := fmt.Sprintf(xmlHeader+`<ofd:Res xmlns:ofd="%s" BaseLoc="Res"><ofd:Fonts>`+
		`<ofd:Font ID="%d" FontName="%s" FamilyName="%s"><ofd:FontFile>%s</ofd:FontFile></ofd:Font>%s</ofd:Fonts></ofd:Res>`,
		ofdNS, idFont, esc(f.Name()), esc(f.Name()), fontFileName, r.copy.ofdFont(f))
	emblemName := "emblem." + strings.ToLower(r.emblem.format)
	documentRes := fmt.Sprintf(xmlHeader+`<ofd:Res xmlns:ofd="%s" BaseLoc="Res"><ofd:MultiMedias>`+
		`<ofd:MultiMedia ID="%d" Type="Image" Format="%s"><ofd:MediaFile>%s</ofd:MediaFile></ofd:MultiMedia>`+
		`<ofd:MultiMedia ID="%d" Type="Image" Format="PNG"><ofd:MediaFile>%s</ofd:MediaFile></ofd:MultiMedia>`+
		`%s</ofd:MultiMedias></ofd:Res>`, ofdNS, idEmblem, r.emblem.format, emblemName, idQR, qrFileName, r.copy.ofdMedia())

	docID := gm.SM3([]byte(r.payload.Identifier + "\x00" + r.at.Format(time.RFC3339Nano)))
	var custom strings.Builder
	for _, c := range r.meta.Custom {
		fmt.Fprintf(&custom, `<ofd:CustomData Name="%s">%s</ofd:CustomData>`, esc(c.ZH), esc(c.Value))
	}
	ofdXML := fmt.Sprintf(xmlHeader+`<ofd:OFD xmlns:ofd="%s" Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo>`+
		`<ofd:DocID>%s</ofd:DocID><ofd:Title>%s</ofd:Title><ofd:Author>%s</ofd:Author><ofd:Subject>%s</ofd:Subject>`+
		`<ofd:CreationDate>%s</ofd:CreationDate><ofd:Creator>elicense</ofd:Creator><ofd:CustomDatas>%s</ofd:CustomDatas></ofd:DocInfo>`+
		`<ofd:DocRoot>%s</ofd:DocRoot><ofd:Signatures>%s</ofd:Signatures></ofd:DocBody></ofd:OFD>`,
		ofdNS, hex.EncodeToString(docID[:16]), esc(r.meta.Title), esc(r.meta.Author),
		esc(r.meta.Category), r.at.In(chinaTime).Format(time.DateOnly),
		custom.String(), docPath, signaturesPath)
	signaturesXML := fmt.Sprintf(xmlHeader+`<ofd:Signatures xmlns:ofd="%s"><ofd:MaxSignId>1</ofd:MaxSignId>`+
		`<ofd:Signature ID="1" Type="%s" BaseLoc="/%s"/></ofd:Signatures>`, ofdNS, ofdSignatureType, signaturePath)

	ofdFile, sigsFile := xmlEntry(ofdXMLPath, []byte(ofdXML)), xmlEntry(signaturesPath, []byte(signaturesXML))
	pl := r.payload
	pl.OFDXML, pl.SignaturesXML = base64.StdEncoding.EncodeToString(ofdFile.sm3[:]), base64.StdEncoding.EncodeToString(sigsFile.sm3[:])
	payloadData := pl.marshal()
	attachments := fmt.Sprintf(xmlHeader+`<ofd:Attachments xmlns:ofd="%s"><ofd:Attachment ID="%d" Name="%s" Format="json" CreationDate="%s" Size="%s" Visible="false">`+
		`<ofd:FileLoc>%s</ofd:FileLoc></ofd:Attachment></ofd:Attachments>`,
		ofdNS, attachmentID, "licence-data", r.at.Format("2006-01-02T15:04:05"), num(float64(len(payloadData))/1024), payloadName)

	// The package, in the order written; the signature files come last. The font subset and
	// the images come prepared from the render caches.
	entries := make([]ofdEntry, 0, 12+len(pages))
	entries = append(entries, ofdFile,
		xmlEntry(docPath, []byte(doc.String())),
		xmlEntry(publicResPath, []byte(publicRes)),
		xmlEntry(documentResPath, []byte(documentRes)),
	)
	for i, p := range pages {
		entries = append(entries, xmlEntry(fmt.Sprintf("Doc_0/Pages/Page_%d/Content.xml", i), p))
	}
	entries = append(entries,
		ofdEntry{"Doc_0/Res/" + fontFileName, sub.packed()},
		ofdEntry{"Doc_0/Res/" + emblemName, r.emblem.ofd},
		ofdEntry{"Doc_0/Res/" + qrFileName, r.qr.png},
	)
	entries = append(entries, r.copy.ofdEntries()...)
	entries = append(entries,
		xmlEntry(attachmentsPath, []byte(attachments)),
		xmlEntry(payloadPath, payloadData),
		sigsFile,
	)

	// Signature.xml: the SM3 of every file but OFD.xml and the signature files.
	var sx strings.Builder
	sx.Grow(512 + 110*len(entries))
	sx.WriteString(xmlHeader)
	fmt.Fprintf(&sx, `<ofd:Signature xmlns:ofd="%s"><ofd:SignedInfo><ofd:Provider ProviderName="%s" Version="1.0" Company="elicense"/>`+
		`<ofd:SignatureMethod>%s</ofd:SignatureMethod><ofd:SignatureDateTime>%s</ofd:SignatureDateTime>`+
		`<ofd:References CheckMethod="%s">`, ofdNS, ofdProviderName, oidSM2WithSM3, r.at.Format("20060102150405Z"), oidSM3)
	for _, e := range entries {
		if e.name == ofdXMLPath || e.name == signaturesPath {
			continue
		}
		fmt.Fprintf(&sx, `<ofd:Reference FileRef="/%s"><ofd:CheckValue>%s</ofd:CheckValue></ofd:Reference>`,
			esc(e.name), base64.StdEncoding.EncodeToString(e.sm3[:]))
	}
	sb := r.stamp
	fmt.Fprintf(&sx, `</ofd:References><ofd:StampAnnot ID="1" PageRef="%d" Boundary="%s %s %s %s"/></ofd:SignedInfo>`+
		`<ofd:SignedValue>/%s</ofd:SignedValue></ofd:Signature>`, pageIDs[0], num(sb.X), num(sb.Y), num(sb.W), num(sb.H), signedValuePath)
	sigXML := []byte(sx.String())
	digest := gm.SM3(sigXML)
	signed, err := seal.Sign(ctx, r.seal.der, r.sealBy.signer, r.sealBy.cert, digest[:], "/"+signaturePath, r.at)
	if err != nil {
		return nil, fmt.Errorf("document: ofd seal: %w", err)
	}
	entries = append(entries, xmlEntry(signaturePath, sigXML), ofdEntry{signedValuePath, pack(signed, flate.NoCompression)})
	return writeZip(entries, r.at)
}

// writeZip writes the prepared entries as a zip file: each is written as prepared (compressed
// or stored), with the headers archive/zip's CreateHeader would write.
func writeZip(entries []ofdEntry, at time.Time) ([]byte, error) {
	size := 22
	for _, e := range entries {
		n := len(e.data)
		if e.deflated != nil {
			n = len(e.deflated)
		}
		size += n + 2*(46+len(e.name)+9)
	}
	var buf bytes.Buffer
	buf.Grow(size)
	zw := zip.NewWriter(&buf)
	date, clock := msDOSTime(at)
	var ext [9]byte // extended timestamp (Info-ZIP "UT"): the modification time
	binary.LittleEndian.PutUint16(ext[0:], 0x5455)
	binary.LittleEndian.PutUint16(ext[2:], 5)
	ext[4] = 1
	binary.LittleEndian.PutUint32(ext[5:], uint32(at.Unix()))
	for _, e := range entries {
		fh := &zip.FileHeader{Name: e.name, Method: zip.Store, CRC32: e.crc, Modified: at,
			ModifiedDate: date, ModifiedTime: clock, CreatorVersion: 20, ReaderVersion: 20,
			UncompressedSize64: uint64(len(e.data)), Extra: ext[:]}
		body := e.data
		if e.deflated != nil {
			fh.Method, body = zip.Deflate, e.deflated
		}
		fh.CompressedSize64 = uint64(len(body))
		w, err := zw.CreateRaw(fh)
		if err != nil {
			return nil, fmt.Errorf("document: ofd: %w", err)
		}
		if _, err := w.Write(body); err != nil {
			return nil, fmt.Errorf("document: ofd: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("document: ofd: %w", err)
	}
	return buf.Bytes(), nil
}

// msDOSTime is t (UTC) as the date and time fields of a zip header.
func msDOSTime(t time.Time) (date, clock uint16) {
	t = t.UTC()
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	clock = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return date, clock
}
