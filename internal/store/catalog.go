package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/catalog"
)

// Storage of the service catalogue and its applications (package catalog; migration
// 0010_catalog). An item's materials and an application's item and materials are JSON: they are
// read and written whole, never queried inside. Each change is one transaction with its audit
// event; SubmitApplication is a compare-and-set on the draft status.

var _ catalog.Store = (*DB)(nil)

const catalogItemCols = "code, name, name_en, department_name, department_code, region, scenario, materials"

// SaveCatalogItems creates or replaces items by code in one transaction with ev (with onlyNew,
// existing codes are left alone) and returns how many it created.
func (db *DB) SaveCatalogItems(ctx context.Context, items []catalog.Item, onlyNew bool, by string, at time.Time, ev audit.Event) (int, error) {
	created := 0
	err := db.inTxStmts(ctx, func(ts *txStmts) error {
		created = 0
		exists, err := ts.get(ctx, "SELECT 1 FROM catalog_items WHERE code = $1"+db.forUpdate)
		if err != nil {
			return fmt.Errorf("store: prepare catalogue: %w", err)
		}
		q := "INSERT INTO catalog_items (" + catalogItemCols + `, updated_by, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (code) DO `
		if onlyNew {
			q += "NOTHING"
		} else {
			q += `UPDATE SET name = excluded.name, name_en = excluded.name_en, department_name = excluded.department_name,
				department_code = excluded.department_code, region = excluded.region, scenario = excluded.scenario,
				materials = excluded.materials, updated_by = excluded.updated_by, updated_at = excluded.updated_at`
		}
		upsert, err := ts.get(ctx, q)
		if err != nil {
			return fmt.Errorf("store: prepare catalogue: %w", err)
		}
		for i := range items {
			it := &items[i]
			var one int
			switch err := exists.QueryRowContext(ctx, it.Code).Scan(&one); {
			case errors.Is(err, sql.ErrNoRows):
				created++
			case err != nil:
				return fmt.Errorf("store: catalogue item %s: %w", it.Code, mapBusy(err))
			case onlyNew:
				continue
			}
			if _, err := upsert.ExecContext(ctx, it.Code, it.Name, it.NameEN, it.Department.Name, it.Department.Code,
				it.Region, string(it.Scenario), oidcJSON(it.Materials), by, micros(at)); err != nil {
				return fmt.Errorf("store: save catalogue item %s: %w", it.Code, mapBusy(err))
			}
		}
		if onlyNew && created == 0 {
			return nil // nothing happened: nothing to record
		}
		return db.appendEvent(ctx, ts, &ev)
	})
	if err != nil {
		return 0, err
	}
	return created, nil
}

func scanCatalogItem(s rowScanner) (*catalog.Item, error) {
	var it catalog.Item
	var scenario, materials string
	if err := s.Scan(&it.Code, &it.Name, &it.NameEN, &it.Department.Name, &it.Department.Code, &it.Region,
		&scenario, &materials); err != nil {
		return nil, err
	}
	it.Scenario = catalog.Scenario(scenario)
	if err := oidcDecode(materials, &it.Materials); err != nil {
		return nil, err
	}
	return &it, nil
}

// CatalogItem returns one item (errs.NotFound).
func (db *DB) CatalogItem(ctx context.Context, code string) (*catalog.Item, error) {
	it, err := scanCatalogItem(db.r.QueryRowContext(ctx, "SELECT "+catalogItemCols+" FROM catalog_items WHERE code = $1", code))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "没有编码为 %s 的事项", "no service item has the code %s", code)
	}
	if err != nil {
		return nil, fmt.Errorf("store: catalogue item %s: %w", code, err)
	}
	return it, nil
}

// likeEscape escapes the wildcards of a LIKE pattern (the escape character is \).
var likeEscape = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// CatalogItems returns the items f selects, ordered by scenario and code, at most f.Limit.
func (db *DB) CatalogItems(ctx context.Context, f catalog.Filter) ([]catalog.Item, error) {
	var q query
	if f.Scenario != "" {
		q.where("scenario = ?", string(f.Scenario))
	}
	if len(f.Regions) > 0 {
		q.where("region IN (" + list(&q, f.Regions) + ")")
	}
	if f.Query != "" {
		p := q.arg("%" + likeEscape.Replace(strings.ToLower(f.Query)) + "%")
		var ors []string
		for _, c := range []string{"code", "name", "name_en", "department_name"} {
			ors = append(ors, "LOWER("+c+") LIKE "+p+` ESCAPE '\'`)
		}
		q.where("(" + strings.Join(ors, " OR ") + ")")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = catalog.DefaultLimit
	}
	stmt := "SELECT " + catalogItemCols + " FROM catalog_items" + q.clause() + " ORDER BY scenario, code LIMIT " + q.arg(limit)
	rows, err := db.r.QueryContext(ctx, stmt, q.args...)
	if err != nil {
		return nil, fmt.Errorf("store: catalogue items: %w", err)
	}
	defer rows.Close()
	out := []catalog.Item{}
	for rows.Next() {
		it, err := scanCatalogItem(rows)
		if err != nil {
			return nil, fmt.Errorf("store: catalogue items: %w", err)
		}
		out = append(out, *it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: catalogue items: %w", err)
	}
	return out, nil
}

const applicationCols = `id, item, entity_code, person_id, role, case_number, status, materials, not_asked,
	created_at, submitted_at, channel`

func scanApplication(s rowScanner) (*catalog.Application, error) {
	var (
		a              catalog.Application
		item, mats, st string
		created        int64
		submitted      sql.NullInt64
	)
	if err := s.Scan(&a.ID, &item, &a.EntityCode, &a.PersonID, &a.Role, &a.Case, &st, &mats, &a.NotAsked,
		&created, &submitted, &a.Channel); err != nil {
		return nil, err
	}
	a.Status = catalog.AppStatus(st)
	a.CreatedAt, a.SubmittedAt = fromMicros(created), fromNullMicros(submitted)
	if err := oidcDecode(item, &a.Item); err != nil {
		return nil, err
	}
	if err := oidcDecode(mats, &a.Materials); err != nil {
		return nil, err
	}
	return &a, nil
}

// CreateApplication stores a new application with its audit event (errs.Conflict for a taken ID
// or case number).
func (db *DB) CreateApplication(ctx context.Context, a *catalog.Application, ev audit.Event) error {
	err := db.inTxStmts(ctx, func(ts *txStmts) error {
		if _, err := ts.tx.ExecContext(ctx, `INSERT INTO catalog_applications (item_code, `+applicationCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			a.Item.Code, a.ID, oidcJSON(a.Item), a.EntityCode, a.PersonID, a.Role, a.Case, string(a.Status),
			oidcJSON(a.Materials), a.NotAsked, micros(a.CreatedAt), nullMicros(a.SubmittedAt), a.Channel); err != nil {
			return fmt.Errorf("store: insert application: %w", mapBusy(err))
		}
		return db.appendEvent(ctx, ts, &ev)
	})
	if isUnique(err) {
		return conflictf(err, "办件 %s 已存在", "the application %s exists already", a.Case)
	}
	return err
}

// Application returns one application (errs.NotFound).
func (db *DB) Application(ctx context.Context, id string) (*catalog.Application, error) {
	a, err := scanApplication(db.r.QueryRowContext(ctx, "SELECT "+applicationCols+" FROM catalog_applications WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "办件不存在", "no such application")
	}
	if err != nil {
		return nil, fmt.Errorf("store: application %s: %w", id, err)
	}
	return a, nil
}

// SubmitApplication stores the submitted application — role, materials, not_asked, status and
// submitted_at — if it is still a draft (errs.Conflict otherwise; errs.NotFound when it does not
// exist), with its audit event, in one transaction.
func (db *DB) SubmitApplication(ctx context.Context, a *catalog.Application, ev audit.Event) error {
	return db.inTxStmts(ctx, func(ts *txStmts) error {
		n, err := execCount(ctx, ts.tx, `UPDATE catalog_applications SET role = $2, status = $3, materials = $4,
			not_asked = $5, submitted_at = $6 WHERE id = $1 AND status = $7`,
			a.ID, a.Role, string(a.Status), oidcJSON(a.Materials), a.NotAsked, nullMicros(a.SubmittedAt), string(catalog.Draft))
		if err != nil {
			return fmt.Errorf("store: submit application %s: %w", a.ID, err)
		}
		if n == 0 {
			ok, err := existsTx(ctx, ts.tx, "SELECT 1 FROM catalog_applications WHERE id = $1", a.ID)
			if err != nil {
				return fmt.Errorf("store: submit application %s: %w", a.ID, mapBusy(err))
			}
			if !ok {
				return notFoundf(sql.ErrNoRows, "办件不存在", "no such application")
			}
			return conflictf(nil, "办件 %s 已提交", "the application %s was submitted already", a.Case)
		}
		return db.appendEvent(ctx, ts, &ev)
	})
}

// ApplicationsOf returns an entity's applications, newest first, at most limit.
func (db *DB) ApplicationsOf(ctx context.Context, entityCode string, limit int) ([]*catalog.Application, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT "+applicationCols+` FROM catalog_applications WHERE entity_code = $1
		ORDER BY created_at DESC, id DESC LIMIT $2`, entityCode, limit)
	if err != nil {
		return nil, fmt.Errorf("store: applications of %s: %w", entityCode, err)
	}
	defer rows.Close()
	out := []*catalog.Application{}
	for rows.Next() {
		a, err := scanApplication(rows)
		if err != nil {
			return nil, fmt.Errorf("store: applications of %s: %w", entityCode, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: applications of %s: %w", entityCode, err)
	}
	return out, nil
}
