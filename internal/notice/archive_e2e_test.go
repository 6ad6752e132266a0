package notice_test

import (
	"context"
	"errors"
	"testing"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/notice"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/sharing"
	"github.com/elicense/elicense/internal/sharing/permit"
)

// noCopies is the copier of a platform that serves no downloads in the test.
type noCopies struct{}

func (noCopies) Copy(context.Context, *license.Licence, string, sharing.CopyMark) ([]byte, error) {
	return nil, errors.New("no downloads in this test")
}

// TestArchiveFollows: a department that archives a licence over the sharing API (POST
// /api/v1/sharing/archive, with its purpose) follows the entity, as cmd/elicense wires it, so
// its webhook subscribed with archived: true receives the entity's later changes; an entity it
// did not archive is not delivered, and a refused archive follows nothing.
func TestArchiveFollows(t *testing.T) {
	p := newPlatform(t)
	signer, cert, err := p.env.Keys.PlatformSigner(p.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.share.EnableConsent(sharing.ConsentConfig{Store: p.env.DB, People: p.env.Identity, Copier: noCopies{},
		Events: p.env.Audit, Signer: signer, CertDER: cert}); err != nil {
		t.Fatal(err)
	}
	p.share.SetFollower(p.svc)
	archived, other, refused := p.issue(1), p.issue(2), p.issue(3)
	id, token := p.client("某银行开户系统", oidc.ScopeSharingArchive, oidc.ScopeSharingQuery)
	if err := p.env.DB.SetSharingPermission(p.ctx, &permit.Permission{ClientID: id, TypeCode: p.env.Licenses.TypeCode(),
		Operations: []permit.Operation{permit.Query, permit.Archive}, GrantedBy: "test", GrantedAt: p.env.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	_, noArchive := p.client("某税务系统", oidc.ScopeSharingQuery) // the archive scope is missing
	rc := p.receiver()
	if _, err := p.svc.CreateSubscription(p.ctx, &notice.Caller{ClientID: id}, notice.SubscriptionRequest{URL: rc.URL, Archived: true}); err != nil {
		t.Fatal(err)
	}
	purpose := `"use_cause":"开立对公账户，留存营业执照","service_item":"BANK-OPEN-001","case_number":"AC-2026-001"`
	if status, body := p.call("POST", "/api/v1/sharing/archive", token, `{`+purpose+`,"identifier":"`+archived.Identifier+`"}`); status != 200 {
		t.Fatalf("archive: %d %s", status, body)
	}
	if status, _ := p.call("POST", "/api/v1/sharing/archive", token, `{"identifier":"`+other.Identifier+`"}`); status != 400 {
		t.Errorf("archive without a purpose: %d", status)
	}
	if status, _ := p.call("POST", "/api/v1/sharing/archive", noArchive, `{`+purpose+`,"identifier":"`+refused.Identifier+`"}`); status != 403 {
		t.Errorf("archive without the scope: %d", status)
	}
	evs, err := p.env.Audit.Find(p.ctx, audit.Filter{ActionPrefix: "notice.follow"})
	if err != nil || len(evs) != 1 || evs[0].Actor != id || evs[0].Subject != archived.Code {
		t.Fatalf("follows: %+v %v", evs, err)
	}
	for _, code := range []string{archived.Code, other.Code, refused.Code} {
		p.setStatus(code, license.Suspend)
	}
	p.drain()
	got := rc.notices()
	if len(got) != 1 || got[0].EntityCode != archived.Code || got[0].Event != notice.Suspended {
		t.Errorf("received %+v, want the suspension of the archived entity only", got)
	}
}
