package signing

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/uscc"
)

// NewRequest is what a portal sends.
type NewRequest struct {
	EntityCode  string `json:"entity_code"`
	Title       string `json:"title"`
	Purpose     string `json:"purpose"`
	ServiceItem string `json:"service_item,omitempty"`
	// Format is optional ("pdf" or "ofd"); when given it must be what the document is.
	Format string `json:"format,omitempty"`
	// Document is the file, base64 (standard alphabet, padding optional).
	Document string `json:"document"`
}

// text checks a free-text field: required, at most max characters, no control characters but
// line breaks.
func text(list *errs.List, field, v, zh, en string, max int) string {
	v = strings.TrimSpace(v)
	switch n := utf8.RuneCountInString(v); {
	case n == 0:
		*list = append(*list, errs.New(errs.Invalid, field, "缺少"+zh, "the "+en+" is missing"))
	case !utf8.ValidString(v):
		*list = append(*list, errs.New(errs.Invalid, field, zh+"不是有效的 UTF-8 文本", "the "+en+" is not valid UTF-8"))
	case n > max:
		*list = append(*list, errs.Invalidf(field, zh+"过长（%d 字，上限 %d）", "the "+en+" is too long (%d characters, limit %d)", n, max))
	default:
		if i := strings.IndexFunc(v, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }); i >= 0 {
			*list = append(*list, errs.Invalidf(field, zh+"的第 %d 个字符是控制字符", "the "+en+" has a control character at character %d",
				utf8.RuneCountInString(v[:i])+1))
		}
	}
	return v
}

func badItem(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-:", r))
}

// decodeDocument reads the base64 document, naming the position of a bad character.
func decodeDocument(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
	if s == "" {
		return nil, errs.New(errs.Invalid, "document", "缺少待签署的文件（base64 编码的 PDF 或 OFD）", "the document (a PDF or OFD, base64) is missing")
	}
	if max := base64.StdEncoding.EncodedLen(MaxDocument); len(s) > max+2 {
		return nil, &errs.Error{Kind: errs.TooLarge, Field: "document",
			ZH: fmt.Sprintf("文件过大：上限 %d MB", MaxDocument>>20), EN: fmt.Sprintf("the document is too large: the limit is %d MB", MaxDocument>>20)}
	}
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		var ce base64.CorruptInputError
		pos := 0
		if e, ok := err.(base64.CorruptInputError); ok {
			ce = e
			pos = int(ce) + 1
		}
		return nil, errs.Invalidf("document", "文件不是有效的 base64 编码（第 %d 个字符有误）", "the document is not valid base64 (character %d is wrong)", pos)
	}
	if len(b) > MaxDocument {
		return nil, &errs.Error{Kind: errs.TooLarge, Field: "document",
			ZH: fmt.Sprintf("文件过大（%d 字节）：上限 %d MB", len(b), MaxDocument>>20), EN: fmt.Sprintf("the document is too large (%d bytes): the limit is %d MB", len(b), MaxDocument>>20)}
	}
	return b, nil
}

// Submit records a portal's request that the entity sign a document. The document is checked
// (a real PDF or OFD, at most MaxDocument bytes) and the entity must have an active licence.
// The request is recorded in the audit log (sign.request) with the document's SM3 hash.
func (s *Service) Submit(ctx context.Context, c *Caller, in NewRequest) (*Request, error) {
	var list errs.List
	code := uscc.Normalize(in.EntityCode)
	// A code that fails its check is refused naming the problem, unless the register holds it
	// (operators allow-list some issued codes that fail a check).
	var codeProblem *errs.Error
	switch {
	case code == "":
		list = append(list, errs.New(errs.Invalid, "entity_code", "缺少市场主体的统一社会信用代码", "the entity's credit code is missing"))
	case len(code) == 15:
		if err := uscc.CheckRegNo(code); err != nil {
			codeProblem = errs.Invalidf("entity_code", "注册号 %s 无效", "invalid registration number %s", code)
		}
	default:
		if err := uscc.Check(code); err != nil {
			codeProblem = errs.Invalidf("entity_code", "统一社会信用代码 %s 无效", "invalid credit code %s", code)
			var p *uscc.Problem
			if errors.As(err, &p) {
				codeProblem.ZH, codeProblem.EN = codeProblem.ZH+"："+p.MessageZH(), codeProblem.EN+": "+p.MessageEN()
			}
		}
	}
	if codeProblem != nil && len(code) <= 32 {
		if _, err := s.c.Licences.Get(ctx, code); err == nil {
			codeProblem = nil
		}
	}
	if codeProblem != nil {
		list = append(list, codeProblem)
	}
	title := text(&list, "title", in.Title, "标题", "title", MaxTitle)
	purpose := text(&list, "purpose", in.Purpose, "签署事由", "purpose", MaxPurpose)
	item := strings.TrimSpace(in.ServiceItem)
	if len(item) > maxServiceItem || strings.IndexFunc(item, badItem) >= 0 {
		list = append(list, errs.New(errs.Invalid, "service_item", "事项编码只能由字母、数字和 ._-: 组成，至多 64 个字符",
			"the service item code may hold letters, digits and ._-: only, at most 64 characters"))
	}
	var want document.Format
	if f := strings.TrimSpace(in.Format); f != "" {
		switch document.Format(strings.ToLower(f)) {
		case document.PDF, document.OFD:
			want = document.Format(strings.ToLower(f))
		default:
			list = append(list, errs.Invalidf("format", "文件格式 %q 不支持，应为 pdf 或 ofd", "format %q is not supported: want pdf or ofd", f))
		}
	}
	doc, err := decodeDocument(in.Document)
	if err != nil {
		if errs.Is(err, errs.TooLarge) {
			return nil, err
		}
		list = append(list, errs.As(err))
	}
	var ins *document.Inspection
	if doc != nil {
		if ins, err = s.c.Documents.Inspect(doc); err != nil {
			if e := errs.As(err); e != nil {
				list = append(list, e)
			} else {
				return nil, err
			}
		} else if want != "" && ins.Format != want {
			list = append(list, errs.Invalidf("format", "声明的格式为 %s，但文件是 %s", "the format says %s but the document is a %s", want, ins.Format))
		}
	}
	if err := list.Err(); err != nil {
		return nil, err
	}
	l, err := s.c.Licences.Get(ctx, code)
	if errs.Is(err, errs.NotFound) {
		return nil, &errs.Error{Kind: errs.NotFound, Field: "entity_code", ZH: "登记系统中没有统一社会信用代码为 " + code + " 的市场主体",
			EN: "the register has no entity with credit code " + code, Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("signing: entity %s: %w", code, err)
	}
	if l.Status != license.Active {
		zh, en := license.StatusName(l.Status)
		return nil, errs.New(errs.Conflict, "entity_code", "该市场主体的营业执照状态为“"+zh+"”，不能签署", "the entity's licence is "+en+"; it cannot sign")
	}
	now := s.now()
	h := gm.SM3(doc)
	r := &Request{ID: newID(), EntityCode: code, EntityName: l.Face.Name, ClientID: c.ClientID, ClientName: c.Name,
		Department: c.Department, Title: title, Purpose: purpose, ServiceItem: item, Format: string(ins.Format), Pages: ins.Pages,
		DocTitle: ins.Title, DocText: ins.Text, DocSize: len(doc), DocHash: h[:], Document: doc, Status: Pending,
		CreatedAt: now, ExpiresAt: now.Add(s.c.TTL)}
	ev := event("sign.request", c.actor(), code, now, map[string]any{"request": r.ID, "client": c.ClientID, "client_name": c.Name,
		"title": title, "purpose": purpose, "service_item": item, "format": r.Format, "pages": r.Pages, "size": r.DocSize,
		"document_sm3": hex.EncodeToString(r.DocHash), "expires_at": r.ExpiresAt})
	if err := s.c.Store.CreateSigningRequest(ctx, r, ev); err != nil {
		return nil, fmt.Errorf("signing: submit: %w", err)
	}
	r.Document = nil
	return r, nil
}

func errNoRequest(id string) error {
	return errs.NotFoundf("没有编号为 %s 的签署请求", "no signing request %s", id)
}

// load returns a request; an unknown ID is errs.NotFound with a message.
func (s *Service) load(ctx context.Context, id string, files bool) (*Request, error) {
	r, err := s.c.Store.SigningRequest(ctx, strings.TrimSpace(id), files)
	if errs.Is(err, errs.NotFound) {
		return nil, errNoRequest(id)
	}
	if err != nil {
		return nil, fmt.Errorf("signing: request %s: %w", id, err)
	}
	return r, nil
}

// Get returns the caller's request (without files) with its effective status. Another portal's
// request is errs.NotFound, as is an unknown one.
func (s *Service) Get(ctx context.Context, c *Caller, id string) (*Request, error) {
	r, err := s.load(ctx, id, false)
	if err != nil {
		return nil, err
	}
	if r.ClientID != c.ClientID {
		return nil, errNoRequest(id)
	}
	r.Status = r.StatusAt(s.now())
	return r, nil
}

// SignedDocument returns the sealed document of the caller's request once it is signed
// (errs.Conflict before, saying the status).
func (s *Service) SignedDocument(ctx context.Context, c *Caller, id string) (*Request, error) {
	r, err := s.load(ctx, id, true)
	if err != nil {
		return nil, err
	}
	if r.ClientID != c.ClientID {
		return nil, errNoRequest(id)
	}
	switch st := r.StatusAt(s.now()); st {
	case Signed:
		r.Document = nil
		return r, nil
	case Pending:
		return nil, errs.Conflictf("签署请求尚未确认", "the signing request is not confirmed yet")
	default:
		return nil, errs.Conflictf("签署请求的状态为 %s，没有已签署的文件", "the signing request is %s; there is no signed document", st)
	}
}

// Item is a pending request as a person sees it: the request and the role in which they may
// sign it.
type Item struct {
	*Request
	Role *identity.Role
}

// ForPerson lists the pending requests the person may confirm: those of every entity they hold
// or have a role in force for, with an active licence; an agent sees a request that names a
// service item only when their grant covers it. Newest first.
func (s *Service) ForPerson(ctx context.Context, personID string) ([]Item, error) {
	roles, err := s.c.Identity.Roles(ctx, personID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	by := map[string]*identity.Role{}
	var codes []string
	for _, r := range roles {
		if r.Licence.Status != license.Active || r.Grant != nil && !r.Grant.InForceAt(now) {
			continue
		}
		code := r.Licence.Code
		if _, dup := by[code]; !dup {
			codes = append(codes, code)
		}
		if prev := by[code]; prev == nil || r.Kind == identity.RoleHolder {
			by[code] = r
		}
	}
	if len(codes) == 0 {
		return nil, nil
	}
	reqs, err := s.c.Store.PendingSigningRequests(ctx, codes, now)
	if err != nil {
		return nil, fmt.Errorf("signing: pending requests: %w", err)
	}
	var out []Item
	for _, q := range reqs {
		r := by[q.EntityCode]
		if r == nil || r.Grant != nil && !r.Grant.Allows(q.ServiceItem) {
			continue
		}
		out = append(out, Item{Request: q, Role: r})
	}
	return out, nil
}

// View returns a request with its document for the person to preview, with the role in which
// they may act on it. A person who may not act for the entity (or, being an agent, for the
// request's service item) is refused with errs.Forbidden.
func (s *Service) View(ctx context.Context, personID, id string) (*Item, error) {
	q, err := s.load(ctx, id, true)
	if err != nil {
		return nil, err
	}
	r, err := s.c.Identity.CanAct(ctx, personID, q.EntityCode, q.ServiceItem, s.now())
	if err != nil {
		return nil, err
	}
	q.Status = q.StatusAt(s.now())
	return &Item{Request: q, Role: r}, nil
}

// decidable says whether a request can still be confirmed or declined at now.
func decidable(r *Request, s *Service) error {
	switch r.StatusAt(s.now()) {
	case Pending:
		return nil
	case Expired:
		return errs.New(errs.Conflict, "request", "签署请求已过期", "the signing request has expired")
	case Signed:
		return errs.New(errs.Conflict, "request", "此文件已经签署，不能重复确认", "this document was already signed")
	case Declined:
		return errs.New(errs.Conflict, "request", "此签署请求已被拒绝", "this signing request was declined")
	}
	return errs.New(errs.Conflict, "request", "签署请求的状态不允许此操作", "the signing request's state does not allow this")
}

// Confirm signs the request's document with the entity's seal after checking that the person
// may act for the entity (and the request's service item) and that proof confirms it: the
// licence PIN (holder), the personal PIN (administrator, agent) or a passkey. Only a pending
// request can be confirmed, once; of concurrent confirmations exactly one succeeds. The
// confirmation and the signature are one audit event (sign.confirm).
func (s *Service) Confirm(ctx context.Context, personID, id string, proof identity.Proof) (*Request, error) {
	q, err := s.load(ctx, id, true)
	if err != nil {
		return nil, err
	}
	if err := decidable(q, s); err != nil {
		return nil, err
	}
	who, err := s.c.Identity.Authorize(ctx, personID, q.EntityCode, q.ServiceItem, proof)
	if err != nil {
		return nil, err
	}
	l, err := s.c.Licences.Get(ctx, q.EntityCode)
	if err != nil {
		return nil, fmt.Errorf("signing: entity %s: %w", q.EntityCode, err)
	}
	signed, err := s.c.Documents.SignForEntity(ctx, q.Document, document.EntitySigning{Code: l.Code, Name: l.Face.Name, Reason: q.Title})
	if err != nil {
		return nil, fmt.Errorf("signing: sign %s: %w", q.ID, err)
	}
	now := s.now()
	if err := decidable(q, s); err != nil { // the proof may have taken a while
		return nil, err
	}
	h := gm.SM3(signed.File)
	n := *q
	n.Status, n.DecidedAt, n.PersonID, n.Role, n.GrantID, n.ACR, n.DeviceID = Signed, now, who.PersonID, who.Role, who.GrantID, who.ACR, who.DeviceID
	n.SignedDoc, n.SignedHash, n.CertSerial, n.SealID = signed.File, h[:], signed.CertSerial, signed.SealID
	ev := event("sign.confirm", "person:"+who.PersonID, q.EntityCode, now, map[string]any{"request": q.ID, "client": q.ClientID,
		"client_name": q.ClientName, "title": q.Title, "role": who.Role, "grant": who.GrantID, "acr": who.ACR, "device": who.DeviceID,
		"format": q.Format, "document_sm3": hex.EncodeToString(q.DocHash), "signed_sm3": hex.EncodeToString(n.SignedHash),
		"cert_serial": n.CertSerial, "seal": n.SealID, "entity_name": l.Face.Name})
	if err := s.c.Store.UpdateSigningRequest(ctx, &n, Pending, ev); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, errs.New(errs.Conflict, "request", "签署请求已由他人处理", "the signing request was decided meanwhile")
		}
		return nil, fmt.Errorf("signing: confirm %s: %w", q.ID, err)
	}
	n.Document = nil
	return &n, nil
}

// Decline refuses the request for the entity. The person must be able to act for it (no PIN is
// needed to refuse); the decline is recorded (sign.decline).
func (s *Service) Decline(ctx context.Context, personID, id string) (*Request, error) {
	q, err := s.load(ctx, id, false)
	if err != nil {
		return nil, err
	}
	r, err := s.c.Identity.CanAct(ctx, personID, q.EntityCode, q.ServiceItem, s.now())
	if err != nil {
		return nil, err
	}
	if err := decidable(q, s); err != nil {
		return nil, err
	}
	now := s.now()
	n := *q
	n.Status, n.DecidedAt, n.PersonID, n.Role = Declined, now, personID, r.Kind
	if r.Grant != nil {
		n.GrantID = r.Grant.ID
	}
	ev := event("sign.decline", "person:"+personID, q.EntityCode, now, map[string]any{"request": q.ID, "client": q.ClientID,
		"client_name": q.ClientName, "title": q.Title, "role": r.Kind, "grant": n.GrantID})
	if err := s.c.Store.UpdateSigningRequest(ctx, &n, Pending, ev); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, errs.New(errs.Conflict, "request", "签署请求已由他人处理", "the signing request was decided meanwhile")
		}
		return nil, fmt.Errorf("signing: decline %s: %w", q.ID, err)
	}
	return &n, nil
}
