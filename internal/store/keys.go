package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/elicense/elicense/internal/keys"
)

const selectKey = "SELECT id, sealed, cert_der, serial, created_at FROM keys"

// PutKey stores a key unless one with the same ID exists, and returns the stored key: the
// existing one when another process won the race.
func (db *DB) PutKey(ctx context.Context, k keys.Key) (*keys.Key, error) {
	var stored *keys.Key
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO keys (id, sealed, cert_der, serial, created_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
			k.ID, nonNil(k.Sealed), nonNil(k.CertDER), k.Serial, micros(k.CreatedAt))
		if isUnique(err) {
			return conflictf(err, "证书序列号 %s 已被另一密钥使用", "certificate serial %s belongs to another key", k.Serial)
		}
		if err != nil {
			return fmt.Errorf("store: put key %s: %w", k.ID, mapBusy(err))
		}
		stored, err = scanKey(tx.QueryRowContext(ctx, selectKey+" WHERE id = $1", k.ID))
		if err != nil {
			return fmt.Errorf("store: put key %s: %w", k.ID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return stored, nil
}

// Key returns the key with this ID (errs.NotFound).
func (db *DB) Key(ctx context.Context, id string) (*keys.Key, error) {
	k, err := scanKey(db.r.QueryRowContext(ctx, selectKey+" WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "未找到密钥 %s", "no key %s", id)
	}
	if err != nil {
		return nil, fmt.Errorf("store: key %s: %w", id, err)
	}
	return k, nil
}

// KeyBySerial returns the key whose certificate has this serial (errs.NotFound).
func (db *DB) KeyBySerial(ctx context.Context, serial string) (*keys.Key, error) {
	k, err := scanKey(db.r.QueryRowContext(ctx, selectKey+" WHERE serial = $1", serial))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "未找到序列号为 %s 的证书", "no certificate with serial %s", serial)
	}
	if err != nil {
		return nil, fmt.Errorf("store: key with serial %s: %w", serial, err)
	}
	return k, nil
}

func scanKey(s rowScanner) (*keys.Key, error) {
	var (
		k  keys.Key
		us int64
	)
	if err := s.Scan(&k.ID, &k.Sealed, &k.CertDER, &k.Serial, &us); err != nil {
		return nil, err
	}
	k.CreatedAt = fromMicros(us)
	return &k, nil
}

const selectAuthority = "SELECT code, name, region, cert_der, serial, created_at FROM authorities"

// PutAuthority inserts or updates an authority (its creation time is kept on update).
func (db *DB) PutAuthority(ctx context.Context, a keys.Authority) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO authorities (code, name, region, cert_der, serial, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (code) DO UPDATE SET name = excluded.name, region = excluded.region,
				cert_der = excluded.cert_der, serial = excluded.serial`,
			a.Code, a.Name, a.Region, a.CertDER, a.Serial, micros(a.CreatedAt)); err != nil {
			return fmt.Errorf("store: put authority %s: %w", a.Code, mapBusy(err))
		}
		return nil
	})
}

// Authority returns the authority with this code (errs.NotFound).
func (db *DB) Authority(ctx context.Context, code string) (*keys.Authority, error) {
	a, err := scanAuthority(db.r.QueryRowContext(ctx, selectAuthority+" WHERE code = $1", code))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "未找到登记机关 %s", "no registering authority %s", code)
	}
	if err != nil {
		return nil, fmt.Errorf("store: authority %s: %w", code, err)
	}
	return a, nil
}

// Authorities lists all authorities ordered by code.
func (db *DB) Authorities(ctx context.Context) ([]*keys.Authority, error) {
	rows, err := db.r.QueryContext(ctx, selectAuthority+" ORDER BY code")
	if err != nil {
		return nil, fmt.Errorf("store: authorities: %w", err)
	}
	defer rows.Close()
	as := []*keys.Authority{}
	for rows.Next() {
		a, err := scanAuthority(rows)
		if err != nil {
			return nil, fmt.Errorf("store: authorities: %w", err)
		}
		as = append(as, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: authorities: %w", err)
	}
	return as, nil
}

func scanAuthority(s rowScanner) (*keys.Authority, error) {
	var (
		a  keys.Authority
		us int64
	)
	if err := s.Scan(&a.Code, &a.Name, &a.Region, &a.CertDER, &a.Serial, &us); err != nil {
		return nil, err
	}
	a.CreatedAt = fromMicros(us)
	return &a, nil
}
