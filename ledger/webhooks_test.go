package ledger_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/webhook/webhooktest"
)

// testWebhooks: every change a seller's system may be told of writes its
// deliveries in the transaction of the change, and only then.
func testWebhooks(t *testing.T, open opener) {
	db := open(t)
	led := ledger.New(db)
	all := &vend.WebhookEndpoint{URL: "https://crm.example/hook", Events: vend.WebhookEvents(), Secret: "whsec_x"}
	paidOnly := &vend.WebhookEndpoint{URL: "https://mail.example/hook", Events: []vend.WebhookEvent{vend.HookOrderPaid}, Secret: "whsec_y"}
	err := db.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateEndpoint(ctx, all); err != nil {
			return err
		}
		return tx.CreateEndpoint(ctx, paidOnly)
	})
	if err != nil {
		t.Fatal(err)
	}
	events := func(e *vend.WebhookEndpoint) []vend.WebhookEvent {
		var ds []*vend.WebhookDelivery
		err := db.View(ctx, func(tx store.Tx) error {
			var err error
			ds, err = tx.FindDeliveries(ctx, store.DeliveryFilter{EndpointID: &e.ID})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		out := []vend.WebhookEvent{}
		for i := len(ds) - 1; i >= 0; i-- {
			out = append(out, ds[i].Event)
			webhooktest.CheckWebhookPayload(t, ds[i].Payload)
		}
		return out
	}

	apply(t, led, pendingEv("T1", "echeck"))
	if got := events(all); len(got) != 0 {
		t.Errorf("a pending payment told %v", got)
	}
	apply(t, led, paid("T1"))
	apply(t, led, paid("T1")) // a duplicate changes nothing, so tells nothing
	var g *vend.Grant
	err = db.View(ctx, func(tx store.Tx) error {
		gs, err := tx.FindGrantsByOrder(ctx, 1)
		if err == nil {
			g = gs[0]
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := led.ChangeGrant(ctx, "user:alice", g.ID, ledger.GrantRevoke, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := led.ChangeGrant(ctx, "user:alice", g.ID, ledger.GrantReset, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := led.ChangeGrant(ctx, "user:alice", g.ID, ledger.GrantRestore, time.Time{}); err != nil {
		t.Fatal(err)
	}
	apply(t, led, reversedEv("B1", "T1"))
	apply(t, led, restoreEv("C1", "T1"))
	apply(t, led, refundEv("R1", "T1", -1995))
	want := []vend.WebhookEvent{vend.HookOrderPaid, vend.HookAccessRevoked, vend.HookAccessRestored,
		vend.HookOrderChargedBack, vend.HookAccessRevoked, vend.HookOrderPaid, vend.HookAccessRestored,
		vend.HookOrderRefunded, vend.HookAccessRevoked}
	if got := events(all); !reflect.DeepEqual(got, want) {
		t.Errorf("events told:\n got %v\nwant %v", got, want)
	}
	if got := events(paidOnly); !reflect.DeepEqual(got, []vend.WebhookEvent{vend.HookOrderPaid, vend.HookOrderPaid}) {
		t.Errorf("the order.paid endpoint was told %v", got)
	}

	// order.paid carries the order with its items, amounts in cents.
	var first *vend.WebhookDelivery
	err = db.View(ctx, func(tx store.Tx) error {
		ds, err := tx.FindDeliveries(ctx, store.DeliveryFilter{EndpointID: &paidOnly.ID})
		if err == nil {
			first = ds[len(ds)-1]
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Type string
		Data struct {
			Order struct {
				ID    int64
				Total int64
				Buyer struct{ Email string }
				Items []struct {
					ProductID string `json:"product_id"`
					Amount    int64
				}
			}
		}
	}
	if err := json.Unmarshal(first.Payload, &body); err != nil {
		t.Fatal(err)
	}
	o := body.Data.Order
	if body.Type != "order.paid" || o.ID != 1 || o.Total != 1995 || o.Buyer.Email != "buyer@example.com" ||
		len(o.Items) != 1 || o.Items[0].ProductID != "ebook" || o.Items[0].Amount != 1995 {
		t.Errorf("order.paid body: %s", first.Payload)
	}

	// Deleting the order ends its access: told once.
	if _, err := led.ChangeGrant(ctx, "user:alice", g.ID, ledger.GrantRestore, time.Time{}); err != nil {
		t.Fatal(err)
	}
	n := len(events(all))
	if _, err := led.DeleteOrder(ctx, "user:alice", 1); err != nil {
		t.Fatal(err)
	}
	if got := events(all)[n:]; !reflect.DeepEqual(got, []vend.WebhookEvent{vend.HookAccessRevoked}) {
		t.Errorf("deleting the order told %v", got)
	}
}

func TestLedger_Webhooks(t *testing.T) { onEveryStore(t, testWebhooks) }
