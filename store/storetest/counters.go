package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// UndoCounterDays is the SQL that takes a migrated database back to before
// migration 00021 (the counters by day), once its triggers are dropped: the
// tables of 00021 and 00022 (the windows, which start unbuilt) and the
// versions.
var UndoCounterDays = []string{
	`DROP TABLE buyer_windows`,
	`DROP TABLE counter_windows`,
	`DROP TABLE IF EXISTS sales_days`, // SQLite's alone
	`DROP TABLE buyer_days`,
	`DROP TABLE product_days`,
	`DELETE FROM goose_db_version WHERE version_id >= 21`,
}

// RunCounterMigration checks that migration 00021 counts a ledger's existing
// attempts and download sessions as keeping the counters does: it fills db
// through the store, reads the counters, then has remigrate take the database
// back to before the migration and open it again (which migrates it), and
// reads them again.
func RunCounterMigration(t *testing.T, db store.DB, remigrate func(t *testing.T) store.DB) {
	p, q := mustProduct(t, db, "p"), mustProduct(t, db, "q")
	grants := []*vend.Grant{
		buyerGrant(t, db, "A1", "ann@example.com", "Ann", p), buyerGrant(t, db, "A2", "Ann@Example.com", "Ann", q),
		buyerGrant(t, db, "B1", "bob@example.com", "Bob", q), buyerGrant(t, db, "N1", "", "", p),
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	var as []*vend.Attempt
	for i := range 60 {
		g := grants[i%len(grants)]
		f := p.Files[0]
		if g.ProductID == "q" {
			f = q.Files[0]
		}
		as = append(as, &vend.Attempt{GrantID: g.ID, FileID: f.ID, At: now.Add(-time.Duration(i) * 7 * time.Hour), IP: "192.0.2.1",
			Method: "GET", Status: 200, Counted: i%3 == 0})
		if i%5 == 0 {
			s := &vend.Session{GrantID: g.ID, FileID: f.ID, ProductID: g.ProductID, ClientIP: fmt.Sprintf("192.0.2.%d", i), Size: f.Size, Charged: i%2 == 0}
			update(t, db, func(tx store.Tx) error { return tx.CreateSession(ctx, s) })
			if i%10 == 0 {
				progress(t, db, s.ID, f.Size, s.StartedAt)
			}
			closeSession(t, db, s.ID, i%15 == 0)
		}
	}
	createAttempts(t, db, as...)
	test := &vend.Order{Provider: "stripe", Ref: "pi_test", Currency: "USD", Status: vend.OrderPaid, Test: true}
	update(t, db, func(tx store.Tx) error { return tx.CreateOrder(ctx, test) })
	for i, tr := range []*vend.Transaction{
		{OrderID: grants[0].OrderID, Kind: vend.TxnPayment, Status: vend.TxnCompleted, Amount: 1995, Currency: "USD"},
		{OrderID: grants[1].OrderID, Kind: vend.TxnPayment, Status: vend.TxnCompleted, Amount: 500, Currency: "EUR"},
		{OrderID: grants[2].OrderID, Kind: vend.TxnPayment, Status: vend.TxnPending, Amount: 700, Currency: "USD"},
		{OrderID: grants[0].OrderID, Kind: vend.TxnRefund, Status: vend.TxnCompleted, Amount: -1995, Currency: "USD"},
		{OrderRef: "later", Kind: vend.TxnRefund, Status: vend.TxnCompleted, Amount: -300, Currency: "USD"},
		{OrderID: test.ID, Kind: vend.TxnPayment, Status: vend.TxnCompleted, Amount: 900, Currency: "USD"},
	} {
		tr.Provider, tr.TxnID = "paypal", fmt.Sprintf("M%d", i)
		createTxn(t, db, tr)
	}
	counters := func(db store.DB) (out []any) {
		view(t, db, func(tx store.Tx) error {
			for _, sort := range []string{store.SortAttempts, store.SortEmail} {
				bs, err := tx.AttemptsPerBuyer(ctx, store.BuyerQuery{From: now.AddDate(0, 0, -5), Sort: sort})
				if err != nil {
					return err
				}
				out = append(out, bs)
			}
			ps, err := tx.DownloadsPerProduct(ctx, time.Time{}, time.Time{})
			if err != nil {
				return err
			}
			days, err := tx.DailyStats(ctx, now.AddDate(0, 0, -20), now, false)
			if err != nil {
				return err
			}
			all, err := tx.DailyStats(ctx, now.AddDate(0, 0, -20), now, true)
			out = append(out, ps, days, all)
			return err
		})
		return out
	}
	want := counters(db)
	if got := counters(remigrate(t)); !reflect.DeepEqual(got, want) {
		t.Errorf("counted by the migration:\n%+v\nas the attempts were written:\n%+v", got, want)
	}
}
