package web

import (
	"testing"

	"github.com/vend-shop/vend/provider/digistore24"
	"github.com/vend-shop/vend/provider/paypal"
)

// BenchmarkPayPalIPN measures durable ingest of distinct Completed IPNs over HTTP
// with the verifier on loopback. docs/benchmarks.md has the end-to-end numbers of
// separate processes (go run ./bench ipn); this one is for profiling.
func BenchmarkPayPalIPN(b *testing.B) {
	e := newTestEnv(b, ds24Unlimited) // the per-address budget is not what is measured
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

// BenchmarkDigistore24IPN measures durable ingest of distinct Digistore24
// payments over HTTP; `go run ./bench ds24` has the end-to-end numbers.
func BenchmarkDigistore24IPN(b *testing.B) {
	e := newTestEnv(b, func(s *Server) { s.IPNRate, s.IPNBurst = 1e9, 1e9 })
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := digistore24.Sim{ProductID: "512345", ProductName: "E-Book", Amount: 1995, Currency: "USD",
				Email: "buyer@example.com", Test: true}.Body(ds24Passphrase)
			if a := e.Post("/ipn/digistore24", formType, body, nil); a.Status != 200 {
				b.Fatalf("IPN answered %d %s", a.Status, a.Body)
			}
		}
	})
}

// BenchmarkLinks times the resend page for an address that bought and one that
// did not: the two must not be told apart by time (docs/benchmarks.md).
func BenchmarkLinks(b *testing.B) {
	e := newTestEnv(b, withMail)
	e.MustPostIPN(sample(b, "p1"))
	buyer := e.Order(p1Txn).Buyer.Email
	for _, tt := range []struct{ name, email string }{{"stranger", "stranger@example.org"}, {"buyer", buyer}, {"stranger-again", "stranger@example.org"}} {
		b.Run(tt.name, func(b *testing.B) {
			e.Server.linksPerEmail.rate, e.Server.linksPerIP.rate = 1e9, 1e9
			e.Server.linksPerEmail.burst, e.Server.linksPerIP.burst = 1e9, 1e9
			for b.Loop() {
				if a := e.postLinks(tt.email, nil); a.Status != 200 {
					b.Fatalf("answered %d", a.Status)
				}
			}
		})
	}
}
