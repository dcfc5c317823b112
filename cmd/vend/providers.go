package main

import (
	"fmt"

	"github.com/vend-shop/vend/config"
	"github.com/vend-shop/vend/provider/digistore24"
	"github.com/vend-shop/vend/provider/generic"
	"github.com/vend-shop/vend/provider/stripe"
	"github.com/vend-shop/vend/provider/websale"
	"github.com/vend-shop/vend/web"
)

// providers sets the server's further providers from the configuration. A
// provider whose secret is not configured stays mounted but refuses every
// message, with a reason the provider shows the seller.
func (a *App) providers(srv *web.Server) error {
	cfg := a.Config
	srv.Digistore24 = &web.Digistore24{
		Passphrase: cfg.Digistore24.Passphrase,
		Config:     digistore24.Config{Sandbox: cfg.Digistore24.Sandbox, Products: config.ProductMap(cfg.Digistore24.Products)},
		AnswerLink: cfg.Digistore24.AnswerLink, ThankyouPage: cfg.Digistore24.ThankyouPage,
	}
	srv.Stripe = &web.Stripe{
		Secret: cfg.Stripe.Secret,
		Config: stripe.Config{Sandbox: cfg.Stripe.Sandbox, Products: config.ProductMap(cfg.Stripe.Products)},
	}
	srv.Generic = &web.Generic{
		Secret: cfg.Generic.Secret,
		Config: generic.Config{Sandbox: cfg.Generic.Sandbox, Products: config.ProductMap(cfg.Generic.Products)},
	}
	w := cfg.Websale
	if w.Password == "" {
		return nil
	}
	settings, err := websale.ParseSettings(w.KeyDerivation, w.Mode, w.Padding)
	if err != nil {
		return fmt.Errorf("websale: %w", err)
	}
	if settings.IsAuto() {
		// Trying every reading gives a changed link dozens of chances to decode
		// instead of one: auto is for onboarding, not for serving.
		return fmt.Errorf("websale: websale.key_derivation, websale.mode and websale.padding must be pinned (now %s): "+
			"run `vend websale detect '<a link from your shop>'` and put what it prints into [websale]", settings)
	}
	dec, err := websale.NewDecoder(w.Password, settings)
	if err != nil {
		return err
	}
	srv.Websale = &web.Websale{Decoder: dec, Config: websale.Config{ShopID: w.ShopID, SubshopID: w.SubshopID,
		MaxAge: w.MaxAge, FutureSkew: w.FutureSkew, Products: config.ProductMap(w.Products)}}
	return nil
}
