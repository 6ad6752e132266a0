package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/account"
	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/identity"
	"github.com/elicense/elicense/internal/identity/passkey"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/oidc"
	"github.com/elicense/elicense/internal/store"
)

// app holds the opened database and the services wired over it. Only this package wires
// concrete types together.
type app struct {
	cfg      Config
	db       *store.DB
	keys     *keys.Service
	accounts *account.Service
	licenses *license.Service
	audit    *audit.Log
	clock    func() time.Time

	master  []byte
	sealer  *gm.Sealer
	protect personProtector

	// Set by openIdentity (serve): the issuer URL is known only once the server listens.
	identity    *identity.Service
	identityCfg identity.Config
	oidc        *oidc.Provider
}

// openApp validates cfg, opens (and migrates) the database and initialises the platform keys.
func openApp(ctx context.Context, cfg Config) (*app, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	isPostgres := strings.HasPrefix(cfg.DB, "postgres://") || strings.HasPrefix(cfg.DB, "postgresql://")
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("--data (ELICENSE_DATA) %s: %w", cfg.Data, err)
	}
	if !isPostgres {
		if dir := filepath.Dir(strings.TrimPrefix(strings.TrimPrefix(cfg.DB, "sqlite:"), "file:")); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("--db (ELICENSE_DB) %s: %w", cfg.DB, err)
			}
		}
	}
	var master []byte
	var err error
	if cfg.MasterKey != "" {
		if master, err = gm.ParseKey(cfg.MasterKey); err != nil {
			return nil, usageError("--master-key (ELICENSE_MASTER_KEY): %v", err)
		}
	} else if master, err = gm.LoadOrCreateKeyFile(filepath.Join(cfg.Data, "master.key")); err != nil {
		return nil, err
	}
	sealer, err := gm.NewSealer(master)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	allow, err := cfg.allowList()
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, cfg.DB, store.Options{})
	if err != nil {
		return nil, err
	}
	clock := func() time.Time { return time.Now().UTC() }
	a := &app{cfg: cfg, db: db, clock: clock, master: master, sealer: sealer}
	a.keys = keys.NewService(db, sealer, clock)
	if err := a.keys.Init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("initialise keys: %w", err)
	}
	platform, _, err := a.keys.PlatformSigner(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	a.audit = audit.NewLog(db, platform, clock)
	a.accounts = account.NewService(db, clock)
	lookupKey := gm.HMACSM3(master, []byte("elicense person-id lookup key v1"))
	// The licence service and the identity service must share one protector, so that the
	// keyed hash of an ID number on a licence matches the one a person registers with.
	a.protect = personProtector{sealer: sealer, lookupKey: lookupKey[:]}
	a.licenses = license.NewService(license.Config{
		Store: db, Keys: a.keys, Clock: clock, TypeCode: cfg.TypeCode, Allow: allow, Protect: a.protect,
	})
	return a, nil
}

func (a *app) Close() error { return a.db.Close() }

// openIdentity starts the OpenID Connect provider (issuer publicURL) and the identity service.
// Passkeys need a host name as the relying party ID; on an IP address they are off and the
// wallet uses PINs.
func (a *app) openIdentity(ctx context.Context, publicURL string, logger *slog.Logger) error {
	p, err := oidc.New(ctx, oidc.Config{Store: a.db, Keys: a.db, Sealer: a.sealer, Issuer: publicURL, Logger: logger, Clock: a.clock})
	if err != nil {
		return fmt.Errorf("openid connect provider: %w", err)
	}
	var pk identity.Passkeys
	if k, err := passkey.New(passkey.Config{Origins: []string{publicURL}}); err != nil {
		logger.Warn("passkeys are off: the public URL's host must be a name, not an IP address (use --public-url http://localhost:PORT)", "public_url", publicURL, "err", err)
	} else {
		pk = k
	}
	subjectKey := gm.HMACSM3(a.master, []byte("elicense pairwise subject key v1"))
	a.identityCfg = identity.Config{Store: a.db, Licences: a.db, Protect: a.protect,
		Sender: identity.LogSender{Logger: logger}, Revoker: p, Passkeys: pk, SubjectKey: subjectKey[:], Clock: a.clock}
	a.identity = identity.NewService(a.identityCfg)
	// identity takes the provider as its session revoker, so the provider gets identity after.
	p.SetIdentity(a.identity)
	a.oidc = p
	return nil
}

// personProtector encrypts citizen ID numbers with SM4 (bound to the credit code) and hashes them
// with a key derived from the master key, so look-ups work without decrypting.
type personProtector struct {
	sealer    *gm.Sealer
	lookupKey []byte
}

func (p personProtector) SealPersonID(id, code string) ([]byte, error) {
	return p.sealer.Seal([]byte(id), []byte("person-id:"+code))
}

func (p personProtector) HashPersonID(id string) []byte {
	h := gm.HMACSM3(p.lookupKey, []byte(id))
	return h[:]
}

// clientName names an OpenID Connect client (a portal or a department's system).
func (a *app) clientName(ctx context.Context, id string) (string, error) {
	c, err := a.db.OIDCClient(ctx, id)
	if err != nil {
		return "", err
	}
	return c.Name, nil
}
