package store

import (
	"strconv"
	"strings"

	"github.com/elicense/elicense/internal/audit"
)

// Helpers for queries built at run time and for rows several areas read.

// query collects the arguments of a query built at run time, numbering their placeholders
// $1…$n in order (the syntax both databases accept), and the conditions of its WHERE clause.
type query struct {
	args  []any
	conds []string
}

// arg adds v to the arguments and returns its placeholder.
func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

// where adds the condition cond; each ? in it stands for the next of args, in order. Values
// never enter the SQL text.
func (q *query) where(cond string, args ...any) {
	for _, v := range args {
		cond = strings.Replace(cond, "?", q.arg(v), 1)
	}
	q.conds = append(q.conds, cond)
}

// clause returns " WHERE " and the conditions joined by AND, or "" when there are none.
func (q *query) clause() string {
	if len(q.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(q.conds, " AND ")
}

// list adds vals to the arguments and returns their placeholders for an IN list ("$3, $4").
// Values of named string types are passed as plain strings, which every driver takes.
func list[S ~string](q *query, vals []S) string {
	ph := make([]string, len(vals))
	for i, v := range vals {
		ph[i] = q.arg(string(v))
	}
	return strings.Join(ph, ", ")
}

// eventCols are the columns scanEvent reads from audit_events; eventBodyCols leave out the hash
// chain, for readers that do not verify it (scanEventBody).
const (
	eventCols     = "seq, time, action, actor, subject, data, prev, hash"
	eventBodyCols = "seq, time, action, actor, subject, data"
)

// scanEvent decodes a row of eventCols.
func scanEvent(row rowScanner) (audit.Event, error) {
	var (
		e          audit.Event
		us         int64
		prev, hash []byte
	)
	if err := row.Scan(&e.Seq, &us, &e.Action, &e.Actor, &e.Subject, (*[]byte)(&e.Data), &prev, &hash); err != nil {
		return audit.Event{}, err
	}
	e.Time = fromMicros(us)
	copy(e.Prev[:], prev)
	copy(e.Hash[:], hash)
	return e, nil
}

// scanEventBody decodes a row of eventBodyCols.
func scanEventBody(row rowScanner) (audit.Event, error) {
	var (
		e  audit.Event
		us int64
	)
	if err := row.Scan(&e.Seq, &us, &e.Action, &e.Actor, &e.Subject, (*[]byte)(&e.Data)); err != nil {
		return audit.Event{}, err
	}
	e.Time = fromMicros(us)
	return e, nil
}
