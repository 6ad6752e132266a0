package keys_test

import (
	"context"
	"crypto/ecdsa"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/keys"
)

func TestEntitySigner(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	s := newService(t, st)
	code := "91330106673959654P"
	es, err := s.EntitySigner(ctx, strings.ToLower(code), " 杭州示例科技有限公司 ")
	if err != nil {
		t.Fatal(err)
	}
	if es.Code != code || es.Name != "杭州示例科技有限公司" {
		t.Errorf("signer %+v", es)
	}
	root, err := s.RootCertDER(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := gm.VerifyChain(es.CertDER, root); err != nil {
		t.Fatalf("entity certificate does not chain to the platform root: %v", err)
	}
	cert, _ := gm.ParseCertificate(es.CertDER)
	n := gm.NameOf(cert.Subject)
	if n.CommonName != es.Name || n.Organization != es.Name || n.CreditCode != code || n.Unit != keys.EntityUnit {
		t.Errorf("subject %+v", n)
	}
	msg := []byte("网上行为确认 " + code)
	sig, err := es.Signer.Sign(ctx, msg)
	if err != nil {
		t.Fatal(err)
	}
	if !gm.Verify(cert.PublicKey.(*ecdsa.PublicKey), msg, sig) {
		t.Fatal("signature does not verify with the certificate's key")
	}

	// The same key again, from the cache and from another process over the same store.
	again, err := s.EntitySigner(ctx, code, "杭州示例科技有限公司")
	if err != nil || again.Serial != es.Serial {
		t.Errorf("second call: %v %v", again, err)
	}
	other := keys.NewService(st, sealer(t, 7), func() time.Time { return t0 })
	if o, err := other.EntitySigner(ctx, code, "杭州示例科技有限公司"); err != nil || o.Serial != es.Serial {
		t.Errorf("another process: %v %v", o, err)
	}
	// A new name is a new certificate; the old one stays findable.
	renamed, err := s.EntitySigner(ctx, code, "杭州示例科技股份有限公司")
	if err != nil || renamed.Serial == es.Serial {
		t.Fatalf("renamed: %v %v", renamed, err)
	}
	ec, err := s.EntityCertificateBySerial(ctx, es.Serial)
	if err != nil || ec.Code != code || ec.Name != "杭州示例科技有限公司" || ec.PDF {
		t.Errorf("by serial: %+v %v", ec, err)
	}
	// The platform's own certificate is not an entity's.
	_, pc, _ := s.PlatformSigner(ctx)
	pcert, _ := gm.ParseCertificate(pc)
	if _, err := s.EntityCertificateBySerial(ctx, pcert.SerialNumber.Text(16)); !errs.Is(err, errs.NotFound) {
		t.Errorf("platform certificate as entity: %v", err)
	}
	for _, bad := range [][2]string{{"9133010667395965", "甲公司"}, {"91330106673959654*", "甲公司"}, {code, ""}, {code, "a\x00b"}} {
		if _, err := s.EntitySigner(ctx, bad[0], bad[1]); !errs.Is(err, errs.Invalid) {
			t.Errorf("EntitySigner(%q, %q): %v", bad[0], bad[1], err)
		}
	}

	// The document (PDF) certificate follows the SM2 one and comes from the document CA.
	dk := keys.NewDocumentKeys(s)
	ds, err := dk.EntityDocumentSigner(ctx, es)
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Cert.CheckSignatureFrom(ds.Root); err != nil || ds.Cert.Subject.SerialNumber != code {
		t.Errorf("document certificate: %v %+v", err, ds.Cert.Subject)
	}
	if ec, err := s.EntityCertificateBySerial(ctx, ds.Cert.SerialNumber.Text(16)); err != nil || !ec.PDF || ec.Code != code {
		t.Errorf("document certificate by serial: %+v %v", ec, err)
	}

	// OpenSSL verifies the entity's SM2 signature with the certificate's public key.
	bin, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("ELICENSE_REQUIRE_TOOLS") == "1" {
			t.Fatal("openssl not found and ELICENSE_REQUIRE_TOOLS=1")
		}
		t.Skip("openssl not found: skipping the OpenSSL check")
	}
	dir := t.TempDir()
	pub, _ := gm.PublicKeyPEM(cert.PublicKey.(*ecdsa.PublicKey))
	for name, b := range map[string][]byte{"msg": msg, "sig": sig, "pub.pem": pub, "cert.pem": gm.CertPEM(es.CertDER)} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg", "-sigfile", "sig",
		"-digest", "sm3", "-pkeyopt", "distid:1234567812345678")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Signature Verified Successfully") {
		t.Errorf("openssl pkeyutl: %v\n%s", err, out)
	}
	cmd = exec.Command(bin, "x509", "-in", "cert.pem", "-noout", "-subject")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), code) {
		t.Errorf("openssl x509: %v\n%s", err, out)
	}
}
