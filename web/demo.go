package web

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/intake"
	"github.com/vend-shop/vend/store"
)

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

func (d *Demo) routes(m *http.ServeMux, s *Server) {
	m.HandleFunc("GET /demo", func(w http.ResponseWriter, r *http.Request) { s.handleDemoStore(w, r) })
	m.HandleFunc("POST /demo/checkout", func(w http.ResponseWriter, r *http.Request) { s.handleDemoCheckout(w, r) })
	m.HandleFunc("POST /demo/pay", func(w http.ResponseWriter, r *http.Request) { s.handleDemoPay(w, r) })
	m.Handle("POST /demo/paypal/verify", d.Checkout)
	m.HandleFunc("POST /demo/provider", s.handle(s.handleDemoProvider))
}

type demoProduct struct {
	*vend.Product
	Button any
}

func (s *Server) handleDemoStore(w http.ResponseWriter, r *http.Request) {
	var products []*vend.Product
	err := s.DB.View(r.Context(), func(tx store.Tx) error {
		var err error
		products, err = tx.FindProducts(r.Context())
		return err
	})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	var list []demoProduct
	for _, p := range products {
		list = append(list, demoProduct{Product: p, Button: s.Demo.Checkout.Button(p, s.BaseURL)})
	}
	s.render(w, r, http.StatusOK, "demo-store", struct {
		view
		Products  []demoProduct
		Providers any
	}{view{Title: "Demo store"}, list, s.demoProviders()})
}

// handleDemoCheckout plays PayPal's payment page for a Buy Now form.
func (s *Server) handleDemoCheckout(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.Error(w, r, vend.Errorf(vend.EINVALID, "Bad form."))
		return
	}
	s.render(w, r, http.StatusOK, "demo-checkout", struct {
		view
		Form url.Values
	}{view{Title: "Simulated PayPal checkout"}, r.PostForm})
}

// handleDemoPay "pays": it sends the IPN(s) a real PayPal would send, from the
// background like PayPal does, and returns the buyer to the shop at once.
func (s *Server) handleDemoPay(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.Error(w, r, vend.Errorf(vend.EINVALID, "Bad form."))
		return
	}
	ret, msgs, err := s.Demo.Checkout.Pay(r.PostForm)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	// The IPN and the return always go to this vend, whatever the form says: the
	// demo must not be a way to make the server post to other hosts.
	go s.Demo.deliver(s.BaseURL+"/ipn/paypal", msgs)
	u := &url.URL{Path: "/return", RawQuery: ret.Encode()}
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
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
