package storetest

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

func searchRefs(tb testing.TB, db store.DB, q store.OrderQuery) []string {
	tb.Helper()
	var out []string
	view(tb, db, func(tx store.Tx) error {
		orders, err := tx.SearchOrders(ctx, q)
		for _, o := range orders {
			out = append(out, o.Ref)
		}
		return err
	})
	return out
}

func testReports(t *testing.T, open Opener) {
	subtests(t, open, map[string]func(t *testing.T, db store.DB){
		"SearchOrders with a date range pages newest first by creation time, ties by id": func(t *testing.T, db store.DB) {
			// Orders made in one transaction share their creation time.
			mk := func(refs ...string) {
				update(t, db, func(tx store.Tx) error {
					for _, ref := range refs {
						o := &vend.Order{Provider: "paypal", Ref: ref, Buyer: vend.Buyer{Email: "b@example.com"}, Currency: "USD", Status: vend.OrderPaid}
						if err := tx.CreateOrder(ctx, o); err != nil {
							return err
						}
					}
					return nil
				})
				time.Sleep(3 * time.Millisecond)
			}
			mk("A0", "A1", "A2")
			mk("B0", "B1")
			mk("C0")
			want := []string{"C0", "B1", "B0", "A2", "A1", "A0"}
			for _, size := range []int{1, 2, 4, 10} {
				q := store.OrderQuery{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour), Limit: size}
				var got []string
				for len(got) <= len(want) {
					var page []*vend.Order
					view(t, db, func(tx store.Tx) (err error) {
						page, err = tx.SearchOrders(ctx, q)
						return err
					})
					if len(page) == 0 {
						break
					}
					for _, o := range page {
						got = append(got, o.Ref)
					}
					q.Before = page[len(page)-1].ID
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("pages of %d: %v, want %v", size, got, want)
				}
			}
			if got := searchRefs(t, db, store.OrderQuery{To: time.Now().Add(time.Hour), Status: vend.OrderRefunded}); got != nil {
				t.Errorf("refunded: %v", got)
			}
		},
		"SearchOrders finds by id, reference, transaction, email or name prefix, and filters": func(t *testing.T, db store.DB) {
			ebook, course := mustProduct(t, db, "ebook"), mustProduct(t, db, "course")
			mk := func(provider, ref, email, name string, status vend.OrderStatus, p *vend.Product) *vend.Order {
				o := &vend.Order{Provider: provider, Ref: ref, Buyer: vend.Buyer{Email: email, Name: name}, Currency: "USD", Status: status}
				update(t, db, func(tx store.Tx) error {
					if err := tx.CreateOrder(ctx, o); err != nil {
						return err
					}
					return tx.CreateItem(ctx, &vend.Item{OrderID: o.ID, ProductID: p.ID, Quantity: 1, Amount: 100})
				})
				return o
			}
			a := mk("paypal", "PAY-A", "Kunde@Example.de", "Joerg Mueller", vend.OrderPaid, ebook)
			mk("digistore24", "DS-B", "kundin@example.de", "Anna Kunde", vend.OrderRefunded, course)
			mk("paypal", "PAY-C", "other@example.com", "Kurt Smith_x", vend.OrderPaid, course)
			mk("stripe", "pi_D", "x%y@example.com", "Dora", vend.OrderPending, ebook)
			createTxn(t, db, &vend.Transaction{OrderID: a.ID, Provider: "paypal", TxnID: "REFUND-7", OrderRef: "PAY-A", Kind: vend.TxnRefund,
				Status: vend.TxnCompleted, Currency: "USD"})
			for _, tt := range []struct {
				name string
				q    store.OrderQuery
				want []string
			}{
				{"everything, newest first", store.OrderQuery{}, []string{"pi_D", "PAY-C", "DS-B", "PAY-A"}},
				{"a page", store.OrderQuery{Limit: 2}, []string{"pi_D", "PAY-C"}},
				{"the next page", store.OrderQuery{Limit: 2, Before: a.ID + 2}, []string{"DS-B", "PAY-A"}},
				{"email prefix, any case", store.OrderQuery{Text: "KUND"}, []string{"DS-B", "PAY-A"}},
				{"whole email", store.OrderQuery{Text: "kunde@example.de"}, []string{"PAY-A"}},
				{"name prefix", store.OrderQuery{Text: "kurt"}, []string{"PAY-C"}},
				{"LIKE characters are literal", store.OrderQuery{Text: "x%"}, []string{"pi_D"}},
				{"an underscore is literal", store.OrderQuery{Text: "kurt smith_"}, []string{"PAY-C"}},
				{"a reference", store.OrderQuery{Text: "DS-B"}, []string{"DS-B"}},
				{"a refund's transaction id", store.OrderQuery{Text: "REFUND-7"}, []string{"PAY-A"}},
				{"an order id", store.OrderQuery{Text: strconv.FormatInt(a.ID, 10)}, []string{"PAY-A"}},
				{"nothing", store.OrderQuery{Text: "nobody"}, nil},
				{"a product", store.OrderQuery{Product: "course"}, []string{"PAY-C", "DS-B"}},
				{"a product, next page", store.OrderQuery{Product: "course", Limit: 1, Before: a.ID + 2}, []string{"DS-B"}},
				{"a product and a text", store.OrderQuery{Product: "course", Text: "kund"}, []string{"DS-B"}},
				{"a provider", store.OrderQuery{Provider: "paypal"}, []string{"PAY-C", "PAY-A"}},
				{"a status", store.OrderQuery{Status: vend.OrderPaid}, []string{"PAY-C", "PAY-A"}},
				{"status and text", store.OrderQuery{Status: vend.OrderRefunded, Text: "kund"}, []string{"DS-B"}},
				{"created since", store.OrderQuery{From: time.Now().Add(-time.Hour)}, []string{"pi_D", "PAY-C", "DS-B", "PAY-A"}},
				{"created before", store.OrderQuery{To: time.Now().Add(-time.Hour)}, nil},
			} {
				if got := searchRefs(t, db, tt.q); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
				}
			}
		},
		"DailyStats follows transactions and orders as they change": func(t *testing.T, db store.DB) {
			now := time.Now()
			type sums struct {
				sales, refunds int
				usd            vend.Amount
			}
			check := func(step string, live, all sums) {
				t.Helper()
				for _, withTest := range []bool{false, true} {
					var days []store.DayStats
					view(t, db, func(tx store.Tx) error {
						var err error
						days, err = tx.DailyStats(ctx, now, now, withTest)
						return err
					})
					want := live
					if withTest {
						want = all
					}
					got := sums{days[0].Sales, days[0].Refunds, days[0].Revenue["USD"]}
					if got != want {
						t.Errorf("%s, with test orders %v: %+v, want %+v", step, withTest, got, want)
					}
				}
			}
			// A refund that comes before its payment, with no order yet: live.
			refund := createTxn(t, db, &vend.Transaction{Provider: "paypal", TxnID: "R1", OrderRef: "O1", Kind: vend.TxnRefund,
				Status: vend.TxnCompleted, Amount: -500, Currency: "USD"})
			check("a refund without its order", sums{0, 1, 0}, sums{0, 1, 0})
			// A pending payment counts once it completes, at its amount then.
			pay := createTxn(t, db, &vend.Transaction{Provider: "paypal", TxnID: "P1", OrderRef: "O1", Kind: vend.TxnPayment,
				Status: vend.TxnPending, Amount: 500, Currency: "USD"})
			check("a pending payment", sums{0, 1, 0}, sums{0, 1, 0})
			pay.Status, pay.Amount = vend.TxnCompleted, 700
			update(t, db, func(tx store.Tx) error { return tx.UpdateTransaction(ctx, pay) })
			check("the payment completed", sums{1, 1, 700}, sums{1, 1, 700})
			// Their order turns out a test order: adopted, they leave the live sums.
			o := &vend.Order{Provider: "paypal", Ref: "O1", Currency: "USD", Status: vend.OrderPaid, Test: true}
			update(t, db, func(tx store.Tx) error {
				if err := tx.CreateOrder(ctx, o); err != nil {
					return err
				}
				_, err := tx.AdoptTransactions(ctx, "paypal", "O1", o.ID)
				return err
			})
			check("adopted by a test order", sums{0, 0, 0}, sums{1, 1, 700})
			// The order is marked live after all, then test again.
			o.Test = false
			update(t, db, func(tx store.Tx) error { return tx.UpdateOrder(ctx, o) })
			check("the order made live", sums{1, 1, 700}, sums{1, 1, 700})
			o.Test = true
			update(t, db, func(tx store.Tx) error { return tx.UpdateOrder(ctx, o) })
			check("the order made a test order again", sums{0, 0, 0}, sums{1, 1, 700})
			// A payment that fails after all leaves the sums; the refund stays.
			pay.Status = vend.TxnFailed
			update(t, db, func(tx store.Tx) error { return tx.UpdateTransaction(ctx, pay) })
			check("the payment failed", sums{0, 0, 0}, sums{0, 1, 0})
			refund.OrderID = 0
			update(t, db, func(tx store.Tx) error { return tx.UpdateTransaction(ctx, refund) })
			check("the refund let go of its order", sums{0, 1, 0}, sums{0, 1, 0})
		},
		"DailyStats counts payments, revenue, refunds and downloads per day": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "ebook")
			for i, tr := range []*vend.Transaction{
				{Kind: vend.TxnPayment, Status: vend.TxnCompleted, Amount: 1995, Currency: "USD"},
				{Kind: vend.TxnPayment, Status: vend.TxnCompleted, Amount: 500, Currency: "EUR"},
				{Kind: vend.TxnPayment, Status: vend.TxnPending, Amount: 700, Currency: "USD"},
				{Kind: vend.TxnRefund, Status: vend.TxnCompleted, Amount: -1995, Currency: "USD"},
			} {
				tr.Provider, tr.TxnID, tr.OrderID = "paypal", "T"+strconv.Itoa(i), f.Order.ID
				createTxn(t, db, tr)
			}
			for _, s := range []*vend.Session{
				{Charged: true}, {Charged: true}, {Charged: true, GivenBack: true}, {Charged: false},
			} {
				s.GrantID, s.FileID, s.ProductID, s.ClientIP, s.Size = f.Grant.ID, f.File.ID, f.Product.ID, "192.0.2.1", 1000
				update(t, db, func(tx store.Tx) error { return tx.CreateSession(ctx, s) })
				if s.GivenBack {
					update(t, db, func(tx store.Tx) error { return tx.CloseSession(ctx, s.ID, true) })
				}
			}
			now := time.Now()
			var days []store.DayStats
			view(t, db, func(tx store.Tx) error {
				var err error
				days, err = tx.DailyStats(ctx, now.AddDate(0, 0, -2), now, false)
				return err
			})
			if len(days) != 3 {
				t.Fatalf("%d days, want 3", len(days))
			}
			for _, d := range days[:2] {
				if d.Sales != 0 || d.Refunds != 0 || d.Downloads != 0 {
					t.Errorf("an earlier day has %+v", d)
				}
			}
			today := days[2]
			want := store.DayStats{Day: today.Day, Sales: 2, Revenue: map[string]vend.Amount{"USD": 1995, "EUR": 500}, Refunds: 1, Downloads: 2}
			if !reflect.DeepEqual(today, want) {
				t.Errorf("today %+v, want %+v", today, want)
			}
			if y, m, d := now.UTC().Date(); !today.Day.Equal(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("today's entry is for %s", today.Day)
			}

			// A test order's sale counts only when test orders are asked for.
			test := &vend.Order{Provider: "stripe", Ref: "pi_test", Currency: "USD", Status: vend.OrderPaid, Test: true}
			update(t, db, func(tx store.Tx) error { return tx.CreateOrder(ctx, test) })
			createTxn(t, db, &vend.Transaction{OrderID: test.ID, Provider: "stripe", TxnID: "pi_test", Kind: vend.TxnPayment,
				Status: vend.TxnCompleted, Amount: 900, Currency: "USD"})
			for _, withTest := range []bool{false, true} {
				view(t, db, func(tx store.Tx) error {
					var err error
					days, err = tx.DailyStats(ctx, now, now, withTest)
					return err
				})
				sales, usd := 2, vend.Amount(1995)
				if withTest {
					sales, usd = 3, 2895
				}
				if days[0].Sales != sales || days[0].Revenue["USD"] != usd {
					t.Errorf("with test orders %v: %d sales, %s USD; want %d, %s", withTest, days[0].Sales, days[0].Revenue["USD"], sales, usd)
				}
			}
		},
	})
}
