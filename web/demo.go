package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/intake"
	"github.com/vend-shop/vend/store"
)

// demoPages serves the demo store of vend demo.
type demoPages struct{ *Server }

// Demo is the built-in playground of `vend demo`: a storefront whose buy buttons
// go through a simulated PayPal checkout that sends real IPNs to this server, and a
// verifier that answers like PayPal for the messages it made.
type Demo struct {
	// Checkout is the simulated PayPal (provider/paypal's DemoCheckout).
	Checkout Checkout
	// Delay is how long the simulated PayPal waits before sending the IPN, so the
	// buyer sees the return page wait for it; ClearAfter is when an eCheck clears.
	Delay, ClearAfter time.Duration
	// Stop, when closed, ends background deliveries (on shutdown).
	Stop <-chan struct{}
}

// Checkout is the simulated payment page behind the demo store's Buy Now
// buttons. It serves HTTP as the verifier of the messages it made.
type Checkout interface {
	// Button is the Buy Now form of p, for the store's template.
	Button(p *vend.Product, baseURL string) any
	// Pay is what paying a button's form makes the provider send: the query it
	// returns the buyer to /return with, and the messages, in order.
	Pay(form url.Values) (url.Values, []*vend.Notification, error)
	http.Handler
}

type demoProduct struct {
	*vend.Product
	Button any
}

func (s demoPages) handleDemoStore(w http.ResponseWriter, r *http.Request) error {
	var products []*vend.Product
	err := s.DB.View(r.Context(), func(tx store.Tx) error {
		var err error
		products, err = tx.FindProducts(r.Context())
		return err
	})
	if err != nil {
		return err
	}
	var list []demoProduct
	for _, p := range products {
		if p.Archived { // not sold any more: its payments would be refused
			continue
		}
		list = append(list, demoProduct{Product: p, Button: s.Demo.Checkout.Button(p, s.BaseURL)})
	}
	s.render(w, r, http.StatusOK, "demo-store", struct {
		view
		Products  []demoProduct
		Providers any
	}{s.buyerView("en", "Demo store"), list, s.demoProviders()})
	return nil
}

// handleDemoCheckout plays PayPal's payment page for a Buy Now form.
func (s demoPages) handleDemoCheckout(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return vend.Errorf(vend.EINVALID, "Bad form.")
	}
	s.render(w, r, http.StatusOK, "demo-checkout", struct {
		view
		Form url.Values
	}{s.buyerView("en", "Simulated PayPal checkout"), r.PostForm})
	return nil
}

// handleDemoPay "pays": it sends the IPN(s) a real PayPal would send, from the
// background like PayPal does, and returns the buyer to the shop at once.
func (s demoPages) handleDemoPay(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return vend.Errorf(vend.EINVALID, "Bad form.")
	}
	p := s.Intake.Provider(s.returning) // the provider buyers return from: PayPal
	if p == nil {
		return vend.Errorf(vend.ENOTFOUND, "The demo has no PayPal.")
	}
	ret, msgs, err := s.Demo.Checkout.Pay(r.PostForm)
	if err != nil {
		return err
	}
	// The IPN and the return always go to this vend, whatever the form says: the
	// demo must not be a way to make the server post to other hosts.
	go s.Demo.deliver(s.BaseURL+p.Info().Path, msgs)
	u := &url.URL{Path: "/return", RawQuery: ret.Encode()}
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
	return nil
}

func (d *Demo) deliver(notify string, msgs []*vend.Notification) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-d.Stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	client := &http.Client{Timeout: 30 * time.Second}
	wait := d.Delay
	for i, n := range msgs {
		if i > 0 {
			wait = d.ClearAfter
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		// Like PayPal, resend until the listener says 200, a few times.
		for try := 0; try < 5; try++ {
			if status, _, err := intake.Post(ctx, client, notify, n); err == nil && status == http.StatusOK {
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second << try):
			}
		}
	}
}

// demoProviders are the providers the demo store can buy through besides its
// simulated PayPal checkout, in the registry's order.
func (s demoPages) demoProviders() []vend.ProviderInfo {
	var out []vend.ProviderInfo
	for _, p := range s.Intake.Providers {
		if _, ok := p.(vend.Simulator); ok {
			out = append(out, p.Info())
		}
	}
	return out
}

// handleDemoProvider buys a product through one of the further providers the
// way that provider would: the message it would send, made with this server's
// own secrets, goes through the intake like one that arrived, and the buyer
// lands on the download page the ledger granted. A buyer's link (WEBSALE) is
// opened in the buyer's browser, as from the shop's order confirmation.
func (s demoPages) handleDemoProvider(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return vend.Errorf(vend.EINVALID, "Bad form.")
	}
	ctx := r.Context()
	prov := s.Intake.Provider(r.PostForm.Get("provider"))
	sim, ok := prov.(vend.Simulator)
	if !ok {
		return vend.Errorf(vend.ENOTFOUND, "The demo has no provider %q.", r.PostForm.Get("provider"))
	}
	var p *vend.Product
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		p, err = tx.FindProductByID(ctx, r.PostForm.Get("product"))
		return err
	})
	if err != nil {
		return err
	}
	ref, n, err := sim.SimulatePayment(p, s.Now())
	if err != nil {
		return err
	}
	info := prov.Info()
	if info.Link {
		http.Redirect(w, r, info.Path+"?"+string(n.Body), http.StatusSeeOther)
		return nil
	}
	n.RemoteAddr = "demo"
	o := s.Intake.Receive(ctx, prov, n)
	if o.Refusal != vend.RefusalNone {
		return fmt.Errorf("demo: %s refused the simulated payment: %s", info.Name, o.Reason)
	}
	g, err := s.Intake.GrantOf(ctx, info.Name, ref, p.ID)
	if err != nil {
		return err
	}
	http.Redirect(w, r, s.pageURL(g), http.StatusSeeOther)
	return nil
}
