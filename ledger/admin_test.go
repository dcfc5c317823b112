package ledger_test

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/store"
)

func testChangeGrant(t *testing.T, open opener) {
	db := open(t)
	led := ledger.New(db)
	apply(t, led, paid("T1"))
	var g *vend.Grant
	err := db.View(ctx, func(tx store.Tx) error {
		gs, err := tx.FindGrantsByOrder(ctx, 1)
		if err == nil {
			g = gs[0]
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(ctx, func(tx store.Tx) error { return tx.AddDownloadsUsed(ctx, g.ID, 3) })
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(48 * time.Hour).Truncate(time.Millisecond)
	steps := []struct {
		action ledger.GrantAction
		until  time.Time
		check  func(g *vend.Grant) bool
	}{
		{ledger.GrantReset, time.Time{}, func(g *vend.Grant) bool { return g.DownloadsUsed == 0 }},
		{ledger.GrantExtend, until, func(g *vend.Grant) bool { return g.ExpiresAt.Equal(until) }},
		{ledger.GrantRevoke, time.Time{}, func(g *vend.Grant) bool { return g.State == vend.GrantRevoked && g.Reason == ledger.ReasonAdmin }},
		{ledger.GrantRestore, time.Time{}, func(g *vend.Grant) bool { return g.State == vend.GrantActive && g.Reason == "" }},
		{ledger.GrantExtend, time.Time{}, func(g *vend.Grant) bool { return g.ExpiresAt.IsZero() }},
	}
	for _, st := range steps {
		got, err := led.ChangeGrant(ctx, "user:alice", g.ID, st.action, st.until)
		if err != nil || !st.check(got) {
			t.Fatalf("%s: %+v %v", st.action, got, err)
		}
	}
	if _, err := led.ChangeGrant(ctx, "user:alice", g.ID, ledger.GrantExtend, time.Now().Add(-time.Hour)); vend.ErrorCode(err) != vend.EINVALID {
		t.Errorf("extend into the past: %v, want EINVALID", err)
	}
	if _, err := led.ChangeGrant(ctx, "user:alice", g.ID+100, ledger.GrantReset, time.Time{}); vend.ErrorCode(err) != vend.ENOTFOUND {
		t.Errorf("a missing grant: %v, want ENOTFOUND", err)
	}
	err = db.View(ctx, func(tx store.Tx) error {
		es, err := tx.FindAuditEntries(ctx, store.AuditFilter{Target: "order:1"})
		if err != nil {
			return err
		}
		if len(es) != len(steps) {
			t.Fatalf("%d audit entries, want %d", len(es), len(steps))
		}
		first := es[len(es)-1]
		if first.Actor != "user:alice" || first.Action != "grant.reset" || !strings.Contains(first.Before, `"downloads_used":3`) ||
			!strings.Contains(first.After, `"downloads_used":0`) {
			t.Errorf("first entry %+v", first)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLedger_ChangeGrant(t *testing.T) { onEveryStore(t, testChangeGrant) }

func testDeleteOrder(t *testing.T, open opener) {
	db := open(t)
	led := ledger.New(db)
	apply(t, led, paid("T1"))
	o, err := led.DeleteOrder(ctx, "user:alice", 1)
	if err != nil || !o.Deleted {
		t.Fatalf("delete: %+v %v", o, err)
	}
	if _, err := led.DeleteOrder(ctx, "user:alice", 1); vend.ErrorCode(err) != vend.ECONFLICT {
		t.Errorf("deleting twice: %v", err)
	}
	// A chargeback and its cancellation later change the status, never the access.
	apply(t, led, reversedEv("B1", "T1"))
	apply(t, led, restoreEv("C1", "T1"))
	err = db.View(ctx, func(tx store.Tx) error {
		gs, err := tx.FindGrantsByOrder(ctx, 1)
		if err != nil {
			return err
		}
		if len(gs) != 1 || gs[0].State != vend.GrantRevoked || gs[0].Reason != ledger.ReasonAdmin {
			t.Errorf("grants of a deleted order: %+v", gs[0])
		}
		list, err := tx.SearchOrders(ctx, store.OrderQuery{})
		if err == nil && len(list) != 0 {
			t.Errorf("the admin's list shows %d deleted orders", len(list))
		}
		o, err := tx.FindOrderByID(ctx, 1)
		if err == nil && !o.Deleted {
			t.Error("the order lost its deleted mark")
		}
		es, _ := tx.FindAuditEntries(ctx, store.AuditFilter{Target: "order:1"})
		if len(es) != 1 || es[0].Action != "order.delete" {
			t.Errorf("audit %+v", es)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLedger_DeleteOrder(t *testing.T) { onEveryStore(t, testDeleteOrder) }

func testRefundOrder(t *testing.T, open opener) {
	db := open(t)
	led := ledger.New(db)
	led.Mail = true
	apply(t, led, pendingEv("P1", "echeck"))
	if _, err := led.RefundOrder(ctx, "user:alice", 1, ""); vend.ErrorCode(err) != vend.ECONFLICT {
		t.Errorf("refunding a pending order: %v", err)
	}
	apply(t, led, paid("P1"))
	res, err := led.RefundOrder(ctx, "user:alice", 1, "paid back by bank transfer")
	if err != nil || res.Verdict != vend.VerdictApplied {
		t.Fatalf("refund: %+v %v", res, err)
	}
	if _, err := led.RefundOrder(ctx, "user:alice", 1, ""); vend.ErrorCode(err) != vend.ECONFLICT {
		t.Errorf("refunding twice: %v", err)
	}
	if _, err := led.RefundOrder(ctx, "user:alice", 99, ""); vend.ErrorCode(err) != vend.ENOTFOUND {
		t.Errorf("refunding no order: %v", err)
	}
	// A late copy of the payment does not give access back.
	apply(t, led, paid("P1"))
	err = db.View(ctx, func(tx store.Tx) error {
		o, err := tx.FindOrderByID(ctx, 1)
		if err != nil {
			return err
		}
		if o.Status != vend.OrderRefunded {
			t.Errorf("order status %s, want refunded", o.Status)
		}
		gs, err := tx.FindGrantsByOrder(ctx, 1)
		if err != nil {
			return err
		}
		if len(gs) != 1 || gs[0].State != vend.GrantRevoked {
			t.Errorf("grant %+v, want revoked", gs[0])
		}
		txns, err := tx.FindTransactionsByOrder(ctx, 1)
		if err != nil {
			return err
		}
		last := txns[len(txns)-1]
		if last.Kind != vend.TxnRefund || !last.Full || last.Amount != -1995 || last.Reason != "paid back by bank transfer" || last.RawStatus != "refunded by user:alice" {
			t.Errorf("refund transaction %+v", last)
		}
		ns, err := tx.FindNotifications(ctx, store.NotificationFilter{OrderID: &o.ID})
		if err != nil {
			return err
		}
		var manual int
		for _, n := range ns {
			if n.Provider == ledger.ProviderManual && n.Verdict == vend.VerdictApplied {
				manual++
			}
		}
		if manual != 1 {
			t.Errorf("%d manual notifications on the order, want the refund's", manual)
		}
		es, err := tx.FindAuditEntries(ctx, store.AuditFilter{Target: "order:1"})
		if err != nil {
			return err
		}
		if len(es) != 1 || es[0].Action != "order.refund" || es[0].Actor != "user:alice" {
			t.Errorf("audit %+v", es)
		}
		mails, err := tx.FindMails(ctx, store.MailFilter{Limit: 100})
		var ended bool
		for _, m := range mails {
			ended = ended || m.Kind == vend.MailEnded
		}
		if !ended {
			t.Error("no access-ended mail queued for the buyer")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLedger_RefundOrder(t *testing.T) { onEveryStore(t, testRefundOrder) }

func testRefundOrderCases(t *testing.T, open opener) {
	refunds := func(db store.DB, orderID int64) (out []string) {
		err := db.View(ctx, func(tx store.Tx) error {
			txns, err := tx.FindTransactionsByOrder(ctx, orderID)
			for _, x := range txns {
				if x.Kind == vend.TxnRefund {
					out = append(out, x.ProductID+":"+x.Amount.String())
				}
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	t.Run("per item: each item still paid is refunded on its own", func(t *testing.T) {
		db := open(t)
		led := ledger.New(db)
		apply(t, led, itemPaid("P1", "ebook", 1995))
		apply(t, led, itemPaid("P2", "course", 990))
		apply(t, led, itemPaid("P3", "bonus", 500))
		apply(t, led, itemRefund("R3", "bonus", 500))
		if _, err := led.RefundOrder(ctx, "cli", 1, ""); err != nil {
			t.Fatal(err)
		}
		checkItems(t, db, vend.OrderRefunded, 1995+990+500, []itemState{
			{"ebook", vend.OrderRefunded, "", vend.GrantRevoked, "refunded"},
			{"course", vend.OrderRefunded, "", vend.GrantRevoked, "refunded"},
			{"bonus", vend.OrderRefunded, "", vend.GrantRevoked, "refunded"},
		})
		if got := refunds(db, 1); !slices.Equal(got, []string{"bonus:5.00", "ebook:-19.95", "course:-9.90"}) {
			t.Errorf("refunds %v", got)
		}
	})
	t.Run("after a partial refund, the rest", func(t *testing.T) {
		db := open(t)
		led := ledger.New(db)
		apply(t, led, paid("T1"))
		apply(t, led, refundEv("R1", "T1", 500))
		if _, err := led.RefundOrder(ctx, "cli", 1, ""); err != nil {
			t.Fatal(err)
		}
		if got := refunds(db, 1); !slices.Equal(got, []string{":-5.00", ":-14.95"}) {
			t.Errorf("refunds %v", got)
		}
	})
	t.Run("a charged-back order has nothing to refund", func(t *testing.T) {
		db := open(t)
		led := ledger.New(db)
		apply(t, led, paid("T1"))
		apply(t, led, reversedEv("B1", "T1"))
		if _, err := led.RefundOrder(ctx, "cli", 1, ""); vend.ErrorCode(err) != vend.ECONFLICT {
			t.Errorf("refund of a reversed order: %v", err)
		}
		if got := refunds(db, 1); got != nil {
			t.Errorf("refunds %v", got)
		}
	})
	t.Run("eight at once: one refund", func(t *testing.T) {
		db := open(t)
		led := ledger.New(db)
		apply(t, led, paid("T1"))
		var wg sync.WaitGroup
		var ok atomic.Int32
		for range 8 {
			wg.Go(func() {
				if _, err := led.RefundOrder(ctx, "cli", 1, ""); err == nil {
					ok.Add(1)
				} else if vend.ErrorCode(err) != vend.ECONFLICT {
					t.Errorf("refund: %v", err)
				}
			})
		}
		wg.Wait()
		if got := refunds(db, 1); ok.Load() != 1 || len(got) != 1 {
			t.Errorf("%d refunds succeeded, %v recorded; want one", ok.Load(), got)
		}
	})
}

func TestLedger_RefundOrderCases(t *testing.T) { onEveryStore(t, testRefundOrderCases) }
