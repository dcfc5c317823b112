package paypal

import (
	"net/http"
	"net/url"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/provider/form"
)

// DemoCheckout plays PayPal for vend demo: the Buy Now buttons of the demo
// store, the IPNs a payment sends, and the postback verifier that answers
// VERIFIED for the messages it made (it serves HTTP as DemoVerifier).
type DemoCheckout struct {
	Secret   []byte // signs simulated messages (see DemoVerifier)
	Receiver string // the seller's PayPal address the payments go to
}

// Button is the Buy Now form of p, pointing at the vend at baseURL.
func (d *DemoCheckout) Button(p *vend.Product, baseURL string) any {
	return Button(p, d.Receiver, baseURL)
}

// Pay is what paying a Buy Now form (with the checkout page's method: an
// eCheck, or at once) makes PayPal send: the query it returns the buyer to the
// shop with (tx, st, cm) and the IPNs, in order: one Completed, or for an
// eCheck Pending and then Completed.
func (d *DemoCheckout) Pay(f url.Values) (url.Values, []*vend.Notification, error) {
	amount, err := vend.ParseAmount(f.Get("amount"))
	if err != nil {
		return nil, nil, vend.Errorf(vend.EINVALID, "Bad amount.")
	}
	email := f.Get("payer_email")
	if email == "" {
		email = "buyer@example.com"
	}
	sim := Sim{
		TxnID: NewTxnID(), ProductID: f.Get("item_number"), ProductName: f.Get("item_name"), Amount: amount,
		Currency: f.Get("currency_code"), PayerEmail: email, FirstName: "Demo", LastName: "Buyer",
		Receiver: f.Get("business"), Custom: f.Get("custom"), Test: true, Status: "Completed",
	}
	steps := []Sim{sim}
	if f.Get("method") == "echeck" {
		pending := sim
		pending.Status, pending.PendingReason = "Pending", "echeck"
		steps = []Sim{pending, sim}
	}
	msgs := make([]*vend.Notification, len(steps))
	for i, s := range steps {
		msgs[i] = &vend.Notification{Provider: Provider, Headers: map[string][]string{"Content-Type": {form.MediaType}},
			Body: s.Body(d.Secret)}
	}
	ret := url.Values{"tx": {sim.TxnID}, "st": {steps[0].Status}, "cm": {sim.Custom}}
	return ret, msgs, nil
}

// ServeHTTP answers PayPal's postback for the messages it made.
func (d *DemoCheckout) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	DemoVerifier{Secret: d.Secret}.ServeHTTP(w, r)
}
