// Package document turns an e-business licence version into the file a registering authority
// issues and anyone can check: the national layout (版式, STANDARDS §4) as OFD (GB/T 33190) and
// as PDF, with the authority's electronic seal (GB/T 38540, package seal) over the date, a QR
// code carrying an SM2-signed token (package qrtoken), and the licence data with its SM2
// signature embedded for verification. Verify checks such a file offline (hashes, seal,
// signatures, certificate chains) and online (the registered data of that version and the
// licence's status now), with the result codes of the sharing-service contract (STANDARDS §7).
//
// One page model (layout.go) in millimetres is drawn by both writers: positions, line breaks
// (Chinese kinsoku rules) and font sizes are decided once, so the two formats look the same.
package document

import (
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/font"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/qrtoken"
	"github.com/elicense/elicense/internal/seal"
)

// Format is a file format of the licence document.
type Format string

// The formats.
const (
	OFD Format = "ofd" // GB/T 33190-2016, the standard format of e-licences
	PDF Format = "pdf" // widely accepted; signed so that ordinary PDF readers validate it
)

// Copy is which of the two licence copies a document is.
type Copy string

// The copies (STANDARDS §4).
const (
	Original  Copy = "original"  // 正本, 420 × 297 mm
	Duplicate Copy = "duplicate" // 副本, 297 × 210 mm, with the annual-report reminder
)

// ParseFormat reads a format name (ofd or pdf, any case).
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case OFD, PDF:
		return f, nil
	case "":
		return OFD, nil
	}
	return "", errs.Invalidf("format", "文件格式 %q 不支持，应为 ofd 或 pdf", "format %q is not supported: want ofd or pdf", s)
}

// ParseCopy reads a copy name (original/正本 or duplicate/副本).
func ParseCopy(s string) (Copy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "original", "正本", "":
		return Original, nil
	case "duplicate", "副本", "copy":
		return Duplicate, nil
	}
	return "", errs.Invalidf("copy", "%q 不是正本(original)或副本(duplicate)", "copy %q is neither original nor duplicate", s)
}

// ContentType is the media type of a format.
func (f Format) ContentType() string {
	if f == PDF {
		return "application/pdf"
	}
	return "application/ofd"
}

// Options says what to render.
type Options struct {
	Format Format
	Copy   Copy
	// PublicURL is the base of the verification link in the QR code (…/v/{token}); the
	// service's when empty.
	PublicURL string
	// Emblem (PNG or JPEG) is shown at the top centre; the service's when nil. The platform ships
	// a neutral placeholder mark, not the national emblem: operators supply the real image.
	Emblem []byte
	// Font is the TrueType font to draw with; the service's when nil. The service keeps what it
	// derives from a font or emblem by the slice's identity: pass slices that do not change.
	Font []byte
}

// Licences is how the service finds the registered data of a licence version.
type Licences interface {
	// Get returns the current licence for a credit code, or the version with an identifier.
	Get(ctx context.Context, codeOrIdentifier string) (*license.Licence, error)
}

// Config configures a Service.
type Config struct {
	Keys     *keys.Service
	DocKeys  *keys.DocumentKeys // keys.NewDocumentKeys(Keys) when nil
	Licences Licences
	Clock    func() time.Time // time.Now when nil
	// PublicURL is the platform's public address, the base of the QR code's link.
	PublicURL string
	Font      []byte // TrueType; the embedded WenQuanYi Micro Hei when nil
	Emblem    []byte // PNG/JPEG; the placeholder mark when nil
	// Permits finds the registered data of permits (licences of other types) for verification;
	// without it a permit file's register check reports "not enough data".
	Permits Permits
	// PlatformName is the platform's name on the seal of watermarked copies (at most 40
	// characters); DefaultPlatformName when empty. The seal is made once, with the name of the day.
	PlatformName string
}

// DefaultPlatformName is the platform's name on copies' seals when Config.PlatformName is empty.
const DefaultPlatformName = "电子证照共享平台"

// Service renders licence documents and verifies them. It is safe for concurrent use.
type Service struct {
	keys      *keys.Service
	docKeys   *keys.DocumentKeys
	licences  Licences
	clock     func() time.Time
	publicURL string
	font      []byte
	emblem    []byte
	permits   Permits
	// platformName is the name on the platform's seal for copies.
	platformName string

	fonts    sync.Map // fontKey → *fontRes
	fontMu   sync.Mutex
	emblems  sync.Map // fontKey (of the image slice) → *emblemRes
	seals    sync.Map // seal key ID → *sealRes
	sealMu   sync.Mutex
	tokenPub sync.Map // authority code + serial → *authorityCert (VerifyToken)
	// tokenSigs keeps the QR tokens whose signature checked out, parsed (VerifyToken).
	tokenSigs *boundedCache[string, *qrtoken.Token]
	placeOne  sync.Once
	place     []byte // the placeholder emblem
	// qrs are the QR codes of recently rendered licence versions (render caches, cache.go).
	qrs *boundedCache[qrKey, *qrEntry]
	// subsetCap is the size of each font's cache of subsets (cache.go).
	subsetCap int
}

// NewService returns a document service.
func NewService(c Config) *Service {
	s := &Service{keys: c.Keys, docKeys: c.DocKeys, licences: c.Licences, clock: c.Clock,
		publicURL: strings.TrimSuffix(c.PublicURL, "/"), font: c.Font, emblem: c.Emblem,
		permits: c.Permits, platformName: c.PlatformName,
		qrs: newBoundedCache[qrKey, *qrEntry](qrCacheSize), subsetCap: subsetCacheSize,
		tokenSigs: newBoundedCache[string, *qrtoken.Token](tokenCacheSize)}
	if s.docKeys == nil && s.keys != nil {
		s.docKeys = keys.NewDocumentKeys(s.keys)
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.font == nil {
		s.font = font.Default()
	}
	if s.platformName == "" {
		s.platformName = DefaultPlatformName
	}
	return s
}

func (s *Service) now() time.Time { return s.clock().UTC().Truncate(time.Second) }

// fontKey identifies a font slice.
type fontKey struct {
	p *byte
	n int
}

// fontRes is what the renderers derive from a font: the parsed font and its recent subsets.
type fontRes struct {
	font    *Font
	subsets *boundedCache[string, *fontSubset]
}

const pdfFontFamily = "face"

func (s *Service) fontFor(b []byte) (*fontRes, error) {
	if len(b) == 0 {
		b = s.font
	}
	key := fontKey{&b[0], len(b)}
	if v, ok := s.fonts.Load(key); ok {
		return v.(*fontRes), nil
	}
	s.fontMu.Lock()
	defer s.fontMu.Unlock()
	if v, ok := s.fonts.Load(key); ok {
		return v.(*fontRes), nil
	}
	f, err := ParseFont(b)
	if err != nil {
		return nil, err
	}
	r := &fontRes{font: f, subsets: newBoundedCache[string, *fontSubset](s.subsetCap)}
	s.fonts.Store(key, r)
	return r, nil
}

// emblemFor returns the emblem image, prepared for both writers (cache.go).
func (s *Service) emblemFor(b []byte) (*emblemRes, error) {
	if len(b) == 0 {
		b = s.emblem
	}
	if len(b) == 0 {
		s.placeOne.Do(func() { s.place = placeholderEmblem() })
		b = s.place
	}
	key := fontKey{&b[0], len(b)}
	if v, ok := s.emblems.Load(key); ok {
		return v.(*emblemRes), nil
	}
	e, err := newEmblemRes(b)
	if err != nil {
		return nil, err
	}
	v, _ := s.emblems.LoadOrStore(key, e)
	return v.(*emblemRes), nil
}

// sealRes is an authority's electronic seal, ready to sign with.
type sealRes struct {
	der     []byte
	picture []byte // PNG
	// packed is the picture prepared for an OFD package (a copy shows the authority's seal as a
	// picture), made on first use.
	packed  func() *packed
	validTo time.Time
	// wMM and hMM are the picture's size as the seal gives it, in mm.
	wMM, hMM int
}

// Seal returns the electronic seal (SESeal DER, version 4) of the authority with this credit
// code for its current certificate, making it on first use: the platform signs it as seal maker
// (制章人), the authority's SM2 certificate is its only signer certificate, its picture is the
// red official-seal image with the authority's name. Seals are stored (keys.DocumentKeys) so
// every process signs with the same one.
func (s *Service) Seal(ctx context.Context, authorityCode string) ([]byte, error) {
	a, err := s.keys.Authority(ctx, authorityCode)
	if err != nil {
		return nil, err
	}
	r, err := s.sealFor(ctx, a)
	if err != nil {
		return nil, err
	}
	return r.der, nil
}

func (s *Service) sealFor(ctx context.Context, a *keys.Authority) (*sealRes, error) {
	return s.cachedSeal(ctx, keys.SealKeyID(a.Code, a.Serial), a.Code,
		func() ([]byte, error) { return s.docKeys.Seal(ctx, a.Code, a.Serial) },
		func() ([]byte, error) { return s.makeSeal(ctx, a) },
		func(der []byte) ([]byte, error) { return s.docKeys.PutSeal(ctx, a.Code, a.Serial, der) })
}

// cachedSeal returns the seal cached under the key ID id. On a miss it takes the stored seal
// (load), or, when none is stored (errs.NotFound), makes one (mk) and stores it (put, which
// returns another process's seal when that one stored first); sealMu makes a process do this
// once. owner names the seal's holder in errors.
func (s *Service) cachedSeal(ctx context.Context, id, owner string, load, mk func() ([]byte, error), put func(der []byte) ([]byte, error)) (*sealRes, error) {
	if v, ok := s.seals.Load(id); ok {
		return v.(*sealRes), nil
	}
	s.sealMu.Lock()
	defer s.sealMu.Unlock()
	if v, ok := s.seals.Load(id); ok {
		return v.(*sealRes), nil
	}
	der, err := load()
	if errs.Is(err, errs.NotFound) {
		der, err = mk()
		if err == nil {
			der, err = put(der)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("document: seal of %s: %w", owner, err)
	}
	sl, err := seal.ParseSeal(der)
	if err != nil {
		return nil, fmt.Errorf("document: stored seal of %s: %w", owner, err)
	}
	r := &sealRes{der: der, picture: sl.Picture, validTo: sl.ValidTo, wMM: sl.WidthMM, hMM: sl.HeightMM,
		packed: sync.OnceValue(func() *packed { return pack(sl.Picture, flate.NoCompression) })}
	s.seals.Store(id, r)
	return r, nil
}

// sealPictureMM is the size of the seal's picture: its ring is the 42 mm of an official seal
// (seal.RingDiameter), within a transparent margin.
const sealPictureMM = 45

// sealValidity: a seal is valid from an hour before it is made (clocks of other processes may
// lag) to the end of the authority certificate it names.
const sealBackdate = time.Hour

func (s *Service) makeSeal(ctx context.Context, a *keys.Authority) ([]byte, error) {
	maker, makerCert, err := s.keys.PlatformSigner(ctx)
	if err != nil {
		return nil, err
	}
	cert, err := gm.ParseCertificate(a.CertDER)
	if err != nil {
		return nil, err
	}
	return s.makeOrgSeal(ctx, maker, makerCert, orgSeal{
		idPrefix: a.Code + "-", serial: a.Serial, name: a.Name, signerCert: a.CertDER, validTo: cert.NotAfter,
		picture: seal.ImageOptions{SizePx: 400}, pictureName: a.Name, sizeMM: sealPictureMM,
	})
}

// orgSeal describes an organisation seal (单位印章) the platform makes: for a registering
// authority, a market entity, or itself (copies).
type orgSeal struct {
	idPrefix    string // the esID is idPrefix + the first 16 hex digits of serial, upper-cased
	serial      string // the signer certificate's serial
	name        string // 印章名称
	signerCert  []byte // the seal's only signer certificate (DER)
	validTo     time.Time
	picture     seal.ImageOptions
	pictureName string // the name around the ring of the picture
	sizeMM      int    // displayed width and height of the picture
}

// makeOrgSeal draws o's picture and has maker sign the seal as its maker (制章人); it is valid
// from sealBackdate before now to o.validTo.
func (s *Service) makeOrgSeal(ctx context.Context, maker gm.Signer, makerCert []byte, o orgSeal) ([]byte, error) {
	pic, err := seal.DrawImage(o.pictureName, o.picture)
	if err != nil {
		return nil, err
	}
	now := s.now()
	serial := o.serial
	if len(serial) > 16 {
		serial = serial[:16]
	}
	return seal.MakeSeal(ctx, maker, makerCert, seal.Info{
		ID:   strings.ToUpper(o.idPrefix + serial),
		Type: seal.TypeOrganisation, Name: o.name,
		Certs:   [][]byte{o.signerCert},
		Created: now, ValidFrom: now.Add(-sealBackdate), ValidTo: o.validTo.UTC().Truncate(time.Second),
		PictureType: "PNG", Picture: pic, WidthMM: o.sizeMM, HeightMM: o.sizeMM,
	})
}

// rendering is everything both writers need for one document.
type rendering struct {
	lic    *license.Licence // the licence; nil for a permit
	opts   Options
	lay    *layout
	font   *fontRes
	emblem *emblemRes
	qr     *qrEntry
	// auth is the licence's registering authority or the permit's issuing department, signer its
	// current SM2 key (the QR token; a permit's data).
	auth   *keys.Authority
	signer gm.Signer
	// sealBy is who seals the file: the authority for an original, the platform for a copy;
	// seal is its electronic seal, drawn at stamp on the first page.
	sealBy  sealIdentity
	seal    *sealRes
	stamp   rectBox
	payload payload
	meta    docMeta
	copy    *copyOverlay // a watermarked copy (加注件); nil for an original
	at      time.Time
}

// sealIdentity is who seals a document: the SM2 signer with its certificate for the OFD seal,
// and the document-signing key for the PDF signature.
type sealIdentity struct {
	signer gm.Signer
	cert   []byte // DER
	name   string
	region string
	pdf    func(ctx context.Context) (*keys.DocumentSigner, error)
}

// docMeta is what a document says about itself outside its pages: the OFD DocInfo and the PDF
// information dictionary and signature.
type docMeta struct {
	Title, Author, Subject, Keywords string
	Category                         string // the OFD Subject: 电子营业执照, the permit's type name
	Reason                           string // of the PDF signature
	ReasonASCII                      string // the same in ASCII, for a Reason pdfsign cannot write (pdfsignText)
	Custom                           []customData
}

// customData is a name/value of the document's metadata: OFD CustomData (ZH names it), PDF
// information dictionary entry (Key, a PDF name).
type customData struct {
	ZH, Key, Value string
}

// Render renders licence version l as a sealed document.
func (s *Service) Render(ctx context.Context, l *license.Licence, o Options) ([]byte, error) {
	return s.renderLicence(ctx, l, o, nil)
}

// options checks o and fills in the defaults.
func (s *Service) options(o Options) (Options, error) {
	if o.Format == "" {
		o.Format = OFD
	}
	if o.Copy == "" {
		o.Copy = Original
	}
	if o.Format != OFD && o.Format != PDF {
		return o, errs.Invalidf("format", "文件格式 %q 不支持，应为 ofd 或 pdf", "format %q is not supported: want ofd or pdf", o.Format)
	}
	if o.Copy != Original && o.Copy != Duplicate {
		return o, errs.Invalidf("copy", "%q 不是正本(original)或副本(duplicate)", "copy %q is neither original nor duplicate", o.Copy)
	}
	if o.PublicURL == "" {
		o.PublicURL = s.publicURL
	}
	if o.PublicURL == "" {
		return o, errors.New("document: render: no public URL for the QR code")
	}
	return o, nil
}

// start begins a rendering: options, font, emblem, and the authority's key and seal.
func (s *Service) start(ctx context.Context, o Options, authorityCode string) (*rendering, error) {
	o, err := s.options(o)
	if err != nil {
		return nil, err
	}
	r := &rendering{opts: o, at: s.now()}
	if r.font, err = s.fontFor(o.Font); err != nil {
		return nil, err
	}
	if r.emblem, err = s.emblemFor(o.Emblem); err != nil {
		return nil, err
	}
	if r.auth, r.signer, err = s.keys.AuthoritySigner(ctx, authorityCode); err != nil {
		return nil, fmt.Errorf("document: authority %s: %w", authorityCode, err)
	}
	if r.seal, err = s.sealFor(ctx, r.auth); err != nil {
		return nil, err
	}
	if r.at.After(r.seal.validTo) {
		return nil, fmt.Errorf("document: the seal of %s expired on %s (renew the authority's certificate)", r.auth.Code, r.seal.validTo.Format(time.DateOnly))
	}
	r.sealBy = sealIdentity{signer: r.signer, cert: r.auth.CertDER, name: r.auth.Name, region: r.auth.Region,
		pdf: func(ctx context.Context) (*keys.DocumentSigner, error) {
			return s.docKeys.DocumentSigner(ctx, r.auth.Code)
		}}
	return r, nil
}

// placeSeal sets where the authority's seal goes: the layout's box, for a picture of
// sealPictureMM; a seal whose picture has another size (one made before the margin around the
// ring was widened is 42 mm) keeps its own, centred on the same point.
func (r *rendering) placeSeal() {
	if w, h := r.seal.wMM, r.seal.hMM; w > 0 && h > 0 && (w != sealPictureMM || h != sealPictureMM) {
		b := r.lay.Seal
		cx, cy := b.X+b.W/2, b.Y+b.H/2
		b.W, b.H = b.W*float64(w)/sealPictureMM, b.H*float64(h)/sealPictureMM
		b.X, b.Y = cx-b.W/2, cy-b.H/2
		r.lay.Seal = b
	}
	r.stamp = r.lay.Seal
}

// renderLicence renders licence version l: an original, or with m a watermarked copy.
func (s *Service) renderLicence(ctx context.Context, l *license.Licence, o Options, m *Mark) ([]byte, error) {
	if l == nil {
		return nil, errors.New("document: render: no licence")
	}
	r, err := s.start(ctx, o, l.AuthorityCode)
	if err != nil {
		return nil, err
	}
	r.lic = l
	if r.lay, err = layoutLicence(l, layoutOptions{Copy: r.opts.Copy, Font: r.font.font}); err != nil {
		return nil, err
	}
	r.placeSeal()
	if r.qr, err = s.qrFor(ctx, licenceClaims(l, r.auth.Serial), r.signer, r.opts.PublicURL); err != nil {
		return nil, err
	}
	r.payload = newPayload(l, r.opts.Copy, r.at)
	r.meta = docMeta{
		Title: "营业执照 " + l.Face.Name, Author: r.auth.Name,
		Subject: "电子营业执照 " + l.Identifier, Keywords: l.Code,
		Category: "电子营业执照", Reason: "电子营业执照 " + l.Identifier, ReasonASCII: "e-business licence " + l.Identifier,
		Custom: []customData{{"电子证照标识", "Identifier", l.Identifier}, {"统一社会信用代码", "Code", l.Code},
			{"版本", "Version", strconv.Itoa(l.Version)}},
	}
	if m != nil {
		if err := s.prepareCopy(ctx, r, m); err != nil {
			return nil, err
		}
	}
	return s.write(ctx, r)
}

// write writes the rendering in its format.
func (s *Service) write(ctx context.Context, r *rendering) ([]byte, error) {
	if r.opts.Format == PDF {
		return s.renderPDF(ctx, r)
	}
	return s.renderOFD(ctx, r)
}
