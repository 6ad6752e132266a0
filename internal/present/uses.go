package present

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/uscc"
)

// Kind is a kind of use of a licence, as the uses page filters them.
type Kind struct {
	Key    string
	ZH, EN string
	// Prefixes are the audit actions of the kind: an action belongs to the kind of its
	// longest matching prefix among all kinds.
	Prefixes []string
}

// Kinds classify audit events by action, in the order the uses page offers them. One table, so
// that the page, its filter and the CSV agree; docs/wallet.md lists it.
var Kinds = []Kind{
	{"login", "登录", "Login", []string{"identity.login_confirm"}},
	{"share", "共享调用", "Sharing call", []string{"share.", "library.", "consent."}},
	{"download", "下载", "Download", []string{"share.download", "consent.download", "document."}},
	{"verify", "核验", "Verification", []string{"share.verify", "share.batch_verify", "wallet.present.verify"}},
	{"sign", "签名", "Signature", []string{"sign."}},
	{"present", "出示", "Presentation", []string{"wallet.present"}},
	{"manage", "授权管理", "Management", []string{"identity.", "consent.grant", "consent.approve", "consent.decline", "consent.revoke", "consent.code"}},
	{"registry", "登记", "Registration", []string{"license."}},
}

// KindOf returns the kind key of an audit action ("other" when none matches).
func KindOf(action string) string {
	best, n := "other", 0
	for _, k := range Kinds {
		for _, p := range k.Prefixes {
			if strings.HasPrefix(action, p) && len(p) > n {
				best, n = k.Key, len(p)
			}
		}
	}
	return best
}

// kindByKey returns the kind with this key.
func kindByKey(key string) (*Kind, bool) {
	for i := range Kinds {
		if Kinds[i].Key == key {
			return &Kinds[i], true
		}
	}
	return nil, false
}

// UseFilter selects uses.
type UseFilter struct {
	Kind   string    // a Kinds key; "" for every kind
	Since  time.Time // Time ≥ Since (zero: no bound)
	Until  time.Time // Time < Until (zero: no bound)
	Before int64     // the cursor: uses older than this sequence number (0: the newest)
	Limit  int       // uses per page: 1–MaxPage (0: DefaultPage)
}

// Page sizes.
const (
	DefaultPage = 20
	MaxPage     = 200
	// MaxExport is the most uses one CSV export holds.
	MaxExport = 10000
	// scanBatch and maxScan bound the events read for one page when a kind filter drops
	// many: a page may then come back short, with a cursor to continue.
	scanBatch = 500
	maxScan   = 20
)

// Use is one use of a licence (用证记录) as the wallet shows it: personal data masked.
type Use struct {
	Seq    int64
	Time   time.Time
	Kind   string // Kinds key, or "other"
	Action string // the audit action, e.g. share.query
	// Who did it: WhoKind is "person" (Who is the masked name), "client" (a department's
	// system: Who is its client ID), "public" (a counter or anyone scanning a QR code),
	// "staff" (a registering authority) or "system".
	WhoKind, Who string
	Self         bool     // the person viewing did it
	Details      []Detail // what the record says, in a few values
	Result       string   // "ok", "denied", "result:N", … as recorded; "" when none
}

// Detail is one value of a use's record: Key names it (cause, item, case, portal, role,
// fields, identifier).
type Detail struct {
	Key, Value string
}

// UsePage is a page of uses.
type UsePage struct {
	Licence *license.Licence
	Role    identity.RoleKind // the viewer's role
	OwnOnly bool              // an agent: only their own uses are listed
	Uses    []Use
	Next    int64 // cursor of the next page (UseFilter.Before); 0 when this is the last
}

// access decides what personID sees of the entity's uses: the holder and administrators see
// every use, an agent only their own; anyone else is refused. It needs no active licence: the
// uses of a suspended or cancelled licence stay visible.
func (s *Service) access(ctx context.Context, personID, code string) (*identity.Role, bool, error) {
	roles, err := s.c.Identity.Roles(ctx, personID)
	if err != nil {
		return nil, false, err
	}
	for _, r := range roles {
		if r.Licence.Code != code {
			continue
		}
		switch {
		case r.Kind == identity.RoleHolder:
			return r, false, nil
		case r.Kind == identity.RoleAdministrator && r.Grant != nil && r.Grant.InForceAt(s.now()):
			return r, false, nil
		case r.Kind == identity.RoleAgent:
			return r, true, nil
		}
	}
	return nil, false, errs.New(errs.Forbidden, "entity", "您无权查看该执照的使用记录：只有领照人、证照管理员和办事人可以查看",
		"you may not see the uses of this licence: only its holder, administrators and agents may")
}

// Uses lists the uses of the entity's licence, newest first, as the person may see them.
func (s *Service) Uses(ctx context.Context, personID, entityCode string, f UseFilter) (*UsePage, error) {
	code := uscc.Normalize(entityCode)
	var list errs.List
	var kind *Kind
	if f.Kind != "" {
		k, ok := kindByKey(f.Kind)
		if !ok {
			list = append(list, errs.Invalidf("kind", "未知的使用类型 %q", "unknown kind of use %q", truncate(f.Kind, 20)))
		}
		kind = k
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		list = append(list, errs.Invalidf("until", "结束日期应晚于开始日期", "the end date must come after the start date"))
	}
	if f.Limit < 0 || f.Limit > MaxExport {
		list = append(list, errs.Invalidf("limit", "每页条数应为 1 至 %d", "the page size must be 1 to %d", MaxExport))
	}
	if err := list.Err(); err != nil {
		return nil, err
	}
	if f.Limit == 0 {
		f.Limit = DefaultPage
	}
	role, own, err := s.access(ctx, personID, code)
	if err != nil {
		return nil, err
	}
	pg := &UsePage{Licence: role.Licence, Role: role.Kind, OwnOnly: own}
	af := audit.Filter{Subject: code, Since: f.Since, Until: f.Until, Before: f.Before, Limit: scanBatch}
	if own {
		af.Actor = actorOf(personID)
	}
	if kind != nil && len(kind.Prefixes) == 1 {
		af.ActionPrefix = kind.Prefixes[0]
	}
	var evs []audit.Event
	for round := 0; round < maxScan && len(evs) <= f.Limit; round++ {
		batch, err := s.c.Audit.Find(ctx, af)
		if err != nil {
			return nil, fmt.Errorf("present: uses: %w", err)
		}
		for _, e := range batch {
			if kind == nil || KindOf(e.Action) == kind.Key {
				evs = append(evs, e)
			}
		}
		if len(batch) < af.Limit {
			af.Before = 0
			break
		}
		af.Before = batch[len(batch)-1].Seq
	}
	switch {
	case len(evs) > f.Limit:
		evs = evs[:f.Limit]
		pg.Next = evs[f.Limit-1].Seq
	case af.Before > 0: // the scan stopped before the end: continue from where it stopped
		pg.Next = af.Before
	}
	names := map[string]string{}
	for _, e := range evs {
		u, err := s.use(ctx, e, personID, names)
		if err != nil {
			return nil, err
		}
		pg.Uses = append(pg.Uses, u)
	}
	return pg, nil
}

// RecentUses returns, for each person, their last n uses of the entity's licence (n ≤ 10), for
// the members page; only the holder and administrators may ask.
func (s *Service) RecentUses(ctx context.Context, viewerID, entityCode string, personIDs []string, n int) (map[string][]Use, error) {
	code := uscc.Normalize(entityCode)
	_, own, err := s.access(ctx, viewerID, code)
	if err != nil {
		return nil, err
	}
	if own {
		return nil, errs.Forbiddenf("只有领照人和证照管理员可以查看他人的使用记录", "only the holder and the administrators see other people's uses")
	}
	n = min(max(n, 1), 10)
	out := map[string][]Use{}
	names := map[string]string{}
	for _, id := range personIDs {
		if _, done := out[id]; done {
			continue
		}
		evs, err := s.c.Audit.Find(ctx, audit.Filter{Subject: code, Actor: actorOf(id), Limit: n})
		if err != nil {
			return nil, fmt.Errorf("present: recent uses: %w", err)
		}
		us := []Use{}
		for _, e := range evs {
			u, err := s.use(ctx, e, viewerID, names)
			if err != nil {
				return nil, err
			}
			us = append(us, u)
		}
		out[id] = us
	}
	return out, nil
}

// use turns an audit event into a Use, masking the persons it names.
func (s *Service) use(ctx context.Context, e audit.Event, viewerID string, names map[string]string) (Use, error) {
	u := Use{Seq: e.Seq, Time: e.Time, Kind: KindOf(e.Action), Action: e.Action}
	switch {
	case strings.HasPrefix(e.Actor, "person:"):
		id := strings.TrimPrefix(e.Actor, "person:")
		u.WhoKind, u.Self = "person", id == viewerID
		name, ok := names[id]
		if !ok {
			p, err := s.c.Identity.Person(ctx, id)
			switch {
			case err == nil:
				name = p.MaskedName()
			case errs.Is(err, errs.NotFound):
				name = "—"
			default:
				return u, err
			}
			names[id] = name
		}
		u.Who = name
	case e.Actor == "public" || strings.HasPrefix(e.Actor, "public:"):
		u.WhoKind = "public"
	case strings.HasPrefix(e.Action, "share.") || strings.HasPrefix(e.Action, "consent.") || strings.HasPrefix(e.Action, "sign."):
		u.WhoKind, u.Who = "client", e.Actor
		if s.c.ClientName != nil {
			key := "client:" + e.Actor
			name, ok := names[key]
			if !ok {
				if n, err := s.c.ClientName(ctx, e.Actor); err == nil && n != "" {
					name = n
				} else {
					name = e.Actor
				}
				names[key] = name
			}
			u.Who = name
		}
	case strings.HasPrefix(e.Action, "license."):
		u.WhoKind = "staff"
	default:
		u.WhoKind, u.Who = "system", e.Actor
	}
	var d map[string]any
	if json.Unmarshal(e.Data, &d) != nil {
		return u, nil
	}
	str := func(k string) string {
		switch v := d[k].(type) {
		case string:
			return v
		case float64:
			return fmt.Sprint(v)
		case bool:
			return fmt.Sprint(v)
		}
		return ""
	}
	add := func(key, v string) {
		if v != "" {
			u.Details = append(u.Details, Detail{Key: key, Value: truncate(v, 200)})
		}
	}
	add("portal", str("client_name"))
	add("cause", str("use_cause"))
	add("item", str("service_item"))
	add("case", str("case_number"))
	add("identifier", str("identifier"))
	if r := str("role"); r != "" {
		add("role", r)
	}
	if fs, ok := d["fields"].([]any); ok {
		var keys []string
		for _, f := range fs {
			if k, ok := f.(string); ok {
				keys = append(keys, k)
			}
		}
		add("fields", strings.Join(keys, ","))
	}
	u.Result = str("result")
	if e.Action == ActionVerify {
		u.Result = "result:" + str("result")
		if d["expired"] == true {
			u.Result = "expired"
		}
	}
	return u, nil
}
