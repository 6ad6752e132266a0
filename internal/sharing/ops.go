package sharing

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/ident"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/uscc"
)

// Holder code types a licence may be listed by (STANDARDS §3).
const (
	CodeTypeUSCC  = "001" // 统一社会信用代码
	CodeTypeOther = "099" // other organisation code (legacy 注册号)
)

// Grant sets what a client may do with one licence type (an empty Operations withdraws it).
// by is recorded, e.g. "account:<id>" or "cli".
func (s *Service) Grant(ctx context.Context, by string, p Permission) (*Permission, error) {
	var list errs.List
	p.ClientID, p.TypeCode = strings.TrimSpace(p.ClientID), strings.TrimSpace(p.TypeCode)
	if p.TypeCode == "" {
		p.TypeCode = s.c.Licences.TypeCode()
	}
	if p.ClientID == "" {
		list = append(list, errs.New(errs.Invalid, "client_id", "缺少客户端标识", "the client ID is missing"))
	} else if c, err := s.c.Clients.OIDCClient(ctx, p.ClientID); errs.Is(err, errs.NotFound) {
		list = append(list, errs.Invalidf("client_id", "没有客户端 %s", "there is no client %s", p.ClientID))
	} else if err != nil {
		return nil, fmt.Errorf("sharing: grant: %w", err)
	} else if !c.HasGrant(oidc.GrantClientCredentials) {
		list = append(list, errs.Invalidf("client_id", "客户端 %s 未登记 client_credentials 授权方式，不能调用共享服务",
			"client %s is not registered for the client_credentials grant and cannot call the sharing service", p.ClientID))
	}
	if err := s.knownType(ctx, p.TypeCode); err != nil {
		list = append(list, err)
	}
	ops := make([]Operation, 0, len(p.Operations))
	for _, op := range p.Operations {
		if !slices.Contains(Operations(), op) {
			list = append(list, errs.Invalidf("operations", "未知的操作 %q（可用：query、verify、download、archive）",
				"unknown operation %q (known: query, verify, download, archive)", string(op)))
		} else if !slices.Contains(ops, op) {
			ops = append(ops, op)
		}
	}
	if len(list) > 0 {
		return nil, list
	}
	slices.SortFunc(ops, func(a, b Operation) int { return slices.Index(Operations(), a) - slices.Index(Operations(), b) })
	p.Operations, p.GrantedBy, p.GrantedAt = ops, by, s.now().Truncate(time.Microsecond)
	if err := s.c.Store.SetSharingPermission(ctx, &p); err != nil {
		return nil, fmt.Errorf("sharing: grant: %w", err)
	}
	s.forget(p.ClientID)
	data, _ := json.Marshal(struct {
		TypeCode   string      `json:"type_code"`
		Operations []Operation `json:"operations"`
	}{p.TypeCode, p.Operations})
	if err := s.c.Audit.Append(ctx, audit.Event{Time: p.GrantedAt, Action: "share.permission", Actor: by, Subject: p.ClientID, Data: data}); err != nil {
		return nil, fmt.Errorf("sharing: grant: %w", err)
	}
	return &p, nil
}

// Permissions returns what a client may do.
func (s *Service) Permissions(ctx context.Context, clientID string) ([]Permission, error) {
	ps, err := s.c.Store.SharingPermissions(ctx, clientID)
	if err != nil {
		return nil, fmt.Errorf("sharing: permissions: %w", err)
	}
	return ps, nil
}

// IsUnknownType reports whether err says that a licence type is unknown.
func IsUnknownType(err error) bool {
	e := errs.As(err)
	return e != nil && e.Kind == errs.Invalid && e.Field == "type_code"
}

// typeOf is the licence type a query names: the type in an identifier, the business licence
// for a credit code.
func (s *Service) typeOf(codeOrIdentifier string) string {
	if id, err := ident.Parse(strings.ToUpper(strings.TrimSpace(codeOrIdentifier))); err == nil {
		return id.TypeCode
	}
	return s.c.Licences.TypeCode()
}

// allow checks the token scope and the client's permission for op on a licence type.
func (s *Service) allow(ctx context.Context, c *Caller, op Operation, typeCode string) error {
	if !slices.Contains(c.Scopes, op.Scope()) {
		return errs.Forbiddenf("访问令牌不含 %s 权限范围", "the access token lacks the %s scope", op.Scope())
	}
	ps, err := s.permissions(ctx, c.ClientID)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.TypeCode == typeCode && p.Allows(op) {
			return nil
		}
	}
	return errs.Forbiddenf("本系统无权对证照类型 %s 执行 %s 操作", "this system may not %[2]s licences of type %[1]s", typeCode, string(op))
}

// usage is the data of a usage record (用证记录).
type usage struct {
	Cause      string `json:"use_cause"`
	Item       string `json:"service_item"`
	Case       string `json:"case_number"`
	Identifier string `json:"identifier,omitempty"`
	Result     string `json:"result"`
}

func (s *Service) event(c *Caller, p Purpose, action, subject, identifier, result string, at time.Time) audit.Event {
	data := usage{p.Cause, p.Item, p.Case, identifier, result}.marshal() // as json.Marshal (usage_json.go)
	return audit.Event{Time: at, Action: "share." + action, Actor: c.ClientID, Subject: subject, Data: data}
}

// record appends the usage records, in a transaction shared with concurrent calls (batch.go);
// a call whose use cannot be recorded fails.
func (s *Service) record(ctx context.Context, evs ...audit.Event) error {
	if err := s.rec.append(ctx, s.c.Audit, evs); err != nil {
		return fmt.Errorf("sharing: usage record: %w", err)
	}
	return nil
}

// begin validates the purpose and checks the permission; a refused permission is recorded.
func (s *Service) begin(ctx context.Context, c *Caller, p *Purpose, op Operation, action, typeCode, subject string) error {
	if err := p.Validate(); err != nil {
		return err
	}
	err := s.allow(ctx, c, op, typeCode)
	if errs.Is(err, errs.Forbidden) {
		if rerr := s.record(ctx, s.event(c, *p, action, subject, "", "denied", s.now())); rerr != nil {
			return rerr
		}
	}
	return err
}

// Face is the public part of a licence's face (公开照面信息). Capital and form of
// organisation are not public: they need the entity's consent (NonPublic, consent.go).
type Face struct {
	Name          string `json:"name"`
	Type          string `json:"type"`
	Person        string `json:"person"`
	EstablishedOn string `json:"established_on"`
	TermFrom      string `json:"term_from,omitempty"`
	TermTo        string `json:"term_to,omitempty"`
	Address       string `json:"address"`
	Scope         string `json:"scope"`
}

// Record is a licence as the sharing service returns it: the catalogue metadata and the
// public face items.
type Record struct {
	Identifier     string         `json:"identifier"`
	TypeCode       string         `json:"type_code"`
	Number         string         `json:"number"` // 证照编号: the credit code
	Version        int            `json:"version"`
	HolderName     string         `json:"holder_name"`
	HolderCode     string         `json:"holder_code"`
	HolderCodeType string         `json:"holder_code_type"`
	Kind           license.Kind   `json:"kind,omitempty"` // business licence only
	Region         string         `json:"region"`
	Authority      string         `json:"authority"`
	AuthorityCode  string         `json:"authority_code"`
	IssuedAt       time.Time      `json:"issued_at"`
	Status         license.Status `json:"status"`
	StatusAt       *time.Time     `json:"status_at,omitempty"`
	Face           Face           `json:"face,omitzero"` // business licence only
	// Permits of other types (library.go): the type's name, validity and face items (the
	// public ones, or all under the entity's authorisation).
	TypeName   string            `json:"type_name,omitempty"`
	ValidFrom  string            `json:"valid_from,omitempty"`
	ValidUntil string            `json:"valid_until,omitempty"`
	Items      map[string]string `json:"items,omitempty"`
	// NonPublic holds the non-public items asked for that the entity's authorisation covers;
	// ConsentRequired names those it does not (consent.go).
	NonPublic       *NonPublic     `json:"non_public,omitempty"`
	ConsentRequired *ConsentNotice `json:"consent_required,omitempty"`
}

func (s *Service) recordOf(l *license.Licence) *Record {
	f := l.Face
	return &Record{Identifier: l.Identifier, TypeCode: s.c.Licences.TypeCode(), Number: l.Code, Version: l.Version,
		HolderName: f.Name, HolderCode: l.Code, HolderCodeType: l.CodeType, Kind: l.Kind, Region: l.Region,
		Authority: l.Authority, AuthorityCode: l.AuthorityCode, IssuedAt: l.IssuedAt, Status: l.Status, StatusAt: l.StatusAt,
		Face: Face{Name: f.Name, Type: f.Type, Person: f.Person, EstablishedOn: f.EstablishedOn, TermFrom: f.TermFrom,
			TermTo: f.TermTo, Address: f.Address, Scope: f.Scope}}
}

// lookup finds a licence version by identifier; a malformed identifier is not found.
func (s *Service) lookup(ctx context.Context, identifier string) (*license.Licence, error) {
	identifier = strings.TrimSpace(identifier)
	if identifier == "" {
		return nil, errs.New(errs.Invalid, "identifier", "缺少电子证照标识", "the licence identifier is missing")
	}
	l, err := s.c.Licences.Get(ctx, identifier)
	if errs.Is(err, errs.Invalid) {
		return nil, errs.NotFoundf("未找到标识为 %s 的证照", "no licence found with identifier %s", identifier)
	}
	return l, err
}

// Query returns the public face data of the licence version with this identifier.
func (s *Service) Query(ctx context.Context, c *Caller, p Purpose, identifier string) (*Record, error) {
	return s.QueryItems(ctx, c, p, identifier, nil)
}

// QueryItems is Query that also asks for non-public items (ItemCapital, ItemForm, or "*"),
// which the entity's authorisation must cover; those it does not are named in
// Record.ConsentRequired.
func (s *Service) QueryItems(ctx context.Context, c *Caller, p Purpose, identifier string, nonPublic []string) (*Record, error) {
	want, err := nonPublicItems(nonPublic)
	if err != nil {
		return nil, err
	}
	identifier = strings.ToUpper(strings.TrimSpace(identifier))
	typ := s.typeOf(identifier) // parsed once: the permit check below is isPermitType
	if err := s.begin(ctx, c, &p, OpQuery, "query", typ, identifier); err != nil {
		return nil, err
	}
	if identifier == "" {
		return nil, errs.New(errs.Invalid, "identifier", "缺少电子证照标识", "the licence identifier is missing")
	}
	now := s.now()
	if s.lib != nil && typ != s.c.Licences.TypeCode() {
		return s.queryPermit(ctx, c, p, identifier, len(want) > 0, now)
	}
	l, err := s.lookup(ctx, identifier)
	switch {
	case errs.Is(err, errs.NotFound):
		if rerr := s.record(ctx, s.event(c, p, "query", identifier, identifier, "not_found", now)); rerr != nil {
			return nil, rerr
		}
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("sharing: query: %w", err)
	}
	if len(want) > 0 {
		return s.queryNonPublic(ctx, c, p, l, want, now)
	}
	if err := s.record(ctx, s.event(c, p, "query", l.Code, l.Identifier, "ok", now)); err != nil {
		return nil, err
	}
	return s.recordOf(l), nil
}

// QueryResult is one answer of a batch query: the record, or why there is none.
type QueryResult struct {
	Identifier string
	Record     *Record
	Err        error // errs.NotFound or errs.Invalid
}

// BatchQuery queries up to MaxBatch identifiers with one purpose; one usage record per
// identifier, all appended in one transaction.
// Each identifier needs the query permission of its type (permits.go): one of a type the
// caller may not query is refused alone (errs.Forbidden, recorded as denied).
func (s *Service) BatchQuery(ctx context.Context, c *Caller, p Purpose, identifiers []string) ([]QueryResult, error) {
	types, err := s.beginAny(ctx, c, &p, OpQuery, "query")
	if err != nil {
		return nil, err
	}
	if err := checkBatch(len(identifiers)); err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]QueryResult, len(identifiers))
	evs := make([]audit.Event, len(identifiers))
	permits := batchPermits{s: s}
	for i, id := range identifiers {
		id = strings.ToUpper(strings.TrimSpace(id))
		out[i].Identifier = id
		if t := s.typeOf(id); !types.allows(t) {
			out[i].Err = deniedType(OpQuery, t)
			evs[i] = s.event(c, p, "query", id, id, "denied", now)
			continue
		} else if s.isPermitType(id) {
			if out[i], evs[i], err = permits.query(ctx, c, p, id, now); err != nil {
				return nil, err
			}
			continue
		}
		l, err := s.lookup(ctx, id)
		switch {
		case errs.Is(err, errs.NotFound) || errs.Is(err, errs.Invalid):
			out[i].Err = err
			evs[i] = s.event(c, p, "query", id, id, "not_found", now)
		case err != nil:
			return nil, fmt.Errorf("sharing: batch query: %w", err)
		default:
			out[i].Record = s.recordOf(l)
			evs[i] = s.event(c, p, "query", l.Code, l.Identifier, "ok", now)
		}
	}
	if err := s.record(ctx, evs...); err != nil {
		return nil, err
	}
	return out, nil
}

func checkBatch(n int) error {
	switch {
	case n == 0:
		return errs.New(errs.Invalid, "items", "批量请求不能为空", "the batch is empty")
	case n > MaxBatch:
		return errs.Invalidf("items", "每次至多 %d 条（收到 %d 条）", "at most %d items per call (got %d)", MaxBatch, n)
	}
	return nil
}

// ListByHolder lists an entity's current licences by holder code and code type: of one type,
// or, with typeCode "", of every type the caller may query — the business licence first, then
// the permits of the licence library (library.go).
func (s *Service) ListByHolder(ctx context.Context, c *Caller, p Purpose, holderCode, codeType, typeCode string) ([]*Record, error) {
	holderCode, codeType, typeCode = uscc.Normalize(holderCode), strings.TrimSpace(codeType), strings.ToUpper(strings.TrimSpace(typeCode))
	if typeCode == "" && s.lib != nil {
		return s.listAll(ctx, c, p, holderCode, codeType)
	}
	if typeCode == "" {
		typeCode = s.c.Licences.TypeCode()
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	business := typeCode == s.c.Licences.TypeCode()
	var list errs.List
	if holderCode == "" {
		list = append(list, errs.New(errs.Invalid, "holder_code", "缺少持证主体代码", "the holder code is missing"))
	}
	if business && codeType != CodeTypeUSCC && codeType != CodeTypeOther {
		list = append(list, errs.Invalidf("holder_code_type", "持证主体代码类型须为 001 或 099（收到 %q）",
			"the holder code type must be 001 or 099 (got %q)", codeType))
	}
	if err := s.knownType(ctx, typeCode); err != nil {
		list = append(list, err)
	}
	if len(list) > 0 {
		return nil, list
	}
	if err := s.begin(ctx, c, &p, OpQuery, "list", typeCode, holderCode); err != nil {
		return nil, err
	}
	if !business {
		return s.listPermits(ctx, c, p, holderCode, codeType, []string{typeCode})
	}
	now := s.now()
	l, err := s.c.Licences.Get(ctx, holderCode)
	if err != nil && !errs.Is(err, errs.NotFound) && !errs.Is(err, errs.Invalid) {
		return nil, fmt.Errorf("sharing: list: %w", err)
	}
	out := []*Record{}
	result := "none"
	if err == nil && l.CodeType == codeType {
		out, result = append(out, s.recordOf(l)), "ok"
	}
	if err := s.record(ctx, s.event(c, p, "list", holderCode, "", result, now)); err != nil {
		return nil, err
	}
	return out, nil
}

// Fields are what a department presents to verify (核验) a licence: the identifier or the
// credit code, and the face items it wants checked.
type Fields struct {
	Identifier    string `json:"identifier,omitempty"`
	Code          string `json:"code,omitempty"`
	Name          string `json:"name,omitempty"`
	Person        string `json:"person,omitempty"`
	Type          string `json:"type,omitempty"`
	Address       string `json:"address,omitempty"`
	EstablishedOn string `json:"established_on,omitempty"`
	// A permit of the licence library (library.go) is named by its identifier, or by its type
	// and number (证照编号); Code and Name are then its holder's code and name.
	TypeCode string `json:"type_code,omitempty"`
	Number   string `json:"number,omitempty"`
}

// Verification is the answer of a verification by fields.
type Verification struct {
	Result     int            `json:"result"` // STANDARDS §7: 0..7
	ZH         string         `json:"zh"`
	EN         string         `json:"en"`
	Wrong      []string       `json:"wrong_fields,omitempty"` // the fields that do not match (result 7)
	Identifier string         `json:"identifier,omitempty"`   // of the version compared with
	Code       string         `json:"code,omitempty"`
	Status     license.Status `json:"status,omitempty"`
	// Denied is set on a batch item of a licence type the caller may not verify (Result is then
	// 4, and ZH/EN say why).
	Denied bool `json:"denied,omitempty"`
}

// VerifyFields verifies one licence by fields.
func (s *Service) VerifyFields(ctx context.Context, c *Caller, p Purpose, f Fields) (*Verification, error) {
	typ := s.fieldsType(f)
	if err := s.begin(ctx, c, &p, OpVerify, "verify", typ, strings.TrimSpace(f.Code)); err != nil {
		return nil, err
	}
	verify := s.verify
	if typ != s.c.Licences.TypeCode() {
		verify = s.verifyPermit
	}
	v, err := verify(ctx, f)
	if err != nil {
		return nil, err
	}
	if err := s.record(ctx, s.verifyEvent(c, p, f, v, s.now())); err != nil {
		return nil, err
	}
	return v, nil
}

// BatchVerify verifies up to MaxBatch licences with one purpose; one usage record per
// licence, all appended in one transaction. Each item needs the verify permission of its type
// (permits.go): one of a type the caller may not verify is answered Denied (recorded as denied).
func (s *Service) BatchVerify(ctx context.Context, c *Caller, p Purpose, fs []Fields) ([]*Verification, error) {
	types, err := s.beginAny(ctx, c, &p, OpVerify, "verify")
	if err != nil {
		return nil, err
	}
	if err := checkBatch(len(fs)); err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]*Verification, len(fs))
	evs := make([]audit.Event, len(fs))
	business := s.c.Licences.TypeCode()
	for i, f := range fs {
		verify := s.verify
		switch t := s.fieldsType(f); {
		case !types.allows(t):
			out[i] = deniedVerification(t)
			evs[i] = s.event(c, p, "verify", cmp(uscc.Normalize(f.Code), strings.ToUpper(strings.TrimSpace(f.Identifier))),
				strings.ToUpper(strings.TrimSpace(f.Identifier)), "denied", now)
			continue
		case t != business:
			verify = s.verifyPermit
		}
		v, err := verify(ctx, f)
		if err != nil {
			return nil, err
		}
		out[i], evs[i] = v, s.verifyEvent(c, p, f, v, now)
	}
	if err := s.record(ctx, evs...); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) verifyEvent(c *Caller, p Purpose, f Fields, v *Verification, at time.Time) audit.Event {
	subject := v.Code
	if subject == "" {
		subject = cmp(uscc.Normalize(f.Code), strings.ToUpper(strings.TrimSpace(f.Identifier)))
	}
	return s.event(c, p, "verify", subject, v.Identifier, "result:"+strconv.Itoa(v.Result), at)
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func verdict(result int, wrong ...string) *Verification {
	zh, en := document.ResultWords(result)
	return &Verification{Result: result, ZH: zh, EN: en, Wrong: wrong}
}

// verify compares the fields with the register.
func (s *Service) verify(ctx context.Context, f Fields) (*Verification, error) {
	if f == (Fields{}) {
		return verdict(document.ResultNoData), nil
	}
	id, code := strings.ToUpper(strings.TrimSpace(f.Identifier)), uscc.Normalize(f.Code)
	if id == "" && code == "" {
		return verdict(document.ResultNotEnough), nil
	}
	var l *license.Licence
	var err error
	if id != "" {
		if s.typeOf(id) != s.c.Licences.TypeCode() {
			return verdict(document.ResultNoSuchLicence), nil
		}
		l, err = s.c.Licences.Get(ctx, id)
	} else {
		l, err = s.c.Licences.Get(ctx, code)
	}
	if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Invalid) {
		return verdict(document.ResultNoSuchLicence), nil
	}
	if err != nil {
		return nil, fmt.Errorf("sharing: verify: %w", err)
	}
	var wrong []string
	check := func(field, given, want string) {
		if given != "" && norm(given) != norm(want) {
			wrong = append(wrong, field)
		}
	}
	check("code", code, l.Code)
	check("name", f.Name, l.Face.Name)
	check("person", f.Person, l.Face.Person)
	check("type", f.Type, l.Face.Type)
	check("address", f.Address, l.Face.Address)
	check("established_on", f.EstablishedOn, l.Face.EstablishedOn)
	var v *Verification
	switch {
	case len(wrong) > 0:
		v = verdict(document.ResultWrong, wrong...)
		zh, en := make([]string, len(wrong)), make([]string, len(wrong))
		for i, w := range wrong {
			zh[i], en[i] = fieldNames[w].zh, fieldNames[w].en
		}
		v.ZH += "：" + strings.Join(zh, "、") + "不符"
		v.EN += ": " + strings.Join(en, ", ") + " do not match"
	case l.Status == license.Active:
		v = verdict(document.ResultValid)
	case l.Status == license.Suspended:
		v = verdict(document.ResultSuspended)
	default: // cancelled, revoked, superseded
		v = verdict(document.ResultNoLonger)
	}
	v.Identifier, v.Code, v.Status = l.Identifier, l.Code, l.Status
	return v, nil
}

var fieldNames = map[string]struct{ zh, en string }{
	"code":           {"统一社会信用代码", "credit code"},
	"name":           {"名称", "name"},
	"person":         {"法定代表人（负责人）", "legal representative"},
	"type":           {"类型", "type"},
	"address":        {"住所", "address"},
	"established_on": {"成立日期", "date of establishment"},
}

// norm makes a face item comparable: no spaces, full-width brackets as half-width.
var normReplacer = strings.NewReplacer(" ", "", "\u3000", "", "（", "(", "）", ")")

func norm(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, " \u3000（）") { // the common case: nothing to replace, no allocation
		return s
	}
	return normReplacer.Replace(s)
}

// VerifyFile verifies a licence file (OFD or PDF) with document.Service.
func (s *Service) VerifyFile(ctx context.Context, c *Caller, p Purpose, file []byte) (*document.Report, error) {
	return s.verifyDoc(ctx, c, p, "verify_file", func() (*document.Report, error) { return s.c.Documents.Verify(ctx, file) })
}

// VerifyQR verifies the content of a licence QR code with document.Service.
func (s *Service) VerifyQR(ctx context.Context, c *Caller, p Purpose, token string) (*document.Report, error) {
	return s.verifyDoc(ctx, c, p, "verify_qr", func() (*document.Report, error) { return s.c.Documents.VerifyToken(ctx, token) })
}

// The caller needs the verify permission of some licence type to start and, once the file is
// read, of its type (a permit's or the business licence's) to get the report (permits.go).
func (s *Service) verifyDoc(ctx context.Context, c *Caller, p Purpose, action string, verify func() (*document.Report, error)) (*document.Report, error) {
	types, err := s.beginAny(ctx, c, &p, OpVerify, action)
	if err != nil {
		return nil, err
	}
	now := s.now()
	r, err := verify()
	if err != nil {
		return nil, fmt.Errorf("sharing: %s: %w", action, err)
	}
	subject := s.docSubject(ctx, r)
	if t, ok := s.docAllowed(types, r); !ok {
		if err := s.record(ctx, s.event(c, p, action, subject, r.Identifier, "denied", now)); err != nil {
			return nil, err
		}
		return nil, deniedType(OpVerify, t)
	}
	if err := s.record(ctx, s.event(c, p, action, subject, r.Identifier, fmt.Sprintf("result:%d", r.Result), now)); err != nil {
		return nil, err
	}
	return r, nil
}
