// Package stripe receives Stripe webhook events for Stripe Checkout: it checks
// the Stripe-Signature header (VerifySignature), turns a verified event into a
// vend.Event (Normalize) and builds signed test events (Sim), so vend can be
// tried without a Stripe account.
//
// # Setting it up in Stripe
//
// In the Stripe Dashboard, Developers › Webhooks › Add endpoint:
//
//   - Endpoint URL: your base_url followed by /webhooks/stripe, for example
//     https://shop.example.com/webhooks/stripe.
//   - Events to send: checkout.session.completed,
//     checkout.session.async_payment_succeeded,
//     checkout.session.async_payment_failed, charge.refunded,
//     charge.dispute.created and charge.dispute.closed. Any other event is
//     answered and ignored.
//   - Signing secret: after saving, reveal the endpoint's signing secret
//     ("whsec_…") and paste it, whole, into vend's Stripe secret setting. Test
//     mode and live mode have separate endpoints and secrets; vend's sandbox
//     setting must match the mode (Config.Sandbox).
//
// # Naming the products of a Checkout Session
//
// Stripe's checkout.session.completed event does not carry the line items, so
// the shop names the vend products when it creates the session, in one of two
// ways:
//
//   - metadata[vend_products]: a comma-separated list of entries
//     "product_id", "product_id:quantity" or "product_id:quantity:amount".
//     The amount is the line total (all units together) in the currency's
//     major unit, written as a decimal: "19.95" USD, "500" JPY, "5.120" KWD.
//     With one entry the amount may be left out: the session's amount_total is
//     that line's amount. With several entries every entry needs its amount,
//     because vend checks each line against the catalog price; a session with
//     several entries and a missing amount is rejected.
//     Example: metadata[vend_products] = "ebook:1:19.95,audio-course:2:39.80".
//   - client_reference_id: when metadata[vend_products] is absent, it names a
//     single product (quantity 1, amount = amount_total). When
//     metadata[vend_products] is present, client_reference_id is kept as the
//     order's custom reference instead.
//
// A product id is looked up in Config.Products first (so Stripe price or
// product ids can be mapped to vend catalog ids); ids not found there are
// used as they are.
//
// # Amounts
//
// Stripe sends amounts in the currency's smallest unit. vend.Amount counts
// hundredths of the major unit, so amounts of zero-decimal currencies (BIF,
// CLP, DJF, GNF, JPY, KMF, KRW, MGA, PYG, RWF, UGX, VND, VUV, XAF, XOF, XPF) are
// multiplied by 100 (500 JPY is vend.Amount 50000), and amounts of
// three-decimal currencies (BHD, JOD, KWD, OMR, TND) are divided by 10, which
// Stripe keeps exact by requiring their last digit to be 0 (an amount that is
// not is rejected). ISK, HUF and TWD are two-decimal in Stripe's API and need
// nothing special.
//
// # Events
//
// Every event's Key is the Stripe event id (evt_…), which stays the same when
// Stripe delivers an event again. OrderRef is the Checkout Session's payment
// intent (pi_…), or the session id (cs_…) when it has none (a session that
// needed no payment). Normalize maps:
//
//   - checkout.session.completed: payment_status "paid" or
//     "no_payment_required" is a payment, "unpaid" is pending (an asynchronous
//     payment method such as SEPA debit: the money is still on its way).
//     Sessions in setup mode move no money and are ignored.
//   - checkout.session.async_payment_succeeded: payment;
//     checkout.session.async_payment_failed: failed. Both share the session's
//     TxnID, so they settle the pending transaction.
//   - charge.refunded: a refund. Stripe sends the charge, whose
//     amount_refunded is cumulative, so all refunds of one payment are one
//     transaction, TxnID OrderRef+":refund", whose Total is the amount
//     refunded so far; Full is set once the charge is refunded entirely.
//   - charge.dispute.created: a chargeback, TxnID the dispute id (dp_…).
//     Stripe also opens inquiries (status warning_needs_response) this way;
//     they count as a chargeback until they close.
//   - charge.dispute.closed: status "won" is a restore (TxnID dispute
//     id+":won"), and so is "warning_closed" (an inquiry that closed without
//     a chargeback; TxnID dispute id+":warning_closed"). Any other status
//     (lost, …) is ignored: the chargeback stands.
//   - everything else, including charge.dispute.funds_reinstated (the "won"
//     event covers it), is ignored.
//
// RawStatus is the event type, followed by "/" and the session's
// payment_status or the dispute's status where the type alone does not say
// what happened. Refund and chargeback Totals are positive.
//
// Price checks are not done here: the ledger compares events against the
// catalog for every provider alike.
package stripe

import "github.com/vend-shop/vend"

// Provider is the provider name on events and notifications.
const Provider = "stripe"

// Config is what Normalize checks an event against. Sandbox accepts only
// test-mode events (livemode false); Products maps Stripe price or product
// ids (or any id the shop puts in metadata[vend_products] or
// client_reference_id) to catalog ids.
type Config = vend.ProviderConfig

// rejectf refuses a genuine message for the reason given.
func rejectf(format string, args ...any) *vend.RejectError {
	return vend.Rejectf(Provider, format, args...)
}
