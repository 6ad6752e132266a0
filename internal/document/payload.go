package document

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/elicense/elicense/internal/license"
)

// payloadFormat names the embedded licence data format and its version; permitPayloadFormat the
// embedded data of a permit (a licence of another type).
const (
	payloadFormat       = "elicense-licence-data/1"
	permitPayloadFormat = "elicense-permit-data/1"
)

// payloadName is the file name of the embedded licence data (OFD attachment, PDF embedded file).
const payloadName = "licence.json"

// maxPayload bounds the embedded data a verifier reads.
const maxPayload = 1 << 20

// payload is the licence data embedded in a document: exactly the bytes the registering
// authority signed (license.SignedBytes) with its SM2 signature, so that a verifier can check
// the face data against the signature offline and against the registry online. In an OFD it also
// pins the two package files the seal's reference list cannot cover (OFD.xml, which names the
// signatures, and Signatures.xml), so a change to any byte of any entry is detected.
type payload struct {
	Format        string    `json:"format"`
	Identifier    string    `json:"identifier"`
	Code          string    `json:"code"`
	Version       int       `json:"version"`
	AuthorityCode string    `json:"authority_code"`
	CertSerial    string    `json:"cert_serial"`
	IssuedAt      time.Time `json:"issued_at"`
	Copy          Copy      `json:"copy"`
	RenderedAt    time.Time `json:"rendered_at"`
	// TypeCode is a permit's licence type code (permits only).
	TypeCode string `json:"type_code,omitempty"`
	// Mark is whom a watermarked copy (加注件) was made for; nil in an original.
	Mark *Mark `json:"mark,omitempty"`
	// Data is license.SignedBytes of the version (base64), Signature the authority's SM2
	// signature over it (DER, base64).
	Data      string `json:"data"`
	Signature string `json:"signature"`
	// OFD only: SM3 (base64) of OFD.xml and of Doc_0/Signs/Signatures.xml.
	OFDXML        string `json:"ofd_xml_sm3,omitempty"`
	SignaturesXML string `json:"signatures_xml_sm3,omitempty"`
}

func newPayload(l *license.Licence, cp Copy, at time.Time) payload {
	return payload{
		Format: payloadFormat, Identifier: l.Identifier, Code: l.Code, Version: l.Version,
		AuthorityCode: l.AuthorityCode, CertSerial: l.CertSerial, IssuedAt: l.IssuedAt.UTC(),
		Copy: cp, RenderedAt: at,
		Data:      base64.StdEncoding.EncodeToString(license.SignedBytes(l)),
		Signature: base64.StdEncoding.EncodeToString(l.Signature),
	}
}

func (p *payload) marshal() []byte {
	b, _ := json.MarshalIndent(p, "", "  ") // a struct of strings and times cannot fail
	return b
}

// parsePayload reads embedded licence data and decodes its data and signature.
func parsePayload(b []byte) (*payload, []byte, []byte, error) {
	if len(b) > maxPayload {
		return nil, nil, nil, errors.New("embedded licence data too large")
	}
	var p payload
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, nil, nil, fmt.Errorf("embedded licence data: %w", err)
	}
	if p.Format != payloadFormat && p.Format != permitPayloadFormat {
		return nil, nil, nil, fmt.Errorf("embedded licence data: unknown format %q", p.Format)
	}
	data, err := base64.StdEncoding.DecodeString(p.Data)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("embedded licence data: data: %w", err)
	}
	sig, err := base64.StdEncoding.DecodeString(p.Signature)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("embedded licence data: signature: %w", err)
	}
	if p.Identifier == "" || p.AuthorityCode == "" || p.CertSerial == "" || len(data) == 0 || len(sig) == 0 {
		return nil, nil, nil, errors.New("embedded licence data: incomplete")
	}
	return &p, data, sig, nil
}
