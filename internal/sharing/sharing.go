// Package sharing is the sharing service for departments' systems (电子证照共享服务, issue 5):
// a department's system, an OpenID Connect client with a client-credentials access token, queries
// and verifies entities' licences for the cases it handles. Every call is accountable: the caller
// needs the token scope of the operation (sharing.query, sharing.verify, …) and a permission per
// licence type and operation granted to it by an operator, and it must give a use cause (用证事由),
// the service item (事项编码) and the case number (办件编号). Each call, its purpose and its
// result are appended to the tamper-evident audit log (用证记录).
//
// Non-public face items and downloads of watermarked copies need the entity's authorisation
// (用证授权, consent.go): standing, per case, or a one-time code (用证码). The service also
// makes one-time download URLs (download.go), signs archive receipts (archive.go) and reads
// back the usage records (usage.go); EnableConsent gives it what those need.
//
// The package is a domain package: no SQL, no HTTP. internal/store implements Store,
// internal/web serves it under /api/v1/sharing/ and in the national-style envelope under
// /api/gov/v1/sharing/.
package sharing

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/sharing/permit"
)

// Operation is what a permission allows; each has its token scope.
type Operation = permit.Operation

// The operations of the sharing service.
const (
	OpQuery    = permit.Query    // face data by identifier, an entity's licences
	OpVerify   = permit.Verify   // by fields, a file, a QR code
	OpDownload = permit.Download // a watermarked copy (加注件), a later slice
	OpArchive  = permit.Archive  // 存档, a later slice
)

// Operations lists every operation in the order of the documentation.
func Operations() []Operation { return permit.Operations() }

// Permission is what an operator allows one client for one licence type.
type Permission = permit.Permission

// Store keeps the permissions; package store implements it.
type Store interface {
	// SetSharingPermission creates or replaces the permission of (ClientID, TypeCode).
	SetSharingPermission(ctx context.Context, p *Permission) error
	// SharingPermissions returns every permission of a client (none: an empty list).
	SharingPermissions(ctx context.Context, clientID string) ([]Permission, error)
}

// Clients finds registered OpenID Connect clients (package store implements it).
type Clients interface {
	OIDCClient(ctx context.Context, id string) (*oidc.Client, error)
}

// Tokens verifies access tokens (*oidc.Provider).
type Tokens interface {
	VerifyAccessToken(ctx context.Context, token string) (*oidc.TokenInfo, error)
}

// Licences reads licences (*license.Service).
type Licences interface {
	Get(ctx context.Context, codeOrIdentifier string) (*license.Licence, error)
	TypeCode() string
}

// Documents verifies licence files and QR codes (*document.Service).
type Documents interface {
	Verify(ctx context.Context, file []byte) (*document.Report, error)
	VerifyToken(ctx context.Context, token string) (*document.Report, error)
}

// Auditor appends to the audit log (*audit.Log).
type Auditor interface {
	Append(ctx context.Context, events ...audit.Event) error
}

// Config holds the dependencies of a Service.
type Config struct {
	Store     Store
	Clients   Clients
	Tokens    Tokens
	Licences  Licences
	Documents Documents
	Audit     Auditor
	Clock     func() time.Time // defaults to time.Now
}

// Service is the sharing service.
type Service struct {
	c     Config
	cc    *ConsentConfig // consent, downloads, archive, usage (EnableConsent); nil: not enabled
	rec   batcher        // group commit of usage records (batch.go)
	cache callCache      // verified tokens and permissions (cache.go)
	// follower is told of every archive (archive_follow.go); nil: archiving follows nothing.
	follower Follower
	// lib is the licence library (library.go); nil: the business licence only.
	lib Library
}

// NewService returns the service.
func NewService(c Config) *Service {
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return &Service{c: c}
}

func (s *Service) now() time.Time { return s.c.Clock().UTC() }

// MaxBatch is the most licences one batch call may query or verify.
const MaxBatch = 1000

// Caller is an authenticated department system.
type Caller struct {
	ClientID string
	Scopes   []string
}

var errNoToken = errs.New(errs.Unauthenticated, "Authorization",
	"需要客户端凭证访问令牌：Authorization: Bearer …", "a client-credentials access token is required: Authorization: Bearer …")

// Authenticate checks a Bearer access token: it must be a client-credentials token of this
// platform (a login token of a person is refused).
func (s *Service) Authenticate(ctx context.Context, token string) (*Caller, error) {
	if token == "" {
		return nil, errNoToken
	}
	t, err := s.verifyToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if !t.Machine {
		return nil, errs.New(errs.Unauthenticated, "Authorization", "共享服务只接受客户端凭证（client_credentials）令牌",
			"the sharing service accepts client-credentials tokens only")
	}
	return &Caller{ClientID: t.ClientID, Scopes: t.Scopes}, nil
}

// Purpose is why a department uses a licence; every call needs all three.
type Purpose struct {
	Cause string `json:"use_cause"`    // 用证事由, 1..200 characters
	Item  string `json:"service_item"` // 事项编码
	Case  string `json:"case_number"`  // 办件编号
	// ConsentCode is a one-time authorisation code (用证码) the entity handed over; calls that
	// need the entity's consent use it up (consent.go).
	ConsentCode string `json:"consent_code,omitempty"`
}

// Limits of a purpose.
const (
	MaxCause = 200
	maxCode  = 64
)

// Validate trims the purpose and names every missing or malformed field (errs.List).
func (p *Purpose) Validate() error {
	p.Cause, p.Item, p.Case = strings.TrimSpace(p.Cause), strings.TrimSpace(p.Item), strings.TrimSpace(p.Case)
	var list errs.List
	switch n := utf8.RuneCountInString(p.Cause); {
	case n == 0:
		list = append(list, errs.New(errs.Invalid, "use_cause", "缺少用证事由", "the use cause (用证事由) is missing"))
	case n > MaxCause:
		list = append(list, errs.Invalidf("use_cause", "用证事由过长（%d 字，上限 %d）", "the use cause is too long (%d characters, limit %d)", n, MaxCause))
	case strings.IndexFunc(p.Cause, unicode.IsControl) >= 0:
		list = append(list, errs.New(errs.Invalid, "use_cause", "用证事由含有控制字符", "the use cause contains control characters"))
	}
	check := func(field, v, zh, en string) {
		switch {
		case v == "":
			list = append(list, errs.New(errs.Invalid, field, "缺少"+zh, "the "+en+" is missing"))
		case len(v) > maxCode || strings.IndexFunc(v, badCodeRune) >= 0:
			list = append(list, errs.New(errs.Invalid, field, zh+"只能由字母、数字和 ._-: 组成，至多 64 个字符",
				"the "+en+" may hold letters, digits and ._-: only, at most 64 characters"))
		}
	}
	check("service_item", p.Item, "事项编码", "service item code")
	check("case_number", p.Case, "办件编号", "case number")
	if len(list) > 0 {
		return list
	}
	return nil
}

func badCodeRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-:", r))
}
