package ledger_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
)

// Events as each provider normalizes them, for a transaction that is reported
// again under a new message id: the Key is the provider's message id, the
// TxnID the transaction it is about.

// stripeEv is a Stripe event: Key the event id (evt_…), OrderRef and TxnID the
// payment intent; a refund's TxnID is the intent's ":refund".
func stripeEv(kind vend.EventKind, eventID, typ string, amount vend.Amount) vend.Event {
	ev := vend.Event{Provider: "stripe", Kind: kind, OrderRef: "pi_1", TxnID: "pi_1", Key: eventID, RawStatus: typ,
		Total: amount, Currency: "USD", Buyer: vend.Buyer{Email: "buyer@example.com"}}
	switch kind {
	case vend.EventPayment:
		ev.Items = []vend.EventItem{{ProductID: "ebook", Quantity: 1, Amount: amount}}
	case vend.EventRefund:
		ev.TxnID, ev.ParentTxnID = "pi_1:refund", "pi_1"
	}
	return ev
}

// genericEv is a Standard Webhooks message: Key the webhook-id, TxnID the
// shop's transaction_id.
func genericEv(webhookID string) vend.Event {
	return vend.Event{Provider: "generic", Kind: vend.EventPayment, OrderRef: "shop-1", TxnID: "txn-1", Key: webhookID,
		RawStatus: "order.paid", Total: 1995, Currency: "USD", Buyer: vend.Buyer{Email: "buyer@example.com"},
		Items: []vend.EventItem{{ProductID: "ebook", Quantity: 1, Amount: 1995}}}
}

// testApply_Repeated: a message whose key is new but whose transaction is on
// the books already, and which changes nothing, is logged as a duplicate that
// says what it repeats, for every provider that can send one. The seller gets
// no second notice for it. One that does change the transaction stays applied.
func testApply_Repeated(t *testing.T, open opener) {
	const owner = "owner@example.com"
	tests := []struct {
		name  string
		steps []step
		mails []string
	}{
		{
			name: "Stripe: the session's async success after its completion",
			steps: []step{
				applied(stripeEv(vend.EventPayment, "evt_1", "checkout.session.completed", 1995),
					"order 1 created", "payment pi_1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				repeated(stripeEv(vend.EventPayment, "evt_2", "checkout.session.async_payment_succeeded", 1995)),
			},
			mails: []string{"owner-sale " + owner, "receipt buyer@example.com"},
		},
		{
			name: "Stripe: charge.refunded again with the same amount, under a new event id",
			steps: []step{
				applied(stripeEv(vend.EventPayment, "evt_1", "checkout.session.completed", 1995),
					"order 1 created", "payment pi_1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				applied(stripeEv(vend.EventRefund, "evt_2", "charge.refunded", 500), "refund pi_1:refund recorded (completed)", "order 1 partly refunded: flagged for review"),
				repeated(stripeEv(vend.EventRefund, "evt_3", "charge.refunded", 500)),
				applied(stripeEv(vend.EventRefund, "evt_4", "charge.refunded", 1995), "refund pi_1:refund now 19.95", "order 1 paid → refunded", "access to ebook ended (refunded)"),
			},
			mails: []string{"ended buyer@example.com", "owner-refund " + owner, "owner-refund " + owner, "owner-sale " + owner, "receipt buyer@example.com"},
		},
		{
			name: "Standard Webhooks: the same payment under a new webhook-id",
			steps: []step{
				applied(genericEv("msg_1"), "order 1 created", "payment txn-1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				repeated(genericEv("msg_2")),
				duplicate(genericEv("msg_2")),
			},
			mails: []string{"owner-sale " + owner, "receipt buyer@example.com"},
		},
		{
			name: "Digistore24: on_payment_subscription_signup for the transaction on_payment announced",
			steps: []step{
				applied(itemPaid("P1", "ebook", 1995), "order 1 created", "payment P1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				repeated(itemEv(vend.EventPayment, "on_payment_subscription_signup", "P1", "ebook", 1995)),
			},
			mails: []string{"owner-sale " + owner, "receipt kunde@example.de"},
		},
		{
			name: "Digistore24: a refund waiting for its order, reported again under another event",
			steps: []step{
				applied(itemRefund("R1", "ebook", 1995), "refund R1 recorded (completed)", "order ORD1 not seen yet; applies when it arrives"),
				repeated(with(itemRefund("R1", "ebook", 1995), func(ev *vend.Event) { ev.Key = "on_refund_again:R1" })),
			},
		},
		{
			name: "PayPal: a late Pending after Completed",
			steps: []step{
				applied(paid("T1"), "order 1 created", "payment T1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				repeated(pendingEv("T1", "echeck")),
				repeated(deniedEv("T1")),
			},
			mails: []string{"owner-sale " + owner, "receipt buyer@example.com"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := open(t)
			led := ledger.New(db)
			led.Mail, led.OwnerEmail = true, owner
			for i, st := range tt.steps {
				n, res := apply(t, led, st.ev)
				where := fmt.Sprintf("step %d (%s)", i+1, st.ev.Key)
				checkStep(t, where, st, res)
				checkNotification(t, db, where, n, res, st.ev)
			}
			if got := mailsOf(t, db); !reflect.DeepEqual(got, tt.mails) {
				t.Errorf("mails\n\t%q\nwant\n\t%q", got, tt.mails)
			}
		})
	}
}

func TestLedger_Apply_Repeated(t *testing.T) { onEveryStore(t, testApply_Repeated) }
