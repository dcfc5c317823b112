package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/store"
)

// Events in the style of Digistore24: one message per order item, all naming the
// order by OrderRef and the item by ProductID.
func itemEv(kind vend.EventKind, event, txnID, product string, amount vend.Amount) vend.Event {
	ev := vend.Event{Provider: "digistore24", Kind: kind, OrderRef: "ORD1", TxnID: txnID, ProductID: product,
		Key: event + ":" + txnID, RawStatus: event, Total: amount, Currency: "USD",
		Buyer: vend.Buyer{Email: "kunde@example.de", Name: "Jörg Müller"}}
	if kind == vend.EventPayment {
		ev.Items = []vend.EventItem{{ProductID: product, Name: product, Quantity: 1, Amount: amount}}
	}
	return ev
}

func itemPaid(txnID, product string, amount vend.Amount) vend.Event {
	return itemEv(vend.EventPayment, "on_payment", txnID, product, amount)
}

func itemRefund(txnID, product string, amount vend.Amount) vend.Event {
	ev := itemEv(vend.EventRefund, "on_refund", txnID, product, amount)
	ev.Full = true
	return ev
}

// itemState is an item as the tests see it: derived status, hold and grant.
type itemState struct {
	product string
	status  vend.OrderStatus
	hold    vend.Hold
	grant   vend.GrantState // "" means no grant
	reason  string
}

func testApply_Items(t *testing.T, open opener) {
	tests := []struct {
		name  string
		steps []step
		order vend.OrderStatus
		total vend.Amount
		items []itemState
	}{
		{
			name: "main product and three upsells, one refunded: the others keep access",
			steps: []step{
				applied(itemPaid("P1", "ebook", 1995), "order 1 created", "payment P1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				applied(itemPaid("P2", "course", 990), "course added to order 1", "payment P2 recorded (completed)", "access granted to course"),
				applied(itemPaid("P3", "bonus", 500), "bonus added to order 1", "payment P3 recorded (completed)", "access granted to bonus"),
				applied(itemPaid("P4", "extra", 700), "extra added to order 1", "payment P4 recorded (completed)", "access granted to extra"),
				applied(itemRefund("R2", "course", 990), "refund R2 recorded (completed)", "access to course ended (refunded)"),
				duplicate(itemPaid("P2", "course", 990)),
				duplicate(itemRefund("R2", "course", 990)),
			},
			order: vend.OrderPaid, total: 1995 + 990 + 500 + 700,
			items: []itemState{
				{"ebook", vend.OrderPaid, "", vend.GrantActive, ""},
				{"course", vend.OrderRefunded, "", vend.GrantRevoked, "refunded"},
				{"bonus", vend.OrderPaid, "", vend.GrantActive, ""},
				{"extra", vend.OrderPaid, "", vend.GrantActive, ""},
			},
		},
		{
			name: "every item refunded: the order is refunded",
			steps: []step{
				applied(itemPaid("P1", "ebook", 1995), "order 1 created", "payment P1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				applied(itemPaid("P2", "bonus", 500), "bonus added to order 1", "payment P2 recorded (completed)", "access granted to bonus"),
				applied(itemRefund("R1", "ebook", 1), "refund R1 recorded (completed)", "access to ebook ended (refunded)"),
				applied(itemEv(vend.EventChargeback, "on_chargeback", "C2", "bonus", 500), "chargeback C2 recorded (completed)", "order 1 paid → refunded", "access to bonus ended (reversed)"),
				applied(itemPaid("P5", "bonus", 500), "payment P5 recorded (completed)"),
			},
			order: vend.OrderRefunded, total: 2495,
			items: []itemState{
				{"ebook", vend.OrderRefunded, "", vend.GrantRevoked, "refunded"},
				{"bonus", vend.OrderReversed, "", vend.GrantRevoked, "reversed"},
			},
		},
		{
			name: "a missed payment dated ahead of vend's clock (a provider's local time) is still lifted by the same payment again",
			steps: []step{
				applied(itemPaid("P1", "ebook", 1995), "order 1 created", "payment P1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				applied(aheadOfNow(itemEv(vend.EventSuspend, "on_payment_missed", "M1", "ebook", 0), 90*time.Minute), "missed payment M1 recorded", "ebook suspended: a recurring payment was missed", "order 1 paid → suspended", "access to ebook ended (suspended)"),
				{ev: itemPaid("P1", "ebook", 1995), verdict: vend.VerdictDuplicate, reason: "was applied before",
					changes: []string{"payment P1 sent again after a missed payment", "ebook no longer suspended", "order 1 suspended → paid", "access restored to ebook"}},
			},
			order: vend.OrderPaid, total: 1995,
			items: []itemState{{"ebook", vend.OrderPaid, "", vend.GrantActive, ""}},
		},
		{
			name: "missed payment suspends; the very same payment again lifts it",
			steps: []step{
				applied(itemPaid("P1", "ebook", 1995), "order 1 created", "payment P1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				applied(itemEv(vend.EventSuspend, "on_payment_missed", "M1", "ebook", 0), "missed payment M1 recorded", "ebook suspended: a recurring payment was missed", "order 1 paid → suspended", "access to ebook ended (suspended)"),
				duplicate(itemEv(vend.EventSuspend, "on_payment_missed", "M1", "ebook", 0)),
				{ev: itemPaid("P1", "ebook", 1995), verdict: vend.VerdictDuplicate, reason: "was applied before",
					changes: []string{"payment P1 sent again after a missed payment", "ebook no longer suspended", "order 1 suspended → paid", "access restored to ebook"}},
				duplicate(itemPaid("P1", "ebook", 1995)),
			},
			order: vend.OrderPaid, total: 1995,
			items: []itemState{{"ebook", vend.OrderPaid, "", vend.GrantActive, ""}},
		},
		{
			name: "a rebill lifts a suspension; resumed rebilling lifts without granting",
			steps: []step{
				applied(itemEv(vend.EventResume, "on_rebill_resumed", "X0", "ebook", 0), "resumed rebilling X0 recorded", "order ORD1 not seen yet; applies when it arrives"),
				applied(itemPaid("P1", "ebook", 1995), "order 1 created", "1 earlier transaction(s) attached", "payment P1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				applied(itemEv(vend.EventSuspend, "on_payment_missed", "M1", "ebook", 0), "missed payment M1 recorded", "ebook suspended: a recurring payment was missed", "order 1 paid → suspended", "access to ebook ended (suspended)"),
				applied(itemEv(vend.EventResume, "on_rebill_resumed", "X1", "ebook", 0), "resumed rebilling X1 recorded", "ebook no longer suspended", "order 1 suspended → paid", "access restored to ebook"),
				applied(itemEv(vend.EventResume, "on_rebill_resumed", "X2", "ebook", 0), "resumed rebilling X2 recorded"),
				applied(itemEv(vend.EventSuspend, "on_payment_missed", "M2", "ebook", 0), "missed payment M2 recorded", "ebook suspended: a recurring payment was missed", "order 1 paid → suspended", "access to ebook ended (suspended)"),
				applied(itemPaid("P2", "ebook", 1995), "payment P2 recorded (completed)", "ebook no longer suspended", "order 1 suspended → paid", "access restored to ebook"),
			},
			order: vend.OrderPaid, total: 1995,
			items: []itemState{{"ebook", vend.OrderPaid, "", vend.GrantActive, ""}},
		},
		{
			name: "end of the paid period: only a new payment brings access back",
			steps: []step{
				applied(itemPaid("P1", "ebook", 1995), "order 1 created", "payment P1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				applied(itemEv(vend.EventEnd, "last_paid_day", "E1", "ebook", 0), "end of the paid period E1 recorded", "ebook: the paid period ended", "order 1 paid → ended", "access to ebook ended (ended)"),
				duplicate(itemPaid("P1", "ebook", 1995)),
				applied(itemEv(vend.EventResume, "on_rebill_resumed", "X1", "ebook", 0), "resumed rebilling X1 recorded"),
			},
			order: vend.OrderEnded, total: 1995,
			items: []itemState{{"ebook", vend.OrderEnded, vend.HoldEnded, vend.GrantRevoked, "ended"}},
		},
		{
			name: "the end of the paid period after a suspension: the grant says ended",
			steps: []step{
				applied(itemPaid("P1", "ebook", 1995), "order 1 created", "payment P1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				applied(itemEv(vend.EventSuspend, "on_payment_missed", "M1", "ebook", 0), "missed payment M1 recorded", "ebook suspended: a recurring payment was missed", "order 1 paid → suspended", "access to ebook ended (suspended)"),
				applied(itemEv(vend.EventEnd, "last_paid_day", "E1", "ebook", 0), "end of the paid period E1 recorded", "ebook: the paid period ended", "order 1 suspended → ended"),
				duplicate(itemPaid("P1", "ebook", 1995)),
			},
			order: vend.OrderEnded, total: 1995,
			items: []itemState{{"ebook", vend.OrderEnded, vend.HoldEnded, vend.GrantRevoked, "ended"}},
		},
		{
			name: "a refund ends access for good, whatever comes after",
			steps: []step{
				applied(itemPaid("P1", "ebook", 1995), "order 1 created", "payment P1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				applied(itemRefund("R1", "ebook", 1995), "refund R1 recorded (completed)", "order 1 paid → refunded", "access to ebook ended (refunded)"),
				duplicate(itemPaid("P1", "ebook", 1995)),
				applied(itemPaid("P2", "ebook", 1995), "payment P2 recorded (completed)"),
				applied(itemEv(vend.EventResume, "on_rebill_resumed", "X1", "ebook", 0), "resumed rebilling X1 recorded"),
			},
			order: vend.OrderRefunded, total: 1995,
			items: []itemState{{"ebook", vend.OrderRefunded, "", vend.GrantRevoked, "refunded"}},
		},
		{
			name: "a missed payment before its order's payment is kept: the payment does not grant",
			steps: []step{
				applied(itemEv(vend.EventSuspend, "on_payment_missed", "M1", "ebook", 0), "missed payment M1 recorded", "order ORD1 not seen yet; applies when it arrives"),
				applied(itemPaid("P1", "ebook", 1995), "order 1 created", "1 earlier transaction(s) attached", "payment P1 recorded (completed)",
					"ebook suspended: a recurring payment was missed", "order 1 pending → suspended"),
			},
			order: vend.OrderSuspended, total: 1995,
			items: []itemState{{"ebook", vend.OrderSuspended, vend.HoldSuspended, "", ""}},
		},
		{
			name: "the end of the paid period before its order's payment is kept: the payment does not grant",
			steps: []step{
				applied(itemEv(vend.EventEnd, "last_paid_day", "E1", "ebook", 0), "end of the paid period E1 recorded", "order ORD1 not seen yet; applies when it arrives"),
				applied(itemPaid("P1", "ebook", 1995), "order 1 created", "1 earlier transaction(s) attached", "payment P1 recorded (completed)",
					"ebook: the paid period ended", "order 1 pending → ended"),
				duplicate(itemPaid("P1", "ebook", 1995)),
			},
			order: vend.OrderEnded, total: 1995,
			items: []itemState{{"ebook", vend.OrderEnded, vend.HoldEnded, "", ""}},
		},
		{
			name: "a refund before its payment waits for it",
			steps: []step{
				applied(itemRefund("R1", "ebook", 1995), "refund R1 recorded (completed)", "order ORD1 not seen yet; applies when it arrives"),
				applied(itemPaid("P1", "ebook", 1995), "order 1 created", "1 earlier transaction(s) attached", "payment P1 recorded (completed)", "order 1 pending → refunded"),
			},
			order: vend.OrderRefunded, total: 1995,
			items: []itemState{{"ebook", vend.OrderRefunded, "", "", ""}},
		},
		{
			name: "a rebill is held to the catalog price, not to the first payment",
			steps: []step{
				applied(itemPaid("P1", "ebook", 2995), "order 1 created", "payment P1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				rejected(itemPaid("P2", "ebook", 100), "paid 1.00 USD for ebook in order 1, the price is 19.95"),
				applied(itemPaid("P3", "ebook", 1995), "payment P3 recorded (completed)"),
				rejected(itemPaid("P4", "bonus", 100), "the price is 5.00"),
				rejected(with(itemPaid("P5", "ebook", 1995), func(ev *vend.Event) { ev.Currency = "EUR" }), `paid in "EUR" but order 1 is in USD`),
			},
			order: vend.OrderPaid, total: 2995,
			items: []itemState{{"ebook", vend.OrderPaid, "", vend.GrantActive, ""}},
		},
		{
			name: "an upsell priced in another currency than the order is refused",
			steps: []step{
				applied(itemPaid("P1", "ebook", 1995), "order 1 created", "payment P1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				rejected(with(itemPaid("P2", "euro", 500), func(ev *vend.Event) { ev.Currency = "EUR" }), "euro is priced in EUR, but the order it would join is in USD"),
				rejected(with(unpriced("euro"), func(ev *vend.Event) { ev.Provider, ev.OrderRef = "digistore24", "ORD1" }), "euro is priced in EUR, but the order it would join is in USD"),
			},
			order: vend.OrderPaid, total: 1995,
			items: []itemState{{"ebook", vend.OrderPaid, "", vend.GrantActive, ""}},
		},
		{
			name: "a refund for a product the order does not have is refused, not applied to nothing",
			steps: []step{
				applied(itemPaid("P1", "ebook", 1995), "order 1 created", "payment P1 recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				rejected(itemRefund("R1", "bonus", 500), "refund for bonus, which order 1 does not have"),
			},
			order: vend.OrderPaid, total: 1995,
			items: []itemState{{"ebook", vend.OrderPaid, "", vend.GrantActive, ""}},
		},
		{
			name: "unpriced links: catalog prices, one item per product, later links duplicates",
			steps: []step{
				applied(unpriced("ebook"), "order 1 created", "payment W/ebook recorded (completed)", "order 1 pending → paid", "access granted to ebook"),
				applied(unpriced("course"), "course added to order 1", "payment W/course recorded (completed)", "access granted to course"),
				duplicate(unpriced("ebook")),
				rejected(unpriced("nope"), `unknown product "nope"`),
			},
			order: vend.OrderPaid, total: 1995 + 990,
			items: []itemState{
				{"ebook", vend.OrderPaid, "", vend.GrantActive, ""},
				{"course", vend.OrderPaid, "", vend.GrantActive, ""},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := open(t)
			led := ledger.New(db)
			for i, st := range tt.steps {
				_, res := apply(t, led, st.ev)
				where := fmt.Sprintf("step %d (%s)", i+1, st.ev.Key)
				checkStep(t, where, st, res)
			}
			checkItems(t, db, tt.order, tt.total, tt.items)
		})
	}
}

func unpriced(product string) vend.Event {
	return vend.Event{Provider: "websale", Kind: vend.EventPayment, OrderRef: "W", TxnID: "W/" + product, ProductID: product,
		Key: "link:W/" + product, Unpriced: true, Buyer: vend.Buyer{Email: "kunde@example.de"},
		Items: []vend.EventItem{{ProductID: product, Quantity: 1}}}
}

func checkItems(t *testing.T, db store.DB, status vend.OrderStatus, total vend.Amount, want []itemState) {
	t.Helper()
	err := db.View(ctx, func(tx store.Tx) error {
		o, err := tx.FindOrderByID(ctx, 1)
		if err != nil {
			return err
		}
		if o.Status != status || o.Total != total {
			t.Errorf("order 1 is %s %s, want %s %s", o.Status, o.Total, status, total)
		}
		items, err := tx.FindItems(ctx, o.ID)
		if err != nil {
			return err
		}
		grants, err := tx.FindGrantsByOrder(ctx, o.ID)
		if err != nil {
			return err
		}
		byItem := map[int64]*vend.Grant{}
		for _, g := range grants {
			byItem[g.ItemID] = g
		}
		var got []itemState
		for _, it := range items {
			s := itemState{product: it.ProductID, status: it.Status, hold: it.Hold}
			if g := byItem[it.ID]; g != nil {
				s.grant, s.reason = g.State, g.Reason
			}
			got = append(got, s)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("items\n\t%+v\nwant\n\t%+v", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLedger_Apply_Items(t *testing.T) { onEveryStore(t, testApply_Items) }

// failingGrants is a store whose CreateGrant fails, to break an Apply midway.
type failingGrants struct{ store.DB }

func (f failingGrants) Update(c context.Context, fn func(tx store.Tx) error) error {
	return f.DB.Update(c, func(tx store.Tx) error { return fn(grantFailer{tx}) })
}

type grantFailer struct{ store.Tx }

func (grantFailer) CreateGrant(context.Context, *vend.Grant) error { return errors.New("disk on fire") }

func testReceiveApply(t *testing.T, open opener) {
	t.Run("stores and applies in one go", func(t *testing.T) {
		db := open(t)
		led := ledger.New(db)
		n := &vend.Notification{Provider: "digistore24", Body: []byte("event=on_payment&sha_sign=X")}
		res, err := led.ReceiveApply(ctx, n, itemPaid("P1", "ebook", 1995))
		if err != nil || res.Verdict != vend.VerdictApplied || n.ID == 0 {
			t.Fatalf("ReceiveApply: %+v %v, notification %d", res, err, n.ID)
		}
		checkItems(t, db, vend.OrderPaid, 1995, []itemState{{"ebook", vend.OrderPaid, "", vend.GrantActive, ""}})
		err = db.View(ctx, func(tx store.Tx) error {
			got, err := tx.FindNotificationByID(ctx, n.ID)
			if err == nil && (got.Verdict != vend.VerdictApplied || string(got.Body) != string(n.Body) || got.OrderID != res.OrderID) {
				t.Errorf("stored notification %+v", got)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a failure keeps the raw message and nothing else", func(t *testing.T) {
		db := open(t)
		led := ledger.New(failingGrants{db})
		n := &vend.Notification{Provider: "digistore24", Body: []byte("event=on_payment&sha_sign=Y")}
		if _, err := led.ReceiveApply(ctx, n, itemPaid("P1", "ebook", 1995)); err == nil {
			t.Fatal("ReceiveApply succeeded with a failing store")
		}
		err := db.View(ctx, func(tx store.Tx) error {
			ns, err := tx.FindNotifications(ctx, store.NotificationFilter{Limit: 10})
			if err != nil {
				return err
			}
			if len(ns) != 1 || ns[0].Verdict != vend.VerdictError || string(ns[0].Body) != string(n.Body) {
				t.Errorf("notifications after a failure: %+v", ns)
			}
			orders, err := tx.FindOrders(ctx, store.OrderFilter{})
			if len(orders) != 0 {
				t.Errorf("%d orders after a failed apply", len(orders))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestLedger_ReceiveApply(t *testing.T) { onEveryStore(t, testReceiveApply) }

// atMinute gives an event the provider's time: minute n of one day.
// aheadOfNow dates ev d ahead of the real clock, which the stores run on.
func aheadOfNow(ev vend.Event, d time.Duration) vend.Event {
	ev.At = time.Now().Add(d)
	return ev
}

func atMinute(ev vend.Event, n int) vend.Event {
	ev.At = time.Date(2026, 1, 1, 0, n, 0, 0, time.UTC)
	return ev
}

// testApply_HoldsOrderIndependent applies every arrival order of a
// subscription's history (payments, missed payments, resumed rebilling, the end
// of the paid period, refunds, chargebacks, each at its own provider time) and
// checks that the item ends in the same place: holds are derived from the
// stored history as refunds are, never from arrival order.
func testApply_HoldsOrderIndependent(t *testing.T, open opener) {
	missed := func(id string, n int) vend.Event {
		return atMinute(itemEv(vend.EventSuspend, "on_payment_missed", id, "ebook", 0), n)
	}
	resumed := func(id string, n int) vend.Event {
		return atMinute(itemEv(vend.EventResume, "on_rebill_resumed", id, "ebook", 0), n)
	}
	end := func(id string, n int) vend.Event {
		return atMinute(itemEv(vend.EventEnd, "last_paid_day", id, "ebook", 0), n)
	}
	pay := func(id string, n int) vend.Event { return atMinute(itemPaid(id, "ebook", 1995), n) }
	tests := []struct {
		name    string
		history []vend.Event
		status  vend.OrderStatus
		hold    vend.Hold
		access  bool
	}{
		{"payment, missed payment", []vend.Event{pay("P1", 1), missed("M1", 2)}, vend.OrderSuspended, vend.HoldSuspended, false},
		{"payment, last paid day", []vend.Event{pay("P1", 1), end("E1", 2)}, vend.OrderEnded, vend.HoldEnded, false},
		{"payment, missed payment, rebill", []vend.Event{pay("P1", 1), missed("M1", 2), pay("P2", 3)}, vend.OrderPaid, "", true},
		{"payment, rebill, missed payment", []vend.Event{pay("P1", 1), pay("P2", 2), missed("M1", 3)}, vend.OrderSuspended, vend.HoldSuspended, false},
		{"payment, missed payment, resumed rebilling, last paid day", []vend.Event{pay("P1", 1), missed("M1", 2), resumed("X1", 3), end("E1", 4)},
			vend.OrderEnded, vend.HoldEnded, false},
		{"payment, missed payment, rebill, resumed rebilling, last paid day", []vend.Event{pay("P1", 1), missed("M1", 2), pay("P2", 3), resumed("X1", 4), end("E1", 5)},
			vend.OrderEnded, vend.HoldEnded, false},
		{"payment, last paid day, rebill", []vend.Event{pay("P1", 1), end("E1", 2), pay("P2", 3)}, vend.OrderPaid, "", true},
		{"payment, missed payment, rebill, refund", []vend.Event{pay("P1", 1), missed("M1", 2), pay("P2", 3), atMinute(itemRefund("R1", "ebook", 1995), 4)},
			vend.OrderRefunded, "", false},
		{"payment, missed payment, last paid day, chargeback", []vend.Event{pay("P1", 1), missed("M1", 2), end("E1", 3),
			atMinute(itemEv(vend.EventChargeback, "on_chargeback", "C1", "ebook", 1995), 4)}, vend.OrderReversed, vend.HoldEnded, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := open(t)
			led := ledger.New(db)
			for k, perm := range permutations(len(tt.history)) {
				// Each arrival order is its own order in the one store.
				ref := fmt.Sprintf("ORD-%d", k)
				var keys []string
				for _, i := range perm {
					ev := tt.history[i]
					ev.OrderRef, ev.TxnID = ref, ev.TxnID+"-"+ref
					ev.Key = ev.RawStatus + ":" + ev.TxnID
					apply(t, led, ev)
					keys = append(keys, ev.Key)
				}
				err := db.View(ctx, func(tx store.Tx) error {
					o, err := tx.FindOrderByRef(ctx, "digistore24", ref)
					if err != nil {
						return err
					}
					items, err := tx.FindItems(ctx, o.ID)
					if err != nil {
						return err
					}
					gs, err := tx.FindGrantsByOrder(ctx, o.ID)
					if err != nil {
						return err
					}
					access := len(gs) == 1 && gs[0].State == vend.GrantActive
					if o.Status != tt.status || len(items) != 1 || items[0].Hold != tt.hold || access != tt.access {
						t.Errorf("arrival %v: order %s, hold %q, access %v; want %s, %q, %v", keys, o.Status, items[0].Hold, access, tt.status, tt.hold, tt.access)
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

func TestLedger_Apply_HoldsOrderIndependent(t *testing.T) {
	onEveryStore(t, testApply_HoldsOrderIndependent)
}
