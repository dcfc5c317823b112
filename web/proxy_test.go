package web

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestClientAddr(t *testing.T) {
	t.Parallel()
	s := &Server{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}}
	for _, tt := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"no proxy in front", "192.0.2.7:4711", nil, "192.0.2.7:4711"},
		{"an untrusted sender's header is ignored", "192.0.2.7:4711", []string{"198.51.100.1"}, "192.0.2.7:4711"},
		{"the proxy names the client", "127.0.0.1:5000", []string{"198.51.100.1"}, "198.51.100.1:0"},
		{"entries left of the client are the client's own words", "127.0.0.1:5000", []string{"6.6.6.6, 198.51.100.1"}, "198.51.100.1:0"},
		{"a chain of trusted proxies is walked back", "127.0.0.1:5000", []string{"198.51.100.1, 10.1.2.3"}, "198.51.100.1:0"},
		{"several header lines", "127.0.0.1:5000", []string{"6.6.6.6", "198.51.100.1, 10.1.2.3"}, "198.51.100.1:0"},
		{"IPv6 client", "127.0.0.1:5000", []string{"2001:db8::1"}, "[2001:db8::1]:0"},
		{"a malformed chain keeps the proxy", "127.0.0.1:5000", []string{"198.51.100.1, not-an-ip"}, "127.0.0.1:5000"},
		{"only trusted hops keep the proxy", "127.0.0.1:5000", []string{"10.0.0.1"}, "127.0.0.1:5000"},
		{"no header keeps the proxy", "127.0.0.1:5000", nil, "127.0.0.1:5000"},
	} {
		r := &http.Request{RemoteAddr: tt.remote, Header: http.Header{"X-Forwarded-For": tt.xff}}
		s.clientAddr(r)
		if r.RemoteAddr != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, r.RemoteAddr, tt.want)
		}
	}
	none := &Server{}
	r := &http.Request{RemoteAddr: "127.0.0.1:5000", Header: http.Header{"X-Forwarded-For": {"198.51.100.1"}}}
	if none.clientAddr(r); r.RemoteAddr != "127.0.0.1:5000" {
		t.Errorf("without trusted proxies the header was believed: %s", r.RemoteAddr)
	}
}

// Behind a trusted proxy, each client has its own budget of refused WEBSALE
// links: one prober does not lock every buyer out.
func TestWebsale_BudgetPerClientBehindAProxy(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, func(s *Server) { s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	get := func(path, client string) answer {
		req, err := http.NewRequest(http.MethodGet, e.HTTP.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Forwarded-For", client)
		return e.do(req)
	}
	bad := wsPath("/", "00")
	for range linkFailureBurst {
		get(bad, "198.51.100.66")
	}
	good := wsPath("/", wsData(t, wsLink(e.Clock.Now(), wsOrder, wsEbook)))
	if a := get(good, "198.51.100.66"); a.Status != http.StatusNotFound {
		t.Errorf("the prober's own valid link: %d, want refused", a.Status)
	}
	if a := get(good, "198.51.100.7"); a.Status != http.StatusSeeOther {
		t.Errorf("another buyer behind the same proxy: %d, want 303", a.Status)
	}
}
