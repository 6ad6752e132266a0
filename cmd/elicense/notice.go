package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/notice"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/sharing"
)

// noticeTokens authenticates departments' systems for the change notices as the sharing
// service does (client-credentials tokens only).
func noticeTokens(share *sharing.Service) notice.Authenticator {
	return func(ctx context.Context, token string) (string, []string, error) {
		c, err := share.Authenticate(ctx, token)
		if err != nil {
			return "", nil, err
		}
		return c.ClientID, c.Scopes, nil
	}
}

// createDepartment makes a department account (`elicense account add --role department --client
// ID`) for the department console: the client must be a registered OpenID Connect client with
// the client-credentials grant, whose sharing permissions the account then uses.
func createDepartment(ctx context.Context, ap *app, username, display, password, authority, clientID string) (*account.Account, error) {
	clientID = strings.TrimSpace(clientID)
	if authority != "" {
		return nil, errs.New(errs.Invalid, "authority", "部门账户不属于任何登记机关", "a department account belongs to no registering authority")
	}
	if clientID != "" {
		c, err := ap.db.OIDCClient(ctx, clientID)
		switch {
		case errs.Is(err, errs.NotFound):
			return nil, errs.Invalidf("client", "没有客户端 %s（先用 elicense client add 登记部门系统）",
				"there is no client %s (register the department's system with elicense client add first)", clientID)
		case err != nil:
			return nil, fmt.Errorf("client %s: %w", clientID, err)
		case !c.HasGrant(oidc.GrantClientCredentials):
			return nil, errs.Invalidf("client", "客户端 %s 未登记 client_credentials 授权方式", "client %s is not registered for the client_credentials grant", clientID)
		}
	}
	return ap.accounts.CreateDepartment(ctx, username, display, password, clientID)
}
