package web

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vend-shop/vend"
)

// TestFlood_ForgedMessagesCostLittleDisk: forged messages, each as large as
// its provider ever sends and with 8 KiB of headers, are kept only in part
// (vend.Notification.Trim). What each adds to the database, times a flood at
// the per-address budget from 10 addresses for one minute (10 × (burst + 60 s
// × rate) = 13,000 messages), stays under 50 MiB. Without trimming, the 1 MiB
// ones alone would need gigabytes.
func TestFlood_ForgedMessagesCostLittleDisk(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, func(s *Server) { s.IPNRate, s.IPNBurst = 1e6, 1e6 }) // the budget is not what is measured
	e.PayPal.Answer(answerWord("INVALID"))
	const perProvider = 25
	junk := func(n int) []byte { return []byte(strings.Repeat("x", n)) }
	header := http.Header{"X-Junk": {strings.Repeat("h", 8<<10)}}
	floods := []struct {
		path, contentType string
		max               int
		header            http.Header
	}{
		{"/ipn/paypal", formType, paypalMaxBody, header},
		{"/ipn/digistore24", formType, ds24MaxBody, header},
		{"/webhooks/stripe", jsonType, 1 << 20, header},
		{"/webhooks/generic", jsonType, 1 << 20, header},
		// A small body does not keep large headers whole either (PayPal's
		// messages are stored before they are verified).
		{"/ipn/paypal", formType, 33, http.Header{"X-Junk": {strings.Repeat("h", 500<<10)}}},
	}
	before := backupSize(t, e)
	sent := 0
	for _, f := range floods {
		for range perProvider {
			a := e.Post(f.path, f.contentType, junk(f.max), f.header)
			if a.Status != http.StatusOK && a.Status != http.StatusUnauthorized {
				t.Fatalf("forged %s: %d %s", f.path, a.Status, a.Body)
			}
			sent++
		}
	}
	for _, n := range e.Notifications() {
		headers := 0
		for k, vs := range n.Headers {
			for _, v := range vs {
				headers += len(k) + len(v)
			}
		}
		if n.Verdict != vend.VerdictInvalid && n.Verdict != vend.VerdictRejected || !n.Trimmed() && n.Size > vend.KeptBodyBytes ||
			headers > vend.KeptHeaderBytes {
			t.Fatalf("notification %d: %s, %d of %d bytes kept, %d bytes of headers", n.ID, n.Verdict, len(n.Body), n.Size, headers)
		}
	}
	growth := backupSize(t, e) - before
	flood := int64(10 * (DefaultIPNBurst + 60*DefaultIPNRate))
	projected := growth / int64(sent) * flood
	t.Logf("%d forged messages added %d bytes (%d each): a minute's flood from 10 addresses, %d messages, about %.1f MiB",
		sent, growth, growth/int64(sent), flood, float64(projected)/(1<<20))
	if projected >= 50<<20 {
		t.Errorf("a minute's flood of forged messages from 10 addresses would add %.1f MiB, want less than 50", float64(projected)/(1<<20))
	}
}

// backupSize is the size of a compacted copy of the env's database: what its
// rows take, free pages and the WAL aside.
func backupSize(t *testing.T, e *testEnv) int64 {
	t.Helper()
	path := filepath.Join(t.TempDir(), "backup.db")
	if err := e.DB.Backup(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
