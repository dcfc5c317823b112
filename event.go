package vend

import "time"

// EventKind is what a verified notification means for the ledger, whatever the
// provider. Providers normalize to these; the ledger alone decides what changes.
type EventKind string

const (
	EventPayment    EventKind = "payment"    // money arrived: grant
	EventPending    EventKind = "pending"    // payment started but not complete
	EventFailed     EventKind = "failed"     // a pending payment will not complete
	EventRefund     EventKind = "refund"     // money returned (full or partial)
	EventChargeback EventKind = "chargeback" // money taken back by the buyer's bank
	EventRestore    EventKind = "restore"    // a chargeback was cancelled
	EventIgnore     EventKind = "ignore"     // genuine but not about a sale (masspay …)
)

// Event is one normalized, verified provider message.
type Event struct {
	Provider    string      `json:"provider"`
	Kind        EventKind   `json:"kind"`
	TxnID       string      `json:"txn_id"`                  // the provider's id for this transaction
	ParentTxnID string      `json:"parent_txn_id,omitempty"` // refund/chargeback/restore: the payment
	Key         string      `json:"key"`                     // idempotency key within the provider
	RawStatus   string      `json:"raw_status"`
	Reason      string      `json:"reason,omitempty"`
	Custom      string      `json:"custom,omitempty"`
	Buyer       Buyer       `json:"buyer"`
	Items       []EventItem `json:"items,omitempty"`
	Total       Amount      `json:"total"`
	Currency    string      `json:"currency"`
	Test        bool        `json:"test"`
	At          time.Time   `json:"at,omitzero"`
}

// EventItem is one product line of a payment event.
type EventItem struct {
	ProductID string `json:"product_id"`
	Name      string `json:"name"`
	Quantity  int    `json:"quantity"`
	Amount    Amount `json:"amount"` // gross for the line, all units together
}
