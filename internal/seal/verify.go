package seal

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"github.com/elicense/elicense/internal/gm"
)

// Problem is one reason a signature does not verify, with a stable code and messages in zh-CN
// and English.
type Problem struct {
	Code string
	ZH   string
	EN   string
}

// Error returns the English message, so that a Problem can be used as an error.
func (p Problem) Error() string { return "seal: " + p.EN }

// Problem codes.
const (
	// CodeMalformed: the signature or its seal is missing parts.
	CodeMalformed = "malformed"
	// CodeDataHash: the signed data's hash is not the one signed (原文杂凑值不符).
	CodeDataHash = "data_hash_mismatch"
	// CodeSealSignature: the seal maker's signature on the seal does not verify.
	CodeSealSignature = "seal_signature_invalid"
	// CodeSealMaker: the seal maker's certificate does not chain to a trusted root at the time
	// the seal was made.
	CodeSealMaker = "seal_maker_untrusted"
	// CodeSealValidity: the seal was not valid at the signing time.
	CodeSealValidity = "seal_not_valid_at_signing_time"
	// CodeSignerNotInSeal: the signer's certificate is not in the seal's certificate list.
	CodeSignerNotInSeal = "signer_not_in_seal"
	// CodeSignerChain: the signer's certificate does not chain to a trusted root at the signing
	// time (or is not a valid SM2 certificate).
	CodeSignerChain = "signer_cert_untrusted"
	// CodeSignature: the signer's signature over TBS_Sign does not verify.
	CodeSignature = "signature_invalid"
	// CodeAlgorithm: a signature algorithm or key other than SM2 with SM3.
	CodeAlgorithm = "unknown_algorithm"
)

// Verify checks sig against dataHash, the hash of the data it claims to sign (for OFD, the SM3 of
// Signature.xml), with roots the trusted certificates (self-signed ones are anchors, others
// intermediates). It checks, as GB/T 38540-2020 §8 lists: the data hash; the seal maker's
// signature on the seal and the maker's certificate (at the seal's creation time); the seal's
// validity at the signing time; that the signer's certificate is in the seal's list; the
// signer's certificate chain at the signing time; the signature itself. Only SM2 with SM3 is
// accepted. It returns every problem found; none means the signature is valid.
func Verify(sig *Signature, dataHash []byte, roots [][]byte) []Problem {
	if sig == nil || sig.Seal == nil {
		return []Problem{{Code: CodeMalformed, ZH: "电子签章数据不完整", EN: "the signature data is incomplete"}}
	}
	var ps []Problem
	add := func(code, zh, en string, args ...any) {
		ps = append(ps, Problem{Code: code, ZH: fmt.Sprintf(zh, args...), EN: fmt.Sprintf(en, args...)})
	}
	s := sig.Seal

	if len(dataHash) == 0 || !bytes.Equal(sig.DataHash, dataHash) {
		add(CodeDataHash, "原文杂凑值与签章中记录的不一致，签章后数据已被改动（%s）",
			"the hash of the signed data differs from the one in the signature: the data changed after signing (%s)", sig.PropertyInfo)
	}

	// The seal: maker's signature, maker's certificate, validity.
	if !isSM2(s.SignAlg) {
		add(CodeAlgorithm, "印章签名算法 %s 不受支持（仅支持 SM2/SM3）", "seal signature algorithm %s is not supported (SM2 with SM3 only)", oidName(s.SignAlg))
	} else if pub, err := sm2Key(s.MakerCert); errors.Is(err, errNotSM2) {
		add(CodeAlgorithm, "制章人证书的密钥不是 SM2 密钥", "the seal maker's certificate does not hold an SM2 key")
	} else if err != nil {
		add(CodeSealSignature, "制章人证书无法读取：%v", "the seal maker's certificate cannot be read: %v", err)
	} else if !gm.Verify(pub, s.TBS, sigDER(s.SignedValue)) {
		add(CodeSealSignature, "制章人对印章“%s”的签名无效，印章数据已被改动或伪造", "the seal maker's signature on seal %q is invalid: the seal was altered or forged", s.Name)
	} else if err := gm.VerifyChainAt(s.MakerCert, s.Created, roots...); err != nil {
		add(CodeSealMaker, "制章人证书在制章时（%s）不可信：%v", "the seal maker's certificate was not trusted when the seal was made (%s): %v", stamp(s.Created), err)
	}
	if sig.Time.Before(s.ValidFrom) || sig.Time.After(s.ValidTo) {
		add(CodeSealValidity, "签章时间 %s 不在印章“%s”的有效期（%s 至 %s）内", "signing time %s is outside the validity of seal %q (%s to %s)",
			stamp(sig.Time), s.Name, stamp(s.ValidFrom), stamp(s.ValidTo))
	}

	// The signer.
	if !s.HasCert(sig.SignerCert) {
		add(CodeSignerNotInSeal, "签章人证书不在印章“%s”的证书列表中，签章人无权使用该印章", "the signer's certificate is not in the certificate list of seal %q: the signer may not use it", s.Name)
	}
	pub, keyErr := sm2Key(sig.SignerCert)
	switch {
	case errors.Is(keyErr, errNotSM2):
		add(CodeAlgorithm, "签章人证书的密钥不是 SM2 密钥", "the signer's certificate does not hold an SM2 key")
	case keyErr != nil:
		add(CodeSignerChain, "签章人证书无法读取：%v", "the signer's certificate cannot be read: %v", keyErr)
	default:
		if err := gm.VerifyChainAt(sig.SignerCert, sig.Time, roots...); err != nil {
			add(CodeSignerChain, "签章人证书在签章时（%s）不可信：%v", "the signer's certificate was not trusted at the signing time (%s): %v", stamp(sig.Time), err)
		}
		if !isSM2(sig.SignAlg) {
			add(CodeAlgorithm, "签章签名算法 %s 不受支持（仅支持 SM2/SM3）", "signature algorithm %s is not supported (SM2 with SM3 only)", oidName(sig.SignAlg))
		} else if !gm.Verify(pub, sig.TBS, sigDER(sig.Value)) {
			add(CodeSignature, "签章人的签名值无效，签章数据已被改动或伪造", "the signer's signature is invalid: the signature data was altered or forged")
		}
	}
	return ps
}

var errNotSM2 = errors.New("not an SM2 key")

// sm2Key returns the SM2 public key of a DER certificate (errNotSM2 for a key of another kind).
func sm2Key(der []byte) (*ecdsa.PublicKey, error) {
	c, err := gm.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if pub, ok := c.PublicKey.(*ecdsa.PublicKey); ok && gm.IsSM2(pub) {
		return pub, nil
	}
	return nil, errNotSM2
}

func oidName(oid asn1.ObjectIdentifier) string {
	if len(oid) == 0 {
		return "(none)"
	}
	return oid.String()
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }
