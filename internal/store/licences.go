package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/license"
)

// Bulk inserts carry at most bulkChunk rows per statement (11 parameters each: 5,500, well under
// SQLite's 32,766 and PostgreSQL's 65,535).
const (
	bulkChunk   = 500
	licenceCols = 11
	versionCols = 11
	inChunk     = 500 // parameters per IN (…) list
)

// List page sizes.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

const (
	insertLicencePrefix = "INSERT INTO licences (code, kind, region, authority_code, name, name_fold, status, status_reason, status_at, current_version, updated_at) VALUES "
	insertVersionPrefix = "INSERT INTO licence_versions (licence_id, version, identifier, data, signature, cert_serial, issued_at, superseded_at, person_id_hash, person_id_sealed, digest) VALUES "
	// selectLicence reads a version together with its entity; scanLicence decodes it.
	selectLicence = `SELECT v.data, v.signature, v.person_id_hash, v.person_id_sealed, v.digest, v.version, v.superseded_at,
		l.current_version, l.status, l.status_reason, l.status_at
		FROM licence_versions v JOIN licences l ON l.id = v.licence_id`
)

// prepared is a change with its version row encoded, ready to insert.
type prepared struct {
	c    *license.Change
	data string // JSON of the licence content (no state, no signature: those have columns)
}

// Save applies the changes in one transaction, together with their audit events: an OpIssue for an
// existing code, or a Prev that is not the current version, fails with errs.Conflict and nothing of
// the batch is stored, audit events included. Runs of OpIssue are written in bulk (multi-row
// INSERTs on SQLite, COPY on PostgreSQL). Each change's Event gets its Seq, Prev and Hash set in
// place (also when Save then fails).
func (db *DB) Save(ctx context.Context, changes []license.Change) error {
	if len(changes) == 0 {
		return nil
	}
	ps, err := prepareChanges(changes)
	if err != nil {
		return err
	}
	// The cached licences of the codes changed (not issued) are evicted once the transaction is
	// over, whatever its outcome: the next read of this process sees what the database holds.
	var changed []string
	for i := range changes {
		if changes[i].Op != license.OpIssue {
			changed = append(changed, changes[i].Licence.Code)
		}
	}
	if db.cache != nil {
		defer db.cache.evict(changed)
	}
	err = db.inTxStmts(ctx, func(ts *txStmts) error {
		var run []prepared                    // consecutive issues, written together
		ids := make([]int64, 0, len(changed)) // the entity of each change, in order
		for i := range ps {
			if ps[i].c.Op == license.OpIssue {
				run = append(run, ps[i])
				continue
			}
			if err := db.insertIssues(ctx, ts, run); err != nil {
				return err
			}
			run = run[:0]
			id, err := db.applyChange(ctx, ts, ps[i])
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		if err := db.insertIssues(ctx, ts, run); err != nil {
			return err
		}
		events := make([]*audit.Event, len(changes))
		for i := range changes {
			events[i] = &changes[i].Event
		}
		if err := db.appendEvents(ctx, ts, events); err != nil {
			return err
		}
		return db.markChanged(ctx, ts, changes, ids)
	})
	var ic *issueConflict
	if errors.As(err, &ic) {
		return db.explainIssueConflict(ctx, changes, ic.cause)
	}
	return err
}

// issueConflict marks a unique violation while inserting issued licences; Save explains it after
// the rollback (on PostgreSQL the failed transaction can run no more queries).
type issueConflict struct{ cause error }

func (e *issueConflict) Error() string { return "store: issue conflict: " + e.cause.Error() }
func (e *issueConflict) Unwrap() error { return e.cause }

// prepareChanges checks the batch and encodes the licence data outside the transaction, so the
// write lock is held only for the writes.
func prepareChanges(changes []license.Change) ([]prepared, error) {
	ps := make([]prepared, len(changes))
	codes := map[string]bool{}
	ids := map[string]bool{}
	for i := range changes {
		c := &changes[i]
		l := c.Licence
		if l == nil || l.Code == "" {
			return nil, fmt.Errorf("store: change %d has no licence", i)
		}
		if c.Event.Action == "" {
			return nil, fmt.Errorf("store: change %d (%s) has no audit event", i, l.Code)
		}
		ps[i].c = c
		switch c.Op {
		case license.OpIssue:
			if codes[l.Code] {
				e := errs.Conflictf("统一社会信用代码 %s 在同一批次中重复出现",
					"code %s appears more than once in the batch", l.Code)
				e.Field = "code"
				return nil, e
			}
			codes[l.Code] = true
		case license.OpNewVersion:
			if l.Version != c.Prev+1 {
				return nil, fmt.Errorf("store: change %d (%s): new version %d does not follow %d", i, l.Code, l.Version, c.Prev)
			}
		case license.OpStatus:
			continue
		default:
			return nil, fmt.Errorf("store: change %d (%s): unknown op %d", i, l.Code, c.Op)
		}
		if l.Identifier == "" {
			return nil, fmt.Errorf("store: change %d (%s) has no identifier", i, l.Code)
		}
		if ids[l.Identifier] {
			return nil, errs.Conflictf("电子证照标识 %s 在同一批次中重复出现",
				"identifier %s appears more than once in the batch", l.Identifier)
		}
		ids[l.Identifier] = true
		data, err := encodeLicence(l)
		if err != nil {
			return nil, fmt.Errorf("store: encode licence %s: %w", l.Code, err)
		}
		ps[i].data = data
	}
	return ps, nil
}

// encodeLicence returns the JSON stored in licence_versions.data: the licence's content without
// the state (status, supersession) and the signature, which live in columns.
func encodeLicence(l *license.Licence) (string, error) {
	c := *l
	c.Signature = nil
	c.Status = ""
	c.StatusReason = ""
	c.StatusAt = nil
	c.SupersededAt = nil
	b, err := json.Marshal(&c)
	return string(b), err
}

// chunkSize returns how many of n remaining rows the next INSERT takes: bulkChunk, or the
// largest power of two ≤ n, so that only a few statement shapes exist to prepare and cache.
func chunkSize(n int) int {
	if n >= bulkChunk {
		return bulkChunk
	}
	k := 1
	for k*2 <= n {
		k *= 2
	}
	return k
}

// insertIssues writes the entities and first versions of a run of OpIssue changes.
func (db *DB) insertIssues(ctx context.Context, ts *txStmts, run []prepared) error {
	if len(run) == 0 {
		return nil
	}
	if db.dialect == Postgres {
		return db.copyIssues(ctx, ts, run)
	}
	now := micros(db.now())
	args := make([]any, 0, bulkChunk*licenceCols)
	ids := make(map[string]int64, min(len(run), bulkChunk))
	for start := 0; start < len(run); {
		n := chunkSize(len(run) - start)
		chunk := run[start : start+n]
		start += n

		st, err := ts.get(ctx, insertLicencePrefix+db.placeholders(n, licenceCols)+" RETURNING id, code")
		if err != nil {
			return fmt.Errorf("store: prepare licence insert: %w", err)
		}
		args = args[:0]
		for _, p := range chunk {
			l := p.c.Licence
			args = append(args, l.Code, string(l.Kind), l.Region, l.AuthorityCode, l.Face.Name, strings.ToLower(l.Face.Name),
				string(l.Status), l.StatusReason, nullTime(l.StatusAt), l.Version, now)
		}
		if err := readIDs(st.QueryContext(ctx, args...))(ids); err != nil {
			if isUnique(err) {
				return &issueConflict{cause: err}
			}
			return fmt.Errorf("store: insert licences: %w", mapBusy(err))
		}

		st, err = ts.get(ctx, insertVersionPrefix+db.placeholders(n, versionCols))
		if err != nil {
			return fmt.Errorf("store: prepare version insert: %w", err)
		}
		args = args[:0]
		for _, p := range chunk {
			id, ok := ids[p.c.Licence.Code]
			if !ok {
				return fmt.Errorf("store: insert licences: no id returned for %s", p.c.Licence.Code)
			}
			args = appendVersionArgs(args, p, id)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			if isUnique(err) {
				return &issueConflict{cause: err}
			}
			return fmt.Errorf("store: insert licence versions: %w", mapBusy(err))
		}

		// The search index (0005_search), in the same multi-row form.
		st, err = ts.get(ctx, insertSearchPrefix+db.placeholders(n, 3))
		if err != nil {
			return fmt.Errorf("store: prepare search insert: %w", err)
		}
		args = args[:0]
		for _, p := range chunk {
			l := p.c.Licence
			args = append(args, ids[l.Code], l.Face.Name, l.Face.Person)
		}
		clear(ids)
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("store: index licences for search: %w", mapBusy(err))
		}
	}
	return nil
}

// insertSearchPrefix writes the SQLite search index (migration 0005_search): the name and person
// of an entity's current version. PostgreSQL indexes the columns themselves.
const insertSearchPrefix = "INSERT INTO licence_search (rowid, name, person) VALUES "

// reindex replaces the search row of entity id after a change registration (SQLite).
func (db *DB) reindex(ctx context.Context, ts *txStmts, id int64, l *license.Licence) error {
	if db.dialect == Postgres {
		return nil
	}
	st, err := ts.get(ctx, "DELETE FROM licence_search WHERE rowid = $1")
	if err != nil {
		return fmt.Errorf("store: prepare search delete: %w", err)
	}
	if _, err := st.ExecContext(ctx, id); err != nil {
		return fmt.Errorf("store: unindex licence %s: %w", l.Code, mapBusy(err))
	}
	st, err = ts.get(ctx, insertSearchPrefix+db.placeholders(1, 3))
	if err != nil {
		return fmt.Errorf("store: prepare search insert: %w", err)
	}
	if _, err := st.ExecContext(ctx, id, l.Face.Name, l.Face.Person); err != nil {
		return fmt.Errorf("store: index licence %s for search: %w", l.Code, mapBusy(err))
	}
	return nil
}

// readIDs collects the (id, code) rows that INSERT … RETURNING produced.
func readIDs(rows *sql.Rows, err error) func(map[string]int64) error {
	return func(ids map[string]int64) error {
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id   int64
				code string
			)
			if err := rows.Scan(&id, &code); err != nil {
				return err
			}
			ids[code] = id
		}
		return rows.Err()
	}
}

func appendVersionArgs(args []any, p prepared, licenceID int64) []any {
	l := p.c.Licence
	return append(args, licenceID, l.Version, l.Identifier, p.data, nonNil(l.Signature), l.CertSerial,
		micros(l.IssuedAt), nil, l.PersonIDHash, l.PersonIDSealed, l.Digest)
}

// nonNil returns b, or an empty slice for nil (for NOT NULL columns).
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// nullTime converts an optional time to the stored form.
func nullTime(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return nullMicros(*t)
}

// markChanged sets change_seq of the entities changed (not issued) by the batch to the sequence
// number of the change's audit event, which appendEvents has just assigned; ids are the entities
// of the non-issue changes, in order. The audit head stays locked until commit, so change_seq
// values become visible to other processes in increasing order (see cache.go).
func (db *DB) markChanged(ctx context.Context, ts *txStmts, changes []license.Change, ids []int64) error {
	k := 0
	for i := range changes {
		if changes[i].Op == license.OpIssue {
			continue
		}
		st, err := ts.get(ctx, "UPDATE licences SET change_seq = $1 WHERE id = $2")
		if err != nil {
			return fmt.Errorf("store: prepare change mark: %w", err)
		}
		if _, err := st.ExecContext(ctx, changes[i].Event.Seq, ids[k]); err != nil {
			return fmt.Errorf("store: mark licence %s changed: %w", changes[i].Licence.Code, mapBusy(err))
		}
		k++
	}
	return nil
}

// applyChange applies one OpNewVersion or OpStatus within tx and returns the entity's id. The
// UPDATE that checks Prev is also the one that moves the entity on, so two writers racing on one
// entity cannot both succeed.
func (db *DB) applyChange(ctx context.Context, ts *txStmts, p prepared) (int64, error) {
	tx := ts.tx
	c := p.c
	l := c.Licence
	now := db.now()
	var row *sql.Row
	switch c.Op {
	case license.OpNewVersion:
		args := []any{l.Code, string(l.Kind), l.Region, l.AuthorityCode, l.Face.Name, strings.ToLower(l.Face.Name),
			string(l.Status), l.StatusReason, nullTime(l.StatusAt), l.Version, micros(now), c.Prev}
		row = tx.QueryRowContext(ctx, `UPDATE licences SET kind = $2, region = $3, authority_code = $4, name = $5,
			name_fold = $6, status = $7, status_reason = $8, status_at = $9, current_version = $10, updated_at = $11
			WHERE code = $1 AND current_version = $12`+statusGuard(c.PrevStatus, &args)+` RETURNING id`, args...)
	case license.OpStatus:
		args := []any{l.Code, string(l.Status), l.StatusReason, nullTime(l.StatusAt), micros(now), c.Prev}
		row = tx.QueryRowContext(ctx, `UPDATE licences SET status = $2, status_reason = $3, status_at = $4, updated_at = $5
			WHERE code = $1 AND current_version = $6`+statusGuard(c.PrevStatus, &args)+` RETURNING id`, args...)
	}
	var id int64
	if err := row.Scan(&id); errors.Is(err, sql.ErrNoRows) {
		return 0, db.explainStale(ctx, tx, l.Code, c.Prev, c.PrevStatus)
	} else if err != nil {
		return 0, fmt.Errorf("store: update licence %s: %w", l.Code, mapBusy(err))
	}
	if c.Op == license.OpStatus {
		return id, nil
	}

	supersededAt := l.IssuedAt
	if supersededAt.IsZero() {
		supersededAt = now
	}
	if _, err := tx.ExecContext(ctx, "UPDATE licence_versions SET superseded_at = $3 WHERE licence_id = $1 AND version = $2",
		id, c.Prev, micros(supersededAt)); err != nil {
		return 0, fmt.Errorf("store: supersede licence %s version %d: %w", l.Code, c.Prev, mapBusy(err))
	}
	st, err := ts.get(ctx, insertVersionPrefix+db.placeholders(1, versionCols))
	if err != nil {
		return 0, fmt.Errorf("store: prepare version insert: %w", err)
	}
	if _, err := st.ExecContext(ctx, appendVersionArgs(nil, p, id)...); err != nil {
		if isUnique(err) {
			return 0, conflictf(err, "电子证照标识 %s 已存在", "identifier %s already exists", l.Identifier)
		}
		return 0, fmt.Errorf("store: insert licence %s version %d: %w", l.Code, l.Version, mapBusy(err))
	}
	if err := db.reindex(ctx, ts, id, l); err != nil {
		return 0, err
	}
	return id, nil
}

// explainStale reports why an update matched no row: no such entity, or another version is current.
func (db *DB) explainStale(ctx context.Context, tx *sql.Tx, code string, prev int, prevStatus license.Status) error {
	var cur int
	var status string
	err := tx.QueryRowContext(ctx, "SELECT current_version, status FROM licences WHERE code = $1", code).Scan(&cur, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return licenceNotFound(err, code)
	}
	if err != nil {
		return fmt.Errorf("store: read licence %s: %w", code, err)
	}
	if cur == prev && prevStatus != "" && status != string(prevStatus) {
		zh, en := license.StatusName(license.Status(status))
		e := errs.New(errs.Conflict, "status",
			fmt.Sprintf("营业执照 %s 的状态已被他人改为“%s”，请刷新后重试", code, zh),
			fmt.Sprintf("the status of licence %s was changed meanwhile to %s; reload and retry", code, strings.ToLower(en)))
		return e
	}
	e := errs.Conflictf("营业执照 %s 已被他人修改：当前版本为 %d，而本次修改基于版本 %d，请刷新后重试",
		"licence %s was changed meanwhile: the current version is %d, this change was based on version %d; reload and retry",
		code, cur, prev)
	e.Field = "version"
	return e
}

// statusGuard returns the condition that the entity still has the status a change was decided
// from (none when prev is empty), appending its argument.
func statusGuard(prev license.Status, args *[]any) string {
	if prev == "" {
		return ""
	}
	*args = append(*args, string(prev))
	return fmt.Sprintf(" AND status = $%d", len(*args))
}

// explainIssueConflict names the code (or identifier) that made a batch of issues fail.
func (db *DB) explainIssueConflict(ctx context.Context, changes []license.Change, cause error) error {
	var codes []any
	for _, c := range changes {
		if c.Op == license.OpIssue {
			codes = append(codes, c.Licence.Code)
		}
	}
	if code, err := db.firstExisting(ctx, "SELECT code FROM licences WHERE code IN ", codes); err != nil {
		return err
	} else if code != "" {
		e := errs.Conflictf("统一社会信用代码 %s 的营业执照已存在", "a licence for code %s already exists", code)
		e.Field, e.Err = "code", cause
		return e
	}
	return conflictf(cause, "营业执照已存在", "the licence already exists")
}

// firstExisting runs prefix + "($1,…)" over vals in chunks and returns the smallest value found.
func (db *DB) firstExisting(ctx context.Context, prefix string, vals []any) (string, error) {
	found := ""
	for start := 0; start < len(vals); start += inChunk {
		chunk := vals[start:min(start+inChunk, len(vals))]
		rows, err := db.r.QueryContext(ctx, prefix+db.placeholders(1, len(chunk)), chunk...)
		if err != nil {
			return "", fmt.Errorf("store: find conflict: %w", err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				rows.Close()
				return "", fmt.Errorf("store: find conflict: %w", err)
			}
			if found == "" || s < found {
				found = s
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return "", fmt.Errorf("store: find conflict: %w", err)
		}
	}
	return found, nil
}

func licenceNotFound(cause error, code string) error {
	return notFoundf(cause, "未找到统一社会信用代码为 %s 的营业执照", "no licence found for code %s", code)
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// scanLicence decodes a row of selectLicence.
func scanLicence(s rowScanner) (*license.Licence, error) {
	var (
		data                      string
		sig, pidHash, pid, digest []byte
		version, current          int
		supersededAt, statusAt    sql.NullInt64
		status, reason            string
	)
	if err := s.Scan(&data, &sig, &pidHash, &pid, &digest, &version, &supersededAt,
		&current, &status, &reason, &statusAt); err != nil {
		return nil, err
	}
	l := new(license.Licence)
	if err := decodeLicenceData(data, l); err != nil {
		return nil, fmt.Errorf("store: decode licence data: %w", err)
	}
	l.Signature, l.PersonIDHash, l.PersonIDSealed, l.Digest = sig, pidHash, pid, digest
	l.Version = version
	if version == current {
		l.Status = license.Status(status)
		l.StatusReason = reason
		if statusAt.Valid {
			t := fromMicros(statusAt.Int64)
			l.StatusAt = &t
		}
	} else {
		l.Status = license.Superseded
		if supersededAt.Valid {
			t := fromMicros(supersededAt.Int64)
			l.SupersededAt = &t
		}
	}
	return l, nil
}

// The statements of the single-licence reads, prepared on the read pool at Open (SQLite would
// otherwise parse the SELECT again for every look-up).
const (
	selectCurrent = selectLicence + " WHERE l.code = $1 AND v.version = l.current_version"
	selectVersion = selectLicence + " WHERE l.code = $1 AND v.version = $2"
)

// Current returns the current version of the entity with this code (errs.NotFound). It answers
// from the cache of current licences when it can (cache.go); the licence returned may be shared
// with other callers and must not be modified.
func (db *DB) Current(ctx context.Context, code string) (*license.Licence, error) {
	c := db.cache
	if c == nil {
		return db.readCurrent(ctx, code)
	}
	if l, ok := c.get(code); ok {
		return l, nil
	}
	t := c.begin()
	l, err := db.readCurrent(ctx, code)
	if err == nil {
		c.add(code, l, t)
	}
	return l, err
}

func (db *DB) readCurrent(ctx context.Context, code string) (*license.Licence, error) {
	l, err := scanLicence(db.stmtCurrent.QueryRowContext(ctx, code))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, licenceNotFound(err, code)
	}
	if err != nil {
		return nil, fmt.Errorf("store: licence %s: %w", code, err)
	}
	return l, nil
}

// Version returns version `version` of the entity with this code (errs.NotFound); a version
// other than the current one is Superseded. The current version may come from the cache, as in
// Current.
func (db *DB) Version(ctx context.Context, code string, version int) (*license.Licence, error) {
	if c := db.cache; c != nil {
		l, ok := c.get(code)
		if !ok {
			// Fill the cache with the current version (Current), so that the next query by
			// identifier of a current version is answered from it; an error falls through.
			var err error
			l, err = db.Current(ctx, code)
			ok = err == nil
		}
		if ok && l.Version == version {
			return l, nil
		}
	}
	l, err := scanLicence(db.stmtVersion.QueryRowContext(ctx, code, version))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "未找到统一社会信用代码为 %s 的营业执照第 %d 版", "no licence for %s with version %d", code, version)
	}
	if err != nil {
		return nil, fmt.Errorf("store: licence %s version %d: %w", code, version, err)
	}
	return l, nil
}

// History returns every version of the entity, oldest first (errs.NotFound when none).
func (db *DB) History(ctx context.Context, code string) ([]*license.Licence, error) {
	ls, err := db.queryLicences(ctx, selectLicence+" WHERE l.code = $1 ORDER BY v.version", code)
	if err != nil {
		return nil, fmt.Errorf("store: history of %s: %w", code, err)
	}
	if len(ls) == 0 {
		return nil, licenceNotFound(sql.ErrNoRows, code)
	}
	return ls, nil
}

func (db *DB) queryLicences(ctx context.Context, query string, args ...any) ([]*license.Licence, error) {
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ls := []*license.Licence{}
	for rows.Next() {
		l, err := scanLicence(rows)
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
	}
	return ls, rows.Err()
}

// List returns one page of current versions ordered by code, and the cursor of the next page
// ("" on the last page). Limit 0 means DefaultLimit; more than MaxLimit is errs.Invalid.
func (db *DB) List(ctx context.Context, f license.Filter) ([]*license.Licence, string, error) {
	limit := f.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 0 || limit > MaxLimit {
		return nil, "", errs.Invalidf("limit", "每页条数必须在 1 到 %d 之间", "limit must be between 1 and %d", MaxLimit)
	}
	after := ""
	if f.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(f.Cursor)
		if err != nil || len(b) == 0 {
			return nil, "", errs.New(errs.Invalid, "cursor", "分页游标无效", "the page cursor is not valid")
		}
		after = string(b)
	}

	var (
		where strings.Builder
		args  = []any{after}
	)
	where.WriteString(" WHERE l.code > $1")
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.Kind != "" {
		where.WriteString(" AND l.kind = " + arg(string(f.Kind)))
	}
	if f.Region != "" {
		where.WriteString(" AND l.region >= " + arg(f.Region))
		if end, ok := prefixEnd(f.Region); ok {
			where.WriteString(" AND l.region < " + arg(end))
		}
	}
	if f.Status != "" {
		where.WriteString(" AND l.status = " + arg(string(f.Status)))
	}
	if f.Authority != "" {
		where.WriteString(" AND l.authority_code = " + arg(f.Authority))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		where.WriteString(" AND (l.code = " + arg(strings.ToUpper(q)) +
			" OR l.name_fold LIKE " + arg("%"+escapeLike(strings.ToLower(q))+"%") + ` ESCAPE '\')`)
	}
	// The page is chosen on the small licences rows first, and only its rows are joined with
	// their (large) version data.
	query := `SELECT v.data, v.signature, v.person_id_hash, v.person_id_sealed, v.digest, v.version, v.superseded_at,
		l.current_version, l.status, l.status_reason, l.status_at
		FROM (SELECT l.id, l.code, l.current_version, l.status, l.status_reason, l.status_at FROM licences l` +
		where.String() + " ORDER BY l.code LIMIT " + arg(limit+1) + `) l
		JOIN licence_versions v ON v.licence_id = l.id AND v.version = l.current_version
		ORDER BY l.code`

	ls, err := db.queryLicences(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list licences: %w", err)
	}
	next := ""
	if len(ls) > limit {
		ls = ls[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(ls[limit-1].Code))
	}
	return ls, next, nil
}

// prefixEnd returns the smallest string greater than every string with this prefix (byte order),
// and false when there is none.
func prefixEnd(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// escapeLike escapes the LIKE wildcards of s with backslashes.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Digests returns the registration digest of the current version of each code that exists.
func (db *DB) Digests(ctx context.Context, codes []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(codes))
	seen := make(map[string]bool, len(codes))
	vals := make([]any, 0, len(codes))
	for _, c := range codes {
		if !seen[c] {
			seen[c] = true
			vals = append(vals, c)
		}
	}
	for start := 0; start < len(vals); start += inChunk {
		chunk := vals[start:min(start+inChunk, len(vals))]
		rows, err := db.r.QueryContext(ctx, `SELECT l.code, v.digest FROM licences l
			JOIN licence_versions v ON v.licence_id = l.id AND v.version = l.current_version
			WHERE l.code IN `+db.placeholders(1, len(chunk)), chunk...)
		if err != nil {
			return nil, fmt.Errorf("store: digests: %w", err)
		}
		for rows.Next() {
			var (
				code   string
				digest []byte
			)
			if err := rows.Scan(&code, &digest); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: digests: %w", err)
			}
			out[code] = digest
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("store: digests: %w", err)
		}
	}
	return out, nil
}
