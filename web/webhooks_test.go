package web

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/provider/generic"
	"github.com/vend-shop/vend/provider/stripe"
)

// The buyer of every webhook test, and what they pay for EBOOK-001.
const (
	hookEmail = "buyer@example.com"
	hookName  = "Test Buyer"
)

var hookPrice = listPrice("EBOOK-001")

// liftAddrBudget lets one address send as many requests as a test needs.
func liftAddrBudget(s *Server) { s.IPNRate, s.IPNBurst = 1e9, 1e9 }

// hookEvent is what a webhook message says about an order of one EBOOK-001.
type hookEvent struct {
	kind     vend.EventKind // EventPayment, EventPending, EventRefund, EventChargeback or EventRestore
	settles  bool           // EventPayment: it completes an earlier pending payment
	refunded vend.Amount    // EventRefund: refunded so far; 0 the whole price
	live     bool           // a live-mode message; the test vend is a sandbox
	id       string         // the message's idempotency key; "" a new one
}

// hookSender speaks one signed-webhook provider as its sender would.
type hookSender struct {
	name, path, secret string
	otherSecret        string // a well-formed secret that is not vend's
	noSecret, off      envOption
	// ref is vend's order reference for the sender's order.
	ref func(order string) string
	// body is the message about order at now, and its idempotency key.
	body func(t testing.TB, ev hookEvent, order string, now time.Time) (id string, body []byte)
	// sign returns the headers, Content-Type included, of a message signed at at.
	sign func(t testing.TB, secret, id string, body []byte, at time.Time) http.Header
	// sigHeaders are the headers the signature needs.
	sigHeaders []string
	// flip flips one bit of the MAC in the signature header.
	flip func(t testing.TB, h http.Header, bit int)
}

// hookMessage is one request as the sender would post it.
type hookMessage struct {
	id     string
	header http.Header
	body   []byte
}

// message builds and signs a message about order at the env's now.
func (p hookSender) message(t testing.TB, e *testEnv, ev hookEvent, order string) hookMessage {
	t.Helper()
	id, body := p.body(t, ev, order, e.Clock.Now())
	return hookMessage{id: id, header: p.sign(t, p.secret, id, body, e.Clock.Now()), body: body}
}

func (p hookSender) post(e *testEnv, m hookMessage) answer {
	e.tb.Helper()
	return e.Post(p.path, "", m.body, m.header)
}

var stripeSender = hookSender{
	name: stripe.Provider, path: "/webhooks/stripe", secret: stripeSecret, otherSecret: "whsec_another_secret_0123456789abcdef",
	noSecret: func(s *Server) { stripeOf(s).Secret = "" },
	off:      func(s *Server) { *stripeOf(s) = stripe.Intake{} },
	ref:      func(order string) string { return "pi_" + order },
	body: func(t testing.TB, ev hookEvent, order string, now time.Time) (string, []byte) {
		t.Helper()
		sim := stripe.Sim{EventID: ev.id, PaymentIntent: "pi_" + order, SessionID: "cs_test_" + order, ChargeID: "ch_" + order,
			DisputeID: "dp_" + order, Amount: hookPrice, Email: hookEmail, Name: hookName, Live: ev.live, Created: now}
		if sim.EventID == "" {
			sim.EventID = stripe.NewID("evt")
		}
		switch ev.kind {
		case vend.EventPayment, vend.EventPending:
			sim.Items = []stripe.SimItem{{ProductID: "EBOOK-001", Amount: hookPrice}}
			if ev.kind == vend.EventPending {
				sim.PaymentStatus = "unpaid" // an asynchronous payment method: the money is on its way
			} else if ev.settles {
				sim.Type = stripe.TypeCheckoutAsyncSucceeded
			}
		case vend.EventRefund:
			sim.Type, sim.Refunded = stripe.TypeChargeRefunded, ev.refunded
		case vend.EventChargeback:
			sim.Type = stripe.TypeDisputeCreated
		case vend.EventRestore:
			sim.Type, sim.DisputeStatus = stripe.TypeDisputeClosed, "won"
		default:
			t.Fatalf("no Stripe event for %s", ev.kind)
		}
		body, err := sim.Body()
		if err != nil {
			t.Fatal(err)
		}
		return sim.EventID, body
	},
	sign: func(_ testing.TB, secret, _ string, body []byte, at time.Time) http.Header {
		return http.Header{"Content-Type": {jsonType}, "Stripe-Signature": {stripe.Sign(secret, at, body)}}
	},
	sigHeaders: []string{"Stripe-Signature"},
	flip: func(t testing.TB, h http.Header, bit int) {
		t.Helper()
		ts, sig, ok := strings.Cut(h.Get("Stripe-Signature"), ",v1=")
		mac, err := hex.DecodeString(sig)
		if !ok || err != nil {
			t.Fatalf("Stripe-Signature %q", h.Get("Stripe-Signature"))
		}
		mac[bit/8] ^= 1 << (bit % 8)
		h.Set("Stripe-Signature", ts+",v1="+hex.EncodeToString(mac))
	},
}

var genericSender = hookSender{
	name: generic.Provider, path: "/webhooks/generic", secret: genericSecret, otherSecret: generic.NewSecret(),
	noSecret: func(s *Server) { genericOf(s).Secret = "" },
	off:      func(s *Server) { *genericOf(s) = generic.Intake{} },
	ref:      func(order string) string { return order },
	body: func(t testing.TB, ev hookEvent, order string, _ time.Time) (string, []byte) {
		t.Helper()
		sim := generic.Sim{OrderID: order, Currency: "USD", Total: hookPrice, Email: hookEmail, Name: hookName, Test: !ev.live}
		switch ev.kind {
		case vend.EventPayment, vend.EventPending:
			sim.Type, sim.Items = generic.TypePaid, []generic.SimItem{{ProductID: "EBOOK-001", Name: "E-Book Go Patterns", Amount: hookPrice}}
			if ev.kind == vend.EventPending {
				sim.Type, sim.Reason = generic.TypePending, "bank transfer"
			}
		case vend.EventRefund:
			sim.Type, sim.Amount = generic.TypeRefunded, ev.refunded
		case vend.EventChargeback:
			sim.Type = generic.TypeChargeback
		case vend.EventRestore:
			sim.Type = generic.TypeRestored
		default:
			t.Fatalf("no generic message for %s", ev.kind)
		}
		body, err := sim.Body()
		if err != nil {
			t.Fatal(err)
		}
		if ev.id == "" {
			ev.id = generic.NewMessageID()
		}
		return ev.id, body
	},
	sign: func(t testing.TB, secret, id string, body []byte, at time.Time) http.Header {
		t.Helper()
		sig, err := generic.Sign(secret, id, at, body)
		if err != nil {
			t.Fatal(err)
		}
		return http.Header{"Content-Type": {jsonType}, "Webhook-Id": {id},
			"Webhook-Timestamp": {strconv.FormatInt(at.Unix(), 10)}, "Webhook-Signature": {sig}}
	},
	sigHeaders: []string{generic.HeaderID, generic.HeaderTimestamp, generic.HeaderSignature},
	flip: func(t testing.TB, h http.Header, bit int) {
		t.Helper()
		v, sig, ok := strings.Cut(h.Get(generic.HeaderSignature), ",")
		mac, err := base64.StdEncoding.DecodeString(sig)
		if !ok || err != nil {
			t.Fatalf("webhook-signature %q", h.Get(generic.HeaderSignature))
		}
		mac[bit/8] ^= 1 << (bit % 8)
		h.Set(generic.HeaderSignature, v+","+base64.StdEncoding.EncodeToString(mac))
	},
}

// checkReceived fails unless a is the 200 that tells the sender the message
// was settled with verdict.
func checkReceived(t *testing.T, what string, a answer, verdict vend.Verdict) {
	t.Helper()
	var got map[string]string
	if a.Status != http.StatusOK || json.Unmarshal([]byte(a.Body), &got) != nil || got["received"] != string(verdict) {
		t.Fatalf("%s: %d %s, want 200 {\"received\": %q}", what, a.Status, a.Body, verdict)
	}
}

// checkHookRefusal fails unless a is a JSON refusal with status that names
// none of the secrets.
func checkHookRefusal(t *testing.T, what string, a answer, status int, secrets ...string) {
	t.Helper()
	var got map[string]string
	if a.Status != status || !strings.HasPrefix(a.Header.Get("Content-Type"), jsonType) ||
		json.Unmarshal([]byte(a.Body), &got) != nil || len(got) != 1 || got["error"] == "" {
		t.Errorf("%s: %d %s %s, want %d and {\"error\": …}", what, a.Status, a.Header.Get("Content-Type"), a.Body, status)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(a.Body, s) {
			t.Errorf("%s: the answer %s holds the secret %q", what, a.Body, s)
		}
	}
}

// hookSecrets are strings no refusal may show: the secret, its key part, and
// the signature vend would have wanted for body.
func hookSecrets(t *testing.T, p hookSender, m hookMessage, now time.Time) []string {
	t.Helper()
	out := []string{p.secret, strings.TrimPrefix(p.secret, "whsec_")}
	for _, h := range p.sigHeaders {
		out = append(out, p.sign(t, p.secret, m.id, m.body, now).Get(h))
	}
	var keep []string
	for _, s := range out {
		if len(s) > 12 { // ids and timestamps are not secret
			keep = append(keep, s)
		}
	}
	return keep
}

func TestStripeWebhook_History(t *testing.T)  { testWebhookHistory(t, stripeSender) }
func TestGenericWebhook_History(t *testing.T) { testWebhookHistory(t, genericSender) }

func testWebhookHistory(t *testing.T, p hookSender) {
	t.Parallel()
	pay := hookEvent{kind: vend.EventPayment}
	type step struct {
		event   hookEvent
		resend  int // 1-based: send that earlier step's message again (same id and body, signed now) instead
		verdict vend.Verdict
		status  vend.OrderStatus // "": no order yet
		review  bool
		grant   vend.GrantState // "": no grant
	}
	applied, duplicate := vend.VerdictApplied, vend.VerdictDuplicate
	tests := []struct {
		name  string
		steps []step
		check func(t *testing.T, o *orderRecord)
	}{
		{name: "a payment grants access", steps: []step{
			{event: pay, verdict: applied, status: vend.OrderPaid, grant: vend.GrantActive},
		}, check: func(t *testing.T, o *orderRecord) {
			if o.Buyer.Email != hookEmail || !o.Test || len(o.Items) != 1 || o.Items[0].ProductID != "EBOOK-001" || o.Items[0].Amount != hookPrice {
				t.Errorf("order of %q (test %v) with items %+v, want %s's test order of one EBOOK-001 at its price", o.Buyer.Email, o.Test, o.Items, hookEmail)
			}
		}},
		{name: "a pending payment grants access once it is paid", steps: []step{
			{event: hookEvent{kind: vend.EventPending}, verdict: applied, status: vend.OrderPending},
			{event: hookEvent{kind: vend.EventPayment, settles: true}, verdict: applied, status: vend.OrderPaid, grant: vend.GrantActive},
		}, check: func(t *testing.T, o *orderRecord) {
			if len(o.Txns) != 1 || o.Txns[0].Status != vend.TxnCompleted {
				t.Errorf("transactions %+v, want the one payment, completed", o.Txns)
			}
		}},
		{name: "a full refund ends access", steps: []step{
			{event: pay, verdict: applied, status: vend.OrderPaid, grant: vend.GrantActive},
			{event: hookEvent{kind: vend.EventRefund}, verdict: applied, status: vend.OrderRefunded, grant: vend.GrantRevoked},
		}},
		{name: "a partial refund keeps access for review, refunding the rest ends it", steps: []step{
			{event: pay, verdict: applied, status: vend.OrderPaid, grant: vend.GrantActive},
			{event: hookEvent{kind: vend.EventRefund, refunded: 500}, verdict: applied, status: vend.OrderPaid, review: true, grant: vend.GrantActive},
			{event: hookEvent{kind: vend.EventRefund, refunded: hookPrice}, verdict: applied, status: vend.OrderRefunded, grant: vend.GrantRevoked},
		}, check: func(t *testing.T, o *orderRecord) {
			var refunds []*vend.Transaction
			for _, tr := range o.Txns {
				if tr.Kind == vend.TxnRefund {
					refunds = append(refunds, tr)
				}
			}
			if len(refunds) != 1 || refunds[0].Amount.Abs() != hookPrice || !refunds[0].Full {
				t.Errorf("refund transactions %+v, want one, cumulative: the whole price and full", refunds)
			}
		}},
		{name: "a chargeback ends access", steps: []step{
			{event: pay, verdict: applied, status: vend.OrderPaid, grant: vend.GrantActive},
			{event: hookEvent{kind: vend.EventChargeback}, verdict: applied, status: vend.OrderReversed, grant: vend.GrantRevoked},
		}},
		{name: "a won dispute or restored order gives access back", steps: []step{
			{event: pay, verdict: applied, status: vend.OrderPaid, grant: vend.GrantActive},
			{event: hookEvent{kind: vend.EventChargeback}, verdict: applied, status: vend.OrderReversed, grant: vend.GrantRevoked},
			{event: hookEvent{kind: vend.EventRestore}, verdict: applied, status: vend.OrderPaid, grant: vend.GrantActive},
		}},
		{name: "a copy of the payment changes nothing", steps: []step{
			{event: pay, verdict: applied, status: vend.OrderPaid, grant: vend.GrantActive},
			{resend: 1, verdict: duplicate, status: vend.OrderPaid, grant: vend.GrantActive},
		}},
		{name: "a late copy of the payment does not revive a refunded order", steps: []step{
			{event: pay, verdict: applied, status: vend.OrderPaid, grant: vend.GrantActive},
			{event: hookEvent{kind: vend.EventRefund}, verdict: applied, status: vend.OrderRefunded, grant: vend.GrantRevoked},
			{resend: 1, verdict: duplicate, status: vend.OrderRefunded, grant: vend.GrantRevoked},
		}},
		{name: "a late copy of the chargeback after the restore changes nothing", steps: []step{
			{event: pay, verdict: applied, status: vend.OrderPaid, grant: vend.GrantActive},
			{event: hookEvent{kind: vend.EventChargeback}, verdict: applied, status: vend.OrderReversed, grant: vend.GrantRevoked},
			{event: hookEvent{kind: vend.EventRestore}, verdict: applied, status: vend.OrderPaid, grant: vend.GrantActive},
			{resend: 2, verdict: duplicate, status: vend.OrderPaid, grant: vend.GrantActive},
		}},
		{name: "a refund before its payment: the order arrives refunded, without access", steps: []step{
			{event: hookEvent{kind: vend.EventRefund}, verdict: applied},
			{event: pay, verdict: applied, status: vend.OrderRefunded},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			const order = "A1001"
			var sent []hookMessage
			for i, st := range tt.steps {
				what := "step " + strconv.Itoa(i+1)
				var m hookMessage
				if st.resend > 0 {
					m = sent[st.resend-1]
					m.header = p.sign(t, p.secret, m.id, m.body, e.Clock.Now())
				} else {
					m = p.message(t, e, st.event, order)
				}
				sent = append(sent, m)
				checkReceived(t, what, p.post(e, m), st.verdict)

				ns := e.Notifications()
				if len(ns) != i+1 {
					t.Fatalf("%s: %d notifications, want %d", what, len(ns), i+1)
				}
				if n := ns[i]; n.Provider != p.name || !bytes.Equal(n.Body, m.body) || n.Verdict != st.verdict {
					t.Fatalf("%s: notification %s %s, want %s %s with the body sent", what, n.Provider, n.Verdict, p.name, st.verdict)
				}
				o := e.ProviderOrder(p.name, p.ref(order))
				if st.status == "" {
					if o != nil {
						t.Fatalf("%s: order %s is %s, want none yet", what, o.Ref, o.Status)
					}
					continue
				}
				if o == nil {
					t.Fatalf("%s: no order %s, want it %s", what, p.ref(order), st.status)
				}
				if o.Status != st.status || o.Review != st.review {
					t.Errorf("%s: order %s (review %v), want %s (review %v)", what, o.Status, o.Review, st.status, st.review)
				}
				g := o.grant("EBOOK-001")
				switch {
				case st.grant == "" && g != nil:
					t.Errorf("%s: grant %s, want none", what, g.State)
				case st.grant == "":
				case g == nil || g.State != st.grant || len(o.Grants) != 1:
					t.Fatalf("%s: grants %+v, want one, %s", what, o.Grants, st.grant)
				default:
					checkDownload(t, e, o, g)
				}
			}
			if orders := e.Orders(); len(orders) != 1 {
				t.Errorf("%d orders, want 1", len(orders))
			}
			if tt.check != nil {
				tt.check(t, e.ProviderOrder(p.name, p.ref(order)))
			}
		})
	}
}

func TestStripeWebhook_ConcurrentCopies(t *testing.T)  { testWebhookConcurrentCopies(t, stripeSender) }
func TestGenericWebhook_ConcurrentCopies(t *testing.T) { testWebhookConcurrentCopies(t, genericSender) }

func testWebhookConcurrentCopies(t *testing.T, p hookSender) {
	t.Parallel()
	t.Run("50 copies of a payment at once make one order and one grant", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, liftAddrBudget)
		m := p.message(t, e, hookEvent{kind: vend.EventPayment}, "C1")
		for i, a := range postAtOnce(t, e, p.path, repeatMessage(m, 50)) {
			if a.Status != http.StatusOK {
				t.Errorf("copy %d: %d %s", i, a.Status, a.Body)
			}
		}
		orders := e.Orders()
		if len(orders) != 1 {
			t.Fatalf("%d orders, want 1", len(orders))
		}
		if o := orders[0]; o.Status != vend.OrderPaid || len(o.Items) != 1 || len(o.Grants) != 1 || len(o.Txns) != 1 {
			t.Errorf("order %s with %d items, %d grants, %d transactions; want paid, 1, 1, 1", o.Status, len(o.Items), len(o.Grants), len(o.Txns))
		}
		checkVerdictCounts(t, e, map[vend.Verdict]int{vend.VerdictApplied: 1, vend.VerdictDuplicate: 49})
	})
	t.Run("copies of a payment and its refund in any order end refunded", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, liftAddrBudget)
		payment := p.message(t, e, hookEvent{kind: vend.EventPayment}, "C2")
		refund := p.message(t, e, hookEvent{kind: vend.EventRefund}, "C2")
		var msgs []hookMessage
		for range 20 {
			msgs = append(msgs, refund, payment)
		}
		for i, a := range postAtOnce(t, e, p.path, msgs) {
			if a.Status != http.StatusOK {
				t.Errorf("message %d: %d %s", i, a.Status, a.Body)
			}
		}
		o := e.ProviderOrder(p.name, p.ref("C2"))
		if o == nil || o.Status != vend.OrderRefunded {
			t.Fatalf("order %+v, want refunded", o)
		}
		for _, g := range o.Grants {
			if g.State != vend.GrantRevoked {
				t.Errorf("grant %s is %s after the refund", g.ProductID, g.State)
			}
		}
		checkVerdictCounts(t, e, map[vend.Verdict]int{vend.VerdictApplied: 2, vend.VerdictDuplicate: 38})
	})
}

func repeatMessage(m hookMessage, n int) []hookMessage {
	out := make([]hookMessage, n)
	for i := range out {
		out[i] = m
	}
	return out
}

// postAtOnce posts every message at the same moment and returns the answers.
func postAtOnce(t *testing.T, e *testEnv, path string, msgs []hookMessage) []answer {
	t.Helper()
	answers := make([]answer, len(msgs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, m := range msgs {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodPost, e.HTTP.URL+path, bytes.NewReader(m.body))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header = m.header.Clone()
			<-start
			resp, err := e.client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var body bytes.Buffer
			body.ReadFrom(resp.Body)
			answers[i] = answer{Status: resp.StatusCode, Header: resp.Header, Body: body.String()}
		})
	}
	close(start)
	wg.Wait()
	return answers
}

func TestStripeWebhook_Refusals(t *testing.T)  { testWebhookRefusals(t, stripeSender) }
func TestGenericWebhook_Refusals(t *testing.T) { testWebhookRefusals(t, genericSender) }

func testWebhookRefusals(t *testing.T, p hookSender) {
	t.Parallel()
	// Each message is refused with a 4xx JSON error that names no secret, is
	// stored with its verdict, and changes nothing else: the genuine message
	// with the same id is applied afterwards as if the refusal had not been.
	type refusal struct {
		name    string
		opts    []envOption
		edit    func(t *testing.T, e *testEnv, m *hookMessage) // turns the genuine payment into the refused message
		status  int
		verdict vend.Verdict
		// genuineAfter: the genuine message is then applied; false where the
		// vend cannot verify anything.
		genuineAfter bool
	}
	tests := []refusal{
		{name: "tampered body", edit: func(t *testing.T, _ *testEnv, m *hookMessage) {
			m.body = bytes.Replace(m.body, []byte(hookEmail), []byte("thief@example.net"), 1)
		}, status: http.StatusUnauthorized, verdict: vend.VerdictInvalid, genuineAfter: true},
		{name: "signed with another secret", edit: func(t *testing.T, e *testEnv, m *hookMessage) {
			m.header = p.sign(t, p.otherSecret, m.id, m.body, e.Clock.Now())
		}, status: http.StatusUnauthorized, verdict: vend.VerdictInvalid, genuineAfter: true},
		{name: "signed 301 s ago", edit: func(t *testing.T, e *testEnv, m *hookMessage) {
			m.header = p.sign(t, p.secret, m.id, m.body, e.Clock.Now().Add(-301*time.Second))
		}, status: http.StatusUnauthorized, verdict: vend.VerdictInvalid, genuineAfter: true},
		{name: "signed 301 s ahead", edit: func(t *testing.T, e *testEnv, m *hookMessage) {
			m.header = p.sign(t, p.secret, m.id, m.body, e.Clock.Now().Add(301*time.Second))
		}, status: http.StatusUnauthorized, verdict: vend.VerdictInvalid, genuineAfter: true},
		{name: "signed a day ago", edit: func(t *testing.T, e *testEnv, m *hookMessage) {
			m.header = p.sign(t, p.secret, m.id, m.body, e.Clock.Now().Add(-24*time.Hour))
		}, status: http.StatusUnauthorized, verdict: vend.VerdictInvalid, genuineAfter: true},
		// A missing secret is vend's configuration, not the message: stored
		// as not verifiable yet (error), for the resend after it is set.
		{name: "no secret configured", opts: []envOption{p.noSecret},
			status: http.StatusUnauthorized, verdict: vend.VerdictError},
		{name: "provider not configured", opts: []envOption{p.off},
			status: http.StatusUnauthorized, verdict: vend.VerdictError},
		{name: "live message to a sandbox vend", edit: func(t *testing.T, e *testEnv, m *hookMessage) {
			var body []byte
			m.id, body = p.body(t, hookEvent{kind: vend.EventPayment, live: true, id: m.id}, "R1", e.Clock.Now())
			m.body, m.header = body, p.sign(t, p.secret, m.id, body, e.Clock.Now())
		}, status: http.StatusUnprocessableEntity, verdict: vend.VerdictRejected, genuineAfter: true},
		{name: "signed, but not JSON", edit: func(t *testing.T, e *testEnv, m *hookMessage) {
			m.body = []byte("payment=ok")
			m.header = p.sign(t, p.secret, m.id, m.body, e.Clock.Now())
		}, status: http.StatusUnprocessableEntity, verdict: vend.VerdictRejected, genuineAfter: true},
		{name: "signed, but empty", edit: func(t *testing.T, e *testEnv, m *hookMessage) {
			m.body = nil
			m.header = p.sign(t, p.secret, m.id, m.body, e.Clock.Now())
		}, status: http.StatusBadRequest, verdict: vend.VerdictRejected, genuineAfter: true},
		{name: "plain-text content type", edit: func(t *testing.T, _ *testEnv, m *hookMessage) {
			m.header.Set("Content-Type", "text/plain")
		}, status: http.StatusUnsupportedMediaType, verdict: vend.VerdictRejected, genuineAfter: true},
		{name: "form content type", edit: func(t *testing.T, _ *testEnv, m *hookMessage) {
			m.header.Set("Content-Type", formType)
		}, status: http.StatusUnsupportedMediaType, verdict: vend.VerdictRejected, genuineAfter: true},
	}
	for _, h := range p.sigHeaders {
		tests = append(tests, refusal{name: "without " + h, edit: func(t *testing.T, _ *testEnv, m *hookMessage) {
			m.header.Del(h)
		}, status: http.StatusUnauthorized, verdict: vend.VerdictInvalid, genuineAfter: true})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, tt.opts...)
			genuine := p.message(t, e, hookEvent{kind: vend.EventPayment}, "R1")
			refused := genuine
			refused.header = genuine.header.Clone()
			if tt.edit != nil {
				tt.edit(t, e, &refused)
			}
			a := p.post(e, refused)
			checkHookRefusal(t, "refused message", a, tt.status, hookSecrets(t, p, refused, e.Clock.Now())...)

			ns := e.Notifications()
			if len(ns) != 1 {
				t.Fatalf("%d notifications, want the refused message stored once", len(ns))
			}
			n := ns[0]
			if n.Provider != p.name || n.Verdict != tt.verdict || !bytes.Equal(n.Body, refused.body) || n.Reason == "" || n.OrderID != 0 {
				t.Errorf("notification %s %s %q (order %d), body %q; want %s %s with a reason and the body sent",
					n.Provider, n.Verdict, n.Reason, n.OrderID, n.Body, p.name, tt.verdict)
			}
			for _, s := range hookSecrets(t, p, refused, e.Clock.Now()) {
				if strings.Contains(n.Reason, s) {
					t.Errorf("the stored reason %q holds the secret", n.Reason)
				}
			}
			if orders := e.Orders(); len(orders) != 0 {
				t.Fatalf("%d orders after a refused message", len(orders))
			}
			if !tt.genuineAfter {
				return
			}
			genuine.header = p.sign(t, p.secret, genuine.id, genuine.body, e.Clock.Now())
			checkReceived(t, "the genuine message afterwards", p.post(e, genuine), vend.VerdictApplied)
			if o := e.ProviderOrder(p.name, p.ref("R1")); o == nil || o.Status != vend.OrderPaid || len(o.Grants) != 1 {
				t.Errorf("after the genuine message: order %+v, want paid with a grant", o)
			}
		})
	}
}

func TestStripeWebhook_FlippedSignatureBits(t *testing.T) {
	testWebhookFlippedSignatureBits(t, stripeSender)
}

func TestGenericWebhook_FlippedSignatureBits(t *testing.T) {
	testWebhookFlippedSignatureBits(t, genericSender)
}

func testWebhookFlippedSignatureBits(t *testing.T, p hookSender) {
	t.Parallel()
	e := newTestEnv(t, liftAddrBudget)
	m := p.message(t, e, hookEvent{kind: vend.EventPayment}, "F1")
	const bits = 256 // HMAC-SHA256
	for bit := range bits {
		flipped := m
		flipped.header = m.header.Clone()
		p.flip(t, flipped.header, bit)
		checkHookRefusal(t, "bit "+strconv.Itoa(bit)+" flipped", p.post(e, flipped), http.StatusUnauthorized, hookSecrets(t, p, m, e.Clock.Now())...)
		if t.Failed() {
			t.FailNow()
		}
	}
	checkVerdictCounts(t, e, map[vend.Verdict]int{vend.VerdictInvalid: bits})
	if orders := e.Orders(); len(orders) != 0 {
		t.Fatalf("%d orders from flipped signatures", len(orders))
	}
	checkReceived(t, "the message unflipped", p.post(e, m), vend.VerdictApplied)
}

func TestStripeWebhook_SignatureAge(t *testing.T)  { testWebhookSignatureAge(t, stripeSender) }
func TestGenericWebhook_SignatureAge(t *testing.T) { testWebhookSignatureAge(t, genericSender) }

func testWebhookSignatureAge(t *testing.T, p hookSender) {
	t.Parallel()
	tests := []struct {
		name string
		age  time.Duration // how long before now the message was signed; negative: after
		ok   bool
	}{
		{"signed now", 0, true},
		{"signed 300 s ago", 300 * time.Second, true},
		{"signed 301 s ago", 301 * time.Second, false},
		{"signed 300 s ahead", -300 * time.Second, true},
		{"signed 301 s ahead", -301 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			at := e.Clock.Now().Add(-tt.age)
			id, body := p.body(t, hookEvent{kind: vend.EventPayment}, "T1", at)
			a := p.post(e, hookMessage{id: id, header: p.sign(t, p.secret, id, body, at), body: body})
			if tt.ok {
				checkReceived(t, "POST", a, vend.VerdictApplied)
				return
			}
			checkHookRefusal(t, "POST", a, http.StatusUnauthorized)
			if v := e.Verdicts(); len(v) != 1 || v[0] != vend.VerdictInvalid || len(e.Orders()) != 0 {
				t.Errorf("verdicts %v and %d orders, want [invalid] and none", v, len(e.Orders()))
			}
		})
	}
}
