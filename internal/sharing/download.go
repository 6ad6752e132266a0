package sharing

// Downloads of watermarked copies (加注件, STANDARDS §7): a department with the download
// permission and the entity's authorisation gets a one-time URL valid 10 minutes; the platform
// keeps only the SM3 hash of its random 32-byte token, in the database, so that any process
// serves it. Fetching it renders the copy (Copier) with the caller, use cause, service item,
// case and time, once. The download and the fetch are both usage records.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/sharing/consent"
)

// Download lifetimes.
const (
	DownloadLifetime = 10 * time.Minute    // a download URL is valid this long, for one fetch
	CopyValidity     = 30 * 24 * time.Hour // what a copy's mark states as its validity
)

// CopyMark is what the watermark and the metadata of a copy (加注件) carry.
type CopyMark struct {
	ID         string    // the download's ID
	Caller     string    // the department's client ID
	CallerName string    // and its name
	Cause      string    // 用证事由
	Item       string    // 事项编码
	Case       string    // 办件编号
	At         time.Time // when the copy was made
	Expires    time.Time // until when the copy serves (At + CopyValidity)
}

// Copier renders a watermarked copy of a licence version in a format ("ofd" or "pdf"). One that
// also implements PermitCopier (permits.go) serves copies of permits too.
type Copier interface {
	Copy(ctx context.Context, l *license.Licence, format string, m CopyMark) ([]byte, error)
}

// DownloadURL is the answer of Download: the token of the URL and when it expires.
type DownloadURL struct {
	ID        string
	Token     string // base64url, 43 characters; the URL is /api/v1/sharing/files/{token}
	ExpiresAt time.Time
}

// File is a fetched copy.
type File struct {
	Name   string // e.g. 91330106MA0000012X-1.ofd
	Format string
	Body   []byte
}

// goneError is an error of a download URL that can no longer be used (HTTP 410).
type goneError struct{ e *errs.Error }

func (g *goneError) Error() string { return g.e.Error() }
func (g *goneError) Unwrap() error { return g.e }

// IsGone reports whether err says that a download URL was used or has expired.
func IsGone(err error) bool {
	var g *goneError
	return errors.As(err, &g)
}

func gone(zh, en string) error {
	return &goneError{errs.New(errs.Conflict, "token", zh, en)}
}

func tokenHash(token string) []byte {
	h := gm.SM3([]byte("elicense download v1:" + token))
	return h[:]
}

// Download makes a one-time URL to a watermarked copy of the licence version identifier in
// format ("ofd" or "pdf").
func (s *Service) Download(ctx context.Context, c *Caller, p Purpose, identifier, format string) (*DownloadURL, error) {
	if err := s.consentOn(); err != nil {
		return nil, err
	}
	identifier, format = strings.ToUpper(strings.TrimSpace(identifier)), strings.ToLower(strings.TrimSpace(format))
	if err := s.begin(ctx, c, &p, OpDownload, "download", s.typeOf(identifier), identifier); err != nil {
		return nil, err
	}
	var list errs.List
	if identifier == "" {
		list = append(list, errs.New(errs.Invalid, "identifier", "缺少电子证照标识", "the licence identifier is missing"))
	}
	if format != "ofd" && format != "pdf" {
		list = append(list, errs.Invalidf("format", "格式须为 ofd 或 pdf（收到 %q）", "the format must be ofd or pdf (got %q)", format))
	}
	if err := list.Err(); err != nil {
		return nil, err
	}
	now := s.now().Truncate(time.Microsecond)
	if s.isPermitType(identifier) {
		return s.downloadPermit(ctx, c, p, identifier, format, now) // permits.go
	}
	l, err := s.lookup(ctx, identifier)
	switch {
	case errs.Is(err, errs.NotFound):
		if rerr := s.record(ctx, s.event(c, p, "download", identifier, identifier, "not_found", now)); rerr != nil {
			return nil, rerr
		}
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("sharing: download: %w", err)
	}
	u := consentUsage{usage: usageOf(p, l.Identifier, "denied"), Format: format}
	ids, missing, err := s.authorised(ctx, c, p, l.Code, []string{consent.ItemDownload}, now)
	if err == nil && len(missing) > 0 {
		u.usage.Result, u.Missing = "consent_required", missing
		n := notice(missing)
		err = errs.New(errs.Forbidden, "consent", n.ZH, n.EN)
	}
	if err != nil {
		if rerr := s.record(ctx, s.usageEvent(c, "download", l.Code, u, now)); rerr != nil {
			return nil, rerr
		}
		return nil, err
	}
	return s.newDownload(ctx, c, p, l.Code, l.Identifier, format, ids, u, now)
}

// newDownload stores a download URL of a version of the entity's licence, relying on the
// authorisations ids, with its usage record u.
func (s *Service) newDownload(ctx context.Context, c *Caller, p Purpose, entity, identifier, format string, ids []string, u consentUsage, now time.Time) (*DownloadURL, error) {
	var raw [32]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	d := &consent.Download{ID: rand.Text(), TokenHash: tokenHash(token), ClientID: c.ClientID, EntityCode: entity,
		Identifier: identifier, Format: format, Cause: p.Cause, Item: p.Item, CaseNumber: p.Case, ConsentID: strings.Join(ids, ","),
		CreatedAt: now, ExpiresAt: now.Add(DownloadLifetime)}
	u.usage.Result, u.Consent, u.Download = "ok", ids, d.ID
	if err := s.cc.Store.AddDownload(ctx, d, s.usageEvent(c, "download", entity, u, now)); err != nil {
		return nil, fmt.Errorf("sharing: download: %w", err)
	}
	return &DownloadURL{ID: d.ID, Token: token, ExpiresAt: d.ExpiresAt}, nil
}

// Fetch serves the copy behind a download URL's token, once. A used or expired URL is an error
// for which IsGone is true; an unknown one is errs.NotFound. The URL is the credential: it
// needs no token, like a signed link.
func (s *Service) Fetch(ctx context.Context, token string) (*File, error) {
	if err := s.consentOn(); err != nil {
		return nil, err
	}
	token = strings.TrimSpace(token)
	if len(token) != 43 {
		return nil, errs.New(errs.NotFound, "token", "下载地址无效", "no such download URL")
	}
	d, err := s.cc.Store.Download(ctx, tokenHash(token))
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, errs.New(errs.NotFound, "token", "下载地址无效", "no such download URL")
		}
		return nil, fmt.Errorf("sharing: fetch: %w", err)
	}
	now := s.now().Truncate(time.Microsecond)
	if err := fetchable(d, now); err != nil {
		return nil, err
	}
	m := CopyMark{ID: d.ID, Caller: d.ClientID, CallerName: s.clientNames()(ctx, d.ClientID), Cause: d.Cause, Item: d.Item,
		Case: d.CaseNumber, At: now, Expires: now.Add(CopyValidity)}
	var f *File
	if s.isPermitType(d.Identifier) {
		f, err = s.copyPermit(ctx, d, m) // permits.go
	} else {
		f, err = s.copyLicence(ctx, d, m)
	}
	if err != nil {
		return nil, err
	}
	c := &Caller{ClientID: d.ClientID}
	p := Purpose{Cause: d.Cause, Item: d.Item, Case: d.CaseNumber}
	u := consentUsage{usage: usageOf(p, d.Identifier, "ok"), Download: d.ID, Format: d.Format}
	if err := s.cc.Store.UseDownload(ctx, d.ID, now, s.usageEvent(c, "fetch", d.EntityCode, u, now)); err != nil {
		if errs.Is(err, errs.Conflict) {
			// Another request took it between the read and now.
			return nil, gone("该下载地址已经使用过，每个地址只能下载一次；请重新申请下载",
				"this download URL has been used; each URL serves one download, so ask for a new one")
		}
		return nil, fmt.Errorf("sharing: fetch: %w", err)
	}
	return f, nil
}

// copyLicence renders the copy behind a business licence's download URL.
func (s *Service) copyLicence(ctx context.Context, d *consent.Download, m CopyMark) (*File, error) {
	l, err := s.c.Licences.Get(ctx, d.Identifier)
	if err != nil {
		return nil, fmt.Errorf("sharing: fetch %s: %w", d.Identifier, err)
	}
	body, err := s.cc.Copier.Copy(ctx, l, d.Format, m)
	if err != nil {
		return nil, fmt.Errorf("sharing: copy of %s: %w", d.Identifier, err)
	}
	return &File{Name: fmt.Sprintf("%s-%d-copy.%s", l.Code, l.Version, d.Format), Format: d.Format, Body: body}, nil
}

func fetchable(d *consent.Download, now time.Time) error {
	switch {
	case !d.UsedAt.IsZero():
		return gone("该下载地址已经使用过，每个地址只能下载一次；请重新申请下载",
			"this download URL has been used; each URL serves one download, so ask for a new one")
	case !now.Before(d.ExpiresAt):
		return gone("该下载地址已过期（有效期 10 分钟）；请重新申请下载",
			"this download URL has expired (URLs are valid for 10 minutes); ask for a new one")
	}
	return nil
}
