package main

import (
	"strings"
	"testing"
)

func TestUnreachable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url  string
		want string // a substring of the reason; "" for reachable
	}{
		{"https://shop.example.com", ""},
		{"https://shop.example.com:8443/vend", ""},
		{"http://203.0.113.7:8080", ""},
		{"http://[2001:db8::1]", ""},
		{"http://127.0.0.1:8080", "loopback"},
		{"http://[::1]:8080", "loopback"},
		{"http://localhost:8080", "this computer"},
		{"http://shop.localhost", ".localhost"},
		{"http://10.1.2.3", "private"},
		{"http://192.168.1.20:8080", "private"},
		{"http://172.16.0.5", "private"},
		{"http://100.64.1.1", "private"},
		{"http://[fd00::1]", "private"},
		{"http://[::ffff:192.168.1.1]", "private"},
		{"http://169.254.10.10", "link-local"},
		{"http://[fe80::1]", "link-local"},
		{"http://0.0.0.0:8080", "no address"},
		{"http://nas.local", ".local"},
		{"http://NAS.LOCAL.", ".local"},
		{"http://vend.internal", ".internal"},
		{"http://printer.home.arpa", ".home.arpa"},
		{"http://myserver:8080", "without a domain"},
	}
	for _, tt := range tests {
		got := unreachable(tt.url)
		if (got == "") != (tt.want == "") || !strings.Contains(got, tt.want) {
			t.Errorf("unreachable(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}
