package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/elicense/elicense/internal/catalog"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/library"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/sharing"
)

// newCatalog returns the service catalogue over the app's database. With the identity service
// (serve), applications may start: the Authorizer is identity's CanAct and the holdings are the
// entity's business licence. The Recorder (the licence library's service records and uses) is
// wired by the integration of the library; until then Submit answers that applications are not
// enabled.
func newCatalog(ap *app) *catalog.Service {
	c := catalog.Config{Store: ap.db, BusinessLicenceType: ap.licenses.TypeCode(), Clock: ap.clock}
	if ap.identity != nil {
		c.Authorizer = identityAuthorizer{ap.identity, ap.clock}
		c.Holdings = businessLicence{ap.licenses}
	}
	return catalog.NewService(c)
}

// identityAuthorizer lets a person apply for an item when identity.Service.CanAct allows it.
type identityAuthorizer struct {
	id    *identity.Service
	clock func() time.Time
}

func (a identityAuthorizer) Authorize(ctx context.Context, personID, entityCode, item string) (string, error) {
	r, err := a.id.CanAct(ctx, personID, entityCode, item, a.clock())
	if err != nil {
		return "", err
	}
	return string(r.Kind), nil
}

// businessLicence gives an entity's business licence as its holdings (the licence library adds
// the other licences when it is wired). Fetching its file needs the entity's consent.
type businessLicence struct{ ls *license.Service }

func (b businessLicence) Holdings(ctx context.Context, code string) ([]catalog.Held, error) {
	l, err := b.ls.Get(ctx, code)
	if err != nil {
		return nil, err
	}
	return []catalog.Held{{TypeCode: b.ls.TypeCode(), Identifier: l.Identifier, Status: string(l.Status)}}, nil
}

// cmdCatalog imports and exports the service catalogue:
//
//	elicense catalog import [--format csv|json] FILE   all or nothing; every error listed
//	elicense catalog export [--format json|csv] [-o FILE]
//	elicense catalog starter                           add the starter catalogue's missing items
func cmdCatalog(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const use = "usage: elicense catalog import [--format csv|json] FILE | elicense catalog export [--format json|csv] [-o FILE] | elicense catalog starter"
	if len(args) == 0 || (args[0] != "import" && args[0] != "export" && args[0] != "starter") {
		return usageError(use)
	}
	fs := newFlagSet("catalog "+args[0], stderr)
	var c Config
	storageFlags(fs, &c, getenv)
	format := fs.String("format", "", "csv or json (import: default from the file name; export: default json)")
	out := fs.String("o", "", "export: write to this file instead of standard output")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if (args[0] == "import") != (fs.NArg() == 1) || fs.NArg() > 1 {
		return usageError(use)
	}
	var f catalog.Format
	var err error
	switch {
	case *format != "":
		f, err = catalog.ParseFormat(*format, "--format")
	case args[0] == "import":
		f, err = catalog.FormatOf(fs.Arg(0))
	default:
		f = catalog.JSON
	}
	if err != nil {
		return userError(err, getenv)
	}
	ap, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer ap.Close()
	svc := newCatalog(ap)
	actor := "cli:" + cliUser(getenv)
	switch args[0] {
	case "starter":
		n, err := svc.LoadStarter(ctx, actor)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "starter catalogue: %d items added\n", n)
		return nil
	case "export":
		var buf bytes.Buffer
		if err := svc.Export(ctx, f, &buf); err != nil {
			return err
		}
		if *out == "" {
			_, err := stdout.Write(buf.Bytes())
			return err
		}
		return os.WriteFile(*out, buf.Bytes(), 0o644)
	}
	file, err := os.Open(fs.Arg(0))
	if err != nil {
		return usageError("catalog import: %v", err)
	}
	defer file.Close()
	res, err := svc.ImportFile(ctx, actor, f, file)
	if err != nil {
		return catalogErrors(err, getenv, stderr)
	}
	fmt.Fprintf(stdout, "导入 %d 个事项（新增 %d，替换 %d）/ imported %d items (%d created, %d replaced); SM3 %s\n",
		res.Items, res.Created, res.Updated, res.Items, res.Created, res.Updated, res.Digest)
	return nil
}

// catalogErrors prints every problem of a refused import, one a line, and exits 1.
func catalogErrors(err error, getenv func(string) string, stderr io.Writer) error {
	var l errs.List
	if !errors.As(err, &l) || len(l) < 2 {
		return userError(err, getenv)
	}
	lng := lang("", getenv)
	for _, e := range l {
		if e.Field != "" {
			fmt.Fprintf(stderr, "%s: %s\n", e.Field, e.Message(lng))
		} else {
			fmt.Fprintln(stderr, e.Message(lng))
		}
	}
	return exitError{code: 1, msg: fmt.Sprintf("未导入：%d 处错误 / not imported: %d errors", len(l), len(l))}
}

// withApplications completes the catalogue for serve: the entity's holdings come from the
// licence library (the business licence and every permit), and a submitted application is
// recorded through the sharing service on behalf of the portal (an archive receipt for each
// fetched licence, a data check for each checked one, each a use of the licence) and as a
// service record (办件记录) in the library.
func withApplications(ap *app, lib *library.Service, share *sharing.Service) *catalog.Service {
	c := catalog.Config{Store: ap.db, BusinessLicenceType: ap.licenses.TypeCode(), Clock: ap.clock}
	if ap.identity != nil {
		c.Authorizer = identityAuthorizer{ap.identity, ap.clock}
		c.Holdings = libraryHoldings{ls: ap.licenses, lib: lib, clock: ap.clock}
		c.Recorder = caseRecorder{lib: lib, share: share, clients: ap.db}
	}
	return catalog.NewService(c)
}

// libraryHoldings gives every licence an entity holds: its business licence and its permits.
// Fetching a file needs the entity's consent (Public is false): the applicant gives it on the
// spot.
type libraryHoldings struct {
	ls    *license.Service
	lib   *library.Service
	clock func() time.Time
}

func (h libraryHoldings) Holdings(ctx context.Context, code string) ([]catalog.Held, error) {
	var out []catalog.Held
	l, err := h.ls.Get(ctx, code)
	switch {
	case err == nil:
		out = append(out, catalog.Held{TypeCode: h.ls.TypeCode(), Identifier: l.Identifier, Status: string(l.Status)})
	case !errs.Is(err, errs.NotFound):
		return nil, err
	}
	ps, err := h.lib.ByHolder(ctx, code, "", "")
	if err != nil && !errs.Is(err, errs.NotFound) {
		return nil, err
	}
	now := h.clock()
	for _, p := range ps {
		held := catalog.Held{TypeCode: p.TypeCode, Identifier: p.Identifier, Status: string(p.State(now))}
		if p.ValidUntil != "" {
			if t, err := time.ParseInLocation("2006-01-02", p.ValidUntil, time.FixedZone("CST", 8*3600)); err == nil {
				held.ValidUntil = t.AddDate(0, 0, 1) // the last day is included
			}
		}
		out = append(out, held)
	}
	return out, nil
}

// caseRecorder records a submitted application.
type caseRecorder struct {
	lib     *library.Service
	share   *sharing.Service
	clients interface {
		OIDCClient(ctx context.Context, id string) (*oidc.Client, error)
	}
}

func (r caseRecorder) RecordApplication(ctx context.Context, a *catalog.Application) error {
	if a.Channel == "" {
		return errs.New(errs.Invalid, "", "办件须经接入平台的门户提交", "an application must come through a connected portal")
	}
	client, err := r.clients.OIDCClient(ctx, a.Channel)
	if err != nil {
		return fmt.Errorf("portal %s: %w", a.Channel, err)
	}
	// The portal acts as its department's system, within the permissions an operator gave it.
	caller := &sharing.Caller{ClientID: a.Channel, Scopes: []string{oidc.ScopeSharingQuery, oidc.ScopeSharingArchive}}
	cause := []rune("办理事项：" + a.Item.Name)
	if len(cause) > sharing.MaxCause {
		cause = cause[:sharing.MaxCause]
	}
	p := sharing.Purpose{Cause: string(cause), Item: a.Item.Code, Case: a.Case}
	var used []string
	for _, m := range a.Materials {
		if m.Identifier == "" || !m.FromLibrary() {
			continue
		}
		switch m.State {
		case catalog.Fetched:
			if _, err := r.share.Archive(ctx, caller, p, m.Identifier); err != nil {
				return errs.WithField(err, "materials."+m.Material)
			}
		case catalog.Checked:
			if _, err := r.share.Query(ctx, caller, p, m.Identifier); err != nil {
				return errs.WithField(err, "materials."+m.Material)
			}
		}
		used = append(used, m.Identifier)
	}
	mats, _ := json.Marshal(a.Materials)
	_, err = r.lib.RecordService(ctx, library.Record{ID: a.ID, HolderCode: a.EntityCode, Item: a.Item.Code, ItemName: a.Item.Name,
		Case: a.Case, Department: a.Channel, DepartmentName: client.Name, At: a.SubmittedAt, Licences: used, Materials: mats})
	if errs.Is(err, errs.Conflict) {
		return nil // recorded by an earlier try
	}
	return err
}
