package sharing

// Consent (用证授权, issue 5 item 6): non-public face items and downloads of copies need the
// entity's authorisation, given in one of three ways —
//   - standing (长期授权): the holder or an administrator authorises one department's system
//     for some service items (or all) until a date at most a year away;
//   - per case (单次授权): the department asks (RequestConsent) for one case, service item and
//     what it wants; the holder or an administrator approves or declines it in the wallet;
//   - 用证码: the holder or an administrator makes a one-time code in the wallet (8 characters,
//     10 minutes, bound to the entity and optionally a service item) and hands it over at the
//     counter; the first call that presents it binds it to that department and case.
//
// Approving, granting and making a code need the person's proof (licence PIN, personal PIN or
// passkey, identity.Service.Authorize); declining and revoking do not, since they only take
// access away. Revocation takes effect at once: every call reads the authorisations from the
// store. Every grant, request, approval, refusal, use of a code and revocation is an audit
// event, in the same transaction as the change.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/sharing/consent"
	"github.com/elicense/elicense/internal/uscc"
)

// Consent is one authorisation by an entity (or a department's request for one).
type Consent = consent.Consent

// Names of the consent package, re-exported.
const (
	ConsentStanding = consent.Standing
	ConsentCase     = consent.Case
	ConsentCode     = consent.Code
	ItemCapital     = consent.ItemCapital
	ItemForm        = consent.ItemForm
	ItemDownload    = consent.ItemDownload
)

// Lifetimes and limits of authorisations.
const (
	MaxStanding      = 366 * 24 * time.Hour // a standing authorisation lasts at most a year (the last day included)
	RequestLifetime  = 7 * 24 * time.Hour   // a request not answered by then expires
	CaseLifetime     = 30 * 24 * time.Hour  // an approved request or a used code covers its case this long
	CodeLifetime     = 10 * time.Minute     // a 用证码 must be used within this
	CodeLength       = 8
	MaxConsentItems  = 100 // service items of a standing authorisation
	maxConsentsShown = 200
)

// codeAlphabet has no characters that read alike (0/O, 1/I/L).
const codeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// ConsentStore keeps authorisations, downloads and archive receipts; package store implements
// it. Changes are written with their audit event in one transaction.
type ConsentStore interface {
	AddConsent(ctx context.Context, c *consent.Consent, ev audit.Event) error
	Consent(ctx context.Context, id string) (*consent.Consent, error)
	ConsentByCode(ctx context.Context, hash []byte) (*consent.Consent, error)
	ConsentsFor(ctx context.Context, entityCode string, limit int) ([]*consent.Consent, error)
	ActiveConsents(ctx context.Context, entityCode, clientID string, at time.Time) ([]*consent.Consent, error)
	PendingConsentStore // the wallet inbox (inbox.go)
	UpdateConsent(ctx context.Context, c *consent.Consent, from consent.Status, unused bool, ev audit.Event) error
	AddDownload(ctx context.Context, d *consent.Download, ev audit.Event) error
	Download(ctx context.Context, hash []byte) (*consent.Download, error)
	UseDownload(ctx context.Context, id string, at time.Time, ev audit.Event) error
	AddArchive(ctx context.Context, a *consent.Archive, ev audit.Event) error
	Archive(ctx context.Context, receiptID string) (*consent.Archive, error)
	Archives(ctx context.Context, clientID, cursor string, limit int) ([]*consent.Archive, string, error)
}

// People is what consent needs of unified identity (*identity.Service): the roles a person
// holds, and the confirmation of an action with the person's proof.
type People interface {
	Roles(ctx context.Context, personID string) ([]*identity.Role, error)
	Authorize(ctx context.Context, personID, entityCode, serviceItem string, proof identity.Proof) (*identity.Identity, error)
}

// Events reads the audit log (*audit.Log).
type Events interface {
	Find(ctx context.Context, f audit.Filter) ([]audit.Event, error)
}

// ConsentConfig holds what consent, downloads, archive receipts and usage need.
type ConsentConfig struct {
	Store  ConsentStore
	People People
	Copier Copier // renders watermarked copies
	Events Events
	// Signer is the platform key that signs archive receipts; CertDER is its certificate.
	Signer  gm.Signer
	CertDER []byte

	certSerial string
}

// EnableConsent gives the service what its second slice needs. Call it before the service is
// used; without it those calls answer that consent is not enabled.
func (s *Service) EnableConsent(c ConsentConfig) error {
	if c.Store == nil || c.People == nil || c.Copier == nil || c.Events == nil || c.Signer == nil {
		return fmt.Errorf("sharing: consent: Store, People, Copier, Events and Signer are required")
	}
	cert, err := gm.ParseCertificate(c.CertDER)
	if err != nil {
		return fmt.Errorf("sharing: consent: platform certificate: %w", err)
	}
	c.certSerial = cert.SerialNumber.Text(16)
	s.cc = &c
	return nil
}

var errConsentOff = errs.New(errs.Unavailable, "", "本平台未启用用证授权、下载和存档服务",
	"consent, downloads and archive are not enabled on this platform")

func (s *Service) consentOn() error {
	if s.cc == nil {
		return errConsentOff
	}
	return nil
}

// NonPublic holds the non-public face items (非公开照面信息) an authorisation released.
type NonPublic struct {
	Items   []string         `json:"items"`             // the items released
	Capital *license.Capital `json:"capital,omitempty"` // 注册资本 / 成员出资总额, where the kind has one
	Form    string           `json:"form,omitempty"`    // 组成形式 (个体工商户)
}

// ConsentNotice says that the entity's authorisation is missing for some of what a call asked.
type ConsentNotice struct {
	Missing []string `json:"missing"` // non-public items or "download"
	ZH      string   `json:"zh"`
	EN      string   `json:"en"`
}

// nonPublicNames are the non-public items in the order of the documentation.
var nonPublicNames = []string{consent.ItemCapital, consent.ItemForm}

// nonPublicItems validates the non-public items a query asks for ("*": all).
func nonPublicItems(items []string) ([]string, error) {
	var out []string
	for _, it := range items {
		it = strings.ToLower(strings.TrimSpace(it))
		switch {
		case it == consent.All:
			return slices.Clone(nonPublicNames), nil
		case slices.Contains(nonPublicNames, it):
			if !slices.Contains(out, it) {
				out = append(out, it)
			}
		default:
			return nil, errs.Invalidf("non_public", "未知的非公开照面项 %q（可用：capital、form 或 *）",
				"unknown non-public item %q (known: capital, form, or *)", it)
		}
	}
	return out, nil
}

func notice(missing []string) *ConsentNotice {
	return &ConsentNotice{Missing: missing,
		ZH: "需要市场主体的用证授权：" + strings.Join(missing, "、") + "。请通过 /api/v1/sharing/consents/requests 申请授权，或请市场主体提供用证码（consent_code）",
		EN: "the entity's authorisation is required for: " + strings.Join(missing, ", ") +
			"; request it at /api/v1/sharing/consents/requests, or ask the entity for a one-time code (consent_code)"}
}

// consentUsage is the data of a usage record that involved consent.
type consentUsage struct {
	usage
	NonPublic []string `json:"non_public,omitempty"`
	Missing   []string `json:"missing,omitempty"`
	Consent   []string `json:"consent,omitempty"` // the authorisations relied on
	Download  string   `json:"download,omitempty"`
	Format    string   `json:"format,omitempty"`
	Receipt   string   `json:"receipt,omitempty"`
}

func (s *Service) usageEvent(c *Caller, action, subject string, u consentUsage, at time.Time) audit.Event {
	data, _ := json.Marshal(u) // strings only: always encodes
	return audit.Event{Time: at, Action: "share." + action, Actor: c.ClientID, Subject: subject, Data: data}
}

func usageOf(p Purpose, identifier, result string) usage {
	return usage{Cause: p.Cause, Item: p.Item, Case: p.Case, Identifier: identifier, Result: result}
}

// queryNonPublic answers a query that asks for non-public items of l.
func (s *Service) queryNonPublic(ctx context.Context, c *Caller, p Purpose, l *license.Licence, want []string, now time.Time) (*Record, error) {
	if err := s.consentOn(); err != nil {
		return nil, err
	}
	ids, missing, err := s.authorised(ctx, c, p, l.Code, want, now)
	if err != nil {
		if rerr := s.record(ctx, s.usageEvent(c, "query", l.Code, consentUsage{usage: usageOf(p, l.Identifier, "denied"), NonPublic: want}, now)); rerr != nil {
			return nil, rerr
		}
		return nil, err
	}
	rec := s.recordOf(l)
	var given []string
	for _, it := range want {
		if !slices.Contains(missing, it) {
			given = append(given, it)
		}
	}
	if len(given) > 0 {
		rec.NonPublic = &NonPublic{Items: given}
		for _, it := range given {
			switch it {
			case consent.ItemCapital:
				rec.NonPublic.Capital = l.Face.Capital
			case consent.ItemForm:
				rec.NonPublic.Form = l.Face.Form
			}
		}
	}
	result := "ok"
	if len(missing) > 0 {
		rec.ConsentRequired, result = notice(missing), "consent_required"
	}
	u := consentUsage{usage: usageOf(p, l.Identifier, result), NonPublic: want, Missing: missing, Consent: ids}
	if err := s.record(ctx, s.usageEvent(c, "query", l.Code, u, now)); err != nil {
		return nil, err
	}
	return rec, nil
}

// authorised finds the entity's authorisation of the call for what it needs (non-public items,
// consent.ItemDownload): the 用证码 given with the purpose, which the call uses up, or the
// standing, per-case and used-code authorisations in force for the client, service item and
// case. It returns the authorisations relied on and what none of them covers; a code that
// cannot be used is an errs.Forbidden naming consent_code.
func (s *Service) authorised(ctx context.Context, c *Caller, p Purpose, entity string, need []string, now time.Time) ([]string, []string, error) {
	if code := normCode(p.ConsentCode); code != "" {
		k, err := s.useCode(ctx, c, p, entity, code, now)
		if err != nil {
			return nil, nil, err
		}
		return []string{k.ID}, nil, nil
	}
	cs, err := s.cc.Store.ActiveConsents(ctx, entity, c.ClientID, now)
	if err != nil {
		return nil, nil, fmt.Errorf("sharing: consents of %s: %w", entity, err)
	}
	var ids, missing []string
	for _, n := range need {
		found := false
		for _, k := range cs {
			if !k.InForceAt(now) || !k.ForServiceItem(p.Item) || !k.CoversItem(n) {
				continue
			}
			if k.Kind != consent.Standing && k.CaseNumber != p.Case {
				continue
			}
			found = true
			if !slices.Contains(ids, k.ID) {
				ids = append(ids, k.ID)
			}
			break
		}
		if !found {
			missing = append(missing, n)
		}
	}
	return ids, missing, nil
}

// normCode reads a 用证码 as typed: any case, spaces and hyphens ignored.
func normCode(s string) string {
	return strings.ToUpper(strings.NewReplacer(" ", "", "-", "", "\u3000", "").Replace(strings.TrimSpace(s)))
}

func codeHash(code string) []byte {
	h := gm.SM3([]byte("elicense consent code v1:" + code))
	return h[:]
}

func codeRefused(zh, en string) error {
	return errs.New(errs.Forbidden, "consent_code", "用证码不能使用："+zh, "the consent code cannot be used: "+en)
}

// useCode uses up a 用证码 for the call: it binds it to the client, the service item and the
// case, and from then on it covers that case for CaseLifetime.
func (s *Service) useCode(ctx context.Context, c *Caller, p Purpose, entity, code string, now time.Time) (*consent.Consent, error) {
	k, err := s.cc.Store.ConsentByCode(ctx, codeHash(code))
	switch {
	case errs.Is(err, errs.NotFound):
		return nil, codeRefused("没有这个用证码", "there is no such code")
	case err != nil:
		return nil, fmt.Errorf("sharing: consent code: %w", err)
	case k.Kind != consent.Code || k.EntityCode != entity:
		return nil, codeRefused("该用证码不是这个市场主体的", "it was not made by this entity")
	case k.Status == consent.Revoked:
		return nil, codeRefused("市场主体已撤销该用证码", "the entity revoked it")
	case !k.UsedAt.IsZero():
		return nil, codeRefused("该用证码已经使用过，每个用证码只能使用一次", "it has been used already; a code is good for one use")
	case !now.Before(k.ValidUntil):
		return nil, codeRefused("该用证码已过期（有效期 10 分钟）", "it has expired (codes are valid for 10 minutes)")
	case len(k.Items) > 0 && !slices.Contains(k.Items, p.Item):
		return nil, codeRefused("该用证码只用于事项 "+strings.Join(k.Items, "、"), "it is only for the service item "+strings.Join(k.Items, ", "))
	}
	next := *k
	next.ClientID, next.CaseNumber, next.Items = c.ClientID, p.Case, []string{p.Item}
	next.UsedAt, next.ValidUntil = now, now.Add(CaseLifetime)
	ev := consentEvent("share.consent_code", c.ClientID, entity, now, map[string]any{"consent": k.ID, "service_item": p.Item,
		"case_number": p.Case, "use_cause": p.Cause})
	if err := s.cc.Store.UpdateConsent(ctx, &next, consent.Active, true, ev); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, codeRefused("该用证码已经使用过，每个用证码只能使用一次", "it has been used already; a code is good for one use")
		}
		return nil, fmt.Errorf("sharing: use consent code: %w", err)
	}
	return &next, nil
}

func consentEvent(action, actor, subject string, at time.Time, data map[string]any) audit.Event {
	b, _ := json.Marshal(data) // strings, lists and times: always encodes
	return audit.Event{Time: at, Action: action, Actor: actor, Subject: subject, Data: b}
}

func personActor(id string) string { return "person:" + id }

// managerOf checks that the person is the holder or a licence administrator of the entity
// (whatever the licence's status, so that authorisations stay revocable) and returns the role.
func (s *Service) managerOf(ctx context.Context, personID, code string) (*identity.Role, error) {
	roles, err := s.cc.People.Roles(ctx, personID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	for _, r := range roles {
		if r.Licence.Code != code {
			continue
		}
		if r.Kind == identity.RoleHolder || r.Kind == identity.RoleAdministrator && r.Grant != nil && r.Grant.InForceAt(now) {
			return r, nil
		}
	}
	return nil, errs.Forbiddenf("只有领照人和证照管理员可以管理用证授权", "only the holder and the licence administrators manage the entity's authorisations")
}

// authorize confirms an action of a manager with the person's proof.
func (s *Service) authorize(ctx context.Context, personID, code string, proof identity.Proof) error {
	if _, err := s.managerOf(ctx, personID, code); err != nil {
		return err
	}
	id, err := s.cc.People.Authorize(ctx, personID, code, "", proof)
	if err != nil {
		return err
	}
	if id.Role == identity.RoleAgent {
		return errs.Forbiddenf("办事人不能授权", "agents cannot authorise")
	}
	return nil
}

// StandingGrant is a standing authorisation to give.
type StandingGrant struct {
	ClientID string    // the department's system
	Items    []string  // service items; none: all
	Until    time.Time // end (exclusive), at most MaxStanding away
}

// checkItems validates service item codes.
func checkItems(items []string) ([]string, error) {
	var out []string
	for i, it := range items {
		it = strings.TrimSpace(it)
		if it == "" {
			continue
		}
		if len(it) > maxCode || strings.IndexFunc(it, badCodeRune) >= 0 {
			return nil, errs.Invalidf(fmt.Sprintf("items[%d]", i), "事项编码 %q 只能由字母、数字和 ._-: 组成，至多 64 个字符",
				"the service item code %q may hold letters, digits and ._-: only, at most 64 characters", it)
		}
		if !slices.Contains(out, it) {
			out = append(out, it)
		}
	}
	if len(out) > MaxConsentItems {
		return nil, errs.Invalidf("items", "一项授权至多 %d 个事项", "an authorisation covers at most %d service items", MaxConsentItems)
	}
	return out, nil
}

// department checks that clientID is a department's system (client-credentials grant).
func (s *Service) department(ctx context.Context, clientID string) (*oidc.Client, error) {
	if clientID == "" {
		return nil, errs.New(errs.Invalid, "client_id", "请填写部门系统的客户端标识", "the department system's client ID is required")
	}
	cl, err := s.c.Clients.OIDCClient(ctx, clientID)
	if errs.Is(err, errs.NotFound) {
		return nil, errs.Invalidf("client_id", "没有客户端 %s", "there is no client %s", clientID)
	}
	if err != nil {
		return nil, fmt.Errorf("sharing: client %s: %w", clientID, err)
	}
	if !cl.HasGrant(oidc.GrantClientCredentials) {
		return nil, errs.Invalidf("client_id", "%s 不是部门共享系统", "%s is not a department's sharing system", clientID)
	}
	return cl, nil
}

// GrantStanding gives a department's system a standing authorisation, confirmed with the
// holder's or administrator's proof.
func (s *Service) GrantStanding(ctx context.Context, personID, entityCode string, g StandingGrant, proof identity.Proof) (*Consent, error) {
	if err := s.consentOn(); err != nil {
		return nil, err
	}
	code, now := uscc.Normalize(entityCode), s.now().Truncate(time.Microsecond)
	var list errs.List
	g.ClientID = strings.TrimSpace(g.ClientID)
	if _, err := s.department(ctx, g.ClientID); errs.Is(err, errs.Invalid) {
		list = append(list, errs.As(err))
	} else if err != nil {
		return nil, err
	}
	items, err := checkItems(g.Items)
	if err != nil {
		list = append(list, errs.As(err))
	}
	until := g.Until.UTC().Truncate(time.Microsecond)
	switch {
	case until.IsZero():
		list = append(list, errs.New(errs.Invalid, "until", "请填写授权截止日期", "the end of the authorisation is required"))
	case !until.After(now):
		list = append(list, errs.New(errs.Invalid, "until", "授权截止日期应晚于今天", "the authorisation must end in the future"))
	case until.Sub(now) > MaxStanding:
		list = append(list, errs.New(errs.Invalid, "until", "长期授权最长一年", "a standing authorisation lasts at most a year"))
	}
	if err := list.Err(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, personID, code, proof); err != nil {
		return nil, err
	}
	k := &consent.Consent{ID: rand.Text(), Kind: consent.Standing, EntityCode: code, ClientID: g.ClientID, Items: items,
		Covers: []string{consent.All}, Status: consent.Active, CreatedBy: personActor(personID), CreatedAt: now, ValidUntil: until}
	ev := consentEvent("consent.grant", personActor(personID), code, now, map[string]any{"consent": k.ID, "client_id": k.ClientID,
		"items": nonNil(items), "until": until})
	if err := s.cc.Store.AddConsent(ctx, k, ev); err != nil {
		return nil, fmt.Errorf("sharing: grant consent: %w", err)
	}
	return k, nil
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// NewCode makes a 用证码 for the entity, optionally bound to a service item, confirmed with the
// person's proof. The code is returned once and only its hash is kept.
func (s *Service) NewCode(ctx context.Context, personID, entityCode, item string, proof identity.Proof) (string, *Consent, error) {
	if err := s.consentOn(); err != nil {
		return "", nil, err
	}
	code, now := uscc.Normalize(entityCode), s.now().Truncate(time.Microsecond)
	items, err := checkItems([]string{item})
	if err != nil {
		return "", nil, errs.Invalidf("service_item", "事项编码 %q 只能由字母、数字和 ._-: 组成，至多 64 个字符",
			"the service item code %q may hold letters, digits and ._-: only, at most 64 characters", item)
	}
	if err := s.authorize(ctx, personID, code, proof); err != nil {
		return "", nil, err
	}
	secret := make([]byte, 0, CodeLength)
	var raw [32]byte
	for len(secret) < CodeLength {
		_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails
		for _, b := range raw {
			// Rejection sampling: bytes of the last partial block of the alphabet's size would bias.
			if int(b) < 256/len(codeAlphabet)*len(codeAlphabet) && len(secret) < CodeLength {
				secret = append(secret, codeAlphabet[int(b)%len(codeAlphabet)])
			}
		}
	}
	k := &consent.Consent{ID: rand.Text(), Kind: consent.Code, EntityCode: code, Items: items, Covers: []string{consent.All},
		Status: consent.Active, CodeHash: codeHash(string(secret)), CreatedBy: personActor(personID), CreatedAt: now,
		ValidUntil: now.Add(CodeLifetime)}
	ev := consentEvent("consent.code", personActor(personID), code, now, map[string]any{"consent": k.ID, "items": nonNil(items),
		"until": k.ValidUntil})
	if err := s.cc.Store.AddConsent(ctx, k, ev); err != nil {
		return "", nil, fmt.Errorf("sharing: consent code: %w", err)
	}
	return string(secret), k, nil
}

// Want is what a department asks the entity to authorise for a case.
type Want struct {
	NonPublic []string `json:"non_public,omitempty"` // capital, form, or *
	Download  bool     `json:"download,omitempty"`
}

// RequestConsent is a department's request for the entity's authorisation for one case:
// the purpose names the case, service item and cause. The caller needs the query permission
// for non-public items and the download permission for a download.
func (s *Service) RequestConsent(ctx context.Context, c *Caller, p Purpose, entityCode string, w Want) (*Consent, error) {
	if err := s.consentOn(); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	code := uscc.Normalize(entityCode)
	items, err := nonPublicItems(w.NonPublic)
	if err != nil {
		return nil, err
	}
	if code == "" {
		return nil, errs.New(errs.Invalid, "entity_code", "缺少市场主体的统一社会信用代码", "the entity's credit code is missing")
	}
	if len(items) == 0 && !w.Download {
		return nil, errs.New(errs.Invalid, "non_public", "请说明需要授权的内容：非公开照面项（non_public）或下载（download）",
			"say what needs the authorisation: non-public items (non_public) or a download (download)")
	}
	typ := s.c.Licences.TypeCode()
	covers := slices.Clone(items)
	if len(items) > 0 {
		if err := s.allow(ctx, c, OpQuery, typ); err != nil {
			return nil, err
		}
	}
	if w.Download {
		if err := s.allow(ctx, c, OpDownload, typ); err != nil {
			return nil, err
		}
		covers = append(covers, consent.ItemDownload)
	}
	l, err := s.c.Licences.Get(ctx, code)
	if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Invalid) {
		return nil, errs.NotFoundf("没有统一社会信用代码为 %s 的市场主体", "there is no entity with the credit code %s", code)
	}
	if err != nil {
		return nil, fmt.Errorf("sharing: consent request: %w", err)
	}
	now := s.now().Truncate(time.Microsecond)
	k := &consent.Consent{ID: rand.Text(), Kind: consent.Case, EntityCode: l.Code, ClientID: c.ClientID, Items: []string{p.Item},
		CaseNumber: p.Case, Cause: p.Cause, Covers: covers, Status: consent.Pending, CreatedBy: c.ClientID, CreatedAt: now,
		ValidUntil: now.Add(RequestLifetime)}
	u := consentUsage{usage: usageOf(p, "", "pending"), NonPublic: items, Consent: []string{k.ID}}
	if w.Download {
		u.Download = "requested"
	}
	if err := s.cc.Store.AddConsent(ctx, k, s.usageEvent(c, "consent_request", l.Code, u, now)); err != nil {
		return nil, fmt.Errorf("sharing: consent request: %w", err)
	}
	return k, nil
}

// ConsentRequest returns one of the caller's own requests (another's is not found).
func (s *Service) ConsentRequest(ctx context.Context, c *Caller, id string) (*Consent, error) {
	if err := s.consentOn(); err != nil {
		return nil, err
	}
	k, err := s.cc.Store.Consent(ctx, strings.TrimSpace(id))
	if err != nil && !errs.Is(err, errs.NotFound) {
		return nil, fmt.Errorf("sharing: consent request: %w", err)
	}
	if err != nil || k.Kind != consent.Case || k.CreatedBy != c.ClientID {
		return nil, errs.NotFoundf("没有这项授权申请", "no such consent request")
	}
	return k, nil
}

// ConsentState is what a department and the wallet are told of an authorisation's state:
// pending, approved (a request) or active, declined, revoked, used (a code), or expired.
func ConsentState(k *Consent, now time.Time) string {
	switch {
	case k.Status == consent.Declined || k.Status == consent.Revoked:
		return string(k.Status)
	case !now.Before(k.ValidUntil):
		return "expired"
	case k.Status == consent.Pending:
		return "pending"
	case k.Kind == consent.Case:
		return "approved"
	case k.Kind == consent.Code && !k.UsedAt.IsZero():
		return "used"
	}
	return "active"
}

// entityConsent loads an authorisation of the entity (another entity's is not found).
func (s *Service) entityConsent(ctx context.Context, code, id string) (*consent.Consent, error) {
	k, err := s.cc.Store.Consent(ctx, id)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return nil, fmt.Errorf("sharing: consent %s: %w", id, err)
	}
	if err != nil || k.EntityCode != code {
		return nil, errs.New(errs.NotFound, "consent", "没有这项用证授权", "no such authorisation")
	}
	return k, nil
}

// Approve approves a department's request, confirmed with the person's proof; it then covers
// that case for CaseLifetime.
func (s *Service) Approve(ctx context.Context, personID, entityCode, id string, proof identity.Proof) (*Consent, error) {
	return s.decide(ctx, personID, entityCode, id, &proof)
}

// Decline declines a department's request.
func (s *Service) Decline(ctx context.Context, personID, entityCode, id string) (*Consent, error) {
	return s.decide(ctx, personID, entityCode, id, nil)
}

func (s *Service) decide(ctx context.Context, personID, entityCode, id string, proof *identity.Proof) (*Consent, error) {
	if err := s.consentOn(); err != nil {
		return nil, err
	}
	code := uscc.Normalize(entityCode)
	if _, err := s.managerOf(ctx, personID, code); err != nil {
		return nil, err
	}
	k, err := s.entityConsent(ctx, code, id)
	if err != nil {
		return nil, err
	}
	now := s.now().Truncate(time.Microsecond)
	if k.Kind != consent.Case || k.Status != consent.Pending || !now.Before(k.ValidUntil) {
		return nil, errs.Conflictf("该申请已经处理或已过期（%s）", "the request has been answered or has expired (%s)", ConsentState(k, now))
	}
	next := *k
	next.DecidedBy, next.DecidedAt = personActor(personID), now
	action := "consent.decline"
	if proof != nil {
		if err := s.authorize(ctx, personID, code, *proof); err != nil {
			return nil, err
		}
		next.Status, next.ValidUntil, action = consent.Active, now.Add(CaseLifetime), "consent.approve"
	} else {
		next.Status = consent.Declined
	}
	ev := consentEvent(action, personActor(personID), code, now, map[string]any{"consent": k.ID, "client_id": k.ClientID,
		"case_number": k.CaseNumber, "service_item": strings.Join(k.Items, ","), "covers": k.Covers})
	if err := s.cc.Store.UpdateConsent(ctx, &next, consent.Pending, false, ev); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, errs.Conflictf("该申请已经处理", "the request has been answered already")
		}
		return nil, fmt.Errorf("sharing: %s: %w", action, err)
	}
	return &next, nil
}

// RevokeConsent withdraws an authorisation (standing, approved, or a code, used or not) at
// once. Revoking one that is already revoked succeeds.
func (s *Service) RevokeConsent(ctx context.Context, personID, entityCode, id string) (*Consent, error) {
	if err := s.consentOn(); err != nil {
		return nil, err
	}
	code := uscc.Normalize(entityCode)
	if _, err := s.managerOf(ctx, personID, code); err != nil {
		return nil, err
	}
	k, err := s.entityConsent(ctx, code, id)
	if err != nil {
		return nil, err
	}
	switch k.Status {
	case consent.Revoked:
		return k, nil
	case consent.Pending, consent.Declined:
		return nil, errs.Conflictf("申请尚未批准，无需撤销（可以拒绝）", "the request was never approved: decline it instead")
	}
	now := s.now().Truncate(time.Microsecond)
	next := *k
	next.Status, next.RevokedBy, next.RevokedAt = consent.Revoked, personActor(personID), now
	ev := consentEvent("consent.revoke", personActor(personID), code, now, map[string]any{"consent": k.ID, "kind": k.Kind,
		"client_id": k.ClientID})
	if err := s.cc.Store.UpdateConsent(ctx, &next, consent.Active, false, ev); err != nil {
		if errs.Is(err, errs.Conflict) {
			return s.entityConsent(ctx, code, id)
		}
		return nil, fmt.Errorf("sharing: revoke consent: %w", err)
	}
	return &next, nil
}

// ConsentView is an authorisation as the entity sees it.
type ConsentView struct {
	*Consent
	State      string // ConsentState
	ClientName string // the department's system, "" for an unused code
}

// Consents lists the entity's authorisations and requests, newest first, for its holder and
// administrators.
func (s *Service) Consents(ctx context.Context, personID, entityCode string) ([]ConsentView, error) {
	if err := s.consentOn(); err != nil {
		return nil, err
	}
	code := uscc.Normalize(entityCode)
	if _, err := s.managerOf(ctx, personID, code); err != nil {
		return nil, err
	}
	ks, err := s.cc.Store.ConsentsFor(ctx, code, maxConsentsShown)
	if err != nil {
		return nil, fmt.Errorf("sharing: consents of %s: %w", code, err)
	}
	now, names := s.now(), s.clientNames()
	out := make([]ConsentView, len(ks))
	for i, k := range ks {
		out[i] = ConsentView{Consent: k, State: ConsentState(k, now), ClientName: names(ctx, k.ClientID)}
	}
	return out, nil
}

// clientNames returns a look-up of client names that remembers what it found.
func (s *Service) clientNames() func(ctx context.Context, id string) string {
	m := map[string]string{}
	return func(ctx context.Context, id string) string {
		if id == "" {
			return ""
		}
		if n, ok := m[id]; ok {
			return n
		}
		n := id
		if cl, err := s.c.Clients.OIDCClient(ctx, id); err == nil && cl.Name != "" {
			n = cl.Name
		}
		m[id] = n
		return n
	}
}
