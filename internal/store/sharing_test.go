package store

import (
	"context"
	"testing"

	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/sharing/permit"
)

func TestSharingPermissions(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		now := d.clock.Now()
		c := &oidc.Client{ID: "dept1", AuthMethod: oidc.AuthSecretBasic, Name: "市场监管数据共享系统",
			GrantTypes: []string{oidc.GrantClientCredentials}, CreatedBy: "test", CreatedAt: now}
		if err := d.CreateOIDCClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		if ps, err := d.SharingPermissions(ctx, "dept1"); err != nil || len(ps) != 0 {
			t.Fatalf("no permissions yet: %+v %v", ps, err)
		}
		p := &permit.Permission{ClientID: "dept1", TypeCode: "T1", Operations: []permit.Operation{permit.Query}, GrantedBy: "a", GrantedAt: now}
		if err := d.SetSharingPermission(ctx, p); err != nil {
			t.Fatal(err)
		}
		// Replacing the permission of the same type, and another type.
		p.Operations, p.GrantedBy = []permit.Operation{permit.Query, permit.Verify}, "b"
		if err := d.SetSharingPermission(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := d.SetSharingPermission(ctx, &permit.Permission{ClientID: "dept1", TypeCode: "T2", GrantedBy: "a", GrantedAt: now}); err != nil {
			t.Fatal(err)
		}
		ps, err := d.SharingPermissions(ctx, "dept1")
		if err != nil || len(ps) != 2 {
			t.Fatalf("permissions: %+v %v", ps, err)
		}
		if ps[0].TypeCode != "T1" || !ps[0].Allows(permit.Verify) || ps[0].GrantedBy != "b" || !ps[0].GrantedAt.Equal(now) ||
			ps[1].TypeCode != "T2" || len(ps[1].Operations) != 0 {
			t.Errorf("permissions: %+v", ps)
		}
		// Only registered clients.
		if err := d.SetSharingPermission(ctx, &permit.Permission{ClientID: "nobody", TypeCode: "T1", GrantedAt: now}); err == nil {
			t.Error("permission of an unknown client stored")
		}
	})
}
