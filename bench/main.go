// Command bench measures vend end to end, as separate processes on loopback:
//
//	go run ./bench ipn     # durable PayPal IPN ingest: IPNs/s and latency percentiles
//	go run ./bench ds24    # durable Digistore24 IPN ingest, the same way
//	go run ./bench -ledger DIR ds24  # the same on a copy of the SQLite ledger in DIR (seeded as for admin)
//	go run ./bench -data DIR admin  # the admin's order list, search and order page on a seeded ledger
//	go run ./bench serve   # a 10 KiB and a 1 GiB file through a grant, against nginx serving the same file
//	go run ./bench slow    # 10,000 slow downloads held at once: vend's memory, and other requests meanwhile
//
// It builds the vend binary, makes a data directory under a temp dir, imports the
// products, starts `vend serve` with PayPal verification pointed at a verifier in
// this process, and buys through a real IPN. `serve` needs nginx, wrk and curl.
// `serve` also reads the CPU time of vend's and nginx's processes from /proc, and
// `slow` vend's memory, so both need Linux.
// Results go to stdout as Markdown rows for docs/benchmarks.md.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/provider/digistore24"
	"github.com/vend-shop/vend/provider/paypal"
)

func main() {
	log.SetFlags(0)
	dur := flag.Duration("d", 10*time.Second, "duration of each load run; slow: how long all downloads are held before they are measured")
	runs := flag.Int("runs", 5, "runs per measurement (the median is reported)")
	conc := flag.Int("c", 16, "concurrent IPN senders / wrk connections ×4")
	pg := flag.String("postgres", "", "run vend on this PostgreSQL (a postgres:// URL; a fresh schema is made in it) instead of SQLite")
	mode := flag.String("mode", "direct", "delivery.mode for serve: direct, x-accel (nginx in front of vend) or redirect")
	s3gw := flag.String("s3", "", "store files in S3: path of a versitygw binary the harness starts on loopback")
	data := flag.String("data", "", "admin: the data directory, seeded with vend bench seed if it holds no ledger yet")
	orders := flag.Int("orders", 1_000_000, "admin: orders to seed")
	attempts := flag.Int("attempts", 10_000_000, "admin: download attempts to seed")
	requests := flag.Int("n", 200, "admin: requests per measurement")
	slowN := flag.Int("slow", 10_000, "slow: downloads held open at once")
	ledger := flag.String("ledger", "", "ipn, ds24 on SQLite: start from a copy of the ledger in this data directory (vend.db and secret, as vend bench seed makes them)")
	flag.Parse()
	if flag.NArg() != 1 {
		log.Fatal("usage: go run ./bench [-d 10s] [-runs 5] [-postgres URL | -ledger DIR] ipn|ds24, go run ./bench [-d 10s] [-runs 5] serve, go run ./bench [-slow 10000] slow, or go run ./bench -data DIR admin")
	}
	if *ledger != "" && (*pg != "" || flag.Arg(0) != "ipn" && flag.Arg(0) != "ds24") {
		log.Fatal("-ledger DIR: for ipn and ds24 on SQLite only (not with -postgres)")
	}
	if flag.Arg(0) == "admin" {
		if *data == "" {
			log.Fatal("admin: -data DIR (a data directory to seed or reuse)")
		}
		if err := adminBench(*data, *orders, *attempts, *requests); err != nil {
			log.Fatal(err)
		}
		return
	}
	var env []string
	metricsAddr := ""
	if flag.Arg(0) == "slow" {
		// vend's goroutines and transfers in progress, on a listener of their own.
		metricsAddr = freeAddr()
		env = append(env, "VEND_METRICS_LISTEN="+metricsAddr)
	}
	b, err := setup(*pg, *mode, *s3gw, *ledger, env...)
	if err != nil {
		log.Fatal(err)
	}
	defer b.stop()
	switch flag.Arg(0) {
	case "ipn":
		err = b.ipn(*dur, *runs, *conc, func(c *http.Client) (time.Duration, error) {
			return b.post(c, "/ipn/paypal", sim("SMALL", 100).Body(nil), "")
		})
	case "ds24":
		err = b.ipn(*dur, *runs, *conc, func(c *http.Client) (time.Duration, error) {
			return b.post(c, "/ipn/digistore24", ds24Sim("SMALL", 100).Body(ds24Passphrase), "OK\n")
		})
	case "serve":
		err = b.serve(*dur, *runs)
	case "slow":
		err = b.slow(*slowN, *dur, metricsAddr)
	default:
		err = fmt.Errorf("unknown benchmark %q", flag.Arg(0))
	}
	if err != nil {
		b.stop()
		log.Fatal(err)
	}
}

type bench struct {
	dir, bin, data, addr string
	mode                 string
	files                string     // where the stored files are on disk (for nginx)
	front                *nginxProc // nginx in front of vend (x-accel), if any
	stops                []func()
	vend                 *exec.Cmd
	verifier             *http.Server
	env                  []string
}

// setup builds vend and starts it with env added to its environment. If ledger
// names a data directory, vend starts on a copy of its SQLite ledger. On an
// error it stops whatever it started.
func setup(pg, mode, s3gw, ledger string, env ...string) (_ *bench, err error) {
	dir, err := os.MkdirTemp("", "vend-bench-")
	if err != nil {
		return nil, err
	}
	b := &bench{dir: dir, bin: filepath.Join(dir, "vend"), data: filepath.Join(dir, "data"), mode: mode}
	defer func() {
		if err != nil {
			b.stop()
		}
	}()
	b.files = filepath.Join(b.data, "files")
	log.Printf("# building vend into %s", dir)
	if out, err := exec.Command("go", "build", "-o", b.bin, "./cmd/vend").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build: %v\n%s", err, out)
	}
	// The verifier plays PayPal's postback endpoint on loopback.
	vl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b.verifier = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "VERIFIED")
	})}
	go b.verifier.Serve(vl)
	b.addr = freeAddr()
	b.env = append(os.Environ(), "VEND_DATA_DIR="+b.data, "VEND_LISTEN="+b.addr, "VEND_LOG_LEVEL=warn",
		"VEND_PAYPAL_VERIFY_URL=http://"+vl.Addr().String()+"/cgi-bin/webscr", "VEND_PAYPAL_RECEIVER_EMAILS=seller@example.com",
		"VEND_PAYPAL_SANDBOX=true", "VEND_LIMITS_IPN_PER_SECOND=1000000", "VEND_LIMITS_IPN_BURST=1000000",
		"VEND_DIGISTORE24_PASSPHRASE="+ds24Passphrase, "VEND_DIGISTORE24_SANDBOX=true")
	b.env = append(b.env, "VEND_DELIVERY_MODE="+mode)
	b.env = append(b.env, env...)
	if s3gw != "" {
		storage, err := b.startS3(s3gw)
		if err != nil {
			return nil, err
		}
		b.env = append(b.env, "VEND_STORAGE="+storage)
		log.Printf("# files in S3 (versitygw)")
	}
	if pg != "" {
		dbURL, err := freshSchema(pg)
		if err != nil {
			return nil, err
		}
		b.env = append(b.env, "VEND_DATABASE="+dbURL)
		log.Printf("# ledger on PostgreSQL")
	}
	if ledger != "" {
		if err := copyLedger(ledger, b.data); err != nil {
			return nil, err
		}
	}
	if err := b.makeFiles(); err != nil {
		return nil, err
	}
	if err := b.run("products", "import", filepath.Join(dir, "products.txt")); err != nil {
		return nil, err
	}
	b.vend = exec.Command(b.bin, "serve")
	b.vend.Env = b.env
	b.vend.Stderr = os.Stderr
	out, _ := b.vend.StdoutPipe()
	if err := b.vend.Start(); err != nil {
		return nil, err
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if !strings.Contains(line, "listening") {
		return nil, fmt.Errorf("vend did not start: %q", line)
	}
	go io.Copy(io.Discard, out)
	if mode == "x-accel" {
		front, err := b.nginxFront()
		if err != nil {
			return nil, err
		}
		b.front, b.stops = front, append(b.stops, front.stop)
	}
	return b, nil
}

// startS3 runs versitygw on loopback with a posix backend and returns the storage
// URL of a bucket in it.
func (b *bench) startS3(bin string) (string, error) {
	root := filepath.Join(b.dir, "s3")
	if err := os.MkdirAll(filepath.Join(root, "bench"), 0o700); err != nil { // a directory is a bucket
		return "", err
	}
	addr := freeAddr()
	cmd := exec.Command(bin, "--port", addr, "--access", "benchkey", "--secret", "benchsecret0123456789", "--quiet", "posix", root)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("versitygw: %w", err)
	}
	b.stops = append(b.stops, func() { cmd.Process.Kill(); cmd.Wait() })
	waitListening(addr)
	b.env = append(b.env, "AWS_ACCESS_KEY_ID=benchkey", "AWS_SECRET_ACCESS_KEY=benchsecret0123456789")
	b.files = filepath.Join(root, "bench", "files")
	return "s3://bench/files?endpoint=http://" + addr + "&region=us-east-1", nil
}

func waitListening(addr string) {
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// nginxFront runs nginx in front of vend for x-accel mode: it proxies to vend and
// serves the files vend hands it from an internal location.
func (b *bench) nginxFront() (*nginxProc, error) {
	return b.startNginx("front", fmt.Sprintf(`server {
    listen %%[2]s;
    location / { proxy_pass http://%s; proxy_http_version 1.1; proxy_set_header Connection ""; }
    location /_vend_files/ { internal; alias %s/; }
  }`, b.addr, b.files))
}

func (b *bench) makeFiles() error {
	small := make([]byte, 10<<10)
	rand.Read(small)
	if err := os.WriteFile(filepath.Join(b.dir, "small.bin"), small, 0o600); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(b.dir, "big.bin"))
	if err != nil {
		return err
	}
	defer f.Close() // for the error paths; the Close below reports its own error
	buf := make([]byte, 1<<20)
	for i := 0; i < 1024; i++ {
		rand.Read(buf)
		if _, err := f.Write(buf); err != nil {
			return err
		}
	}
	// On disk before anything is measured: left to the kernel, the writeback of
	// this gigabyte came 30 s later (vm.dirty_expire_centisecs) and held up
	// vend's fsyncs meanwhile, one answer of 0.2 to 0.4 s in the fourth run of
	// every set.
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(b.dir, "products.txt"), []byte(
		"SMALL|Small file|small.bin|1.00|USD|unlimited\nBIG|Big file|big.bin|2.00|USD|unlimited\n"), 0o600)
}

func (b *bench) run(args ...string) error {
	cmd := exec.Command(b.bin, args...)
	cmd.Env = b.env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("vend %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (b *bench) stop() {
	if b.vend != nil && b.vend.Process != nil {
		b.vend.Process.Signal(os.Interrupt)
		b.vend.Wait()
		b.vend = nil
	}
	if b.verifier != nil {
		b.verifier.Close()
	}
	for _, stop := range b.stops {
		stop()
	}
	b.stops = nil
	os.RemoveAll(b.dir)
}

// freshSchema makes an empty schema in the PostgreSQL at base and returns a URL
// whose connections use it.
func freshSchema(base string) (string, error) {
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", err
	}
	defer db.Close()
	schema := fmt.Sprintf("bench_%d", time.Now().UnixNano())
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		return "", fmt.Errorf("postgres: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// post sends one IPN and returns its latency. The answer must be 200 and, if
// want is set, have that body.
func (b *bench) post(c *http.Client, path string, body []byte, want string) (time.Duration, error) {
	start := time.Now()
	resp, err := c.Post("http://"+b.addr+path, "application/x-www-form-urlencoded", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || want != "" && string(got) != want {
		return 0, fmt.Errorf("IPN answered %s: %q", resp.Status, got)
	}
	return time.Since(start), nil
}

const ds24Passphrase = "bench-passphrase"

func ds24Sim(product string, price vend.Amount) digistore24.Sim {
	return digistore24.Sim{ProductID: product, ProductName: product, Amount: price, Currency: "USD", Test: true,
		Email: "buyer-" + strings.ToLower(rand.Text()[:8]) + "@example.com", FirstName: "Bench", LastName: "Buyer"}
}

func sim(product string, price vend.Amount) paypal.Sim {
	return paypal.Sim{TxnID: paypal.NewTxnID(), Status: "Completed", ProductID: product, ProductName: product, Amount: price,
		Currency: "USD", PayerEmail: "buyer-" + strings.ToLower(rand.Text()[:8]) + "@example.com", FirstName: "Bench", LastName: "Buyer",
		Receiver: "seller@example.com", Test: true}
}

// ipn measures durable ingest: conc senders call send as fast as it answers.
func (b *bench) ipn(dur time.Duration, runs, conc int, send func(c *http.Client) (time.Duration, error)) error {
	fmt.Printf("| run | IPNs | IPNs/s | p50 | p99 | max |\n|---|---|---|---|---|---|\n")
	var rates, p99s []float64
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
	for run := 1; run <= runs; run++ {
		var mu sync.Mutex
		var lat []time.Duration
		ctx, cancel := context.WithTimeout(context.Background(), dur)
		var wg sync.WaitGroup
		var firstErr error
		start := time.Now()
		for range conc {
			wg.Go(func() {
				for ctx.Err() == nil {
					d, err := send(c)
					mu.Lock()
					if err != nil && firstErr == nil {
						firstErr = err
					}
					lat = append(lat, d)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		cancel()
		if firstErr != nil {
			return firstErr
		}
		elapsed := time.Since(start)
		slices.Sort(lat)
		rate := float64(len(lat)) / elapsed.Seconds()
		p99 := lat[len(lat)*99/100]
		rates, p99s = append(rates, rate), append(p99s, float64(p99.Microseconds())/1000)
		fmt.Printf("| %d | %d | %.0f | %.2f ms | %.2f ms | %.2f ms |\n", run, len(lat), rate, ms(lat[len(lat)/2]), ms(p99), ms(lat[len(lat)-1]))
	}
	fmt.Printf("\nmedian: %.0f IPNs/s, p99 %.2f ms (%d senders, %d runs of %s, GOMAXPROCS %d)\n",
		median(rates), median(p99s), conc, runs, dur, runtime.GOMAXPROCS(0))
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// buy pays for a product through a real IPN and returns the file's download URL and
// the stored file's path (for nginx).
func (b *bench) buy(product string, price vend.Amount) (string, string, error) {
	s := sim(product, price)
	if _, err := b.post(http.DefaultClient, "/ipn/paypal", s.Body(nil), ""); err != nil {
		return "", "", err
	}
	cmd := exec.Command(b.bin, "orders", "show", "--json", s.TxnID)
	cmd.Env = b.env
	out, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("orders show: %w", err)
	}
	var d struct {
		Grants []struct{ Link string }
	}
	if err := json.Unmarshal(out, &d); err != nil || len(d.Grants) != 1 {
		return "", "", fmt.Errorf("orders show: no grant in %s", out)
	}
	page, err := http.Get(strings.Replace(d.Grants[0].Link, "http://127.0.0.1:8080", "http://"+b.addr, 1))
	if err != nil {
		return "", "", err
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	// A file is a link, or a button whose form posts to its link.
	m := regexp.MustCompile(`(?:href|action)="(/d/[^"]+/[0-9]+/[^"]+)"`).FindSubmatch(html)
	if m == nil {
		return "", "", fmt.Errorf("no file link on the download page")
	}
	matches, _ := filepath.Glob(filepath.Join(b.files, "*", "*"))
	name := map[string]string{"SMALL": "small.bin", "BIG": "big.bin"}[product]
	want, _ := os.ReadFile(filepath.Join(b.dir, name))
	for _, p := range matches {
		if st, err := os.Stat(p); err == nil && st.Size() == int64(len(want)) {
			base := "http://" + b.addr
			if b.front != nil {
				base = b.front.base // x-accel: buyers reach vend through nginx
			}
			return base + string(m[1]), p, nil
		}
	}
	return "", "", fmt.Errorf("stored file of %s not found", product)
}

func (b *bench) nginx(root string) (*nginxProc, error) {
	return b.startNginx("files", fmt.Sprintf(`server { listen %%[2]s; root %s; }`, root))
}

// nginxProc is an nginx the harness started.
type nginxProc struct {
	base string // http://host:port
	cmd  *exec.Cmd
}

func (n *nginxProc) stop() { n.cmd.Process.Signal(os.Interrupt); n.cmd.Wait() }

// startNginx runs nginx with one http block holding server (whose listen address
// is %[2]s).
func (b *bench) startNginx(name, server string) (*nginxProc, error) {
	addr := freeAddr()
	dir := filepath.Join(b.dir, "nginx-"+name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // the files sit in a 0700 temp dir
	}
	text := fmt.Sprintf(`%[3]s
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/nginx.err warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush off;
  client_body_temp_path %[1]s/t1; proxy_temp_path %[1]s/t2; fastcgi_temp_path %[1]s/t3; uwsgi_temp_path %[1]s/t4; scgi_temp_path %[1]s/t5;
  `+server+`
}
`, dir, addr, user)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command("nginx", "-c", conf, "-g", "daemon off;")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("nginx: %w", err)
	}
	waitListening(addr)
	return &nginxProc{base: "http://" + addr, cmd: cmd}, nil
}

func (b *bench) serve(dur time.Duration, runs int) error {
	smallURL, smallPath, err := b.buy("SMALL", 100)
	if err != nil {
		return err
	}
	bigURL, bigPath, err := b.buy("BIG", 200)
	if err != nil {
		return err
	}
	st, err := os.Stat(smallPath)
	if err != nil {
		return err
	}
	smallSize := st.Size()
	ng, err := b.nginx(b.files)
	if err != nil {
		return err
	}
	defer ng.stop()
	rel := func(p string) string { r, _ := filepath.Rel(b.files, p); return "/" + r }
	nginxSmall, nginxBig := ng.base+rel(smallPath), ng.base+rel(bigPath)

	// The ceilings for Go: the standard library's ServeContent on the same file,
	// and the same bytes from memory; no grant, no counting, no log.
	goBase, stopGo, err := serveContent(smallPath)
	if err != nil {
		return err
	}
	defer stopGo()

	vendCPU, nginxCPU := b.cpuMeter(), cpuMeter{ng.cmd.Process.Pid}
	fmt.Printf("| run | 10 KiB vend req/s | 10 KiB nginx req/s | ratio | 10 KiB bare Go req/s, file / memory | 1 GiB vend MiB/s | 1 GiB nginx MiB/s | ratio |\n|---|---|---|---|---|---|---|---|\n")
	var smallRatio, bigRatio, vs, ns, gs, ms, vb, nb []float64
	var cpu []cpuRow
	for run := 1; run <= runs; run++ {
		v1, vc1, err := wrkCost(vendCPU, smallURL, dur, smallSize)
		if err != nil {
			return err
		}
		n1, nc1, err := wrkCost(nginxCPU, nginxSmall, dur, smallSize)
		if err != nil {
			return err
		}
		g1, gc1, err := bareCost(goBase, dur, smallSize)
		if err != nil {
			return err
		}
		m1, mc1, err := bareCost(goBase+"bytes", dur, smallSize)
		if err != nil {
			return err
		}
		// A single download is noisy: three of each, alternating, median.
		var v2s, n2s []float64
		var vc2, nc2 cost
		for range 3 {
			v, vc, err := curlCost(vendCPU, bigURL)
			if err != nil {
				return err
			}
			n, nc, err := curlCost(nginxCPU, nginxBig)
			if err != nil {
				return err
			}
			v2s, n2s = append(v2s, v), append(n2s, n)
			vc2, nc2 = vc2.plus(vc), nc2.plus(nc)
		}
		v2, n2 := median(v2s), median(n2s)
		vs, ns, gs, ms, vb, nb = append(vs, v1), append(ns, n1), append(gs, g1.rate), append(ms, m1.rate), append(vb, v2), append(nb, n2)
		smallRatio, bigRatio = append(smallRatio, v1/n1), append(bigRatio, v2/n2)
		cpu = append(cpu, cpuRow{vc1.perGiB(), nc1.perGiB(), gc1.perGiB(), mc1.perGiB(), vc2.perGiB(), nc2.perGiB()})
		fmt.Printf("| %d | %.0f | %.0f | %.2f | %.0f / %.0f | %.0f | %.0f | %.2f |\n", run, v1, n1, v1/n1, g1.rate, m1.rate, v2, n2, v2/n2)
	}
	fmt.Printf("\nmedians: 10 KiB vend %.0f req/s, nginx %.0f req/s, ratio %.2f (bare Go %.0f from the file, %.2f of nginx; %.0f from memory, %.2f); 1 GiB vend %.0f MiB/s, nginx %.0f MiB/s, ratio %.2f\n",
		median(vs), median(ns), median(smallRatio), median(gs), median(gs)/median(ns), median(ms), median(ms)/median(ns), median(vb), median(nb), median(bigRatio))
	b.printCPU(cpu)
	return nil
}

// cpuRow is one run's CPU seconds per GiB of file bodies served, by vend and by
// nginx for the 10 KiB and the 1 GiB file, and by the bare Go servers for the
// 10 KiB one (from the file and from memory).
type cpuRow struct{ vendSmall, nginxSmall, goSmall, goMemory, vendBig, nginxBig float64 }

// printCPU prints the CPU cost of serving as a second table, one row per run,
// and its medians.
func (b *bench) printCPU(rows []cpuRow) {
	fmt.Printf("\n| run | 10 KiB vend CPU s/GiB | 10 KiB nginx CPU s/GiB | ratio | 10 KiB bare Go CPU s/GiB, file / memory | 1 GiB vend CPU s/GiB | 1 GiB nginx CPU s/GiB | ratio |\n|---|---|---|---|---|---|---|---|\n")
	var vs, ns, sr, gs, ms, vb, nb, br []float64
	for i, r := range rows {
		vs, ns, sr, gs, ms = append(vs, r.vendSmall), append(ns, r.nginxSmall), append(sr, r.vendSmall/r.nginxSmall), append(gs, r.goSmall), append(ms, r.goMemory)
		vb, nb, br = append(vb, r.vendBig), append(nb, r.nginxBig), append(br, r.vendBig/r.nginxBig)
		fmt.Printf("| %d | %.3f | %.3f | %.2f | %.3f / %.3f | %.3f | %.3f | %.2f |\n", i+1, r.vendSmall, r.nginxSmall, r.vendSmall/r.nginxSmall,
			r.goSmall, r.goMemory, r.vendBig, r.nginxBig, r.vendBig/r.nginxBig)
	}
	fmt.Printf("\nCPU seconds per GiB served, medians: 10 KiB vend %.3f, nginx %.3f, ratio %.2f (bare Go %.3f from the file, %.2f of nginx; %.3f from memory, %.2f); 1 GiB vend %.3f, nginx %.3f, ratio %.2f (aim: ratio ≤ 1.10)\n",
		median(vs), median(ns), median(sr), median(gs), median(gs)/median(ns), median(ms), median(ms)/median(ns), median(vb), median(nb), median(br))
	fmt.Printf("(user + system time of the server processes from /proc, over file bodies served: wrk's requests × the file's size, curl's bytes; nginx is master and worker")
	switch {
	case b.front != nil:
		fmt.Printf("; vend's figures include the nginx in front of it")
	case b.mode == "redirect":
		fmt.Printf("; in redirect mode vend sends no bodies: its figures are per GiB it redirected to")
	}
	if b.files != filepath.Join(b.data, "files") {
		fmt.Printf("; the object store's CPU is not counted")
	}
	fmt.Printf(")\n")
}

// cpuMeter returns the meter of vend's serving processes: vend, and the nginx in
// front of it if there is one.
func (b *bench) cpuMeter() cpuMeter {
	m := cpuMeter{b.vend.Process.Pid}
	if b.front != nil {
		m = append(m, b.front.cmd.Process.Pid)
	}
	return m
}

// serveContent serves one file with nothing else around it, the ceilings for Go:
// at / with http.ServeContent on the file, and at /bytes from memory in one Write
// with its length set: the same pattern of socket writes as vend's for a small
// file, which it keeps in memory. No grant, no counting, no log.
func serveContent(path string) (string, func(), error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	length, octets := []string{strconv.Itoa(len(data))}, []string{"application/octet-stream"}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(path)
		if err != nil {
			http.Error(w, "no file", http.StatusInternalServerError)
			return
		}
		defer f.Close()
		st, _ := f.Stat()
		http.ServeContent(w, r, "", st.ModTime(), f)
	})
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"], h["Content-Length"] = octets, length
		w.Write(data)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/", func() { srv.Close() }, nil
}

// bareCost runs wrk against the bare Go server of serveContent, which runs in
// this process, idle otherwise, and returns its rate and what this process spent
// on the bodies of size bytes it sent.
func bareCost(url string, dur time.Duration, size int64) (wrkResult, cost, error) {
	before, err := processCPU(os.Getpid())
	if err != nil {
		return wrkResult{}, cost{}, err
	}
	res, err := wrk(url, dur)
	if err != nil {
		return wrkResult{}, cost{}, err
	}
	after, err := processCPU(os.Getpid())
	if err != nil {
		return wrkResult{}, cost{}, err
	}
	return res, cost{cpu: after - before, bytes: res.requests * size}, nil
}

var (
	wrkRate     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkRequests = regexp.MustCompile(`([0-9]+) requests in`)
)

// wrkResult is what one wrk run reports.
type wrkResult struct {
	rate     float64 // requests per second
	requests int64
}

func wrk(url string, dur time.Duration) (wrkResult, error) {
	out, err := exec.Command("wrk", "-t1", "-c64", "-d"+strconv.Itoa(int(dur.Seconds()))+"s", url).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	if bytes.Contains(out, []byte("Non-2xx")) {
		return wrkResult{}, fmt.Errorf("wrk saw errors:\n%s", out)
	}
	rate, requests := wrkRate.FindSubmatch(out), wrkRequests.FindSubmatch(out)
	if rate == nil || requests == nil {
		return wrkResult{}, fmt.Errorf("wrk output: %s", out)
	}
	var res wrkResult
	res.rate, err = strconv.ParseFloat(string(rate[1]), 64)
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk rate: %w", err)
	}
	res.requests, err = strconv.ParseInt(string(requests[1]), 10, 64)
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk requests: %w", err)
	}
	return res, nil
}

// wrkCost runs wrk against url, a file of size bytes, and returns its rate and
// what m's processes spent on the bodies it was sent.
func wrkCost(m cpuMeter, url string, dur time.Duration, size int64) (float64, cost, error) {
	var res wrkResult
	cpu, err := m.during(func() error {
		var err error
		res, err = wrk(url, dur)
		return err
	})
	return res.rate, cost{cpu: cpu, bytes: res.requests * size}, err
}

// curlCost downloads url once and returns its speed in MiB/s and what m's
// processes spent on it.
func curlCost(m cpuMeter, url string) (float64, cost, error) {
	var out []byte
	cpu, err := m.during(func() error {
		var err error
		out, err = exec.Command("curl", "-sfL", "-o", "/dev/null", "-w", "%{speed_download} %{size_download}", url).Output()
		if err != nil {
			return fmt.Errorf("curl %s: %w", url, err)
		}
		return nil
	})
	if err != nil {
		return 0, cost{}, err
	}
	var bps float64
	var size int64
	if _, err := fmt.Sscan(string(out), &bps, &size); err != nil {
		return 0, cost{}, fmt.Errorf("curl output %q: %w", out, err)
	}
	return bps / (1 << 20), cost{cpu: cpu, bytes: size}, nil
}

// copyLedger copies a data directory's SQLite ledger, and the link secret its
// grants' links are signed with, into the data directory to.
func copyLedger(from, to string) error {
	log.Printf("# copying the ledger in %s", from)
	// A WAL means a vend has the directory open, or did not close it: vend.db
	// alone would miss what the WAL holds, or be torn by a checkpoint meanwhile.
	if st, err := os.Stat(filepath.Join(from, "vend.db-wal")); err == nil && st.Size() > 0 {
		return fmt.Errorf("copy the ledger: %s is not empty: stop the vend using %s first", filepath.Join(from, "vend.db-wal"), from)
	}
	if err := os.MkdirAll(to, 0o700); err != nil {
		return err
	}
	for _, name := range []string{"vend.db", "secret"} {
		if err := copyFile(filepath.Join(from, name), filepath.Join(to, name)); err != nil {
			return fmt.Errorf("copy the ledger: %w", err)
		}
	}
	return nil
}

// copyFile copies from to the new file to, synced before anything is measured
// (see makeFiles).
func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer dst.Close() // for the error paths; the Close below reports its own error
	if _, err := io.Copy(dst, src); err != nil {
		return err
	}
	if err := dst.Sync(); err != nil {
		return err
	}
	return dst.Close()
}
