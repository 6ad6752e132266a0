package gm

import (
	"context"
	"encoding/hex"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// openssl returns the path of the OpenSSL 3 binary. Without it the test fails
// when ELICENSE_REQUIRE_TOOLS=1 and is skipped otherwise.
func openssl(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("ELICENSE_REQUIRE_TOOLS") == "1" {
			t.Fatal("openssl not found and ELICENSE_REQUIRE_TOOLS=1: install OpenSSL 3")
		}
		t.Skip("openssl not found: skipping OpenSSL interoperability test (set ELICENSE_REQUIRE_TOOLS=1 to make this an error)")
	}
	out, err := exec.Command(path, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "OpenSSL 3.") {
		msg := "openssl is not OpenSSL 3: " + strings.TrimSpace(string(out))
		if os.Getenv("ELICENSE_REQUIRE_TOOLS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

func run(t *testing.T, dir, bin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustRun(t *testing.T, dir, bin string, args ...string) string {
	t.Helper()
	out, err := run(t, dir, bin, args...)
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func write(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Our SM2 signature verifies in OpenSSL with SM3 and the default signer ID.
func TestOpenSSLVerifiesOurSignature(t *testing.T) {
	bin := openssl(t)
	dir := t.TempDir()
	k := mustKey(t)
	msg := []byte("营业执照 91330106673959654P 1.2.156.3005.2")
	sig, err := k.Sign(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := PublicKeyPEM(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "msg", msg)
	write(t, dir, "sig", sig)
	write(t, dir, "pub.pem", pubPEM)

	out := mustRun(t, dir, bin, "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem",
		"-rawin", "-in", "msg", "-sigfile", "sig", "-digest", "sm3", "-pkeyopt", "distid:"+DefaultSignerID)
	if !strings.Contains(out, "Signature Verified Successfully") {
		t.Fatalf("openssl: %s", out)
	}
	// The signer ID really is part of the digest: another ID must fail.
	if out, err := run(t, dir, bin, "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem",
		"-rawin", "-in", "msg", "-sigfile", "sig", "-digest", "sm3", "-pkeyopt", "distid:1234567812345679"); err == nil {
		t.Fatalf("openssl verified under another signer ID: %s", out)
	}

	// Our PKCS #8 private key loads in OpenSSL and yields the same public key.
	der, _ := MarshalPrivateKey(k)
	write(t, dir, "key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if got := mustRun(t, dir, bin, "pkey", "-in", "key.pem", "-pubout"); got != string(pubPEM) {
		t.Fatalf("openssl derives another public key:\n%s\nwant\n%s", got, pubPEM)
	}
}

// A signature made by OpenSSL with a key it generated verifies in Go, and
// OpenSSL's key files parse.
func TestOpenSSLSignatureVerifiesHere(t *testing.T) {
	bin := openssl(t)
	dir := t.TempDir()
	msg := []byte("电子营业执照 OpenSSL → Go")
	write(t, dir, "msg", msg)
	mustRun(t, dir, bin, "genpkey", "-algorithm", "SM2", "-out", "key.pem")
	mustRun(t, dir, bin, "pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem")
	mustRun(t, dir, bin, "pkeyutl", "-sign", "-inkey", "key.pem", "-rawin", "-in", "msg",
		"-out", "sig", "-digest", "sm3", "-pkeyopt", "distid:"+DefaultSignerID)

	pub, err := ParsePublicKey(readPEM(t, dir, "pub.pem", "PUBLIC KEY"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := os.ReadFile(filepath.Join(dir, "sig"))
	if err != nil {
		t.Fatal(err)
	}
	if !Verify(pub, msg, sig) {
		t.Fatalf("OpenSSL signature %x rejected", sig)
	}
	if Verify(pub, append(msg, '!'), sig) {
		t.Fatal("OpenSSL signature accepted for another message")
	}

	k, err := ParsePrivateKey(readPEM(t, dir, "key.pem", "PRIVATE KEY"))
	if err != nil {
		t.Fatal(err)
	}
	if !k.Public().Equal(pub) {
		t.Fatal("OpenSSL private key parses to another public key")
	}
}

func readPEM(t *testing.T, dir, name, typ string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != typ {
		t.Fatalf("%s: no %s PEM block", name, typ)
	}
	return b.Bytes
}

// OpenSSL accepts the certificates we make: root → leaf and root → CA → leaf.
//
// Our certificates are signed with the default signer ID, as GM/T 0015 and
// every SM2 CA expect. OpenSSL 3.0–3.6 verify certificate signatures with an
// empty ID unless told otherwise, and -vfyopt sets the ID only for the
// certificate named on the command line, not for the CA certificates of the
// chain (openssl/openssl#23471, #32744). So each link is checked on its own:
// root → CA, CA → leaf (-partial_chain makes the CA an anchor), and the root's
// self-signature with pkeyutl.
func TestOpenSSLVerifiesOurCertificates(t *testing.T) {
	bin := openssl(t)
	dir := t.TempDir()
	p := newTestPKI(t)
	write(t, dir, "root.pem", CertPEM(p.root))
	write(t, dir, "ca.pem", CertPEM(p.ca))
	write(t, dir, "leaf.pem", CertPEM(p.leaf))

	direct, err := IssueCertificate(p.root, p.rootKey, authorityName, mustKey(t).Public(), p.notBefore, p.notAfter, false)
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "direct.pem", CertPEM(direct))

	distid := "distid:" + DefaultSignerID
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"verify", "-vfyopt", distid, "-CAfile", "root.pem", "direct.pem"}, "direct.pem: OK"},
		{[]string{"verify", "-vfyopt", distid, "-CAfile", "root.pem", "ca.pem"}, "ca.pem: OK"},
		{[]string{"verify", "-vfyopt", distid, "-partial_chain", "-CAfile", "ca.pem", "leaf.pem"}, "leaf.pem: OK"},
	} {
		if out := mustRun(t, dir, bin, tc.args...); strings.TrimSpace(out) != tc.want {
			t.Errorf("openssl %s: %s", strings.Join(tc.args, " "), out)
		}
	}
	// Negative controls: a wrong signer ID, and a leaf without its CA.
	if out, err := run(t, dir, bin, "verify", "-vfyopt", "distid:1234567812345679", "-CAfile", "root.pem", "direct.pem"); err == nil {
		t.Errorf("openssl verified under another signer ID: %s", out)
	}
	if out, err := run(t, dir, bin, "verify", "-vfyopt", distid, "-CAfile", "root.pem", "leaf.pem"); err == nil {
		t.Errorf("openssl verified the leaf without its CA: %s", out)
	}

	// The root's self-signature, over its TBSCertificate.
	root, _ := ParseCertificate(p.root)
	rootPub, _ := PublicKeyPEM(p.rootKey.Public())
	write(t, dir, "root-tbs", root.RawTBSCertificate)
	write(t, dir, "root-sig", root.Signature)
	write(t, dir, "root-pub.pem", rootPub)
	if got := mustRun(t, dir, bin, "x509", "-in", "root.pem", "-noout", "-pubkey"); got != string(rootPub) {
		t.Errorf("openssl reads another root public key:\n%s", got)
	}
	mustRun(t, dir, bin, "pkeyutl", "-verify", "-pubin", "-inkey", "root-pub.pem", "-rawin", "-in", "root-tbs",
		"-sigfile", "root-sig", "-digest", "sm3", "-pkeyopt", distid)

	text := mustRun(t, dir, bin, "x509", "-in", "leaf.pem", "-noout", "-text", "-nameopt", "utf8,sep_comma_plus")
	for _, want := range []string{
		"Signature Algorithm: SM2-with-SM3",
		"serialNumber=11330106002500287C",
		"杭州市西湖区市场监督管理局",
		"Digital Signature, Non Repudiation",
		"CA:FALSE",
		"ASN1 OID: SM2",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("openssl x509 -text lacks %q:\n%s", want, text)
		}
	}
	rootText := mustRun(t, dir, bin, "x509", "-in", "root.pem", "-noout", "-text")
	for _, want := range []string{"CA:TRUE", "Certificate Sign, CRL Sign"} {
		if !strings.Contains(rootText, want) {
			t.Errorf("root lacks %q:\n%s", want, rootText)
		}
	}
}

// A certificate made by OpenSSL with the default signer ID verifies here.
func TestOpenSSLCertificateVerifiesHere(t *testing.T) {
	bin := openssl(t)
	dir := t.TempDir()
	distid := "distid:" + DefaultSignerID
	mustRun(t, dir, bin, "genpkey", "-algorithm", "SM2", "-out", "root.key")
	mustRun(t, dir, bin, "req", "-new", "-x509", "-key", "root.key", "-sm3", "-sigopt", distid,
		"-subj", "/C=CN/O=Test Root/CN=Test Root", "-days", "30", "-out", "root.pem",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	mustRun(t, dir, bin, "genpkey", "-algorithm", "SM2", "-out", "leaf.key")
	mustRun(t, dir, bin, "req", "-new", "-key", "leaf.key", "-sm3", "-sigopt", distid,
		"-subj", "/C=CN/CN=Test Leaf", "-out", "leaf.csr")
	mustRun(t, dir, bin, "x509", "-req", "-in", "leaf.csr", "-CA", "root.pem", "-CAkey", "root.key",
		"-CAcreateserial", "-sm3", "-sigopt", distid, "-vfyopt", distid, "-days", "10", "-out", "leaf.pem")

	root := readPEM(t, dir, "root.pem", "CERTIFICATE")
	leaf := readPEM(t, dir, "leaf.pem", "CERTIFICATE")
	if err := VerifyChain(leaf, root); err != nil {
		t.Fatalf("OpenSSL chain rejected: %v", err)
	}
	rootKey, err := ParsePrivateKey(readPEM(t, dir, "root.key", "PRIVATE KEY"))
	if err != nil {
		t.Fatal(err)
	}
	// And we can issue under OpenSSL's CA.
	mine, err := IssueCertificate(root, rootKey, authorityName, mustKey(t).Public(), time.Now().Add(-time.Minute), time.Now().Add(time.Hour), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyChain(mine, root); err != nil {
		t.Fatal(err)
	}
}

// HMAC-SM3 and SM3 agree with OpenSSL.
func TestOpenSSLSM3(t *testing.T) {
	bin := openssl(t)
	dir := t.TempDir()
	data := []byte("110101199003074258")
	key := []byte("pepper-0123456789")
	write(t, dir, "data", data)
	out := mustRun(t, dir, bin, "dgst", "-sm3", "-hex", "-r", "data")
	want := SM3(data)
	if !strings.HasPrefix(out, hex.EncodeToString(want[:])) {
		t.Errorf("SM3: openssl %q, we %x", out, want)
	}
	out = mustRun(t, dir, bin, "mac", "-digest", "SM3", "-macopt", "hexkey:"+hex.EncodeToString(key), "-in", "data", "HMAC")
	mac := HMACSM3(key, data)
	if !strings.EqualFold(strings.TrimSpace(out), hex.EncodeToString(mac[:])) {
		t.Errorf("HMAC-SM3: openssl %q, we %x", out, mac)
	}
}
