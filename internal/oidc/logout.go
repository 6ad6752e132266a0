package oidc

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/elicense/elicense/internal/identity"
)

var _ identity.SessionRevoker = (*Provider)(nil)

// RevokeFor ends at once every SSO session, refresh-token family and access token in which
// personID acts for entityCode, and notifies the portals of the ended sessions by
// back-channel logout (identity calls it when a grant or appointment is revoked, or a new
// holder claims the licence).
func (p *Provider) RevokeFor(ctx context.Context, personID, entityCode string) error {
	if personID == "" || entityCode == "" {
		return fmt.Errorf("oidc: revoke: person and entity are required")
	}
	_, err := p.revoke(ctx, Revocation{PersonID: personID, EntityCode: entityCode})
	return err
}

// RevokeDevice ends every SSO session and token whose login the device confirmed (identity
// calls it when a device is removed).
func (p *Provider) RevokeDevice(ctx context.Context, personID, deviceID string) error {
	if personID == "" || deviceID == "" {
		return fmt.Errorf("oidc: revoke: person and device are required")
	}
	_, err := p.revoke(ctx, Revocation{PersonID: personID, DeviceID: deviceID})
	return err
}

// revoke ends what r selects and sends the back-channel logout tokens of the ended sessions.
func (p *Provider) revoke(ctx context.Context, r Revocation) ([]*EndedSession, error) {
	ended, err := p.st.Revoke(ctx, r, p.now())
	if err != nil {
		return nil, fmt.Errorf("oidc: revoke: %w", err)
	}
	if len(ended) > 0 {
		p.notify(context.WithoutCancel(ctx), ended)
	}
	return ended, nil
}

// notify delivers a logout token to every portal of the ended sessions that registered a
// back-channel logout URI (OpenID Connect Back-Channel Logout 1.0), in parallel, each with
// LogoutTimeout. A failure is logged: the session is ended on the platform regardless, and
// the portal's own session expires with its tokens.
func (p *Provider) notify(ctx context.Context, ended []*EndedSession) {
	ctx, cancel := context.WithTimeout(ctx, LogoutTimeout+time.Second)
	defer cancel()
	clients := map[string]*Client{}
	var wg sync.WaitGroup
	for _, e := range ended {
		for _, sc := range e.Clients {
			c, ok := clients[sc.ClientID]
			if !ok {
				var err error
				if c, err = p.loadClient(ctx, sc.ClientID); err != nil {
					p.log.Warn("oidc: back-channel logout: load client", "client", sc.ClientID, "error", err)
				}
				clients[sc.ClientID] = c
			}
			if c == nil || c.BackchannelLogoutURI == "" {
				continue
			}
			wg.Add(1)
			go func(c *Client, sub, sid string) {
				defer wg.Done()
				if err := p.sendLogout(ctx, c, sub, sid); err != nil {
					p.log.Warn("oidc: back-channel logout failed", "client", c.ID, "uri", c.BackchannelLogoutURI, "sid", sid, "error", err)
					return
				}
				p.log.Info("oidc: back-channel logout delivered", "client", c.ID, "sid", sid)
			}(c, sc.Subject, e.Session.ID)
		}
	}
	wg.Wait()
}

// sendLogout posts one logout token: iss, aud (the client), iat, exp, jti, sid, sub and the
// back-channel logout event, signed like ID tokens, typ logout+jwt.
func (p *Provider) sendLogout(ctx context.Context, c *Client, sub, sid string) error {
	now := time.Now().UTC()
	claims := oidc.NewLogoutTokenClaims(p.issuer, sub, oidc.Audience{c.ID}, now.Add(2*time.Minute), rand.Text(), sid, 0)
	token, err := p.key.sign(claims, "logout+jwt")
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BackchannelLogoutURI,
		strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("the portal answered %s", resp.Status)
	}
	return nil
}
