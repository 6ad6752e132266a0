package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/notice"
	"github.com/elicense/elicense/internal/oidc"
)

// noticeClient registers a department's client for the foreign keys.
func noticeClient(t *testing.T, d *testDB, id string) {
	t.Helper()
	c := &oidc.Client{ID: id, AuthMethod: oidc.AuthSecretBasic, Name: "部门系统 " + id,
		GrantTypes: []string{oidc.GrantClientCredentials}, CreatedBy: "test", CreatedAt: d.clock.Now()}
	if err := d.CreateOIDCClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// licenceEvent is an audit event as the licence service records a status change.
func licenceEvent(action, code string, version int, status string) audit.Event {
	data := fmt.Sprintf(`{"identifier":"1.2.156.3005.2.11100000MB0143028R001.X.%s.%03d.0","version":%d,"status":%q}`, code, version, version, status)
	return audit.Event{Action: action, Actor: "reg", Subject: code, Data: json.RawMessage(data)}
}

// testPlan makes one delivery per event and matching subscription made before it, as notice.Service does
// (without its event filter), so that the store is tested on its own.
func testPlan(now time.Time) notice.Plan {
	return func(evs []audit.Event, ms []notice.Match) []notice.Delivery {
		var out []notice.Delivery
		for _, e := range evs {
			for _, m := range ms {
				if m.EntityCode != e.Subject || e.Seq <= m.AfterSeq {
					continue
				}
				out = append(out, notice.Delivery{ID: fmt.Sprintf("ntc_%s_%d", m.SubscriptionID, e.Seq), SubscriptionID: m.SubscriptionID,
					ClientID: m.ClientID, URL: m.URL, EventSeq: e.Seq, Event: notice.Event(e.Action), EntityCode: e.Subject,
					Body: json.RawMessage(`{"seq":` + fmt.Sprint(e.Seq) + `}`), DueAt: now, CreatedAt: now})
			}
		}
		return out
	}
}

func TestNoticeSubscriptions(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		noticeClient(t, d, "dept1")
		noticeClient(t, d, "dept2")
		now := d.clock.Now()
		s := &notice.Subscription{ID: "sub_a", ClientID: "dept1", URL: "https://dept1.example/hook", Events: []notice.Event{notice.Suspended},
			CreatedBy: "dept1", CreatedAt: now, Targets: []notice.Target{{EntityCode: "A"},
				{EntityCode: "B", TypeCode: "T", Identifier: "1.2.156.3005.2.T.X.B.001.0"}}}
		if err := d.CreateNoticeSubscription(ctx, s, audit.Event{Action: "notice.subscribe", Actor: "dept1", Subject: "sub_a"}); err != nil {
			t.Fatal(err)
		}
		// A subscription of an unknown client is refused by the foreign key.
		if err := d.CreateNoticeSubscription(ctx, &notice.Subscription{ID: "sub_x", ClientID: "nobody", URL: "https://x", CreatedAt: now},
			audit.Event{Action: "notice.subscribe"}); !errs.Is(err, errs.NotFound) {
			t.Errorf("unknown client: %v", err)
		}
		subs, err := d.NoticeSubscriptions(ctx, "dept1")
		if err != nil || len(subs) != 1 {
			t.Fatalf("subscriptions: %+v %v", subs, err)
		}
		got := subs[0]
		if got.URL != s.URL || !slices.Equal(got.Events, s.Events) || !slices.Equal(got.Entities, []string{"A"}) ||
			!slices.Equal(got.Licences, []string{"1.2.156.3005.2.T.X.B.001.0"}) || !got.CreatedAt.Equal(now) || len(got.Targets) != 2 {
			t.Errorf("subscription read back: %+v", got)
		}
		if subs, err := d.NoticeSubscriptions(ctx, "dept2"); err != nil || len(subs) != 0 {
			t.Errorf("another client's subscriptions: %+v %v", subs, err)
		}
		// Another client cannot delete it.
		if err := d.DeleteNoticeSubscription(ctx, "dept2", "sub_a", audit.Event{Action: "notice.unsubscribe"}); !errs.Is(err, errs.NotFound) {
			t.Errorf("delete by another client: %v", err)
		}
		if err := d.DeleteNoticeSubscription(ctx, "dept1", "sub_a", audit.Event{Action: "notice.unsubscribe", Actor: "dept1", Subject: "sub_a"}); err != nil {
			t.Fatal(err)
		}
		if subs, _ := d.NoticeSubscriptions(ctx, "dept1"); len(subs) != 0 {
			t.Errorf("after delete: %+v", subs)
		}
		// Follows are idempotent; each change is in the audit log.
		for i, want := range []bool{true, false} {
			added, err := d.FollowEntity(ctx, "dept1", "C", now, audit.Event{Action: "notice.follow", Actor: "dept1", Subject: "C"})
			if err != nil || added != want {
				t.Errorf("follow #%d: %v %v", i, added, err)
			}
		}
		evs, err := d.FindEvents(ctx, audit.Filter{ActionPrefix: "notice.", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var acts []string
		for _, e := range evs {
			acts = append(acts, e.Action)
		}
		if !slices.Equal(acts, []string{"notice.follow", "notice.unsubscribe", "notice.subscribe"}) {
			t.Errorf("audit events: %v", acts)
		}
	})
}

func TestNoticeDispatch(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		noticeClient(t, d, "dept1")
		now := d.clock.Now()
		// Events before the subscription exist; the cursor starts at the head of a fresh log.
		if err := d.Append(ctx, []audit.Event{licenceEvent("license.suspend", "A", 1, "suspended")}); err != nil {
			t.Fatal(err)
		}
		if err := d.CreateNoticeSubscription(ctx, &notice.Subscription{ID: "sub_a", ClientID: "dept1", URL: "https://h/a",
			Events: notice.Events(), CreatedAt: now, Targets: []notice.Target{{EntityCode: "A"}}},
			audit.Event{Action: "notice.subscribe", Actor: "dept1"}); err != nil {
			t.Fatal(err)
		}
		if err := d.CreateNoticeSubscription(ctx, &notice.Subscription{ID: "sub_arch", ClientID: "dept1", URL: "https://h/arch",
			Events: notice.Events(), Archived: true, CreatedAt: now}, audit.Event{Action: "notice.subscribe", Actor: "dept1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.FollowEntity(ctx, "dept1", "B", now, audit.Event{Action: "notice.follow", Actor: "dept1", Subject: "B"}); err != nil {
			t.Fatal(err)
		}
		if err := d.Append(ctx, []audit.Event{
			licenceEvent("license.issue", "A", 1, "active"), // not an action read
			licenceEvent("license.restore", "A", 1, "active"),
			{Action: "share.query", Actor: "dept1", Subject: "A"},
			licenceEvent("license.change", "B", 2, "active"),
			licenceEvent("license.cancel", "Z", 1, "cancelled"), // nobody follows Z
		}); err != nil {
			t.Fatal(err)
		}
		plan := testPlan(now)
		total := 0
		for {
			n, err := d.DispatchNotices(ctx, notice.Actions(), 2, plan) // small pages
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			if n > 2 {
				t.Errorf("a page of 2 moved over %d events", n)
			}
			total += n
		}
		if head, _, _ := d.Head(ctx); total != int(head) {
			t.Errorf("the dispatcher moved over %d events, the log has %d", total, head)
		}
		ds, err := d.NoticeDeliveries(ctx, notice.DeliveryQuery{ClientID: "dept1", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range ds {
			got = append(got, x.SubscriptionID+":"+string(x.Event))
			if x.State != notice.Pending || x.Attempts != 0 {
				t.Errorf("new delivery: %+v", x)
			}
		}
		// Newest first; the suspension before the subscription existed and the unfollowed Z are
		// not there.
		if want := []string{"sub_arch:license.change", "sub_a:license.restore"}; !slices.Equal(got, want) {
			t.Errorf("deliveries %v, want %v", got, want)
		}
		// Dispatching again (another process, the same page again) adds nothing.
		if n, err := d.open(t).DispatchNotices(ctx, notice.Actions(), 100, plan); err != nil || n != 0 {
			t.Errorf("second dispatch: %d %v", n, err)
		}
		// Paging and the state filter.
		page, err := d.NoticeDeliveries(ctx, notice.DeliveryQuery{ClientID: "dept1", Before: ds[0].N, Limit: 10})
		if err != nil || len(page) != 1 || page[0].ID != ds[1].ID {
			t.Errorf("page after the newest: %+v %v", page, err)
		}
		if f, err := d.NoticeDeliveries(ctx, notice.DeliveryQuery{ClientID: "dept1", State: notice.Failed, Limit: 10}); err != nil || len(f) != 0 {
			t.Errorf("failed deliveries: %+v %v", f, err)
		}
	})
}

// outboxWith dispatches n deliveries of one subscription and returns the database's clock time.
func outboxWith(t *testing.T, d *testDB, n int) time.Time {
	t.Helper()
	ctx := context.Background()
	noticeClient(t, d, "dept1")
	now := d.clock.Now()
	if err := d.CreateNoticeSubscription(ctx, &notice.Subscription{ID: "sub_a", ClientID: "dept1", URL: "https://h/a",
		Events: notice.Events(), CreatedAt: now, Targets: []notice.Target{{EntityCode: "A"}}},
		audit.Event{Action: "notice.subscribe", Actor: "dept1"}); err != nil {
		t.Fatal(err)
	}
	evs := make([]audit.Event, n)
	for i := range evs {
		evs[i] = licenceEvent("license.change", "A", i+2, "active")
	}
	if err := d.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DispatchNotices(ctx, notice.Actions(), 1000, testPlan(now)); err != nil {
		t.Fatal(err)
	}
	return now
}

func TestNoticeClaimLeaseFinish(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		now := outboxWith(t, d, 1)
		lease := time.Minute
		c1, err := d.ClaimNotices(ctx, now, now.Add(lease), "lease-1", 10)
		if err != nil || len(c1) != 1 {
			t.Fatalf("claim: %+v %v", c1, err)
		}
		if c1[0].Attempts != 1 || c1[0].Lease != "lease-1" || !c1[0].DueAt.Equal(now.Add(lease)) {
			t.Errorf("claimed: %+v", c1[0])
		}
		// While the lease holds, nobody else gets it.
		if c, err := d.open(t).ClaimNotices(ctx, now.Add(30*time.Second), now.Add(2*lease), "lease-x", 10); err != nil || len(c) != 0 {
			t.Errorf("claimed during the lease: %+v %v", c, err)
		}
		// The process died: after the lease another claims it, and the first can no longer
		// record a result.
		later := now.Add(lease)
		c2, err := d.open(t).ClaimNotices(ctx, later, later.Add(lease), "lease-2", 10)
		if err != nil || len(c2) != 1 || c2[0].ID != c1[0].ID || c2[0].Attempts != 2 || string(c2[0].Body) != string(c1[0].Body) {
			t.Fatalf("claim after the lease: %+v %v", c2, err)
		}
		stale := c1[0]
		stale.State, stale.UpdatedAt, stale.DueAt = notice.Delivered, later, later
		if ok, err := d.FinishNotice(ctx, &stale); err != nil || ok {
			t.Errorf("finish with a lost lease: %v %v", ok, err)
		}
		// A failure: failed after the last attempt.
		d2 := c2[0]
		d2.State, d2.UpdatedAt, d2.DueAt, d2.LastStatus, d2.LastError = notice.Failed, later, later, 503, "HTTP 503"
		if ok, err := d.FinishNotice(ctx, &d2); err != nil || !ok {
			t.Fatalf("finish: %v %v", ok, err)
		}
		got, err := d.NoticeDelivery(ctx, "dept1", d2.ID)
		if err != nil || got.State != notice.Failed || got.LastStatus != 503 || got.LastError != "HTTP 503" || got.Lease != "" || got.Attempts != 2 {
			t.Errorf("after failing: %+v %v", got, err)
		}
		if _, err := d.NoticeDelivery(ctx, "dept2", d2.ID); !errs.Is(err, errs.NotFound) {
			t.Errorf("another client's delivery: %v", err)
		}
		if c, _ := d.ClaimNotices(ctx, later.Add(time.Hour), later.Add(2*time.Hour), "lease-3", 10); len(c) != 0 {
			t.Errorf("a failed delivery was claimed: %+v", c)
		}
		// Replay: pending again, due now, no attempts; only once from failed.
		if ok, err := d.RequeueNotice(ctx, "dept1", d2.ID, notice.Failed, later, audit.Event{Action: "notice.replay", Actor: "dept1"}); err != nil || !ok {
			t.Fatalf("requeue: %v %v", ok, err)
		}
		if ok, err := d.RequeueNotice(ctx, "dept1", d2.ID, notice.Failed, later, audit.Event{Action: "notice.replay", Actor: "dept1"}); err != nil || ok {
			t.Errorf("second requeue: %v %v", ok, err)
		}
		c3, err := d.ClaimNotices(ctx, later, later.Add(lease), "lease-4", 10)
		if err != nil || len(c3) != 1 || c3[0].Attempts != 1 {
			t.Fatalf("claim after replay: %+v %v", c3, err)
		}
		at := later.Add(time.Second)
		c3[0].State, c3[0].UpdatedAt, c3[0].DueAt, c3[0].DeliveredAt, c3[0].LastStatus = notice.Delivered, at, at, &at, 204
		if ok, err := d.FinishNotice(ctx, &c3[0]); err != nil || !ok {
			t.Fatalf("finish: %v %v", ok, err)
		}
		got, _ = d.NoticeDelivery(ctx, "dept1", d2.ID)
		if got.State != notice.Delivered || got.DeliveredAt == nil || !got.DeliveredAt.Equal(at) {
			t.Errorf("delivered: %+v", got)
		}
	})
}

// TestNoticeClaimConcurrent claims from two handles at once (two processes): every due delivery
// is claimed exactly once.
func TestNoticeClaimConcurrent(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		const n = 40
		now := outboxWith(t, d, n)
		dbs := []*DB{d.DB, d.open(t)}
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for {
					c, err := dbs[w%2].ClaimNotices(ctx, now, now.Add(time.Minute), fmt.Sprintf("w%d", w), 3)
					if err != nil {
						t.Error(err)
						return
					}
					if len(c) == 0 {
						return
					}
					mu.Lock()
					for _, x := range c {
						seen[x.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != n {
			t.Errorf("%d deliveries claimed, want %d", len(seen), n)
		}
		for id, k := range seen {
			if k != 1 {
				t.Errorf("%s claimed %d times", id, k)
			}
		}
	})
}
