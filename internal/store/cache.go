package store

import (
	"context"
	"database/sql"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elicense/elicense/internal/license"
)

// The read-through cache of current licences.
//
// Current (and Version, for the current version) answer from an in-process cache of decoded
// licences; a miss reads the database and fills it. The platform promises a live status, so the
// cache is kept exact for changes made by this process and bounded in staleness for changes made
// by the others sharing the database:
//
//   - Save evicts the codes it changed before it returns, so the next request of this process
//     reads the new state.
//   - Every change of version or status sets licences.change_seq to the sequence number of its
//     audit event. Audit sequence numbers are handed out under the lock of the audit head, held
//     until commit (and SQLite has a single writer), so change_seq values become visible in
//     increasing order. A background goroutine polls the rows with change_seq above the highest
//     value seen, every PollInterval, and evicts their codes: a cheap range scan over a partial
//     index that bulk issuance never touches.
//   - A cached licence is served only while the last successful poll began less than MaxStale
//     ago; when the database does not answer the polls, every look-up goes to the database. A
//     change committed by another process is therefore visible everywhere within MaxStale (1 s),
//     typically within PollInterval (250 ms).
//   - A read that raced with an eviction (it began before the eviction and ends after it) does
//     not fill the cache: an eviction bumps a generation number, and a fill made under an older
//     generation is dropped.
//   - An entry is reloaded after MaxAge even if no change was announced, so that an edit made
//     directly in the database, outside elicense, also shows (within MaxAge).
//
// Issuance does not touch the cache: a code that does not exist is never cached, so a new
// licence cannot be hidden by a stale entry.
//
// Memory is bounded by a number of entries (Options.LicenceCache, DefaultLicenceCache): 16 shards,
// each with two generations of at most size/32 entries; when the young generation of a shard is
// full the old one is dropped, and a hit in the old generation moves the entry to the young one,
// so recently used licences stay (an approximation of LRU with no bookkeeping on the hot path).
//
// The *license.Licence values handed out are shared by every caller until they are evicted:
// callers must not modify them (the licence service copies a licence before changing it).

// Cache parameters. MaxStale is the staleness bound documented in docs/architecture.md and
// docs/operations.md.
const (
	DefaultLicenceCache = 100_000
	PollInterval        = 250 * time.Millisecond
	MaxStale            = time.Second
	MaxAge              = 5 * time.Minute

	cacheShards = 16
	// pollPage is how many changed rows one poll query reads; a poll reads pages until done.
	pollPage = 1000
)

// licenceCache is the cache of current licences by code.
type licenceCache struct {
	seed   maphash.Seed
	perGen int // entries per generation per shard
	shards [cacheShards]cacheShard

	// gen is bumped by every eviction; fills made under an older generation are dropped.
	gen atomic.Uint64
	// base is the origin of the cache's monotonic clock (since).
	base time.Time
	// polled is since() at the start of the last successful poll.
	polled atomic.Int64
	// seen is the highest change_seq the poller has seen (touched only by Open and the poller).
	seen int64
	// maxStale and maxAge in since() units.
	maxStale, maxAge int64

	// ctx is cancelled by close, to interrupt a poll in progress.
	ctx     context.Context
	cancel  context.CancelFunc
	stop    chan struct{}
	stopped sync.WaitGroup
	once    sync.Once
}

type cacheShard struct {
	mu         sync.RWMutex
	young, old map[string]cacheEntry
	_          [64]byte // keeps shards' locks on separate cache lines
}

type cacheEntry struct {
	l  *license.Licence
	at int64 // since() before the read that loaded it
}

// fillToken is taken before a database read whose result may fill the cache.
type fillToken struct {
	gen uint64
	at  int64
}

func newLicenceCache(size int) *licenceCache {
	per := max(size/(2*cacheShards), 1)
	c := &licenceCache{seed: maphash.MakeSeed(), perGen: per, base: time.Now(),
		maxStale: int64(MaxStale), maxAge: int64(MaxAge), stop: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	for i := range c.shards {
		c.shards[i].young = make(map[string]cacheEntry)
		c.shards[i].old = make(map[string]cacheEntry)
	}
	return c
}

// since is the cache's clock: monotonic nanoseconds since the cache was made.
func (c *licenceCache) since() int64 { return int64(time.Since(c.base)) }

func (c *licenceCache) shard(code string) *cacheShard {
	return &c.shards[maphash.String(c.seed, code)%cacheShards]
}

// get returns the cached licence of code, if there is one that may be served.
func (c *licenceCache) get(code string) (*license.Licence, bool) {
	now := c.since()
	if now-c.polled.Load() >= c.maxStale {
		return nil, false // the poller is behind: changes of other processes may be missed
	}
	sh := c.shard(code)
	sh.mu.RLock()
	e, ok := sh.young[code]
	inOld := false
	if !ok {
		e, ok = sh.old[code]
		inOld = ok
	}
	sh.mu.RUnlock()
	if !ok || now-e.at >= c.maxAge {
		return nil, false
	}
	if inOld {
		sh.mu.Lock()
		if cur, still := sh.old[code]; still && cur == e {
			delete(sh.old, code)
			c.putLocked(sh, code, e)
		}
		sh.mu.Unlock()
	}
	return e.l, true
}

// begin returns the token for a read that may fill the cache; take it before the read.
func (c *licenceCache) begin() fillToken {
	return fillToken{gen: c.gen.Load(), at: c.since()}
}

// add caches l as the current licence of code, unless an eviction happened since t was taken
// (the read may predate the change that caused it).
func (c *licenceCache) add(code string, l *license.Licence, t fillToken) {
	sh := c.shard(code)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if c.gen.Load() != t.gen {
		return
	}
	delete(sh.old, code)
	c.putLocked(sh, code, cacheEntry{l: l, at: t.at})
}

func (c *licenceCache) putLocked(sh *cacheShard, code string, e cacheEntry) {
	if _, ok := sh.young[code]; !ok && len(sh.young) >= c.perGen {
		sh.old, sh.young = sh.young, make(map[string]cacheEntry, c.perGen)
	}
	sh.young[code] = e
}

// evict removes the codes. The generation is bumped first, so that a fill racing with this
// eviction either is removed here or sees the new generation and is dropped.
func (c *licenceCache) evict(codes []string) {
	if len(codes) == 0 {
		return
	}
	c.gen.Add(1)
	for _, code := range codes {
		sh := c.shard(code)
		sh.mu.Lock()
		delete(sh.young, code)
		delete(sh.old, code)
		sh.mu.Unlock()
	}
}

// len returns the number of cached licences (for tests).
func (c *licenceCache) len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		n += len(sh.young) + len(sh.old)
		sh.mu.RUnlock()
	}
	return n
}

// pollQuery reads the codes changed after a change_seq. The literal "change_seq > 0" lets both
// databases use the partial index licences_change_seq.
const pollQuery = `SELECT code, change_seq FROM licences WHERE change_seq > $1 AND change_seq > 0
	ORDER BY change_seq LIMIT $2`

// startCache makes the cache, reads the highest change_seq so far (changes before it cannot
// concern an empty cache), and starts the poller.
func (db *DB) startCache(ctx context.Context, size int) error {
	c := newLicenceCache(size)
	start := c.since()
	if err := db.r.QueryRowContext(ctx,
		"SELECT COALESCE(MAX(change_seq), 0) FROM licences WHERE change_seq > 0").Scan(&c.seen); err != nil {
		c.cancel()
		return fmt.Errorf("store: read change sequence: %w", err)
	}
	poll, err := db.r.PrepareContext(ctx, pollQuery)
	if err != nil {
		c.cancel()
		return fmt.Errorf("store: prepare change poll: %w", err)
	}
	c.polled.Store(start)
	db.cache = c
	c.stopped.Add(1)
	go db.pollChanges(c, poll)
	return nil
}

// pollChanges evicts, every PollInterval, the licences other processes changed.
func (db *DB) pollChanges(c *licenceCache, poll *sql.Stmt) {
	defer c.stopped.Done()
	defer poll.Close()
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		start := c.since()
		if err := db.pollOnce(c.ctx, c, poll); err == nil {
			c.polled.Store(start)
		}
	}
}

// pollOnce reads every change after c.seen and evicts the codes.
func (db *DB) pollOnce(ctx context.Context, c *licenceCache, poll *sql.Stmt) error {
	ctx, cancel := context.WithTimeout(ctx, 10*MaxStale)
	defer cancel()
	var codes []string
	for {
		rows, err := poll.QueryContext(ctx, c.seen, pollPage)
		if err != nil {
			return err
		}
		codes = codes[:0]
		last := c.seen
		for rows.Next() {
			var (
				code string
				seq  int64
			)
			if err := rows.Scan(&code, &seq); err != nil {
				rows.Close()
				return err
			}
			codes = append(codes, code)
			last = max(last, seq)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
		c.evict(codes)
		c.seen = last
		if len(codes) < pollPage {
			return nil
		}
	}
}

// close stops the poller.
func (c *licenceCache) close() {
	if c == nil {
		return
	}
	c.once.Do(func() {
		c.cancel()
		close(c.stop)
		c.stopped.Wait()
	})
}
