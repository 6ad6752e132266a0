package document

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"sync"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/qrtoken"
	"github.com/elicense/elicense/internal/seal"
)

func TestBoundedCache(t *testing.T) {
	c := newBoundedCache[int, string](3)
	for i := range 3 {
		c.put(i, "v")
	}
	if got := c.put(1, "other"); got != "v" {
		t.Errorf("put of a present key returned %q, want the value held", got)
	}
	c.put(3, "v") // evicts 0, the oldest
	if _, ok := c.get(0); ok {
		t.Error("the oldest entry was kept")
	}
	for _, k := range []int{1, 2, 3} {
		if _, ok := c.get(k); !ok {
			t.Errorf("entry %d lost", k)
		}
	}
	if c.len() != 3 {
		t.Errorf("%d entries, want 3", c.len())
	}
	none := newBoundedCache[int, string](0)
	none.put(1, "v")
	if _, ok := none.get(1); ok || none.len() != 0 {
		t.Error("a cache of size 0 holds entries")
	}
}

// TestRenderCaches: renders of one licence version share the QR code (one token per version and
// authority certificate) and the font subset, but every render is sealed afresh, at its own time.
func TestRenderCaches(t *testing.T) {
	e := newEnv(t)
	l := e.issue(t, companyReg(t, "MA2AB3CD"))
	type sealed struct {
		qr, font, value []byte
		at              time.Time
	}
	render := func() sealed {
		t.Helper()
		doc := e.render(t, l, OFD, Original)
		rep, err := e.docs.Verify(e.ctx, doc)
		if err != nil || !rep.Valid {
			t.Fatalf("verify: %v %+v", err, rep)
		}
		_, files := entries(t, doc)
		sig, err := seal.ParseSignature(files[signedValuePath])
		if err != nil {
			t.Fatal(err)
		}
		return sealed{files["Doc_0/Res/"+qrFileName], files["Doc_0/Res/"+fontFileName], files[signedValuePath], sig.Time}
	}
	first := render()
	e.setNow(e.clock().Add(time.Minute))
	second := render()
	if !bytes.Equal(first.qr, second.qr) || !bytes.Equal(first.font, second.font) {
		t.Error("two renders of one version have different QR codes or fonts")
	}
	if bytes.Equal(first.value, second.value) {
		t.Error("two renders carry the same seal signature")
	}
	if !second.at.Equal(e.clock().Truncate(time.Second)) || !second.at.After(first.at) {
		t.Errorf("signing times %v and %v: each render must be signed at its own time", first.at, second.at)
	}
	// The PDF of the version carries the same token: the QR code leads to the same page.
	tok := e.docs.qrs.m[qrKey{identifier: l.Identifier, code: l.Code, version: l.Version, issuedAt: l.IssuedAt.Unix(),
		authority: l.AuthorityCode, certSerial: e.auth.Serial, publicURL: testPublicURL}]
	if tok == nil {
		t.Fatal("the QR code is not cached")
	}
	if rep, err := e.docs.VerifyToken(e.ctx, tok.token); err != nil || !rep.Valid || rep.Identifier != l.Identifier {
		t.Errorf("cached token: %v %+v", err, rep)
	}
	// A new version has a QR code of its own.
	reg := companyReg(t, "MA2AB3CD")
	reg.Face.Address = "浙江省杭州市西湖区文三路200号"
	l2, err := e.licences.Change(e.ctx, e.actor, l.Code, 1, reg)
	if err != nil {
		t.Fatal(err)
	}
	_, files := entries(t, e.render(t, l2, OFD, Original))
	if bytes.Equal(files["Doc_0/Res/"+qrFileName], first.qr) {
		t.Error("version 2 has the QR code of version 1")
	}
}

// TestRenderConcurrently: renders that share the caches at the same time each give a valid
// file (run with -race to check the sharing).
func TestRenderConcurrently(t *testing.T) {
	e := newEnv(t)
	l := e.issue(t, companyReg(t, "MA2AB3CD"))
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, c := []Format{OFD, PDF}[i%2], []Copy{Original, Duplicate}[i/2%2]
			doc, err := e.docs.Render(e.ctx, l, Options{Format: f, Copy: c})
			if err != nil {
				errc <- err
				return
			}
			if rep, err := e.docs.Verify(e.ctx, doc); err != nil || !rep.Valid {
				errc <- fmt.Errorf("%s %s: %v %s", f, c, err, rep.EN)
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

// TestEmblemWithAlpha: an emblem with transparency is embedded as given in the OFD and laid on
// white for the PDF (gopdf would split its alpha channel on every render); a JPEG passes as is.
func TestEmblemWithAlpha(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 40, 40))
	for y := 10; y < 30; y++ {
		for x := 10; x < 30; x++ {
			img.SetNRGBA(x, y, color.NRGBA{R: 200, G: 20, B: 20, A: 255})
		}
	}
	var pb bytes.Buffer
	if err := png.Encode(&pb, img); err != nil {
		t.Fatal(err)
	}
	res, err := newEmblemRes(pb.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if res.format != "PNG" || !bytes.Equal(res.ofd.data, pb.Bytes()) {
		t.Error("the OFD does not get the emblem as given")
	}
	flat, err := png.Decode(bytes.NewReader(res.pdf))
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := flat.(interface{ Opaque() bool }); !ok || !o.Opaque() || res.pdf[25] != 2 { // IHDR colour type 2: RGB
		t.Errorf("the PDF emblem still has an alpha channel (colour type %d)", res.pdf[25])
	}
	if r, g, b, _ := flat.At(0, 0).RGBA(); r>>8 != 255 || g>>8 != 255 || b>>8 != 255 {
		t.Error("a transparent pixel is not white")
	}
	if r, g, b, _ := flat.At(20, 20).RGBA(); r>>8 != 200 || g>>8 != 20 || b>>8 != 20 {
		t.Error("an opaque pixel changed")
	}
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, img, nil); err != nil {
		t.Fatal(err)
	}
	if res, err := newEmblemRes(jb.Bytes()); err != nil || res.format != "JPG" || !bytes.Equal(res.pdf, jb.Bytes()) {
		t.Errorf("JPEG emblem: %v", err)
	}
	if _, err := newEmblemRes([]byte("GIF89a")); err == nil {
		t.Error("a GIF emblem was accepted")
	}
	// An opaque PNG of 16 bits per channel, which gopdf cannot read, is re-encoded for the PDF.
	deep := image.NewNRGBA64(image.Rect(0, 0, 8, 8))
	for i := range deep.Pix {
		deep.Pix[i] = 0xFF
	}
	var db bytes.Buffer
	if err := png.Encode(&db, deep); err != nil || db.Bytes()[24] != 16 {
		t.Fatalf("16-bit PNG: %v", err)
	}
	if res, err := newEmblemRes(db.Bytes()); err != nil || res.pdf[24] != 8 || !bytes.Equal(res.ofd.data, db.Bytes()) {
		t.Errorf("16-bit emblem: %v", err)
	}
	// Both formats render and verify with it.
	e := newEnv(t)
	l := e.issue(t, companyReg(t, "MA2AB3CD"))
	for _, f := range []Format{OFD, PDF} {
		doc, err := e.docs.Render(e.ctx, l, Options{Format: f, Emblem: pb.Bytes()})
		if err != nil {
			t.Fatal(err)
		}
		if rep, err := e.docs.Verify(e.ctx, doc); err != nil || !rep.Valid {
			t.Errorf("%s with an emblem with alpha: %v %+v", f, err, rep)
		}
	}
}

// TestVerifyTokenRemembersOnlyTheSignature: a token whose signature checked out once is not
// checked again, but the licence's status and a presentation token's expiry are, every time.
func TestVerifyTokenRemembersOnlyTheSignature(t *testing.T) {
	e := newEnv(t)
	l := e.issue(t, companyReg(t, "MA2AB3CD"))
	tok, err := e.docs.Token(e.ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := e.docs.VerifyToken(e.ctx, tok); err != nil || !rep.Valid {
		t.Fatalf("%v %+v", err, rep)
	}
	if _, ok := e.docs.tokenSigs.get(tok); !ok {
		t.Fatal("the verified token is not remembered")
	}
	if _, err := e.licences.SetStatus(e.ctx, e.actor, l.Code, license.StatusChange{Action: license.Suspend, Reason: "涉嫌违法经营"}); err != nil {
		t.Fatal(err)
	}
	if rep, err := e.docs.VerifyToken(e.ctx, tok); err != nil || rep.Result != ResultSuspended {
		t.Errorf("suspended licence, remembered token: %v %+v", err, rep)
	}

	// A presentation token (the wallet's dynamic QR, signed by the platform) expires.
	platform, _, err := e.keys.PlatformSigner(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock()
	pt, err := qrtoken.Encode(e.ctx, platform, qrtoken.Claims{Type: qrtoken.TypePresentation, Identifier: l.Identifier,
		Code: l.Code, Version: l.Version, IssuedAt: now, Expires: now.Add(5 * time.Minute), AuthorityCode: l.AuthorityCode,
		CertSerial: "0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := e.docs.VerifyToken(e.ctx, pt); err != nil || hasFailed(rep, "token_time") || hasFailed(rep, "token_signature") {
		t.Fatalf("fresh presentation token: %v %+v", err, rep)
	}
	e.setNow(now.Add(10 * time.Minute))
	if rep, err := e.docs.VerifyToken(e.ctx, pt); err != nil || !hasFailed(rep, "token_time") || rep.Valid {
		t.Errorf("expired presentation token, remembered signature: %v %+v", err, rep)
	}
}

func hasFailed(r *Report, name string) bool {
	for _, c := range r.Checks {
		if c.Name == name && !c.OK {
			return true
		}
	}
	return false
}
