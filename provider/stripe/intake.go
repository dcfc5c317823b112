package stripe

import (
	"context"
	"net/http"
	"time"

	"github.com/vend-shop/vend"
)

// Intake is Stripe's side of vend's intake: events posted to /webhooks/stripe,
// signed with the endpoint's signing secret. Stripe counts any 2xx as
// delivered and resends anything else for three days.
type Intake struct {
	Secret string // the endpoint's signing secret; "" refuses every event
	Config Config
}

var _ vend.Provider = (*Intake)(nil)

func (in *Intake) Info() vend.ProviderInfo {
	return vend.ProviderInfo{Name: Provider, Label: "Stripe", Path: "/webhooks/stripe", MediaType: "application/json",
		MaxBody:    1 << 20, // an event holds one object, a few KB; expanded ones more
		Configured: in.Secret != ""}
}

// Verify checks the Stripe-Signature header.
func (in *Intake) Verify(_ context.Context, n *vend.Notification, now time.Time) error {
	if in.Secret == "" {
		return vend.NoSecret("signing secret", "stripe.secret")
	}
	return VerifySignature(http.Header(n.Headers).Get("Stripe-Signature"), n.Body, in.Secret, now)
}

func (in *Intake) Normalize(n *vend.Notification) (vend.Event, error) {
	return Normalize(n.Body, in.Config)
}

// Answer says what vend made of the event, or why it refused it.
func (in *Intake) Answer(o *vend.Outcome) vend.Reply { return vend.JSONReply(o) }

var _ vend.Simulator = (*Intake)(nil)

// SimulatePayment makes the checkout.session.completed event Stripe sends when
// a buyer pays for p, signed with the secret.
func (in *Intake) SimulatePayment(p *vend.Product, now time.Time) (string, *vend.Notification, error) {
	sim := Sim{PaymentIntent: NewID("pi"), ClientReferenceID: p.ID, Amount: p.Price, Currency: p.Currency,
		Email: "buyer@example.com", Name: "Demo Buyer", Live: !in.Config.Sandbox}
	body, sig, err := sim.Signed(in.Secret, now)
	if err != nil {
		return "", nil, err
	}
	h := map[string][]string{"Content-Type": {"application/json"}, "Stripe-Signature": {sig}}
	return sim.PaymentIntent, &vend.Notification{Provider: Provider, Headers: h, Body: body}, nil
}
