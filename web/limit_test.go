package web

import (
	"net/http"
	"net/netip"
	"testing"
	"time"

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
	e.Clock.Advance(10e9) // ten seconds refill the budget
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

func TestClientLimiter_NeverForgetsASpentBudget(t *testing.T) {
	t.Parallel()
	c := clientLimiter{rate: rate.Every(time.Hour), burst: 2}
	now := time.Unix(1_700_000_000, 0)
	got := []bool{c.allow("192.0.2.1:1", now), c.allow("192.0.2.1:1", now), c.allow("192.0.2.1:1", now)}
	if !got[0] || !got[1] || got[2] {
		t.Fatalf("a budget of 2 allowed %v", got)
	}
	// The table fills up with idle clients whose budgets are whole.
	for i := range maxLimiters {
		c.allow(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String()+":1", now)
	}
	later := now.Add(limiterIdle + time.Minute)
	c.allow("198.51.100.1:1", later) // makes room: idle, refilled clients go
	if c.allow("192.0.2.1:1", later) {
		t.Error("a client that spent its budget got a fresh one when the table was full")
	}
}
