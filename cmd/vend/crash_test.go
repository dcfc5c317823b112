package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/provider/paypal"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/sqlite"
)

// TestServe_KillLosesNoAcknowledgedIPN is DESIGN.md's crash invariant on the real
// binary: IPNs arrive from several goroutines, vend is killed with SIGKILL in the
// middle, and after a restart on the same data directory every IPN that was
// answered 200 is in the ledger (its order, its raw notification) and no order
// exists twice. PayPal then resends everything, as it does until it sees a 200,
// and each payment ends with exactly one order.
func TestServe_KillLosesNoAcknowledgedIPN(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the vend binary")
	}
	bin := buildVend(t)

	var verified atomic.Int64
	verifier := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || !bytes.HasPrefix(body, []byte("cmd=_notify-validate&")) {
			http.Error(w, "bad postback", http.StatusBadRequest)
			return
		}
		verified.Add(1)
		io.WriteString(w, "VERIFIED")
	}))
	defer verifier.Close()

	dataDir := t.TempDir()
	env := vendEnv(dataDir, anyPort, verifier.URL)
	importProduct(t, bin, env, "ebook|E-Book|ebook.pdf|19.95|USD|5|unlimited")

	const total, workers, killAfter = 300, 8, 100
	ipns := make([][]byte, total)
	for i := range ipns {
		ipns[i] = paypal.Sim{
			TxnID: fmt.Sprintf("KILL%013d", i), ProductID: "ebook", ProductName: "E-Book", Amount: 1995,
			Receiver: "seller@example.com", PayerEmail: fmt.Sprintf("buyer%d@example.com", i), FirstName: "J\u00f6rg", LastName: "M\u00fcller",
			Test: true,
		}.Body([]byte("crash-test"))
	}

	srv := startServe(t, bin, env)
	client := &http.Client{Timeout: 20 * time.Second}
	acked := make([]bool, total)
	var nacked atomic.Int64
	var killOnce sync.Once
	kill := func() { killOnce.Do(func() { srv.kill(t) }) }
	next := make(chan int)
	go func() {
		defer close(next)
		for i := range total {
			next <- i
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				if status, err := postIPN(client, srv.url, ipns[i]); err == nil && status == http.StatusOK {
					acked[i] = true
					if nacked.Add(1) >= killAfter {
						kill()
					}
				}
			}
		})
	}
	wg.Wait()
	kill() // in case fewer than killAfter got through
	srv.wait()
	if nacked.Load() < killAfter {
		t.Fatalf("only %d IPNs answered 200 before the kill (stderr:\n%s)", nacked.Load(), srv.stderr())
	}
	if nacked.Load() == total {
		t.Fatalf("all %d IPNs were answered: the kill came too late to test anything", total)
	}
	t.Logf("%d of %d IPNs answered 200 before SIGKILL", nacked.Load(), total)

	// Restart on the same data directory: the ledger opens, and holds every
	// acknowledged IPN.
	srv = startServe(t, bin, env)
	db := openLedger(t, dataDir)
	byBody := map[string]*vend.Notification{}
	err := db.View(context.Background(), func(tx store.Tx) error {
		ns, err := tx.FindNotifications(context.Background(), store.NotificationFilter{Limit: 1_000_000})
		for _, n := range ns {
			byBody[string(n.Body)] = n
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	verdicts := map[vend.Verdict]int{}
	for _, n := range byBody {
		verdicts[n.Verdict]++
	}
	t.Logf("after the restart the log holds %d notifications: %v", len(byBody), verdicts)
	for i, ok := range acked {
		if !ok {
			continue
		}
		txn := fmt.Sprintf("KILL%013d", i)
		n := byBody[string(ipns[i])]
		if n == nil {
			t.Errorf("IPN %s was answered 200 but its raw notification is not stored", txn)
			continue
		}
		if n.Verdict != vend.VerdictApplied || n.OrderID == 0 {
			t.Errorf("IPN %s was answered 200 but its notification says %s %q (order %d)", txn, n.Verdict, n.Reason, n.OrderID)
		}
		checkPaidOnce(t, db, txn, 1)
	}
	checkNoOrderTwice(t, bin, env, total)

	// PayPal resends every IPN it has no 200 for; we resend all of them.
	for i, body := range ipns {
		if status, err := postIPN(client, srv.url, body); err != nil || status != http.StatusOK {
			t.Fatalf("resend %d after restart: %d %v (stderr:\n%s)", i, status, err, srv.stderr())
		}
	}
	for i := range ipns {
		checkPaidOnce(t, db, fmt.Sprintf("KILL%013d", i), 1)
	}
	if n := checkNoOrderTwice(t, bin, env, total); n != total {
		t.Errorf("%d orders after the resends, want %d", n, total)
	}
	srv.kill(t)
	srv.wait()
}

// anyPort makes vend serve listen on a port the kernel picks; startServe reads
// it from the listening line, so parallel tests never race for a port.
const anyPort = "127.0.0.1:0"

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// vendEnv is the process environment without any VEND_ variable of the caller's
// (config refuses unknown ones) plus vend's settings for the test.
func vendEnv(dataDir, addr, verifyURL string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VEND_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"VEND_LISTEN="+addr,
		"VEND_DATA_DIR="+dataDir,
		"VEND_PAYPAL_VERIFY_URL="+verifyURL,
		"VEND_PAYPAL_RECEIVER_EMAILS=seller@example.com",
		"VEND_PAYPAL_SANDBOX=true",
		"VEND_LOG_LEVEL=warn",
		"VEND_LIMITS_IPN_BURST=100000", // PayPal resending a whole day at once
	)
}

// runVend runs one vend command to its end and returns its stdout.
func runVend(t *testing.T, bin string, env []string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("vend %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}

func importProduct(t *testing.T, bin string, env []string, line string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ebook.pdf"), bytes.Repeat([]byte("%PDF-1.4 test\n"), 100), 0o600); err != nil {
		t.Fatal(err)
	}
	products := filepath.Join(dir, "products.txt")
	if err := os.WriteFile(products, []byte("# id|name|file|price|currency|limit|lifetime\n"+line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := runVend(t, bin, env, "products", "import", products); !bytes.Contains(out, []byte("1 product(s) imported")) {
		t.Fatalf("products import said %q", out)
	}
}

// server is a running `vend serve`.
type server struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}

	mu     sync.Mutex
	errBuf bytes.Buffer
}

func (s *server) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errBuf.Write(p)
}

func (s *server) stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errBuf.String()
}

// startServe starts `vend serve` and waits until it says it listens.
func startServe(t *testing.T, bin string, env []string) *server {
	t.Helper()
	s := &server{cmd: exec.Command(bin, "serve"), done: make(chan struct{})}
	s.cmd.Env = env
	s.cmd.Stderr = s
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "vend listening on "); ok {
				select {
				case ready <- addr:
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() { s.kill(t); s.wait() })
	select {
	case s.url = <-ready:
	case <-s.done:
		t.Fatalf("vend serve exited before it listened:\n%s", s.stderr())
	case <-time.After(30 * time.Second):
		t.Fatalf("vend serve did not say it listens within 30s:\n%s", s.stderr())
	}
	return s
}

// kill sends SIGKILL: no shutdown, no deferred close, nothing flushed.
func (s *server) kill(t *testing.T) {
	select {
	case <-s.done:
	default:
		if err := s.cmd.Process.Kill(); err != nil && !strings.Contains(err.Error(), "finished") {
			t.Errorf("kill vend: %v", err)
		}
	}
}

func (s *server) wait() { <-s.done }

// stop ends vend serve as an operator would (SIGTERM) and waits until it exited.
func (s *server) stop(t *testing.T) {
	select {
	case <-s.done:
		return
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("stop vend: %v", err)
	}
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Errorf("vend serve did not stop within 30s:\n%s", s.stderr())
		s.kill(t)
		<-s.done
	}
}

func postIPN(client *http.Client, baseURL string, body []byte) (int, error) {
	resp, err := client.Post(baseURL+"/ipn/paypal", "application/x-www-form-urlencoded", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// openLedger opens the data directory's ledger beside the running server.
func openLedger(t *testing.T, dataDir string) *sqlite.DB {
	t.Helper()
	db := sqlite.NewDB(filepath.Join(dataDir, "vend.db"))
	if err := db.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// checkPaidOnce checks that the payment txn has its one paid order with wantGrants
// active grants, and that the order's log holds its notification.
func checkPaidOnce(t *testing.T, db store.DB, txn string, wantGrants int) {
	t.Helper()
	ctx := context.Background()
	err := db.View(ctx, func(tx store.Tx) error {
		o, err := tx.FindOrderByRef(ctx, paypal.Provider, txn)
		if err != nil {
			return fmt.Errorf("order of %s: %w", txn, err)
		}
		if o.Status != vend.OrderPaid {
			t.Errorf("order of %s is %s, want paid", txn, o.Status)
		}
		gs, err := tx.FindGrantsByOrder(ctx, o.ID)
		if err != nil {
			return err
		}
		if len(gs) != wantGrants {
			t.Errorf("order of %s has %d grants, want %d", txn, len(gs), wantGrants)
		}
		ns, err := tx.FindNotifications(ctx, store.NotificationFilter{OrderID: &o.ID})
		if err != nil {
			return err
		}
		applied := 0
		for _, n := range ns {
			if n.Verdict == vend.VerdictApplied {
				applied++
			}
		}
		if applied != 1 {
			t.Errorf("order of %s has %d applied notifications (of %d), want 1", txn, applied, len(ns))
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// checkNoOrderTwice lists the orders through the CLI, as an operator would, and
// fails on any (provider, ref) seen twice. It returns the number of orders.
func checkNoOrderTwice(t *testing.T, bin string, env []string, max int) int {
	t.Helper()
	var orders []struct {
		ID       int64  `json:"id"`
		Provider string `json:"provider"`
		Ref      string `json:"ref"`
	}
	out := runVend(t, bin, env, "orders", "list", "--json", "--limit", fmt.Sprint(max*2+10))
	if err := json.Unmarshal(out, &orders); err != nil {
		t.Fatalf("orders list --json: %v\n%s", err, out)
	}
	seen := map[string]int64{}
	for _, o := range orders {
		key := o.Provider + " " + o.Ref
		if id, dup := seen[key]; dup {
			t.Errorf("orders %d and %d are both %s", id, o.ID, key)
		}
		seen[key] = o.ID
	}
	if len(orders) > max {
		t.Errorf("%d orders for %d payments", len(orders), max)
	}
	return len(orders)
}
