package web

import (
	"net"
	"net/http"
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
	limiterIdle     = 10 * time.Minute
	maxLimiters     = 10000
	maxPostbacks    = 64               // verifications in flight at once; more wait their turn
	postbackWait    = 20 * time.Second // and after waiting this long get 503 and come back
)

type clientLimiter struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	m     map[string]*limiterEntry
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

// allow reports whether the client at addr may make a request now.
func (c *clientLimiter) allow(addr string, now time.Time) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*limiterEntry{}
	}
	if len(c.m) >= maxLimiters {
		for k, e := range c.m {
			if now.Sub(e.seen) > limiterIdle {
				delete(c.m, k)
			}
		}
	}
	e := c.m[host]
	if e == nil {
		if len(c.m) >= maxLimiters {
			return false // under a flood of addresses, new ones wait
		}
		e = &limiterEntry{lim: rate.NewLimiter(c.rate, c.burst)}
		c.m[host] = e
	}
	e.seen = now
	return e.lim.AllowN(now, 1)
}

// limitProvider wraps a provider endpoint with the per-client budget and the cap on
// verifications in flight.
func (s *Server) limitProvider(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.limiter.allow(r.RemoteAddr, s.Now()) {
			s.Logger.Warn("provider request refused: too many from this address", "route", r.Pattern, "remote", r.RemoteAddr)
			w.Header().Set("Retry-After", "10")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		wait := time.NewTimer(postbackWait)
		defer wait.Stop()
		select {
		case s.postbacks <- struct{}{}:
			defer func() { <-s.postbacks }()
		case <-r.Context().Done():
			return
		case <-wait.C:
			s.Logger.Warn("provider request refused: too many verifications in flight", "route", r.Pattern)
			w.Header().Set("Retry-After", "10")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		h(w, r)
	}
}
