package oidc

import (
	"context"
	"fmt"
	"time"

	"github.com/elicense/elicense/internal/errs"
)

// Kinds of rate-limited attempts (RFC 9700 §4.9; issue 4: "rate limits on PIN, code and
// login attempts"). PINs and one-time codes also have identity's own counters per PIN and
// per code; these limits are per client address, counted in the Store so that every process
// shares them.
const (
	LimitLoginQR     = "login-qr"     // login QR codes made (login page loads and refreshes)
	LimitWalletStart = "wallet-start" // one-time sign-in codes asked for
	LimitWalletCode  = "wallet-code"  // one-time codes entered
	LimitConfirm     = "confirm"      // scan-to-login confirmations (PIN or passkey)
)

// limits are the attempts allowed per address and window.
var limits = map[string]struct {
	n   int
	per time.Duration
}{
	LimitLoginQR:     {60, time.Minute},
	LimitWalletStart: {10, time.Minute},
	LimitWalletCode:  {30, time.Minute},
	LimitConfirm:     {30, time.Minute},
}

// Limit counts one attempt of kind from key (a client address) and refuses it with
// errs.TooMany beyond the limit of its window.
func (p *Provider) Limit(ctx context.Context, kind, key string) error {
	l, ok := limits[kind]
	if !ok {
		return fmt.Errorf("oidc: unknown rate limit %q", kind)
	}
	window := p.now().Truncate(l.per)
	n, err := p.st.CountHit(ctx, kind+":"+key, window)
	if err != nil {
		return fmt.Errorf("oidc: rate limit: %w", err)
	}
	if n > l.n {
		wait := window.Add(l.per).Sub(p.now()).Round(time.Second)
		secs := int(wait/time.Second) + 1
		return errs.New(errs.TooMany, "", fmt.Sprintf("尝试过于频繁，请 %d 秒后再试", secs), fmt.Sprintf("too many attempts; try again in %d seconds", secs))
	}
	return nil
}
