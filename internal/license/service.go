package license

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/ident"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/uscc"
)

// DefaultTypeCode is the licence type code of the e-business licence (STANDARDS §2, single
// source: configurable).
const DefaultTypeCode = "11100000MB0143028R001"

// PersonProtector protects the ID number of the person on a licence: encrypted for storage and
// a keyed hash for look-ups (real-name verification matches on it).
type PersonProtector interface {
	SealPersonID(id, code string) ([]byte, error)
	HashPersonID(id string) []byte
}

// Config configures a Service.
type Config struct {
	Store    Store
	Keys     Keys
	Protect  PersonProtector
	Clock    func() time.Time // defaults to time.Now
	TypeCode string           // defaults to DefaultTypeCode
	Allow    uscc.AllowList   // issued codes that fail a check but are accepted
}

// Service issues and manages e-business licences. All rules live here so that every store
// behaves the same.
type Service struct {
	store    Store
	keys     Keys
	protect  PersonProtector
	clock    func() time.Time
	typeCode string
	codes    uscc.Validator
}

// Action is a status change a registering authority can make.
type Action string

// The status actions.
const (
	Suspend Action = "suspend" // 暂停: active → suspended
	Restore Action = "restore" // 恢复: suspended → active
	Cancel  Action = "cancel"  // 注销: active, suspended or revoked → cancelled
	Revoke  Action = "revoke"  // 吊销: active or suspended → revoked
)

// StatusChange asks for a status action with a reason and the time it takes effect.
type StatusChange struct {
	Action      Action    `json:"action"`
	Reason      string    `json:"reason"`
	EffectiveAt time.Time `json:"effective_at"` // zero: now; may not lie in the future
}

// Outcome says what happened to one registration of a batch.
type Outcome int

// The outcomes of a batch row.
const (
	Issued    Outcome = iota + 1 // a new licence was issued
	Unchanged                    // the same registration was issued before; nothing was done
	Failed                       // Err says why; nothing was stored for this row
)

// Result is the outcome of one registration of a batch.
type Result struct {
	Outcome Outcome
	Licence *Licence // for Issued and Unchanged (nil for Unchanged when not loaded)
	Err     error    // for Failed: an *errs.Error or errs.List naming the field
}

// NewService returns a licence service.
func NewService(c Config) *Service {
	s := &Service{store: c.Store, keys: c.Keys, protect: c.Protect, clock: c.Clock, typeCode: c.TypeCode,
		codes: uscc.Validator{Allow: c.Allow}}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.typeCode == "" {
		s.typeCode = DefaultTypeCode
	}
	return s
}

// TypeCode returns the licence type code used in identifiers.
func (s *Service) TypeCode() string { return s.typeCode }

// signedData is the canonical content an authority signs for a licence version: these fields in
// this order, as compact JSON without HTML escaping (docs/api.md, "Licence signature").
type signedData struct {
	Identifier    string `json:"identifier"`
	Code          string `json:"code"`
	CodeType      string `json:"code_type"`
	Kind          Kind   `json:"kind"`
	Version       int    `json:"version"`
	Face          Face   `json:"face"`
	Region        string `json:"region"`
	Authority     string `json:"authority"`
	AuthorityCode string `json:"authority_code"`
	IssuedAt      string `json:"issued_at"`
}

// SignedBytes returns the canonical encoding of a licence version that its SM2 signature covers.
func SignedBytes(l *Licence) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	// Encoding a struct of strings cannot fail.
	_ = enc.Encode(signedData{l.Identifier, l.Code, l.CodeType, l.Kind, l.Version, l.Face, l.Region,
		l.Authority, l.AuthorityCode, l.IssuedAt.UTC().Format(time.RFC3339)})
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// digest identifies a registration's content, to recognise a re-submitted registration.
func digest(reg *Registration, personHash []byte) []byte {
	b, _ := json.Marshal(struct {
		R *Registration
		P []byte
	}{&Registration{Code: reg.Code, Kind: reg.Kind, Face: reg.Face, Region: reg.Region, Authority: reg.Authority}, personHash})
	h := gm.SM3(b)
	return h[:]
}

func codeType(code string) string {
	if len(code) == 15 {
		return "099" // GB/T 36903: other organisation code (legacy 注册号)
	}
	return "001" // GB/T 36903: unified social credit code
}

// prepared is a validated registration ready to be signed and stored.
type prepared struct {
	lic *Licence
	err error
}

// prepare validates reg and builds version `version` of its licence, unsigned. When reg gives
// no ID number, the person data of prev (the current version, for a change) stays.
func (s *Service) prepare(ctx context.Context, a Actor, reg Registration, version int, now time.Time, prev *Licence) (*Licence, *keys.Authority, gm.Signer, error) {
	if err := s.Validate(&reg, a); err != nil {
		return nil, nil, nil, err
	}
	auth, signer, err := s.keys.AuthoritySigner(ctx, reg.Authority)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, nil, nil, errs.Invalidf("authority", "登记机关 %s 不存在", "registering authority %s does not exist", reg.Authority)
		}
		return nil, nil, nil, fmt.Errorf("license: authority signer: %w", err)
	}
	id, err := ident.New(s.typeCode, auth.Code, reg.Code, version)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("license: identifier: %w", err)
	}
	l := &Licence{Identifier: id, Code: reg.Code, CodeType: codeType(reg.Code), Kind: reg.Kind, Version: version,
		Face: reg.Face, Region: reg.Region, Authority: auth.Name, AuthorityCode: auth.Code,
		IssuedAt: now, CertSerial: auth.Serial, Status: Active}
	if reg.PersonID != "" && s.protect != nil {
		l.PersonIDHash = s.protect.HashPersonID(reg.PersonID)
		if l.PersonIDSealed, err = s.protect.SealPersonID(reg.PersonID, reg.Code); err != nil {
			return nil, nil, nil, fmt.Errorf("license: seal person id: %w", err)
		}
	} else if prev != nil {
		l.PersonIDHash, l.PersonIDSealed = prev.PersonIDHash, prev.PersonIDSealed
	}
	l.Digest = digest(&reg, l.PersonIDHash)
	return l, auth, signer, nil
}

func (s *Service) sign(ctx context.Context, l *Licence, signer gm.Signer) error {
	sig, err := signer.Sign(ctx, SignedBytes(l))
	if err != nil {
		return fmt.Errorf("license: sign %s: %w", l.Code, err)
	}
	l.Signature = sig
	return nil
}

func (s *Service) now() time.Time { return s.clock().UTC().Truncate(time.Second) }

func event(action string, a Actor, l *Licence, at time.Time, extra map[string]any) audit.Event {
	data := map[string]any{"identifier": l.Identifier, "version": l.Version, "authority": l.AuthorityCode, "status": l.Status}
	for k, v := range extra {
		data[k] = v
	}
	b, _ := json.Marshal(data)
	return audit.Event{Time: at, Action: action, Actor: a.ID, Subject: l.Code, Data: b}
}

// Issue issues the first licence of a newly registered entity.
func (s *Service) Issue(ctx context.Context, a Actor, reg Registration) (*Licence, error) {
	now := s.now()
	l, _, signer, err := s.prepare(ctx, a, reg, 1, now, nil)
	if err != nil {
		return nil, err
	}
	if err := s.sign(ctx, l, signer); err != nil {
		return nil, err
	}
	err = s.store.Save(ctx, []Change{{Op: OpIssue, Licence: l, Event: event("license.issue", a, l, now, nil)}})
	if err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, &errs.Error{Kind: errs.Conflict, Field: "code",
				ZH: fmt.Sprintf("%s 已颁发营业执照，请办理变更登记", l.Code),
				EN: fmt.Sprintf("a licence for %s was already issued; record a change registration instead", l.Code), Err: err}
		}
		return nil, fmt.Errorf("license: issue: %w", err)
	}
	return l, nil
}

// IssueBatch issues the first licences of many entities: validation and signing run in
// parallel, and all new licences are stored in one transaction. A registration identical to one
// already issued is Unchanged, so re-running an import creates no duplicates.
func (s *Service) IssueBatch(ctx context.Context, a Actor, regs []Registration) ([]Result, error) {
	b, err := s.PrepareBatch(ctx, a, regs)
	if err != nil {
		return nil, err
	}
	return s.CommitBatch(ctx, b)
}

// Batch is a batch of registrations validated and signed by PrepareBatch, ready for CommitBatch.
type Batch struct {
	actor Actor
	now   time.Time
	res   []Result
	lics  []*Licence
}

// PrepareBatch validates and signs a batch of first issues in parallel, without storing
// anything. A bulk import prepares the next batch while the previous one commits.
func (s *Service) PrepareBatch(ctx context.Context, a Actor, regs []Registration) (*Batch, error) {
	now := s.now()
	res := make([]Result, len(regs))
	lics := make([]*Licence, len(regs))

	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	next := make(chan int, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				l, _, signer, err := s.prepare(ctx, a, regs[i], 1, now, nil)
				if err == nil {
					err = s.sign(ctx, l, signer)
				}
				if err != nil {
					res[i] = Result{Outcome: Failed, Err: err}
					continue
				}
				lics[i] = l
			}
		}()
	}
	for i := range regs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i := range res {
		if res[i].Outcome == Failed && errs.KindOf(res[i].Err) == errs.Internal {
			return nil, res[i].Err
		}
	}
	return &Batch{actor: a, now: now, res: res, lics: lics}, nil
}

// CommitBatch stores a prepared batch in one transaction. A registration identical to one
// already issued is Unchanged; one that differs is Failed with a conflict.
func (s *Service) CommitBatch(ctx context.Context, b *Batch) ([]Result, error) {
	a, now, res, lics := b.actor, b.now, b.res, b.lics
	codes := make([]string, 0, len(lics))
	for _, l := range lics {
		if l != nil {
			codes = append(codes, l.Code)
		}
	}
	existing, err := s.store.Digests(ctx, codes)
	if err != nil {
		return nil, fmt.Errorf("license: batch digests: %w", err)
	}
	changes := make([]Change, 0, len(codes))
	idx := make([]int, 0, len(codes))
	seen := make(map[string][]byte, len(codes))
	for i, l := range lics {
		if l == nil {
			continue
		}
		d, ok := existing[l.Code]
		if !ok {
			d, ok = seen[l.Code]
		}
		switch {
		case ok && bytes.Equal(d, l.Digest):
			res[i] = Result{Outcome: Unchanged}
		case ok:
			res[i] = Result{Outcome: Failed, Err: &errs.Error{Kind: errs.Conflict, Field: "code",
				ZH: fmt.Sprintf("%s 已颁发营业执照且登记事项不同，请办理变更登记", l.Code),
				EN: fmt.Sprintf("a licence for %s was already issued with different data; record a change registration instead", l.Code)}}
		default:
			seen[l.Code] = l.Digest
			changes = append(changes, Change{Op: OpIssue, Licence: l, Event: event("license.issue", a, l, now, nil)})
			idx = append(idx, i)
		}
	}
	if err := s.store.Save(ctx, changes); err != nil {
		if !errs.Is(err, errs.Conflict) {
			return nil, fmt.Errorf("license: batch save: %w", err)
		}
		// Another writer issued one of these codes meanwhile: store them one by one.
		for k, ch := range changes {
			if err := s.store.Save(ctx, []Change{ch}); err != nil {
				if !errs.Is(err, errs.Conflict) {
					return nil, fmt.Errorf("license: batch save: %w", err)
				}
				res[idx[k]] = Result{Outcome: Failed, Err: err}
				continue
			}
			res[idx[k]] = Result{Outcome: Issued, Licence: ch.Licence}
		}
		return res, nil
	}
	for k, ch := range changes {
		res[idx[k]] = Result{Outcome: Issued, Licence: ch.Licence}
	}
	return res, nil
}

// current loads the current licence and checks that actor a may act on it.
func (s *Service) current(ctx context.Context, a Actor, code string) (*Licence, error) {
	code = uscc.Normalize(code)
	if _, _, err := s.codes.Validate(code); err != nil {
		return nil, codeError("code", err)
	}
	cur, err := s.store.Current(ctx, code)
	if err != nil {
		return nil, fmt.Errorf("license: %w", err)
	}
	if !a.AnyAuthority && cur.AuthorityCode != a.Authority {
		return nil, errs.Forbiddenf("%s 的登记机关是 %s，本机关无权办理", "%s is registered with %s; your authority may not act on it",
			cur.Code, cur.Authority)
	}
	return cur, nil
}

// Change records a change registration (变更登记): a new version of the licence is issued and the
// previous one is superseded but stays queryable. prev must be the current version.
func (s *Service) Change(ctx context.Context, a Actor, code string, prev int, reg Registration) (*Licence, error) {
	cur, err := s.current(ctx, a, code)
	if err != nil {
		return nil, err
	}
	if prev <= 0 {
		return nil, errs.Invalidf("prev_version", "须给出当前版本号", "the current version number is required")
	}
	if prev != cur.Version {
		return nil, &errs.Error{Kind: errs.Conflict, Field: "prev_version",
			ZH: fmt.Sprintf("当前版本是 %d，不是 %d：执照已被他人修改，请刷新后重试", cur.Version, prev),
			EN: fmt.Sprintf("the current version is %d, not %d: the licence was changed meanwhile; reload and try again", cur.Version, prev)}
	}
	if cur.Status != Active {
		zh, en := StatusName(cur.Status)
		return nil, errs.New(errs.Conflict, "status", fmt.Sprintf("执照状态为“%s”，不能办理变更登记", zh),
			fmt.Sprintf("the licence is %s; a change registration needs an active licence", strings.ToLower(en)))
	}
	if reg.Code == "" {
		reg.Code = cur.Code
	}
	if uscc.Normalize(reg.Code) != cur.Code {
		return nil, errs.Invalidf("code", "变更登记不能修改统一社会信用代码", "a change registration cannot change the credit code")
	}
	if reg.Kind == "" {
		reg.Kind = cur.Kind
	}
	if reg.Kind != cur.Kind {
		return nil, errs.Invalidf("kind", "变更登记不能修改市场主体类型（请办理注销后重新设立）", "a change registration cannot change the kind of entity")
	}
	if reg.Authority == "" {
		reg.Authority = cur.AuthorityCode
	}
	now := s.now()
	l, _, signer, err := s.prepare(ctx, a, reg, cur.Version+1, now, cur)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(l.Digest, cur.Digest) {
		return nil, errs.Invalidf("face", "登记事项没有变化", "nothing changed in the registration")
	}
	if err := s.sign(ctx, l, signer); err != nil {
		return nil, err
	}
	ev := event("license.change", a, l, now, map[string]any{"previous": cur.Identifier})
	if err := s.store.Save(ctx, []Change{{Op: OpNewVersion, Licence: l, Prev: prev, PrevStatus: cur.Status, Event: ev}}); err != nil {
		return nil, fmt.Errorf("license: change: %w", err)
	}
	return l, nil
}

// transitions: which status each action leads to, from which statuses.
var transitions = map[Action]struct {
	to   Status
	from []Status
}{
	Suspend: {Suspended, []Status{Active}},
	Restore: {Active, []Status{Suspended}},
	Cancel:  {Cancelled, []Status{Active, Suspended, Revoked}}, // 吊销 entities are later 注销
	Revoke:  {Revoked, []Status{Active, Suspended}},
}

// SetStatus suspends, restores, cancels (注销) or revokes (吊销) the current licence.
func (s *Service) SetStatus(ctx context.Context, a Actor, code string, ch StatusChange) (*Licence, error) {
	t, ok := transitions[ch.Action]
	if !ok {
		return nil, errs.Invalidf("action", "操作 %q 未知，应为 suspend、restore、cancel 或 revoke", "unknown action %q: want suspend, restore, cancel or revoke", ch.Action)
	}
	ch.Reason = strings.TrimSpace(ch.Reason)
	v := &validator{}
	v.text("reason", Label{"原因", "The reason"}, &ch.Reason, 2, MaxReason)
	if err := v.list.Err(); err != nil {
		return nil, err
	}
	cur, err := s.current(ctx, a, code)
	if err != nil {
		return nil, err
	}
	now := s.now()
	at := ch.EffectiveAt.UTC().Truncate(time.Second)
	if ch.EffectiveAt.IsZero() {
		at = now
	}
	if at.After(now.Add(time.Minute)) {
		return nil, errs.Invalidf("effective_at", "生效时间不能晚于现在（不支持预约）", "the effective time cannot be in the future (scheduled changes are not supported)")
	}
	if est, ok := parseDate(cur.Face.EstablishedOn); ok && at.Before(est) {
		return nil, errs.Invalidf("effective_at", "生效时间不能早于成立日期 %s", "the effective time cannot be before the date of establishment %s", cur.Face.EstablishedOn)
	}
	allowed := false
	for _, f := range t.from {
		allowed = allowed || cur.Status == f
	}
	if !allowed {
		zh, en := StatusName(cur.Status)
		return nil, errs.New(errs.Conflict, "action", fmt.Sprintf("执照状态为“%s”，不能执行此操作", zh),
			fmt.Sprintf("the licence is %s; it cannot be %s", strings.ToLower(en), pastTense[ch.Action]))
	}
	l := *cur
	from := l.Status
	l.Status, l.StatusReason, l.StatusAt = t.to, ch.Reason, &at
	ev := event("license."+string(ch.Action), a, &l, now, map[string]any{"from": from, "reason": ch.Reason, "effective_at": at})
	if err := s.store.Save(ctx, []Change{{Op: OpStatus, Licence: &l, Prev: cur.Version, PrevStatus: from, Event: ev}}); err != nil {
		return nil, fmt.Errorf("license: %s: %w", ch.Action, err)
	}
	return &l, nil
}

var pastTense = map[Action]string{Suspend: "suspended", Restore: "restored", Cancel: "cancelled", Revoke: "revoked"}

// Get returns the current licence for a credit code (or 注册号), or the version with a licence
// identifier. Input is case-insensitive.
func (s *Service) Get(ctx context.Context, codeOrIdentifier string) (*Licence, error) {
	q := strings.TrimSpace(codeOrIdentifier)
	if strings.HasPrefix(q, ident.Root) || strings.Count(q, ".") > 3 {
		q = strings.ToUpper(q)
		id, err := ident.Parse(q)
		if err != nil {
			return nil, identError(err)
		}
		// The serial of a business licence's identifier is the entity's code (see prepare), so
		// the version is found by (code, version) and must carry exactly this identifier.
		notFound := func() error { // built only when returned
			return errs.NotFoundf("未找到标识为 %s 的电子营业执照", "no licence found with identifier %s", q)
		}
		if id.TypeCode != s.typeCode {
			return nil, notFound()
		}
		l, err := s.store.Version(ctx, id.Serial, id.Version)
		if errs.Is(err, errs.NotFound) || err == nil && l.Identifier != q {
			return nil, notFound()
		}
		return l, err
	}
	q = uscc.Normalize(q)
	code, _, err := s.codes.Validate(q)
	if err != nil {
		return nil, codeError("code", err)
	}
	return s.store.Current(ctx, code)
}

func identError(err error) *errs.Error {
	if p, ok := err.(interface {
		MessageZH() string
		MessageEN() string
	}); ok {
		return &errs.Error{Kind: errs.Invalid, Field: "identifier", ZH: "电子证照标识错误：" + p.MessageZH(), EN: "licence identifier: " + p.MessageEN()}
	}
	return &errs.Error{Kind: errs.Invalid, Field: "identifier", ZH: "电子证照标识错误", EN: "licence identifier: " + err.Error()}
}

// History returns every version of an entity's licence, oldest first.
func (s *Service) History(ctx context.Context, code string) ([]*Licence, error) {
	code = uscc.Normalize(code)
	if _, _, err := s.codes.Validate(code); err != nil {
		return nil, codeError("code", err)
	}
	return s.store.History(ctx, code)
}

// List returns a page of current licences and the cursor of the next page.
func (s *Service) List(ctx context.Context, f Filter) ([]*Licence, string, error) {
	if f.Limit == 0 {
		f.Limit = 50
	}
	if f.Limit < 1 || f.Limit > 500 {
		return nil, "", errs.Invalidf("limit", "每页条数应在1到500之间", "limit must be between 1 and 500")
	}
	if err := checkFilter(f.Kind, f.Status, f.Region); err != nil {
		return nil, "", err
	}
	f.Query = strings.TrimSpace(f.Query)
	if q := uscc.Normalize(f.Query); len(q) == 18 || len(q) == 15 {
		if _, _, err := s.codes.Validate(q); err == nil {
			f.Query = q
		}
	}
	return s.store.List(ctx, f)
}

// Search finds entities by credit code (exact, any case), part of the name or part of the
// person's name, ranked in that order; each result is the current version with its status, so
// cancelled and revoked entities are found and marked.
func (s *Service) Search(ctx context.Context, q SearchQuery) ([]*Licence, error) {
	q.Text = strings.TrimSpace(q.Text)
	if q.Text == "" {
		return nil, errs.Invalidf("q", "请输入要搜索的名称、统一社会信用代码或法定代表人", "enter a name, credit code or representative to search for")
	}
	if len([]rune(q.Text)) > 100 {
		return nil, errs.Invalidf("q", "搜索内容不能超过100个字符", "the search text must be at most 100 characters")
	}
	if q.Limit == 0 {
		q.Limit = DefaultSearchLimit
	}
	if q.Limit < 1 || q.Limit > MaxSearchLimit {
		return nil, errs.Invalidf("limit", "搜索结果条数应在1到%d之间", "limit must be between 1 and %d", MaxSearchLimit)
	}
	if err := checkFilter(q.Kind, q.Status, q.Region); err != nil {
		return nil, err
	}
	if c := uscc.Normalize(q.Text); len(c) == 18 || len(c) == 15 {
		if _, _, err := s.codes.Validate(c); err == nil {
			q.Text = c
		}
	}
	return s.store.Search(ctx, q)
}

// checkFilter validates the kind, status and region filters of List and Search.
func checkFilter(kind Kind, status Status, region string) error {
	if kind != "" {
		if _, ok := labels[kind]; !ok {
			return errs.Invalidf("kind", "市场主体类型 %q 未知", "unknown kind %q", kind)
		}
	}
	if status != "" && status != Active && status != Suspended && status != Cancelled && status != Revoked {
		return errs.Invalidf("status", "状态 %q 未知", "unknown status %q", status)
	}
	for i := 0; i < len(region); i++ {
		if region[i] < '0' || region[i] > '9' || len(region) > 6 {
			return errs.Invalidf("region", "行政区划代码 %q 无效", "division code %q is not valid", region)
		}
	}
	return nil
}

// VerifySignature checks the authority's SM2 signature of a licence version.
func (s *Service) VerifySignature(ctx context.Context, l *Licence) error {
	return s.keys.VerifyAuthorityAt(ctx, l.AuthorityCode, l.CertSerial, l.IssuedAt, SignedBytes(l), l.Signature)
}
