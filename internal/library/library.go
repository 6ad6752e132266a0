// Package library is the enterprise licence library (企业电子证照库): every licence of an entity
// from every issuer. It holds the licence types (证照目录) with their face-item schemas, the
// licences of types other than the business licence (permits, qualifications: 许可证、资质证书)
// issued, changed and cancelled by licence-issuing departments with their own SM2 keys, the
// entity's service records (办件), and the one view of an entity that brings them together with
// its business licence.
//
// Each permit carries the national catalogue metadata (STANDARDS §3): identifier (GB/T 36904),
// number, type, version, issuer, defining authority, issue date, validity, area code (GB/T 2260),
// holder name, code and code type (GB/T 36903 appendix A), status, the face items validated
// against the type's schema, and extension data. The issuing department's SM2 key signs a
// canonical encoding of every version (SignedBytes), so a permit verifies offline against the
// department's certificate from the platform root.
//
// The package is a domain package: no SQL, no HTTP. internal/store implements Store.
package library

import (
	"context"
	"encoding/json"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/license"
)

// Class says what a licence type attests.
type Class string

// The classes of licence type.
const (
	Identity      Class = "identity"      // 身份类: who the holder is (the business licence)
	Qualification Class = "qualification" // 资格资质类: what the holder may do (permits, qualifications)
)

// ItemKind is the kind of value of a face item.
type ItemKind string

// The kinds of face item.
const (
	Text   ItemKind = "text"   // free text of at most MaxLen characters
	Date   ItemKind = "date"   // YYYY-MM-DD
	Number ItemKind = "number" // a decimal number, e.g. 12 or -3.5
	Enum   ItemKind = "enum"   // one of Options
)

// Item is one face item of a licence type's schema.
type Item struct {
	Key      string   `json:"key"`               // [a-z][a-z0-9_]*, unique within the type
	LabelZH  string   `json:"label_zh"`          // label printed on the licence
	LabelEN  string   `json:"label_en"`          // English label
	Kind     ItemKind `json:"kind"`              // text, date, number or enum
	Options  []string `json:"options,omitempty"` // the allowed values of an enum
	Required bool     `json:"required"`          // a licence must give a value
	Public   bool     `json:"public"`            // shown to anyone; otherwise to authorised callers only
	MaxLen   int      `json:"max_len,omitempty"` // characters; 0: DefaultMaxLen
}

// Type is a licence type of the national catalogue (证照目录).
type Type struct {
	// Code is the type code (证照类型代码): the defining authority's credit code + 3 digits.
	Code          string `json:"code"`
	Name          string `json:"name"`            // e.g. 食品经营许可证
	NameEN        string `json:"name_en"`         // e.g. Food business licence
	DefinedBy     string `json:"defined_by"`      // credit code of the defining authority (证照定义机构)
	DefinedByName string `json:"defined_by_name"` // e.g. 国家市场监督管理总局
	// Issuers are the credit codes of the departments allowed to issue licences of this type.
	Issuers []string `json:"issuers"`
	Items   []Item   `json:"items"` // the face-item schema
	// ValidityYears is the longest validity of a licence of this type in years; 0: no maximum
	// (a licence may then be valid without end).
	ValidityYears int   `json:"validity_years"`
	Class         Class `json:"class"`
	// BuiltIn marks the business licence, which the licence service issues: it cannot be
	// registered or updated here.
	BuiltIn   bool      `json:"built_in,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Status is the stored status of a permit.
type Status string

// The statuses. Expired is never stored: a valid permit whose validity has ended is expired
// (Permit.State); Superseded is the state of a version replaced by a change.
const (
	Valid      Status = "valid"      // 有效
	Suspended  Status = "suspended"  // 暂停
	Cancelled  Status = "cancelled"  // 注销
	Revoked    Status = "revoked"    // 撤销/吊销
	Expired    Status = "expired"    // 过期 (computed)
	Superseded Status = "superseded" // 已被新版本替代 (old versions)
)

// Holder code types (GB/T 36903 appendix A).
const (
	CodeUSCC         = "001" // 统一社会信用代码
	CodeOtherOrg     = "099" // other organisation code (e.g. a legacy 注册号)
	CodeCitizenID    = "111" // 居民身份证号码
	CodePassport     = "414" // 普通护照
	CodeTaiwanPermit = "511" // 台湾居民来往大陆通行证
	CodeHKMacao      = "516" // 港澳居民来往内地通行证
	CodeOtherPerson  = "999" // other personal document
)

// Permit is one version of a licence of a type other than the business licence.
type Permit struct {
	Identifier     string `json:"identifier"`       // 电子证照标识, GB/T 36904
	Number         string `json:"number"`           // 证照编号, unique within the type
	TypeCode       string `json:"type_code"`        // 证照类型代码
	TypeName       string `json:"type_name"`        // 证照类型名称
	Version        int    `json:"version"`          // 1 for the first issue, +1 for each change
	IssuerCode     string `json:"issuer_code"`      // 发证机构代码 (credit code)
	IssuerName     string `json:"issuer_name"`      // 发证机构
	DefinedBy      string `json:"defined_by"`       // 证照定义机构代码
	DefinedByName  string `json:"defined_by_name"`  // 证照定义机构
	IssueDate      string `json:"issue_date"`       // 发证日期, YYYY-MM-DD
	ValidFrom      string `json:"valid_from"`       // 有效期起始, YYYY-MM-DD
	ValidUntil     string `json:"valid_until"`      // 有效期截止, YYYY-MM-DD; "": without end (长期)
	AreaCode       string `json:"area_code"`        // GB/T 2260 division, 6 digits
	HolderName     string `json:"holder_name"`      // 持证主体
	HolderCode     string `json:"holder_code"`      // 持证主体代码
	HolderCodeType string `json:"holder_code_type"` // 持证主体代码类型 (001, 099, 111, …)
	// Items are the face items (照面信息) by key, validated against the type's schema.
	Items map[string]string `json:"items"`
	// Extension is further data of the issuer (扩展信息): a JSON object, or nil.
	Extension  json.RawMessage `json:"extension,omitempty"`
	IssuedAt   time.Time       `json:"issued_at"`   // when this version was signed
	Signature  []byte          `json:"signature"`   // SM2 by the issuer over SignedBytes()
	CertSerial string          `json:"cert_serial"` // serial (hex) of the issuer's certificate

	// State of the permit as of this version; Superseded for replaced versions.
	Status       Status     `json:"status"`
	StatusReason string     `json:"status_reason,omitempty"`
	StatusAt     *time.Time `json:"status_at,omitempty"`
	SupersededAt *time.Time `json:"superseded_at,omitempty"`
}

// State is the status of the permit on day (a date in China Standard Time): Expired for a valid
// permit whose validity ended before that day, otherwise Status.
func (p *Permit) State(now time.Time) Status {
	if p.Status == Valid && p.ValidUntil != "" && p.ValidUntil < day(now) {
		return Expired
	}
	return p.Status
}

// cst is China Standard Time, the time zone of dates on licences.
var cst = time.FixedZone("CST", 8*3600)

// day returns the date of t in China Standard Time, YYYY-MM-DD.
func day(t time.Time) string { return t.In(cst).Format(time.DateOnly) }

// Op is the kind of change a PermitChange applies.
type Op int

// The kinds of change.
const (
	OpIssue      Op = iota + 1 // first version of a new permit
	OpNewVersion               // change: new version, previous one superseded
	OpStatus                   // status change of the current version
)

// PermitChange is one atomic change of a permit, with the audit event that records it.
type PermitChange struct {
	Op     Op
	Permit *Permit // the new state of the current version
	// Prev is the version expected to be current now (0 for OpIssue); PrevStatus the status
	// the change was decided from. A mismatch fails with errs.Conflict.
	Prev       int
	PrevStatus Status
	Event      audit.Event // appended to the audit log in the same transaction
}

// Record is a service record (办件): a department handled a case for a holder and used some
// of its licences.
type Record struct {
	ID             string          `json:"id"`
	HolderCode     string          `json:"holder_code"`     // the entity's credit code (or other holder code)
	Item           string          `json:"item"`            // service item code (事项编码)
	ItemName       string          `json:"item_name"`       // 事项名称
	Case           string          `json:"case"`            // case number (办件编号)
	Department     string          `json:"department"`      // the department's client ID or credit code
	DepartmentName string          `json:"department_name"` // 办理部门
	At             time.Time       `json:"at"`              // when the case was handled
	Licences       []string        `json:"licences"`        // identifiers of the licences used
	Materials      json.RawMessage `json:"materials,omitempty"`
}

// Page asks for one page of records, newest first.
type Page struct {
	Before string // cursor from the previous page ("": the newest)
	Limit  int    // 1..MaxRecords; 0: DefaultRecords
}

// Page sizes of Records.
const (
	DefaultRecords = 20
	MaxRecords     = 200
)

// Store is the storage the library needs; package store implements it.
type Store interface {
	// CreateType stores a new type with its audit event (errs.Conflict when the code exists).
	CreateType(ctx context.Context, t *Type, ev audit.Event) error
	// UpdateType replaces a stored type with its audit event (errs.NotFound when missing).
	UpdateType(ctx context.Context, t *Type, ev audit.Event) error
	// LibraryType returns the stored type with this code (errs.NotFound).
	LibraryType(ctx context.Context, code string) (*Type, error)
	// LibraryTypes returns every stored type ordered by code.
	LibraryTypes(ctx context.Context) ([]*Type, error)

	// SavePermits applies the changes in one transaction with their audit events: an OpIssue
	// whose (type, number) exists, or a Prev/PrevStatus that is not current, fails with
	// errs.Conflict and nothing of the batch is stored.
	SavePermits(ctx context.Context, changes []PermitChange) error
	// Permit returns the version with this identifier (errs.NotFound); a version other than the
	// current one has Status Superseded.
	Permit(ctx context.Context, identifier string) (*Permit, error)
	// CurrentPermit returns the current version of the permit of this type and number.
	CurrentPermit(ctx context.Context, typeCode, number string) (*Permit, error)
	// PermitVersions returns every version of a permit, oldest first (errs.NotFound when none).
	PermitVersions(ctx context.Context, typeCode, number string) ([]*Permit, error)
	// PermitsByHolder returns the current versions of the holder's permits, by type and
	// number; codeType and typeCode filter when not empty.
	PermitsByHolder(ctx context.Context, holderCode, codeType, typeCode string) ([]*Permit, error)

	// AddRecord stores a service record with its audit event.
	AddRecord(ctx context.Context, r *Record, ev audit.Event) error
	// Records returns a page of the holder's records, newest first, and the cursor of the next
	// page ("" on the last one).
	Records(ctx context.Context, holderCode string, p Page) ([]Record, string, error)
}

// Keys creates issuing departments and signs and verifies with their keys (*keys.Service).
type Keys interface {
	CreateAuthority(ctx context.Context, a keys.Authority) (*keys.Authority, error)
	Authority(ctx context.Context, code string) (*keys.Authority, error)
	AuthoritySigner(ctx context.Context, code string) (*keys.Authority, gm.Signer, error)
	VerifyAuthorityAt(ctx context.Context, authorityCode, certSerial string, at time.Time, msg, sig []byte) error
}

// Licences reads business licences (*license.Service).
type Licences interface {
	TypeCode() string
	History(ctx context.Context, code string) ([]*license.Licence, error)
}

// Actor is who acts on the library: an operator (types) or a member of an issuing department
// (permits). ID is recorded in the audit log.
type Actor struct {
	ID         string
	Department string // credit code of the issuing department the actor works for; "" for operators
}
