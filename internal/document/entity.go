package document

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"image"
	"image/png"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/digitorus/pdf"
	"github.com/digitorus/pdfsign/sign"
	xdraw "golang.org/x/image/draw"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/seal"
)

// Signing on behalf of an entity (网上行为确认/电子签名, issue 7 item 3): a portal's own document
// (PDF or OFD, not a licence) is sealed with the entity's electronic seal: OFD with a GB/T 38540
// SES_Signature added to the document's Signatures, PDF with a PKCS #7 signature by the entity's
// document certificate that ordinary readers validate. The package signing decides when (after
// the holder's or an authorised person's confirmation); this file does the cryptography and the
// file formats, with the same OFD and seal code licences use.

// Inspection is what the platform reads of a document before it is signed: enough to show the
// person who confirms what they sign.
type Inspection struct {
	Format Format
	Pages  int
	Title  string   // the document's own title (PDF Info, OFD DocInfo); may be empty
	Text   []string // OFD: the text of each page (first pages, bounded); PDF: none
	Signed int      // signatures already in the document
}

// Limits of Inspect's output.
const (
	maxInspectText  = 64 << 10 // bytes of OFD text kept for the preview
	maxInspectPages = 10_000
)

func badDocument(zh, en string, args ...any) error {
	return errs.Invalidf("document", zh, en, args...)
}

// Inspect checks that file is a real PDF or OFD document that the platform can sign, and reads
// its page count, title and (OFD) text. A file that is neither, is damaged, encrypted or empty
// gives an errs.Invalid error on field "document" saying what is wrong.
func (s *Service) Inspect(file []byte) (*Inspection, error) {
	switch {
	case len(file) == 0:
		return nil, badDocument("文件为空", "the document is empty")
	case len(file) > MaxFileSize:
		return nil, badDocument("文件过大（%d 字节，上限 %d）", "the document is too large (%d bytes, limit %d)", len(file), MaxFileSize)
	case bytes.HasPrefix(file, []byte("%PDF-")):
		return inspectPDF(file)
	case bytes.HasPrefix(file, []byte("PK\x03\x04")):
		return inspectOFD(file)
	}
	head := file[:min(len(file), 8)]
	return nil, badDocument("文件既不是 PDF（应以 %%PDF- 开头）也不是 OFD（zip 包），开头的字节为 %q",
		"the document is neither a PDF (which starts with %%PDF-) nor an OFD (a zip package); it starts with %q", head)
}

// openPDF reads a PDF with the reader pdfsign uses; the reader panics on some malformed input,
// which is turned into an error.
func openPDF(file []byte) (r *pdf.Reader, err error) {
	defer func() {
		if v := recover(); v != nil {
			r, err = nil, fmt.Errorf("malformed PDF: %v", v)
		}
	}()
	return pdf.NewReader(bytes.NewReader(file), int64(len(file)))
}

func inspectPDF(file []byte) (in *Inspection, err error) {
	rdr, err := openPDF(file)
	if err != nil {
		return nil, badDocument("PDF 文件已损坏，无法读取：%v", "the PDF is damaged and cannot be read: %v", err)
	}
	defer func() {
		if v := recover(); v != nil {
			in, err = nil, badDocument("PDF 文件结构有误：%v", "the PDF's structure is wrong: %v", v)
		}
	}()
	if !rdr.Trailer().Key("Encrypt").IsNull() {
		return nil, badDocument("PDF 文件已加密，无法签署：请上传未加密的文件", "the PDF is encrypted and cannot be signed: upload it unencrypted")
	}
	n := rdr.NumPage()
	if n <= 0 || n > maxInspectPages {
		return nil, badDocument("PDF 文件没有可读的页面", "the PDF has no readable page")
	}
	in = &Inspection{Format: PDF, Pages: n, Title: strings.TrimSpace(rdr.Trailer().Key("Info").Key("Title").Text())}
	in.Signed = len(reByteRange.FindAllIndex(file, -1))
	return in, nil
}

// xDocPages is what Inspect and the OFD signer read of Document.xml.
type xDocPages struct {
	CommonData struct {
		PageArea struct {
			PhysicalBox string `xml:"PhysicalBox"`
		} `xml:"PageArea"`
	} `xml:"CommonData"`
	Pages struct {
		Page []struct {
			ID      string `xml:"ID,attr"`
			BaseLoc string `xml:"BaseLoc,attr"`
		} `xml:"Page"`
	} `xml:"Pages"`
}

type xDocInfo struct {
	DocBody []struct {
		DocInfo struct {
			Title string `xml:"Title"`
		} `xml:"DocInfo"`
		DocRoot    string `xml:"DocRoot"`
		Signatures string `xml:"Signatures"`
	} `xml:"DocBody"`
}

// ofdDoc is an OFD package with its main document located.
type ofdDoc struct {
	pkg      *ofdPackage
	info     xDocInfo
	docFile  string
	doc      xDocPages
	sigsFile string // "" when the document has no signature list yet
	sigs     xSignatures
}

func readOFDDoc(file []byte) (*ofdDoc, error) {
	pkg, err := readOFDPackage(file)
	if err != nil {
		zh, en := splitMsg(err)
		return nil, &errs.Error{Kind: errs.Invalid, Field: "document", ZH: zh, EN: en}
	}
	d := &ofdDoc{pkg: pkg}
	root, ok := pkg.files[ofdXMLPath]
	if !ok {
		return nil, badDocument("OFD 包中没有 OFD.xml，不是 OFD 文件", "the package has no OFD.xml: it is not an OFD file")
	}
	if err := parseXML(root, &d.info); err != nil || len(d.info.DocBody) == 0 {
		return nil, badDocument("OFD.xml 无法解析：%v", "OFD.xml cannot be parsed: %v", err)
	}
	body := d.info.DocBody[0]
	d.docFile = resolve("", body.DocRoot)
	docXML, ok := pkg.files[d.docFile]
	if d.docFile == "" || !ok {
		return nil, badDocument("OFD.xml 指向的文档 %q 不存在", "the document %q named in OFD.xml does not exist", body.DocRoot)
	}
	if err := parseXML(docXML, &d.doc); err != nil {
		return nil, badDocument("%s 无法解析：%v", "%s cannot be parsed: %v", d.docFile, err)
	}
	if n := len(d.doc.Pages.Page); n == 0 || n > maxInspectPages {
		return nil, badDocument("OFD 文档没有页面", "the OFD document has no page")
	}
	if body.Signatures != "" {
		d.sigsFile = resolve("", body.Signatures)
		b, ok := pkg.files[d.sigsFile]
		if d.sigsFile == "" || !ok {
			return nil, badDocument("OFD.xml 指向的签名列表 %q 不存在", "the signature list %q named in OFD.xml does not exist", body.Signatures)
		}
		if err := parseXML(b, &d.sigs); err != nil {
			return nil, badDocument("签名列表无法解析：%v", "the signature list cannot be parsed: %v", err)
		}
	}
	return d, nil
}

func inspectOFD(file []byte) (*Inspection, error) {
	d, err := readOFDDoc(file)
	if err != nil {
		return nil, err
	}
	in := &Inspection{Format: OFD, Pages: len(d.doc.Pages.Page), Title: strings.TrimSpace(d.info.DocBody[0].DocInfo.Title),
		Signed: len(d.sigs.Signature)}
	budget := maxInspectText
	for _, pg := range d.doc.Pages.Page {
		if budget <= 0 {
			break
		}
		content := d.pkg.files[resolve(path.Dir(d.docFile), pg.BaseLoc)]
		t := ofdPageText(content, budget)
		budget -= len(t)
		in.Text = append(in.Text, t)
	}
	return in, nil
}

// ofdPageText returns the text of a page's Content.xml (the TextCode elements, one line per
// text object), at most limit bytes; "" for a page that cannot be read.
func ofdPageText(content []byte, limit int) string {
	if len(content) == 0 || len(content) > maxXMLSize {
		return ""
	}
	dec := xml.NewDecoder(bytes.NewReader(content))
	dec.Strict = true
	var b strings.Builder
	inCode, depth, tokens := false, 0, 0
	for b.Len() < limit {
		t, err := dec.RawToken()
		if err == io.EOF || err != nil {
			break
		}
		if tokens++; tokens > maxXMLTokens {
			break
		}
		switch t := t.(type) {
		case xml.StartElement:
			if depth++; depth > maxXMLDepth {
				return b.String()
			}
			if t.Name.Local == "TextObject" && b.Len() > 0 {
				b.WriteByte('\n')
			}
			inCode = t.Name.Local == "TextCode"
		case xml.EndElement:
			depth--
			inCode = false
		case xml.CharData:
			if inCode {
				b.Write(t)
			}
		}
	}
	s := b.String()
	if len(s) > limit {
		s = s[:limit]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return strings.TrimSpace(s)
}

// EntitySigning says what a signature on behalf of an entity is for.
type EntitySigning struct {
	Code   string // the entity's credit code
	Name   string // the entity's name (its seal and certificate carry it)
	Reason string // what the signature confirms (PDF /Reason), e.g. the request's title
}

// EntitySigned is a document sealed with an entity's seal.
type EntitySigned struct {
	File       []byte
	CertSerial string // the signing certificate's serial: SM2 (OFD) or ECDSA (PDF)
	SealID     string // the seal's esID
	At         time.Time
}

// entitySealPictureMM is the displayed size of an entity's seal picture (its ring is 40 mm, as
// the official seals of companies).
const entitySealPictureMM = 42

// EntitySeal returns the electronic seal of the entity es for its current certificate, making
// it on first use: the platform signs it as seal maker (制章人), es's certificate is the only
// signer, the picture is a red round seal with the entity's name. It is stored, so every process
// signs with the same seal.
func (s *Service) EntitySeal(ctx context.Context, es *keys.EntitySigner) (*sealRes, error) {
	return s.cachedSeal(ctx, keys.EntitySealKeyID(es.Code, es.Serial), "entity "+es.Code,
		func() ([]byte, error) { return s.docKeys.EntitySeal(ctx, es.Code, es.Serial) },
		func() ([]byte, error) { return s.makeEntitySeal(ctx, es) },
		func(der []byte) ([]byte, error) { return s.docKeys.PutEntitySeal(ctx, es.Code, es.Serial, der) })
}

func (s *Service) makeEntitySeal(ctx context.Context, es *keys.EntitySigner) ([]byte, error) {
	maker, makerCert, err := s.keys.PlatformSigner(ctx)
	if err != nil {
		return nil, err
	}
	name := []rune(es.Name)
	if len(name) > seal.MaxNameRunes {
		name = name[:seal.MaxNameRunes]
	}
	return s.makeOrgSeal(ctx, maker, makerCert, orgSeal{
		idPrefix: es.Code + "-E-", serial: es.Serial, name: es.Name, signerCert: es.CertDER, validTo: es.NotAfter,
		picture: seal.ImageOptions{SizePx: 400}, pictureName: string(name), sizeMM: entitySealPictureMM,
	})
}

// SignForEntity seals file (a PDF or an OFD that Inspect accepts) with the electronic seal of the
// entity e. The entity's key, certificates and seal are made on first use.
func (s *Service) SignForEntity(ctx context.Context, file []byte, e EntitySigning) (*EntitySigned, error) {
	in, err := s.Inspect(file)
	if err != nil {
		return nil, err
	}
	es, err := s.keys.EntitySigner(ctx, e.Code, e.Name)
	if err != nil {
		return nil, err
	}
	sr, err := s.EntitySeal(ctx, es)
	if err != nil {
		return nil, err
	}
	at := s.now()
	if at.After(sr.validTo) {
		return nil, fmt.Errorf("document: the seal of entity %s expired on %s", es.Code, sr.validTo.Format(time.DateOnly))
	}
	sl, err := seal.ParseSeal(sr.der)
	if err != nil {
		return nil, err
	}
	out := &EntitySigned{SealID: sl.ID, At: at}
	if in.Format == PDF {
		ds, err := s.docKeys.EntityDocumentSigner(ctx, es)
		if err != nil {
			return nil, err
		}
		out.File, err = signPDFForEntity(file, ds, pdfStamp(sl.ID, sr.picture), e, at)
		out.CertSerial = ds.Cert.SerialNumber.Text(16)
		return out, err
	}
	out.File, err = sealOFDForEntity(ctx, file, es, sr, at)
	out.CertSerial = es.Serial
	return out, err
}

// pdfPageSize returns the width and height in points of page n (1-based) of a PDF: its
// MediaBox, inherited from the page tree, or A4.
func pdfPageSize(rdr *pdf.Reader, n int) (w, h float64) {
	defer func() {
		if recover() != nil {
			w, h = 595.28, 841.89
		}
	}()
	v := rdr.Page(n).V
	for i := 0; i < 32 && !v.IsNull(); i++ {
		if mb := v.Key("MediaBox"); mb.Kind() == pdf.Array && mb.Len() == 4 {
			return mb.Index(2).Float64() - mb.Index(0).Float64(), mb.Index(3).Float64() - mb.Index(1).Float64()
		}
		v = v.Key("Parent")
	}
	return 595.28, 841.89
}

// signPDFForEntity adds an approval signature (PKCS #7 detached, SHA-256) of the entity's
// document key to the PDF as an incremental update, shown as the seal's picture near the lower
// right corner of the last page. Earlier signatures stay valid.
func signPDFForEntity(file []byte, ds *keys.DocumentSigner, stamp []byte, e EntitySigning, at time.Time) (out []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			out, err = nil, badDocument("PDF 文件结构有误，无法签署：%v", "the PDF's structure is wrong; it cannot be signed: %v", v)
		}
	}()
	rdr, err := openPDF(file)
	if err != nil {
		return nil, badDocument("PDF 文件已损坏，无法读取：%v", "the PDF is damaged and cannot be read: %v", err)
	}
	last := rdr.NumPage()
	w, h := pdfPageSize(rdr, last)
	size := pt(entitySealPictureMM)
	x1, y0 := w-pt(20), pt(25)
	if x1-size < 0 || y0+size > h {
		x1, y0 = w, 0
	}
	var buf bytes.Buffer
	buf.Grow(len(file) + 64<<10)
	err = sign.Sign(bytes.NewReader(file), &buf, rdr, int64(len(file)), sign.SignData{
		Signature: sign.SignDataSignature{
			Info: sign.SignDataSignatureInfo{Name: pdfsignText(e.Name, e.Code), Reason: pdfsignText(e.Reason, "signed on behalf of "+e.Code),
				Date: at, ContactInfo: pdfsignText("统一社会信用代码 "+e.Code, "USCC "+e.Code)},
			CertType:   sign.ApprovalSignature,
			DocMDPPerm: sign.AllowFillingExistingFormFieldsAndSignaturesPerms,
		},
		Signer:            ds.Signer,
		DigestAlgorithm:   crypto.SHA256,
		Certificate:       ds.Cert,
		CertificateChains: [][]*x509.Certificate{{ds.Cert, ds.Root}},
		Appearance: sign.Appearance{Visible: true, Page: uint32(last),
			LowerLeftX: max(x1-size, 0), LowerLeftY: y0, UpperRightX: x1, UpperRightY: min(y0+size, h), Image: stamp},
	})
	if err != nil {
		return nil, fmt.Errorf("document: pdf sign for entity %s: %w", e.Code, err)
	}
	return buf.Bytes(), nil
}

// pdfStampPx is the width of the seal picture in a PDF signature's appearance: 42 mm at about
// 120 dpi. pdfsign decodes and recompresses the picture on every signature, which for the
// seal's own 400 px dominated the cost of signing.
const pdfStampPx = 200

// pdfStamps keeps the reduced seal pictures by seal ID.
var pdfStamps = newBoundedCache[string, []byte](4096)

// pdfStamp returns the seal picture reduced to pdfStampPx (the picture itself if it cannot be
// decoded or is small already).
func pdfStamp(sealID string, picture []byte) []byte {
	if b, ok := pdfStamps.get(sealID); ok {
		return b
	}
	src, err := png.Decode(bytes.NewReader(picture))
	if err != nil || src.Bounds().Dx() <= pdfStampPx {
		return picture
	}
	dst := image.NewNRGBA(image.Rect(0, 0, pdfStampPx, pdfStampPx*src.Bounds().Dy()/src.Bounds().Dx()))
	xdraw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), xdraw.Src, nil)
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, dst); err != nil {
		return picture
	}
	return pdfStamps.put(sealID, buf.Bytes())
}

var (
	reDocRootEnd = regexp.MustCompile(`</([A-Za-z_][\w.-]*:)?DocRoot\s*>`)
	reSigsEnd    = regexp.MustCompile(`</([A-Za-z_][\w.-]*:)?Signatures\s*>\s*$`)
	reMaxSignID  = regexp.MustCompile(`(<([A-Za-z_][\w.-]*:)?MaxSignId\s*>)\s*\d*\s*(</)`)
)

// sealOFDForEntity adds a seal signature (GB/T 38540 SES_Signature) of the entity to an OFD
// package: a new Sign_N directory next to the signature list with Signature.xml — the SM3 of
// every file of the package but OFD.xml, the signature list and the new signature's own files,
// and a StampAnnot near the lower right corner of the last page — and SignedValue.dat. The
// signature list gets the new entry (and OFD.xml a signature list, when it had none). Nothing
// else changes, so earlier signatures stay valid.
func sealOFDForEntity(ctx context.Context, file []byte, es *keys.EntitySigner, sr *sealRes, at time.Time) ([]byte, error) {
	d, err := readOFDDoc(file)
	if err != nil {
		return nil, err
	}
	ofdXML := d.pkg.files[ofdXMLPath]
	sigsFile := d.sigsFile
	if sigsFile == "" {
		dir := path.Dir(d.docFile)
		sigsFile = path.Join(dir, "Signs", "Signatures.xml")
		m := reDocRootEnd.FindSubmatchIndex(ofdXML)
		if m == nil {
			return nil, badDocument("OFD.xml 中没有 DocRoot", "OFD.xml has no DocRoot")
		}
		prefix := ""
		if m[2] >= 0 {
			prefix = string(ofdXML[m[2]:m[3]])
		}
		var b bytes.Buffer
		b.Write(ofdXML[:m[1]])
		fmt.Fprintf(&b, "<%sSignatures>/%s</%sSignatures>", prefix, sigsFile, prefix)
		b.Write(ofdXML[m[1]:])
		ofdXML = b.Bytes()
	}
	if len(d.sigs.Signature) >= maxSignatures {
		return nil, badDocument("文件中的签章已达上限 %d 个", "the document already holds the maximum of %d signatures", maxSignatures)
	}
	sigDir := path.Dir(sigsFile)
	n := 0
	for ; ; n++ {
		prefix := path.Join(sigDir, "Sign_"+strconv.Itoa(n)) + "/"
		used := false
		for _, name := range d.pkg.names {
			if strings.HasPrefix(name, prefix) {
				used = true
				break
			}
		}
		if !used {
			break
		}
	}
	signDir := path.Join(sigDir, "Sign_"+strconv.Itoa(n))
	sigPath, svPath := signDir+"/Signature.xml", signDir+"/SignedValue.dat"
	newID := 1
	for _, sg := range d.sigs.Signature {
		if v, err := strconv.Atoi(strings.TrimSpace(sg.ID)); err == nil && v >= newID {
			newID = v + 1
		}
	}
	entry := fmt.Sprintf(`<ofd:Signature xmlns:ofd="%s" ID="%d" Type="%s" BaseLoc="/%s"/>`, ofdNS, newID, ofdSignatureType, sigPath)
	var sigsXML []byte
	if d.sigsFile == "" {
		sigsXML = fmt.Appendf(nil, xmlHeader+`<ofd:Signatures xmlns:ofd="%s"><ofd:MaxSignId>%d</ofd:MaxSignId>`+
			`<ofd:Signature ID="%d" Type="%s" BaseLoc="/%s"/></ofd:Signatures>`, ofdNS, newID, newID, ofdSignatureType, sigPath)
	} else {
		old := d.pkg.files[d.sigsFile]
		m := reSigsEnd.FindIndex(old)
		if m == nil {
			return nil, badDocument("签名列表 %s 的结尾无法识别", "the end of the signature list %s cannot be found", d.sigsFile)
		}
		var b bytes.Buffer
		b.Write(old[:m[0]])
		b.WriteString(entry)
		b.Write(old[m[0]:])
		sigsXML = reMaxSignID.ReplaceAll(b.Bytes(), []byte("${1}"+strconv.Itoa(newID)+"${3}"))
	}

	// The stamp: on the last page, near its lower right corner.
	pages := d.doc.Pages.Page
	pageID := strings.TrimSpace(pages[len(pages)-1].ID)
	pw, ph := 210.0, 297.0
	if f := strings.Fields(d.doc.CommonData.PageArea.PhysicalBox); len(f) == 4 {
		w, e1 := strconv.ParseFloat(f[2], 64)
		h, e2 := strconv.ParseFloat(f[3], 64)
		if e1 == nil && e2 == nil && w > 0 && h > 0 {
			pw, ph = w, h
		}
	}
	size := float64(entitySealPictureMM)
	if sr.wMM > 0 {
		size = float64(sr.wMM)
	}
	x, y := max(pw-size-20, 0), max(ph-size-25, 0)

	var sx strings.Builder
	sx.WriteString(xmlHeader)
	fmt.Fprintf(&sx, `<ofd:Signature xmlns:ofd="%s"><ofd:SignedInfo><ofd:Provider ProviderName="%s" Version="1.0" Company="elicense"/>`+
		`<ofd:SignatureMethod>%s</ofd:SignatureMethod><ofd:SignatureDateTime>%s</ofd:SignatureDateTime>`+
		`<ofd:References CheckMethod="%s">`, ofdNS, ofdProviderName, oidSM2WithSM3, at.Format("20060102150405Z"), oidSM3)
	refs := 0
	for _, name := range d.pkg.names {
		if name == ofdXMLPath || name == d.sigsFile {
			continue
		}
		h := gm.SM3(d.pkg.files[name])
		fmt.Fprintf(&sx, `<ofd:Reference FileRef="/%s"><ofd:CheckValue>%s</ofd:CheckValue></ofd:Reference>`,
			esc(name), base64.StdEncoding.EncodeToString(h[:]))
		refs++
	}
	if refs == 0 || refs > maxReferences {
		return nil, badDocument("OFD 包中的文件数无法签署", "the OFD package has a number of files that cannot be signed")
	}
	fmt.Fprintf(&sx, `</ofd:References><ofd:StampAnnot ID="1" PageRef="%s" Boundary="%s %s %s %s"/></ofd:SignedInfo>`+
		`<ofd:SignedValue>/%s</ofd:SignedValue></ofd:Signature>`, esc(pageID), num(x), num(y), num(size), num(size), svPath)
	sigXML := []byte(sx.String())
	digest := gm.SM3(sigXML)
	signed, err := seal.Sign(ctx, sr.der, es.Signer, es.CertDER, digest[:], "/"+sigPath, at)
	if err != nil {
		return nil, fmt.Errorf("document: ofd seal for entity %s: %w", es.Code, err)
	}

	entries := make([]ofdEntry, 0, len(d.pkg.names)+4)
	for _, name := range d.pkg.names {
		data := d.pkg.files[name]
		switch name {
		case ofdXMLPath:
			data = ofdXML
		case d.sigsFile:
			data = sigsXML
		}
		entries = append(entries, xmlEntry(name, data))
	}
	if d.sigsFile == "" {
		entries = append(entries, xmlEntry(sigsFile, sigsXML))
	}
	entries = append(entries, xmlEntry(sigPath, sigXML), ofdEntry{svPath, pack(signed, 0)})
	return writeZip(entries, at)
}

// entityVerdict completes the report of a file whose seal or signature checked out but which
// holds no licence data: when the signer is an entity's certificate, the file is a document
// signed on behalf of that entity (not a licence), and the report says so and which entity. It
// reports whether the signer was an entity (otherwise the caller reports the missing data).
func (s *Service) entityVerdict(ctx context.Context, r *Report, serials []string) (bool, error) {
	var found []*keys.EntityCertificate
	for _, serial := range serials {
		ec, err := s.keys.EntityCertificateBySerial(ctx, serial)
		if errs.Is(err, errs.NotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("document: verify: entity certificate: %w", err)
		}
		found = append(found, ec)
	}
	if len(found) == 0 {
		return false, nil
	}
	r.SignedBy = SignedByEntity
	for _, ec := range found {
		r.Code, r.Name = ec.Code, ec.Name
		r.pass("entity", fmt.Sprintf("这是市场主体“%s”（统一社会信用代码 %s）的电子签章，由本平台为该主体签发，不是营业执照", ec.Name, ec.Code),
			fmt.Sprintf("this is the electronic signature of the entity \"%s\" (credit code %s), issued by this platform for it; it is not a licence", ec.Name, ec.Code))
	}
	if s.licences != nil && r.Code != "" {
		l, err := s.licences.Get(ctx, r.Code)
		switch {
		case err == nil:
			r.Status, r.CurrentVersion = l.Status, l.Version
		case !errs.Is(err, errs.NotFound) && !errs.Is(err, errs.Invalid):
			return false, fmt.Errorf("document: verify: entity licence: %w", err)
		}
	}
	return true, nil
}

// SignedByEntity is Report.SignedBy for a document sealed on behalf of a market entity.
const SignedByEntity = "entity"
