package web

import (
	"strings"
	"time"

	"github.com/elicense/elicense/internal/errs"
)

// The form pieces of the wallet templates ("wallet-field", "wallet-pin", "wallet-proof"),
// built from the templates with the pageData methods below.

// walletField is a labelled input.
type walletField struct {
	ID, Name, Type, Label, Value string
	Mode, Auto, Hint, Error      string
	Required                     bool
}

// fieldKinds gives the inputs of the wallet the keyboard and autofill a phone should offer.
var fieldKinds = map[string]struct{ typ, mode, auto, hint string }{
	"phone":       {"tel", "numeric", "tel-national", "signin.phone.hint"},
	"id_number":   {"text", "", "off", "register.id.hint"},
	"name":        {"text", "", "name", ""},
	"code":        {"text", "numeric", "one-time-code", ""},
	"device_name": {"text", "", "off", ""},
}

// F builds the input of the form field name (also its id) labelled with the wallet word
// label.
func (p *pageData) F(name, label, value string, errors map[string]string) walletField {
	return p.FI(name, name, label, value, errors)
}

// FI is F with an id of its own, for pages with several forms.
func (p *pageData) FI(id, name, label, value string, errors map[string]string) walletField {
	k, ok := fieldKinds[name]
	if !ok {
		k.typ = "text"
	}
	f := walletField{ID: id, Name: name, Type: k.typ, Label: p.W(label), Value: value, Mode: k.mode, Auto: k.auto,
		Error: errors[name]}
	if k.hint != "" {
		f.Hint = p.W(k.hint)
	}
	return f
}

// FT is FI with an input type (date).
func (p *pageData) FT(id, name, typ, label, value string, errors map[string]string) walletField {
	f := p.FI(id, name, label, value, errors)
	f.Type = typ
	return f
}

// pinField is a 6-digit PIN input.
type pinField struct {
	ID, Name, Label, Auto, Error string
}

// Pin builds a PIN input; auto is its autocomplete token (current-password, new-password).
func (p *pageData) Pin(id, name, label, auto string, errors map[string]string) pinField {
	return pinField{ID: id, Name: name, Label: p.W(label), Auto: auto, Error: errors[name]}
}

// proofField is the confirmation part of a form: a PIN, or the passkey button.
type proofField struct {
	P       *pageData
	PIN     pinField
	Passkey bool // the person has a bound device
}

// Proof builds the confirmation part of a form; passkey offers the passkey button.
func (p *pageData) Proof(id, label string, passkey bool, errors map[string]string) proofField {
	e := errors["pin"]
	for _, k := range []string{"ceremony", "response", "method"} {
		if e == "" {
			e = errors[k]
		}
	}
	return proofField{P: p, PIN: pinField{ID: id, Name: "pin", Label: p.W(label), Auto: "off", Error: e}, Passkey: passkey}
}

// lastDay is the last instant before an exclusive end, so that a grant ending at midnight
// shows the day before as its last day.
func lastDay(end time.Time) time.Time { return end.Add(-time.Microsecond) }

// splitItems reads service item codes typed one per line or separated by commas, semicolons,
// the ideographic comma or spaces.
func splitItems(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		switch r {
		case ',', '，', ';', '；', '、', ' ', '\t', '\r', '\n', '\u3000':
			return true
		}
		return false
	})
}

// parseDay reads a date typed in an <input type="date"> as the start of that day in China.
func parseDay(s string) (time.Time, bool) {
	t, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(s), chinaTime)
	return t, err == nil
}

// dayStart reads the optional date v of the form or query field (parseDay): the start of that
// day in China, the zero time when v is empty. A date that does not parse adds a problem to list.
func dayStart(list *errs.List, field, v string) time.Time {
	if strings.TrimSpace(v) == "" {
		return time.Time{}
	}
	t, ok := parseDay(v)
	if !ok {
		*list = append(*list, errs.New(errs.Invalid, field, "日期格式应为 年-月-日", "a date is written year-month-day"))
	}
	return t
}

// dayEnd is dayStart for the last day of a period, which is included: it returns the start of
// the next day, the exclusive end the services take.
func dayEnd(list *errs.List, field, v string) time.Time {
	if t := dayStart(list, field, v); !t.IsZero() {
		return t.AddDate(0, 0, 1)
	}
	return time.Time{}
}
