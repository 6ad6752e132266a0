package document

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/qrtoken"
)

// Verification results, the codes of the sharing-service contract (STANDARDS §7).
const (
	ResultValid         = 0 // 正确且有效
	ResultNotActivated  = 1 // 正确，未生效
	ResultSuspended     = 2 // 正确，暂停使用
	ResultNoLonger      = 3 // 正确，已失效 (superseded, cancelled, revoked)
	ResultNotEnough     = 4 // 数据不足，无法核验
	ResultNoSuchLicence = 5 // 无此证照
	ResultNoData        = 6 // 未提供数据
	ResultWrong         = 7 // 部分错误或不完整
)

// resultWords are the words of each result code.
var resultWords = [...]struct{ zh, en string }{
	{"证照正确且有效", "the licence is authentic and valid"},
	{"证照正确，尚未生效", "the licence is authentic but not yet in effect"},
	{"证照正确，已暂停使用", "the licence is authentic but suspended"},
	{"证照正确，但已失效", "the licence is authentic but no longer valid"},
	{"数据不足，无法核验", "not enough data to verify"},
	{"登记系统中没有此证照", "no such licence in the register"},
	{"未提供待核验的数据", "no data was given to verify"},
	{"证照文件部分错误或不完整，不可信", "the licence file is partly wrong or incomplete: do not trust it"},
}

// ResultWords returns a result code in a few words, in Chinese and English (a report's ZH and EN
// add what failed).
func ResultWords(code int) (zh, en string) {
	if code < 0 || code >= len(resultWords) {
		return "核验结果未知", "unknown result"
	}
	return resultWords[code].zh, resultWords[code].en
}

// precedence orders results when several checks fail: a wrong file outranks everything but a
// missing one; the registry's answers come after the file's integrity.
var precedence = [...]int{ResultValid: 0, ResultNotActivated: 1, ResultSuspended: 2, ResultNoLonger: 3,
	ResultNoSuchLicence: 4, ResultNotEnough: 5, ResultWrong: 6, ResultNoData: 7}

// Check is one verification step and its outcome.
type Check struct {
	Name string `json:"name"` // stable key, e.g. "references", "seal", "signature", "data", "status"
	OK   bool   `json:"ok"`
	ZH   string `json:"zh"`
	EN   string `json:"en"`
}

// Report is the answer of a verification.
type Report struct {
	Result int     `json:"result"` // STANDARDS §7
	Valid  bool    `json:"valid"`  // Result == ResultValid
	Format string  `json:"format"` // "ofd", "pdf" or "qr"; "" when not recognised
	ZH     string  `json:"zh"`     // the verdict in words
	EN     string  `json:"en"`
	Checks []Check `json:"checks"`

	// What the file or token says, when it could be read.
	Identifier    string     `json:"identifier,omitempty"`
	Code          string     `json:"code,omitempty"`
	Name          string     `json:"name,omitempty"`
	Version       int        `json:"version,omitempty"`
	Authority     string     `json:"authority,omitempty"`
	AuthorityCode string     `json:"authority_code,omitempty"`
	SignedAt      *time.Time `json:"signed_at,omitempty"`
	// The licence's state in the register now.
	Status         license.Status `json:"status,omitempty"`
	CurrentVersion int            `json:"current_version,omitempty"`
	// SignedBy is SignedByEntity for a document sealed on behalf of a market entity (Code and
	// Name are then the entity's, and there is no licence identifier); empty for a licence.
	SignedBy string `json:"signed_by,omitempty"`

	// A permit (a licence of another type): Kind is "permit"; Code and Name are the holder's (a
	// person's masked), Authority and AuthorityCode the issuing department.
	Kind         string `json:"kind,omitempty"`
	TypeCode     string `json:"type_code,omitempty"`
	TypeName     string `json:"type_name,omitempty"`
	Number       string `json:"number,omitempty"`
	PermitStatus string `json:"permit_status,omitempty"` // the permit's status in the library now
	// Copy is the mark of a watermarked copy (加注件): for whom, why, the case, when, until when.
	// A copy that checks out has Result 0 and the words "valid copy"; nil for an original.
	Copy *Mark `json:"copy,omitempty"`
}

func newReport(format string) *Report { return &Report{Result: ResultValid, Format: format} }

func (r *Report) pass(name, zh, en string) {
	r.Checks = append(r.Checks, Check{Name: name, OK: true, ZH: zh, EN: en})
}

// fail records a failed check and raises the result to code if it outranks the current one.
func (r *Report) fail(code int, name, zh, en string) {
	r.Checks = append(r.Checks, Check{Name: name, OK: false, ZH: zh, EN: en})
	r.raise(code)
}

func (r *Report) raise(code int) {
	if precedence[code] > precedence[r.Result] {
		r.Result = code
	}
}

// failed reports whether the file itself failed a check (as opposed to the licence's status).
func (r *Report) failed() bool {
	return r.Result == ResultWrong || r.Result == ResultNotEnough || r.Result == ResultNoData
}

// finish sets the verdict words.
func (r *Report) finish() *Report {
	r.Valid = r.Result == ResultValid
	w := resultWords[r.Result]
	r.ZH, r.EN = w.zh, w.en
	if r.Copy != nil && r.Result == ResultValid {
		r.ZH, r.EN = copyValidZH, copyValidEN
	}
	var zh, en []string
	for _, c := range r.Checks {
		if !c.OK {
			zh, en = append(zh, c.ZH), append(en, c.EN)
		}
	}
	if len(zh) > 0 {
		r.ZH += "：" + strings.Join(zh, "；")
		r.EN += ": " + strings.Join(en, "; ")
	}
	return r
}

// Limits of what the verifier reads. A file over MaxFileSize is refused before it is parsed.
const (
	MaxFileSize   = 32 << 20 // bytes of an uploaded file
	maxEntries    = 256      // files in an OFD package
	maxEntrySize  = 16 << 20 // uncompressed bytes of one package file
	maxTotalSize  = 64 << 20 // uncompressed bytes of all package files
	maxXMLSize    = 4 << 20  // bytes of one XML file
	maxXMLDepth   = 64
	maxXMLTokens  = 200_000
	maxSignatures = 16
	maxReferences = 1024
)

// Verify checks a licence file (OFD or PDF, recognised by content) offline and online and says
// what is wrong in words. Bad input of any kind gives a report, not an error; the error is for
// failures of the platform itself (the database).
func (s *Service) Verify(ctx context.Context, file []byte) (*Report, error) {
	switch {
	case len(file) == 0:
		r := newReport("")
		r.fail(ResultNoData, "file", "没有上传文件", "no file was given")
		return r.finish(), nil
	case len(file) > MaxFileSize:
		r := newReport("")
		r.fail(ResultNotEnough, "file", fmt.Sprintf("文件过大（%d 字节，上限 %d）", len(file), MaxFileSize),
			fmt.Sprintf("the file is too large (%d bytes, limit %d)", len(file), MaxFileSize))
		return r.finish(), nil
	case bytes.HasPrefix(file, []byte("PK\x03\x04")) || bytes.HasPrefix(file, []byte("PK\x05\x06")):
		return s.verifyOFD(ctx, file)
	case bytes.HasPrefix(file, []byte("%PDF-")):
		return s.verifyPDF(ctx, file)
	}
	r := newReport("")
	r.fail(ResultNotEnough, "format", "文件既不是 OFD 也不是 PDF，无法核验", "the file is neither an OFD nor a PDF document; it cannot be verified")
	return r.finish(), nil
}

// signedData is the part of license.SignedBytes a report shows.
type signedData struct {
	Identifier string `json:"identifier"`
	Code       string `json:"code"`
	Version    int    `json:"version"`
	Face       struct {
		Name string `json:"name"`
	} `json:"face"`
	Authority     string `json:"authority"`
	AuthorityCode string `json:"authority_code"`
}

// checkLicence checks embedded licence data: the authority's SM2 signature over it, that it is
// the registered data of that version, and the licence's status now.
func (s *Service) checkLicence(ctx context.Context, r *Report, p *payload, data, sig []byte) error {
	var sd signedData
	if err := json.Unmarshal(data, &sd); err != nil || sd.Identifier != p.Identifier || sd.Code != p.Code ||
		sd.Version != p.Version || sd.AuthorityCode != p.AuthorityCode {
		r.fail(ResultWrong, "data", "嵌入的执照数据与其说明不一致", "the embedded licence data do not match their description")
		return nil
	}
	r.Identifier, r.Code, r.Name, r.Version = sd.Identifier, sd.Code, sd.Face.Name, sd.Version
	r.Authority, r.AuthorityCode = sd.Authority, sd.AuthorityCode

	err := s.keys.VerifyAuthorityAt(ctx, p.AuthorityCode, p.CertSerial, p.IssuedAt, data, sig)
	switch k := errs.KindOf(err); {
	case err == nil:
		r.pass("data_signature", "登记机关对执照数据的 SM2 签名有效", "the registering authority's SM2 signature of the licence data is valid")
	case errors.Is(err, keys.ErrSignature) || k == errs.Invalid || k == errs.NotFound:
		e := errs.As(err)
		zh, en := "签名无法核验", "the signature cannot be checked"
		if e != nil {
			zh, en = e.ZH, e.EN
		}
		r.fail(ResultWrong, "data_signature", "登记机关对执照数据的签名无效："+zh, "the registering authority's signature of the licence data is invalid: "+en)
		return nil
	default:
		return fmt.Errorf("document: verify licence signature: %w", err)
	}

	l, err := s.licenceVersion(ctx, p.Code, p.Identifier)
	switch {
	case errs.Is(err, errs.NotFound):
		r.fail(ResultNoSuchLicence, "registry", "登记系统中没有标识为 "+p.Identifier+" 的证照", "the register has no licence with identifier "+p.Identifier)
		return nil
	case errs.Is(err, errs.Invalid):
		r.fail(ResultWrong, "registry", "电子证照标识无效："+p.Identifier, "invalid licence identifier: "+p.Identifier)
		return nil
	case err != nil:
		return fmt.Errorf("document: verify: registry: %w", err)
	}
	if !bytes.Equal(license.SignedBytes(l), data) {
		r.fail(ResultWrong, "registry", "文件中的登记事项与登记系统中该版本的登记事项不一致", "the face data in the file differ from the registered data of this version")
		return nil
	}
	r.pass("registry", fmt.Sprintf("登记事项与登记系统中第 %d 版一致", l.Version), fmt.Sprintf("the face data equal the registered data of version %d", l.Version))
	return s.checkStatus(ctx, r, l)
}

// licenceVersion returns the licence version with this identifier from the register. Most files
// and QR codes are of a licence's current version, so it asks for the current licence of the
// credit code they name first (which the register answers from its cache of current licences)
// and only when that is another version (or the code names nothing) for the identifier.
func (s *Service) licenceVersion(ctx context.Context, code, identifier string) (*license.Licence, error) {
	if code != "" {
		if cur, err := s.licences.Get(ctx, code); err == nil && cur.Identifier == identifier {
			return cur, nil
		}
	}
	return s.licences.Get(ctx, identifier)
}

// checkStatus sets the result from the status of licence version l now.
func (s *Service) checkStatus(ctx context.Context, r *Report, l *license.Licence) error {
	r.Status, r.CurrentVersion = l.Status, l.Version
	switch l.Status {
	case license.Active:
		if l.IssuedAt.After(s.clock().Add(time.Minute)) {
			r.fail(ResultNotActivated, "status", "执照尚未生效", "the licence is not yet in effect")
			return nil
		}
		r.pass("status", "执照当前有效（存续）", "the licence is currently valid (active)")
	case license.Suspended:
		r.fail(ResultSuspended, "status", "执照已暂停使用："+l.StatusReason, "the licence is suspended: "+l.StatusReason)
	case license.Cancelled:
		r.fail(ResultNoLonger, "status", "市场主体已注销："+l.StatusReason, "the entity was cancelled (注销): "+l.StatusReason)
	case license.Revoked:
		r.fail(ResultNoLonger, "status", "营业执照已被吊销："+l.StatusReason, "the licence was revoked (吊销): "+l.StatusReason)
	case license.Superseded:
		cur, err := s.licences.Get(ctx, l.Code)
		if err != nil && !errs.Is(err, errs.NotFound) {
			return fmt.Errorf("document: verify: current version: %w", err)
		}
		zh, en := fmt.Sprintf("第 %d 版已被变更登记后的新版本替代", l.Version), fmt.Sprintf("version %d was superseded by a change registration", l.Version)
		if cur != nil {
			r.Status, r.CurrentVersion = cur.Status, cur.Version
			zh += fmt.Sprintf("（当前为第 %d 版）", cur.Version)
			en += fmt.Sprintf(" (the current version is %d)", cur.Version)
		}
		r.fail(ResultNoLonger, "status", zh, en)
	default:
		r.fail(ResultNotEnough, "status", "执照状态未知："+string(l.Status), "unknown licence status: "+string(l.Status))
	}
	return nil
}

// VerifyToken checks a licence QR code: the token (or the URL the QR holds) is read, its SM2
// signature checked against the registering authority's certificate (offline), and the licence
// looked up for its status now (online).
func (s *Service) VerifyToken(ctx context.Context, token string) (*Report, error) {
	r := newReport("qr")
	if strings.TrimSpace(token) == "" {
		r.fail(ResultNoData, "token", "没有提供二维码内容", "no QR content was given")
		return r.finish(), nil
	}
	tok, err := qrtoken.FromURL(token)
	// A token is a fixed string whose claims name the key that signed it: once its signature has
	// checked out, it always will. Verified tokens are kept, parsed, so that a code scanned again
	// costs no signature check; the licence's status below is looked up every time.
	t, verified := s.tokenSigs.get(tok)
	if err == nil && !verified {
		t, err = qrtoken.Parse(tok)
	}
	if err != nil {
		zh, en := "二维码内容无法读取", "the QR content cannot be read"
		if e := errs.As(err); e != nil {
			zh, en = zh+"："+e.ZH, en+": "+e.EN
		}
		r.fail(ResultWrong, "token", zh, en)
		return r.finish(), nil
	}
	r.Identifier, r.Code, r.Version, r.AuthorityCode = t.Identifier, t.Code, t.Version, t.AuthorityCode
	issued := t.IssuedAt.UTC()
	r.SignedAt = &issued
	if terr := t.CheckTime(s.clock()); terr != nil { // presentation tokens expire; licence tokens do not
		e := errs.As(terr)
		r.fail(ResultNoLonger, "token_time", e.ZH, e.EN)
	}
	if !verified {
		var pub *ecdsa.PublicKey
		switch t.Type {
		case qrtoken.TypeLicence, qrtoken.TypePermit:
			pub, err = s.authorityKey(ctx, t.AuthorityCode, t.CertSerial)
		case qrtoken.TypePresentation:
			var sg gm.Signer
			if sg, _, err = s.keys.PlatformSigner(ctx); err == nil {
				pub = sg.Public()
			}
		}
		switch k := errs.KindOf(err); {
		case err == nil:
		case k == errs.NotFound || k == errs.Invalid:
			e := errs.As(err)
			r.fail(ResultWrong, "token_signature", "二维码的签名证书不是本平台登记机关的证书："+e.ZH, "the QR code's certificate is not one of this platform's authorities: "+e.EN)
			return r.finish(), nil
		default:
			return nil, err
		}
		if err := t.Verify(pub); err != nil {
			e := errs.As(err)
			r.fail(ResultWrong, "token_signature", e.ZH, e.EN)
			return r.finish(), nil
		}
		s.tokenSigs.put(tok, t)
	}
	r.pass("token_signature", "二维码由登记机关签名，内容未被改动", "the QR code is signed by the registering authority and unaltered")
	if t.Type == qrtoken.TypePermit {
		if err := s.checkPermitToken(ctx, r, t); err != nil {
			return nil, err
		}
		return r.finish(), nil
	}
	l, err := s.licenceVersion(ctx, t.Code, t.Identifier)
	switch {
	case errs.Is(err, errs.NotFound):
		r.fail(ResultNoSuchLicence, "registry", "登记系统中没有标识为 "+t.Identifier+" 的证照", "the register has no licence with identifier "+t.Identifier)
		return r.finish(), nil
	case errs.Is(err, errs.Invalid):
		r.fail(ResultWrong, "registry", "电子证照标识无效："+t.Identifier, "invalid licence identifier: "+t.Identifier)
		return r.finish(), nil
	case err != nil:
		return nil, fmt.Errorf("document: verify token: registry: %w", err)
	}
	if l.Code != t.Code || l.Version != t.Version || l.AuthorityCode != t.AuthorityCode {
		r.fail(ResultWrong, "registry", "二维码内容与登记系统中的证照不一致", "the QR content does not match the licence in the register")
		return r.finish(), nil
	}
	r.Name, r.Authority = l.Face.Name, l.Authority
	r.pass("registry", "登记系统中有此证照", "the licence exists in the register")
	if err := s.checkStatus(ctx, r, l); err != nil {
		return nil, err
	}
	return r.finish(), nil
}

// authorityCert is an authority certificate checked once for VerifyToken.
type authorityCert struct {
	pub *ecdsa.PublicKey
}

// authorityKey returns the public key of the authority's SM2 certificate with this serial, after
// checking that the platform root issued it; results are cached.
func (s *Service) authorityKey(ctx context.Context, code, serial string) (*ecdsa.PublicKey, error) {
	key := code + "/" + strings.ToLower(serial)
	if v, ok := s.tokenPub.Load(key); ok {
		return v.(*authorityCert).pub, nil
	}
	der, err := s.keys.AuthorityCertificate(ctx, code, serial)
	if err != nil {
		return nil, err
	}
	cert, err := gm.ParseCertificate(der)
	if err != nil {
		return nil, errs.Invalidf("token", "证书无法读取", "the certificate cannot be read: %v", err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !gm.IsSM2(pub) {
		return nil, errs.Invalidf("token", "证书不是 SM2 证书", "the certificate holds no SM2 key")
	}
	root, err := s.keys.RootCertDER(ctx)
	if err != nil {
		return nil, err
	}
	// Signatures do not depend on time: check the chain at an instant inside the certificate's
	// validity (now, or its last moment once it has expired).
	at := s.clock().UTC()
	if at.After(cert.NotAfter) {
		at = cert.NotAfter
	}
	if at.Before(cert.NotBefore) {
		at = cert.NotBefore
	}
	if err := gm.VerifyChainAt(der, at, root); err != nil {
		return nil, errs.Invalidf("token", "证书不是由平台根证书签发的", "the certificate is not issued by the platform root: %v", err)
	}
	s.tokenPub.Store(key, &authorityCert{pub: pub})
	return pub, nil
}
