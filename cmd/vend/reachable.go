package main

import (
	"net/netip"
	"net/url"
	"strings"
)

// sharedAddressSpace is carrier-grade NAT (RFC 6598): private to a provider's
// network, and not in netip's IsPrivate.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// privateNameSuffixes are names that public DNS never answers: mDNS, the
// reserved localhost, and home and corporate networks' usual ones.
var privateNameSuffixes = []string{".localhost", ".local", ".internal", ".lan", ".home.arpa"}

// unreachable says why a provider on the internet could not reach baseURL,
// or "" when it may (vend cannot know for sure: a firewall, a DNS name that
// resolves to a private address). PayPal posts its IPN to base_url; a shop
// that PayPal cannot reach takes money and never hears of it.
func unreachable(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return "it is not a URL"
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		switch {
		case ip.IsLoopback():
			return host + " is this computer (loopback)"
		case ip.IsPrivate(), sharedAddressSpace.Contains(ip):
			return host + " is a private network address"
		case ip.IsLinkLocalUnicast():
			return host + " is a link-local address"
		case ip.IsUnspecified(), ip.IsMulticast():
			return host + " is no address a provider can post to"
		}
		return ""
	}
	switch {
	case host == "localhost":
		return "localhost is this computer"
	case !strings.Contains(host, "."):
		return host + " is a name without a domain, known only on a local network"
	}
	for _, suffix := range privateNameSuffixes {
		if strings.HasSuffix(host, suffix) {
			return host + " is a local network name (" + suffix + ")"
		}
	}
	return ""
}
