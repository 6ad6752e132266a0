package sharing

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/inbox"
)

// PendingConsentStore lists departments' consent requests waiting for an answer; package
// store implements it (store.DB).
type PendingConsentStore interface {
	// PendingConsents returns the per-case requests of the entities that are pending and not
	// expired at now, newest first.
	PendingConsents(ctx context.Context, entityCodes []string, now time.Time) ([]*Consent, error)
}

// Items lists, as inbox items (inbox.Source, Kind consent), the departments' consent requests
// waiting for the person: those of every entity whose holder or administrator (in force) the
// person is — the people who may approve them (managerOf). Agents see none. Each item links to
// the wallet page of the entity's authorisations, where the request is approved (PIN or
// passkey) or declined. Without consent enabled, nothing waits.
func (s *Service) Items(ctx context.Context, personID string, now time.Time) ([]inbox.Item, error) {
	if s.cc == nil {
		return nil, nil
	}
	roles, err := s.cc.People.Roles(ctx, personID)
	if err != nil {
		return nil, fmt.Errorf("sharing: consent requests: %w", err)
	}
	names := map[string]string{}
	var codes []string
	for _, r := range roles {
		code := r.Licence.Code
		if _, dup := names[code]; dup {
			continue
		}
		if r.Kind == identity.RoleHolder || r.Kind == identity.RoleAdministrator && r.Grant != nil && r.Grant.InForceAt(now) {
			names[code] = r.Licence.Face.Name
			codes = append(codes, code)
		}
	}
	if len(codes) == 0 {
		return nil, nil
	}
	ks, err := s.cc.Store.PendingConsents(ctx, codes, now)
	if err != nil {
		return nil, fmt.Errorf("sharing: consent requests: %w", err)
	}
	clients := s.clientNames()
	departments := map[string]string{}
	out := make([]inbox.Item, 0, len(ks))
	for _, k := range ks {
		dept, seen := departments[k.ClientID]
		if !seen {
			if cl, err := s.c.Clients.OIDCClient(ctx, k.ClientID); err == nil {
				dept = cl.Department
			}
			departments[k.ClientID] = dept
		}
		out = append(out, inbox.Item{Kind: inbox.KindConsent, ID: k.ID, EntityCode: k.EntityCode, EntityName: names[k.EntityCode],
			Asker: clients(ctx, k.ClientID), Department: dept, What: k.Cause, CreatedAt: k.CreatedAt, ExpiresAt: k.ValidUntil,
			URL: "/wallet/licences/" + url.PathEscape(k.EntityCode) + "/consents#consent-" + k.ID})
	}
	return out, nil
}

var _ inbox.Source = (*Service)(nil)
