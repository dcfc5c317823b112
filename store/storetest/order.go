package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

func findOrder(tb testing.TB, db store.DB, id int64) *vend.Order {
	tb.Helper()
	var o *vend.Order
	view(tb, db, func(tx store.Tx) error {
		var err error
		o, err = tx.FindOrderByID(ctx, id)
		return err
	})
	return o
}

func findOrders(tb testing.TB, db store.DB, f store.OrderFilter) []int64 {
	tb.Helper()
	var ids []int64
	view(tb, db, func(tx store.Tx) error {
		os, err := tx.FindOrders(ctx, f)
		for _, o := range os {
			ids = append(ids, o.ID)
		}
		return err
	})
	return ids
}

func createOrder(tb testing.TB, db store.DB, o *vend.Order) *vend.Order {
	tb.Helper()
	update(tb, db, func(tx store.Tx) error { return tx.CreateOrder(ctx, o) })
	return o
}

// sameOrder compares the stored fields of two orders.
func sameOrder(a, b *vend.Order) bool {
	return a.ID == b.ID && a.Provider == b.Provider && a.Ref == b.Ref && a.Custom == b.Custom && a.Buyer == b.Buyer &&
		a.Currency == b.Currency && a.Total == b.Total && a.Status == b.Status && a.StatusReason == b.StatusReason &&
		a.Review == b.Review && a.Test == b.Test && a.Language == b.Language && a.Deleted == b.Deleted && sameTime(a.CreatedAt, b.CreatedAt) && sameTime(a.UpdatedAt, b.UpdatedAt)
}

func testOrders(t *testing.T, open Opener) {
	subtests(t, open, map[string]func(t *testing.T, db store.DB){
		"CreateOrder stores every field, found by id and by (provider, ref)": func(t *testing.T, db store.DB) {
			o := &vend.Order{Provider: "paypal", Ref: "4TK12345AB6789012", Custom: "ord_7f3a9c",
				Buyer: vend.Buyer{Email: "Buyer@Example.com", Name: "Jörg Müller"}, Currency: "EUR", Total: 1995,
				Status: vend.OrderPending, StatusReason: "echeck", Review: true, Test: true, Language: "de-DE"}
			var at time.Time
			update(t, db, func(tx store.Tx) error { at = tx.Now(); return tx.CreateOrder(ctx, o) })
			if o.ID == 0 || !o.CreatedAt.Equal(at) || !o.UpdatedAt.Equal(at) {
				t.Fatalf("CreateOrder left id %d created %v updated %v, want Now %v", o.ID, o.CreatedAt, o.UpdatedAt, at)
			}
			var byRef *vend.Order
			view(t, db, func(tx store.Tx) error {
				var err error
				byRef, err = tx.FindOrderByRef(ctx, "paypal", "4TK12345AB6789012")
				return err
			})
			for name, got := range map[string]*vend.Order{"by id": findOrder(t, db, o.ID), "by ref": byRef} {
				if !sameOrder(got, o) {
					t.Errorf("%s: got %+v, want %+v", name, got, o)
				}
			}
		},
		"false flags and empty strings read back as such": func(t *testing.T, db store.DB) {
			o := createOrder(t, db, &vend.Order{Provider: "paypal", Ref: "T", Currency: "USD", Status: vend.OrderPaid})
			if got := findOrder(t, db, o.ID); !sameOrder(got, o) || got.Review || got.Test || got.Buyer.Email != "" {
				t.Errorf("got %+v, want %+v", got, o)
			}
		},
		"(provider, ref) is unique": func(t *testing.T, db store.DB) {
			createOrder(t, db, &vend.Order{Provider: "paypal", Ref: "T1", Currency: "USD", Status: vend.OrderPaid})
			err := db.Update(ctx, func(tx store.Tx) error {
				return tx.CreateOrder(ctx, &vend.Order{Provider: "paypal", Ref: "T1", Currency: "USD", Status: vend.OrderPaid})
			})
			if err == nil {
				t.Error("a second order with the same provider and ref was created")
			}
			createOrder(t, db, &vend.Order{Provider: "digistore24", Ref: "T1", Currency: "USD", Status: vend.OrderPaid})
			if ids := findOrders(t, db, store.OrderFilter{}); len(ids) != 2 {
				t.Errorf("%d orders, want 2", len(ids))
			}
		},
		"UpdateOrder changes the standing and moves UpdatedAt": func(t *testing.T, db store.DB) {
			o := createOrder(t, db, &vend.Order{Provider: "paypal", Ref: "T1", Currency: "USD", Total: 1995, Status: vend.OrderPending, StatusReason: "echeck"})
			created := o.CreatedAt
			time.Sleep(5 * time.Millisecond)
			o.Status, o.StatusReason, o.Review, o.Language = vend.OrderPaid, "", true, "en"
			update(t, db, func(tx store.Tx) error { return tx.UpdateOrder(ctx, o) })
			got := findOrder(t, db, o.ID)
			if !sameOrder(got, o) || !got.UpdatedAt.After(created) || !got.CreatedAt.Equal(created) {
				t.Errorf("got %+v, want %+v (created %v)", got, o, created)
			}
		},
		"FindOrders lists newest first, by custom, by email in any case, within the limit": func(t *testing.T, db store.DB) {
			a := createOrder(t, db, &vend.Order{Provider: "paypal", Ref: "A", Custom: "c1", Buyer: vend.Buyer{Email: "Buyer@Example.com"}, Currency: "USD", Status: vend.OrderPaid})
			b := createOrder(t, db, &vend.Order{Provider: "paypal", Ref: "B", Custom: "c2", Buyer: vend.Buyer{Email: "other@example.com"}, Currency: "USD", Status: vend.OrderPaid})
			c := createOrder(t, db, &vend.Order{Provider: "paypal", Ref: "C", Custom: "c1", Buyer: vend.Buyer{Email: "buyer@example.com"}, Currency: "USD", Status: vend.OrderPaid})
			d := createOrder(t, db, &vend.Order{Provider: "paypal", Ref: "D", Currency: "USD", Status: vend.OrderPaid})
			tests := []struct {
				name   string
				filter store.OrderFilter
				want   []int64
			}{
				{"no filter", store.OrderFilter{}, []int64{d.ID, c.ID, b.ID, a.ID}},
				{"limit", store.OrderFilter{Limit: 2}, []int64{d.ID, c.ID}},
				{"custom", store.OrderFilter{Custom: ptr("c1")}, []int64{c.ID, a.ID}},
				{"email in another case", store.OrderFilter{Email: ptr("BUYER@example.COM")}, []int64{c.ID, a.ID}},
				{"custom and email", store.OrderFilter{Custom: ptr("c2"), Email: ptr("other@example.com")}, []int64{b.ID}},
				{"no match", store.OrderFilter{Email: ptr("nobody@example.com")}, nil},
				{"empty custom", store.OrderFilter{Custom: ptr("")}, []int64{d.ID}},
			}
			for _, tt := range tests {
				if got := findOrders(t, db, tt.filter); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
				}
			}
		},
		"orders of one buyer in any case of the address are all found": func(t *testing.T, db store.DB) {
			// One buyer row per address (lower-cased); a later order may bring the
			// name, an order without a name keeps it.
			createOrder(t, db, &vend.Order{Provider: "paypal", Ref: "A", Buyer: vend.Buyer{Email: "buyer@example.com", Name: "Jörg"}, Currency: "USD", Status: vend.OrderPaid})
			createOrder(t, db, &vend.Order{Provider: "paypal", Ref: "B", Buyer: vend.Buyer{Email: "BUYER@example.com"}, Currency: "USD", Status: vend.OrderPaid})
			createOrder(t, db, &vend.Order{Provider: "paypal", Ref: "C", Buyer: vend.Buyer{Email: "buyer@example.com", Name: "Jörg Müller"}, Currency: "USD", Status: vend.OrderPaid})
			if ids := findOrders(t, db, store.OrderFilter{Email: ptr("buyer@example.com")}); len(ids) != 3 {
				t.Errorf("found %d orders, want 3", len(ids))
			}
		},
		"items read back in the order they were created": func(t *testing.T, db store.DB) {
			o := createOrder(t, db, &vend.Order{Provider: "paypal", Ref: "T", Currency: "USD", Status: vend.OrderPaid})
			want := []*vend.Item{
				{OrderID: o.ID, ProductID: "b", Name: "B", Quantity: 2, Amount: 3990, Status: vend.OrderPaid},
				{OrderID: o.ID, ProductID: "a", Name: "Ä", Quantity: 1, Amount: 990, Status: vend.OrderSuspended, Hold: vend.HoldSuspended},
			}
			update(t, db, func(tx store.Tx) error {
				for _, it := range want {
					if err := tx.CreateItem(ctx, it); err != nil {
						return err
					}
				}
				return nil
			})
			var got, other []*vend.Item
			view(t, db, func(tx store.Tx) error {
				var err error
				if got, err = tx.FindItems(ctx, o.ID); err != nil {
					return err
				}
				other, err = tx.FindItems(ctx, o.ID+1)
				return err
			})
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
			if len(other) != 0 {
				t.Errorf("items of a missing order: %v", other)
			}
		},
		"UpdateItem saves status, hold, name, quantity and amount": func(t *testing.T, db store.DB) {
			o := createOrder(t, db, &vend.Order{Provider: "digistore24", Ref: "D", Currency: "EUR", Status: vend.OrderPaid})
			a := &vend.Item{OrderID: o.ID, ProductID: "a", Name: "A", Quantity: 1, Amount: 100, Status: vend.OrderPaid}
			b := &vend.Item{OrderID: o.ID, ProductID: "b", Name: "B", Quantity: 1, Amount: 200, Status: vend.OrderPaid}
			update(t, db, func(tx store.Tx) error {
				if err := tx.CreateItem(ctx, a); err != nil {
					return err
				}
				return tx.CreateItem(ctx, b)
			})
			a.Name, a.Quantity, a.Amount, a.Status, a.Hold = "A2", 2, 300, vend.OrderEnded, vend.HoldEnded
			update(t, db, func(tx store.Tx) error { return tx.UpdateItem(ctx, a) })
			var got []*vend.Item
			view(t, db, func(tx store.Tx) error {
				var err error
				got, err = tx.FindItems(ctx, o.ID)
				return err
			})
			if want := []*vend.Item{a, b}; !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
			err := db.Update(ctx, func(tx store.Tx) error { return tx.UpdateItem(ctx, &vend.Item{ID: b.ID + 100}) })
			if vend.ErrorCode(err) != vend.ENOTFOUND {
				t.Errorf("updating a missing item: %v, want ENOTFOUND", err)
			}
		},
	})
}

func createTxn(tb testing.TB, db store.DB, t *vend.Transaction) *vend.Transaction {
	tb.Helper()
	update(tb, db, func(tx store.Tx) error { return tx.CreateTransaction(ctx, t) })
	return t
}

func findTxns(tb testing.TB, db store.DB, orderID int64) []*vend.Transaction {
	tb.Helper()
	var out []*vend.Transaction
	view(tb, db, func(tx store.Tx) error {
		var err error
		out, err = tx.FindTransactionsByOrder(ctx, orderID)
		return err
	})
	return out
}

func sameTxn(a, b *vend.Transaction) bool {
	return a.ID == b.ID && a.OrderID == b.OrderID && a.Provider == b.Provider && a.TxnID == b.TxnID && a.ParentTxnID == b.ParentTxnID &&
		a.OrderRef == b.OrderRef && a.ProductID == b.ProductID && a.Full == b.Full && a.Kind == b.Kind && a.Status == b.Status && a.RawStatus == b.RawStatus && a.Reason == b.Reason && a.Amount == b.Amount &&
		a.Currency == b.Currency && sameTime(a.At, b.At) && sameTime(a.CreatedAt, b.CreatedAt) && sameTime(a.UpdatedAt, b.UpdatedAt)
}

func testTransactions(t *testing.T, open Opener) {
	subtests(t, open, map[string]func(t *testing.T, db store.DB){
		"CreateTransactionIfNew inserts once per (provider, txn_id) and leaves a taken one alone": func(t *testing.T, db store.DB) {
			o := createOrder(t, db, &vend.Order{Provider: "paypal", Ref: "PAY", Currency: "USD", Status: vend.OrderPaid})
			first := &vend.Transaction{OrderID: o.ID, Provider: "paypal", TxnID: "PAY", OrderRef: "PAY", Kind: vend.TxnPayment,
				Status: vend.TxnPending, Amount: 1995, Currency: "USD"}
			again := *first
			again.Status, again.Amount = vend.TxnCompleted, 999
			var created [3]bool
			update(t, db, func(tx store.Tx) error {
				var err error
				if created[0], err = tx.CreateTransactionIfNew(ctx, first); err != nil {
					return err
				}
				if created[1], err = tx.CreateTransactionIfNew(ctx, &again); err != nil {
					return err
				}
				other := *first
				other.Provider = "stripe"
				created[2], err = tx.CreateTransactionIfNew(ctx, &other)
				return err
			})
			if created != [3]bool{true, false, true} || first.ID == 0 || again.ID != 0 || !again.CreatedAt.IsZero() { // not inserted: as it was
				t.Fatalf("created %v, ids %d %d", created, first.ID, again.ID)
			}
			view(t, db, func(tx store.Tx) error {
				got, err := tx.FindTransaction(ctx, "paypal", "PAY")
				if err == nil && (got.ID != first.ID || got.Status != vend.TxnPending || got.Amount != 1995) {
					t.Errorf("the taken transaction changed: %+v", got)
				}
				return err
			})
		},
		"CreateTransaction stores every field, found by (provider, txn_id)": func(t *testing.T, db store.DB) {
			o := createOrder(t, db, &vend.Order{Provider: "paypal", Ref: "PAY", Currency: "USD", Status: vend.OrderPaid})
			want := createTxn(t, db, &vend.Transaction{OrderID: o.ID, Provider: "paypal", TxnID: "REF1", ParentTxnID: "PAY",
				OrderRef: "PAY", ProductID: "ebook", Full: true, Kind: vend.TxnRefund, Status: vend.TxnCompleted, RawStatus: "Refunded", Reason: "refund", Amount: -1995, Currency: "USD",
				At: time.Date(2026, 8, 18, 8, 41, 48, 0, time.UTC)})
			// Without the provider's time, At is when the store recorded it.
			orphan := createTxn(t, db, &vend.Transaction{Provider: "paypal", TxnID: "REF2", ParentTxnID: "LATER",
				Kind: vend.TxnChargeback, Status: vend.TxnCompleted, Amount: -500, Currency: "USD"})
			if !sameTime(orphan.At, orphan.CreatedAt) {
				t.Errorf("At %v without a provider time, want the creation time %v", orphan.At, orphan.CreatedAt)
			}
			view(t, db, func(tx store.Tx) error {
				for _, w := range []*vend.Transaction{want, orphan} {
					got, err := tx.FindTransaction(ctx, "paypal", w.TxnID)
					if err != nil {
						return err
					}
					if !sameTxn(got, w) {
						t.Errorf("got %+v, want %+v", got, w)
					}
				}
				return nil
			})
		},
		"(provider, txn_id) is unique": func(t *testing.T, db store.DB) {
			first := createTxn(t, db, &vend.Transaction{Provider: "paypal", TxnID: "T1", Kind: vend.TxnPayment, Status: vend.TxnPending, Amount: 1995, Currency: "USD"})
			err := db.Update(ctx, func(tx store.Tx) error {
				return tx.CreateTransaction(ctx, &vend.Transaction{Provider: "paypal", TxnID: "T1", Kind: vend.TxnPayment, Status: vend.TxnCompleted, Amount: 1, Currency: "USD"})
			})
			if err == nil {
				t.Error("a second transaction with the same provider and txn_id was created")
			}
			createTxn(t, db, &vend.Transaction{Provider: "digistore24", TxnID: "T1", Kind: vend.TxnPayment, Status: vend.TxnCompleted, Currency: "USD"})
			view(t, db, func(tx store.Tx) error {
				got, err := tx.FindTransaction(ctx, "paypal", "T1")
				if err == nil && !sameTxn(got, first) {
					t.Errorf("the first transaction changed: %+v", got)
				}
				return err
			})
		},
		"UpdateTransaction moves status, reason, amount and order": func(t *testing.T, db store.DB) {
			o := createOrder(t, db, &vend.Order{Provider: "paypal", Ref: "T1", Currency: "USD", Status: vend.OrderPending})
			tr := createTxn(t, db, &vend.Transaction{Provider: "paypal", TxnID: "T1", Kind: vend.TxnPayment, Status: vend.TxnPending,
				RawStatus: "Pending", Reason: "echeck", Amount: 1995, Currency: "USD"})
			time.Sleep(5 * time.Millisecond)
			tr.OrderID, tr.Status, tr.RawStatus, tr.Reason, tr.Amount, tr.Full = o.ID, vend.TxnCompleted, "Completed", "", 2000, true
			update(t, db, func(tx store.Tx) error { return tx.UpdateTransaction(ctx, tr) })
			got := findTxns(t, db, o.ID)
			if len(got) != 1 || !sameTxn(got[0], tr) || !got[0].UpdatedAt.After(got[0].CreatedAt) {
				t.Errorf("got %+v, want %+v", got, tr)
			}
		},
		"FindTransactionsByOrder lists oldest first, only the order's": func(t *testing.T, db store.DB) {
			o := createOrder(t, db, &vend.Order{Provider: "paypal", Ref: "PAY", Currency: "USD", Status: vend.OrderPaid})
			other := createOrder(t, db, &vend.Order{Provider: "paypal", Ref: "OTHER", Currency: "USD", Status: vend.OrderPaid})
			for _, tr := range []*vend.Transaction{
				{OrderID: o.ID, TxnID: "PAY", Kind: vend.TxnPayment},
				{OrderID: other.ID, TxnID: "OTHER", Kind: vend.TxnPayment},
				{OrderID: o.ID, TxnID: "B1", ParentTxnID: "PAY", Kind: vend.TxnChargeback},
				{OrderID: o.ID, TxnID: "A1", ParentTxnID: "PAY", Kind: vend.TxnRefund},
			} {
				tr.Provider, tr.Status, tr.Currency = "paypal", vend.TxnCompleted, "USD"
				createTxn(t, db, tr)
			}
			if got := txnIDs(findTxns(t, db, o.ID)); !reflect.DeepEqual(got, []string{"PAY", "B1", "A1"}) {
				t.Errorf("got %v, want PAY, B1, A1", got)
			}
			if got := findTxns(t, db, o.ID+1000); len(got) != 0 {
				t.Errorf("missing order has %d transactions", len(got))
			}
		},
		"AdoptTransactions attaches the waiting transactions of that order only": func(t *testing.T, db store.DB) {
			for _, tr := range []*vend.Transaction{
				{Provider: "paypal", TxnID: "R1", OrderRef: "PAY", Kind: vend.TxnRefund},
				{Provider: "paypal", TxnID: "B1", OrderRef: "PAY", Kind: vend.TxnChargeback},
				{Provider: "paypal", TxnID: "X1", OrderRef: "ELSEWHERE", ParentTxnID: "PAY", Kind: vend.TxnRefund},
				{Provider: "digistore24", TxnID: "D1", OrderRef: "PAY", Kind: vend.TxnRefund},
			} {
				tr.Status, tr.Currency = vend.TxnCompleted, "USD"
				createTxn(t, db, tr)
			}
			o := createOrder(t, db, &vend.Order{Provider: "paypal", Ref: "PAY", Currency: "USD", Status: vend.OrderPending})
			var n int
			update(t, db, func(tx store.Tx) error {
				var err error
				n, err = tx.AdoptTransactions(ctx, "paypal", "PAY", o.ID)
				return err
			})
			if n != 2 {
				t.Errorf("adopted %d, want 2", n)
			}
			if got := txnIDs(findTxns(t, db, o.ID)); !reflect.DeepEqual(got, []string{"R1", "B1"}) {
				t.Errorf("order's transactions %v, want R1, B1", got)
			}
			// Already adopted transactions are not taken again, not even by another order.
			other := createOrder(t, db, &vend.Order{Provider: "paypal", Ref: "OTHER", Currency: "USD", Status: vend.OrderPending})
			update(t, db, func(tx store.Tx) error {
				var err error
				n, err = tx.AdoptTransactions(ctx, "paypal", "PAY", other.ID)
				return err
			})
			if n != 0 || len(findTxns(t, db, other.ID)) != 0 {
				t.Errorf("second adoption took %d", n)
			}
			view(t, db, func(tx store.Tx) error {
				for _, id := range []string{"X1"} {
					if tr, err := tx.FindTransaction(ctx, "paypal", id); err != nil || tr.OrderID != 0 {
						t.Errorf("%s: order %v, %v; want still waiting", id, tr, err)
					}
				}
				tr, err := tx.FindTransaction(ctx, "digistore24", "D1")
				if err == nil && tr.OrderID != 0 {
					t.Errorf("another provider's transaction was adopted")
				}
				return err
			})
		},
	})
}
