package web

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/license"
)

// names is a name in both languages.
type names struct {
	ZH string `json:"zh"`
	EN string `json:"en"`
}

// faceView is the public part of the face items. It is spelt out field by field so that no
// private item added to license.Face later can reach a public response by accident.
type faceView struct {
	Name          string           `json:"name"`
	Type          string           `json:"type"`
	Person        string           `json:"person"`
	Capital       *license.Capital `json:"capital,omitempty"`
	Form          string           `json:"form,omitempty"`
	EstablishedOn string           `json:"established_on"`
	TermFrom      string           `json:"term_from,omitempty"`
	TermTo        string           `json:"term_to,omitempty"`
	Address       string           `json:"address"`
	Scope         string           `json:"scope"`
}

// licenceView is the public view of one licence version, as the API renders it. The person's ID
// number (and its hash and sealed form) never appear.
type licenceView struct {
	Identifier    string         `json:"identifier"`
	Code          string         `json:"code"`
	CodeType      string         `json:"code_type"`
	Kind          license.Kind   `json:"kind"`
	KindName      names          `json:"kind_name"`
	Version       int            `json:"version"`
	Face          faceView       `json:"face"`
	Region        string         `json:"region"`
	Authority     string         `json:"authority"`
	AuthorityCode string         `json:"authority_code"`
	IssuedAt      time.Time      `json:"issued_at"`
	Status        license.Status `json:"status"`
	StatusName    names          `json:"status_name"`
	StatusReason  string         `json:"status_reason,omitempty"`
	StatusAt      *time.Time     `json:"status_at,omitempty"`
	SupersededAt  *time.Time     `json:"superseded_at,omitempty"`
	Signature     []byte         `json:"signature"` // base64
	CertSerial    string         `json:"cert_serial"`
	// SignatureValid is the result of checking Signature with the authority's certificate;
	// absent in lists, where it is not checked.
	SignatureValid *bool `json:"signature_valid,omitempty"`
}

func viewOf(l *license.Licence) licenceView {
	kzh, ken := license.KindName(l.Kind)
	szh, sen := license.StatusName(l.Status)
	f := l.Face
	var capital *license.Capital
	if f.Capital != nil {
		c := *f.Capital
		capital = &c
	}
	return licenceView{
		Identifier: l.Identifier, Code: l.Code, CodeType: l.CodeType,
		Kind: l.Kind, KindName: names{kzh, ken}, Version: l.Version,
		Face: faceView{Name: f.Name, Type: f.Type, Person: f.Person, Capital: capital, Form: f.Form,
			EstablishedOn: f.EstablishedOn, TermFrom: f.TermFrom, TermTo: f.TermTo, Address: f.Address, Scope: f.Scope},
		Region: l.Region, Authority: l.Authority, AuthorityCode: l.AuthorityCode,
		IssuedAt: l.IssuedAt.UTC(), Status: l.Status, StatusName: names{szh, sen},
		StatusReason: l.StatusReason, StatusAt: utcPtr(l.StatusAt), SupersededAt: utcPtr(l.SupersededAt),
		Signature: l.Signature, CertSerial: l.CertSerial,
	}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// verify checks a licence's signature, remembering the outcome. It returns (valid, nil), or an
// error when the check could not be made (key store unavailable); that outcome is not remembered.
func (s *server) verify(ctx context.Context, l *license.Licence) (bool, error) {
	key := sigKey(l)
	if ok, found := s.sigs.get(key); found {
		return ok, nil
	}
	err := s.Licenses.VerifySignature(ctx, l)
	switch k := errs.KindOf(err); {
	case err == nil:
		s.sigs.put(key, true)
		return true, nil
	case k == errs.Internal || k == errs.Unavailable:
		return false, err
	default: // a wrong signature, or a certificate that does not exist
		s.sigs.put(key, false)
		return false, nil
	}
}

// sigKey identifies exactly what a signature check covers: the signed content, the signature and
// the certificate. Data changed in the database behind the cache yields another key.
func sigKey(l *license.Licence) [32]byte {
	h := sha256.New()
	b := license.SignedBytes(l)
	h.Write(b)
	h.Write([]byte{0})
	h.Write(l.Signature)
	h.Write([]byte{0})
	h.Write([]byte(l.CertSerial))
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// sigCache remembers signature checks (an SM2 verification costs ~100 µs) so each licence
// version is verified once per process. It holds at most max entries in two generations: when
// the young one is full, the old one is dropped, so recently used entries survive.
type sigCache struct {
	mu         sync.RWMutex
	max        int
	young, old map[[32]byte]bool
}

func newSigCache(max int) *sigCache {
	return &sigCache{max: max, young: map[[32]byte]bool{}, old: map[[32]byte]bool{}}
}

func (c *sigCache) get(k [32]byte) (valid, found bool) {
	c.mu.RLock()
	valid, found = c.young[k]
	promote := false
	if !found {
		valid, found = c.old[k]
		promote = found
	}
	c.mu.RUnlock()
	if promote {
		c.put(k, valid)
	}
	return valid, found
}

func (c *sigCache) put(k [32]byte, valid bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.young) >= c.max/2 {
		c.old, c.young = c.young, make(map[[32]byte]bool, c.max/2)
	}
	c.young[k] = valid
}
