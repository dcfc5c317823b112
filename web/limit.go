package web

import (
	"container/list"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Provider endpoints are open to the internet and every request costs a stored
// message and a postback to PayPal, so each client address gets a budget. Real
// providers stay far below it; PayPal resends what is refused (429 is not success),
// so nothing genuine is lost. The budget is per instance: it protects this
// instance's disk and PayPal's patience, it decides nothing about money.
const (
	DefaultIPNRate  = 20 // requests per second per client address, sustained
	DefaultIPNBurst = 100
	maxLimiters     = 10000            // clients whose budgets are remembered
	maxPostbacks    = 64               // verifications in flight at once; more wait their turn
	postbackWait    = 20 * time.Second // and after waiting this long get 503 and come back
)

// clientLimiter keeps a budget per client. Its table is bounded: when it is
// full, a new client takes the place of one that is forgotten. An entry whose
// budget is whole again holds nothing a fresh one would not, so such entries
// go first (among the longest unseen); only when none is, the client unseen
// the longest loses its spent budget. A flood of addresses thus costs the
// flooder's earliest addresses their history, never a new client its turn.
type clientLimiter struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	m     map[string]*list.Element // of *limiterEntry
	lru   list.List                // front: seen most recently
}

type limiterEntry struct {
	key string
	lim *rate.Limiter
}

// evictScan is how many of the longest-unseen entries a full table looks at
// for one whose budget is whole, before it forgets the longest-unseen one.
const evictScan = 16

// allow reports whether the client at addr may make a request now, and counts it.
func (c *clientLimiter) allow(addr string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.limiter(addr, now).AllowN(now, 1)
}

// take takes one of the client's budget now, if there is one left; give hands
// it back. Taking before the work, rather than counting after it, keeps requests
// that arrive together from all getting through on the same unit.
func (c *clientLimiter) take(addr string, now time.Time) (give func(), ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.limiter(addr, now).ReserveN(now, 1)
	if !r.OK() || r.DelayFrom(now) > 0 {
		r.CancelAt(now)
		return nil, false
	}
	return func() { r.CancelAt(now) }, true
}

// limiter returns the client's limiter, making room for it when the table is
// full. c.mu must be held.
func (c *clientLimiter) limiter(addr string, now time.Time) *rate.Limiter {
	host := clientKey(addr)
	if c.m == nil {
		c.m = map[string]*list.Element{}
	}
	if el := c.m[host]; el != nil {
		c.lru.MoveToFront(el)
		return el.Value.(*limiterEntry).lim
	}
	if len(c.m) >= maxLimiters {
		c.forget(now)
	}
	e := &limiterEntry{key: host, lim: rate.NewLimiter(c.rate, c.burst)}
	c.m[host] = c.lru.PushFront(e)
	return e.lim
}

// forget drops one entry: the longest-unseen whole one among evictScan, else
// the longest-unseen.
func (c *clientLimiter) forget(now time.Time) {
	victim := c.lru.Back()
	for el, i := victim, 0; el != nil && i < evictScan; el, i = el.Prev(), i+1 {
		if el.Value.(*limiterEntry).lim.TokensAt(now) >= float64(c.burst) {
			victim = el
			break
		}
	}
	delete(c.m, victim.Value.(*limiterEntry).key)
	c.lru.Remove(victim)
}

// clientKey is what a budget is kept per: the IPv4 address, or the IPv6 /64,
// since one IPv6 client commonly has a whole /64 to send from.
func clientKey(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Is4() || ip.Is4In6() {
		return host
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// limitAddr wraps an endpoint open to the internet with the per-client budget.
func (s *Server) limitAddr(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.limiter.allow(r.RemoteAddr, s.Now()) {
			s.Logger.Warn("provider request refused: too many from this address", "route", r.Pattern, "remote", r.RemoteAddr)
			s.refused("provider")
			w.Header().Set("Retry-After", "10")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		h(w, r)
	}
}

// postbackSlot takes one of the verification slots for a provider that
// posts back (PayPal): each holds a connection to the provider. It waits
// postbackWait for one, then answers 503, which the provider resends; release
// gives the slot back.
func (s *Server) postbackSlot(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	wait := time.NewTimer(postbackWait)
	defer wait.Stop()
	select {
	case s.postbacks <- struct{}{}:
		return func() { <-s.postbacks }, true
	case <-r.Context().Done(): // the client hung up; should it not have, it may resend
		w.WriteHeader(http.StatusServiceUnavailable)
		return nil, false
	case <-wait.C:
		s.Logger.Warn("provider request refused: too many verifications in flight", "route", r.Pattern)
		w.Header().Set("Retry-After", "10")
		w.WriteHeader(http.StatusServiceUnavailable)
		return nil, false
	}
}
