package intake_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/intake"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/provider/paypal"
	"github.com/vend-shop/vend/provider/stripe"
	"github.com/vend-shop/vend/provider/websale"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/sqlite"
	"github.com/vend-shop/vend/store/sqlite/sqlitetest"
)

var ctx = context.Background()

// now is the intake's clock in every test.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	stripeSecret = "whsec_intake_test_0123456789"
	simSecret    = "intake-test-simulator"
	seller       = "seller@example.com"
	wsPassword   = "intake-test-websale-password-01"
)

var product = &vend.Product{ID: "EBOOK-001", Name: "E-Book", Price: 1995, Currency: "USD", DownloadLimit: 3, Lifetime: vend.Forever}

// catalog is a store with product and its file, copied for each test.
var catalog = sqlitetest.Template{Fill: func(ctx context.Context, db *sqlite.DB) error {
	return db.Update(ctx, func(tx store.Tx) error {
		p := *product
		if err := tx.SaveProduct(ctx, &p); err != nil {
			return err
		}
		return tx.SetFiles(ctx, p.ID, []*vend.File{{Name: "book.pdf", Key: "k", Size: 1, SHA256: strings.Repeat("a", 64)}})
	})
}}

// env is an intake of real providers on a real store. PayPal's postback goes
// to the demo verifier, which answers VERIFIED for messages signed with
// simSecret and INVALID for any other.
type env struct {
	in     *intake.Intake
	db     *sqlite.DB
	paypal *paypal.Intake
	stripe *stripe.Intake
	ws     *websale.Intake
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := catalog.MustOpenDB(t)
	verifier := httptest.NewServer(paypal.DemoVerifier{Secret: []byte(simSecret)})
	t.Cleanup(verifier.Close)
	dec, err := websale.NewDecoder(wsPassword, websale.Settings{KDF: websale.KDFSHA256, Mode: websale.ModeCBCIVPrefix, Padding: websale.PaddingPKCS7})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{
		db:     db,
		paypal: &paypal.Intake{Verifier: &paypal.Verifier{URL: verifier.URL, Client: verifier.Client()}, Config: paypal.Config{ReceiverEmails: []string{seller}, Sandbox: true}},
		stripe: &stripe.Intake{Secret: stripeSecret, Config: stripe.Config{Sandbox: true}},
		ws:     &websale.Intake{Decoder: dec, Password: wsPassword, Config: websale.Config{ShopID: "shop", SubshopID: "1"}},
	}
	e.in = intake.New([]vend.Provider{e.paypal, e.stripe, e.ws}, ledger.New(db), db, nil, nil)
	e.in.Now = func() time.Time { return now }
	return e
}

// stripeMessage is a payment event for product, signed at signedAt.
func stripeMessage(t *testing.T, pi string, signedAt time.Time) *vend.Notification {
	t.Helper()
	sim := stripe.Sim{PaymentIntent: pi, ClientReferenceID: product.ID, Amount: product.Price, Currency: "USD", Email: "b@example.com"}
	body, sig, err := sim.Signed(stripeSecret, signedAt)
	if err != nil {
		t.Fatal(err)
	}
	return &vend.Notification{Provider: stripe.Provider, RemoteAddr: "192.0.2.1:1",
		Headers: map[string][]string{"Content-Type": {"application/json"}, "Stripe-Signature": {sig}}, Body: body}
}

// paypalMessage is a Completed IPN for product, signed for the demo verifier
// with secret.
func paypalMessage(txn, secret string) *vend.Notification {
	sim := paypal.Sim{TxnID: txn, Status: "Completed", ProductID: product.ID, ProductName: product.Name, Amount: product.Price,
		Currency: "USD", PayerEmail: "b@example.com", Receiver: seller, Test: true}
	return &vend.Notification{Provider: paypal.Provider, RemoteAddr: "192.0.2.1:1",
		Headers: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: sim.Body([]byte(secret))}
}

func (e *env) stored(t *testing.T, id int64) *vend.Notification {
	t.Helper()
	var n *vend.Notification
	err := e.db.View(ctx, func(tx store.Tx) error {
		var err error
		n, err = tx.FindNotificationByID(ctx, id)
		return err
	})
	if err != nil {
		t.Fatalf("notification %d: %v", id, err)
	}
	return n
}

func (e *env) notifications(t *testing.T) int {
	t.Helper()
	var ns []*vend.Notification
	err := e.db.View(ctx, func(tx store.Tx) error {
		var err error
		ns, err = tx.FindNotifications(ctx, store.NotificationFilter{Limit: 1000})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return len(ns)
}

// TestReceive holds every message to the same steps, whatever its provider:
// what it came to, what is stored, what the sender is answered.
func TestReceive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		adjust  func(*env)
		msg     func(*testing.T) *vend.Notification
		refusal vend.Refusal
		verdict vend.Verdict
		status  int
		answer  string // in the answer's body
	}{
		{name: "a genuine Stripe payment is applied", msg: func(t *testing.T) *vend.Notification {
			return stripeMessage(t, "pi_1", now)
		}, refusal: vend.RefusalNone, verdict: vend.VerdictApplied, status: 200, answer: `{"received":"applied"}`},
		{name: "a Stripe signature from another secret is forged", msg: func(t *testing.T) *vend.Notification {
			n := stripeMessage(t, "pi_2", now)
			n.Headers["Stripe-Signature"] = []string{stripe.Sign("whsec_other", now, n.Body)}
			return n
		}, refusal: vend.RefusalForged, verdict: vend.VerdictInvalid, status: 401, answer: "no v1 signature matches"},
		{name: "a Stripe event signed an hour ago is refused as stale", msg: func(t *testing.T) *vend.Notification {
			return stripeMessage(t, "pi_3", now.Add(-time.Hour))
		}, refusal: vend.RefusalForged, verdict: vend.VerdictInvalid, status: 401, answer: "too old"},
		{name: "without the secret every Stripe event waits for it", adjust: func(e *env) { e.stripe.Secret = "" },
			msg:     func(t *testing.T) *vend.Notification { return stripeMessage(t, "pi_4", now) },
			refusal: vend.RefusalUnconfigured, verdict: vend.VerdictError, status: 401, answer: "stripe.secret"},
		{name: "a live event in sandbox mode is rejected", msg: func(t *testing.T) *vend.Notification {
			sim := stripe.Sim{PaymentIntent: "pi_5", ClientReferenceID: product.ID, Amount: product.Price, Currency: "USD", Live: true}
			body, sig, _ := sim.Signed(stripeSecret, now)
			return &vend.Notification{Provider: stripe.Provider, Headers: map[string][]string{"Stripe-Signature": {sig}}, Body: body}
		}, refusal: vend.RefusalRejected, verdict: vend.VerdictRejected, status: 422, answer: "livemode"},
		{name: "another content type is refused unread", msg: func(t *testing.T) *vend.Notification {
			n := stripeMessage(t, "pi_6", now)
			n.Headers["Content-Type"] = []string{"text/plain"}
			return n
		}, refusal: vend.RefusalUnsupported, verdict: vend.VerdictRejected, status: 415, answer: "is not application/json"},
		{name: "an empty body is refused", msg: func(t *testing.T) *vend.Notification {
			return &vend.Notification{Provider: stripe.Provider}
		}, refusal: vend.RefusalEmpty, verdict: vend.VerdictRejected, status: 400, answer: "empty body"},
		{name: "a PayPal IPN PayPal confirms is applied", msg: func(t *testing.T) *vend.Notification {
			return paypalMessage("PP1", simSecret)
		}, refusal: vend.RefusalNone, verdict: vend.VerdictApplied, status: 200},
		{name: "a PayPal IPN PayPal disowns is forged, and PayPal gets 200", msg: func(t *testing.T) *vend.Notification {
			return paypalMessage("PP2", "another secret")
		}, refusal: vend.RefusalForged, verdict: vend.VerdictInvalid, status: 200},
		{name: "a PayPal IPN that cannot be verified now is kept, and PayPal resends", adjust: func(e *env) {
			e.paypal.Verifier = &paypal.Verifier{URL: "http://127.0.0.1:1/unreachable", Client: &http.Client{Timeout: time.Second}}
		}, msg: func(t *testing.T) *vend.Notification { return paypalMessage("PP3", simSecret) },
			refusal: vend.RefusalFailed, verdict: vend.VerdictError, status: 500},
		{name: "a PayPal IPN for another seller is rejected, and PayPal gets 200", adjust: func(e *env) {
			e.paypal.Config.ReceiverEmails = []string{"other@example.com"}
		}, msg: func(t *testing.T) *vend.Notification { return paypalMessage("PP4", simSecret) },
			refusal: vend.RefusalRejected, verdict: vend.VerdictRejected, status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tt.adjust != nil {
				tt.adjust(e)
			}
			n := tt.msg(t)
			p := e.in.Provider(n.Provider)
			o := e.in.Receive(ctx, p, n)
			if o.Refusal != tt.refusal {
				t.Errorf("refusal %d (%q), want %d", o.Refusal, o.Reason, tt.refusal)
			}
			if n.ID == 0 {
				t.Fatal("the message was not stored")
			}
			if got := e.stored(t, n.ID); got.Verdict != tt.verdict {
				t.Errorf("stored with verdict %s (%q), want %s", got.Verdict, got.Reason, tt.verdict)
			}
			if s := intake.Status(p, o); s != tt.status {
				t.Errorf("status %d, want %d", s, tt.status)
			}
			if body := string(p.Answer(o).Body); !strings.Contains(body, tt.answer) {
				t.Errorf("answer %q, want it to hold %q", body, tt.answer)
			}
			if strings.Contains(o.Reason, stripeSecret) || strings.Contains(o.Reason, simSecret) {
				t.Errorf("the reason %q holds a secret", o.Reason)
			}
			if e.notifications(t) != 1 {
				t.Errorf("%d notifications stored, want the one", e.notifications(t))
			}
		})
	}
}

// TestReceive_Twice: the same message applied twice changes nothing the
// second time, and is stored both times.
func TestReceive_Twice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	n := stripeMessage(t, "pi_twice", now)
	resent := *n // the provider's resend: the very same bytes
	first := e.in.Receive(ctx, e.stripe, n)
	again := e.in.Receive(ctx, e.stripe, &resent)
	if first.Notification.Verdict != vend.VerdictApplied || again.Notification.Verdict != vend.VerdictDuplicate {
		t.Errorf("verdicts %s then %s, want applied then duplicate", first.Notification.Verdict, again.Notification.Verdict)
	}
	if again.Refusal != vend.RefusalNone || e.notifications(t) != 2 {
		t.Errorf("the duplicate: refusal %d, %d notifications stored", again.Refusal, e.notifications(t))
	}
}

// TestReplay: a stored message goes through the same steps again as a new
// notification, with the secret configured now, but its age is not judged
// again; a provider vend no longer knows is refused.
func TestReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	stale := stripeMessage(t, "pi_stale", now.Add(-time.Hour))
	e.in.Receive(ctx, e.stripe, stale)
	r, err := e.in.Replay(ctx, stale.ID, "user:alice")
	if err != nil {
		t.Fatal(err)
	}
	if r.ID == stale.ID || r.Verdict != vend.VerdictApplied || r.RemoteAddr != "replay by user:alice" {
		t.Errorf("replay of a stale but genuine event: %d %s %q, want a new applied notification", r.ID, r.Verdict, r.RemoteAddr)
	}
	if again, err := e.in.Replay(ctx, stale.ID, "cli"); err != nil || again.Verdict != vend.VerdictDuplicate {
		t.Errorf("second replay: %v %v, want a duplicate", again, err)
	}

	forged := stripeMessage(t, "pi_forged", now)
	forged.Headers["Stripe-Signature"] = []string{stripe.Sign("whsec_other", now, forged.Body)}
	e.in.Receive(ctx, e.stripe, forged)
	if r, err := e.in.Replay(ctx, forged.ID, "cli"); err != nil || r.Verdict != vend.VerdictInvalid {
		t.Errorf("replay of a forged event: %v %v, want invalid", r, err)
	}

	big := stripeMessage(t, "pi_big", now)
	big.Body = append(big.Body, strings.Repeat(" ", 4<<10)...) // JSON still, but the signature no longer matches
	if o := e.in.Receive(ctx, e.stripe, big); o.Refusal != vend.RefusalForged || !e.stored(t, big.ID).Trimmed() {
		t.Fatalf("a forged 5 KiB event: refusal %d, stored whole: %v", o.Refusal, !e.stored(t, big.ID).Trimmed())
	}
	if _, err := e.in.Replay(ctx, big.ID, "cli"); vend.ErrorCode(err) != vend.EINVALID || !strings.Contains(vend.ErrorMessage(err), "cannot be replayed") {
		t.Errorf("replay of a message kept in part: %v, want EINVALID", err)
	}

	other := &vend.Notification{Provider: "gone", Body: []byte("x")}
	if err := e.in.Ledger.Receive(ctx, other); err != nil {
		t.Fatal(err)
	}
	if _, err := e.in.Replay(ctx, other.ID, "cli"); vend.ErrorCode(err) != vend.EINVALID {
		t.Errorf("replay of an unknown provider's message: %v, want EINVALID", err)
	}
	if _, err := e.in.Replay(ctx, stale.ID, ""); err == nil {
		t.Error("a replay without an actor went through")
	}
}

// TestLink: the first valid link of an order's item is stored with the grant
// it makes; later links lead to that grant without storing anything; a
// changed link is refused, and nothing is stored.
func TestLink(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	link := func(l websale.Link) *vend.Notification {
		hex, err := websale.Encrypt(l.Plaintext(), e.ws.Decoder.Settings(), wsPassword, nil)
		if err != nil {
			t.Fatal(err)
		}
		return &vend.Notification{Provider: websale.Provider, Body: []byte("dldata=" + hex)}
	}
	l := websale.Link{Time: now.Add(-time.Hour), ShopID: "shop", SubshopID: "1", OrderID: "W1", Email: "b@example.com", ProductNumber: product.ID}
	e.importOrders(t, "order,product,email\nW1,"+product.ID+",b@example.com\n")
	first := e.in.Link(ctx, e.ws, link(l))
	if first.Refusal != vend.RefusalNone || first.Grant == nil || first.Notification.ID == 0 {
		t.Fatalf("first link: refusal %d (%q), grant %v", first.Refusal, first.Reason, first.Grant)
	}
	l.Time = now // the shop's order history makes a fresh link
	again := e.in.Link(ctx, e.ws, link(l))
	if again.Refusal != vend.RefusalNone || again.Grant.ID != first.Grant.ID || again.Notification.ID != 0 {
		t.Errorf("later link: refusal %d, grant %v, stored as %d; want the first grant, nothing stored", again.Refusal, again.Grant, again.Notification.ID)
	}
	changed := link(l)
	changed.Body[len(changed.Body)-3] ^= 1
	if o := e.in.Link(ctx, e.ws, changed); o.Refusal == vend.RefusalNone || o.Notification.ID != 0 {
		t.Errorf("changed link: refusal %d, stored as %d", o.Refusal, o.Notification.ID)
	}
	l.OrderID, l.Time = "W2", now.Add(-365*24*time.Hour)
	if o := e.in.Link(ctx, e.ws, link(l)); o.Refusal != vend.RefusalForged || !strings.Contains(o.Reason, "max_age") {
		t.Errorf("a year-old link: refusal %d (%q), want refused for its age", o.Refusal, o.Reason)
	}
	if n := e.notifications(t); n != 1 {
		t.Errorf("%d notifications stored, want the first link's", n)
	}
}

// TestReceive_RefusedReachesTheSeller: a genuine message vend refuses queues
// one notice to the owner, however often the provider resends it; a forged
// one and a replay queue none.
func TestReceive_RefusedReachesTheSeller(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.in.Ledger.Mail, e.in.Ledger.OwnerEmail = true, "owner@example.com"
	sim := stripe.Sim{PaymentIntent: "pi_live", ClientReferenceID: product.ID, Amount: product.Price, Currency: "USD", Live: true}
	body, sig, err := sim.Signed(stripeSecret, now)
	if err != nil {
		t.Fatal(err)
	}
	msg := func() *vend.Notification {
		return &vend.Notification{Provider: stripe.Provider, Headers: map[string][]string{"Stripe-Signature": {sig}}, Body: body}
	}
	first := msg()
	for range 3 { // Stripe resends what it was refused
		if o := e.in.Receive(ctx, e.stripe, msg()); o.Refusal != vend.RefusalRejected {
			t.Fatalf("a live event in sandbox mode: refusal %d", o.Refusal)
		}
	}
	e.in.Receive(ctx, e.stripe, first)
	forged := stripeMessage(t, "pi_forged", now)
	forged.Headers["Stripe-Signature"] = []string{stripe.Sign("whsec_other", now, forged.Body)}
	e.in.Receive(ctx, e.stripe, forged)
	if _, err := e.in.Replay(ctx, first.ID, "cli"); err != nil {
		t.Fatal(err)
	}
	var mails []*vend.Mail
	err = e.db.View(ctx, func(tx store.Tx) error {
		var err error
		mails, err = tx.FindMails(ctx, store.MailFilter{Limit: 100})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(mails) != 1 || mails[0].Kind != vend.MailRefused || mails[0].To != "owner@example.com" ||
		!strings.Contains(mails[0].Data[vend.MailDataReason], "livemode") || mails[0].Data[vend.MailDataProvider] != "Stripe" {
		t.Errorf("owner notices: %d, want one owner-refused with the reason: %+v", len(mails), mails)
	}
}
