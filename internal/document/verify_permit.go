package document

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/citizen"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/qrtoken"
)

// Verification of permits and of watermarked copies: who must have sealed the file (the
// licence's authority or the permit's department for an original, the platform for a copy), the
// copy's mark, and a permit's data against the library.

// The verdict of a copy that checks out.
const (
	copyValidZH = "加注件正确且有效：证照正确且有效，本文件是本平台签章的加注件"
	copyValidEN = "a valid copy (加注件): the licence is authentic and valid, and this file is a copy sealed by this platform"
)

// checkPayload checks the embedded data of an original or a copy, of a licence or a permit.
func (s *Service) checkPayload(ctx context.Context, r *Report, p *payload, data, sig []byte) error {
	if p.Mark != nil {
		s.checkMark(r, p.Mark)
	}
	if p.Format == permitPayloadFormat {
		return s.checkPermit(ctx, r, p, data, sig)
	}
	return s.checkLicence(ctx, r, p, data, sig)
}

// checkMark reports a copy's mark and whether the copy has expired.
func (s *Service) checkMark(r *Report, m *Mark) {
	c := *m
	r.Copy = &c
	zh, en := WatermarkText(c)
	if !c.Expires.IsZero() && !s.clock().Before(c.Expires) {
		r.fail(ResultNoLonger, "copy", "加注件已于 "+markTime(c.Expires)+" 过期（"+zh+"）",
			"the copy expired on "+markTime(c.Expires)+" (UTC+8) ("+en+")")
		return
	}
	until, untilEN := "", ""
	if !c.Expires.IsZero() {
		until, untilEN = "，有效期至 "+markTime(c.Expires), ", valid until "+markTime(c.Expires)+" (UTC+8)"
	}
	r.pass("copy", "本文件是加注件："+zh+until, "this file is a copy (加注件): "+en+untilEN)
}

// checkOFDSigner checks who sealed an OFD: the platform for a copy, else the licence's authority
// or the permit's issuing department (codes and certs are those of the seals that checked out).
func (s *Service) checkOFDSigner(ctx context.Context, r *Report, p *payload, codes []string, certs [][]byte) error {
	if len(certs) == 0 {
		return nil // no seal checked out: already reported
	}
	plat, err := s.keys.PlatformCertDER(ctx)
	if err != nil {
		return fmt.Errorf("document: verify: platform certificate: %w", err)
	}
	byPlatform := slices.ContainsFunc(certs, func(c []byte) bool { return bytes.Equal(c, plat) })
	switch {
	case p.Mark != nil && !byPlatform:
		r.fail(ResultWrong, "seal", "加注件不是由本平台签章的", "the copy is not sealed by this platform")
	case p.Mark == nil && !slices.Contains(codes, p.AuthorityCode):
		r.fail(ResultWrong, "seal", "签章人不是该证照的登记机关（发证机关）", "the signer is not the licence's registering (issuing) authority")
	}
	return nil
}

// checkPDFSigner checks who signed a PDF (the subject serialNumber of the signer's document
// certificate, which chains to the platform's document CA): the platform for a copy, else the
// licence's authority or the permit's issuing department.
func checkPDFSigner(r *Report, p *payload, serialNumber string) {
	switch {
	case p.Mark != nil && serialNumber != keys.PlatformDocumentSerialNumber:
		r.fail(ResultWrong, "signature", "加注件不是由本平台签名的", fmt.Sprintf("the copy is not signed by this platform (signer %s)", serialNumber))
	case p.Mark == nil && serialNumber != p.AuthorityCode:
		r.fail(ResultWrong, "signature", "签名人不是该证照的登记机关（发证机关）", fmt.Sprintf("the signer (%s) is not the licence's registering (issuing) authority", serialNumber))
	}
}

// reportPermit fills in what a report says of permit data: the type, number, holder (a person's
// name and code masked: reports are shown on public pages) and issuing department.
func reportPermit(r *Report, sd *permitSigned) {
	r.Kind, r.TypeCode, r.TypeName, r.Number = "permit", sd.TypeCode, sd.TypeName, sd.Number
	r.Identifier, r.Version = sd.Identifier, sd.Version
	r.Code, r.Name = sd.HolderCode, sd.HolderName
	if holderCodeTypes[sd.HolderCodeType].person {
		r.Code, r.Name = citizen.Mask(sd.HolderCode), citizen.MaskName(sd.HolderName)
	}
	r.Authority, r.AuthorityCode = sd.IssuerName, sd.IssuerCode
}

// checkPermit checks embedded permit data: the issuing department's SM2 signature over it (made
// when the document was rendered), that it is the library's data of that version, and the
// permit's status now.
func (s *Service) checkPermit(ctx context.Context, r *Report, p *payload, data, sig []byte) error {
	var sd permitSigned
	if err := json.Unmarshal(data, &sd); err != nil || sd.Format != permitSignedFormat || sd.Identifier != p.Identifier ||
		sd.HolderCode != p.Code || sd.Version != p.Version || sd.IssuerCode != p.AuthorityCode || sd.TypeCode != p.TypeCode {
		r.fail(ResultWrong, "data", "嵌入的证照数据与其说明不一致", "the embedded permit data do not match their description")
		return nil
	}
	reportPermit(r, &sd)

	err := s.keys.VerifyAuthorityAt(ctx, p.AuthorityCode, p.CertSerial, p.RenderedAt, data, sig)
	switch k := errs.KindOf(err); {
	case err == nil:
		r.pass("data_signature", "发证机关对证照数据的 SM2 签名有效", "the issuing department's SM2 signature of the permit data is valid")
	case errors.Is(err, keys.ErrSignature) || k == errs.Invalid || k == errs.NotFound:
		zh, en := "签名无法核验", "the signature cannot be checked"
		if e := errs.As(err); e != nil {
			zh, en = e.ZH, e.EN
		}
		r.fail(ResultWrong, "data_signature", "发证机关对证照数据的签名无效："+zh, "the issuing department's signature of the permit data is invalid: "+en)
		return nil
	default:
		return fmt.Errorf("document: verify permit signature: %w", err)
	}

	reg, err := s.registeredPermit(ctx, r, p.Identifier)
	if err != nil || reg == nil {
		return err
	}
	if !bytes.Equal(PermitSignedBytes(reg), data) {
		r.fail(ResultWrong, "registry", "文件中的证照数据与证照库中该版本的数据不一致", "the permit data in the file differ from the library's data of this version")
		return nil
	}
	r.pass("registry", fmt.Sprintf("证照数据与证照库中第 %d 版一致", reg.Version), fmt.Sprintf("the permit data equal the library's data of version %d", reg.Version))
	s.checkPermitStatus(r, reg)
	return nil
}

// registeredPermit asks the library for a permit version; nil (with the reason reported) when it
// cannot answer.
func (s *Service) registeredPermit(ctx context.Context, r *Report, identifier string) (*Permit, error) {
	if s.permits == nil {
		r.fail(ResultNotEnough, "registry", "本平台未接入证照库，无法与登记的证照数据比对", "no licence library is connected: the permit cannot be compared with the register")
		return nil, nil
	}
	reg, err := s.permits.Permit(ctx, identifier)
	switch {
	case errs.Is(err, errs.NotFound):
		r.fail(ResultNoSuchLicence, "registry", "证照库中没有标识为 "+identifier+" 的证照", "the library has no licence with identifier "+identifier)
		return nil, nil
	case errs.Is(err, errs.Invalid):
		r.fail(ResultWrong, "registry", "电子证照标识无效："+identifier, "invalid licence identifier: "+identifier)
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("document: verify: library: %w", err)
	}
	return reg, nil
}

// checkPermitStatus sets the result from the status and validity of permit version p now. A
// permit is valid through the whole last day of its validity (China time).
func (s *Service) checkPermitStatus(r *Report, p *Permit) {
	st := strings.ToLower(strings.TrimSpace(p.Status))
	r.PermitStatus, r.CurrentVersion = st, p.Version
	now := s.clock()
	switch st {
	case PermitValid, "active", "":
		if from := p.validFrom(); from.After(now.Add(time.Minute)) {
			r.fail(ResultNotActivated, "status", "证照尚未生效（自 "+dateZH(from)+" 起有效）", "the permit is not yet in effect (valid from "+from.In(chinaTime).Format(time.DateOnly)+")")
			return
		}
		if !p.ValidUntil.IsZero() {
			y, m, d := p.ValidUntil.In(chinaTime).Date()
			if end := time.Date(y, m, d+1, 0, 0, 0, 0, chinaTime); !now.Before(end) {
				r.PermitStatus = PermitExpired
				r.fail(ResultNoLonger, "status", "证照已过有效期（至 "+dateZH(p.ValidUntil)+"）", "the permit has expired (valid until "+p.ValidUntil.In(chinaTime).Format(time.DateOnly)+")")
				return
			}
		}
		r.PermitStatus = PermitValid
		r.pass("status", "证照当前有效", "the permit is currently valid")
	case PermitSuspended:
		r.fail(ResultSuspended, "status", "证照已暂停使用", "the permit is suspended")
	case PermitCancelled:
		r.fail(ResultNoLonger, "status", "证照已注销", "the permit was cancelled")
	case PermitRevoked:
		r.fail(ResultNoLonger, "status", "证照已被吊销（撤销）", "the permit was revoked")
	case PermitExpired:
		r.fail(ResultNoLonger, "status", "证照已过有效期", "the permit has expired")
	case PermitSuperseded:
		r.fail(ResultNoLonger, "status", fmt.Sprintf("第 %d 版已被新版本替代", p.Version), fmt.Sprintf("version %d was superseded by a newer version", p.Version))
	default:
		r.fail(ResultNotEnough, "status", "证照状态未知："+p.Status, "unknown permit status: "+p.Status)
	}
}

// checkPermitToken checks a permit QR token against the library (its signature has checked out).
func (s *Service) checkPermitToken(ctx context.Context, r *Report, t *qrtoken.Token) error {
	r.Kind = "permit"
	reg, err := s.registeredPermit(ctx, r, t.Identifier)
	if err != nil || reg == nil {
		return err
	}
	if reg.Version != t.Version || !strings.EqualFold(reg.IssuerCode, t.AuthorityCode) || reg.tokenCode() != t.Code {
		r.fail(ResultWrong, "registry", "二维码内容与证照库中的证照不一致", "the QR content does not match the permit in the library")
		return nil
	}
	reportPermit(r, &permitSigned{TypeCode: reg.TypeCode, TypeName: reg.TypeName, Number: reg.Number, Identifier: reg.Identifier,
		Version: reg.Version, HolderCode: reg.HolderCode, HolderName: reg.HolderName, HolderCodeType: reg.HolderCodeType,
		IssuerCode: reg.IssuerCode, IssuerName: reg.IssuerName})
	r.pass("registry", "证照库中有此证照", "the permit exists in the library")
	s.checkPermitStatus(r, reg)
	return nil
}
