package storetest

import (
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// testEvidence: what the chargeback evidence pack reads back.
func testEvidence(t *testing.T, open Opener) {
	subtests(t, open, map[string]func(t *testing.T, db store.DB){
		"page visits round-trip, oldest first, per grant": func(t *testing.T, db store.DB) {
			a, b := mustFixture(t, db, "a"), mustFixture(t, db, "b")
			at := time.UnixMilli(time.Now().UnixMilli())
			update(t, db, func(tx store.Tx) error {
				return tx.CreatePageVisits(ctx, []*vend.PageVisit{
					{GrantID: a.Grant.ID, At: at, IP: "203.0.113.7", UserAgent: "Firefox"},
					{GrantID: b.Grant.ID, At: at, IP: "198.51.100.1", UserAgent: "curl"},
					{GrantID: a.Grant.ID, At: at.Add(time.Minute), IP: "2001:db8::1", UserAgent: "Safari <iPhone>"},
				})
			})
			var vs []*vend.PageVisit
			view(t, db, func(tx store.Tx) error {
				var err error
				vs, err = tx.FindPageVisits(ctx, a.Grant.ID, 0)
				return err
			})
			if len(vs) != 2 || vs[0].IP != "203.0.113.7" || !vs[0].At.Equal(at) || vs[1].UserAgent != "Safari <iPhone>" ||
				!vs[1].At.Equal(at.Add(time.Minute)) || vs[0].GrantID != a.Grant.ID || vs[0].ID == 0 {
				t.Errorf("visits of a: %+v", vs)
			}
			view(t, db, func(tx store.Tx) error {
				var err error
				vs, err = tx.FindPageVisits(ctx, a.Grant.ID, 1)
				return err
			})
			if len(vs) != 1 || vs[0].IP != "203.0.113.7" {
				t.Errorf("the first visit of a: %+v", vs)
			}
		},
		"an order keeps its terms version; a sent mail its Message-ID": func(t *testing.T, db store.DB) {
			p := mustProduct(t, db, "p")
			o := &vend.Order{Provider: "paypal", Ref: "T", Buyer: vend.Buyer{Email: "b@example.com"}, Currency: "USD", Total: p.Price,
				Status: vend.OrderPaid, TermsVersion: "2026-11"}
			update(t, db, func(tx store.Tx) error { return tx.CreateOrder(ctx, o) })
			m := &vend.Mail{Key: "receipt|1", Kind: vend.MailReceipt, To: "b@example.com", OrderID: o.ID}
			enqueue(t, db, m)
			m.Status, m.SentAt, m.Attempts, m.MessageID = vend.MailSent, time.UnixMilli(time.Now().UnixMilli()), 1, "abc@shop.example"
			update(t, db, func(tx store.Tx) error { return tx.UpdateMail(ctx, m) })
			view(t, db, func(tx store.Tx) error {
				got, err := tx.FindOrderByID(ctx, o.ID)
				if err != nil {
					return err
				}
				if got.TermsVersion != "2026-11" {
					t.Errorf("terms version %q", got.TermsVersion)
				}
				ms, err := tx.FindMails(ctx, store.MailFilter{OrderID: &o.ID})
				if len(ms) != 1 || ms[0].MessageID != "abc@shop.example" {
					t.Errorf("mails %+v", ms)
				}
				return err
			})
		},
	})
}
