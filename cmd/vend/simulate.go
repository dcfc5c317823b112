package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/provider/paypal"
	"github.com/vend-shop/vend/store"
)

func newSimulateCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "simulate", Short: "Send a provider's notification to a running vend, without a provider account"}
	cmd.AddCommand(newSimulatePayPalCmd(app), newSimulateDigistore24Cmd(app), newSimulateStripeCmd(app),
		newSimulateGenericCmd(app), newSimulateWebsaleCmd(app))
	return cmd
}

func newSimulatePayPalCmd(app *App) *cobra.Command {
	var sim paypal.Sim
	var amount string
	var target *simTarget
	cmd := &cobra.Command{
		Use:   "paypal --product ID [--status Completed] [--txn TXN] [--parent TXN] [--url URL]",
		Short: "Post a realistic PayPal IPN (signed for vend demo's built-in verifier)",
		Long: `Post a realistic PayPal IPN to a running vend. The message is signed with this
data directory's secret, so the verifier of "vend demo" answers VERIFIED for it;
a vend that verifies against PayPal itself answers INVALID, as it should.

Statuses: Completed, Pending, Denied, Failed, Voided, Expired, Refunded, Reversed,
Canceled_Reversal. Refunded, Reversed and Canceled_Reversal need --parent (the
payment's txn_id) and get a new txn_id of their own.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			if err := fillSim(cmd, app, &sim, amount); err != nil {
				return err
			}
			if !target.printOnly {
				fmt.Fprintf(app.Stdout, "txn_id %s  %s\n", sim.TxnID, sim.Status)
			}
			body := sim.Body(simulatorKey(app.Secret))
			if err := target.send(cmd.Context(), app, nil, body); err != nil {
				return err
			}
			if !target.printOnly && (sim.Status == "Completed" || sim.Status == "Pending") {
				base := strings.TrimSuffix(strings.TrimSuffix(target.endpoint(app), target.info.Path), "/")
				fmt.Fprintf(app.Stdout, "return page: %s/return?tx=%s\n", base, sim.TxnID)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&sim.ProductID, "product", "", "product id (item_number)")
	f.StringVar(&sim.Status, "status", "Completed", "payment_status")
	f.StringVar(&sim.TxnID, "txn", "", "txn_id (default: a new one)")
	f.StringVar(&sim.ParentTxnID, "parent", "", "parent_txn_id, for Refunded, Reversed, Canceled_Reversal")
	f.StringVar(&sim.PendingReason, "pending-reason", "", "pending_reason for Pending (default echeck)")
	f.StringVar(&amount, "amount", "", "mc_gross (default: the product's price; negative for refunds is automatic)")
	f.StringVar(&sim.Currency, "currency", "", "mc_currency (default: the product's)")
	f.StringVar(&sim.PayerEmail, "email", "buyer@example.com", "payer_email")
	f.StringVar(&sim.FirstName, "first-name", "Jörg", "first_name")
	f.StringVar(&sim.LastName, "last-name", "Müller", "last_name")
	f.StringVar(&sim.Receiver, "receiver", "", "receiver_email (default: the first of paypal.receiver_emails)")
	f.StringVar(&sim.Custom, "custom", "", "custom")
	target = newSimTarget(cmd, paypal.Provider)
	return cmd
}

func fillSim(cmd *cobra.Command, app *App, sim *paypal.Sim, amount string) error {
	if sim.ProductID == "" {
		return fmt.Errorf("--product: which product was bought?")
	}
	var p *vend.Product
	err := app.DB.View(cmd.Context(), func(tx store.Tx) error {
		var err error
		p, err = tx.FindProductByID(cmd.Context(), sim.ProductID)
		return err
	})
	if err != nil {
		return fmt.Errorf("--product: %w", cliError(err))
	}
	sim.ProductName, sim.Amount = p.Name, p.Price
	if amount != "" {
		if sim.Amount, err = vend.ParseAmount(amount); err != nil {
			return fmt.Errorf("--amount: %w", err)
		}
	}
	if sim.Currency == "" {
		sim.Currency = p.Currency
	}
	if sim.Receiver == "" {
		if len(app.Config.PayPal.ReceiverEmails) == 0 {
			return fmt.Errorf("--receiver: set it, or configure paypal.receiver_emails")
		}
		sim.Receiver = app.Config.PayPal.ReceiverEmails[0]
	}
	sim.ReceiverID = app.Config.PayPal.ReceiverID
	sim.Test = app.Config.PayPal.Sandbox
	switch sim.Status {
	case "Refunded", "Reversed", "Canceled_Reversal":
		if sim.ParentTxnID == "" {
			return fmt.Errorf("--parent: %s needs the payment's txn_id", sim.Status)
		}
	}
	if sim.TxnID == "" {
		sim.TxnID = paypal.NewTxnID()
	}
	return nil
}

// simulatorKey is the key simulated messages are signed with and the demo's
// verifier checks: derived from the data directory's secret, never the secret
// itself, which signs download links.
func simulatorKey(secret []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("vend/simulator/v1"))
	return h.Sum(nil)
}
