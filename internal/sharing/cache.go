package sharing

// Caches on the path of every call, each with a stated bound on staleness.
//
//   - Verified client-credentials tokens: a department's access token is a self-contained
//     signed JWT (oidc.Provider.VerifyAccessToken checks nothing in the database for it), so
//     its verification is kept until the token expires, at most tokenCacheFor: the answer
//     cannot change meanwhile. At most maxCachedTokens are kept.
//   - Permissions per client: read from the store at most permissionCacheFor ago. A change made
//     through Grant in this process applies at once (Grant drops the entry); one made by another
//     process on the same database applies within permissionCacheFor.
//
// The entity's authorisations (consent) are never cached: a revocation applies at once.

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/elicense/elicense/internal/oidc"
)

const (
	tokenCacheFor      = time.Minute
	maxCachedTokens    = 10_000
	permissionCacheFor = time.Second
)

type cachedToken struct {
	info  *oidc.TokenInfo
	until time.Time
}

type cachedPermissions struct {
	ps []Permission
	at time.Time
}

// callCache holds the caches; its zero value is ready.
type callCache struct {
	mu     sync.Mutex
	tokens map[string]cachedToken
	perms  map[string]cachedPermissions
}

// verifyToken verifies an access token, from the cache when it was verified before.
func (s *Service) verifyToken(ctx context.Context, token string) (*oidc.TokenInfo, error) {
	now := s.now()
	c := &s.cache
	c.mu.Lock()
	if e, ok := c.tokens[token]; ok && now.Before(e.until) {
		c.mu.Unlock()
		return e.info, nil
	}
	c.mu.Unlock()
	t, err := s.c.Tokens.VerifyAccessToken(ctx, token)
	if err != nil || !t.Machine {
		return t, err
	}
	until := now.Add(tokenCacheFor)
	if !t.ExpiresAt.IsZero() && t.ExpiresAt.Before(until) {
		until = t.ExpiresAt
	}
	c.mu.Lock()
	if c.tokens == nil || len(c.tokens) >= maxCachedTokens {
		c.tokens = make(map[string]cachedToken) // start afresh rather than track ages
	}
	c.tokens[token] = cachedToken{info: t, until: until}
	c.mu.Unlock()
	return t, nil
}

// permissions returns a client's permissions, from the cache when read less than
// permissionCacheFor ago.
func (s *Service) permissions(ctx context.Context, clientID string) ([]Permission, error) {
	now := s.now()
	c := &s.cache
	c.mu.Lock()
	if e, ok := c.perms[clientID]; ok && now.Sub(e.at) < permissionCacheFor && !now.Before(e.at) {
		c.mu.Unlock()
		return e.ps, nil
	}
	c.mu.Unlock()
	ps, err := s.c.Store.SharingPermissions(ctx, clientID)
	if err != nil {
		return nil, fmt.Errorf("sharing: permissions: %w", err)
	}
	c.mu.Lock()
	if c.perms == nil || len(c.perms) >= maxCachedTokens {
		c.perms = make(map[string]cachedPermissions)
	}
	c.perms[clientID] = cachedPermissions{ps: slices.Clone(ps), at: now}
	c.mu.Unlock()
	return ps, nil
}

// forget drops a client's cached permissions (after Grant).
func (s *Service) forget(clientID string) {
	s.cache.mu.Lock()
	delete(s.cache.perms, clientID)
	s.cache.mu.Unlock()
}
