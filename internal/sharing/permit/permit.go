// Package permit holds what an operator allows a department's system in the sharing service
// (package sharing): a permission per client, licence type and operation. It is a leaf, so that
// the storage (package store) can implement sharing.Store without importing the sharing
// service and what it depends on; package sharing re-exports its names.
package permit

import (
	"slices"
	"time"
)

// Operation is what a permission allows; each has its token scope.
type Operation string

// The operations of the sharing service.
const (
	Query    Operation = "query"    // face data by identifier, an entity's licences
	Verify   Operation = "verify"   // by fields, a file, a QR code
	Download Operation = "download" // a watermarked copy (加注件), a later slice
	Archive  Operation = "archive"  // 存档, a later slice
)

// Operations lists every operation in the order of the documentation.
func Operations() []Operation { return []Operation{Query, Verify, Download, Archive} }

// Scope is the access-token scope an operation needs.
func (o Operation) Scope() string { return "sharing." + string(o) }

// Permission is what an operator allows one client for one licence type.
type Permission struct {
	ClientID   string      `json:"client_id"`
	TypeCode   string      `json:"type_code"`  // licence type (证照类型代码)
	Operations []Operation `json:"operations"` // empty: the permission is withdrawn
	GrantedBy  string      `json:"granted_by"`
	GrantedAt  time.Time   `json:"granted_at"`
}

// Allows reports whether p allows op.
func (p *Permission) Allows(op Operation) bool { return slices.Contains(p.Operations, op) }
