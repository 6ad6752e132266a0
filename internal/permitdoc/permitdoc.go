// Package permitdoc connects the enterprise licence library to the document renderer: it maps
// a permit of the library (a licence of another type) and its type to the renderer's neutral
// document.Permit, and gives the renderer the permits it verifies. It exists so that neither
// package imports the other (the library is a domain package; the renderer pulls in the PDF
// library).
package permitdoc

import (
	"context"
	"time"

	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/library"
)

// cst is China Standard Time, the zone of dates on licences.
var cst = time.FixedZone("CST", 8*3600)

// day parses a YYYY-MM-DD date of a licence; "" or a bad date is the zero time.
func day(s string) time.Time {
	t, err := time.ParseInLocation(time.DateOnly, s, cst)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Of maps a permit version and its type to the renderer's input, as of now.
func Of(p *library.Permit, t *library.Type, now time.Time) *document.Permit {
	sh := library.SheetOf(p, t, now)
	d := &document.Permit{TypeCode: p.TypeCode, TypeName: sh.TitleZH, TypeNameEN: sh.TitleEN, Identifier: p.Identifier,
		Number: p.Number, Version: p.Version, HolderName: p.HolderName, HolderCode: p.HolderCode,
		HolderCodeType: p.HolderCodeType, IssuerCode: p.IssuerCode, IssuerName: p.IssuerName, AreaCode: p.AreaCode,
		IssuedAt: day(p.IssueDate), ValidFrom: day(p.ValidFrom), ValidUntil: day(p.ValidUntil), Status: string(sh.Status)}
	for _, it := range sh.Items {
		d.Items = append(d.Items, document.Item{LabelZH: it.LabelZH, LabelEN: it.LabelEN, Value: it.Value})
	}
	return d
}

// Source gives the renderer's verifier the permits of the library (document.Permits).
type Source struct {
	Library *library.Service
	Clock   func() time.Time // defaults to time.Now
}

// Permit returns the permit version with this identifier, with its status as of now.
func (s Source) Permit(ctx context.Context, identifier string) (*document.Permit, error) {
	p, err := s.Library.Get(ctx, identifier)
	if err != nil {
		return nil, err
	}
	t, err := s.Library.Type(ctx, p.TypeCode)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if s.Clock != nil {
		now = s.Clock
	}
	return Of(p, t, now()), nil
}
