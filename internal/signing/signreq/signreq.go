// Package signreq holds the signing request of package signing as plain data, so that
// internal/store can store it without importing the signing service (which imports document,
// whose tests import store).
package signreq

import (
	"time"

	"github.com/elicense/elicense/internal/identity"
)

// Status is the state of a signing request.
type Status string

// The states. Expired is never stored: it is computed from ExpiresAt.
const (
	Pending  Status = "pending"  // waiting for the entity's confirmation
	Signed   Status = "signed"   // confirmed and sealed; the portal may fetch the document
	Declined Status = "declined" // the entity's person declined
	Expired  Status = "expired"  // past ExpiresAt while pending
)

// Request is one signing request (签署请求).
type Request struct {
	ID          string
	EntityCode  string // the entity asked to sign (统一社会信用代码)
	EntityName  string // its name when the request was made
	ClientID    string // the portal that asks
	ClientName  string
	Department  string // the portal's department, if registered
	Title       string // what is signed, in the portal's words (e.g. 技术服务合同)
	Purpose     string // why (网上行为确认的事由)
	ServiceItem string // optional service item code; agents need a grant covering it
	Format      string // "pdf" or "ofd" (document.Format)
	Pages       int
	DocTitle    string   // the document's own title
	DocText     []string // OFD: text per page, for the preview
	DocSize     int
	DocHash     []byte // SM3 of Document
	Document    []byte // the document as sent; nil in lists
	Status      Status // as stored; StatusAt gives the effective status
	CreatedAt   time.Time
	ExpiresAt   time.Time
	// Set when a person confirmed or declined.
	DecidedAt time.Time
	PersonID  string
	Role      identity.RoleKind
	GrantID   string
	ACR       string
	DeviceID  string
	// Set when signed.
	SignedDoc  []byte // the sealed document; nil in lists
	SignedHash []byte // SM3 of SignedDoc
	CertSerial string // the signing certificate's serial
	SealID     string // the entity seal's esID
}

// StatusAt returns the effective status at t: a pending request past its expiry is Expired.
func (r *Request) StatusAt(t time.Time) Status {
	if r.Status == Pending && !t.Before(r.ExpiresAt) {
		return Expired
	}
	return r.Status
}
