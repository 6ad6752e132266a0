package keys_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/keys"
)

// TestPlatformDocumentSigner: the platform's document-signing key (for the PDF of watermarked
// copies) is certified by the document CA, names the platform, is made once and found again by
// another DocumentKeys over the same store; PlatformCertDER is the platform signer's certificate.
func TestPlatformDocumentSigner(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	svc := newService(t, st)
	d := keys.NewDocumentKeys(svc)
	ds, err := d.PlatformDocumentSigner(ctx, "电子证照共享平台")
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Cert.CheckSignatureFrom(ds.Root); err != nil {
		t.Errorf("not certified by the document CA: %v", err)
	}
	if ds.Cert.Subject.SerialNumber != keys.PlatformDocumentSerialNumber || ds.Cert.Subject.CommonName != "电子证照共享平台" {
		t.Errorf("subject %v", ds.Cert.Subject)
	}
	again, err := keys.NewDocumentKeys(svc).PlatformDocumentSigner(ctx, "another name")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Cert.Raw, ds.Cert.Raw) {
		t.Error("a second DocumentKeys made another platform document key")
	}
	_, cert, err := svc.PlatformSigner(ctx)
	if err != nil {
		t.Fatal(err)
	}
	der, err := svc.PlatformCertDER(ctx)
	if err != nil || !bytes.Equal(der, cert) {
		t.Errorf("PlatformCertDER: %v", err)
	}
	c, err := gm.ParseCertificate(cert)
	if err != nil {
		t.Fatal(err)
	}
	serial := c.SerialNumber.Text(16)
	if _, err := st.Key(ctx, keys.PlatformDocumentKeyID(serial)); err != nil {
		t.Errorf("stored under %s: %v", keys.PlatformDocumentKeyID(serial), err)
	}
}
