package main

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// adminBench measures the admin's order list, search by email, order page,
// dashboard and counters on a data directory seeded with `vend bench seed` (made here if it holds
// nothing yet): requests one after another, p50 and p95 of each.
func adminBench(dataDir string, orders, attempts, n int) error {
	dir, err := os.MkdirTemp("", "vend-bench-admin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "vend")
	log.Printf("# building vend into %s", dir)
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/vend").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	addr := freeAddr()
	env := append(os.Environ(), "VEND_DATA_DIR="+dataDir, "VEND_LISTEN="+addr, "VEND_LOG_LEVEL=warn")
	vend := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if _, err := os.Stat(filepath.Join(dataDir, "vend.db")); err != nil {
		log.Printf("# seeding %d orders and %d attempts into %s (bulk: a few minutes for a million)", orders, attempts, dataDir)
		start := time.Now()
		if out, err := vend("", "bench", "seed", "--bulk", "--orders", fmt.Sprint(orders), "--attempts", fmt.Sprint(attempts)); err != nil {
			return fmt.Errorf("seed: %v\n%s", err, out)
		}
		log.Printf("# seeded in %s", time.Since(start).Round(time.Second))
	}
	const user, password = "bench", "bench-password-0123"
	if out, err := vend(password+"\n", "user", "add", user, "--password-stdin"); err != nil && !strings.Contains(out, "already") {
		return fmt.Errorf("user add: %v\n%s", err, out)
	}
	srv := exec.Command(bin, "serve")
	srv.Env, srv.Stderr = env, os.Stderr
	stdout, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { srv.Process.Signal(os.Interrupt); srv.Wait() }()
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); !strings.Contains(line, "listening") {
		return fmt.Errorf("vend did not start: %q", line)
	}
	go io.Copy(io.Discard, stdout)
	base := "http://" + addr
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodPost, base+"/admin/login", strings.NewReader(url.Values{"name": {user}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "vend_admin" {
			cookie = c
		}
	}
	if cookie == nil {
		return fmt.Errorf("login answered %s without a session", resp.Status)
	}
	r := rand.New(rand.NewPCG(7, 7))
	cases := []struct {
		name string
		path func() string
		n    int // requests, when not n: counters outside the standard windows add up a row per buyer and day
	}{
		{"order list", func() string { return "/admin/orders" }, 0},
		{"order list, page 1000", func() string { return fmt.Sprintf("/admin/orders?before=%d", max(orders-1000*50, 2)) }, 0},
		{"search by email", func() string { return fmt.Sprintf("/admin/orders?q=buyer%d@example.com", r.IntN(300_000)) }, 0},
		{"search by email prefix", func() string { return fmt.Sprintf("/admin/orders?q=buyer%d", r.IntN(300_000)) }, 0},
		{"order page", func() string { return fmt.Sprintf("/admin/orders/%d", 1+r.IntN(orders)) }, 0},
		{"30 days of a year, by date", func() string {
			from := time.Now().AddDate(0, 0, -30-r.IntN(330))
			return "/admin/orders?from=" + from.Format(time.DateOnly) + "&to=" + from.AddDate(0, 0, 29).Format(time.DateOnly)
		}, 0},
		{"30 days of a year, by date, a page in the middle", func() string {
			ago := 30 + r.IntN(330)
			from := time.Now().AddDate(0, 0, -ago)
			before := max(orders*(365-ago+15)/365, 2) // seeded orders are spread evenly over the year
			return fmt.Sprintf("/admin/orders?from=%s&to=%s&before=%d", from.Format(time.DateOnly), from.AddDate(0, 0, 29).Format(time.DateOnly), before)
		}, 0},
		{"one product (of 20)", func() string { return fmt.Sprintf("/admin/orders?product=SEED-%03d", r.IntN(20)) }, 0},
		{"status refunded", func() string { return "/admin/orders?status=refunded" }, 0},
		{"dashboard (30 days of sums)", func() string { return "/admin" }, 0},
		{"counters, 7 days", func() string { return "/admin/counters?days=7" }, 0},
		{"counters, 30 days", func() string { return "/admin/counters?days=30" }, 0},
		{"counters, 30 days, by email", func() string { return "/admin/counters?days=30&sort=email" }, 0},
		{"counters, 10 days (no window: a row per buyer and day)", func() string { return "/admin/counters?days=10" }, 20},
	}
	fmt.Printf("| request | n | p50 | p95 | max |\n|---|---|---|---|---|\n")
	for _, c := range cases {
		n := cmp.Or(c.n, n)
		var lat []time.Duration
		for range n {
			req, _ := http.NewRequest(http.MethodGet, base+c.path(), nil)
			req.AddCookie(cookie)
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: %s", c.name, resp.Status)
			}
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		fmt.Printf("| %s | %d | %.1f ms | %.1f ms | %.1f ms |\n", c.name, n, ms(lat[n/2]), ms(lat[n*95/100]), ms(lat[n-1]))
	}
	return nil
}
