package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/sharing/consent"
)

// Storage of the sharing service's second slice (package sharing; migration 0008_consent): the
// entities' authorisations, one-time download URLs and archive receipts. Every change is
// written with its audit event in one transaction; state transitions are compare-and-set on
// the row, so two processes cannot both use one code or one download URL.

const consentCols = `id, kind, entity_code, client_id, items, case_number, cause, covers, status, code_hash,
	created_by, created_at, valid_until, decided_by, decided_at, used_at, revoked_by, revoked_at`

func consentNotFound(err error) error {
	return notFoundf(err, "没有这项用证授权", "no such authorisation")
}

func scanConsent(row interface{ Scan(...any) error }) (*consent.Consent, error) {
	var (
		c                      consent.Consent
		kind, status           string
		items, covers          string
		created, until         int64
		decided, used, revoked sql.NullInt64
		codeHash               []byte
	)
	if err := row.Scan(&c.ID, &kind, &c.EntityCode, &c.ClientID, &items, &c.CaseNumber, &c.Cause, &covers, &status,
		&codeHash, &c.CreatedBy, &created, &until, &c.DecidedBy, &decided, &used, &c.RevokedBy, &revoked); err != nil {
		return nil, err
	}
	c.Kind, c.Status = consent.Kind(kind), consent.Status(status)
	if err := oidcDecode(items, &c.Items); err != nil {
		return nil, err
	}
	if err := oidcDecode(covers, &c.Covers); err != nil {
		return nil, err
	}
	if len(codeHash) > 0 {
		c.CodeHash = codeHash
	}
	c.CreatedAt, c.ValidUntil = fromMicros(created), fromMicros(until)
	c.DecidedAt, c.UsedAt, c.RevokedAt = fromNullMicros(decided), fromNullMicros(used), fromNullMicros(revoked)
	return &c, nil
}

func nonNilList(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// AddConsent stores a new authorisation (or request) with its audit event.
func (db *DB) AddConsent(ctx context.Context, c *consent.Consent, ev audit.Event) error {
	var codeHash any
	if len(c.CodeHash) > 0 {
		codeHash = c.CodeHash
	}
	return db.inTxStmts(ctx, func(ts *txStmts) error {
		_, err := ts.tx.ExecContext(ctx, "INSERT INTO sharing_consents ("+consentCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
			c.ID, string(c.Kind), c.EntityCode, c.ClientID, oidcJSON(nonNilList(c.Items)), c.CaseNumber, c.Cause,
			oidcJSON(nonNilList(c.Covers)), string(c.Status), codeHash, c.CreatedBy, micros(c.CreatedAt), micros(c.ValidUntil),
			c.DecidedBy, nullMicros(c.DecidedAt), nullMicros(c.UsedAt), c.RevokedBy, nullMicros(c.RevokedAt))
		if isUnique(err) {
			return conflictf(err, "用证授权 %s 已存在", "authorisation %s already exists", c.ID)
		}
		if err != nil {
			return fmt.Errorf("store: insert consent: %w", mapBusy(err))
		}
		return db.appendEvent(ctx, ts, &ev)
	})
}

// Consent returns the authorisation with this ID (errs.NotFound).
func (db *DB) Consent(ctx context.Context, id string) (*consent.Consent, error) {
	c, err := scanConsent(db.r.QueryRowContext(ctx, "SELECT "+consentCols+" FROM sharing_consents WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, consentNotFound(err)
	}
	if err != nil {
		return nil, fmt.Errorf("store: consent %s: %w", id, err)
	}
	return c, nil
}

// ConsentByCode returns the code authorisation whose code hashes to hash (errs.NotFound).
func (db *DB) ConsentByCode(ctx context.Context, hash []byte) (*consent.Consent, error) {
	c, err := scanConsent(db.r.QueryRowContext(ctx, "SELECT "+consentCols+" FROM sharing_consents WHERE code_hash = $1", hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, consentNotFound(err)
	}
	if err != nil {
		return nil, fmt.Errorf("store: consent by code: %w", err)
	}
	return c, nil
}

func (db *DB) queryConsents(ctx context.Context, where string, args ...any) ([]*consent.Consent, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT "+consentCols+" FROM sharing_consents WHERE "+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: consents: %w", err)
	}
	defer rows.Close()
	out := []*consent.Consent{}
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, fmt.Errorf("store: consents: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: consents: %w", err)
	}
	return out, nil
}

// ConsentsFor returns the entity's authorisations and requests, newest first, at most limit.
func (db *DB) ConsentsFor(ctx context.Context, entityCode string, limit int) ([]*consent.Consent, error) {
	return db.queryConsents(ctx, "entity_code = $1 ORDER BY created_at DESC, id LIMIT $2", entityCode, limit)
}

// ActiveConsents returns the authorisations of an entity for one client that are active and
// not expired at at.
func (db *DB) ActiveConsents(ctx context.Context, entityCode, clientID string, at time.Time) ([]*consent.Consent, error) {
	return db.queryConsents(ctx, `client_id = $1 AND entity_code = $2 AND status = 'active' AND valid_until > $3
		ORDER BY created_at, id`, clientID, entityCode, micros(at))
}

// UpdateConsent writes the new state of c if the stored row still has status from and, when
// unused is set, no used_at (compare-and-set), with its audit event. A row that moved on is
// errs.Conflict.
func (db *DB) UpdateConsent(ctx context.Context, c *consent.Consent, from consent.Status, unused bool, ev audit.Event) error {
	return db.inTxStmts(ctx, func(ts *txStmts) error {
		q := `UPDATE sharing_consents SET client_id = $2, case_number = $3, status = $4, valid_until = $5, decided_by = $6,
			decided_at = $7, used_at = $8, revoked_by = $9, revoked_at = $10 WHERE id = $1 AND status = $11`
		if unused {
			q += " AND used_at IS NULL"
		}
		n, err := execCount(ctx, ts.tx, q, c.ID, c.ClientID, c.CaseNumber, string(c.Status), micros(c.ValidUntil),
			c.DecidedBy, nullMicros(c.DecidedAt), nullMicros(c.UsedAt), c.RevokedBy, nullMicros(c.RevokedAt), string(from))
		if err != nil {
			return fmt.Errorf("store: update consent %s: %w", c.ID, err)
		}
		if n == 0 {
			return conflictf(nil, "用证授权的状态已经改变", "the authorisation has changed in the meantime")
		}
		return db.appendEvent(ctx, ts, &ev)
	})
}

const downloadCols = `id, token_hash, client_id, entity_code, identifier, format, cause, item, case_number, consent_id,
	created_at, expires_at, used_at`

// AddDownload stores a one-time download URL with its audit event.
func (db *DB) AddDownload(ctx context.Context, d *consent.Download, ev audit.Event) error {
	return db.inTxStmts(ctx, func(ts *txStmts) error {
		_, err := ts.tx.ExecContext(ctx, "INSERT INTO sharing_downloads ("+downloadCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			d.ID, d.TokenHash, d.ClientID, d.EntityCode, d.Identifier, d.Format, d.Cause, d.Item, d.CaseNumber, d.ConsentID,
			micros(d.CreatedAt), micros(d.ExpiresAt), nullMicros(d.UsedAt))
		if err != nil {
			return fmt.Errorf("store: insert download: %w", mapBusy(err))
		}
		return db.appendEvent(ctx, ts, &ev)
	})
}

// Download returns the download whose token hashes to hash (errs.NotFound).
func (db *DB) Download(ctx context.Context, hash []byte) (*consent.Download, error) {
	var (
		d                consent.Download
		created, expires int64
		used             sql.NullInt64
	)
	err := db.r.QueryRowContext(ctx, "SELECT "+downloadCols+" FROM sharing_downloads WHERE token_hash = $1", hash).Scan(
		&d.ID, &d.TokenHash, &d.ClientID, &d.EntityCode, &d.Identifier, &d.Format, &d.Cause, &d.Item, &d.CaseNumber,
		&d.ConsentID, &created, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "下载地址无效", "no such download URL")
	}
	if err != nil {
		return nil, fmt.Errorf("store: download: %w", err)
	}
	d.CreatedAt, d.ExpiresAt, d.UsedAt = fromMicros(created), fromMicros(expires), fromNullMicros(used)
	return &d, nil
}

// UseDownload marks the download used at at, if it is unused and not expired then, with the
// audit event of the fetch; otherwise errs.Conflict and nothing is written.
func (db *DB) UseDownload(ctx context.Context, id string, at time.Time, ev audit.Event) error {
	return db.inTxStmts(ctx, func(ts *txStmts) error {
		n, err := execCount(ctx, ts.tx, `UPDATE sharing_downloads SET used_at = $2 WHERE id = $1 AND used_at IS NULL
			AND expires_at > $2`, id, micros(at))
		if err != nil {
			return fmt.Errorf("store: use download %s: %w", id, err)
		}
		if n == 0 {
			return conflictf(nil, "下载地址已使用或已过期", "the download URL was used or has expired")
		}
		return db.appendEvent(ctx, ts, &ev)
	})
}

const archiveCols = `receipt_id, client_id, entity_code, identifier, version, document_sm3, cause, item, case_number,
	archived_at, signature, cert_serial`

// AddArchive stores an archive receipt with its audit event.
func (db *DB) AddArchive(ctx context.Context, a *consent.Archive, ev audit.Event) error {
	return db.inTxStmts(ctx, func(ts *txStmts) error {
		_, err := ts.tx.ExecContext(ctx, "INSERT INTO sharing_archive ("+archiveCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			a.ReceiptID, a.ClientID, a.EntityCode, a.Identifier, a.Version, a.DocumentSM3, a.Cause, a.Item, a.CaseNumber,
			micros(a.ArchivedAt), a.Signature, a.CertSerial)
		if err != nil {
			return fmt.Errorf("store: insert archive receipt: %w", mapBusy(err))
		}
		return db.appendEvent(ctx, ts, &ev)
	})
}

func scanArchive(row interface{ Scan(...any) error }) (*consent.Archive, error) {
	var a consent.Archive
	var at int64
	if err := row.Scan(&a.ReceiptID, &a.ClientID, &a.EntityCode, &a.Identifier, &a.Version, &a.DocumentSM3, &a.Cause,
		&a.Item, &a.CaseNumber, &at, &a.Signature, &a.CertSerial); err != nil {
		return nil, err
	}
	a.ArchivedAt = fromMicros(at)
	return &a, nil
}

// Archive returns the receipt with this ID (errs.NotFound).
func (db *DB) Archive(ctx context.Context, receiptID string) (*consent.Archive, error) {
	a, err := scanArchive(db.r.QueryRowContext(ctx, "SELECT "+archiveCols+" FROM sharing_archive WHERE receipt_id = $1", receiptID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "没有这张存档回执", "no such archive receipt")
	}
	if err != nil {
		return nil, fmt.Errorf("store: archive receipt %s: %w", receiptID, err)
	}
	return a, nil
}

// Archives returns a client's archive receipts, newest first, at most limit, after the cursor
// (the last receipt of the previous page as "<archived_at micros>.<receipt id>"; "" for the
// first page). It returns the cursor of the next page ("" when there is none).
func (db *DB) Archives(ctx context.Context, clientID, cursor string, limit int) ([]*consent.Archive, string, error) {
	q := "SELECT " + archiveCols + " FROM sharing_archive WHERE client_id = $1"
	args := []any{clientID}
	if cursor != "" {
		us, id, ok := strings.Cut(cursor, ".")
		at, err := strconv.ParseInt(us, 10, 64)
		if !ok || err != nil || id == "" {
			return nil, "", errs.New(errs.Invalid, "cursor", "分页游标无效", "the page cursor is not valid")
		}
		q += " AND (archived_at < $2 OR archived_at = $2 AND receipt_id < $3)"
		args = append(args, at, id)
	}
	args = append(args, limit+1)
	q += " ORDER BY archived_at DESC, receipt_id DESC LIMIT $" + strconv.Itoa(len(args))
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: archive receipts: %w", err)
	}
	defer rows.Close()
	out := []*consent.Archive{}
	for rows.Next() {
		a, err := scanArchive(rows)
		if err != nil {
			return nil, "", fmt.Errorf("store: archive receipts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("store: archive receipts: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[len(out)-1]
		next = strconv.FormatInt(micros(last.ArchivedAt), 10) + "." + last.ReceiptID
	}
	return out, next, nil
}

// PendingConsents returns the per-case consent requests of the entities that are pending and
// not expired at now, newest first (the wallet inbox). Codes are queried in chunks of
// maxCodesPerQuery; the index sharing_consents_entity serves each.
func (db *DB) PendingConsents(ctx context.Context, entityCodes []string, now time.Time) ([]*consent.Consent, error) {
	out := []*consent.Consent{}
	for chunk := range slices.Chunk(entityCodes, maxCodesPerQuery) {
		var q query
		q.where("kind = 'case' AND status = 'pending'")
		q.where("valid_until > ?", micros(now))
		q.where("entity_code IN (" + list(&q, chunk) + ")")
		ks, err := db.queryConsents(ctx, strings.Join(q.conds, " AND "), q.args...)
		if err != nil {
			return nil, fmt.Errorf("store: pending consents: %w", err)
		}
		out = append(out, ks...)
	}
	slices.SortStableFunc(out, func(a, b *consent.Consent) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}
