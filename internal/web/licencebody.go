package web

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"unsafe"
	"weak"

	"github.com/elicense/elicense/internal/license"
)

// The public look-up GET /api/v1/licenses/{code} is the platform's hottest request. The store
// answers it from its cache of current licences, handing every caller the same immutable
// *license.Licence until the licence changes (or is evicted, or ages out), and then a new value
// read from the database. The JSON body of the answer — the public view with the outcome of the
// signature check — is therefore a function of that value, and is encoded once per value:
// bodies are cached by the identity of the *license.Licence (its address, checked through a
// weak pointer: a cached body never keeps a licence alive, and a new licence at a reused address
// is not mistaken for the old one).
//
// This keeps the signature check honest: a body is only reused for the very value it was made
// from; whatever the store reads from the database anew (a change, or an edit made behind the
// platform's back) is a new value, checked again (by content: sigCache) and encoded again.
// A check that could not be made (the key store did not answer) is an error, never cached.

// licenceBodySize bounds the cache of response bodies (two generations of half each). A body is
// about 1.2 KB for a typical company licence, so the cache holds at most about 60 MiB.
const licenceBodySize = 50_000

// licenceBody is an encoded answer: the bytes and their Content-Length header value.
type licenceBody struct {
	json   []byte
	length []string
}

// bodyKey identifies an answer: the licence value, by address, and the licence service that
// checked its signature (servers over different key stores, as in tests, never share an
// answer). The heap does not move objects, so the address names the value while it lives; the
// entry also holds a weak pointer to it, which no longer yields the value once it is reclaimed,
// so a new licence at a reused address never finds the old answer. (Making a weak pointer on
// every look-up costs a search of the span's specials; reading one does not.)
type bodyKey struct {
	addr uintptr
	svc  *license.Service
}

type bodyEntry struct {
	l    weak.Pointer[license.Licence]
	body *licenceBody
}

func keyOf(l *license.Licence, svc *license.Service) bodyKey {
	return bodyKey{uintptr(unsafe.Pointer(l)), svc}
}

// bodyCache remembers encoded bodies by licence value, in two generations like sigCache.
type bodyCache struct {
	mu         sync.RWMutex
	max        int
	young, old map[bodyKey]bodyEntry
}

func newBodyCache(max int) *bodyCache {
	return &bodyCache{max: max, young: map[bodyKey]bodyEntry{}, old: map[bodyKey]bodyEntry{}}
}

// get returns the answer for the value l checked by svc.
func (c *bodyCache) get(l *license.Licence, svc *license.Service) (*licenceBody, bool) {
	k := keyOf(l, svc)
	c.mu.RLock()
	e, ok := c.young[k]
	promote := false
	if !ok {
		e, ok = c.old[k]
		promote = ok
	}
	c.mu.RUnlock()
	if !ok || e.l.Value() != l {
		return nil, false
	}
	if promote {
		c.putEntry(k, e)
	}
	return e.body, true
}

// put remembers the answer for the value l checked by svc.
func (c *bodyCache) put(l *license.Licence, svc *license.Service, b *licenceBody) {
	c.putEntry(keyOf(l, svc), bodyEntry{weak.Make(l), b})
}

func (c *bodyCache) putEntry(k bodyKey, e bodyEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.young[k]; !ok && len(c.young) >= c.max/2 {
		c.old, c.young = c.young, make(map[bodyKey]bodyEntry, c.max/2)
	}
	delete(c.old, k)
	c.young[k] = e
}

// licenceBody returns the JSON answer for l: its public view with the outcome of its signature
// check, encoded as writeJSON encodes.
func (s *server) licenceBody(ctx context.Context, l *license.Licence) (*licenceBody, error) {
	if b, ok := s.bodies.get(l, s.Licenses); ok {
		return b, nil
	}
	v := viewOf(l)
	ok, err := s.verify(ctx, l)
	if err != nil {
		return nil, err
	}
	v.SignatureValid = &ok
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	b := &licenceBody{json: buf.Bytes(), length: []string{strconv.Itoa(buf.Len())}}
	s.bodies.put(l, s.Licenses, b)
	return b, nil
}

// Header values of the licence answer, shared (net/http only reads them).
var (
	headerJSON      = []string{"application/json; charset=utf-8"}
	headerAnyOrigin = []string{"*"}
)
