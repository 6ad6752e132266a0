package inbox

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/identity"
)

type fixed []Item

func (f fixed) Items(context.Context, string, time.Time) ([]Item, error) { return f, nil }

type failing struct{}

func (failing) Items(context.Context, string, time.Time) ([]Item, error) {
	return nil, errors.New("down")
}

type logins []*identity.LoginQR

func (l logins) ScannedLoginQRs(context.Context, string, time.Time) ([]*identity.LoginQR, error) {
	return l, nil
}

func TestInbox(t *testing.T) {
	now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	sign := fixed{
		{Kind: KindSigning, ID: "late", CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(23 * time.Hour)},
		{Kind: KindSigning, ID: "gone", CreatedAt: now.Add(-25 * time.Hour), ExpiresAt: now.Add(-time.Hour)},
		{Kind: KindConsent, ID: "open", CreatedAt: now.Add(-time.Minute)},
	}
	login := LoginSource{Store: logins{{ID: "qr1", Client: identity.Client{Name: "浙江政务服务网", Department: "大数据局"},
		ScannedAt: now.Add(-30 * time.Second), ExpiresAt: now.Add(90 * time.Second), Status: identity.QRScanned}}}
	b := New(clock, sign, nil, login)
	items, err := b.List(context.Background(), "p1")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	if len(ids) != 3 || ids[0] != "qr1" || ids[1] != "late" || ids[2] != "open" {
		t.Fatalf("order %v (expiring soonest first, expired left out, no expiry last)", ids)
	}
	if it := items[0]; it.Kind != KindLogin || it.Asker != "浙江政务服务网" || it.URL != "/wallet/scan/qr1" || it.EntityCode != "" {
		t.Errorf("login item %+v", it)
	}
	if n, err := b.Count(context.Background(), "p1"); n != 3 || err != nil {
		t.Errorf("count %d %v", n, err)
	}
	b.Add(failing{})
	if _, err := b.List(context.Background(), "p1"); err == nil {
		t.Error("a failing source is not reported")
	}
}
