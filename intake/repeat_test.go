package intake_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/intake"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/provider/digistore24"
	"github.com/vend-shop/vend/provider/stripe"
)

const dsPassphrase = "intake-test-passphrase"

// digistoreMessage is a live IPN about transaction txn of order ORD1, signed
// with dsPassphrase. Like Digistore24's own checker it sends no api_mode.
func digistoreMessage(event, txn string) *vend.Notification {
	pairs := []digistore24.Pair{{Key: "event", Value: event}, {Key: "order_id", Value: "ORD1"}, {Key: "product_id", Value: "512345"},
		{Key: "transaction_id", Value: txn}, {Key: "amount", Value: "19.95"}, {Key: "currency", Value: "USD"},
		{Key: "buyer_email", Value: "b@example.com"}}
	v := url.Values{}
	for _, p := range pairs {
		v.Set(p.Key, p.Value)
	}
	v.Set("sha_sign", digistore24.Sign(pairs, dsPassphrase, false))
	return &vend.Notification{Provider: digistore24.Provider, RemoteAddr: "192.0.2.1:1",
		Headers: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: []byte(v.Encode())}
}

// TestReceive_RepeatedUnderNewID: real providers' messages about one payment
// under a second message id (Stripe's async success after the session's
// completion, Digistore24's subscription sign-up after on_payment) are stored
// as duplicates that say what they repeat, not as "applied" with no changes.
func TestReceive_RepeatedUnderNewID(t *testing.T) {
	t.Parallel()
	stripeSim := func(eventID, typ string) func(t *testing.T) *vend.Notification {
		return func(t *testing.T) *vend.Notification {
			sim := stripe.Sim{Type: typ, EventID: eventID, SessionID: "cs_test_1", PaymentIntent: "pi_again",
				ClientReferenceID: product.ID, Amount: product.Price, Currency: "USD", Email: "b@example.com"}
			body, sig, err := sim.Signed(stripeSecret, now)
			if err != nil {
				t.Fatal(err)
			}
			return &vend.Notification{Provider: stripe.Provider, RemoteAddr: "192.0.2.1:1",
				Headers: map[string][]string{"Content-Type": {"application/json"}, "Stripe-Signature": {sig}}, Body: body}
		}
	}
	tests := []struct {
		name          string
		first, second func(t *testing.T) *vend.Notification
		reason        string
	}{
		{"Stripe: checkout.session.async_payment_succeeded after checkout.session.completed",
			stripeSim("evt_first", stripe.TypeCheckoutCompleted), stripeSim("evt_second", stripe.TypeCheckoutAsyncSucceeded),
			"payment pi_again was recorded before (completed); stripe evt_second says nothing new"},
		{"Digistore24: on_payment_subscription_signup after on_payment",
			func(*testing.T) *vend.Notification { return digistoreMessage("on_payment", "777") },
			func(*testing.T) *vend.Notification { return digistoreMessage("on_payment_subscription_signup", "777") },
			"payment 777 was recorded before (completed); digistore24 on_payment_subscription_signup:777 says nothing new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ds := &digistore24.Intake{Passphrase: dsPassphrase, Config: digistore24.Config{Products: map[string]string{"512345": product.ID}}}
			e.in = intake.New([]vend.Provider{e.stripe, ds}, ledger.New(e.db), e.db, nil, nil)
			e.in.Now = func() time.Time { return now }
			first, second := tt.first(t), tt.second(t)
			a := e.in.Receive(ctx, e.in.Provider(first.Provider), first)
			b := e.in.Receive(ctx, e.in.Provider(second.Provider), second)
			if a.Refusal != vend.RefusalNone || e.stored(t, first.ID).Verdict != vend.VerdictApplied {
				t.Fatalf("first message: refusal %d (%q), verdict %s", a.Refusal, a.Reason, e.stored(t, first.ID).Verdict)
			}
			got := e.stored(t, second.ID)
			if b.Refusal != vend.RefusalNone || got.Verdict != vend.VerdictDuplicate || got.Reason != tt.reason || got.Changes != "" {
				t.Errorf("second message: refusal %d, stored %s %q changes %q; want duplicate %q", b.Refusal, got.Verdict, got.Reason, got.Changes, tt.reason)
			}
			if got.OrderID == 0 || got.OrderID != e.stored(t, first.ID).OrderID {
				t.Errorf("second message linked to order %d, want the first's", got.OrderID)
			}
			if p := e.in.Provider(second.Provider); intake.Status(p, b) != 200 {
				t.Errorf("a repeat is answered %d: the provider would resend it", intake.Status(p, b))
			}
		})
	}
}
