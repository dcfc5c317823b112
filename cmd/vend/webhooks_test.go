package main

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/provider/paypal"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/sqlite/sqlitetest"
	"github.com/vend-shop/vend/webhook"
	"github.com/vend-shop/vend/webhook/webhooktest"
)

// hookReceiver is a seller's webhook endpoint as the docs advise: it checks
// the signature, handles each webhook-id once, and answers 2xx for a
// duplicate too. hold, while set, keeps requests waiting (a slow receiver).
type hookReceiver struct {
	*httptest.Server

	mu        sync.Mutex
	secret    string
	requests  []string // webhook-id of every request, in order
	processed map[string]string
	refused   []string
	hold      chan struct{}
	arrived   chan string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{processed: map[string]string{}, arrived: make(chan string, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id := req.Header.Get("webhook-id")
	r.mu.Lock()
	r.requests = append(r.requests, id)
	hold := r.hold
	if err := webhooktest.VerifyWebhook(r.secret, req.Header, body); err != nil {
		r.refused = append(r.refused, err.Error())
		r.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if _, dup := r.processed[id]; !dup {
		var p struct{ Type string }
		json.Unmarshal(body, &p)
		r.processed[id] = p.Type
	}
	r.mu.Unlock()
	r.arrived <- id
	if hold != nil {
		<-hold
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *hookReceiver) state() (requests []string, processed map[string]string, refused []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.requests), maps.Clone(r.processed), slices.Clone(r.refused)
}

// TestServe_WebhookSurvivesKill: vend is killed with SIGKILL while its
// order.paid delivery waits for the receiver's answer. After a restart on
// the same data directory it sends the message again with the same
// webhook-id, so the receiver processes it once, and the delivery ends
// delivered; a purchase after the restart is sent once.
func TestServe_WebhookSurvivesKill(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the vend binary")
	}
	bin := buildVend(t)
	verifier := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "VERIFIED") }))
	defer verifier.Close()
	dataDir := t.TempDir()
	env := append(vendEnv(dataDir, anyPort, verifier.URL), "VEND_WEBHOOKS_ALLOW_PRIVATE_NETWORKS=true")
	importProduct(t, bin, env, "ebook|E-Book|ebook.pdf|19.95|USD|5|unlimited")

	rcv := newHookReceiver(t)
	var added struct {
		ID     int64  `json:"id"`
		Secret string `json:"secret"`
	}
	out := runVend(t, bin, env, "webhooks", "add", rcv.URL+"/vend", "--event", "order.paid", "--event", "access.revoked",
		"--description", "CRM", "--json")
	if err := json.Unmarshal(out, &added); err != nil || !strings.HasPrefix(added.Secret, "whsec_") {
		t.Fatalf("webhooks add printed %s (%v)", out, err)
	}
	hold := make(chan struct{})
	rcv.mu.Lock()
	rcv.secret, rcv.hold = added.Secret, hold
	rcv.mu.Unlock()

	srv := startServe(t, bin, env)
	client := &http.Client{Timeout: 20 * time.Second}
	ipn := func(txn string) {
		t.Helper()
		body := paypal.Sim{TxnID: txn, ProductID: "ebook", ProductName: "E-Book", Amount: 1995, Receiver: "seller@example.com",
			PayerEmail: "buyer@example.com", Test: true}.Body([]byte("hooks"))
		if status, err := postIPN(client, srv.url, body); err != nil || status != http.StatusOK {
			t.Fatalf("IPN %s: %d %v\n%s", txn, status, err, srv.stderr())
		}
	}
	ipn("HOOK0000000001")
	var first string
	select {
	case first = <-rcv.arrived:
	case <-time.After(30 * time.Second):
		t.Fatalf("no webhook arrived:\n%s", srv.stderr())
	}
	srv.kill(t) // the receiver has it; vend never learns the answer
	srv.wait()
	close(hold)
	rcv.mu.Lock()
	rcv.hold = nil
	rcv.mu.Unlock()

	srv = startServe(t, bin, env)
	select {
	case again := <-rcv.arrived:
		if again != first {
			t.Fatalf("after the restart vend sent %s, want %s again", again, first)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the delivery was not sent again after the restart:\n%s", srv.stderr())
	}
	ipn("HOOK0000000002")
	var second string
	select {
	case second = <-rcv.arrived:
	case <-time.After(30 * time.Second):
		t.Fatalf("the second purchase's webhook did not arrive:\n%s", srv.stderr())
	}

	db := openLedger(t, dataDir)
	var ds []*vend.WebhookDelivery
	waitFor(t, 30*time.Second, "both deliveries recorded as delivered", func() bool {
		err := db.View(context.Background(), func(tx store.Tx) error {
			var err error
			ds, err = tx.FindDeliveries(context.Background(), store.DeliveryFilter{})
			return err
		})
		return err == nil && len(ds) == 2 && ds[0].Status == vend.WebhookDelivered && ds[1].Status == vend.WebhookDelivered
	})
	requests, processed, refused := rcv.state()
	if len(refused) != 0 || len(processed) != 2 || processed[first] != "order.paid" || processed[second] != "order.paid" ||
		len(requests) != 3 || requests[0] != first || requests[1] != first || requests[2] != second {
		t.Errorf("requests %v, processed %v, refused %v; want %s twice (the kill), then %s once", requests, processed, refused, first, second)
	}
	if ds[1].MessageID != first || ds[0].MessageID != second {
		t.Errorf("deliveries %s, %s", ds[1].MessageID, ds[0].MessageID)
	}

	// The CLI shows the log, and a replay is a new message.
	text := string(runVend(t, bin, env, "webhooks", "delivery", "1"))
	if !strings.Contains(text, "webhook-id "+first) || !strings.Contains(text, "204 No Content") || !strings.Contains(text, `"type":"order.paid"`) {
		t.Errorf("webhooks delivery 1:\n%s", text)
	}
	if text := string(runVend(t, bin, env, "webhooks", "show", "1")); !strings.Contains(text, added.Secret) || !strings.Contains(text, "delivered") {
		t.Errorf("webhooks show 1:\n%s", text)
	}
	runVend(t, bin, env, "webhooks", "replay", "1")
	select {
	case id := <-rcv.arrived:
		if id == first || id == second {
			t.Errorf("a replay reused webhook-id %s", id)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the replay did not arrive:\n%s", srv.stderr())
	}
	srv.stop(t)
}

// TestDispatcher_TellsTheOwner: the dispatcher vend serve runs turns off an
// endpoint whose delivery failed for the whole retry time and queues the
// owner's notice in the same transaction, naming the endpoint and why.
func TestDispatcher_TellsTheOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqlitetest.MustOpenDB(t)
	led := ledger.New(db)
	led.Mail, led.OwnerEmail = true, "owner@example.com"
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	e, err := webhook.Create(ctx, db, "user:alice", webhook.Fields{URL: down.URL + "/hook", Events: []string{"order.paid"}})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(ctx, func(tx store.Tx) error {
		_, err := store.EnqueueWebhooks(ctx, tx, vend.HookOrderPaid, map[string]int{"n": 1})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	app := &App{DB: db}
	app.Config.WebhooksAllowPrivate = true // the receiver is on this machine
	d := app.newDispatcher(led)
	if !d.ReleaseAtStart {
		t.Error("with SQLite the dispatcher must release what a crash left claimed")
	}
	// The retry time counts from the first attempt: the second is the last.
	d.RetryFor, d.Backoff = time.Millisecond, []time.Duration{time.Millisecond}
	for range 2 {
		if _, err := d.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	var mails []*vend.Mail
	err = db.View(ctx, func(tx store.Tx) error {
		mails, err = tx.FindMails(ctx, store.MailFilter{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(mails) != 1 || mails[0].Kind != vend.MailWebhookOff || mails[0].To != "owner@example.com" ||
		mails[0].Data[vend.MailDataEndpoint] != strconv.FormatInt(e.ID, 10) || mails[0].Data[vend.MailDataURL] != down.URL+"/hook" ||
		!strings.Contains(mails[0].Data[vend.MailDataReason], "503 Service Unavailable") {
		t.Errorf("owner mails: %+v", mails)
	}
}
