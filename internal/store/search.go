package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/license"
)

// Search returns the current versions of the entities matching q (migration 0005_search),
// ranked: the entity whose code is q (any case) — then the only result —, else entities whose
// name contains q, then entities whose person on the face contains q; within a group in index
// order. Each licence
// carries its status: cancelled and revoked entities are found, marked by it.
//
// SQLite answers from an FTS5 trigram table: MATCH for queries of 3+ characters; shorter ones
// (1–2 Chinese characters, common for a surname or a word like 科技) scan that table with
// instr() and stop at the limit, so frequent short terms are fast and rare ones cost a scan.
// PostgreSQL answers from pg_trgm GIN indexes over the hex of the UTF-8 text, which cover every
// query length (one Chinese character is 6 hex digits).
func (db *DB) Search(ctx context.Context, q license.SearchQuery) ([]*license.Licence, error) {
	text := strings.TrimSpace(q.Text)
	if text == "" {
		return nil, errs.Invalidf("q", "请输入要搜索的名称、统一社会信用代码或法定代表人", "enter a name, credit code or representative to search for")
	}
	if !validSearchText(text) {
		return nil, errs.Invalidf("q", "搜索内容含有无效字符", "the search text contains characters that are not valid")
	}
	limit := q.Limit
	if limit == 0 {
		limit = license.DefaultSearchLimit
	}
	if limit < 0 || limit > license.MaxSearchLimit {
		return nil, errs.Invalidf("limit", "搜索结果条数应在1到%d之间", "limit must be between 1 and %d", license.MaxSearchLimit)
	}

	var out []*license.Licence
	seen := map[string]bool{}
	// Exact code, any case.
	if l, err := db.Current(ctx, strings.ToUpper(text)); err == nil {
		// A credit code is in no name: the entity is the whole answer.
		if matchesSearch(l, q) {
			return []*license.Licence{l}, nil
		}
		return []*license.Licence{}, nil
	} else if !errs.Is(err, errs.NotFound) {
		return nil, err
	}
	for _, col := range []string{"name", "person"} {
		if len(out) >= limit {
			break
		}
		ids, err := db.searchIDs(ctx, col, text, q, limit+len(seen))
		if err != nil {
			return nil, fmt.Errorf("store: search %s: %w", col, err)
		}
		ls, err := db.currentByID(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("store: search %s: %w", col, err)
		}
		for _, l := range ls {
			if len(out) < limit && !seen[l.Code] {
				out = append(out, l)
				seen[l.Code] = true
			}
		}
	}
	if out == nil {
		out = []*license.Licence{}
	}
	return out, nil
}

// validSearchText reports whether s is valid UTF-8 without control characters.
func validSearchText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// matchesSearch reports whether l passes the filters of q.
func matchesSearch(l *license.Licence, q license.SearchQuery) bool {
	return (q.Kind == "" || l.Kind == q.Kind) && strings.HasPrefix(l.Region, q.Region) &&
		(q.Status == "" || l.Status == q.Status) && (q.Authority == "" || l.AuthorityCode == q.Authority)
}

// searchIDs returns the ids of up to limit entities whose current name or person (col) contains
// text and that pass the filters of q, in index order.
func (db *DB) searchIDs(ctx context.Context, col, text string, q license.SearchQuery, limit int) ([]int64, error) {
	var (
		where strings.Builder
		args  []any
		query string
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if q.Kind != "" {
		where.WriteString(" AND l.kind = " + arg(string(q.Kind)))
	}
	if q.Region != "" {
		where.WriteString(" AND l.region >= " + arg(q.Region))
		if end, ok := prefixEnd(q.Region); ok {
			where.WriteString(" AND l.region < " + arg(end))
		}
	}
	if q.Status != "" {
		where.WriteString(" AND l.status = " + arg(string(q.Status)))
	}
	if q.Authority != "" {
		where.WriteString(" AND l.authority_code = " + arg(q.Authority))
	}
	switch {
	case db.dialect == Postgres && col == "name":
		fold := strings.ToLower(text)
		query = "SELECT l.id FROM licences l WHERE elicense_hex(l.name_fold) LIKE " + arg(hexPattern(fold)) +
			" AND strpos(l.name_fold, " + arg(fold) + ") > 0" + where.String()
	case db.dialect == Postgres:
		query = "SELECT l.id FROM licence_versions v JOIN licences l ON l.id = v.licence_id AND v.version = l.current_version" +
			" WHERE elicense_hex(v.data::json #>> '{face,person}') LIKE " + arg(hexPattern(text)) +
			" AND strpos(v.data::json #>> '{face,person}', " + arg(text) + ") > 0" + where.String()
	case len([]rune(text)) >= 3:
		// A phrase of the column: the trigram index finds it, folding case.
		phrase := "{" + col + "} : \"" + strings.ReplaceAll(text, `"`, `""`) + `"`
		query = "SELECT l.id FROM licence_search s JOIN licences l ON l.id = s.rowid WHERE licence_search MATCH " +
			arg(phrase) + where.String() + " ORDER BY s.rowid"
	default:
		// Shorter than a trigram: scan the search table until the limit is reached.
		query = "SELECT l.id FROM licence_search s JOIN licences l ON l.id = s.rowid WHERE instr(lower(s." + col + "), " +
			arg(strings.ToLower(text)) + ") > 0" + where.String() + " ORDER BY s.rowid"
	}
	query += " LIMIT " + arg(limit)
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// hexPattern returns the LIKE pattern of the trigram index for s (PostgreSQL): the hex of its
// first hexRunes characters. Hex trigrams are common, so each costs a long posting list to
// intersect; a few characters select enough, and the query rechecks the whole text.
func hexPattern(s string) string {
	r := []rune(s)
	if len(r) > hexRunes {
		s = string(r[:hexRunes])
	}
	return "%" + hex.EncodeToString([]byte(s)) + "%"
}

// hexRunes is how many characters of a query the PostgreSQL trigram index is asked for.
const hexRunes = 4

// currentByID returns the current versions of the entities with these ids, in the same order.
func (db *DB) currentByID(ctx context.Context, ids []int64) ([]*license.Licence, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := db.r.QueryContext(ctx, `SELECT l.id, v.data, v.signature, v.person_id_hash, v.person_id_sealed, v.digest, v.version, v.superseded_at,
		l.current_version, l.status, l.status_reason, l.status_at
		FROM licence_versions v JOIN licences l ON l.id = v.licence_id AND v.version = l.current_version
		WHERE l.id IN `+db.placeholders(1, len(ids)), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byID := make(map[int64]*license.Licence, len(ids))
	for rows.Next() {
		var id int64
		l, err := scanLicence(idScanner{rows, &id})
		if err != nil {
			return nil, err
		}
		byID[id] = l
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]*license.Licence, 0, len(ids))
	for _, id := range ids {
		if l, ok := byID[id]; ok {
			out = append(out, l)
		} else {
			return nil, errors.New("entity changed during the search")
		}
	}
	return out, nil
}

// idScanner scans a leading id column, then the columns of selectLicence.
type idScanner struct {
	s  rowScanner
	id *int64
}

func (s idScanner) Scan(dest ...any) error {
	return s.s.Scan(append([]any{s.id}, dest...)...)
}
