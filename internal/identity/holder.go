package identity

import (
	"context"
	"fmt"
	"strings"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/passhash"
	"github.com/elicense/elicense/internal/uscc"
)

// licence returns the current licence of an entity; an unknown code is errs.NotFound with a
// message.
func (s *Service) licence(ctx context.Context, code string) (*license.Licence, error) {
	l, err := s.lic.Current(ctx, code)
	if errs.Is(err, errs.NotFound) {
		return nil, &errs.Error{Kind: errs.NotFound, Field: "entity",
			ZH: fmt.Sprintf("未找到统一社会信用代码为 %s 的营业执照", code),
			EN: fmt.Sprintf("no business licence with the credit code %s", code), Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("identity: licence %s: %w", code, err)
	}
	return l, nil
}

// personLabel is what the kind of entity calls the person on its licence (法定代表人, 经营者, …).
func personLabel(k license.Kind) (zh, en string) {
	l := license.LabelsFor(k).Person
	return l.ZH, strings.ToLower(l.EN)
}

// statusProblem says why a licence in status st cannot be used; "" when it is active.
func statusProblem(st license.Status) (zh, en string) {
	if st == license.Active {
		return "", ""
	}
	z, e := license.StatusName(st)
	return fmt.Sprintf("执照状态为“%s”，不能使用", z), fmt.Sprintf("the licence is %s and cannot be used", strings.ToLower(e))
}

// view builds what the holder's wallet shows of a holding.
func view(h *Holder, l *license.Licence, p *Person) *Holding {
	v := &Holding{Holder: h, Licence: l, Valid: true}
	if zh, en := statusProblem(l.Status); zh != "" {
		v.Valid, v.ReasonZH, v.ReasonEN = false, zh, en
	} else if !names(l, p.Name, p.IDNumberHash) {
		zh, en := personLabel(l.Kind)
		v.Valid = false
		v.ReasonZH = fmt.Sprintf("执照上的%s已变更，原领照人不能再使用", zh)
		v.ReasonEN = fmt.Sprintf("the %s on the licence has changed; the former holder can no longer use it", en)
	}
	return v
}

// Claimable returns the current licences that name the person and that they may claim: not
// cancelled or revoked, and not already held by them.
func (s *Service) Claimable(ctx context.Context, personID string) ([]*license.Licence, error) {
	p, err := s.person(ctx, personID)
	if err != nil {
		return nil, err
	}
	lics, err := s.lic.ByPersonIDHash(ctx, p.IDNumberHash)
	if err != nil {
		return nil, fmt.Errorf("identity: licences by person: %w", err)
	}
	var out []*license.Licence
	for _, l := range lics {
		if l.Status == license.Cancelled || l.Status == license.Revoked || !names(l, p.Name, p.IDNumberHash) {
			continue
		}
		h, err := s.st.Holder(ctx, l.Code)
		if err == nil && h.PersonID == p.ID {
			continue
		}
		if err != nil && !errs.Is(err, errs.NotFound) {
			return nil, fmt.Errorf("identity: holder of %s: %w", l.Code, err)
		}
		out = append(out, l)
	}
	return out, nil
}

// Claim lets the person named on an entity's current licence claim it (领照) after real-name
// verification, setting the licence PIN (6 digits, no default, not trivial, not from their own
// birth date, ID number or phone). Cancelled or revoked licences cannot be claimed. When a
// change registration named a new person, that person's claim replaces the former holder,
// whose sessions for the entity end at once.
func (s *Service) Claim(ctx context.Context, personID, entityCode, pin string) (*Holding, error) {
	p, err := s.person(ctx, personID)
	if err != nil {
		return nil, err
	}
	if p.RealNameVerifiedAt.IsZero() {
		return nil, errs.Forbiddenf("请先完成实名认证再领取执照", "complete real-name verification before claiming a licence")
	}
	code := uscc.Normalize(entityCode)
	l, err := s.licence(ctx, code)
	if err != nil {
		return nil, err
	}
	if l.Status == license.Cancelled || l.Status == license.Revoked {
		zh, en := license.StatusName(l.Status)
		return nil, errs.New(errs.Conflict, "entity", fmt.Sprintf("执照已%s，不能领取", zh), fmt.Sprintf("the licence is %s and cannot be claimed", strings.ToLower(en)))
	}
	pzh, pen := personLabel(l.Kind)
	if len(l.PersonIDHash) == 0 {
		return nil, errs.New(errs.Conflict, "entity", fmt.Sprintf("执照未登记%s的身份号码，无法领取，请联系登记机关", pzh),
			fmt.Sprintf("the licence does not record the ID number of its %s and cannot be claimed; contact the registering authority", pen))
	}
	if !names(l, p.Name, p.IDNumberHash) {
		return nil, errs.New(errs.Forbidden, "entity", fmt.Sprintf("只有执照上的%s本人才能领取执照", pzh), fmt.Sprintf("only the %s named on the licence can claim it", pen))
	}
	if err := s.validateNewPIN(p, pin, "pin"); err != nil {
		return nil, err
	}
	prev := ""
	h, err := s.st.Holder(ctx, code)
	switch {
	case err == nil && h.PersonID == p.ID:
		return nil, errs.Conflictf("您已领取该执照", "you have already claimed this licence")
	case err == nil:
		// The licence names p, so the current holder is a former legal representative (or
		// the like) whom a change registration replaced.
		prev = h.PersonID
	case !errs.Is(err, errs.NotFound):
		return nil, fmt.Errorf("identity: holder of %s: %w", code, err)
	}
	hash, err := passhash.Hash(pin)
	if err != nil {
		return nil, fmt.Errorf("identity: hash pin: %w", err)
	}
	now := s.now()
	nh := &Holder{EntityCode: code, PersonID: p.ID, PINHash: hash, ClaimedAt: now}
	data := map[string]any{"identifier": l.Identifier, "version": l.Version}
	if prev != "" {
		data["replaces"] = actor(prev)
	}
	if err := s.st.SaveHolder(ctx, nh, prev, event("identity.claim", p.ID, code, now, data)); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, &errs.Error{Kind: errs.Conflict, ZH: "该执照刚刚被领取，请刷新后查看", EN: "the licence was just claimed; reload to see it", Err: err}
		}
		return nil, fmt.Errorf("identity: save holder: %w", err)
	}
	if prev != "" {
		if err := s.revokeFor(ctx, prev, code); err != nil {
			return nil, err
		}
	}
	return view(nh, l, p), nil
}

// Holdings returns the licences the person holds, each with its current version and whether
// it is still valid; cancelled, revoked or suspended ones stay listed as no longer valid.
func (s *Service) Holdings(ctx context.Context, personID string) ([]*Holding, error) {
	p, err := s.person(ctx, personID)
	if err != nil {
		return nil, err
	}
	hs, err := s.st.HoldersOf(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("identity: holdings: %w", err)
	}
	out := make([]*Holding, 0, len(hs))
	for _, h := range hs {
		l, err := s.licence(ctx, h.EntityCode)
		if err != nil {
			return nil, err
		}
		out = append(out, view(h, l, p))
	}
	return out, nil
}

// Holding returns one licence the person holds, with its current version and status
// (errs.NotFound when they do not hold it).
func (s *Service) Holding(ctx context.Context, personID, entityCode string) (*Holding, error) {
	p, err := s.person(ctx, personID)
	if err != nil {
		return nil, err
	}
	h, err := s.heldBy(ctx, p.ID, uscc.Normalize(entityCode))
	if err != nil {
		return nil, err
	}
	l, err := s.licence(ctx, h.EntityCode)
	if err != nil {
		return nil, err
	}
	return view(h, l, p), nil
}

// heldBy returns the holder record of the entity if personID holds it.
func (s *Service) heldBy(ctx context.Context, personID, code string) (*Holder, error) {
	h, err := s.st.Holder(ctx, code)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return nil, fmt.Errorf("identity: holder of %s: %w", code, err)
	}
	if err != nil || h.PersonID != personID {
		return nil, &errs.Error{Kind: errs.NotFound, Field: "entity", ZH: "您没有领取该执照", EN: "you do not hold this licence"}
	}
	return h, nil
}

// ChangePIN changes the licence PIN; the current PIN is checked (and counted) first.
func (s *Service) ChangePIN(ctx context.Context, personID, entityCode, currentPIN, newPIN string) error {
	p, err := s.person(ctx, personID)
	if err != nil {
		return err
	}
	h, err := s.heldBy(ctx, p.ID, uscc.Normalize(entityCode))
	if err != nil {
		return err
	}
	if err := s.validateNewPIN(p, newPIN, "new_pin"); err != nil {
		return err
	}
	ref := PINRef{EntityCode: h.EntityCode}
	if err := s.checkPIN(ctx, ref, h.PINHash, currentPIN); err != nil {
		return err
	}
	return s.setLicencePIN(ctx, p, ref, newPIN, "identity.pin_change")
}

// ResetPIN sets a new licence PIN for a holder who forgot it (and lifts a lock), after a fresh
// real-name verification in this session (VerifyRealName within RealNameFreshFor).
func (s *Service) ResetPIN(ctx context.Context, sess *Session, entityCode, newPIN string) error {
	if !s.freshRealName(sess) {
		return errs.Forbiddenf("重置执照密码前请重新进行实名认证", "verify your real name again before resetting the licence PIN")
	}
	p, err := s.person(ctx, sess.PersonID)
	if err != nil {
		return err
	}
	h, err := s.heldBy(ctx, p.ID, uscc.Normalize(entityCode))
	if err != nil {
		return err
	}
	if err := s.validateNewPIN(p, newPIN, "new_pin"); err != nil {
		return err
	}
	return s.setLicencePIN(ctx, p, PINRef{EntityCode: h.EntityCode}, newPIN, "identity.pin_reset")
}

func (s *Service) setLicencePIN(ctx context.Context, p *Person, ref PINRef, pin, action string) error {
	hash, err := passhash.Hash(pin)
	if err != nil {
		return fmt.Errorf("identity: hash pin: %w", err)
	}
	ev := event(action, p.ID, ref.EntityCode, s.now(), map[string]any{"pin": "licence"})
	if err := s.st.SetPIN(ctx, ref, hash, ev); err != nil {
		return fmt.Errorf("identity: set pin: %w", err)
	}
	return nil
}
