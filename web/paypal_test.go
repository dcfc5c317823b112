package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/provider/paypal"
	"github.com/vend-shop/vend/store"
)

// p3Then is the eCheck of P3 a few days later: the same message and txn_id with
// another payment_status, no pending_reason and a new ipn_track_id.
func p3Then(tb testing.TB, status string) []byte {
	return edit(dropField(sample(tb, "p3"), "pending_reason"), "payment_status", status, "ipn_track_id", "c3d4e5f6a7b99")
}

func TestPayPalIPN_Postback(t *testing.T) {
	t.Parallel()
	// Every sample, alone on a fresh vend: the postback is the raw body behind
	// the prefix, byte for byte, and the answer is 200 with nothing in it.
	tests := []struct {
		name    string
		sample  string
		verdict vend.Verdict
		reason  string
	}{
		{"P0, PayPal's own sample, is another seller's", "p0", vend.VerdictRejected, `receiver_email "gpmac_1231902686_biz@paypal.com"`},
		{"P1 web_accept Completed applies", "p1", vend.VerdictApplied, ""},
		{"P2 cart Completed applies", "p2", vend.VerdictApplied, ""},
		{"P3 Pending eCheck applies", "p3", vend.VerdictApplied, ""},
		{"P4 Refunded before its payment applies and waits", "p4", vend.VerdictApplied, ""},
		{"P5 Reversed before its payment applies and waits", "p5", vend.VerdictApplied, ""},
		{"P6 Canceled_Reversal before its payment applies and waits", "p6", vend.VerdictApplied, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t)
			body := sample(t, tt.sample)
			env.MustPostIPN(body)
			n := env.LastNotification()
			if n.Verdict != tt.verdict || !strings.Contains(n.Reason, tt.reason) {
				t.Errorf("verdict %s %q, want %s %q", n.Verdict, n.Reason, tt.verdict, tt.reason)
			}
		})
	}

	t.Run("content type with a charset, or none at all, is accepted", func(t *testing.T) {
		t.Parallel()
		env := newTestEnv(t)
		for i, ct := range []string{"application/x-www-form-urlencoded; charset=windows-1252", ""} {
			body := edit(sample(t, "p1"), "txn_id", fmt.Sprintf("CT%015d", i), "ipn_track_id", fmt.Sprint(i))
			req := env.newIPN(body)
			req.Header.Del("Content-Type")
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			if a := env.do(req); a.Status != http.StatusOK || a.Body != "" {
				t.Errorf("Content-Type %q: answered %d %q", ct, a.Status, a.Body)
			}
			if n := env.LastNotification(); n.Verdict != vend.VerdictApplied {
				t.Errorf("Content-Type %q: verdict %s %q, want applied", ct, n.Verdict, n.Reason)
			}
		}
	})

	t.Run("P0 for its own seller is checked past the receiver", func(t *testing.T) {
		t.Parallel()
		env := newTestEnv(t, func(s *Server) {
			paypalOf(s).Config = paypal.Config{ReceiverEmails: []string{"gpmac_1231902686_biz@paypal.com"}, ReceiverID: sellerID, Sandbox: true}
		})
		p0 := sample(t, "p0")
		env.MustPostIPN(p0)
		pb := env.PayPal.Postbacks()[0].Body
		if want := "cmd=_notify-validate&mc_gross=19.95&protection_eligibility=Eligible&address_status=confirmed&payer_id=LPLWNMTBWMFAY&tax=0.00&address_street=1+Main+St&payment_date=20%3A12%3A59+Jan+13%2C+2009+PST&payment_status=Completed&charset=windows-1252&address_zip=95131&first_name=Test&mc_fee=0.88&address_country_code=US&address_name=Test+User&notify_version=2.6&custom=&payer_status=verified&address_country=United+States&address_city=San+Jose&quantity=1&verify_sign=AtkOfCXbDm2hu0ZELryHFjY-Vb7PAUvS6nMXgysbElEn9v-1XcmSoGtf&payer_email=gpmac_1231902590_per%40paypal.com&txn_id=61E67681CH3238416&payment_type=instant&last_name=User&address_state=CA&receiver_email=gpmac_1231902686_biz%40paypal.com&payment_fee=0.88&receiver_id=S8XGHLYDW9T3S&txn_type=express_checkout&item_name=&mc_currency=USD&item_number=&residence_country=US&test_ipn=1&handling_amount=0.00&transaction_subject=&payment_gross=19.95&shipping=0.00"; string(pb) != want {
			t.Errorf("postback of P0\n got %s\nwant %s (protocols.md §1.9)", pb, want)
		}
		n := env.LastNotification()
		if n.Verdict != vend.VerdictRejected || !strings.Contains(n.Reason, "item_number is missing") {
			t.Errorf("verdict %s %q, want rejected for its empty item_number", n.Verdict, n.Reason)
		}
		if len(env.Orders()) != 0 || env.Transaction(p0Txn) != nil {
			t.Errorf("P0 without an item_number changed the ledger")
		}
	})
}

// historyCase is a sequence of verified messages and where the order must end.
type historyCase struct {
	name     string
	steps    [][]byte
	verdicts []vend.Verdict
	ref      string // the payment's txn_id
	status   vend.OrderStatus
	reason   string
	review   bool
	items    []string                   // product ids, in order
	grants   map[string]vend.GrantState // by product; nil: no grant at all
	txns     int                        // transaction rows of the order
	says     string                     // the return page says this
}

var (
	applied   = vend.VerdictApplied
	duplicate = vend.VerdictDuplicate
	active    = vend.GrantActive
	revoked   = vend.GrantRevoked
	ebookOnly = []string{"EBOOK-001"}
)

func TestPayPalIPN_History(t *testing.T) {
	t.Parallel()
	p1, p2, p3, p4, p5, p6 := sample(t, "p1"), sample(t, "p2"), sample(t, "p3"), sample(t, "p4"), sample(t, "p5"), sample(t, "p6")
	partial := func(txn, amount string) []byte {
		return edit(p4, "txn_id", txn, "mc_gross", amount, "payment_gross", amount, "ipn_track_id", "r"+txn)
	}
	tests := []historyCase{
		{name: "Completed pays and grants one download", steps: [][]byte{p1}, verdicts: []vend.Verdict{applied},
			ref: p1Txn, status: vend.OrderPaid, items: ebookOnly, grants: map[string]vend.GrantState{"EBOOK-001": active}, txns: 1,
			says: "Your payment is complete"},
		{name: "Pending eCheck waits without a grant", steps: [][]byte{p3}, verdicts: []vend.Verdict{applied},
			ref: p3Txn, status: vend.OrderPending, reason: "echeck", items: ebookOnly, txns: 1,
			says: "The payment was made by eCheck"},
		{name: "eCheck Completed under the same txn_id pays and grants", steps: [][]byte{p3, p3Then(t, "Completed")},
			verdicts: []vend.Verdict{applied, applied},
			ref:      p3Txn, status: vend.OrderPaid, items: ebookOnly, grants: map[string]vend.GrantState{"EBOOK-001": active}, txns: 1,
			says: "Your payment is complete"},
		{name: "cart is one order with two items and two grants", steps: [][]byte{p2}, verdicts: []vend.Verdict{applied},
			ref: p2Txn, status: vend.OrderPaid, items: []string{"EBOOK-001", "AUDIO-002"},
			grants: map[string]vend.GrantState{"EBOOK-001": active, "AUDIO-002": active}, txns: 1,
			says: "Your payment is complete"},
		{name: "Refunded revokes", steps: [][]byte{p1, p4}, verdicts: []vend.Verdict{applied, applied},
			ref: p1Txn, status: vend.OrderRefunded, items: ebookOnly, grants: map[string]vend.GrantState{"EBOOK-001": revoked}, txns: 2,
			says: "This order was refunded"},
		{name: "Reversed revokes", steps: [][]byte{p1, p5}, verdicts: []vend.Verdict{applied, applied},
			ref: p1Txn, status: vend.OrderReversed, items: ebookOnly, grants: map[string]vend.GrantState{"EBOOK-001": revoked}, txns: 2,
			says: "The payment for this order was reversed"},
		{name: "Canceled_Reversal restores", steps: [][]byte{p1, p5, p6}, verdicts: []vend.Verdict{applied, applied, applied},
			ref: p1Txn, status: vend.OrderPaid, items: ebookOnly, grants: map[string]vend.GrantState{"EBOOK-001": active}, txns: 3,
			says: "Your payment is complete"},
		{name: "a second Reversed after a Canceled_Reversal revokes again",
			steps:    [][]byte{p1, p5, p6, edit(p5, "txn_id", "2RV00000JK0000099", "ipn_track_id", "e5f6a7b8c9d99")},
			verdicts: []vend.Verdict{applied, applied, applied, applied},
			ref:      p1Txn, status: vend.OrderReversed, items: ebookOnly, grants: map[string]vend.GrantState{"EBOOK-001": revoked}, txns: 4,
			says: "reversed"},
		{name: "Canceled_Reversal after Refunded does not restore", steps: [][]byte{p1, p4, p6},
			verdicts: []vend.Verdict{applied, applied, applied},
			ref:      p1Txn, status: vend.OrderRefunded, items: ebookOnly, grants: map[string]vend.GrantState{"EBOOK-001": revoked}, txns: 3,
			says: "refunded"},
		{name: "Denied after Pending fails without a grant", steps: [][]byte{p3, p3Then(t, "Denied")},
			verdicts: []vend.Verdict{applied, applied}, ref: p3Txn, status: vend.OrderFailed, items: ebookOnly, txns: 1,
			says: "PayPal could not complete this payment"},
		{name: "Failed after Pending fails without a grant", steps: [][]byte{p3, p3Then(t, "Failed")},
			verdicts: []vend.Verdict{applied, applied}, ref: p3Txn, status: vend.OrderFailed, items: ebookOnly, txns: 1,
			says: "PayPal could not complete this payment"},
		{name: "Voided after Pending fails without a grant", steps: [][]byte{p3, p3Then(t, "Voided")},
			verdicts: []vend.Verdict{applied, applied}, ref: p3Txn, status: vend.OrderFailed, items: ebookOnly, txns: 1,
			says: "PayPal could not complete this payment"},
		{name: "Expired after Pending fails without a grant", steps: [][]byte{p3, p3Then(t, "Expired")},
			verdicts: []vend.Verdict{applied, applied}, ref: p3Txn, status: vend.OrderFailed, items: ebookOnly, txns: 1,
			says: "PayPal could not complete this payment"},
		{name: "Reversed while pending review never grants",
			steps: [][]byte{edit(p3, "pending_reason", "paymentreview", "payment_type", "instant"),
				edit(p5, "parent_txn_id", p3Txn, "custom", "ord_9001bb")},
			verdicts: []vend.Verdict{applied, applied}, ref: p3Txn, status: vend.OrderReversed, items: ebookOnly, txns: 2,
			says: "reversed"},
		{name: "refund before its payment: the payment then does not grant", steps: [][]byte{p4, p1},
			verdicts: []vend.Verdict{applied, applied}, ref: p1Txn, status: vend.OrderRefunded, items: ebookOnly, txns: 2,
			says: "refunded"},
		{name: "late duplicate Completed after Refunded does not revive access", steps: [][]byte{p1, p4, p1},
			verdicts: []vend.Verdict{applied, applied, duplicate},
			ref:      p1Txn, status: vend.OrderRefunded, items: ebookOnly, grants: map[string]vend.GrantState{"EBOOK-001": revoked}, txns: 2,
			says: "refunded"},
		{name: "Completed resent from IPN history after Reversed does not revive access",
			steps:    [][]byte{p1, p5, edit(p1, "ipn_track_id", "a1b2c3d4e5f99")},
			verdicts: []vend.Verdict{applied, applied, duplicate},
			ref:      p1Txn, status: vend.OrderReversed, items: ebookOnly, grants: map[string]vend.GrantState{"EBOOK-001": revoked}, txns: 2,
			says: "reversed"},
		{name: "partial refund keeps access and flags review", steps: [][]byte{p1, partial(p4Txn, "-5.00")},
			verdicts: []vend.Verdict{applied, applied}, ref: p1Txn, status: vend.OrderPaid, review: true, items: ebookOnly,
			grants: map[string]vend.GrantState{"EBOOK-001": active}, txns: 2, says: "Your payment is complete"},
		{name: "partial refunds adding up to the total revoke",
			steps:    [][]byte{p1, partial(p4Txn, "-10.00"), partial("1RF00000GH0000099", "-9.95")},
			verdicts: []vend.Verdict{applied, applied, applied},
			ref:      p1Txn, status: vend.OrderRefunded, items: ebookOnly, grants: map[string]vend.GrantState{"EBOOK-001": revoked}, txns: 3,
			says: "refunded"},
		{name: "partial refund before its payment: the payment grants and flags review",
			steps:    [][]byte{partial(p4Txn, "-5.00"), p1},
			verdicts: []vend.Verdict{applied, applied}, ref: p1Txn, status: vend.OrderPaid, review: true, items: ebookOnly,
			grants: map[string]vend.GrantState{"EBOOK-001": active}, txns: 2, says: "Your payment is complete"},
		{name: "Reversed before its payment: the payment then does not grant", steps: [][]byte{p5, p1},
			verdicts: []vend.Verdict{applied, applied}, ref: p1Txn, status: vend.OrderReversed, items: ebookOnly, txns: 2,
			says: "reversed"},
		{name: "Reversed and Canceled_Reversal before their payment: the payment grants", steps: [][]byte{p6, p5, p1},
			verdicts: []vend.Verdict{applied, applied, applied}, ref: p1Txn, status: vend.OrderPaid, items: ebookOnly,
			grants: map[string]vend.GrantState{"EBOOK-001": active}, txns: 3, says: "Your payment is complete"},
		{name: "late Pending after Completed keeps access", steps: [][]byte{p3Then(t, "Completed"), p3},
			verdicts: []vend.Verdict{applied, duplicate}, ref: p3Txn, status: vend.OrderPaid, items: ebookOnly,
			grants: map[string]vend.GrantState{"EBOOK-001": active}, txns: 1, says: "Your payment is complete"},
		{name: "the same refund twice is one refund", steps: [][]byte{p1, partial(p4Txn, "-5.00"), partial(p4Txn, "-5.00")},
			verdicts: []vend.Verdict{applied, applied, duplicate}, ref: p1Txn, status: vend.OrderPaid, review: true, items: ebookOnly,
			grants: map[string]vend.GrantState{"EBOOK-001": active}, txns: 2, says: "Your payment is complete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t)
			runHistory(t, env, tt)
		})
	}
}

func TestPayPalIPN_SimulatorHistory(t *testing.T) {
	t.Parallel()
	// The simulator's messages, verified by the demo verifier, walk the same states.
	const pay, refund, reversal, restore = "SIMPAY00000000001", "SIMREF00000000002", "SIMREV00000000003", "SIMRES00000000004"
	cart := ebookSim("Completed", pay)
	cart.Amount = 0
	cart.Items = []paypal.SimItem{{ProductID: "EBOOK-001", Name: "E-Book Go Patterns", Amount: 1995}, {ProductID: "AUDIO-002", Name: "Audio Course", Amount: 990}}
	pending := ebookSim("Pending", pay)
	tests := []historyCase{
		{name: "Completed pays and grants", steps: [][]byte{simBody(ebookSim("Completed", pay))}, verdicts: []vend.Verdict{applied},
			ref: pay, status: vend.OrderPaid, items: ebookOnly, grants: map[string]vend.GrantState{"EBOOK-001": active}, txns: 1,
			says: "Your payment is complete"},
		{name: "Pending eCheck then Completed pays and grants",
			steps:    [][]byte{simBody(pending), simBody(ebookSim("Completed", pay))},
			verdicts: []vend.Verdict{applied, applied},
			ref:      pay, status: vend.OrderPaid, items: ebookOnly, grants: map[string]vend.GrantState{"EBOOK-001": active}, txns: 1,
			says: "Your payment is complete"},
		{name: "Pending eCheck waits", steps: [][]byte{simBody(pending)}, verdicts: []vend.Verdict{applied},
			ref: pay, status: vend.OrderPending, reason: "echeck", items: ebookOnly, txns: 1, says: "eCheck"},
		{name: "cart grants both products", steps: [][]byte{simBody(cart)}, verdicts: []vend.Verdict{applied},
			ref: pay, status: vend.OrderPaid, items: []string{"EBOOK-001", "AUDIO-002"},
			grants: map[string]vend.GrantState{"EBOOK-001": active, "AUDIO-002": active}, txns: 1,
			says: "Your payment is complete"},
		{name: "Refunded revokes",
			steps:    [][]byte{simBody(ebookSim("Completed", pay)), simBody(reversalSim("Refunded", refund, pay, 1995))},
			verdicts: []vend.Verdict{applied, applied},
			ref:      pay, status: vend.OrderRefunded, items: ebookOnly, grants: map[string]vend.GrantState{"EBOOK-001": revoked}, txns: 2,
			says: "refunded"},
		{name: "Reversed then Canceled_Reversal restores",
			steps: [][]byte{simBody(ebookSim("Completed", pay)), simBody(reversalSim("Reversed", reversal, pay, 1995)),
				simBody(reversalSim("Canceled_Reversal", restore, pay, 1995))},
			verdicts: []vend.Verdict{applied, applied, applied},
			ref:      pay, status: vend.OrderPaid, items: ebookOnly, grants: map[string]vend.GrantState{"EBOOK-001": active}, txns: 3,
			says: "Your payment is complete"},
		{name: "Voided after Pending fails", steps: [][]byte{simBody(pending), simBody(ebookSim("Voided", pay))},
			verdicts: []vend.Verdict{applied, applied}, ref: pay, status: vend.OrderFailed, items: ebookOnly, txns: 1,
			says: "PayPal could not complete this payment"},
		{name: "refund before its payment: the payment then does not grant",
			steps:    [][]byte{simBody(reversalSim("Refunded", refund, pay, 1995)), simBody(ebookSim("Completed", pay))},
			verdicts: []vend.Verdict{applied, applied}, ref: pay, status: vend.OrderRefunded, items: ebookOnly, txns: 2,
			says: "refunded"},
		{name: "partial refund keeps access and flags review",
			steps:    [][]byte{simBody(ebookSim("Completed", pay)), simBody(reversalSim("Refunded", refund, pay, 500))},
			verdicts: []vend.Verdict{applied, applied}, ref: pay, status: vend.OrderPaid, review: true, items: ebookOnly,
			grants: map[string]vend.GrantState{"EBOOK-001": active}, txns: 2, says: "Your payment is complete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t)
			env.PayPal.Answer(answerDemo)
			runHistory(t, env, tt)
		})
	}
}

// runHistory posts the steps and checks the ledger and what the buyer sees.
func runHistory(t *testing.T, env *testEnv, tt historyCase) {
	t.Helper()
	for _, body := range tt.steps {
		env.MustPostIPN(body)
	}
	if got := env.Verdicts(); !slices.Equal(got, tt.verdicts) {
		for _, n := range env.Notifications() {
			t.Logf("notification %d: %s %s %s", n.ID, n.Verdict, n.Reason, n.Changes)
		}
		t.Fatalf("verdicts %v, want %v", got, tt.verdicts)
	}
	o := env.Order(tt.ref)
	if o == nil {
		t.Fatalf("no order for %s", tt.ref)
	}
	if len(env.Orders()) != 1 {
		t.Errorf("%d orders, want 1", len(env.Orders()))
	}
	if o.Status != tt.status || o.StatusReason != tt.reason || o.Review != tt.review {
		t.Errorf("order %s (reason %q, review %v), want %s (reason %q, review %v)", o.Status, o.StatusReason, o.Review,
			tt.status, tt.reason, tt.review)
	}
	var items []string
	for _, it := range o.Items {
		items = append(items, it.ProductID)
	}
	if !slices.Equal(items, tt.items) {
		t.Errorf("items %v, want %v", items, tt.items)
	}
	grants := map[string]vend.GrantState{}
	for _, g := range o.Grants {
		grants[g.ProductID] = g.State
	}
	if len(grants) != len(tt.grants) || len(o.Grants) != len(grants) {
		t.Errorf("grants %v, want %v", grants, tt.grants)
	}
	for id, st := range tt.grants {
		if grants[id] != st {
			t.Errorf("grant for %s is %q, want %q", id, grants[id], st)
		}
	}
	if len(o.Txns) != tt.txns {
		t.Errorf("%d transactions, want %d", len(o.Txns), tt.txns)
	}
	for _, g := range o.Grants {
		checkDownload(t, env, o, g)
	}
	checkReturnPage(t, env, o, returnPath("tx", tt.ref), tt.says)
}

// checkDownload checks the download page and the file of one grant against the
// order's standing: files go out only while the order is paid.
func checkDownload(t *testing.T, env *testEnv, o *orderRecord, g *vend.Grant) {
	t.Helper()
	page := env.Get(env.PagePath(g))
	if page.Status != http.StatusOK {
		t.Fatalf("download page of %s: %d", g.ProductID, page.Status)
	}
	name, content := productFile(g.ProductID)
	if g.State == vend.GrantActive {
		hrefs := links(page.Body, "/d/")
		if len(hrefs) != 1 || !strings.Contains(page.Body, "Download "+name) {
			t.Fatalf("download page of %s links %v, want its one file %q", g.ProductID, hrefs, name)
		}
		file := env.Get(hrefs[0])
		if file.Status != http.StatusOK || file.Body != string(content) {
			t.Errorf("GET %s: %d with %d bytes, want 200 and the %d bytes of %s", hrefs[0], file.Status, len(file.Body), len(content), name)
		}
		return
	}
	if hrefs := links(page.Body, "/d/"); len(hrefs) != 0 {
		t.Errorf("download page of a revoked grant links %v", hrefs)
	}
	want := map[vend.OrderStatus]string{
		vend.OrderRefunded: "This purchase was refunded, so its downloads have ended.",
		vend.OrderReversed: "The payment for this purchase was reversed, so its downloads have ended.",
	}[o.Status]
	if want == "" || !strings.Contains(page.Body, want) {
		t.Errorf("download page of a %s order does not say %q:\n%s", o.Status, want, page.Body)
	}
	if file := env.Get(env.FilePath(g)); file.Status != http.StatusGone || strings.Contains(file.Body, string(content[:32])) {
		t.Errorf("file of a revoked grant: %d %q, want 410 and no bytes of the file", file.Status, file.Body)
	}
}

// checkReturnPage checks the return page of an order: it says says, refreshes
// while the payment is pending, and links the download pages only while paid.
func checkReturnPage(t *testing.T, env *testEnv, o *orderRecord, path, says string) {
	t.Helper()
	page := env.Get(path)
	if page.Status != http.StatusOK || !strings.Contains(page.Body, says) {
		t.Fatalf("GET %s: %d, want 200 saying %q:\n%s", path, page.Status, says, page.Body)
	}
	if got, want := hasRefresh(page.Body), o.Status == vend.OrderPending; got != want {
		t.Errorf("return page of a %s order refreshes: %v, want %v", o.Status, got, want)
	}
	var want []string
	if o.Status == vend.OrderPaid {
		for _, g := range o.Grants {
			want = append(want, env.PagePath(g))
		}
	}
	if got := links(page.Body, "/d/"); !slices.Equal(got, want) {
		t.Errorf("return page of a %s order links %v, want %v", o.Status, got, want)
	}
	for _, l := range want {
		if p := env.Get(l); p.Status != http.StatusOK || len(links(p.Body, "/d/")) == 0 {
			t.Errorf("download page %s from the return page: %d without file links", l, p.Status)
		}
	}
}

func TestPayPalIPN_Refusals(t *testing.T) {
	t.Parallel()
	// Each message is refused: the ledger does not change, the notification is
	// kept with its verdict and reason, and PayPal gets the answer that stops
	// (200) or, for a request that is not an IPN at all, a 4xx.
	p1, p2, p4 := sample(t, "p1"), sample(t, "p2"), sample(t, "p4")
	otherSecret := ebookSim("Completed", "SIMPAY00000000001").Body([]byte("someone else's secret"))
	tests := []struct {
		name        string
		opts        []envOption
		answer      http.Handler // nil: VERIFIED
		body        []byte
		contentType string // "": the form type PayPal sends
		status      int
		verdict     vend.Verdict
		reason      string
	}{
		{name: "forged: PayPal answers INVALID", answer: answerWord("INVALID"), body: p1,
			status: 200, verdict: vend.VerdictInvalid, reason: "INVALID"},
		{name: "forged: INVALID with a line break", answer: answerWord("INVALID\r\n"), body: p1,
			status: 200, verdict: vend.VerdictInvalid, reason: "INVALID"},
		{name: "forged: simulated message signed with another secret", answer: answerDemo, body: otherSecret,
			status: 200, verdict: vend.VerdictInvalid, reason: "INVALID"},
		{name: "forged: simulated message with its price lowered after signing", answer: answerDemo,
			body:   edit(simBody(ebookSim("Completed", "SIMPAY00000000001")), "mc_gross", "0.01"),
			status: 200, verdict: vend.VerdictInvalid, reason: "INVALID"},
		{name: "another seller's payment: wrong receiver_email and business",
			body:   edit(p1, "receiver_email", "fraud%40example.net", "business", "fraud%40example.net"),
			status: 200, verdict: vend.VerdictRejected, reason: `receiver_email "fraud@example.net" is not one of`},
		{name: "another seller's payment: wrong receiver_id", body: edit(p1, "receiver_id", "FRAUD00000001"),
			status: 200, verdict: vend.VerdictRejected, reason: `receiver_id "FRAUD00000001"`},
		{name: "another seller's payment: no receiver_id", body: dropField(p1, "receiver_id"),
			status: 200, verdict: vend.VerdictRejected, reason: "receiver_id"},
		{name: "another seller's payment: PayPal's sample P0", body: sample(t, "p0"),
			status: 200, verdict: vend.VerdictRejected, reason: "receiver_email"},
		{name: "tampered price: mc_gross lowered", body: edit(p1, "mc_gross", "1.95", "payment_gross", "1.95"),
			status: 200, verdict: vend.VerdictRejected, reason: "the price is 19.95"},
		{name: "tampered price: a cart line lowered", body: edit(p2, "mc_gross_1", "0.95", "mc_gross", "10.85"),
			status: 200, verdict: vend.VerdictRejected, reason: "the price is 19.95"},
		{name: "tampered price: cart total lowered, lines intact", body: edit(p2, "mc_gross", "9.90"),
			status: 200, verdict: vend.VerdictRejected, reason: "total 9.90 USD is less than"},
		{name: "tampered price: quantity raised", body: edit(p1, "quantity", "5"),
			status: 200, verdict: vend.VerdictRejected, reason: "5 × EBOOK-001"},
		{name: "wrong currency", body: edit(p1, "mc_currency", "EUR"),
			status: 200, verdict: vend.VerdictRejected, reason: `paid in "EUR"`},
		{name: "no currency", body: dropField(p1, "mc_currency"),
			status: 200, verdict: vend.VerdictRejected, reason: "mc_currency"},
		{name: "sandbox message (test_ipn=1) in live mode", opts: []envOption{liveMode}, body: p1,
			status: 200, verdict: vend.VerdictRejected, reason: "sandbox message"},
		{name: "live message in sandbox mode", body: dropField(p1, "test_ipn"),
			status: 200, verdict: vend.VerdictRejected, reason: "live message"},
		{name: "unknown product", body: edit(p1, "item_number", "NOPE-404"),
			status: 200, verdict: vend.VerdictRejected, reason: `unknown product "NOPE-404"`},
		{name: "unknown product in a cart", body: edit(p2, "item_number2", "NOPE-404"),
			status: 200, verdict: vend.VerdictRejected, reason: `unknown product "NOPE-404"`},
		{name: "no item_number", body: edit(p1, "item_number", ""),
			status: 200, verdict: vend.VerdictRejected, reason: "item_number is missing"},
		{name: "no txn_id", body: dropField(p1, "txn_id"),
			status: 200, verdict: vend.VerdictRejected, reason: "txn_id is missing"},
		{name: "refund without parent_txn_id", body: dropField(p4, "parent_txn_id"),
			status: 200, verdict: vend.VerdictRejected, reason: "parent_txn_id"},
		{name: "malformed: not a form", body: []byte("\x00\xff<xml>not=a&&form%zz;;=="),
			status: 200, verdict: vend.VerdictRejected, reason: "receiver_email"},
		{name: "malformed: unknown charset", body: edit(p1, "charset", "x-klingon"),
			status: 200, verdict: vend.VerdictRejected, reason: `charset "x-klingon" is not supported`},
		{name: "malformed: amount is not a number", body: edit(p1, "mc_gross", "19%2C95"),
			status: 200, verdict: vend.VerdictRejected, reason: "mc_gross"},
		{name: "not about a sale: dispute opened (new_case)", body: edit(p1, "txn_type", "new_case"),
			status: 200, verdict: vend.VerdictIgnored, reason: "not about a sale"},
		{name: "not about a sale: mass payment Processed", body: edit(p1, "payment_status", "Processed", "txn_type", "masspay"),
			status: 200, verdict: vend.VerdictIgnored, reason: "not about a sale"},
		{name: "wrong content type", body: p1, contentType: "text/plain",
			status: 415, verdict: vend.VerdictRejected, reason: "content type text/plain"},
		{name: "empty body", body: []byte{},
			status: 400, verdict: vend.VerdictRejected, reason: "empty body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t, tt.opts...)
			if tt.answer != nil {
				env.PayPal.Answer(tt.answer)
			}
			req := env.newIPN(tt.body)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			a := env.do(req)
			if a.Status != tt.status || a.Body != "" {
				t.Errorf("answered %d %q, want %d with an empty body", a.Status, a.Body, tt.status)
			}
			ns := env.Notifications()
			if len(ns) != 1 {
				t.Fatalf("%d notifications stored, want 1", len(ns))
			}
			n := ns[0]
			if n.Verdict != tt.verdict || !strings.Contains(n.Reason, tt.reason) {
				t.Errorf("verdict %s %q, want %s containing %q", n.Verdict, n.Reason, tt.verdict, tt.reason)
			}
			if !bytes.Equal(n.Body, tt.body) {
				t.Errorf("stored body %q, want %q", n.Body, tt.body)
			}
			if n.OrderID != 0 {
				t.Errorf("refused notification names order %d", n.OrderID)
			}
			checkLedgerEmpty(t, env)
			if pbs := env.PayPal.Postbacks(); tt.status == http.StatusOK && len(pbs) == 1 {
				checkPostback(t, pbs[0], tt.body)
			} else if tt.status != http.StatusOK && len(pbs) != 0 {
				t.Errorf("a request refused before verification was posted back %d times", len(pbs))
			}

			// The refusal claimed nothing: the genuine payment still applies.
			if len(tt.opts) == 0 {
				env.PayPal.Answer(answerWord("VERIFIED"))
				env.MustPostIPN(p1)
				if o := env.Order(p1Txn); o == nil || o.Status != vend.OrderPaid || len(o.Grants) != 1 {
					t.Errorf("genuine P1 after the refused message: order %+v, want paid with a grant", o)
				}
			}
		})
	}
}

// checkLedgerEmpty asserts there is no order, no grant and no transaction of
// any sample.
func checkLedgerEmpty(t *testing.T, env *testEnv) {
	t.Helper()
	if orders := env.Orders(); len(orders) != 0 {
		t.Errorf("%d orders, want none: %+v", len(orders), orders[0].Order)
	}
	for _, txn := range []string{p0Txn, p1Txn, p2Txn, p3Txn, p4Txn, p5Txn, p6Txn, "SIMPAY00000000001"} {
		if tr := env.Transaction(txn); tr != nil {
			t.Errorf("transaction %s recorded: %+v", txn, tr)
		}
	}
}

func TestPayPalIPN_VerifierUnavailable(t *testing.T) {
	t.Parallel()
	// When PayPal cannot say VERIFIED or INVALID now, vend answers 500 so that
	// PayPal resends, keeps the message with verdict "error", and applies the
	// resend once PayPal answers again.
	hang := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	tests := []struct {
		name   string
		opts   []envOption
		answer http.Handler
	}{
		{name: "connection dropped", answer: answerHangUp},
		{name: "500 Internal Server Error", answer: answerStatus(500, "Internal Server Error")},
		{name: "503 even with VERIFIED in the body", answer: answerStatus(503, "VERIFIED")},
		{name: "HTML error page with 200", answer: answerWord("<html><body>Sorry, we are down</body></html>")},
		{name: "empty answer", answer: answerWord("")},
		{name: "VERIFIED with more after it", answer: answerWord("VERIFIED but not really")},
		{name: "lower-case verified", answer: answerWord("verified")},
		{name: "too slow", answer: hang, opts: []envOption{func(s *Server) {
			paypalOf(s).Verifier.Client = &http.Client{Timeout: time.Second}
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t, tt.opts...)
			p1 := sample(t, "p1")
			env.PayPal.Answer(tt.answer)
			if a := env.PostIPN(p1); a.Status != http.StatusInternalServerError {
				t.Fatalf("answered %d %q, want 500 so PayPal resends", a.Status, a.Body)
			}
			n := env.LastNotification()
			if n.Verdict != vend.VerdictError || !strings.Contains(n.Reason, "verification failed") || !bytes.Equal(n.Body, p1) {
				t.Errorf("notification %s %q, want error, kept byte for byte", n.Verdict, n.Reason)
			}
			checkLedgerEmpty(t, env)

			env.PayPal.Answer(answerWord("VERIFIED"))
			env.MustPostIPN(p1)
			if got := env.Verdicts(); !slices.Equal(got, []vend.Verdict{vend.VerdictError, vend.VerdictApplied}) {
				t.Errorf("verdicts %v, want [error applied]", got)
			}
			if o := env.Order(p1Txn); o == nil || o.Status != vend.OrderPaid || len(o.Grants) != 1 {
				t.Errorf("after the resend: order %+v, want paid with one grant", o)
			}
		})
	}
}

func TestPayPalIPN_PayPalHangsUp(t *testing.T) {
	t.Parallel()
	// PayPal (or a proxy in front of vend) gives up on a slow listener and
	// closes the connection while vend is still asking PayPal. Nobody reads the
	// answer any more, but the stored message must not be left looking as if
	// vend never looked at it: its verdict says what happened.
	env := newTestEnv(t)
	asked := make(chan struct{})
	env.PayPal.Answer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(asked)
		<-r.Context().Done() // answers only when vend stops asking
	}))
	ctx, hangUp := context.WithCancel(context.Background())
	req := env.newIPN(sample(t, "p1")).WithContext(ctx)
	done := make(chan error, 1)
	go func() {
		resp, err := env.client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-asked
	hangUp()
	<-done
	env.HTTP.Close() // waits for vend's handler to finish

	n := env.LastNotification()
	if n == nil || !bytes.Equal(n.Body, sample(t, "p1")) {
		t.Fatalf("notification %+v, want the message stored", n)
	}
	if n.Verdict == vend.VerdictReceived {
		t.Errorf("verdict still %q after vend gave up verifying it (reason %q); want %q with the cause", n.Verdict, n.Reason, vend.VerdictError)
	}
	checkLedgerEmpty(t, env)
}

func TestPayPalIPN_StoredBeforeAnswer(t *testing.T) {
	t.Parallel()
	t.Run("raw bytes and headers are stored before verification", func(t *testing.T) {
		env := newTestEnv(t)
		// Bytes a re-encoding would change: windows-1252 (J%F6rg), lower-case
		// escapes, CRLF in an address, a literal ';', a malformed escape, a '+'.
		body := edit(sample(t, "p1"), "address_street", "1+Main+St%0d%0aApt+2", "custom", "ord_7f3a9c;ref=a%zz",
			"memo", "50%+off")
		seen := make(chan *vend.Notification, 1)
		env.PayPal.Answer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var n *vend.Notification
			env.DB.View(r.Context(), func(tx store.Tx) error {
				ns, err := tx.FindNotifications(r.Context(), store.NotificationFilter{Limit: 1})
				if len(ns) == 1 {
					n = ns[0]
				}
				return err
			})
			seen <- n
			answerWord("VERIFIED").ServeHTTP(w, r)
		}))
		req := env.newIPN(body)
		req.Header.Set("Cookie", "session=secret-cookie")
		req.Header.Set("Authorization", "Bearer secret-token")
		req.Header.Set("Proxy-Authorization", "Basic c2VjcmV0")
		req.Header.Set("X-Request-Id", "req-42")
		if a := env.do(req); a.Status != http.StatusOK || a.Body != "" {
			t.Fatalf("answered %d %q", a.Status, a.Body)
		}
		early := <-seen
		if early == nil || early.Verdict != vend.VerdictReceived || !bytes.Equal(early.Body, body) {
			t.Fatalf("while PayPal was asked, the store held %+v, want the raw message with verdict received", early)
		}
		checkPostback(t, env.PayPal.Postbacks()[0], body)
		n := env.LastNotification()
		if !bytes.Equal(n.Body, body) {
			t.Errorf("stored body\n got %q\nwant %q", n.Body, body)
		}
		if n.Verdict != vend.VerdictApplied || n.Provider != paypal.Provider || n.Key != p1Txn+"/Completed" || n.OrderID == 0 {
			t.Errorf("notification %+v, want applied to an order under key %s/Completed", n, p1Txn)
		}
		if !strings.HasPrefix(n.RemoteAddr, "127.0.0.1:") {
			t.Errorf("remote address %q", n.RemoteAddr)
		}
		h := http.Header(n.Headers)
		for key, want := range map[string]string{
			"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "PayPal IPN ( https://www.paypal.com/ipn )",
			"X-Request-Id": "req-42", "Content-Length": fmt.Sprint(len(body)),
		} {
			if got := h.Get(key); got != want {
				t.Errorf("stored header %s = %q, want %q", key, got, want)
			}
		}
		for key := range h {
			switch http.CanonicalHeaderKey(key) {
			case "Cookie", "Authorization", "Proxy-Authorization":
				t.Errorf("credential header %s stored: %q", key, h[key])
			}
		}
		if o := env.Order(p1Txn); o == nil || o.Custom != "ord_7f3a9c;ref=a%zz" || o.Buyer.Name != "Jörg Müller" {
			t.Errorf("order %+v: custom with ';' and a bad escape, or the windows-1252 name, did not survive", o)
		}
	})

	t.Run("nothing stored, nothing acknowledged", func(t *testing.T) {
		env := newTestEnv(t)
		if err := env.DB.Close(); err != nil {
			t.Fatal(err)
		}
		if a := env.PostIPN(sample(t, "p1")); a.Status == http.StatusOK {
			t.Fatalf("answered 200 though the message could not be stored")
		}
		if n := len(env.PayPal.Postbacks()); n != 0 {
			t.Errorf("%d postbacks for a message that was not stored", n)
		}
	})

	t.Run("too large a body is refused unstored", func(t *testing.T) {
		env := newTestEnv(t)
		body := edit(sample(t, "p1"), "memo", strings.Repeat("x", paypalMaxBody))
		if a := env.PostIPN(body); a.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("answered %d, want 413", a.Status)
		}
		if ns := env.Notifications(); len(ns) != 0 || len(env.PayPal.Postbacks()) != 0 {
			t.Errorf("%d notifications stored and %d postbacks for a refused body", len(ns), len(env.PayPal.Postbacks()))
		}
	})
}

func TestPayPalIPN_ConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	t.Run("100 copies of one Completed apply once", func(t *testing.T) {
		env := newTestEnv(t)
		p1 := sample(t, "p1")
		statuses := postConcurrently(t, env, repeat(p1, 100))
		for i, s := range statuses {
			if s != http.StatusOK {
				t.Errorf("copy %d answered %d", i, s)
			}
		}
		o := env.Order(p1Txn)
		if o == nil || len(env.Orders()) != 1 {
			t.Fatalf("%d orders, want 1", len(env.Orders()))
		}
		if o.Status != vend.OrderPaid || len(o.Items) != 1 || len(o.Grants) != 1 || len(o.Txns) != 1 {
			t.Errorf("order %s with %d items, %d grants, %d transactions; want paid, 1, 1, 1",
				o.Status, len(o.Items), len(o.Grants), len(o.Txns))
		}
		checkVerdictCounts(t, env, map[vend.Verdict]int{vend.VerdictApplied: 1, vend.VerdictDuplicate: 99})
		for _, pb := range env.PayPal.Postbacks() {
			checkPostback(t, pb, p1)
		}
	})

	t.Run("copies of a payment and its refund in any order end refunded", func(t *testing.T) {
		env := newTestEnv(t)
		var bodies [][]byte
		for range 20 {
			bodies = append(bodies, sample(t, "p4"), sample(t, "p1"))
		}
		postConcurrently(t, env, bodies)
		o := env.Order(p1Txn)
		if o == nil || o.Status != vend.OrderRefunded || len(o.Txns) != 2 {
			t.Fatalf("order %+v, want refunded with 2 transactions", o)
		}
		for _, g := range o.Grants {
			if g.State != vend.GrantRevoked {
				t.Errorf("grant %s is %s after the refund", g.ProductID, g.State)
			}
		}
		checkVerdictCounts(t, env, map[vend.Verdict]int{vend.VerdictApplied: 2, vend.VerdictDuplicate: 38})
	})
}

func repeat(body []byte, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = body
	}
	return out
}

// postConcurrently posts every body at once and returns the answers' statuses.
func postConcurrently(t *testing.T, env *testEnv, bodies [][]byte) []int {
	t.Helper()
	statuses := make([]int, len(bodies))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, body := range bodies {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, env.HTTP.URL+"/ipn/paypal", bytes.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			<-start
			resp, err := env.client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	close(start)
	wg.Wait()
	return statuses
}

func checkVerdictCounts(t *testing.T, env *testEnv, want map[vend.Verdict]int) {
	t.Helper()
	got := map[vend.Verdict]int{}
	for _, n := range env.Notifications() {
		got[n.Verdict]++
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("verdicts %v, want %v", got, want)
	}
}

// FuzzPayPalIPN posts arbitrary bodies that PayPal "verifies". Whatever the
// body: no panic, exactly one stored notification holding it, an answer PayPal
// can act on, and nothing applied for a product outside the catalog. One vend
// serves every input, so orders pile up as a real one's would. Each input takes
// a few milliseconds; keep -fuzzminimizetime short (e.g. 3s) or minimizing an
// interesting input looks like a stall.
func FuzzPayPalIPN(f *testing.F) {
	for _, name := range []string{"p0", "p1", "p2", "p3", "p4", "p5", "p6"} {
		f.Add(sample(f, name))
	}
	f.Add(p3Then(f, "Completed"))
	f.Add(edit(sample(f, "p1"), "item_number", "NOPE-404"))
	f.Add(edit(sample(f, "p2"), "num_cart_items", "3", "item_number3", "NOPE-404", "mc_gross_3", "0.00"))
	f.Add(simBody(ebookSim("Completed", "SIMPAY00000000001")))
	f.Add([]byte("txn_id=X&payment_status=Completed&item_number=EBOOK-001&mc_gross=99&mc_currency=USD&receiver_email=seller%40example.com&receiver_id=S8XGHLYDW9T3S&test_ipn=1"))
	f.Add([]byte(""))
	f.Add([]byte("&&&=%%;"))
	env := newTestEnv(f)
	catalogIDs := map[string]bool{}
	for _, p := range catalogProducts {
		catalogIDs[p.ID] = true
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > paypalMaxBody {
			t.Skip()
		}
		env.tb = t // the helpers report to this input's test
		before := env.LastNotification()
		a := env.PostIPN(body)
		if a.Body != "" {
			t.Errorf("answer has a body: %q", a.Body)
		}
		switch {
		case a.Status == http.StatusOK:
		case a.Status == http.StatusBadRequest && len(body) == 0:
		default:
			t.Fatalf("answered %d", a.Status)
		}
		n := env.LastNotification()
		if n == nil || before != nil && n.ID != before.ID+1 {
			t.Fatalf("not exactly one notification stored: before %v, after %v", before, n)
		}
		if !bytes.Equal(n.Body, body) {
			t.Fatalf("stored body %q, want %q", n.Body, body)
		}
		if n.Verdict == vend.VerdictReceived || n.Verdict == vend.VerdictError {
			t.Fatalf("answered %d but the notification is left %s", a.Status, n.Verdict)
		}
		if n.OrderID == 0 {
			return
		}
		var o *orderRecord
		env.view(func(ctx context.Context, tx store.Tx) error {
			order, err := tx.FindOrderByID(ctx, n.OrderID)
			if err == nil {
				o, err = loadOrder(ctx, tx, order)
			}
			return err
		})
		for _, it := range o.Items {
			if !catalogIDs[it.ProductID] {
				t.Errorf("order %d has an item for %q, which is not in the catalog", o.ID, it.ProductID)
			}
		}
		for _, g := range o.Grants {
			if !catalogIDs[g.ProductID] || g.State == vend.GrantActive && o.Status != vend.OrderPaid {
				t.Errorf("grant %s %s on a %s order", g.ProductID, g.State, o.Status)
			}
		}
	})
}
