package web

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/intake"
	"github.com/vend-shop/vend/provider/paypal"
	"github.com/vend-shop/vend/store"
)

// Demo is the built-in playground of `vend demo`: a storefront whose buy buttons
// go through a simulated PayPal checkout that sends real IPNs to this server, and a
// verifier that answers like PayPal for the messages it made.
type Demo struct {
	// Secret signs simulated messages (see paypal.DemoVerifier).
	Secret []byte
	// Receiver is the seller's PayPal address the simulated payments go to.
	Receiver string
	// Delay is how long the simulated PayPal waits before sending the IPN, so the
	// buyer sees the return page wait for it; ClearAfter is when an eCheck clears.
	Delay, ClearAfter time.Duration
	// Stop, when closed, ends background deliveries (on shutdown).
	Stop <-chan struct{}
}

func (d *Demo) routes(m *http.ServeMux, s *Server) {
	m.HandleFunc("GET /demo", func(w http.ResponseWriter, r *http.Request) { s.handleDemoStore(w, r) })
	m.HandleFunc("POST /demo/checkout", func(w http.ResponseWriter, r *http.Request) { s.handleDemoCheckout(w, r) })
	m.HandleFunc("POST /demo/pay", func(w http.ResponseWriter, r *http.Request) { s.handleDemoPay(w, r) })
	m.Handle("POST /demo/paypal/verify", paypal.DemoVerifier{Secret: d.Secret})
	m.HandleFunc("POST /demo/provider", s.handle(s.handleDemoProvider))
}

type demoProduct struct {
	*vend.Product
	Button paypal.ButtonFields
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
		list = append(list, demoProduct{Product: p, Button: paypal.Button(p, s.Demo.Receiver, s.BaseURL)})
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
	f := r.PostForm
	amount, err := vend.ParseAmount(f.Get("amount"))
	if err != nil {
		s.Error(w, r, vend.Errorf(vend.EINVALID, "Bad amount."))
		return
	}
	sim := paypal.Sim{
		TxnID: paypal.NewTxnID(), ProductID: f.Get("item_number"), ProductName: f.Get("item_name"), Amount: amount,
		Currency: f.Get("currency_code"), PayerEmail: firstOf(f.Get("payer_email"), "buyer@example.com"),
		FirstName: "Demo", LastName: "Buyer", Receiver: f.Get("business"), Custom: f.Get("custom"), Test: true,
	}
	// The IPN and the return always go to this vend, whatever the form says: the
	// demo must not be a way to make the server post to other hosts.
	notify := s.BaseURL + "/ipn/paypal"
	var steps []paypal.Sim
	if f.Get("method") == "echeck" {
		pending := sim
		pending.Status, pending.PendingReason = "Pending", "echeck"
		cleared := sim
		cleared.Status = "Completed"
		steps = []paypal.Sim{pending, cleared}
	} else {
		sim.Status = "Completed"
		steps = []paypal.Sim{sim}
	}
	go s.Demo.deliver(notify, steps)
	u := &url.URL{Path: "/return"}
	q := u.Query()
	q.Set("tx", sim.TxnID)
	q.Set("st", steps[0].Status)
	q.Set("cm", sim.Custom)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

func (d *Demo) deliver(notify string, steps []paypal.Sim) {
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
	for i, sim := range steps {
		if i > 0 {
			wait = d.ClearAfter
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		n := &vend.Notification{Headers: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}},
			Body: sim.Body(d.Secret)}
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
