package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/citizen"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
)

// Length limits of a person's name, in characters.
const (
	MinName = 2
	MaxName = 30
)

// NormalizeName trims a name and writes the middle dot of transliterated names (张·三) in one
// form, U+00B7, whichever dot-like character was typed.
func NormalizeName(s string) string {
	s = strings.TrimSpace(s)
	return strings.Map(func(r rune) rune {
		switch r {
		case '•', '・', '‧', '∙', '⋅', '･', '.', '．':
			return '·'
		}
		return r
	}, s)
}

// checkName validates a normalised name: 2 to 30 letters, with middle dots between them.
func checkName(field, name string) *errs.Error {
	if !utf8.ValidString(name) {
		return errs.Invalidf(field, "姓名不是有效的文本", "the name is not valid text")
	}
	n := utf8.RuneCountInString(name)
	if n < MinName || n > MaxName {
		return errs.Invalidf(field, "姓名应为%d至%d个字，实际%d个", "the name must have %d to %d characters, got %d", MinName, MaxName, n)
	}
	i := 0
	for _, r := range name {
		i++
		if unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) || r == '·' && i != 1 && i != n {
			continue
		}
		return errs.Invalidf(field, "姓名第%d个字符 %q 不允许（只能是文字和间隔号·）",
			"character %d of the name (%q) is not allowed: use letters and the middle dot ·", i, r)
	}
	return nil
}

// NormalizePhone removes spaces and hyphens and a +86 / 0086 country prefix.
func NormalizePhone(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\u00a0' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	for _, prefix := range []string{"+86", "0086"} {
		if rest, ok := strings.CutPrefix(s, prefix); ok && len(rest) == 11 {
			return rest
		}
	}
	return s
}

// checkPhone validates a normalised mainland mobile number: 11 digits, 1[3-9]xxxxxxxxx.
func checkPhone(field, phone string) *errs.Error {
	if len(phone) != 11 {
		return errs.Invalidf(field, "手机号码应为11位数字，实际%d位", "a mobile number has 11 digits, got %d", utf8.RuneCountInString(phone))
	}
	for i := 0; i < len(phone); i++ {
		if phone[i] < '0' || phone[i] > '9' {
			return errs.Invalidf(field, "手机号码第%d位应为数字", "position %d of the mobile number must be a digit", i+1)
		}
	}
	if phone[0] != '1' || phone[1] < '3' {
		return errs.Invalidf(field, "手机号码应以13至19开头", "a mainland mobile number starts with 13 to 19")
	}
	return nil
}

// checkIDNumber validates a normalised citizen ID number (GB 11643), naming the position at
// fault.
func checkIDNumber(field, id string) *errs.Error {
	err := citizen.Check(id)
	if err == nil {
		return nil
	}
	var p *citizen.Problem
	if errors.As(err, &p) {
		return &errs.Error{Kind: errs.Invalid, Field: field, ZH: "身份号码错误：" + p.ZH, EN: "ID number: " + p.EN, Err: err}
	}
	return &errs.Error{Kind: errs.Invalid, Field: field, ZH: "身份号码错误", EN: "invalid ID number", Err: err}
}

// MaskPhone shows the first 3 and last 4 digits of a phone number: 138****0000.
func MaskPhone(phone string) string {
	if len(phone) != 11 {
		return strings.Repeat("*", len(phone))
	}
	return phone[:3] + "****" + phone[7:]
}

// MaskedName returns the name with all but the family name masked (张**).
func (p *Person) MaskedName() string { return citizen.MaskName(p.Name) }

// MaskedPhone returns the phone number masked (138****0000).
func (p *Person) MaskedPhone() string { return MaskPhone(p.Phone) }

// Pending is a one-time code on its way to a phone.
type Pending struct {
	CodeID      string    // send it back with the code
	Phone       string    // masked, for "a code was sent to 138****0000"
	ExpiresAt   time.Time // the code is valid until then
	ResendAfter time.Time // ResendCode works from then on
}

// SignIn is a new wallet session.
type SignIn struct {
	Person  *Person
	Cookie  string // the session cookie value, shown once; only its hash is stored
	Session *Session
}

// Register starts the registration of a natural person: it validates the name, the citizen ID
// number (GB 11643, naming the position at fault) and the phone, all at once (errs.List),
// checks the real name (a person named on a licence is verified at once), and sends a one-time
// code to the phone. ConfirmPhone with that code creates the person. An ID number or phone that
// is already registered is errs.Conflict.
func (s *Service) Register(ctx context.Context, name, idNumber, phone string) (*Pending, error) {
	var list errs.List
	name = NormalizeName(name)
	if e := checkName("name", name); e != nil {
		list = append(list, e)
	}
	idNumber = citizen.Normalize(idNumber)
	if e := checkIDNumber("id_number", idNumber); e != nil {
		list = append(list, e)
	}
	phone = NormalizePhone(phone)
	if e := checkPhone("phone", phone); e != nil {
		list = append(list, e)
	}
	if err := list.Err(); err != nil {
		return nil, err
	}
	hash := s.protect.HashPersonID(idNumber)
	if err := s.registered(ctx, hash, phone); err != nil {
		return nil, err
	}
	p := &Person{ID: newID(), Name: name, IDNumberHash: hash, Phone: phone}
	var err error
	if p.IDNumberSealed, err = s.protect.SealPersonID(idNumber, p.ID); err != nil {
		return nil, fmt.Errorf("identity: seal id number: %w", err)
	}
	for _, c := range weakPINCandidates(idNumber) {
		p.WeakPINs = append(p.WeakPINs, s.weakPINHash(c))
	}
	m, err := s.realName.Verify(ctx, name, idNumber)
	if err != nil {
		return nil, fmt.Errorf("identity: real-name check: %w", err)
	}
	if m.Verified {
		p.RealNameVerifiedAt = s.now()
	}
	return s.sendCode(ctx, PurposeRegister, phone, p)
}

// registered fails with errs.Conflict when a person with this ID-number hash or phone exists.
func (s *Service) registered(ctx context.Context, hash []byte, phone string) error {
	_, err := s.st.PersonByIDHash(ctx, hash)
	if err == nil {
		return errs.New(errs.Conflict, "id_number", "该身份号码已注册，请用注册的手机号登录",
			"this ID number is already registered; sign in with its phone number")
	}
	if !errs.Is(err, errs.NotFound) {
		return fmt.Errorf("identity: person by id number: %w", err)
	}
	_, err = s.st.PersonByPhone(ctx, phone)
	if err == nil {
		return errs.New(errs.Conflict, "phone", "该手机号已被其他用户注册", "this phone number is registered to someone else")
	}
	if !errs.Is(err, errs.NotFound) {
		return fmt.Errorf("identity: person by phone: %w", err)
	}
	return nil
}

// StartLogin sends a one-time code to a registered phone to sign in to the wallet.
func (s *Service) StartLogin(ctx context.Context, phone string) (*Pending, error) {
	phone = NormalizePhone(phone)
	if e := checkPhone("phone", phone); e != nil {
		return nil, e
	}
	if _, err := s.st.PersonByPhone(ctx, phone); err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, errs.New(errs.NotFound, "phone", "该手机号尚未注册", "this phone number is not registered")
		}
		return nil, fmt.Errorf("identity: person by phone: %w", err)
	}
	return s.sendCode(ctx, PurposeLogin, phone, nil)
}

// ResendCode replaces a one-time code by a new one sent to the same phone, for the same
// purpose; the old code stops working. The resend limits apply (errs.TooMany).
func (s *Service) ResendCode(ctx context.Context, codeID string) (*Pending, error) {
	c, err := s.st.PhoneCode(ctx, codeID)
	if errs.Is(err, errs.NotFound) {
		return nil, errCodeGone()
	}
	if err != nil {
		return nil, fmt.Errorf("identity: code: %w", err)
	}
	if !c.UsedAt.IsZero() {
		return nil, errCodeGone()
	}
	pend, err := s.sendCode(ctx, c.Purpose, c.Phone, c.Person)
	if err != nil {
		return nil, err
	}
	if err := s.st.UsePhoneCode(ctx, c.ID, s.now()); err != nil && !errs.Is(err, errs.Conflict) {
		return nil, fmt.Errorf("identity: retire code: %w", err)
	}
	return pend, nil
}

func errCodeGone() error {
	return errs.New(errs.Invalid, "code", "验证码已失效，请重新获取", "the code is no longer valid; ask for a new one")
}

// sendCode rate-limits, stores and sends a new one-time code.
func (s *Service) sendCode(ctx context.Context, purpose Purpose, phone string, p *Person) (*Pending, error) {
	now := s.now()
	sent, err := s.st.RecentPhoneCodes(ctx, phone, now.Add(-time.Hour))
	if err != nil {
		return nil, fmt.Errorf("identity: recent codes: %w", err)
	}
	if n := len(sent); n > 0 && now.Before(sent[n-1].Add(ResendInterval)) {
		wait := int(sent[n-1].Add(ResendInterval).Sub(now).Seconds()) + 1
		return nil, &errs.Error{Kind: errs.TooMany, Field: "phone",
			ZH: fmt.Sprintf("验证码已发送，请%d秒后再获取", wait), EN: fmt.Sprintf("a code was just sent; ask again in %d seconds", wait)}
	}
	if len(sent) >= MaxCodesPerHour {
		at := sent[len(sent)-MaxCodesPerHour].Add(time.Hour)
		return nil, &errs.Error{Kind: errs.TooMany, Field: "phone",
			ZH: fmt.Sprintf("该手机号一小时内获取验证码过多，请于 %s 后再试", fmtTime(at)),
			EN: fmt.Sprintf("too many codes for this phone in an hour; try again after %s", fmtTime(at))}
	}
	code, err := randomDigits(6)
	if err != nil {
		return nil, fmt.Errorf("identity: code: %w", err)
	}
	c := &PhoneCode{ID: newID(), Purpose: purpose, Phone: phone, SentAt: now, ExpiresAt: now.Add(CodeLifetime), Person: p}
	c.Hash = codeHash(c.ID, code)
	if err := s.st.CreatePhoneCode(ctx, c); err != nil {
		return nil, fmt.Errorf("identity: store code: %w", err)
	}
	if err := s.sender.SendCode(ctx, phone, code, purpose); err != nil {
		return nil, fmt.Errorf("identity: send code: %w", err)
	}
	return &Pending{CodeID: c.ID, Phone: MaskPhone(phone), ExpiresAt: c.ExpiresAt, ResendAfter: now.Add(ResendInterval)}, nil
}

// randomDigits returns n uniformly random decimal digits.
func randomDigits(n int) (string, error) {
	max := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
	v, err := rand.Int(rand.Reader, max)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%0*d", n, v), nil
}

func codeHash(id, code string) []byte {
	h := gm.SM3([]byte(id + ":" + code))
	return h[:]
}

// ConfirmPhone checks a one-time code. For a registration it creates the person; for a login
// it finds them; either way it starts a wallet session. A code is valid for CodeLifetime and
// burns after MaxCodeTries wrong entries (errs.TooMany); each attempt is counted in the store
// before the check.
func (s *Service) ConfirmPhone(ctx context.Context, codeID, code string) (*SignIn, error) {
	code = strings.TrimSpace(code)
	if !wellFormedPIN(code) { // six digits, like a PIN
		return nil, errs.Invalidf("code", "验证码应为6位数字", "the code has 6 digits")
	}
	c, err := s.st.TryPhoneCode(ctx, codeID)
	if errs.Is(err, errs.NotFound) {
		return nil, errCodeGone()
	}
	if err != nil {
		return nil, fmt.Errorf("identity: try code: %w", err)
	}
	now := s.now()
	switch {
	case !c.UsedAt.IsZero():
		return nil, errCodeGone()
	case !now.Before(c.ExpiresAt):
		return nil, errs.New(errs.Invalid, "code", "验证码已过期，请重新获取", "the code has expired; ask for a new one")
	case c.Tries > MaxCodeTries:
		return nil, errCodeBurnt()
	}
	if subtle.ConstantTimeCompare(codeHash(c.ID, code), c.Hash) != 1 {
		if c.Tries >= MaxCodeTries {
			return nil, errCodeBurnt()
		}
		return nil, &errs.Error{Kind: errs.Unauthenticated, Field: "code",
			ZH: fmt.Sprintf("验证码错误，还可尝试%d次", MaxCodeTries-c.Tries),
			EN: fmt.Sprintf("wrong code; %d tries left", MaxCodeTries-c.Tries)}
	}
	var p *Person
	switch c.Purpose {
	case PurposeRegister:
		if c.Person == nil {
			return nil, fmt.Errorf("identity: registration code %s carries no person", c.ID)
		}
		p = c.Person
		p.CreatedAt, p.PhoneVerifiedAt = now, now
		ev := event("identity.register", p.ID, p.ID, now, map[string]any{"real_name": !p.RealNameVerifiedAt.IsZero()})
		if err := s.st.CreatePerson(ctx, p, c.ID, ev); err != nil {
			if errs.Is(err, errs.Conflict) {
				if e := s.registered(ctx, p.IDNumberHash, p.Phone); e != nil {
					return nil, e
				}
				return nil, errCodeGone()
			}
			return nil, fmt.Errorf("identity: create person: %w", err)
		}
	case PurposeLogin:
		if err := s.st.UsePhoneCode(ctx, c.ID, now); err != nil {
			if errs.Is(err, errs.Conflict) {
				return nil, errCodeGone()
			}
			return nil, fmt.Errorf("identity: use code: %w", err)
		}
		if p, err = s.st.PersonByPhone(ctx, c.Phone); err != nil {
			return nil, fmt.Errorf("identity: person by phone: %w", err)
		}
	default:
		return nil, fmt.Errorf("identity: code %s has unknown purpose %q", c.ID, c.Purpose)
	}
	return s.newSession(ctx, p, "", time.Time{})
}

func errCodeBurnt() error {
	return &errs.Error{Kind: errs.TooMany, Field: "code",
		ZH: fmt.Sprintf("验证码已输错%d次，已失效，请重新获取", MaxCodeTries),
		EN: fmt.Sprintf("the code was entered wrongly %d times and no longer works; ask for a new one", MaxCodeTries)}
}

var b64 = base64.RawURLEncoding

// newSecret returns 32 random bytes, base64url-encoded.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return b64.EncodeToString(b[:])
}

func secretHash(v string) []byte {
	h := gm.SM3([]byte(v))
	return h[:]
}

func (s *Service) newSession(ctx context.Context, p *Person, deviceID string, realNameAt time.Time) (*SignIn, error) {
	value := newSecret()
	now := s.now()
	sess := &Session{IDHash: secretHash(value), PersonID: p.ID, DeviceID: deviceID, CSRF: newSecret(),
		RealNameAt: realNameAt, CreatedAt: now, ExpiresAt: now.Add(SessionLifetime)}
	if err := s.st.CreateWalletSession(ctx, sess); err != nil {
		return nil, fmt.Errorf("identity: new session: %w", err)
	}
	return &SignIn{Person: p, Cookie: value, Session: sess}, nil
}

func errSession() error {
	return errs.New(errs.Unauthenticated, "", "登录已失效，请重新登录", "your session has ended; please sign in again")
}

// Session returns the person and session of a wallet cookie value. A malformed, unknown or
// expired value — or one whose device was removed — is errs.Unauthenticated.
func (s *Service) Session(ctx context.Context, cookieValue string) (*Person, *Session, error) {
	if len(cookieValue) != b64.EncodedLen(32) {
		return nil, nil, errSession()
	}
	sess, err := s.st.WalletSessionByHash(ctx, secretHash(cookieValue))
	if errs.Is(err, errs.NotFound) {
		return nil, nil, errSession()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("identity: session: %w", err)
	}
	if !s.now().Before(sess.ExpiresAt) {
		return nil, nil, errSession()
	}
	p, err := s.st.Person(ctx, sess.PersonID)
	if errs.Is(err, errs.NotFound) {
		return nil, nil, errSession()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("identity: session person: %w", err)
	}
	return p, sess, nil
}

// ValidCSRF reports whether token is the CSRF token of sess, in constant time.
func ValidCSRF(sess *Session, token string) bool {
	return sess != nil && sess.CSRF != "" && subtle.ConstantTimeCompare([]byte(sess.CSRF), []byte(token)) == 1
}

// EndSession ends the wallet session of a cookie value (sign out); an unknown one is fine.
func (s *Service) EndSession(ctx context.Context, cookieValue string) error {
	if err := s.st.DeleteWalletSession(ctx, secretHash(cookieValue)); err != nil && !errs.Is(err, errs.NotFound) {
		return fmt.Errorf("identity: end session: %w", err)
	}
	return nil
}

// Person returns the person with this ID (errs.NotFound).
func (s *Service) Person(ctx context.Context, id string) (*Person, error) { return s.person(ctx, id) }

// VerifyRealName checks the session's person again with the RealNameVerifier: the person
// re-enters their ID number, which must be the registered one. On success it records the
// verification and returns a new session (the old cookie stops working) whose RealNameAt is
// now, which for RealNameFreshFor allows managing devices and resetting a licence PIN. A
// mismatch is errs.Forbidden.
func (s *Service) VerifyRealName(ctx context.Context, sess *Session, idNumber string) (*SignIn, error) {
	p, err := s.person(ctx, sess.PersonID)
	if err != nil {
		return nil, err
	}
	idNumber = citizen.Normalize(idNumber)
	if e := checkIDNumber("id_number", idNumber); e != nil {
		return nil, e
	}
	if subtle.ConstantTimeCompare(s.protect.HashPersonID(idNumber), p.IDNumberHash) != 1 {
		return nil, errs.New(errs.Invalid, "id_number", "身份号码与注册信息不一致", "this is not the ID number you registered with")
	}
	m, err := s.realName.Verify(ctx, p.Name, idNumber)
	if err != nil {
		return nil, fmt.Errorf("identity: real-name check: %w", err)
	}
	if !m.Verified {
		return nil, errs.Forbiddenf("实名认证未通过：未能核验您的姓名和身份号码", "real-name verification failed: your name and ID number could not be confirmed")
	}
	now := s.now()
	ev := event("identity.real_name", p.ID, p.ID, now, map[string]any{"source": m.Source})
	if err := s.st.SetRealName(ctx, p.ID, now, ev); err != nil {
		return nil, fmt.Errorf("identity: set real name: %w", err)
	}
	p.RealNameVerifiedAt = now
	in, err := s.newSession(ctx, p, sess.DeviceID, now)
	if err != nil {
		return nil, err
	}
	if err := s.st.DeleteWalletSession(ctx, sess.IDHash); err != nil && !errs.Is(err, errs.NotFound) {
		return nil, fmt.Errorf("identity: end old session: %w", err)
	}
	return in, nil
}

// freshRealName reports whether the session passed real-name verification recently.
func (s *Service) freshRealName(sess *Session) bool {
	return !sess.RealNameAt.IsZero() && s.now().Before(sess.RealNameAt.Add(RealNameFreshFor))
}
