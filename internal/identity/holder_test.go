package identity_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/license"
)

func TestClaim(t *testing.T) {
	e := newEnv(t)
	lic := e.addLicence(1, "杭州示例科技有限公司", "张三", idNumber(zhangID))
	noID := e.addLicence(2, "无身份号码有限公司", "张三", "")
	zhang := e.register("张三", idNumber(zhangID))
	li := e.register("李四", idNumber("11010519851203002"))

	claimable, err := e.svc.Claimable(e.ctx, zhang.Person.ID)
	if err != nil || len(claimable) != 1 || claimable[0].Code != lic.Code {
		t.Fatalf("claimable %v, %v", claimable, err)
	}
	// Only the person named on the licence, after real-name verification.
	_, err = e.svc.Claim(e.ctx, li.Person.ID, lic.Code, holderPIN)
	wantKind(t, err, errs.Forbidden) // not verified
	e.st.mu.Lock()
	p := e.st.persons[li.Person.ID]
	p.RealNameVerifiedAt = e.clock.Now()
	e.st.persons[li.Person.ID] = p
	e.st.mu.Unlock()
	_, err = e.svc.Claim(e.ctx, li.Person.ID, lic.Code, holderPIN)
	if x := wantKind(t, err, errs.Forbidden); !strings.Contains(x.ZH, "法定代表人") {
		t.Errorf("message %q names no 法定代表人", x.ZH)
	}
	_, err = e.svc.Claim(e.ctx, zhang.Person.ID, noID.Code, holderPIN)
	wantKind(t, err, errs.Conflict)
	_, err = e.svc.Claim(e.ctx, zhang.Person.ID, creditCode(99), holderPIN)
	wantKind(t, err, errs.NotFound)

	h, err := e.svc.Claim(e.ctx, zhang.Person.ID, strings.ToLower(lic.Code), holderPIN)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Valid || h.Holder.PersonID != zhang.Person.ID || h.Licence.Code != lic.Code || !strings.HasPrefix(h.Holder.PINHash, "$argon2id$") {
		t.Errorf("holding %+v", h)
	}
	if evs := e.st.eventsWith("identity.claim"); len(evs) != 1 || evs[0].Subject != lic.Code || evs[0].Actor != "person:"+zhang.Person.ID {
		t.Errorf("claim events %+v", evs)
	}
	_, err = e.svc.Claim(e.ctx, zhang.Person.ID, lic.Code, holderPIN)
	wantKind(t, err, errs.Conflict)
	if claimable, _ := e.svc.Claimable(e.ctx, zhang.Person.ID); len(claimable) != 0 {
		t.Errorf("still claimable: %v", claimable)
	}

	// Cancelled and revoked licences cannot be claimed.
	for i, st := range []license.Status{license.Cancelled, license.Revoked} {
		l := e.addLicence(10+i, "已注销有限公司", "张三", idNumber(zhangID))
		e.changeLicence(l.Code, func(l *license.Licence) { l.Status = st })
		_, err = e.svc.Claim(e.ctx, zhang.Person.ID, l.Code, holderPIN)
		wantKind(t, err, errs.Conflict)
	}
}

func TestPINRules(t *testing.T) {
	e := newEnv(t)
	// Born 1980-01-01; ID ends …001x; phone 13900000001.
	id := idNumber(zhangID)
	lic := e.addLicence(1, "杭州示例科技有限公司", "张三", id)
	zhang := e.register("张三", id)
	tests := []struct{ pin, why string }{
		{"", "empty"},
		{"12345", "five digits"},
		{"1234567", "seven digits"},
		{"12a456", "a letter"},
		{"000000", "one digit"},
		{"999999", "one digit"},
		{"123456", "ascending"},
		{"345678", "ascending"},
		{"654321", "descending"},
		{"121212", "a repeated pair"},
		{"123123", "a repeated triple"},
		{"800101", "birth date YYMMDD"},
		{"010180", "birth date DDMMYY"},
		{"010180", "birth date MMDDYY"},
		{"198001", "birth year and month"},
		{"330106", "ID number's region"},
		{id[12:], "ID number's last six"},
		{zhang.Person.Phone[5:], "phone's last six"},
	}
	for _, tt := range tests {
		_, err := e.svc.Claim(e.ctx, zhang.Person.ID, lic.Code, tt.pin)
		x := wantKind(t, err, errs.Invalid)
		if x.Field != "pin" {
			t.Errorf("PIN %q (%s): field %q", tt.pin, tt.why, x.Field)
		}
	}
	if _, err := e.svc.Claim(e.ctx, zhang.Person.ID, lic.Code, "583920"); err != nil {
		t.Fatalf("a fine PIN was refused: %v", err)
	}
}

func TestPINLock(t *testing.T) {
	w := newWorld(t)
	zid, code := w.holder.Person.ID, w.lic.Code
	for i := 1; i < identity.MaxPINTries; i++ {
		err := w.svc.ChangePIN(w.ctx, zid, code, "111222", "583920")
		if x := wantKind(t, err, errs.Unauthenticated); !strings.Contains(x.EN, "tries left") {
			t.Errorf("message %q", x.EN)
		}
	}
	err := w.svc.ChangePIN(w.ctx, zid, code, "111222", "583920")
	wantKind(t, err, errs.TooMany)
	// Locked, persisted in the store: the right PIN is refused too, for 30 minutes.
	h, _ := w.st.Holder(w.ctx, code)
	if !h.LockedUntil.Equal(w.clock.Now().Add(identity.PINLock)) {
		t.Errorf("stored lock until %v", h.LockedUntil)
	}
	err = w.svc.ChangePIN(w.ctx, zid, code, holderPIN, "583920")
	if x := wantKind(t, err, errs.TooMany); !strings.Contains(x.ZH, "锁定") {
		t.Errorf("message %q", x.ZH)
	}
	w.clock.Advance(identity.PINLock)
	if err := w.svc.ChangePIN(w.ctx, zid, code, holderPIN, "583920"); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
	h, _ = w.st.Holder(w.ctx, code)
	if h.FailedPIN != 0 || !h.LockedUntil.IsZero() {
		t.Errorf("counters not reset: %+v", h)
	}
	// A right PIN resets the count of wrong ones.
	_ = w.svc.ChangePIN(w.ctx, zid, code, "111222", "583921")
	if err := w.svc.ChangePIN(w.ctx, zid, code, "583920", "583921"); err != nil {
		t.Fatal(err)
	}
	if h, _ = w.st.Holder(w.ctx, code); h.FailedPIN != 0 {
		t.Errorf("failed = %d", h.FailedPIN)
	}
}

func TestPINConcurrentGuesses(t *testing.T) {
	w := newWorld(t)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = w.svc.ChangePIN(w.ctx, w.holder.Person.ID, w.lic.Code, "111222", "583920")
		}()
	}
	wg.Wait()
	// However the guesses interleaved, the PIN is locked now.
	err := w.svc.ChangePIN(w.ctx, w.holder.Person.ID, w.lic.Code, holderPIN, "583920")
	wantKind(t, err, errs.TooMany)
}

func TestResetPIN(t *testing.T) {
	w := newWorld(t)
	err := w.svc.ResetPIN(w.ctx, w.holder.Session, w.lic.Code, "583920")
	wantKind(t, err, errs.Forbidden)
	fresh, err := w.svc.VerifyRealName(w.ctx, w.holder.Session, idNumber(zhangID))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.svc.ResetPIN(w.ctx, fresh.Session, w.lic.Code, "583920"); err != nil {
		t.Fatal(err)
	}
	if len(w.st.eventsWith("identity.pin_reset")) != 1 {
		t.Error("reset not audited")
	}
	w.clock.Advance(identity.RealNameFreshFor)
	err = w.svc.ResetPIN(w.ctx, fresh.Session, w.lic.Code, "583921")
	wantKind(t, err, errs.Forbidden)
}

func TestHoldingFollowsTheLicence(t *testing.T) {
	w := newWorld(t)
	zid, code := w.holder.Person.ID, w.lic.Code

	// A change registration: the wallet shows the new version.
	w.changeLicence(code, func(l *license.Licence) { l.Face.Name = "杭州示例数字科技有限公司" })
	h, err := w.svc.Holding(w.ctx, zid, code)
	if err != nil || !h.Valid || h.Licence.Version != 2 || h.Licence.Face.Name != "杭州示例数字科技有限公司" {
		t.Fatalf("after change: %+v, %v", h, err)
	}
	// Cancellation: still listed, no longer valid.
	w.changeLicence(code, func(l *license.Licence) { l.Status = license.Cancelled })
	hs, err := w.svc.Holdings(w.ctx, zid)
	if err != nil || len(hs) != 1 || hs[0].Valid || !strings.Contains(hs[0].ReasonZH, "注销") {
		t.Fatalf("after cancellation: %+v, %v", hs, err)
	}
	_, err = w.svc.CanAct(w.ctx, zid, code, "", w.clock.Now())
	wantKind(t, err, errs.Forbidden)

	_, err = w.svc.Holding(w.ctx, w.person("李四").Person.ID, code)
	wantKind(t, err, errs.NotFound)
}

func TestNewLegalRepresentativeReclaims(t *testing.T) {
	w := newWorld(t)
	code := w.lic.Code
	admin := w.person("王五")
	if _, err := w.svc.Appoint(w.ctx, w.holder.Person.ID, code, "王五", w.ids[admin.Person.ID], pinProof(holderPIN)); err != nil {
		t.Fatal(err)
	}
	// A change registration names 李四 as the new legal representative.
	liID := idNumber("11010519851203002")
	w.changeLicence(code, func(l *license.Licence) {
		l.Face.Person, l.PersonIDHash = "李四", w.prot.HashPersonID(liID)
	})
	h, err := w.svc.Holding(w.ctx, w.holder.Person.ID, code)
	if err != nil || h.Valid {
		t.Fatalf("former holder's holding %+v, %v", h, err)
	}
	_, err = w.svc.CanAct(w.ctx, w.holder.Person.ID, code, "", w.clock.Now())
	wantKind(t, err, errs.Forbidden)

	li := w.register("李四", liID)
	if _, err := w.svc.Claim(w.ctx, li.Person.ID, code, "583920"); err != nil {
		t.Fatal(err)
	}
	if r, err := w.svc.CanAct(w.ctx, li.Person.ID, code, "", w.clock.Now()); err != nil || r.Kind != identity.RoleHolder {
		t.Fatalf("new holder: %v, %v", r, err)
	}
	if forEntity, _ := w.revoker.calls(); len(forEntity) != 1 || forEntity[0] != w.holder.Person.ID+" "+code {
		t.Errorf("revocations %v", forEntity)
	}
	// The administrator the former holder appointed stays until the new holder removes them.
	if r, err := w.svc.CanAct(w.ctx, admin.Person.ID, code, "", w.clock.Now()); err != nil || r.Kind != identity.RoleAdministrator {
		t.Errorf("administrator: %v, %v", r, err)
	}
}
