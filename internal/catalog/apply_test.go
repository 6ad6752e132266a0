package catalog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/catalog"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/oidc/oidctest"
)

// The application tests run the catalogue over the real store, licence service and identity
// service (oidctest wires them as cmd/elicense does): the Authorizer is identity.Service.CanAct
// itself. Only the licence library is stood in for, by holdings: the business licence comes from
// the licence service, other licences from the test.

// holdings is the entity's licences: its business licence as the licence service has it, and
// the permits the test gives.
type holdings struct {
	env     *oidctest.Env
	mu      sync.Mutex
	permits map[string][]catalog.Held
	public  bool // the business licence's file may be fetched without consent
}

func (h *holdings) Holdings(ctx context.Context, code string) ([]catalog.Held, error) {
	l, err := h.env.Licenses.Get(ctx, code)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]catalog.Held{{TypeCode: h.env.Licenses.TypeCode(), Identifier: l.Identifier, Status: string(l.Status),
		Public: h.public}}, h.permits[code]...), nil
}

// recorder keeps the applications recorded, by ID (idempotent, as the contract asks).
type recorder struct {
	mu    sync.Mutex
	byID  map[string]catalog.Application
	calls int
	fail  error
}

func (r *recorder) RecordApplication(_ context.Context, a *catalog.Application) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail != nil {
		return r.fail
	}
	r.byID[a.ID] = *a
	return nil
}

type world struct {
	ctx      context.Context
	env      *oidctest.Env
	svc      *catalog.Service
	held     *holdings
	rec      *recorder
	holder   *oidctest.Holder
	agentID  string
	outsider string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	env, err := oidctest.Open(ctx, oidctest.Options{Dir: t.TempDir(), Issuer: "http://localhost:8080"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	w := &world{ctx: ctx, env: env, held: &holdings{env: env, permits: map[string][]catalog.Held{}},
		rec: &recorder{byID: map[string]catalog.Application{}}}
	w.holder, err = env.Entity(ctx, 1, "张伟", oidctest.IDNumber("33010619850304123"), "13800000001", "258036")
	if err != nil {
		t.Fatal(err)
	}
	agent, err := env.Person(ctx, "李娜", oidctest.IDNumber("33010619900101123"), "13900001111")
	if err != nil {
		t.Fatal(err)
	}
	w.agentID = agent.Person.ID
	// The agent may apply for opening a bank account only.
	if _, err := env.Identity.GrantAgent(ctx, w.holder.PersonID, w.holder.Code, identity.AgentGrant{Name: "李娜",
		IDNumber: oidctest.IDNumber("33010619900101123"), Items: []string{"bank.basic-account"},
		Until: env.Clock.Now().Add(30 * 24 * time.Hour)}, identity.Proof{Method: identity.MethodPIN, PIN: w.holder.PIN}); err != nil {
		t.Fatal(err)
	}
	outsider, err := env.Person(ctx, "王强", oidctest.IDNumber("33010619700101123"), "13700002222")
	if err != nil {
		t.Fatal(err)
	}
	w.outsider = outsider.Person.ID
	authorize := catalog.AuthorizerFunc(func(ctx context.Context, personID, entityCode, item string) (string, error) {
		r, err := env.Identity.CanAct(ctx, personID, entityCode, item, env.Clock.Now())
		if err != nil {
			return "", err
		}
		return string(r.Kind), nil
	})
	w.svc = catalog.NewService(catalog.Config{Store: env.DB, BusinessLicenceType: env.Licenses.TypeCode(),
		Holdings: w.held, Authorizer: authorize, Recorder: w.rec, Clock: env.Clock.Now})
	if n, err := w.svc.LoadStarter(ctx, "test"); err != nil || n < 16 {
		t.Fatalf("starter: %d %v", n, err)
	}
	return w
}

func fieldsOf(err error) []string {
	var l errs.List
	if errors.As(err, &l) {
		var out []string
		for _, e := range l {
			out = append(out, e.Field)
		}
		return out
	}
	if e := errs.As(err); e != nil {
		return []string{e.Field}
	}
	return nil
}

const sm3a = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"

func TestLoadStarterIdempotent(t *testing.T) {
	w := newWorld(t)
	before, _ := w.env.Audit.Find(w.ctx, audit.Filter{ActionPrefix: "catalog.import"})
	if n, err := w.svc.LoadStarter(w.ctx, "test"); err != nil || n != 0 {
		t.Fatalf("second load: %d %v", n, err)
	}
	after, _ := w.env.Audit.Find(w.ctx, audit.Filter{ActionPrefix: "catalog.import"})
	if len(before) != 1 || len(after) != 1 {
		t.Errorf("import events %d then %d, want 1 and 1", len(before), len(after))
	}
}

func TestApplyHolder(t *testing.T) {
	w := newWorld(t)
	a, err := w.svc.Start(w.ctx, w.holder.PersonID, "bank.basic-account", strings.ToLower(w.holder.Code))
	if err != nil {
		t.Fatal(err)
	}
	if a.Role != "holder" || a.EntityCode != w.holder.Code || a.Status != catalog.Draft || a.Item.Code != "bank.basic-account" ||
		!strings.HasPrefix(a.Case, "BJ") {
		t.Errorf("application: %+v", a)
	}
	var states []catalog.State
	for _, m := range a.Materials {
		states = append(states, m.State)
	}
	// 营业执照 is held, but fetching its file needs consent; the ID and the form are uploaded.
	if !reflect.DeepEqual(states, []catalog.State{catalog.ConsentNeeded, catalog.ToUpload, catalog.ToUpload}) || a.NotAsked != 0 {
		t.Errorf("materials %v, not asked %d", states, a.NotAsked)
	}

	// Every problem of a submission is listed.
	_, err = w.svc.Submit(w.ctx, w.holder.PersonID, a.ID, catalog.Submission{Consent: []string{"nope"},
		Uploads: map[string]string{"account_application": "xyz"}})
	got := fieldsOf(err)
	slices.Sort(got)
	want := []string{"consent[0]", "materials.account_application", "materials.business_licence", "materials.legal_rep_id", "uploads.account_application"}
	if !reflect.DeepEqual(got, want) || !errs.Is(err, errs.Invalid) {
		t.Errorf("submission problems %q, want %q (%v)", got, want, err)
	}
	// Nobody else submits it; a person's application is hidden from others.
	if _, err := w.svc.Submit(w.ctx, w.agentID, a.ID, catalog.Submission{}); !errs.Is(err, errs.NotFound) {
		t.Errorf("another person submits: %v", err)
	}
	if w.rec.calls != 0 {
		t.Fatalf("recorded %d times before a valid submission", w.rec.calls)
	}

	w.env.Clock.Advance(time.Minute)
	done, err := w.svc.Submit(w.ctx, w.holder.PersonID, a.ID, catalog.Submission{Consent: []string{"business_licence"},
		Uploads: map[string]string{"legal_rep_id": sm3a, "account_application": strings.ToUpper(sm3a)}})
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != catalog.Submitted || done.NotAsked != 1 || !done.Materials[0].Consented || done.Materials[0].State != catalog.Fetched ||
		done.Materials[2].Upload != sm3a || done.SubmittedAt.IsZero() {
		t.Errorf("submitted: %+v", done)
	}
	if rec, ok := w.rec.byID[a.ID]; !ok || rec.Case != a.Case || rec.NotAsked != 1 {
		t.Errorf("recorded: %+v", rec)
	}
	stored, err := w.svc.Application(w.ctx, w.holder.PersonID, a.ID)
	if err != nil || !reflect.DeepEqual(stored, done) {
		t.Errorf("stored:\n%+v\n%+v (%v)", stored, done, err)
	}
	if _, err := w.svc.Submit(w.ctx, w.holder.PersonID, a.ID, catalog.Submission{}); !errs.Is(err, errs.Conflict) {
		t.Errorf("second submission: %v", err)
	}

	// The audit log has both steps, with the fields the statistics read.
	evs, err := w.env.Audit.Find(w.ctx, audit.Filter{ActionPrefix: "catalog.apply.", Subject: w.holder.Code})
	if err != nil || len(evs) != 2 {
		t.Fatalf("events %d %v", len(evs), err)
	}
	var data struct {
		Item     string `json:"item"`
		Scenario string `json:"scenario"`
		Region   string `json:"region"`
		NotAsked *int   `json:"not_asked"`
		Case     string `json:"case_number"`
	}
	if err := json.Unmarshal(evs[0].Data, &data); err != nil {
		t.Fatal(err)
	}
	if evs[0].Action != catalog.ActionSubmit || evs[0].Actor != "person:"+w.holder.PersonID || data.Item != "bank.basic-account" ||
		data.Scenario != "bank_account" || data.Region != "330100" || data.NotAsked == nil || *data.NotAsked != 1 || data.Case != a.Case {
		t.Errorf("submit event %s %s %s", evs[0].Action, evs[0].Actor, evs[0].Data)
	}
	if evs[1].Action != catalog.ActionStart || !bytes.Contains(evs[1].Data, []byte(`"not_asked":0`)) {
		t.Errorf("start event %s %s", evs[1].Action, evs[1].Data)
	}
}

func TestApplyChecksAndInvalidLicences(t *testing.T) {
	w := newWorld(t)
	now := w.env.Clock.Now()
	w.held.public = true
	w.held.permits[w.holder.Code] = []catalog.Held{
		{TypeCode: catalog.TypeFoodBusiness, Identifier: "FOOD-1", Status: "valid", ValidUntil: now.AddDate(1, 0, 0)},
		{TypeCode: catalog.TypePollutantDischarge, Identifier: "POL-1", Status: "revoked"},
	}
	// 发票票种核定: the business licence fetched, the food permit checked by data, the form uploaded.
	a, err := w.svc.Start(w.ctx, w.holder.PersonID, "tax.invoice-approval", w.holder.Code)
	if err != nil {
		t.Fatal(err)
	}
	if a.Materials[0].State != catalog.Fetched || a.Materials[1].State != catalog.Checked || a.Materials[1].Identifier != "FOOD-1" || a.NotAsked != 2 {
		t.Errorf("materials %+v", a.Materials)
	}
	// Uploading what the library provides is refused.
	_, err = w.svc.Submit(w.ctx, w.holder.PersonID, a.ID, catalog.Submission{Uploads: map[string]string{"food_business_permit": sm3a, "invoice_application": sm3a}})
	if got := fieldsOf(err); !reflect.DeepEqual(got, []string{"uploads.food_business_permit"}) {
		t.Errorf("upload of a library licence: %q", got)
	}
	// The permit was suspended meanwhile: the submission matches again and no longer counts it.
	w.held.permits[w.holder.Code][0].Status = "suspended"
	done, err := w.svc.Submit(w.ctx, w.holder.PersonID, a.ID, catalog.Submission{Uploads: map[string]string{"invoice_application": sm3a}})
	if err != nil {
		t.Fatal(err)
	}
	if done.NotAsked != 1 || done.Materials[1].State != catalog.Missing || done.Materials[1].Reason != catalog.NotValid {
		t.Errorf("after suspension: not asked %d, %+v", done.NotAsked, done.Materials[1])
	}

	// 排污许可证延续 needs the (revoked) permit: it cannot be replaced by an upload.
	b, err := w.svc.Start(w.ctx, w.holder.PersonID, "inv.pollutant-permit-renewal", w.holder.Code)
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.Submit(w.ctx, w.holder.PersonID, b.ID, catalog.Submission{Uploads: map[string]string{
		"pollutant_discharge_permit": sm3a, "renewal_application": sm3a, "monitoring_report": sm3a}})
	if got := fieldsOf(err); !reflect.DeepEqual(got, []string{"uploads.pollutant_discharge_permit"}) || !strings.Contains(err.Error(), "POL-1") {
		t.Errorf("revoked licence: %q %v", got, err)
	}

	// A failing recorder leaves the draft as it was, and a retry records and submits it.
	w.rec.fail = fmt.Errorf("library down")
	c, err := w.svc.Start(w.ctx, w.holder.PersonID, "market.annual-report", w.holder.Code)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Submit(w.ctx, w.holder.PersonID, c.ID, catalog.Submission{}); err == nil {
		t.Fatal("submitted although the recorder failed")
	}
	if got, _ := w.svc.Application(w.ctx, w.holder.PersonID, c.ID); got.Status != catalog.Draft {
		t.Errorf("status after a failed record: %s", got.Status)
	}
	w.rec.fail = nil
	if got, err := w.svc.Submit(w.ctx, w.holder.PersonID, c.ID, catalog.Submission{}); err != nil || got.NotAsked != 1 {
		t.Errorf("retry: %+v %v", got, err)
	}
}

func TestApplyAgentOnlyGrantedItems(t *testing.T) {
	w := newWorld(t)
	a, err := w.svc.Start(w.ctx, w.agentID, "bank.basic-account", w.holder.Code)
	if err != nil {
		t.Fatal(err)
	}
	if a.Role != "agent" {
		t.Errorf("role %s", a.Role)
	}
	// An item not granted is refused by identity's rule, with its reason.
	_, err = w.svc.Start(w.ctx, w.agentID, "tax.registration-confirm", w.holder.Code)
	if !errs.Is(err, errs.Forbidden) || !strings.Contains(err.Error(), "tax.registration-confirm") {
		t.Errorf("item not granted: %v", err)
	}
	// A person without any role for the entity.
	if _, err := w.svc.Start(w.ctx, w.outsider, "bank.basic-account", w.holder.Code); !errs.Is(err, errs.Forbidden) {
		t.Errorf("outsider: %v", err)
	}
	// The holder sees every application of the entity; the agent only theirs.
	if _, err := w.svc.Start(w.ctx, w.holder.PersonID, "tax.registration-confirm", w.holder.Code); err != nil {
		t.Fatal(err)
	}
	if as, err := w.svc.Applications(w.ctx, w.holder.PersonID, w.holder.Code, 0); err != nil || len(as) != 2 {
		t.Errorf("holder's list: %d %v", len(as), err)
	}
	if as, err := w.svc.Applications(w.ctx, w.agentID, w.holder.Code, 0); err != nil || len(as) != 1 || as[0].ID != a.ID {
		t.Errorf("agent's list: %+v %v", as, err)
	}
	// Unknown items and entities.
	if _, err := w.svc.Start(w.ctx, w.holder.PersonID, "no.such-item", w.holder.Code); !errs.Is(err, errs.NotFound) || errs.As(err).Field != "item" {
		t.Errorf("unknown item: %v", err)
	}
	if _, err := w.svc.Start(w.ctx, w.holder.PersonID, "bank.basic-account", ""); !errs.Is(err, errs.Invalid) {
		t.Errorf("no entity: %v", err)
	}
}

func TestImportAllOrNothing(t *testing.T) {
	w := newWorld(t)
	var buf bytes.Buffer
	if err := w.svc.Export(w.ctx, catalog.CSV, &buf); err != nil {
		t.Fatal(err)
	}
	exported := buf.String()
	// One new good item and one bad row: nothing is imported.
	lines := strings.Split(strings.TrimSuffix(exported, "\n"), "\n")
	good := strings.Replace(lines[1], lines[1][:strings.IndexByte(lines[1], ',')], "new.item", 1)
	bad := strings.Replace(lines[2], ",true,", ",maybe,", 1)
	file := lines[0] + "\n" + good + "\n" + bad + "\n"
	_, err := w.svc.ImportFile(w.ctx, "account:op", catalog.CSV, strings.NewReader(file))
	if got := fieldsOf(err); len(got) != 1 || !strings.HasPrefix(got[0], "row 3, column ") {
		t.Fatalf("bad row: %q %v", got, err)
	}
	if _, err := w.svc.Item(w.ctx, "new.item"); !errs.Is(err, errs.NotFound) {
		t.Errorf("the good row of a refused file was imported: %v", err)
	}
	// Importing the export changes nothing; exporting again gives the same bytes.
	res, err := w.svc.ImportFile(w.ctx, "account:op", catalog.CSV, strings.NewReader(exported))
	if err != nil || res.Created != 0 || res.Updated != res.Items || res.Items < 16 || len(res.Digest) != 64 {
		t.Fatalf("re-import: %+v %v", res, err)
	}
	buf.Reset()
	if err := w.svc.Export(w.ctx, catalog.CSV, &buf); err != nil || buf.String() != exported {
		t.Errorf("export after re-import differs (%v)", err)
	}
	var js bytes.Buffer
	if err := w.svc.Export(w.ctx, catalog.JSON, &js); err != nil {
		t.Fatal(err)
	}
	if res, err := w.svc.ImportFile(w.ctx, "account:op", catalog.JSON, &js); err != nil || res.Created != 0 {
		t.Errorf("JSON re-import: %+v %v", res, err)
	}
}
