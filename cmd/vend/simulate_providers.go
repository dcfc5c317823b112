package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/config"
	"github.com/vend-shop/vend/intake"
	"github.com/vend-shop/vend/provider/digistore24"
	"github.com/vend-shop/vend/provider/generic"
	"github.com/vend-shop/vend/provider/stripe"
	"github.com/vend-shop/vend/provider/websale"
	"github.com/vend-shop/vend/store"
)

// simTarget is where a simulated message of a provider goes and how it is
// shown.
type simTarget struct {
	info      vend.ProviderInfo // the registered provider's path and media type
	url       string
	printOnly bool
}

// newSimTarget is the target of the registered provider called name, with its
// --url and --print flags on cmd.
func newSimTarget(cmd *cobra.Command, name string) *simTarget {
	t := &simTarget{info: providerInfo(name)}
	cmd.Flags().StringVar(&t.url, "url", "", "endpoint (default: base_url + "+t.info.Path+")")
	cmd.Flags().BoolVar(&t.printOnly, "print", false, "print the message instead of posting it")
	return t
}

// endpoint is where the message goes: --url, else base_url + the provider's path.
func (t *simTarget) endpoint(app *App) string {
	if t.url != "" {
		return t.url
	}
	return app.Config.BaseURL + t.info.Path
}

// send posts a simulated message and prints vend's answer; a refusal is an error.
func (t *simTarget) send(ctx context.Context, app *App, header http.Header, body []byte) error {
	if t.printOnly {
		for k, v := range header {
			fmt.Fprintf(app.Stdout, "%s: %s\n", k, strings.Join(v, ", "))
		}
		_, err := app.Stdout.Write(append(body, '\n'))
		return err
	}
	url := t.endpoint(app)
	h := header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Type", t.info.MediaType)
	status, answer, err := intake.Post(ctx, &http.Client{Timeout: 60 * time.Second}, url, &vend.Notification{Headers: h, Body: body})
	if err != nil {
		return err
	}
	fmt.Fprintf(app.Stdout, "%s answered %d %s\n%s", url, status, http.StatusText(status), answer)
	if len(answer) > 0 && answer[len(answer)-1] != '\n' {
		fmt.Fprintln(app.Stdout)
	}
	if status != http.StatusOK {
		return fmt.Errorf("vend answered %d %s; see its log", status, http.StatusText(status))
	}
	return nil
}

// catalogProduct finds the catalog product a provider's product id maps to.
func catalogProduct(ctx context.Context, app *App, mapping []string, id string) (*vend.Product, error) {
	if mapped, ok := config.ProductMap(mapping)[id]; ok {
		id = mapped
	}
	var p *vend.Product
	err := app.DB.View(ctx, func(tx store.Tx) error {
		var err error
		p, err = tx.FindProductByID(ctx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("--product: %w", cliError(err))
	}
	return p, nil
}

func parseAmountFlag(name, s string, def vend.Amount) (vend.Amount, error) {
	if s == "" {
		return def, nil
	}
	a, err := vend.ParseAmount(s)
	if err != nil {
		return 0, fmt.Errorf("--%s: %w", name, err)
	}
	return a, nil
}

func newSimulateDigistore24Cmd(app *App) *cobra.Command {
	var sim digistore24.Sim
	var amount string
	var upsells []string
	var target *simTarget
	cmd := &cobra.Command{
		Use:   "digistore24 --product ID [--event on_payment] [--order ID] [--upsell ID ...]",
		Short: "Post a Digistore24 IPN signed with digistore24.passphrase",
		Long: `Post a Digistore24 IPN, signed with the configured digistore24.passphrase, to a
running vend. --product is Digistore24's product id (digistore24.products maps it).

Events: on_payment, on_refund, on_chargeback, on_payment_missed, on_rebill_resumed,
on_rebill_cancelled, last_paid_day, connection_test. Everything but a payment needs
--order (the order's id). --upsell adds upsells to a payment: one more IPN each,
in the same order.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			cfg := app.Config.Digistore24
			if cfg.Passphrase == "" {
				return fmt.Errorf("digistore24.passphrase is not set: vend would refuse every IPN")
			}
			sim.Test = cfg.Sandbox
			if sim.Event == "connection_test" {
				return target.send(cmd.Context(), app, nil, digistore24.ConnectionTest(cfg.Passphrase))
			}
			if sim.Event != "on_payment" && sim.OrderID == "" {
				return fmt.Errorf("--order: %s is about an earlier order", sim.Event)
			}
			sims, err := digistore24Sims(cmd.Context(), app, sim, amount, upsells)
			if err != nil {
				return err
			}
			for _, s := range sims {
				fmt.Fprintf(app.Stdout, "order %s  product %s  %s\n", s.OrderID, s.ProductID, s.Event)
				if err := target.send(cmd.Context(), app, nil, s.Body(cfg.Passphrase)); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&sim.Event, "event", "on_payment", "event")
	f.StringVar(&sim.ProductID, "product", "", "Digistore24 product id")
	f.StringVar(&sim.OrderID, "order", "", "order_id (default: a new one)")
	f.StringVar(&sim.TxnID, "txn", "", "transaction_id (default: a new one)")
	f.StringVar(&amount, "amount", "", "amount (default: the product's price)")
	f.StringVar(&sim.Currency, "currency", "", "currency (default: the product's)")
	f.StringVar(&sim.Email, "email", "buyer@example.com", "buyer_email")
	f.StringVar(&sim.FirstName, "first-name", "Jörg", "buyer_first_name")
	f.StringVar(&sim.LastName, "last-name", "Müller", "buyer_last_name")
	f.StringVar(&sim.Custom, "custom", "", "custom")
	f.StringSliceVar(&upsells, "upsell", nil, "Digistore24 product id of an upsell (repeatable)")
	target = newSimTarget(cmd, digistore24.Provider)
	return cmd
}

// digistore24Sims fills a simulated message from the catalog and adds its upsells.
func digistore24Sims(ctx context.Context, app *App, sim digistore24.Sim, amount string, upsells []string) ([]digistore24.Sim, error) {
	if sim.ProductID == "" {
		return nil, fmt.Errorf("--product: which product?")
	}
	mapping := app.Config.Digistore24.Products
	p, err := catalogProduct(ctx, app, mapping, sim.ProductID)
	if err != nil {
		return nil, err
	}
	sim.ProductName = p.Name
	if sim.Amount, err = parseAmountFlag("amount", amount, p.Price); err != nil {
		return nil, err
	}
	if sim.Currency == "" {
		sim.Currency = p.Currency
	}
	var items []digistore24.SimItem
	for _, id := range upsells {
		u, err := catalogProduct(ctx, app, mapping, id)
		if err != nil {
			return nil, err
		}
		items = append(items, digistore24.SimItem{ProductID: id, Name: u.Name, Amount: u.Price})
	}
	return sim.WithUpsells(items...), nil
}

func newSimulateStripeCmd(app *App) *cobra.Command {
	var sim stripe.Sim
	var product, amount, refunded string
	var target *simTarget
	cmd := &cobra.Command{
		Use:   "stripe --product ID [--type checkout.session.completed] [--payment-intent PI]",
		Short: "Post a Stripe event signed with stripe.secret",
		Long: `Post a Stripe webhook event, signed with the configured stripe.secret, to a
running vend.

Types: checkout.session.completed, checkout.session.async_payment_succeeded,
checkout.session.async_payment_failed, charge.refunded, charge.dispute.created,
charge.dispute.closed. Everything after the payment needs --payment-intent (the
payment's, which the payment printed). --refunded is the amount refunded so far
(default: all of it); --status is the dispute's status when it closed (won, lost).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			cfg := app.Config.Stripe
			if product == "" {
				return fmt.Errorf("--product: which product?")
			}
			p, err := catalogProduct(cmd.Context(), app, cfg.Products, product)
			if err != nil {
				return err
			}
			if sim.Amount, err = parseAmountFlag("amount", amount, p.Price); err != nil {
				return err
			}
			if sim.Refunded, err = parseAmountFlag("refunded", refunded, 0); err != nil {
				return err
			}
			if sim.Currency == "" {
				sim.Currency = p.Currency
			}
			if sim.PaymentIntent == "" {
				if sim.Type != "" && !strings.HasPrefix(sim.Type, "checkout.") {
					return fmt.Errorf("--payment-intent: %s is about an earlier payment", sim.Type)
				}
				sim.PaymentIntent = stripe.NewID("pi")
			}
			sim.ClientReferenceID, sim.Live = product, !cfg.Sandbox
			body, sig, err := sim.Signed(cfg.Secret, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "payment intent %s\n", sim.PaymentIntent)
			return target.send(cmd.Context(), app, http.Header{"Stripe-Signature": {sig}}, body)
		},
	}
	f := cmd.Flags()
	f.StringVar(&sim.Type, "type", stripe.TypeCheckoutCompleted, "event type")
	f.StringVar(&product, "product", "", "product id (client_reference_id; stripe.products maps it)")
	f.StringVar(&sim.PaymentIntent, "payment-intent", "", "payment intent (default: a new one)")
	f.StringVar(&sim.PaymentStatus, "payment-status", "", "checkout session payment_status: paid (default) or unpaid")
	f.StringVar(&sim.DisputeStatus, "status", "", "dispute status for charge.dispute.closed (default won)")
	f.StringVar(&amount, "amount", "", "amount (default: the product's price)")
	f.StringVar(&refunded, "refunded", "", "amount refunded so far, for charge.refunded (default: all)")
	f.StringVar(&sim.Currency, "currency", "", "currency (default: the product's)")
	f.StringVar(&sim.Email, "email", "buyer@example.com", "customer email")
	target = newSimTarget(cmd, stripe.Provider)
	return cmd
}

func newSimulateGenericCmd(app *App) *cobra.Command {
	var sim generic.Sim
	var product, amount, refundAmount string
	var target *simTarget
	cmd := &cobra.Command{
		Use:   "generic --product ID [--type order.paid] [--order ID]",
		Short: "Post a Standard Webhooks message signed with generic.secret",
		Long: `Post a message of vend's webhook event format (docs/webhook-event.schema.json),
signed the Standard Webhooks way with the configured generic.secret, to a running
vend. Types: order.paid, order.pending, order.refunded, order.chargeback,
order.restored. Everything after the payment needs --order.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			cfg := app.Config.Generic
			if product == "" {
				return fmt.Errorf("--product: which product?")
			}
			p, err := catalogProduct(cmd.Context(), app, cfg.Products, product)
			if err != nil {
				return err
			}
			price, err := parseAmountFlag("amount", amount, p.Price)
			if err != nil {
				return err
			}
			if sim.Amount, err = parseAmountFlag("refund-amount", refundAmount, 0); err != nil {
				return err
			}
			if sim.OrderID == "" {
				if sim.Type != generic.TypePaid && sim.Type != generic.TypePending {
					return fmt.Errorf("--order: %s is about an earlier order", sim.Type)
				}
				sim.OrderID = "sim-" + strings.ToLower(rand.Text()[:10])
			}
			if sim.Currency == "" {
				sim.Currency = p.Currency
			}
			sim.Total, sim.Test = price, cfg.Sandbox
			sim.Items = []generic.SimItem{{ProductID: product, Name: p.Name, Amount: price}}
			header, body, err := sim.Message(cfg.Secret, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "order %s\n", sim.OrderID)
			return target.send(cmd.Context(), app, header, body)
		},
	}
	f := cmd.Flags()
	f.StringVar(&sim.Type, "type", generic.TypePaid, "event type")
	f.StringVar(&product, "product", "", "product id (generic.products maps it)")
	f.StringVar(&sim.OrderID, "order", "", "order id (default: a new one)")
	f.StringVar(&amount, "amount", "", "the order's total (default: the product's price)")
	f.StringVar(&refundAmount, "refund-amount", "", "order.refunded: the amount refunded (default: the total)")
	f.BoolVar(&sim.Full, "full", false, "order.refunded: a full refund whatever the amount")
	f.StringVar(&sim.Currency, "currency", "", "currency (default: the product's)")
	f.StringVar(&sim.Email, "email", "buyer@example.com", "buyer email")
	f.StringVar(&sim.Name, "name", "Jörg Müller", "buyer name")
	target = newSimTarget(cmd, generic.Provider)
	return cmd
}

func newSimulateWebsaleCmd(app *App) *cobra.Command {
	var link websale.Link
	var age time.Duration
	cmd := &cobra.Command{
		Use:   "websale --product NUMBER [--order ID] [--email ADDRESS]",
		Short: "Print a WEBSALE download link encrypted with websale.password",
		Long: `Print the link a WEBSALE shop would put into its order confirmation: the
tagged plaintext encrypted with websale.password under the pinned
websale.key_derivation, websale.mode and websale.padding (auto: sha256,
cbc-ivprefix, pkcs7), shop and subshop from websale.shop_id and
websale.subshop_id. Open it in a browser to see vend's answer: a download
page once the order is imported (vend websale import), or with
websale.first_click on; the refusal page otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.loadConfig(); err != nil {
				return err
			}
			w := app.Config.Websale
			if w.Password == "" {
				return fmt.Errorf("websale.password is not set: WEBSALE links are off")
			}
			if link.ProductNumber == "" {
				return fmt.Errorf("--product: which product number?")
			}
			settings, err := simWebsaleSettings(w)
			if err != nil {
				return err
			}
			link.Time, link.ShopID, link.SubshopID = time.Now().Add(-age), w.ShopID, w.SubshopID
			if link.OrderID == "" {
				link.OrderID = fmt.Sprint(time.Now().UnixNano() % 1e9)
			}
			hex, err := websale.Encrypt(link.Plaintext(), settings, w.Password, nil)
			if err != nil {
				return err
			}
			u, err := websale.LinkURL(app.Config.BaseURL+"/", hex)
			if err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "order %s  product %s  (%s)\n%s\n", link.OrderID, link.ProductNumber, settings, u)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&link.ProductNumber, "product", "", "WEBSALE product number (websale.products maps it)")
	f.StringVar(&link.OrderID, "order", "", "order number (default: a new one)")
	f.StringVar(&link.Email, "email", "buyer@example.com", "customer email")
	f.StringVar(&link.CustomerNumber, "customer", "", "customer number")
	f.DurationVar(&age, "age", 0, "make the link this old")
	return cmd
}

// simWebsaleSettings pins what the configuration leaves on auto to the reading
// protocols.md calls most likely.
func simWebsaleSettings(w config.Websale) (websale.Settings, error) {
	s, err := websale.ParseSettings(w.KeyDerivation, w.Mode, w.Padding)
	if err != nil {
		return s, err
	}
	if s.KDF == websale.KDFAuto {
		s.KDF = websale.KDFSHA256
	}
	if s.Mode == websale.ModeAuto {
		s.Mode = websale.ModeCBCIVPrefix
	}
	if s.Padding == websale.PaddingAuto {
		s.Padding = websale.PaddingPKCS7
	}
	return s, nil
}

func newWebsaleCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "websale", Short: "Set up WEBSALE's external download links"}
	var asJSON bool
	detect := &cobra.Command{
		Use:   "detect <link or dldata hex>",
		Short: "Say which key derivation, mode and padding decode a WEBSALE link",
		Long: `Try every key derivation, cipher mode and padding on one of the shop's links,
with websale.password, and print the settings that decode it. Pin them in the
configuration (websale.key_derivation, websale.mode, websale.padding), so vend
tries only that one.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.loadConfig(); err != nil {
				return err
			}
			w := app.Config.Websale
			if w.Password == "" {
				return fmt.Errorf("websale.password is not set")
			}
			matches, err := websale.Detect(w.Password, args[0])
			if err != nil {
				return err
			}
			if len(matches) == 0 {
				return fmt.Errorf("no setting decodes this link with websale.password: check the password, and that the link is whole")
			}
			if asJSON {
				return printJSON(app.Stdout, matches)
			}
			for _, m := range matches {
				fmt.Fprintf(app.Stdout, "key_derivation = %q\nmode = %q\npadding = %q\n  decodes to: %s\n",
					m.Settings.KDF, m.Settings.Mode, m.Settings.Padding, m.Link)
			}
			if len(matches) > 1 {
				fmt.Fprintln(app.Stdout, "More than one setting fits this link: pin the first, and check it with a second link.")
			}
			return nil
		},
	}
	detect.Flags().BoolVar(&asJSON, "json", false, "print the settings that decode the link, and what it decodes to, as JSON")
	cmd.AddCommand(detect, newWebsaleImportCmd(app))
	return cmd
}
