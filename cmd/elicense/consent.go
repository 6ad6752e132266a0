package main

import (
	"context"
	"fmt"

	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/library"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/permitdoc"
	"github.com/elicense/elicense/internal/sharing"
)

// copier renders the copy behind a sharing download (sharing.Copier): the watermarked copy
// (加注件) sealed by the platform, carrying who fetched it, why, for which case and until when.
type copier struct{ docs *document.Service }

// Copy renders the copy of l in format ("ofd" or "pdf").
func (c copier) Copy(ctx context.Context, l *license.Licence, format string, m sharing.CopyMark) ([]byte, error) {
	f := document.OFD
	if format == "pdf" {
		f = document.PDF
	}
	return c.docs.RenderCopy(ctx, l, document.Options{Format: f}, document.Mark(m))
}

// CopyPermit renders the copy of permit p of type t in format (sharing.PermitCopier), with its
// status as of the copy's time.
func (c copier) CopyPermit(ctx context.Context, p *library.Permit, t *library.Type, format string, m sharing.CopyMark) ([]byte, error) {
	f := document.OFD
	if format == "pdf" {
		f = document.PDF
	}
	return c.docs.RenderPermitCopy(ctx, permitdoc.Of(p, t, m.At), document.Options{Format: f}, document.Mark(m))
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
