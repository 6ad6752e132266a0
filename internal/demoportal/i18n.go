package demoportal

import (
	"net/http"
	"strings"
)

// words are the portal's texts in zh-CN and English.
var words = map[string][2]string{
	"login":              {"使用电子营业执照登录", "Log in with the e-business licence"},
	"logout":             {"退出", "Log out"},
	"services":           {"可办理事项", "Services"},
	"apply":              {"开始办理", "Apply"},
	"entity":             {"办事企业", "Entity"},
	"role":               {"身份", "Role"},
	"role.holder":        {"法定代表人（持照人）", "Legal representative (holder)"},
	"role.administrator": {"证照管理员", "Licence administrator"},
	"role.agent":         {"办事人", "Agent"},
	"materials":          {"所需材料", "Materials"},
	"material":           {"材料", "Material"},
	"required":           {"必需", "Required"},
	"optional":           {"可选", "Optional"},
	"how":                {"获取方式", "How it is satisfied"},
	"st.fetched":         {"已从电子证照库调取（存档）", "Fetched from the licence library (archived)"},
	"st.checked":         {"已通过数据核验，无需提交", "Checked by data, nothing to hand in"},
	"st.consent":         {"平台已有此证照，经企业授权即可调取", "The platform holds this licence: it is fetched once the entity consents"},
	"consent":            {"本企业授权本次办件调取该电子证照（用证授权）", "We authorise fetching this licence for this case (用证授权)"},
	"consented":          {"已经企业授权调取", "Fetched with the entity's consent"},
	"file":               {"选择文件", "File"},
	"uploaded":           {"已上传", "Uploaded"},
	"st.missing":         {"企业未持有有效证照，请上传", "The entity holds no valid licence: upload it"},
	"st.upload":          {"请上传", "Upload it"},
	"case":               {"办件编号", "Case number"},
	"status":             {"状态", "Status"},
	"submitted":          {"已提交", "Submitted"},
	"draft":              {"待提交", "Not yet submitted"},
	"submit":             {"提交申请", "Submit"},
	"not_asked":          {"免于提交的材料", "Materials not asked for"},
	"record":             {"办件记录", "Service record"},
	"receipt":            {"存档回执", "Archive receipt"},
	"error":              {"出错了", "Something went wrong"},
	"back":               {"返回首页", "Back to the home page"},
	"intro":              {"本门户为演示：通过电子营业执照统一身份认证登录，已在平台上的证照无需再次提交。", "A demo portal: log in with the e-business licence; licences the platform holds are never asked for again."},
	"login.required":     {"办理前请先登录", "Log in to apply"},
}

// tr returns a word in the page's language.
func tr(lang, key string) string {
	w, ok := words[key]
	if !ok {
		return key
	}
	if lang == "en" {
		return w[1]
	}
	return w[0]
}

// lang is "en" when the visitor asks for English (?lang=en or Accept-Language), else "zh".
func lang(r *http.Request) string {
	if v := r.URL.Query().Get("lang"); v != "" {
		if strings.HasPrefix(v, "en") {
			return "en"
		}
		return "zh"
	}
	if strings.HasPrefix(strings.ToLower(r.Header.Get("Accept-Language")), "en") {
		return "en"
	}
	return "zh"
}
