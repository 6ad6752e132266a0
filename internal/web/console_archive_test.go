package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/sharing"
	"github.com/elicense/elicense/internal/web/webtest"
)

// originalCopier renders the original document for downloads, as cmd/elicense's adapter does
// until watermarked copies exist.
type originalCopier struct{ docs *document.Service }

func (c originalCopier) Copy(ctx context.Context, l *license.Licence, format string, _ sharing.CopyMark) ([]byte, error) {
	f := document.OFD
	if format == "pdf" {
		f = document.PDF
	}
	return c.docs.Render(ctx, l, document.Options{Format: f})
}

// enableConsent gives the sharing service of a test consent, downloads and archive receipts,
// signed with the platform key, as cmd/elicense does.
func enableConsent(t testing.TB, env *webtest.Env, share *sharing.Service) {
	t.Helper()
	signer, cert, err := env.Keys.PlatformSigner(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	people := identity.NewService(identity.Config{Store: env.DB, Licences: env.DB, Clock: env.Clock.Now})
	if err := share.EnableConsent(sharing.ConsentConfig{Store: env.DB, People: people, Copier: originalCopier{env.Documents},
		Events: env.Audit, Signer: signer, CertDER: cert}); err != nil {
		t.Fatal(err)
	}
}

// TestConsoleArchive archives from the look-up page with its purpose, finds the receipt in
// "my archive" (signature checked with the platform key), verifies it there and as pasted JSON
// (a tampered copy fails), and checks that the department now follows the entity.
func TestConsoleArchive(t *testing.T) {
	cf := newConsoleFixture(t)
	srv := httptest.NewServer(cf.h)
	defer srv.Close()
	ctx := context.Background()
	b := newBrowserClient(t, srv.URL)
	csrf := b.login(cf.user)

	purpose := url.Values{"csrf": {csrf}, "code": {cf.valid}, "use_cause": {"开立对公账户，留存营业执照"}, "service_item": {"BANK-OPEN-001"},
		"case_number": {"AC-2026-0042"}}
	status, _, page := b.do("POST", "/console/lookup?lang=en", purpose)
	if status != 200 {
		t.Fatalf("look-up: %d %.500s", status, page)
	}
	l, err := cf.env.Licenses.Get(ctx, cf.valid)
	if err != nil {
		t.Fatal(err)
	}
	form := regexp.MustCompile(`(?s)<form method="post" action="/console/archive" class="archive-form">.*?</form>`).FindString(page)
	for _, want := range []string{`name="identifier" value="` + l.Identifier + `"`, `value="开立对公账户，留存营业执照"`, `value="AC-2026-0042"`, "Archive this version"} {
		if !strings.Contains(form, want) {
			t.Errorf("the archive form lacks %q: %s", want, form)
		}
	}
	// Without a purpose: refused, naming it; nothing archived.
	status, _, page = b.do("POST", "/console/archive?lang=en", url.Values{"csrf": {csrf}, "identifier": {l.Identifier}})
	if status != http.StatusBadRequest || !strings.Contains(page, "use cause") {
		t.Errorf("archive without a purpose: %d %.1500s", status, page)
	}
	// Without the CSRF token.
	if status, _, _ := b.do("POST", "/console/archive", url.Values{"identifier": {l.Identifier}}); status != http.StatusForbidden {
		t.Errorf("archive without CSRF: %d", status)
	}
	// An unknown licence.
	bad := url.Values{"csrf": {csrf}, "identifier": {"1.2.156.3005.2.NOPE"}, "use_cause": {"核验"}, "service_item": {"X"}, "case_number": {"K"}}
	if status, _, _ := b.do("POST", "/console/archive", bad); status != http.StatusNotFound {
		t.Errorf("archive of an unknown licence: %d", status)
	}
	arch := url.Values{"csrf": {csrf}, "identifier": {l.Identifier}, "use_cause": purpose["use_cause"], "service_item": purpose["service_item"],
		"case_number": purpose["case_number"]}
	status, loc, _ := b.do("POST", "/console/archive", arch)
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/archive?done=archived&receipt=AR") {
		t.Fatalf("archive: %d %s", status, loc)
	}
	receiptID := strings.TrimPrefix(loc, "/console/archive?done=archived&receipt=")
	status, _, page = b.do("GET", loc+"&lang=en", nil)
	row := regexp.MustCompile(`(?s)<tr data-receipt="` + receiptID + `" class="new">.*?</tr>`).FindString(page)
	if status != 200 || row == "" || !strings.Contains(page, "Archived and recorded") {
		t.Fatalf("my archive: %d %.2000s", status, page)
	}
	for _, want := range []string{cf.valid, l.Identifier, sharing.DocumentSM3(l), "AC-2026-0042", "BANK-OPEN-001"} {
		if !strings.Contains(row, want) {
			t.Errorf("the receipt row lacks %q: %s", want, row)
		}
	}
	// The signature shown is the platform's over the receipt's canonical bytes.
	sig := regexp.MustCompile(`<span class="sig-b64" title="([^"]+)">`).FindStringSubmatch(row)
	if sig == nil {
		t.Fatalf("no signature in the row: %s", row)
	}
	der, _ := base64.StdEncoding.DecodeString(html.UnescapeString(sig[1]))
	entries, _, err := cf.share.ArchiveEntries(ctx, &sharing.Caller{ClientID: cf.client}, "", 10)
	if err != nil || len(entries) != 1 || entries[0].ReceiptID != receiptID {
		t.Fatalf("entries: %+v %v", entries, err)
	}
	signer, _, err := cf.env.Keys.PlatformSigner(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !gm.Verify(signer.Public(), sharing.ReceiptBytes(entries[0].Receipt), der) {
		t.Error("the signature shown does not verify with the platform key")
	}

	// Verify it from the list, then as pasted JSON, then a tampered copy.
	status, _, page = b.do("POST", "/console/archive/verify?lang=en", url.Values{"csrf": {csrf}, "receipt_id": {receiptID}})
	if status != 200 || !strings.Contains(page, `id="receipt-verdict" data-valid="true"`) {
		t.Errorf("verify from the list: %d %.2000s", status, page)
	}
	js, _ := json.Marshal(entries[0].Receipt)
	status, _, page = b.do("POST", "/console/archive/verify", url.Values{"csrf": {csrf}, "receipt": {string(js)}})
	if status != 200 || !strings.Contains(page, `data-valid="true"`) {
		t.Errorf("verify pasted: %d", status)
	}
	tampered := *entries[0].Receipt
	tampered.Version = 2
	js, _ = json.Marshal(&tampered)
	status, _, page = b.do("POST", "/console/archive/verify?lang=en", url.Values{"csrf": {csrf}, "receipt": {string(js)}})
	if status != 200 || !strings.Contains(page, `data-valid="false"`) || !strings.Contains(page, "not valid") {
		t.Errorf("verify tampered: %d %.2000s", status, page)
	}
	status, _, page = b.do("POST", "/console/archive/verify?lang=en", url.Values{"csrf": {csrf}, "receipt": {"{not json"}})
	if status != http.StatusBadRequest || !strings.Contains(page, `id="ce-receipt"`) {
		t.Errorf("verify garbage: %d %.1000s", status, page)
	}
	if status, _, _ := b.do("POST", "/console/archive/verify", url.Values{"csrf": {csrf}, "receipt_id": {"AR-none"}}); status != http.StatusNotFound {
		t.Errorf("verify an unknown receipt: %d", status)
	}

	// Recorded as the client's calls, and the department follows the entity.
	evs, err := cf.env.Audit.Find(ctx, audit.Filter{Actor: cf.client, ActionPrefix: "share.archive"})
	if err != nil || len(evs) < 4 || evs[len(evs)-1].Action != "share.archive" {
		t.Errorf("usage records: %d %v", len(evs), err)
	}
	if evs, err := cf.env.Audit.Find(ctx, audit.Filter{Actor: cf.client, ActionPrefix: "notice.follow"}); err != nil || len(evs) != 1 || evs[0].Subject != cf.valid {
		t.Errorf("follow: %+v %v", evs, err)
	}
}
