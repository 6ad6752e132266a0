package document

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"regexp"
	"strconv"
	"time"

	"github.com/digitorus/pkcs7"

	"github.com/elicense/elicense/internal/errs"
)

var (
	reByteRange = regexp.MustCompile(`/ByteRange\s*\[\s*(\d{1,10})\s+(\d{1,10})\s+(\d{1,10})\s+(\d{1,10})\s*\]`)
	// The embedded licence data as appendAttachment writes it.
	reEmbedded = regexp.MustCompile(`/Type /EmbeddedFile /Subtype /application#2Fjson /Length (\d{1,8}) >>\nstream\n`)
)

// verifyPDF checks a PDF: its last signature must cover the whole file and be a valid PKCS #7
// signature by a document-signing certificate of this platform's document CA (at the signing
// time), naming the licence's authority; then the embedded licence data (checkLicence).
func (s *Service) verifyPDF(ctx context.Context, file []byte) (*Report, error) {
	r := newReport("pdf")
	bad := func(name, zh, en string) (*Report, error) {
		r.fail(ResultWrong, name, zh, en)
		return r.finish(), nil
	}
	ms := reByteRange.FindAllSubmatchIndex(file, -1)
	if len(ms) == 0 {
		r.fail(ResultNotEnough, "signature", "PDF 没有数字签名，无法核验", "the PDF carries no digital signature; it cannot be verified")
		return r.finish(), nil
	}
	m := ms[len(ms)-1]
	var br [4]int
	for i := range br {
		br[i], _ = strconv.Atoi(string(file[m[2+2*i]:m[3+2*i]]))
	}
	n := len(file)
	if br[0] != 0 || br[1] <= 0 || br[2] <= br[1]+1 || br[2]+br[3] > n || br[1] > n {
		return bad("signature", "签名范围无效", "the signature's byte range is invalid")
	}
	if br[2]+br[3] != n {
		return bad("signature", "签名没有覆盖整个文件：签名后文件被追加或改动", "the signature does not cover the whole file: content was added or changed after signing")
	}
	contents := file[br[1]:br[2]]
	if len(contents) < 2 || contents[0] != '<' || contents[len(contents)-1] != '>' {
		return bad("signature", "签名值的位置不正确", "the signature value is not where the byte range says")
	}
	der, err := hex.DecodeString(string(contents[1 : len(contents)-1]))
	if err != nil {
		return bad("signature", "签名值不是十六进制数据", "the signature value is not hexadecimal")
	}
	var raw asn1.RawValue
	rest, err := asn1.Unmarshal(der, &raw)
	if err != nil || len(bytes.TrimRight(rest, "\x00")) != 0 {
		return bad("signature", "签名值不是有效的 PKCS#7 数据", "the signature value is not valid PKCS #7 data")
	}
	p7, err := pkcs7.Parse(der[:len(der)-len(rest)])
	if err != nil {
		return bad("signature", "签名值无法解析", "the signature value cannot be parsed: "+err.Error())
	}
	signed := make([]byte, 0, br[1]+br[3])
	signed = append(append(signed, file[:br[1]]...), file[br[2]:br[2]+br[3]]...)
	p7.Content = signed
	root, err := s.docKeys.StoredRootCertificate(ctx)
	if errs.Is(err, errs.NotFound) {
		return bad("signature", "签名证书不是本平台签发的（本平台尚未签署过 PDF）", "the signing certificate is not this platform's (it has not signed any PDF yet)")
	} else if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	signer := p7.GetOnlySigner()
	if signer == nil {
		return bad("signature", "签名应有且仅有一个签名人", "the signature must have exactly one signer")
	}
	var signingTime time.Time
	if err := p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeSigningTime, &signingTime); err != nil {
		return bad("signature", "签名没有签名时间", "the signature has no signing time")
	}
	if err := p7.VerifyWithChain(pool); err != nil {
		if _, chain := signer.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: signingTime, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); chain != nil {
			return bad("signature", "签名证书不是由本平台文档签名 CA 签发的，或在签名时不在有效期内",
				"the signing certificate is not issued by this platform's document CA, or was not valid at the signing time: "+chain.Error())
		}
		return bad("signature", "PDF 在签名后被改动，或签名无效", "the PDF was changed after signing, or the signature is invalid: "+err.Error())
	}
	at := signingTime.UTC()
	r.SignedAt = &at
	r.pass("signature", "PDF 签名有效且覆盖整个文件，签名证书由本平台文档签名 CA 签发（"+signer.Subject.CommonName+"）",
		"the PDF signature is valid and covers the whole file; the certificate is issued by this platform's document CA ("+signer.Subject.CommonName+")")

	// The embedded licence data lies in the signed part.
	head := file[:br[1]]
	em := reEmbedded.FindAllSubmatchIndex(head, -1)
	if len(em) == 0 {
		if ok, err := s.entityVerdict(ctx, r, []string{signer.SerialNumber.Text(16)}); err != nil || ok { // signed for an entity (entity.go)
			return r.finish(), err
		}
		r.fail(ResultNotEnough, "data", "文件中没有本平台嵌入的执照数据，无法与登记系统比对", "the file holds no licence data embedded by this platform; it cannot be compared with the register")
		return r.finish(), nil
	}
	e := em[len(em)-1]
	ln, _ := strconv.Atoi(string(head[e[2]:e[3]]))
	if ln > maxPayload || e[1]+ln > len(head) {
		return bad("data", "嵌入的执照数据不完整", "the embedded licence data are incomplete")
	}
	p, data, sig, err := parsePayload(head[e[1] : e[1]+ln])
	if err != nil {
		return bad("data", "嵌入的执照数据无法读取", err.Error())
	}
	checkPDFSigner(r, p, signer.Subject.SerialNumber)
	if err := s.checkPayload(ctx, r, p, data, sig); err != nil {
		return nil, err
	}
	return r.finish(), nil
}
