package web

import (
	"fmt"
	"net/http"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// demoProviders are the providers the demo store can buy through besides its
// simulated PayPal checkout, in the registry's order.
func (s *Server) demoProviders() []vend.ProviderInfo {
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
func (s *Server) handleDemoProvider(w http.ResponseWriter, r *http.Request) error {
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
	if o.Refusal != vend.Accepted {
		return fmt.Errorf("demo: %s refused the simulated payment: %s", info.Name, o.Reason)
	}
	g, err := s.Intake.GrantOf(ctx, info.Name, ref, p.ID)
	if err != nil {
		return err
	}
	http.Redirect(w, r, s.pageURL(g), http.StatusSeeOther)
	return nil
}
