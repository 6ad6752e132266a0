// Package consent holds the records of the sharing service's second slice (package sharing,
// issue 5 items 4–7): the entity's authorisations (用证授权) — standing, per case and one-time
// codes (用证码) —, the one-time download URLs of watermarked copies (加注件) and the archive
// receipts (存档回执). It is a leaf of plain types, so that the storage (package store)
// implements sharing.ConsentStore without importing the sharing service; package sharing
// re-exports its names and holds every rule.
package consent

import (
	"slices"
	"time"
)

// Kind is how an authorisation was given.
type Kind string

// The kinds of authorisation.
const (
	// Standing (长期授权): the holder or an administrator authorises one department's system for
	// some service items (or all) until a date.
	Standing Kind = "standing"
	// Case (单次授权): a department asked for one case, and the holder or an administrator
	// approved it.
	Case Kind = "case"
	// Code (用证码): a one-time code made in the wallet and handed to the department; the first
	// call that presents it binds it to that department and case.
	Code Kind = "code"
)

// Status is where an authorisation stands. Expiry is not a status: it is computed from
// ValidUntil.
type Status string

// The statuses.
const (
	Pending  Status = "pending"  // a request waiting for the entity's answer
	Active   Status = "active"   // in force (approved, granted, or a code made)
	Declined Status = "declined" // a request the entity declined
	Revoked  Status = "revoked"  // withdrawn by the entity; final
)

// What an authorisation may cover: non-public face items and the download of a copy.
const (
	ItemCapital  = "capital"  // 注册资本 / 成员出资总额
	ItemForm     = "form"     // 组成形式 (个体工商户)
	ItemDownload = "download" // a watermarked copy of the licence file (加注件)
	All          = "*"        // everything that needs consent
)

// Consent is one authorisation by an entity (or a department's request for one).
type Consent struct {
	ID         string
	Kind       Kind
	EntityCode string // 统一社会信用代码 of the entity that authorises
	// ClientID is the department's system; "" for a code until it is used.
	ClientID string
	// Items are the service items (事项编码) covered; empty: all (standing, code). A case
	// request names exactly one.
	Items []string
	// CaseNumber (办件编号) is the case covered: a request's case, or the case of the call that
	// used a code; "" for standing authorisations.
	CaseNumber string
	Cause      string   // the use cause a department gave with its request (用证事由)
	Covers     []string // what is covered: ItemCapital, ItemForm, ItemDownload, or All
	Status     Status
	// CodeHash is, for a code, SM3 of the code (the code itself is shown once and never
	// stored).
	CodeHash   []byte
	CreatedBy  string // "person:<id>" or the requesting client ID
	CreatedAt  time.Time
	ValidUntil time.Time // end (exclusive): of the authorisation, of a pending request, of an unused code
	DecidedBy  string    // "person:<id>" who approved or declined a request
	DecidedAt  time.Time
	UsedAt     time.Time // when a code was used; zero: unused
	RevokedBy  string
	RevokedAt  time.Time
}

// InForceAt reports whether the authorisation is active and not expired at t.
func (c *Consent) InForceAt(t time.Time) bool {
	return c.Status == Active && t.Before(c.ValidUntil) && !t.Before(c.CreatedAt)
}

// CoversItem reports whether c covers want (a non-public item or ItemDownload).
func (c *Consent) CoversItem(want string) bool {
	return slices.Contains(c.Covers, All) || slices.Contains(c.Covers, want)
}

// ForServiceItem reports whether c covers the service item (no items: all).
func (c *Consent) ForServiceItem(item string) bool {
	return len(c.Items) == 0 || slices.Contains(c.Items, item)
}

// Download is a one-time URL to a watermarked copy (加注件) of a licence version. Only the
// SM3 hash of the URL's token is stored.
type Download struct {
	ID         string
	TokenHash  []byte
	ClientID   string
	EntityCode string
	Identifier string // the licence version
	Format     string // "ofd" or "pdf"
	Cause      string
	Item       string
	CaseNumber string
	ConsentID  string // the authorisation it relied on
	CreatedAt  time.Time
	ExpiresAt  time.Time
	UsedAt     time.Time // zero: not fetched yet
}

// Archive is a department's record that it keeps a copy of one licence version (存档), with
// the platform's signed receipt.
type Archive struct {
	ReceiptID   string
	ClientID    string
	EntityCode  string
	Identifier  string
	Version     int
	DocumentSM3 string // hex SM3 of the licence version's canonical signed data
	Cause       string
	Item        string
	CaseNumber  string
	ArchivedAt  time.Time
	Signature   []byte // platform SM2 over the receipt's canonical encoding
	CertSerial  string // serial (hex) of the platform certificate
}
