package seal

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/gm"
)

// openssl returns the path of the OpenSSL 3 binary. Without it the test fails when
// ELICENSE_REQUIRE_TOOLS=1 and is skipped otherwise.
func openssl(t *testing.T) string {
	t.Helper()
	why := "openssl not found"
	if path, err := exec.LookPath("openssl"); err == nil {
		out, err := exec.Command(path, "version").CombinedOutput()
		if err == nil && strings.HasPrefix(string(out), "OpenSSL 3.") {
			return path
		}
		why = "openssl is not OpenSSL 3: " + strings.TrimSpace(string(out))
	}
	if os.Getenv("ELICENSE_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s and ELICENSE_REQUIRE_TOOLS=1: install OpenSSL 3", why)
	}
	t.Skipf("%s: skipping (set ELICENSE_REQUIRE_TOOLS=1 to make this an error)", why)
	return ""
}

func runOpenSSL(t *testing.T, bin, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func writeFile(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// OpenSSL reads our SESeal and SES_Signature as DER, and verifies the maker's and the signer's
// SM2 signatures over exactly the bytes Verify checks.
func TestOpenSSL(t *testing.T) {
	bin := openssl(t)
	p := fixtures(t)
	dir := t.TempDir()
	sealDER := makeSeal(t, p, testInfo(p))
	der := sign(t, p, sealDER, t0.Add(time.Hour))
	sig := mustParse(t, der)

	writeFile(t, dir, "seal.der", sealDER)
	writeFile(t, dir, "signature.der", der)
	out := runOpenSSL(t, bin, dir, "asn1parse", "-inform", "DER", "-in", "seal.der", "-i")
	for _, want := range []string{"IA5STRING         :ES", "INTEGER           :04", "GENERALIZEDTIME", "UTF8STRING", "IA5STRING         :PNG", "OBJECT            :SM2-with-SM3"} {
		if !strings.Contains(out, want) {
			t.Errorf("asn1parse of the seal lacks %q:\n%s", want, out)
		}
	}
	out = runOpenSSL(t, bin, dir, "asn1parse", "-inform", "DER", "-in", "signature.der", "-i")
	if !strings.Contains(out, "IA5STRING         :"+prop) || strings.Count(out, "SM2-with-SM3") != 2 {
		t.Errorf("asn1parse of the signature:\n%s", out)
	}

	verify := func(name string, pubKey *gm.PrivateKey, tbs, sigValue []byte) {
		t.Helper()
		pem, err := gm.PublicKeyPEM(pubKey.Public())
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, name+"-pub.pem", pem)
		writeFile(t, dir, name+"-tbs.der", tbs)
		writeFile(t, dir, name+"-sig.der", sigValue)
		out := runOpenSSL(t, bin, dir, "pkeyutl", "-verify", "-pubin", "-inkey", name+"-pub.pem", "-rawin",
			"-in", name+"-tbs.der", "-sigfile", name+"-sig.der", "-digest", "sm3", "-pkeyopt", "distid:"+gm.DefaultSignerID)
		if !strings.Contains(out, "Signature Verified Successfully") {
			t.Errorf("%s: openssl says %s", name, out)
		}
	}
	verify("signer", p.signer, sig.TBS, sig.Value)
	verify("maker", p.maker, sig.Seal.TBS, sig.Seal.SignedValue)

	// The certificates inside verify against the root, as OpenSSL sees them.
	writeFile(t, dir, "root.pem", gm.CertPEM(p.rootDER))
	writeFile(t, dir, "signer.pem", gm.CertPEM(sig.SignerCert))
	writeFile(t, dir, "maker.pem", gm.CertPEM(sig.Seal.MakerCert))
	for _, c := range []string{"signer.pem", "maker.pem"} {
		out := runOpenSSL(t, bin, dir, "verify", "-vfyopt", "distid:"+gm.DefaultSignerID, "-attime", strconv.FormatInt(sig.Time.Unix(), 10), "-CAfile", "root.pem", c)
		if !strings.Contains(out, ": OK") {
			t.Errorf("openssl verify %s: %s", c, out)
		}
	}

	// A version-1 signature's TBS verifies too.
	v1 := mustParse(t, signV1(t, p, makeSealV1(t, p, 1), mustMarshal(t, t0.Add(time.Hour)), false))
	verify("v1-signer", p.signer, v1.TBS, v1.Value)
	verify("v1-maker", p.maker, v1.Seal.TBS, v1.Seal.SignedValue)
}
