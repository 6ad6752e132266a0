package web

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/permitdoc"
)

// apiLibraryDocument answers GET /api/v1/library/licences/{identifier}/document?format=&copy=:
// the sealed OFD or PDF of a permit version, signed by the issuing department. The document
// shows every item of the licence, so only operators, registrars and the issuing department
// may fetch it; departments receive a watermarked copy (加注件) through the sharing service.
func (s *server) apiLibraryDocument(w http.ResponseWriter, r *http.Request) {
	if s.Library == nil {
		s.apiError(w, r, errLibraryOff)
		return
	}
	q := r.URL.Query()
	f, err := document.ParseFormat(q.Get("format"))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	c, err := document.ParseCopy(q.Get("copy"))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	viewer, err := s.libraryViewerOf(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	p, err := s.Library.Get(r.Context(), r.PathValue("identifier"))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	if !viewer.sees(p) {
		s.apiError(w, r, errs.New(errs.Forbidden, "", "证照文件载有全部照面信息，仅限运营人员、登记机关和发证部门下载；其他部门请通过共享服务获取加注件",
			"the licence file shows every item: only operators, registrars and the issuing department may download it; other departments get a watermarked copy through the sharing service"))
		return
	}
	t, err := s.Library.Type(r.Context(), p.TypeCode)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	b, err := s.Documents.RenderPermit(r.Context(), permitdoc.Of(p, t, s.now()), document.Options{Format: f, Copy: c})
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	name := fmt.Sprintf("%s-%s-v%d.%s", t.Name, p.Number, p.Version, f)
	ascii := fmt.Sprintf("licence-%s-v%d.%s", p.Number, p.Version, f)
	hd := w.Header()
	hd.Set("Content-Type", f.ContentType())
	hd.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, ascii, url.PathEscape(name)))
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
