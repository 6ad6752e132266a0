// Package inbox is the wallet's to-do list (待办, issue 7 item 2): one list of what waits for a
// person's confirmation across every licence they hold or act for, gathered from several
// sources behind one small interface. The sources today are signing requests (package signing),
// scan-to-login confirmations the person scanned but has not confirmed (LoginSource), and
// departments' consent requests (用证授权) of the entities the person may approve for
// (package sharing).
//
// Each item says who asks and for what, and links to the wallet page where the person
// confirms it (licence PIN, personal PIN or passkey) or declines it; the inbox itself decides
// nothing. It is a domain package: no SQL, no HTTP.
package inbox

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/elicense/elicense/internal/identity"
)

// Kinds of items. A new source picks its own kind (and the web layer its words).
const (
	KindSigning = "signing" // a portal asks the entity to sign a document (package signing)
	KindLogin   = "login"   // a portal's login QR the person scanned (扫码登录)
	KindConsent = "consent" // a department asks to use a licence (用证授权), issue 5
)

// Item is one thing waiting for the person.
type Item struct {
	Kind string
	ID   string // the source's own identifier (request ID, QR ID, …)
	// EntityCode and EntityName are the entity the item is for; empty when the person picks the
	// entity while confirming (a login).
	EntityCode string
	EntityName string
	Asker      string // who asks: the portal's or department's name
	Department string // the asker's department, when known
	What       string // for what, in the asker's words (a document's title, a use cause); may be empty
	CreatedAt  time.Time
	ExpiresAt  time.Time
	// URL is the wallet page (a path under /wallet/) where the person sees the item in full and
	// confirms or declines it.
	URL string
}

// Source lists the items of one kind waiting for a person at now. Sources check the person's
// roles themselves (identity.Service.Roles / CanAct): an item appears only to those who may
// confirm it.
type Source interface {
	Items(ctx context.Context, personID string, now time.Time) ([]Item, error)
}

// Inbox merges its sources.
type Inbox struct {
	sources []Source
	clock   func() time.Time
}

// New returns an inbox over sources; clock defaults to time.Now.
func New(clock func() time.Time, sources ...Source) *Inbox {
	if clock == nil {
		clock = time.Now
	}
	return &Inbox{sources: slices.DeleteFunc(slices.Clone(sources), func(s Source) bool { return s == nil }), clock: clock}
}

// Add appends a source (wiring, before the inbox is used).
func (b *Inbox) Add(s Source) { b.sources = append(b.sources, s) }

// List returns every item waiting for the person, the ones expiring soonest first.
func (b *Inbox) List(ctx context.Context, personID string) ([]Item, error) {
	now := b.clock().UTC()
	var out []Item
	for _, s := range b.sources {
		items, err := s.Items(ctx, personID, now)
		if err != nil {
			return nil, fmt.Errorf("inbox: %w", err)
		}
		for _, it := range items {
			if it.ExpiresAt.IsZero() || now.Before(it.ExpiresAt) {
				out = append(out, it)
			}
		}
	}
	slices.SortStableFunc(out, func(x, y Item) int {
		switch {
		case x.ExpiresAt.IsZero() != y.ExpiresAt.IsZero():
			if x.ExpiresAt.IsZero() {
				return 1
			}
			return -1
		case !x.ExpiresAt.Equal(y.ExpiresAt):
			return x.ExpiresAt.Compare(y.ExpiresAt)
		}
		return y.CreatedAt.Compare(x.CreatedAt)
	})
	return out, nil
}

// Count returns how many items wait for the person (the badge on the wallet's home).
func (b *Inbox) Count(ctx context.Context, personID string) (int, error) {
	items, err := b.List(ctx, personID)
	return len(items), err
}

// LoginStore lists login QR codes; package store implements it.
type LoginStore interface {
	// ScannedLoginQRs returns the login QR codes the person scanned that are still waiting for
	// their confirmation at now (status scanned, not expired), newest first.
	ScannedLoginQRs(ctx context.Context, personID string, now time.Time) ([]*identity.LoginQR, error)
}

// LoginSource lists the scan-to-login confirmations a person has not given yet. A login QR
// lives two minutes, so these are the logins whose confirmation screen the person left.
type LoginSource struct {
	Store LoginStore
}

// Items implements Source.
func (l LoginSource) Items(ctx context.Context, personID string, now time.Time) ([]Item, error) {
	qs, err := l.Store.ScannedLoginQRs(ctx, personID, now)
	if err != nil {
		return nil, fmt.Errorf("login confirmations: %w", err)
	}
	out := make([]Item, 0, len(qs))
	for _, q := range qs {
		out = append(out, Item{Kind: KindLogin, ID: q.ID, Asker: q.Client.Name, Department: q.Client.Department,
			CreatedAt: q.ScannedAt, ExpiresAt: q.ExpiresAt, URL: "/wallet/scan/" + q.ID})
	}
	return out, nil
}
