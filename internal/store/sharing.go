package store

import (
	"context"
	"fmt"

	"github.com/elicense/elicense/internal/sharing/permit"
)

// Storage of the sharing service's permissions (package sharing; migration 0004_sharing). The
// store implements permit.Store with the types of the leaf package permit, so that it does not
// import the sharing service (which imports document, whose tests import store).

// SetSharingPermission creates or replaces the permission of (ClientID, TypeCode).
func (db *DB) SetSharingPermission(ctx context.Context, p *permit.Permission) error {
	ops := p.Operations
	if ops == nil {
		ops = []permit.Operation{}
	}
	_, err := db.w.ExecContext(ctx, `INSERT INTO sharing_permissions (client_id, type_code, operations, granted_by, granted_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (client_id, type_code) DO UPDATE SET operations = excluded.operations,
		granted_by = excluded.granted_by, granted_at = excluded.granted_at`,
		p.ClientID, p.TypeCode, oidcJSON(ops), p.GrantedBy, micros(p.GrantedAt))
	if err != nil {
		return fmt.Errorf("store: set sharing permission %s %s: %w", p.ClientID, p.TypeCode, mapBusy(err))
	}
	return nil
}

// SharingPermissions returns every permission of a client, by type code.
func (db *DB) SharingPermissions(ctx context.Context, clientID string) ([]permit.Permission, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT type_code, operations, granted_by, granted_at FROM sharing_permissions
		WHERE client_id = $1 ORDER BY type_code`, clientID)
	if err != nil {
		return nil, fmt.Errorf("store: sharing permissions %s: %w", clientID, err)
	}
	defer rows.Close()
	out := []permit.Permission{}
	for rows.Next() {
		p := permit.Permission{ClientID: clientID}
		var ops string
		var at int64
		if err := rows.Scan(&p.TypeCode, &ops, &p.GrantedBy, &at); err != nil {
			return nil, fmt.Errorf("store: sharing permissions %s: %w", clientID, err)
		}
		if err := oidcDecode(ops, &p.Operations); err != nil {
			return nil, err
		}
		p.GrantedAt = fromMicros(at)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: sharing permissions %s: %w", clientID, err)
	}
	return out, nil
}
