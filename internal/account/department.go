package account

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/errs"
)

// maxClientID bounds the OpenID Connect client ID a department account names.
const maxClientID = 128

// CreateDepartment creates the account of a department user (部门用证工作台). The account acts
// as its department's system, the OpenID Connect client clientID, whose sharing permissions
// decide what it may see; the caller checks that the client exists. Every invalid field is
// reported at once (errs.List); a taken username is errs.Conflict.
func (s *Service) CreateDepartment(ctx context.Context, username, displayName, password, clientID string) (*Account, error) {
	return s.create(ctx, username, displayName, password, Department, "", strings.TrimSpace(clientID))
}

// validateDepartment checks the organisation fields of a department account.
func validateDepartment(authority, client string) errs.List {
	var list errs.List
	if authority != "" {
		list = append(list, errs.New(errs.Invalid, "authority", "部门账户不属于任何登记机关", "a department account belongs to no registering authority"))
	}
	switch {
	case client == "":
		list = append(list, errs.New(errs.Invalid, "client", "部门账户需要填写本部门系统的客户端标识（client_id）",
			"a department account needs the client ID of its department's system"))
	case len(client) > maxClientID || !utf8.ValidString(client) || hasControl(client) || strings.ContainsAny(client, " \t"):
		list = append(list, errs.Invalidf("client", "客户端标识至多 %d 个字符，且不能含有空白或不可见字符",
			"the client ID must be at most %d characters, without spaces or control characters", maxClientID))
	}
	return list
}
