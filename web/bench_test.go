package web

import (
	"testing"

	"github.com/vend-shop/vend/provider/paypal"
)

// BenchmarkPayPalIPN measures durable ingest of distinct Completed IPNs over HTTP
// with the verifier on loopback. docs/benchmarks.md has the end-to-end numbers of
// separate processes (go run ./bench ipn); this one is for profiling.
func BenchmarkPayPalIPN(b *testing.B) {
	e := newTestEnv(b)
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := paypal.Sim{ProductID: "EBOOK-001", ProductName: "E-Book", Amount: 1995, Currency: "USD",
				PayerEmail: "buyer@example.com", Receiver: sellerEmail, ReceiverID: sellerID, Test: true}.Body(nil)
			if a := e.PostIPN(body); a.Status != 200 {
				b.Fatalf("IPN answered %d", a.Status)
			}
		}
	})
}
