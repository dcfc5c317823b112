package ledger_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/postgres/pgtest"
	"github.com/vend-shop/vend/store/sqlite"
	"github.com/vend-shop/vend/store/sqlite/sqlitetest"
)

var ctx = context.Background()

// The catalog every test starts with.
var products = []*vend.Product{
	{ID: "ebook", Name: "E-Book", Price: 1995, Currency: "USD", DownloadLimit: 5, Lifetime: vend.Forever},
	{ID: "course", Name: "Course", Price: 990, Currency: "USD", DownloadLimit: vend.Unlimited, Lifetime: 30 * 24 * time.Hour},
	{ID: "euro", Name: "Euro thing", Price: 500, Currency: "EUR", DownloadLimit: 3, Lifetime: vend.Forever},
	{ID: "bonus", Name: "Bonus", Price: 500, Currency: "USD", DownloadLimit: 5, Lifetime: vend.Forever},
	{ID: "extra", Name: "Extra", Price: 700, Currency: "USD", DownloadLimit: 5, Lifetime: vend.Forever},
	{ID: "app", Name: "App", Price: 4900, Currency: "USD", DownloadLimit: 5, Lifetime: vend.Forever, UpdatesFor: 30 * 24 * time.Hour,
		License: vend.LicensePolicy{Mode: vend.LicenseGenerated, ActivationLimit: 2, Length: 365 * 24 * time.Hour}},
	{ID: "listed", Name: "Listed app", Price: 2900, Currency: "USD", DownloadLimit: 5, Lifetime: vend.Forever,
		License: vend.LicensePolicy{Mode: vend.LicenseList, ActivationLimit: 1, LowStock: 2}},
}

// MustOpenDB opens a migrated SQLite store under tb.TempDir() holding the
// catalog: a copy of one made once (sqlitetest).
func MustOpenDB(tb testing.TB) *sqlite.DB {
	tb.Helper()
	return catalogStore.MustOpenDB(tb)
}

var catalogStore = sqlitetest.Template{Fill: func(_ context.Context, db *sqlite.DB) error { return seedCatalog(db) }}

// Events as provider/paypal normalizes them: Key is txn_id/payment_status.

func event(kind vend.EventKind, txnID, rawStatus string) vend.Event {
	return vend.Event{Provider: "paypal", Kind: kind, TxnID: txnID, Key: txnID + "/" + rawStatus, RawStatus: rawStatus,
		Currency: "USD", Test: true, Buyer: vend.Buyer{Email: "buyer@example.com", Name: "Jörg Müller"}}
}

// paid is a Completed payment of one e-book (19.95 USD).
func paid(txnID string) vend.Event {
	ev := event(vend.EventPayment, txnID, "Completed")
	ev.Items = []vend.EventItem{{ProductID: "ebook", Name: "E-Book", Quantity: 1, Amount: 1995}}
	ev.Total = 1995
	return ev
}

func pendingEv(txnID, reason string) vend.Event {
	ev := paid(txnID)
	ev.Kind, ev.RawStatus, ev.Key, ev.Reason = vend.EventPending, "Pending", txnID+"/Pending", reason
	return ev
}

func deniedEv(txnID string) vend.Event {
	ev := paid(txnID)
	ev.Kind, ev.RawStatus, ev.Key = vend.EventFailed, "Denied", txnID+"/Denied"
	return ev
}

func change(kind vend.EventKind, rawStatus, reason, txnID, parent string, amount vend.Amount) vend.Event {
	ev := event(kind, txnID, rawStatus)
	ev.ParentTxnID, ev.Reason, ev.Total = parent, reason, amount
	return ev
}

func refundEv(txnID, parent string, amount vend.Amount) vend.Event {
	return change(vend.EventRefund, "Refunded", "refund", txnID, parent, -amount)
}

func reversedEv(txnID, parent string) vend.Event {
	return change(vend.EventChargeback, "Reversed", "chargeback", txnID, parent, -1995)
}

func restoreEv(txnID, parent string) vend.Event {
	return change(vend.EventRestore, "Canceled_Reversal", "other", txnID, parent, 1995)
}

func with(ev vend.Event, fn func(ev *vend.Event)) vend.Event {
	fn(&ev)
	return ev
}

// step is one thing that happens to the ledger: an event arrives (and must end
// with verdict and exactly changes), or an administrator acts.
type step struct {
	ev      vend.Event
	verdict vend.Verdict
	reason  string // a substring of the verdict's reason; "" checks nothing
	changes []string
	admin   func(t *testing.T, tx store.Tx)
}

func applied(ev vend.Event, changes ...string) step {
	return step{ev: ev, verdict: vend.VerdictApplied, changes: changes}
}

func duplicate(ev vend.Event) step {
	return step{ev: ev, verdict: vend.VerdictDuplicate, reason: "was applied before"}
}

// repeated is an event under a new key about a transaction already recorded,
// that changes nothing: a duplicate in effect, and logged as one.
func repeated(ev vend.Event) step {
	return step{ev: ev, verdict: vend.VerdictDuplicate, reason: "says nothing new"}
}

func rejected(ev vend.Event, reason string) step {
	return step{ev: ev, verdict: vend.VerdictRejected, reason: reason}
}

// checkStep checks that an applied step ended with its verdict, a reason
// holding st.reason, and exactly its changes.
func checkStep(t *testing.T, where string, st step, res *ledger.Result) {
	t.Helper()
	if res.Verdict != st.verdict || !strings.Contains(res.Reason, st.reason) {
		t.Errorf("%s: verdict %s %q, want %s %q", where, res.Verdict, res.Reason, st.verdict, st.reason)
	}
	if !reflect.DeepEqual(res.Changes, st.changes) && (len(res.Changes) != 0 || len(st.changes) != 0) {
		t.Errorf("%s: changes\n\t%q\nwant\n\t%q", where, res.Changes, st.changes)
	}
}

// adminRevoke revokes every grant of order 1 as an administrator would.
func adminRevoke() step {
	return step{admin: func(t *testing.T, tx store.Tx) {
		gs, err := tx.FindGrantsByOrder(ctx, 1)
		if err != nil || len(gs) == 0 {
			t.Fatalf("no grant to revoke: %v", err)
		}
		for _, g := range gs {
			g.State, g.Reason = vend.GrantRevoked, ledger.ReasonAdmin
			if err := tx.UpdateGrant(ctx, g); err != nil {
				t.Fatal(err)
			}
		}
	}}
}

// grantState is a grant as the tests see it: state and reason per product.
type grantState struct {
	product string
	state   vend.GrantState
	reason  string
}

var active = []grantState{{"ebook", vend.GrantActive, ""}}

func revoked(reason string) []grantState { return []grantState{{"ebook", vend.GrantRevoked, reason}} }

// orderState is what an order ends as; a zero status means no order exists.
type orderState struct {
	status vend.OrderStatus
	reason string
	review bool
}

// apply stores a notification for ev and applies ev, as web does.
func apply(t testing.TB, led *ledger.Ledger, ev vend.Event) (*vend.Notification, *ledger.Result) {
	t.Helper()
	n := &vend.Notification{Provider: ev.Provider, Headers: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}},
		Body: []byte("txn_id=" + ev.TxnID + "&payment_status=" + ev.RawStatus)}
	if err := led.Receive(ctx, n); err != nil {
		t.Fatalf("Receive: %v", err)
	}
	res, err := led.Apply(ctx, n, ev)
	if err != nil {
		t.Fatalf("Apply %s: %v", ev.Key, err)
	}
	return n, res
}

func testApply(t *testing.T, open opener) {
	tests := []struct {
		name   string
		steps  []step
		order  orderState
		grants []grantState
	}{
		// Payments.
		{
			name:   "Completed grants",
			steps:  []step{applied(paid("T1"), "order 1 created", "payment T1 recorded (completed)", "order 1 pending → paid", "access granted to ebook")},
			order:  orderState{status: vend.OrderPaid},
			grants: active,
		},
		{
			name: "Pending then Completed under one txn_id grants once",
			steps: []step{
				applied(pendingEv("T1", "echeck"), "order 1 created", "payment T1 recorded (pending)", "order 1 pending (echeck)"),
				applied(paid("T1"), "payment T1 pending → completed", "order 1 pending → paid", "access granted to ebook"),
				duplicate(paid("T1")),
				duplicate(pendingEv("T1", "echeck")),
			},
			order:  orderState{status: vend.OrderPaid},
			grants: active,
		},
		{
			name:  "Pending alone waits with its reason and grants nothing",
			steps: []step{applied(pendingEv("T1", "echeck"), "order 1 created", "payment T1 recorded (pending)", "order 1 pending (echeck)")},
			order: orderState{status: vend.OrderPending, reason: "echeck"},
		},
		{
			name: "late Pending after Completed changes nothing",
			steps: []step{
				applied(paid("T1"), "order 1 created", "payment T1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				repeated(pendingEv("T1", "echeck")),
			},
			order:  orderState{status: vend.OrderPaid},
			grants: active,
		},
		{
			name: "Denied after Pending fails",
			steps: []step{
				applied(pendingEv("T1", "echeck"), "order 1 created", "payment T1 recorded (pending)", "order 1 pending (echeck)"),
				applied(deniedEv("T1"), "payment T1 pending → failed", "order 1 pending → failed"),
				duplicate(deniedEv("T1")),
			},
			order: orderState{status: vend.OrderFailed},
		},
		{
			name: "Denied without item fields after Pending fails",
			steps: []step{
				applied(pendingEv("T1", "echeck"), "order 1 created", "payment T1 recorded (pending)", "order 1 pending (echeck)"),
				applied(with(deniedEv("T1"), func(ev *vend.Event) { ev.Items, ev.Total = nil, 0 }), "payment T1 pending → failed", "order 1 pending → failed"),
			},
			order: orderState{status: vend.OrderFailed},
		},
		{
			name: "price raised between Pending and Completed still grants",
			steps: []step{
				applied(pendingEv("T1", "echeck"), "order 1 created", "payment T1 recorded (pending)", "order 1 pending (echeck)"),
				{admin: func(t *testing.T, tx store.Tx) {
					p, err := tx.FindProductByID(ctx, "ebook")
					if err != nil {
						t.Fatal(err)
					}
					p.Price = 2995
					if err := tx.SaveProduct(ctx, p); err != nil {
						t.Fatal(err)
					}
				}},
				applied(paid("T1"), "payment T1 pending → completed", "order 1 pending → paid", "access granted to ebook"),
			},
			order:  orderState{status: vend.OrderPaid},
			grants: active,
		},
		{
			name: "Completed after Pending in another currency is rejected",
			steps: []step{
				applied(pendingEv("T1", "echeck"), "order 1 created", "payment T1 recorded (pending)", "order 1 pending (echeck)"),
				rejected(with(paid("T1"), func(ev *vend.Event) { ev.Currency = "EUR" }), `paid in "EUR" but order 1 is in USD`),
			},
			order: orderState{status: vend.OrderPending, reason: "echeck"},
		},
		{
			name: "Completed after Pending for less is rejected",
			steps: []step{
				applied(pendingEv("T1", "echeck"), "order 1 created", "payment T1 recorded (pending)", "order 1 pending (echeck)"),
				rejected(with(paid("T1"), func(ev *vend.Event) { ev.Total = 1 }), "less than order 1's 19.95"),
			},
			order: orderState{status: vend.OrderPending, reason: "echeck"},
		},
		{
			name: "a cart grants each item, with the product's limit and lifetime",
			steps: []step{applied(with(paid("T1"), func(ev *vend.Event) {
				ev.Items = append(ev.Items, vend.EventItem{ProductID: "course", Quantity: 1, Amount: 990})
				ev.Total = 1995 + 990
			}), "order 1 created", "payment T1 recorded (completed)", "order 1 pending → paid", "access granted to ebook", "access granted to course")},
			order:  orderState{status: vend.OrderPaid},
			grants: []grantState{{"ebook", vend.GrantActive, ""}, {"course", vend.GrantActive, ""}},
		},
		{
			name:   "paying more than the price is accepted",
			steps:  []step{applied(with(paid("T1"), func(ev *vend.Event) { ev.Items[0].Amount, ev.Total = 2500, 2500 }), "order 1 created", "payment T1 recorded (completed)", "order 1 pending → paid", "access granted to ebook")},
			order:  orderState{status: vend.OrderPaid},
			grants: active,
		},
		{
			name: "quantity multiplies the price",
			steps: []step{
				rejected(with(paid("T1"), func(ev *vend.Event) { ev.Items[0].Quantity = 2 }), "paid 19.95 USD for 2 × ebook, the price is 39.90"),
				applied(with(paid("T2"), func(ev *vend.Event) { ev.Items[0].Quantity, ev.Items[0].Amount, ev.Total = 2, 3990, 3990 }),
					"order 1 created", "payment T2 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
			},
			order:  orderState{status: vend.OrderPaid},
			grants: active,
		},

		// Refused payments.
		{
			name:  "tampered price rejected",
			steps: []step{rejected(with(paid("T1"), func(ev *vend.Event) { ev.Items[0].Amount, ev.Total = 1, 1 }), "paid 0.01 USD for 1 × ebook, the price is 19.95")},
		},
		{
			name:  "total below the items' price rejected",
			steps: []step{rejected(with(paid("T1"), func(ev *vend.Event) { ev.Total = 1000 }), "total 10.00 USD is less than the items' price 19.95")},
		},
		{
			name:  "wrong currency",
			steps: []step{rejected(with(paid("T1"), func(ev *vend.Event) { ev.Currency = "EUR" }), `paid in "EUR" but ebook is priced in USD`)},
		},
		{
			name:  "unknown product",
			steps: []step{rejected(with(paid("T1"), func(ev *vend.Event) { ev.Items[0].ProductID = "nope" }), `unknown product "nope"`)},
		},
		{
			name:  "quantity zero",
			steps: []step{rejected(with(paid("T1"), func(ev *vend.Event) { ev.Items[0].Quantity = 0 }), "quantity 0 for ebook")},
		},
		{
			name:  "no items",
			steps: []step{rejected(with(paid("T1"), func(ev *vend.Event) { ev.Items = nil }), "no items in the payment")},
		},
		{
			name:  "no transaction id",
			steps: []step{rejected(with(paid(""), func(ev *vend.Event) { ev.Key = "" }), "no transaction id")},
		},
		{
			name:  "refund without its payment's id",
			steps: []step{rejected(refundEv("R1", "", 1995), "refund without the order it belongs to")},
		},
		{
			name: "a rejected payment can be sent again, right, and applies",
			steps: []step{
				rejected(with(paid("T1"), func(ev *vend.Event) { ev.Currency = "EUR" }), "priced in USD"),
				applied(paid("T1"), "order 1 created", "payment T1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
			},
			order:  orderState{status: vend.OrderPaid},
			grants: active,
		},
		{
			name:  "not about a sale is ignored",
			steps: []step{{ev: event(vend.EventIgnore, "M1", "Processed"), verdict: vend.VerdictIgnored, reason: `"Processed" is not about a sale`}},
		},

		// Refunds.
		{
			name: "full refund ends access",
			steps: []step{
				applied(paid("T1"), "order 1 created", "payment T1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				applied(refundEv("R1", "T1", 1995), "refund R1 recorded (completed)", "order 1 paid → refunded", "access to ebook ended (refunded)"),
			},
			order:  orderState{status: vend.OrderRefunded},
			grants: revoked("refunded"),
		},
		{
			name: "late Completed after Refunded does not revive access",
			steps: []step{
				applied(paid("T1"), "order 1 created", "payment T1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				applied(refundEv("R1", "T1", 1995), "refund R1 recorded (completed)", "order 1 paid → refunded", "access to ebook ended (refunded)"),
				duplicate(paid("T1")),
				repeated(pendingEv("T1", "echeck")),
			},
			order:  orderState{status: vend.OrderRefunded},
			grants: revoked("refunded"),
		},
		{
			name: "refund while pending: the late Completed never grants",
			steps: []step{
				applied(pendingEv("T1", "echeck"), "order 1 created", "payment T1 recorded (pending)", "order 1 pending (echeck)"),
				applied(refundEv("R1", "T1", 1995), "refund R1 recorded (completed)"),
				applied(paid("T1"), "payment T1 pending → completed", "order 1 pending → refunded"),
			},
			order: orderState{status: vend.OrderRefunded},
		},
		{
			name: "refund before payment: payment never grants",
			steps: []step{
				applied(refundEv("R1", "T1", 1995), "refund R1 recorded (completed)", "order T1 not seen yet; applies when it arrives"),
				applied(paid("T1"), "order 1 created", "1 earlier transaction(s) attached", "payment T1 recorded (completed)", "order 1 pending → refunded"),
				duplicate(refundEv("R1", "T1", 1995)),
			},
			order: orderState{status: vend.OrderRefunded},
		},
		{
			name: "partial refund keeps access and flags review",
			steps: []step{
				applied(paid("T1"), "order 1 created", "payment T1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				applied(refundEv("R1", "T1", 500), "refund R1 recorded (completed)", "order 1 partly refunded: flagged for review"),
			},
			order:  orderState{status: vend.OrderPaid, review: true},
			grants: active,
		},
		{
			name: "partial refunds adding up to the total end access",
			steps: []step{
				applied(paid("T1"), "order 1 created", "payment T1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				applied(refundEv("R1", "T1", 995), "refund R1 recorded (completed)", "order 1 partly refunded: flagged for review"),
				applied(refundEv("R2", "T1", 1000), "refund R2 recorded (completed)", "order 1 paid → refunded", "access to ebook ended (refunded)"),
			},
			order:  orderState{status: vend.OrderRefunded},
			grants: revoked("refunded"),
		},

		// Chargebacks.
		{
			name: "chargeback ends access",
			steps: []step{
				applied(paid("T1"), "order 1 created", "payment T1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				applied(reversedEv("B1", "T1"), "chargeback B1 recorded (completed)", "order 1 paid → reversed", "access to ebook ended (reversed)"),
			},
			order:  orderState{status: vend.OrderReversed},
			grants: revoked("reversed"),
		},
		{
			name: "Canceled_Reversal restores a chargeback",
			steps: []step{
				applied(paid("T1"), "order 1 created", "payment T1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				applied(reversedEv("B1", "T1"), "chargeback B1 recorded (completed)", "order 1 paid → reversed", "access to ebook ended (reversed)"),
				applied(restoreEv("C1", "T1"), "restore C1 recorded (completed)", "order 1 reversed → paid", "access restored to ebook"),
			},
			order:  orderState{status: vend.OrderPaid},
			grants: active,
		},
		{
			name: "two chargebacks and one cancel stay reversed",
			steps: []step{
				applied(paid("T1"), "order 1 created", "payment T1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				applied(reversedEv("B1", "T1"), "chargeback B1 recorded (completed)", "order 1 paid → reversed", "access to ebook ended (reversed)"),
				applied(reversedEv("B2", "T1"), "chargeback B2 recorded (completed)"),
				applied(restoreEv("C1", "T1"), "restore C1 recorded (completed)"),
			},
			order:  orderState{status: vend.OrderReversed},
			grants: revoked("reversed"),
		},
		{
			name: "chargeback of a payment under review (PayPal's rejected review)",
			steps: []step{
				applied(pendingEv("T1", "paymentreview"), "order 1 created", "payment T1 recorded (pending)", "order 1 pending (paymentreview)"),
				applied(reversedEv("B1", "T1"), "chargeback B1 recorded (completed)", "order 1 pending → reversed"),
				applied(paid("T1"), "payment T1 pending → completed"),
			},
			order: orderState{status: vend.OrderReversed},
		},
		{
			name: "restore before its chargeback changes nothing in the end",
			steps: []step{
				applied(paid("T1"), "order 1 created", "payment T1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				applied(restoreEv("C1", "T1"), "restore C1 recorded (completed)"),
				applied(reversedEv("B1", "T1"), "chargeback B1 recorded (completed)"),
			},
			order:  orderState{status: vend.OrderPaid},
			grants: active,
		},

		// Administrators.
		{
			name: "admin-revoked grant (Reason ledger.ReasonAdmin) is not restored by a payment",
			steps: []step{
				applied(paid("T1"), "order 1 created", "payment T1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				adminRevoke(),
				duplicate(paid("T1")),
				repeated(pendingEv("T1", "echeck")),
				applied(reversedEv("B1", "T1"), "chargeback B1 recorded (completed)", "order 1 paid → reversed"),
				applied(restoreEv("C1", "T1"), "restore C1 recorded (completed)", "order 1 reversed → paid"),
			},
			order:  orderState{status: vend.OrderPaid},
			grants: revoked(ledger.ReasonAdmin),
		},

		// Duplicates.
		{
			name: "duplicate key is a duplicate and changes nothing",
			steps: []step{
				applied(paid("T1"), "order 1 created", "payment T1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				duplicate(paid("T1")),
				// Same key, different content: the key decides.
				duplicate(with(paid("T1"), func(ev *vend.Event) { ev.Items[0].ProductID = "course" })),
			},
			order:  orderState{status: vend.OrderPaid},
			grants: active,
		},
		{
			name: "keys are per provider",
			steps: []step{
				applied(paid("T1"), "order 1 created", "payment T1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				applied(with(paid("T1"), func(ev *vend.Event) { ev.Provider = "other" }), "order 2 created", "payment T1 recorded (completed)", "order 2 pending → paid", "access granted to ebook"),
			},
			order:  orderState{status: vend.OrderPaid},
			grants: active,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := open(t)
			led := ledger.New(db)
			var notes []*vend.Notification
			for i, st := range tt.steps {
				if st.admin != nil {
					if err := db.Update(ctx, func(tx store.Tx) error { st.admin(t, tx); return nil }); err != nil {
						t.Fatal(err)
					}
					continue
				}
				n, res := apply(t, led, st.ev)
				notes = append(notes, n)
				where := fmt.Sprintf("step %d (%s)", i+1, st.ev.Key)
				checkStep(t, where, st, res)
				checkNotification(t, db, where, n, res, st.ev)
			}
			checkOrder(t, db, tt.order, tt.grants)
			// Every notification is still there, raw, with its own verdict.
			if got := countNotifications(t, db); got != len(notes) {
				t.Errorf("%d notifications stored, want %d", got, len(notes))
			}
		})
	}
}

// checkNotification reads the notification back: it must carry the result.
func checkNotification(t *testing.T, db store.DB, where string, n *vend.Notification, res *ledger.Result, ev vend.Event) {
	t.Helper()
	err := db.View(ctx, func(tx store.Tx) error {
		got, err := tx.FindNotificationByID(ctx, n.ID)
		if err != nil {
			return err
		}
		if got.Verdict != res.Verdict || got.Reason != res.Reason || got.Changes != strings.Join(res.Changes, "; ") || got.Key != ev.Key {
			t.Errorf("%s: stored notification %s %q %q %q, want %s %q %q %q", where, got.Verdict, got.Reason, got.Changes, got.Key,
				res.Verdict, res.Reason, strings.Join(res.Changes, "; "), ev.Key)
		}
		if got.OrderID != res.OrderID {
			t.Errorf("%s: notification linked to order %d, result says %d", where, got.OrderID, res.OrderID)
		}
		// A notification about an existing order is linked to it, whatever its verdict.
		if o, err := tx.FindOrderByRef(ctx, ev.Provider, orderRefOf(ev)); err == nil && res.Verdict != vend.VerdictIgnored && got.OrderID != o.ID {
			t.Errorf("%s: %s notification not linked to order %d", where, got.Verdict, o.ID)
		}
		if want := "txn_id=" + ev.TxnID + "&payment_status=" + ev.RawStatus; string(got.Body) != want {
			t.Errorf("%s: body %q", where, got.Body)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func orderRefOf(ev vend.Event) string {
	if ev.ParentTxnID != "" {
		return ev.ParentTxnID
	}
	return ev.TxnID
}

// checkOrder compares order 1 and its grants with the wanted end state; a zero
// want means no order may exist, and no transaction, grant or claimed key either.
func checkOrder(t *testing.T, db store.DB, want orderState, wantGrants []grantState) {
	t.Helper()
	err := db.View(ctx, func(tx store.Tx) error {
		orders, err := tx.FindOrders(ctx, store.OrderFilter{})
		if err != nil {
			return err
		}
		if want.status == "" {
			if len(orders) != 0 {
				t.Errorf("%d orders exist, want none", len(orders))
			}
			return nil
		}
		o, err := tx.FindOrderByID(ctx, 1)
		if err != nil {
			return err
		}
		if got := (orderState{o.Status, o.StatusReason, o.Review}); got != want {
			t.Errorf("order 1 is %+v, want %+v", got, want)
		}
		if st := vend.OrderStanding(o.Total, mustTxns(t, tx, o.ID)); st.Status != o.Status || st.Review != o.Review || st.Reason != o.StatusReason {
			t.Errorf("order 1 stored as %s but its history says %+v", o.Status, st)
		}
		grants, err := tx.FindGrantsByOrder(ctx, o.ID)
		if err != nil {
			return err
		}
		var got []grantState
		for _, g := range grants {
			got = append(got, grantState{g.ProductID, g.State, g.Reason})
		}
		if !reflect.DeepEqual(got, wantGrants) {
			t.Errorf("grants %v, want %v", got, wantGrants)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func mustTxns(t *testing.T, tx store.Tx, orderID int64) []*vend.Transaction {
	t.Helper()
	txns, err := tx.FindTransactionsByOrder(ctx, orderID)
	if err != nil {
		t.Fatal(err)
	}
	return txns
}

func countNotifications(t *testing.T, db store.DB) int {
	t.Helper()
	var n int
	err := db.View(ctx, func(tx store.Tx) error {
		ns, err := tx.FindNotifications(ctx, store.NotificationFilter{Limit: 10000})
		n = len(ns)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLedger_Apply_RejectedWritesNothing checks that a refused event leaves no
// trace but its notification: no order, buyer, transaction, grant or claimed key.
func testApply_RejectedWritesNothing(t *testing.T, open opener) {
	tests := []struct {
		name string
		ev   vend.Event
	}{
		{"tampered price rejected and nothing written but the notification", with(paid("T1"), func(ev *vend.Event) { ev.Items[0].Amount, ev.Total = 1, 1 })},
		{"wrong currency rejected and nothing written but the notification", with(paid("T1"), func(ev *vend.Event) { ev.Currency = "EUR" })},
		{"unknown product rejected and nothing written but the notification", with(paid("T1"), func(ev *vend.Event) { ev.Items[0].ProductID = "nope" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := open(t)
			led := ledger.New(db)
			n, res := apply(t, led, tt.ev)
			if res.Verdict != vend.VerdictRejected || res.OrderID != 0 || len(res.Changes) != 0 {
				t.Fatalf("result %+v, want rejected with no changes", res)
			}
			err := db.View(ctx, func(tx store.Tx) error {
				orders, err := tx.FindOrders(ctx, store.OrderFilter{Email: &tt.ev.Buyer.Email})
				if err != nil {
					return err
				}
				if len(orders) != 0 {
					t.Errorf("%d orders written", len(orders))
				}
				if _, err := tx.FindTransaction(ctx, "paypal", "T1"); vend.ErrorCode(err) != vend.ENOTFOUND {
					t.Errorf("transaction written (%v)", err)
				}
				if gs, _ := tx.FindGrantsByOrder(ctx, 1); len(gs) != 0 {
					t.Errorf("%d grants written", len(gs))
				}
				got, err := tx.FindNotificationByID(ctx, n.ID)
				if err != nil {
					return err
				}
				if got.Verdict != vend.VerdictRejected || got.Reason != res.Reason || got.Changes != "" || len(got.Body) == 0 {
					t.Errorf("notification %+v", got)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// The key was not claimed: the right message applies.
			if _, res := apply(t, led, paid("T1")); res.Verdict != vend.VerdictApplied {
				t.Errorf("the right message after a refused one: %s %q", res.Verdict, res.Reason)
			}
		})
	}
}

func testApply_Grant(t *testing.T, open opener) {
	db := open(t)
	led := ledger.New(db)
	ids := []string{"pub-1", "pub-2"}
	led.NewPublicID = func() string { id := ids[0]; ids = ids[1:]; return id }
	ev := with(paid("T1"), func(ev *vend.Event) {
		ev.Items = append(ev.Items, vend.EventItem{ProductID: "course", Quantity: 1, Amount: 990})
		ev.Total = 1995 + 990
		ev.Custom = "ord_7f3a9c"
	})
	var start time.Time
	if err := db.Update(ctx, func(tx store.Tx) error { start = tx.Now(); return nil }); err != nil {
		t.Fatal(err)
	}
	apply(t, led, ev)
	err := db.View(ctx, func(tx store.Tx) error {
		o, err := tx.FindOrderByRef(ctx, "paypal", "T1")
		if err != nil {
			return err
		}
		if o.Custom != "ord_7f3a9c" || o.Buyer != ev.Buyer || o.Total != 2985 || o.Currency != "USD" || !o.Test {
			t.Errorf("order %+v", o)
		}
		items, err := tx.FindItems(ctx, o.ID)
		if err != nil {
			return err
		}
		if len(items) != 2 || items[0].ProductID != "ebook" || items[1].ProductID != "course" || items[1].Amount != 990 {
			t.Errorf("items %+v", items)
		}
		gs, err := tx.FindGrantsByOrder(ctx, o.ID)
		if err != nil {
			return err
		}
		if len(gs) != 2 {
			t.Fatalf("%d grants", len(gs))
		}
		ebook, course := gs[0], gs[1]
		if ebook.PublicID != "pub-1" || ebook.DownloadLimit != 5 || !ebook.ExpiresAt.IsZero() || ebook.ItemID != items[0].ID {
			t.Errorf("ebook grant %+v: want pub-1, limit 5, never expires", ebook)
		}
		wantExpiry := course.CreatedAt.Add(30 * 24 * time.Hour)
		if course.PublicID != "pub-2" || course.DownloadLimit != vend.Unlimited || !course.ExpiresAt.Equal(wantExpiry) || course.CreatedAt.Before(start) {
			t.Errorf("course grant %+v: want pub-2, unlimited, expires %v", course, wantExpiry)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testConclude(t *testing.T, open opener) {
	db := open(t)
	led := ledger.New(db)
	n := &vend.Notification{Provider: "paypal", Body: []byte("forged=1"), Headers: map[string][]string{"X": {"1"}}}
	if err := led.Receive(ctx, n); err != nil {
		t.Fatal(err)
	}
	if n.ID == 0 || n.Verdict != vend.VerdictReceived {
		t.Fatalf("Receive left %+v", n)
	}
	if err := led.Conclude(ctx, n, vend.VerdictInvalid, "PayPal answered INVALID"); err != nil {
		t.Fatal(err)
	}
	err := db.View(ctx, func(tx store.Tx) error {
		got, err := tx.FindNotificationByID(ctx, n.ID)
		if err == nil && (got.Verdict != vend.VerdictInvalid || got.Reason != "PayPal answered INVALID" || string(got.Body) != "forged=1") {
			t.Errorf("got %+v", got)
		}
		if os, _ := tx.FindOrders(ctx, store.OrderFilter{}); len(os) != 0 {
			t.Errorf("%d orders", len(os))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// A notification that was never received cannot be concluded.
	if err := led.Conclude(ctx, &vend.Notification{ID: 999}, vend.VerdictInvalid, "x"); vend.ErrorCode(err) != vend.ENOTFOUND {
		t.Errorf("Conclude of a missing notification = %v, want ENOTFOUND", err)
	}
}

// TestLedger_Apply_Concurrent applies one event from 100 goroutines, each with
// its own notification, as 100 resends arriving at once would be.
func testApply_Concurrent(t *testing.T, open opener) {
	tests := []struct {
		name string
		ev   vend.Event
	}{
		{"100 Completed at once: one order, one grant, one applied + 99 duplicates", paid("T1")},
		{"100 refunds before their payment at once: one transaction, one applied + 99 duplicates", refundEv("R1", "T1", 1995)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := open(t)
			led := ledger.New(db)
			const n = 100
			notes := make([]*vend.Notification, n)
			results := make([]*ledger.Result, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					notes[i] = &vend.Notification{Provider: "paypal", Body: fmt.Appendf(nil, "copy=%d", i)}
					if err := led.Receive(ctx, notes[i]); err != nil {
						t.Error(err)
						return
					}
					res, err := led.Apply(ctx, notes[i], tt.ev)
					if err != nil {
						t.Error(err)
						return
					}
					results[i] = res
				})
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			count := map[vend.Verdict]int{}
			for _, r := range results {
				count[r.Verdict]++
			}
			if count[vend.VerdictApplied] != 1 || count[vend.VerdictDuplicate] != n-1 {
				t.Errorf("verdicts %v, want 1 applied and %d duplicates", count, n-1)
			}
			err := db.View(ctx, func(tx store.Tx) error {
				for i, note := range notes {
					got, err := tx.FindNotificationByID(ctx, note.ID)
					if err != nil {
						return err
					}
					r := results[i]
					if got.Verdict != r.Verdict || got.Reason != r.Reason || got.Changes != strings.Join(r.Changes, "; ") || got.Key != tt.ev.Key ||
						string(got.Body) != fmt.Sprintf("copy=%d", i) || got.OrderID != r.OrderID {
						t.Errorf("notification %d: %+v, result %+v", note.ID, got, r)
					}
				}
				orders, err := tx.FindOrders(ctx, store.OrderFilter{})
				if err != nil {
					return err
				}
				if _, err := tx.FindTransaction(ctx, "paypal", tt.ev.TxnID); err != nil {
					t.Errorf("transaction %s: %v", tt.ev.TxnID, err)
				}
				if tt.ev.Kind != vend.EventPayment {
					if len(orders) != 0 {
						t.Errorf("%d orders, want none before the payment", len(orders))
					}
					return nil
				}
				if len(orders) != 1 {
					t.Fatalf("%d orders, want 1", len(orders))
				}
				gs, err := tx.FindGrantsByOrder(ctx, orders[0].ID)
				if len(gs) != 1 || gs[0].State != vend.GrantActive {
					t.Errorf("grants %+v, want one active", gs)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestLedger_Apply_OrderIndependent applies every arrival order of one history
// and checks that the ledger ends in the same place: access is a function of the
// stored history.
func testApply_OrderIndependent(t *testing.T, open opener) {
	tests := []struct {
		name    string
		history []vend.Event
		want    vend.OrderStatus
		access  bool
	}{
		{"payment, refund", []vend.Event{paid("T1"), refundEv("R1", "T1", 1995)}, vend.OrderRefunded, false},
		{"pending, completed, chargeback", []vend.Event{pendingEv("T1", "echeck"), paid("T1"), reversedEv("B1", "T1")}, vend.OrderReversed, false},
		{"payment, chargeback, restore", []vend.Event{paid("T1"), reversedEv("B1", "T1"), restoreEv("C1", "T1")}, vend.OrderPaid, true},
		{"payment, partial refund, chargeback, restore", []vend.Event{paid("T1"), refundEv("R1", "T1", 500), reversedEv("B1", "T1"), restoreEv("C1", "T1")}, vend.OrderPaid, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := open(t)
			led := ledger.New(db)
			for k, perm := range permutations(len(tt.history)) {
				// Each arrival order gets its own transaction ids in the one store.
				suffix := fmt.Sprintf("-%d", k)
				var keys []string
				for _, i := range perm {
					ev := tt.history[i]
					ev.TxnID += suffix
					if ev.ParentTxnID != "" {
						ev.ParentTxnID += suffix
					}
					ev.Key = ev.TxnID + "/" + ev.RawStatus
					apply(t, led, ev)
					keys = append(keys, ev.Key)
				}
				err := db.View(ctx, func(tx store.Tx) error {
					o, err := tx.FindOrderByRef(ctx, "paypal", "T1"+suffix)
					if err != nil {
						return err
					}
					gs, err := tx.FindGrantsByOrder(ctx, o.ID)
					if err != nil {
						return err
					}
					hasAccess := len(gs) == 1 && gs[0].State == vend.GrantActive
					if o.Status != tt.want || hasAccess != tt.access {
						t.Errorf("arrival %v: order %s, access %v; want %s, %v", keys, o.Status, hasAccess, tt.want, tt.access)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// permutations returns every order of 0..n-1.
func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

// Every ledger test runs on both stores: the ledger must decide the same on each.
func TestLedger_Apply(t *testing.T) { onEveryStore(t, testApply) }
func TestLedger_Apply_RejectedWritesNothing(t *testing.T) {
	onEveryStore(t, testApply_RejectedWritesNothing)
}
func TestLedger_Apply_Grant(t *testing.T)            { onEveryStore(t, testApply_Grant) }
func TestLedger_Apply_Archived(t *testing.T)         { onEveryStore(t, testApply_Archived) }
func TestLedger_Conclude(t *testing.T)               { onEveryStore(t, testConclude) }
func TestLedger_Apply_Concurrent(t *testing.T)       { onEveryStore(t, testApply_Concurrent) }
func TestLedger_Apply_OrderIndependent(t *testing.T) { onEveryStore(t, testApply_OrderIndependent) }

type opener func(tb testing.TB) store.DB

// onEveryStore runs test on SQLite and on PostgreSQL, at the same time and in
// parallel with the other ledger tests: each store is a fresh one.
func onEveryStore(t *testing.T, test func(t *testing.T, open opener)) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		test(t, func(tb testing.TB) store.DB { return MustOpenDB(tb) })
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		test(t, mustOpenPostgres)
	})
}

// mustOpenPostgres opens a store in a fresh PostgreSQL schema holding the catalog.
func mustOpenPostgres(tb testing.TB) store.DB {
	tb.Helper()
	db := pgtest.MustOpenDB(tb)
	if err := seedCatalog(db); err != nil {
		tb.Fatal(err)
	}
	return db
}

// seedCatalog saves the test catalog.
func seedCatalog(db store.DB) error {
	return db.Update(ctx, func(tx store.Tx) error {
		for _, p := range products {
			p := *p
			if err := tx.SaveProduct(ctx, &p); err != nil {
				return err
			}
			if err := tx.SetFiles(ctx, p.ID, []*vend.File{{Name: p.ID + ".zip", Key: p.ID, Size: 100, SHA256: strings.Repeat("a", 64)}}); err != nil {
				return err
			}
		}
		return nil
	})
}

// A payment and its refund applied at the same moment (two instances, one each)
// must each see the other: whichever commits second sees the first, and the order
// ends refunded every time.
func testApply_PaymentAndRefundAtOnce(t *testing.T, open opener) {
	db := open(t)
	led := ledger.New(db)
	const rounds = 20
	var wg sync.WaitGroup
	for i := range rounds {
		for _, ev := range []vend.Event{paid(fmt.Sprintf("T%d", i)), refundEv(fmt.Sprintf("R%d", i), fmt.Sprintf("T%d", i), 1995)} {
			wg.Go(func() {
				n := &vend.Notification{Provider: "paypal", Body: []byte(ev.Key)}
				if err := led.Receive(ctx, n); err != nil {
					t.Error(err)
					return
				}
				if _, err := led.Apply(ctx, n, ev); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	err := db.View(ctx, func(tx store.Tx) error {
		for i := range rounds {
			o, err := tx.FindOrderByRef(ctx, "paypal", fmt.Sprintf("T%d", i))
			if err != nil {
				return err
			}
			gs, err := tx.FindGrantsByOrder(ctx, o.ID)
			if err != nil {
				return err
			}
			if o.Status != vend.OrderRefunded || len(gs) != 0 && gs[0].State != vend.GrantRevoked {
				t.Errorf("order T%d: %s with grants %+v, want refunded and no access", i, o.Status, gs)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLedger_Apply_PaymentAndRefundAtOnce(t *testing.T) {
	onEveryStore(t, testApply_PaymentAndRefundAtOnce)
}

// An archived product is not sold any more, but whoever bought it keeps it:
// a payment that was pending completes, a refund still applies, and the seller
// can still give a copy by hand.
func testApply_Archived(t *testing.T, open opener) {
	db := open(t)
	led := ledger.New(db)
	for _, st := range []step{
		applied(paid("T1"), "order 1 created", "payment T1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
		applied(pendingEv("T2", "echeck"), "order 2 created", "payment T2 recorded (pending)", "order 2 pending (echeck)"),
	} {
		_, res := apply(t, led, st.ev)
		checkStep(t, st.ev.Key, st, res)
	}
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.SetProductArchived(ctx, "ebook", true) }); err != nil {
		t.Fatal(err)
	}
	for _, st := range []step{
		rejected(paid("T3"), "ebook is archived and no longer sold"),
		applied(paid("T2"), "payment T2 pending → completed", "order 2 pending → paid", "access granted to ebook"),
		applied(refundEv("R1", "T1", -1995), "refund R1 recorded (completed)", "order 1 paid → refunded", "access to ebook ended (refunded)"),
	} {
		_, res := apply(t, led, st.ev)
		checkStep(t, st.ev.Key, st, res)
	}
	if _, err := led.CreateOrder(ctx, "cli", ledger.ManualOrder{Buyer: vend.Buyer{Email: "friend@example.com"}, Products: []string{"ebook"}}); err != nil {
		t.Errorf("a manual order of an archived product: %v", err)
	}
	err := db.View(ctx, func(tx store.Tx) error {
		for id, want := range map[int64]vend.GrantState{1: vend.GrantRevoked, 2: vend.GrantActive} {
			gs, err := tx.FindGrantsByOrder(ctx, id)
			if err != nil {
				return err
			}
			if len(gs) != 1 || gs[0].State != want {
				t.Errorf("order %d grants %+v, want one %s", id, gs, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rewrites is a store that counts what a new order should not need: its order
// and items written again, its history read back.
type rewrites struct {
	store.DB
	n map[string]int
}

func (db *rewrites) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return db.DB.Update(ctx, func(tx store.Tx) error { return fn(&rewritesTx{tx, db.n}) })
}

type rewritesTx struct {
	store.Tx
	n map[string]int
}

func (tx *rewritesTx) UpdateOrder(ctx context.Context, o *vend.Order) error {
	tx.n["UpdateOrder"]++
	return tx.Tx.UpdateOrder(ctx, o)
}

func (tx *rewritesTx) UpdateItem(ctx context.Context, it *vend.Item) error {
	tx.n["UpdateItem"]++
	return tx.Tx.UpdateItem(ctx, it)
}

func (tx *rewritesTx) FindTransactionsByOrder(ctx context.Context, id int64) ([]*vend.Transaction, error) {
	tx.n["FindTransactionsByOrder"]++
	return tx.Tx.FindTransactionsByOrder(ctx, id)
}

// A new order is written as its first event leaves it: not inserted pending
// and then updated (on PostgreSQL a second version of the row and of each of
// its indexes' entries), and its one transaction is not read back. The log and
// the webhooks still tell the change from pending. When earlier transactions
// are attached to it, the history is read back and the order corrected.
func TestLedger_Apply_NewOrderWrittenOnce(t *testing.T) {
	t.Parallel()
	db := &rewrites{DB: MustOpenDB(t), n: map[string]int{}}
	led := ledger.New(db)
	_, res := apply(t, led, paid("T1"))
	checkStep(t, "payment", applied(paid("T1"), "order 1 created", "payment T1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"), res)
	if len(db.n) != 0 {
		t.Errorf("a new paid order took %v", db.n)
	}
	checkOrder(t, db, orderState{status: vend.OrderPaid}, []grantState{{"ebook", vend.GrantActive, ""}})

	// A refund that arrived before its payment: the order is inserted paid,
	// then read back with the refund attached and set refunded.
	db = &rewrites{DB: MustOpenDB(t), n: map[string]int{}}
	led = ledger.New(db)
	apply(t, led, refundEv("R1", "T1", 1995))
	apply(t, led, paid("T1")) // its changes: testApply, "refund before payment"
	if db.n["FindTransactionsByOrder"] != 1 || db.n["UpdateOrder"] != 1 {
		t.Errorf("with an earlier transaction attached, the history was read %d times and the order updated %d, want 1 and 1",
			db.n["FindTransactionsByOrder"], db.n["UpdateOrder"])
	}
	checkOrder(t, db, orderState{status: vend.OrderRefunded}, nil)
}
