package web

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/catalog"
	"github.com/elicense/elicense/internal/errs"
)

// The service catalogue (事项材料目录, internal/catalog): the public listing under
// /api/v1/catalog/items, import and export for operators (Bearer token of an operator account),
// and the operator page /admin/catalog with a file upload and export links.

var errCatalogOff = errs.New(errs.Unavailable, "", "本平台未启用事项材料目录", "the service catalogue is not enabled on this platform")

// maxCatalogFile is the largest catalogue file an import accepts (a catalogue of a few thousand
// items with their materials).
const maxCatalogFile = 8 << 20

var errCatalogTooLarge = errs.New(errs.TooLarge, "file", "目录文件过大（上限 8 MiB）", "the catalogue file is too large (limit 8 MiB)")

// catalogUI holds the words of the catalogue page ({{$d.W "key"}}).
var catalogUI = map[string]text{
	"title":               {"事项材料目录", "Service catalogue"},
	"intro":               {"每个事项所需的材料，以及平台如何满足它们：身份类证照和需要存档的证照调取电子文件入卷，不需存档的资质类证照只做数据核验，其他材料由申请人上传。", "The materials each service item needs and how the platform satisfies them: identity credentials and licences that must be archived are fetched into the case as files, qualifications without an archive need are checked by data only, other materials are uploaded by the applicant."},
	"count":               {"事项数", "Items"},
	"import":              {"导入目录", "Import a catalogue"},
	"import.note":         {"导入为整体操作：文件中任何一处错误都会导致整个文件不被导入，并列出全部错误。已有编码的事项被替换，文件中没有的事项保持不变。CSV 每行一项材料，事项各列在每行重复。", "An import is all or nothing: any error refuses the whole file and every error is listed. Items whose code exists are replaced; items not in the file stay as they are. CSV has one row per material, the item's columns repeated on each row."},
	"import.file":         {"目录文件（.csv 或 .json）", "Catalogue file (.csv or .json)"},
	"import.format":       {"格式", "Format"},
	"import.auto":         {"按文件扩展名", "From the file extension"},
	"import.submit":       {"导入", "Import"},
	"import.errors":       {"文件未导入，请修改以下问题后重新导入：", "The file was not imported; correct the following and import it again:"},
	"import.done":         {"导入成功", "Imported"},
	"import.created":      {"新增", "created"},
	"import.updated":      {"替换", "replaced"},
	"export":              {"导出", "Export"},
	"export.csv":          {"导出 CSV", "Export as CSV"},
	"export.json":         {"导出 JSON", "Export as JSON"},
	"none":                {"目录为空。", "The catalogue is empty."},
	"col.code":            {"事项编码", "Code"},
	"col.name":            {"事项名称", "Service item"},
	"col.department":      {"办理部门", "Department"},
	"col.region":          {"区划", "Region"},
	"col.materials":       {"材料", "Materials"},
	"rule.fetch":          {"调取入卷", "fetched"},
	"rule.check":          {"数据核验", "data check"},
	"rule.upload":         {"上传", "upload"},
	"class.identity":      {"身份类", "identity"},
	"class.qualification": {"资质类", "qualification"},
	"archive":             {"存档", "archived"},
	"optional":            {"可选", "optional"},
	"national":            {"全国", "national"},
}

// catalogPage is the content of /admin/catalog.
type catalogPage struct {
	lang    string
	Groups  []catalogGroup
	Total   int
	Result  *catalog.ImportResult
	Problem *problem
}

// catalogGroup is the items of one scenario.
type catalogGroup struct {
	Scenario catalog.Scenario
	Name     string
	Items    []catalog.Item
}

// W returns a word of the catalogue page in the page's language.
func (d *catalogPage) W(key string) string {
	if t, ok := catalogUI[key]; ok {
		return t.in(d.lang)
	}
	return key
}

// ItemName returns the item's name in the page's language.
func (d *catalogPage) ItemName(it catalog.Item) string {
	if d.lang == langEN && it.NameEN != "" {
		return it.NameEN
	}
	return it.Name
}

// MaterialName returns the material's name in the page's language.
func (d *catalogPage) MaterialName(m catalog.Material) string {
	if d.lang == langEN && m.NameEN != "" {
		return m.NameEN
	}
	return m.Name
}

// Region shows a region code ("全国" for the whole country).
func (d *catalogPage) Region(r string) string {
	if r == catalog.National {
		return d.W("national")
	}
	return r
}

func (s *server) catalogPageOf(r *http.Request) (*catalogPage, error) {
	d := &catalogPage{lang: langOf(r)}
	items, err := s.Catalog.Items(r.Context(), catalog.Query{Limit: catalog.MaxLimit})
	if err != nil {
		return nil, err
	}
	d.Total = len(items)
	for i := range items {
		sc := items[i].Scenario
		if n := len(d.Groups); n == 0 || d.Groups[n-1].Scenario != sc {
			zh, en := sc.Name()
			d.Groups = append(d.Groups, catalogGroup{Scenario: sc, Name: text{zh, en}.in(d.lang)})
		}
		g := &d.Groups[len(d.Groups)-1]
		g.Items = append(g.Items, items[i])
	}
	return d, nil
}

// adminCatalog answers GET /admin/catalog (operators): the catalogue by scenario, an import form
// and export links.
func (s *server) adminCatalog(w http.ResponseWriter, r *http.Request) {
	st, ok := s.signIn(w, r, account.Operator)
	if !ok {
		return
	}
	if s.Catalog == nil {
		s.staffError(w, r, st, errCatalogOff)
		return
	}
	d, err := s.catalogPageOf(r)
	if err != nil {
		s.staffError(w, r, st, err)
		return
	}
	s.render(w, r, http.StatusOK, "catalog", s.staffPage(st, "catalog", d.W("title"), d))
}

// adminCatalogImport answers POST /admin/catalog/import (operators): a multipart form with the
// file, its format (or the file's extension) and the CSRF token.
func (s *server) adminCatalogImport(w http.ResponseWriter, r *http.Request) {
	// The form is multipart: read it before signIn checks its CSRF token.
	r.Body = http.MaxBytesReader(w, r.Body, maxCatalogFile+64<<10)
	if err := r.ParseMultipartForm(maxCatalogFile + 64<<10); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			s.pageError(w, r, errCatalogTooLarge)
			return
		}
		s.pageError(w, r, errs.Invalidf("file", "表单无法解析：%s", "the form cannot be read: %s", err.Error()))
		return
	}
	st, ok := s.signIn(w, r, account.Operator)
	if !ok {
		return
	}
	if s.Catalog == nil {
		s.staffError(w, r, st, errCatalogOff)
		return
	}
	res, err := s.catalogUpload(r, st.acct)
	d, lerr := s.catalogPageOf(r)
	if lerr != nil {
		s.staffError(w, r, st, lerr)
		return
	}
	status := http.StatusOK
	if err != nil {
		p := s.describe(w, r, err)
		if p.Status >= 500 {
			s.staffError(w, r, st, err)
			return
		}
		d.Problem, status = &p, p.Status
	}
	d.Result = res
	s.render(w, r, status, "catalog", s.staffPage(st, "catalog", d.W("title"), d))
}

// catalogUpload imports the uploaded file of the form.
func (s *server) catalogUpload(r *http.Request, a *account.Account) (*catalog.ImportResult, error) {
	f, fh, err := r.FormFile("file")
	if err != nil {
		return nil, errs.New(errs.Invalid, "file", "请选择要导入的目录文件", "choose the catalogue file to import")
	}
	defer f.Close()
	var format catalog.Format
	if v := r.PostForm.Get("format"); v != "" {
		if format, err = catalog.ParseFormat(v, "format"); err != nil {
			return nil, err
		}
	} else if format, err = catalog.FormatOf(fh.Filename); err != nil {
		return nil, errs.New(errs.Invalid, "format", "无法从文件名判断格式，请选择 CSV 或 JSON", "the file name does not tell the format; choose CSV or JSON")
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	return s.Catalog.ImportFile(r.Context(), "account:"+a.ID, format, bytes.NewReader(b))
}

// adminCatalogExport answers GET /admin/catalog/export?format=csv|json (operators).
func (s *server) adminCatalogExport(w http.ResponseWriter, r *http.Request) {
	st, ok := s.signIn(w, r, account.Operator)
	if !ok {
		return
	}
	if err := s.catalogExport(w, r); err != nil {
		s.staffError(w, r, st, err)
	}
}

// catalogExport writes the catalogue as a download; it writes nothing when it fails.
func (s *server) catalogExport(w http.ResponseWriter, r *http.Request) error {
	if s.Catalog == nil {
		return errCatalogOff
	}
	f := catalog.JSON
	if v := r.URL.Query().Get("format"); v != "" {
		var err error
		if f, err = catalog.ParseFormat(v, "format"); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if err := s.Catalog.Export(r.Context(), f, &buf); err != nil {
		return err
	}
	h := w.Header()
	if f == catalog.CSV {
		h.Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "catalog." + string(f)}))
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// apiCatalogImport answers POST /api/v1/catalog/import?format=csv|json (operators): the body is
// the file; without format, the Content-Type tells (text/csv or application/json).
func (s *server) apiCatalogImport(w http.ResponseWriter, r *http.Request) {
	res, err := s.catalogImportAPI(w, r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *server) catalogImportAPI(w http.ResponseWriter, r *http.Request) (*catalog.ImportResult, error) {
	if s.Catalog == nil {
		return nil, errCatalogOff
	}
	a, err := s.apiAccount(r, account.Operator)
	if err != nil {
		return nil, err
	}
	var format catalog.Format
	if v := r.URL.Query().Get("format"); v != "" {
		if format, err = catalog.ParseFormat(v, "format"); err != nil {
			return nil, err
		}
	} else {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch {
		case mt == "text/csv":
			format = catalog.CSV
		case mt == "application/json":
			format = catalog.JSON
		default:
			return nil, &statusError{http.StatusUnsupportedMediaType, errs.New(errs.Invalid, "format",
				"请用 ?format=csv 或 ?format=json 指明格式，或发送 Content-Type: text/csv 或 application/json",
				"give the format with ?format=csv or ?format=json, or send Content-Type: text/csv or application/json")}
		}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCatalogFile))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, errCatalogTooLarge
		}
		return nil, errs.Invalidf("", "请求体读取失败：%s", "the body cannot be read: %s", err.Error())
	}
	return s.Catalog.ImportFile(r.Context(), "account:"+a.ID, format, bytes.NewReader(b))
}

// apiCatalogExport answers GET /api/v1/catalog/export?format=csv|json (operators).
func (s *server) apiCatalogExport(w http.ResponseWriter, r *http.Request) {
	if s.Catalog == nil {
		s.apiError(w, r, errCatalogOff)
		return
	}
	if _, err := s.apiAccount(r, account.Operator); err != nil {
		s.apiError(w, r, err)
		return
	}
	if err := s.catalogExport(w, r); err != nil {
		s.apiError(w, r, err)
	}
}

// catalogItems is the answer of the public listing.
type catalogItems struct {
	Items []catalog.Item `json:"items"`
}

// apiCatalogItems answers GET /api/v1/catalog/items[?scenario=&region=&q=&limit=] (public): the
// items of a scenario that apply in a division (the country's, the province's, the city's and
// its own) and match a text.
func (s *server) apiCatalogItems(w http.ResponseWriter, r *http.Request) {
	if s.Catalog == nil {
		s.apiError(w, r, errCatalogOff)
		return
	}
	q := r.URL.Query()
	cq := catalog.Query{Scenario: q.Get("scenario"), Region: q.Get("region"), Text: q.Get("q")}
	if v := strings.TrimSpace(q.Get("limit")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.apiError(w, r, errs.Invalidf("limit", "limit 应为 1 到 %d 之间的整数", "limit must be a whole number between 1 and %d", catalog.MaxLimit))
			return
		}
		cq.Limit = n
	}
	items, err := s.Catalog.Items(r.Context(), cq)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, catalogItems{items})
}

// apiCatalogItem answers GET /api/v1/catalog/items/{code} (public).
func (s *server) apiCatalogItem(w http.ResponseWriter, r *http.Request) {
	if s.Catalog == nil {
		s.apiError(w, r, errCatalogOff)
		return
	}
	it, err := s.Catalog.Item(r.Context(), r.PathValue("code"))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, it)
}
