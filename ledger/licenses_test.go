package ledger_test

import (
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/store"
)

// appPaid is a Completed payment of n units of the licensed product "app".
func appPaid(txnID string, n int) vend.Event {
	ev := event(vend.EventPayment, txnID, "Completed")
	ev.Items = []vend.EventItem{{ProductID: "app", Name: "App", Quantity: n, Amount: 4900 * vend.Amount(n)}}
	ev.Total = 4900 * vend.Amount(n)
	return ev
}

// licensesOf reads an order's keys, oldest first, with their grants.
func licensesOf(t *testing.T, db store.DB, txnID string) ([]*vend.License, map[int64]*vend.Grant) {
	t.Helper()
	var ls []*vend.License
	grants := map[int64]*vend.Grant{}
	err := db.View(ctx, func(tx store.Tx) error {
		o, err := tx.FindOrderByRef(ctx, "paypal", txnID)
		if err != nil {
			return err
		}
		if ls, err = tx.FindLicenses(ctx, store.LicenseFilter{OrderID: &o.ID}); err != nil {
			return err
		}
		gs, err := tx.FindGrantsByOrder(ctx, o.ID)
		for _, g := range gs {
			grants[g.ID] = g
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(ls)-1; i < j; i, j = i+1, j-1 {
		ls[i], ls[j] = ls[j], ls[i]
	}
	return ls, grants
}

var generatedKey = regexp.MustCompile(`^[` + vend.KeyAlphabet + `]{5}(-[` + vend.KeyAlphabet + `]{5}){3}$`)

func testLicenses(t *testing.T, open opener) {
	t.Run("one key per unit, issued with the grant, once: 100 copies of the payment at once", func(t *testing.T) {
		t.Parallel()
		db := open(t)
		led := ledger.New(db)
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() { apply(t, led, appPaid("T1", 3)) })
		}
		wg.Wait()
		ls, grants := licensesOf(t, db, "T1")
		if len(ls) != 3 {
			t.Fatalf("%d keys for 3 units, want 3", len(ls))
		}
		seen := map[string]bool{}
		for i, l := range ls {
			g := grants[l.GrantID]
			if g == nil || l.Unit != i || l.ActivationLimit != 2 || !generatedKey.MatchString(l.Key) || seen[l.Key] ||
				!l.ExpiresAt.Equal(g.CreatedAt.Add(365*24*time.Hour)) {
				t.Errorf("key %d: %+v (grant %+v)", i, l, g)
			}
			seen[l.Key] = true
			if !g.UpdatesUntil.Equal(g.CreatedAt.Add(30 * 24 * time.Hour)) {
				t.Errorf("grant updates until %v, want 30 days after %v", g.UpdatesUntil, g.CreatedAt)
			}
		}
	})
	t.Run("a product without licences gets none", func(t *testing.T) {
		t.Parallel()
		db := open(t)
		apply(t, ledger.New(db), paid("T1"))
		if ls, _ := licensesOf(t, db, "T1"); len(ls) != 0 {
			t.Errorf("%d keys for an e-book", len(ls))
		}
	})
	t.Run("more units than keys per item: refused", func(t *testing.T) {
		t.Parallel()
		db := open(t)
		_, res := apply(t, ledger.New(db), appPaid("T1", vend.MaxKeysPerItem+1))
		if res.Verdict != vend.VerdictRejected {
			t.Errorf("%d units: %s %s, want rejected", vend.MaxKeysPerItem+1, res.Verdict, res.Reason)
		}
	})
	t.Run("keys follow the money: a refund disables, a cancelled reversal restores, a late payment revives nothing", func(t *testing.T) {
		t.Parallel()
		db := open(t)
		led := ledger.New(db)
		status := func(when string, want vend.LicenseStatus) {
			t.Helper()
			ls, grants := licensesOf(t, db, "T1")
			for _, l := range ls {
				if got := l.Status(grants[l.GrantID], time.Now()); got != want {
					t.Errorf("%s: key %d is %s, want %s", when, l.Unit, got, want)
				}
			}
		}
		apply(t, led, appPaid("T1", 1))
		status("paid", vend.LicenseInactive)
		apply(t, led, reversedEv("B1", "T1"))
		status("charged back", vend.LicenseDisabled)
		apply(t, led, restoreEv("C1", "T1"))
		status("reversal cancelled", vend.LicenseInactive)
		apply(t, led, refundEv("R1", "T1", 4900))
		status("refunded", vend.LicenseDisabled)
		apply(t, led, with(appPaid("T1", 1), func(ev *vend.Event) { ev.Key = "T1/Completed-again" }))
		status("a late payment after the refund", vend.LicenseDisabled)
		if ls, _ := licensesOf(t, db, "T1"); len(ls) != 1 {
			t.Errorf("%d keys after all that, want the one", len(ls))
		}
	})
}

func TestLedger_Licenses(t *testing.T) { onEveryStore(t, testLicenses) }

// listedPaid is a Completed payment of n units of "listed", whose keys come
// from the seller's list.
func listedPaid(txnID string, n int) vend.Event {
	ev := event(vend.EventPayment, txnID, "Completed")
	ev.Items = []vend.EventItem{{ProductID: "listed", Name: "Listed app", Quantity: n, Amount: 2900 * vend.Amount(n)}}
	ev.Total = 2900 * vend.Amount(n)
	return ev
}

func testLicenseList(t *testing.T, open opener) {
	db := open(t)
	led := ledger.New(db)
	led.Mail, led.OwnerEmail = true, "owner@example.com"
	r, err := led.ImportLicenseKeys(ctx, "user:alice", "listed", []string{"LIST-1", "LIST-2", "LIST-3"})
	if err != nil || r.Added != 3 || r.Unused != 3 {
		t.Fatalf("import: %+v %v", r, err)
	}
	if _, err := led.ImportLicenseKeys(ctx, "user:alice", "app", []string{"X"}); vend.ErrorCode(err) != vend.EINVALID {
		t.Errorf("keys for a product that generates its own: %v", err)
	}
	owner := func() []string {
		var out []string
		err := db.View(ctx, func(tx store.Tx) error {
			ms, err := tx.FindMails(ctx, store.MailFilter{Limit: 100})
			for _, m := range ms {
				if m.Kind == vend.MailKeysLow {
					out = append(out, m.Data[vend.MailDataRemaining]+"/"+m.Data[vend.MailDataWaiting])
				}
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	keysOf := func(txn string) []string {
		ls, _ := licensesOf(t, db, txn)
		var out []string
		for _, l := range ls {
			out = append(out, l.Key)
		}
		return out
	}
	// 3 → 2 left: not below the low stock of 2, no notice.
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { apply(t, led, listedPaid("L1", 1)) })
	}
	wg.Wait()
	if k := keysOf("L1"); len(k) != 1 || k[0] != "LIST-1" || len(owner()) != 0 {
		t.Fatalf("first sale, 20 copies: keys %v, owner notices %v", k, owner())
	}
	// 2 → 1: below 2, one notice.
	apply(t, led, listedPaid("L2", 1))
	if n := owner(); len(n) != 1 || n[0] != "1/0" {
		t.Errorf("owner notices %v, want one with 1 left", n)
	}
	// Two units, one key left: one issued, one waits; the owner hears of it.
	apply(t, led, listedPaid("L3", 2))
	if k := keysOf("L3"); len(k) != 1 || k[0] != "LIST-3" {
		t.Errorf("L3's keys %v, want LIST-3 and one waiting", k)
	}
	if n := owner(); len(n) != 2 {
		t.Errorf("owner notices %v, want a second about the waiting unit", n)
	}
	var waiting []store.WaitingItem
	db.View(ctx, func(tx store.Tx) error {
		var err error
		waiting, err = tx.FindWaitingItems(ctx, "", 10)
		return err
	})
	if len(waiting) != 1 || waiting[0].Have != 1 || waiting[0].Item.Quantity != 2 {
		t.Fatalf("waiting %+v", waiting)
	}
	// New keys: the waiting unit gets one at once, and its buyer a mail.
	r, err = led.ImportLicenseKeys(ctx, "user:alice", "listed", []string{"LIST-3", "list-4", "LIST-5"})
	if err != nil || r.Added != 2 || r.Duplicates != 1 || r.Assigned != 1 || r.Unused != 1 {
		t.Fatalf("second import: %+v %v", r, err)
	}
	if k := keysOf("L3"); len(k) != 2 || k[1] != "list-4" {
		t.Errorf("L3's keys after the import %v", k)
	}
	db.View(ctx, func(tx store.Tx) error {
		var err error
		waiting, err = tx.FindWaitingItems(ctx, "", 10)
		return err
	})
	if len(waiting) != 0 {
		t.Errorf("still waiting after the import: %+v", waiting)
	}
	var mailed []string
	db.View(ctx, func(tx store.Tx) error {
		ms, err := tx.FindMails(ctx, store.MailFilter{Limit: 100})
		for _, m := range ms {
			if m.Kind == vend.MailLicenseKeys {
				mailed = append(mailed, m.To)
			}
		}
		return err
	})
	if len(mailed) != 1 || mailed[0] != "buyer@example.com" {
		t.Errorf("license-keys mails %v, want one to the buyer", mailed)
	}
	// A refund disables listed keys like generated ones.
	apply(t, led, refundEv("R3", "L3", 5800))
	ls, grants := licensesOf(t, db, "L3")
	for _, l := range ls {
		if st := l.Status(grants[l.GrantID], time.Now()); st != vend.LicenseDisabled {
			t.Errorf("key %s after the refund: %s", l.Key, st)
		}
	}
}

func TestLedger_LicenseList(t *testing.T) { onEveryStore(t, testLicenseList) }
