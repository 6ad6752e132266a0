package notice

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/ident"
)

// Dispatch moves the cursor over at most one page of the audit log, writing the outbox rows of
// the licence changes in it, in one transaction. It returns how many audit events it moved
// over (0: the cursor is at the head).
func (s *Service) Dispatch(ctx context.Context) (int, error) {
	n, err := s.c.Store.DispatchNotices(ctx, Actions(), dispatchPage, s.plan)
	if err != nil {
		return 0, fmt.Errorf("notice: dispatch: %w", err)
	}
	return n, nil
}

// change is the data the licence service records with each event (license.event).
type change struct {
	Identifier string `json:"identifier"`
	Version    int    `json:"version"`
	Status     string `json:"status"`
}

// plan makes one delivery per licence event and subscription that wants it: the subscription
// names the entity, or the licence's type of it, and lists the event.
func (s *Service) plan(events []audit.Event, matches []Match) []Delivery {
	bySubject := map[string][]Match{}
	for _, m := range matches {
		bySubject[m.EntityCode] = append(bySubject[m.EntityCode], m)
	}
	now := s.now()
	var out []Delivery
	for _, ev := range events {
		kind, ok := actions[ev.Action]
		if !ok {
			continue
		}
		var ch change
		if err := json.Unmarshal(ev.Data, &ch); err != nil {
			s.c.Logger.Error("notice: unreadable licence event", "seq", ev.Seq, "action", ev.Action, "error", err)
			continue
		}
		typeCode := ""
		if id, err := ident.Parse(ch.Identifier); err == nil {
			typeCode = id.TypeCode
		}
		var done []string // subscriptions already given this event
		for _, m := range bySubject[ev.Subject] {
			if ev.Seq <= m.AfterSeq || slices.Contains(done, m.SubscriptionID) || !slices.Contains(m.Events, kind) ||
				(m.TypeCode != "" && m.TypeCode != typeCode) {
				continue
			}
			done = append(done, m.SubscriptionID)
			n := Notice{ID: noticeID(m.SubscriptionID, ev.Seq), Event: kind, EntityCode: ev.Subject,
				Identifier: ch.Identifier, Version: ch.Version, Status: ch.Status, OccurredAt: ev.Time.UTC()}
			body, _ := json.Marshal(n) // plain fields always encode
			out = append(out, Delivery{ID: n.ID, SubscriptionID: m.SubscriptionID, ClientID: m.ClientID, URL: m.URL,
				EventSeq: ev.Seq, Event: kind, EntityCode: ev.Subject, Body: body, State: Pending, DueAt: now,
				CreatedAt: now, UpdatedAt: now})
		}
	}
	return out
}

// noticeID is the id of the notice of audit event seq to a subscription: the same inputs give
// the same id, so even a notice written twice would be recognised by the receiver.
func noticeID(subscription string, seq int64) string {
	h := gm.SM3([]byte("elicense-notice-v1\x00" + subscription + "\x00" + strconv.FormatInt(seq, 10)))
	return "ntc_" + hex.EncodeToString(h[:12])
}
