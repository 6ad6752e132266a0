package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/library"
)

// Storage of the enterprise licence library (package library; migration 0007_library): licence
// types, permits with their versions, and service records.

var _ library.Store = (*DB)(nil)

// CreateType stores a new licence type with its audit event (errs.Conflict when the code exists).
func (db *DB) CreateType(ctx context.Context, t *library.Type, ev audit.Event) error {
	err := db.inTxStmts(ctx, func(ts *txStmts) error {
		_, err := ts.tx.ExecContext(ctx, `INSERT INTO library_types (code, data, created_at, updated_at) VALUES ($1, $2, $3, $4)`,
			t.Code, oidcJSON(t), micros(t.CreatedAt), micros(t.UpdatedAt))
		if isUnique(err) {
			return conflictf(err, "证照类型 %s 已存在", "licence type %s exists already", t.Code)
		}
		if err != nil {
			return fmt.Errorf("store: create type %s: %w", t.Code, mapBusy(err))
		}
		return db.appendEvents(ctx, ts, []*audit.Event{&ev})
	})
	return err
}

// UpdateType replaces a stored licence type with its audit event (errs.NotFound when missing).
func (db *DB) UpdateType(ctx context.Context, t *library.Type, ev audit.Event) error {
	return db.inTxStmts(ctx, func(ts *txStmts) error {
		n, err := oidcExec(ctx, ts.tx, `UPDATE library_types SET data = $2, updated_at = $3 WHERE code = $1`,
			t.Code, oidcJSON(t), micros(t.UpdatedAt))
		if err != nil {
			return fmt.Errorf("store: update type %s: %w", t.Code, err)
		}
		if n == 0 {
			return notFoundf(sql.ErrNoRows, "证照类型 %s 不存在", "no licence type %s", t.Code)
		}
		return db.appendEvents(ctx, ts, []*audit.Event{&ev})
	})
}

// LibraryType returns the stored licence type with this code (errs.NotFound).
func (db *DB) LibraryType(ctx context.Context, code string) (*library.Type, error) {
	var data string
	err := db.r.QueryRowContext(ctx, `SELECT data FROM library_types WHERE code = $1`, code).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "证照类型 %s 不存在", "no licence type %s", code)
	}
	if err != nil {
		return nil, fmt.Errorf("store: type %s: %w", code, err)
	}
	t := &library.Type{}
	if err := oidcDecode(data, t); err != nil {
		return nil, err
	}
	return t, nil
}

// LibraryTypes returns every stored licence type ordered by code.
func (db *DB) LibraryTypes(ctx context.Context) ([]*library.Type, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT data FROM library_types ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("store: types: %w", err)
	}
	defer rows.Close()
	out := []*library.Type{}
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, fmt.Errorf("store: types: %w", err)
		}
		t := &library.Type{}
		if err := oidcDecode(data, t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: types: %w", err)
	}
	return out, nil
}

// permitData is the content of a permit version as stored in permit_versions.data: what
// SignedBytes covers except the identifier, version and signing time, which have columns.
type permitData struct {
	Number         string            `json:"number"`
	TypeCode       string            `json:"type_code"`
	TypeName       string            `json:"type_name"`
	IssuerCode     string            `json:"issuer_code"`
	IssuerName     string            `json:"issuer_name"`
	DefinedBy      string            `json:"defined_by"`
	DefinedByName  string            `json:"defined_by_name"`
	IssueDate      string            `json:"issue_date"`
	ValidFrom      string            `json:"valid_from"`
	ValidUntil     string            `json:"valid_until"`
	AreaCode       string            `json:"area_code"`
	HolderName     string            `json:"holder_name"`
	HolderCode     string            `json:"holder_code"`
	HolderCodeType string            `json:"holder_code_type"`
	Items          map[string]string `json:"items"`
	Extension      json.RawMessage   `json:"extension,omitempty"`
}

// encodePermit encodes the content of a permit version without HTML escaping, so that the
// extension data (JSON the signature covers as it is) is stored byte for byte.
func encodePermit(p *library.Permit) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	// Strings, a map of strings and valid JSON always encode.
	_ = enc.Encode(permitData{p.Number, p.TypeCode, p.TypeName, p.IssuerCode, p.IssuerName, p.DefinedBy, p.DefinedByName,
		p.IssueDate, p.ValidFrom, p.ValidUntil, p.AreaCode, p.HolderName, p.HolderCode, p.HolderCodeType, p.Items, p.Extension})
	return strings.TrimSuffix(b.String(), "\n")
}

// SavePermits applies the changes in one transaction with their audit events; a taken (type,
// number) or a change decided from a state that is no longer current fails with errs.Conflict
// and stores nothing.
func (db *DB) SavePermits(ctx context.Context, changes []library.PermitChange) error {
	if len(changes) == 0 {
		return nil
	}
	for i := range changes {
		if changes[i].Permit == nil || changes[i].Event.Action == "" {
			return fmt.Errorf("store: permit change %d has no permit or no audit event", i)
		}
	}
	now := micros(db.now())
	return db.inTxStmts(ctx, func(ts *txStmts) error {
		events := make([]*audit.Event, len(changes))
		for i := range changes {
			c := &changes[i]
			if err := db.applyPermit(ctx, ts, c, now); err != nil {
				return err
			}
			events[i] = &c.Event
		}
		return db.appendEvents(ctx, ts, events)
	})
}

func (db *DB) applyPermit(ctx context.Context, ts *txStmts, c *library.PermitChange, now int64) error {
	p := c.Permit
	var id int64
	switch c.Op {
	case library.OpIssue:
		st, err := ts.get(ctx, `INSERT INTO permits (type_code, number, issuer_code, holder_code, holder_code_type, status,
			status_reason, status_at, current_version, updated_at) VALUES ($1, $2, $3, $4, $5, $6, '', NULL, $7, $8) RETURNING id`)
		if err != nil {
			return fmt.Errorf("store: prepare permit insert: %w", err)
		}
		err = st.QueryRowContext(ctx, p.TypeCode, p.Number, p.IssuerCode, p.HolderCode, p.HolderCodeType, string(p.Status),
			p.Version, now).Scan(&id)
		if isUnique(err) {
			return conflictf(err, "证照编号 %s 已存在", "licence number %s exists already", p.Number)
		}
		if err != nil {
			return fmt.Errorf("store: insert permit %s: %w", p.Identifier, mapBusy(err))
		}
	case library.OpNewVersion, library.OpStatus:
		args := []any{p.TypeCode, p.Number, c.Prev, string(c.PrevStatus), string(p.Status), p.StatusReason,
			nullMicros(timeOrZero(p.StatusAt)), now}
		q := `UPDATE permits SET status = $5, status_reason = $6, status_at = $7, updated_at = $8`
		if c.Op == library.OpNewVersion {
			q += `, current_version = $9, issuer_code = $10, holder_code = $11`
			args = append(args, p.Version, p.IssuerCode, p.HolderCode)
		}
		q += ` WHERE type_code = $1 AND number = $2 AND current_version = $3 AND status = $4 RETURNING id`
		err := ts.tx.QueryRowContext(ctx, q, args...).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return conflictf(err, "证照 %s 已被他人修改，请刷新后重试", "licence %s was changed meanwhile; reload and try again", p.Number)
		}
		if err != nil {
			return fmt.Errorf("store: update permit %s: %w", p.Identifier, mapBusy(err))
		}
		if c.Op == library.OpStatus {
			return nil
		}
		if _, err := ts.tx.ExecContext(ctx, `UPDATE permit_versions SET superseded_at = $3 WHERE permit_id = $1 AND version = $2`,
			id, c.Prev, now); err != nil {
			return fmt.Errorf("store: supersede permit %s: %w", p.Identifier, mapBusy(err))
		}
	default:
		return fmt.Errorf("store: permit change: unknown op %d", c.Op)
	}
	st, err := ts.get(ctx, `INSERT INTO permit_versions (permit_id, version, identifier, data, signature, cert_serial, issued_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`)
	if err != nil {
		return fmt.Errorf("store: prepare permit version insert: %w", err)
	}
	_, err = st.ExecContext(ctx, id, p.Version, p.Identifier, encodePermit(p), p.Signature, p.CertSerial, micros(p.IssuedAt))
	if isUnique(err) {
		return conflictf(err, "电子证照标识 %s 已存在", "licence identifier %s exists already", p.Identifier)
	}
	if err != nil {
		return fmt.Errorf("store: insert permit version %s: %w", p.Identifier, mapBusy(err))
	}
	return nil
}

func timeOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

const selectPermit = `SELECT v.identifier, v.version, v.data, v.signature, v.cert_serial, v.issued_at, v.superseded_at,
	p.current_version, p.status, p.status_reason, p.status_at
	FROM permit_versions v JOIN permits p ON p.id = v.permit_id`

func scanPermit(r rowScanner) (*library.Permit, error) {
	var (
		p                          library.Permit
		data, status               string
		cur                        int
		issued                     int64
		superseded, statusAt       sql.NullInt64
		identifier, serial, reason string
		sig                        []byte
		version                    int
	)
	if err := r.Scan(&identifier, &version, &data, &sig, &serial, &issued, &superseded, &cur, &status, &reason, &statusAt); err != nil {
		return nil, err
	}
	var d permitData
	if err := oidcDecode(data, &d); err != nil {
		return nil, err
	}
	p = library.Permit{Identifier: identifier, Number: d.Number, TypeCode: d.TypeCode, TypeName: d.TypeName, Version: version,
		IssuerCode: d.IssuerCode, IssuerName: d.IssuerName, DefinedBy: d.DefinedBy, DefinedByName: d.DefinedByName,
		IssueDate: d.IssueDate, ValidFrom: d.ValidFrom, ValidUntil: d.ValidUntil, AreaCode: d.AreaCode,
		HolderName: d.HolderName, HolderCode: d.HolderCode, HolderCodeType: d.HolderCodeType, Items: d.Items,
		Extension: d.Extension, IssuedAt: fromMicros(issued), Signature: sig, CertSerial: serial}
	if p.Items == nil {
		p.Items = map[string]string{}
	}
	if version != cur {
		p.Status = library.Superseded
		if superseded.Valid {
			t := fromMicros(superseded.Int64)
			p.SupersededAt = &t
		}
		return &p, nil
	}
	p.Status, p.StatusReason = library.Status(status), reason
	if statusAt.Valid {
		t := fromMicros(statusAt.Int64)
		p.StatusAt = &t
	}
	return &p, nil
}

// Permit returns the permit version with this identifier (errs.NotFound).
func (db *DB) Permit(ctx context.Context, identifier string) (*library.Permit, error) {
	p, err := scanPermit(db.r.QueryRowContext(ctx, selectPermit+` WHERE v.identifier = $1`, identifier))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "未找到标识为 %s 的证照", "no licence with identifier %s", identifier)
	}
	if err != nil {
		return nil, fmt.Errorf("store: permit %s: %w", identifier, err)
	}
	return p, nil
}

// CurrentPermit returns the current version of the permit of this type and number.
func (db *DB) CurrentPermit(ctx context.Context, typeCode, number string) (*library.Permit, error) {
	p, err := scanPermit(db.r.QueryRowContext(ctx, selectPermit+
		` WHERE p.type_code = $1 AND p.number = $2 AND v.version = p.current_version`, typeCode, number))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "未找到编号为 %s 的证照", "no licence with number %s", number)
	}
	if err != nil {
		return nil, fmt.Errorf("store: permit %s/%s: %w", typeCode, number, err)
	}
	return p, nil
}

func (db *DB) queryPermits(ctx context.Context, q string, args ...any) ([]*library.Permit, error) {
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: permits: %w", err)
	}
	defer rows.Close()
	out := []*library.Permit{}
	for rows.Next() {
		p, err := scanPermit(rows)
		if err != nil {
			return nil, fmt.Errorf("store: permits: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: permits: %w", err)
	}
	return out, nil
}

// PermitVersions returns every version of a permit, oldest first (errs.NotFound when none).
func (db *DB) PermitVersions(ctx context.Context, typeCode, number string) ([]*library.Permit, error) {
	ps, err := db.queryPermits(ctx, selectPermit+` WHERE p.type_code = $1 AND p.number = $2 ORDER BY v.version`, typeCode, number)
	if err == nil && len(ps) == 0 {
		return nil, notFoundf(sql.ErrNoRows, "未找到编号为 %s 的证照", "no licence with number %s", number)
	}
	return ps, err
}

// PermitsByHolder returns the current versions of a holder's permits by type and number;
// codeType and typeCode filter when not empty.
func (db *DB) PermitsByHolder(ctx context.Context, holderCode, codeType, typeCode string) ([]*library.Permit, error) {
	var q query
	q.where("p.holder_code = ?", holderCode)
	q.where("v.version = p.current_version")
	if codeType != "" {
		q.where("p.holder_code_type = ?", codeType)
	}
	if typeCode != "" {
		q.where("p.type_code = ?", typeCode)
	}
	return db.queryPermits(ctx, selectPermit+q.clause()+` ORDER BY p.type_code, p.number`, q.args...)
}

// AddRecord stores a service record with its audit event.
func (db *DB) AddRecord(ctx context.Context, r *library.Record, ev audit.Event) error {
	return db.inTxStmts(ctx, func(ts *txStmts) error {
		_, err := ts.tx.ExecContext(ctx, `INSERT INTO service_records (id, holder_code, at, data) VALUES ($1, $2, $3, $4)`,
			r.ID, r.HolderCode, micros(r.At), oidcJSON(r))
		if isUnique(err) {
			return conflictf(err, "办件记录 %s 已存在", "service record %s exists already", r.ID)
		}
		if err != nil {
			return fmt.Errorf("store: add record: %w", mapBusy(err))
		}
		return db.appendEvents(ctx, ts, []*audit.Event{&ev})
	})
}

// Records returns a page of the holder's service records, newest first, and the cursor of the
// next page ("" on the last one).
func (db *DB) Records(ctx context.Context, holderCode string, p library.Page) ([]library.Record, string, error) {
	q := `SELECT seq, data FROM service_records WHERE holder_code = $1`
	args := []any{holderCode}
	if p.Before != "" {
		before, err := strconv.ParseInt(p.Before, 10, 64)
		if err != nil {
			return nil, "", errs.New(errs.Invalid, "cursor", "分页游标无效", "invalid cursor")
		}
		args = append(args, before)
		q += ` AND seq < $2`
	}
	args = append(args, p.Limit+1)
	q += ` ORDER BY seq DESC LIMIT $` + strconv.Itoa(len(args))
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: records: %w", err)
	}
	defer rows.Close()
	out := []library.Record{}
	var seqs []int64
	for rows.Next() {
		var (
			seq  int64
			data string
			r    library.Record
		)
		if err := rows.Scan(&seq, &data); err != nil {
			return nil, "", fmt.Errorf("store: records: %w", err)
		}
		if err := oidcDecode(data, &r); err != nil {
			return nil, "", err
		}
		out = append(out, r)
		seqs = append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("store: records: %w", err)
	}
	next := ""
	if len(out) > p.Limit {
		out = out[:p.Limit]
		next = strconv.FormatInt(seqs[p.Limit-1], 10)
	}
	return out, next, nil
}
