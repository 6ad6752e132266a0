package web

// "My archive" (我的存档) of the department console: the archive receipts of the department's
// system, newest first, each with its entity, purpose, licence version, data digest, time and
// the platform's signature; a receipt is verified on request (the one listed, or one pasted
// as JSON, as the system received it from POST /api/v1/sharing/archive) through
// sharing.Service.VerifyReceipt, which records the check. Archiving itself is a form on the
// look-up page, with the purpose of the look-up: POST /console/archive.

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/sharing"
)

// consoleArchivePage is how many receipts "my archive" shows per page.
const consoleArchivePage = 20

// consoleArchiveView is the content of the archive section (consoleData.Archive).
type consoleArchiveView struct {
	Entries []sharing.ArchiveEntry
	Next    string // URL of the next page
	Receipt string // the receipt just made (highlighted)
	Checked string // the receipt just verified
	Check   *sharing.ReceiptCheck
	Pasted  string // a receipt pasted for verification
}

// B64 shows a signature as base64.
func (consoleArchiveView) B64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// consoleArchive answers GET /console/archive: the client's archive receipts (?cursor= pages).
func (s *server) consoleArchive(w http.ResponseWriter, r *http.Request) {
	u, ok := s.consoleSignIn(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	d := &consoleData{Section: "archive", Archive: &consoleArchiveView{}}
	if q.Get("done") == "archived" {
		d.Done, d.Archive.Receipt = "archived", q.Get("receipt")
	}
	s.consoleArchiveList(w, r, u, http.StatusOK, d, q.Get("cursor"))
}

// consoleArchiveList fills the list of receipts into d and renders the archive section.
func (s *server) consoleArchiveList(w http.ResponseWriter, r *http.Request, u *consoleUser, status int, d *consoleData, cursor string) {
	if s.Sharing == nil {
		s.consoleError(w, r, u, errSharingOff)
		return
	}
	es, next, err := s.Sharing.ArchiveEntries(r.Context(), consoleShareCaller(u), cursor, consoleArchivePage)
	if err != nil {
		s.consoleError(w, r, u, err)
		return
	}
	d.Archive.Entries = es
	if next != "" {
		d.Archive.Next = "/console/archive?cursor=" + url.QueryEscape(next)
	}
	s.consolePage(w, r, status, u, d)
}

// consoleArchiveLicence answers POST /console/archive: archive the licence version identifier
// with the purpose given (the look-up's), then show the receipt in "my archive".
func (s *server) consoleArchiveLicence(w http.ResponseWriter, r *http.Request) {
	u, ok := s.consoleNeeds(w, r, s.Sharing != nil, errSharingOff)
	if !ok {
		return
	}
	rc, err := s.Sharing.Archive(r.Context(), consoleShareCaller(u), consolePurpose(r), r.PostFormValue("identifier"))
	if err != nil {
		s.consoleArchiveFailed(w, r, u, err, &consoleData{Section: "archive", Archive: &consoleArchiveView{}})
		return
	}
	http.Redirect(w, r, "/console/archive?done=archived&receipt="+url.QueryEscape(rc.ReceiptID), http.StatusSeeOther)
}

// consoleVerifyReceipt answers POST /console/archive/verify: verify one of the client's
// receipts (receipt_id) or a receipt pasted as JSON (receipt).
func (s *server) consoleVerifyReceipt(w http.ResponseWriter, r *http.Request) {
	u, ok := s.consoleNeeds(w, r, s.Sharing != nil, errSharingOff)
	if !ok {
		return
	}
	c := consoleShareCaller(u)
	v := &consoleArchiveView{Pasted: strings.TrimSpace(r.PostFormValue("receipt"))}
	d := &consoleData{Section: "archive", Archive: v}
	var rc sharing.Receipt
	var err error
	switch id := strings.TrimSpace(r.PostFormValue("receipt_id")); {
	case id != "":
		var e *sharing.ArchiveEntry
		if e, err = s.Sharing.ArchiveEntry(r.Context(), c, id); err == nil {
			rc = *e.Receipt
		}
	case v.Pasted != "":
		if json.Unmarshal([]byte(v.Pasted), &rc) != nil {
			err = errs.New(errs.Invalid, "receipt", "存档回执须为接口返回的 JSON", "the archive receipt must be the JSON the API returned")
		}
	default:
		err = errs.New(errs.Invalid, "receipt", "请粘贴存档回执（JSON）", "paste an archive receipt (JSON)")
	}
	if err == nil {
		v.Checked = rc.ReceiptID
		v.Check, err = s.Sharing.VerifyReceipt(r.Context(), c, rc)
	}
	if err != nil {
		s.consoleArchiveFailed(w, r, u, err, d)
		return
	}
	s.consoleArchiveList(w, r, u, http.StatusOK, d, "")
}

// consoleArchiveFailed shows "my archive" with what went wrong: a problem the user can act on
// (a purpose missing, no permission, an unknown licence or receipt) above the list, an
// internal one as the console's error page.
func (s *server) consoleArchiveFailed(w http.ResponseWriter, r *http.Request, u *consoleUser, err error, d *consoleData) {
	switch errs.KindOf(err) {
	case errs.Internal, errs.Unavailable:
		s.consoleError(w, r, u, err)
		return
	}
	p := s.describe(w, r, err)
	d.Problem = &p
	d.Errors, _ = consoleFieldErrors(err, langOf(r))
	s.consoleArchiveList(w, r, u, p.Status, d, "")
}
