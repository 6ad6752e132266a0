package identity

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/citizen"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/uscc"
)

// MaxItemCode is the length limit of a service item code.
const MaxItemCode = 64

// Roles lists the entities the person may act for: the licences they hold (while the licence
// still names them) and their administrator and agent grants that are not revoked and have
// not ended, each with the current licence. Entities that are no longer active stay listed
// (Licence.Status says so); CanAct decides whether the person may act now.
func (s *Service) Roles(ctx context.Context, personID string) ([]*Role, error) {
	p, err := s.person(ctx, personID)
	if err != nil {
		return nil, err
	}
	return s.roles(ctx, p, s.now())
}

func (s *Service) roles(ctx context.Context, p *Person, now time.Time) ([]*Role, error) {
	hs, err := s.st.HoldersOf(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("identity: holdings: %w", err)
	}
	var out []*Role
	for _, h := range hs {
		l, err := s.licence(ctx, h.EntityCode)
		if err != nil {
			return nil, err
		}
		if names(l, p.Name, p.IDNumberHash) {
			out = append(out, &Role{Kind: RoleHolder, Licence: l, Holder: h})
		}
	}
	gs, err := s.st.GrantsOf(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("identity: grants: %w", err)
	}
	for _, g := range gs {
		if g.Revoked() || !g.ValidUntil.IsZero() && !now.Before(g.ValidUntil) {
			continue
		}
		l, err := s.licence(ctx, g.EntityCode)
		if err != nil {
			return nil, err
		}
		out = append(out, &Role{Kind: g.Role, Licence: l, Grant: g})
	}
	return out, nil
}

// usable reports whether the person may act in role r now: an active licence and a grant in
// force.
func usable(r *Role, now time.Time) bool {
	return r.Licence.Status == license.Active && (r.Grant == nil || r.Grant.InForceAt(now))
}

// CanAct answers whether the person may act for the entity at time at — for the service item
// serviceItem, or at all when it is "" — and in which role. Refusals are errs.Forbidden with
// the reason: the licence is not active, the person has no role, the holder is no longer the
// person on the licence, the grant has not started or has ended, or the item is not granted.
func (s *Service) CanAct(ctx context.Context, personID, entityCode, serviceItem string, at time.Time) (*Role, error) {
	p, err := s.person(ctx, personID)
	if err != nil {
		return nil, err
	}
	l, err := s.licence(ctx, uscc.Normalize(entityCode))
	if err != nil {
		return nil, err
	}
	if zh, en := statusProblem(l.Status); zh != "" {
		return nil, errs.New(errs.Forbidden, "entity", zh, en)
	}
	at = at.UTC()
	r, err := s.roleFor(ctx, p, l, at)
	if err != nil {
		return nil, err
	}
	if r.Grant != nil {
		if err := grantProblem(r.Grant, serviceItem, at); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// roleFor finds the person's role for the entity of l: the holder role, or their grant that
// is not revoked (the one in force at at, if several remain; the latest otherwise).
func (s *Service) roleFor(ctx context.Context, p *Person, l *license.Licence, at time.Time) (*Role, error) {
	h, err := s.st.Holder(ctx, l.Code)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return nil, fmt.Errorf("identity: holder of %s: %w", l.Code, err)
	}
	if err == nil && h.PersonID == p.ID {
		if !names(l, p.Name, p.IDNumberHash) {
			zh, en := personLabel(l.Kind)
			return nil, errs.New(errs.Forbidden, "entity", fmt.Sprintf("执照上的%s已变更，您不能再代表该市场主体", zh),
				fmt.Sprintf("the %s on the licence has changed; you can no longer act for this entity", en))
		}
		return &Role{Kind: RoleHolder, Licence: l, Holder: h}, nil
	}
	gs, err := s.st.GrantsOf(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("identity: grants: %w", err)
	}
	better := func(g, than *Grant) bool {
		if gi, ti := g.InForceAt(at), than.InForceAt(at); gi != ti {
			return gi
		}
		return g.GrantedAt.After(than.GrantedAt)
	}
	var best *Grant
	for _, g := range gs {
		if g.EntityCode == l.Code && !g.Revoked() && (best == nil || better(g, best)) {
			best = g
		}
	}
	if best == nil {
		return nil, errs.Forbiddenf("您无权代表%s（%s）：没有领照，也没有有效的任命或授权", "you may not act for %s (%s): you hold no licence, appointment or grant for it", l.Face.Name, l.Code)
	}
	return &Role{Kind: best.Role, Licence: l, Grant: best}, nil
}

// Authorize checks that the person may act for the entity now — for serviceItem, or at all
// when it is "" — and that proof confirms it: the licence PIN (holder), the personal PIN
// (administrator, agent) or a passkey. It is the confirmation step that other services build
// on (consent requests, signing on behalf of the entity, showing the licence); they record the
// action they authorise in their own audit events.
func (s *Service) Authorize(ctx context.Context, personID, entityCode, serviceItem string, proof Proof) (*Identity, error) {
	p, err := s.person(ctx, personID)
	if err != nil {
		return nil, err
	}
	r, err := s.CanAct(ctx, p.ID, entityCode, serviceItem, s.now())
	if err != nil {
		return nil, err
	}
	id, err := s.prove(ctx, p, r, proof)
	if err != nil {
		return nil, err
	}
	id.AuthTime = s.now()
	return id, nil
}

// grantProblem says why grant g does not allow acting at t for item; nil when it does.
func grantProblem(g *Grant, item string, t time.Time) error {
	switch {
	case g.Revoked():
		return errs.Forbiddenf("授权已于 %s 撤销", "the grant was revoked on %s", fmtTime(g.RevokedAt))
	case t.Before(g.ValidFrom):
		return errs.Forbiddenf("授权自 %s 起生效", "the grant starts on %s", fmtTime(g.ValidFrom))
	case !g.ValidUntil.IsZero() && !t.Before(g.ValidUntil):
		return errs.Forbiddenf("授权已于 %s 到期", "the grant ended on %s", fmtTime(g.ValidUntil))
	case !g.Allows(item):
		return errs.Forbiddenf("未获授权办理事项 %s", "the grant does not cover the service item %s", item)
	}
	return nil
}

// manager returns the role in which p manages the entity: holder or administrator. Managing
// needs no active licence (revoking stays possible after a suspension or cancellation).
func (s *Service) manager(ctx context.Context, p *Person, code string) (*Role, error) {
	l, err := s.licence(ctx, code)
	if err != nil {
		return nil, err
	}
	r, err := s.roleFor(ctx, p, l, s.now())
	if err != nil {
		return nil, err
	}
	if r.Kind == RoleAgent || r.Grant != nil && !r.Grant.InForceAt(s.now()) {
		return nil, errs.Forbiddenf("只有领照人和证照管理员可以管理授权", "only the holder and the licence administrators manage who may use the licence")
	}
	return r, nil
}

// grantee finds the registered person a holder or administrator names by name and ID number.
func (s *Service) grantee(ctx context.Context, name, idNumber string) (*Person, error) {
	var list errs.List
	name = NormalizeName(name)
	if e := checkName("name", name); e != nil {
		list = append(list, e)
	}
	idNumber = citizen.Normalize(idNumber)
	if e := checkIDNumber("id_number", idNumber); e != nil {
		list = append(list, e)
	}
	if err := list.Err(); err != nil {
		return nil, err
	}
	p, err := s.st.PersonByIDHash(ctx, s.protect.HashPersonID(idNumber))
	if errs.Is(err, errs.NotFound) {
		return nil, errs.New(errs.NotFound, "id_number", "该人员尚未注册，请先请其注册并验证手机号",
			"this person has not registered; ask them to register and confirm their phone first")
	}
	if err != nil {
		return nil, fmt.Errorf("identity: person by id number: %w", err)
	}
	if p.Name != name {
		return nil, errs.New(errs.Invalid, "name", "姓名与身份号码不符", "the name does not match the ID number")
	}
	return p, nil
}

// Appoint lets the holder appoint a licence administrator (证照管理员), a registered person
// named by name and ID number, confirmed with the holder's proof (licence PIN or passkey). An
// entity has at most MaxAdministrators; a person with a grant in force for the entity, the
// holder, or an inactive licence is refused.
func (s *Service) Appoint(ctx context.Context, holderID, entityCode, name, idNumber string, proof Proof) (*Grant, error) {
	p, err := s.person(ctx, holderID)
	if err != nil {
		return nil, err
	}
	code := uscc.Normalize(entityCode)
	r, err := s.manager(ctx, p, code)
	if err != nil {
		return nil, err
	}
	if r.Kind != RoleHolder {
		return nil, errs.Forbiddenf("只有领照人可以任命证照管理员", "only the holder appoints licence administrators")
	}
	if err := activeFor(r.Licence); err != nil {
		return nil, err
	}
	target, err := s.grantee(ctx, name, idNumber)
	if err != nil {
		return nil, err
	}
	if target.ID == p.ID {
		return nil, errs.New(errs.Invalid, "id_number", "领照人不能任命自己为证照管理员", "the holder cannot appoint themselves")
	}
	now := s.now()
	if err := s.grantConflict(ctx, code, target.ID, RoleAdministrator, now); err != nil {
		return nil, err
	}
	if _, err := s.prove(ctx, p, r, proof); err != nil {
		return nil, err
	}
	g := &Grant{ID: newID(), EntityCode: code, PersonID: target.ID, Role: RoleAdministrator, AllItems: true,
		ValidFrom: now, GrantedBy: p.ID, GrantedAt: now}
	ev := event("identity.appoint", p.ID, code, now, map[string]any{"grant": g.ID, "person": actor(target.ID)})
	if err := s.st.AddGrant(ctx, g, MaxAdministrators, ev); err != nil {
		if errs.Is(err, errs.Conflict) {
			if e := s.grantConflict(ctx, code, target.ID, RoleAdministrator, now); e != nil {
				return nil, e
			}
		}
		return nil, fmt.Errorf("identity: add grant: %w", err)
	}
	return g, nil
}

// activeFor refuses new appointments and grants for an entity whose licence is not active.
func activeFor(l *license.Licence) error {
	if zh, en := statusProblem(l.Status); zh != "" {
		return errs.New(errs.Conflict, "entity", zh, en)
	}
	return nil
}

// grantConflict explains why a new grant to personID would clash: the person already has one
// in force or to come, or the entity has MaxAdministrators administrators.
func (s *Service) grantConflict(ctx context.Context, code, personID string, role RoleKind, now time.Time) error {
	h, err := s.st.Holder(ctx, code)
	if err == nil && h.PersonID == personID {
		return errs.New(errs.Invalid, "id_number", "该人员是领照人，无需任命或授权", "this person is the holder and needs no appointment or grant")
	}
	if err != nil && !errs.Is(err, errs.NotFound) {
		return fmt.Errorf("identity: holder of %s: %w", code, err)
	}
	gs, err := s.st.GrantsFor(ctx, code)
	if err != nil {
		return fmt.Errorf("identity: grants of %s: %w", code, err)
	}
	admins := 0
	for _, g := range gs {
		if g.Revoked() {
			continue
		}
		if g.PersonID == personID && (g.ValidUntil.IsZero() || now.Before(g.ValidUntil)) {
			return errs.New(errs.Conflict, "id_number", "该人员已有有效的任命或授权，请先撤销",
				"this person already has an appointment or grant for the entity; revoke it first")
		}
		if g.Role == RoleAdministrator {
			admins++
		}
	}
	if role == RoleAdministrator && admins >= MaxAdministrators {
		return errs.Conflictf("每个市场主体最多任命%d名证照管理员", "an entity may have at most %d licence administrators", MaxAdministrators)
	}
	return nil
}

// AgentGrant describes an agent (办事人) to authorise.
type AgentGrant struct {
	Name     string    // the agent's name
	IDNumber string    // and citizen ID number; the agent must have registered
	AllItems bool      // all business (全部业务), or
	Items    []string  // these service item codes
	From     time.Time // start; zero or past: now
	Until    time.Time // end of the period (exclusive), required, at most MaxGrantPeriod after From
}

// normItems validates service item codes: 1 to MaxItems distinct codes of letters, digits and
// . _ - : (at most MaxItemCode characters each).
func normItems(items []string) ([]string, *errs.Error) {
	var out []string
	for i, it := range items {
		it = strings.TrimSpace(it)
		if it == "" {
			continue
		}
		if utf8.RuneCountInString(it) > MaxItemCode {
			return nil, errs.Invalidf(fmt.Sprintf("items[%d]", i), "事项编码最多%d个字符", "a service item code has at most %d characters", MaxItemCode)
		}
		for _, r := range it {
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune("._-:", r)) {
				return nil, errs.Invalidf(fmt.Sprintf("items[%d]", i), "事项编码 %q 含有不允许的字符 %q", "the service item code %q contains %q, which is not allowed", it, r)
			}
		}
		if !slices.Contains(out, it) {
			out = append(out, it)
		}
	}
	if len(out) > MaxItems {
		return nil, errs.Invalidf("items", "一次授权最多%d个事项", "a grant covers at most %d service items", MaxItems)
	}
	return out, nil
}

// GrantAgent lets the holder or an administrator authorise an agent for all business or for
// chosen service items, for a period, confirmed with the granter's proof.
func (s *Service) GrantAgent(ctx context.Context, granterID, entityCode string, req AgentGrant, proof Proof) (*Grant, error) {
	now := s.now()
	var list errs.List
	items, e := normItems(req.Items)
	if e != nil {
		list = append(list, e)
	}
	switch {
	case req.AllItems && len(items) > 0:
		list = append(list, errs.New(errs.Invalid, "items", "选择了全部业务时不能再列出事项", "list no service items when granting all business"))
	case !req.AllItems && len(items) == 0 && e == nil:
		list = append(list, errs.New(errs.Invalid, "items", "请选择全部业务或至少一个事项", "grant all business or at least one service item"))
	}
	from, until := req.From.UTC().Truncate(time.Microsecond), req.Until.UTC().Truncate(time.Microsecond)
	if from.Before(now) {
		from = now
	}
	switch {
	case until.IsZero():
		list = append(list, errs.New(errs.Invalid, "until", "请填写授权截止时间", "the end of the grant is required"))
	case !until.After(from):
		list = append(list, errs.New(errs.Invalid, "until", "授权截止时间应晚于开始时间", "the grant must end after it starts"))
	case until.Sub(from) > MaxGrantPeriod:
		list = append(list, errs.New(errs.Invalid, "until", "授权期限最长3年", "a grant lasts at most 3 years"))
	}
	if err := list.Err(); err != nil {
		return nil, err
	}
	p, err := s.person(ctx, granterID)
	if err != nil {
		return nil, err
	}
	code := uscc.Normalize(entityCode)
	r, err := s.manager(ctx, p, code)
	if err != nil {
		return nil, err
	}
	if err := activeFor(r.Licence); err != nil {
		return nil, err
	}
	target, err := s.grantee(ctx, req.Name, req.IDNumber)
	if err != nil {
		return nil, err
	}
	if target.ID == p.ID {
		return nil, errs.New(errs.Invalid, "id_number", "不能给自己授权", "you cannot grant yourself")
	}
	if err := s.grantConflict(ctx, code, target.ID, RoleAgent, now); err != nil {
		return nil, err
	}
	if _, err := s.prove(ctx, p, r, proof); err != nil {
		return nil, err
	}
	g := &Grant{ID: newID(), EntityCode: code, PersonID: target.ID, Role: RoleAgent, AllItems: req.AllItems, Items: items,
		ValidFrom: from, ValidUntil: until, GrantedBy: p.ID, GrantedAt: now}
	ev := event("identity.grant", p.ID, code, now, map[string]any{"grant": g.ID, "person": actor(target.ID),
		"all_items": g.AllItems, "items": g.Items, "from": g.ValidFrom, "until": g.ValidUntil, "by_role": r.Kind})
	if err := s.st.AddGrant(ctx, g, MaxAdministrators, ev); err != nil {
		if errs.Is(err, errs.Conflict) {
			if e := s.grantConflict(ctx, code, target.ID, RoleAgent, now); e != nil {
				return nil, e
			}
		}
		return nil, fmt.Errorf("identity: add grant: %w", err)
	}
	return g, nil
}

// Revoke revokes an administrator's appointment (holder only) or an agent's grant (holder or
// administrator), confirmed with the revoker's proof, and at once ends every session and token
// in which that person acts for the entity (SessionRevoker.RevokeFor). Revoking a grant that is
// already revoked runs the session revocation again and succeeds, so a failed call can be
// retried.
func (s *Service) Revoke(ctx context.Context, revokerID, entityCode, grantID string, proof Proof) error {
	p, err := s.person(ctx, revokerID)
	if err != nil {
		return err
	}
	code := uscc.Normalize(entityCode)
	g, err := s.st.Grant(ctx, grantID)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return fmt.Errorf("identity: grant %s: %w", grantID, err)
	}
	if err != nil || g.EntityCode != code {
		return errs.New(errs.NotFound, "grant", "授权不存在", "no such grant")
	}
	r, err := s.manager(ctx, p, code)
	if err != nil {
		return err
	}
	if g.Role == RoleAdministrator && r.Kind != RoleHolder {
		return errs.Forbiddenf("只有领照人可以撤销证照管理员", "only the holder removes licence administrators")
	}
	if g.Revoked() {
		return s.revokeFor(ctx, g.PersonID, code)
	}
	if _, err := s.prove(ctx, p, r, proof); err != nil {
		return err
	}
	now := s.now()
	action := "identity.revoke"
	if g.Role == RoleAdministrator {
		action = "identity.dismiss"
	}
	ev := event(action, p.ID, code, now, map[string]any{"grant": g.ID, "person": actor(g.PersonID), "role": g.Role})
	if err := s.st.RevokeGrant(ctx, g.ID, p.ID, now, ev); err != nil && !errs.Is(err, errs.Conflict) {
		return fmt.Errorf("identity: revoke grant: %w", err)
	}
	return s.revokeFor(ctx, g.PersonID, code)
}

// Member is a person with a role for an entity, as the management page shows them.
type Member struct {
	PersonID string
	Name     string // masked
	Phone    string // masked
	Grant    *Grant // nil for the holder
}

// Members is who may use an entity's licence.
type Members struct {
	Licence *license.Licence
	Holder  *Member  // nil when nobody claimed the licence
	Grants  []Member // every appointment and grant, revoked and ended ones included, newest first
}

// Members lists who may use the entity's licence; only its holder and administrators see it.
func (s *Service) Members(ctx context.Context, personID, entityCode string) (*Members, error) {
	p, err := s.person(ctx, personID)
	if err != nil {
		return nil, err
	}
	code := uscc.Normalize(entityCode)
	r, err := s.manager(ctx, p, code)
	if err != nil {
		return nil, err
	}
	m := &Members{Licence: r.Licence}
	member := func(id string, g *Grant) (Member, error) {
		q, err := s.person(ctx, id)
		if err != nil {
			return Member{}, err
		}
		return Member{PersonID: q.ID, Name: q.MaskedName(), Phone: q.MaskedPhone(), Grant: g}, nil
	}
	h, err := s.st.Holder(ctx, code)
	switch {
	case err == nil:
		hm, err := member(h.PersonID, nil)
		if err != nil {
			return nil, err
		}
		m.Holder = &hm
	case !errs.Is(err, errs.NotFound):
		return nil, fmt.Errorf("identity: holder of %s: %w", code, err)
	}
	gs, err := s.st.GrantsFor(ctx, code)
	if err != nil {
		return nil, fmt.Errorf("identity: grants of %s: %w", code, err)
	}
	sort.SliceStable(gs, func(i, j int) bool { return gs[i].GrantedAt.After(gs[j].GrantedAt) })
	for _, g := range gs {
		gm, err := member(g.PersonID, g)
		if err != nil {
			return nil, err
		}
		m.Grants = append(m.Grants, gm)
	}
	return m, nil
}
