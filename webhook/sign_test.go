package webhook

import "testing"

// TestPublicOnly: addresses of this machine and of private or internal
// networks are refused, in every spelling; public ones pass.
func TestPublicOnly(t *testing.T) {
	for _, c := range []struct {
		addr string
		ok   bool
	}{
		{"93.184.215.14:443", true}, {"[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443", true},
		{"127.0.0.1:80", false}, {"[::1]:80", false}, {"0.0.0.0:80", false}, {"[::]:80", false},
		{"10.1.2.3:443", false}, {"172.16.0.1:443", false}, {"192.168.1.1:443", false}, {"169.254.169.254:80", false},
		{"100.100.100.200:80", false}, {"198.18.0.1:80", false}, {"240.0.0.1:80", false}, {"224.0.0.1:80", false},
		{"[::ffff:127.0.0.1]:80", false}, {"[::ffff:10.0.0.1]:80", false}, {"[fd00::1]:443", false}, {"[fe80::1]:443", false},
		{"[fec0::1]:443", false}, {"[64:ff9b::a00:1]:443", false},
	} {
		if err := publicOnly("tcp", c.addr, nil); (err == nil) != c.ok {
			t.Errorf("%s: %v, want allowed %v", c.addr, err, c.ok)
		}
	}
}
