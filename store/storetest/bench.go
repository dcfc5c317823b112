package storetest

import (
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// BenchCreateAttempts times the download log's write: one transaction of
// batch attempts on one session, as delivery's recorder writes them while
// small files are served (its batches are up to 256). b.N counts attempts.
func BenchCreateAttempts(b *testing.B, db store.DB, batch int) {
	f := mustFixture(b, db, "bench")
	s := createSession(b, db, f, "192.0.2.1")
	at := now(b, db)
	as := make([]*vend.Attempt, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		for i := range as {
			at = at.Add(time.Millisecond)
			as[i] = &vend.Attempt{GrantID: f.Grant.ID, FileID: f.File.ID, SessionID: s.ID, At: at, IP: "192.0.2.1",
				UserAgent: "Mozilla/5.0 (X11; Linux x86_64) bench", Method: "GET", Status: 200, BytesSent: 10 << 10}
		}
		update(b, db, func(tx store.Tx) error { return tx.CreateAttempts(ctx, as) })
	}
}
