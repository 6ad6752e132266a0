package web

// walletUI holds the words of the wallet pages, looked up from templates with {{.W "key"}}.
var walletUI = map[string]text{
	"wallet.name":        {"电子营业执照", "E-Business Licence"},
	"wallet.app":         {"电子营业执照 · 钱包", "E-Business Licence wallet"},
	"wallet.nav":         {"钱包导航", "Wallet navigation"},
	"wallet.home":        {"首页", "Home"},
	"wallet.devices":     {"设备", "Devices"},
	"wallet.me":          {"我的", "Me"},
	"wallet.logout":      {"退出登录", "Sign out"},
	"wallet.back":        {"返回", "Back"},
	"wallet.noscript":    {"通行密钥需要启用 JavaScript；也可以使用密码。", "Passkeys need JavaScript; you can use a PIN instead."},
	"wallet.unsupported": {"此浏览器不支持通行密钥。", "This browser does not support passkeys."},

	// Sign-in and registration.
	"signin.title":      {"登录", "Sign in"},
	"signin.intro":      {"用手机号和短信验证码登录，或使用已绑定本机的通行密钥。", "Sign in with your phone number and a one-time code, or with the passkey bound to this phone."},
	"signin.phone":      {"手机号码", "Mobile number"},
	"signin.phone.hint": {"中国大陆手机号，11位", "Mainland China mobile number, 11 digits"},
	"signin.send":       {"获取验证码", "Send code"},
	"signin.passkey":    {"使用通行密钥登录", "Sign in with a passkey"},
	"signin.or":         {"或", "or"},
	"signin.register":   {"还没有账号？注册", "No account yet? Register"},
	"register.title":    {"注册", "Register"},
	"register.intro":    {"请填写与身份证一致的姓名和身份号码。执照上登记的人员注册后即完成实名认证。", "Enter your name and citizen ID number exactly as on your ID card. A person named on a licence is verified at once."},
	"register.name":     {"姓名", "Name"},
	"register.id":       {"公民身份号码", "Citizen ID number"},
	"register.id.hint":  {"18位，末位可以是 X；只保存加密形式，页面上不会显示", "18 characters, the last may be X; stored only encrypted and never shown"},
	"register.submit":   {"下一步：验证手机号", "Next: confirm the phone"},
	"register.signin":   {"已有账号？登录", "Already registered? Sign in"},
	"code.title":        {"输入验证码", "Enter the code"},
	"code.sent":         {"验证码已发送至", "A code was sent to"},
	"code.valid":        {"有效期至", "Valid until"},
	"code.label":        {"6位验证码", "6-digit code"},
	"code.submit":       {"确定", "Confirm"},
	"code.resend":       {"重新发送", "Send a new code"},
	"code.demo":         {"演示环境不发送短信：验证码写在服务器日志中（标记为 [DEMO ONLY]）。", "The demo sends no SMS: the code is in the server log (marked [DEMO ONLY])."},

	// Home.
	"home.title":              {"我的电子营业执照", "My electronic business licences"},
	"home.hello":              {"您好，", "Hello, "},
	"home.realname.ok":        {"已实名认证", "Real name verified"},
	"home.realname.no":        {"尚未实名认证", "Real name not verified"},
	"home.realname.do":        {"去实名认证", "Verify your real name"},
	"home.held":               {"我领取的执照", "Licences I hold"},
	"home.roles":              {"我可以代表的市场主体", "Entities I may act for"},
	"home.none":               {"您还没有执照。执照上登记的法定代表人（负责人、经营者等）完成实名认证后可以领取执照；证照管理员和办事人由领照人授权。", "You have no licence yet. The person named on a licence claims it after real-name verification; administrators and agents are appointed by the holder."},
	"home.claimable":          {"可以领取的执照", "Licences you can claim"},
	"home.claim":              {"去领照", "Claim"},
	"home.bind":               {"本机尚未绑定为钱包设备。绑定后可以用通行密钥（指纹、面容或锁屏密码）登录和确认。", "This phone is not bound as a wallet device. Once bound, you sign in and confirm with a passkey (fingerprint, face or screen lock)."},
	"home.bind.do":            {"绑定本机", "Bind this phone"},
	"home.pin":                {"个人密码", "Personal PIN"},
	"home.pin.set":            {"设置个人密码（证照管理员、办事人确认时使用）", "Set a personal PIN (administrators and agents confirm with it)"},
	"home.pin.change":         {"修改个人密码", "Change your personal PIN"},
	"home.scan":               {"扫码登录：用手机相机扫描网站登录页上的二维码，即可在本钱包中确认。", "Scan to log in: scan the QR code on a portal's login page with the phone's camera and confirm here."},
	"licence.valid":           {"有效", "Valid"},
	"licence.invalid":         {"不可用", "Not usable"},
	"licence.open":            {"查看", "Open"},
	"licence.title":           {"执照详情", "Licence"},
	"licence.role":            {"我的身份", "My role"},
	"licence.members":         {"管理证照管理员和办事人", "Manage administrators and agents"},
	"licence.pin":             {"修改执照密码", "Change the licence PIN"},
	"licence.pin.cur":         {"当前执照密码", "Current licence PIN"},
	"licence.pin.new":         {"新执照密码（6位数字）", "New licence PIN (6 digits)"},
	"licence.pin.again":       {"再次输入新执照密码", "New licence PIN again"},
	"licence.pin.save":        {"保存", "Save"},
	"licence.pin.reset":       {"忘记执照密码", "Forgot the licence PIN"},
	"licence.pin.reset.intro": {"重置执照密码前，请重新进行实名认证；认证通过后10分钟内可以设置新密码，原密码的锁定同时解除。", "Verify your real name again first; for 10 minutes afterwards you can set a new PIN, which also lifts a lock."},
	"role.holder":             {"领照人", "Holder"},
	"role.administrator":      {"证照管理员", "Licence administrator"},
	"role.agent":              {"办事人", "Agent"},
	"grant.all":               {"全部业务", "All business"},
	"grant.items":             {"授权事项", "Service items"},
	"grant.period":            {"授权期限", "Period"},
	"grant.until":             {"至", "until"},
	"grant.state.active":      {"有效", "In force"},
	"grant.state.revoked":     {"已撤销", "Revoked"},
	"grant.state.ended":       {"已到期", "Ended"},
	"grant.state.future":      {"未生效", "Not started"},

	// Real name.
	"realname.title":  {"实名认证", "Real-name verification"},
	"realname.intro":  {"请再次输入您注册时使用的公民身份号码。平台将与登记机关登记的执照信息核对姓名和身份号码。", "Enter the citizen ID number you registered with again. The platform checks your name and number against the licences the registering authorities issued."},
	"realname.submit": {"认证", "Verify"},
	"realname.fresh":  {"认证通过后10分钟内，可以在本机管理设备或重置执照密码。", "For 10 minutes after verifying, you may manage devices or reset a licence PIN on this phone."},

	// Claim.
	"claim.title":    {"领取执照", "Claim a licence"},
	"claim.intro":    {"以下执照登记的人员是您本人。领照时设置6位数字的执照密码，用于扫码登录和授权确认；不能使用连续、重复的数字，或出生日期、身份号码、手机号中的数字。", "These licences name you. Set a 6-digit licence PIN when you claim; you confirm logins and grants with it. Runs, repeats and digits of your birth date, ID number or phone number are refused."},
	"claim.none":     {"没有可以领取的执照。", "There is no licence for you to claim."},
	"claim.realname": {"领照前请先完成实名认证。", "Verify your real name before claiming a licence."},
	"claim.pin":      {"设置执照密码（6位数字）", "Set the licence PIN (6 digits)"},
	"claim.pin2":     {"再次输入执照密码", "Licence PIN again"},
	"claim.submit":   {"领照", "Claim"},
	"claim.status":   {"执照状态", "Licence status"},

	// Devices.
	"devices.title":   {"钱包设备", "Wallet devices"},
	"devices.intro":   {"绑定的设备可以用通行密钥登录钱包、确认登录和授权。手机丢失时，请在其他已绑定设备上移除，或重新实名认证后移除。", "A bound device signs in and confirms logins and grants with its passkey. If a phone is lost, remove it from another bound device, or after verifying your real name again."},
	"devices.none":    {"还没有绑定设备。", "No device is bound yet."},
	"devices.this":    {"本机", "This phone"},
	"devices.added":   {"绑定于", "Bound on"},
	"devices.used":    {"最近使用", "Last used"},
	"devices.never":   {"尚未使用", "Not used yet"},
	"devices.remove":  {"移除", "Remove"},
	"devices.bind":    {"绑定本机", "Bind this phone"},
	"devices.name":    {"设备名称", "Device name"},
	"devices.default": {"我的手机", "My phone"},
	"devices.create":  {"创建通行密钥并绑定", "Create a passkey and bind"},
	"devices.verify":  {"重新实名认证", "Verify your real name again"},

	// Passkey button states (read by wallet.js from data attributes).
	"passkey.wait":   {"请在手机上完成验证（指纹、面容或锁屏密码）…", "Complete the check on the phone (fingerprint, face or screen lock)…"},
	"passkey.failed": {"通行密钥验证未完成，请重试或使用密码。", "The passkey check did not complete; try again or use the PIN."},
	"passkey.use":    {"使用通行密钥确认", "Confirm with a passkey"},

	// Scan to log in.
	"scan.title":         {"扫码登录", "Scan to log in"},
	"scan.asks":          {"以下网站请求您登录", "This portal asks you to log in"},
	"scan.portal":        {"网站", "Portal"},
	"scan.department":    {"主办部门", "Department"},
	"scan.region":        {"地区", "Region"},
	"scan.expires":       {"二维码有效期至", "The QR code is valid until"},
	"scan.as":            {"选择以哪个市场主体的身份登录", "Choose the entity to log in for"},
	"scan.pin":           {"密码", "PIN"},
	"scan.pin.hint":      {"领照人输入执照密码；证照管理员和办事人输入个人密码。", "Holders enter the licence PIN; administrators and agents their personal PIN."},
	"scan.pin.holder":    {"执照密码", "Licence PIN"},
	"scan.pin.own":       {"个人密码", "Personal PIN"},
	"scan.nopin":         {"您还没有设置个人密码，请先设置，或使用通行密钥。", "You have not set a personal PIN: set one first, or use a passkey."},
	"scan.confirm":       {"确认登录", "Confirm login"},
	"scan.decline":       {"拒绝", "Decline"},
	"scan.done":          {"已确认登录", "Login confirmed"},
	"scan.done.text":     {"请回到电脑上继续，网站将自动完成登录。", "Go back to the computer: the portal completes the login by itself."},
	"scan.declined":      {"已拒绝此次登录", "Login declined"},
	"scan.declined.text": {"网站不会获得您的身份。如果不是您本人发起的登录，请忽略该二维码。", "The portal does not get your identity. If you did not start this login, ignore the QR code."},

	// Staff.
	"members.title":          {"管理授权", "Who may use the licence"},
	"members.holder":         {"领照人", "Holder"},
	"members.list":           {"证照管理员和办事人", "Administrators and agents"},
	"members.none":           {"还没有任命证照管理员或授权办事人。", "No administrator or agent yet."},
	"members.revoke":         {"撤销", "Revoke"},
	"members.appoint":        {"任命证照管理员", "Appoint an administrator"},
	"members.appoint.intro":  {"证照管理员可以授权和撤销办事人，最多5名。被任命人须已在本平台注册。", "Administrators grant and revoke agents; at most 5. The person must have registered on the platform."},
	"members.grant":          {"授权办事人", "Grant an agent"},
	"members.grant.intro":    {"办事人以本人身份登录，代表市场主体办理授权的业务。被授权人须已在本平台注册。", "An agent logs in as themselves and acts for the entity in the business granted. The person must have registered on the platform."},
	"members.name":           {"姓名", "Name"},
	"members.id":             {"公民身份号码", "Citizen ID number"},
	"members.all":            {"全部业务", "All business"},
	"members.items":          {"或授权事项编码（每行一个，或用逗号分隔）", "Or service item codes (one per line, or separated by commas)"},
	"members.from":           {"开始日期（留空为立即生效）", "Start date (empty: now)"},
	"members.until":          {"有效期至（含当日）", "Valid until (inclusive)"},
	"members.submit.appoint": {"任命", "Appoint"},
	"members.submit.grant":   {"授权", "Grant"},
	"members.proof":          {"确认", "Confirmation"},
	"members.proof.pin":      {"您的执照密码或个人密码", "Your licence PIN or personal PIN"},
	"members.by":             {"授权人", "Granted by"},

	// Personal PIN.
	"pin.title":   {"个人密码", "Personal PIN"},
	"pin.intro":   {"证照管理员和办事人用个人密码确认登录和授权（领照人使用执照密码）。6位数字。", "Administrators and agents confirm logins and grants with their personal PIN (holders use the licence PIN). 6 digits."},
	"pin.current": {"当前个人密码", "Current personal PIN"},
	"pin.new":     {"新个人密码", "New personal PIN"},
	"pin.again":   {"再次输入新个人密码", "New personal PIN again"},
	"pin.save":    {"保存", "Save"},

	// Confirmations after a redirect (?done=…).
	"done.registered": {"注册成功，手机号已验证。", "You are registered and your phone is confirmed."},
	"done.signedin":   {"已登录。", "You are signed in."},
	"done.realname":   {"实名认证通过。", "Your real name is verified."},
	"done.claim":      {"领照成功。请绑定本机，以便用通行密钥确认。", "The licence is yours. Bind this phone to confirm with a passkey."},
	"done.device":     {"本机已绑定，可以使用通行密钥。", "This phone is bound; you can use its passkey."},
	"done.removed":    {"设备已移除，其登录已全部结束。", "The device was removed and its sessions ended."},
	"done.pin":        {"密码已保存。", "The PIN was saved."},
	"done.appoint":    {"已任命证照管理员。", "The administrator was appointed."},
	"done.grant":      {"已授权办事人。", "The agent was granted."},
	"done.revoke":     {"已撤销，该人员的登录已全部结束。", "Revoked; that person's sessions for the entity ended."},

	"error.title": {"出错了", "Something went wrong"},
	"error.home":  {"返回钱包首页", "Back to the wallet"},
}

// walletText returns the wallet word for key in lang, falling back to the site's words; a
// missing key shows itself so that it is noticed.
func walletText(key, lang string) string {
	if t, ok := walletUI[key]; ok {
		return t.in(lang)
	}
	return uiText(key, lang)
}

// W returns the wallet word for key in the page's language.
func (p *pageData) W(key string) string { return walletText(key, p.Lang) }
