package identity

import (
	"context"
	"encoding/base32"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/license"
)

// The scopes a portal may ask for (docs/identity.md lists every claim of each).
const (
	ScopeOpenID       = "openid"        // sub (pairwise), acr, amr
	ScopeEntity       = "entity"        // the entity: credit code, code type, name, kind, status, licence identifier
	ScopeEntityPerson = "entity.person" // the acting person: masked name and role
	ScopeEntityGrants = "entity.grants" // for agents: the granted items and period
)

// Scopes lists the scopes identity defines, in the order of the documentation.
var Scopes = []string{ScopeOpenID, ScopeEntity, ScopeEntityPerson, ScopeEntityGrants}

// Claims are what ID tokens, userinfo and access tokens say about a login (issue 4 item 6).
// Fields a scope did not ask for are empty and omitted from JSON.
type Claims struct {
	Subject string   `json:"sub"` // pairwise per sector: the same person looks different to unrelated portals
	ACR     string   `json:"acr,omitempty"`
	AMR     []string `json:"amr,omitempty"`

	// ScopeEntity
	EntityCode     string         `json:"entity_code,omitempty"`      // 统一社会信用代码 (or legacy 注册号)
	EntityCodeType string         `json:"entity_code_type,omitempty"` // GB/T 36903: 001 USCC, 099 other
	EntityName     string         `json:"entity_name,omitempty"`      // 名称
	EntityKind     license.Kind   `json:"entity_kind,omitempty"`      // company, branch, partnership, …
	EntityStatus   license.Status `json:"entity_status,omitempty"`    // active, …
	LicenceID      string         `json:"licence_id,omitempty"`       // 电子证照标识 of the current version

	// ScopeEntityPerson
	PersonName string   `json:"person_name,omitempty"` // masked: 张*
	Role       RoleKind `json:"role,omitempty"`        // holder, administrator, agent

	// ScopeEntityGrants (agents only)
	GrantAll   *bool    `json:"grant_all,omitempty"`   // true: all business
	GrantItems []string `json:"grant_items,omitempty"` // service item codes when not all business
	GrantFrom  string   `json:"grant_from,omitempty"`  // RFC 3339, UTC
	GrantUntil string   `json:"grant_until,omitempty"` // RFC 3339, UTC; end of the period (exclusive)
}

// Custom returns the claims other than sub, acr and amr, keyed by their JSON names, for the
// OpenID Connect library to add to tokens and userinfo.
func (c *Claims) Custom() map[string]any {
	m := map[string]any{}
	add := func(k string, v any, present bool) {
		if present {
			m[k] = v
		}
	}
	add("entity_code", c.EntityCode, c.EntityCode != "")
	add("entity_code_type", c.EntityCodeType, c.EntityCodeType != "")
	add("entity_name", c.EntityName, c.EntityName != "")
	add("entity_kind", string(c.EntityKind), c.EntityKind != "")
	add("entity_status", string(c.EntityStatus), c.EntityStatus != "")
	add("licence_id", c.LicenceID, c.LicenceID != "")
	add("person_name", c.PersonName, c.PersonName != "")
	add("role", string(c.Role), c.Role != "")
	add("grant_all", c.GrantAll != nil && *c.GrantAll, c.GrantAll != nil)
	add("grant_items", c.GrantItems, len(c.GrantItems) > 0)
	add("grant_from", c.GrantFrom, c.GrantFrom != "")
	add("grant_until", c.GrantUntil, c.GrantUntil != "")
	return m
}

var subjectEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Subject returns the pairwise subject of a person for a client: base32 of
// HMAC-SM3(SubjectKey, sector ‖ 0x00 ‖ person ID), lower case (OpenID Connect Core §8.1),
// where the sector is client.SectorID or, when empty, the client ID.
func (s *Service) Subject(client Client, personID string) (string, error) {
	if len(s.subKey) == 0 {
		return "", errors.New("identity: no subject key configured")
	}
	sector := client.SectorID
	if sector == "" {
		sector = client.ID
	}
	mac := gm.HMACSM3(s.subKey, []byte(sector+"\x00"+personID))
	return strings.ToLower(subjectEncoding.EncodeToString(mac[:])), nil
}

// Claims builds the claims of a login for a client and the scopes granted to it. It checks
// again that the person may still act for the entity in the same role and grant (errs.Forbidden
// otherwise), so a token refresh or userinfo call after a revocation fails; the entity data
// are those of the current licence version.
func (s *Service) Claims(ctx context.Context, id *Identity, client Client, scopes []string) (*Claims, error) {
	sub, err := s.Subject(client, id.PersonID)
	if err != nil {
		return nil, err
	}
	c := &Claims{Subject: sub, ACR: id.ACR, AMR: id.AMR}
	want := func(scope string) bool { return slices.Contains(scopes, scope) }
	r, err := s.CanAct(ctx, id.PersonID, id.EntityCode, "", s.now())
	if err != nil {
		return nil, err
	}
	if r.Kind != id.Role || r.Grant != nil && r.Grant.ID != id.GrantID {
		return nil, errs.Forbiddenf("授权已变更，请重新登录", "the grant changed; log in again")
	}
	l := r.Licence
	if want(ScopeEntity) {
		c.EntityCode, c.EntityCodeType, c.EntityName = l.Code, l.CodeType, l.Face.Name
		c.EntityKind, c.EntityStatus, c.LicenceID = l.Kind, l.Status, l.Identifier
	}
	if want(ScopeEntityPerson) {
		p, err := s.person(ctx, id.PersonID)
		if err != nil {
			return nil, err
		}
		c.PersonName, c.Role = p.MaskedName(), r.Kind
	}
	if want(ScopeEntityGrants) && r.Kind == RoleAgent {
		all := r.Grant.AllItems
		c.GrantAll = &all
		if !all {
			c.GrantItems = slices.Clone(r.Grant.Items)
		}
		c.GrantFrom = r.Grant.ValidFrom.UTC().Format(time.RFC3339)
		c.GrantUntil = r.Grant.ValidUntil.UTC().Format(time.RFC3339)
	}
	return c, nil
}
