package web

import (
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"golang.org/x/time/rate"
)

func TestPayPalIPN_RateLimitPerClient(t *testing.T) {
	t.Parallel()
	// The test clock stands still, so the budget does not refill: the burst is
	// all one address gets. What is refused is not stored and not 200, so PayPal
	// would send it again.
	e := newTestEnv(t)
	body := sample(t, "p1")
	var ok, limited int
	for range DefaultIPNBurst + 20 {
		switch a := e.PostIPN(body); a.Status {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("status %d", a.Status)
		}
	}
	if ok != DefaultIPNBurst || limited != 20 {
		t.Errorf("%d answered 200 and %d 429, want %d and 20", ok, limited, DefaultIPNBurst)
	}
	if n := len(e.Notifications()); n != DefaultIPNBurst {
		t.Errorf("%d notifications stored, want %d (refused ones are not)", n, DefaultIPNBurst)
	}
	e.Clock.Add(10e9) // ten seconds refill the budget
	if a := e.PostIPN(body); a.Status != http.StatusOK {
		t.Errorf("after a pause: status %d, want 200", a.Status)
	}
}

func TestClientKey(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ addr, want string }{
		{"192.0.2.7:4711", "192.0.2.7"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::/64"}, // the same client
		{"[2001:db8:1:3::1]:443", "2001:db8:1:3::/64"},
		{"[::ffff:192.0.2.7]:80", "::ffff:192.0.2.7"},
		{"not an address", "not an address"},
	} {
		if got := clientKey(tt.addr); got != tt.want {
			t.Errorf("clientKey(%q) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

// fillLimiter has n distinct IPv4 clients (10.x.y.z) each make one request
// at now, as a flood of addresses would.
func fillLimiter(c *clientLimiter, n int, now time.Time) {
	for i := range n {
		c.allow(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String()+":1", now)
	}
}

func TestClientLimiter_ForgetsWholeBudgetsFirst(t *testing.T) {
	t.Parallel()
	c := clientLimiter{rate: rate.Every(time.Hour), burst: 2}
	now := time.Unix(1_700_000_000, 0)
	got := []bool{c.allow("192.0.2.1:1", now), c.allow("192.0.2.1:1", now), c.allow("192.0.2.1:1", now)}
	if !got[0] || !got[1] || got[2] {
		t.Fatalf("a budget of 2 allowed %v", got)
	}
	// The table fills up with clients whose budgets are whole (a unit taken
	// and given back).
	for i := range maxLimiters - 1 {
		give, _ := c.take(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String()+":1", now)
		give()
	}
	if !c.allow("198.51.100.1:1", now) {
		t.Error("a new client was refused when the table was full")
	}
	if c.allow("192.0.2.1:1", now) {
		t.Error("a client that spent its budget got a fresh one while whole budgets could be forgotten")
	}
}

// TestClientLimiter_AFloodOfAddressesLetsNewOnesIn: one request from each of
// 100,000 addresses must not make every new address wait: the table stays
// bounded, and a new client still gets its budget.
func TestClientLimiter_AFloodOfAddressesLetsNewOnesIn(t *testing.T) {
	t.Parallel()
	c := clientLimiter{rate: DefaultIPNRate, burst: DefaultIPNBurst}
	now := time.Unix(1_700_000_000, 0)
	fillLimiter(&c, 100_000, now)
	if len(c.m) > maxLimiters || c.lru.Len() != len(c.m) {
		t.Fatalf("the table holds %d clients (list %d), more than %d", len(c.m), c.lru.Len(), maxLimiters)
	}
	for _, addr := range []string{"198.51.100.1:1", "[2001:db8::1]:1"} {
		if !c.allow(addr, now) {
			t.Errorf("new client %s refused after a flood of 100,000 addresses", addr)
		}
	}
}

// TestLimits_FloodOfAddresses: after a flood of addresses (twice what the
// tables hold; TestClientLimiter_AFloodOfAddressesLetsNewOnesIn sends 100,000
// to one), a new address's genuine notifications are applied, by every
// provider, its WEBSALE link works, and a new sign-in works (the sign-in
// budget is the same kind).
func TestLimits_FloodOfAddresses(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.addUser("alice", adminPW)
	now := e.Clock.Now()
	fillLimiter(&e.Server.limiter, 2*maxLimiters, now)
	fillLimiter(&e.Server.admin.loginsPerIP, 2*maxLimiters, now)
	fillLimiter(&e.Server.linkFailures, 2*maxLimiters, now)

	if a := e.PostIPN(sample(t, "p1")); a.Status != http.StatusOK || e.Order(p1Txn) == nil {
		t.Errorf("PayPal IPN from a new address: %d, order %v", a.Status, e.Order(p1Txn))
	}
	for _, p := range []hookSender{stripeSender, genericSender} {
		m := p.message(t, e, hookEvent{kind: vend.EventPayment, settles: true}, "flood")
		if a := p.post(e, m); a.Status != http.StatusOK || e.ProviderOrder(p.name, p.ref("flood")) == nil {
			t.Errorf("%s event from a new address: %d %s", p.name, a.Status, a.Body)
		}
	}
	checkGranted(t, "WEBSALE link from a new address", e.Get(wsPath("/websale", wsData(t, wsLink(now, wsOrder, wsEbook)))))
	if a := e.login("alice", adminPW, "", sameOrigin); a.Status != http.StatusSeeOther || sessionCookie(a) == nil {
		t.Errorf("sign-in from a new address: %d\n%s", a.Status, a.Body)
	}
}
