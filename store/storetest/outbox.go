package storetest

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

func enqueue(tb testing.TB, db store.DB, m *vend.Mail) bool {
	tb.Helper()
	var added bool
	update(tb, db, func(tx store.Tx) error {
		var err error
		added, err = tx.EnqueueMail(ctx, m)
		return err
	})
	return added
}

func claimMails(tb testing.TB, db store.DB, n int, lease time.Duration) []*vend.Mail {
	tb.Helper()
	var out []*vend.Mail
	update(tb, db, func(tx store.Tx) error {
		var err error
		out, err = tx.ClaimMails(ctx, n, lease)
		return err
	})
	return out
}

func testOutbox(t *testing.T, open Opener) {
	subtests(t, open, map[string]func(t *testing.T, db store.DB){
		"OutboxDepth counts the queued messages and finds the oldest": func(t *testing.T, db store.DB) {
			depth := func() (int, time.Time) {
				var n int
				var oldest time.Time
				view(t, db, func(tx store.Tx) error {
					var err error
					n, oldest, err = tx.OutboxDepth(ctx)
					return err
				})
				return n, oldest
			}
			if n, oldest := depth(); n != 0 || !oldest.IsZero() {
				t.Errorf("an empty outbox: %d, %v", n, oldest)
			}
			var first time.Time
			for i, key := range []string{"a", "b", "c"} {
				m := &vend.Mail{Key: key, Kind: vend.MailLinks, To: "x@example.com"}
				update(t, db, func(tx store.Tx) error {
					if i == 0 {
						first = tx.Now()
					}
					_, err := tx.EnqueueMail(ctx, m)
					return err
				})
				if i == 2 {
					m.Status = vend.MailSent
					update(t, db, func(tx store.Tx) error { return tx.UpdateMail(ctx, m) })
				}
				time.Sleep(2 * time.Millisecond)
			}
			if n, oldest := depth(); n != 2 || !sameTime(oldest, first) {
				t.Errorf("depth %d, oldest %v; want 2 and %v", n, oldest, first)
			}
		},
		"EnqueueMail stores every field once per key": func(t *testing.T, db store.DB) {
			o := createOrder(t, db, &vend.Order{Provider: "paypal", Ref: "PAY", Currency: "USD", Status: vend.OrderPaid})
			m := &vend.Mail{Key: "receipt:paypal:PAY/Completed:kunde@example.de", Kind: vend.MailReceipt, To: "kunde@example.de",
				Language: "de", OrderID: o.ID, Data: map[string]string{"reason": "echeck", "ü": "<b>"}}
			if !enqueue(t, db, m) || m.ID == 0 || m.Status != vend.MailQueued {
				t.Fatalf("first enqueue: %+v", m)
			}
			again := &vend.Mail{Key: m.Key, Kind: vend.MailReceipt, To: "other@example.com"}
			if enqueue(t, db, again) {
				t.Error("a second message with the same key was added")
			}
			var got *vend.Mail
			view(t, db, func(tx store.Tx) error {
				var err error
				got, err = tx.FindMailByID(ctx, m.ID)
				return err
			})
			if got.Key != m.Key || got.Kind != m.Kind || got.To != m.To || got.Language != "de" || got.OrderID != o.ID ||
				!reflect.DeepEqual(got.Data, m.Data) || got.Status != vend.MailQueued || got.Attempts != 0 ||
				got.NextAttempt.IsZero() || got.CreatedAt.IsZero() || !got.SentAt.IsZero() {
				t.Errorf("stored %+v, want %+v", got, m)
			}
		},
		"ClaimMails takes due messages oldest first, and hides them for the lease": func(t *testing.T, db store.DB) {
			for _, k := range []string{"a", "b", "c"} {
				enqueue(t, db, &vend.Mail{Key: k, Kind: vend.MailSale, To: "owner@example.com"})
			}
			enqueue(t, db, &vend.Mail{Key: "later", Kind: vend.MailSale, To: "owner@example.com", NextAttempt: time.Now().Add(time.Hour)})
			if got := mailKeys(claimMails(t, db, 2, time.Minute)); !reflect.DeepEqual(got, []string{"a", "b"}) {
				t.Errorf("first claim %v, want a, b", got)
			}
			if got := mailKeys(claimMails(t, db, 10, time.Minute)); !reflect.DeepEqual(got, []string{"c"}) {
				t.Errorf("second claim %v, want c (a and b are leased, later is not due)", got)
			}
			if got := claimMails(t, db, 10, time.Minute); len(got) != 0 {
				t.Errorf("third claim %v, want nothing", mailKeys(got))
			}
		},
		"a lease that ran out makes the message due again; sent and failed ones never are": func(t *testing.T, db store.DB) {
			for _, k := range []string{"sent", "failed", "retry"} {
				enqueue(t, db, &vend.Mail{Key: k, Kind: vend.MailSale, To: "owner@example.com"})
			}
			for _, m := range claimMails(t, db, 10, -time.Second) { // a lease already over
				switch m.Key {
				case "sent":
					m.Status, m.SentAt, m.Attempts = vend.MailSent, time.Now(), 1
				case "failed":
					m.Status, m.Attempts, m.LastError = vend.MailFailed, 9, "550 no such user"
				case "retry":
					m.Attempts, m.LastError = 1, "connection refused"
				}
				update(t, db, func(tx store.Tx) error { return tx.UpdateMail(ctx, m) })
			}
			got := claimMails(t, db, 10, time.Minute)
			if len(got) != 1 || got[0].Key != "retry" || got[0].Attempts != 1 || got[0].LastError != "connection refused" {
				t.Errorf("claim after updates: %+v", got)
			}
		},
		"ReleaseMails makes leased and waiting messages due now, and only queued ones": func(t *testing.T, db store.DB) {
			enqueue(t, db, &vend.Mail{Key: "leased", Kind: vend.MailSale, To: "owner@example.com"})
			enqueue(t, db, &vend.Mail{Key: "waiting", Kind: vend.MailSale, To: "owner@example.com", NextAttempt: time.Now().Add(time.Hour)})
			enqueue(t, db, &vend.Mail{Key: "sent", Kind: vend.MailSale, To: "owner@example.com", NextAttempt: time.Now().Add(time.Hour)})
			claimMails(t, db, 1, time.Hour) // "leased"
			var sent *vend.Mail
			view(t, db, func(tx store.Tx) error {
				ms, err := tx.FindMails(ctx, store.MailFilter{})
				for _, m := range ms {
					if m.Key == "sent" {
						sent = m
					}
				}
				return err
			})
			sent.Status = vend.MailSent
			update(t, db, func(tx store.Tx) error { return tx.UpdateMail(ctx, sent) })
			var n int
			update(t, db, func(tx store.Tx) error {
				var err error
				n, err = tx.ReleaseMails(ctx)
				return err
			})
			if got := mailKeys(claimMails(t, db, 10, time.Minute)); n != 2 || !reflect.DeepEqual(got, []string{"leased", "waiting"}) {
				t.Errorf("released %d, then claimed %v; want 2: leased, waiting", n, got)
			}
		},
		"FindMails filters by status, order and recipient, newest first": func(t *testing.T, db store.DB) {
			o := createOrder(t, db, &vend.Order{Provider: "paypal", Ref: "PAY", Currency: "USD", Status: vend.OrderPaid})
			enqueue(t, db, &vend.Mail{Key: "1", Kind: vend.MailReceipt, To: "Kunde@Example.de", OrderID: o.ID})
			enqueue(t, db, &vend.Mail{Key: "2", Kind: vend.MailSale, To: "owner@example.com", OrderID: o.ID})
			enqueue(t, db, &vend.Mail{Key: "3", Kind: vend.MailLinks, To: "kunde@example.de"})
			failed := vend.MailFailed
			for _, m := range claimMails(t, db, 1, time.Minute) {
				m.Status = failed
				update(t, db, func(tx store.Tx) error { return tx.UpdateMail(ctx, m) })
			}
			to := "KUNDE@example.de"
			tests := []struct {
				f    store.MailFilter
				want []string
			}{
				{store.MailFilter{}, []string{"3", "2", "1"}},
				{store.MailFilter{Limit: 1}, []string{"3"}},
				{store.MailFilter{OrderID: &o.ID}, []string{"2", "1"}},
				{store.MailFilter{To: &to}, []string{"3", "1"}},
				{store.MailFilter{Status: &failed}, []string{"1"}},
				{store.MailFilter{Since: time.Now().Add(time.Hour)}, []string{}},
			}
			for _, tt := range tests {
				var got []*vend.Mail
				view(t, db, func(tx store.Tx) error {
					var err error
					got, err = tx.FindMails(ctx, tt.f)
					return err
				})
				if keys := mailKeys(got); !reflect.DeepEqual(keys, tt.want) {
					t.Errorf("%+v: %v, want %v", tt.f, keys, tt.want)
				}
			}
		},
		"concurrent claims never hand out one message twice": func(t *testing.T, db store.DB) {
			const n = 40
			for i := range n {
				enqueue(t, db, &vend.Mail{Key: string(rune('A' + i)), Kind: vend.MailSale, To: "owner@example.com"})
			}
			var mu sync.Mutex
			seen := map[string]int{}
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for {
						got := claimMails(t, db, 3, time.Hour)
						if len(got) == 0 {
							return
						}
						mu.Lock()
						for _, m := range got {
							seen[m.Key]++
						}
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if len(seen) != n {
				t.Errorf("%d messages claimed, want %d", len(seen), n)
			}
			for k, c := range seen {
				if c != 1 {
					t.Errorf("message %s claimed %d times", k, c)
				}
			}
		},
	})
}
