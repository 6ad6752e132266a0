package identity_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/citizen"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/uscc"
)

// memStore is an in-memory identity.Store and identity.LicenceFinder. One mutex makes every
// method atomic, as the database transactions of the real store are.
type memStore struct {
	mu         sync.Mutex
	persons    map[string]identity.Person
	codes      map[string]identity.PhoneCode
	sessions   map[string]identity.Session
	devices    map[string]identity.Device
	ceremonies map[string]identity.Ceremony
	holders    map[string]identity.Holder
	grants     map[string]identity.Grant
	qrs        map[string]identity.LoginQR
	licences   map[string]*license.Licence
	events     []audit.Event
}

func newMemStore() *memStore {
	return &memStore{persons: map[string]identity.Person{}, codes: map[string]identity.PhoneCode{},
		sessions: map[string]identity.Session{}, devices: map[string]identity.Device{},
		ceremonies: map[string]identity.Ceremony{}, holders: map[string]identity.Holder{},
		grants: map[string]identity.Grant{}, qrs: map[string]identity.LoginQR{}, licences: map[string]*license.Licence{}}
}

func notFound(what string) error { return errs.NotFoundf("不存在", "no such %s", what) }
func conflict(what string) error { return errs.Conflictf("冲突", "conflict: %s", what) }

func (m *memStore) CreatePerson(_ context.Context, p *identity.Person, codeID string, ev audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.codes[codeID]
	if !ok {
		return notFound("code")
	}
	if !c.UsedAt.IsZero() {
		return conflict("code used")
	}
	for _, q := range m.persons {
		if bytes.Equal(q.IDNumberHash, p.IDNumberHash) || q.Phone == p.Phone {
			return conflict("person exists")
		}
	}
	c.UsedAt = p.CreatedAt
	m.codes[codeID] = c
	m.persons[p.ID] = *p
	m.events = append(m.events, ev)
	return nil
}

func (m *memStore) Person(_ context.Context, id string) (*identity.Person, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, ok := m.persons[id]; ok {
		return &p, nil
	}
	return nil, notFound("person")
}

func (m *memStore) PersonByIDHash(_ context.Context, hash []byte) (*identity.Person, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.persons {
		if bytes.Equal(p.IDNumberHash, hash) {
			return &p, nil
		}
	}
	return nil, notFound("person")
}

func (m *memStore) PersonByPhone(_ context.Context, phone string) (*identity.Person, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.persons {
		if p.Phone == phone {
			return &p, nil
		}
	}
	return nil, notFound("person")
}

func (m *memStore) SetRealName(_ context.Context, id string, at time.Time, ev audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.persons[id]
	if !ok {
		return notFound("person")
	}
	p.RealNameVerifiedAt = at
	m.persons[id] = p
	m.events = append(m.events, ev)
	return nil
}

func (m *memStore) CreatePhoneCode(_ context.Context, c *identity.PhoneCode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.codes[c.ID] = *c
	return nil
}

func (m *memStore) PhoneCode(_ context.Context, id string) (*identity.PhoneCode, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.codes[id]; ok {
		return &c, nil
	}
	return nil, notFound("code")
}

func (m *memStore) RecentPhoneCodes(_ context.Context, phone string, since time.Time) ([]time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []time.Time
	for _, c := range m.codes {
		if c.Phone == phone && !c.SentAt.Before(since) {
			out = append(out, c.SentAt)
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out, nil
}

func (m *memStore) TryPhoneCode(_ context.Context, id string) (*identity.PhoneCode, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.codes[id]
	if !ok {
		return nil, notFound("code")
	}
	c.Tries++
	m.codes[id] = c
	return &c, nil
}

func (m *memStore) UsePhoneCode(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.codes[id]
	if !ok {
		return notFound("code")
	}
	if !c.UsedAt.IsZero() {
		return conflict("code used")
	}
	c.UsedAt = at
	m.codes[id] = c
	return nil
}

func (m *memStore) CreateWalletSession(_ context.Context, s *identity.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[string(s.IDHash)] = *s
	return nil
}

func (m *memStore) WalletSessionByHash(_ context.Context, hash []byte) (*identity.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sessions[string(hash)]; ok {
		return &s, nil
	}
	return nil, notFound("session")
}

func (m *memStore) DeleteWalletSession(_ context.Context, hash []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, string(hash))
	return nil
}

func (m *memStore) AddDevice(_ context.Context, d *identity.Device, ev audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.devices {
		if bytes.Equal(x.CredentialID, d.CredentialID) {
			return conflict("credential")
		}
	}
	m.devices[d.ID] = *d
	m.events = append(m.events, ev)
	return nil
}

func (m *memStore) Devices(_ context.Context, personID string) ([]*identity.Device, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*identity.Device
	for _, d := range m.devices {
		if d.PersonID == personID && d.RemovedAt.IsZero() {
			out = append(out, &d)
		}
	}
	slices.SortFunc(out, func(a, b *identity.Device) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

func (m *memStore) UseDevice(_ context.Context, id string, signCount uint32, record []byte, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.devices[id]
	if !ok {
		return notFound("device")
	}
	d.SignCount, d.Record, d.LastUsedAt = signCount, record, at
	m.devices[id] = d
	return nil
}

func (m *memStore) RemoveDevice(_ context.Context, personID, id string, at time.Time, ev audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.devices[id]
	if !ok || d.PersonID != personID || !d.RemovedAt.IsZero() {
		return notFound("device")
	}
	d.RemovedAt = at
	m.devices[id] = d
	for k, s := range m.sessions {
		if s.DeviceID == id {
			delete(m.sessions, k)
		}
	}
	m.events = append(m.events, ev)
	return nil
}

func (m *memStore) CreateCeremony(_ context.Context, c *identity.Ceremony) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ceremonies[c.ID] = *c
	return nil
}

func (m *memStore) TakeCeremony(_ context.Context, id string) (*identity.Ceremony, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.ceremonies[id]
	if !ok {
		return nil, notFound("ceremony")
	}
	delete(m.ceremonies, id)
	return &c, nil
}

func (m *memStore) SaveHolder(_ context.Context, h *identity.Holder, prev string, ev audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.holders[h.EntityCode]
	if prev == "" && ok || prev != "" && (!ok || cur.PersonID != prev) {
		return conflict("holder")
	}
	m.holders[h.EntityCode] = *h
	m.events = append(m.events, ev)
	return nil
}

func (m *memStore) Holder(_ context.Context, code string) (*identity.Holder, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if h, ok := m.holders[code]; ok {
		return &h, nil
	}
	return nil, notFound("holder")
}

func (m *memStore) HoldersOf(_ context.Context, personID string) ([]*identity.Holder, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*identity.Holder
	for _, h := range m.holders {
		if h.PersonID == personID {
			out = append(out, &h)
		}
	}
	slices.SortFunc(out, func(a, b *identity.Holder) int { return a.ClaimedAt.Compare(b.ClaimedAt) })
	return out, nil
}

// pin reads and writes the PIN fields of ref; the caller holds the lock.
func (m *memStore) pin(ref identity.PINRef, fn func(hash *string, failed *int, until *time.Time)) error {
	if ref.EntityCode != "" {
		h, ok := m.holders[ref.EntityCode]
		if !ok {
			return notFound("holder")
		}
		fn(&h.PINHash, &h.FailedPIN, &h.LockedUntil)
		m.holders[ref.EntityCode] = h
		return nil
	}
	p, ok := m.persons[ref.PersonID]
	if !ok {
		return notFound("person")
	}
	fn(&p.PINHash, &p.FailedPIN, &p.PINLockedUntil)
	m.persons[ref.PersonID] = p
	return nil
}

func (m *memStore) SetPIN(_ context.Context, ref identity.PINRef, hash string, ev audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	err := m.pin(ref, func(h *string, f *int, u *time.Time) { *h, *f, *u = hash, 0, time.Time{} })
	if err == nil {
		m.events = append(m.events, ev)
	}
	return err
}

func (m *memStore) PINAttempt(_ context.Context, ref identity.PINRef, now time.Time) (int, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var failed int
	var until time.Time
	err := m.pin(ref, func(_ *string, f *int, u *time.Time) {
		if u.After(now) {
			failed, until = *f, *u
			return
		}
		*f++
		failed = *f
	})
	return failed, until, err
}

func (m *memStore) SetPINState(_ context.Context, ref identity.PINRef, failed int, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pin(ref, func(_ *string, f *int, u *time.Time) { *f, *u = failed, until })
}

func (m *memStore) AddGrant(_ context.Context, g *identity.Grant, maxAdmins int, ev audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	admins := 0
	for _, x := range m.grants {
		if x.EntityCode != g.EntityCode || x.Revoked() {
			continue
		}
		if x.PersonID == g.PersonID && (x.ValidUntil.IsZero() || x.ValidUntil.After(g.GrantedAt)) {
			return conflict("grant exists")
		}
		if x.Role == identity.RoleAdministrator {
			admins++
		}
	}
	if g.Role == identity.RoleAdministrator && admins >= maxAdmins {
		return conflict("too many administrators")
	}
	m.grants[g.ID] = *g
	m.events = append(m.events, ev)
	return nil
}

func (m *memStore) Grant(_ context.Context, id string) (*identity.Grant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if g, ok := m.grants[id]; ok {
		return &g, nil
	}
	return nil, notFound("grant")
}

func (m *memStore) grantList(keep func(identity.Grant) bool) []*identity.Grant {
	var out []*identity.Grant
	for _, g := range m.grants {
		if keep(g) {
			out = append(out, &g)
		}
	}
	slices.SortFunc(out, func(a, b *identity.Grant) int { return a.GrantedAt.Compare(b.GrantedAt) })
	return out
}

func (m *memStore) GrantsFor(_ context.Context, code string) ([]*identity.Grant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.grantList(func(g identity.Grant) bool { return g.EntityCode == code }), nil
}

func (m *memStore) GrantsOf(_ context.Context, personID string) ([]*identity.Grant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.grantList(func(g identity.Grant) bool { return g.PersonID == personID && !g.Revoked() }), nil
}

func (m *memStore) RevokeGrant(_ context.Context, id, by string, at time.Time, ev audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.grants[id]
	if !ok {
		return notFound("grant")
	}
	if g.Revoked() {
		return conflict("revoked")
	}
	g.RevokedBy, g.RevokedAt = by, at
	m.grants[id] = g
	m.events = append(m.events, ev)
	return nil
}

func (m *memStore) CreateLoginQR(_ context.Context, q *identity.LoginQR) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.qrs[q.ID] = *q
	return nil
}

func (m *memStore) LoginQR(_ context.Context, id string) (*identity.LoginQR, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if q, ok := m.qrs[id]; ok {
		return &q, nil
	}
	return nil, notFound("login qr")
}

func (m *memStore) UpdateLoginQR(_ context.Context, q *identity.LoginQR, from identity.QRStatus, ev *audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.qrs[q.ID]
	if !ok {
		return notFound("login qr")
	}
	if cur.Status != from {
		return conflict("status moved")
	}
	m.qrs[q.ID] = *q
	if ev != nil {
		m.events = append(m.events, *ev)
	}
	return nil
}

// Current and ByPersonIDHash make memStore the LicenceFinder too.
func (m *memStore) Current(_ context.Context, code string) (*license.Licence, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.licences[code]; ok {
		c := *l
		return &c, nil
	}
	return nil, notFound("licence")
}

func (m *memStore) ByPersonIDHash(_ context.Context, hash []byte) ([]*license.Licence, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*license.Licence
	for _, l := range m.licences {
		if bytes.Equal(l.PersonIDHash, hash) {
			c := *l
			out = append(out, &c)
		}
	}
	return out, nil
}

// eventsWith returns the audit events of an action.
func (m *memStore) eventsWith(action string) []audit.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []audit.Event
	for _, e := range m.events {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// protector is the licence service's kind of Protector: SM4 and HMAC-SM3 under test keys.
type protector struct {
	sealer *gm.Sealer
	key    []byte
}

func newProtector(t *testing.T) *protector {
	s, err := gm.NewSealer(bytes.Repeat([]byte{7}, 16))
	if err != nil {
		t.Fatal(err)
	}
	return &protector{sealer: s, key: []byte("test lookup key")}
}

func (p *protector) SealPersonID(id, code string) ([]byte, error) {
	return p.sealer.Seal([]byte(id), []byte("person-id:"+code))
}

func (p *protector) HashPersonID(id string) []byte {
	h := gm.HMACSM3(p.key, []byte(id))
	return h[:]
}

// sender captures the codes it is asked to send.
type sender struct {
	mu    sync.Mutex
	codes map[string]string // phone → last code
	n     int
}

func (s *sender) SendCode(_ context.Context, phone, code string, _ identity.Purpose) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.codes == nil {
		s.codes = map[string]string{}
	}
	s.codes[phone] = code
	s.n++
	return nil
}

func (s *sender) last(phone string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codes[phone]
}

// revoker records the session revocations asked of the OpenID Connect layer.
type revoker struct {
	mu      sync.Mutex
	for_    []string // "person entity"
	devices []string // "person device"
}

func (r *revoker) RevokeFor(_ context.Context, personID, entityCode string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.for_ = append(r.for_, personID+" "+entityCode)
	return nil
}

func (r *revoker) RevokeDevice(_ context.Context, personID, deviceID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.devices = append(r.devices, personID+" "+deviceID)
	return nil
}

func (r *revoker) calls() ([]string, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.for_), slices.Clone(r.devices)
}

// passkeys is a test double of the WebAuthn verifier (package identity/passkey is tested with a
// real software authenticator): a response names a credential and echoes the challenge.
type passkeys struct{}

type fakeState struct {
	Challenge []byte `json:"challenge"`
	Handle    []byte `json:"handle"`
}

// fakeResponse is what the fake authenticator answers.
type fakeResponse struct {
	Challenge    []byte `json:"challenge"`
	CredentialID []byte `json:"credential_id"`
	Handle       []byte `json:"handle"`
	SignCount    uint32 `json:"sign_count"`
}

func (passkeys) begin(user *identity.PasskeyUser) ([]byte, []byte, error) {
	st := fakeState{Challenge: []byte(rand.Text())}
	if user != nil {
		st.Handle = user.Handle
	}
	b, _ := json.Marshal(st)
	o, _ := json.Marshal(map[string]any{"challenge": st.Challenge})
	return o, b, nil
}

func (p passkeys) BeginRegistration(user *identity.PasskeyUser) ([]byte, []byte, error) {
	return p.begin(user)
}

func (passkeys) check(state, response []byte) (fakeState, fakeResponse, error) {
	var st fakeState
	var r fakeResponse
	if json.Unmarshal(state, &st) != nil || json.Unmarshal(response, &r) != nil || !bytes.Equal(st.Challenge, r.Challenge) {
		return st, r, errs.New(errs.Unauthenticated, "", "通行密钥验证失败", "passkey check failed")
	}
	return st, r, nil
}

func (p passkeys) FinishRegistration(user *identity.PasskeyUser, state, response []byte) (*identity.Credential, error) {
	_, r, err := p.check(state, response)
	if err != nil {
		return nil, err
	}
	for _, c := range user.Credentials {
		if bytes.Equal(c.ID, r.CredentialID) {
			return nil, errs.New(errs.Conflict, "", "已绑定", "excluded credential")
		}
	}
	return &identity.Credential{ID: r.CredentialID, PublicKey: []byte("cose key"), SignCount: r.SignCount,
		AAGUID: make([]byte, 16), Record: []byte(`{"record":1}`)}, nil
}

func (p passkeys) BeginLogin(user *identity.PasskeyUser) ([]byte, []byte, error) {
	return p.begin(user)
}

func (passkeys) UserHandle(response []byte) ([]byte, error) {
	var r fakeResponse
	if err := json.Unmarshal(response, &r); err != nil {
		return nil, errs.New(errs.Invalid, "", "格式错误", "bad response")
	}
	return r.Handle, nil
}

func (p passkeys) FinishLogin(user *identity.PasskeyUser, state, response []byte) (*identity.Credential, error) {
	st, r, err := p.check(state, response)
	if err != nil {
		return nil, err
	}
	if st.Handle != nil && !bytes.Equal(st.Handle, user.Handle) {
		return nil, errs.New(errs.Unauthenticated, "", "用户不符", "wrong user")
	}
	for _, c := range user.Credentials {
		if bytes.Equal(c.ID, r.CredentialID) {
			c.CloneWarning = c.SignCount != 0 && r.SignCount <= c.SignCount
			c.SignCount = r.SignCount
			return &c, nil
		}
	}
	return nil, errs.New(errs.Unauthenticated, "", "未知凭证", "unknown credential")
}

// authenticator answers challenges of the fake passkeys for one credential.
type authenticator struct {
	id     []byte
	handle []byte
	count  uint32
}

func (a *authenticator) answer(t *testing.T, ch *identity.PasskeyChallenge) []byte {
	t.Helper()
	var o struct {
		Challenge []byte `json:"challenge"`
	}
	if err := json.Unmarshal(ch.Options, &o); err != nil {
		t.Fatal(err)
	}
	a.count++
	b, _ := json.Marshal(fakeResponse{Challenge: o.Challenge, CredentialID: a.id, Handle: a.handle, SignCount: a.count})
	return b
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is an identity service over the fakes.
type env struct {
	t       *testing.T
	ctx     context.Context
	st      *memStore
	prot    *protector
	sender  *sender
	revoker *revoker
	clock   *clock
	svc     *identity.Service
	nPhone  int
	ids     map[string]string // person ID → citizen ID number
}

func newEnv(t *testing.T) *env {
	e := &env{t: t, ctx: context.Background(), ids: map[string]string{}, st: newMemStore(), prot: newProtector(t), sender: &sender{},
		revoker: &revoker{}, clock: &clock{t: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}}
	e.svc = identity.NewService(identity.Config{Store: e.st, Licences: e.st, Protect: e.prot, Sender: e.sender,
		Revoker: e.revoker, Passkeys: passkeys{}, SubjectKey: []byte("subject key"), Clock: e.clock.Now})
	return e
}

// idNumber completes 17 digits with their GB 11643 check character.
func idNumber(first17 string) string {
	c, err := citizen.CheckChar(first17)
	if err != nil {
		panic(err)
	}
	return first17 + string(c)
}

// creditCode returns a valid unified social credit code for a serial number.
func creditCode(n int) string {
	c, err := uscc.Generate('9', '1', "330106", fmt.Sprintf("MA%06d", n))
	if err != nil {
		panic(err)
	}
	return c
}

// addLicence stores the current licence of a company naming person (with idNum, "" for none).
func (e *env) addLicence(n int, name, person, idNum string) *license.Licence {
	code := creditCode(n)
	l := &license.Licence{Identifier: "1.2.156.3005.2.TEST." + code + ".001", Code: code, CodeType: "001",
		Kind: license.Company, Version: 1, Face: license.Face{Name: name, Person: person}, Status: license.Active,
		Region: "330106", Authority: "杭州市西湖区市场监督管理局", IssuedAt: e.clock.Now()}
	if idNum != "" {
		l.PersonIDHash = e.prot.HashPersonID(idNum)
	}
	e.st.mu.Lock()
	e.st.licences[code] = l
	e.st.mu.Unlock()
	return l
}

// changeLicence applies fn to a copy of the entity's licence as a new current version.
func (e *env) changeLicence(code string, fn func(l *license.Licence)) {
	e.st.mu.Lock()
	defer e.st.mu.Unlock()
	l := *e.st.licences[code]
	l.Version++
	fn(&l)
	e.st.licences[code] = &l
}

// register registers and confirms a person, returning their wallet sign-in.
func (e *env) register(name, idNum string) *identity.SignIn {
	e.t.Helper()
	e.nPhone++
	phone := fmt.Sprintf("139%08d", e.nPhone)
	pend, err := e.svc.Register(e.ctx, name, idNum, phone)
	if err != nil {
		e.t.Fatalf("register %s: %v", name, err)
	}
	in, err := e.svc.ConfirmPhone(e.ctx, pend.CodeID, e.sender.last(phone))
	if err != nil {
		e.t.Fatalf("confirm %s: %v", name, err)
	}
	e.ids[in.Person.ID] = idNum
	return in
}

// Fixtures: a company whose legal representative is 张三, who registers and claims it.
const (
	zhangID   = "33010619800101001" // + check character
	holderPIN = "482916"
)

type world struct {
	*env
	lic    *license.Licence
	holder *identity.SignIn
}

func newWorld(t *testing.T) *world {
	e := newEnv(t)
	w := &world{env: e}
	w.lic = e.addLicence(1, "杭州示例科技有限公司", "张三", idNumber(zhangID))
	w.holder = e.register("张三", idNumber(zhangID))
	if _, err := e.svc.Claim(e.ctx, w.holder.Person.ID, w.lic.Code, holderPIN); err != nil {
		t.Fatalf("claim: %v", err)
	}
	return w
}

// person registers someone who is on no licence.
func (w *world) person(name string) *identity.SignIn {
	w.t.Helper()
	return w.register(name, idNumber(fmt.Sprintf("33010619900501%03d", w.nPhone+1)))
}

// wantKind fails unless err is an *errs.Error of kind k with messages in both languages.
func wantKind(t *testing.T, err error, k errs.Kind) *errs.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", k)
	}
	e := errs.As(err)
	if e == nil || e.Kind != k {
		t.Fatalf("got %v (kind %v), want kind %v", err, errs.KindOf(err), k)
	}
	if e.ZH == "" || e.EN == "" {
		t.Fatalf("error %v lacks a message in both languages", err)
	}
	return e
}

func pinProof(pin string) identity.Proof { return identity.Proof{Method: identity.MethodPIN, PIN: pin} }
