// Package license is the e-business licence (电子营业执照): entity kinds, face items and their
// validation (C0135-2019 content, STANDARDS §3), licence identifiers (GB/T 36904), versions,
// statuses, the SM2 signature by the registering authority, and the Service that issues, changes
// and cancels licences. It imports no infrastructure: storage is the Store interface below.
package license

import (
	"context"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/keys"
)

// Kind is the kind of market entity (市场主体类型); it decides which face items a licence has.
type Kind string

// The kinds of market entity.
const (
	Company            Kind = "company"             // 公司、非公司企业法人
	Branch             Kind = "branch"              // 分支机构
	Partnership        Kind = "partnership"         // 合伙企业
	SoleProprietorship Kind = "sole_proprietorship" // 个人独资企业
	Individual         Kind = "individual"          // 个体工商户
	Cooperative        Kind = "cooperative"         // 农民专业合作社
)

// Kinds lists every kind in display order.
var Kinds = []Kind{Company, Branch, Partnership, SoleProprietorship, Individual, Cooperative}

// Status is the registration status (登记状态) shown with a licence version.
type Status string

// The statuses. Superseded applies to versions replaced by a change registration.
const (
	Active     Status = "active"     // 存续（在营）
	Suspended  Status = "suspended"  // 暂停使用
	Cancelled  Status = "cancelled"  // 注销
	Revoked    Status = "revoked"    // 吊销
	Superseded Status = "superseded" // 已被新版本替代
)

// Statuses lists the entity statuses (not Superseded, which only versions have).
var Statuses = []Status{Active, Suspended, Cancelled, Revoked}

// LongTerm is the value of TermTo for a term without end (营业期限 至 长期).
const LongTerm = "长期"

// Capital is an amount of registered capital (注册资本) or members' contributions (成员出资总额),
// in units of ten thousand (万) of Currency, as registrations state it: "100万元人民币".
type Capital struct {
	Amount   string `json:"amount"`   // decimal, in 万, e.g. "100" or "12.5"
	Currency string `json:"currency"` // ISO 4217, e.g. "CNY"
}

// Face holds the items printed on the licence (登记事项). Which are required depends on Kind.
type Face struct {
	Name          string   `json:"name"`                // 名称
	Type          string   `json:"type"`                // 类型, e.g. 有限责任公司(自然人投资或控股)
	Person        string   `json:"person"`              // 法定代表人/经营者/执行事务合伙人/投资人/负责人
	Capital       *Capital `json:"capital,omitempty"`   // 注册资本 (company), 成员出资总额 (cooperative)
	Form          string   `json:"form,omitempty"`      // 组成形式 (个体工商户): 个人经营 or 家庭经营
	EstablishedOn string   `json:"established_on"`      // 成立日期 / 注册日期, YYYY-MM-DD
	TermFrom      string   `json:"term_from,omitempty"` // 营业期限自 / 合伙期限自, YYYY-MM-DD
	TermTo        string   `json:"term_to,omitempty"`   // 营业期限至: YYYY-MM-DD or 长期
	Address       string   `json:"address"`             // 住所/经营场所/主要经营场所/营业场所
	Scope         string   `json:"scope"`               // 经营范围 / 业务范围
}

// Registration is what a registering authority submits to issue or change a licence.
type Registration struct {
	Code     string `json:"code"`                // 统一社会信用代码, or a legacy 注册号 for 个体工商户
	Kind     Kind   `json:"kind"`                // kind of entity
	Face     Face   `json:"face"`                // face items
	PersonID string `json:"person_id,omitempty"` // citizen ID number of the person on the face (private, never shown)
	Region   string `json:"region,omitempty"`    // GB/T 2260 division; defaults to the code's positions 3-8
	// Authority is the registering authority's credit code. Only actors that may act for any
	// authority (the local CLI import) set it; for everyone else it is the actor's authority.
	Authority string `json:"authority,omitempty"`
}

// Licence is one version of an entity's e-business licence.
type Licence struct {
	Identifier    string    `json:"identifier"`     // 电子证照标识, GB/T 36904
	Code          string    `json:"code"`           // 统一社会信用代码 (or 注册号)
	CodeType      string    `json:"code_type"`      // holder code type: "001" USCC, "099" legacy number
	Kind          Kind      `json:"kind"`           // kind of entity
	Version       int       `json:"version"`        // 1 for the first issue, +1 for each change
	Face          Face      `json:"face"`           // face items
	Region        string    `json:"region"`         // GB/T 2260 division of the entity
	Authority     string    `json:"authority"`      // 登记机关 name
	AuthorityCode string    `json:"authority_code"` // 登记机关 credit code
	IssuedAt      time.Time `json:"issued_at"`      // when this version was issued (发照日期)
	Signature     []byte    `json:"signature"`      // SM2 by the authority over SignedBytes()
	CertSerial    string    `json:"cert_serial"`    // serial (hex) of the authority certificate that signed

	// State of the entity as of this version; Superseded for replaced versions.
	Status       Status     `json:"status"`
	StatusReason string     `json:"status_reason,omitempty"`
	StatusAt     *time.Time `json:"status_at,omitempty"` // effective time of the last status change
	SupersededAt *time.Time `json:"superseded_at,omitempty"`

	// Private registration data, never rendered publicly.
	PersonIDHash   []byte `json:"-"` // keyed SM3 hash of the person's ID number, for look-ups
	PersonIDSealed []byte `json:"-"` // the ID number encrypted with SM4
	Digest         []byte `json:"-"` // SM3 of the registration data, to recognise re-submissions
}

// Op is the kind of change a Change applies.
type Op int

// The kinds of change.
const (
	OpIssue      Op = iota + 1 // first version of a new entity
	OpNewVersion               // change registration: new version, previous one superseded
	OpStatus                   // status change of the current version
)

// Change is one atomic change of an entity's licence, with the audit event that records it.
type Change struct {
	Op      Op
	Licence *Licence // the new state of the current version
	Prev    int      // the version expected to be current now (0 for OpIssue); mismatch → errs.Conflict
	// PrevStatus is the status the change was decided from (OpNewVersion, OpStatus); if the
	// entity's status is no longer this, the change fails with errs.Conflict. Empty: not checked.
	PrevStatus Status
	Event      audit.Event // appended to the audit log in the same transaction
}

// Filter selects licences in List.
type Filter struct {
	Kind      Kind   // empty: all
	Region    string // prefix of the division code, e.g. "33" or "330100"; empty: all
	Status    Status // empty: all
	Authority string // registering authority code; empty: all
	Query     string // exact code, or part of the name
	Limit     int    // 1..500
	Cursor    string // opaque, from the previous page
}

// SearchQuery is a full-text search of entities (Search).
type SearchQuery struct {
	Text   string // a credit code (exact, any case), or part of the name or of the person on the face
	Kind   Kind   // empty: all
	Region string // prefix of the division code; empty: all
	Status Status // empty: all (cancelled and revoked entities are found, with their status)
	// Authority is the registering authority's credit code; empty: all.
	Authority string
	Limit     int // 1..MaxSearchLimit; 0: DefaultSearchLimit
}

// Search result sizes.
const (
	DefaultSearchLimit = 20
	MaxSearchLimit     = 100
)

// Store is the storage the licence service needs; package store implements it.
type Store interface {
	// Save applies the changes in one transaction, together with their audit events. An
	// OpIssue for an existing code, or a Prev that is not the current version, fails with
	// errs.Conflict and nothing of the batch is stored.
	Save(ctx context.Context, changes []Change) error
	// Current returns the current version of the entity with this code (errs.NotFound). It may
	// come from a cache shared by every caller: treat it as read-only. Writers do not rely on
	// it being fresh: Save checks Prev and PrevStatus in the transaction.
	Current(ctx context.Context, code string) (*Licence, error)
	// Version returns one version of the entity with this code (errs.NotFound); a version other
	// than the current one has Status Superseded.
	Version(ctx context.Context, code string, version int) (*Licence, error)
	// History returns every version of the entity, oldest first (errs.NotFound when none).
	History(ctx context.Context, code string) ([]*Licence, error)
	// List returns one page of current versions ordered by code, and the cursor of the next page
	// ("" on the last page).
	List(ctx context.Context, f Filter) ([]*Licence, string, error)
	// Search returns the current versions of the entities matching q, ranked: the entity whose
	// code is q first, then those whose name contains q, then those whose person contains q.
	Search(ctx context.Context, q SearchQuery) ([]*Licence, error)
	// Digests returns the registration digest of the current version of each code that exists.
	Digests(ctx context.Context, codes []string) (map[string][]byte, error)
}

// Keys gives the licence service the signer of a registering authority and verifies signatures.
type Keys interface {
	// AuthoritySigner returns the authority and its signer (errs.NotFound for an unknown code).
	AuthoritySigner(ctx context.Context, code string) (*keys.Authority, gm.Signer, error)
	// VerifyAuthorityAt checks sig over msg with the authority certificate of that serial, as
	// valid at time at (the signing time, so old licences verify after a certificate expires).
	VerifyAuthorityAt(ctx context.Context, authorityCode, certSerial string, at time.Time, msg, sig []byte) error
}

// Actor is who performs a change: an account acting for a registering authority.
type Actor struct {
	ID        string // account ID or "cli:<user>"; recorded in the audit log
	Authority string // credit code of the registering authority the actor acts for
	// AnyAuthority marks a trusted local actor (the CLI) that may act for any authority named
	// in Registration.Authority.
	AnyAuthority bool
}
