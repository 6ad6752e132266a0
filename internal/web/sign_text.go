package web

import "net/http"

// signUI holds the words of the signing and inbox pages (sign.go), looked up from templates with
// {{.S "key"}}; other keys fall back to the wallet's words.
var signUI = map[string]text{
	"inbox.title":        {"待办", "To do"},
	"inbox.intro":        {"以下事项等待您确认。每项都注明由谁发起、为了什么；请核对后用密码或通行密钥确认，或拒绝。", "These wait for your confirmation. Each says who asks and for what; check it, then confirm with your PIN or a passkey, or decline."},
	"inbox.none":         {"没有待办事项。", "Nothing waits for you."},
	"inbox.open":         {"查看并处理", "Review"},
	"inbox.asker":        {"发起方", "Asked by"},
	"inbox.entity":       {"市场主体", "Entity"},
	"inbox.what":         {"事项", "About"},
	"inbox.expires":      {"有效期至", "Valid until"},
	"inbox.kind.signing": {"文件签署", "Sign a document"},
	"inbox.kind.login":   {"扫码登录确认", "Confirm a login"},
	"inbox.kind.consent": {"用证授权", "Consent to use the licence"},
	"inbox.kind.other":   {"待确认事项", "Confirmation"},
	"inbox.scan":         {"扫码登录：用手机相机扫描网站登录页上的二维码，扫描后未确认的登录也会出现在这里。", "Scan to log in: scan the QR code on a portal's login page; a login you scanned but did not confirm also appears here."},
	"inbox.home":         {"待办事项", "To do"},
	"inbox.home.none":    {"暂无待办", "Nothing to do"},
	"inbox.count":        {"项待处理", "waiting"},

	"sign.title":        {"签署文件", "Sign a document"},
	"sign.asks":         {"以下网站请求以市场主体名义签署文件", "This portal asks the entity to sign a document"},
	"sign.portal":       {"发起网站", "Portal"},
	"sign.department":   {"主办部门", "Department"},
	"sign.entity":       {"签署主体", "Signing entity"},
	"sign.doc":          {"文件", "Document"},
	"sign.doctitle":     {"标题", "Title"},
	"sign.purpose":      {"签署事由", "Purpose"},
	"sign.item":         {"事项编码", "Service item"},
	"sign.format":       {"格式", "Format"},
	"sign.pages":        {"页数", "Pages"},
	"sign.size":         {"大小（KB）", "Size (KB)"},
	"sign.hash":         {"文件 SM3 杂凑值", "The document's SM3 hash"},
	"sign.expires":      {"请求有效期至", "The request is valid until"},
	"sign.role":         {"您的身份", "Your role"},
	"sign.open.pdf":     {"打开 PDF 文件预览", "Open the PDF to read it"},
	"sign.open.ofd":     {"下载 OFD 文件", "Download the OFD file"},
	"sign.text":         {"文件文字内容", "The document's text"},
	"sign.page":         {"第 %d 页", "Page %d"},
	"sign.notext":       {"（此页没有文字）", "(no text on this page)"},
	"sign.seal":         {"确认后，平台将用该市场主体的电子印章签署此文件，并记录在证照使用记录中。", "When you confirm, the platform seals this document with the entity's electronic seal and records it as a use of the licence."},
	"sign.confirm":      {"确认签署", "Confirm and sign"},
	"sign.decline":      {"拒绝", "Decline"},
	"sign.state":        {"状态", "Status"},
	"sign.st.pending":   {"待确认", "Waiting for confirmation"},
	"sign.st.signed":    {"已签署", "Signed"},
	"sign.st.declined":  {"已拒绝", "Declined"},
	"sign.st.expired":   {"已过期", "Expired"},
	"sign.done":         {"已签署", "Signed"},
	"sign.done.text":    {"文件已加盖该市场主体的电子印章，发起网站可以取回签署后的文件。", "The document carries the entity's electronic seal; the portal can now fetch it."},
	"sign.declined":     {"已拒绝签署", "Signing declined"},
	"sign.declined.txt": {"发起网站不会得到签署后的文件。", "The portal gets no signed document."},
	"sign.inbox":        {"返回待办", "Back to the to-do list"},
}

// signText returns the word for key in lang: the signing pages' own words, then the wallet's.
func signText(key, lang string) string {
	if t, ok := signUI[key]; ok {
		return t.in(lang)
	}
	return walletText(key, lang)
}

// S returns the signing and inbox pages' word for key in the page's language.
func (p *pageData) S(key string) string { return signText(key, p.Lang) }

// KindKey is the word key of an inbox item's kind.
func (p *pageData) KindKey(kind string) string {
	if _, ok := signUI["inbox.kind."+kind]; ok {
		return "inbox.kind." + kind
	}
	return "inbox.kind.other"
}

// signRender renders a wallet page of this area with its title from signUI.
func (s *server) signRender(w http.ResponseWriter, r *http.Request, status int, name, title string, u *walletUser, d *walletData) {
	pd := &pageData{Title: signText(title, langOf(r)), Data: d}
	d.Person, pd.CSRF = u.p, u.sess.CSRF
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, "wallet/"+name, pd)
}
