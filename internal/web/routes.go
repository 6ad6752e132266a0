package web

import (
	"net/http"
	"strings"
)

// route is one entry of the site's routing table.
type route struct {
	pattern string // net/http ServeMux pattern, always with its method
	// doc marks a route of the public interface that openapi.json must describe; a test holds
	// the two lists equal.
	doc bool
	h   http.HandlerFunc
}

// routes is the routing table of the whole site, in one place.
func (s *server) routes() []route {
	return []route{
		// Public API (no authentication).
		{"GET /api/v1/licenses/{code}", true, s.apiLicence},
		{"GET /api/v1/licenses/{code}/history", true, s.apiHistory},
		{"GET /api/v1/licenses", true, s.apiList},
		{"GET /api/v1/authorities", true, s.apiAuthorities},
		{"GET /api/v1/openapi.json", true, s.apiOpenAPI},
		{"GET /.well-known/elicense/certificates", true, s.certificates},

		// Licence files and their verification (document.go).
		{"GET /api/v1/licenses/{code}/document", true, s.docs.Document},
		{"POST /api/v1/verify", true, s.verifyAPI},
		{"GET /v/{token}", false, s.tokenPage},
		{"GET /verify/file", false, s.docs.FilePage},
		{"POST /verify/file", false, s.docs.FilePage},

		// Registrar API (Bearer token of a registrar account).
		{"POST /api/v1/licenses", true, s.apiIssue},
		{"POST /api/v1/licenses/{code}/versions", true, s.apiChange},
		{"POST /api/v1/licenses/{code}/status", true, s.apiStatus},

		// Operator API and tokens.
		{"POST /api/v1/authorities", true, s.apiCreateAuthority},
		{"POST /api/v1/accounts", true, s.apiCreateAccount},
		{"POST /api/v1/tokens", true, s.apiCreateToken},

		// Operations.
		{"GET /healthz", false, s.healthz},
		{"GET /readyz", false, s.readyz},
		{"GET /metrics", false, s.metricsHandler},

		// Public pages.
		{"GET /{$}", false, s.verifyPage},
		{"GET /verify", false, s.verifyPage},
		{"GET /static/{file}", false, s.static},

		// Registering-authority staff pages (登记机关工作人员).
		{"GET /admin/{$}", false, s.adminHome},
		{"GET /admin/login", false, s.loginPage},
		{"POST /admin/login", false, s.login},
		{"POST /admin/logout", false, s.logout},
		{"GET /admin/licences", false, s.adminLicences},
		{"GET /admin/licences/new", false, s.issuePage},
		{"POST /admin/licences", false, s.issue},
		{"GET /admin/licences/{code}", false, s.adminLicence},
		{"GET /admin/licences/{code}/change", false, s.changePage},
		{"POST /admin/licences/{code}/change", false, s.change},
		{"GET /admin/licences/{code}/status", false, s.statusPage},
		{"POST /admin/licences/{code}/status", false, s.setStatus},
		{"GET /admin/authorities", false, s.authoritiesPage},
		{"POST /admin/authorities", false, s.createAuthority},
		{"GET /admin/accounts", false, s.accountsPage},
		{"POST /admin/accounts", false, s.createAccount},
		{"GET /admin/tokens", false, s.tokensPage},
		{"POST /admin/tokens", false, s.createToken},
		{"GET /admin/audit", false, s.auditPage},

		// Wallet pages (电子营业执照钱包, the phone side of identity; wallet*.go). The JSON
		// endpoints under /wallet/api/ are the OpenID Connect provider's.
		{"GET /wallet/{$}", false, s.walletPage(s.walletHome)},
		{"GET /wallet/manifest.webmanifest", false, s.walletManifest},
		{"GET /wallet/static/{file}", false, s.walletStatic},
		{"GET /wallet/icons/{file}", false, s.walletIcon},
		{"POST /wallet/login", false, s.walletPage(s.walletLogin)},
		{"GET /wallet/register", false, s.walletPage(s.walletRegisterPage)},
		{"POST /wallet/register", false, s.walletPage(s.walletRegister)},
		{"POST /wallet/code", false, s.walletPage(s.walletCode)},
		{"POST /wallet/code/resend", false, s.walletPage(s.walletResend)},
		{"POST /wallet/passkey/login-options", false, s.walletPage(s.walletLoginOptions)},
		{"POST /wallet/passkey/login", false, s.walletPage(s.walletPasskeyLogin)},
		{"POST /wallet/passkey/confirm-options", false, s.walletPage(s.walletConfirmOptions)},
		{"POST /wallet/logout", false, s.walletPage(s.walletLogout)},
		{"GET /wallet/realname", false, s.walletPage(s.walletRealNamePage)},
		{"POST /wallet/realname", false, s.walletPage(s.walletRealName)},
		{"GET /wallet/claim", false, s.walletPage(s.walletClaimPage)},
		{"POST /wallet/claim", false, s.walletPage(s.walletClaim)},
		{"GET /wallet/pin", false, s.walletPage(s.walletPINPage)},
		{"POST /wallet/pin", false, s.walletPage(s.walletPIN)},
		{"GET /wallet/devices", false, s.walletPage(s.walletDevicesPage)},
		{"POST /wallet/devices/options", false, s.walletPage(s.walletDeviceOptions)},
		{"POST /wallet/devices", false, s.walletPage(s.walletBindDevice)},
		{"POST /wallet/devices/{id}/remove", false, s.walletPage(s.walletRemoveDevice)},
		{"GET /wallet/licences/{code}", false, s.walletPage(s.walletLicence)},
		{"POST /wallet/licences/{code}/pin", false, s.walletPage(s.walletLicencePIN)},
		{"POST /wallet/licences/{code}/pin/reset", false, s.walletPage(s.walletResetPIN)},
		{"GET /wallet/licences/{code}/members", false, s.walletPage(s.walletMembers)},
		{"POST /wallet/licences/{code}/administrators", false, s.walletPage(s.walletAppoint)},
		{"POST /wallet/licences/{code}/agents", false, s.walletPage(s.walletGrant)},
		{"POST /wallet/licences/{code}/grants/{id}/revoke", false, s.walletPage(s.walletRevoke)},
		{"GET /wallet/scan/{qr}", false, s.walletPage(s.walletScan)},
		{"POST /wallet/scan/{qr}/confirm", false, s.walletPage(s.walletScanConfirm)},
		{"POST /wallet/scan/{qr}/decline", false, s.walletPage(s.walletScanDecline)},

		// OpenID Connect provider (internal/oidc; login.go, walletapi.go): its endpoints, the
		// platform's login page (扫码登录) and its script's requests, the wallet's JSON endpoints
		// for scan-to-login, and client registration (operators).
		{"GET /.well-known/openid-configuration", true, s.oidcEndpoint},
		{"GET /oauth/authorize", false, s.oidcEndpoint},
		{"POST /oauth/authorize", false, s.oidcEndpoint},
		{"POST /oauth/par", false, s.oidcEndpoint},
		{"POST /oauth/token", false, s.oidcEndpoint},
		{"OPTIONS /oauth/token", false, s.oidcEndpoint},
		{"GET /oauth/userinfo", false, s.oidcEndpoint},
		{"POST /oauth/userinfo", false, s.oidcEndpoint},
		{"OPTIONS /oauth/userinfo", false, s.oidcEndpoint},
		{"POST /oauth/introspect", false, s.oidcEndpoint},
		{"POST /oauth/revoke", false, s.oidcEndpoint},
		{"OPTIONS /oauth/revoke", false, s.oidcEndpoint},
		{"GET /oauth/end_session", false, s.oidcEndpoint},
		{"POST /oauth/end_session", false, s.oidcEndpoint},
		{"GET /oauth/keys", false, s.oidcEndpoint},
		{"GET /login", false, s.portalLogin},
		{"POST /login/qr", false, s.loginNewQR},
		{"GET /login/qr/{qr}", false, s.loginPoll},
		{"POST /login/complete", false, s.loginComplete},
		{"GET /login/cancel", false, s.loginCancel},
		{"GET /login/logged-out", false, s.loggedOut},
		{"POST /wallet/api/login/start", false, s.walletAPIStart},
		{"POST /wallet/api/login/confirm", false, s.walletAPIConfirm},
		{"GET /wallet/api/scan/{qr}", false, s.walletAPIScan},
		{"POST /wallet/api/scan/{qr}/confirm", false, s.walletAPIScanConfirm},
		{"POST /wallet/api/scan/{qr}/decline", false, s.walletAPIScanDecline},
		{"POST /wallet/api/passkey/begin", false, s.walletAPIPasskey},
		{"POST /api/v1/clients", true, s.apiCreateClient},

		// sharing service (sharing.go): departments' systems with client-credentials tokens;
		// the same operations in the national-style envelope under /api/gov/v1/; permissions
		// are set by operators.
		{"POST /api/v1/sharing/permissions", true, s.apiSharePermission},
		{"POST /api/v1/sharing/query", true, s.shareHandler(false, s.shareQuery)},
		{"POST /api/v1/sharing/licences", true, s.shareHandler(false, s.shareList)},
		{"POST /api/v1/sharing/verify", true, s.shareHandler(false, s.shareVerify)},
		{"POST /api/v1/sharing/batch/query", true, s.shareHandler(false, s.shareBatchQuery)},
		{"POST /api/v1/sharing/batch/verify", true, s.shareHandler(false, s.shareBatchVerify)},
		{"POST /api/v1/sharing/verify/file", true, s.shareHandler(false, s.shareVerifyFile)},
		{"POST /api/v1/sharing/verify/qr", true, s.shareHandler(false, s.shareVerifyQR)},
		{"POST /api/gov/v1/sharing/query", true, s.shareHandler(true, s.shareQuery)},
		{"POST /api/gov/v1/sharing/licences", true, s.shareHandler(true, s.shareList)},
		{"POST /api/gov/v1/sharing/verify", true, s.shareHandler(true, s.shareVerify)},
		{"POST /api/gov/v1/sharing/batch/query", true, s.shareHandler(true, s.shareBatchQuery)},
		{"POST /api/gov/v1/sharing/batch/verify", true, s.shareHandler(true, s.shareBatchVerify)},
		{"POST /api/gov/v1/sharing/verify/file", true, s.shareHandler(true, s.shareVerifyFile)},
		{"POST /api/gov/v1/sharing/verify/qr", true, s.shareHandler(true, s.shareVerifyQR)},

		// @library — library.go, issue 5: licence types, issuing departments, an entity's licences and service records
		{"GET /api/v1/library/types", true, s.apiLibraryTypes},
		{"GET /api/v1/library/types/{code}", true, s.apiLibraryType},
		{"POST /api/v1/library/types", true, s.apiLibraryAddType},
		{"PUT /api/v1/library/types/{code}", true, s.apiLibraryUpdateType},
		{"POST /api/v1/library/licences", true, s.apiLibraryIssue},
		{"POST /api/v1/library/licences/batch", true, s.apiLibraryBatch},
		{"GET /api/v1/library/licences/{identifier}", true, s.apiLibraryLicence},
		{"GET /api/v1/library/licences/{identifier}/document", true, s.apiLibraryDocument},
		{"POST /api/v1/library/licences/{identifier}/versions", true, s.apiLibraryChange},
		{"POST /api/v1/library/licences/{identifier}/status", true, s.apiLibraryStatus},
		{"GET /api/v1/library/entities/{code}", true, s.apiLibraryEntity},
		{"GET /admin/library/{code}", false, s.adminLibrary},

		// @consent — sharing_consent.go, issue 5: consent, downloads of copies, archive receipts
		{"POST /api/v1/sharing/consents/requests", true, s.shareHandler(false, s.shareConsentRequest)},
		{"GET /api/v1/sharing/consents/requests/{id}", true, s.shareHandler(false, s.shareConsentPoll)},
		{"POST /api/v1/sharing/download", true, s.shareHandler(false, s.shareDownload)},
		{"GET /api/v1/sharing/files/{token}", true, s.shareFile},
		{"POST /api/v1/sharing/archive", true, s.shareHandler(false, s.shareArchive)},
		{"GET /api/v1/sharing/archive", true, s.shareHandler(false, s.shareArchives)},
		{"POST /api/v1/sharing/archive/verify", true, s.shareHandler(false, s.shareArchiveVerify)},
		{"GET /api/v1/sharing/calls", true, s.shareCalls},
		{"POST /api/gov/v1/sharing/consents/requests", true, s.shareHandler(true, s.shareConsentRequest)},
		{"GET /api/gov/v1/sharing/consents/requests/{id}", true, s.shareHandler(true, s.shareConsentPoll)},
		{"POST /api/gov/v1/sharing/download", true, s.shareHandler(true, s.shareDownload)},
		{"POST /api/gov/v1/sharing/archive", true, s.shareHandler(true, s.shareArchive)},
		{"POST /api/gov/v1/sharing/archive/verify", true, s.shareHandler(true, s.shareArchiveVerify)},
		{"GET /wallet/licences/{code}/consents", false, s.walletPage(s.walletConsents)},
		{"POST /wallet/licences/{code}/consents", false, s.walletPage(s.walletGrantConsent)},
		{"POST /wallet/licences/{code}/consents/code", false, s.walletPage(s.walletConsentCode)},
		{"POST /wallet/licences/{code}/consents/{id}/approve", false, s.walletPage(s.walletApproveConsent)},
		{"POST /wallet/licences/{code}/consents/{id}/decline", false, s.walletPage(s.walletDeclineConsent)},
		{"POST /wallet/licences/{code}/consents/{id}/revoke", false, s.walletPage(s.walletRevokeConsent)},
		{"GET /wallet/api/licences/{code}/consents", false, s.walletAPIConsents},
		{"POST /wallet/api/licences/{code}/consents/{id}/approve", false, s.walletAPIDecide(true)},
		{"POST /wallet/api/licences/{code}/consents/{id}/decline", false, s.walletAPIDecide(false)},

		// @notice — notice.go and console.go, issue 5: change notices and the department console
		{"POST /api/v1/notices/subscriptions", true, s.apiNoticeSubscribe},
		{"GET /api/v1/notices/subscriptions", true, s.apiNoticeSubscriptions},
		{"DELETE /api/v1/notices/subscriptions/{id}", true, s.apiNoticeUnsubscribe},
		{"GET /api/v1/notices/deliveries", true, s.apiNoticeDeliveries},
		{"POST /api/v1/notices/deliveries/{id}/replay", true, s.apiNoticeReplay},
		{"GET /console/{$}", false, s.consoleHome},
		{"GET /console/login", false, s.consoleLoginPage},
		{"POST /console/login", false, s.consolePost(s.consoleLogin)},
		{"POST /console/logout", false, s.consolePost(s.consoleLogout)},
		{"GET /console/lookup", false, s.consoleLookup},
		{"POST /console/lookup", false, s.consolePost(s.consoleLookupEntity)},
		{"GET /console/verify", false, s.consoleVerifyPage},
		{"POST /console/verify", false, s.consolePost(s.consoleVerify)},
		{"GET /console/history", false, s.consoleHistory},
		{"GET /console/notices", false, s.consoleNotices},
		{"POST /console/notices/deliveries/{id}/replay", false, s.consolePost(s.consoleReplay)},
		{"GET /console/archive", false, s.consoleArchive},
		{"POST /console/archive", false, s.consolePost(s.consoleArchiveLicence)},
		{"POST /console/archive/verify", false, s.consolePost(s.consoleVerifyReceipt)},

		// @catalog — catalog.go, issue 6: service catalogue and applications
		// Applications (办件) through a portal, with the person's access token (apply.go).
		{"POST /api/v1/applications", true, s.apiApplyStart},
		{"GET /api/v1/applications/{id}", true, s.apiApplication},
		{"POST /api/v1/applications/{id}/submit", true, s.apiApplySubmit},
		{"GET /api/v1/catalog/items", true, s.apiCatalogItems},
		{"GET /api/v1/catalog/items/{code}", true, s.apiCatalogItem},
		{"POST /api/v1/catalog/import", true, s.apiCatalogImport},
		{"GET /api/v1/catalog/export", true, s.apiCatalogExport},
		{"GET /admin/catalog", false, s.adminCatalog},
		{"POST /admin/catalog/import", false, s.adminCatalogImport},
		{"GET /admin/catalog/export", false, s.adminCatalogExport},

		// @stats — stats.go, issue 6: statistics
		{"GET /admin/stats", false, s.adminStats},
		{"GET /stats", false, s.publicStats},
		{"GET /api/v1/stats", true, s.apiStats},
		{"GET /api/v1/stats/summary", true, s.apiStatsSummary},

		// @present — wallet_present.go, issue 7: presentation QR, uses, lost phone
		{"GET /wallet/licences/{code}/show", false, s.walletPage(s.walletShow)},
		{"POST /wallet/licences/{code}/show/token", false, s.walletPage(s.walletShowToken)},
		{"GET /wallet/licences/{code}/uses", false, s.walletPage(s.walletUses)},
		{"GET /wallet/lost", false, s.walletPage(s.walletLostPage)},
		{"POST /wallet/lost", false, s.walletPage(s.walletLost)},

		// @sign — sign.go, issue 7: entity seals and signing
		{"POST /api/v1/signing/requests", true, s.apiSignSubmit},
		{"GET /api/v1/signing/requests/{id}", true, s.apiSignGet},
		{"GET /api/v1/signing/requests/{id}/document", true, s.apiSignDocument},
		{"GET /wallet/inbox", false, s.walletPage(s.walletInbox)},
		{"GET /wallet/sign/{id}", false, s.walletPage(s.walletSign)},
		{"GET /wallet/sign/{id}/document", false, s.walletPage(s.walletSignDocument)},
		{"POST /wallet/sign/{id}/confirm", false, s.walletPage(s.walletSignConfirm)},
		{"POST /wallet/sign/{id}/decline", false, s.walletPage(s.walletSignDecline)},
	}
}

// route wraps a handler of the table: it tells the access log and metrics which pattern
// matched, and puts the admin pages' POSTs behind the cross-origin check.
func (s *server) route(rt route) http.Handler {
	var h http.Handler = rt.h
	if strings.HasPrefix(rt.pattern, "POST /admin/") {
		h = s.xorigin.Handler(h)
	}
	pattern := rt.pattern
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rw, ok := w.(*respWriter); ok {
			rw.pattern = pattern
		}
		h.ServeHTTP(w, r)
	})
}

// isAPI reports whether errors for this request are rendered as JSON rather than as a page.
func isAPI(r *http.Request) bool {
	p := r.URL.Path
	return strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/.well-known/")
}
