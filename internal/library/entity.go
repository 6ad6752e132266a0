package library

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/citizen"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/license"
)

// Limits of a service record.
const (
	maxRecordText    = 200
	MaxRecordUses    = 100      // licences per record
	MaxMaterials     = 64 << 10 // bytes of materials JSON
	maxRecordCodeLen = 64
)

// RecordService stores a service record (办件) of a holder, with an audit event
// (library.record, Subject = the holder code). The catalogue's applications call it when a case
// is handled; the caller authenticates the department.
func (s *Service) RecordService(ctx context.Context, r Record) (*Record, error) {
	c := &checker{}
	r.HolderCode = normHolder(r.HolderCode)
	if r.HolderCode == "" {
		c.add("holder_code", "持证主体代码不能为空", "the holder's code is required")
	} else if !docPattern.MatchString(r.HolderCode) {
		c.add("holder_code", "持证主体代码应为 1 到 64 个字母或数字", "the holder's code must be 1 to 64 letters or digits")
	}
	c.text("item", "事项编码", "the service item code", &r.Item, maxRecordCodeLen, true)
	c.text("item_name", "事项名称", "the service item's name", &r.ItemName, maxRecordText, true)
	c.text("case", "办件编号", "the case number", &r.Case, maxRecordCodeLen, true)
	c.text("department", "办理部门代码", "the department's code", &r.Department, maxRecordCodeLen+64, true)
	c.text("department_name", "办理部门名称", "the department's name", &r.DepartmentName, maxRecordText, true)
	if len(r.Licences) > MaxRecordUses {
		c.add("licences", fmt.Sprintf("每条办件最多关联 %d 张证照", MaxRecordUses), fmt.Sprintf("a record may name at most %d licences", MaxRecordUses))
	}
	for i := range r.Licences {
		id, _, err := normIdentifier(r.Licences[i])
		if err != nil {
			e := *errs.As(err)
			e.Field = fmt.Sprintf("licences[%d]", i)
			c.list = append(c.list, &e)
			continue
		}
		r.Licences[i] = id
	}
	if r.Licences == nil {
		r.Licences = []string{}
	}
	if m := bytes.TrimSpace(r.Materials); len(m) == 0 || string(m) == "null" {
		r.Materials = nil
	} else if len(m) > MaxMaterials || !json.Valid(m) {
		c.add("materials", fmt.Sprintf("材料信息应为不超过 %d 字节的 JSON", MaxMaterials), fmt.Sprintf("the materials must be JSON of at most %d bytes", MaxMaterials))
	} else {
		var b bytes.Buffer
		_ = json.Compact(&b, m)
		r.Materials = b.Bytes()
	}
	now := s.now()
	if r.At.IsZero() {
		r.At = now
	}
	r.At = r.At.UTC().Truncate(time.Second)
	if r.At.After(now.Add(time.Minute)) {
		c.add("at", "办理时间不能晚于现在", "the time of the case cannot be in the future")
	}
	if err := c.list.Err(); err != nil {
		return nil, err
	}
	// A caller may name the record (the catalogue uses the application's ID, so that recording
	// a case again is a conflict rather than a second record).
	if r.ID == "" {
		r.ID = rand.Text()
	} else if !docPattern.MatchString(r.ID) {
		return nil, errs.New(errs.Invalid, "id", "办件记录标识应为 1 到 64 个字母或数字", "a record ID must be 1 to 64 letters or digits")
	}
	b, _ := json.Marshal(map[string]any{"id": r.ID, "item": r.Item, "case": r.Case, "licences": r.Licences})
	ev := audit.Event{Time: now, Action: "library.record", Actor: r.Department, Subject: r.HolderCode, Data: b}
	if err := s.store.AddRecord(ctx, &r, ev); err != nil {
		return nil, fmt.Errorf("library: record: %w", err)
	}
	return &r, nil
}

// Records returns a page of the holder's service records, newest first, and the cursor of the
// next page ("" on the last).
func (s *Service) Records(ctx context.Context, holderCode string, p Page) ([]Record, string, error) {
	holderCode = normHolder(holderCode)
	if p.Limit == 0 {
		p.Limit = DefaultRecords
	}
	if p.Limit < 1 || p.Limit > MaxRecords {
		return nil, "", errs.Invalidf("limit", "每页条数应在 1 到 %d 之间", "limit must be between 1 and %d", MaxRecords)
	}
	if p.Before != "" && !allDigits(p.Before) {
		return nil, "", errs.New(errs.Invalid, "cursor", "分页游标无效", "invalid cursor")
	}
	rs, next, err := s.store.Records(ctx, holderCode, p)
	if err != nil {
		return nil, "", fmt.Errorf("library: records: %w", err)
	}
	return rs, next, nil
}

// Entity is everything the library holds about one entity.
type Entity struct {
	Code string `json:"code"`
	// Licence is the current business licence (nil when the holder has none, e.g. a person),
	// Versions every version of it, oldest first.
	Licence  *license.Licence   `json:"licence,omitempty"`
	Versions []*license.Licence `json:"versions"`
	Permits  []*Permit          `json:"permits"` // current versions of the other licences
	Records  []Record           `json:"records"` // the most recent service records
	// NextRecords is the cursor of the older records ("" when there are none).
	NextRecords string `json:"next_records,omitempty"`
}

// Entity returns the entity with this code: its business licence with every version, every
// other licence with its status, and its recent service records. A code the library knows
// nothing of is errs.NotFound.
func (s *Service) Entity(ctx context.Context, code string) (*Entity, error) {
	code = normHolder(code)
	if code == "" || !docPattern.MatchString(code) {
		return nil, errs.New(errs.Invalid, "code", "请给出统一社会信用代码（或其他持证主体代码）", "give a credit code (or another holder code)")
	}
	e := &Entity{Code: code, Versions: []*license.Licence{}}
	vs, err := s.licences.History(ctx, code)
	switch {
	case err == nil && len(vs) > 0:
		e.Versions = vs
		e.Licence = vs[len(vs)-1]
	case err != nil && !errs.Is(err, errs.NotFound) && !errs.Is(err, errs.Invalid):
		return nil, fmt.Errorf("library: entity %s: %w", code, err)
	}
	if e.Permits, err = s.ByHolder(ctx, code, "", ""); err != nil {
		return nil, err
	}
	if e.Records, e.NextRecords, err = s.Records(ctx, code, Page{}); err != nil {
		return nil, err
	}
	if e.Licence == nil && len(e.Permits) == 0 && len(e.Records) == 0 {
		return nil, &errs.Error{Kind: errs.NotFound, Field: "code", ZH: fmt.Sprintf("证照库中没有 %s 的证照或办件", code),
			EN: fmt.Sprintf("the library holds no licence or service record of %s", code)}
	}
	return e, nil
}

// Public returns the view of a permit anyone may see: only the type's public items, and the
// holder's code and name masked when the holder is a person. t is the permit's type (nil: no
// item is public).
func Public(p *Permit, t *Type) *Permit {
	v := *p
	v.Items = map[string]string{}
	if t != nil {
		for _, it := range t.Items {
			if val, ok := p.Items[it.Key]; ok && it.Public {
				v.Items[it.Key] = val
			}
		}
	}
	v.Extension = nil
	if IsPerson(p.HolderCodeType) {
		v.HolderCode = citizen.Mask(p.HolderCode)
		v.HolderName = citizen.MaskName(p.HolderName)
	}
	return &v
}

// Field is one labelled value of a permit for a document renderer.
type Field struct {
	Key     string `json:"key"`
	LabelZH string `json:"label_zh"`
	LabelEN string `json:"label_en"`
	Value   string `json:"value"`
	Public  bool   `json:"public"`
}

// Sheet is a permit as plain values, in the order a document shows them: what
// internal/document's RenderPermit needs to lay out and seal a permit (证照文件), without
// knowing types or schemas.
type Sheet struct {
	TitleZH, TitleEN string // the type's name
	Identifier       string
	Number           string
	Version          int
	Holder           Field   // 持证主体
	HolderCode       Field   // 持证主体代码, labelled by its code type
	Items            []Field // the face items of the type's schema that have a value, in schema order
	IssuerName       string  // 发证机构, under which the seal goes
	IssuerCode       string
	IssueDate        string // 发证日期 YYYY-MM-DD
	ValidFrom        string
	// ValidUntilZH and ValidUntilEN are the end of validity, or 长期 / No expiry.
	ValidUntilZH, ValidUntilEN string
	AreaCode                   string
	Status                     Status // as of now (Expired computed)
	StatusZH, StatusEN         string
	DefinedByName              string
}

// SheetOf maps a permit and its type to plain values for rendering, as of now.
func SheetOf(p *Permit, t *Type, now time.Time) Sheet {
	zhCT, enCT := HolderCodeTypeName(p.HolderCodeType)
	st := p.State(now)
	szh, sen := StatusName(st)
	sh := Sheet{TitleZH: t.Name, TitleEN: t.NameEN, Identifier: p.Identifier, Number: p.Number, Version: p.Version,
		Holder:     Field{Key: "holder_name", LabelZH: "持证主体", LabelEN: "Holder", Value: p.HolderName, Public: true},
		HolderCode: Field{Key: "holder_code", LabelZH: zhCT, LabelEN: upperFirst(enCT), Value: p.HolderCode, Public: !IsPerson(p.HolderCodeType)},
		IssuerName: p.IssuerName, IssuerCode: p.IssuerCode, IssueDate: p.IssueDate, ValidFrom: p.ValidFrom,
		ValidUntilZH: p.ValidUntil, ValidUntilEN: p.ValidUntil, AreaCode: p.AreaCode, Status: st, StatusZH: szh, StatusEN: sen,
		DefinedByName: p.DefinedByName}
	if p.ValidUntil == "" {
		sh.ValidUntilZH, sh.ValidUntilEN = "长期", "No expiry"
	}
	for _, it := range t.Items {
		if v, ok := p.Items[it.Key]; ok {
			sh.Items = append(sh.Items, Field{Key: it.Key, LabelZH: it.LabelZH, LabelEN: it.LabelEN, Value: v, Public: it.Public})
		}
	}
	// Items of an older schema that the type no longer lists still belong to the document.
	var extra []string
	for k := range p.Items {
		if _, ok := t.item(k); !ok {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		sh.Items = append(sh.Items, Field{Key: k, LabelZH: k, LabelEN: k, Value: p.Items[k]})
	}
	return sh
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
