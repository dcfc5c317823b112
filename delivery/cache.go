package delivery

import (
	"context"
	"sync"
	"time"

	"github.com/vend-shop/vend/store"
)

// Generationer is a store that can tell whether anything was committed since an
// earlier call: the number it returns changes with every write, but those of
// UpdateLog alone. SQLite's store is one: every write of the process goes
// through its one writer.
type Generationer interface {
	Generation() uint64
}

// LogUpdater is a store whose writes of the download log alone (the
// recorder's logWriter: attempts and the counters they add to, page visits, a
// session's bytes, last activity and completion) leave its generation as it
// is: none of them can end an admission the cache holds, which needs the grant,
// the file, and a session not closed whose last activity is recent.
type LogUpdater interface {
	UpdateLog(ctx context.Context, fn func(tx store.Tx) error) error
}

// admissionCache remembers recent fast-path admissions (grant, file, open session)
// so that the requests of one download — a download manager's connections, a
// player's range requests, a crowd of small-file fetches — do not each read the
// database. An entry is good only while the store's generation is the one read
// before the entry was loaded: any write since (a refund, a revocation, a new
// session) sends the next request back to the database. The download log's own
// writes do not (LogUpdater): of what an entry holds, they only move a
// session's last activity later, which keeps it open. cacheTTL
// bounds how long a write by another process, which the generation does not see,
// can go unnoticed.
type admissionCache struct {
	gen Generationer
	mu  sync.Mutex
	m   map[admissionKey]cacheEntry
}

const (
	cacheTTL     = time.Second
	cacheEntries = 4096
)

type admissionKey struct {
	publicID string
	grantID  int64
	fileID   int64
	clientIP string
}

type cacheEntry struct {
	adm      *store.Admission
	gen      uint64
	loadedAt time.Time
}

func newAdmissionCache(db store.DB) *admissionCache {
	gen, ok := db.(Generationer)
	if !ok {
		return nil // a shared database (PostgreSQL): other instances write unseen
	}
	return &admissionCache{gen: gen, m: map[admissionKey]cacheEntry{}}
}

func keyOf(q store.AdmissionQuery) admissionKey {
	return admissionKey{publicID: q.PublicID, grantID: q.GrantID, fileID: q.FileID, clientIP: q.ClientIP}
}

// generation returns the store's generation, to be read before a lookup whose
// result may be put into the cache.
func (c *admissionCache) generation() uint64 {
	if c == nil {
		return 0
	}
	return c.gen.Generation()
}

func (c *admissionCache) get(k admissionKey, now time.Time) (*store.Admission, bool) {
	if c == nil {
		return nil, false
	}
	gen := c.gen.Generation()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return nil, false
	}
	if e.gen != gen || now.Sub(e.loadedAt) >= cacheTTL || now.Before(e.loadedAt) {
		delete(c.m, k)
		return nil, false
	}
	return e.adm, true
}

// put remembers adm, loaded at generation gen.
func (c *admissionCache) put(k admissionKey, adm *store.Admission, gen uint64, now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= cacheEntries {
		clear(c.m) // simplest bound; the cache refills within milliseconds
	}
	c.m[k] = cacheEntry{adm: adm, gen: gen, loadedAt: now}
}
