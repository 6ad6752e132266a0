package catalog

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
)

// Filter selects service items. Empty fields do not filter.
type Filter struct {
	Scenario Scenario
	// Regions keeps items whose region is one of these (RegionsOf a division: the items that
	// apply there).
	Regions []string
	// Query keeps items whose code, name, English name or department name contains it
	// (case-insensitive).
	Query string
	Limit int // at most this many; 0: DefaultLimit
}

// Limits of a listing.
const (
	DefaultLimit = 1000
	MaxLimit     = 5000
	maxQuery     = 100
)

// Store keeps the catalogue and the applications; package store implements it. Each method that
// takes an audit event appends it in the same transaction as its change.
type Store interface {
	// SaveCatalogItems creates or replaces items by code in one transaction with ev; with
	// onlyNew, existing items are left as they are. It returns how many items it created.
	SaveCatalogItems(ctx context.Context, items []Item, onlyNew bool, by string, at time.Time, ev audit.Event) (created int, err error)
	// CatalogItem returns one item (errs.NotFound).
	CatalogItem(ctx context.Context, code string) (*Item, error)
	// CatalogItems returns the items f selects, ordered by scenario and code (f.Limit is set).
	CatalogItems(ctx context.Context, f Filter) ([]Item, error)

	// CreateApplication stores a new draft application with its audit event (errs.Conflict for
	// a taken ID or case number).
	CreateApplication(ctx context.Context, a *Application, ev audit.Event) error
	// Application returns one application (errs.NotFound).
	Application(ctx context.Context, id string) (*Application, error)
	// SubmitApplication stores a's materials, status submitted, NotAsked and SubmittedAt,
	// provided the stored application is still a draft (errs.Conflict otherwise), with ev.
	SubmitApplication(ctx context.Context, a *Application, ev audit.Event) error
	// ApplicationsOf returns an entity's applications, newest first, at most limit.
	ApplicationsOf(ctx context.Context, entityCode string, limit int) ([]*Application, error)
}

// TypeChecker tells whether a licence type exists in the licence library (the library
// implements it); optional.
type TypeChecker interface {
	KnownType(ctx context.Context, typeCode string) (bool, error)
}

// Config holds the dependencies of a Service. Store is required; the application
// dependencies (Holdings, Authorizer, Recorder) only for Start and Submit.
type Config struct {
	Store Store
	// Types, if set, makes imports refuse licence types the library does not know.
	Types TypeChecker
	// BusinessLicenceType is the business licence's type code (license.Service.TypeCode());
	// the starter catalogue refers to it.
	BusinessLicenceType string

	Holdings   Holdings
	Authorizer Authorizer
	Recorder   Recorder
	Clock      func() time.Time // defaults to time.Now
}

// Service maintains and serves the catalogue and runs applications.
type Service struct {
	c Config
}

// NewService returns the service.
func NewService(c Config) *Service {
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return &Service{c: c}
}

func (s *Service) now() time.Time { return s.c.Clock().UTC().Truncate(time.Microsecond) }

// ImportResult says what an import did.
type ImportResult struct {
	Items   int    `json:"items"`   // items in the file
	Created int    `json:"created"` // new codes
	Updated int    `json:"updated"` // codes that existed and were replaced
	Digest  string `json:"sm3"`     // SM3 (hex) of the imported catalogue as JSON, as recorded in the audit log
}

// Import validates items as one catalogue and, if every item is valid, creates or replaces them
// by code in one transaction, recorded in the audit log as catalog.import by actor. Items not in
// the import stay as they are. Nothing is imported when anything is wrong: the error lists every
// problem (errs.List), named by JSON path.
func (s *Service) Import(ctx context.Context, actor string, items []Item) (*ImportResult, error) {
	known, failed := s.typeChecker(ctx)
	err := validate(items, JSONNamer, known)
	if e := failed(); e != nil {
		return nil, e
	}
	if err != nil {
		return nil, err
	}
	return s.save(ctx, actor, items, string(JSON), false)
}

// ImportFile parses a catalogue file (Parse), validates it and imports it like Import; errors of
// a CSV file are named by row and column.
func (s *Service) ImportFile(ctx context.Context, actor string, f Format, r io.Reader) (*ImportResult, error) {
	known, failed := s.typeChecker(ctx)
	items, err := parse(r, f, known)
	if e := failed(); e != nil {
		return nil, e
	}
	if err != nil {
		return nil, err
	}
	return s.save(ctx, actor, items, string(f), false)
}

// typeChecker returns the function validation asks about licence types (nil without Types),
// and a function that returns the first failure of the library.
func (s *Service) typeChecker(ctx context.Context) (func(string) bool, func() error) {
	if s.c.Types == nil {
		return nil, func() error { return nil }
	}
	known := map[string]bool{s.c.BusinessLicenceType: true}
	var ferr error
	return func(code string) bool {
			if v, seen := known[code]; seen {
				return v
			}
			v, err := s.c.Types.KnownType(ctx, code)
			if err != nil && ferr == nil {
				ferr = fmt.Errorf("catalog: licence type %s: %w", code, err)
			}
			known[code] = v || err != nil
			return known[code]
		}, func() error {
			return ferr
		}
}

// save stores items that are valid.
func (s *Service) save(ctx context.Context, actor string, items []Item, format string, onlyNew bool) (*ImportResult, error) {
	if len(items) == 0 {
		return nil, errs.New(errs.Invalid, "items", "没有要导入的事项", "there are no items to import")
	}
	canon, err := json.Marshal(File{Items: items})
	if err != nil {
		return nil, fmt.Errorf("catalog: encode: %w", err)
	}
	sum := gm.SM3(canon)
	res := &ImportResult{Items: len(items), Digest: hex.EncodeToString(sum[:])}
	now := s.now()
	data, _ := json.Marshal(map[string]any{"items": len(items), "format": format, "sm3": res.Digest, "only_new": onlyNew})
	ev := audit.Event{Time: now, Action: "catalog.import", Actor: actor, Subject: "catalog", Data: data}
	if res.Created, err = s.c.Store.SaveCatalogItems(ctx, items, onlyNew, actor, now, ev); err != nil {
		return nil, fmt.Errorf("catalog: import: %w", err)
	}
	if !onlyNew {
		res.Updated = len(items) - res.Created
	}
	return res, nil
}

// Item returns the service item with this code (errs.NotFound).
func (s *Service) Item(ctx context.Context, code string) (*Item, error) {
	code = strings.TrimSpace(code)
	if !ValidCode(code) {
		return nil, errs.New(errs.Invalid, "code", "事项编码只能由字母、数字和 ._-: 组成，至多 64 个字符",
			"a service item code holds letters, digits and ._-: only, at most 64 characters")
	}
	it, err := s.c.Store.CatalogItem(ctx, code)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, errs.NotFoundf("没有编码为 %s 的事项", "no service item has the code %s", code)
		}
		return nil, fmt.Errorf("catalog: item %s: %w", code, err)
	}
	return it, nil
}

// Query is what a caller asks a listing for: a scenario, a division the items must apply in, a
// text.
type Query struct {
	Scenario string
	Region   string // a GB/T 2260 division: items of the country, its province, its city and itself
	Text     string
	Limit    int
}

// Items lists the service items q selects, in the order of Scenarios and then by code.
func (s *Service) Items(ctx context.Context, q Query) ([]Item, error) {
	var list errs.List
	f := Filter{Scenario: Scenario(strings.TrimSpace(q.Scenario)), Query: strings.TrimSpace(q.Text), Limit: q.Limit}
	if f.Scenario != "" && !f.Scenario.Valid() {
		list = append(list, errs.Invalidf("scenario", "应用场景 %q 未知，可选：%s", "unknown scenario %q; one of: %s", q.Scenario, scenarioList()))
	}
	if r := strings.TrimSpace(q.Region); r != "" {
		if !ValidRegion(r) {
			list = append(list, errs.Invalidf("region", "行政区划代码应为 6 位数字（GB/T 2260），收到 %q", "the region must be a 6-digit division code (GB/T 2260), got %q", r))
		} else {
			f.Regions = RegionsOf(r)
		}
	}
	if n := utf8.RuneCountInString(f.Query); n > maxQuery {
		list = append(list, errs.Invalidf("q", "查询文字过长（%d 个字符，上限 %d）", "the query is too long (%d characters, limit %d)", n, maxQuery))
	}
	switch {
	case f.Limit < 0 || f.Limit > MaxLimit:
		list = append(list, errs.Invalidf("limit", "limit 应在 1 到 %d 之间", "limit must be between 1 and %d", MaxLimit))
	case f.Limit == 0:
		f.Limit = DefaultLimit
	}
	if len(list) > 0 {
		return nil, list
	}
	items, err := s.c.Store.CatalogItems(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("catalog: items: %w", err)
	}
	slices.SortStableFunc(items, func(a, b Item) int { return a.Scenario.index() - b.Scenario.index() })
	return items, nil
}

// Export writes the whole catalogue in format f (see Write).
func (s *Service) Export(ctx context.Context, f Format, w io.Writer) error {
	items, err := s.c.Store.CatalogItems(ctx, Filter{Limit: 1 << 30})
	if err != nil {
		return fmt.Errorf("catalog: export: %w", err)
	}
	slices.SortFunc(items, func(a, b Item) int { return strings.Compare(a.Code, b.Code) })
	var buf bytes.Buffer
	if err := Write(&buf, f, items); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}
