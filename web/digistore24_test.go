package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/provider/digistore24"
	"github.com/vend-shop/vend/store"
)

const ds24Path = "/ipn/digistore24"

// ds24Order is the order_id of the tests' purchases, the one of protocols.md 2.10.
const ds24Order = "AB12CD34"

// Transaction ids of the tests' messages.
const (
	ds24PayTxn        = "3999938"
	ds24RebillTxn     = "3999939"
	ds24RefundTxn     = "3999950"
	ds24ChargebackTxn = "3999960"
)

// ds24Unlimited lifts the per-address budget, for tests that post more than
// its burst (the test clock stands still, so the budget never refills).
func ds24Unlimited(s *Server) { s.IPNRate, s.IPNBurst = 1e9, 1e9 }

// ds24Answers switches the answer's download link and thank-you page on or off.
func ds24Answers(link, thankyou bool) envOption {
	return func(s *Server) { ds24Of(s).AnswerLink, ds24Of(s).ThankyouPage = link, thankyou }
}

// ds24Pay is a single payment of EBOOK-001 (Digistore24 product 512345) at its
// catalog price.
func ds24Pay(txnID string) digistore24.Sim {
	return digistore24.Sim{OrderID: ds24Order, ProductID: "512345", ProductName: "E-Book Go Patterns", TxnID: txnID,
		Amount: 1995, Currency: "USD", Email: "kunde@example.de", FirstName: "Jörg", LastName: "Müller",
		Custom: "m:42;k:ebook", Test: true}
}

// ds24Rebill is the n-th payment of a subscription to EBOOK-001.
func ds24Rebill(txnID string, n int) digistore24.Sim {
	s := ds24Pay(txnID)
	s.BillingType, s.PaySequenceNo = "subscription", n
	return s
}

// ds24Later is a later event about the order's EBOOK-001 item. Refunds and
// chargebacks carry txnID; the subscription events carry none, as the Sim writes them.
func ds24Later(event, txnID string) digistore24.Sim {
	return digistore24.Sim{Event: event, OrderID: ds24Order, ProductID: "512345", TxnID: txnID, Amount: 1995,
		Currency: "USD", Email: "kunde@example.de", Test: true}
}

func ds24Body(s digistore24.Sim) []byte { return s.Body(ds24Passphrase) }

// ds24Resign returns body's message with each key in kv set to its value (an
// empty value removes the key), signed again with the test passphrase: a
// genuine message, unlike setField, which breaks the signature.
func ds24Resign(body []byte, kv ...string) []byte {
	var pairs []digistore24.Pair
	for _, p := range digistore24.ParseForm(body).Pairs {
		if p.Key != "sha_sign" {
			pairs = append(pairs, p)
		}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		key, value := kv[i], kv[i+1]
		j := slices.IndexFunc(pairs, func(p digistore24.Pair) bool { return p.Key == key })
		switch {
		case j >= 0 && value == "":
			pairs = slices.Delete(pairs, j, j+1)
		case j >= 0:
			pairs[j].Value = value
		case value != "":
			pairs = append(pairs, digistore24.Pair{Key: key, Value: value})
		}
	}
	return ds24Encode(pairs, url.QueryEscape)
}

// ds24Encode signs pairs with the test passphrase and writes them, and the
// sha_sign after them, with the given escaping.
func ds24Encode(pairs []digistore24.Pair, escape func(string) string) []byte {
	pairs = append(slices.Clip(pairs), digistore24.Pair{Key: "sha_sign", Value: digistore24.Sign(pairs, ds24Passphrase, false)})
	var b bytes.Buffer
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(escape(p.Key) + "=" + escape(p.Value))
	}
	return b.Bytes()
}

// ds24Sample returns one of the signed samples of protocols.md 2.10, byte for byte.
func ds24Sample(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "provider", "digistore24", "testdata", name+".ipn"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// ds24Post posts body to the IPN endpoint as Digistore24 does.
func ds24Post(e *testEnv, body []byte) answer {
	e.tb.Helper()
	return e.Post(ds24Path, formType, body, nil)
}

// ds24MustOK posts body and checks the answer Digistore24 counts as delivered
// for a message that carries no download link: 200 with the text "OK\n".
func ds24MustOK(t *testing.T, e *testEnv, body []byte) {
	t.Helper()
	ds24MustAnswer(t, e, body, "OK\n")
}

// ds24MustAnswer posts body and checks for 200 with exactly want as plain text.
func ds24MustAnswer(t *testing.T, e *testEnv, body []byte, want string) {
	t.Helper()
	a := ds24Post(e, body)
	if a.Status != http.StatusOK || a.Body != want {
		t.Fatalf("IPN answered %d %q, want 200 %q\nbody: %s", a.Status, a.Body, want, body)
	}
	if ct := a.Header.Get("Content-Type"); ct != digistore24.AnswerContentType {
		t.Errorf("answer Content-Type %q, want %q", ct, digistore24.AnswerContentType)
	}
}

// checkDS24Stored checks that the stored notifications are the posted bodies,
// byte for byte and in order, all from Digistore24.
func checkDS24Stored(t *testing.T, e *testEnv, bodies [][]byte) {
	t.Helper()
	ns := e.Notifications()
	if len(ns) != len(bodies) {
		t.Fatalf("%d notifications stored, want %d", len(ns), len(bodies))
	}
	for i, n := range ns {
		if !bytes.Equal(n.Body, bodies[i]) {
			t.Errorf("notification %d: stored body\n got %q\nwant %q", i+1, n.Body, bodies[i])
		}
		if n.Provider != digistore24.Provider {
			t.Errorf("notification %d: provider %q", i+1, n.Provider)
		}
	}
}

// checkDS24StoredAnyOrder is checkDS24Stored for bodies posted at once.
func checkDS24StoredAnyOrder(t *testing.T, e *testEnv, bodies [][]byte) {
	t.Helper()
	var got [][]byte
	for _, n := range e.Notifications() {
		got = append(got, n.Body)
	}
	want := slices.Clone(bodies)
	slices.SortFunc(got, bytes.Compare)
	slices.SortFunc(want, bytes.Compare)
	if !slices.EqualFunc(got, want, bytes.Equal) {
		t.Errorf("stored bodies differ from the %d posted ones (%d stored)", len(want), len(got))
	}
}

// ds24Transaction returns the Digistore24 transaction txnID, or nil.
func ds24Transaction(e *testEnv, txnID string) *vend.Transaction {
	e.tb.Helper()
	var t *vend.Transaction
	e.view(func(ctx context.Context, tx store.Tx) error {
		var err error
		t, err = tx.FindTransaction(ctx, digistore24.Provider, txnID)
		if vend.ErrorCode(err) == vend.ENOTFOUND {
			t, err = nil, nil
		}
		return err
	})
	return t
}

// checkDS24Access checks what the buyer of grant g gets: the page and the file
// of an active grant, or a page that says says, without links, and a refused
// file for a revoked one.
func checkDS24Access(t *testing.T, e *testEnv, g *vend.Grant, says string) {
	t.Helper()
	page := e.Get(e.PagePath(g))
	if page.Status != http.StatusOK {
		t.Fatalf("download page of %s: %d", g.ProductID, page.Status)
	}
	name, content := productFile(g.ProductID)
	hrefs := links(page.Body, "/d/")
	if g.State == vend.GrantActive {
		if len(hrefs) != 1 || hrefs[0] != e.FilePath(g) || !strings.Contains(page.Body, "Download "+name) {
			t.Fatalf("download page of %s links %v, want its one file %q:\n%s", g.ProductID, hrefs, name, page.Body)
		}
		if file := e.Get(hrefs[0]); file.Status != http.StatusOK || file.Body != string(content) {
			t.Errorf("GET %s: %d with %d bytes, want 200 and the %d bytes of %s", hrefs[0], file.Status, len(file.Body), len(content), name)
		}
		return
	}
	if len(hrefs) != 0 {
		t.Errorf("download page of a revoked grant for %s links %v", g.ProductID, hrefs)
	}
	if says == "" || !strings.Contains(page.Body, says) {
		t.Errorf("download page of %s (revoked: %s) does not say %q:\n%s", g.ProductID, g.Reason, says, page.Body)
	}
	if file := e.Get(e.FilePath(g)); file.Status != http.StatusGone || strings.Contains(file.Body, string(content[:32])) {
		t.Errorf("file of a revoked grant for %s: %d %q, want 410 and no bytes of the file", g.ProductID, file.Status, file.Body)
	}
}

// The download page's words for a grant that ended.
const (
	saysRefunded  = "This purchase was refunded, so its downloads have ended."
	saysReversed  = "The payment for this purchase was reversed, so its downloads have ended."
	saysSuspended = "Downloads are paused because a recurring payment for this purchase is missing."
	saysEnded     = "The paid period of this purchase is over, so its downloads have ended."
)

func TestDigistore24IPN_Probe(t *testing.T) {
	t.Parallel()
	// Digistore24 GETs the URL when a connection is saved and presses "Test
	// connection" with a signed POST: both must answer OK, and neither may
	// change anything. The test button's message is stored like any other.
	tests := []struct {
		name string
		opts []envOption
		body []byte // nil: the GET probe
	}{
		{name: "GET probe", body: nil},
		{name: "Test connection, the sample of protocols.md 2.10", body: ds24Sample(t, "connection-test")},
		{name: "Test connection from a live account", body: digistore24.Sim{Event: "connection_test"}.Body(ds24Passphrase)},
		{name: "Test connection with the download link on", opts: []envOption{ds24Answers(true, true)},
			body: digistore24.ConnectionTest(ds24Passphrase)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t, tt.opts...)
			if tt.body == nil {
				a := env.Get(ds24Path)
				if a.Status != http.StatusOK || a.Body != "OK\n" || a.Header.Get("Content-Type") != digistore24.AnswerContentType {
					t.Fatalf("GET answered %d %q (%s), want 200 \"OK\\n\" as plain text", a.Status, a.Body, a.Header.Get("Content-Type"))
				}
				if ns := env.Notifications(); len(ns) != 0 {
					t.Errorf("the GET probe stored %d notifications", len(ns))
				}
				return
			}
			ds24MustOK(t, env, tt.body)
			checkDS24Stored(t, env, [][]byte{tt.body})
			n := env.LastNotification()
			if n.Verdict != vend.VerdictIgnored || !strings.Contains(n.Reason, "connection test") || n.OrderID != 0 {
				t.Errorf("notification %s %q (order %d), want ignored as a connection test", n.Verdict, n.Reason, n.OrderID)
			}
			if orders := env.Orders(); len(orders) != 0 {
				t.Errorf("%d orders after a connection test", len(orders))
			}
		})
	}
}

func TestDigistore24IPN_Payment(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	body := ds24Body(ds24Pay(ds24PayTxn))
	ds24MustOK(t, env, body)
	checkDS24Stored(t, env, [][]byte{body})

	o := env.ProviderOrder(digistore24.Provider, ds24Order)
	if o == nil || len(env.Orders()) != 1 {
		t.Fatalf("%d orders, want one under order_id %s", len(env.Orders()), ds24Order)
	}
	if o.Provider != digistore24.Provider || o.Ref != ds24Order || o.Status != vend.OrderPaid || !o.Test {
		t.Errorf("order %s %s %s (test %v), want a paid test order of digistore24 %s", o.Provider, o.Ref, o.Status, o.Test, ds24Order)
	}
	if o.Total != 1995 || o.Currency != "USD" || o.Custom != "m:42;k:ebook" || o.Buyer != (vend.Buyer{Email: "kunde@example.de", Name: "Jörg Müller"}) {
		t.Errorf("order %s %s, custom %q, buyer %+v; want 19.95 USD from Jörg Müller with custom m:42;k:ebook",
			o.Total, o.Currency, o.Custom, o.Buyer)
	}
	if len(o.Items) != 1 || o.Items[0].ProductID != "EBOOK-001" || o.Items[0].Quantity != 1 || o.Items[0].Amount != 1995 {
		t.Fatalf("items %+v, want one EBOOK-001 at 19.95", o.Items)
	}
	if len(o.Txns) != 1 || o.Txns[0].TxnID != ds24PayTxn || o.Txns[0].Kind != vend.TxnPayment || o.Txns[0].Status != vend.TxnCompleted {
		t.Errorf("transactions %+v, want the completed payment %s", o.Txns, ds24PayTxn)
	}
	if len(o.Grants) != 1 || o.Grants[0].State != vend.GrantActive || o.Grants[0].ProductID != "EBOOK-001" {
		t.Fatalf("grants %+v, want one active grant for EBOOK-001", o.Grants)
	}
	n := env.LastNotification()
	if n.Verdict != vend.VerdictApplied || n.Key != "on_payment:"+ds24PayTxn || n.OrderID != o.ID {
		t.Errorf("notification %s under key %q for order %d, want applied under on_payment:%s for order %d",
			n.Verdict, n.Key, n.OrderID, ds24PayTxn, o.ID)
	}
	g := o.Grants[0]
	if page := env.Get(env.PagePath(g)); !strings.Contains(page.Body, "Thank you for your purchase, Jörg Müller") {
		t.Errorf("download page does not greet the buyer:\n%s", page.Body)
	}
	checkDS24Access(t, env, g, "")
}

// ds24Case is a sequence of genuine messages about order ds24Order and where
// its EBOOK-001 item must end.
type ds24Case struct {
	name     string
	steps    [][]byte
	verdicts []vend.Verdict
	status   vend.OrderStatus // "": no order at all
	grant    vend.GrantState  // "": no grant
	reason   string           // why the grant was revoked
	txns     int
	says     string // the download page of a revoked grant says this
}

func TestDigistore24IPN_History(t *testing.T) {
	t.Parallel()
	ignored := vend.VerdictIgnored
	pay := ds24Body(ds24Pay(ds24PayTxn))
	sub := ds24Body(ds24Rebill(ds24PayTxn, 1))
	rebill := ds24Body(ds24Rebill(ds24RebillTxn, 2))
	// Digistore24 resends the very same on_payment, without a transaction_id to
	// tell it apart, when the buyer pays after a missed payment after all.
	subNoTxn := ds24Resign(sub, "transaction_id", "")
	if bytes.Contains(subNoTxn, []byte("transaction_id")) {
		t.Fatalf("payment still has a transaction_id: %s", subNoTxn)
	}
	refund := ds24Body(ds24Later("on_refund", ds24RefundTxn))
	chargeback := ds24Body(ds24Later("on_chargeback", ds24ChargebackTxn))
	missed := ds24Body(ds24Later("on_payment_missed", ""))
	resumed := ds24Body(ds24Later("on_rebill_resumed", ""))
	lastDay := ds24Body(ds24Later("last_paid_day", ""))
	cancelled := ds24Body(ds24Later("on_rebill_cancelled", ""))

	tests := []ds24Case{
		{name: "payment grants", steps: [][]byte{pay}, verdicts: []vend.Verdict{applied},
			status: vend.OrderPaid, grant: active, txns: 1},
		{name: "the same payment again is a duplicate and changes nothing", steps: [][]byte{pay, pay},
			verdicts: []vend.Verdict{applied, duplicate}, status: vend.OrderPaid, grant: active, txns: 1},
		{name: "payment without transaction_id grants", steps: [][]byte{subNoTxn}, verdicts: []vend.Verdict{applied},
			status: vend.OrderPaid, grant: active, txns: 1},
		{name: "refund ends access", steps: [][]byte{pay, refund}, verdicts: []vend.Verdict{applied, applied},
			status: vend.OrderRefunded, grant: revoked, reason: "refunded", txns: 2, says: saysRefunded},
		{name: "the same refund twice is one refund", steps: [][]byte{pay, refund, refund},
			verdicts: []vend.Verdict{applied, applied, duplicate},
			status:   vend.OrderRefunded, grant: revoked, reason: "refunded", txns: 2, says: saysRefunded},
		{name: "payment redelivered after a refund does not revive access", steps: [][]byte{pay, refund, pay},
			verdicts: []vend.Verdict{applied, applied, duplicate},
			status:   vend.OrderRefunded, grant: revoked, reason: "refunded", txns: 2, says: saysRefunded},
		{name: "refund before its payment: the payment then does not grant", steps: [][]byte{refund, pay},
			verdicts: []vend.Verdict{applied, applied}, status: vend.OrderRefunded, txns: 2},
		{name: "chargeback ends access", steps: [][]byte{pay, chargeback}, verdicts: []vend.Verdict{applied, applied},
			status: vend.OrderReversed, grant: revoked, reason: "reversed", txns: 2, says: saysReversed},
		{name: "payment redelivered after a chargeback does not revive access", steps: [][]byte{pay, chargeback, pay},
			verdicts: []vend.Verdict{applied, applied, duplicate},
			status:   vend.OrderReversed, grant: revoked, reason: "reversed", txns: 2, says: saysReversed},
		{name: "missed payment suspends", steps: [][]byte{sub, missed}, verdicts: []vend.Verdict{applied, applied},
			status: vend.OrderSuspended, grant: revoked, reason: "suspended", txns: 1, says: saysSuspended},
		{name: "the earlier payment without transaction_id, byte for byte again, lifts the suspension",
			steps: [][]byte{subNoTxn, missed, subNoTxn}, verdicts: []vend.Verdict{applied, applied, duplicate},
			status: vend.OrderPaid, grant: active, txns: 1},
		{name: "the earlier payment with its transaction_id again lifts the suspension",
			steps: [][]byte{sub, missed, sub}, verdicts: []vend.Verdict{applied, applied, duplicate},
			status: vend.OrderPaid, grant: active, txns: 1},
		{name: "the next rebill payment lifts the suspension", steps: [][]byte{sub, missed, rebill},
			verdicts: []vend.Verdict{applied, applied, applied}, status: vend.OrderPaid, grant: active, txns: 2},
		{name: "resumed rebilling lifts the suspension", steps: [][]byte{sub, missed, resumed},
			verdicts: []vend.Verdict{applied, applied, applied}, status: vend.OrderPaid, grant: active, txns: 1},
		{name: "resumed rebilling without a suspension changes nothing", steps: [][]byte{sub, resumed},
			verdicts: []vend.Verdict{applied, applied}, status: vend.OrderPaid, grant: active, txns: 1},
		{name: "resumed rebilling never creates access", steps: [][]byte{resumed},
			verdicts: []vend.Verdict{applied}},
		{name: "resumed rebilling does not undo the end of the paid period", steps: [][]byte{sub, lastDay, resumed},
			verdicts: []vend.Verdict{applied, applied, applied},
			status:   vend.OrderEnded, grant: revoked, reason: "ended", txns: 1, says: saysEnded},
		{name: "resumed rebilling does not undo a refund", steps: [][]byte{sub, refund, resumed},
			verdicts: []vend.Verdict{applied, applied, applied},
			status:   vend.OrderRefunded, grant: revoked, reason: "refunded", txns: 2, says: saysRefunded},
		{name: "last paid day ends access", steps: [][]byte{sub, lastDay}, verdicts: []vend.Verdict{applied, applied},
			status: vend.OrderEnded, grant: revoked, reason: "ended", txns: 1, says: saysEnded},
		{name: "last paid day ends a suspended subscription", steps: [][]byte{sub, missed, lastDay},
			verdicts: []vend.Verdict{applied, applied, applied},
			status:   vend.OrderEnded, grant: revoked, reason: "ended", txns: 1, says: saysEnded},
		{name: "the earlier payment again after the last paid day does not restore", steps: [][]byte{subNoTxn, lastDay, subNoTxn},
			verdicts: []vend.Verdict{applied, applied, duplicate},
			status:   vend.OrderEnded, grant: revoked, reason: "ended", txns: 1, says: saysEnded},
		{name: "a new payment after the last paid day restores", steps: [][]byte{sub, lastDay, rebill},
			verdicts: []vend.Verdict{applied, applied, applied}, status: vend.OrderPaid, grant: active, txns: 2},
		{name: "cancelled rebilling changes nothing", steps: [][]byte{sub, cancelled},
			verdicts: []vend.Verdict{applied, ignored}, status: vend.OrderPaid, grant: active, txns: 1},
		{name: "cancelled rebilling keeps a suspension", steps: [][]byte{sub, missed, cancelled},
			verdicts: []vend.Verdict{applied, applied, ignored},
			status:   vend.OrderSuspended, grant: revoked, reason: "suspended", txns: 1, says: saysSuspended},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t)
			runDS24History(t, env, tt)
		})
	}
}

func runDS24History(t *testing.T, env *testEnv, tt ds24Case) {
	t.Helper()
	for _, body := range tt.steps {
		ds24MustOK(t, env, body)
	}
	if got := env.Verdicts(); !slices.Equal(got, tt.verdicts) {
		for _, n := range env.Notifications() {
			t.Logf("notification %d: %s %q %s", n.ID, n.Verdict, n.Reason, n.Changes)
		}
		t.Fatalf("verdicts %v, want %v", got, tt.verdicts)
	}
	checkDS24Stored(t, env, tt.steps)
	o := env.ProviderOrder(digistore24.Provider, ds24Order)
	if tt.status == "" {
		if o != nil || len(env.Orders()) != 0 {
			t.Fatalf("%d orders, want none", len(env.Orders()))
		}
		return
	}
	if o == nil || len(env.Orders()) != 1 {
		t.Fatalf("%d orders, want one under %s", len(env.Orders()), ds24Order)
	}
	if o.Status != tt.status {
		t.Errorf("order %s, want %s", o.Status, tt.status)
	}
	if len(o.Items) != 1 || o.Items[0].ProductID != "EBOOK-001" {
		t.Errorf("items %+v, want EBOOK-001 only", o.Items)
	}
	// tt.txns counts the money; holds are kept beside it as transactions too.
	money := 0
	for _, txn := range o.Txns {
		if txn.Kind != vend.TxnSuspend && txn.Kind != vend.TxnResume && txn.Kind != vend.TxnEnd {
			money++
		}
	}
	if money != tt.txns {
		t.Errorf("%d transactions, want %d", money, tt.txns)
	}
	if tt.grant == "" {
		if len(o.Grants) != 0 {
			t.Errorf("grants %+v, want none", o.Grants[0])
		}
		return
	}
	if len(o.Grants) != 1 {
		t.Fatalf("%d grants, want 1", len(o.Grants))
	}
	g := o.Grants[0]
	if g.State != tt.grant || g.Reason != tt.reason {
		t.Errorf("grant %s (reason %q), want %s (reason %q)", g.State, g.Reason, tt.grant, tt.reason)
	}
	checkDS24Access(t, env, g, tt.says)
}

func TestDigistore24IPN_Upsells(t *testing.T) {
	// An order of a main product and three upsells comes as one message per
	// item, under one order_id: one order with four items and a grant each. A
	// refund names its item and ends that item's access only.
	t.Parallel()
	env := newTestEnv(t)
	msgs := ds24Pay(ds24PayTxn).WithUpsells(
		digistore24.SimItem{ProductID: "512346", Name: "Audio Course", Amount: 990, TxnID: "3999941"},
		digistore24.SimItem{ProductID: "512347", Name: "Video Workshop", Amount: 2900, TxnID: "3999942"},
		digistore24.SimItem{ProductID: "512348", Name: "Cheat Sheet", Amount: 500, TxnID: "3999943"},
	)
	var bodies [][]byte
	for _, m := range msgs {
		body := ds24Body(m)
		ds24MustOK(t, env, body)
		bodies = append(bodies, body)
	}
	products := []string{"EBOOK-001", "AUDIO-002", "VIDEO-003", "CHEAT-004"}
	o := env.ProviderOrder(digistore24.Provider, ds24Order)
	if o == nil || len(env.Orders()) != 1 {
		t.Fatalf("%d orders, want one", len(env.Orders()))
	}
	var items []string
	for _, it := range o.Items {
		items = append(items, it.ProductID)
	}
	if !slices.Equal(items, products) {
		t.Fatalf("items %v, want %v", items, products)
	}
	if o.Status != vend.OrderPaid || o.Total != 1995+990+2900+500 || len(o.Txns) != 4 {
		t.Errorf("order %s, total %s, %d transactions; want paid, 63.85, 4", o.Status, o.Total, len(o.Txns))
	}
	if len(o.Grants) != 4 {
		t.Fatalf("%d grants, want 4", len(o.Grants))
	}
	for _, p := range products {
		g := o.grant(p)
		if g == nil || g.State != vend.GrantActive {
			t.Fatalf("grant for %s: %+v, want active", p, g)
		}
		checkDS24Access(t, env, g, "")
	}

	refund := ds24Later("on_refund", ds24RefundTxn)
	refund.ProductID, refund.Amount = "512347", 2900
	body := ds24Body(refund)
	ds24MustOK(t, env, body)
	bodies = append(bodies, body)
	if got, want := env.Verdicts(), slices.Repeat([]vend.Verdict{applied}, 5); !slices.Equal(got, want) {
		t.Errorf("verdicts %v, want %v", got, want)
	}
	checkDS24Stored(t, env, bodies)

	o = env.ProviderOrder(digistore24.Provider, ds24Order)
	if o.Status != vend.OrderPaid {
		t.Errorf("order %s after refunding one upsell, want still paid", o.Status)
	}
	for _, p := range products {
		g := o.grant(p)
		switch {
		case p == "VIDEO-003" && (g.State != vend.GrantRevoked || g.Reason != "refunded"):
			t.Errorf("refunded upsell's grant %s (reason %q), want revoked as refunded", g.State, g.Reason)
		case p != "VIDEO-003" && g.State != vend.GrantActive:
			t.Errorf("grant for %s is %s (reason %q) after refunding another item", p, g.State, g.Reason)
		}
		checkDS24Access(t, env, g, saysRefunded)
	}
}

func TestDigistore24IPN_Refusals(t *testing.T) {
	t.Parallel()
	// Each message is refused with a 4xx and an ERROR line, so Digistore24
	// shows it to the seller and resends it. It is stored with its verdict
	// (invalid when forged, rejected when genuine but unusable, error when vend
	// lacks its passphrase) and changes nothing else: afterwards, the genuine
	// payment still applies.
	pay := ds24Body(ds24Pay(ds24PayTxn))
	refund := ds24Body(ds24Later("on_refund", ds24RefundTxn))
	live := ds24Pay(ds24PayTxn)
	live.Test = false
	unknown := ds24Pay(ds24PayTxn)
	unknown.ProductID = "999999"
	cheap := ds24Pay(ds24PayTxn)
	cheap.Amount = 995
	const (
		forged    = "sha_sign does not match"
		unsigned  = "no sha_sign"
		noSecret  = "no IPN passphrase is configured (digistore24.passphrase)"
		formMedia = "is not application/x-www-form-urlencoded"
	)
	tests := []struct {
		name        string
		opts        []envOption
		body        []byte
		contentType string // "": the form type Digistore24 sends
		status      int
		verdict     vend.Verdict
		reason      string // in the stored reason and in the ERROR line
	}{
		{name: "tampered: amount lowered after signing", body: setField(pay, "amount", "0.01"),
			status: 401, verdict: vend.VerdictInvalid, reason: forged},
		{name: "tampered: product changed after signing", body: setField(pay, "product_id", "512347"),
			status: 401, verdict: vend.VerdictInvalid, reason: forged},
		{name: "tampered: a refund relabelled as a payment", body: setField(refund, "event", "on_payment"),
			status: 401, verdict: vend.VerdictInvalid, reason: forged},
		{name: "tampered: quantity raised after signing", body: setField(pay, "quantity", "5"),
			status: 401, verdict: vend.VerdictInvalid, reason: forged},
		{name: "tampered: a field added after signing", body: setField(pay, "upsell_path", "x"),
			status: 401, verdict: vend.VerdictInvalid, reason: forged},
		{name: "tampered: the signature of another message", body: setField(pay, "sha_sign",
			digistore24.ParseForm(refund).Get("sha_sign")),
			status: 401, verdict: vend.VerdictInvalid, reason: forged},
		{name: "no sha_sign", body: dropField(pay, "sha_sign"),
			status: 401, verdict: vend.VerdictInvalid, reason: unsigned},
		{name: "empty sha_sign", body: setField(pay, "sha_sign", ""),
			status: 401, verdict: vend.VerdictInvalid, reason: unsigned},
		{name: "signed with another passphrase", body: ds24Pay(ds24PayTxn).Body("not-the-passphrase"),
			status: 401, verdict: vend.VerdictInvalid, reason: forged},
		{name: "Test connection with another passphrase", body: digistore24.ConnectionTest("not-the-passphrase"),
			status: 401, verdict: vend.VerdictInvalid, reason: forged},
		// vend's own configuration, not the message: verdict error, applied by the resend.
		{name: "no passphrase configured", opts: []envOption{func(s *Server) { ds24Of(s).Passphrase = "" }}, body: pay,
			status: 401, verdict: vend.VerdictError, reason: noSecret},
		{name: "Digistore24 not configured at all", opts: []envOption{func(s *Server) { *ds24Of(s) = digistore24.Intake{} }}, body: pay,
			status: 401, verdict: vend.VerdictError, reason: noSecret},
		{name: "live message to a sandbox server", body: ds24Body(live),
			status: 422, verdict: vend.VerdictRejected, reason: `api_mode "live" is not test but digistore24 sandbox mode is on`},
		{name: "unknown product", body: ds24Body(unknown),
			status: 422, verdict: vend.VerdictRejected, reason: `unknown product "999999"`},
		{name: "paid less than the catalog price", body: ds24Body(cheap),
			status: 422, verdict: vend.VerdictRejected, reason: "paid 9.95 USD for 1 × EBOOK-001, the price is 19.95"},
		{name: "Digistore24's signed sample: euros for a product priced in dollars", body: ds24Sample(t, "payment"),
			status: 422, verdict: vend.VerdictRejected, reason: `paid in "EUR" but EBOOK-001 is priced in USD`},
		{name: "signed, but names no event", body: ds24Resign(pay, "event", ""),
			status: 422, verdict: vend.VerdictRejected, reason: "the message names no event"},
		{name: "signed payment without order_id", body: ds24Resign(pay, "order_id", ""),
			status: 422, verdict: vend.VerdictRejected, reason: "on_payment without order_id"},
		{name: "signed payment with a malformed amount", body: ds24Resign(pay, "amount", "19,95"),
			status: 422, verdict: vend.VerdictRejected, reason: `amount "19,95" is not an amount`},
		{name: "wrong content type: text/plain", body: pay, contentType: "text/plain",
			status: 415, verdict: vend.VerdictRejected, reason: "content type text/plain " + formMedia},
		{name: "wrong content type: JSON", body: pay, contentType: "application/json",
			status: 415, verdict: vend.VerdictRejected, reason: "content type application/json " + formMedia},
		{name: "empty body", body: []byte{},
			status: 400, verdict: vend.VerdictRejected, reason: "empty body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t, tt.opts...)
			ct := tt.contentType
			if ct == "" {
				ct = formType
			}
			a := env.Post(ds24Path, ct, tt.body, nil)
			if a.Status != tt.status {
				t.Errorf("answered %d %q, want %d", a.Status, a.Body, tt.status)
			}
			if !strings.HasPrefix(a.Body, "ERROR: ") || !strings.HasSuffix(a.Body, "\n") || strings.Count(a.Body, "\n") != 1 ||
				!strings.Contains(a.Body, tt.reason) {
				t.Errorf("answer %q, want one line \"ERROR: …\" saying %q", a.Body, tt.reason)
			}
			if strings.Contains(a.Body, ds24Passphrase) {
				t.Errorf("answer %q gives the passphrase away", a.Body)
			}
			if got := a.Header.Get("Content-Type"); got != digistore24.AnswerContentType {
				t.Errorf("answer Content-Type %q", got)
			}
			checkDS24Stored(t, env, [][]byte{tt.body})
			n := env.LastNotification()
			if n.Verdict != tt.verdict || !strings.Contains(n.Reason, tt.reason) {
				t.Errorf("verdict %s %q, want %s containing %q", n.Verdict, n.Reason, tt.verdict, tt.reason)
			}
			if n.OrderID != 0 {
				t.Errorf("refused notification names order %d", n.OrderID)
			}
			if orders := env.Orders(); len(orders) != 0 {
				t.Errorf("%d orders after a refused message", len(orders))
			}
			for _, txn := range []string{ds24PayTxn, ds24RefundTxn} {
				if tr := ds24Transaction(env, txn); tr != nil {
					t.Errorf("transaction %s recorded: %+v", txn, tr)
				}
			}

			// The refusal claimed nothing: the genuine payment still applies.
			if len(tt.opts) == 0 {
				ds24MustOK(t, env, pay)
				if o := env.ProviderOrder(digistore24.Provider, ds24Order); o == nil || o.Status != vend.OrderPaid ||
					len(o.Grants) != 1 || o.Grants[0].State != vend.GrantActive {
					t.Errorf("genuine payment after the refused message: order %+v, want paid with an active grant", o)
				}
				checkDS24Stored(t, env, [][]byte{tt.body, pay})
			}
		})
	}
}

func TestDigistore24IPN_SignatureBitFlips(t *testing.T) {
	// Every single-bit flip of sha_sign is refused, except one that only changes
	// a letter's case: Digistore24's own code compares case-insensitively.
	t.Parallel()
	env := newTestEnv(t, ds24Unlimited)
	pay := ds24Body(ds24Pay(ds24PayTxn))
	sig := digistore24.ParseForm(pay).Get("sha_sign")
	if len(sig) != 128 {
		t.Fatalf("sha_sign %q, want 128 hex digits", sig)
	}
	var sent [][]byte
	for i := range len(sig) {
		for bit := range 8 {
			b := []byte(sig)
			b[i] ^= 1 << bit
			if strings.EqualFold(string(b), sig) {
				continue // a letter-case change
			}
			body := setField(pay, "sha_sign", url.QueryEscape(string(b)))
			a := ds24Post(env, body)
			if a.Status != http.StatusUnauthorized || !strings.HasPrefix(a.Body, "ERROR: ") {
				t.Fatalf("sha_sign with bit %d of digit %d flipped (%q): answered %d %q, want 401 ERROR",
					bit, i, b[i], a.Status, a.Body)
			}
			sent = append(sent, body)
		}
	}
	letters := 0
	for _, c := range []byte(sig) {
		if 'A' <= c && c <= 'F' {
			letters++
		}
	}
	if want := 128*8 - letters; len(sent) != want {
		t.Errorf("%d flips sent, want %d: all but one flip per letter", len(sent), want)
	}
	checkDS24Stored(t, env, sent)
	for _, n := range env.Notifications() {
		if n.Verdict != vend.VerdictInvalid {
			t.Fatalf("notification %d: verdict %s %q, want invalid", n.ID, n.Verdict, n.Reason)
		}
	}
	if orders := env.Orders(); len(orders) != 0 {
		t.Fatalf("%d orders after forged messages", len(orders))
	}

	// The signature in lower case is the same signature.
	lower := setField(pay, "sha_sign", strings.ToLower(sig))
	ds24MustOK(t, env, lower)
	if o := env.ProviderOrder(digistore24.Provider, ds24Order); o == nil || len(o.Grants) != 1 || o.Grants[0].State != vend.GrantActive {
		t.Errorf("payment with a lower-case sha_sign: order %+v, want paid with an active grant", o)
	}
}

func TestDigistore24IPN_AnswerLink(t *testing.T) {
	t.Parallel()
	// With AnswerLink and ThankyouPage on, Digistore24 shows the buyer vend's
	// download page: the answer to a payment whose grant is active names it.
	// Every other answer is plain OK. {url} stands for the grant's page.
	tests := []struct {
		name           string
		link, thankyou bool
		want           string
	}{
		{"download link and thank-you page", true, true,
			"OK\nthankyou_url: {url}\nheadline: Your download\nDownload: {url}\nhide_on: invoice\n"},
		{"download link only", true, false, "OK\nheadline: Your download\nDownload: {url}\nhide_on: invoice\n"},
		{"thank-you page only", false, true, "OK\nthankyou_url: {url}\nhide_on: invoice\n"},
		{"neither", false, false, "OK\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t, ds24Answers(tt.link, tt.thankyou))
			pay := ds24Body(ds24Pay(ds24PayTxn))
			a := ds24Post(env, pay)
			o := env.ProviderOrder(digistore24.Provider, ds24Order)
			if o == nil || len(o.Grants) != 1 {
				t.Fatalf("answered %d %q; order %+v, want one grant", a.Status, a.Body, o)
			}
			g := o.Grants[0]
			pageURL := env.HTTP.URL + env.PagePath(g)
			want := strings.ReplaceAll(tt.want, "{url}", pageURL)
			if a.Status != http.StatusOK || a.Body != want {
				t.Fatalf("answer to the payment %d\n%s\nwant 200\n%s", a.Status, a.Body, want)
			}
			if tt.link || tt.thankyou {
				// The link in the answer is the grant's page, and it works.
				page := env.Get(strings.TrimPrefix(pageURL, env.HTTP.URL))
				if hrefs := links(page.Body, "/d/"); page.Status != http.StatusOK || len(hrefs) != 1 {
					t.Fatalf("page from the answer: %d with links %v", page.Status, hrefs)
				}
				checkDS24Access(t, env, g, "")
			}
			// A resend while access lasts gets the same answer.
			ds24MustAnswer(t, env, pay, want)
			// A refund, and the payment resent after it, get plain OK.
			ds24MustOK(t, env, ds24Body(ds24Later("on_refund", ds24RefundTxn)))
			ds24MustOK(t, env, pay)
			ds24MustOK(t, env, digistore24.ConnectionTest(ds24Passphrase))
			if got, want := env.Verdicts(), []vend.Verdict{applied, duplicate, applied, duplicate, vend.VerdictIgnored}; !slices.Equal(got, want) {
				t.Errorf("verdicts %v, want %v", got, want)
			}
		})
	}

	t.Run("each upsell's answer names its own page", func(t *testing.T) {
		t.Parallel()
		env := newTestEnv(t, ds24Answers(true, false))
		msgs := ds24Pay(ds24PayTxn).WithUpsells(
			digistore24.SimItem{ProductID: "512346", Name: "Audio Course", Amount: 990, TxnID: "3999941"},
			digistore24.SimItem{ProductID: "512347", Name: "Video Workshop", Amount: 2900, TxnID: "3999942"},
		)
		for i, m := range msgs {
			a := ds24Post(env, ds24Body(m))
			g := env.ProviderOrder(digistore24.Provider, ds24Order).grant([]string{"EBOOK-001", "AUDIO-002", "VIDEO-003"}[i])
			if g == nil {
				t.Fatalf("message %d answered %d %q and made no grant", i, a.Status, a.Body)
			}
			if want := "Download: " + env.HTTP.URL + env.PagePath(g) + "\n"; a.Status != http.StatusOK || !strings.HasPrefix(a.Body, "OK\n") ||
				!strings.Contains(a.Body, want) {
				t.Errorf("answer for %s: %d %q, want OK with %q", g.ProductID, a.Status, a.Body, want)
			}
		}
	})
}

func TestDigistore24IPN_StoredByteForByte(t *testing.T) {
	// The signature covers decoded values, so Digistore24 may escape its body in
	// any way: vend keeps the bytes as sent, lower-case escapes, %20, a literal
	// ';' and all, and reads the same values from them.
	t.Parallel()
	env := newTestEnv(t)
	var pairs []digistore24.Pair
	for _, p := range digistore24.ParseForm(ds24Body(ds24Pay(ds24PayTxn))).Pairs {
		if p.Key != "sha_sign" {
			pairs = append(pairs, p)
		}
	}
	pairs = append(pairs, digistore24.Pair{Key: "product_name_intern", Value: `E-Book "Go Patterns" 100% ~v2`})
	oddEscape := func(s string) string {
		b := []byte(strings.ReplaceAll(url.QueryEscape(s), "+", "%20"))
		for i := 0; i+2 < len(b); i++ {
			if b[i] == '%' {
				b[i+1], b[i+2] = lowerHex(b[i+1]), lowerHex(b[i+2])
			}
		}
		return strings.ReplaceAll(string(b), "%3b", ";")
	}
	body := ds24Encode(pairs, oddEscape)
	for _, want := range []string{"J%c3%b6rg", "custom=m%3a42;k%3aebook", "E-Book%20Go%20Patterns"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Fatalf("body %s does not contain %q", body, want)
		}
	}
	req, err := http.NewRequest(http.MethodPost, env.HTTP.URL+ds24Path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	req.Header.Set("X-Request-Id", "req-ds24")
	req.Header.Set("Authorization", "Bearer secret-token")
	if a := env.do(req); a.Status != http.StatusOK || a.Body != "OK\n" {
		t.Fatalf("answered %d %q, want 200 OK", a.Status, a.Body)
	}
	checkDS24Stored(t, env, [][]byte{body})
	n := env.LastNotification()
	if n.Verdict != vend.VerdictApplied {
		t.Fatalf("verdict %s %q, want applied", n.Verdict, n.Reason)
	}
	h := http.Header(n.Headers)
	if h.Get("X-Request-Id") != "req-ds24" || h.Get("Authorization") != "" || !strings.HasPrefix(n.RemoteAddr, "127.0.0.1:") {
		t.Errorf("stored headers %v from %q, want X-Request-Id kept, Authorization dropped", h, n.RemoteAddr)
	}
	o := env.ProviderOrder(digistore24.Provider, ds24Order)
	if o == nil || o.Custom != "m:42;k:ebook" || o.Buyer.Name != "Jörg Müller" || len(o.Items) != 1 || o.Items[0].Name != "E-Book Go Patterns" {
		t.Errorf("order %+v, want custom m:42;k:ebook from Jörg Müller for E-Book Go Patterns", o)
	}
}

func lowerHex(c byte) byte {
	if 'A' <= c && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
}

func TestDigistore24IPN_ConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	t.Run("100 copies of one payment apply once", func(t *testing.T) {
		env := newTestEnv(t, ds24Unlimited)
		pay := ds24Body(ds24Pay(ds24PayTxn))
		for i, a := range postDS24Concurrently(t, env, repeat(pay, 100)) {
			if a.Status != http.StatusOK || a.Body != "OK\n" {
				t.Errorf("copy %d answered %d %q, want 200 OK", i, a.Status, a.Body)
			}
		}
		o := env.ProviderOrder(digistore24.Provider, ds24Order)
		if o == nil || len(env.Orders()) != 1 {
			t.Fatalf("%d orders, want 1", len(env.Orders()))
		}
		if o.Status != vend.OrderPaid || len(o.Items) != 1 || len(o.Grants) != 1 || len(o.Txns) != 1 || o.Grants[0].State != vend.GrantActive {
			t.Errorf("order %s with %d items, %d grants, %d transactions; want paid, 1, 1 active, 1",
				o.Status, len(o.Items), len(o.Grants), len(o.Txns))
		}
		checkVerdictCounts(t, env, map[vend.Verdict]int{vend.VerdictApplied: 1, vend.VerdictDuplicate: 99})
		checkDS24Stored(t, env, repeat(pay, 100))
	})

	t.Run("copies of a payment and its refund in any order end refunded", func(t *testing.T) {
		env := newTestEnv(t, ds24Unlimited)
		pay, refund := ds24Body(ds24Pay(ds24PayTxn)), ds24Body(ds24Later("on_refund", ds24RefundTxn))
		var bodies [][]byte
		for range 20 {
			bodies = append(bodies, refund, pay)
		}
		for i, a := range postDS24Concurrently(t, env, bodies) {
			if a.Status != http.StatusOK || a.Body != "OK\n" {
				t.Errorf("message %d answered %d %q, want 200 OK", i, a.Status, a.Body)
			}
		}
		o := env.ProviderOrder(digistore24.Provider, ds24Order)
		if o == nil || o.Status != vend.OrderRefunded || len(o.Txns) != 2 || len(env.Orders()) != 1 {
			t.Fatalf("order %+v, want the one order refunded with 2 transactions", o)
		}
		for _, g := range o.Grants {
			if g.State != vend.GrantRevoked {
				t.Errorf("grant %s is %s after the refund", g.ProductID, g.State)
			}
		}
		checkVerdictCounts(t, env, map[vend.Verdict]int{vend.VerdictApplied: 2, vend.VerdictDuplicate: 38})
		checkDS24StoredAnyOrder(t, env, bodies)
	})

	t.Run("copies of an order's four item messages at once make one order", func(t *testing.T) {
		env := newTestEnv(t, ds24Unlimited)
		msgs := ds24Pay(ds24PayTxn).WithUpsells(
			digistore24.SimItem{ProductID: "512346", Name: "Audio Course", Amount: 990, TxnID: "3999941"},
			digistore24.SimItem{ProductID: "512347", Name: "Video Workshop", Amount: 2900, TxnID: "3999942"},
			digistore24.SimItem{ProductID: "512348", Name: "Cheat Sheet", Amount: 500, TxnID: "3999943"},
		)
		var bodies [][]byte
		for range 10 {
			for _, m := range msgs {
				bodies = append(bodies, ds24Body(m))
			}
		}
		for i, a := range postDS24Concurrently(t, env, bodies) {
			if a.Status != http.StatusOK || a.Body != "OK\n" {
				t.Errorf("message %d answered %d %q, want 200 OK", i, a.Status, a.Body)
			}
		}
		o := env.ProviderOrder(digistore24.Provider, ds24Order)
		if o == nil || len(env.Orders()) != 1 {
			t.Fatalf("%d orders, want 1", len(env.Orders()))
		}
		if o.Status != vend.OrderPaid || len(o.Items) != 4 || len(o.Grants) != 4 || len(o.Txns) != 4 || o.Total != 6385 {
			t.Errorf("order %s (total %s) with %d items, %d grants, %d transactions; want paid (63.85), 4, 4, 4",
				o.Status, o.Total, len(o.Items), len(o.Grants), len(o.Txns))
		}
		for _, g := range o.Grants {
			if g.State != vend.GrantActive {
				t.Errorf("grant %s is %s", g.ProductID, g.State)
			}
		}
		checkVerdictCounts(t, env, map[vend.Verdict]int{vend.VerdictApplied: 4, vend.VerdictDuplicate: 36})
		checkDS24StoredAnyOrder(t, env, bodies)
	})
}

// postDS24Concurrently posts every body to the Digistore24 endpoint at once and
// returns the answers in the bodies' order. The stored notifications come in
// any order, so callers compare them as a set.
func postDS24Concurrently(t *testing.T, env *testEnv, bodies [][]byte) []answer {
	t.Helper()
	answers := make([]answer, len(bodies))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, body := range bodies {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodPost, env.HTTP.URL+ds24Path, bytes.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("Content-Type", formType)
			<-start
			resp, err := env.client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Error(err)
			}
			answers[i] = answer{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
		})
	}
	close(start)
	wg.Wait()
	return answers
}

// TestDigistore24IPN_AnswerLicenseKeys: the answer to a payment of a licensed
// product carries its keys, one line each, in the buyer's language, so
// Digistore24 shows them on its thank-you page (and, with its timing
// "before redirect", in its confirmation mail).
func TestDigistore24IPN_AnswerLicenseKeys(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		lang, label string
		units       int
	}{
		{"", "License key", 1},
		{"de", "Lizenzschlüssel", 2},
	} {
		t.Run(tt.label, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t, ds24Answers(true, false))
			withLicensedEbook(t, env)
			sim := ds24Pay(ds24PayTxn)
			sim.Language, sim.Quantity, sim.Amount = tt.lang, tt.units, 1995*vend.Amount(tt.units)
			a := ds24Post(env, ds24Body(sim))
			o := env.ProviderOrder(digistore24.Provider, ds24Order)
			var keys []*vend.License
			env.view(func(ctx context.Context, tx store.Tx) error {
				var err error
				keys, err = tx.FindLicenses(ctx, store.LicenseFilter{OrderID: &o.ID})
				return err
			})
			if len(keys) != tt.units {
				t.Fatalf("%d keys, want %d", len(keys), tt.units)
			}
			for i, l := range keys {
				label := tt.label
				if tt.units > 1 {
					label += " " + fmt.Sprint(tt.units-i) // FindLicenses lists the newest first
				}
				if !strings.Contains(a.Body, label+": "+l.Key+"\n") {
					t.Errorf("the answer lacks %q:\n%s", label+": "+l.Key, a.Body)
				}
			}
		})
	}
}
