// Package storetest is the conformance suite every store.DB implementation must
// pass: store/sqlite runs it always, store/postgres when a server is configured.
// The subtest names are the contract.
//
//	func TestDB(t *testing.T) {
//		storetest.Run(t, func(tb testing.TB) store.DB { return MustOpenDB(tb) })
//	}
//
// open must return a fresh, empty, migrated database for each call (a new file,
// or a new schema) and close it when tb ends. Subtests run in parallel.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// Opener returns a fresh, empty, migrated database that is closed when tb ends.
type Opener func(tb testing.TB) store.DB

// Run runs the whole suite against the databases open returns.
func Run(t *testing.T, open Opener) {
	t.Run("Products", func(t *testing.T) { testProducts(t, open) })
	t.Run("Notifications", func(t *testing.T) { testNotifications(t, open) })
	t.Run("ClaimKey", func(t *testing.T) { testClaimKey(t, open) })
	t.Run("Orders", func(t *testing.T) { testOrders(t, open) })
	t.Run("Transactions", func(t *testing.T) { testTransactions(t, open) })
	t.Run("Grants", func(t *testing.T) { testGrants(t, open) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open) })
	t.Run("Attempts", func(t *testing.T) { testAttempts(t, open) })
	t.Run("CompletedDownloads", func(t *testing.T) { testCompletedDownloads(t, open) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, open) })
	t.Run("Tx", func(t *testing.T) { testTx(t, open) })
	t.Run("Settings", func(t *testing.T) { testSettings(t, open) })
	t.Run("Outbox", func(t *testing.T) { testOutbox(t, open) })
	t.Run("Accounts", func(t *testing.T) { testAccounts(t, open) })
	t.Run("Reports", func(t *testing.T) { testReports(t, open) })
	t.Run("Exports", func(t *testing.T) { testExports(t, open) })
	t.Run("Releases", func(t *testing.T) { testReleases(t, open) })
	t.Run("ImportedItems", func(t *testing.T) { testImportedItems(t, open) })
	t.Run("Licenses", func(t *testing.T) { testLicenses(t, open) })
	t.Run("Webhooks", func(t *testing.T) { testWebhooks(t, open) })
	t.Run("Evidence", func(t *testing.T) { testEvidence(t, open) })
}

// subtests runs each case in parallel with its own database.
func subtests(t *testing.T, open Opener, cases map[string]func(t *testing.T, db store.DB)) {
	t.Helper()
	for name, fn := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, open(t))
		})
	}
}

var ctx = context.Background()

// update runs fn in a write transaction and fails the test on error.
func update(tb testing.TB, db store.DB, fn func(tx store.Tx) error) {
	tb.Helper()
	if err := db.Update(ctx, fn); err != nil {
		tb.Fatalf("Update: %v", err)
	}
}

// view runs fn in a read transaction and fails the test on error.
func view(tb testing.TB, db store.DB, fn func(tx store.Tx) error) {
	tb.Helper()
	if err := db.View(ctx, fn); err != nil {
		tb.Fatalf("View: %v", err)
	}
}

// now returns the Now of a fresh write transaction.
func now(tb testing.TB, db store.DB) time.Time {
	tb.Helper()
	var t time.Time
	update(tb, db, func(tx store.Tx) error { t = tx.Now(); return nil })
	return t
}

// mustProduct saves a product priced 19.95 USD, 5 downloads, with one file.
func mustProduct(tb testing.TB, db store.DB, id string) *vend.Product {
	tb.Helper()
	p := &vend.Product{ID: id, Name: "Product " + id, Price: 1995, Currency: "USD", DownloadLimit: 5}
	update(tb, db, func(tx store.Tx) error {
		if err := tx.SaveProduct(ctx, p); err != nil {
			return err
		}
		p.Files = []*vend.File{{Name: id + ".pdf", Key: "blob/" + id, Size: 1000, SHA256: sha(id)}}
		return tx.SetFiles(ctx, id, p.Files)
	})
	return p
}

// mustOrder creates a paid order with one item of product p.
func mustOrder(tb testing.TB, db store.DB, ref string, p *vend.Product) (*vend.Order, *vend.Item) {
	tb.Helper()
	o := &vend.Order{Provider: "paypal", Ref: ref, Buyer: vend.Buyer{Email: "buyer@example.com", Name: "Jörg Müller"},
		Currency: "USD", Total: p.Price, Status: vend.OrderPaid}
	it := &vend.Item{ProductID: p.ID, Name: p.Name, Quantity: 1, Amount: p.Price}
	update(tb, db, func(tx store.Tx) error {
		if err := tx.CreateOrder(ctx, o); err != nil {
			return err
		}
		it.OrderID = o.ID
		return tx.CreateItem(ctx, it)
	})
	return o, it
}

// mustGrant creates an active grant for the item.
func mustGrant(tb testing.TB, db store.DB, o *vend.Order, it *vend.Item, publicID string) *vend.Grant {
	tb.Helper()
	g := &vend.Grant{ItemID: it.ID, OrderID: o.ID, ProductID: it.ProductID, PublicID: publicID, State: vend.GrantActive, DownloadLimit: 5}
	update(tb, db, func(tx store.Tx) error { return tx.CreateGrant(ctx, g) })
	return g
}

// fixture is a product with one file, a paid order of it and an active grant.
type fixture struct {
	Product *vend.Product
	File    *vend.File
	Order   *vend.Order
	Item    *vend.Item
	Grant   *vend.Grant
}

func mustFixture(tb testing.TB, db store.DB, name string) fixture {
	tb.Helper()
	p := mustProduct(tb, db, name)
	o, it := mustOrder(tb, db, "TXN-"+name, p)
	g := mustGrant(tb, db, o, it, "pub-"+name)
	return fixture{Product: p, File: p.Files[0], Order: o, Item: it, Grant: g}
}

func sha(s string) string {
	const hex = "0123456789abcdef"
	b := make([]byte, 64)
	for i := range b {
		b[i] = hex[(int(s[i%len(s)])+i)%16]
	}
	return string(b)
}

// sameTime compares times at the store's precision, the millisecond.
func sameTime(a, b time.Time) bool {
	return a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond))
}

func ptr[T any](v T) *T { return &v }

// wantNotFound fails unless err has code ENOTFOUND.
func wantNotFound(tb testing.TB, what string, err error) {
	tb.Helper()
	if code := vend.ErrorCode(err); code != vend.ENOTFOUND {
		tb.Errorf("%s: error %v (code %q), want code %q", what, err, code, vend.ENOTFOUND)
	}
}

// pluck returns f of each element of xs, in order: the ids of a list, say.
func pluck[T, K any](xs []T, f func(T) K) []K {
	out := make([]K, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

func releaseIDs(rs []*vend.Release) []int64 {
	return pluck(rs, func(r *vend.Release) int64 { return r.ID })
}
func grantIDs(gs []*vend.Grant) []int64 { return pluck(gs, func(g *vend.Grant) int64 { return g.ID }) }
func fileIDs(fs []*vend.File) []int64   { return pluck(fs, func(f *vend.File) int64 { return f.ID }) }
func txnIDs(ts []*vend.Transaction) []string {
	return pluck(ts, func(t *vend.Transaction) string { return t.TxnID })
}
func mailKeys(ms []*vend.Mail) []string { return pluck(ms, func(m *vend.Mail) string { return m.Key }) }
