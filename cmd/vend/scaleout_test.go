package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/mailer/smtptest"
	"github.com/vend-shop/vend/provider/paypal"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/postgres"
	"github.com/vend-shop/vend/store/postgres/pgtest"
)

// TestServe_TwoInstancesOnePostgres: two vend processes share one PostgreSQL and
// one data directory (the files). 500 purchases, each IPN sent to both instances
// at once in random order, as a load balancer and PayPal's resends would: every
// purchase becomes exactly one order with one grant, and a link made by one
// instance downloads from the other, counted once.
func TestServe_TwoInstancesOnePostgres(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the vend binary twice")
	}
	dbURL := pgtest.URL(t)
	bin := buildVend(t)
	verifier := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "VERIFIED")
	}))
	defer verifier.Close()

	dataDir := t.TempDir()
	// Both instances send their receipts through one SMTP server.
	smtp := smtptest.Start(t, "127.0.0.1:0", nil, false)
	env := func() []string {
		return append(vendEnv(dataDir, anyPort, verifier.URL), "VEND_DATABASE="+dbURL, "VEND_LIMITS_IPN_BURST=100000",
			"VEND_SMTP_URL=smtp://"+smtp.Addr, "VEND_SMTP_FROM=shop@example.com", "VEND_SMTP_STARTTLS=none")
	}
	importProduct(t, bin, env(), "ebook|E-Book|ebook.pdf|19.95|USD|5|unlimited")
	a, b := startServe(t, bin, env()), startServe(t, bin, env())
	defer func() { a.kill(t); b.kill(t); a.wait(); b.wait() }()

	const purchases = 500
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	type send struct {
		i   int
		srv *server
	}
	var sends []send
	for i := range purchases {
		sends = append(sends, send{i, a}, send{i, b})
	}
	rand.Shuffle(len(sends), func(i, j int) { sends[i], sends[j] = sends[j], sends[i] })
	bodies := make([][]byte, purchases)
	for i := range bodies {
		bodies[i] = paypal.Sim{TxnID: fmt.Sprintf("SCALE%012d", i), ProductID: "ebook", ProductName: "E-Book", Amount: 1995,
			Receiver: "seller@example.com", PayerEmail: fmt.Sprintf("buyer%d@example.com", i), Test: true}.Body(nil)
	}
	next := make(chan send)
	go func() {
		for _, s := range sends {
			next <- s
		}
		close(next)
	}()
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for s := range next {
				status, err := postIPN(client, s.srv.url, bodies[s.i])
				if err != nil || status != http.StatusOK {
					t.Errorf("IPN %d to %s: %d %v", s.i, s.srv.url, status, err)
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.Fatalf("stderr a:\n%s\nstderr b:\n%s", a.stderr(), b.stderr())
	}
	waitAllSent(t, bin, env(), smtp) // the receipts are counted at the end

	db := postgres.NewDB(dbURL)
	if err := db.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	var links []string
	err := db.View(ctx, func(tx store.Tx) error {
		orders, err := tx.FindOrders(ctx, store.OrderFilter{Limit: 10 * purchases})
		if err != nil {
			return err
		}
		if len(orders) != purchases {
			t.Errorf("%d orders, want %d", len(orders), purchases)
		}
		refs := map[string]bool{}
		for _, o := range orders {
			if refs[o.Ref] {
				t.Errorf("order %s exists twice", o.Ref)
			}
			refs[o.Ref] = true
			gs, err := tx.FindGrantsByOrder(ctx, o.ID)
			if err != nil {
				return err
			}
			if len(gs) != 1 || gs[0].State != vend.GrantActive || o.Status != vend.OrderPaid {
				t.Errorf("order %s: %s with %d grants, want paid with one", o.Ref, o.Status, len(gs))
			}
		}
		ns, err := tx.FindNotifications(ctx, store.NotificationFilter{Limit: 10 * purchases})
		verdicts := map[vend.Verdict]int{}
		for _, n := range ns {
			verdicts[n.Verdict]++
		}
		if verdicts[vend.VerdictApplied] != purchases || verdicts[vend.VerdictDuplicate] != purchases {
			t.Errorf("verdicts %v, want %d applied and %d duplicates", verdicts, purchases, purchases)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	// A link printed by the CLI (any instance's secret is the shared one) works on
	// both instances; the download counts once, whichever instance served it.
	show := string(runVend(t, bin, env(), "orders", "show", "SCALE000000000007"))
	m := regexp.MustCompile(`http://[^ ]+/d/([A-Z2-7]+)`).FindStringSubmatch(show)
	if m == nil {
		t.Fatalf("no link in orders show:\n%s", show)
	}
	links = append(links, a.url+"/d/"+m[1], b.url+"/d/"+m[1])
	var fileURL string
	for _, page := range links {
		resp, err := client.Get(page)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		f := regexp.MustCompile(`action="(/d/[^"]+/[0-9]+/[^"]+)"`).FindStringSubmatch(string(body))
		if resp.StatusCode != 200 || f == nil {
			t.Fatalf("download page on %s: %d", page, resp.StatusCode)
		}
		fileURL = f[1]
	}
	var got [][]byte
	for _, srv := range []*server{a, b} {
		resp, err := client.Get(srv.url + fileURL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("file from %s: %d", srv.url, resp.StatusCode)
		}
		got = append(got, body)
	}
	if !bytes.Equal(got[0], got[1]) || !bytes.HasPrefix(got[0], []byte("%PDF-1.4 test")) {
		t.Errorf("the instances served different bytes")
	}
	err = db.View(ctx, func(tx store.Tx) error {
		o, err := tx.FindOrderByRef(ctx, "paypal", "SCALE000000000007")
		if err != nil {
			return err
		}
		gs, err := tx.FindGrantsByOrder(ctx, o.ID)
		if err == nil && gs[0].DownloadsUsed != 1 {
			t.Errorf("downloads used %d after a download from each instance, want 1 (one session)", gs[0].DownloadsUsed)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	// Each purchase, applied once by whichever instance came first, gets one
	// receipt, although both instances' workers send from the same outbox. The
	// outbox is empty, so every receipt went out; a second send of one by the
	// other instance could still be under way, and stopped instances send
	// nothing more: the count is final.
	a.stop(t)
	b.stop(t)
	receipts := map[string]int{}
	for _, m := range smtp.Messages() {
		receipts[strings.Join(m.To, ",")]++
	}
	if len(receipts) != purchases {
		t.Errorf("receipts went to %d buyers, want %d", len(receipts), purchases)
	}
	for to, n := range receipts {
		if n != 1 {
			t.Errorf("%s got %d receipts", to, n)
		}
	}
}

// TestSharedSecret: instances on one PostgreSQL must sign links with one secret,
// and licences with one key. The database holds only the secret's fingerprint
// and the key's public half; an instance with another secret or key file
// refuses to start instead of making links or licences the others reject.
func TestSharedSecret(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	a, b := t.TempDir(), t.TempDir()
	mustVend(t, []string{"VEND_DATABASE=" + dbURL, "VEND_DATA_DIR=" + a}, "migrate")
	_, errOut, code := runMain(t, []string{"VEND_DATABASE=" + dbURL, "VEND_DATA_DIR=" + b}, "migrate")
	if code == 0 || !regexp.MustCompile(`secret .* differs`).MatchString(errOut) {
		t.Fatalf("an instance with another secret: exit %d, %s", code, errOut)
	}
	secret, err := os.ReadFile(filepath.Join(a, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b, "secret"), secret, 0o600); err != nil {
		t.Fatal(err)
	}
	// The licence key likewise: licences one instance signs must check out
	// against the key the other publishes.
	_, errOut, code = runMain(t, []string{"VEND_DATABASE=" + dbURL, "VEND_DATA_DIR=" + b}, "migrate")
	if code == 0 || !regexp.MustCompile(`licence key .* differs`).MatchString(errOut) {
		t.Fatalf("an instance with another licence key: exit %d, %s", code, errOut)
	}
	key, err := os.ReadFile(filepath.Join(a, "license-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b, "license-key.pem"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	mustVend(t, []string{"VEND_DATABASE=" + dbURL, "VEND_DATA_DIR=" + b}, "migrate")
	db := postgres.NewDB(dbURL)
	if err := db.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(context.Background(), func(tx store.Tx) error {
		if v, err := tx.FindSetting(context.Background(), "link_secret_fingerprint"); err != nil || strings.Contains(string(secret), v) {
			t.Errorf("fingerprint %q, %v: want one that is not the secret", v, err)
		}
		return nil
	})
}
