package identity

import (
	"context"
	"crypto/subtle"

	"github.com/elicense/elicense/internal/errs"
)

// RecheckRealName is the lost-phone check (issue 7 item 6): on a new phone, signed in with a
// one-time code sent to the registered phone number, the person types their name and citizen ID
// number again. Both must be the registered ones and pass the real-name verifier; the result is
// VerifyRealName's: a new session whose fresh real-name check allows, for RealNameFreshFor,
// removing the lost phone's device (which ends its sessions at once) and binding the new one.
// A wrong name is errs.Invalid naming "name".
func (s *Service) RecheckRealName(ctx context.Context, sess *Session, name, idNumber string) (*SignIn, error) {
	p, err := s.person(ctx, sess.PersonID)
	if err != nil {
		return nil, err
	}
	name = NormalizeName(name)
	if e := checkName("name", name); e != nil {
		return nil, e
	}
	if subtle.ConstantTimeCompare([]byte(name), []byte(p.Name)) != 1 {
		return nil, errs.New(errs.Invalid, "name", "姓名与注册信息不一致", "this is not the name you registered with")
	}
	return s.VerifyRealName(ctx, sess, idNumber)
}
