package web

import (
	"net/http"
	"strconv"
	"strings"
)

// The languages of the site. zh-CN is the default.
const (
	langZH = "zh"
	langEN = "en"
)

// langCookie remembers the language chosen with the page switch.
const langCookie = "lang"

// langOf picks the caller's language: ?lang=, then the lang cookie, then Accept-Language
// (English only when it is preferred over Chinese), else zh-CN.
func langOf(r *http.Request) string {
	if r.URL.RawQuery != "" {
		if l, ok := parseLang(r.URL.Query().Get("lang")); ok {
			return l
		}
	}
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := parseLang(c.Value); ok {
			return l
		}
	}
	return acceptLanguage(r.Header.Get("Accept-Language"))
}

func parseLang(v string) (string, bool) {
	v = strings.ToLower(strings.TrimSpace(v))
	switch {
	case v == "en" || strings.HasPrefix(v, "en-"):
		return langEN, true
	case v == "zh" || strings.HasPrefix(v, "zh-"):
		return langZH, true
	}
	return "", false
}

// acceptLanguage returns langEN when the header's most preferred language we serve is English
// (RFC 9110 §12.5.4 quality values), langZH otherwise.
func acceptLanguage(h string) string {
	if h == "" {
		return langZH
	}
	best, bestQ := langZH, -1.0
	for part := range strings.SplitSeq(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		l, ok := parseLang(tag)
		if !ok {
			continue
		}
		q := 1.0
		if p := strings.TrimSpace(params); strings.HasPrefix(p, "q=") {
			f, err := strconv.ParseFloat(p[2:], 64)
			if err != nil {
				continue
			}
			q = f
		}
		if q > bestQ {
			best, bestQ = l, q
		}
	}
	if bestQ <= 0 {
		return langZH
	}
	return best
}

// text is a message of the user interface in both languages.
type text struct{ zh, en string }

func (t text) in(lang string) string {
	if lang == langEN {
		return t.en
	}
	return t.zh
}

// ui holds the words of the pages, looked up by key from templates with {{.T "key"}}.
var ui = map[string]text{
	"site.name":               {"电子营业执照", "E-Business Licence"},
	"site.verify":             {"执照核验", "Verify a licence"},
	"site.admin":              {"登记机关工作台", "Registering authority console"},
	"site.switch":             {"English", "中文"},
	"site.switch.label":       {"切换到英文", "Switch to Chinese"},
	"site.skip":               {"跳到正文", "Skip to content"},
	"site.footer":             {"电子营业执照由登记机关以 SM2 签名；本页面实时核验其状态与签名。", "Electronic business licences are signed by the registering authority with SM2; this page checks their status and signature in real time."},
	"verify.title":            {"核验电子营业执照", "Verify an electronic business licence"},
	"verify.intro":            {"输入统一社会信用代码、注册号或电子证照标识，查看执照是否有效。", "Enter a unified social credit code, a registration number or a licence identifier to see whether the licence is valid."},
	"verify.q":                {"统一社会信用代码或证照标识", "Credit code or licence identifier"},
	"verify.q.hint":           {"例如 91330106673959654P，不区分大小写", "e.g. 91330106673959654P, case-insensitive"},
	"verify.submit":           {"核验", "Verify"},
	"verify.result":           {"核验结果", "Result"},
	"verify.current":          {"查看当前有效版本", "See the current version"},
	"verify.sig.ok":           {"签名有效：内容由登记机关签发，未被篡改", "Signature valid: issued by the registering authority and unaltered"},
	"verify.sig.bad":          {"签名无效：内容可能被篡改，请勿采信", "Signature invalid: the content may have been altered; do not rely on it"},
	"verify.sig.unknown":      {"暂时无法核验签名，请稍后再试", "The signature could not be checked right now; try again later"},
	"verdict.active":          {"有效", "Valid"},
	"verdict.suspended":       {"暂停", "Suspended"},
	"verdict.cancelled":       {"已注销", "Cancelled"},
	"verdict.revoked":         {"已吊销", "Revoked"},
	"verdict.superseded":      {"已被新版本替代", "Superseded by a newer version"},
	"verdict.badsig":          {"签名无效", "Invalid signature"},
	"field.name":              {"名称", "Name"},
	"field.code":              {"统一社会信用代码", "Unified social credit code"},
	"field.regno":             {"注册号", "Registration number"},
	"field.identifier":        {"证照标识", "Licence identifier"},
	"field.version":           {"版本", "Version"},
	"field.kind":              {"主体类型", "Kind of entity"},
	"field.type":              {"类型", "Type"},
	"field.form":              {"组成形式", "Form"},
	"field.authority":         {"登记机关", "Registering authority"},
	"field.issued":            {"发照日期", "Issued on"},
	"field.status":            {"登记状态", "Registration status"},
	"field.reason":            {"原因", "Reason"},
	"field.status_at":         {"生效时间", "Effective"},
	"field.superseded":        {"被替代时间", "Superseded"},
	"field.signature":         {"签名核验", "Signature check"},
	"field.region":            {"行政区划", "Region"},
	"field.person_id":         {"身份证件号码（不公开）", "ID number (never shown publicly)"},
	"field.currency":          {"币种", "Currency"},
	"field.amount":            {"金额（万元）", "Amount (10,000 units)"},
	"field.term_from":         {"自", "From"},
	"field.term_to":           {"至（日期或“长期”）", "To (date or 长期)"},
	"field.serial":            {"证书序列号", "Certificate serial"},
	"field.created":           {"创建时间", "Created"},
	"field.username":          {"用户名", "Username"},
	"field.password":          {"密码", "Password"},
	"field.display_name":      {"姓名", "Display name"},
	"field.role":              {"角色", "Role"},
	"field.confirm":           {"确认", "Confirm"},
	"field.token_name":        {"令牌名称", "Token name"},
	"field.ttl":               {"有效天数（0 表示不过期）", "Valid for days (0: no expiry)"},
	"field.query":             {"名称或代码", "Name or code"},
	"field.all":               {"全部", "All"},
	"field.mine":              {"只看本机关", "Only my authority"},
	"role.operator":           {"平台运维", "Operator"},
	"role.registrar":          {"登记人员", "Registrar"},
	"admin.login":             {"登录", "Sign in"},
	"admin.logout":            {"退出", "Sign out"},
	"admin.licences":          {"执照", "Licences"},
	"admin.issue":             {"发放执照", "Issue a licence"},
	"admin.issue.kind":        {"选择主体类型", "Choose the kind of entity"},
	"admin.change":            {"变更登记", "Change registration"},
	"admin.change.note":       {"提交后将生成新版本，当前版本标记为已被替代。身份证件号码留空则沿用原登记。", "Submitting creates a new version; the current one becomes superseded. Leave the ID number empty to keep the registered one."},
	"admin.history":           {"版本与状态历史", "History of versions and status"},
	"admin.actions":           {"状态操作", "Status actions"},
	"admin.search":            {"查询", "Search"},
	"admin.next":              {"下一页", "Next page"},
	"admin.first":             {"第一页", "First page"},
	"admin.none":              {"没有符合条件的执照。", "No licence matches."},
	"admin.authorities":       {"登记机关", "Authorities"},
	"admin.accounts":          {"账号", "Accounts"},
	"admin.tokens":            {"API 令牌", "API tokens"},
	"admin.audit":             {"审计日志", "Audit log"},
	"admin.create":            {"创建", "Create"},
	"admin.submit":            {"提交", "Submit"},
	"admin.cancel":            {"返回", "Back"},
	"admin.view":              {"查看", "View"},
	"admin.errors":            {"请修改以下问题后重新提交：", "Please correct the following and submit again:"},
	"admin.token.once":        {"请立即复制此令牌，它只显示这一次：", "Copy this token now; it is shown only once:"},
	"admin.token.intro":       {"API 令牌用于以本账号身份调用接口（Authorization: Bearer …）。", "An API token calls the API as this account (Authorization: Bearer …)."},
	"admin.audit.ok":          {"审计日志完整：哈希链与签名检查点均校验通过。", "The audit log is intact: the hash chain and the signed checkpoints verify."},
	"admin.audit.broken":      {"审计日志已损坏", "The audit log is broken"},
	"admin.audit.first":       {"第一个损坏的条目", "First broken entry"},
	"admin.audit.entries":     {"条目数", "Entries"},
	"admin.audit.checkpoints": {"检查点数", "Checkpoints"},
	"admin.confirm.text":      {"我确认执行此操作", "I confirm this action"},
	"admin.signed_in":         {"当前用户", "Signed in as"},
	"action.suspend":          {"暂停", "Suspend"},
	"action.restore":          {"恢复", "Restore"},
	"action.cancel":           {"注销", "Cancel"},
	"action.revoke":           {"吊销", "Revoke"},
	"done.issue":              {"执照已发放", "The licence was issued"},
	"done.change":             {"变更登记已完成，已生成新版本", "The change was registered as a new version"},
	"done.suspend":            {"执照已暂停", "The licence was suspended"},
	"done.restore":            {"执照已恢复", "The licence was restored"},
	"done.cancel":             {"执照已注销", "The licence was cancelled"},
	"done.revoke":             {"执照已吊销", "The licence was revoked"},
	"error.title":             {"出错了", "Something went wrong"},
	"error.back":              {"返回首页", "Back to the start page"},
	// library: the enterprise licence library's admin page (library.go) and the issuer role.
	"role.issuer":               {"发证人员", "Issuer"},
	"library.link":              {"企业证照库：全部证照与办件", "Licence library: every licence and service record"},
	"library.code":              {"持证主体代码", "Holder code"},
	"library.licence_page":      {"营业执照详情", "Business licence details"},
	"library.business_licence":  {"电子营业执照（全部版本）", "Business licence (all versions)"},
	"library.no_licence":        {"没有电子营业执照", "No business licence"},
	"library.permits":           {"其他证照", "Other licences and permits"},
	"library.no_permits":        {"没有其他证照", "No other licences"},
	"library.private":           {"非公开", "not public"},
	"library.issuer":            {"发证机构", "Issued by"},
	"library.issue_date":        {"发证日期", "Date of issue"},
	"library.validity":          {"有效期", "Valid"},
	"library.records":           {"办件记录", "Service records"},
	"library.no_records":        {"没有办件记录", "No service records"},
	"library.older":             {"更早的办件", "Older records"},
	"library.record.at":         {"办理时间", "Handled at"},
	"library.record.item":       {"事项", "Service item"},
	"library.record.case":       {"办件编号", "Case number"},
	"library.record.department": {"办理部门", "Department"},
	"library.record.licences":   {"使用的证照", "Licences used"},
	// notice: the department role (console words are in console_text.go).
	"role.department": {"部门用证人员", "Department user"},
	// apply: applications through a portal (apply.go).
	"apply.business_licence": {"营业执照", "Business licence"},
	// integ: the admin navigation's link to the service catalogue (/admin/catalog).
	"admin.catalog": {"事项材料目录", "Service catalogue"},
}

// uiText returns the word for key in lang; a missing key shows itself so that it is noticed.
func uiText(key, lang string) string {
	if t, ok := ui[key]; ok {
		return t.in(lang)
	}
	return key
}
