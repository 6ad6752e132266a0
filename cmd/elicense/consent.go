package main

import (
	"context"
	"fmt"

	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/sharing"
)

// copier renders the copy behind a sharing download (sharing.Copier).
//
// TEMPORARY: it renders the original document with document.Service.Render, without the
// watermark and the copy's metadata (CopyMark); the integrator switches it to
// document.Service.RenderCopy(ctx, l, document.Options{Format: f}, document.Mark{…}) once that
// exists.
type copier struct{ docs *document.Service }

// Copy renders l in format ("ofd" or "pdf").
func (c copier) Copy(ctx context.Context, l *license.Licence, format string, _ sharing.CopyMark) ([]byte, error) {
	f := document.OFD
	if format == "pdf" {
		f = document.PDF
	}
	return c.docs.Render(ctx, l, document.Options{Format: f})
}

// enableConsent gives the sharing service consent, downloads, archive receipts and usage
// records.
func (ap *app) enableConsent(ctx context.Context, share *sharing.Service, docs *document.Service) error {
	signer, cert, err := ap.keys.PlatformSigner(ctx)
	if err != nil {
		return fmt.Errorf("consent: %w", err)
	}
	return share.EnableConsent(sharing.ConsentConfig{Store: ap.db, People: ap.identity, Copier: copier{docs}, Events: ap.audit,
		Signer: signer, CertDER: cert})
}
