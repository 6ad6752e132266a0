package notice_test

import (
	"testing"

	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/notice"
	"github.com/elicense/elicense/internal/oidc"
)

// BenchmarkNoticeDelivery measures the dispatcher and the deliverer together: b.N licence
// changes (suspensions and restorations of one licence, made before the timer starts) become
// b.N outbox rows and are POSTed, signed, to a local receiver that verifies each signature, and
// recorded as delivered. One webhook, so deliveries go one after the other (docs/notices.md).
//
//	go test ./internal/notice -run '^$' -bench NoticeDelivery -benchtime 2000x
func BenchmarkNoticeDelivery(b *testing.B) {
	p := newPlatform(b)
	l := p.issue(1)
	id, _ := p.client("基准测试系统", oidc.ScopeSharingQuery)
	rc := p.receiver()
	if _, err := p.svc.CreateSubscription(p.ctx, &notice.Caller{ClientID: id}, notice.SubscriptionRequest{URL: rc.URL,
		Entities: []string{l.Code}}); err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		a := license.Suspend
		if i%2 == 1 {
			a = license.Restore
		}
		p.setStatus(l.Code, a)
	}
	b.ResetTimer()
	n := p.drain()
	b.StopTimer()
	if n != b.N || len(rc.notices()) != b.N {
		b.Fatalf("%d delivered, %d received, want %d", n, len(rc.notices()), b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notices/s")
}
