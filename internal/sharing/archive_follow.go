package sharing

// Archive and change notices (存档与变更通知): a department that archives a licence version
// follows the entity, so that its webhooks subscribed with archived: true receive the entity's
// later changes (docs/notices.md). The notice service implements Follower; cmd/elicense wires
// it with SetFollower. This file also gives the department console what its "my archive" page
// shows: the caller's receipts with the case they were made for, and one receipt by ID.

import (
	"context"
	"fmt"
	"strings"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/sharing/consent"
)

// Follower records that a department follows an entity for change notices
// (*notice.Service). It is idempotent.
type Follower interface {
	Subscribe(ctx context.Context, clientID, entityCode string) error
}

// SetFollower makes every archive call follow the archived entity (wiring, before the
// service is used). Without one, archiving follows nothing.
func (s *Service) SetFollower(f Follower) { s.follower = f }

// follow has the caller follow the entity of a licence it is archiving. It runs before the
// receipt is stored: following is idempotent, so a failed archive leaves at most a harmless
// follow, while a failed follow fails the archive call (and the department retries) rather
// than leave an archive whose changes are never notified.
func (s *Service) follow(ctx context.Context, c *Caller, entityCode string) error {
	if s.follower == nil {
		return nil
	}
	if err := s.follower.Subscribe(ctx, c.ClientID, entityCode); err != nil {
		return fmt.Errorf("sharing: archive: follow %s: %w", entityCode, err)
	}
	return nil
}

// ArchiveEntry is an archive receipt with what the department's staff need to recognise it:
// the entity and the purpose it was archived for.
type ArchiveEntry struct {
	*Receipt
	EntityCode string
	Cause      string
	Item       string
	CaseNumber string
}

// ArchiveEntries lists the caller's own archive receipts, newest first, with their entity and
// purpose (the console's "my archive"); next is the cursor of the next page.
func (s *Service) ArchiveEntries(ctx context.Context, c *Caller, cursor string, limit int) ([]ArchiveEntry, string, error) {
	if err := s.consentOn(); err != nil {
		return nil, "", err
	}
	limit = min(max(limit, 1), MaxArchivePage)
	as, next, err := s.cc.Store.Archives(ctx, c.ClientID, strings.TrimSpace(cursor), limit)
	if err != nil {
		return nil, "", err
	}
	out := make([]ArchiveEntry, len(as))
	for i, a := range as {
		out[i] = entryOf(a)
	}
	return out, next, nil
}

func entryOf(a *consent.Archive) ArchiveEntry {
	return ArchiveEntry{Receipt: receiptOf(a), EntityCode: a.EntityCode, Cause: a.Cause, Item: a.Item, CaseNumber: a.CaseNumber}
}

// ArchiveEntry returns one of the caller's own receipts (another department's is not found).
func (s *Service) ArchiveEntry(ctx context.Context, c *Caller, receiptID string) (*ArchiveEntry, error) {
	if err := s.consentOn(); err != nil {
		return nil, err
	}
	a, err := s.cc.Store.Archive(ctx, strings.TrimSpace(receiptID))
	if err != nil && !errs.Is(err, errs.NotFound) {
		return nil, fmt.Errorf("sharing: archive receipt: %w", err)
	}
	if err != nil || a.ClientID != c.ClientID {
		return nil, errs.New(errs.NotFound, "receipt_id", "没有这张存档回执", "no such archive receipt")
	}
	e := entryOf(a)
	return &e, nil
}
