package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/present"
	"github.com/elicense/elicense/internal/uscc"
)

// The wallet's pages (issue 4 items 2–5, phone side). Each handler parses the request, makes
// its identity.Service call and renders the result; a form whose input the service refuses is
// shown again with the message next to the field.

// signinPage is the content of the sign-in page (the wallet's home when signed out).
type signinPage struct {
	Next    string // where to go after signing in; "" for the wallet's home
	Phone   string
	Problem *problem
	Errors  map[string]string
}

// nextOf returns the page to come back to after signing in, "" for the wallet's home.
func nextOf(v string) string {
	if n := safeWalletNext(v); n != walletPath {
		return n
	}
	return ""
}

// walletHome answers GET /wallet/: the sign-in page, or the signed-in person's licences.
func (s *server) walletHome(w http.ResponseWriter, r *http.Request) {
	u, err := s.walletSession(w, r)
	if err != nil {
		s.walletError(w, r, nil, err)
		return
	}
	if u == nil {
		s.walletRender(w, r, http.StatusOK, "signin", "signin.title", nil,
			&walletData{Page: &signinPage{Next: nextOf(r.URL.Query().Get("next"))}})
		return
	}
	d, err := s.homeOf(r.Context(), u)
	if err == nil {
		d.Inbox, err = s.inboxCount(r, u)
	}
	if err != nil {
		s.walletError(w, r, u, err)
		return
	}
	s.walletRender(w, r, http.StatusOK, "home", "home.title", u, &walletData{Nav: "home", Page: d})
}

// homePage is the content of the signed-in home page.
type homePage struct {
	Held      []heldView
	Roles     []roleView // administrator and agent roles
	Claimable []*license.Licence
	Devices   int
	Inbox     int // items waiting in the inbox (sign.go)
}

// heldView is a held licence on the home page.
type heldView struct {
	Code, Name string
	Valid      bool
	Reason     names
}

// roleView is an administrator or agent role on the home page.
type roleView struct {
	Code, Name, RoleKey string
	All                 bool
	Items, Until        string
	Usable              bool
	Status              license.Status
}

func (s *server) homeOf(ctx context.Context, u *walletUser) (*homePage, error) {
	id := s.Identity
	hs, err := id.Holdings(ctx, u.p.ID)
	if err != nil {
		return nil, err
	}
	roles, err := id.Roles(ctx, u.p.ID)
	if err != nil {
		return nil, err
	}
	claimable, err := id.Claimable(ctx, u.p.ID)
	if err != nil {
		return nil, err
	}
	devs, err := id.Devices(ctx, u.p.ID)
	if err != nil {
		return nil, err
	}
	d := &homePage{Claimable: claimable, Devices: len(devs)}
	for _, h := range hs {
		d.Held = append(d.Held, heldView{Code: h.Licence.Code, Name: h.Licence.Face.Name, Valid: h.Valid,
			Reason: names{h.ReasonZH, h.ReasonEN}})
	}
	now := s.now()
	for _, r := range roles {
		if r.Grant == nil {
			continue
		}
		g := r.Grant
		v := roleView{Code: r.Licence.Code, Name: r.Licence.Face.Name, RoleKey: "role." + string(r.Kind),
			All: g.AllItems, Items: strings.Join(g.Items, ", "), Status: r.Licence.Status,
			Usable: r.Licence.Status == license.Active && g.InForceAt(now)}
		if !g.ValidUntil.IsZero() {
			v.Until = lastDay(g.ValidUntil).In(chinaTime).Format(time.DateOnly)
		}
		d.Roles = append(d.Roles, v)
	}
	return d, nil
}

// codePage is the content of the one-time code page.
type codePage struct {
	CodeID    string
	Phone     string // masked
	Purpose   string // "register" or "login"
	ExpiresAt time.Time
	Next      string
	Problem   *problem
	Errors    map[string]string
}

func (s *server) renderCode(w http.ResponseWriter, r *http.Request, status int, d *codePage) {
	s.walletRender(w, r, status, "code", "code.title", nil, &walletData{Page: d})
}

// walletLogin answers POST /wallet/login: send a one-time code to a registered phone.
func (s *server) walletLogin(w http.ResponseWriter, r *http.Request) {
	if !s.preForm(w, r) {
		return
	}
	f := r.PostForm
	next := nextOf(f.Get("next"))
	err := s.walletLimit(r, oidc.LimitWalletStart)
	var pend *identity.Pending
	if err == nil {
		pend, err = s.Identity.StartLogin(r.Context(), f.Get("phone"))
	}
	if err != nil {
		p, fe, ok := s.formProblem(w, r, nil, err)
		if ok {
			s.walletRender(w, r, p.Status, "signin", "signin.title", nil,
				&walletData{Page: &signinPage{Next: next, Phone: f.Get("phone"), Problem: p, Errors: fe}})
		}
		return
	}
	s.renderCode(w, r, http.StatusOK, &codePage{CodeID: pend.CodeID, Phone: pend.Phone, Purpose: string(identity.PurposeLogin),
		ExpiresAt: pend.ExpiresAt, Next: next})
}

// registerPage is the content of the registration page.
type registerPage struct {
	Next, Name, IDNumber, Phone string
	Problem                     *problem
	Errors                      map[string]string
}

// walletRegisterPage answers GET /wallet/register.
func (s *server) walletRegisterPage(w http.ResponseWriter, r *http.Request) {
	u, err := s.walletSession(w, r)
	if err != nil {
		s.walletError(w, r, nil, err)
		return
	}
	if u != nil {
		http.Redirect(w, r, walletPath, http.StatusSeeOther)
		return
	}
	s.walletRender(w, r, http.StatusOK, "register", "register.title", nil,
		&walletData{Page: &registerPage{Next: nextOf(r.URL.Query().Get("next"))}})
}

// walletRegister answers POST /wallet/register: validate, check the real name, send a code.
func (s *server) walletRegister(w http.ResponseWriter, r *http.Request) {
	if !s.preForm(w, r) {
		return
	}
	f := r.PostForm
	d := &registerPage{Next: nextOf(f.Get("next")), Name: f.Get("name"), IDNumber: f.Get("id_number"), Phone: f.Get("phone")}
	err := s.walletLimit(r, oidc.LimitWalletStart)
	var pend *identity.Pending
	if err == nil {
		pend, err = s.Identity.Register(r.Context(), d.Name, d.IDNumber, d.Phone)
	}
	if err != nil {
		p, fe, ok := s.formProblem(w, r, nil, err)
		if ok {
			d.Problem, d.Errors = p, fe
			s.walletRender(w, r, p.Status, "register", "register.title", nil, &walletData{Page: d})
		}
		return
	}
	s.renderCode(w, r, http.StatusOK, &codePage{CodeID: pend.CodeID, Phone: pend.Phone, Purpose: string(identity.PurposeRegister),
		ExpiresAt: pend.ExpiresAt, Next: d.Next})
}

// walletCode answers POST /wallet/code: check the one-time code and sign in.
func (s *server) walletCode(w http.ResponseWriter, r *http.Request) {
	if !s.preForm(w, r) {
		return
	}
	f := r.PostForm
	d := &codePage{CodeID: f.Get("code_id"), Phone: f.Get("phone"), Purpose: f.Get("purpose"), Next: nextOf(f.Get("next"))}
	err := s.walletLimit(r, oidc.LimitWalletCode)
	var in *identity.SignIn
	if err == nil {
		in, err = s.Identity.ConfirmPhone(r.Context(), d.CodeID, f.Get("code"))
	}
	if err != nil {
		p, fe, ok := s.formProblem(w, r, nil, err)
		if ok {
			d.Problem, d.Errors = p, fe
			s.renderCode(w, r, p.Status, d)
		}
		return
	}
	s.signInWallet(w, in)
	to := d.Next
	if to == "" {
		to = "/wallet/?done=signedin"
		if d.Purpose == string(identity.PurposeRegister) {
			to = "/wallet/?done=registered"
		}
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// walletResend answers POST /wallet/code/resend: a new code replaces the previous one.
func (s *server) walletResend(w http.ResponseWriter, r *http.Request) {
	if !s.preForm(w, r) {
		return
	}
	f := r.PostForm
	d := &codePage{CodeID: f.Get("code_id"), Phone: f.Get("phone"), Purpose: f.Get("purpose"), Next: nextOf(f.Get("next"))}
	err := s.walletLimit(r, oidc.LimitWalletStart)
	var pend *identity.Pending
	if err == nil {
		pend, err = s.Identity.ResendCode(r.Context(), d.CodeID)
	}
	if err != nil {
		p, fe, ok := s.formProblem(w, r, nil, err)
		if ok {
			d.Problem, d.Errors = p, fe
			s.renderCode(w, r, p.Status, d)
		}
		return
	}
	d.CodeID, d.Phone, d.ExpiresAt = pend.CodeID, pend.Phone, pend.ExpiresAt
	s.renderCode(w, r, http.StatusOK, d)
}

// walletLoginOptions answers POST /wallet/passkey/login-options (script): the options of a
// discoverable passkey sign-in.
func (s *server) walletLoginOptions(w http.ResponseWriter, r *http.Request) {
	if !validPre(r, r.Header.Get(walletCSRFHeader)) {
		s.apiError(w, r, errCSRF)
		return
	}
	c, err := s.Identity.BeginPasskeyLogin(r.Context())
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	walletJSON(w, challengeOf(c))
}

// walletPasskeyLogin answers POST /wallet/passkey/login: the script posts the assertion.
func (s *server) walletPasskeyLogin(w http.ResponseWriter, r *http.Request) {
	if !s.preForm(w, r) {
		return
	}
	f := r.PostForm
	next := nextOf(f.Get("next"))
	err := s.walletLimit(r, oidc.LimitWalletCode)
	var in *identity.SignIn
	if err == nil {
		in, err = s.Identity.PasskeyLogin(r.Context(), f.Get("ceremony"), []byte(f.Get("response")))
	}
	if err != nil {
		p, fe, ok := s.formProblem(w, r, nil, err)
		if ok {
			s.walletRender(w, r, p.Status, "signin", "signin.title", nil,
				&walletData{Page: &signinPage{Next: next, Problem: p, Errors: fe}})
		}
		return
	}
	s.signInWallet(w, in)
	if next == "" {
		next = "/wallet/?done=signedin"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// walletConfirmOptions answers POST /wallet/passkey/confirm-options (script): the options of
// a passkey confirmation by one of the person's devices (the Proof of a form).
func (s *server) walletConfirmOptions(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAPIAuth(w, r)
	if !ok {
		return
	}
	c, err := s.Identity.BeginPasskey(r.Context(), u.p.ID)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	walletJSON(w, challengeOf(c))
}

// walletLogout answers POST /wallet/logout.
func (s *server) walletLogout(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	c, _ := r.Cookie(walletCookie) // present: walletAuth found the session
	if err := s.Identity.EndSession(r.Context(), c.Value); err != nil {
		s.walletError(w, r, u, err)
		return
	}
	s.setWalletCookie(w, walletCookie, "", -1)
	http.Redirect(w, r, walletPath, http.StatusSeeOther)
}

// realNamePage is the content of the real-name verification page.
type realNamePage struct {
	Next    string
	Problem *problem
	Errors  map[string]string
}

// walletRealNamePage answers GET /wallet/realname.
func (s *server) walletRealNamePage(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	s.walletRender(w, r, http.StatusOK, "realname", "realname.title", u,
		&walletData{Nav: "home", Page: &realNamePage{Next: nextOf(r.URL.Query().Get("next"))}})
}

// walletRealName answers POST /wallet/realname: re-enter the ID number; a passed check
// rotates the session.
func (s *server) walletRealName(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	d := &realNamePage{Next: nextOf(r.PostForm.Get("next"))}
	in, err := s.Identity.VerifyRealName(r.Context(), u.sess, r.PostForm.Get("id_number"))
	if err != nil {
		p, fe, ok := s.formProblem(w, r, u, err)
		if ok {
			d.Problem, d.Errors = p, fe
			s.walletRender(w, r, p.Status, "realname", "realname.title", u, &walletData{Nav: "home", Page: d})
		}
		return
	}
	s.signInWallet(w, in)
	to := d.Next
	if to == "" {
		to = "/wallet/?done=realname"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// claimPage is the content of the claim page.
type claimPage struct {
	Licences []*license.Licence
	Failed   string // the credit code whose form the problem is about
	Problem  *problem
	Errors   map[string]string
}

// ErrorsFor returns the field errors of the form of the licence code.
func (c *claimPage) ErrorsFor(code string) map[string]string {
	if code == c.Failed {
		return c.Errors
	}
	return nil
}

// walletClaimPage answers GET /wallet/claim: the licences that name the person.
func (s *server) walletClaimPage(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	s.renderClaim(w, r, u, http.StatusOK, &claimPage{})
}

func (s *server) renderClaim(w http.ResponseWriter, r *http.Request, u *walletUser, status int, d *claimPage) {
	lics, err := s.Identity.Claimable(r.Context(), u.p.ID)
	if err != nil {
		s.walletError(w, r, u, err)
		return
	}
	d.Licences = lics
	s.walletRender(w, r, status, "claim", "claim.title", u, &walletData{Nav: "home", Page: d})
}

// walletClaim answers POST /wallet/claim: claim a licence (领照), setting its PIN (typed twice).
func (s *server) walletClaim(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	f := r.PostForm
	code := uscc.Normalize(f.Get("code"))
	var err error
	if !sameSecret(f.Get("pin"), f.Get("pin2")) {
		err = errPINMismatch("pin2")
	} else {
		_, err = s.Identity.Claim(r.Context(), u.p.ID, code, f.Get("pin"))
	}
	if err != nil {
		p, fe, ok := s.formProblem(w, r, u, err)
		if ok {
			s.renderClaim(w, r, u, p.Status, &claimPage{Failed: code, Problem: p, Errors: fe})
		}
		return
	}
	http.Redirect(w, r, "/wallet/licences/"+url.PathEscape(code)+"?done=claim", http.StatusSeeOther)
}

// pinPage is the content of the personal PIN page.
type pinPage struct {
	NeedCurrent bool
	Problem     *problem
	Errors      map[string]string
}

// walletPINPage answers GET /wallet/pin.
func (s *server) walletPINPage(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	s.walletRender(w, r, http.StatusOK, "pin", "pin.title", u, &walletData{Nav: "me", Page: s.pinPageOf(u)})
}

// pinPageOf: the current personal PIN is asked for unless there is none yet or the session was
// opened with a passkey (identity.Service.SetPersonalPIN).
func (s *server) pinPageOf(u *walletUser) *pinPage {
	return &pinPage{NeedCurrent: u.p.PINHash != "" && u.sess.DeviceID == ""}
}

// walletPIN answers POST /wallet/pin: set or change the personal PIN.
func (s *server) walletPIN(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	f := r.PostForm
	var err error
	if !sameSecret(f.Get("new_pin"), f.Get("new_pin2")) {
		err = errPINMismatch("new_pin2")
	} else {
		if err = s.walletLimit(r, oidc.LimitConfirm); err == nil {
			err = s.Identity.SetPersonalPIN(r.Context(), u.sess, f.Get("pin"), f.Get("new_pin"))
		}
	}
	if err != nil {
		p, fe, ok := s.formProblem(w, r, u, err)
		if ok {
			d := s.pinPageOf(u)
			d.Problem, d.Errors = p, fe
			s.walletRender(w, r, p.Status, "pin", "pin.title", u, &walletData{Nav: "me", Page: d})
		}
		return
	}
	http.Redirect(w, r, "/wallet/pin?done=pin", http.StatusSeeOther)
}

// devicesPage is the content of the devices page.
type devicesPage struct {
	Devices      []*identity.Device
	Current      string // the device that opened this session
	NeedRealName bool   // binding or removing needs a passkey session or a fresh real-name check
	Name         string
	Problem      *problem
	Errors       map[string]string
}

// walletDevicesPage answers GET /wallet/devices.
func (s *server) walletDevicesPage(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	s.renderDevices(w, r, u, http.StatusOK, &devicesPage{})
}

func (s *server) renderDevices(w http.ResponseWriter, r *http.Request, u *walletUser, status int, d *devicesPage) {
	devs, err := s.Identity.Devices(r.Context(), u.p.ID)
	if err != nil {
		s.walletError(w, r, u, err)
		return
	}
	d.Devices, d.Current = devs, u.sess.DeviceID
	fresh := !u.sess.RealNameAt.IsZero() && s.now().Before(u.sess.RealNameAt.Add(identity.RealNameFreshFor))
	d.NeedRealName = len(devs) > 0 && u.sess.DeviceID == "" && !fresh
	if d.Name == "" {
		d.Name = walletText("devices.default", langOf(r))
	}
	s.walletRender(w, r, status, "devices", "devices.title", u, &walletData{Nav: "devices", Page: d})
}

// walletDeviceOptions answers POST /wallet/devices/options (script): the options of
// navigator.credentials.create for binding this phone.
func (s *server) walletDeviceOptions(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAPIAuth(w, r)
	if !ok {
		return
	}
	c, err := s.Identity.BeginDeviceRegistration(r.Context(), u.sess)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	walletJSON(w, challengeOf(c))
}

// walletBindDevice answers POST /wallet/devices: the script posts the new credential.
func (s *server) walletBindDevice(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	f := r.PostForm
	if _, err := s.Identity.FinishDeviceRegistration(r.Context(), u.sess, f.Get("ceremony"), f.Get("device_name"),
		[]byte(f.Get("response"))); err != nil {
		p, fe, ok := s.formProblem(w, r, u, err)
		if ok {
			if v, dup := fe["name"]; dup {
				fe["device_name"] = v
			}
			s.renderDevices(w, r, u, p.Status, &devicesPage{Name: f.Get("device_name"), Problem: p, Errors: fe})
		}
		return
	}
	http.Redirect(w, r, "/wallet/devices?done=device", http.StatusSeeOther)
}

// walletRemoveDevice answers POST /wallet/devices/{id}/remove (a lost phone).
func (s *server) walletRemoveDevice(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := s.Identity.RemoveDevice(r.Context(), u.sess, id); err != nil {
		p, fe, ok := s.formProblem(w, r, u, err)
		if ok {
			s.renderDevices(w, r, u, p.Status, &devicesPage{Problem: p, Errors: fe})
		}
		return
	}
	if id == u.sess.DeviceID {
		// The session was opened with the removed device and has ended with it.
		s.setWalletCookie(w, walletCookie, "", -1)
		http.Redirect(w, r, "/wallet/?done=removed", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/wallet/devices?done=removed", http.StatusSeeOther)
}

// licencePage is the content of a licence's page in the wallet.
type licencePage struct {
	Licence *license.Licence
	View    *licenceView
	RoleKey string
	Holder  bool
	Grant   *identity.Grant
	Valid   bool
	Reason  names
	Manage  bool // holder or administrator of a usable licence: may manage grants
	Devices int
	// FreshRealName: the session passed real-name verification recently, so the licence PIN
	// may be reset (identity.Service.ResetPIN decides).
	FreshRealName bool
	Form          string // the PIN form the problem is about: "change" or "reset"
	Problem       *problem
	Errors        map[string]string
}

// ErrorsOf returns the field errors of the PIN form named form.
func (l *licencePage) ErrorsOf(form string) map[string]string {
	if form == l.Form {
		return l.Errors
	}
	return nil
}

// walletLicence answers GET /wallet/licences/{code}.
func (s *server) walletLicence(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	s.renderLicence(w, r, u, http.StatusOK, nil, nil, "")
}

// renderLicence shows the licence of the path as the person holds it, or as the role they have
// for it (the holding, or CanAct for the reason a role cannot be used now).
func (s *server) renderLicence(w http.ResponseWriter, r *http.Request, u *walletUser, status int, p *problem, fe map[string]string, form string) {
	ctx := r.Context()
	code := uscc.Normalize(r.PathValue("code"))
	d := &licencePage{Problem: p, Errors: fe, Form: form}
	d.FreshRealName = !u.sess.RealNameAt.IsZero() && s.now().Before(u.sess.RealNameAt.Add(identity.RealNameFreshFor))
	h, err := s.Identity.Holding(ctx, u.p.ID, code)
	switch {
	case err == nil:
		d.Licence, d.RoleKey, d.Holder, d.Valid = h.Licence, "role.holder", true, h.Valid
		d.Reason, d.Manage = names{h.ReasonZH, h.ReasonEN}, h.Valid
	case errs.Is(err, errs.NotFound):
		roles, err := s.Identity.Roles(ctx, u.p.ID)
		if err != nil {
			s.walletError(w, r, u, err)
			return
		}
		for _, x := range roles {
			if x.Licence.Code == code && x.Grant != nil {
				d.Licence, d.RoleKey, d.Grant = x.Licence, "role."+string(x.Kind), x.Grant
			}
		}
		if d.Licence == nil {
			s.walletError(w, r, u, errs.New(errs.NotFound, "entity", "您没有领取该执照，也没有该市场主体的授权", "you neither hold this licence nor have a grant for the entity"))
			return
		}
		_, err = s.Identity.CanAct(ctx, u.p.ID, code, "", s.now())
		switch e := errs.As(err); {
		case err == nil:
			d.Valid, d.Manage = true, d.Grant.Role == identity.RoleAdministrator
		case e != nil && e.Kind == errs.Forbidden:
			d.Reason = names{e.ZH, e.EN}
		default:
			s.walletError(w, r, u, err)
			return
		}
	default:
		s.walletError(w, r, u, err)
		return
	}
	v := viewOf(d.Licence)
	d.View = &v
	devs, err := s.Identity.Devices(ctx, u.p.ID)
	if err != nil {
		s.walletError(w, r, u, err)
		return
	}
	d.Devices = len(devs)
	pd := &walletData{Nav: "home", Page: d}
	s.walletRender(w, r, status, "licence", "licence.title", u, pd)
}

// walletLicencePIN answers POST /wallet/licences/{code}/pin: change the licence PIN.
func (s *server) walletLicencePIN(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	f := r.PostForm
	code := uscc.Normalize(r.PathValue("code"))
	var err error
	if !sameSecret(f.Get("new_pin"), f.Get("new_pin2")) {
		err = errPINMismatch("new_pin2")
	} else {
		if err = s.walletLimit(r, oidc.LimitConfirm); err == nil {
			err = s.Identity.ChangePIN(r.Context(), u.p.ID, code, f.Get("pin"), f.Get("new_pin"))
		}
	}
	if err != nil {
		p, fe, ok := s.formProblem(w, r, u, err)
		if ok {
			s.renderLicence(w, r, u, p.Status, p, fe, "change")
		}
		return
	}
	http.Redirect(w, r, "/wallet/licences/"+url.PathEscape(code)+"?done=pin", http.StatusSeeOther)
}

// walletResetPIN answers POST /wallet/licences/{code}/pin/reset: a holder who forgot the
// licence PIN sets a new one (and lifts a lock) after verifying their real name again.
func (s *server) walletResetPIN(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	f := r.PostForm
	code := uscc.Normalize(r.PathValue("code"))
	var err error
	if !sameSecret(f.Get("new_pin"), f.Get("new_pin2")) {
		err = errPINMismatch("new_pin2")
	} else {
		err = s.Identity.ResetPIN(r.Context(), u.sess, code, f.Get("new_pin"))
	}
	if err != nil {
		p, fe, ok := s.formProblem(w, r, u, err)
		if ok {
			s.renderLicence(w, r, u, p.Status, p, fe, "reset")
		}
		return
	}
	http.Redirect(w, r, "/wallet/licences/"+url.PathEscape(code)+"?done=pin", http.StatusSeeOther)
}

// membersPage is the content of the page that manages who may use a licence.
type membersPage struct {
	Members  *identity.Members
	Rows     []memberRow
	IsHolder bool
	Passkey  bool   // the person has a bound device
	PINLabel string // the PIN the person confirms with
	Appoint  grantForm
	Grant    grantForm
	Form     string // the form the problem is about: "appoint", "grant" or "revoke"
	Problem  *problem
	Errors   map[string]string
	Uses     map[string][]present.Use // person ID → their last uses (wallet_present.go)
}

// ErrorsOf returns the field errors of the form named form.
func (m *membersPage) ErrorsOf(form string) map[string]string {
	if form == m.Form {
		return m.Errors
	}
	return nil
}

// grantForm is what was typed into the appointment or grant form.
type grantForm struct {
	Name, IDNumber, Items, From, Until string
	All                                bool
}

// memberRow is one appointment or grant in the list.
type memberRow struct {
	Name, Phone       string
	Grant             *identity.Grant
	RoleKey, StateKey string
	Tone              string // badge style: ok, bad, warn
	Items             string
	Revocable         bool
}

// walletMembers answers GET /wallet/licences/{code}/members.
func (s *server) walletMembers(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	s.renderMembers(w, r, u, http.StatusOK, &membersPage{})
}

func (s *server) renderMembers(w http.ResponseWriter, r *http.Request, u *walletUser, status int, d *membersPage) {
	ctx := r.Context()
	m, err := s.Identity.Members(ctx, u.p.ID, r.PathValue("code"))
	if err != nil {
		s.walletError(w, r, u, err)
		return
	}
	devs, err := s.Identity.Devices(ctx, u.p.ID)
	if err != nil {
		s.walletError(w, r, u, err)
		return
	}
	d.Members, d.Passkey = m, len(devs) > 0
	d.IsHolder = m.Holder != nil && m.Holder.PersonID == u.p.ID
	d.PINLabel = "scan.pin.own"
	if d.IsHolder {
		d.PINLabel = "scan.pin.holder"
	}
	now := s.now()
	for _, g := range m.Grants {
		row := memberRow{Name: g.Name, Phone: g.Phone, Grant: g.Grant, RoleKey: "role." + string(g.Grant.Role),
			Items: strings.Join(g.Grant.Items, ", ")}
		switch gr := g.Grant; {
		case gr.Revoked():
			row.StateKey, row.Tone = "grant.state.revoked", "bad"
		case !gr.ValidUntil.IsZero() && !now.Before(gr.ValidUntil):
			row.StateKey, row.Tone = "grant.state.ended", "warn"
		case now.Before(gr.ValidFrom):
			row.StateKey, row.Tone = "grant.state.future", "warn"
			row.Revocable = gr.Role == identity.RoleAgent || d.IsHolder
		default:
			row.StateKey, row.Tone = "grant.state.active", "ok"
			row.Revocable = gr.Role == identity.RoleAgent || d.IsHolder
		}
		d.Rows = append(d.Rows, row)
	}
	d.Uses = s.memberUses(w, r, u, m)
	s.walletRender(w, r, status, "members", "members.title", u, &walletData{Nav: "home", Page: d})
}

// membersFailed shows the members page again with the problem of one of its forms.
func (s *server) membersFailed(w http.ResponseWriter, r *http.Request, u *walletUser, err error, d *membersPage) {
	p, fe, ok := s.formProblem(w, r, u, err)
	if !ok {
		return
	}
	for k, v := range fe {
		if strings.HasPrefix(k, "items[") {
			fe["items"] = v
		}
	}
	d.Problem, d.Errors = p, fe
	s.renderMembers(w, r, u, p.Status, d)
}

func membersURL(code, done string) string {
	return "/wallet/licences/" + url.PathEscape(uscc.Normalize(code)) + "/members?done=" + done
}

// walletAppoint answers POST /wallet/licences/{code}/administrators (holder).
func (s *server) walletAppoint(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	f := r.PostForm
	code := r.PathValue("code")
	form := grantForm{Name: f.Get("name"), IDNumber: f.Get("id_number")}
	err := s.walletLimit(r, oidc.LimitConfirm)
	if err == nil {
		_, err = s.Identity.Appoint(r.Context(), u.p.ID, code, form.Name, form.IDNumber, proofOf(r))
	}
	if err != nil {
		s.membersFailed(w, r, u, err, &membersPage{Form: "appoint", Appoint: form})
		return
	}
	http.Redirect(w, r, membersURL(code, "appoint"), http.StatusSeeOther)
}

// walletGrant answers POST /wallet/licences/{code}/agents (holder or administrator). The
// period is typed as days in China time; the last day is included.
func (s *server) walletGrant(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	f := r.PostForm
	code := r.PathValue("code")
	form := grantForm{Name: f.Get("name"), IDNumber: f.Get("id_number"), Items: f.Get("items"), From: f.Get("from"),
		Until: f.Get("until"), All: f.Get("all") != ""}
	req := identity.AgentGrant{Name: form.Name, IDNumber: form.IDNumber, AllItems: form.All, Items: splitItems(form.Items)}
	var list errs.List
	req.From, req.Until = dayStart(&list, "from", form.From), dayEnd(&list, "until", form.Until)
	err := list.Err()
	if err == nil {
		err = s.walletLimit(r, oidc.LimitConfirm)
	}
	if err == nil {
		_, err = s.Identity.GrantAgent(r.Context(), u.p.ID, code, req, proofOf(r))
	}
	if err != nil {
		s.membersFailed(w, r, u, err, &membersPage{Form: "grant", Grant: form})
		return
	}
	http.Redirect(w, r, membersURL(code, "grant"), http.StatusSeeOther)
}

// walletRevoke answers POST /wallet/licences/{code}/grants/{id}/revoke.
func (s *server) walletRevoke(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	code := r.PathValue("code")
	err := s.walletLimit(r, oidc.LimitConfirm)
	if err == nil {
		err = s.Identity.Revoke(r.Context(), u.p.ID, code, r.PathValue("id"), proofOf(r))
	}
	if err != nil {
		s.membersFailed(w, r, u, err, &membersPage{Form: "revoke"})
		return
	}
	http.Redirect(w, r, membersURL(code, "revoke"), http.StatusSeeOther)
}

// scanPage is the content of the page a scanned login QR opens.
type scanPage struct {
	View     *identity.ScanView
	Choices  []scanChoice
	PINLabel string // the PIN the choices confirm with
	PINHint  bool   // holder and other roles mixed: say which PIN is which
	NoPIN    bool   // a role needs the personal PIN, which is not set
	Problem  *problem
	Errors   map[string]string
}

// scanChoice is an entity the person can log in for.
type scanChoice struct {
	Code, Name, RoleKey, Items string
	Grant                      *identity.Grant
	Checked                    bool
}

// walletScan answers GET /wallet/scan/{qr}: the address the login QR code carries. It records
// the scan and shows which portal asks.
func (s *server) walletScan(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	v, err := s.Identity.Scan(r.Context(), r.PathValue("qr"), u.p.ID)
	if err != nil {
		s.walletError(w, r, u, err)
		return
	}
	s.renderScan(w, r, u, http.StatusOK, v, "", nil, nil)
}

func (s *server) renderScan(w http.ResponseWriter, r *http.Request, u *walletUser, status int, v *identity.ScanView, picked string, p *problem, fe map[string]string) {
	d := &scanPage{View: v, Problem: p, Errors: fe}
	holders, others := 0, 0
	for i, c := range v.Choices {
		ch := scanChoice{Code: c.Licence.Code, Name: c.Licence.Face.Name, RoleKey: "role." + string(c.Kind), Grant: c.Grant}
		if c.Grant != nil {
			ch.Items = strings.Join(c.Grant.Items, ", ")
		}
		ch.Checked = picked == ch.Code || picked == "" && i == 0
		if c.Kind == identity.RoleHolder {
			holders++
		} else {
			others++
		}
		d.Choices = append(d.Choices, ch)
	}
	switch {
	case others == 0:
		d.PINLabel = "scan.pin.holder"
	case holders == 0:
		d.PINLabel = "scan.pin.own"
	default:
		d.PINLabel, d.PINHint = "scan.pin", true
	}
	d.NoPIN = others > 0 && !v.PersonalPIN
	s.walletRender(w, r, status, "scan", "scan.title", u, &walletData{Page: d})
}

// scanDonePage is the content of the page after a confirmation or a decline.
type scanDonePage struct {
	Confirmed bool
	Client    *identity.Client
	Entity    string
}

// walletScanConfirm answers POST /wallet/scan/{qr}/confirm: confirm the login for the chosen
// entity with the PIN or a passkey.
func (s *server) walletScanConfirm(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	qr, entity := r.PathValue("qr"), r.PostForm.Get("entity")
	var q *identity.LoginQR
	var err error
	if strings.TrimSpace(entity) == "" {
		err = errs.New(errs.Invalid, "entity", "请选择以哪个市场主体的身份登录", "choose the entity to log in for")
	} else if err = s.walletLimit(r, oidc.LimitConfirm); err == nil {
		q, err = s.Identity.Confirm(ctx, qr, u.p.ID, entity, proofOf(r))
	}
	if err != nil {
		// A wrong PIN can be corrected on the page; a QR code that can no longer be
		// confirmed (expired, used, someone else's) cannot, and its error is the page.
		v, serr := s.Identity.Scan(ctx, qr, u.p.ID)
		if serr != nil {
			s.walletError(w, r, u, err)
			return
		}
		p, fe, ok := s.formProblem(w, r, u, err)
		if ok {
			s.renderScan(w, r, u, p.Status, v, uscc.Normalize(entity), p, fe)
		}
		return
	}
	s.walletRender(w, r, http.StatusOK, "scan_done", "scan.title", u,
		&walletData{Page: &scanDonePage{Confirmed: true, Client: &q.Client, Entity: q.EntityCode}})
}

// walletScanDecline answers POST /wallet/scan/{qr}/decline.
func (s *server) walletScanDecline(w http.ResponseWriter, r *http.Request) {
	u, ok := s.walletAuth(w, r)
	if !ok {
		return
	}
	if err := s.Identity.Decline(r.Context(), r.PathValue("qr"), u.p.ID); err != nil {
		s.walletError(w, r, u, err)
		return
	}
	s.walletRender(w, r, http.StatusOK, "scan_done", "scan.title", u, &walletData{Page: &scanDonePage{}})
}
