package ledger_test

import (
	"database/sql"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/postgres"
	"github.com/vend-shop/vend/store/postgres/pgtest"
)

// BenchmarkReceiveApply times the ledger path of a new paid order, stored
// and applied in one commit as Digistore24, Stripe and generic messages are,
// from 16 goroutines, on SQLite (synchronous=FULL, group commit) and on
// PostgreSQL: no HTTP, no verification, only what the one writer or the
// database does per IPN (docs/benchmarks.md, "Where the time goes"). Each
// store holds warmOrders orders first, its tables analyzed on PostgreSQL.
//
//	go test ./ledger -run '^$' -bench ReceiveApply -benchtime 5s
func BenchmarkReceiveApply(b *testing.B) {
	for _, s := range []struct {
		name string
		open func(testing.TB) store.DB
	}{
		{"sqlite", func(tb testing.TB) store.DB { return warm(tb, MustOpenDB(tb)) }},
		{"postgres", openAnalyzed},
	} {
		b.Run(s.name, func(b *testing.B) {
			led := ledger.New(s.open(b))
			var seq atomic.Int64
			seq.Store(warmOrders)
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := receivePaid(led, seq.Add(1)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// warmOrders is how many orders the benchmark's store holds before it is timed.
const warmOrders = 1000

// receivePaid stores and applies the payment of new order i.
func receivePaid(led *ledger.Ledger, i int64) error {
	ev := paid(fmt.Sprintf("BENCH%012d", i))
	ev.Buyer.Email = fmt.Sprintf("buyer%d@example.com", i)
	n := &vend.Notification{Provider: ev.Provider, Body: []byte(ev.TxnID)}
	if res, err := led.ReceiveApply(ctx, n, ev); err != nil || res.Verdict != vend.VerdictApplied {
		return fmt.Errorf("apply %s: %+v %v", ev.TxnID, res, err)
	}
	return nil
}

// warm applies warmOrders orders to db and returns it.
func warm(tb testing.TB, db store.DB) store.DB {
	tb.Helper()
	led := ledger.New(db)
	for i := range int64(warmOrders) {
		if err := receivePaid(led, i+1); err != nil {
			tb.Fatal(err)
		}
	}
	return db
}

// openAnalyzed opens a PostgreSQL store holding the catalog and warmOrders
// orders, its tables analyzed, as autovacuum does once a shop has a few dozen
// orders. On tables never analyzed, the planner estimates every index alike,
// and may keep a generic plan that looks an order up by its provider and
// filters by reference (orders_provider_id): 0.4 ms a lookup at a few thousand
// orders, which no shop sees after its first minutes.
func openAnalyzed(tb testing.TB) store.DB {
	tb.Helper()
	url := pgtest.URL(tb)
	db := postgres.NewDB(url)
	db.MaxConns = 8
	if err := db.Open(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := seedCatalog(db); err != nil {
		tb.Fatal(err)
	}
	warm(tb, db)
	raw, err := sql.Open("pgx", url)
	if err != nil {
		tb.Fatal(err)
	}
	defer raw.Close()
	// The tables in the test's schema (search_path), not every test's.
	if _, err := raw.ExecContext(ctx, "ANALYZE orders, items, transactions, grants, buyers, notifications, applied_keys"); err != nil {
		tb.Fatal(err)
	}
	return db
}
