package library

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/ident"
	"github.com/elicense/elicense/internal/keys"
)

// MaxBatch is the most permits one IssueBatch may issue.
const MaxBatch = 1000

// signedData is the canonical content an issuing department signs for a permit version: these
// fields in this order, as compact JSON without HTML escaping; items are ordered by key
// (docs/library.md, "Permit signature").
type signedData struct {
	Identifier     string            `json:"identifier"`
	Number         string            `json:"number"`
	TypeCode       string            `json:"type_code"`
	TypeName       string            `json:"type_name"`
	Version        int               `json:"version"`
	IssuerCode     string            `json:"issuer_code"`
	IssuerName     string            `json:"issuer_name"`
	DefinedBy      string            `json:"defined_by"`
	DefinedByName  string            `json:"defined_by_name"`
	IssueDate      string            `json:"issue_date"`
	ValidFrom      string            `json:"valid_from"`
	ValidUntil     string            `json:"valid_until"`
	AreaCode       string            `json:"area_code"`
	HolderName     string            `json:"holder_name"`
	HolderCode     string            `json:"holder_code"`
	HolderCodeType string            `json:"holder_code_type"`
	Items          map[string]string `json:"items"`
	Extension      json.RawMessage   `json:"extension"`
	IssuedAt       string            `json:"issued_at"`
}

// SignedBytes returns the canonical encoding of a permit version that its SM2 signature covers.
func SignedBytes(p *Permit) []byte {
	items := p.Items
	if items == nil {
		items = map[string]string{}
	}
	ext := p.Extension
	if len(ext) == 0 {
		ext = json.RawMessage("null")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	// Strings, a map of strings and compacted JSON always encode.
	_ = enc.Encode(signedData{p.Identifier, p.Number, p.TypeCode, p.TypeName, p.Version, p.IssuerCode, p.IssuerName,
		p.DefinedBy, p.DefinedByName, p.IssueDate, p.ValidFrom, p.ValidUntil, p.AreaCode, p.HolderName, p.HolderCode,
		p.HolderCodeType, items, ext, p.IssuedAt.UTC().Format(time.RFC3339)})
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// VerifySignature checks the issuing department's SM2 signature of a permit version with the
// department's certificate as valid when it signed.
func (s *Service) VerifySignature(ctx context.Context, p *Permit) error {
	return s.keys.VerifyAuthorityAt(ctx, p.IssuerCode, p.CertSerial, p.IssuedAt, SignedBytes(p), p.Signature)
}

func permitEvent(action string, a Actor, p *Permit, at time.Time, extra map[string]any) audit.Event {
	data := map[string]any{"identifier": p.Identifier, "type_code": p.TypeCode, "number": p.Number,
		"version": p.Version, "issuer": p.IssuerCode, "status": p.Status}
	maps.Copy(data, extra)
	b, _ := json.Marshal(data)
	return audit.Event{Time: at, Action: action, Actor: a.ID, Subject: p.HolderCode, Data: b}
}

// issuableType returns the type of an issuance and checks that the actor's department may issue
// it: the business licence is issued by the licence service, and only departments listed in a
// type's issuers issue its licences (operators and registrars may not).
func (s *Service) issuableType(ctx context.Context, a Actor, code string) (*Type, error) {
	if strings.TrimSpace(code) == "" {
		return nil, errs.New(errs.Invalid, "type_code", "证照类型代码不能为空", "the licence type code is required")
	}
	t, err := s.Type(ctx, code)
	if errs.Is(err, errs.NotFound) {
		e := errs.As(err)
		return nil, &errs.Error{Kind: errs.Invalid, Field: "type_code", ZH: e.ZH, EN: e.EN, Err: err}
	}
	if err != nil {
		return nil, err
	}
	if t.BuiltIn {
		return nil, errs.New(errs.Invalid, "type_code", "电子营业执照由登记机关通过营业执照接口颁发",
			"business licences are issued by registering authorities through the licence API")
	}
	if !t.mayIssue(a.Department) {
		return nil, errs.New(errs.Forbidden, "type_code", fmt.Sprintf("本部门不是“%s”的发证部门", t.Name),
			fmt.Sprintf("your department may not issue licences of type %s (%s)", t.Code, t.NameEN))
	}
	return t, nil
}

// signer returns the actor's department and its signer.
func (s *Service) signer(ctx context.Context, dept string) (*keys.Authority, gm.Signer, error) {
	auth, signer, err := s.keys.AuthoritySigner(ctx, dept)
	if errs.Is(err, errs.NotFound) {
		return nil, nil, errs.Forbiddenf("发证部门 %s 不存在", "issuing department %s does not exist", dept)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("library: signer of %s: %w", dept, err)
	}
	return auth, signer, nil
}

// prepare validates an issuance of version for the actor's department and returns the signed
// permit.
func (s *Service) prepare(ctx context.Context, a Actor, t *Type, in Issuance, version int, now time.Time) (*Permit, error) {
	auth, signer, err := s.signer(ctx, a.Department)
	if err != nil {
		return nil, err
	}
	p := &Permit{}
	if err := s.build(t, &in, day(now), auth.Region, p); err != nil {
		return nil, err
	}
	p.Version, p.IssuerCode, p.IssuerName, p.IssuedAt, p.CertSerial, p.Status = version, auth.Code, auth.Name, now, auth.Serial, Valid
	if p.Identifier, err = ident.New(t.Code, auth.Code, p.Number, version); err != nil {
		return nil, fmt.Errorf("library: identifier: %w", err)
	}
	if p.Signature, err = signer.Sign(ctx, SignedBytes(p)); err != nil {
		return nil, fmt.Errorf("library: sign %s: %w", p.Identifier, err)
	}
	return p, nil
}

func errNumberTaken(p *Permit, cause error) error {
	return &errs.Error{Kind: errs.Conflict, Field: "number",
		ZH:  fmt.Sprintf("“%s”编号 %s 已颁发，请办理变更", p.TypeName, p.Number),
		EN:  fmt.Sprintf("a licence of type %s with number %s was already issued; record a change instead", p.TypeCode, p.Number),
		Err: cause}
}

// Issue issues the first version of a permit: the actor must work for a department listed in
// the type's issuers, and the permit is signed with that department's key.
func (s *Service) Issue(ctx context.Context, a Actor, in Issuance) (*Permit, error) {
	t, err := s.issuableType(ctx, a, in.TypeCode)
	if err != nil {
		return nil, err
	}
	now := s.now()
	p, err := s.prepare(ctx, a, t, in, 1, now)
	if err != nil {
		return nil, err
	}
	err = s.store.SavePermits(ctx, []PermitChange{{Op: OpIssue, Permit: p, Event: permitEvent("library.issue", a, p, now, nil)}})
	if errs.Is(err, errs.Conflict) {
		return nil, errNumberTaken(p, err)
	}
	if err != nil {
		return nil, fmt.Errorf("library: issue: %w", err)
	}
	return p, nil
}

// Result is the outcome of one issuance of a batch: the permit, or the error naming the field.
type Result struct {
	Permit *Permit
	Err    error
}

// IssueBatch issues up to MaxBatch permits: each is validated and signed on its own, and the
// valid ones are stored in one transaction (one by one when one of them conflicts with a permit
// stored meanwhile). Failures are reported per row; the error is for the whole call, which is
// refused (errs.Forbidden) when the actor may issue none of the rows.
func (s *Service) IssueBatch(ctx context.Context, a Actor, ins []Issuance) ([]Result, error) {
	if len(ins) == 0 {
		return nil, errs.New(errs.Invalid, "", "批量颁发至少需要一条", "a batch needs at least one licence")
	}
	if len(ins) > MaxBatch {
		return nil, errs.Invalidf("", "每批最多 %d 条，收到 %d 条", "a batch may have at most %d licences, got %d", MaxBatch, len(ins))
	}
	now := s.now()
	res := make([]Result, len(ins))
	types := map[string]*Type{}
	var changes []PermitChange
	var idx []int
	seen := map[string]int{}
	for i, in := range ins {
		code := strings.ToUpper(strings.TrimSpace(in.TypeCode))
		t, ok := types[code]
		if !ok {
			var err error
			if t, err = s.issuableType(ctx, a, code); err != nil {
				if errs.KindOf(err) == errs.Internal {
					return nil, err
				}
				res[i].Err = err
				continue
			}
			types[code] = t
		}
		p, err := s.prepare(ctx, a, t, in, 1, now)
		if err != nil {
			if errs.KindOf(err) == errs.Internal {
				return nil, err
			}
			res[i].Err = err
			continue
		}
		key := p.TypeCode + "/" + p.Number
		if j, dup := seen[key]; dup {
			res[i].Err = &errs.Error{Kind: errs.Conflict, Field: "number",
				ZH: fmt.Sprintf("编号 %s 与第 %d 条重复", p.Number, j+1), EN: fmt.Sprintf("number %s repeats row %d", p.Number, j+1)}
			continue
		}
		seen[key] = i
		changes = append(changes, PermitChange{Op: OpIssue, Permit: p, Event: permitEvent("library.issue", a, p, now, nil)})
		idx = append(idx, i)
	}
	if len(changes) == 0 && allForbidden(res) {
		return nil, res[0].Err // the actor may issue none of them: refuse the call
	}
	err := s.store.SavePermits(ctx, changes)
	if err != nil && !errs.Is(err, errs.Conflict) {
		return nil, fmt.Errorf("library: batch: %w", err)
	}
	for k, ch := range changes {
		if err != nil { // a conflict: store them one by one
			if e := s.store.SavePermits(ctx, []PermitChange{ch}); errs.Is(e, errs.Conflict) {
				res[idx[k]].Err = errNumberTaken(ch.Permit, e)
				continue
			} else if e != nil {
				return nil, fmt.Errorf("library: batch: %w", e)
			}
		}
		res[idx[k]].Permit = ch.Permit
	}
	return res, nil
}

func allForbidden(res []Result) bool {
	for _, r := range res {
		if !errs.Is(r.Err, errs.Forbidden) {
			return false
		}
	}
	return true
}

// current loads the current version of the permit named by identifier (any of its versions)
// and checks that the actor's department issued it and may still issue its type.
func (s *Service) current(ctx context.Context, a Actor, identifier string) (*Permit, *Type, error) {
	p, err := s.Get(ctx, identifier)
	if err != nil {
		return nil, nil, err
	}
	if p.Status == Superseded {
		if p, err = s.store.CurrentPermit(ctx, p.TypeCode, p.Number); err != nil {
			return nil, nil, fmt.Errorf("library: current permit: %w", err)
		}
	}
	if a.Department == "" || a.Department != p.IssuerCode {
		return nil, nil, errs.Forbiddenf("此证照由 %s 颁发，本部门无权办理", "this licence was issued by %s; your department may not act on it", p.IssuerName)
	}
	t, err := s.issuableType(ctx, a, p.TypeCode)
	if err != nil {
		return nil, nil, err
	}
	return p, t, nil
}

// Change records a change (变更/延续) of a permit: a new version is signed and the previous one
// is superseded but stays queryable. prev must be the current version. Empty fields of in keep
// the current values; Items, when given, replace them all; the type, number and holder code
// cannot change.
func (s *Service) Change(ctx context.Context, a Actor, identifier string, prev int, in Issuance) (*Permit, error) {
	cur, t, err := s.current(ctx, a, identifier)
	if err != nil {
		return nil, err
	}
	if prev <= 0 {
		return nil, errs.Invalidf("prev_version", "须给出当前版本号", "the current version number is required")
	}
	if prev != cur.Version {
		return nil, &errs.Error{Kind: errs.Conflict, Field: "prev_version",
			ZH: fmt.Sprintf("当前版本是 %d，不是 %d：证照已被他人修改，请刷新后重试", cur.Version, prev),
			EN: fmt.Sprintf("the current version is %d, not %d: the licence was changed meanwhile; reload and try again", cur.Version, prev)}
	}
	if cur.Status != Valid {
		zh, en := StatusName(cur.Status)
		return nil, errs.New(errs.Conflict, "status", fmt.Sprintf("证照状态为“%s”，不能办理变更", zh),
			fmt.Sprintf("the licence is %s; a change needs a valid licence", strings.ToLower(en)))
	}
	keep := func(field, zh, en string, v *string, cur string, normalize func(string) string) error {
		if *v == "" {
			*v = cur
			return nil
		}
		if normalize(*v) != cur {
			return errs.New(errs.Invalid, field, zh, en)
		}
		return nil
	}
	upper := func(v string) string { return strings.ToUpper(strings.TrimSpace(v)) }
	for _, err := range []error{
		keep("type_code", "变更不能修改证照类型", "a change cannot change the licence type", &in.TypeCode, cur.TypeCode, upper),
		keep("number", "变更不能修改证照编号", "a change cannot change the licence number", &in.Number, cur.Number, upper),
		keep("holder_code_type", "变更不能修改持证主体代码类型", "a change cannot change the holder's code type", &in.HolderCodeType, cur.HolderCodeType, strings.TrimSpace),
		keep("holder_code", "变更不能修改持证主体代码", "a change cannot change the holder's code", &in.HolderCode, cur.HolderCode, upper),
	} {
		if err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		v   *string
		cur string
	}{
		{&in.HolderName, cur.HolderName}, {&in.AreaCode, cur.AreaCode}, {&in.ValidFrom, cur.ValidFrom}, {&in.ValidUntil, cur.ValidUntil},
	} {
		if strings.TrimSpace(*f.v) == "" {
			*f.v = f.cur
		}
	}
	if in.Items == nil {
		in.Items = maps.Clone(cur.Items)
	}
	if len(bytes.TrimSpace(in.Extension)) == 0 {
		in.Extension = cur.Extension
	}
	now := s.now()
	p, err := s.prepare(ctx, a, t, in, cur.Version+1, now)
	if err != nil {
		return nil, err
	}
	if sameContent(p, cur) {
		return nil, errs.New(errs.Invalid, "items", "证照内容没有变化", "nothing changed in the licence")
	}
	ev := permitEvent("library.change", a, p, now, map[string]any{"previous": cur.Identifier})
	if err := s.store.SavePermits(ctx, []PermitChange{{Op: OpNewVersion, Permit: p, Prev: prev, PrevStatus: cur.Status, Event: ev}}); err != nil {
		return nil, fmt.Errorf("library: change: %w", err)
	}
	return p, nil
}

// sameContent reports whether two versions say the same (ignoring version, dates of signing
// and of issue).
func sameContent(a, b *Permit) bool {
	return a.HolderName == b.HolderName && a.AreaCode == b.AreaCode && a.ValidFrom == b.ValidFrom &&
		a.ValidUntil == b.ValidUntil && maps.Equal(a.Items, b.Items) && bytes.Equal(a.Extension, b.Extension) &&
		a.IssuerName == b.IssuerName && a.TypeName == b.TypeName
}

// Action is a status change an issuing department can make.
type Action string

// The status actions.
const (
	Suspend Action = "suspend" // 暂停: valid → suspended
	Restore Action = "restore" // 恢复: suspended → valid
	Cancel  Action = "cancel"  // 注销: valid, suspended or revoked → cancelled
	Revoke  Action = "revoke"  // 撤销/吊销: valid or suspended → revoked
)

// StatusChange asks for a status action with a reason and the time it takes effect.
type StatusChange struct {
	Action      Action    `json:"action"`
	Reason      string    `json:"reason"`
	EffectiveAt time.Time `json:"effective_at,omitzero"` // zero: now; may not lie in the future
}

var transitions = map[Action]struct {
	to   Status
	from []Status
}{
	Suspend: {Suspended, []Status{Valid}},
	Restore: {Valid, []Status{Suspended}},
	Cancel:  {Cancelled, []Status{Valid, Suspended, Revoked}},
	Revoke:  {Revoked, []Status{Valid, Suspended}},
}

// SetStatus suspends, restores, cancels or revokes the current version of a permit. Status
// changes make no new version (as for the business licence).
func (s *Service) SetStatus(ctx context.Context, a Actor, identifier string, ch StatusChange) (*Permit, error) {
	t, ok := transitions[ch.Action]
	if !ok {
		return nil, errs.Invalidf("action", "操作 %q 未知，应为 suspend、restore、cancel 或 revoke", "unknown action %q: want suspend, restore, cancel or revoke", ch.Action)
	}
	c := &checker{}
	if c.text("reason", "原因", "the reason", &ch.Reason, MaxReason, true) && len([]rune(ch.Reason)) < 2 {
		c.add("reason", "原因至少 2 个字符", "the reason needs at least 2 characters")
	}
	if err := c.list.Err(); err != nil {
		return nil, err
	}
	cur, _, err := s.current(ctx, a, identifier)
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
	allowed := false
	for _, f := range t.from {
		allowed = allowed || cur.Status == f
	}
	if !allowed {
		zh, en := StatusName(cur.Status)
		return nil, errs.New(errs.Conflict, "action", fmt.Sprintf("证照状态为“%s”，不能执行此操作", zh),
			fmt.Sprintf("the licence is %s; this action does not apply", strings.ToLower(en)))
	}
	p := *cur
	from := p.Status
	p.Status, p.StatusReason, p.StatusAt = t.to, ch.Reason, &at
	ev := permitEvent("library."+string(ch.Action), a, &p, now, map[string]any{"from": from, "reason": ch.Reason, "effective_at": at})
	if err := s.store.SavePermits(ctx, []PermitChange{{Op: OpStatus, Permit: &p, Prev: cur.Version, PrevStatus: from, Event: ev}}); err != nil {
		return nil, fmt.Errorf("library: %s: %w", ch.Action, err)
	}
	return &p, nil
}

var statusNames = map[Status][2]string{
	Valid: {"有效", "Valid"}, Suspended: {"暂停", "Suspended"}, Cancelled: {"注销", "Cancelled"},
	Revoked: {"撤销", "Revoked"}, Expired: {"已过期", "Expired"}, Superseded: {"已被新版本替代", "Superseded"},
}

// StatusName returns the name of a permit status in both languages.
func StatusName(st Status) (zh, en string) {
	n, ok := statusNames[st]
	if !ok {
		return string(st), string(st)
	}
	return n[0], n[1]
}

// Get returns the permit version with this licence identifier (case-insensitive).
func (s *Service) Get(ctx context.Context, identifier string) (*Permit, error) {
	id, _, err := normIdentifier(identifier)
	if err != nil {
		return nil, err
	}
	p, err := s.store.Permit(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return nil, &errs.Error{Kind: errs.NotFound, Field: "identifier", ZH: fmt.Sprintf("未找到标识为 %s 的证照", id),
			EN: fmt.Sprintf("no licence found with identifier %s", id), Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("library: permit: %w", err)
	}
	return p, nil
}

// Current returns the current version of the permit of this type and number.
func (s *Service) Current(ctx context.Context, typeCode, number string) (*Permit, error) {
	typeCode, number = strings.ToUpper(strings.TrimSpace(typeCode)), strings.ToUpper(strings.TrimSpace(number))
	p, err := s.store.CurrentPermit(ctx, typeCode, number)
	if errs.Is(err, errs.NotFound) {
		return nil, &errs.Error{Kind: errs.NotFound, Field: "number", ZH: fmt.Sprintf("未找到类型 %s、编号 %s 的证照", typeCode, number),
			EN: fmt.Sprintf("no licence of type %s with number %s", typeCode, number), Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("library: permit: %w", err)
	}
	return p, nil
}

// Versions returns every version of the permit one of whose versions has this identifier,
// oldest first.
func (s *Service) Versions(ctx context.Context, identifier string) ([]*Permit, error) {
	p, err := s.Get(ctx, identifier)
	if err != nil {
		return nil, err
	}
	vs, err := s.store.PermitVersions(ctx, p.TypeCode, p.Number)
	if err != nil {
		return nil, fmt.Errorf("library: versions: %w", err)
	}
	return vs, nil
}

// ByHolder returns the current versions of a holder's permits with their statuses; codeType
// ("" for any) and typeCode ("" for any) filter. The sharing service lists an entity's licences
// with it.
func (s *Service) ByHolder(ctx context.Context, holderCode, codeType, typeCode string) ([]*Permit, error) {
	holderCode = normHolder(holderCode)
	if holderCode == "" {
		return nil, errs.New(errs.Invalid, "holder_code", "持证主体代码不能为空", "the holder's code is required")
	}
	codeType = strings.TrimSpace(codeType)
	if _, ok := holderCodeTypes[codeType]; codeType != "" && !ok {
		return nil, errs.Invalidf("holder_code_type", "持证主体代码类型 %q 未知", "unknown holder code type %q", codeType)
	}
	ps, err := s.store.PermitsByHolder(ctx, holderCode, codeType, strings.ToUpper(strings.TrimSpace(typeCode)))
	if err != nil {
		return nil, fmt.Errorf("library: by holder: %w", err)
	}
	return ps, nil
}
