package demo

import "context"

// CatalogService loads the starter service catalogue (事项材料目录); *catalog.Service is one.
// LoadStarter adds only the items that are missing, so Load stays idempotent.
type CatalogService interface {
	LoadStarter(ctx context.Context, actor string) (int, error)
}
