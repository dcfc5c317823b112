package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr gives r the address of the client behind the trusted proxies in
// front of vend (nginx, a load balancer): every budget, download session and
// log line is per client, and behind a proxy every request would otherwise
// come from the proxy. The client is the right-most X-Forwarded-For entry that
// is not itself a trusted proxy; entries to its left were written by whoever
// sent the request and prove nothing. A request that does not come from a
// trusted proxy keeps its own address, whatever its headers say.
func (s *Server) clientAddr(r *http.Request) {
	if len(s.TrustedProxies) == 0 || !s.trusted(r.RemoteAddr) {
		return
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			ip, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return // a malformed chain: keep the proxy's address
			}
			if !s.trustedIP(ip.Unmap()) {
				r.RemoteAddr = net.JoinHostPort(ip.Unmap().String(), "0")
				return
			}
		}
	}
}

func (s *Server) trusted(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && s.trustedIP(ip.Unmap())
}

func (s *Server) trustedIP(ip netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
