package web

// consoleWords are the words of the department console (console.go, console.html), looked up
// from the template with {{$d.W "key"}}.
var consoleWords = map[string]text{
	"console.name":            {"部门用证工作台", "Department console"},
	"console.login":           {"登录部门用证工作台", "Sign in to the department console"},
	"console.lookup":          {"查询主体", "Look up an entity"},
	"console.verify":          {"核验执照", "Verify a licence"},
	"console.history":         {"用证记录", "Call history"},
	"console.notices":         {"变更通知", "Change notices"},
	"console.archive":         {"我的存档", "My archive"},
	"console.error":           {"出错了", "Something went wrong"},
	"console.client":          {"本部门系统", "Department system"},
	"console.signed_in":       {"当前用户", "Signed in as"},
	"console.logout":          {"退出", "Sign out"},
	"console.submit":          {"提交", "Submit"},
	"console.search":          {"搜索", "Search"},
	"console.q":               {"名称、统一社会信用代码或法定代表人", "Name, credit code or representative"},
	"console.q.hint":          {"输入代码直接查询；输入名称先搜索再选择主体。", "Enter a code to look it up directly; a name to search and then choose the entity."},
	"console.found":           {"搜索结果（公开信息）", "Search results (public data)"},
	"console.none":            {"没有找到符合条件的主体。", "No entity matches."},
	"console.choose":          {"选择", "Choose"},
	"console.purpose":         {"用证目的（每次查询和核验均记入用证记录）", "Purpose (every look-up and verification is recorded)"},
	"console.use_cause":       {"用证事由", "Use cause"},
	"console.service_item":    {"事项编码", "Service item"},
	"console.case_number":     {"办件编号", "Case number"},
	"console.entity":          {"主体代码", "Entity code"},
	"console.lookup.go":       {"查询证照", "Look up its licences"},
	"console.lookup.none":     {"该主体没有可查询的证照。", "The entity has no licence this system may see."},
	"console.lookup.done":     {"查询已完成，并已记入用证记录。", "Looked up; the call is in the call history."},
	"console.file":            {"执照文件（OFD 或 PDF）", "Licence file (OFD or PDF)"},
	"console.token":           {"或粘贴二维码内容（扫码得到的网址或令牌）", "Or paste the QR code's content (the scanned URL or token)"},
	"console.verify.go":       {"核验", "Verify"},
	"console.result":          {"核验结果", "Result"},
	"console.result.code":     {"结果代码", "Result code"},
	"console.checks":          {"检查项", "Checks"},
	"console.time":            {"时间", "Time"},
	"console.action":          {"操作", "Operation"},
	"console.subject":         {"主体或证照", "Entity or licence"},
	"console.outcome":         {"结果", "Result"},
	"console.history.none":    {"还没有用证记录。", "No calls yet."},
	"console.next":            {"下一页", "Next page"},
	"console.subscriptions":   {"订阅", "Subscriptions"},
	"console.subs.none":       {"还没有订阅。订阅通过接口 POST /api/v1/notices/subscriptions 创建。", "No subscriptions yet. Subscriptions are made with POST /api/v1/notices/subscriptions."},
	"console.url":             {"接收地址", "Webhook"},
	"console.targets":         {"主体与证照", "Entities and licences"},
	"console.events":          {"事件", "Events"},
	"console.archived":        {"含本部门存档的主体", "With the entities this department archived"},
	"console.failed":          {"投递失败", "Failed deliveries"},
	"console.failed.none":     {"没有投递失败的通知。", "No failed deliveries."},
	"console.recent":          {"最近的投递", "Latest deliveries"},
	"console.recent.none":     {"还没有投递。", "No deliveries yet."},
	"console.replay":          {"重新投递", "Replay"},
	"console.replayed":        {"已重新排入投递队列，将以相同的通知编号再次发送。", "Queued again; it will be sent with the same notice id."},
	"console.attempts":        {"尝试次数", "Attempts"},
	"console.last":            {"最后结果", "Last result"},
	"console.state":           {"状态", "State"},
	"console.state.pending":   {"待投递", "Pending"},
	"console.state.delivered": {"已送达", "Delivered"},
	"console.state.failed":    {"失败", "Failed"},
	"console.op.query":        {"按标识查询", "Query by identifier"},
	"console.op.list":         {"查询主体证照", "Entity's licences"},
	"console.op.verify":       {"按字段核验", "Verify by fields"},
	"console.op.verify_file":  {"核验文件", "Verify a file"},
	"console.op.verify_qr":    {"核验二维码", "Verify a QR code"},
	// integ: "my archive" (console_archive.go) and archiving from the look-up page.
	"console.archive.intro":     {"本部门存档的证照版本及平台签发的存档回执。存档后本部门即关注该主体，订阅时选择“含本部门存档的主体”即可收到其变更通知。", "The licence versions this department archived and the platform's signed receipts. Archiving makes the department follow the entity: subscriptions made with \"archived\" receive its change notices."},
	"console.archive.none":      {"本部门还没有存档。可在“查询主体”的结果中存档证照。", "This department has archived nothing yet. Archive a licence from the results of a look-up."},
	"console.archive.done":      {"已存档，并已记入用证记录；回执如下。", "Archived and recorded; the receipt is below."},
	"console.archive.go":        {"存档此版本", "Archive this version"},
	"console.archive.hint":      {"以上述用证目的存档，平台签发存档回执。", "Archived with the purpose above; the platform signs a receipt."},
	"console.receipt":           {"回执编号", "Receipt"},
	"console.purpose.short":     {"用证目的", "Purpose"},
	"console.archived_at":       {"存档时间", "Archived at"},
	"console.sm3":               {"数据摘要", "Digest"},
	"console.signature":         {"平台签名（SM2）", "Platform signature (SM2)"},
	"console.cert":              {"证书", "Certificate"},
	"console.receipt.verify":    {"核验回执", "Verify receipt"},
	"console.receipt.result":    {"回执核验结果", "Receipt verification"},
	"console.receipt.sig":       {"平台签名有效", "The platform's signature verifies"},
	"console.receipt.record":    {"平台存有相符的存档记录", "The platform holds a matching archive record"},
	"console.receipt.doc":       {"证照版本数据摘要相符", "The licence version's data digest matches"},
	"console.receipt.paste":     {"核验收到的存档回执", "Verify an archive receipt you received"},
	"console.op.archive":        {"存档", "Archive"},
	"console.op.archive_verify": {"核验存档回执", "Verify an archive receipt"},
	"console.permit.holder":     {"持证主体", "Holder"},
	"console.permit.valid":      {"有效期", "Valid"},
	"console.permit.noend":      {"长期", "No expiry"},
	"console.receipt.json":      {"存档回执（接口返回的 JSON）", "Archive receipt (the JSON the API returned)"},
}

// Op names a sharing operation of the call history ("list", "verify_file", …) in the page's
// language; an operation without a word shows as it is.
func (d *consoleData) Op(action string) string {
	if t, ok := consoleWords["console.op."+action]; ok {
		return t.in(d.Lang)
	}
	return action
}

// consoleField is a text input of a console form, for the "cfield" template.
type consoleField struct {
	Name, Label, Value, Error string
}

// Field prepares the input name (labelled with the word console.<name>) with its value and error.
func (d *consoleData) Field(name, value string) consoleField {
	return consoleField{Name: name, Label: d.W("console." + name), Value: value, Error: d.Errors[name]}
}
