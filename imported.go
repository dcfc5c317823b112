package vend

import "time"

// ImportedItem is one item of an order that the seller imported from a
// provider's own order data (WEBSALE's order export), not learned from a
// message. A buyer's link is no signed message: it says which order's item to
// look at, not that it was paid. So a Link provider's first link of an item
// creates its order and grant only if the item was imported (or the seller
// opted in to trusting first links, see LinkGate).
type ImportedItem struct {
	Provider string `json:"provider"`
	OrderRef string `json:"order_ref"` // the order reference its events carry
	// TxnID is the id the provider's events carry for the item: it is what a
	// link is matched on.
	TxnID string `json:"txn_id"`
	// Email is the buyer's address as the order data has it; "" if it has none.
	Email     string    `json:"email,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}
