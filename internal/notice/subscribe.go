package notice

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/ident"
	"github.com/elicense/elicense/internal/sharing/permit"
	"github.com/elicense/elicense/internal/uscc"
)

// Limits of subscriptions.
const (
	MaxTargets       = 1000 // entities + licences of one subscription
	MaxSubscriptions = 100  // per client
	maxURL           = 2048
)

// Caller is an authenticated department system.
type Caller struct {
	ClientID string
	Scopes   []string
}

// Scopes a caller needs: change notices follow licences a department queries or archives, so
// either scope of the sharing service will do.
var callerScopes = []string{permit.Query.Scope(), permit.Archive.Scope()}

var errNoToken = errs.New(errs.Unauthenticated, "Authorization",
	"需要客户端凭证访问令牌：Authorization: Bearer …", "a client-credentials access token is required: Authorization: Bearer …")

// Authenticate checks a Bearer access token: a client-credentials token of this platform with
// the sharing.query or sharing.archive scope.
func (s *Service) Authenticate(ctx context.Context, token string) (*Caller, error) {
	if token == "" {
		return nil, errNoToken
	}
	id, scopes, err := s.c.Tokens(ctx, token)
	if err != nil {
		return nil, err
	}
	c := &Caller{ClientID: id, Scopes: scopes}
	if !slices.ContainsFunc(c.Scopes, func(sc string) bool { return slices.Contains(callerScopes, sc) }) {
		return nil, errs.Forbiddenf("访问令牌须含 %s 或 %s 权限范围", "the access token needs the %s or %s scope", callerScopes[0], callerScopes[1])
	}
	return c, nil
}

// allowedTypes returns the licence types the client may follow: those it may query or archive.
func (s *Service) allowedTypes(ctx context.Context, clientID string) ([]string, error) {
	ps, err := s.c.Store.SharingPermissions(ctx, clientID)
	if err != nil {
		return nil, fmt.Errorf("notice: permissions: %w", err)
	}
	var out []string
	for _, p := range ps {
		if p.Allows(permit.Query) || p.Allows(permit.Archive) {
			out = append(out, p.TypeCode)
		}
	}
	return out, nil
}

// SubscriptionRequest is what a department asks for.
type SubscriptionRequest struct {
	URL      string   `json:"url"`
	Entities []string `json:"entities"`
	Licences []string `json:"licences"`
	Events   []Event  `json:"events"`   // empty: every event
	Archived bool     `json:"archived"` // also the entities it follows because it archived them
}

// CreateSubscription validates and stores a subscription, naming every wrong field at once
// (errs.List), and records it in the audit log (notice.subscribe).
func (s *Service) CreateSubscription(ctx context.Context, c *Caller, req SubscriptionRequest) (*Subscription, error) {
	types, err := s.allowedTypes(ctx, c.ClientID)
	if err != nil {
		return nil, err
	}
	var list errs.List
	u, uerr := s.checkURL(req.URL)
	if uerr != nil {
		list = append(list, uerr)
	}
	sub := &Subscription{ClientID: c.ClientID, URL: u, Archived: req.Archived, Entities: []string{}, Licences: []string{}}
	var eerr errs.List
	sub.Events, eerr = checkEvents(req.Events)
	list = append(list, eerr...)
	if n := len(req.Entities) + len(req.Licences); n > MaxTargets {
		list = append(list, errs.Invalidf("entities", "每个订阅至多 %d 个主体和证照（收到 %d 个）",
			"at most %d entities and licences per subscription (got %d)", MaxTargets, n))
		return nil, list
	} else if n == 0 && !req.Archived {
		list = append(list, errs.New(errs.Invalid, "entities", "请至少填写一个主体代码或证照标识（或订阅本部门存档的主体：archived）",
			"give at least one entity code or licence identifier (or subscribe to the entities this department archived: archived)"))
	}
	seen := map[Target]bool{}
	for i, e := range req.Entities {
		field := fmt.Sprintf("entities[%d]", i)
		code := uscc.Normalize(e)
		if code == "" {
			list = append(list, errs.New(errs.Invalid, field, "主体代码为空", "the entity code is empty"))
			continue
		}
		l, err := s.c.Licences.Get(ctx, code)
		if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Invalid) || (err == nil && l.Code != code) {
			list = append(list, errs.Invalidf(field, "没有代码为 %s 的主体", "there is no entity with code %s", code))
			continue
		} else if err != nil {
			return nil, fmt.Errorf("notice: subscribe: %w", err)
		}
		if !slices.Contains(types, s.c.Licences.TypeCode()) {
			list = append(list, errs.Forbiddenf("本系统无权查询或存档主体 %s 的营业执照", "this system may not query or archive the business licence of %s", code))
			continue
		}
		t := Target{EntityCode: code}
		if !seen[t] {
			seen[t] = true
			sub.Entities = append(sub.Entities, code)
			sub.Targets = append(sub.Targets, t)
		}
	}
	for i, x := range req.Licences {
		field := fmt.Sprintf("licences[%d]", i)
		x = strings.ToUpper(strings.TrimSpace(x))
		id, perr := ident.Parse(x)
		if perr != nil {
			e := errs.Invalidf(field, "电子证照标识 %q 无效", "invalid licence identifier %q", x)
			e.Err = perr
			list = append(list, e)
			continue
		}
		l, err := s.c.Licences.Get(ctx, x)
		if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Invalid) {
			list = append(list, errs.Invalidf(field, "没有标识为 %s 的证照", "there is no licence with identifier %s", x))
			continue
		} else if err != nil {
			return nil, fmt.Errorf("notice: subscribe: %w", err)
		}
		if !slices.Contains(types, id.TypeCode) {
			list = append(list, errs.Forbiddenf("本系统无权查询或存档证照类型 %s", "this system may not query or archive licences of type %s", id.TypeCode))
			continue
		}
		t := Target{EntityCode: l.Code, TypeCode: id.TypeCode}
		if !seen[t] && !seen[Target{EntityCode: l.Code}] {
			seen[t] = true
			t.Identifier = x
			sub.Licences = append(sub.Licences, x)
			sub.Targets = append(sub.Targets, t)
		}
	}
	if req.Archived && !slices.Contains(types, s.c.Licences.TypeCode()) {
		list = append(list, errs.Forbiddenf("本系统无权查询或存档营业执照", "this system may not query or archive business licences"))
	}
	if len(list) > 0 {
		// A missing permission is a refusal, not a mistake in the request.
		for _, e := range list {
			if e.Kind == errs.Forbidden {
				return nil, e
			}
		}
		return nil, list
	}
	have, err := s.c.Store.NoticeSubscriptions(ctx, c.ClientID)
	if err != nil {
		return nil, fmt.Errorf("notice: subscribe: %w", err)
	}
	if len(have) >= MaxSubscriptions {
		return nil, errs.Conflictf("本系统已有 %d 个订阅（上限），请先删除不再需要的订阅", "this system has %d subscriptions (the limit); delete one it no longer needs first", len(have))
	}
	sub.ID = "sub_" + strings.ToLower(rand.Text())
	sub.CreatedBy, sub.CreatedAt = c.ClientID, s.now()
	data, _ := json.Marshal(map[string]any{"subscription": sub.ID, "url": redactURL(sub.URL), "entities": sub.Entities,
		"licences": sub.Licences, "events": sub.Events, "archived": sub.Archived})
	ev := audit.Event{Time: sub.CreatedAt, Action: "notice.subscribe", Actor: c.ClientID, Subject: sub.ID, Data: data}
	if err := s.c.Store.CreateNoticeSubscription(ctx, sub, ev); err != nil {
		return nil, fmt.Errorf("notice: subscribe: %w", err)
	}
	return sub, nil
}

// Subscriptions returns the caller's subscriptions, oldest first.
func (s *Service) Subscriptions(ctx context.Context, c *Caller) ([]Subscription, error) {
	subs, err := s.c.Store.NoticeSubscriptions(ctx, c.ClientID)
	if err != nil {
		return nil, fmt.Errorf("notice: subscriptions: %w", err)
	}
	return subs, nil
}

// DeleteSubscription deletes one of the caller's subscriptions and the deliveries of it not yet
// made, and records it (notice.unsubscribe). Another client's subscription is not found.
func (s *Service) DeleteSubscription(ctx context.Context, c *Caller, id string) error {
	id = strings.TrimSpace(id)
	ev := audit.Event{Time: s.now(), Action: "notice.unsubscribe", Actor: c.ClientID, Subject: id}
	if err := s.c.Store.DeleteNoticeSubscription(ctx, c.ClientID, id, ev); err != nil {
		if errs.Is(err, errs.NotFound) {
			return errs.NotFoundf("没有订阅 %s", "there is no subscription %s", id)
		}
		return fmt.Errorf("notice: unsubscribe: %w", err)
	}
	return nil
}

// Subscribe records that the department clientID follows the entity entityCode, typically
// because it archived (存档) one of its licences: the changes of the entity are then delivered
// to every subscription of the client made with archived: true, now and later. It is
// idempotent; the first time is recorded in the audit log (notice.follow). The archiving
// service calls it; it checks neither token nor permission, which the archiving call did.
func (s *Service) Subscribe(ctx context.Context, clientID, entityCode string) error {
	code := uscc.Normalize(entityCode)
	if code == "" || strings.TrimSpace(clientID) == "" {
		return errs.New(errs.Invalid, "entity_code", "缺少客户端标识或主体代码", "the client ID or the entity code is missing")
	}
	now := s.now()
	ev := audit.Event{Time: now, Action: "notice.follow", Actor: clientID, Subject: code}
	if _, err := s.c.Store.FollowEntity(ctx, clientID, code, now, ev); err != nil {
		return fmt.Errorf("notice: follow %s: %w", code, err)
	}
	return nil
}

// checkURL validates a webhook address: https, or http to a loopback host (or anywhere when
// the operator allowed it); no credentials, no fragment.
func (s *Service) checkURL(raw string) (string, *errs.Error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errs.New(errs.Invalid, "url", "缺少接收通知的地址（webhook URL）", "the webhook URL is missing")
	}
	if len(raw) > maxURL {
		return "", errs.Invalidf("url", "地址过长（上限 %d 字节）", "the URL is too long (limit %d bytes)", maxURL)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "", errs.Invalidf("url", "地址 %q 不是完整的 https:// 地址", "%q is not an absolute https:// URL", raw)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	switch {
	case u.User != nil:
		return "", errs.New(errs.Invalid, "url", "地址中不能含有用户名或密码", "the URL must not carry a user name or password")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "", errs.New(errs.Invalid, "url", "地址中不能含有 # 片段", "the URL must not have a # fragment")
	case u.Scheme == "https":
	case u.Scheme == "http" && (s.c.AllowHTTP || loopback(u.Hostname())):
	case u.Scheme == "http":
		return "", errs.New(errs.Invalid, "url", "接收地址须使用 https（http 仅限本机地址，或由平台运维开启）",
			"the webhook must use https (http only on a loopback host, or when the operator allows it)")
	default:
		return "", errs.Invalidf("url", "不支持的协议 %q，须使用 https", "unsupported scheme %q: use https", u.Scheme)
	}
	if strings.ContainsFunc(u.String(), func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", errs.New(errs.Invalid, "url", "地址中含有控制字符", "the URL contains control characters")
	}
	return u.String(), nil
}

// loopback reports whether host is this machine: localhost or a loopback address.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// redactURL drops the query of a webhook address, which may carry a receiver's secret, for the
// audit log and the logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.String()
}

// checkEvents validates the events; none means all of them.
func checkEvents(in []Event) ([]Event, errs.List) {
	if len(in) == 0 {
		return Events(), nil
	}
	var list errs.List
	var out []Event
	for i, e := range in {
		e = Event(strings.TrimSpace(string(e)))
		if !slices.Contains(Events(), e) {
			list = append(list, errs.Invalidf(fmt.Sprintf("events[%d]", i), "未知的事件 %q（可用：new_version、suspended、restored、cancelled、revoked）",
				"unknown event %q (known: new_version, suspended, restored, cancelled, revoked)", string(e)))
		} else if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Event) int { return slices.Index(Events(), a) - slices.Index(Events(), b) })
	return out, list
}
