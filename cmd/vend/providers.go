package main

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/config"
	"github.com/vend-shop/vend/delivery"
	"github.com/vend-shop/vend/intake"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/provider/digistore24"
	"github.com/vend-shop/vend/provider/generic"
	"github.com/vend-shop/vend/provider/paypal"
	"github.com/vend-shop/vend/provider/stripe"
	"github.com/vend-shop/vend/provider/websale"
)

// providers is the registry of payment providers, built from the
// configuration, in the order lists show them. It is the one place outside
// provider/ that names them: a new provider is its package, one line here and
// its configuration section. A provider whose secret is not configured is
// still registered, and refuses every message with a reason the provider shows
// the seller.
func providers(cfg config.Config, logger *slog.Logger) ([]vend.Provider, error) {
	ws, err := websaleIntake(cfg.Websale)
	if err != nil {
		return nil, err
	}
	return []vend.Provider{
		&paypal.Intake{
			Verifier: &paypal.Verifier{URL: cfg.PayPal.VerifyEndpoint(), Client: &http.Client{Timeout: paypal.DefaultTimeout}},
			Config:   paypal.Config{ReceiverEmails: cfg.PayPal.ReceiverEmails, ReceiverID: cfg.PayPal.ReceiverID, Sandbox: cfg.PayPal.Sandbox},
		},
		&digistore24.Intake{
			Passphrase: cfg.Digistore24.Passphrase,
			Config:     digistore24.Config{Sandbox: cfg.Digistore24.Sandbox, Products: config.ProductMap(cfg.Digistore24.Products)},
			AnswerLink: cfg.Digistore24.AnswerLink, ThankyouPage: cfg.Digistore24.ThankyouPage, Logger: logger,
		},
		&stripe.Intake{
			Secret: cfg.Stripe.Secret,
			Config: stripe.Config{Sandbox: cfg.Stripe.Sandbox, Products: config.ProductMap(cfg.Stripe.Products)},
		},
		&generic.Intake{
			Secret: cfg.Generic.Secret,
			Config: generic.Config{Sandbox: cfg.Generic.Sandbox, Products: config.ProductMap(cfg.Generic.Products)},
		},
		ws,
	}, nil
}

// newIntake builds the intake of the registered providers.
func (a *App) newIntake(led *ledger.Ledger) (*intake.Intake, error) {
	ps, err := providers(a.Config, a.Logger)
	if err != nil {
		return nil, err
	}
	pageURL := func(g *vend.Grant) string { return a.Config.BaseURL + delivery.PagePath(a.Secret, g.PublicID) }
	return intake.New(ps, led, a.DB, pageURL, a.Logger), nil
}

// providerInfos are the registered providers' infos, in the registry's
// order. They do not depend on the configuration.
func providerInfos() []vend.ProviderInfo {
	ps, err := providers(config.Config{}, nil)
	if err != nil { // the zero configuration configures nothing that can fail
		panic("vend: the provider registry refuses the zero configuration: " + err.Error())
	}
	infos := make([]vend.ProviderInfo, len(ps))
	for i, p := range ps {
		infos[i] = p.Info()
	}
	return infos
}

// providerNames are the registered providers' names, in the registry's order.
func providerNames() []string {
	var names []string
	for _, info := range providerInfos() {
		names = append(names, info.Name)
	}
	return names
}

// providerInfo is the info of the registered provider called name.
func providerInfo(name string) vend.ProviderInfo {
	for _, info := range providerInfos() {
		if info.Name == name {
			return info
		}
	}
	panic("vend: no provider " + name + " is registered")
}

// websaleConfig is what WEBSALE links and order exports are held against.
func websaleConfig(w config.Websale) websale.Config {
	return websale.Config{ShopID: w.ShopID, SubshopID: w.SubshopID, MaxAge: w.MaxAge, FutureSkew: w.FutureSkew,
		Products: config.ProductMap(w.Products), FirstClick: w.FirstClick, Language: w.Language}
}

// websaleFirstClickWarning is logged at start while websale.first_click is on.
const websaleFirstClickWarning = "websale.first_click is on: the first link of an order vend has not imported creates the order and its grant. " +
	"Links carry no signature, so whoever holds a link of an order vend has not seen, however old, can re-date it and get a grant. " +
	"Import WEBSALE's order export with `vend websale import FILE` and turn websale.first_click off"

// websaleIntake is WEBSALE's provider; without websale.password it refuses
// every link.
func websaleIntake(w config.Websale) (*websale.Intake, error) {
	in := &websale.Intake{Password: w.Password, Config: websaleConfig(w)}
	if w.Password == "" {
		return in, nil
	}
	settings, err := websale.ParseSettings(w.KeyDerivation, w.Mode, w.Padding)
	if err != nil {
		return nil, fmt.Errorf("websale: %w", err)
	}
	if settings.IsAuto() {
		// Trying every reading gives a changed link dozens of chances to decode
		// instead of one: auto is for onboarding, not for serving.
		return nil, fmt.Errorf("websale: websale.key_derivation, websale.mode and websale.padding must be pinned (now %s): "+
			"run `vend websale detect '<a link from your shop>'` and put what it prints into [websale]", settings)
	}
	if in.Decoder, err = websale.NewDecoder(w.Password, settings); err != nil {
		return nil, err
	}
	return in, nil
}

// configuredProviders names the providers whose secrets are set: those that
// can send vend messages it applies.
func (a *App) configuredProviders() []string {
	ps, err := providers(a.Config, nil)
	if err != nil {
		return nil
	}
	var names []string
	for _, p := range ps {
		if info := p.Info(); info.Configured {
			names = append(names, info.Name)
		}
	}
	return names
}
