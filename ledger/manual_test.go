package ledger_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/store"
)

func testCreateOrder(t *testing.T, open opener) {
	db := open(t)
	led := ledger.New(db)
	led.Mail = true
	res, err := led.CreateOrder(ctx, "user:alice", ledger.ManualOrder{Buyer: vend.Buyer{Email: "friend@example.com", Name: "A Friend"},
		Products: []string{"ebook", "course", "ebook"}, Note: "press copy", SendReceipt: true})
	if err != nil {
		t.Fatal(err)
	}
	checkItems(t, db, vend.OrderPaid, 1995+990, []itemState{
		{"ebook", vend.OrderPaid, "", vend.GrantActive, ""},
		{"course", vend.OrderPaid, "", vend.GrantActive, ""},
	})
	if got := mailsOf(t, db); !reflect.DeepEqual(got, []string{"receipt friend@example.com"}) {
		t.Errorf("outbox %q, want the receipt", got)
	}
	err = db.View(ctx, func(tx store.Tx) error {
		o, err := tx.FindOrderByID(ctx, res.OrderID)
		if err != nil {
			return err
		}
		if o.Provider != ledger.ProviderManual || !strings.HasPrefix(o.Ref, "M-") || o.Custom != "by user:alice" {
			t.Errorf("order %+v", o)
		}
		ns, err := tx.FindNotifications(ctx, store.NotificationFilter{OrderID: &o.ID})
		if err != nil {
			return err
		}
		if len(ns) != 1 || ns[0].Provider != ledger.ProviderManual || !strings.Contains(string(ns[0].Body), "press copy") || ns[0].Verdict != vend.VerdictApplied {
			t.Errorf("notifications %+v", ns)
		}
		es, err := tx.FindAuditEntries(ctx, store.AuditFilter{Target: "order:1"})
		if err == nil && (len(es) != 1 || es[0].Action != "order.create" || es[0].Actor != "user:alice") {
			t.Errorf("audit %+v", es)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []ledger.ManualOrder{
		{Buyer: vend.Buyer{Email: "nobody"}, Products: []string{"ebook"}},
		{Buyer: vend.Buyer{Email: "a@example.com"}},
		{Buyer: vend.Buyer{Email: "a@example.com"}, Products: []string{"nope"}},
		{Buyer: vend.Buyer{Email: "a@example.com"}, Products: []string{"ebook", "euro"}},
	} {
		if _, err := led.CreateOrder(ctx, "cli", bad); vend.ErrorCode(err) != vend.EINVALID {
			t.Errorf("%+v: %v, want EINVALID", bad, err)
		}
	}
	if got := mailsOf(t, db); len(got) != 1 {
		t.Errorf("refused orders sent mail: %q", got)
	}
}

func TestLedger_CreateOrder(t *testing.T) { onEveryStore(t, testCreateOrder) }
