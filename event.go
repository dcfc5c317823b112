package vend

import "time"

// EventKind is what a verified notification means for the ledger, whatever the
// provider. Providers normalize to these; the ledger alone decides what changes.
type EventKind string

const (
	EventPayment    EventKind = "payment"    // money arrived: grant (and lift a suspension)
	EventPending    EventKind = "pending"    // payment started but not complete
	EventFailed     EventKind = "failed"     // a pending payment will not complete
	EventRefund     EventKind = "refund"     // money returned (full or partial)
	EventChargeback EventKind = "chargeback" // money taken back by the buyer's bank
	EventRestore    EventKind = "restore"    // a chargeback was cancelled or won
	EventSuspend    EventKind = "suspend"    // a recurring payment was missed: access paused until the next payment
	EventResume     EventKind = "resume"     // rebilling resumed: lifts a suspension, never grants
	EventEnd        EventKind = "end"        // the paid period is over: access ends until a new payment
	EventIgnore     EventKind = "ignore"     // genuine but not about a sale (masspay, connection test …)
)

// Event is one normalized, verified provider message.
type Event struct {
	Provider string    `json:"provider"`
	Kind     EventKind `json:"kind"`
	// OrderRef is the provider's reference for the order the event is about
	// (Digistore24: order_id; Stripe: the payment intent). Empty means the
	// PayPal convention: a payment's TxnID, or a later change's ParentTxnID.
	OrderRef    string `json:"order_ref,omitempty"`
	TxnID       string `json:"txn_id"`                  // the provider's id for this transaction
	ParentTxnID string `json:"parent_txn_id,omitempty"` // refund/chargeback/restore: the payment
	// ProductID scopes the event to one item of the order (Digistore24 sends one
	// message per item); empty means the whole order.
	ProductID string `json:"product_id,omitempty"`
	Key       string `json:"key"` // idempotency key within the provider
	RawStatus string `json:"raw_status"`
	Reason    string `json:"reason,omitempty"`
	Custom    string `json:"custom,omitempty"`
	Buyer     Buyer  `json:"buyer"`
	// Language is the buyer's language as the provider gives it ("de", "en"), for mail.
	Language string      `json:"language,omitempty"`
	Items    []EventItem `json:"items,omitempty"`
	Total    Amount      `json:"total"`
	Currency string      `json:"currency"`
	// Full marks a refund that ends access whatever its amount (a Digistore24
	// refund of an item, a Stripe charge refunded in full).
	Full bool `json:"full,omitempty"`
	// Unpriced marks a payment whose provider names no amounts (a WEBSALE link:
	// the shop took the money). The ledger records catalog prices and skips the
	// price check; Currency may be empty.
	Unpriced bool      `json:"unpriced,omitempty"`
	Test     bool      `json:"test"`
	At       time.Time `json:"at,omitzero"`
}

// EventItem is one product line of a payment event.
type EventItem struct {
	ProductID string `json:"product_id"`
	Name      string `json:"name"`
	Quantity  int    `json:"quantity"`
	Amount    Amount `json:"amount"` // gross for the line, all units together
}
