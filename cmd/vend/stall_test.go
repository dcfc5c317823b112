package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServe_StalledBodiesBlockNothing: a thousand connections that each send
// an IPN's headers and one byte of its body, then stall, must not hold
// anything genuine messages need. (They once held every PayPal verification
// slot: the slot was taken before the body was read.) While they are open,
// a genuine message of every provider, from another address, is applied.
func TestServe_StalledBodiesBlockNothing(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a whole demo store")
	}
	base, env := startDemo(t)
	env = append(env, "VEND_CONFIG="+filepath.Join(dirOf(env), "vend.toml"))
	addr := strings.TrimPrefix(base, "http://")

	// From ten addresses (127.0.0.2–11), a hundred each: every one is within
	// its address's budget, so each reaches its handler and stalls there.
	stalled := make([]net.Conn, 0, 1000)
	t.Cleanup(func() {
		for _, c := range stalled {
			c.Close()
		}
	})
	for i := range cap(stalled) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%10))}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		stalled = append(stalled, c)
		path := []string{"/ipn/paypal", "/ipn/digistore24", "/webhooks/stripe", "/webhooks/generic"}[i%4]
		if _, err := fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
			"Content-Length: 100\r\n\r\nx", path, addr); err != nil {
			t.Fatal(err)
		}
	}

	start := time.Now()
	for _, args := range [][]string{
		{"simulate", "paypal", "--product", "EBOOK-001", "--url", base + "/ipn/paypal"},
		{"simulate", "digistore24", "--product", "EBOOK-001"},
		{"simulate", "stripe", "--product", "EBOOK-001"},
		{"simulate", "generic", "--product", "AUDIO-002"},
	} {
		if out := mustVend(t, env, args...); !strings.Contains(out, "200 OK") {
			t.Errorf("vend %s while 1,000 bodies stall:\n%s", strings.Join(args, " "), out)
		}
	}
	out := mustVend(t, env, "simulate", "websale", "--product", "EBOOK-001")
	if link := regexp.MustCompile(`http\S+dldata=[0-9a-f]+`).FindString(out); link == "" {
		t.Errorf("simulate websale:\n%s", out)
	} else if code, _ := get(t, link); code != http.StatusSeeOther {
		t.Errorf("a WEBSALE link while 1,000 bodies stall: %d, want 303", code)
	}
	t.Logf("genuine messages of every provider applied in %s while 1,000 bodies stalled", time.Since(start).Round(time.Millisecond))

	// The stalled requests are still waiting for their bodies: the genuine
	// ones did not wait for them to end.
	for i, c := range stalled {
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		if n, err := c.Read(make([]byte, 1)); n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("stalled connection %d was answered before the genuine messages were done (%d bytes, %v)", i, n, err)
		}
	}
}
