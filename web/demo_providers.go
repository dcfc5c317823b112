package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/provider/digistore24"
	"github.com/vend-shop/vend/provider/generic"
	"github.com/vend-shop/vend/provider/stripe"
	"github.com/vend-shop/vend/provider/websale"
	"github.com/vend-shop/vend/store"
)

// demoProviders are the further providers the demo store can buy through, in
// the order its buttons show them.
var demoProviders = []struct{ Name, Label string }{
	{digistore24.Provider, "Digistore24"},
	{stripe.Provider, "Stripe"},
	{generic.Provider, "a webhook"},
	{websale.Provider, "WEBSALE"},
}

// handleDemoProvider buys a product through one of the further providers the way
// that provider would: a signed message (or, for WEBSALE, an encrypted link) made
// with this server's own secrets goes over HTTP to this server's endpoint, and
// the buyer lands on the download page the ledger granted.
func (s *Server) handleDemoProvider(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.Error(w, r, vend.Errorf(vend.EINVALID, "Bad form."))
		return
	}
	ctx := r.Context()
	var p *vend.Product
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		p, err = tx.FindProductByID(ctx, r.PostForm.Get("product"))
		return err
	})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	provider := r.PostForm.Get("provider")
	if provider == websale.Provider {
		s.demoWebsale(w, r, p)
		return
	}
	ref, err := s.demoPost(ctx, provider, p)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	var g *vend.Grant
	err = s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		g, err = grantOf(ctx, tx, provider, ref, p.ID)
		return err
	})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, s.pageURL(g), http.StatusSeeOther)
}

// demoPost sends a signed payment for p to this server's endpoint of provider
// and returns the order reference it used.
func (s *Server) demoPost(ctx context.Context, provider string, p *vend.Product) (string, error) {
	var (
		path, ref, contentType = "", "", formType
		header                 = http.Header{}
		body                   []byte
		err                    error
	)
	switch {
	case provider == digistore24.Provider && s.Digistore24 != nil:
		sim := digistore24.Sim{ProductID: p.ID, ProductName: p.Name, Amount: p.Price, Currency: p.Currency,
			Email: "buyer@example.com", FirstName: "Demo", LastName: "Buyer", Test: s.Digistore24.Config.Sandbox}
		sim.OrderID = digistore24.NewOrderID()
		path, ref, body = "/ipn/digistore24", sim.OrderID, sim.Body(s.Digistore24.Passphrase)
	case provider == stripe.Provider && s.Stripe != nil:
		sim := stripe.Sim{PaymentIntent: stripe.NewID("pi"), ClientReferenceID: p.ID, Amount: p.Price, Currency: p.Currency,
			Email: "buyer@example.com", Name: "Demo Buyer", Live: !s.Stripe.Config.Sandbox}
		var sig string
		body, sig, err = sim.Signed(s.Stripe.Secret, s.Now())
		path, ref, contentType = "/webhooks/stripe", sim.PaymentIntent, jsonType
		header.Set("Stripe-Signature", sig)
	case provider == generic.Provider && s.Generic != nil:
		sim := generic.Sim{Type: generic.TypePaid, OrderID: "demo-" + rand.Text()[:10], Currency: p.Currency, Total: p.Price,
			Items: []generic.SimItem{{ProductID: p.ID, Name: p.Name, Amount: p.Price}}, Email: "buyer@example.com",
			Name: "Demo Buyer", Test: s.Generic.Config.Sandbox}
		header, body, err = sim.Message(s.Generic.Secret, s.Now())
		path, ref, contentType = "/webhooks/generic", sim.OrderID, jsonType
	default:
		return "", vend.Errorf(vend.ENOTFOUND, "The demo has no provider %q.", provider)
	}
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header = header
	req.Header.Set("Content-Type", contentType)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return "", fmt.Errorf("demo: post to %s: %w", path, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("demo: %s answered %s: %s", path, resp.Status, answer)
	}
	return ref, nil
}

// demoWebsale sends the buyer to a fresh WEBSALE link for p, as a WEBSALE shop's
// order confirmation would.
func (s *Server) demoWebsale(w http.ResponseWriter, r *http.Request, p *vend.Product) {
	if s.Websale == nil || s.Demo.WebsalePassword == "" {
		s.Error(w, r, vend.Errorf(vend.ENOTFOUND, "The demo has no WEBSALE shop configured."))
		return
	}
	cfg := s.Websale.Config
	link := websale.Link{Time: s.Now(), ShopID: cfg.ShopID, SubshopID: cfg.SubshopID, OrderID: "D" + rand.Text()[:10],
		Email: "buyer@example.com", ProductNumber: demoWebsaleNumber(cfg, p.ID)}
	hex, err := websale.Encrypt(link.Plaintext(), s.Websale.Decoder.Settings(), s.Demo.WebsalePassword, nil)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/websale?dldata="+hex, http.StatusSeeOther)
}

// demoWebsaleNumber is the WEBSALE product number that maps to productID.
func demoWebsaleNumber(cfg websale.Config, productID string) string {
	for number, id := range cfg.Products {
		if id == productID {
			return number
		}
	}
	return productID
}
