package ledger_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/store"
)

// BenchmarkReceiveApply times the ledger path of a new paid order, stored
// and applied in one commit as Digistore24, Stripe and generic messages are,
// from 16 goroutines, on SQLite (synchronous=FULL, group commit) and on
// PostgreSQL: no HTTP, no verification, only what the one writer or the
// database does per IPN (docs/benchmarks.md, "Where the time goes").
//
//	go test ./ledger -run '^$' -bench ReceiveApply -benchtime 5s
func BenchmarkReceiveApply(b *testing.B) {
	for _, s := range []struct {
		name string
		open func(testing.TB) store.DB
	}{
		{"sqlite", func(tb testing.TB) store.DB { return MustOpenDB(tb) }},
		{"postgres", mustOpenPostgres},
	} {
		b.Run(s.name, func(b *testing.B) {
			led := ledger.New(s.open(b))
			var seq atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := seq.Add(1)
					ev := paid(fmt.Sprintf("BENCH%012d", i))
					ev.Buyer.Email = fmt.Sprintf("buyer%d@example.com", i)
					n := &vend.Notification{Provider: ev.Provider, Body: []byte(ev.TxnID)}
					if res, err := led.ReceiveApply(ctx, n, ev); err != nil || res.Verdict != vend.VerdictApplied {
						b.Errorf("apply %s: %+v %v", ev.TxnID, res, err)
						return
					}
				}
			})
		})
	}
}
