package catalog

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/uscc"
)

// Applications (办件): an entity, through a person acting for it, applies for a service item. At
// the start the platform matches the item's materials against the licences the entity holds;
// at submission the entity authorises fetching the files that need it, uploads what is still
// missing, and the case is recorded in the licence library with the licences it used.

// Holdings gives the licences an entity holds: the business licence and every other licence of
// the library, with their statuses (the licence library implements it).
type Holdings interface {
	Holdings(ctx context.Context, entityCode string) ([]Held, error)
}

// Authorizer decides whether a person may apply for a service item for an entity, and in which
// role ("holder", "administrator" or "agent"), with the contract of identity.Service.CanAct:
// the entity's licence must be active; the holder and administrators may apply for any item; an
// agent only for the items of a grant in force (or all business); itemCode "" asks whether the
// person may act for the entity at all. Refusals are errs.Forbidden with the reason.
type Authorizer interface {
	Authorize(ctx context.Context, personID, entityCode, itemCode string) (role string, err error)
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(ctx context.Context, personID, entityCode, itemCode string) (string, error)

// Authorize calls f.
func (f AuthorizerFunc) Authorize(ctx context.Context, personID, entityCode, itemCode string) (string, error) {
	return f(ctx, personID, entityCode, itemCode)
}

// Recorder records a submitted application: a service record (办件记录) in the licence library
// with the item, case number and department, the files fetched into the case and the data
// checks made, each recorded as a use of its licence (用证记录). It is called before the
// application is marked submitted and may be called again for the same application (a retry
// after a failure), so it must be idempotent by Application.ID.
type Recorder interface {
	RecordApplication(ctx context.Context, a *Application) error
}

// AppStatus is the status of an application.
type AppStatus string

// The statuses of an application.
const (
	Draft     AppStatus = "draft"
	Submitted AppStatus = "submitted"
)

// Application is one case (办件) of a service item for an entity.
type Application struct {
	ID         string `json:"id"`
	Item       Item   `json:"item"` // the item as it was when the application started
	EntityCode string `json:"entity_code"`
	PersonID   string `json:"person_id"` // who applies for the entity
	Role       string `json:"role"`      // holder, administrator or agent
	// Channel is the portal (OpenID Connect client) the application was made through; only it
	// sees the application ("" for the platform's own pages).
	Channel string    `json:"channel,omitempty"`
	Case    string    `json:"case_number"`
	Status  AppStatus `json:"status"`
	// Materials are the item's materials as the library satisfies them: at the start, what the
	// entity will see; once submitted, what was used, consented to and uploaded.
	Materials []Satisfaction `json:"materials"`
	// NotAsked counts the materials satisfied from the library (NotAsked): at the start a
	// forecast, once submitted the figure the once-only counter adds up.
	NotAsked    int       `json:"not_asked"`
	CreatedAt   time.Time `json:"created_at"`
	SubmittedAt time.Time `json:"submitted_at,omitzero"`
}

// Submission is what the applicant gives when submitting.
type Submission struct {
	// Consent lists the materials (codes) whose files the entity authorises fetching now.
	Consent []string `json:"consent,omitempty"`
	// Uploads maps a material code to the SM3 hash (64 hex digits) of the file uploaded for it:
	// documents, licences not held, and licences whose file the entity would rather upload than
	// authorise fetching.
	Uploads map[string]string `json:"uploads,omitempty"`
}

// Actions of the audit log. The data of both events carries item, scenario, region and
// not_asked; the statistics count materials not asked for from catalog.apply.submit only.
const (
	ActionStart  = "catalog.apply.start"
	ActionSubmit = "catalog.apply.submit"
)

func personActor(personID string) string { return "person:" + personID }

func (s *Service) ready() error {
	if s.c.Holdings == nil || s.c.Authorizer == nil || s.c.Recorder == nil {
		return errs.New(errs.Unavailable, "", "本平台未启用在线办件", "applications are not enabled on this platform")
	}
	return nil
}

// newCase makes a case number (办件编号): the day in China and 10 random characters, within
// sharing's case-number alphabet.
func newCase(now time.Time) string {
	return "BJ" + now.In(time.FixedZone("UTC+8", 8*3600)).Format("20060102") + "-" + rand.Text()[:10]
}

// Start begins an application of the item for the entity by the person: the person must be
// allowed to apply for the item (Authorizer), and the item's materials are matched against the
// entity's licences. The draft is stored and catalog.apply.start recorded.
func (s *Service) Start(ctx context.Context, personID, itemCode, entityCode string) (*Application, error) {
	return s.StartVia(ctx, "", personID, itemCode, entityCode)
}

// StartVia is Start through a portal: channel is the portal's client ID, recorded on the
// application and in its audit events (the department dimension of the statistics).
func (s *Service) StartVia(ctx context.Context, channel, personID, itemCode, entityCode string) (*Application, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	code := uscc.Normalize(entityCode)
	if code == "" {
		return nil, errs.New(errs.Invalid, "entity", "请选择办理的市场主体", "choose the entity to apply for")
	}
	it, err := s.Item(ctx, itemCode)
	if err != nil {
		return nil, errs.WithField(err, "item")
	}
	role, err := s.c.Authorizer.Authorize(ctx, personID, code, it.Code)
	if err != nil {
		return nil, err
	}
	held, err := s.c.Holdings.Holdings(ctx, code)
	if err != nil {
		return nil, fmt.Errorf("catalog: holdings of %s: %w", code, err)
	}
	now := s.now()
	sats := Match(it, held, now)
	a := &Application{ID: rand.Text(), Item: *it, EntityCode: code, PersonID: personID, Role: role, Channel: channel,
		Case: newCase(now), Status: Draft, Materials: sats, NotAsked: NotAsked(sats), CreatedAt: now}
	if err := s.c.Store.CreateApplication(ctx, a, s.event(ActionStart, a, nil)); err != nil {
		return nil, fmt.Errorf("catalog: start: %w", err)
	}
	return a, nil
}

// event is the audit event of an application step.
func (s *Service) event(action string, a *Application, extra map[string]any) audit.Event {
	data := map[string]any{"application": a.ID, "case_number": a.Case, "item": a.Item.Code,
		"scenario": a.Item.Scenario, "region": a.Item.Region, "department": a.Item.Department.Code,
		"role": a.Role, "not_asked": a.NotAsked, "channel": a.Channel}
	for k, v := range extra {
		data[k] = v
	}
	b, _ := json.Marshal(data) // strings and numbers always encode
	t := a.CreatedAt
	if action == ActionSubmit {
		t = a.SubmittedAt
	}
	return audit.Event{Time: t, Action: action, Actor: personActor(a.PersonID), Subject: a.EntityCode, Data: b}
}

var errNoApplication = errs.New(errs.NotFound, "application", "办件不存在", "no such application")

// own returns the application if personID started it; another person's is NotFound, so that
// application IDs reveal nothing.
func (s *Service) own(ctx context.Context, personID, id string) (*Application, error) {
	a, err := s.c.Store.Application(ctx, id)
	if errs.Is(err, errs.NotFound) || err == nil && a.PersonID != personID {
		return nil, errNoApplication
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: application %s: %w", id, err)
	}
	return a, nil
}

// Application returns an application the person started.
func (s *Service) Application(ctx context.Context, personID, id string) (*Application, error) {
	return s.own(ctx, personID, id)
}

// Applications lists an entity's applications, newest first, for a person who may act for it:
// the holder and administrators see all, an agent those they started.
func (s *Service) Applications(ctx context.Context, personID, entityCode string, limit int) ([]*Application, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	code := uscc.Normalize(entityCode)
	role, err := s.c.Authorizer.Authorize(ctx, personID, code, "")
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	as, err := s.c.Store.ApplicationsOf(ctx, code, limit)
	if err != nil {
		return nil, fmt.Errorf("catalog: applications of %s: %w", code, err)
	}
	if role == "agent" {
		out := as[:0]
		for _, a := range as {
			if a.PersonID == personID {
				out = append(out, a)
			}
		}
		as = out
	}
	return as, nil
}

// isSM3Hex reports whether s is 64 hex digits.
func isSM3Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Submit submits a draft the person started. The person must still be allowed to apply for the
// item; the materials are matched again against the entity's licences as they are now; the
// entity's consent turns a consent_needed material into fetched; every required material must be
// satisfied from the library or uploaded, and a licence held but not valid cannot be replaced
// by an upload. The Recorder records the case, then the application is marked submitted and
// catalog.apply.submit recorded with not_asked. Every problem of the submission is listed
// (errs.List naming consent[i], uploads.<code> or materials.<code>).
func (s *Service) Submit(ctx context.Context, personID, id string, sub Submission) (*Application, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	a, err := s.own(ctx, personID, id)
	if err != nil {
		return nil, err
	}
	if a.Status != Draft {
		return nil, errs.Conflictf("办件 %s 已提交", "the application %s was submitted already", a.Case)
	}
	if a.Role, err = s.c.Authorizer.Authorize(ctx, personID, a.EntityCode, a.Item.Code); err != nil {
		return nil, err
	}
	held, err := s.c.Holdings.Holdings(ctx, a.EntityCode)
	if err != nil {
		return nil, fmt.Errorf("catalog: holdings of %s: %w", a.EntityCode, err)
	}
	now := s.now()
	sats := Match(&a.Item, held, now)
	if err := apply(sats, sub); err != nil {
		return nil, err
	}
	a.Materials, a.NotAsked, a.Status, a.SubmittedAt = sats, NotAsked(sats), Submitted, now
	if err := s.c.Recorder.RecordApplication(ctx, a); err != nil {
		return nil, fmt.Errorf("catalog: record application %s: %w", a.ID, err)
	}
	var consented, uploaded int
	for i := range sats {
		if sats[i].Consented {
			consented++
		}
		if sats[i].Upload != "" {
			uploaded++
		}
	}
	ev := s.event(ActionSubmit, a, map[string]any{"consented": consented, "uploaded": uploaded, "materials": len(sats)})
	if err := s.c.Store.SubmitApplication(ctx, a, ev); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, errs.Conflictf("办件 %s 已提交", "the application %s was submitted already", a.Case)
		}
		return nil, fmt.Errorf("catalog: submit: %w", err)
	}
	return a, nil
}

// apply puts the consent and uploads of sub on sats and checks that every required material is
// satisfied.
func apply(sats []Satisfaction, sub Submission) error {
	var list errs.List
	index := make(map[string]int, len(sats))
	for i := range sats {
		index[sats[i].Material] = i
	}
	for k, c := range sub.Consent {
		i, ok := index[strings.TrimSpace(c)]
		switch {
		case !ok:
			list = append(list, errs.Invalidf(fmt.Sprintf("consent[%d]", k), "本事项没有材料 %q", "the item has no material %q", c))
		case sats[i].State == ConsentNeeded:
			// The licence may have become fetchable since the start: consent is then moot.
			sats[i].State, sats[i].Consented = Fetched, true
		}
	}
	for code, h := range sub.Uploads {
		field := "uploads." + code
		i, ok := index[code]
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case !ok:
			list = append(list, errs.Invalidf(field, "本事项没有材料 %q", "the item has no material %q", code))
			continue
		case !isSM3Hex(h):
			list = append(list, errs.New(errs.Invalid, field, "上传文件的 SM3 杂凑值应为 64 位十六进制数字", "the SM3 hash of an upload is 64 hex digits"))
			continue
		}
		st := &sats[i]
		switch {
		case st.FromLibrary():
			list = append(list, errs.Invalidf(field, "材料“%s”已由证照库提供，无需上传", "the material %q comes from the licence library; do not upload it", st.Name))
		case st.State == Missing && st.Reason != NotHeld:
			list = append(list, invalidLicence(field, st))
		default:
			st.Upload = h
		}
	}
	for i := range sats {
		st := &sats[i]
		if !st.Required || st.FromLibrary() || st.Upload != "" {
			continue
		}
		field := "materials." + st.Material
		switch {
		case st.State == ConsentNeeded:
			list = append(list, errs.Invalidf(field, "材料“%s”需要授权调取电子证照，或上传其复印件", "the material %q needs the entity's consent to fetch the licence, or an uploaded copy", st.Name))
		case st.State == Missing && st.Reason != NotHeld:
			if !hasField(list, "uploads."+st.Material) {
				list = append(list, invalidLicence(field, st))
			}
		default:
			list = append(list, errs.Invalidf(field, "请上传材料“%s”", "upload the material %q", st.Name))
		}
	}
	if len(list) > 0 {
		return list
	}
	return nil
}

func hasField(list errs.List, field string) bool {
	for _, e := range list {
		if e.Field == field {
			return true
		}
	}
	return false
}

// invalidLicence says that a held licence is not valid and cannot be replaced by an upload.
func invalidLicence(field string, st *Satisfaction) *errs.Error {
	if st.Reason == Expired {
		return errs.Invalidf(field, "证照“%s”（%s）已过有效期，不能以上传代替，请先办理延续", "the licence %q (%s) has expired and cannot be replaced by an upload; renew it first", st.Name, st.Identifier)
	}
	return errs.Invalidf(field, "证照“%s”（%s）当前无效（暂停、注销或吊销），不能以上传代替", "the licence %q (%s) is not valid (suspended, cancelled or revoked) and cannot be replaced by an upload", st.Name, st.Identifier)
}
