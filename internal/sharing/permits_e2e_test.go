package sharing_test

// End-to-end tests of permits through the second slice over HTTP: archive receipts, downloads
// of watermarked copies, batches across types and file verification, with real
// client-credentials tokens and real services on SQLite (the consent platform with the licence
// library, library_e2e_test.go).

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/library"
	"github.com/elicense/elicense/internal/notice"
	"github.com/elicense/elicense/internal/oidc/oidctest"
	"github.com/elicense/elicense/internal/permitdoc"
	"github.com/elicense/elicense/internal/sharing"
)

// CopyPermit renders the watermarked copy of a permit as cmd/elicense does
// (document.Service.RenderPermitCopy over permitdoc.Of) and keeps its mark.
func (c *markCopier) CopyPermit(ctx context.Context, p *library.Permit, t *library.Type, format string, m sharing.CopyMark) ([]byte, error) {
	c.mu.Lock()
	c.marks = append(c.marks, m)
	c.mu.Unlock()
	f := document.OFD
	if format == "pdf" {
		f = document.PDF
	}
	return c.docs.RenderPermitCopy(ctx, permitdoc.Of(p, t, m.At), document.Options{Format: f}, document.Mark(m))
}

// newPermitPlatform is the library platform where the department's system may do everything
// with food licences (and nothing with pollution permits), and archiving follows the holder
// through the real notice service.
func newPermitPlatform(t *testing.T) *libraryPlatform {
	t.Helper()
	lp := newLibraryPlatform(t)
	lp.post("/api/v1/sharing/permissions", lp.operator, `{"client_id":"`+lp.deptID+`","type_code":"`+lp.food.Code+
		`","operations":["query","verify","download","archive"]}`).expect(t, 200)
	lp.svc.SetFollower(notice.NewService(notice.Config{Store: lp.env.DB, Licences: lp.env.Licenses, Keys: lp.env.Keys,
		Clock: lp.env.Clock.Now}))
	return lp
}

// grantType gives a client operations on one licence type through the operator API.
func (lp *libraryPlatform) grantType(clientID, typeCode string, ops ...string) {
	lp.tb.Helper()
	b, _ := json.Marshal(map[string]any{"client_id": clientID, "type_code": typeCode, "operations": ops})
	lp.post("/api/v1/sharing/permissions", lp.operator, string(b)).expect(lp.tb, 200)
}

// results returns "<action>:<result>" of the client's usage records of one identifier, oldest
// first.
func (lp *libraryPlatform) results(clientID, identifier string) []string {
	lp.tb.Helper()
	var out []string
	for _, e := range lp.usages() {
		var u struct{ Identifier, Result string }
		_ = json.Unmarshal(e.Data, &u)
		if e.Actor == clientID && u.Identifier == identifier {
			out = append(out, strings.TrimPrefix(e.Action, "share.")+":"+u.Result)
		}
	}
	return out
}

func TestPermitArchive(t *testing.T) {
	lp := newPermitPlatform(t)
	archive := func(token, identifier string, status int) (rc sharing.Receipt) {
		t.Helper()
		r := lp.post("/api/v1/sharing/archive", token, body(`"identifier":"`+identifier+`"`)).expect(t, status)
		if status == 200 {
			r.decode(t, &rc)
		}
		return rc
	}
	rc := archive(lp.dept, strings.ToLower(lp.foodP.Identifier), 200)
	h := gm.SM3(library.SignedBytes(lp.foodP))
	if rc.Identifier != lp.foodP.Identifier || rc.Version != 1 || rc.Caller != lp.deptID || rc.DocumentSM3 != hex.EncodeToString(h[:]) ||
		rc.DocumentSM3 != sharing.PermitSM3(lp.foodP) || len(rc.Signature) == 0 {
		t.Errorf("receipt of a permit: %+v", rc)
	}
	// Offline: the platform certificate verifies the receipt.
	_, cert, _ := lp.env.Keys.PlatformSigner(lp.ctx)
	if !verifyWithCert(t, cert, sharing.ReceiptBytes(&rc), rc.Signature) {
		t.Error("the permit's receipt does not verify with the platform certificate")
	}
	// Online: valid; a receipt whose digest was altered is not.
	check := func(token string, r sharing.Receipt, status int) (ck sharing.ReceiptCheck) {
		t.Helper()
		b, _ := json.Marshal(r)
		if rep := lp.post("/api/v1/sharing/archive/verify", token, string(b)).expect(t, status); status == 200 {
			rep.decode(t, &ck)
		}
		return ck
	}
	if ck := check(lp.dept, rc, 200); !ck.Valid || !ck.SignatureValid || !ck.OnRecord || !ck.DocumentMatches {
		t.Errorf("the permit's receipt: %+v", ck)
	}
	bad := rc
	bad.DocumentSM3 = sharing.DocumentSM3(lp.licence) // the business licence's digest
	if ck := check(lp.dept, bad, 200); ck.Valid || ck.DocumentMatches || ck.OnRecord {
		t.Errorf("a receipt with another digest: %+v", ck)
	}
	// Archiving followed the holder (an organisation) for change notices, once.
	follows := func() []string {
		evs, err := lp.env.Audit.Find(lp.ctx, audit.Filter{ActionPrefix: "notice.follow", Actor: lp.deptID})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range evs {
			out = append(out, e.Subject)
		}
		return out
	}
	if got := follows(); !slices.Equal(got, []string{lp.holder.Code}) {
		t.Errorf("follows after archiving the food licence: %v", got)
	}
	// A permit of a person is archived, but a person has no change notices to follow.
	person, err := lp.lib.Issue(lp.ctx, library.Actor{ID: "issuer", Department: lp.foodP.IssuerCode}, library.Issuance{TypeCode: lp.food.Code,
		Number: "JY23301060000002", HolderName: "张伟", HolderCode: oidctest.IDNumber("33010619900101123"), HolderCodeType: library.CodeCitizenID,
		Items: map[string]string{"operator": "张伟（个体）", "person_in_charge": "张伟"}})
	if err != nil {
		t.Fatal(err)
	}
	if prc := archive(lp.dept, person.Identifier, 200); prc.DocumentSM3 != sharing.PermitSM3(person) {
		t.Errorf("receipt of a person's permit: %+v", prc)
	}
	if got := follows(); len(got) != 1 {
		t.Errorf("follows after archiving a person's permit: %v", got)
	}
	// Refused: a type without the archive permission; not found: an unknown number.
	archive(lp.dept, lp.pollP.Identifier, 403)
	unknown := strings.Replace(lp.foodP.Identifier, "JY13301060000001", "JY13301060000009", 1)
	archive(lp.dept, unknown, 404)
	// A receipt of a type the caller may neither archive nor verify is not checked for it.
	pollID, pollTok := lp.client("生态环境执法系统", allScopes)
	lp.grantType(pollID, lp.pollution.Code, "archive")
	prc := archive(pollTok, lp.pollP.Identifier, 200)
	if ck := check(pollTok, prc, 200); !ck.Valid {
		t.Errorf("the pollution permit's receipt: %+v", ck)
	}
	check(lp.dept, prc, 403)
	// The caller's list has the permits' receipts.
	req, _ := http.NewRequest("GET", lp.url+"/api/v1/sharing/archive", nil)
	req.Header.Set("Authorization", "Bearer "+lp.dept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var pg sharing.ArchivePage
	if err := json.NewDecoder(resp.Body).Decode(&pg); err != nil || len(pg.Receipts) != 2 || pg.Receipts[1].ReceiptID != rc.ReceiptID {
		t.Errorf("archive list: %+v %v", pg, err)
	}
	if got := fmt.Sprint(lp.results(lp.deptID, lp.foodP.Identifier)); got != "[archive:ok archive_verify:true archive_verify:false]" {
		t.Errorf("usage records of the food licence: %s", got)
	}
	if got := fmt.Sprint(lp.results(lp.deptID, lp.pollP.Identifier)); got != "[]" {
		// A refused call names no identifier (as for the business licence): it is recorded as denied.
		t.Errorf("usage records of the pollution permit: %s", got)
	}
	evs, err := lp.env.Audit.Find(lp.ctx, audit.Filter{Actor: lp.deptID, ActionPrefix: "share.archive"})
	if err != nil {
		t.Fatal(err)
	}
	var denied int
	for _, e := range evs {
		if strings.Contains(string(e.Data), `"result":"denied"`) {
			denied++
		}
	}
	if denied != 1 {
		t.Errorf("%d denied archive calls recorded, want 1", denied)
	}
}

func TestPermitDownload(t *testing.T) {
	lp := newPermitPlatform(t)
	code := lp.holder.Code
	dl := func(k, identifier, format, extra string, status int) (d struct{ URL string }) {
		t.Helper()
		r := lp.post("/api/v1/sharing/download", lp.dept, `{`+purposeFor(k)+extra+`,"identifier":"`+identifier+`","format":"`+format+`"}`).expect(t, status)
		if status == 200 {
			r.decode(t, &d)
		}
		return d
	}
	get := func(u string) reply {
		t.Helper()
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Accept-Language", "en")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return reply{resp.StatusCode, b}
	}
	pin := identity.Proof{Method: identity.MethodPIN, PIN: lp.holder.PIN}

	// Without consent: 403 naming consent. A per-case approval of a download (the business
	// licence's) does not release a permit's copy either.
	if f, m := lp.post("/api/v1/sharing/download", lp.dept, `{`+purposeFor("K1")+`,"identifier":"`+lp.foodP.Identifier+`","format":"ofd"}`).
		expect(t, 403).errField(t); f != "consent" || !strings.Contains(m, "standing authorisation") {
		t.Errorf("permit download without consent: %s %s", f, m)
	}
	var rq struct{ ID string }
	lp.post("/api/v1/sharing/consents/requests", lp.dept, `{`+purposeFor("K1")+`,"entity_code":"`+code+`","download":true}`).expect(t, 200).decode(t, &rq)
	if _, err := lp.svc.Approve(lp.ctx, lp.holder.PersonID, code, rq.ID, pin); err != nil {
		t.Fatal(err)
	}
	dl("K1", lp.foodP.Identifier, "ofd", "", 403)
	dl("K1", lp.licence.Identifier, "ofd", "", 200) // the approval covers the business licence

	// A 用证码 covers it: one URL, one copy, which verifies as a copy of the permit.
	cc, _, err := lp.svc.NewCode(lp.ctx, lp.holder.PersonID, code, "", pin)
	if err != nil {
		t.Fatal(err)
	}
	d := dl("K2", lp.foodP.Identifier, "ofd", `,"consent_code":"`+cc+`"`, 200)
	file := get(d.URL).expect(t, 200)
	rep, err := lp.env.Documents.Verify(lp.ctx, file.body)
	if err != nil || rep.Result != document.ResultValid || rep.Kind != "permit" || rep.Identifier != lp.foodP.Identifier ||
		rep.TypeCode != lp.food.Code || rep.Copy == nil || rep.Copy.Caller != lp.deptID || rep.Copy.Case != "K2" ||
		rep.Copy.CallerName != "市场监管办件系统" {
		t.Fatalf("the permit's copy: %+v %v", rep, err)
	}
	if !strings.Contains(rep.EN, "valid copy") {
		t.Errorf("the copy's verdict: %s", rep.EN)
	}
	// The same copy through the sharing service's file verification.
	b64, _ := json.Marshal(file.body)
	var viaAPI document.Report
	lp.post("/api/v1/sharing/verify/file", lp.dept, body(`"file":`+string(b64))).expect(t, 200).decode(t, &viaAPI)
	if viaAPI.Result != 0 || viaAPI.Copy == nil || viaAPI.Identifier != lp.foodP.Identifier {
		t.Errorf("the copy verified over the API: %+v", viaAPI)
	}
	if _, m := get(d.URL).expect(t, 410).errField(t); !strings.Contains(m, "used") {
		t.Errorf("second fetch of a permit's URL: %s", m)
	}
	dl("K3", lp.foodP.Identifier, "ofd", `,"consent_code":"`+cc+`"`, 403) // the code is used up

	// A standing authorisation covers it; a late URL has expired; PDF too.
	if _, err := lp.svc.GrantStanding(lp.ctx, lp.holder.PersonID, code, sharing.StandingGrant{ClientID: lp.deptID,
		Until: lp.env.Clock.Now().Add(30 * 24 * time.Hour)}, pin); err != nil {
		t.Fatal(err)
	}
	d = dl("K4", lp.foodP.Identifier, "pdf", "", 200)
	lp.env.Clock.Advance(sharing.DownloadLifetime)
	if _, m := get(d.URL).expect(t, 410).errField(t); !strings.Contains(m, "expired") {
		t.Errorf("late fetch of a permit's URL: %s", m)
	}
	lp.env.Clock.Advance(-sharing.DownloadLifetime)
	d = dl("K5", lp.foodP.Identifier, "pdf", "", 200)
	pdf := get(d.URL).expect(t, 200)
	if rep, err := lp.env.Documents.Verify(lp.ctx, pdf.body); err != nil || rep.Result != 0 || rep.Format != "pdf" || rep.Copy == nil ||
		rep.Identifier != lp.foodP.Identifier {
		t.Errorf("the permit's PDF copy: %+v %v", rep, err)
	}
	// Refused: a type without the download permission (the standing authorisation does not
	// matter), an unknown permit.
	dl("K6", lp.pollP.Identifier, "ofd", "", 403)
	dl("K6", strings.Replace(lp.foodP.Identifier, "JY13301060000001", "JY13301060000009", 1), "ofd", "", 404)

	want := "[download:consent_required download:consent_required download:ok fetch:ok download:denied download:ok download:ok fetch:ok download:denied download:not_found]"
	var got []string
	for _, e := range lp.usages() {
		var u struct{ Identifier, Result string }
		_ = json.Unmarshal(e.Data, &u)
		if (e.Action == "share.download" || e.Action == "share.fetch") && (u.Identifier == "" || strings.Contains(u.Identifier, "JY1330106")) {
			got = append(got, strings.TrimPrefix(e.Action, "share.")+":"+u.Result)
		}
	}
	if fmt.Sprint(got) != want {
		t.Errorf("usage records: %v\nwant %s", got, want)
	}
}

func TestPermitBatchesAndFiles(t *testing.T) {
	lp := newPermitPlatform(t)
	unknown := strings.Replace(lp.foodP.Identifier, "JY13301060000001", "JY13301060000009", 1)

	// Batch query across types: the business licence and the food licence answered, the
	// pollution permit refused alone, the unknown one not found.
	var bq struct {
		Results []struct {
			Identifier string
			Licence    *struct {
				Identifier string
				TypeName   string `json:"type_name"`
				Items      map[string]string
			}
			Error *struct{ Code, Message string }
		}
	}
	items := `"items":["` + lp.licence.Identifier + `","` + lp.foodP.Identifier + `","` + lp.pollP.Identifier + `","` + unknown + `"]`
	lp.post("/api/v1/sharing/batch/query", lp.dept, body(items)).expect(t, 200).decode(t, &bq)
	if r := bq.Results; len(r) != 4 || r[0].Licence == nil || r[1].Licence == nil || r[1].Licence.TypeName != "食品经营许可证" ||
		r[1].Licence.Items["operator"] == "" || r[1].Licence.Items["person_in_charge"] != "" ||
		r[2].Error == nil || r[2].Error.Code != "forbidden" || r[3].Error == nil || r[3].Error.Code != "not_found" {
		t.Errorf("batch query: %s", must(json.Marshal(bq)))
	}
	// A system that may query pollution permits only: the business licence is refused in the
	// batch; a system that may query nothing is refused the call.
	pollID, pollTok := lp.client("生态环境执法系统", allScopes)
	lp.grantType(pollID, lp.pollution.Code, "query", "verify")
	lp.post("/api/v1/sharing/batch/query", pollTok, body(`"items":["`+lp.licence.Identifier+`","`+lp.pollP.Identifier+`"]`)).expect(t, 200).decode(t, &bq)
	if r := bq.Results; len(r) != 2 || r[0].Error == nil || r[0].Error.Code != "forbidden" || r[1].Licence == nil {
		t.Errorf("batch query of the pollution system: %s", must(json.Marshal(bq)))
	}
	_, noneTok := lp.client("无权限系统", allScopes)
	lp.post("/api/v1/sharing/batch/query", noneTok, body(items)).expect(t, 403)
	lp.post("/api/v1/sharing/batch/verify", noneTok, body(`"items":[{"identifier":"`+lp.foodP.Identifier+`"}]`)).expect(t, 403)

	// Batch verify across types.
	var bv struct {
		Results []struct {
			Result     int
			Denied     bool
			Identifier string
			Wrong      []string `json:"wrong_fields"`
			EN         string
		}
	}
	name := lp.licence.Face.Name
	lp.post("/api/v1/sharing/batch/verify", lp.dept, body(`"items":[{"code":"`+lp.holder.Code+`","name":"`+name+`"},`+
		`{"identifier":"`+lp.foodP.Identifier+`","name":"`+name+`"},{"type_code":"`+lp.food.Code+`","number":"`+lp.foodP.Number+`","name":"别的公司"},`+
		`{"identifier":"`+lp.pollP.Identifier+`"},{"type_code":"`+lp.food.Code+`","number":"JY0"}]`)).expect(t, 200).decode(t, &bv)
	if r := bv.Results; len(r) != 5 || r[0].Result != 0 || r[0].Identifier != lp.licence.Identifier || r[1].Result != 0 ||
		r[1].Identifier != lp.foodP.Identifier || r[2].Result != 7 || fmt.Sprint(r[2].Wrong) != "[name]" ||
		r[3].Result != 4 || !r[3].Denied || !strings.Contains(r[3].EN, lp.pollution.Code) || r[4].Result != 5 || r[1].Denied {
		t.Errorf("batch verify: %s", must(json.Marshal(bv)))
	}
	if got := fmt.Sprint(lp.results(lp.deptID, lp.pollP.Identifier)); got != "[query:denied verify:denied]" {
		t.Errorf("usage records of the refused items: %s", got)
	}

	// File verification: the permit's original, sealed by its department.
	verifyFile := func(token string, file []byte, status int) (rep document.Report) {
		t.Helper()
		b64, _ := json.Marshal(file)
		if r := lp.post("/api/v1/sharing/verify/file", token, body(`"file":`+string(b64))).expect(t, status); status == 200 {
			r.decode(t, &rep)
		}
		return rep
	}
	render := func(p *library.Permit, ty *library.Type, f document.Format) []byte {
		t.Helper()
		b, err := lp.env.Documents.RenderPermit(lp.ctx, permitdoc.Of(p, ty, lp.env.Clock.Now()), document.Options{Format: f})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	food, poll := render(lp.foodP, lp.food, document.OFD), render(lp.pollP, lp.pollution, document.PDF)
	if rep := verifyFile(lp.dept, food, 200); rep.Result != 0 || rep.Kind != "permit" || rep.Identifier != lp.foodP.Identifier ||
		rep.TypeCode != lp.food.Code || rep.Code != lp.holder.Code || rep.Copy != nil {
		t.Errorf("verify the food licence's file: %+v", rep)
	}
	// Of a type the caller may not verify: refused once the file is read, and recorded.
	verifyFile(lp.dept, poll, 403)
	if rep := verifyFile(pollTok, poll, 200); rep.Result != 0 || rep.Format != "pdf" || rep.Identifier != lp.pollP.Identifier {
		t.Errorf("verify the pollution permit's file: %+v", rep)
	}
	licence, err := lp.env.Documents.Render(lp.ctx, lp.licence, document.Options{Format: document.OFD})
	if err != nil {
		t.Fatal(err)
	}
	verifyFile(pollTok, licence, 403)
	// A file of nothing says nothing of any licence: the report, to any system that verifies.
	if rep := verifyFile(pollTok, []byte("not a licence"), 200); rep.Result == 0 {
		t.Errorf("verify garbage: %+v", rep)
	}
	// The suspended permit's file is authentic but suspended.
	if _, err := lp.lib.SetStatus(lp.ctx, library.Actor{ID: "issuer", Department: lp.foodP.IssuerCode}, lp.foodP.Identifier,
		library.StatusChange{Action: library.Suspend, Reason: "整改期间暂停"}); err != nil {
		t.Fatal(err)
	}
	if rep := verifyFile(lp.dept, food, 200); rep.Result != document.ResultSuspended {
		t.Errorf("verify the suspended food licence's file: %+v", rep)
	}
	var files []string
	for _, e := range lp.usages() {
		if e.Action == "share.verify_file" {
			var u struct{ Result string }
			_ = json.Unmarshal(e.Data, &u)
			files = append(files, e.Actor+"/"+e.Subject+"/"+u.Result)
		}
	}
	dept, pol := lp.deptID, pollID
	want := []string{dept + "/" + lp.holder.Code + "/result:0", dept + "/" + lp.holder.Code + "/denied", pol + "/" + lp.holder.Code + "/result:0",
		pol + "/" + lp.holder.Code + "/denied", pol + "//result:4", dept + "/" + lp.holder.Code + "/result:2"}
	if !slices.Equal(files, want) {
		t.Errorf("file verification records %v, want %v", files, want)
	}
}
