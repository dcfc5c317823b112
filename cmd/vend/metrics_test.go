package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestServe_MetricsListen: with metrics.listen, a second address serves
// /metrics (and nothing else) without a token; the main listener, with no
// metrics.token, has no /metrics at all.
func TestServe_MetricsListen(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the vend binary")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	bin := buildVend(t)
	env := append(vendEnv(t.TempDir(), anyPort, "http://127.0.0.1:1/verify"), "VEND_METRICS_LISTEN="+addr)
	srv := startServe(t, bin, env)
	defer func() { srv.kill(t); srv.wait() }()
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("http://" + addr + "/metrics"); code != http.StatusOK || !strings.Contains(body, "vend_downloads_total") ||
		!strings.Contains(body, "go_goroutines") {
		t.Errorf("metrics.listen: %d\n%.300s", code, body)
	}
	if code, _ := get("http://" + addr + "/admin"); code != http.StatusNotFound {
		t.Errorf("the metrics address serves /admin: %d", code)
	}
	if code, _ := get(srv.url + "/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the main listener without metrics.token: %d, want 404", code)
	}
}
