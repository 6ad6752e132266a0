package identity

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/uscc"
)

// Scan-to-login (扫码登录), issue 4 item 4. The state machine, all in the Store so that any
// process may serve any step:
//
//	pending ──Scan──▶ scanned ──Confirm──▶ confirmed ──Consume──▶ consumed
//	                     └──Decline──▶ declined
//
// pending and scanned expire QRLifetime after creation, confirmed ConsumeWindow after
// confirmation. Every transition is a compare-and-set on the stored status, so of two
// concurrent confirmations (or consumptions) exactly one wins.

// maxAuthRequestID is the length limit of an authorisation request ID.
const maxAuthRequestID = 256

// minBrowserSecret is the least length of the browser binding cookie value.
const minBrowserSecret = 16

// NewLoginQR starts a scan-to-login for the browser that holds the binding cookie value
// browser (a random secret the login page sets; only its SM3 hash is stored), on behalf of the
// portal client and its OpenID Connect authorisation request. The QR code shows the returned
// ID; it is valid for QRLifetime, after which the page asks for a new one.
func (s *Service) NewLoginQR(ctx context.Context, browser string, client Client, authRequestID string) (*LoginQR, error) {
	var list errs.List
	if len(browser) < minBrowserSecret {
		list = append(list, errs.New(errs.Invalid, "browser", "浏览器会话无效，请刷新页面", "the browser session is not valid; reload the page"))
	}
	client.ID, client.Name = strings.TrimSpace(client.ID), strings.TrimSpace(client.Name)
	if client.ID == "" || client.Name == "" {
		list = append(list, errs.New(errs.Invalid, "client", "缺少请求登录的网站", "the portal asking for the login is missing"))
	}
	if authRequestID == "" || len(authRequestID) > maxAuthRequestID {
		list = append(list, errs.New(errs.Invalid, "auth_request", "登录请求无效", "the login request is not valid"))
	}
	if err := list.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	q := &LoginQR{ID: newID(), BrowserBinding: secretHash(browser), Client: client, AuthRequestID: authRequestID,
		CreatedAt: now, ExpiresAt: now.Add(QRLifetime), Status: QRPending}
	if err := s.st.CreateLoginQR(ctx, q); err != nil {
		return nil, fmt.Errorf("identity: store login qr: %w", err)
	}
	return q, nil
}

func (s *Service) loginQR(ctx context.Context, id string) (*LoginQR, error) {
	q, err := s.st.LoginQR(ctx, strings.TrimSpace(id))
	if errs.Is(err, errs.NotFound) {
		return nil, errs.New(errs.NotFound, "qr", "二维码无效，请扫描登录页面上的二维码", "this is not a valid login QR code; scan the one on the login page")
	}
	if err != nil {
		return nil, fmt.Errorf("identity: login qr: %w", err)
	}
	return q, nil
}

// The refusals of the state machine.
func errQRExpired() error {
	return errs.New(errs.Conflict, "qr", "二维码已过期，请在登录页面刷新后重新扫描", "the QR code has expired; refresh the login page and scan again")
}

func errQRUsed() error {
	return errs.New(errs.Conflict, "qr", "二维码已使用，请在登录页面刷新后重新扫描", "the QR code was already used; refresh the login page and scan again")
}

func errQRDeclined() error {
	return errs.New(errs.Conflict, "qr", "已拒绝此次登录", "this login was declined")
}

func errQROtherPerson() error {
	return errs.New(errs.Forbidden, "qr", "该二维码已被其他用户扫描", "someone else scanned this QR code")
}

func errQRMoved() error {
	return errs.New(errs.Conflict, "qr", "二维码状态已变化（可能已在其他设备上处理），请刷新", "the QR code changed meanwhile (perhaps handled on another device); reload")
}

func errQRBrowser() error {
	return errs.New(errs.Forbidden, "browser", "此二维码不属于当前浏览器", "this QR code belongs to another browser")
}

// ScanView is what the wallet shows after a scan: which portal asks, and the entities and
// roles the person can log in with.
type ScanView struct {
	QR          string
	Client      Client
	ExpiresAt   time.Time
	Choices     []*Role // entities with an active licence and a role in force
	PersonalPIN bool    // the person has set a personal PIN (administrators and agents confirm with it)
	Passkey     bool    // the person has a bound device
}

// Scan records that the person scanned the QR code and returns what to show. A person without
// any usable role is refused (errs.Forbidden) without taking the QR code, so its rightful user
// can still scan it; a code another person scanned is refused too. Scanning again is fine.
func (s *Service) Scan(ctx context.Context, qrID, personID string) (*ScanView, error) {
	q, err := s.loginQR(ctx, qrID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if err := scannable(q, personID, now); err != nil {
		return nil, err
	}
	p, err := s.person(ctx, personID)
	if err != nil {
		return nil, err
	}
	roles, err := s.roles(ctx, p, now)
	if err != nil {
		return nil, err
	}
	v := &ScanView{QR: q.ID, Client: q.Client, ExpiresAt: q.ExpiresAt, PersonalPIN: p.PINHash != ""}
	for _, r := range roles {
		if usable(r, now) {
			v.Choices = append(v.Choices, r)
		}
	}
	if len(v.Choices) == 0 {
		return nil, errs.Forbiddenf("您没有可用于登录的营业执照：请先领取执照，或请领照人给您授权", "you have no licence to log in with: claim one, or ask a holder to grant you access")
	}
	devs, err := s.devices(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	v.Passkey = len(devs) > 0
	if q.Status == QRPending {
		n := *q
		n.Status, n.PersonID, n.ScannedAt = QRScanned, p.ID, now
		if err := s.st.UpdateLoginQR(ctx, &n, QRPending, nil); err != nil {
			if !errs.Is(err, errs.Conflict) {
				return nil, fmt.Errorf("identity: scan login qr: %w", err)
			}
			// Someone scanned it meanwhile: fine if it was this person.
			if q, err = s.loginQR(ctx, qrID); err != nil {
				return nil, err
			}
			if err := scannable(q, personID, now); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

// scannable says whether personID may scan (or rescan) q at now.
func scannable(q *LoginQR, personID string, now time.Time) error {
	switch q.StatusAt(now) {
	case QRPending:
		return nil
	case QRScanned:
		if q.PersonID != personID {
			return errQROtherPerson()
		}
		return nil
	case QRExpired:
		return errQRExpired()
	case QRDeclined:
		return errQRDeclined()
	default:
		return errQRUsed()
	}
}

// confirmable says whether personID may confirm or decline q at now: it must be the person
// who scanned it, before it expires, once.
func confirmable(q *LoginQR, personID string, now time.Time) error {
	switch q.StatusAt(now) {
	case QRScanned:
		if q.PersonID != personID {
			return errQROtherPerson()
		}
		return nil
	case QRPending:
		return errs.New(errs.Conflict, "qr", "请先扫描二维码", "scan the QR code first")
	case QRExpired:
		return errQRExpired()
	case QRDeclined:
		return errQRDeclined()
	case QRConfirmed:
		if q.PersonID == personID {
			return errs.New(errs.Conflict, "qr", "此次登录已确认，不能重复确认", "this login was already confirmed")
		}
		return errQROtherPerson()
	default:
		return errQRUsed()
	}
}

// Confirm confirms the login as the person acting for entityCode, with a proof: the licence
// PIN (holder), the personal PIN (administrator, agent) or a passkey (anyone). Only the person
// who scanned the code, with a role in force for an active licence, can confirm, once, before
// it expires; of concurrent confirmations exactly one succeeds. The confirmation is recorded in
// the audit log.
func (s *Service) Confirm(ctx context.Context, qrID, personID, entityCode string, proof Proof) (*LoginQR, error) {
	q, err := s.loginQR(ctx, qrID)
	if err != nil {
		return nil, err
	}
	if err := confirmable(q, personID, s.now()); err != nil {
		return nil, err
	}
	p, err := s.person(ctx, personID)
	if err != nil {
		return nil, err
	}
	r, err := s.CanAct(ctx, p.ID, uscc.Normalize(entityCode), "", s.now())
	if err != nil {
		return nil, err
	}
	id, err := s.prove(ctx, p, r, proof)
	if err != nil {
		return nil, err
	}
	now := s.now() // the proof may have taken a while
	if err := confirmable(q, personID, now); err != nil {
		return nil, err
	}
	n := *q
	n.Status, n.EntityCode, n.Role, n.GrantID = QRConfirmed, id.EntityCode, id.Role, id.GrantID
	n.ACR, n.AMR, n.DeviceID, n.ConfirmedAt, n.ExpiresAt = id.ACR, id.AMR, id.DeviceID, now, now.Add(ConsumeWindow)
	ev := event("identity.login_confirm", p.ID, id.EntityCode, now, map[string]any{"qr": q.ID, "client": q.Client.ID,
		"client_name": q.Client.Name, "role": id.Role, "grant": id.GrantID, "acr": id.ACR, "device": id.DeviceID})
	if err := s.st.UpdateLoginQR(ctx, &n, QRScanned, &ev); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, errQRMoved()
		}
		return nil, fmt.Errorf("identity: confirm login qr: %w", err)
	}
	return &n, nil
}

// Decline lets the person who scanned the code refuse the login.
func (s *Service) Decline(ctx context.Context, qrID, personID string) error {
	q, err := s.loginQR(ctx, qrID)
	if err != nil {
		return err
	}
	if err := confirmable(q, personID, s.now()); err != nil {
		return err
	}
	n := *q
	n.Status = QRDeclined
	if err := s.st.UpdateLoginQR(ctx, &n, QRScanned, nil); err != nil {
		if errs.Is(err, errs.Conflict) {
			return errQRMoved()
		}
		return fmt.Errorf("identity: decline login qr: %w", err)
	}
	return nil
}

// QRState is what the waiting browser learns when it polls.
type QRState struct {
	Status    QRStatus // effective status (QRExpired once past ExpiresAt)
	ExpiresAt time.Time
}

// bound loads q and checks that browser is the binding it was created for.
func (s *Service) bound(ctx context.Context, qrID, browser string) (*LoginQR, error) {
	q, err := s.loginQR(ctx, qrID)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(secretHash(browser), q.BrowserBinding) != 1 {
		return nil, errQRBrowser()
	}
	return q, nil
}

// Poll returns the state of the QR code to the browser that shows it (any other browser is
// errs.Forbidden).
func (s *Service) Poll(ctx context.Context, qrID, browser string) (*QRState, error) {
	q, err := s.bound(ctx, qrID, browser)
	if err != nil {
		return nil, err
	}
	return &QRState{Status: q.StatusAt(s.now()), ExpiresAt: q.ExpiresAt}, nil
}

// Consume hands the confirmed identity to the browser that shows the QR code, exactly once:
// a second call, another browser, an unconfirmed, declined or expired code, or a role revoked
// since the confirmation all fail.
func (s *Service) Consume(ctx context.Context, qrID, browser string) (*Identity, error) {
	q, err := s.bound(ctx, qrID, browser)
	if err != nil {
		return nil, err
	}
	now := s.now()
	switch q.StatusAt(now) {
	case QRConfirmed:
	case QRPending, QRScanned:
		return nil, errs.New(errs.Conflict, "qr", "尚未在手机上确认登录", "the login has not been confirmed on the phone yet")
	case QRDeclined:
		return nil, errs.New(errs.Forbidden, "qr", "用户已拒绝此次登录", "the login was declined")
	case QRExpired:
		return nil, errQRExpired()
	default:
		return nil, errQRUsed()
	}
	r, err := s.CanAct(ctx, q.PersonID, q.EntityCode, "", now)
	if err != nil {
		return nil, err
	}
	if r.Kind != q.Role || r.Grant != nil && r.Grant.ID != q.GrantID {
		return nil, errs.Forbiddenf("授权已变更，请重新扫码登录", "the grant changed; scan again to log in")
	}
	n := *q
	n.Status, n.ConsumedAt = QRConsumed, now
	if err := s.st.UpdateLoginQR(ctx, &n, QRConfirmed, nil); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, errQRUsed()
		}
		return nil, fmt.Errorf("identity: consume login qr: %w", err)
	}
	return &Identity{PersonID: q.PersonID, EntityCode: q.EntityCode, Role: q.Role, GrantID: q.GrantID, ACR: q.ACR,
		AMR: q.AMR, DeviceID: q.DeviceID, AuthTime: q.ConfirmedAt, ClientID: q.Client.ID, AuthRequestID: q.AuthRequestID}, nil
}
