package webtest

import (
	"context"
	"fmt"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/uscc"
)

// IssueCompanies registers an authority of 杭州市西湖区 with a registrar account and issues n
// company licences by it in batches of 1,000, as the bulk import does: the database the
// benchmarks measure against.
func (e *Env) IssueCompanies(ctx context.Context, n int) ([]*license.Licence, error) {
	authority, err := uscc.Generate('1', '1', "330106", "MB0A0001")
	if err != nil {
		return nil, err
	}
	if _, err := e.Authority(ctx, authority, "杭州市西湖区市场监督管理局", "330106"); err != nil {
		return nil, err
	}
	acct, _, err := e.Account(ctx, "bench", account.Registrar, authority)
	if err != nil {
		return nil, err
	}
	actor := license.Actor{ID: acct.ID, Authority: authority}
	lics := make([]*license.Licence, 0, n)
	for lo := 0; lo < n; lo += 1000 {
		hi := min(lo+1000, n)
		regs := make([]license.Registration, 0, hi-lo)
		for i := lo; i < hi; i++ {
			regs = append(regs, Registration(license.Company, Code(license.Company, "330106", i),
				fmt.Sprintf("杭州基准%06d科技有限公司", i)))
		}
		res, err := e.Licenses.IssueBatch(ctx, actor, regs)
		if err != nil {
			return nil, err
		}
		for _, r := range res {
			if r.Outcome != license.Issued {
				return nil, fmt.Errorf("issue: %v", r.Err)
			}
			lics = append(lics, r.Licence)
		}
	}
	return lics, nil
}
