package web

import (
	"fmt"
	"net/http"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/permitdoc"
)

// apiLibraryDocument answers GET /api/v1/library/licences/{identifier}/document?format=&copy=:
// the sealed OFD or PDF of a permit version, signed by the issuing department. The document
// shows every item of the licence, so only operators, registrars and the issuing department
// may fetch it; departments receive a watermarked copy (加注件) through the sharing service.
func (s *server) apiLibraryDocument(w http.ResponseWriter, r *http.Request) {
	viewer, ok := s.libraryReader(w, r)
	if !ok {
		return
	}
	o, err := documentOptions(r.URL.Query())
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
	b, err := s.Documents.RenderPermit(r.Context(), permitdoc.Of(p, t, s.now()), o)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	writeDocument(w, o.Format, b, fmt.Sprintf("%s-%s-v%d.%s", t.Name, p.Number, p.Version, o.Format),
		fmt.Sprintf("licence-%s-v%d.%s", p.Number, p.Version, o.Format))
}
