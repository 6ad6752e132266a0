package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/inbox"
	"github.com/elicense/elicense/internal/signing/signreq"
)

// Storage of signing requests (package signing) and the inbox's login confirmations (package
// inbox); migration 0013_signing.

var (
	_ inbox.LoginStore = (*DB)(nil)
)

// signingCols are the columns of signing_requests without the two files.
const signingCols = `id, entity_code, entity_name, client_id, client_name, department, title, purpose, service_item,
	format, pages, doc_title, doc_text, doc_size, doc_hash, status, created_at, expires_at, decided_at, person_id, role,
	grant_id, acr, device_id, signed_hash, cert_serial, seal_id`

func signingArgs(r *signreq.Request) []any {
	var text sql.NullString
	if len(r.DocText) > 0 {
		text = sql.NullString{String: oidcJSON(r.DocText), Valid: true}
	}
	return []any{r.ID, r.EntityCode, r.EntityName, r.ClientID, r.ClientName, r.Department, r.Title, r.Purpose,
		r.ServiceItem, string(r.Format), r.Pages, r.DocTitle, text, r.DocSize, r.DocHash, string(r.Status),
		micros(r.CreatedAt), micros(r.ExpiresAt), nullMicros(r.DecidedAt), r.PersonID, string(r.Role), r.GrantID,
		r.ACR, r.DeviceID, r.SignedHash, r.CertSerial, r.SealID}
}

func scanSigning(s rowScanner, files bool) (*signreq.Request, error) {
	var (
		r                        signreq.Request
		format, status, role     string
		text                     sql.NullString
		created, expires         int64
		decided                  sql.NullInt64
		doc, signedDoc, signedHs []byte
	)
	dest := []any{&r.ID, &r.EntityCode, &r.EntityName, &r.ClientID, &r.ClientName, &r.Department, &r.Title, &r.Purpose,
		&r.ServiceItem, &format, &r.Pages, &r.DocTitle, &text, &r.DocSize, &r.DocHash, &status, &created, &expires,
		&decided, &r.PersonID, &role, &r.GrantID, &r.ACR, &r.DeviceID, &signedHs, &r.CertSerial, &r.SealID}
	if files {
		dest = append(dest, &doc, &signedDoc)
	}
	if err := s.Scan(dest...); err != nil {
		return nil, err
	}
	var err error
	if r.DocText, err = decodeList[string](text); err != nil {
		return nil, fmt.Errorf("store: decode text of signing request %s: %w", r.ID, err)
	}
	r.Format, r.Status, r.Role = format, signreq.Status(status), identity.RoleKind(role)
	r.CreatedAt, r.ExpiresAt, r.DecidedAt = fromMicros(created), fromMicros(expires), fromNullMicros(decided)
	r.SignedHash, r.Document, r.SignedDoc = signedHs, doc, signedDoc
	return &r, nil
}

// CreateSigningRequest stores a new request with its document and appends ev in the same
// transaction (errs.Conflict for a taken ID).
func (db *DB) CreateSigningRequest(ctx context.Context, r *signreq.Request, ev audit.Event) error {
	args := append(signingArgs(r), r.Document, r.SignedDoc)
	return db.inTxStmts(ctx, func(ts *txStmts) error {
		_, err := ts.tx.ExecContext(ctx, `INSERT INTO signing_requests (`+signingCols+`, document, signed_doc) VALUES
			($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24,
			$25, $26, $27, $28, $29)`, args...)
		if isUnique(err) {
			return conflictf(err, "签署请求编号已存在", "signing request %s exists", r.ID)
		}
		if err != nil {
			return fmt.Errorf("store: create signing request: %w", mapBusy(err))
		}
		return db.appendEvent(ctx, ts, &ev)
	})
}

// SigningRequest returns a request, with its files when files is set.
func (db *DB) SigningRequest(ctx context.Context, id string, files bool) (*signreq.Request, error) {
	q := "SELECT " + signingCols
	if files {
		q += ", document, signed_doc"
	}
	r, err := scanSigning(db.r.QueryRowContext(ctx, q+" FROM signing_requests WHERE id = $1", id), files)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "没有编号为 %s 的签署请求", "no signing request %s", id)
	}
	if err != nil {
		return nil, fmt.Errorf("store: signing request: %w", err)
	}
	return r, nil
}

// maxCodesPerQuery bounds the IN list of PendingSigningRequests; more codes take more queries.
const maxCodesPerQuery = 500

// PendingSigningRequests returns the pending, unexpired requests of the entities, without
// files, newest first.
func (db *DB) PendingSigningRequests(ctx context.Context, codes []string, now time.Time) ([]*signreq.Request, error) {
	out := []*signreq.Request{}
	for chunk := range slices.Chunk(codes, maxCodesPerQuery) {
		var q query
		q.where("status = 'pending'")
		q.where("expires_at > ?", micros(now))
		q.where("entity_code IN (" + list(&q, chunk) + ")")
		rows, err := db.r.QueryContext(ctx, "SELECT "+signingCols+" FROM signing_requests"+q.clause(), q.args...)
		if err != nil {
			return nil, fmt.Errorf("store: pending signing requests: %w", err)
		}
		for rows.Next() {
			r, err := scanSigning(rows, false)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: pending signing requests: %w", err)
			}
			out = append(out, r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("store: pending signing requests: %w", err)
		}
	}
	// Newest first across chunks.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].CreatedAt.After(out[j-1].CreatedAt); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

// UpdateSigningRequest stores every field of r (files included) only if the stored status is
// still from, and appends ev in the same transaction.
func (db *DB) UpdateSigningRequest(ctx context.Context, r *signreq.Request, from signreq.Status, ev audit.Event) error {
	args := append(signingArgs(r), r.SignedDoc, string(from))
	return db.inTxStmts(ctx, func(ts *txStmts) error {
		n, err := execCount(ctx, ts.tx, `UPDATE signing_requests SET entity_code = $2, entity_name = $3, client_id = $4,
			client_name = $5, department = $6, title = $7, purpose = $8, service_item = $9, format = $10, pages = $11,
			doc_title = $12, doc_text = $13, doc_size = $14, doc_hash = $15, status = $16, created_at = $17, expires_at = $18,
			decided_at = $19, person_id = $20, role = $21, grant_id = $22, acr = $23, device_id = $24, signed_hash = $25,
			cert_serial = $26, seal_id = $27, signed_doc = $28 WHERE id = $1 AND status = $29`, args...)
		if err != nil {
			return fmt.Errorf("store: update signing request: %w", err)
		}
		if n == 0 {
			ok, err := existsTx(ctx, ts.tx, "SELECT 1 FROM signing_requests WHERE id = $1", r.ID)
			if err != nil {
				return fmt.Errorf("store: update signing request: %w", err)
			}
			if !ok {
				return notFoundf(sql.ErrNoRows, "没有编号为 %s 的签署请求", "no signing request %s", r.ID)
			}
			return &errs.Error{Kind: errs.Conflict, Field: "request", ZH: "签署请求的状态已变化",
				EN: fmt.Sprintf("the signing request is no longer %s", from)}
		}
		return db.appendEvent(ctx, ts, &ev)
	})
}

// ScannedLoginQRs returns the login QR codes the person scanned and has not confirmed or
// declined, unexpired at now, newest first.
func (db *DB) ScannedLoginQRs(ctx context.Context, personID string, now time.Time) ([]*identity.LoginQR, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT "+loginQRCols+` FROM login_qrs
		WHERE person_id = $1 AND status = 'scanned' AND expires_at > $2 ORDER BY scanned_at DESC`, personID, micros(now))
	if err != nil {
		return nil, fmt.Errorf("store: scanned login QR codes: %w", err)
	}
	defer rows.Close()
	out := []*identity.LoginQR{}
	for rows.Next() {
		q, err := scanLoginQR(rows)
		if err != nil {
			return nil, fmt.Errorf("store: scanned login QR codes: %w", err)
		}
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: scanned login QR codes: %w", err)
	}
	return out, nil
}
