package sharing

// Usage records (用证记录, issue 5 item 7): every sharing call is an audit event "share.<op>"
// with the department's client ID as actor and the entity's credit code as subject (see
// record). UsesOf reads an entity's, CallsOf a department's, Usage any selection for
// operators; UsesFor is the entity's own view, which decides who may see what: the holder and
// the licence administrators see every use, an agent only the uses for the service items of
// their grant (all of them with an all-business grant), anyone else nothing.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/uscc"
)

// Page sizes of usage records.
const (
	DefaultUsagePage = 50
	MaxUsagePage     = 1000
)

// UsageFilter selects usage records. Empty fields do not filter.
type UsageFilter struct {
	EntityCode string // the entity the call was about
	ClientID   string // the department's system that called
	Item       string // the service item (事项编码)
	Since      time.Time
	Until      time.Time
	Before     int64 // cursor: records older than this sequence number
	Limit      int   // 0: DefaultUsagePage; at most MaxUsagePage

	items []string // an agent's grant: only these service items
}

// Use is one usage record.
type Use struct {
	Seq        int64     `json:"seq"`
	Time       time.Time `json:"time"`
	Operation  string    `json:"operation"` // query, list, verify, verify_file, verify_qr, download, fetch, archive, …
	ClientID   string    `json:"client_id"`
	ClientName string    `json:"client_name"`
	EntityCode string    `json:"entity_code,omitempty"`
	Identifier string    `json:"identifier,omitempty"`
	Cause      string    `json:"use_cause,omitempty"`
	Item       string    `json:"service_item,omitempty"`
	Case       string    `json:"case_number,omitempty"`
	Result     string    `json:"result"`
	NonPublic  []string  `json:"non_public,omitempty"`
	Missing    []string  `json:"consent_missing,omitempty"`
}

// UsagePage is a page of usage records, newest first.
type UsagePage struct {
	Uses []Use `json:"uses"`
	Next int64 `json:"next,omitempty"` // Before of the next page; 0: no more
}

// UsesOf returns the usage records of an entity's licence.
func (s *Service) UsesOf(ctx context.Context, entityCode string, f UsageFilter) (*UsagePage, error) {
	f.EntityCode, f.ClientID = uscc.Normalize(entityCode), ""
	if f.EntityCode == "" {
		return nil, errs.New(errs.Invalid, "entity_code", "缺少统一社会信用代码", "the credit code is missing")
	}
	return s.Usage(ctx, f)
}

// CallsOf returns the usage records of a department's system: its own calls.
func (s *Service) CallsOf(ctx context.Context, clientID string, f UsageFilter) (*UsagePage, error) {
	f.ClientID = clientID
	if f.ClientID == "" {
		return nil, errs.New(errs.Invalid, "client_id", "缺少客户端标识", "the client ID is missing")
	}
	return s.Usage(ctx, f)
}

// UsesFor returns the usage records of the entity as the person may see them: everything for
// its holder and administrators, the records of their service items for an agent.
func (s *Service) UsesFor(ctx context.Context, personID, entityCode string, f UsageFilter) (*UsagePage, error) {
	if err := s.consentOn(); err != nil {
		return nil, err
	}
	code := uscc.Normalize(entityCode)
	roles, err := s.cc.People.Roles(ctx, personID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var role *identity.Role
	for _, r := range roles {
		if r.Licence.Code == code && (r.Grant == nil || r.Grant.InForceAt(now)) {
			role = r
			break
		}
	}
	switch {
	case role == nil:
		return nil, errs.Forbiddenf("您无权查看该市场主体的用证记录", "you may not see this entity's usage records")
	case role.Kind == identity.RoleAgent && !role.Grant.AllItems:
		f.items = slices.Clone(role.Grant.Items)
	}
	return s.UsesOf(ctx, code, f)
}

// Usage returns the usage records f selects (operators: every call).
func (s *Service) Usage(ctx context.Context, f UsageFilter) (*UsagePage, error) {
	if err := s.consentOn(); err != nil {
		return nil, err
	}
	switch {
	case f.Limit <= 0:
		f.Limit = DefaultUsagePage
	case f.Limit > MaxUsagePage:
		f.Limit = MaxUsagePage
	}
	af := audit.Filter{Subject: f.EntityCode, Actor: f.ClientID, ActionPrefix: "share.", Since: f.Since, Until: f.Until,
		Before: f.Before, Limit: f.Limit + 1}
	filtered := f.Item != "" || f.items != nil
	if filtered {
		af.Limit = max(f.Limit*4, 200)
	}
	out := &UsagePage{Uses: []Use{}}
	names := s.clientNames()
	// Records of other service items are skipped in Go, so a filtered page may need several
	// reads; each is bounded, and so is their number.
	for range 50 {
		evs, err := s.cc.Events.Find(ctx, af)
		if err != nil {
			return nil, fmt.Errorf("sharing: usage records: %w", err)
		}
		for i := range evs {
			e := &evs[i]
			if e.Action == "share.permission" {
				continue // an operator's grant, not a use
			}
			u := useOf(e)
			if f.Item != "" && u.Item != f.Item || f.items != nil && !slices.Contains(f.items, u.Item) {
				continue
			}
			if len(out.Uses) == f.Limit {
				out.Next = out.Uses[len(out.Uses)-1].Seq
				return s.named(ctx, out, names), nil
			}
			out.Uses = append(out.Uses, u)
		}
		if len(evs) < af.Limit {
			break
		}
		af.Before = evs[len(evs)-1].Seq
	}
	return s.named(ctx, out, names), nil
}

func (s *Service) named(ctx context.Context, p *UsagePage, names func(context.Context, string) string) *UsagePage {
	for i := range p.Uses {
		p.Uses[i].ClientName = names(ctx, p.Uses[i].ClientID)
	}
	return p
}

// useOf reads a usage record from its audit event.
func useOf(e *audit.Event) Use {
	var d consentUsage
	_ = json.Unmarshal(e.Data, &d) // the service wrote it; a record it cannot read shows its bare facts
	return Use{Seq: e.Seq, Time: e.Time, Operation: strings.TrimPrefix(e.Action, "share."), ClientID: e.Actor,
		EntityCode: e.Subject, Identifier: d.Identifier, Cause: d.Cause, Item: d.Item, Case: d.Case, Result: d.Result,
		NonPublic: d.NonPublic, Missing: d.Missing}
}
