package keys

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/uscc"
)

// Validity periods of the certificates the platform issues.
const (
	RootValidity      = 20 * 365 * 24 * time.Hour // platform root CA
	PlatformValidity  = 10 * 365 * 24 * time.Hour // platform signing key
	AuthorityValidity = 5 * 365 * 24 * time.Hour  // a registering authority's signing key

	// backdate moves notBefore into the past so that processes whose clocks lag the one that
	// made a certificate still accept it.
	backdate = time.Hour

	maxAuthorityName = 100 // characters
)

// Subjects of the platform's own certificates.
var (
	rootName     = gm.Name{CommonName: "elicense Root CA", Organization: "elicense", Country: "CN"}
	platformName = gm.Name{CommonName: "elicense Platform Signing", Organization: "elicense", Country: "CN"}
)

// ErrSignature is wrapped by every error VerifyAuthority returns for a signature that does not
// verify (as opposed to a storage failure).
var ErrSignature = errors.New("keys: signature does not verify")

// Service holds the platform's keys: it creates them on first start, seals private keys under
// the master key, and hands out signers. Decrypted signers and parsed certificates are cached in
// memory; keys never change once stored, so the caches need no invalidation.
type Service struct {
	st     Store
	sealer *gm.Sealer
	clock  func() time.Time

	loadMu    sync.Mutex // serialises loading (decrypting) keys so a cold cache decrypts once
	byID      sync.Map   // key ID → *loadedKey
	certs     sync.Map   // key ID → *storedCert, for keys whose certificate alone is needed
	authority sync.Map   // credit code → *authoritySigner
	bySerial  sync.Map   // certificate serial → *serialCert
	createMu  sync.Mutex // serialises CreateAuthority within the process
}

// loadedKey is a key whose private part is decrypted.
type loadedKey struct {
	key    *Key
	cert   *gm.Certificate
	signer gm.Signer
}

// storedCert is a stored key whose certificate is parsed but whose private key is not opened.
type storedCert struct {
	key  *Key
	cert *gm.Certificate
}

type authoritySigner struct {
	auth   Authority
	signer gm.Signer
}

// serialCert is a certificate looked up by serial for verification. chained is set once the
// certificate's chain to the root has been verified at an instant inside window; signatures of
// a chain do not depend on time, so later checks need only compare the instant with window.
type serialCert struct {
	keyID    string
	der      []byte
	pub      *ecdsa.PublicKey
	from, to time.Time // instants at which both the certificate and the root are valid
	chained  atomic.Bool
}

// Certificate describes a certificate the platform publishes.
type Certificate struct {
	Kind      string    `json:"kind"`                // "root", "platform" or "authority"
	Authority string    `json:"authority,omitempty"` // credit code, for an authority certificate
	Subject   string    `json:"subject"`             // common name
	Serial    string    `json:"serial"`              // hex
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	DER       []byte    `json:"-"`
	PEM       string    `json:"pem"`
}

// NewService returns a key service over st. sealer holds the master key; clock defaults to
// time.Now.
func NewService(st Store, sealer *gm.Sealer, clock func() time.Time) *Service {
	if clock == nil {
		clock = time.Now
	}
	return &Service{st: st, sealer: sealer, clock: clock}
}

func (s *Service) now() time.Time { return s.clock().UTC() }

// AuthorityKeyID is the key ID of a registering authority's key.
func AuthorityKeyID(code string) string { return "authority:" + code }

// Init creates the platform root and signing keys if they do not exist yet and loads them. It is
// safe to run in several processes at once: the first key stored wins and every process uses it.
func (s *Service) Init(ctx context.Context) error {
	if s.sealer == nil {
		return errors.New("keys: init: no master key")
	}
	root, err := s.ensure(ctx, RootKeyID, s.makeRoot)
	if err != nil {
		return err
	}
	plat, err := s.ensure(ctx, PlatformKeyID, func(now time.Time) (*gm.PrivateKey, []byte, error) {
		return s.issue(root, platformName, now, PlatformValidity)
	})
	if err != nil {
		return err
	}
	if err := gm.VerifyChainAt(plat.key.CertDER, plat.cert.NotBefore, root.key.CertDER); err != nil {
		return fmt.Errorf("keys: platform certificate does not chain to the stored root: %w", err)
	}
	return nil
}

func (s *Service) makeRoot(now time.Time) (*gm.PrivateKey, []byte, error) {
	k, err := gm.GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	der, err := gm.NewRootCertificate(k, rootName, now.Add(-backdate), now.Add(RootValidity))
	if err != nil {
		return nil, nil, err
	}
	return k, der, nil
}

// issue makes a new key with a certificate from the root, valid for at most validity and never
// beyond the root.
func (s *Service) issue(root *loadedKey, name gm.Name, now time.Time, validity time.Duration) (*gm.PrivateKey, []byte, error) {
	k, err := gm.GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	notAfter := now.Add(validity)
	if notAfter.After(root.cert.NotAfter) {
		notAfter = root.cert.NotAfter
	}
	der, err := gm.IssueCertificate(root.key.CertDER, root.signer, name, k.Public(), now.Add(-backdate), notAfter, false)
	if err != nil {
		return nil, nil, err
	}
	return k, der, nil
}

// ensure loads the key id, creating it with mk when the store has none.
func (s *Service) ensure(ctx context.Context, id string, mk func(now time.Time) (*gm.PrivateKey, []byte, error)) (*loadedKey, error) {
	if lk, ok := s.byID.Load(id); ok {
		return lk.(*loadedKey), nil
	}
	k, err := s.st.Key(ctx, id)
	if errs.Is(err, errs.NotFound) {
		k, err = s.create(ctx, id, mk)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: key %s: %w", id, err)
	}
	return s.load(k)
}

// create generates and stores key id; it returns the stored key, which is another process's
// when that process stored its key first.
func (s *Service) create(ctx context.Context, id string, mk func(now time.Time) (*gm.PrivateKey, []byte, error)) (*Key, error) {
	now := s.now()
	priv, der, err := mk(now)
	if err != nil {
		return nil, err
	}
	return s.put(ctx, id, priv, der, now)
}

func (s *Service) put(ctx context.Context, id string, priv *gm.PrivateKey, der []byte, now time.Time) (*Key, error) {
	cert, err := gm.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	sealed, err := gm.EncryptPrivateKey(s.sealer, priv, id)
	if err != nil {
		return nil, err
	}
	return s.st.PutKey(ctx, Key{ID: id, Sealed: sealed, CertDER: der, Serial: serialOf(cert), CreatedAt: now})
}

// load decrypts k, checks that its private key matches its certificate, and caches it.
func (s *Service) load(k *Key) (*loadedKey, error) {
	if s.sealer == nil {
		return nil, errors.New("keys: no master key")
	}
	cert, err := gm.ParseCertificate(k.CertDER)
	if err != nil {
		return nil, fmt.Errorf("keys: key %s: %w", k.ID, err)
	}
	priv, err := gm.DecryptPrivateKey(s.sealer, k.Sealed, k.ID)
	if err != nil {
		return nil, fmt.Errorf("keys: key %s (is the master key the one the keys were made with?): %w", k.ID, err)
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(priv.Public()) {
		return nil, fmt.Errorf("keys: key %s: private key does not match its certificate", k.ID)
	}
	lk := &loadedKey{key: k, cert: cert, signer: priv}
	actual, _ := s.byID.LoadOrStore(k.ID, lk)
	return actual.(*loadedKey), nil
}

// stored returns the loaded key id, which must exist (Init creates the platform's keys).
func (s *Service) stored(ctx context.Context, id string) (*loadedKey, error) {
	if lk, ok := s.byID.Load(id); ok {
		return lk.(*loadedKey), nil
	}
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	if lk, ok := s.byID.Load(id); ok {
		return lk.(*loadedKey), nil
	}
	k, err := s.st.Key(ctx, id)
	if err != nil {
		if errs.Is(err, errs.NotFound) && (id == RootKeyID || id == PlatformKeyID) {
			return nil, fmt.Errorf("keys: key %s does not exist (Init creates it): %w", id, err)
		}
		return nil, fmt.Errorf("keys: key %s: %w", id, err)
	}
	return s.load(k)
}

// certOf returns the stored key id with its parsed certificate, without opening the private
// key: verifying and publishing need no master key.
func (s *Service) certOf(ctx context.Context, id string) (*storedCert, error) {
	if lk, ok := s.byID.Load(id); ok {
		return &storedCert{key: lk.(*loadedKey).key, cert: lk.(*loadedKey).cert}, nil
	}
	if v, ok := s.certs.Load(id); ok {
		return v.(*storedCert), nil
	}
	k, err := s.st.Key(ctx, id)
	if err != nil {
		if errs.Is(err, errs.NotFound) && (id == RootKeyID || id == PlatformKeyID) {
			return nil, fmt.Errorf("keys: key %s does not exist (Init creates it): %w", id, err)
		}
		return nil, fmt.Errorf("keys: key %s: %w", id, err)
	}
	cert, err := gm.ParseCertificate(k.CertDER)
	if err != nil {
		return nil, fmt.Errorf("keys: key %s: %w", id, err)
	}
	sc := &storedCert{key: k, cert: cert}
	s.certs.Store(id, sc)
	return sc, nil
}

// RootCertDER returns the platform root certificate (DER).
func (s *Service) RootCertDER(ctx context.Context) ([]byte, error) {
	sc, err := s.certOf(ctx, RootKeyID)
	if err != nil {
		return nil, err
	}
	return sc.key.CertDER, nil
}

// RootCertPEM returns the platform root certificate in PEM, for relying parties to install.
func (s *Service) RootCertPEM(ctx context.Context) ([]byte, error) {
	der, err := s.RootCertDER(ctx)
	if err != nil {
		return nil, err
	}
	return gm.CertPEM(der), nil
}

// PlatformSigner returns the platform signing key (audit checkpoints, webhooks, QR tokens) and
// its certificate (DER).
func (s *Service) PlatformSigner(ctx context.Context) (gm.Signer, []byte, error) {
	lk, err := s.stored(ctx, PlatformKeyID)
	if err != nil {
		return nil, nil, err
	}
	return lk.signer, lk.key.CertDER, nil
}

// normCode normalises a credit code for look-ups (codes are case-insensitive on input).
func normCode(code string) string { return uscc.Normalize(code) }

// validateAuthority normalises a and checks its fields, returning every problem at once.
func validateAuthority(a *Authority) error {
	var list errs.List
	a.Code = normCode(a.Code)
	if err := uscc.Check(a.Code); err != nil {
		var p *uscc.Problem
		if errors.As(err, &p) {
			list = append(list, &errs.Error{Kind: errs.Invalid, Field: "code",
				ZH: "登记机关统一社会信用代码无效：" + p.MessageZH(),
				EN: "invalid credit code of the authority: " + p.MessageEN(), Err: err})
		} else {
			list = append(list, &errs.Error{Kind: errs.Invalid, Field: "code",
				ZH: "登记机关统一社会信用代码无效", EN: "invalid credit code of the authority", Err: err})
		}
	}
	a.Name = strings.TrimSpace(a.Name)
	switch n := utf8.RuneCountInString(a.Name); {
	case n == 0:
		list = append(list, errs.New(errs.Invalid, "name", "请填写登记机关名称", "the authority's name is required"))
	case n > maxAuthorityName:
		list = append(list, errs.Invalidf("name", "登记机关名称不能超过 %d 个字符（现为 %d 个）",
			"the authority's name must be at most %d characters (it has %d)", maxAuthorityName, n))
	case !utf8.ValidString(a.Name) || strings.ContainsFunc(a.Name, isControl):
		list = append(list, errs.New(errs.Invalid, "name", "登记机关名称含有不可见字符", "the authority's name contains control characters"))
	}
	a.Region = strings.TrimSpace(a.Region)
	if !isDivision(a.Region) {
		list = append(list, errs.Invalidf("region", "行政区划代码应为 6 位数字（GB/T 2260），收到 %q",
			"the region must be a 6-digit division code (GB/T 2260), got %q", a.Region))
	}
	return list.Err()
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

func isDivision(s string) bool {
	if len(s) != 6 || s == "000000" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// CreateAuthority registers an authority: it validates a, generates its SM2 key and has the root
// issue its certificate (CN and O = name, serialNumber = credit code, OU = region). It returns
// errs.Conflict when an authority with that code exists.
func (s *Service) CreateAuthority(ctx context.Context, a Authority) (*Authority, error) {
	if err := validateAuthority(&a); err != nil {
		return nil, err
	}
	root, err := s.stored(ctx, RootKeyID)
	if err != nil {
		return nil, err
	}
	s.createMu.Lock()
	defer s.createMu.Unlock()
	if _, err := s.st.Authority(ctx, a.Code); err == nil {
		return nil, errAuthorityExists(a.Code)
	} else if !errs.Is(err, errs.NotFound) {
		return nil, fmt.Errorf("keys: create authority: %w", err)
	}
	now := s.now()
	name := gm.Name{CommonName: a.Name, Organization: a.Name, CreditCode: a.Code, Unit: a.Region, Country: "CN"}
	priv, der, err := s.issue(root, name, now, AuthorityValidity)
	if err != nil {
		return nil, fmt.Errorf("keys: create authority %s: %w", a.Code, err)
	}
	id := AuthorityKeyID(a.Code)
	k, err := s.put(ctx, id, priv, der, now)
	if err != nil {
		return nil, fmt.Errorf("keys: create authority %s: %w", a.Code, err)
	}
	if !bytes.Equal(k.CertDER, der) {
		// Another process stored a key for this code first. If it was made for the same name and
		// region (a concurrent identical request, or a retry after a crash between storing the
		// key and the authority) the stored key is this authority's; otherwise the code is taken.
		cert, err := gm.ParseCertificate(k.CertDER)
		if err != nil {
			return nil, fmt.Errorf("keys: create authority %s: %w", a.Code, err)
		}
		got := gm.NameOf(cert.Subject)
		if got.CommonName != a.Name || got.Unit != a.Region {
			return nil, errAuthorityExists(a.Code)
		}
		if _, err := s.st.Authority(ctx, a.Code); err == nil {
			return nil, errAuthorityExists(a.Code)
		} else if !errs.Is(err, errs.NotFound) {
			return nil, fmt.Errorf("keys: create authority: %w", err)
		}
		now = k.CreatedAt
	}
	a.CertDER, a.Serial, a.CreatedAt = k.CertDER, k.Serial, now
	if err := s.st.PutAuthority(ctx, a); err != nil {
		return nil, fmt.Errorf("keys: create authority %s: %w", a.Code, err)
	}
	return &a, nil
}

func errAuthorityExists(code string) error {
	return &errs.Error{Kind: errs.Conflict, Field: "code",
		ZH: fmt.Sprintf("统一社会信用代码为 %s 的登记机关已存在", code),
		EN: fmt.Sprintf("an authority with credit code %s already exists", code)}
}

// Authority returns the authority with this credit code (errs.NotFound).
func (s *Service) Authority(ctx context.Context, code string) (*Authority, error) {
	a, err := s.st.Authority(ctx, normCode(code))
	if err != nil {
		return nil, fmt.Errorf("keys: authority %s: %w", code, err)
	}
	return a, nil
}

// Authorities lists every authority ordered by credit code.
func (s *Service) Authorities(ctx context.Context) ([]*Authority, error) {
	as, err := s.st.Authorities(ctx)
	if err != nil {
		return nil, fmt.Errorf("keys: authorities: %w", err)
	}
	return as, nil
}

// AuthoritySigner returns the authority with this credit code and its signer (errs.NotFound for
// an unknown code). After the first call for a code it is a map look-up: bulk issuance calls it
// for every licence.
func (s *Service) AuthoritySigner(ctx context.Context, code string) (*Authority, gm.Signer, error) {
	if v, ok := s.authority.Load(code); ok {
		e := v.(*authoritySigner)
		a := e.auth
		return &a, e.signer, nil
	}
	norm := normCode(code)
	e, err := s.loadAuthority(ctx, norm)
	if err != nil {
		return nil, nil, err
	}
	if norm != code {
		s.authority.Store(code, e)
	}
	a := e.auth
	return &a, e.signer, nil
}

func (s *Service) loadAuthority(ctx context.Context, code string) (*authoritySigner, error) {
	if v, ok := s.authority.Load(code); ok {
		return v.(*authoritySigner), nil
	}
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	if v, ok := s.authority.Load(code); ok {
		return v.(*authoritySigner), nil
	}
	a, err := s.st.Authority(ctx, code)
	if err != nil {
		return nil, fmt.Errorf("keys: authority %s: %w", code, err)
	}
	k, err := s.st.KeyBySerial(ctx, a.Serial)
	if err != nil {
		return nil, fmt.Errorf("keys: authority %s: certificate %s: %w", code, a.Serial, err)
	}
	if k.ID != AuthorityKeyID(code) {
		return nil, fmt.Errorf("keys: authority %s: certificate %s belongs to key %s", code, a.Serial, k.ID)
	}
	lk, err := s.load(k)
	if err != nil {
		return nil, err
	}
	e := &authoritySigner{auth: *a, signer: lk.signer}
	s.authority.Store(code, e)
	return e, nil
}

// VerifyAuthority checks that sig is the signature over msg of the authority authorityCode with
// its certificate certSerial, and that this certificate chains to the platform root now. See
// VerifyAuthorityAt.
func (s *Service) VerifyAuthority(ctx context.Context, authorityCode, certSerial string, msg, sig []byte) error {
	return s.VerifyAuthorityAt(ctx, authorityCode, certSerial, s.now(), msg, sig)
}

// VerifyAuthorityAt checks that sig is the signature over msg of the authority authorityCode with
// its certificate certSerial, and that this certificate chains to the platform root at the
// instant at (the time of signing, for a signature made long ago). A signature that does not
// verify gives an errs.Invalid error on field "signature" wrapping ErrSignature; an unknown
// serial gives errs.NotFound.
func (s *Service) VerifyAuthorityAt(ctx context.Context, authorityCode, certSerial string, at time.Time, msg, sig []byte) error {
	c, err := s.certBySerial(ctx, certSerial)
	if err != nil {
		return err
	}
	code := normCode(authorityCode)
	if c.keyID != AuthorityKeyID(code) {
		return badSignature(fmt.Sprintf("证书 %s 不属于登记机关 %s", certSerial, code),
			fmt.Sprintf("certificate %s does not belong to authority %s", certSerial, code))
	}
	at = at.UTC()
	if at.Before(c.from) || at.After(c.to) {
		return badSignature(fmt.Sprintf("证书 %s 在 %s 不在有效期内", certSerial, at.Format(time.RFC3339)),
			fmt.Sprintf("certificate %s is not valid at %s", certSerial, at.Format(time.RFC3339)))
	}
	if !c.chained.Load() {
		root, err := s.RootCertDER(ctx)
		if err != nil {
			return err
		}
		if err := gm.VerifyChainAt(c.der, at, root); err != nil {
			e := badSignature(fmt.Sprintf("证书 %s 不是由平台根证书签发的", certSerial),
				fmt.Sprintf("certificate %s is not issued by the platform root", certSerial))
			e.Err = fmt.Errorf("%w: %w", ErrSignature, err)
			return e
		}
		c.chained.Store(true)
	}
	if !gm.Verify(c.pub, msg, sig) {
		return badSignature("签名验证未通过", "the signature does not verify")
	}
	return nil
}

func badSignature(zh, en string) *errs.Error {
	return &errs.Error{Kind: errs.Invalid, Field: "signature", ZH: zh, EN: en, Err: ErrSignature}
}

// certBySerial returns the parsed certificate with this serial, cached.
func (s *Service) certBySerial(ctx context.Context, serial string) (*serialCert, error) {
	serial = strings.ToLower(strings.TrimSpace(serial))
	if v, ok := s.bySerial.Load(serial); ok {
		return v.(*serialCert), nil
	}
	root, err := s.certOf(ctx, RootKeyID)
	if err != nil {
		return nil, err
	}
	k, err := s.st.KeyBySerial(ctx, serial)
	if errs.Is(err, errs.NotFound) {
		return nil, &errs.Error{Kind: errs.NotFound, Field: "signature",
			ZH: fmt.Sprintf("找不到序列号为 %s 的证书", serial),
			EN: fmt.Sprintf("no certificate with serial %s", serial), Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("keys: certificate %s: %w", serial, err)
	}
	cert, err := gm.ParseCertificate(k.CertDER)
	if err != nil {
		return nil, fmt.Errorf("keys: certificate %s: %w", serial, err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !gm.IsSM2(pub) {
		return nil, fmt.Errorf("keys: certificate %s has no SM2 key", serial)
	}
	c := &serialCert{keyID: k.ID, der: k.CertDER, pub: pub, from: cert.NotBefore, to: cert.NotAfter}
	if root.cert.NotBefore.After(c.from) {
		c.from = root.cert.NotBefore
	}
	if root.cert.NotAfter.Before(c.to) {
		c.to = root.cert.NotAfter
	}
	v, _ := s.bySerial.LoadOrStore(serial, c)
	return v.(*serialCert), nil
}

// Certificates lists the certificates the platform publishes: the root, the platform signing
// certificate, then every authority's current certificate by credit code.
func (s *Service) Certificates(ctx context.Context) ([]Certificate, error) {
	root, err := s.certOf(ctx, RootKeyID)
	if err != nil {
		return nil, err
	}
	plat, err := s.certOf(ctx, PlatformKeyID)
	if err != nil {
		return nil, err
	}
	out := []Certificate{describe("root", "", root.cert, root.key.CertDER), describe("platform", "", plat.cert, plat.key.CertDER)}
	as, err := s.Authorities(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(as, func(x, y *Authority) int { return strings.Compare(x.Code, y.Code) })
	for _, a := range as {
		cert, err := gm.ParseCertificate(a.CertDER)
		if err != nil {
			return nil, fmt.Errorf("keys: certificate of authority %s: %w", a.Code, err)
		}
		out = append(out, describe("authority", a.Code, cert, a.CertDER))
	}
	return out, nil
}

func describe(kind, code string, c *gm.Certificate, der []byte) Certificate {
	return Certificate{
		Kind: kind, Authority: code, Subject: c.Subject.CommonName, Serial: serialOf(c),
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), DER: der, PEM: string(gm.CertPEM(der)),
	}
}

// serialOf is the form of a certificate serial used as Key.Serial: lower-case hex.
func serialOf(c *gm.Certificate) string { return c.SerialNumber.Text(16) }
