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
	"github.com/elicense/elicense/internal/notice"
)

// Storage of change notices (package notice; migration 0009_notice): subscriptions and their
// targets, followed entities, the dispatcher's cursor in the audit log, and the outbox.

var _ notice.Store = (*DB)(nil)

// dollars returns "$from,…,$(from+n-1)" for an IN list; both databases accept $n (on SQLite a
// $n names the n-th argument).
func dollars(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(from + i))
	}
	return b.String()
}

// skipLocked is appended to a SELECT that claims rows: other processes skip the rows one has
// claimed instead of waiting for them (PostgreSQL; SQLite's single writer needs nothing).
func (db *DB) skipLocked() string {
	if db.dialect == Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// CreateNoticeSubscription stores a subscription with its targets and appends ev; the
// subscription takes effect after ev's sequence number.
func (db *DB) CreateNoticeSubscription(ctx context.Context, s *notice.Subscription, ev audit.Event) error {
	events, _ := json.Marshal(s.Events)
	return db.inTxStmts(ctx, func(ts *txStmts) error {
		if err := db.appendEvent(ctx, ts, &ev); err != nil {
			return err
		}
		if _, err := ts.tx.ExecContext(ctx, `INSERT INTO notice_subscriptions (id, client_id, url, events, archived,
			after_seq, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			s.ID, s.ClientID, s.URL, string(events), s.Archived, ev.Seq, s.CreatedBy, micros(s.CreatedAt)); err != nil {
			if isForeignKey(err) {
				return notFoundf(err, "没有客户端 %s", "there is no client %s", s.ClientID)
			}
			return fmt.Errorf("store: create subscription: %w", mapBusy(err))
		}
		for _, t := range s.Targets {
			st, err := ts.get(ctx, `INSERT INTO notice_targets (subscription_id, entity_code, type_code, identifier)
				VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`)
			if err != nil {
				return fmt.Errorf("store: create subscription: %w", err)
			}
			if _, err := st.ExecContext(ctx, s.ID, t.EntityCode, t.TypeCode, t.Identifier); err != nil {
				return fmt.Errorf("store: create subscription: %w", mapBusy(err))
			}
		}
		return nil
	})
}

// NoticeSubscriptions returns a client's subscriptions, oldest first, with their targets.
func (db *DB) NoticeSubscriptions(ctx context.Context, clientID string) ([]notice.Subscription, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, url, events, archived, created_by, created_at
		FROM notice_subscriptions WHERE client_id = $1 ORDER BY created_at, id`, clientID)
	if err != nil {
		return nil, fmt.Errorf("store: subscriptions of %s: %w", clientID, err)
	}
	defer rows.Close()
	out := []notice.Subscription{}
	index := map[string]int{}
	for rows.Next() {
		s := notice.Subscription{ClientID: clientID, Entities: []string{}, Licences: []string{}}
		var events string
		var at int64
		if err := rows.Scan(&s.ID, &s.URL, &events, &s.Archived, &s.CreatedBy, &at); err != nil {
			return nil, fmt.Errorf("store: subscriptions of %s: %w", clientID, err)
		}
		if err := json.Unmarshal([]byte(events), &s.Events); err != nil {
			return nil, fmt.Errorf("store: subscription %s events: %w", s.ID, err)
		}
		s.CreatedAt = fromMicros(at)
		index[s.ID] = len(out)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: subscriptions of %s: %w", clientID, err)
	}
	if len(out) == 0 {
		return out, nil
	}
	trows, err := db.r.QueryContext(ctx, `SELECT t.subscription_id, t.entity_code, t.type_code, t.identifier
		FROM notice_targets t JOIN notice_subscriptions s ON s.id = t.subscription_id
		WHERE s.client_id = $1 ORDER BY t.subscription_id, t.entity_code, t.type_code`, clientID)
	if err != nil {
		return nil, fmt.Errorf("store: subscription targets of %s: %w", clientID, err)
	}
	defer trows.Close()
	for trows.Next() {
		var id string
		var t notice.Target
		if err := trows.Scan(&id, &t.EntityCode, &t.TypeCode, &t.Identifier); err != nil {
			return nil, fmt.Errorf("store: subscription targets of %s: %w", clientID, err)
		}
		i, ok := index[id]
		if !ok {
			continue // made after the first query
		}
		s := &out[i]
		s.Targets = append(s.Targets, t)
		if t.TypeCode == "" {
			s.Entities = append(s.Entities, t.EntityCode)
		} else {
			s.Licences = append(s.Licences, t.Identifier)
		}
	}
	if err := trows.Err(); err != nil {
		return nil, fmt.Errorf("store: subscription targets of %s: %w", clientID, err)
	}
	return out, nil
}

// DeleteNoticeSubscription deletes a client's subscription, its targets and its pending
// deliveries, and appends ev (errs.NotFound).
func (db *DB) DeleteNoticeSubscription(ctx context.Context, clientID, id string, ev audit.Event) error {
	return db.inTxStmts(ctx, func(ts *txStmts) error {
		res, err := ts.tx.ExecContext(ctx, "DELETE FROM notice_subscriptions WHERE id = $1 AND client_id = $2", id, clientID)
		if err != nil {
			return fmt.Errorf("store: delete subscription %s: %w", id, mapBusy(err))
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: delete subscription %s: %w", id, err)
		} else if n == 0 {
			return notFoundf(sql.ErrNoRows, "没有订阅 %s", "there is no subscription %s", id)
		}
		if _, err := ts.tx.ExecContext(ctx, "DELETE FROM notice_outbox WHERE subscription_id = $1 AND state = $2",
			id, string(notice.Pending)); err != nil {
			return fmt.Errorf("store: delete subscription %s: %w", id, mapBusy(err))
		}
		return db.appendEvent(ctx, ts, &ev)
	})
}

// errFollowed rolls back a follow that already existed.
var errFollowed = errors.New("store: already followed")

// FollowEntity records that a client follows an entity and appends ev, unless it already did;
// the follow takes effect after ev's sequence number.
func (db *DB) FollowEntity(ctx context.Context, clientID, entityCode string, at time.Time, ev audit.Event) (bool, error) {
	err := db.inTxStmts(ctx, func(ts *txStmts) error {
		if err := db.appendEvent(ctx, ts, &ev); err != nil {
			return err
		}
		res, err := ts.tx.ExecContext(ctx, `INSERT INTO notice_follows (client_id, entity_code, after_seq, created_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (client_id, entity_code) DO NOTHING`, clientID, entityCode, ev.Seq, micros(at))
		if err != nil {
			if isForeignKey(err) {
				return notFoundf(err, "没有客户端 %s", "there is no client %s", clientID)
			}
			return fmt.Errorf("store: follow %s: %w", entityCode, mapBusy(err))
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: follow %s: %w", entityCode, err)
		} else if n == 0 {
			return errFollowed // and the event goes with the rollback
		}
		return nil
	})
	if errors.Is(err, errFollowed) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// DispatchNotices reads the next page of the audit log after the cursor and writes the
// deliveries plan makes of its licence events, moving the cursor, in one transaction. The
// cursor row is locked (FOR UPDATE on PostgreSQL), so processes dispatch one after the other.
// Audit sequence numbers are dense and become visible in order (they are handed out under the
// lock of the audit head, held until commit), so a page (cursor, cursor+limit] at most up to
// the committed head never skips an event that commits later.
func (db *DB) DispatchNotices(ctx context.Context, actions []string, limit int, plan notice.Plan) (int, error) {
	moved := 0
	err := db.inTxStmts(ctx, func(ts *txStmts) error {
		tx := ts.tx
		var cur, head int64
		if err := tx.QueryRowContext(ctx, "SELECT seq FROM notice_cursor WHERE id = 1"+db.forUpdate).Scan(&cur); err != nil {
			return fmt.Errorf("store: notice cursor: %w", mapBusy(err))
		}
		if err := tx.QueryRowContext(ctx, "SELECT seq FROM audit_head WHERE id = 1").Scan(&head); err != nil {
			return fmt.Errorf("store: audit head: %w", mapBusy(err))
		}
		if head <= cur {
			return nil
		}
		upto := min(head, cur+int64(limit))
		args := []any{cur, upto}
		for _, a := range actions {
			args = append(args, a)
		}
		rows, err := tx.QueryContext(ctx, "SELECT "+eventBodyCols+` FROM audit_events
			WHERE seq > $1 AND seq <= $2 AND action IN (`+dollars(3, len(actions))+`) ORDER BY seq`, args...)
		if err != nil {
			return fmt.Errorf("store: licence events: %w", err)
		}
		var evs []audit.Event
		var subjects []any
		seen := map[string]bool{}
		for rows.Next() {
			e, err := scanEventBody(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("store: licence events: %w", err)
			}
			evs = append(evs, e)
			if !seen[e.Subject] {
				seen[e.Subject] = true
				subjects = append(subjects, e.Subject)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: licence events: %w", err)
		}
		if len(evs) > 0 {
			ms, err := db.noticeMatches(ctx, tx, subjects)
			if err != nil {
				return err
			}
			for _, d := range plan(evs, ms) {
				st, err := ts.get(ctx, `INSERT INTO notice_outbox (id, subscription_id, client_id, url, event_seq, event,
					entity_code, body, state, attempts, due_at, lease, last_status, last_error, created_at, updated_at)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, '', 0, '', $11, $11)
					ON CONFLICT (subscription_id, event_seq) DO NOTHING`)
				if err != nil {
					return fmt.Errorf("store: outbox: %w", err)
				}
				if _, err := st.ExecContext(ctx, d.ID, d.SubscriptionID, d.ClientID, d.URL, d.EventSeq, string(d.Event),
					d.EntityCode, string(d.Body), string(notice.Pending), micros(d.DueAt), micros(d.CreatedAt)); err != nil {
					return fmt.Errorf("store: outbox: %w", mapBusy(err))
				}
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE notice_cursor SET seq = $1 WHERE id = 1", upto); err != nil {
			return fmt.Errorf("store: notice cursor: %w", mapBusy(err))
		}
		moved = int(upto - cur)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return moved, nil
}

// noticeMatches finds the subscriptions naming the subjects: by a target, or by a follow for
// the subscriptions made with archived.
func (db *DB) noticeMatches(ctx context.Context, tx *sql.Tx, subjects []any) ([]notice.Match, error) {
	in := dollars(1, len(subjects))
	rows, err := tx.QueryContext(ctx, `SELECT s.id, s.client_id, s.url, s.events, t.entity_code, t.type_code, s.after_seq, 0
		FROM notice_targets t JOIN notice_subscriptions s ON s.id = t.subscription_id
		WHERE t.entity_code IN (`+in+`)
		UNION ALL
		SELECT s.id, s.client_id, s.url, s.events, f.entity_code, '', s.after_seq, f.after_seq
		FROM notice_follows f JOIN notice_subscriptions s ON s.client_id = f.client_id AND s.archived
		WHERE f.entity_code IN (`+in+`)`, subjects...)
	if err != nil {
		return nil, fmt.Errorf("store: notice subscriptions: %w", err)
	}
	defer rows.Close()
	var out []notice.Match
	for rows.Next() {
		var m notice.Match
		var events string
		var followed int64
		if err := rows.Scan(&m.SubscriptionID, &m.ClientID, &m.URL, &events, &m.EntityCode, &m.TypeCode, &m.AfterSeq, &followed); err != nil {
			return nil, fmt.Errorf("store: notice subscriptions: %w", err)
		}
		m.AfterSeq = max(m.AfterSeq, followed)
		if err := json.Unmarshal([]byte(events), &m.Events); err != nil {
			return nil, fmt.Errorf("store: subscription %s events: %w", m.SubscriptionID, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: notice subscriptions: %w", err)
	}
	return out, nil
}

const selectDelivery = `SELECT n, id, subscription_id, client_id, url, event_seq, event, entity_code, body, state,
	attempts, due_at, lease, last_status, last_error, created_at, updated_at, delivered_at FROM notice_outbox`

func scanDelivery(s rowScanner) (*notice.Delivery, error) {
	var (
		d                 notice.Delivery
		event, body, st   string
		due, created, upd int64
		delivered         sql.NullInt64
	)
	if err := s.Scan(&d.N, &d.ID, &d.SubscriptionID, &d.ClientID, &d.URL, &d.EventSeq, &event, &d.EntityCode, &body, &st,
		&d.Attempts, &due, &d.Lease, &d.LastStatus, &d.LastError, &created, &upd, &delivered); err != nil {
		return nil, err
	}
	d.Event, d.Body, d.State = notice.Event(event), json.RawMessage(body), notice.State(st)
	d.DueAt, d.CreatedAt, d.UpdatedAt = fromMicros(due), fromMicros(created), fromMicros(upd)
	if delivered.Valid {
		t := fromMicros(delivered.Int64)
		d.DeliveredAt = &t
	}
	return &d, nil
}

// ClaimNotices claims due pending deliveries: a row is due when its next attempt is due or the
// lease of the attempt in flight ran out. Claiming sets the lease, counts the attempt and moves
// DueAt to the end of the lease.
func (db *DB) ClaimNotices(ctx context.Context, now, leaseUntil time.Time, lease string, limit int) ([]notice.Delivery, error) {
	var out []notice.Delivery
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE notice_outbox SET lease = $1, attempts = attempts + 1, due_at = $2,
			updated_at = $3 WHERE n IN (SELECT n FROM notice_outbox WHERE state = 'pending' AND due_at <= $3
			ORDER BY due_at, n LIMIT $4`+db.skipLocked()+`)
			RETURNING n, id, subscription_id, client_id, url, event_seq, event, entity_code, body, state,
			attempts, due_at, lease, last_status, last_error, created_at, updated_at, delivered_at`,
			lease, micros(leaseUntil), micros(now), limit)
		if err != nil {
			return fmt.Errorf("store: claim notices: %w", mapBusy(err))
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDelivery(rows)
			if err != nil {
				return fmt.Errorf("store: claim notices: %w", err)
			}
			out = append(out, *d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FinishNotice records the result of an attempt if the lease still holds the row.
func (db *DB) FinishNotice(ctx context.Context, d *notice.Delivery) (bool, error) {
	var delivered sql.NullInt64
	if d.DeliveredAt != nil {
		delivered = nullMicros(*d.DeliveredAt)
	}
	res, err := db.w.ExecContext(ctx, `UPDATE notice_outbox SET state = $1, due_at = $2, last_status = $3, last_error = $4,
		delivered_at = $5, updated_at = $6, lease = '' WHERE n = $7 AND lease = $8 AND state = 'pending'`,
		string(d.State), micros(d.DueAt), d.LastStatus, d.LastError, delivered, micros(d.UpdatedAt), d.N, d.Lease)
	if err != nil {
		return false, fmt.Errorf("store: finish notice %s: %w", d.ID, mapBusy(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: finish notice %s: %w", d.ID, err)
	}
	return n > 0, nil
}

// NoticeDelivery returns a client's delivery by id (errs.NotFound).
func (db *DB) NoticeDelivery(ctx context.Context, clientID, id string) (*notice.Delivery, error) {
	d, err := scanDelivery(db.r.QueryRowContext(ctx, selectDelivery+" WHERE id = $1 AND client_id = $2", id, clientID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf(err, "没有投递记录 %s", "there is no delivery %s", id)
	}
	if err != nil {
		return nil, fmt.Errorf("store: delivery %s: %w", id, err)
	}
	return d, nil
}

// NoticeDeliveries lists a client's deliveries, newest first.
func (db *DB) NoticeDeliveries(ctx context.Context, q notice.DeliveryQuery) ([]notice.Delivery, error) {
	var sq query
	sq.where("client_id = ?", q.ClientID)
	if q.State != "" {
		sq.where("state = ?", string(q.State))
	}
	if q.Before > 0 {
		sq.where("n < ?", q.Before)
	}
	rows, err := db.r.QueryContext(ctx, selectDelivery+sq.clause()+" ORDER BY n DESC LIMIT "+sq.arg(q.Limit), sq.args...)
	if err != nil {
		return nil, fmt.Errorf("store: deliveries of %s: %w", q.ClientID, err)
	}
	defer rows.Close()
	out := []notice.Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("store: deliveries of %s: %w", q.ClientID, err)
		}
		out = append(out, *d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: deliveries of %s: %w", q.ClientID, err)
	}
	return out, nil
}

// RequeueNotice makes a delivery in state from pending again, due now, and appends ev.
func (db *DB) RequeueNotice(ctx context.Context, clientID, id string, from notice.State, now time.Time, ev audit.Event) (bool, error) {
	ok := false
	err := db.inTxStmts(ctx, func(ts *txStmts) error {
		res, err := ts.tx.ExecContext(ctx, `UPDATE notice_outbox SET state = 'pending', attempts = 0, due_at = $1, lease = '',
			delivered_at = NULL, updated_at = $1 WHERE id = $2 AND client_id = $3 AND state = $4`,
			micros(now), id, clientID, string(from))
		if err != nil {
			return fmt.Errorf("store: requeue notice %s: %w", id, mapBusy(err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("store: requeue notice %s: %w", id, err)
		}
		if ok = n > 0; !ok {
			return nil
		}
		return db.appendEvent(ctx, ts, &ev)
	})
	if err != nil {
		return false, err
	}
	return ok, nil
}
