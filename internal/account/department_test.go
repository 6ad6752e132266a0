package account_test

import (
	"context"
	"testing"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/errs"
)

func TestCreateDepartment(t *testing.T) {
	ctx := context.Background()
	svc := account.NewService(newMemStore(), nil)
	a, err := svc.CreateDepartment(ctx, "Bank-Teller", "柜员 李娜", "correct horse battery", " dept-bank-01 ")
	if err != nil {
		t.Fatal(err)
	}
	if a.Role != account.Department || a.Client != "dept-bank-01" || a.Authority != "" || a.Username != "bank-teller" {
		t.Errorf("account: %+v", a)
	}
	got, err := svc.Login(ctx, "bank-teller", "correct horse battery")
	if err != nil || got.Client != "dept-bank-01" {
		t.Errorf("login: %+v %v", got, err)
	}
	for _, tt := range []struct{ client, field string }{
		{"", "client"},
		{"has space", "client"},
		{string(make([]byte, 200)), "client"},
	} {
		_, err := svc.CreateDepartment(ctx, "teller2", "", "correct horse battery", tt.client)
		if e := errs.As(err); e == nil || e.Field != tt.field {
			t.Errorf("client %q: %v, want an error naming %s", tt.client, err, tt.field)
		}
	}
	// Create with the department role needs a client too.
	if _, err := svc.Create(ctx, "teller3", "", "correct horse battery", account.Department, ""); !errs.Is(err, errs.Invalid) {
		t.Errorf("Create without a client: %v", err)
	}
}
