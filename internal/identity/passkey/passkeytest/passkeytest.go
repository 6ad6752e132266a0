// Package passkeytest is a software WebAuthn authenticator for tests: it answers the options of
// package passkey (navigator.credentials.create and .get) as a platform authenticator with user
// verification and "none" attestation does, so Go tests can bind a device and confirm a login
// without a browser.
package passkeytest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

var b64 = base64.RawURLEncoding

// Authenticator holds one ES256 credential.
type Authenticator struct {
	Key          *ecdsa.PrivateKey
	CredentialID []byte
	UserHandle   []byte // set by Create from the options, or by the test
	Count        uint32 // signature counter; Get increments it first
	Origin       string // the origin the "browser" reports
}

// New returns an authenticator with a fresh key for pages served at origin.
func New(origin string) (*Authenticator, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	return &Authenticator{Key: key, CredentialID: id, Origin: origin}, nil
}

type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		RPID string `json:"rpId"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

func parse(opts []byte) (*options, string, error) {
	var o options
	if err := json.Unmarshal(opts, &o); err != nil {
		return nil, "", fmt.Errorf("passkeytest: options: %w", err)
	}
	rp := o.PublicKey.RP.ID
	if rp == "" {
		rp = o.PublicKey.RPID
	}
	return &o, rp, nil
}

func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return b
}

func (a *Authenticator) authData(rpID string, flags byte, extra []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	b := append(h[:], flags)
	b = binary.BigEndian.AppendUint32(b, a.Count)
	return append(b, extra...)
}

// Flags: user present and user verified (WebAuthn §6.1).
const upUV = 0x01 | 0x04

// Create answers creation options (navigator.credentials.create) with a "none" attestation.
func (a *Authenticator) Create(opts []byte) ([]byte, error) {
	o, rp, err := parse(opts)
	if err != nil {
		return nil, err
	}
	if h, err := b64.DecodeString(o.PublicKey.User.ID); err == nil {
		a.UserHandle = h
	}
	pub, err := a.Key.PublicKey.Bytes() // uncompressed point 04‖x‖y
	if err != nil {
		return nil, err
	}
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: 2, Algorithm: -7}, Curve: 1, XCoord: pub[1:33], YCoord: pub[33:]})
	if err != nil {
		return nil, err
	}
	att := make([]byte, 16) // AAGUID: none
	att = binary.BigEndian.AppendUint16(att, uint16(len(a.CredentialID)))
	att = append(append(att, a.CredentialID...), cose...)
	obj, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{},
		"authData": a.authData(rp, upUV|0x40, att)}) // AT: attested credential data included
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"id": b64.EncodeToString(a.CredentialID), "rawId": b64.EncodeToString(a.CredentialID),
		"type": "public-key", "clientExtensionResults": map[string]any{},
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(a.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(obj), "transports": []string{"internal"}}})
}

// Get answers request options (navigator.credentials.get) with an assertion.
func (a *Authenticator) Get(opts []byte) ([]byte, error) {
	o, rp, err := parse(opts)
	if err != nil {
		return nil, err
	}
	a.Count++
	cd := a.clientData("webauthn.get", o.PublicKey.Challenge)
	ad := a.authData(rp, upUV, nil)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(bytes.Clone(ad), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.Key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"id": b64.EncodeToString(a.CredentialID), "rawId": b64.EncodeToString(a.CredentialID),
		"type": "public-key", "clientExtensionResults": map[string]any{},
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(a.UserHandle)}})
}
