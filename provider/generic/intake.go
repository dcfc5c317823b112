package generic

import (
	"context"
	"crypto/rand"
	"net/http"
	"time"

	"github.com/vend-shop/vend"
)

// Intake is the Standard Webhooks side of vend's intake: vend's own small
// JSON event format posted to /webhooks/generic, for any shop that can send a
// webhook. Any 2xx counts as delivered; senders resend the rest.
type Intake struct {
	Secret string // whsec_ + base64, or the base64 alone; "" refuses every message
	Config Config
}

var _ vend.Provider = (*Intake)(nil)

func (in *Intake) Info() vend.ProviderInfo {
	return vend.ProviderInfo{Name: Provider, Label: "Standard Webhooks", Path: "/webhooks/generic", MediaType: "application/json",
		MaxBody:    1 << 20, // an order of many items stays far below
		Configured: in.Secret != ""}
}

// Verify checks the webhook-id, webhook-timestamp and webhook-signature headers.
func (in *Intake) Verify(_ context.Context, n *vend.Notification, now time.Time) error {
	if in.Secret == "" {
		return vend.NoSecret("secret", "generic.secret")
	}
	return Verify(http.Header(n.Headers), n.Body, in.Secret, now)
}

func (in *Intake) Normalize(n *vend.Notification) (vend.Event, error) {
	return Normalize(http.Header(n.Headers).Get(HeaderID), n.Body, in.Config)
}

// Answer says what vend made of the message, or why it refused it.
func (in *Intake) Answer(o *vend.Outcome) vend.Reply { return vend.JSONReply(o) }

var _ vend.Simulator = (*Intake)(nil)

// SimulatePayment makes the order.paid message a shop sends when a buyer pays
// for p, signed with the secret.
func (in *Intake) SimulatePayment(p *vend.Product, now time.Time) (string, *vend.Notification, error) {
	sim := Sim{Type: TypePaid, OrderID: "demo-" + rand.Text()[:10], Currency: p.Currency, Total: p.Price,
		Items: []SimItem{{ProductID: p.ID, Name: p.Name, Amount: p.Price}}, Email: "buyer@example.com",
		Name: "Demo Buyer", Test: in.Config.Sandbox}
	h, body, err := sim.Message(in.Secret, now)
	if err != nil {
		return "", nil, err
	}
	h.Set("Content-Type", "application/json")
	return sim.OrderID, &vend.Notification{Provider: Provider, Headers: h, Body: body}, nil
}
