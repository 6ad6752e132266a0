package seal

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/gm"
)

// Seal types (印章类型), GB/T 38540-2020 §6.2.
const (
	TypeOrganisation = 1 // 单位印章
	TypePersonal     = 2 // 个人印章
)

// Certificate list types (证书列表类型) of a version-4 seal.
const (
	CertListCerts   = 1 // the certificates themselves
	CertListDigests = 2 // digests of the certificates
)

// Versions of the structures.
const (
	Version1 = 1 // GM/T 0031-2014
	Version4 = 4 // GB/T 38540-2020
)

// DefaultVendorID is the vendor identifier (厂商标识, header vid) written when Info.VendorID is
// empty.
const DefaultVendorID = "elicense"

// Info is what a seal says about itself: SES_SealInfo without its header.
type Info struct {
	ID   string // esID (电子印章标识), IA5
	Type int    // TypeOrganisation or TypePersonal
	Name string // 印章名称
	// Certs are the DER certificates of those who may sign with the seal (签章人证书列表).
	Certs [][]byte
	// Created is when the seal was made; ValidFrom and ValidTo bound its validity (UTC, seconds).
	Created, ValidFrom, ValidTo time.Time
	PictureType                 string // "PNG", "GIF", "JPG", "SVG", …
	Picture                     []byte
	WidthMM, HeightMM           int // displayed size of the picture in millimetres
	// VendorID is the header's vid (厂商标识); DefaultVendorID when empty.
	VendorID string
}

// CertDigest is one entry of a certificate digest list (certListType 2).
type CertDigest struct {
	Type  string // digest algorithm as written, e.g. "SM3"
	Value []byte
}

// Seal is a parsed SESeal of either version.
type Seal struct {
	Version int // Version4, or Version1 for GM/T 0031 (header versions 1–3)
	Info
	// CertDigests holds the certificate digest list of a seal with certListType 2 (Certs is then
	// empty).
	CertDigests []CertDigest
	MakerCert   []byte                // DER certificate of the seal maker (制章人)
	SignAlg     asn1.ObjectIdentifier // the maker's signature algorithm
	SignedValue []byte                // the maker's signature
	// Raw is the whole DER SESeal; TBS is what the maker signed: DER(SES_SealInfo) for version 4,
	// DER SEQUENCE{SES_SealInfo, cert, signatureAlgorithm} for version 1.
	Raw, TBS []byte
}

// ASN.1 of GB/T 38540-2020, for writing. Reading goes element by element (see parseSeal) so that
// both versions and the variants other writers produce are accepted.
type sesHeader struct {
	ID      string `asn1:"ia5"`
	Version int
	VID     string `asn1:"ia5"`
}

type propertyV4 struct {
	Type         int
	Name         string `asn1:"utf8"`
	CertListType int
	CertList     [][]byte
	CreateDate   time.Time `asn1:"generalized"`
	ValidStart   time.Time `asn1:"generalized"`
	ValidEnd     time.Time `asn1:"generalized"`
}

type pictureInfo struct {
	Type   string `asn1:"ia5"`
	Data   []byte
	Width  int
	Height int
}

type sealInfoV4 struct {
	Header   sesHeader
	ESID     string `asn1:"ia5"`
	Property propertyV4
	Picture  pictureInfo
}

type sesealV4 struct {
	SealInfo    asn1.RawValue
	Cert        []byte
	SignAlgID   asn1.ObjectIdentifier
	SignedValue asn1.BitString
}

// MakeSeal makes a version-4 SESeal (GB/T 38540-2020 §6) for info, signed by the seal maker whose
// key is maker and certificate makerCertDER, and returns its DER.
func MakeSeal(ctx context.Context, maker gm.Signer, makerCertDER []byte, info Info) ([]byte, error) {
	if maker == nil {
		return nil, errors.New("seal: make seal: no maker key")
	}
	if err := sameKey(makerCertDER, maker.Public()); err != nil {
		return nil, fmt.Errorf("seal: make seal: maker certificate: %w", err)
	}
	if err := checkInfo(&info); err != nil {
		return nil, fmt.Errorf("seal: make seal: %w", err)
	}
	certs := make([][]byte, len(info.Certs))
	copy(certs, info.Certs)
	infoDER, err := asn1.Marshal(sealInfoV4{
		Header: sesHeader{ID: "ES", Version: Version4, VID: info.VendorID},
		ESID:   info.ID,
		Property: propertyV4{
			Type: info.Type, Name: info.Name, CertListType: CertListCerts, CertList: certs,
			CreateDate: info.Created, ValidStart: info.ValidFrom, ValidEnd: info.ValidTo,
		},
		Picture: pictureInfo{Type: info.PictureType, Data: info.Picture, Width: info.WidthMM, Height: info.HeightMM},
	})
	if err != nil {
		return nil, fmt.Errorf("seal: make seal: encode: %w", err)
	}
	sig, err := maker.Sign(ctx, infoDER)
	if err != nil {
		return nil, fmt.Errorf("seal: make seal: %w", err)
	}
	der, err := asn1.Marshal(sesealV4{
		SealInfo:    asn1.RawValue{FullBytes: infoDER},
		Cert:        makerCertDER,
		SignAlgID:   OIDSM2WithSM3,
		SignedValue: bits(sig),
	})
	if err != nil {
		return nil, fmt.Errorf("seal: make seal: encode: %w", err)
	}
	if len(der) > MaxDER {
		return nil, fmt.Errorf("seal: make seal: %d bytes exceed the %d-byte limit", len(der), MaxDER)
	}
	return der, nil
}

// checkInfo validates info for writing and normalises its times and defaults.
func checkInfo(info *Info) error {
	if info.VendorID == "" {
		info.VendorID = DefaultVendorID
	}
	if info.PictureType == "" {
		info.PictureType = "PNG"
	}
	switch {
	case info.ID == "" || len(info.ID) > 256 || !isIA5(info.ID):
		return fmt.Errorf("seal ID %q must be 1–256 printable ASCII characters", info.ID)
	case !isIA5(info.VendorID) || len(info.VendorID) > 256:
		return fmt.Errorf("vendor ID %q must be printable ASCII", info.VendorID)
	case info.Type != TypeOrganisation && info.Type != TypePersonal:
		return fmt.Errorf("seal type %d: want 1 (organisation) or 2 (personal)", info.Type)
	case strings.TrimSpace(info.Name) == "" || !utf8.ValidString(info.Name):
		return errors.New("seal has no name")
	case len(info.Certs) == 0:
		return errors.New("seal lists no signer certificate")
	case len(info.Certs) > MaxCerts:
		return fmt.Errorf("seal lists %d certificates, more than %d", len(info.Certs), MaxCerts)
	case len(info.Picture) == 0:
		return errors.New("seal has no picture")
	case len(info.Picture) > MaxPicture:
		return fmt.Errorf("seal picture of %d bytes exceeds the %d-byte limit", len(info.Picture), MaxPicture)
	case !isIA5(info.PictureType) || len(info.PictureType) > 16:
		return fmt.Errorf("picture type %q must be a short ASCII name such as PNG", info.PictureType)
	case info.WidthMM < 1 || info.WidthMM > maxMM || info.HeightMM < 1 || info.HeightMM > maxMM:
		return fmt.Errorf("picture size %d×%d mm: each side must be 1–%d mm", info.WidthMM, info.HeightMM, maxMM)
	case info.ValidFrom.IsZero() || info.ValidTo.IsZero():
		return errors.New("seal validity period is not set")
	}
	for i, c := range info.Certs {
		if _, err := gm.ParseCertificate(c); err != nil {
			return fmt.Errorf("signer certificate %d: %w", i+1, err)
		}
	}
	if info.Created.IsZero() {
		info.Created = info.ValidFrom
	}
	info.Created = info.Created.UTC().Truncate(time.Second)
	info.ValidFrom = info.ValidFrom.UTC().Truncate(time.Second)
	info.ValidTo = info.ValidTo.UTC().Truncate(time.Second)
	if !info.ValidTo.After(info.ValidFrom) {
		return fmt.Errorf("seal validity ends (%s) before it starts (%s)", info.ValidTo.Format(time.RFC3339), info.ValidFrom.Format(time.RFC3339))
	}
	return nil
}

// sameKey checks that certDER is an SM2 certificate for pub.
func sameKey(certDER []byte, pub *ecdsa.PublicKey) error {
	c, err := gm.ParseCertificate(certDER)
	if err != nil {
		return err
	}
	cp, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || !gm.IsSM2(cp) {
		return errors.New("not an SM2 certificate")
	}
	if pub == nil || !cp.Equal(pub) {
		return errors.New("the key does not match the certificate")
	}
	return nil
}

// ParseSeal parses a DER SESeal of version 4 (GB/T 38540-2020) or version 1 (GM/T 0031-2014).
// Errors are *errs.Error of kind Invalid (TooLarge past MaxDER) that say what is wrong. The Seal
// keeps slices of der.
func ParseSeal(der []byte) (*Seal, error) {
	if err := checkSize(der, "seal", "电子印章", "seal"); err != nil {
		return nil, err
	}
	s, err := parseSeal(der)
	if err != nil {
		return nil, malformed("seal", "电子印章数据", "seal data (SESeal)", err)
	}
	return s, nil
}

func parseSeal(der []byte) (*Seal, error) {
	rv, err := tlv(der)
	if err != nil {
		return nil, err
	}
	// Some GM/T 0031 writers wrap the seal in an OCTET STRING.
	if is(rv, asn1.TagOctetString) && !rv.IsCompound {
		if rv, err = tlv(rv.Bytes); err != nil {
			return nil, err
		}
	}
	el, err := elements(rv, maxElems)
	if err != nil {
		return nil, err
	}
	if len(el) == 0 {
		return nil, errors.New("empty SESeal")
	}
	s := &Seal{Raw: rv.FullBytes}
	if err := s.parseInfo(el[0]); err != nil {
		return nil, fmt.Errorf("eSealInfo: %w", err)
	}
	if s.Version == Version4 {
		// SESeal ::= SEQUENCE{eSealInfo, cert, signAlgID, signedValue}
		if len(el) != 4 {
			return nil, fmt.Errorf("version-4 SESeal has %d elements, want 4", len(el))
		}
		if err := s.parseSignInfo(el[1:]); err != nil {
			return nil, err
		}
		s.TBS = el[0].FullBytes
		return s, nil
	}
	// GM/T 0031-2014: SESeal ::= SEQUENCE{esealInfo, signInfo SEQUENCE{cert, signatureAlgorithm,
	// signData}}; the maker signed SEQUENCE{esealInfo, cert, signatureAlgorithm}.
	if len(el) != 2 {
		return nil, fmt.Errorf("version-1 SESeal has %d elements, want 2", len(el))
	}
	si := el[1]
	if is(si, asn1.TagBitString) { // some writers wrap signInfo in a BIT STRING
		b, err := readBits(si)
		if err != nil {
			return nil, fmt.Errorf("signInfo: %w", err)
		}
		if si, err = tlv(b); err != nil {
			return nil, fmt.Errorf("signInfo: %w", err)
		}
	}
	sel, err := elements(si, maxElems)
	if err != nil {
		return nil, fmt.Errorf("signInfo: %w", err)
	}
	if len(sel) != 3 {
		return nil, fmt.Errorf("signInfo has %d elements, want 3", len(sel))
	}
	if err := s.parseSignInfo(sel); err != nil {
		return nil, err
	}
	if s.TBS, err = sequenceOf(el[0].FullBytes, sel[0].FullBytes, sel[1].FullBytes); err != nil {
		return nil, err
	}
	return s, nil
}

// parseSignInfo reads cert, signature algorithm and signature value.
func (s *Seal) parseSignInfo(el []asn1.RawValue) error {
	var err error
	if s.MakerCert, err = readOctets(el[0]); err != nil {
		return fmt.Errorf("maker cert: %w", err)
	}
	if s.SignAlg, err = readOID(el[1]); err != nil {
		return fmt.Errorf("signature algorithm: %w", err)
	}
	if s.SignedValue, err = readBits(el[2]); err != nil {
		return fmt.Errorf("signed value: %w", err)
	}
	return nil
}

func (s *Seal) parseInfo(rv asn1.RawValue) error {
	el, err := elements(rv, maxElems)
	if err != nil {
		return err
	}
	if len(el) < 4 || len(el) > 5 {
		return fmt.Errorf("%d elements, want 4 or 5", len(el))
	}
	// header SES_Header ::= SEQUENCE{id IA5String "ES", version INTEGER, vid IA5String}
	h, err := elements(el[0], maxElems)
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if len(h) != 3 {
		return fmt.Errorf("header has %d elements, want 3", len(h))
	}
	if id, err := readString(h[0]); err != nil || id != "ES" {
		return fmt.Errorf("header id is not \"ES\" (%q, %v)", id, err)
	}
	v, err := readInt(h[1])
	if err != nil {
		return fmt.Errorf("header version: %w", err)
	}
	switch {
	case v == Version4:
		s.Version = Version4
	case v >= 1 && v <= 3:
		s.Version = Version1
	default:
		return fmt.Errorf("unsupported seal version %d (this reader knows 1–4)", v)
	}
	if s.VendorID, err = readString(h[2]); err != nil {
		return fmt.Errorf("header vid: %w", err)
	}
	if s.ID, err = readString(el[1]); err != nil {
		return fmt.Errorf("esID: %w", err)
	}
	if err := s.parseProperty(el[2]); err != nil {
		return fmt.Errorf("property: %w", err)
	}
	if err := s.parsePicture(el[3]); err != nil {
		return fmt.Errorf("picture: %w", err)
	}
	return nil
}

// parseProperty reads SES_ESPropertyInfo. Version 4: {type, name, certListType, certList,
// createDate, validStart, validEnd} with GeneralizedTime; version 1: {type, name, certList,
// createDate, validStart, validEnd} with UTCTime. The layout is told by the third element, and
// either kind of time is accepted in both.
func (s *Seal) parseProperty(rv asn1.RawValue) error {
	el, err := elements(rv, maxElems)
	if err != nil {
		return err
	}
	if len(el) < 6 {
		return fmt.Errorf("%d elements, want 6 or 7", len(el))
	}
	if s.Type, err = readInt(el[0]); err != nil {
		return fmt.Errorf("type: %w", err)
	}
	if s.Name, err = readString(el[1]); err != nil {
		return fmt.Errorf("name: %w", err)
	}
	listType, rest := CertListCerts, el[2:]
	if is(el[2], asn1.TagInteger) {
		if listType, err = readInt(el[2]); err != nil {
			return fmt.Errorf("certListType: %w", err)
		}
		rest = el[3:]
	}
	if len(rest) != 4 {
		return fmt.Errorf("%d elements, want 6 (version 1) or 7 (version 4)", len(el))
	}
	list, err := elements(rest[0], MaxCerts)
	if err != nil {
		return fmt.Errorf("certList: %w", err)
	}
	switch listType {
	case CertListCerts:
		for i, c := range list {
			b, err := readOctets(c)
			if err != nil {
				return fmt.Errorf("certList[%d]: %w", i, err)
			}
			s.Certs = append(s.Certs, b)
		}
	case CertListDigests:
		for i, c := range list {
			d, err := elements(c, maxElems)
			if err == nil && len(d) != 2 {
				err = fmt.Errorf("%d elements, want 2", len(d))
			}
			var cd CertDigest
			if err == nil {
				cd.Type, err = readString(d[0])
			}
			if err == nil {
				cd.Value, err = readOctets(d[1])
			}
			if err != nil {
				return fmt.Errorf("certDigestList[%d]: %w", i, err)
			}
			s.CertDigests = append(s.CertDigests, cd)
		}
	default:
		return fmt.Errorf("unknown certListType %d", listType)
	}
	for i, t := range []*time.Time{&s.Created, &s.ValidFrom, &s.ValidTo} {
		if *t, err = readTime(rest[1+i]); err != nil {
			return fmt.Errorf("%s: %w", [3]string{"createDate", "validStart", "validEnd"}[i], err)
		}
	}
	return nil
}

// parsePicture reads SES_ESPictrueInfo ::= SEQUENCE{type IA5String, data OCTET STRING,
// width INTEGER, height INTEGER}.
func (s *Seal) parsePicture(rv asn1.RawValue) error {
	el, err := elements(rv, maxElems)
	if err != nil {
		return err
	}
	if len(el) != 4 {
		return fmt.Errorf("%d elements, want 4", len(el))
	}
	if s.PictureType, err = readString(el[0]); err != nil {
		return fmt.Errorf("type: %w", err)
	}
	if s.Picture, err = readOctets(el[1]); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if len(s.Picture) > MaxPicture {
		return fmt.Errorf("picture of %d bytes exceeds the %d-byte limit", len(s.Picture), MaxPicture)
	}
	if s.WidthMM, err = readInt(el[2]); err != nil {
		return fmt.Errorf("width: %w", err)
	}
	if s.HeightMM, err = readInt(el[3]); err != nil {
		return fmt.Errorf("height: %w", err)
	}
	if s.WidthMM < 0 || s.WidthMM > maxMM || s.HeightMM < 0 || s.HeightMM > maxMM {
		return fmt.Errorf("size %d×%d mm out of range 0–%d", s.WidthMM, s.HeightMM, maxMM)
	}
	return nil
}

// HasCert reports whether the seal's certificate list holds certDER, by the certificate itself
// (certListType 1) or by its digest (certListType 2, SM3 or SHA-256).
func (s *Seal) HasCert(certDER []byte) bool {
	for _, c := range s.Certs {
		if bytes.Equal(c, certDER) {
			return true
		}
	}
	for _, d := range s.CertDigests {
		if h := digest(d.Type, certDER); h != nil && bytes.Equal(h, d.Value) {
			return true
		}
	}
	return false
}
