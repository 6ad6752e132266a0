package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/license"
)

// Storage of unified identity authentication (统一身份认证, package identity; migration
// 0002_identity). The rules that need atomicity are single statements or one transaction each:
//
//   - compare-and-set: UpdateLoginQR updates WHERE status = from, SaveHolder WHERE person_id =
//     prev, UsePhoneCode and CreatePerson WHERE used_at IS NULL, RevokeGrant WHERE revoked_at IS
//     NULL; on PostgreSQL a concurrent writer waits for the row and re-checks the condition, so of
//     concurrent transitions exactly one matches;
//   - counted attempts: TryPhoneCode and PINAttempt are one UPDATE … RETURNING each;
//   - single use: TakeCeremony is DELETE … RETURNING;
//   - AddGrant checks its limits and inserts under a per-entity lock (a transaction-scoped
//     advisory lock on PostgreSQL; SQLite's single writer serialises anyway);
//   - every change with an audit event appends it in the same transaction (appendEvents).

// The interfaces of package identity that *DB implements.
var (
	_ identity.Store         = (*DB)(nil)
	_ identity.LicenceFinder = (*DB)(nil)
)

// housekeepingAge is how long expired one-time codes, ceremonies and login QR codes are kept
// before the next insert of their kind deletes them (codes are needed an hour for the rate limit).
const housekeepingAge = 24 * time.Hour

// grantLockSpace namespaces the advisory-lock keys of AddGrant.
const grantLockSpace = "elicense identity grants "

// ---- helpers ----

// execCount runs an UPDATE or DELETE and returns the number of rows it changed.
func execCount(ctx context.Context, tx *sql.Tx, query string, args ...any) (int64, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, mapBusy(err)
	}
	return res.RowsAffected()
}

// existsTx reports whether query (SELECT 1 …) returns a row within tx.
func existsTx(ctx context.Context, tx *sql.Tx, query string, args ...any) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// exists reports whether query (SELECT 1 …) returns a row.
func (db *DB) exists(ctx context.Context, query string, args ...any) (bool, error) {
	var one int
	err := db.r.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// appendEvent appends one audit event within the transaction.
func (db *DB) appendEvent(ctx context.Context, ts *txStmts, ev *audit.Event) error {
	if ev.Action == "" {
		return fmt.Errorf("store: audit event without action")
	}
	return db.appendEvents(ctx, ts, []*audit.Event{ev})
}

// fieldConflict is an errs.Conflict naming the field at fault.
func fieldConflict(cause error, field, zh, en string, args ...any) *errs.Error {
	e := conflictf(cause, zh, en, args...)
	e.Field = field
	return e
}

// encodeList stores a list as a JSON array; NULL when empty.
func encodeList[T any](v []T) (sql.NullString, error) {
	if len(v) == 0 {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return sql.NullString{}, err
	}
	return sql.NullString{String: string(b), Valid: true}, nil
}

// decodeList reads what encodeList stored; nil for NULL.
func decodeList[T any](s sql.NullString) ([]T, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	var v []T
	if err := json.Unmarshal([]byte(s.String), &v); err != nil {
		return nil, err
	}
	if len(v) == 0 {
		return nil, nil
	}
	return v, nil
}

// nilIfEmpty returns nil for an empty slice, so that NULL and empty blobs read back alike.
func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// ---- persons ----

const personCols = `id, name, id_number_hash, id_number_sealed, phone, phone_verified_at, real_name_verified_at,
	weak_pins, pin_hash, failed_pin, pin_locked_until, created_at`

func personNotFound(cause error) error {
	return notFoundf(cause, "用户不存在", "no such person")
}

func scanPerson(s rowScanner) (*identity.Person, error) {
	var (
		p                           identity.Person
		phoneAt, realNameAt, locked sql.NullInt64
		weak                        sql.NullString
		created                     int64
	)
	if err := s.Scan(&p.ID, &p.Name, &p.IDNumberHash, &p.IDNumberSealed, &p.Phone, &phoneAt, &realNameAt,
		&weak, &p.PINHash, &p.FailedPIN, &locked, &created); err != nil {
		return nil, err
	}
	var err error
	if p.WeakPINs, err = decodeList[[]byte](weak); err != nil {
		return nil, fmt.Errorf("store: decode weak PINs of person %s: %w", p.ID, err)
	}
	p.PhoneVerifiedAt, p.RealNameVerifiedAt = fromNullMicros(phoneAt), fromNullMicros(realNameAt)
	p.PINLockedUntil, p.CreatedAt = fromNullMicros(locked), fromMicros(created)
	return &p, nil
}

func (db *DB) personWhere(ctx context.Context, where string, arg any) (*identity.Person, error) {
	p, err := scanPerson(db.r.QueryRowContext(ctx, "SELECT "+personCols+" FROM persons WHERE "+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, personNotFound(err)
	}
	if err != nil {
		return nil, fmt.Errorf("store: person: %w", err)
	}
	return p, nil
}

// CreatePerson marks the one-time code used and inserts the person, with the audit event, in one
// transaction (errs.Conflict when the code is used or the ID number or phone is registered;
// errs.NotFound for an unknown code).
func (db *DB) CreatePerson(ctx context.Context, p *identity.Person, codeID string, ev audit.Event) error {
	weak, err := encodeList(p.WeakPINs)
	if err != nil {
		return fmt.Errorf("store: encode weak PINs: %w", err)
	}
	at := p.CreatedAt
	if at.IsZero() {
		at = db.now()
	}
	err = db.inTxStmts(ctx, func(ts *txStmts) error {
		if err := usePhoneCode(ctx, ts.tx, codeID, at); err != nil {
			return err
		}
		if _, err := ts.tx.ExecContext(ctx, "INSERT INTO persons ("+personCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			p.ID, p.Name, nonNil(p.IDNumberHash), nonNil(p.IDNumberSealed), p.Phone, nullMicros(p.PhoneVerifiedAt),
			nullMicros(p.RealNameVerifiedAt), weak, p.PINHash, p.FailedPIN, nullMicros(p.PINLockedUntil), micros(at)); err != nil {
			return fmt.Errorf("store: insert person: %w", mapBusy(err))
		}
		return db.appendEvent(ctx, ts, &ev)
	})
	if isUnique(err) {
		return db.explainPersonConflict(ctx, p, err)
	}
	return err
}

// explainPersonConflict names what made inserting p violate a unique constraint.
func (db *DB) explainPersonConflict(ctx context.Context, p *identity.Person, cause error) error {
	if ok, err := db.exists(ctx, "SELECT 1 FROM persons WHERE id_number_hash = $1", nonNil(p.IDNumberHash)); err != nil {
		return fmt.Errorf("store: find conflict: %w", err)
	} else if ok {
		return fieldConflict(cause, "id_number", "该身份号码已注册", "this ID number is already registered")
	}
	if ok, err := db.exists(ctx, "SELECT 1 FROM persons WHERE phone = $1", p.Phone); err != nil {
		return fmt.Errorf("store: find conflict: %w", err)
	} else if ok {
		return fieldConflict(cause, "phone", "该手机号已被其他用户注册", "this phone number is registered to someone else")
	}
	return fieldConflict(cause, "id", "用户 %s 已存在", "person %s already exists", p.ID)
}

// Person returns the person with this ID (errs.NotFound).
func (db *DB) Person(ctx context.Context, id string) (*identity.Person, error) {
	return db.personWhere(ctx, "id = $1", id)
}

// PersonByIDHash returns the person with this ID-number hash (errs.NotFound).
func (db *DB) PersonByIDHash(ctx context.Context, hash []byte) (*identity.Person, error) {
	return db.personWhere(ctx, "id_number_hash = $1", nonNil(hash))
}

// PersonByPhone returns the person with this phone number (errs.NotFound).
func (db *DB) PersonByPhone(ctx context.Context, phone string) (*identity.Person, error) {
	return db.personWhere(ctx, "phone = $1", phone)
}

// SetRealName records a passed real-name verification, with its audit event (errs.NotFound).
func (db *DB) SetRealName(ctx context.Context, personID string, at time.Time, ev audit.Event) error {
	return db.inTxStmts(ctx, func(ts *txStmts) error {
		n, err := execCount(ctx, ts.tx, "UPDATE persons SET real_name_verified_at = $2 WHERE id = $1", personID, micros(at))
		if err != nil {
			return fmt.Errorf("store: set real name of %s: %w", personID, err)
		}
		if n == 0 {
			return personNotFound(sql.ErrNoRows)
		}
		return db.appendEvent(ctx, ts, &ev)
	})
}

// ---- one-time codes ----

const phoneCodeCols = "id, purpose, phone, hash, tries, sent_at, expires_at, used_at, person"

// pendingPerson is the JSON form of the person a registration code carries. Times are
// microseconds since the epoch, like the columns; absent for the zero time.
type pendingPerson struct {
	ID                 string   `json:"id"`
	Name               string   `json:"name"`
	IDNumberHash       []byte   `json:"id_number_hash"`
	IDNumberSealed     []byte   `json:"id_number_sealed"`
	Phone              string   `json:"phone"`
	PhoneVerifiedAt    *int64   `json:"phone_verified_at,omitempty"`
	RealNameVerifiedAt *int64   `json:"real_name_verified_at,omitempty"`
	WeakPINs           [][]byte `json:"weak_pins,omitempty"`
	PINHash            string   `json:"pin_hash,omitempty"`
	FailedPIN          int      `json:"failed_pin,omitempty"`
	PINLockedUntil     *int64   `json:"pin_locked_until,omitempty"`
	CreatedAt          *int64   `json:"created_at,omitempty"`
}

func optMicros(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	us := micros(t)
	return &us
}

func fromOptMicros(us *int64) time.Time {
	if us == nil {
		return time.Time{}
	}
	return fromMicros(*us)
}

func encodePending(p *identity.Person) (sql.NullString, error) {
	if p == nil {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(pendingPerson{ID: p.ID, Name: p.Name, IDNumberHash: p.IDNumberHash, IDNumberSealed: p.IDNumberSealed,
		Phone: p.Phone, PhoneVerifiedAt: optMicros(p.PhoneVerifiedAt), RealNameVerifiedAt: optMicros(p.RealNameVerifiedAt),
		WeakPINs: p.WeakPINs, PINHash: p.PINHash, FailedPIN: p.FailedPIN, PINLockedUntil: optMicros(p.PINLockedUntil),
		CreatedAt: optMicros(p.CreatedAt)})
	if err != nil {
		return sql.NullString{}, err
	}
	return sql.NullString{String: string(b), Valid: true}, nil
}

func decodePending(s sql.NullString) (*identity.Person, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	var pp pendingPerson
	if err := json.Unmarshal([]byte(s.String), &pp); err != nil {
		return nil, err
	}
	return &identity.Person{ID: pp.ID, Name: pp.Name, IDNumberHash: pp.IDNumberHash, IDNumberSealed: pp.IDNumberSealed,
		Phone: pp.Phone, PhoneVerifiedAt: fromOptMicros(pp.PhoneVerifiedAt), RealNameVerifiedAt: fromOptMicros(pp.RealNameVerifiedAt),
		WeakPINs: pp.WeakPINs, PINHash: pp.PINHash, FailedPIN: pp.FailedPIN, PINLockedUntil: fromOptMicros(pp.PINLockedUntil),
		CreatedAt: fromOptMicros(pp.CreatedAt)}, nil
}

func scanPhoneCode(s rowScanner) (*identity.PhoneCode, error) {
	var (
		c             identity.PhoneCode
		purpose       string
		sent, expires int64
		used          sql.NullInt64
		person        sql.NullString
	)
	if err := s.Scan(&c.ID, &purpose, &c.Phone, &c.Hash, &c.Tries, &sent, &expires, &used, &person); err != nil {
		return nil, err
	}
	c.Purpose = identity.Purpose(purpose)
	c.SentAt, c.ExpiresAt, c.UsedAt = fromMicros(sent), fromMicros(expires), fromNullMicros(used)
	var err error
	if c.Person, err = decodePending(person); err != nil {
		return nil, fmt.Errorf("store: decode the person of code %s: %w", c.ID, err)
	}
	return &c, nil
}

func codeNotFound(cause error) error {
	return notFoundf(cause, "验证码不存在", "no such one-time code")
}

// CreatePhoneCode stores a one-time code (errs.Conflict for a taken ID). Codes sent more than a
// day before it are deleted on the way.
func (db *DB) CreatePhoneCode(ctx context.Context, c *identity.PhoneCode) error {
	person, err := encodePending(c.Person)
	if err != nil {
		return fmt.Errorf("store: encode pending person: %w", err)
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM phone_codes WHERE sent_at < $1", micros(c.SentAt.Add(-housekeepingAge))); err != nil {
			return fmt.Errorf("store: delete old codes: %w", mapBusy(err))
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO phone_codes ("+phoneCodeCols+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
			c.ID, string(c.Purpose), c.Phone, nonNil(c.Hash), c.Tries, micros(c.SentAt), micros(c.ExpiresAt), nullMicros(c.UsedAt), person)
		if isUnique(err) {
			return fieldConflict(err, "id", "验证码 %s 已存在", "one-time code %s already exists", c.ID)
		}
		if err != nil {
			return fmt.Errorf("store: insert code: %w", mapBusy(err))
		}
		return nil
	})
}

// PhoneCode returns the one-time code with this ID (errs.NotFound).
func (db *DB) PhoneCode(ctx context.Context, id string) (*identity.PhoneCode, error) {
	c, err := scanPhoneCode(db.r.QueryRowContext(ctx, "SELECT "+phoneCodeCols+" FROM phone_codes WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, codeNotFound(err)
	}
	if err != nil {
		return nil, fmt.Errorf("store: code: %w", err)
	}
	return c, nil
}

// RecentPhoneCodes returns when the codes sent to phone at or after since were sent, oldest first.
func (db *DB) RecentPhoneCodes(ctx context.Context, phone string, since time.Time) ([]time.Time, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT sent_at FROM phone_codes WHERE phone = $1 AND sent_at >= $2 ORDER BY sent_at",
		phone, micros(since))
	if err != nil {
		return nil, fmt.Errorf("store: recent codes: %w", err)
	}
	defer rows.Close()
	out := []time.Time{}
	for rows.Next() {
		var us int64
		if err := rows.Scan(&us); err != nil {
			return nil, fmt.Errorf("store: recent codes: %w", err)
		}
		out = append(out, fromMicros(us))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: recent codes: %w", err)
	}
	return out, nil
}

// TryPhoneCode increments the code's attempt counter in one statement and returns the code as it
// is afterwards (errs.NotFound).
func (db *DB) TryPhoneCode(ctx context.Context, id string) (*identity.PhoneCode, error) {
	var c *identity.PhoneCode
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = scanPhoneCode(tx.QueryRowContext(ctx,
			"UPDATE phone_codes SET tries = tries + 1 WHERE id = $1 RETURNING "+phoneCodeCols, id))
		if errors.Is(err, sql.ErrNoRows) {
			return codeNotFound(err)
		}
		if err != nil {
			return fmt.Errorf("store: try code: %w", mapBusy(err))
		}
		return nil
	})
	return c, err
}

// UsePhoneCode marks a code used (errs.Conflict when it already is; errs.NotFound).
func (db *DB) UsePhoneCode(ctx context.Context, id string, at time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error { return usePhoneCode(ctx, tx, id, at) })
}

// usePhoneCode marks a code used within tx, only if it is not.
func usePhoneCode(ctx context.Context, tx *sql.Tx, id string, at time.Time) error {
	n, err := execCount(ctx, tx, "UPDATE phone_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL", id, micros(at))
	if err != nil {
		return fmt.Errorf("store: use code: %w", err)
	}
	if n > 0 {
		return nil
	}
	ok, err := existsTx(ctx, tx, "SELECT 1 FROM phone_codes WHERE id = $1", id)
	if err != nil {
		return fmt.Errorf("store: use code: %w", err)
	}
	if !ok {
		return codeNotFound(sql.ErrNoRows)
	}
	return fieldConflict(nil, "code", "验证码已使用", "the one-time code was already used")
}

// ---- wallet sessions ----

func sessionNotFound(cause error) error {
	return notFoundf(cause, "会话不存在或已过期，请重新登录", "the session does not exist or has expired; sign in again")
}

// CreateWalletSession stores a wallet session (errs.NotFound for an unknown person, errs.Conflict
// for a taken hash).
func (db *DB) CreateWalletSession(ctx context.Context, s *identity.Session) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO wallet_sessions (id_hash, person_id, device_id, csrf, real_name_at,
			created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			nonNil(s.IDHash), s.PersonID, s.DeviceID, s.CSRF, nullMicros(s.RealNameAt), micros(s.CreatedAt), micros(s.ExpiresAt))
		switch {
		case isForeignKey(err):
			return personNotFound(err)
		case isUnique(err):
			return conflictf(err, "会话已存在", "the session already exists")
		case err != nil:
			return fmt.Errorf("store: create wallet session: %w", mapBusy(err))
		}
		return nil
	})
}

// WalletSessionByHash returns the unexpired wallet session with this hash (errs.NotFound, also
// when expired).
func (db *DB) WalletSessionByHash(ctx context.Context, hash []byte) (*identity.Session, error) {
	var (
		s                identity.Session
		realName         sql.NullInt64
		created, expires int64
	)
	err := db.r.QueryRowContext(ctx, `SELECT id_hash, person_id, device_id, csrf, real_name_at, created_at, expires_at
		FROM wallet_sessions WHERE id_hash = $1 AND expires_at > $2`, nonNil(hash), micros(db.now())).
		Scan(&s.IDHash, &s.PersonID, &s.DeviceID, &s.CSRF, &realName, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sessionNotFound(err)
	}
	if err != nil {
		return nil, fmt.Errorf("store: wallet session: %w", err)
	}
	s.RealNameAt, s.CreatedAt, s.ExpiresAt = fromNullMicros(realName), fromMicros(created), fromMicros(expires)
	return &s, nil
}

// DeleteWalletSession deletes the wallet session with this hash, and every expired one with it;
// deleting an absent session is not an error.
func (db *DB) DeleteWalletSession(ctx context.Context, hash []byte) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM wallet_sessions WHERE id_hash = $1 OR expires_at <= $2",
			nonNil(hash), micros(db.now())); err != nil {
			return fmt.Errorf("store: delete wallet session: %w", mapBusy(err))
		}
		return nil
	})
}

// ---- devices and WebAuthn ceremonies ----

const deviceCols = `id, person_id, name, credential_id, public_key, sign_count, aaguid, record, created_at,
	last_used_at, removed_at`

func deviceNotFound(cause error) error {
	return notFoundf(cause, "设备不存在或已移除", "no such device, or it was removed")
}

func scanDevice(s rowScanner) (*identity.Device, error) {
	var (
		d                   identity.Device
		signCount, created  int64
		lastUsed, removed   sql.NullInt64
		pub, aaguid, record []byte
	)
	if err := s.Scan(&d.ID, &d.PersonID, &d.Name, &d.CredentialID, &pub, &signCount, &aaguid, &record, &created,
		&lastUsed, &removed); err != nil {
		return nil, err
	}
	d.PublicKey, d.AAGUID, d.Record = nilIfEmpty(pub), nilIfEmpty(aaguid), nilIfEmpty(record)
	d.SignCount = uint32(signCount)
	d.CreatedAt, d.LastUsedAt, d.RemovedAt = fromMicros(created), fromNullMicros(lastUsed), fromNullMicros(removed)
	return &d, nil
}

// AddDevice stores a newly bound device with its audit event (errs.Conflict when the credential
// ID is taken; errs.NotFound for an unknown person).
func (db *DB) AddDevice(ctx context.Context, d *identity.Device, ev audit.Event) error {
	err := db.inTxStmts(ctx, func(ts *txStmts) error {
		if _, err := ts.tx.ExecContext(ctx, "INSERT INTO devices ("+deviceCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			d.ID, d.PersonID, d.Name, nonNil(d.CredentialID), d.PublicKey, int64(d.SignCount), d.AAGUID, d.Record,
			micros(d.CreatedAt), nullMicros(d.LastUsedAt), nullMicros(d.RemovedAt)); err != nil {
			if isForeignKey(err) {
				return personNotFound(err)
			}
			return fmt.Errorf("store: insert device: %w", mapBusy(err))
		}
		return db.appendEvent(ctx, ts, &ev)
	})
	if isUnique(err) {
		if ok, e := db.exists(ctx, "SELECT 1 FROM devices WHERE credential_id = $1", nonNil(d.CredentialID)); e != nil {
			return fmt.Errorf("store: find conflict: %w", e)
		} else if ok {
			return fieldConflict(err, "credential_id", "该通行密钥已绑定", "this passkey is already bound")
		}
		return fieldConflict(err, "id", "设备 %s 已存在", "device %s already exists", d.ID)
	}
	return err
}

// Devices returns the person's active devices, oldest first.
func (db *DB) Devices(ctx context.Context, personID string) ([]*identity.Device, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT "+deviceCols+
		" FROM devices WHERE person_id = $1 AND removed_at IS NULL ORDER BY created_at, id", personID)
	if err != nil {
		return nil, fmt.Errorf("store: devices: %w", err)
	}
	defer rows.Close()
	out := []*identity.Device{}
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("store: devices: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: devices: %w", err)
	}
	return out, nil
}

// UseDevice records a successful assertion by an active device (errs.NotFound when it is unknown
// or was removed meanwhile, so a removed device cannot sign in).
func (db *DB) UseDevice(ctx context.Context, id string, signCount uint32, record []byte, at time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		n, err := execCount(ctx, tx, `UPDATE devices SET sign_count = $2, record = $3, last_used_at = $4
			WHERE id = $1 AND removed_at IS NULL`, id, int64(signCount), record, micros(at))
		if err != nil {
			return fmt.Errorf("store: use device %s: %w", id, err)
		}
		if n == 0 {
			return deviceNotFound(sql.ErrNoRows)
		}
		return nil
	})
}

// RemoveDevice marks the person's active device removed and deletes the wallet sessions it
// opened, with the audit event, in one transaction (errs.NotFound).
func (db *DB) RemoveDevice(ctx context.Context, personID, deviceID string, at time.Time, ev audit.Event) error {
	return db.inTxStmts(ctx, func(ts *txStmts) error {
		n, err := execCount(ctx, ts.tx, "UPDATE devices SET removed_at = $3 WHERE id = $1 AND person_id = $2 AND removed_at IS NULL",
			deviceID, personID, micros(at))
		if err != nil {
			return fmt.Errorf("store: remove device %s: %w", deviceID, err)
		}
		if n == 0 {
			return deviceNotFound(sql.ErrNoRows)
		}
		if _, err := ts.tx.ExecContext(ctx, "DELETE FROM wallet_sessions WHERE device_id = $1", deviceID); err != nil {
			return fmt.Errorf("store: end sessions of device %s: %w", deviceID, mapBusy(err))
		}
		return db.appendEvent(ctx, ts, &ev)
	})
}

const ceremonyCols = "id, purpose, person_id, state, expires_at"

// CreateCeremony stores the state of a WebAuthn ceremony (errs.Conflict for a taken ID).
// Ceremonies that expired a day before it are deleted on the way.
func (db *DB) CreateCeremony(ctx context.Context, c *identity.Ceremony) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM webauthn_ceremonies WHERE expires_at < $1",
			micros(c.ExpiresAt.Add(-housekeepingAge))); err != nil {
			return fmt.Errorf("store: delete old ceremonies: %w", mapBusy(err))
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO webauthn_ceremonies ("+ceremonyCols+") VALUES ($1, $2, $3, $4, $5)",
			c.ID, string(c.Purpose), c.PersonID, nonNil(c.State), micros(c.ExpiresAt))
		if isUnique(err) {
			return fieldConflict(err, "id", "验证过程 %s 已存在", "ceremony %s already exists", c.ID)
		}
		if err != nil {
			return fmt.Errorf("store: insert ceremony: %w", mapBusy(err))
		}
		return nil
	})
}

// TakeCeremony deletes and returns a ceremony in one statement (errs.NotFound when unknown or
// already taken).
func (db *DB) TakeCeremony(ctx context.Context, id string) (*identity.Ceremony, error) {
	var c identity.Ceremony
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var (
			purpose string
			expires int64
		)
		err := tx.QueryRowContext(ctx, "DELETE FROM webauthn_ceremonies WHERE id = $1 RETURNING "+ceremonyCols, id).
			Scan(&c.ID, &purpose, &c.PersonID, &c.State, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return notFoundf(err, "验证已过期或无效", "no such passkey ceremony, or it was used")
		}
		if err != nil {
			return fmt.Errorf("store: take ceremony: %w", mapBusy(err))
		}
		c.Purpose, c.ExpiresAt = identity.CeremonyPurpose(purpose), fromMicros(expires)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ---- holders and PINs ----

const holderCols = "entity_code, person_id, pin_hash, failed_pin, locked_until, claimed_at"

func holderNotFound(cause error, code string) error {
	return notFoundf(cause, "统一社会信用代码为 %s 的执照尚未被领取", "nobody has claimed the licence of %s", code)
}

func scanHolder(s rowScanner) (*identity.Holder, error) {
	var (
		h       identity.Holder
		locked  sql.NullInt64
		claimed int64
	)
	if err := s.Scan(&h.EntityCode, &h.PersonID, &h.PINHash, &h.FailedPIN, &locked, &claimed); err != nil {
		return nil, err
	}
	h.LockedUntil, h.ClaimedAt = fromNullMicros(locked), fromMicros(claimed)
	return &h, nil
}

// SaveHolder records a claim with its audit event: with prevPersonID "" it inserts h
// (errs.Conflict when the entity has a holder); otherwise it replaces the holder record only if
// it still names prevPersonID (errs.Conflict when not). errs.NotFound for an unknown person.
func (db *DB) SaveHolder(ctx context.Context, h *identity.Holder, prevPersonID string, ev audit.Event) error {
	return db.inTxStmts(ctx, func(ts *txStmts) error {
		var (
			n   int64
			err error
		)
		if prevPersonID == "" {
			n, err = execCount(ctx, ts.tx, "INSERT INTO holders ("+holderCols+`) VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (entity_code) DO NOTHING`,
				h.EntityCode, h.PersonID, h.PINHash, h.FailedPIN, nullMicros(h.LockedUntil), micros(h.ClaimedAt))
		} else {
			n, err = execCount(ctx, ts.tx, `UPDATE holders SET person_id = $2, pin_hash = $3, failed_pin = $4,
				locked_until = $5, claimed_at = $6 WHERE entity_code = $1 AND person_id = $7`,
				h.EntityCode, h.PersonID, h.PINHash, h.FailedPIN, nullMicros(h.LockedUntil), micros(h.ClaimedAt), prevPersonID)
		}
		switch {
		case isForeignKey(err):
			return personNotFound(err)
		case err != nil:
			return fmt.Errorf("store: save holder of %s: %w", h.EntityCode, err)
		case n == 0 && prevPersonID == "":
			return fieldConflict(nil, "entity", "统一社会信用代码为 %s 的执照已被领取", "the licence of %s was already claimed", h.EntityCode)
		case n == 0:
			return fieldConflict(nil, "entity", "统一社会信用代码为 %s 的执照的领照人已变化", "the holder of the licence of %s changed meanwhile", h.EntityCode)
		}
		return db.appendEvent(ctx, ts, &ev)
	})
}

// Holder returns the holder record of the entity (errs.NotFound).
func (db *DB) Holder(ctx context.Context, entityCode string) (*identity.Holder, error) {
	h, err := scanHolder(db.r.QueryRowContext(ctx, "SELECT "+holderCols+" FROM holders WHERE entity_code = $1", entityCode))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, holderNotFound(err, entityCode)
	}
	if err != nil {
		return nil, fmt.Errorf("store: holder of %s: %w", entityCode, err)
	}
	return h, nil
}

// HoldersOf returns the person's holder records, oldest claim first.
func (db *DB) HoldersOf(ctx context.Context, personID string) ([]*identity.Holder, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT "+holderCols+" FROM holders WHERE person_id = $1 ORDER BY claimed_at, entity_code", personID)
	if err != nil {
		return nil, fmt.Errorf("store: holdings: %w", err)
	}
	defer rows.Close()
	out := []*identity.Holder{}
	for rows.Next() {
		h, err := scanHolder(rows)
		if err != nil {
			return nil, fmt.Errorf("store: holdings: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: holdings: %w", err)
	}
	return out, nil
}

// pinRow says where the PIN of ref lives: the holder record (licence PIN) or the person
// (personal PIN).
type pinRow struct {
	table, keyCol, key, lockCol string
}

func pinRowOf(ref identity.PINRef) (pinRow, error) {
	switch {
	case ref.EntityCode != "":
		return pinRow{"holders", "entity_code", ref.EntityCode, "locked_until"}, nil
	case ref.PersonID != "":
		return pinRow{"persons", "id", ref.PersonID, "pin_locked_until"}, nil
	}
	return pinRow{}, errors.New("store: the PIN reference names neither an entity nor a person")
}

func (r pinRow) notFound(cause error) error {
	if r.table == "holders" {
		return holderNotFound(cause, r.key)
	}
	return personNotFound(cause)
}

// SetPIN stores a new PIN hash and resets its counter and lock, with the audit event
// (errs.NotFound).
func (db *DB) SetPIN(ctx context.Context, ref identity.PINRef, hash string, ev audit.Event) error {
	r, err := pinRowOf(ref)
	if err != nil {
		return err
	}
	return db.inTxStmts(ctx, func(ts *txStmts) error {
		n, err := execCount(ctx, ts.tx, "UPDATE "+r.table+" SET pin_hash = $2, failed_pin = 0, "+r.lockCol+" = NULL WHERE "+r.keyCol+" = $1",
			r.key, hash)
		if err != nil {
			return fmt.Errorf("store: set PIN: %w", err)
		}
		if n == 0 {
			return r.notFound(sql.ErrNoRows)
		}
		return db.appendEvent(ctx, ts, &ev)
	})
}

// PINAttempt counts an attempt at a PIN in one statement: unless it is locked at now, the
// failure counter goes up by one; it returns the counter and, when locked, the end of the lock
// (errs.NotFound).
func (db *DB) PINAttempt(ctx context.Context, ref identity.PINRef, now time.Time) (int, time.Time, error) {
	r, err := pinRowOf(ref)
	if err != nil {
		return 0, time.Time{}, err
	}
	var (
		failed int
		until  sql.NullInt64
	)
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, "UPDATE "+r.table+" SET failed_pin = CASE WHEN "+r.lockCol+" IS NULL OR "+r.lockCol+
			" <= $2 THEN failed_pin + 1 ELSE failed_pin END WHERE "+r.keyCol+" = $1 RETURNING failed_pin, "+r.lockCol,
			r.key, micros(now)).Scan(&failed, &until)
		if errors.Is(err, sql.ErrNoRows) {
			return r.notFound(err)
		}
		if err != nil {
			return fmt.Errorf("store: count PIN attempt: %w", mapBusy(err))
		}
		return nil
	})
	if err != nil {
		return 0, time.Time{}, err
	}
	if lock := fromNullMicros(until); lock.After(now) {
		return failed, lock, nil
	}
	return failed, time.Time{}, nil
}

// SetPINState sets the failure counter and lock end of a PIN (errs.NotFound).
func (db *DB) SetPINState(ctx context.Context, ref identity.PINRef, failed int, lockedUntil time.Time) error {
	r, err := pinRowOf(ref)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		n, err := execCount(ctx, tx, "UPDATE "+r.table+" SET failed_pin = $2, "+r.lockCol+" = $3 WHERE "+r.keyCol+" = $1",
			r.key, failed, nullMicros(lockedUntil))
		if err != nil {
			return fmt.Errorf("store: set PIN state: %w", err)
		}
		if n == 0 {
			return r.notFound(sql.ErrNoRows)
		}
		return nil
	})
}

// ---- grants ----

const grantCols = `id, entity_code, person_id, role, all_items, items, valid_from, valid_until, granted_by, granted_at,
	revoked_by, revoked_at`

func grantNotFound(cause error) error {
	return notFoundf(cause, "授权不存在", "no such grant")
}

func scanGrant(s rowScanner) (*identity.Grant, error) {
	var (
		g              identity.Grant
		role           string
		items          sql.NullString
		from, granted  int64
		until, revoked sql.NullInt64
	)
	if err := s.Scan(&g.ID, &g.EntityCode, &g.PersonID, &role, &g.AllItems, &items, &from, &until, &g.GrantedBy, &granted,
		&g.RevokedBy, &revoked); err != nil {
		return nil, err
	}
	var err error
	if g.Items, err = decodeList[string](items); err != nil {
		return nil, fmt.Errorf("store: decode items of grant %s: %w", g.ID, err)
	}
	g.Role = identity.RoleKind(role)
	g.ValidFrom, g.ValidUntil = fromMicros(from), fromNullMicros(until)
	g.GrantedAt, g.RevokedAt = fromMicros(granted), fromNullMicros(revoked)
	return &g, nil
}

// grantLockKey is the PostgreSQL advisory-lock key that serialises AddGrant for one entity.
func grantLockKey(entityCode string) int64 {
	h := fnv.New64a()
	h.Write([]byte(grantLockSpace + entityCode))
	return int64(h.Sum64())
}

// AddGrant stores a new grant with its audit event. Under a per-entity lock (an advisory
// transaction lock on PostgreSQL, held to the commit; SQLite's single writer), it fails with
// errs.Conflict when the person already has a grant for the entity that is not revoked and has
// not ended at g.GrantedAt, or, for an administrator, when the entity has maxAdmins
// administrators whose appointment is not revoked.
func (db *DB) AddGrant(ctx context.Context, g *identity.Grant, maxAdmins int, ev audit.Event) error {
	items, err := encodeList(g.Items)
	if err != nil {
		return fmt.Errorf("store: encode grant items: %w", err)
	}
	return db.inTxStmts(ctx, func(ts *txStmts) error {
		tx := ts.tx
		if db.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", grantLockKey(g.EntityCode)); err != nil {
				return fmt.Errorf("store: lock grants of %s: %w", g.EntityCode, mapBusy(err))
			}
		}
		held, err := existsTx(ctx, tx, `SELECT 1 FROM grants WHERE entity_code = $1 AND person_id = $2 AND revoked_at IS NULL
			AND (valid_until IS NULL OR valid_until > $3)`, g.EntityCode, g.PersonID, micros(g.GrantedAt))
		if err != nil {
			return fmt.Errorf("store: grants of %s: %w", g.EntityCode, mapBusy(err))
		}
		if held {
			return fieldConflict(nil, "person_id", "该人员已有有效的任命或授权，请先撤销",
				"this person already has an appointment or grant for the entity; revoke it first")
		}
		if g.Role == identity.RoleAdministrator {
			var admins int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM grants WHERE entity_code = $1 AND role = $2
				AND revoked_at IS NULL`, g.EntityCode, string(identity.RoleAdministrator)).Scan(&admins); err != nil {
				return fmt.Errorf("store: administrators of %s: %w", g.EntityCode, mapBusy(err))
			}
			if admins >= maxAdmins {
				return fieldConflict(nil, "role", "每个市场主体最多任命%d名证照管理员",
					"an entity may have at most %d licence administrators", maxAdmins)
			}
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO grants ("+grantCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			g.ID, g.EntityCode, g.PersonID, string(g.Role), g.AllItems, items, micros(g.ValidFrom), nullMicros(g.ValidUntil),
			g.GrantedBy, micros(g.GrantedAt), g.RevokedBy, nullMicros(g.RevokedAt))
		switch {
		case isForeignKey(err):
			return personNotFound(err)
		case isUnique(err):
			return fieldConflict(err, "id", "授权 %s 已存在", "grant %s already exists", g.ID)
		case err != nil:
			return fmt.Errorf("store: insert grant: %w", mapBusy(err))
		}
		return db.appendEvent(ctx, ts, &ev)
	})
}

// Grant returns the grant with this ID (errs.NotFound).
func (db *DB) Grant(ctx context.Context, id string) (*identity.Grant, error) {
	g, err := scanGrant(db.r.QueryRowContext(ctx, "SELECT "+grantCols+" FROM grants WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, grantNotFound(err)
	}
	if err != nil {
		return nil, fmt.Errorf("store: grant %s: %w", id, err)
	}
	return g, nil
}

func (db *DB) queryGrants(ctx context.Context, where string, arg any) ([]*identity.Grant, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT "+grantCols+" FROM grants WHERE "+where+" ORDER BY granted_at, id", arg)
	if err != nil {
		return nil, fmt.Errorf("store: grants: %w", err)
	}
	defer rows.Close()
	out := []*identity.Grant{}
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, fmt.Errorf("store: grants: %w", err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: grants: %w", err)
	}
	return out, nil
}

// GrantsFor returns every grant of the entity, revoked ones included, oldest first.
func (db *DB) GrantsFor(ctx context.Context, entityCode string) ([]*identity.Grant, error) {
	return db.queryGrants(ctx, "entity_code = $1", entityCode)
}

// GrantsOf returns the person's grants that are not revoked, oldest first.
func (db *DB) GrantsOf(ctx context.Context, personID string) ([]*identity.Grant, error) {
	return db.queryGrants(ctx, "person_id = $1 AND revoked_at IS NULL", personID)
}

// RevokeGrant records the revocation with its audit event (errs.Conflict when already revoked,
// errs.NotFound).
func (db *DB) RevokeGrant(ctx context.Context, id, by string, at time.Time, ev audit.Event) error {
	return db.inTxStmts(ctx, func(ts *txStmts) error {
		n, err := execCount(ctx, ts.tx, "UPDATE grants SET revoked_by = $2, revoked_at = $3 WHERE id = $1 AND revoked_at IS NULL",
			id, by, micros(at))
		if err != nil {
			return fmt.Errorf("store: revoke grant %s: %w", id, err)
		}
		if n == 0 {
			ok, err := existsTx(ctx, ts.tx, "SELECT 1 FROM grants WHERE id = $1", id)
			if err != nil {
				return fmt.Errorf("store: revoke grant %s: %w", id, err)
			}
			if !ok {
				return grantNotFound(sql.ErrNoRows)
			}
			return fieldConflict(nil, "grant", "授权已撤销", "the grant was already revoked")
		}
		return db.appendEvent(ctx, ts, &ev)
	})
}

// ---- scan-to-login ----

const loginQRCols = `id, browser_binding, client_id, client_name, client_department, client_region, client_sector_id,
	auth_request_id, created_at, expires_at, status, person_id, scanned_at, entity_code, role, grant_id, acr, amr,
	device_id, confirmed_at, consumed_at`

func loginQRNotFound(cause error) error {
	return notFoundf(cause, "二维码无效", "no such login QR code")
}

// loginQRArgs returns the values of loginQRCols for q.
func loginQRArgs(q *identity.LoginQR) ([]any, error) {
	amr, err := encodeList(q.AMR)
	if err != nil {
		return nil, fmt.Errorf("store: encode amr: %w", err)
	}
	return []any{q.ID, nonNil(q.BrowserBinding), q.Client.ID, q.Client.Name, q.Client.Department, q.Client.Region,
		q.Client.SectorID, q.AuthRequestID, micros(q.CreatedAt), micros(q.ExpiresAt), string(q.Status), q.PersonID,
		nullMicros(q.ScannedAt), q.EntityCode, string(q.Role), q.GrantID, q.ACR, amr, q.DeviceID,
		nullMicros(q.ConfirmedAt), nullMicros(q.ConsumedAt)}, nil
}

func scanLoginQR(s rowScanner) (*identity.LoginQR, error) {
	var (
		q                            identity.LoginQR
		status, role                 string
		created, expires             int64
		scanned, confirmed, consumed sql.NullInt64
		amr                          sql.NullString
	)
	if err := s.Scan(&q.ID, &q.BrowserBinding, &q.Client.ID, &q.Client.Name, &q.Client.Department, &q.Client.Region,
		&q.Client.SectorID, &q.AuthRequestID, &created, &expires, &status, &q.PersonID, &scanned, &q.EntityCode, &role,
		&q.GrantID, &q.ACR, &amr, &q.DeviceID, &confirmed, &consumed); err != nil {
		return nil, err
	}
	var err error
	if q.AMR, err = decodeList[string](amr); err != nil {
		return nil, fmt.Errorf("store: decode amr of login QR %s: %w", q.ID, err)
	}
	q.Status, q.Role = identity.QRStatus(status), identity.RoleKind(role)
	q.CreatedAt, q.ExpiresAt, q.ScannedAt = fromMicros(created), fromMicros(expires), fromNullMicros(scanned)
	q.ConfirmedAt, q.ConsumedAt = fromNullMicros(confirmed), fromNullMicros(consumed)
	return &q, nil
}

// CreateLoginQR stores a new login QR code (errs.Conflict for a taken ID). Codes that expired a
// day before it was created are deleted on the way.
func (db *DB) CreateLoginQR(ctx context.Context, q *identity.LoginQR) error {
	args, err := loginQRArgs(q)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM login_qrs WHERE expires_at < $1",
			micros(q.CreatedAt.Add(-housekeepingAge))); err != nil {
			return fmt.Errorf("store: delete old login QR codes: %w", mapBusy(err))
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO login_qrs ("+loginQRCols+") VALUES "+db.placeholders(1, len(args)), args...)
		if isUnique(err) {
			return fieldConflict(err, "id", "二维码 %s 已存在", "login QR code %s already exists", q.ID)
		}
		if err != nil {
			return fmt.Errorf("store: insert login QR code: %w", mapBusy(err))
		}
		return nil
	})
}

// LoginQR returns the login QR code with this ID (errs.NotFound).
func (db *DB) LoginQR(ctx context.Context, id string) (*identity.LoginQR, error) {
	q, err := scanLoginQR(db.r.QueryRowContext(ctx, "SELECT "+loginQRCols+" FROM login_qrs WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, loginQRNotFound(err)
	}
	if err != nil {
		return nil, fmt.Errorf("store: login QR code: %w", err)
	}
	return q, nil
}

// UpdateLoginQR stores every field of q only if the stored status is still from, and appends ev
// (when not nil) in the same transaction: errs.Conflict when the status moved, errs.NotFound
// for an unknown code.
func (db *DB) UpdateLoginQR(ctx context.Context, q *identity.LoginQR, from identity.QRStatus, ev *audit.Event) error {
	args, err := loginQRArgs(q)
	if err != nil {
		return err
	}
	args = append(args, string(from))
	return db.inTxStmts(ctx, func(ts *txStmts) error {
		n, err := execCount(ctx, ts.tx, `UPDATE login_qrs SET browser_binding = $2, client_id = $3, client_name = $4,
			client_department = $5, client_region = $6, client_sector_id = $7, auth_request_id = $8, created_at = $9,
			expires_at = $10, status = $11, person_id = $12, scanned_at = $13, entity_code = $14, role = $15, grant_id = $16,
			acr = $17, amr = $18, device_id = $19, confirmed_at = $20, consumed_at = $21
			WHERE id = $1 AND status = $22`, args...)
		if err != nil {
			return fmt.Errorf("store: update login QR code: %w", err)
		}
		if n == 0 {
			ok, err := existsTx(ctx, ts.tx, "SELECT 1 FROM login_qrs WHERE id = $1", q.ID)
			if err != nil {
				return fmt.Errorf("store: update login QR code: %w", err)
			}
			if !ok {
				return loginQRNotFound(sql.ErrNoRows)
			}
			return &errs.Error{Kind: errs.Conflict, Field: "qr", ZH: "二维码状态已变化",
				EN: fmt.Sprintf("the login QR code is no longer %s", from)}
		}
		if ev != nil {
			return db.appendEvent(ctx, ts, ev)
		}
		return nil
	})
}

// ---- licences for identity ----

// ByPersonIDHash returns the current licence versions whose person ID hash is hash, in any
// status, ordered by code; empty for an empty hash.
func (db *DB) ByPersonIDHash(ctx context.Context, hash []byte) ([]*license.Licence, error) {
	if len(hash) == 0 {
		return []*license.Licence{}, nil
	}
	ls, err := db.queryLicences(ctx, selectLicence+` WHERE v.person_id_hash = $1 AND v.person_id_hash IS NOT NULL
		AND v.version = l.current_version ORDER BY l.code`, hash)
	if err != nil {
		return nil, fmt.Errorf("store: licences by person: %w", err)
	}
	return ls, nil
}
