package seal

import (
	"context"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
)

// Signature is a parsed SES_Signature (电子签章数据) of either version.
type Signature struct {
	Version      int       // Version4 or Version1, from TBS_Sign's version
	Seal         *Seal     // the seal signed with
	Time         time.Time // signing time (签章时间), UTC
	DataHash     []byte    // hash of the signed data (原文杂凑值)
	PropertyInfo string    // what was signed, e.g. the path of an OFD Signature.xml
	SignerCert   []byte    // DER certificate of the signer (签章人)
	SignAlg      asn1.ObjectIdentifier
	Value        []byte // the signer's signature over TBS
	// TBS is DER(TBS_Sign), what the signer signed.
	TBS []byte
	// TimeStamp holds the optional time stamp on the signature value (version 4), as stored.
	TimeStamp []byte
	// Raw is the whole DER SES_Signature.
	Raw []byte
}

type tbsSignV4 struct {
	Version      int
	ESeal        asn1.RawValue
	TimeInfo     time.Time `asn1:"generalized"`
	DataHash     asn1.BitString
	PropertyInfo string `asn1:"ia5"`
}

type sesSignatureV4 struct {
	ToSign         asn1.RawValue
	Cert           []byte
	SignatureAlgID asn1.ObjectIdentifier
	Signature      asn1.BitString
}

// Sign makes a version-4 SES_Signature (GB/T 38540-2020 §7): the seal sealDER (a version-4
// SESeal), the signing time at, dataHash (the SM3 hash of the signed data) and propertyInfo (what
// was signed, printable ASCII), signed by signer whose certificate signerCertDER must be in the
// seal's certificate list. The seal must be valid at at. It returns the DER SES_Signature.
func Sign(ctx context.Context, sealDER []byte, signer gm.Signer, signerCertDER []byte, dataHash []byte, propertyInfo string, at time.Time) ([]byte, error) {
	if signer == nil {
		return nil, errors.New("seal: sign: no signer key")
	}
	s, err := ParseSeal(sealDER)
	if err != nil {
		return nil, fmt.Errorf("seal: sign: %w", err)
	}
	if s.Version != Version4 {
		return nil, fmt.Errorf("seal: sign: seal %q is version %d; only version-4 seals are signed with", s.ID, s.Version)
	}
	if err := sameKey(signerCertDER, signer.Public()); err != nil {
		return nil, fmt.Errorf("seal: sign: signer certificate: %w", err)
	}
	if !s.HasCert(signerCertDER) {
		return nil, fmt.Errorf("seal: sign: the signer's certificate is not in the certificate list of seal %q", s.ID)
	}
	at = at.UTC().Truncate(time.Second)
	if at.Before(s.ValidFrom) || at.After(s.ValidTo) {
		return nil, fmt.Errorf("seal: sign: seal %q is valid from %s to %s, not at %s", s.ID,
			s.ValidFrom.Format(time.RFC3339), s.ValidTo.Format(time.RFC3339), at.Format(time.RFC3339))
	}
	if len(dataHash) == 0 || len(dataHash) > 64 {
		return nil, fmt.Errorf("seal: sign: data hash of %d bytes: want 1–64", len(dataHash))
	}
	if !isIA5(propertyInfo) || len(propertyInfo) > 1024 {
		return nil, fmt.Errorf("seal: sign: property info %q must be at most 1024 printable ASCII characters", propertyInfo)
	}
	tbs, err := asn1.Marshal(tbsSignV4{
		Version:      Version4,
		ESeal:        asn1.RawValue{FullBytes: s.Raw},
		TimeInfo:     at,
		DataHash:     bits(dataHash),
		PropertyInfo: propertyInfo,
	})
	if err != nil {
		return nil, fmt.Errorf("seal: sign: encode: %w", err)
	}
	sig, err := signer.Sign(ctx, tbs)
	if err != nil {
		return nil, fmt.Errorf("seal: sign: %w", err)
	}
	der, err := asn1.Marshal(sesSignatureV4{
		ToSign:         asn1.RawValue{FullBytes: tbs},
		Cert:           signerCertDER,
		SignatureAlgID: OIDSM2WithSM3,
		Signature:      bits(sig),
	})
	if err != nil {
		return nil, fmt.Errorf("seal: sign: encode: %w", err)
	}
	if len(der) > MaxDER {
		return nil, fmt.Errorf("seal: sign: %d bytes exceed the %d-byte limit", len(der), MaxDER)
	}
	return der, nil
}

// ParseSignature parses a DER SES_Signature of version 4 (GB/T 38540-2020) or version 1 (GM/T
// 0031-2014), with the seal inside it. Errors are *errs.Error of kind Invalid (TooLarge past
// MaxDER) that say what is wrong. The Signature keeps slices of der.
func ParseSignature(der []byte) (*Signature, error) {
	if err := checkSize(der, "signature", "电子签章", "signature"); err != nil {
		return nil, err
	}
	sig, err := parseSignature(der)
	if err != nil {
		return nil, malformed("signature", "电子签章数据", "signature data (SES_Signature)", err)
	}
	return sig, nil
}

func parseSignature(der []byte) (*Signature, error) {
	rv, err := tlv(der)
	if err != nil {
		return nil, err
	}
	el, err := elements(rv, maxElems)
	if err != nil {
		return nil, err
	}
	if len(el) == 0 {
		return nil, errors.New("empty SES_Signature")
	}
	sig := &Signature{Raw: rv.FullBytes, TBS: el[0].FullBytes}
	tbs, err := elements(el[0], maxElems)
	if err != nil {
		return nil, fmt.Errorf("toSign: %w", err)
	}
	if len(tbs) < 5 {
		return nil, fmt.Errorf("toSign has %d elements, want 5 to 7", len(tbs))
	}
	v, err := readInt(tbs[0])
	if err != nil {
		return nil, fmt.Errorf("toSign version: %w", err)
	}
	switch {
	case v == Version4:
		sig.Version = Version4
	case v >= 1 && v <= 3:
		sig.Version = Version1
	default:
		return nil, fmt.Errorf("unsupported signature version %d (this reader knows 1–4)", v)
	}
	sealDER := tbs[1].FullBytes
	if is(tbs[1], asn1.TagOctetString) && !tbs[1].IsCompound { // seal wrapped in an OCTET STRING
		sealDER = tbs[1].Bytes
	}
	if sig.Seal, err = parseSeal(sealDER); err != nil {
		return nil, fmt.Errorf("eseal: %w", err)
	}
	if sig.Seal.Version != sig.Version {
		return nil, fmt.Errorf("version-%d signature holds a version-%d seal", sig.Version, sig.Seal.Version)
	}
	if sig.DataHash, err = readBits(tbs[3]); err != nil {
		return nil, fmt.Errorf("dataHash: %w", err)
	}
	if sig.PropertyInfo, err = readString(tbs[4]); err != nil {
		return nil, fmt.Errorf("propertyInfo: %w", err)
	}
	if sig.Version == Version4 {
		// TBS_Sign ::= SEQUENCE{version, eseal, timeInfo GeneralizedTime, dataHash BIT STRING,
		// propertyInfo IA5String, extDatas [0] EXPLICIT ExtensionDatas OPTIONAL}
		if len(tbs) > 6 || len(tbs) == 6 && (tbs[5].Class != asn1.ClassContextSpecific || tbs[5].Tag != 0) {
			return nil, errors.New("toSign: unexpected elements after propertyInfo")
		}
		if sig.Time, err = readTime(tbs[2]); err != nil {
			return nil, fmt.Errorf("timeInfo: %w", err)
		}
		// SES_Signature ::= SEQUENCE{toSign, cert, signatureAlgID, signature, timeStamp [0] OPTIONAL}
		if len(el) < 4 || len(el) > 5 {
			return nil, fmt.Errorf("version-4 SES_Signature has %d elements, want 4 or 5", len(el))
		}
		if sig.SignerCert, err = readOctets(el[1]); err != nil {
			return nil, fmt.Errorf("cert: %w", err)
		}
		if sig.SignAlg, err = readOID(el[2]); err != nil {
			return nil, fmt.Errorf("signatureAlgID: %w", err)
		}
		if sig.Value, err = readBits(el[3]); err != nil {
			return nil, fmt.Errorf("signature: %w", err)
		}
		if len(el) == 5 {
			if el[4].Class != asn1.ClassContextSpecific || el[4].Tag != 0 {
				return nil, fmt.Errorf("timeStamp: want [0], got %s", tagName(el[4]))
			}
			sig.TimeStamp = el[4].Bytes
		}
		return sig, nil
	}
	// GM/T 0031-2014: TBS_Sign ::= SEQUENCE{version, eseal, timeInfo BIT STRING, dataHash BIT
	// STRING, propertyInfo IA5String, cert OCTET STRING, signatureAlgorithm OID};
	// SES_Signature ::= SEQUENCE{toSign, signature BIT STRING}.
	if len(tbs) != 7 {
		return nil, fmt.Errorf("version-1 toSign has %d elements, want 7", len(tbs))
	}
	if sig.Time, err = readTimeInfo(tbs[2]); err != nil {
		return nil, fmt.Errorf("timeInfo: %w", err)
	}
	if sig.SignerCert, err = readOctets(tbs[5]); err != nil {
		return nil, fmt.Errorf("cert: %w", err)
	}
	if sig.SignAlg, err = readOID(tbs[6]); err != nil {
		return nil, fmt.Errorf("signatureAlgorithm: %w", err)
	}
	if len(el) != 2 {
		return nil, fmt.Errorf("version-1 SES_Signature has %d elements, want 2", len(el))
	}
	if sig.Value, err = readBits(el[1]); err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	return sig, nil
}

func checkSize(der []byte, field, zh, en string) error {
	if len(der) == 0 {
		return errs.New(errs.Invalid, field, zh+"数据为空", en+" data is empty")
	}
	if len(der) > MaxDER {
		return &errs.Error{Kind: errs.TooLarge, Field: field,
			ZH: fmt.Sprintf("%s数据过大（%d 字节，上限 %d 字节）", zh, len(der), MaxDER),
			EN: fmt.Sprintf("%s data too large (%d bytes, limit %d)", en, len(der), MaxDER)}
	}
	return nil
}

// digest hashes b with the algorithm named in a certificate digest list.
func digest(alg string, b []byte) []byte {
	switch strings.NewReplacer("-", "", " ", "", "_", "").Replace(strings.ToUpper(alg)) {
	case "SM3", oidSM3.String():
		h := gm.SM3(b)
		return h[:]
	case "SHA256", "2.16.840.1.101.3.4.2.1":
		h := sha256.Sum256(b)
		return h[:]
	}
	return nil
}
