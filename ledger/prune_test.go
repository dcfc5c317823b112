package ledger_test

import (
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/store"
)

func TestLedger_PruneRefused(t *testing.T) { onEveryStore(t, testPruneRefused) }

// testPruneRefused: refused notifications older than the cut go, in as many
// batches as it takes; verified ones, newer ones and those of an order stay.
func testPruneRefused(t *testing.T, open opener) {
	db := open(t)
	led := ledger.New(db)
	old := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cut := old.Add(90 * 24 * time.Hour)
	const refused = 1100 // more than two batches
	err := db.Update(ctx, func(tx store.Tx) error {
		for i := range refused {
			v := []vend.Verdict{vend.VerdictInvalid, vend.VerdictRejected, vend.VerdictError}[i%3]
			if err := tx.CreateNotification(ctx, &vend.Notification{Provider: "stripe", ReceivedAt: old, Verdict: v}); err != nil {
				return err
			}
		}
		for _, n := range []*vend.Notification{
			{Provider: "stripe", ReceivedAt: old, Verdict: vend.VerdictApplied},
			{Provider: "stripe", ReceivedAt: old, Verdict: vend.VerdictDuplicate},
			{Provider: "stripe", ReceivedAt: cut, Verdict: vend.VerdictInvalid},
		} {
			if err := tx.CreateNotification(ctx, n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := led.PruneRefused(ctx, cut)
	if err != nil || n != refused {
		t.Fatalf("PruneRefused: %d, %v; want %d", n, err, refused)
	}
	var left []*vend.Notification
	err = db.View(ctx, func(tx store.Tx) error {
		var err error
		left, err = tx.FindNotifications(ctx, store.NotificationFilter{Limit: 100})
		return err
	})
	if err != nil || len(left) != 3 {
		t.Errorf("%d notifications left (%v), want the applied, the duplicate and the newer refusal", len(left), err)
	}
}
