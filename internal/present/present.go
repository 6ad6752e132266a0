// Package present is showing the licence from the wallet (出示/亮照) and what the wallet shows of
// the licence's uses (issue 7 items 1 and 5, STANDARDS §6).
//
// Showing: a person who may act for an entity (identity.Service.CanAct: the holder, an
// administrator, or an agent with a grant in force) creates a presentation token — a
// qrtoken.TypePresentation token signed by the platform key, valid five minutes — that carries
// the credit code and the licence identifier, the face items the person ticked, and the
// presenter: their masked name, their role and, for an agent, the grant's service items and
// period. The QR code holds {publicURL}/v/{token}, so a counter officer's phone camera opens the
// public verification page, which checks the signature and the expiry, compares every presented
// item with the register, shows the licence's live status, and checks that the presenter may
// still act for the entity (a revoked grant or a removed administrator shows as no longer
// authorised). Each token is recorded in the audit log (wallet.present) with a random
// presentation ID that the token carries; the verification finds the presenter through that
// record, so the token names no person, and records each scan (wallet.present.verify).
//
// Uses: every audit event whose subject is the entity's credit code, classified by kind (logins,
// sharing calls, downloads, verifications, signatures, presentations, management, registry),
// filtered and paged; the holder and administrators see all, an agent only their own.
//
// The package holds the rules only: no storage, no HTTP. docs/wallet.md describes it.
package present

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/qrtoken"
	"github.com/elicense/elicense/internal/uscc"
)

// Lifetime is how long a presentation token is valid (STANDARDS §6: about five minutes).
const Lifetime = 5 * time.Minute

// RefreshBefore is how long before expiry the wallet fetches the next token, so that the code
// on the screen is never an expired one.
const RefreshBefore = 30 * time.Second

// Audit actions.
const (
	ActionPresent = "wallet.present"        // a presentation token was created
	ActionVerify  = "wallet.present.verify" // a presentation token was scanned and verified
)

// Identity is what the service needs of identity.Service.
type Identity interface {
	CanAct(ctx context.Context, personID, entityCode, serviceItem string, at time.Time) (*identity.Role, error)
	Person(ctx context.Context, id string) (*identity.Person, error)
	Roles(ctx context.Context, personID string) ([]*identity.Role, error)
}

// Licences looks up licences (license.Service).
type Licences interface {
	Get(ctx context.Context, codeOrIdentifier string) (*license.Licence, error)
}

// Keys gives the platform signing key (keys.Service).
type Keys interface {
	PlatformSigner(ctx context.Context) (gm.Signer, []byte, error)
}

// Log is the audit log (audit.Log).
type Log interface {
	Append(ctx context.Context, events ...audit.Event) error
	Find(ctx context.Context, f audit.Filter) ([]audit.Event, error)
}

// Config configures a Service; every field but Clock is required.
type Config struct {
	Identity  Identity
	Licences  Licences
	Keys      Keys
	Audit     Log
	PublicURL string           // where the QR code's URL points: {PublicURL}/v/{token}
	Clock     func() time.Time // defaults to time.Now
	// ClientName names a department's system (an OpenID Connect client) in the list of uses;
	// nil, or an error, shows its client ID.
	ClientName func(ctx context.Context, clientID string) (string, error)
}

// Service creates and verifies presentation tokens and lists uses. It is safe for concurrent
// use and keeps no state of its own: several processes may share one database.
type Service struct {
	c Config
}

// NewService returns a presentation service.
func NewService(c Config) *Service {
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return &Service{c: c}
}

func (s *Service) now() time.Time { return s.c.Clock().UTC().Truncate(time.Microsecond) }

// Field is a face item the holder may choose to show.
type Field struct {
	Key    string // form and API name
	ZH, EN string // label
}

// Fields are the items a presentation may carry, in the order the wallet offers them. The
// credit code and the licence identifier are always carried.
var Fields = []Field{
	{"name", "名称", "Name"},
	{"kind", "类型", "Type"},
	{"representative", "法定代表人（负责人、经营者）", "Legal representative (person in charge)"},
	{"address", "住所（经营场所）", "Address (place of business)"},
	{"scope", "经营范围", "Business scope"},
	{"dates", "成立日期与营业期限", "Date of establishment and term"},
	{"status", "登记状态", "Registration status"},
}

// DefaultFields are ticked when the holder has not chosen.
var DefaultFields = []string{"name", "kind", "representative", "status"}

// item is one presented value as the token carries it: a field may carry several (dates).
type item struct {
	field string // Fields key
	tk    string // key in the token
	zh    string
	en    string
	value func(l *license.Licence) string
}

// items are the values of each field, with their one-letter keys in the token (a token is a
// QR code: every byte counts).
var items = []item{
	{"name", "n", "名称", "Name", func(l *license.Licence) string { return l.Face.Name }},
	{"kind", "k", "类型", "Type", func(l *license.Licence) string { return l.Face.Type }},
	{"representative", "r", "法定代表人（负责人、经营者）", "Legal representative (person in charge)", func(l *license.Licence) string { return l.Face.Person }},
	{"address", "a", "住所（经营场所）", "Address (place of business)", func(l *license.Licence) string { return l.Face.Address }},
	{"scope", "s", "经营范围", "Business scope", func(l *license.Licence) string { return l.Face.Scope }},
	{"dates", "d", "成立日期", "Date of establishment", func(l *license.Licence) string { return l.Face.EstablishedOn }},
	{"dates", "f", "营业期限自", "Term from", func(l *license.Licence) string { return l.Face.TermFrom }},
	{"dates", "u", "营业期限至", "Term to", func(l *license.Licence) string { return l.Face.TermTo }},
	{"status", "t", "登记状态", "Registration status", func(l *license.Licence) string { return string(l.Status) }},
}

// Keys of the presenter in the token. They start with "@", which no face item key does.
const (
	keyPID   = "@p" // presentation ID: finds the wallet.present record
	keyName  = "@n" // masked name
	keyAll   = "@a" // "1": all business
	keyItems = "@i" // service item codes, comma-separated (as many as fit)
	keyCount = "@c" // number of service items, when not all fit
	keyFrom  = "@f" // grant period start, unix seconds
	keyUntil = "@u" // grant period end (exclusive), unix seconds
)

// ParseFields validates the chosen field keys (unknown keys are errs.Invalid naming "fields")
// and returns them once each, in the order of Fields.
func ParseFields(keys []string) ([]string, error) {
	var out []string
	for _, f := range Fields {
		if slices.Contains(keys, f.Key) {
			out = append(out, f.Key)
		}
	}
	for _, k := range keys {
		if !slices.ContainsFunc(Fields, func(f Field) bool { return f.Key == k }) {
			return nil, errs.Invalidf("fields", "未知的出示项目 %q", "unknown item %q to show", truncate(k, 40))
		}
	}
	return out, nil
}

// Presentation is a created presentation token.
type Presentation struct {
	Token     string
	URL       string // {PublicURL}/v/{token}: what the QR code holds
	Licence   *license.Licence
	Role      identity.RoleKind
	Grant     *identity.Grant // administrators and agents
	Fields    []string
	IssuedAt  time.Time
	ExpiresAt time.Time
	RefreshAt time.Time // when the wallet fetches the next one
}

// presentData is the data of a wallet.present audit event.
type presentData struct {
	PID     string            `json:"pid"`
	Role    identity.RoleKind `json:"role"`
	Grant   string            `json:"grant,omitempty"`
	Fields  []string          `json:"fields"`
	Version int               `json:"version"`
	Expires time.Time         `json:"expires"`
}

// verifyData is the data of a wallet.present.verify audit event.
type verifyData struct {
	PID        string `json:"pid"`
	Result     int    `json:"result"`
	Expired    bool   `json:"expired,omitempty"`
	Authorised bool   `json:"authorised"`
}

func actorOf(personID string) string { return "person:" + personID }

// Create makes a presentation token of the entity's current licence for the person, carrying
// fields (ParseFields keys). Only a person who may act for the entity now may (CanAct; the
// licence must be active); the token is recorded as a use (wallet.present) before it is
// returned.
func (s *Service) Create(ctx context.Context, personID, entityCode string, fields []string) (*Presentation, error) {
	fields, err := ParseFields(fields)
	if err != nil {
		return nil, err
	}
	code := uscc.Normalize(entityCode)
	now := s.now()
	role, err := s.c.Identity.CanAct(ctx, personID, code, "", now)
	if err != nil {
		return nil, err
	}
	p, err := s.c.Identity.Person(ctx, personID)
	if err != nil {
		return nil, err
	}
	l := role.Licence
	signer, certDER, err := s.c.Keys.PlatformSigner(ctx)
	if err != nil {
		return nil, fmt.Errorf("present: platform key: %w", err)
	}
	cert, err := gm.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("present: platform certificate: %w", err)
	}
	pid, err := newPID()
	if err != nil {
		return nil, err
	}
	issued := now.Truncate(time.Second)
	claims := qrtoken.Claims{Type: qrtoken.TypePresentation, Identifier: l.Identifier, Code: l.Code, Version: l.Version,
		IssuedAt: issued, Expires: issued.Add(Lifetime), AuthorityCode: l.AuthorityCode,
		CertSerial: cert.SerialNumber.Text(16), Role: string(role.Kind)}
	for _, it := range items {
		if slices.Contains(fields, it.field) {
			if v := it.value(l); v != "" {
				claims.Fields = append(claims.Fields, qrtoken.Field{Key: it.tk, Value: clip(v, qrtoken.MaxString)})
			}
		}
	}
	claims.Fields = append(claims.Fields, qrtoken.Field{Key: keyPID, Value: pid}, qrtoken.Field{Key: keyName, Value: p.MaskedName()})
	if g := role.Grant; g != nil && g.Role == identity.RoleAgent {
		if g.AllItems {
			claims.Fields = append(claims.Fields, qrtoken.Field{Key: keyAll, Value: "1"})
		} else {
			list, n := "", 0
			for _, it := range g.Items {
				if len(list)+len(it)+1 > qrtoken.MaxString {
					break
				}
				if n > 0 {
					list += ","
				}
				list += it
				n++
			}
			claims.Fields = append(claims.Fields, qrtoken.Field{Key: keyItems, Value: list})
			if n < len(g.Items) {
				claims.Fields = append(claims.Fields, qrtoken.Field{Key: keyCount, Value: strconv.Itoa(len(g.Items))})
			}
		}
		claims.Fields = append(claims.Fields, qrtoken.Field{Key: keyFrom, Value: strconv.FormatInt(g.ValidFrom.Unix(), 10)})
		if !g.ValidUntil.IsZero() {
			claims.Fields = append(claims.Fields, qrtoken.Field{Key: keyUntil, Value: strconv.FormatInt(g.ValidUntil.Unix(), 10)})
		}
	}
	tok, err := qrtoken.Encode(ctx, signer, claims)
	if err != nil {
		return nil, fmt.Errorf("present: %w", err)
	}
	u := qrtoken.URL(s.c.PublicURL, tok)
	d := presentData{PID: pid, Role: role.Kind, Fields: fields, Version: l.Version, Expires: claims.Expires}
	if role.Grant != nil {
		d.Grant = role.Grant.ID
	}
	data, _ := json.Marshal(d) // strings, numbers and a time always encode
	if err := s.c.Audit.Append(ctx, audit.Event{Time: now, Action: ActionPresent, Actor: actorOf(personID), Subject: l.Code, Data: data}); err != nil {
		return nil, fmt.Errorf("present: record: %w", err)
	}
	return &Presentation{Token: tok, URL: u, Licence: l, Role: role.Kind, Grant: role.Grant, Fields: fields,
		IssuedAt: issued, ExpiresAt: claims.Expires, RefreshAt: claims.Expires.Add(-RefreshBefore)}, nil
}

// newPID returns a random presentation ID: 64 bits in 16 hexadecimal digits (8 bytes in a
// token).
func newPID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("present: random: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// clip shortens s to at most n bytes of whole characters, ending with "…" when it cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ell = "…"
	cut := n - len(ell)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ell
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// IsPresentation reports whether s (a token, or a URL ending in /v/{token}) is a presentation
// token by its type byte, the first of its payload; nothing else is read or checked (Verify
// does), so the verification page can route every scan by it at no cost.
func IsPresentation(s string) bool {
	tok, err := qrtoken.FromURL(s)
	if err != nil || len(tok) < 4 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(tok[:4])
	return err == nil && b[0] == qrtoken.TypePresentation
}

// Check is the counter's view of a scanned presentation token: who presents which items. The
// licence's own verification (its status now, STANDARDS §7) is document.Service.VerifyToken's.
type Check struct {
	// Authentic: the token reads as a presentation token, the platform signed it and it is
	// unaltered. Without it nothing else is shown; ProblemZH/EN say what is wrong.
	Authentic bool
	// Expired: authentic, but past its five minutes (or not yet valid): refused, nothing else
	// shown; ProblemZH/EN say until when it was valid.
	Expired              bool
	ProblemZH, ProblemEN string
	Code                 string // the entity's credit code
	IssuedAt             time.Time
	ExpiresAt            time.Time
	// Items are the presented face items, each compared with the register now.
	Items []ItemCheck
	// Presenter is who shows the licence; nil when the token is not authentic or expired.
	Presenter *Presenter
}

// Usable reports whether the counter may rely on the presentation, given whether the licence
// itself verified as valid: authentic, in time, and the presenter still authorised.
func (c *Check) Usable(licenceValid bool) bool {
	return c.Authentic && !c.Expired && licenceValid && c.Presenter != nil && c.Presenter.Authorised
}

// ItemCheck is one presented face item.
type ItemCheck struct {
	Field   string `json:"field"` // Fields key
	Key     string `json:"key"`   // token key
	ZH      string `json:"label_zh"`
	EN      string `json:"label_en"`
	Value   string `json:"value"`   // as presented (signed by the platform)
	Now     string `json:"current"` // in the register now
	Same    bool   `json:"same"`    // Value is the register's value now (or its shortened form)
	Clipped bool   `json:"clipped"` // the value was shortened to fit the QR code
}

// Presenter is the person who shows the licence, as the token names them and as the register
// of roles says now.
type Presenter struct {
	Name     string            `json:"name"` // masked, e.g. 张*
	Role     identity.RoleKind `json:"role"`
	AllItems bool              `json:"all_items,omitempty"`
	Items    []string          `json:"items,omitempty"`      // as carried
	Count    int               `json:"item_count,omitempty"` // how many items the grant has
	From     *time.Time        `json:"valid_from,omitempty"`
	Until    *time.Time        `json:"valid_until,omitempty"` // exclusive
	// Authorised: the person may still act for the entity in the role (and under the grant)
	// the token was made with. ReasonZH/EN say why not.
	Authorised bool   `json:"authorised"`
	ReasonZH   string `json:"reason_zh,omitempty"`
	ReasonEN   string `json:"reason_en,omitempty"`
}

// Verify checks a presentation token (or the URL of its QR code) for a counter: it is read, its
// signature checked against the platform key and its expiry checked; each presented item is
// compared with the register and the presenter's role checked now. A token that cannot be
// read, is not signed by the platform or has expired is a Check saying so, not an error. Each
// verification of an authentic token is recorded (wallet.present.verify) with verifier as the
// actor ("public" for the public page) and result, the licence's verification result that the
// caller got from document.Service.VerifyToken (STANDARDS §7).
func (s *Service) Verify(ctx context.Context, token, verifier string, result int) (*Check, error) {
	c := &Check{}
	tok, err := qrtoken.FromURL(token)
	var t *qrtoken.Token
	if err == nil {
		t, err = qrtoken.Parse(tok)
	}
	if err == nil && t.Type != qrtoken.TypePresentation {
		err = errs.Invalidf("token", "这不是出示码", "this is not a presentation code")
	}
	if err != nil {
		c.ProblemZH, c.ProblemEN = problem(err)
		return c, nil
	}
	signer, _, err := s.c.Keys.PlatformSigner(ctx)
	if err != nil {
		return nil, fmt.Errorf("present: platform key: %w", err)
	}
	if err := t.Verify(signer.Public()); err != nil {
		c.ProblemZH, c.ProblemEN = problem(err)
		return c, nil
	}
	c.Authentic, c.Code, c.IssuedAt, c.ExpiresAt = true, t.Code, t.IssuedAt, t.Expires
	vals := map[string]string{}
	for _, f := range t.Fields {
		vals[f.Key] = f.Value
	}
	if err := t.CheckTime(s.c.Clock()); err != nil {
		c.Expired = true
		c.ProblemZH, c.ProblemEN = problem(err)
	} else {
		if err := s.items(ctx, c, t, vals); err != nil {
			return nil, err
		}
		if c.Presenter, err = s.presenter(ctx, t, vals); err != nil {
			return nil, err
		}
	}
	data, _ := json.Marshal(verifyData{PID: vals[keyPID], Result: result, Expired: c.Expired,
		Authorised: c.Presenter != nil && c.Presenter.Authorised}) // always encodes
	if err := s.c.Audit.Append(ctx, audit.Event{Time: s.now(), Action: ActionVerify, Actor: verifier, Subject: t.Code, Data: data}); err != nil {
		return nil, fmt.Errorf("present: record verification: %w", err)
	}
	return c, nil
}

// problem returns the words of an error of qrtoken.
func problem(err error) (zh, en string) {
	if e := errs.As(err); e != nil {
		return e.ZH, e.EN
	}
	return "出示码无法读取", "the code cannot be read"
}

// items fills c.Items: each presented item with the register's value now.
func (s *Service) items(ctx context.Context, c *Check, t *qrtoken.Token, vals map[string]string) error {
	cur, err := s.c.Licences.Get(ctx, t.Code)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return fmt.Errorf("present: licence %s: %w", t.Code, err)
	}
	for _, it := range items {
		v, ok := vals[it.tk]
		if !ok {
			continue
		}
		ic := ItemCheck{Field: it.field, Key: it.tk, ZH: it.zh, EN: it.en, Value: v}
		if cur != nil {
			ic.Now = it.value(cur)
			clipped := clip(ic.Now, qrtoken.MaxString)
			ic.Same = v == ic.Now || v == clipped
			ic.Clipped = v != ic.Now && v == clipped
		}
		c.Items = append(c.Items, ic)
	}
	return nil
}

// presenter reads the presenter from the token and checks now that they may still act for the
// entity in the role, and under the grant, they showed it with.
func (s *Service) presenter(ctx context.Context, t *qrtoken.Token, vals map[string]string) (*Presenter, error) {
	p := &Presenter{Name: vals[keyName], Role: identity.RoleKind(t.Role), AllItems: vals[keyAll] == "1"}
	if v := vals[keyItems]; v != "" {
		p.Items = strings.Split(v, ",")
		p.Count = len(p.Items)
	}
	if n, err := strconv.Atoi(vals[keyCount]); err == nil && n > p.Count {
		p.Count = n
	}
	unix := func(k string) *time.Time {
		n, err := strconv.ParseInt(vals[k], 10, 64)
		if err != nil {
			return nil
		}
		u := time.Unix(n, 0).UTC()
		return &u
	}
	p.From, p.Until = unix(keyFrom), unix(keyUntil)

	rec, err := s.record(ctx, t, vals[keyPID])
	if err != nil {
		return nil, err
	}
	if rec == nil {
		p.ReasonZH, p.ReasonEN = "平台没有该出示码的签发记录", "the platform has no record of issuing this code"
		return p, nil
	}
	var d presentData
	if err := json.Unmarshal(rec.Data, &d); err != nil {
		return nil, fmt.Errorf("present: record %d: %w", rec.Seq, err)
	}
	personID, ok := strings.CutPrefix(rec.Actor, "person:")
	if !ok || d.Role != p.Role {
		p.ReasonZH, p.ReasonEN = "出示码与其签发记录不一致", "the code does not match the record of its issue"
		return p, nil
	}
	role, err := s.c.Identity.CanAct(ctx, personID, t.Code, "", s.now())
	switch e := errs.As(err); {
	case err == nil:
	case e != nil && (e.Kind == errs.Forbidden || e.Kind == errs.NotFound):
		p.ReasonZH, p.ReasonEN = "出示人已无权代表该市场主体："+e.ZH, "the presenter may no longer act for the entity: "+e.EN
		return p, nil
	default:
		return nil, fmt.Errorf("present: presenter: %w", err)
	}
	if role.Kind != d.Role || d.Grant != "" && (role.Grant == nil || role.Grant.ID != d.Grant) {
		p.ReasonZH, p.ReasonEN = "出示时依据的任命或授权已不再有效", "the appointment or grant the licence was shown under is no longer in force"
		return p, nil
	}
	p.Authorised = true
	return p, nil
}

// record finds the wallet.present event of a token: it was appended in the second the token
// was issued, and its data carry the token's presentation ID.
func (s *Service) record(ctx context.Context, t *qrtoken.Token, pid string) (*audit.Event, error) {
	if pid == "" {
		return nil, nil
	}
	evs, err := s.c.Audit.Find(ctx, audit.Filter{Subject: t.Code, ActionPrefix: ActionPresent, Since: t.IssuedAt,
		Until: t.IssuedAt.Add(time.Second), Limit: audit.MaxFind})
	if err != nil {
		return nil, fmt.Errorf("present: find record: %w", err)
	}
	for i := range evs {
		var d presentData
		if evs[i].Action == ActionPresent && json.Unmarshal(evs[i].Data, &d) == nil && d.PID == pid {
			return &evs[i], nil
		}
	}
	return nil, nil
}
