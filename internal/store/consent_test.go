package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/sharing/consent"
)

// The storage of authorisations, one-time downloads and archive receipts (migration
// 0008_consent) on both databases: round trips, compare-and-set transitions that let only one
// of two concurrent uses through, and paging.

func consentEv(action, subject string, at time.Time) audit.Event {
	return audit.Event{Time: at, Action: action, Actor: "test", Subject: subject, Data: []byte(`{}`)}
}

func TestConsentStorage(t *testing.T) {
	eachDB(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		now := d.clock.Now().Truncate(time.Microsecond)
		const entity = "91330106MA0000011X"
		standing := &consent.Consent{ID: "C1", Kind: consent.Standing, EntityCode: entity, ClientID: "dept", Items: []string{"A1"},
			Covers: []string{consent.All}, Status: consent.Active, CreatedBy: "person:p", CreatedAt: now, ValidUntil: now.Add(time.Hour)}
		code := &consent.Consent{ID: "C2", Kind: consent.Code, EntityCode: entity, Covers: []string{consent.All}, Status: consent.Active,
			CodeHash: []byte("hash-of-code"), CreatedBy: "person:p", CreatedAt: now.Add(time.Second), ValidUntil: now.Add(10 * time.Minute)}
		request := &consent.Consent{ID: "C3", Kind: consent.Case, EntityCode: entity, ClientID: "dept", Items: []string{"A1"}, CaseNumber: "K1",
			Cause: "核验", Covers: []string{consent.ItemCapital, consent.ItemDownload}, Status: consent.Pending, CreatedBy: "dept",
			CreatedAt: now.Add(2 * time.Second), ValidUntil: now.Add(24 * time.Hour)}
		for _, c := range []*consent.Consent{standing, code, request} {
			if err := d.AddConsent(ctx, c, consentEv("consent.test", entity, now)); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.AddConsent(ctx, standing, consentEv("consent.test", entity, now)); !errs.Is(err, errs.Conflict) {
			t.Errorf("duplicate ID: %v", err)
		}
		got, err := d.Consent(ctx, "C3")
		if err != nil || got.Kind != consent.Case || got.CaseNumber != "K1" || got.Cause != "核验" || !slices.Equal(got.Covers, request.Covers) ||
			!got.CreatedAt.Equal(request.CreatedAt) || !got.ValidUntil.Equal(request.ValidUntil) || got.CodeHash != nil || !got.UsedAt.IsZero() {
			t.Errorf("consent C3: %+v %v", got, err)
		}
		if _, err := d.Consent(ctx, "nope"); !errs.Is(err, errs.NotFound) {
			t.Errorf("unknown consent: %v", err)
		}
		if got, err := d.ConsentByCode(ctx, []byte("hash-of-code")); err != nil || got.ID != "C2" || len(got.Items) != 0 {
			t.Errorf("by code: %+v %v", got, err)
		}
		if _, err := d.ConsentByCode(ctx, []byte("other")); !errs.Is(err, errs.NotFound) {
			t.Errorf("unknown code: %v", err)
		}
		all, err := d.ConsentsFor(ctx, entity, 10)
		if err != nil || len(all) != 3 || all[0].ID != "C3" || all[2].ID != "C1" {
			t.Errorf("consents for the entity: %d %v", len(all), err)
		}
		// Only active, unexpired ones of this client.
		act, err := d.ActiveConsents(ctx, entity, "dept", now)
		if err != nil || len(act) != 1 || act[0].ID != "C1" {
			t.Errorf("active: %+v %v", act, err)
		}
		if act, _ := d.ActiveConsents(ctx, entity, "dept", now.Add(2*time.Hour)); len(act) != 0 {
			t.Errorf("expired standing consent still active: %+v", act)
		}

		// Pending requests (the wallet inbox): only the request, of the entities asked, before it expires.
		if p, err := d.PendingConsents(ctx, []string{"91330106MA0000022X", entity}, now); err != nil || len(p) != 1 || p[0].ID != "C3" {
			t.Errorf("pending: %+v %v", p, err)
		}
		if p, _ := d.PendingConsents(ctx, []string{entity}, now.Add(24*time.Hour)); len(p) != 0 {
			t.Errorf("expired request still pending: %+v", p)
		}
		if p, _ := d.PendingConsents(ctx, []string{"91330106MA0000022X"}, now); len(p) != 0 {
			t.Errorf("another entity's pending requests: %+v", p)
		}

		// Using the code: one of two concurrent uses wins.
		use := func(client string) error {
			c := *code
			c.ClientID, c.CaseNumber, c.UsedAt, c.ValidUntil = client, "K9", now, now.Add(time.Hour)
			return d.UpdateConsent(ctx, &c, consent.Active, true, consentEv("share.consent_code", entity, now))
		}
		errc := make(chan error, 2)
		for i := range 2 {
			go func() { errc <- use(fmt.Sprint("dept", i)) }()
		}
		e1, e2 := <-errc, <-errc
		if (e1 == nil) == (e2 == nil) || !errs.Is(e1, errs.Conflict) && !errs.Is(e2, errs.Conflict) {
			t.Errorf("two uses of one code: %v, %v", e1, e2)
		}
		if got, _ := d.ConsentByCode(ctx, []byte("hash-of-code")); got.UsedAt.IsZero() || got.CaseNumber != "K9" {
			t.Errorf("used code: %+v", got)
		}
		// Approving the request, then revoking it.
		r := *request
		r.Status, r.DecidedBy, r.DecidedAt = consent.Active, "person:p", now
		if err := d.UpdateConsent(ctx, &r, consent.Pending, false, consentEv("consent.approve", entity, now)); err != nil {
			t.Fatal(err)
		}
		if p, _ := d.PendingConsents(ctx, []string{entity}, now); len(p) != 0 {
			t.Errorf("approved request still pending: %+v", p)
		}
		if err := d.UpdateConsent(ctx, &r, consent.Pending, false, consentEv("consent.approve", entity, now)); !errs.Is(err, errs.Conflict) {
			t.Errorf("approving twice: %v", err)
		}
		r.Status, r.RevokedBy, r.RevokedAt = consent.Revoked, "person:p", now
		if err := d.UpdateConsent(ctx, &r, consent.Active, false, consentEv("consent.revoke", entity, now)); err != nil {
			t.Fatal(err)
		}
		if got, _ := d.Consent(ctx, "C3"); got.Status != consent.Revoked || !got.RevokedAt.Equal(now) || !got.DecidedAt.Equal(now) {
			t.Errorf("revoked: %+v", got)
		}

		// Downloads: used once, not after expiry.
		dl := &consent.Download{ID: "D1", TokenHash: []byte("token-hash"), ClientID: "dept", EntityCode: entity, Identifier: "ID.1",
			Format: "ofd", Cause: "核验", Item: "A1", CaseNumber: "K1", ConsentID: "C1", CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
		if err := d.AddDownload(ctx, dl, consentEv("share.download", entity, now)); err != nil {
			t.Fatal(err)
		}
		if got, err := d.Download(ctx, []byte("token-hash")); err != nil || got.ID != "D1" || got.Format != "ofd" || !got.ExpiresAt.Equal(dl.ExpiresAt) {
			t.Errorf("download: %+v %v", got, err)
		}
		if err := d.UseDownload(ctx, "D1", now.Add(10*time.Minute), consentEv("share.fetch", entity, now)); !errs.Is(err, errs.Conflict) {
			t.Errorf("use after expiry: %v", err)
		}
		for i := range 2 {
			go func() {
				errc <- d.UseDownload(ctx, "D1", now.Add(time.Minute+time.Duration(i)), consentEv("share.fetch", entity, now))
			}()
		}
		e1, e2 = <-errc, <-errc
		if (e1 == nil) == (e2 == nil) {
			t.Errorf("two fetches of one URL: %v, %v", e1, e2)
		}
		if got, _ := d.Download(ctx, []byte("token-hash")); got.UsedAt.IsZero() {
			t.Error("download not marked used")
		}

		// Archive receipts, paged newest first.
		for i := range 5 {
			a := &consent.Archive{ReceiptID: fmt.Sprintf("AR%d", i), ClientID: "dept", EntityCode: entity, Identifier: "ID.1", Version: 1,
				DocumentSM3: "ab", Cause: "存档", Item: "A1", CaseNumber: "K1", ArchivedAt: now.Add(time.Duration(i/2) * time.Second),
				Signature: []byte{1, 2, 3}, CertSerial: "01"}
			if err := d.AddArchive(ctx, a, consentEv("share.archive", entity, now)); err != nil {
				t.Fatal(err)
			}
		}
		var ids []string
		cursor := ""
		for range 4 {
			page, next, err := d.Archives(ctx, "dept", cursor, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range page {
				ids = append(ids, a.ReceiptID)
			}
			if cursor = next; next == "" {
				break
			}
		}
		if fmt.Sprint(ids) != "[AR4 AR3 AR2 AR1 AR0]" {
			t.Errorf("archive pages: %v", ids)
		}
		if page, _, _ := d.Archives(ctx, "other", "", 10); len(page) != 0 {
			t.Errorf("another client's archive: %v", page)
		}
		if _, _, err := d.Archives(ctx, "dept", "garbage", 10); !errs.Is(err, errs.Invalid) {
			t.Errorf("bad cursor: %v", err)
		}
		if a, err := d.Archive(ctx, "AR3"); err != nil || a.Version != 1 || string(a.Signature) != "\x01\x02\x03" {
			t.Errorf("receipt: %+v %v", a, err)
		}
		// Every change wrote its audit event.
		evs, err := d.FindEvents(ctx, audit.Filter{Subject: entity, Limit: 100})
		if err != nil || len(evs) != 3+1+2+1+1+5 {
			t.Errorf("%d audit events, %v", len(evs), err)
		}
	})
}
