package web

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/catalog"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/oidc"
)

// Applications (办件) through a portal (issue 6 item 2). A portal that logged an entity in
// through the platform's OpenID Connect provider applies for a service item with the person's
// access token: the token says who acts (person, entity, role) and which portal asks (its
// client). The platform matches the item's materials against the licences it holds, takes the
// entity's consent given on the spot, records the uploads' SM3 hashes, and on submission
// archives the fetched licences and checks the others through the sharing service on behalf of
// the portal, and records the case in the licence library.

// maxApplyBody bounds a submission: uploaded materials travel base64-encoded.
const maxApplyBody = 24 << 20

// maxUploadFile is the largest uploaded material.
const maxUploadFile = 10 << 20

var errApplyOff = errs.New(errs.Unavailable, "", "本平台未启用在线办件", "applications are not enabled on this platform")

// applicant authenticates the person's access token of a portal.
func (s *server) applicant(r *http.Request) (*oidc.TokenInfo, error) {
	if s.OIDC == nil || s.Catalog == nil {
		return nil, errApplyOff
	}
	tok, ok := bearer(r)
	if !ok {
		return nil, errs.New(errs.Unauthenticated, "Authorization", "需要登录用户的访问令牌：Authorization: Bearer …",
			"the access token of the logged-in user is required: Authorization: Bearer …")
	}
	ti, err := s.OIDC.VerifyAccessToken(r.Context(), tok)
	if err != nil {
		return nil, err
	}
	if ti.Machine || ti.Login == nil {
		return nil, errs.New(errs.Unauthenticated, "Authorization", "办件需要企业登录后的访问令牌，不接受客户端凭证令牌",
			"an application needs the token of a logged-in entity, not a client-credentials token")
	}
	if !ti.HasScope(identity.ScopeEntity) {
		return nil, errs.Forbiddenf("访问令牌不含 %s 权限范围", "the access token lacks the %s scope", identity.ScopeEntity)
	}
	return ti, nil
}

// applicationJSON is an application as portals see it.
type applicationJSON struct {
	ID          string         `json:"id"`
	CaseNumber  string         `json:"case_number"`
	Status      string         `json:"status"`
	Item        applyItemJSON  `json:"item"`
	Entity      applyEntity    `json:"entity"`
	Role        string         `json:"role"`
	Materials   []materialJSON `json:"materials"`
	NotAsked    int            `json:"not_asked"`
	CreatedAt   time.Time      `json:"created_at"`
	SubmittedAt *time.Time     `json:"submitted_at,omitempty"`
	// RecordID is the service record (办件记录) of the licence library, once submitted.
	RecordID string `json:"record_id,omitempty"`
}

type applyItemJSON struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	NameEN     string `json:"name_en,omitempty"`
	Scenario   string `json:"scenario"`
	Department string `json:"department"`
}

type applyEntity struct {
	Code string `json:"code"`
	Name string `json:"name,omitempty"`
}

type materialJSON struct {
	Code        string       `json:"code"`
	Name        string       `json:"name"`
	NameEN      string       `json:"name_en,omitempty"`
	Required    bool         `json:"required"`
	Rule        string       `json:"rule"`
	Status      string       `json:"status"` // fetched, checked, consent_needed, missing, upload
	Reason      string       `json:"reason,omitempty"`
	Licence     *licenceJSON `json:"licence,omitempty"`
	Consented   bool         `json:"consented,omitempty"`
	UploadSM3   string       `json:"upload_sm3,omitempty"`
	LicenceType string       `json:"licence_type,omitempty"`
}

type licenceJSON struct {
	Identifier string `json:"identifier"`
	TypeCode   string `json:"type_code"`
	TypeName   string `json:"type_name,omitempty"`
}

func (s *server) applicationOut(r *http.Request, a *catalog.Application, ti *oidc.TokenInfo) applicationJSON {
	out := applicationJSON{ID: a.ID, CaseNumber: a.Case, Status: string(a.Status), Role: a.Role, NotAsked: a.NotAsked,
		CreatedAt: a.CreatedAt,
		Item: applyItemJSON{Code: a.Item.Code, Name: a.Item.Name, NameEN: a.Item.NameEN, Scenario: string(a.Item.Scenario),
			Department: a.Item.Department.Name},
		Entity: applyEntity{Code: a.EntityCode}}
	if n, ok := ti.Claims["entity_name"].(string); ok {
		out.Entity.Name = n
	}
	if a.Status == catalog.Submitted {
		t := a.SubmittedAt
		out.SubmittedAt, out.RecordID = &t, a.ID
	}
	for _, m := range a.Materials {
		mj := materialJSON{Code: m.Material, Name: m.Name, NameEN: m.NameEN, Required: m.Required, Rule: string(m.Rule),
			Status: string(m.State), Reason: m.Reason, Consented: m.Consented, UploadSM3: m.Upload, LicenceType: m.LicenceType}
		if m.Identifier != "" {
			mj.Licence = &licenceJSON{Identifier: m.Identifier, TypeCode: m.LicenceType, TypeName: s.typeName(r, m.LicenceType)}
		}
		out.Materials = append(out.Materials, mj)
	}
	return out
}

// typeName names a licence type for the caller, "" when unknown.
func (s *server) typeName(r *http.Request, code string) string {
	if code == s.Licenses.TypeCode() {
		return uiText("apply.business_licence", langOf(r))
	}
	if s.Library != nil {
		if t, err := s.Library.Type(r.Context(), code); err == nil {
			if langOf(r) == langEN && t.NameEN != "" {
				return t.NameEN
			}
			return t.Name
		}
	}
	return ""
}

// apiApplyStart answers POST /api/v1/applications: the logged-in person starts an application
// of a service item for the entity of the login, through the portal the token was issued to.
func (s *server) apiApplyStart(w http.ResponseWriter, r *http.Request) {
	ti, err := s.applicant(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	var req struct {
		Item string `json:"item"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.apiError(w, r, err)
		return
	}
	if strings.TrimSpace(req.Item) == "" {
		s.apiError(w, r, errs.New(errs.Invalid, "item", "请给出办理的事项编码", "give the code of the service item"))
		return
	}
	a, err := s.Catalog.StartVia(r.Context(), ti.ClientID, ti.Login.PersonID, req.Item, ti.Login.EntityCode)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.applicationOut(r, a, ti))
}

// ownApplication returns the application if the token's person started it through the
// token's portal; anything else is not found.
func (s *server) ownApplication(r *http.Request, ti *oidc.TokenInfo) (*catalog.Application, error) {
	a, err := s.Catalog.Application(r.Context(), ti.Login.PersonID, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if a.Channel != ti.ClientID || a.EntityCode != ti.Login.EntityCode {
		return nil, errs.New(errs.NotFound, "application", "办件不存在", "no such application")
	}
	return a, nil
}

// apiApplication answers GET /api/v1/applications/{id}.
func (s *server) apiApplication(w http.ResponseWriter, r *http.Request) {
	ti, err := s.applicant(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	a, err := s.ownApplication(r, ti)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.applicationOut(r, a, ti))
}

// applySubmit is the body of a submission.
type applySubmit struct {
	// Consent lists the materials whose licence files the entity authorises fetching now (用证授权
	// on the spot); only the holder and administrators may give it.
	Consent []string `json:"consent"`
	Uploads []struct {
		Material string `json:"material"`
		Name     string `json:"name"`
		Content  string `json:"content"` // base64
	} `json:"uploads"`
}

// apiApplySubmit answers POST /api/v1/applications/{id}/submit.
func (s *server) apiApplySubmit(w http.ResponseWriter, r *http.Request) {
	ti, err := s.applicant(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxApplyBody)
	var req applySubmit
	if err := decodeJSON(w, r, &req); err != nil {
		s.apiError(w, r, err)
		return
	}
	a, err := s.ownApplication(r, ti)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	if len(req.Consent) > 0 && ti.Login.Role == identity.RoleAgent {
		s.apiError(w, r, errs.New(errs.Forbidden, "consent", "办事人不能代企业授权调取证照，请由法定代表人或证照管理员授权",
			"an agent cannot authorise fetching the entity's licences; the holder or an administrator must"))
		return
	}
	sub := catalog.Submission{Consent: req.Consent, Uploads: map[string]string{}}
	var list errs.List
	for i, u := range req.Uploads {
		field := fmt.Sprintf("uploads[%d]", i)
		b, err := base64.StdEncoding.DecodeString(u.Content)
		switch {
		case err != nil:
			list = append(list, errs.New(errs.Invalid, field+".content", "上传文件内容应为 base64 编码", "the content of an upload must be base64"))
			continue
		case len(b) == 0:
			list = append(list, errs.New(errs.Invalid, field+".content", "上传的文件是空的", "the uploaded file is empty"))
			continue
		case len(b) > maxUploadFile:
			list = append(list, errs.Invalidf(field+".content", "上传的文件超过 %d MB", "the uploaded file exceeds %d MB", maxUploadFile>>20))
			continue
		}
		if _, dup := sub.Uploads[u.Material]; dup || !slices.ContainsFunc(a.Materials, func(m catalog.Satisfaction) bool { return m.Material == u.Material }) {
			list = append(list, errs.Invalidf(field+".material", "材料 %q 不属于本事项或重复上传", "the material %q is not one of the item's or was uploaded twice", u.Material))
			continue
		}
		h := gm.SM3(b)
		sub.Uploads[u.Material] = hex.EncodeToString(h[:])
	}
	if len(list) > 0 {
		s.apiError(w, r, list)
		return
	}
	a, err = s.Catalog.Submit(r.Context(), ti.Login.PersonID, a.ID, sub)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.applicationOut(r, a, ti))
}
