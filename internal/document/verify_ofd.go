package document

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/seal"
)

// ofdPackage is a read OFD package: its files by normalised path.
type ofdPackage struct {
	files map[string][]byte
	names []string // in zip order
}

// readOFDPackage reads every file of a zip with the limits of a hostile upload: number of files,
// size of each and of all (counted while decompressing, not trusted from headers), safe names,
// no duplicates.
func readOFDPackage(b []byte) (*ofdPackage, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("不是有效的 OFD（zip）文件或文件已损坏|not a valid OFD (zip) file, or it is damaged: %v", err)
	}
	if len(zr.File) > maxEntries {
		return nil, fmt.Errorf("OFD 包中文件过多（%d 个，上限 %d）|too many files in the OFD package (%d, limit %d)", len(zr.File), maxEntries, len(zr.File), maxEntries)
	}
	p := &ofdPackage{files: make(map[string][]byte, len(zr.File))}
	var total int64
	for _, f := range zr.File {
		name, err := safeName(f.Name)
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(f.Name, "/") {
			continue // a directory entry
		}
		if _, dup := p.files[name]; dup {
			return nil, fmt.Errorf("OFD 包中有重复的文件 %s|the OFD package holds %s twice", name, name)
		}
		if f.UncompressedSize64 > maxEntrySize {
			return nil, fmt.Errorf("文件 %s 过大|file %s is too large", name, name)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("文件 %s 无法读取|file %s cannot be read: %v", name, name, err)
		}
		data, err := io.ReadAll(io.LimitReader(rc, maxEntrySize+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("文件 %s 已损坏|file %s is damaged: %v", name, name, err)
		}
		if len(data) > maxEntrySize {
			return nil, fmt.Errorf("文件 %s 解压后过大|file %s is too large when decompressed", name, name)
		}
		if total += int64(len(data)); total > maxTotalSize {
			return nil, fmt.Errorf("OFD 包解压后总大小超过上限 %d 字节|the OFD package exceeds %d bytes when decompressed", maxTotalSize, maxTotalSize)
		}
		p.files[name] = data
		p.names = append(p.names, name)
	}
	return p, nil
}

// safeName normalises a zip entry name and refuses those that could escape a directory or are
// not plain relative paths.
func safeName(n string) (string, error) {
	bad := func() (string, error) {
		return "", fmt.Errorf("OFD 包中有非法文件名 %q|the OFD package holds an unsafe file name %q", n, n)
	}
	if n == "" || len(n) > 512 || !utf8.ValidString(n) || strings.ContainsAny(n, "\\\x00:") || strings.HasPrefix(n, "/") {
		return bad()
	}
	for _, seg := range strings.Split(strings.TrimSuffix(n, "/"), "/") {
		if seg == ".." || seg == "." || seg == "" {
			return bad()
		}
	}
	return path.Clean(n), nil
}

// resolve turns a location written in the package (absolute from the package root, or relative
// to the directory of the file that names it) into a package path; "" if it leaves the package.
func resolve(dir, loc string) string {
	loc = strings.TrimSpace(loc)
	if loc == "" || strings.ContainsAny(loc, "\\\x00") {
		return ""
	}
	var p string
	if strings.HasPrefix(loc, "/") {
		p = path.Clean(loc[1:])
	} else {
		p = path.Clean(path.Join(dir, loc))
	}
	if p == "." || p == ".." || strings.HasPrefix(p, "../") || strings.HasPrefix(p, "/") {
		return ""
	}
	return p
}

// parseXML unmarshals an XML file of the package into v after checking its size, nesting depth
// and number of tokens, so hostile XML costs bounded memory and time.
func parseXML(data []byte, v any) error {
	if len(data) > maxXMLSize {
		return fmt.Errorf("XML too large (%d bytes)", len(data))
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	depth, tokens := 0, 0
	for {
		t, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if tokens++; tokens > maxXMLTokens {
			return errors.New("XML has too many elements")
		}
		switch t := t.(type) {
		case xml.StartElement:
			if depth++; depth > maxXMLDepth {
				return errors.New("XML nested too deeply")
			}
		case xml.EndElement:
			depth--
		case xml.Directive:
			if bytes.Contains(bytes.ToUpper(t), []byte("ENTITY")) {
				return errors.New("XML entity declarations are not accepted")
			}
		}
	}
	return xml.Unmarshal(data, v)
}

// XML shapes read by the verifier; element names match in any namespace.
type (
	xOFD struct {
		DocBody []struct {
			DocRoot    string `xml:"DocRoot"`
			Signatures string `xml:"Signatures"`
		} `xml:"DocBody"`
	}
	xDocument struct {
		Attachments string `xml:"Attachments"`
	}
	xSignatures struct {
		Signature []struct {
			ID      string `xml:"ID,attr"`
			Type    string `xml:"Type,attr"`
			BaseLoc string `xml:"BaseLoc,attr"`
		} `xml:"Signature"`
	}
	xSignature struct {
		SignedInfo struct {
			SignatureMethod string `xml:"SignatureMethod"`
			References      struct {
				CheckMethod string `xml:"CheckMethod,attr"`
				Reference   []struct {
					FileRef    string `xml:"FileRef,attr"`
					CheckValue string `xml:"CheckValue"`
				} `xml:"Reference"`
			} `xml:"References"`
			StampAnnot []struct {
				PageRef  string `xml:"PageRef,attr"`
				Boundary string `xml:"Boundary,attr"`
			} `xml:"StampAnnot"`
		} `xml:"SignedInfo"`
		SignedValue string `xml:"SignedValue"`
	}
	xAttachments struct {
		Attachment []struct {
			Name    string `xml:"Name,attr"`
			Format  string `xml:"Format,attr"`
			FileLoc string `xml:"FileLoc"`
		} `xml:"Attachment"`
	}
)

// splitMsg splits the "中文|English" messages of the package reader.
func splitMsg(err error) (string, string) {
	zh, en, ok := strings.Cut(err.Error(), "|")
	if !ok {
		return "文件无法读取：" + err.Error(), err.Error()
	}
	return zh, en
}

func isSM3(m string) bool {
	m = strings.TrimSpace(m)
	return m == oidSM3 || strings.EqualFold(m, "SM3")
}

// verifyOFD checks an OFD file: package limits, every reference hash, every package file
// covered, each seal signature (package seal: maker's signature, validity, signer in the seal,
// chains to the platform root), the signer being the licence's authority, then the embedded
// licence data (checkLicence).
func (s *Service) verifyOFD(ctx context.Context, file []byte) (*Report, error) {
	r := newReport("ofd")
	pkg, err := readOFDPackage(file)
	if err != nil {
		zh, en := splitMsg(err)
		r.fail(ResultWrong, "package", zh, en)
		return r.finish(), nil
	}
	bad := func(name, zh, en string) (*Report, error) {
		r.fail(ResultWrong, name, zh, en)
		return r.finish(), nil
	}
	var root xOFD
	ofdXML, ok := pkg.files[ofdXMLPath]
	if !ok {
		return bad("package", "OFD 包中没有 OFD.xml，不是 OFD 文件", "the package has no OFD.xml: it is not an OFD file")
	}
	if err := parseXML(ofdXML, &root); err != nil || len(root.DocBody) == 0 {
		return bad("package", "OFD.xml 无法解析", fmt.Sprintf("OFD.xml cannot be parsed: %v", err))
	}
	body := root.DocBody[0]
	docFile := resolve("", body.DocRoot)
	if _, ok := pkg.files[docFile]; !ok {
		return bad("package", "OFD.xml 指向的文档 "+body.DocRoot+" 不存在", "the document "+body.DocRoot+" named in OFD.xml does not exist")
	}
	sigsFile := resolve("", body.Signatures)
	sigsXML, ok := pkg.files[sigsFile]
	if body.Signatures == "" || !ok {
		r.fail(ResultNotEnough, "seal", "文件没有电子签章，无法核验", "the file carries no electronic seal; it cannot be verified")
		return r.finish(), nil
	}
	var sigs xSignatures
	if err := parseXML(sigsXML, &sigs); err != nil {
		return bad("seal", "签名列表 "+sigsFile+" 无法解析", fmt.Sprintf("the signature list %s cannot be parsed: %v", sigsFile, err))
	}
	if len(sigs.Signature) == 0 {
		r.fail(ResultNotEnough, "seal", "文件没有电子签章，无法核验", "the file carries no electronic seal; it cannot be verified")
		return r.finish(), nil
	}
	if len(sigs.Signature) > maxSignatures {
		return bad("seal", "签章过多", "too many signatures")
	}

	// Files the references may not cover: OFD.xml, the signature list, each signature's files.
	exempt := map[string]bool{ofdXMLPath: true, sigsFile: true}
	covered := map[string]bool{}
	var signerCodes, signerSerials []string
	var signerCerts [][]byte
	sigDir := path.Dir(sigsFile)
	for i, sg := range sigs.Signature {
		sigFile := resolve(sigDir, sg.BaseLoc)
		sigXML, ok := pkg.files[sigFile]
		if !ok {
			return bad("seal", fmt.Sprintf("第 %d 个签章的描述文件 %s 不存在", i+1, sg.BaseLoc), fmt.Sprintf("signature %d: %s does not exist", i+1, sg.BaseLoc))
		}
		exempt[sigFile] = true
		var sx xSignature
		if err := parseXML(sigXML, &sx); err != nil {
			return bad("seal", sigFile+" 无法解析", fmt.Sprintf("%s cannot be parsed: %v", sigFile, err))
		}
		refs := sx.SignedInfo.References
		if !isSM3(refs.CheckMethod) {
			return bad("references", "引用的杂凑算法 "+refs.CheckMethod+" 不受支持（仅支持 SM3）", "reference hash algorithm "+refs.CheckMethod+" is not supported (SM3 only)")
		}
		if len(refs.Reference) == 0 || len(refs.Reference) > maxReferences {
			return bad("references", "签章没有引用任何文件", "the signature references no files")
		}
		refsOK := true
		for _, ref := range refs.Reference {
			p := resolve("", ref.FileRef)
			data, ok := pkg.files[p]
			if !ok {
				r.fail(ResultWrong, "references", "签章引用的文件 "+ref.FileRef+" 不存在", "the referenced file "+ref.FileRef+" does not exist")
				refsOK = false
				continue
			}
			want, err := base64.StdEncoding.DecodeString(strings.TrimSpace(ref.CheckValue))
			h := gm.SM3(data)
			if err != nil || !bytes.Equal(want, h[:]) {
				r.fail(ResultWrong, "references", "文件 "+p+" 在签章后被改动（杂凑值不符）", "file "+p+" was changed after sealing (hash mismatch)")
				refsOK = false
				continue
			}
			covered[p] = true
		}
		if refsOK {
			r.pass("references", fmt.Sprintf("签章覆盖的 %d 个文件的 SM3 杂凑值全部正确", len(refs.Reference)),
				fmt.Sprintf("the SM3 hashes of all %d files the seal covers are correct", len(refs.Reference)))
		}
		svFile := resolve(path.Dir(sigFile), sx.SignedValue)
		sv, ok := pkg.files[svFile]
		if !ok {
			return bad("seal", "签章值文件 "+sx.SignedValue+" 不存在", "the signature value "+sx.SignedValue+" does not exist")
		}
		exempt[svFile] = true
		if len(sx.SignedInfo.StampAnnot) == 0 {
			r.fail(ResultWrong, "seal", "签章没有外观（StampAnnot）", "the seal has no appearance (StampAnnot)")
		}
		sig, err := seal.ParseSignature(sv)
		if err != nil {
			zh, en := "电子签章数据无法解析", "the electronic signature cannot be parsed"
			var p seal.Problem
			if errors.As(err, &p) {
				zh, en = zh+"："+p.ZH, en+": "+p.EN
			} else {
				en += ": " + err.Error()
			}
			return bad("seal", zh, en)
		}
		roots, err := s.trustRoots(ctx)
		if err != nil {
			return nil, err
		}
		digest := gm.SM3(sigXML)
		problems := seal.Verify(sig, digest[:], roots)
		if resolve("", sig.PropertyInfo) != sigFile {
			r.fail(ResultWrong, "seal", "签章的原文属性 "+sig.PropertyInfo+" 不是 "+sigFile, "the signature's property "+sig.PropertyInfo+" is not "+sigFile)
		}
		for _, p := range problems {
			r.fail(ResultWrong, "seal", p.ZH, p.EN)
		}
		if len(problems) == 0 {
			at := sig.Time.UTC()
			r.SignedAt = &at
			r.pass("seal", "电子印章“"+sig.Seal.Name+"”及签章有效：制章人签名、印章有效期、签章人证书均通过核验",
				"the electronic seal \""+sig.Seal.Name+"\" and the signature are valid: maker's signature, seal validity and signer's certificate all check out")
			if c, err := gm.ParseCertificate(sig.SignerCert); err == nil {
				signerCodes = append(signerCodes, gm.NameOf(c.Subject).CreditCode)
				signerSerials = append(signerSerials, c.SerialNumber.Text(16))
				signerCerts = append(signerCerts, sig.SignerCert)
			}
		}
	}
	var uncovered []string
	for _, n := range pkg.names {
		if !exempt[n] && !covered[n] {
			uncovered = append(uncovered, n)
		}
	}
	if len(uncovered) > 0 {
		r.fail(ResultWrong, "references", "以下文件不在签章保护范围内："+strings.Join(uncovered, "、"),
			"these files are not covered by the seal: "+strings.Join(uncovered, ", "))
	}

	// The embedded licence data, through Document.xml → Attachments.
	var doc xDocument
	if err := parseXML(pkg.files[docFile], &doc); err != nil {
		return bad("package", docFile+" 无法解析", fmt.Sprintf("%s cannot be parsed: %v", docFile, err))
	}
	var data []byte
	if attFile := resolve(path.Dir(docFile), doc.Attachments); attFile != "" {
		var atts xAttachments
		if b, ok := pkg.files[attFile]; ok && parseXML(b, &atts) == nil {
			for _, a := range atts.Attachment {
				if a.Name == "licence-data" {
					data = pkg.files[resolve(path.Dir(attFile), a.FileLoc)]
				}
			}
		}
	}
	if data == nil {
		if ok, err := s.entityVerdict(ctx, r, signerSerials); err != nil || ok { // sealed for an entity (entity.go)
			return r.finish(), err
		}
		r.fail(ResultNotEnough, "data", "文件中没有本平台嵌入的执照数据，无法与登记系统比对", "the file holds no licence data embedded by this platform; it cannot be compared with the register")
		return r.finish(), nil
	}
	p, lic, sigv, err := parsePayload(data)
	if err != nil {
		return bad("data", "嵌入的执照数据无法读取", err.Error())
	}
	if h := gm.SM3(ofdXML); p.OFDXML != base64.StdEncoding.EncodeToString(h[:]) {
		r.fail(ResultWrong, "references", "OFD.xml 在签章后被改动", "OFD.xml was changed after sealing")
	}
	if h := gm.SM3(sigsXML); p.SignaturesXML != base64.StdEncoding.EncodeToString(h[:]) {
		r.fail(ResultWrong, "references", sigsFile+" 在签章后被改动", sigsFile+" was changed after sealing")
	}
	if err := s.checkOFDSigner(ctx, r, p, signerCodes, signerCerts); err != nil {
		return nil, err
	}
	if err := s.checkPayload(ctx, r, p, lic, sigv); err != nil {
		return nil, err
	}
	return r.finish(), nil
}

// trustRoots returns the certificates seals must chain to: the platform root.
func (s *Service) trustRoots(ctx context.Context) ([][]byte, error) {
	root, err := s.keys.RootCertDER(ctx)
	if err != nil {
		return nil, fmt.Errorf("document: verify: platform root: %w", err)
	}
	return [][]byte{root}, nil
}
