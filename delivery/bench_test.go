package delivery_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/delivery"
)

// BenchmarkServeSmall serves a 10 KiB file through ServeFile on an httptest server
// from parallel clients: the cost per request of checking the grant, joining the
// session, sending the bytes and logging the attempt.
func BenchmarkServeSmall(b *testing.B) {
	e := MustOpenEnv(b, delivery.Config{}, nil)
	g := e.MustCreateGrant(e.Book, func(g *vend.Grant) { g.DownloadLimit = vend.Unlimited })
	u := e.URL(g, e.Small)
	b.SetBytes(smallSize)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := e.Client.Get(u)
			if err != nil {
				b.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || n != smallSize {
				b.Errorf("status %d, %d bytes", resp.StatusCode, n)
				return
			}
		}
	})
	b.StopTimer()
	e.Settle()
}
