package metrics

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/sqlite/sqlitetest"
)

func TestMetrics(t *testing.T) {
	t.Parallel()
	db := sqlitetest.MustOpenDB(t)
	ctx := context.Background()
	err := db.Update(ctx, func(tx store.Tx) error {
		_, err := tx.EnqueueMail(ctx, &vend.Mail{Key: "a", Kind: vend.MailLinks, To: "x@example.com"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := New(reg, db)
	m.Notification("paypal", "applied", 30*time.Millisecond)
	m.PostbackFailed("paypal")
	m.DownloadStarted()
	m.DownloadClosed(false, true)
	m.BytesServed("x-accel", 1000)
	done := m.TransferStarted()
	m.MailAttempt(vend.MailReceipt, "sent")
	m.MailAttempt(vend.MailReceipt, "retry")
	m.Refused("license")
	m.ObserveCommit(2 * time.Millisecond)
	for name, tt := range map[string]struct {
		c    prometheus.Collector
		want float64
	}{
		"postback failures": {m.postbackFailed.WithLabelValues("paypal"), 1},
		"given back":        {m.downloads.WithLabelValues("given_back"), 1},
		"completed":         {m.downloads.WithLabelValues("completed"), 0},
		"x-accel bytes":     {m.bytes.WithLabelValues("x-accel"), 1000},
		"in progress":       {m.transfers, 1},
		"mail retried":      {m.mail.WithLabelValues("receipt", "retry"), 1},
		"licence refusals":  {m.refusals.WithLabelValues("license"), 1},
	} {
		if got := testutil.ToFloat64(tt.c); got != tt.want {
			t.Errorf("%s: %v, want %v", name, got, tt.want)
		}
	}
	done()
	if got := testutil.ToFloat64(m.transfers); got != 0 {
		t.Errorf("in progress after done: %v", got)
	}
	if n := testutil.CollectAndCount(m.commitSeconds); n != 1 {
		t.Errorf("commit histogram: %d series", n)
	}
	// The outbox, read from the store at the scrape.
	want := `
# HELP vend_outbox_depth Mail messages queued to be sent.
# TYPE vend_outbox_depth gauge
vend_outbox_depth 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "vend_outbox_depth"); err != nil {
		t.Error(err)
	}
}
