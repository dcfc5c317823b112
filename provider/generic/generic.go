// Package generic receives vend's own order events over Standard Webhooks
// (standardwebhooks.com), so that any shop system can tell vend about its
// sales: it checks the webhook-* headers (Verify), turns a verified message
// into a vend.Event (Normalize) and builds signed test messages (Sim).
//
// # Setting it up
//
// The shop POSTs each event as JSON to base_url + /webhooks/generic, for
// example https://shop.example.com/webhooks/generic, signed with a secret that
// both sides know:
//
//   - The secret is "whsec_" followed by standard base64 (with padding) of
//     random bytes, as Standard Webhooks and Svix write it (24 to 64 bytes
//     are recommended; NewSecret makes one of 24). The HMAC key is the
//     decoded bytes. The same base64 without
//     the "whsec_" prefix is accepted too (the key is the same), as the
//     Standard Webhooks reference library does. An empty secret verifies
//     nothing.
//   - Headers: webhook-id (a unique message id, the same on every retry of a
//     message: vend uses it to drop duplicates), webhook-timestamp (Unix
//     seconds) and webhook-signature ("v1," + base64 of
//     HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>"); several
//     space-separated entries are allowed while a secret is rotated). Any
//     Standard Webhooks library produces them.
//   - vend refuses messages whose timestamp is more than 5 minutes from its
//     clock, in either direction, so both clocks must be right.
//
// # The event
//
// The body is one JSON object, described by docs/webhook-event.schema.json
// (JSON Schema 2020-12):
//
//	{
//	  "type": "order.paid",
//	  "order": {
//	    "id": "A-1001",
//	    "currency": "EUR",
//	    "total": "49.00",
//	    "buyer": {"email": "buyer@example.com", "name": "Jörg Müller", "language": "de"},
//	    "items": [
//	      {"product_id": "ebook", "quantity": 1, "amount": "19.00", "name": "E-Book"},
//	      {"product_id": "audio-course", "quantity": 2, "amount": "30.00"}
//	    ],
//	    "custom": "anything the shop wants back"
//	  },
//	  "transaction_id": "pay_8812",
//	  "reason": "…",
//	  "test": false
//	}
//
// Amounts are decimal strings in the currency's major unit with at most two
// decimals ("49.00", "49.5", "500" for yen), never JSON numbers, so nothing is
// rounded on the way. An item's amount is the line total, all units together.
// Product ids are looked up in Config.Products first; ids not found there are
// used as they are. "test" must match vend's sandbox setting (Config.Sandbox).
// Unknown fields are ignored.
//
// Types, and the vend event each one becomes:
//
//   - order.paid (payment) and order.pending (pending; "reason" says why)
//     need order.id, currency, total, buyer.email and at least one item. A
//     pending order later paid must send the same transaction_id, or none.
//   - order.refunded (refund) needs order.id and currency. The refunded amount
//     is the top-level "amount", else order.total. The refund ends access
//     ("full") when the message says "full": true, or when the amount is at
//     least order.total; a smaller refund keeps access and flags the order
//     for review.
//   - order.chargeback (chargeback) and order.restored (restore: the
//     chargeback was reversed) need order.id.
//   - any other type, for example "ping" to test the connection, is accepted
//     and ignored, so a shop can send types a later vend will understand.
//
// The event's Key is the webhook-id. OrderRef is order.id; TxnID is
// transaction_id, or, without one, "payment:", "refund:", "chargeback:" or
// "restore:" followed by order.id. Without transaction_id a pending and a
// paid message are thus one payment transaction, and repeated refunds of an
// order are one refund transaction whose amount each message states as the
// total refunded so far; give each refund its own transaction_id to have them
// add up instead. ParentTxnID is order.id for refunds, chargebacks and
// restores.
//
// Price checks are not done here: the ledger compares events against the
// catalog for every provider alike.
package generic

import "github.com/vend-shop/vend"

// Provider is the provider name on events and notifications.
const Provider = "generic"

// Config is what Normalize checks a message against. Sandbox accepts only
// messages with "test": true; Products maps the shop's product ids to
// catalog ids.
type Config = vend.ProviderConfig

// rejectf refuses a genuine message for the reason given.
func rejectf(format string, args ...any) *vend.RejectError {
	return vend.Rejectf(Provider, format, args...)
}
