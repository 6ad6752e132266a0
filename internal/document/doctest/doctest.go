// Package doctest makes ordinary, unsigned PDF and OFD documents — a contract a portal would send
// to be signed on behalf of an entity — for the tests of signing (documents, the signing
// service, the web layer and its browser test). They are real files: the PDF is written by gopdf
// with the embedded CJK font, the OFD is a minimal GB/T 33190 package with one text layer per
// page.
package doctest

import (
	"archive/zip"
	"bytes"
	"fmt"
	"strings"

	"github.com/signintech/gopdf"

	"github.com/elicense/elicense/internal/font"
)

// PDF returns an A4 PDF with the title on the first page and each page's lines under it.
func PDF(title string, pages ...[]string) ([]byte, error) {
	if len(pages) == 0 {
		pages = [][]string{{}}
	}
	doc := &gopdf.GoPdf{}
	doc.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4})
	if err := doc.AddTTFFontData("f", font.Default()); err != nil {
		return nil, fmt.Errorf("doctest: font: %w", err)
	}
	doc.SetInfo(gopdf.PdfInfo{Title: title, Creator: "doctest"})
	for i, lines := range pages {
		doc.AddPage()
		if err := doc.SetFont("f", "", 14); err != nil {
			return nil, err
		}
		y := 60.0
		if i == 0 {
			doc.SetXY(60, y)
			if err := doc.Text(title); err != nil {
				return nil, err
			}
			y += 30
		}
		for _, l := range lines {
			doc.SetXY(60, y)
			if err := doc.Text(l); err != nil {
				return nil, err
			}
			y += 20
		}
	}
	return doc.GetBytesPdfReturnErr()
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// OFD returns an OFD package (A4 pages, no signature) with the title in its DocInfo and on the
// first page, and each page's lines as text objects.
func OFD(title string, pages ...[]string) ([]byte, error) {
	if len(pages) == 0 {
		pages = [][]string{{}}
	}
	const ns = "http://www.ofdspec.org/2016"
	files := []struct{ name, data string }{}
	add := func(name, data string) { files = append(files, struct{ name, data string }{name, data}) }
	add("OFD.xml", fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<ofd:OFD xmlns:ofd="%s" Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>0123456789abcdef0123456789abcdef</ofd:DocID><ofd:Title>%s</ofd:Title><ofd:Creator>doctest</ofd:Creator></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>`, ns, esc(title)))
	var doc strings.Builder
	fmt.Fprintf(&doc, `<?xml version="1.0" encoding="UTF-8"?>
<ofd:Document xmlns:ofd="%s"><ofd:CommonData><ofd:MaxUnitID>%d</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData><ofd:Pages>`, ns, 100+len(pages)*100)
	for i := range pages {
		fmt.Fprintf(&doc, `<ofd:Page ID="%d" BaseLoc="Pages/Page_%d/Content.xml"/>`, 10+i, i)
	}
	doc.WriteString(`</ofd:Pages></ofd:Document>`)
	add("Doc_0/Document.xml", doc.String())
	add("Doc_0/PublicRes.xml", fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<ofd:Res xmlns:ofd="%s" BaseLoc="Res"><ofd:Fonts><ofd:Font ID="1" FontName="宋体" FamilyName="宋体"/></ofd:Fonts></ofd:Res>`, ns))
	for i, lines := range pages {
		var c strings.Builder
		fmt.Fprintf(&c, `<?xml version="1.0" encoding="UTF-8"?>
<ofd:Page xmlns:ofd="%s"><ofd:Content><ofd:Layer ID="%d">`, ns, 1000+i*100)
		id := 1001 + i*100
		y := 20.0
		all := lines
		if i == 0 {
			all = append([]string{title}, lines...)
		}
		for _, l := range all {
			fmt.Fprintf(&c, `<ofd:TextObject ID="%d" Boundary="20 %g 170 8" Font="1" Size="4.5"><ofd:TextCode X="0" Y="6">%s</ofd:TextCode></ofd:TextObject>`, id, y, esc(l))
			id++
			y += 10
		}
		c.WriteString(`</ofd:Layer></ofd:Content></ofd:Page>`)
		add(fmt.Sprintf("Doc_0/Pages/Page_%d/Content.xml", i), c.String())
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write([]byte(f.data)); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
