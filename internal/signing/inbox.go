package signing

import (
	"context"
	"time"

	"github.com/elicense/elicense/internal/inbox"
)

// Items lists the person's pending signing requests as inbox items (inbox.Source).
func (s *Service) Items(ctx context.Context, personID string, _ time.Time) ([]inbox.Item, error) {
	items, err := s.ForPerson(ctx, personID)
	if err != nil {
		return nil, err
	}
	out := make([]inbox.Item, 0, len(items))
	for _, it := range items {
		out = append(out, inbox.Item{Kind: inbox.KindSigning, ID: it.ID, EntityCode: it.EntityCode, EntityName: it.EntityName,
			Asker: it.ClientName, Department: it.Department, What: it.Title, CreatedAt: it.CreatedAt, ExpiresAt: it.ExpiresAt,
			URL: "/wallet/sign/" + it.ID})
	}
	return out, nil
}

var _ inbox.Source = (*Service)(nil)
