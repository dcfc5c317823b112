package storetest

import (
	"errors"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

func mustEndpoint(tb testing.TB, db store.DB, url string, events ...vend.WebhookEvent) *vend.WebhookEndpoint {
	tb.Helper()
	e := &vend.WebhookEndpoint{URL: url, Events: events, Secret: "whsec_" + url}
	update(tb, db, func(tx store.Tx) error { return tx.CreateEndpoint(ctx, e) })
	return e
}

func mustDelivery(tb testing.TB, db store.DB, e *vend.WebhookEndpoint, msg string) *vend.WebhookDelivery {
	tb.Helper()
	d := &vend.WebhookDelivery{EndpointID: e.ID, MessageID: msg, Event: vend.HookOrderPaid, Payload: []byte(`{"type":"order.paid"}`)}
	update(tb, db, func(tx store.Tx) error { return tx.CreateDelivery(ctx, d) })
	return d
}

func claimDeliveries(tb testing.TB, db store.DB, lease time.Duration) []string {
	tb.Helper()
	var got []*vend.WebhookDelivery
	update(tb, db, func(tx store.Tx) error {
		var err error
		got, err = tx.ClaimDeliveries(ctx, 10, lease)
		return err
	})
	ids := []string{}
	for _, d := range got {
		ids = append(ids, d.MessageID)
	}
	return ids
}

// finish records a delivery's outcome, which ends its claim.
func finish(tb testing.TB, db store.DB, msg string, status vend.WebhookStatus, next time.Time) {
	tb.Helper()
	update(tb, db, func(tx store.Tx) error {
		ds, err := tx.FindDeliveries(ctx, store.DeliveryFilter{})
		if err != nil {
			return err
		}
		for _, d := range ds {
			if d.MessageID == msg {
				d.Status, d.NextAttempt, d.Attempts = status, next, d.Attempts+1
				return tx.UpdateDelivery(ctx, d)
			}
		}
		return errors.New("no delivery " + msg)
	})
}

func testWebhooks(t *testing.T, open Opener) {
	subtests(t, open, map[string]func(t *testing.T, db store.DB){
		"endpoints round-trip, update, list oldest first and delete with their deliveries": func(t *testing.T, db store.DB) {
			a := mustEndpoint(t, db, "https://a.example/hook", vend.HookOrderPaid, vend.HookDownloadCompleted)
			b := mustEndpoint(t, db, "https://b.example/hook", vend.HookAccessRevoked)
			a.Description, a.Disabled, a.DisabledReason = "CRM", true, "failed"
			a.PreviousSecret, a.PreviousUntil = "whsec_old", time.UnixMilli(time.Now().Add(time.Hour).UnixMilli())
			update(t, db, func(tx store.Tx) error { return tx.UpdateEndpoint(ctx, a) })
			var got []*vend.WebhookEndpoint
			view(t, db, func(tx store.Tx) error {
				var err error
				got, err = tx.FindEndpoints(ctx)
				return err
			})
			if len(got) != 2 || got[0].ID != a.ID || got[1].ID != b.ID {
				t.Fatalf("FindEndpoints = %v, want a then b", got)
			}
			g := got[0]
			if g.URL != a.URL || g.Description != "CRM" || !g.Disabled || g.DisabledReason != "failed" || g.Secret != a.Secret ||
				g.PreviousSecret != "whsec_old" || !g.PreviousUntil.Equal(a.PreviousUntil) ||
				!reflect.DeepEqual(g.Events, []vend.WebhookEvent{vend.HookOrderPaid, vend.HookDownloadCompleted}) {
				t.Errorf("endpoint read back as %+v, want %+v", g, a)
			}
			d := mustDelivery(t, db, b, "msg_b1")
			update(t, db, func(tx store.Tx) error {
				return tx.CreateWebhookAttempt(ctx, &vend.WebhookAttempt{DeliveryID: d.ID, At: tx.Now(), Request: "POST", Status: 500})
			})
			update(t, db, func(tx store.Tx) error { return tx.DeleteEndpoint(ctx, b.ID) })
			err := db.View(ctx, func(tx store.Tx) error { _, err := tx.FindDelivery(ctx, d.ID); return err })
			if vend.ErrorCode(err) != vend.ENOTFOUND {
				t.Errorf("the deleted endpoint's delivery: %v, want not found", err)
			}
			err = db.View(ctx, func(tx store.Tx) error { _, err := tx.FindEndpoint(ctx, b.ID); return err })
			if vend.ErrorCode(err) != vend.ENOTFOUND {
				t.Errorf("the deleted endpoint: %v, want not found", err)
			}
		},
		"ClaimDeliveries takes only the oldest pending delivery of each enabled endpoint": func(t *testing.T, db store.DB) {
			a := mustEndpoint(t, db, "https://a.example/", vend.HookOrderPaid)
			b := mustEndpoint(t, db, "https://b.example/", vend.HookOrderPaid)
			off := mustEndpoint(t, db, "https://off.example/", vend.HookOrderPaid)
			off.Disabled = true
			update(t, db, func(tx store.Tx) error { return tx.UpdateEndpoint(ctx, off) })
			for _, m := range []struct {
				e   *vend.WebhookEndpoint
				msg string
			}{{a, "a1"}, {b, "b1"}, {a, "a2"}, {off, "off1"}} {
				mustDelivery(t, db, m.e, m.msg)
			}
			due := func() bool {
				var due bool
				view(t, db, func(tx store.Tx) error {
					var err error
					due, err = tx.DeliveriesDue(ctx)
					return err
				})
				return due
			}
			if !due() {
				t.Error("DeliveriesDue = false with a1 due")
			}
			if got := claimDeliveries(t, db, time.Hour); !reflect.DeepEqual(got, []string{"a1", "b1"}) {
				t.Fatalf("first claim %v, want a1 b1", got)
			}
			if got := claimDeliveries(t, db, time.Hour); len(got) != 0 {
				t.Errorf("a second claim while the heads are leased took %v: a2 must wait for a1", got)
			}
			// a1 fails and waits for its retry: a2 still waits behind it.
			finish(t, db, "a1", vend.WebhookPending, time.Now().Add(time.Hour))
			if finish(t, db, "b1", vend.WebhookDelivered, time.Time{}); due() {
				t.Error("DeliveriesDue = true with a1 waiting, a2 behind it and b1 delivered")
			}
			if got := claimDeliveries(t, db, time.Hour); len(got) != 0 {
				t.Errorf("with a1 waiting for a retry, claimed %v; want nothing", got)
			}
			finish(t, db, "a1", vend.WebhookDelivered, time.Time{})
			if got := claimDeliveries(t, db, time.Hour); !reflect.DeepEqual(got, []string{"a2"}) {
				t.Errorf("after a1 was delivered, claimed %v; want a2", got)
			}
		},
		"UpdateDelivery needs the claim it was given; a claim taken over since wins": func(t *testing.T, db store.DB) {
			a := mustEndpoint(t, db, "https://a.example/", vend.HookOrderPaid)
			mustDelivery(t, db, a, "a1")
			var mine, theirs []*vend.WebhookDelivery
			update(t, db, func(tx store.Tx) error {
				var err error
				mine, err = tx.ClaimDeliveries(ctx, 10, -time.Second) // runs out at once
				return err
			})
			update(t, db, func(tx store.Tx) error {
				var err error
				theirs, err = tx.ClaimDeliveries(ctx, 10, time.Hour)
				return err
			})
			if len(mine) != 1 || len(theirs) != 1 || mine[0].ClaimedUntil.Equal(theirs[0].ClaimedUntil) {
				t.Fatalf("claims %+v and %+v", mine, theirs)
			}
			mine[0].Status, mine[0].Attempts = vend.WebhookFailed, 1
			err := db.Update(ctx, func(tx store.Tx) error { return tx.UpdateDelivery(ctx, mine[0]) })
			if vend.ErrorCode(err) != vend.ECONFLICT {
				t.Errorf("saving with a claim taken over: %v, want ECONFLICT", err)
			}
			theirs[0].Status, theirs[0].Attempts, theirs[0].FirstAttempt = vend.WebhookDelivered, 1, time.UnixMilli(time.Now().UnixMilli())
			update(t, db, func(tx store.Tx) error { return tx.UpdateDelivery(ctx, theirs[0]) })
			var got *vend.WebhookDelivery
			view(t, db, func(tx store.Tx) error {
				var err error
				got, err = tx.FindDelivery(ctx, theirs[0].ID)
				return err
			})
			if got.Status != vend.WebhookDelivered || !got.FirstAttempt.Equal(theirs[0].FirstAttempt) || !got.ClaimedUntil.IsZero() {
				t.Errorf("read back %+v", got)
			}
		},
		"a failed delivery no longer holds up its endpoint": func(t *testing.T, db store.DB) {
			a := mustEndpoint(t, db, "https://a.example/", vend.HookOrderPaid)
			mustDelivery(t, db, a, "a1")
			mustDelivery(t, db, a, "a2")
			claimDeliveries(t, db, time.Hour)
			finish(t, db, "a1", vend.WebhookFailed, time.Time{})
			if got := claimDeliveries(t, db, time.Hour); !reflect.DeepEqual(got, []string{"a2"}) {
				t.Errorf("claimed %v; want a2", got)
			}
		},
		"a claim that ran out, or ReleaseDeliveries, makes the delivery due again": func(t *testing.T, db store.DB) {
			a := mustEndpoint(t, db, "https://a.example/", vend.HookOrderPaid)
			b := mustEndpoint(t, db, "https://b.example/", vend.HookOrderPaid)
			mustDelivery(t, db, a, "a1")
			mustDelivery(t, db, b, "b1")
			if got := claimDeliveries(t, db, -time.Second); len(got) != 2 { // a lease already over
				t.Fatalf("claimed %v", got)
			}
			if got := claimDeliveries(t, db, time.Hour); len(got) != 2 {
				t.Fatalf("after the lease ran out, claimed %v; want both again", got)
			}
			var n int
			update(t, db, func(tx store.Tx) error {
				var err error
				n, err = tx.ReleaseDeliveries(ctx)
				return err
			})
			if got := claimDeliveries(t, db, time.Hour); n != 2 || len(got) != 2 {
				t.Errorf("released %d, then claimed %v; want 2 and both", n, got)
			}
		},
		"FindDeliveries filters by endpoint and status, newest first, and pages": func(t *testing.T, db store.DB) {
			a := mustEndpoint(t, db, "https://a.example/", vend.HookOrderPaid)
			b := mustEndpoint(t, db, "https://b.example/", vend.HookOrderPaid)
			mustDelivery(t, db, a, "a1")
			mustDelivery(t, db, b, "b1")
			mustDelivery(t, db, a, "a2")
			finish(t, db, "a1", vend.WebhookDelivered, time.Time{})
			find := func(f store.DeliveryFilter) []string {
				var ds []*vend.WebhookDelivery
				view(t, db, func(tx store.Tx) error {
					var err error
					ds, err = tx.FindDeliveries(ctx, f)
					return err
				})
				out := []string{}
				for _, d := range ds {
					out = append(out, d.MessageID)
				}
				return out
			}
			pending, delivered := vend.WebhookPending, vend.WebhookDelivered
			all := find(store.DeliveryFilter{})
			for _, c := range []struct {
				f    store.DeliveryFilter
				want []string
			}{
				{store.DeliveryFilter{}, []string{"a2", "b1", "a1"}},
				{store.DeliveryFilter{EndpointID: &a.ID}, []string{"a2", "a1"}},
				{store.DeliveryFilter{Status: &pending}, []string{"a2", "b1"}},
				{store.DeliveryFilter{EndpointID: &a.ID, Status: &delivered}, []string{"a1"}},
				{store.DeliveryFilter{Limit: 1}, []string{"a2"}},
			} {
				if got := find(c.f); !reflect.DeepEqual(got, c.want) {
					t.Errorf("FindDeliveries(%+v) = %v, want %v", c.f, got, c.want)
				}
			}
			var a2 *vend.WebhookDelivery
			view(t, db, func(tx store.Tx) error {
				ds, err := tx.FindDeliveries(ctx, store.DeliveryFilter{Limit: 1})
				a2 = ds[0]
				return err
			})
			if got := find(store.DeliveryFilter{Before: a2.ID}); !reflect.DeepEqual(got, all[1:]) {
				t.Errorf("the page before a2: %v, want %v", got, all[1:])
			}
		},
		"a delivery and its attempts round-trip": func(t *testing.T, db store.DB) {
			a := mustEndpoint(t, db, "https://a.example/", vend.HookOrderPaid)
			d := mustDelivery(t, db, a, "msg_1")
			at := time.UnixMilli(time.Now().UnixMilli())
			for i, st := range []int{0, 204} {
				update(t, db, func(tx store.Tx) error {
					return tx.CreateWebhookAttempt(ctx, &vend.WebhookAttempt{DeliveryID: d.ID, At: at.Add(time.Duration(i) * time.Second),
						Request: "POST https://a.example/", Status: st, Response: "answer", Duration: 1500 * time.Millisecond})
				})
			}
			d.Status, d.Attempts, d.LastStatus, d.LastError, d.DeliveredAt = vend.WebhookDelivered, 2, 204, "", at
			update(t, db, func(tx store.Tx) error { return tx.UpdateDelivery(ctx, d) })
			var got *vend.WebhookDelivery
			var attempts []*vend.WebhookAttempt
			view(t, db, func(tx store.Tx) error {
				var err error
				if got, err = tx.FindDelivery(ctx, d.ID); err != nil {
					return err
				}
				attempts, err = tx.FindWebhookAttempts(ctx, d.ID)
				return err
			})
			if got.Status != vend.WebhookDelivered || got.Attempts != 2 || got.LastStatus != 204 || !got.DeliveredAt.Equal(at) ||
				string(got.Payload) != string(d.Payload) || got.Event != vend.HookOrderPaid || got.MessageID != "msg_1" {
				t.Errorf("delivery read back as %+v", got)
			}
			if len(attempts) != 2 || attempts[0].Status != 0 || attempts[1].Status != 204 || attempts[1].Duration != 1500*time.Millisecond ||
				!attempts[1].At.Equal(at.Add(time.Second)) || attempts[0].Request != "POST https://a.example/" {
				t.Errorf("attempts read back as %+v", attempts)
			}
		},
		"EnqueueWebhooks writes one delivery per endpoint that wants the event, one turned off too": func(t *testing.T, db store.DB) {
			mustEndpoint(t, db, "https://paid.example/", vend.HookOrderPaid)
			mustEndpoint(t, db, "https://both.example/", vend.HookOrderPaid, vend.HookOrderRefunded)
			mustEndpoint(t, db, "https://other.example/", vend.HookDownloadCompleted)
			off := mustEndpoint(t, db, "https://off.example/", vend.HookOrderPaid)
			off.Disabled = true
			update(t, db, func(tx store.Tx) error { return tx.UpdateEndpoint(ctx, off) })
			var n int
			update(t, db, func(tx store.Tx) error {
				var err error
				n, err = store.EnqueueWebhooks(ctx, tx, vend.HookOrderPaid, map[string]any{"order": map[string]int{"id": 7}})
				return err
			})
			var ds []*vend.WebhookDelivery
			view(t, db, func(tx store.Tx) error {
				var err error
				ds, err = tx.FindDeliveries(ctx, store.DeliveryFilter{})
				return err
			})
			if n != 3 || len(ds) != 3 || ds[0].MessageID == ds[1].MessageID || ds[0].EndpointID != off.ID {
				t.Fatalf("wrote %d deliveries %+v; want 3 with their own message ids, the last for the endpoint turned off", n, ds)
			}
			if s := string(ds[0].Payload); !regexp.MustCompile(`^\{"type":"order.paid","timestamp":"[^"]+Z","data":\{"order":\{"id":7\}\}\}$`).MatchString(s) {
				t.Errorf("payload %s", s)
			}
		},
	})
}
