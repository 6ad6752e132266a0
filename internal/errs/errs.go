// Package errs defines the kinds of errors the platform reports to its users, with messages in
// zh-CN and English. It is a leaf: it imports only the standard library. One function in package
// web maps kinds to HTTP statuses.
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

const (
	// Internal is a failure the caller cannot act on; details are logged, never shown.
	Internal Kind = iota
	// Invalid means the input is wrong; Field says where.
	Invalid
	// NotFound means the thing asked for does not exist.
	NotFound
	// Conflict means the request clashes with the current state (duplicate, stale version).
	Conflict
	// Unauthenticated means the caller did not prove who it is.
	Unauthenticated
	// Forbidden means the caller may not do this.
	Forbidden
	// TooLarge means the input exceeds a limit.
	TooLarge
	// Unavailable means a dependency is down; the caller may retry.
	Unavailable
	// TooMany means a rate limit or lockout applies; the caller may retry later.
	TooMany
)

var kindCodes = map[Kind]string{
	Internal:        "internal",
	Invalid:         "invalid",
	NotFound:        "not_found",
	Conflict:        "conflict",
	Unauthenticated: "unauthenticated",
	Forbidden:       "forbidden",
	TooLarge:        "too_large",
	Unavailable:     "unavailable",
	TooMany:         "too_many_requests",
}

// String returns the stable machine-readable code of the kind.
func (k Kind) String() string {
	if s, ok := kindCodes[k]; ok {
		return s
	}
	return "internal"
}

// Error is an error the user can act on. It carries a message in both languages.
type Error struct {
	Kind  Kind
	Field string // the input field at fault, e.g. "face.name" or "row 12: code"; may be empty
	ZH    string // message in zh-CN
	EN    string // message in English
	Err   error  // optional cause (not shown to users)
}

// Error returns the English message (with the field) for logs and tests.
func (e *Error) Error() string {
	msg := e.EN
	if msg == "" {
		msg = e.ZH
	}
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Message returns the message in the language asked for ("en" or anything else for zh-CN).
func (e *Error) Message(lang string) string {
	if lang == "en" && e.EN != "" {
		return e.EN
	}
	if e.ZH != "" {
		return e.ZH
	}
	return e.EN
}

// New returns an error of the given kind with messages in both languages.
func New(kind Kind, field, zh, en string) *Error {
	return &Error{Kind: kind, Field: field, ZH: zh, EN: en}
}

// Invalidf returns an Invalid error for field with formatted messages in both languages; the
// same arguments fill both formats.
func Invalidf(field, zh, en string, args ...any) *Error {
	return &Error{Kind: Invalid, Field: field, ZH: fmt.Sprintf(zh, args...), EN: fmt.Sprintf(en, args...)}
}

// NotFoundf returns a NotFound error with formatted messages.
func NotFoundf(zh, en string, args ...any) *Error {
	return &Error{Kind: NotFound, ZH: fmt.Sprintf(zh, args...), EN: fmt.Sprintf(en, args...)}
}

// Conflictf returns a Conflict error with formatted messages.
func Conflictf(zh, en string, args ...any) *Error {
	return &Error{Kind: Conflict, ZH: fmt.Sprintf(zh, args...), EN: fmt.Sprintf(en, args...)}
}

// Forbiddenf returns a Forbidden error with formatted messages.
func Forbiddenf(zh, en string, args ...any) *Error {
	return &Error{Kind: Forbidden, ZH: fmt.Sprintf(zh, args...), EN: fmt.Sprintf(en, args...)}
}

// WithField returns a copy of e with the field prefixed by prefix (e.g. "row 12").
func WithField(err error, prefix string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	if c.Field == "" {
		c.Field = prefix
	} else {
		c.Field = prefix + "." + c.Field
	}
	return &c
}

// KindOf returns the kind of err: the Kind of the first *Error in its chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Is reports whether err is an *Error of kind k.
func Is(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}

// As returns the first *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// List collects several validation errors so a caller sees all of them at once.
type List []*Error

// Error joins the messages.
func (l List) Error() string {
	s := ""
	for i, e := range l {
		if i > 0 {
			s += "; "
		}
		s += e.Error()
	}
	return s
}

// Err returns nil for an empty list, the only error for a list of one, and the list otherwise.
func (l List) Err() error {
	switch len(l) {
	case 0:
		return nil
	default:
		return l
	}
}

// As lets errors.As find the first error of the list.
func (l List) As(target any) bool {
	if p, ok := target.(**Error); ok && len(l) > 0 {
		*p = l[0]
		return true
	}
	return false
}
