package identity

import (
	"context"
	"crypto/subtle"
	"fmt"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/passhash"
)

// PINLength is the number of digits of a licence or personal PIN.
const PINLength = 6

// pinName names the PIN of ref in both languages.
func pinName(ref PINRef) (zh, en string) {
	if ref.EntityCode != "" {
		return "执照密码", "licence PIN"
	}
	return "个人密码", "personal PIN"
}

func pinFormatError(field string) *errs.Error {
	return errs.Invalidf(field, "密码应为%d位数字", "the PIN must be %d digits", PINLength)
}

func wellFormedPIN(pin string) bool {
	if len(pin) != PINLength {
		return false
	}
	for i := 0; i < len(pin); i++ {
		if pin[i] < '0' || pin[i] > '9' {
			return false
		}
	}
	return true
}

// trivialPIN says why pin (6 digits) is too easy to guess: one digit repeated, a run of
// consecutive digits, or a repeated pair or triple.
func trivialPIN(pin string) (zh, en string, bad bool) {
	same, up, down := true, true, true
	for i := 1; i < len(pin); i++ {
		same = same && pin[i] == pin[0]
		up = up && pin[i] == pin[i-1]+1
		down = down && pin[i] == pin[i-1]-1
	}
	switch {
	case same:
		return "密码不能是同一个数字重复（如000000）", "the PIN cannot be one digit repeated (like 000000)", true
	case up || down:
		return "密码不能是连续数字（如123456、654321）", "the PIN cannot be consecutive digits (like 123456 or 654321)", true
	case pin[:2] == pin[2:4] && pin[2:4] == pin[4:], pin[:3] == pin[3:]:
		return "密码不能是重复的数字组合（如121212、123123）", "the PIN cannot be a repeated group of digits (like 121212 or 123123)", true
	}
	return "", "", false
}

// weakPINCandidates returns the 6-digit strings derivable from a citizen ID number that a PIN
// must not be: birth date forms (GB 11643 positions 7-14) and the leading and trailing six
// digits.
func weakPINCandidates(id string) []string {
	if len(id) != 18 {
		return nil
	}
	yyyy, yy, mm, dd := id[6:10], id[8:10], id[10:12], id[12:14]
	c := []string{yy + mm + dd, dd + mm + yy, mm + dd + yy, yyyy + mm, mm + yyyy, id[:6]}
	if wellFormedPIN(id[12:]) {
		c = append(c, id[12:])
	}
	return c
}

func (s *Service) weakPINHash(candidate string) []byte {
	return s.protect.HashPersonID("weak-pin:" + candidate)
}

// validateNewPIN checks a PIN a person chooses: 6 digits, not trivial, not derived from the
// person's birth date, ID number or phone.
func (s *Service) validateNewPIN(p *Person, pin, field string) error {
	if !wellFormedPIN(pin) {
		return pinFormatError(field)
	}
	if zh, en, bad := trivialPIN(pin); bad {
		return errs.New(errs.Invalid, field, zh, en)
	}
	personal := len(p.Phone) == 11 && pin == p.Phone[5:]
	if !personal {
		h := s.weakPINHash(pin)
		for _, w := range p.WeakPINs {
			if subtle.ConstantTimeCompare(h, w) == 1 {
				personal = true
			}
		}
	}
	if personal {
		return errs.New(errs.Invalid, field, "密码不能使用出生日期、身份号码或手机号码中的数字",
			"the PIN cannot use digits of your birth date, ID number or phone number")
	}
	return nil
}

func errPINLocked(ref PINRef, until time.Time) error {
	zh, en := pinName(ref)
	return &errs.Error{Kind: errs.TooMany, Field: "pin",
		ZH: fmt.Sprintf("%s连续输错%d次，已锁定至 %s", zh, MaxPINTries, fmtTime(until)),
		EN: fmt.Sprintf("the %s is locked after %d wrong tries until %s", en, MaxPINTries, fmtTime(until))}
}

// checkPIN verifies pin against hash, the PIN of ref. The attempt is counted in the store
// before the check, so concurrent guesses cannot exceed MaxPINTries before the lock; the
// MaxPINTries-th consecutive wrong PIN locks it for PINLock, and a right one resets the count.
func (s *Service) checkPIN(ctx context.Context, ref PINRef, hash, pin string) error {
	zh, en := pinName(ref)
	if !wellFormedPIN(pin) {
		return pinFormatError("pin")
	}
	now := s.now()
	failed, until, err := s.st.PINAttempt(ctx, ref, now)
	if err != nil {
		return fmt.Errorf("identity: pin attempt: %w", err)
	}
	if until.After(now) {
		return errPINLocked(ref, until)
	}
	if failed > MaxPINTries {
		// Concurrent attempts went past the limit: lock without checking.
		until = now.Add(PINLock)
		if err := s.st.SetPINState(ctx, ref, 0, until); err != nil {
			return fmt.Errorf("identity: lock pin: %w", err)
		}
		return errPINLocked(ref, until)
	}
	if hash != "" && passhash.Verify(hash, pin) {
		if err := s.st.SetPINState(ctx, ref, 0, time.Time{}); err != nil {
			return fmt.Errorf("identity: reset pin failures: %w", err)
		}
		return nil
	}
	if failed >= MaxPINTries {
		until = now.Add(PINLock)
		if err := s.st.SetPINState(ctx, ref, 0, until); err != nil {
			return fmt.Errorf("identity: lock pin: %w", err)
		}
		return errPINLocked(ref, until)
	}
	return &errs.Error{Kind: errs.Unauthenticated, Field: "pin",
		ZH: fmt.Sprintf("%s错误，还可尝试%d次", zh, MaxPINTries-failed),
		EN: fmt.Sprintf("wrong %s; %d tries left", en, MaxPINTries-failed)}
}

// SetPersonalPIN sets or changes the personal PIN (个人密码) with which an administrator or an
// agent confirms (a holder confirms with the licence PIN). The first PIN needs no current one;
// changing it needs the current PIN, or a session opened with a passkey of the person's device.
func (s *Service) SetPersonalPIN(ctx context.Context, sess *Session, current, newPIN string) error {
	p, err := s.person(ctx, sess.PersonID)
	if err != nil {
		return err
	}
	if err := s.validateNewPIN(p, newPIN, "new_pin"); err != nil {
		return err
	}
	ref := PINRef{PersonID: p.ID}
	if p.PINHash != "" && sess.DeviceID == "" {
		if current == "" {
			return errs.New(errs.Invalid, "pin", "请输入当前的个人密码", "enter your current personal PIN")
		}
		if err := s.checkPIN(ctx, ref, p.PINHash, current); err != nil {
			return err
		}
	}
	hash, err := passhash.Hash(newPIN)
	if err != nil {
		return fmt.Errorf("identity: hash pin: %w", err)
	}
	action := "identity.pin_set"
	if p.PINHash != "" {
		action = "identity.pin_change"
	}
	ev := event(action, p.ID, p.ID, s.now(), map[string]any{"pin": "personal"})
	if err := s.st.SetPIN(ctx, ref, hash, ev); err != nil {
		return fmt.Errorf("identity: set personal pin: %w", err)
	}
	return nil
}
