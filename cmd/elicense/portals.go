package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/elicense/elicense/internal/demo"
	"github.com/elicense/elicense/internal/demoportal"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/sharing"
)

// demoPortalSpec is one of the department portals `serve --demo` runs beside the platform
// (issue 6 item 3), so that a new user sees the whole chain: scan to log in → choose a service →
// the materials already there → submit.
type demoPortalSpec struct {
	key                            string
	name, nameEN, department, area string
	services                       []string
	offset                         int // port = the platform's port + offset
}

// The catalogue items the demo portals offer (the starter catalogue, internal/catalog).
const (
	itemBankAccount     = "bank.basic-account"       // 企业银行基本存款账户开立
	itemBankLoan        = "bank.sme-credit-loan"     // 小微企业信用贷款申请
	itemTaxRegistration = "tax.registration-confirm" // 新办纳税人税务登记信息确认
	itemTaxInvoice      = "tax.invoice-approval"     // 发票票种核定
)

var demoPortals = []demoPortalSpec{
	{key: "bank", name: "演示银行 · 企业开户", nameEN: "Demo Bank · business accounts", department: "演示商业银行杭州分行",
		area: "浙江省", services: []string{itemBankAccount, itemBankLoan}, offset: 1},
	{key: "tax", name: "演示电子税务局", nameEN: "Demo e-Tax Bureau", department: "国家税务总局演示市税务局",
		area: "浙江省", services: []string{itemTaxRegistration, itemTaxInvoice}, offset: 2},
}

// runningPortal is a started demo portal.
type runningPortal struct {
	name, url string
	srv       *http.Server
}

// startDemoPortals registers the demo portals as OpenID Connect clients (ID and secret derive
// from the master key, so every start finds the same registration), allows them the sharing
// operations the applications need, and serves them on the platform's port + 1, + 2 (any free
// port when the platform's port is 0). They stop when ctx ends.
func (a *app) startDemoPortals(ctx context.Context, addr net.Addr, publicURL string, share *sharing.Service, logger *slog.Logger) ([]runningPortal, error) {
	secret, err := a.demoSecret()
	if err != nil {
		return nil, err
	}
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return nil, errors.New("demo portals: the platform does not listen on TCP")
	}
	var out []runningPortal
	for _, p := range demoPortals {
		port := 0
		if tcp.Port != 0 {
			port = tcp.Port + p.offset
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(tcp.IP.String(), strconv.Itoa(port)))
		if err != nil {
			return nil, fmt.Errorf("demo portal %s: %w (start the platform with another --addr, or without --demo-portals)", p.key, err)
		}
		base := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
		mac := func(parts ...string) []byte {
			h := hmac.New(sha256.New, secret)
			for _, s := range parts {
				h.Write([]byte(s))
				h.Write([]byte{0})
			}
			return h.Sum(nil)
		}
		id := "demo-" + p.key + "-" + hex.EncodeToString(mac("portal-id", p.key, base))[:16]
		sec := "elcs_" + base64.RawURLEncoding.EncodeToString(mac("portal-secret", id))
		spec := oidc.ClientSpec{Name: p.name, Department: p.department, Region: p.area,
			RedirectURIs: []string{base + "/callback"}, PostLogoutRedirectURIs: []string{base + "/"},
			GrantTypes: []string{oidc.GrantAuthorizationCode, oidc.GrantClientCredentials}}
		if _, err := oidc.EnsureClient(ctx, a.db, id, sec, spec, "demo", a.clock()); err != nil {
			ln.Close()
			return nil, fmt.Errorf("demo portal %s: %w", p.key, err)
		}
		for _, t := range demoPortalTypes(a) {
			if _, err := share.Grant(ctx, "demo", sharing.Permission{ClientID: id, TypeCode: t,
				Operations: sharing.Operations()}); err != nil {
				ln.Close()
				return nil, fmt.Errorf("demo portal %s: permission for %s: %w", p.key, t, err)
			}
		}
		h, err := demoportal.New(demoportal.Config{Name: p.name, NameEN: p.nameEN, Department: p.department, Issuer: publicURL,
			ClientID: id, ClientSecret: sec, BaseURL: base, Services: p.services, Logger: logger})
		if err != nil {
			ln.Close()
			return nil, err
		}
		srv := &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		out = append(out, runningPortal{name: p.name, url: base, srv: srv})
	}
	go func() {
		<-ctx.Done()
		for _, p := range out {
			_ = p.srv.Close()
		}
	}()
	return out, nil
}

// demoPortalTypes are the licence types the demo portals may use: the business licence and the
// permit types of the demo's licence library.
func demoPortalTypes(a *app) []string {
	return []string{a.licenses.TypeCode(), demo.FoodTypeCode, demo.ConstructionTypeCode, demo.DischargeTypeCode}
}

func printPortals(w io.Writer, ps []runningPortal) {
	if len(ps) == 0 {
		return
	}
	fmt.Fprintln(w, "演示门户 demo portals (scan to log in with a demo holder's wallet, then apply):")
	for _, p := range ps {
		fmt.Fprintf(w, "  %-24s %s/\n", p.name, p.url)
	}
}
