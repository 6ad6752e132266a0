package document

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/seal"
)

// TestStampSize: the stamp is drawn at the size the seal gives its picture — 45 mm (a 42 mm ring
// in a clear margin) on the 正本 for the seals made now, and 42 mm for a seal stored before the
// margin was widened — centred on the same point over the date.
func TestStampSize(t *testing.T) {
	boundary := func(e *env) []float64 {
		t.Helper()
		l := e.issue(t, companyReg(t, "MA2AB3CD"))
		_, files := entries(t, e.render(t, l, OFD, Original))
		m := regexp.MustCompile(`StampAnnot ID="1" PageRef="\d+" Boundary="([^"]+)"`).FindSubmatch(files[signaturePath])
		if m == nil {
			t.Fatal("no StampAnnot")
		}
		var b []float64
		for _, f := range strings.Fields(string(m[1])) {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				t.Fatal(err)
			}
			b = append(b, v)
		}
		return b
	}
	now := boundary(newEnv(t))
	if math.Abs(now[2]-sealPictureMM) > 0.01 || math.Abs(now[3]-sealPictureMM) > 0.01 {
		t.Errorf("stamp %v × %v mm on the 正本, want %d", now[2], now[3], sealPictureMM)
	}

	// A seal with a 42 mm picture, stored before the first render.
	e := newEnv(t)
	maker, makerCert, err := e.keys.PlatformSigner(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := gm.ParseCertificate(e.auth.CertDER)
	if err != nil {
		t.Fatal(err)
	}
	pic, err := seal.DrawImage(e.auth.Name, seal.ImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	at := e.clock()
	der, err := seal.MakeSeal(e.ctx, maker, makerCert, seal.Info{
		ID: fmt.Sprintf("%s-OLD", e.auth.Code), Type: seal.TypeOrganisation, Name: e.auth.Name,
		Certs: [][]byte{e.auth.CertDER}, Created: at, ValidFrom: at.Add(-time.Hour), ValidTo: cert.NotAfter,
		PictureType: "PNG", Picture: pic, WidthMM: 42, HeightMM: 42,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.docs.docKeys.PutSeal(e.ctx, e.auth.Code, e.auth.Serial, der); err != nil {
		t.Fatal(err)
	}
	old := boundary(e)
	if math.Abs(old[2]-42) > 0.01 || math.Abs(old[3]-42) > 0.01 {
		t.Errorf("stamp of a 42 mm seal: %v × %v mm", old[2], old[3])
	}
	for i := 0; i < 2; i++ {
		if c0, c1 := now[i]+now[i+2]/2, old[i]+old[i+2]/2; math.Abs(c0-c1) > 0.01 {
			t.Errorf("centre moved: %.3f vs %.3f", c0, c1)
		}
	}
}
