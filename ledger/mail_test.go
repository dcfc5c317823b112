package ledger_test

import (
	"reflect"
	"sort"
	"sync"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/store"
)

// mailsOf lists the outbox as "kind to" lines, sorted.
func mailsOf(t *testing.T, db store.DB) []string {
	t.Helper()
	var out []string
	err := db.View(ctx, func(tx store.Tx) error {
		ms, err := tx.FindMails(ctx, store.MailFilter{Limit: 1000})
		for _, m := range ms {
			out = append(out, string(m.Kind)+" "+m.To)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func testMail(t *testing.T, open opener) {
	const owner = "owner@example.com"
	tests := []struct {
		name   string
		events []vend.Event
		want   []string
	}{
		{"a payment: receipt to the buyer, sale notice to the owner", []vend.Event{paid("T1")},
			[]string{"owner-sale " + owner, "receipt buyer@example.com"}},
		{"the same payment again: nothing more", []vend.Event{paid("T1"), paid("T1")},
			[]string{"owner-sale " + owner, "receipt buyer@example.com"}},
		{"pending, then completed: a pending notice, then the receipt", []vend.Event{pendingEv("T1", "echeck"), paid("T1")},
			[]string{"owner-sale " + owner, "pending buyer@example.com", "receipt buyer@example.com"}},
		{"a refund: access ended to the buyer, a refund notice to the owner", []vend.Event{paid("T1"), refundEv("R1", "T1", 1995)},
			[]string{"ended buyer@example.com", "owner-refund " + owner, "owner-sale " + owner, "receipt buyer@example.com"}},
		{"a partial refund keeps access: only the owner hears of it", []vend.Event{paid("T1"), refundEv("R1", "T1", 500)},
			[]string{"owner-refund " + owner, "owner-sale " + owner, "receipt buyer@example.com"}},
		{"a chargeback", []vend.Event{paid("T1"), reversedEv("B1", "T1")},
			[]string{"ended buyer@example.com", "owner-chargeback " + owner, "owner-sale " + owner, "receipt buyer@example.com"}},
		{"a restore gives access back without a second receipt", []vend.Event{paid("T1"), reversedEv("B1", "T1"), restoreEv("C1", "T1")},
			[]string{"ended buyer@example.com", "owner-chargeback " + owner, "owner-sale " + owner, "receipt buyer@example.com"}},
		{"a refused payment sends nothing", []vend.Event{with(paid("T1"), func(ev *vend.Event) { ev.Total, ev.Items[0].Amount = 1, 1 })},
			nil},
		{"upsells: a receipt per item's payment", []vend.Event{itemPaid("P1", "ebook", 1995), itemPaid("P2", "course", 990)},
			[]string{"owner-sale " + owner, "owner-sale " + owner, "receipt kunde@example.de", "receipt kunde@example.de"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := open(t)
			led := ledger.New(db)
			led.Mail, led.OwnerEmail = true, owner
			for _, ev := range tt.events {
				apply(t, led, ev)
			}
			if got := mailsOf(t, db); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("outbox\n\t%q\nwant\n\t%q", got, tt.want)
			}
		})
	}
	t.Run("mail off: nothing enqueued", func(t *testing.T) {
		db := open(t)
		apply(t, ledger.New(db), paid("T1"))
		if got := mailsOf(t, db); len(got) != 0 {
			t.Errorf("outbox %q, want empty", got)
		}
	})
	t.Run("100 concurrent copies of a payment: one receipt, and the worker is woken", func(t *testing.T) {
		db := open(t)
		led := ledger.New(db)
		var mu sync.Mutex
		kicks := 0
		led.Mail, led.Mailed = true, func() { mu.Lock(); kicks++; mu.Unlock() }
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() { apply(t, led, paid("T1")) })
		}
		wg.Wait()
		if got := mailsOf(t, db); !reflect.DeepEqual(got, []string{"receipt buyer@example.com"}) {
			t.Errorf("outbox %q, want one receipt", got)
		}
		if kicks != 1 {
			t.Errorf("worker woken %d times, want 1", kicks)
		}
	})
}

func TestLedger_Mail(t *testing.T) { onEveryStore(t, testMail) }

// testOrderLanguage: the order keeps the buyer's language from the first
// message that gives one, mail or no mail, and the buyer's later mails speak
// it when their own message does not say it.
func testOrderLanguage(t *testing.T, open opener) {
	german := func(ev vend.Event) vend.Event { return with(ev, func(ev *vend.Event) { ev.Language = "de-DE" }) }
	orderLanguage := func(t *testing.T, db store.DB) string {
		t.Helper()
		var lang string
		err := db.View(ctx, func(tx store.Tx) error {
			o, err := tx.FindOrderByRef(ctx, "paypal", "T1")
			if err == nil {
				lang = o.Language
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return lang
	}
	tests := []struct {
		name   string
		events []vend.Event
		want   string
	}{
		{"from the payment, with mail off", []vend.Event{german(paid("T1"))}, "de-DE"},
		{"none given: none kept", []vend.Event{paid("T1")}, ""},
		{"learnt from a later message", []vend.Event{paid("T1"), german(refundEv("R1", "T1", 500))}, "de-DE"},
		{"the first one given stays", []vend.Event{german(paid("T1")),
			with(refundEv("R1", "T1", 500), func(ev *vend.Event) { ev.Language = "en" })}, "de-DE"},
		{"a field that is no language tag is not kept", []vend.Event{
			with(paid("T1"), func(ev *vend.Event) { ev.Language = "<b>Deutsch</b>" })}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := open(t)
			led := ledger.New(db)
			for _, ev := range tt.events {
				apply(t, led, ev)
			}
			if got := orderLanguage(t, db); got != tt.want {
				t.Errorf("order language %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("a refund that does not say it: the access-ended mail is in the order's language", func(t *testing.T) {
		t.Parallel()
		db := open(t)
		led := ledger.New(db)
		led.Mail = true
		apply(t, led, german(paid("T1")))
		apply(t, led, refundEv("R1", "T1", 1995))
		err := db.View(ctx, func(tx store.Tx) error {
			ms, err := tx.FindMails(ctx, store.MailFilter{Limit: 10})
			for _, m := range ms {
				if m.Language != "de-DE" {
					t.Errorf("%s mail in %q, want de-DE", m.Kind, m.Language)
				}
			}
			if len(ms) != 2 {
				t.Errorf("%d mails, want receipt and ended", len(ms))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestLedger_OrderLanguage(t *testing.T) { onEveryStore(t, testOrderLanguage) }
