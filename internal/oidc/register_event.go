package oidc

import (
	"encoding/json"

	"github.com/elicense/elicense/internal/audit"
)

// RegistrationEvent is the audit event that records the registration of c (action
// "oidc.client_register", subject the client ID, actor who registered it). The store appends it
// in the transaction that stores the client, so that the statistics count the portals and
// departments' systems connected from the log (package stats). It carries no secret.
func (c *Client) RegistrationEvent() audit.Event {
	data, _ := json.Marshal(struct { // strings and string slices always encode
		Name        string   `json:"name"`
		Department  string   `json:"department,omitempty"`
		Region      string   `json:"region,omitempty"`
		GrantTypes  []string `json:"grant_types"`
		AuthMethod  string   `json:"auth_method"`
		RedirectURI []string `json:"redirect_uris,omitempty"`
	}{c.Name, c.Department, c.Region, c.GrantTypes, c.AuthMethod, c.RedirectURIs})
	return audit.Event{Time: c.CreatedAt, Action: "oidc.client_register", Actor: c.CreatedBy, Subject: c.ID, Data: data}
}
