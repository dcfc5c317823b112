package main

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// How the slow downloads behave. From each source address come slowPerAddress of
// them, as from a few buyers behind one address; slowDialers open them in
// parallel. Each has a small receive buffer and reads slowReadBytes every
// slowReadEvery once its headers are in: a buyer on a slow line.
const (
	slowPerAddress = 100
	slowDialers    = 32
	slowRcvbuf     = 4 << 10
	slowMSS        = 1460 // Ethernet's, see slowSocket
	slowReadBytes  = 256
	slowReadEvery  = 10 * time.Second
	slowProbes     = 200 // other requests per measurement, one after another
	slowSettle     = 2 * time.Second
)

// slow holds n slow downloads of the 1 GiB file through one grant and reports
// vend's memory, and the latency of other requests, with none, 1,000 and n of
// them in progress, and once they are closed again. All n are held for hold
// before they are measured. metricsAddr is vend's metrics listener, for its
// goroutines and transfers in progress.
func (b *bench) slow(n int, hold time.Duration, metricsAddr string) error {
	if b.mode != "direct" {
		return fmt.Errorf("slow measures vend sending the bytes itself: -mode direct, not %s", b.mode)
	}
	bigURL, _, err := b.buy("BIG", 200)
	if err != nil {
		return err
	}
	smallURL, _, err := b.buy("SMALL", 100)
	if err != nil {
		return err
	}
	page, err := pageOf(bigURL)
	if err != nil {
		return err
	}
	u, err := url.Parse(bigURL)
	if err != nil {
		return err
	}
	c := &slowClient{addr: u.Host, path: u.RequestURI(), refused: map[string]int{}}
	defer c.close()
	pid := b.vend.Process.Pid

	fmt.Printf("Slow downloads of the 1 GiB file through one grant, up to %d at once: %d from each of 127.0.0.2, 127.0.0.3, …; "+
		"each with a %d KiB receive buffer and a %d-byte MSS, reading %d bytes every %s after its headers. "+
		"Other requests, from 127.0.0.1, each on a new connection: %d GETs of the buyer's download page and %d of a 10 KiB file of another grant.\n",
		n, slowPerAddress, slowRcvbuf>>10, slowMSS, slowReadBytes, slowReadEvery, slowProbes, slowProbes)
	fds, err := openFiles(pid)
	if err != nil {
		return err
	}
	limit := maxOpenFiles(pid)
	room := "?"
	if l, err := strconv.Atoi(limit); err == nil {
		room = strconv.Itoa((l - fds) / 2)
	}
	fmt.Printf("vend's limits: none on downloads per address, per grant or at once (delivery/, config/), and the product's downloads "+
		"are unlimited, so nothing is lifted for them (VEND_LIMITS_IPN_* is, for the purchases). vend may hold %s files open and holds %d; "+
		"each download holds two (its socket and the file): room for about %s.\n\n", limit, fds, room)
	fmt.Printf("| downloads held | vend transfers | VmRSS | VmHWM | Go heap / stacks | goroutines | threads | fds | kernel TCP memory | page p50 / p99 | 10 KiB p50 / p99 | other requests failed |\n" +
		"|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	var rows []slowRow
	for _, target := range []int{0, min(1000, n), n} {
		if len(rows) > 0 && target == c.opened {
			continue
		}
		start := time.Now()
		before := c.opened
		c.open(target)
		if target > before {
			log.Printf("# opened %d downloads in %s; %d held", target-before, time.Since(start).Round(time.Millisecond), c.held())
		}
		wait := slowSettle
		if target == n {
			wait = max(hold, slowSettle)
		}
		time.Sleep(wait)
		r, err := measureSlow(pid, metricsAddr, page, smallURL, strconv.Itoa(c.held()))
		if err != nil {
			return err
		}
		rows = append(rows, r)
		r.print()
	}
	peak, held, troubles := rows[len(rows)-1], c.held(), c.troubles()
	c.close()
	time.Sleep(slowSettle)
	closed, err := measureSlow(pid, metricsAddr, page, smallURL, "0 (all closed)")
	if err != nil {
		return err
	}
	closed.print()

	idle := rows[0]
	perDownload := func(peak, idle int64) float64 { return float64(peak-idle) / float64(max(held, 1)) / 1024 }
	fmt.Printf("\nvend held %d slow downloads (%d transfers in progress) at %s RSS (high-water mark %s): %.1f KiB per download over the idle server's %s "+
		"(Go heap %.1f KiB, goroutine stacks %.1f KiB, %.1f goroutines); "+
		"meanwhile the download page took %s p50 / %s p99 and the 10 KiB file %s / %s; %d of the %d other requests failed. "+
		"Slow downloads: %s.\n",
		held, peak.transfers, mib(peak.mem.rss), mib(peak.mem.hwm), perDownload(peak.mem.rss, idle.mem.rss), mib(idle.mem.rss),
		perDownload(peak.heap, idle.heap), perDownload(peak.stacks, idle.stacks), float64(peak.goroutines-idle.goroutines)/float64(max(held, 1)),
		msText(percentile(peak.page, 50)), msText(percentile(peak.page, 99)), msText(percentile(peak.small, 50)), msText(percentile(peak.small, 99)),
		peak.failed, 2*slowProbes, troubles)
	return nil
}

// pageOf returns the download page of a file's URL (/d/TOKEN/FILE/NAME).
func pageOf(fileURL string) (string, error) {
	u, err := url.Parse(fileURL)
	if err != nil {
		return "", err
	}
	parts := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	if len(parts) != 4 || parts[0] != "d" {
		return "", fmt.Errorf("not a file link: %s", fileURL)
	}
	u.Path, u.RawPath = "/d/"+parts[1], ""
	return u.String(), nil
}

// slowRow is one measurement of the slow benchmark.
type slowRow struct {
	label                 string
	transfers, goroutines int   // from vend's metrics
	heap, stacks          int64 // bytes in use, from vend's metrics
	mem                   memory
	fds                   int
	tcp                   int64 // kernel TCP memory, bytes
	page, small           []time.Duration
	failed                int // other requests that failed
}

// measureSlow reads vend's memory and metrics, then times the other requests.
func measureSlow(pid int, metricsAddr, page, small, label string) (slowRow, error) {
	r := slowRow{label: label, tcp: tcpMemory()}
	var err error
	if r.mem, err = processMemory(pid); err != nil {
		return r, err
	}
	if r.fds, err = openFiles(pid); err != nil {
		return r, err
	}
	m, err := scrape(metricsAddr)
	if err != nil {
		return r, err
	}
	r.transfers, r.goroutines = int(m["vend_transfers_in_progress"]), int(m["go_goroutines"])
	r.heap, r.stacks = int64(m["go_memstats_heap_inuse_bytes"]), int64(m["go_memstats_stack_inuse_bytes"])
	// Each request on a new connection, as another buyer's would come: it also
	// needs vend to accept one more.
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var failed [2]int
	r.page, failed[0] = probe(client, page, slowProbes)
	r.small, failed[1] = probe(client, small, slowProbes)
	r.failed = failed[0] + failed[1]
	return r, nil
}

func (r slowRow) print() {
	fmt.Printf("| %s | %d | %s | %s | %s / %s | %d | %d | %d | %s | %s / %s | %s / %s | %d of %d |\n",
		r.label, r.transfers, mib(r.mem.rss), mib(r.mem.hwm), mib(r.heap), mib(r.stacks), r.goroutines, r.mem.threads, r.fds, mib(r.tcp),
		msText(percentile(r.page, 50)), msText(percentile(r.page, 99)),
		msText(percentile(r.small, 50)), msText(percentile(r.small, 99)), r.failed, 2*slowProbes)
}

// probe GETs url n times, one after another, and returns the sorted latencies of
// the answers that were 200 and how many were not; it logs the first failure.
func probe(c *http.Client, url string, n int) ([]time.Duration, int) {
	var lat []time.Duration
	failed := 0
	for range n {
		start := time.Now()
		resp, err := c.Get(url)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("answered %s", resp.Status)
			}
		}
		if err != nil {
			if failed == 0 {
				log.Printf("# other request failed: GET %s: %v", url, err)
			}
			failed++
			continue
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	return lat, failed
}

func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return -1
	}
	return sorted[min(len(sorted)*p/100, len(sorted)-1)]
}

func msText(d time.Duration) string {
	if d < 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f ms", ms(d))
}

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

// scrape reads the unlabelled samples of vend's metrics.
func scrape(addr string) (map[string]float64, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics: %s", resp.Status)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if v, err := strconv.ParseFloat(f[1], 64); err == nil {
			m[f[0]] = v
		}
	}
	return m, sc.Err()
}

// slowClient holds slow downloads of one file open.
type slowClient struct {
	addr, path string // vend's address and the file's path

	mu       sync.Mutex
	opened   int // downloads tried, held or not
	conns    []*heldConn
	refused  map[string]int // answers other than 200, by status
	failed   int            // downloads that failed before their headers were in
	ended    int            // downloads vend ended while they were held
	firstErr error          // of the failed or ended ones
	logged   bool           // the first trouble of any kind is logged
	stop     chan struct{}  // ends trickle
	wg       sync.WaitGroup
}

// heldConn is a download whose headers are in; trickle reads its body.
type heldConn struct {
	net.Conn
	ended bool // set by trickle only
}

// open tries downloads until target have been tried, slowDialers at a time.
func (c *slowClient) open(target int) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range slowDialers {
		wg.Go(func() {
			for i := range next {
				conn, err := c.dial(i)
				c.mu.Lock()
				var refused refusal
				switch {
				case errors.As(err, &refused):
					c.refused[string(refused)]++
				case err != nil:
					c.failed++
					c.firstErr = cmp.Or(c.firstErr, err)
				default:
					c.conns = append(c.conns, &heldConn{Conn: conn})
				}
				if err != nil && !c.logged {
					c.logged = true
					log.Printf("# slow download %d: %v", i, err)
				}
				c.mu.Unlock()
			}
		})
	}
	for i := c.opened; i < target; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	c.opened = max(c.opened, target)
	if c.stop == nil && len(c.conns) > 0 {
		c.stop = make(chan struct{})
		c.wg.Go(c.trickle)
	}
}

// refusal is an answer other than 200 to a download.
type refusal string

func (r refusal) Error() string { return "answered " + string(r) }

// dial starts download i: it connects from download i's source address, sends
// the request and reads the response's headers.
func (c *slowClient) dial(i int) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: sourceAddr(i)}, Timeout: 30 * time.Second, Control: slowSocket}
	conn, err := d.Dial("tcp", c.addr)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	resp, err := c.get(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		conn.Close()
		return nil, refusal(resp.Status)
	}
	conn.SetDeadline(time.Time{})
	return conn, nil
}

func (c *slowClient) get(conn net.Conn) (*http.Response, error) {
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: vend-bench-slow\r\n\r\n", c.path, c.addr); err != nil {
		return nil, err
	}
	// The body's first bytes that the buffer takes are dropped with it.
	return http.ReadResponse(bufio.NewReaderSize(conn, 1024), nil)
}

// sourceAddr is the loopback address download i comes from: slowPerAddress
// downloads from each of 127.0.0.2, 127.0.0.3, … (Linux routes all of
// 127.0.0.0/8 to the loopback device).
func sourceAddr(i int) net.IP {
	k := 2 + i/slowPerAddress
	return net.IPv4(127, byte(k>>16), byte(k>>8), byte(k))
}

// slowSocket sets up a download's socket before it connects: a small receive
// buffer, so that vend's writes block once it and vend's send buffer are full;
// and Ethernet's MSS instead of loopback's 65,483 bytes. Linux sizes a socket's
// send buffer by the MSS (twice ten segments): with loopback's, every blocked
// download held about 3.8 MB of kernel memory (752 MiB for 200), and a few
// hundred of them pass tcp_mem and stall every TCP socket of the machine; with
// Ethernet's, about 100 KiB, as for a buyer on a real network.
func slowSocket(_, _ string, rc syscall.RawConn) error {
	var err error
	if cerr := rc.Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, slowRcvbuf)
		if err == nil {
			err = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, slowMSS)
		}
	}); cerr != nil {
		return cerr
	}
	return err
}

// trickle reads a little of each held download in turn, each about every
// slowReadEvery, until close. A read that ends in anything but its deadline
// (data is always waiting) means vend ended that download.
func (c *slowClient) trickle() {
	buf := make([]byte, slowReadBytes)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		c.mu.Lock()
		conns := c.conns
		c.mu.Unlock()
		tick.Reset(max(slowReadEvery/time.Duration(max(len(conns), 1)), time.Microsecond))
		for _, conn := range conns {
			select {
			case <-c.stop:
				return
			case <-tick.C:
			}
			if conn.ended {
				continue
			}
			conn.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			if _, err := conn.Read(buf); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				conn.ended = true
				conn.Close()
				c.mu.Lock()
				c.ended++
				c.firstErr = cmp.Or(c.firstErr, err)
				if !c.logged {
					c.logged = true
					log.Printf("# a held download ended: %v", err)
				}
				c.mu.Unlock()
			}
		}
	}
}

// held is how many downloads are held open.
func (c *slowClient) held() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return max(len(c.conns)-c.ended, 0)
}

// troubles says what went wrong with the slow downloads, if anything.
func (c *slowClient) troubles() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, status := range slices.Sorted(maps.Keys(c.refused)) {
		out = append(out, fmt.Sprintf("%d answered %s", c.refused[status], status))
	}
	if c.failed > 0 {
		out = append(out, fmt.Sprintf("%d failed before their headers", c.failed))
	}
	if c.ended > 0 {
		out = append(out, fmt.Sprintf("%d ended by vend while held", c.ended))
	}
	if len(out) == 0 {
		return fmt.Sprintf("all %d were served (200) and held to the end", c.opened)
	}
	text := fmt.Sprintf("of %d, %s", c.opened, strings.Join(out, ", "))
	if c.firstErr != nil {
		text += fmt.Sprintf(" (first: %v)", c.firstErr)
	}
	return text
}

// close ends trickle and closes every held download.
func (c *slowClient) close() {
	if c.stop != nil {
		close(c.stop)
		c.wg.Wait()
		c.stop = nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}
