package vend

import "time"

// Buyer is the person who paid, as the provider named them.
type Buyer struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// OrderStatus is derived from an order's transactions; it is never set directly.
type OrderStatus string

const (
	OrderPending  OrderStatus = "pending"  // payment seen but not completed (eCheck, review)
	OrderPaid     OrderStatus = "paid"     // completed and not taken back
	OrderRefunded OrderStatus = "refunded" // fully refunded
	OrderReversed OrderStatus = "reversed" // charged back and not restored
	OrderFailed   OrderStatus = "failed"   // denied, failed, voided or expired
	// Suspended and Ended come from an item's hold, not from money: a missed
	// recurring payment pauses access until the next payment; the end of a paid
	// period ends it until a new one.
	OrderSuspended OrderStatus = "suspended"
	OrderEnded     OrderStatus = "ended"
)

// Known reports whether s is one of the statuses an order can have, so a
// filter with a misspelt status is refused instead of matching nothing.
func (s OrderStatus) Known() bool {
	switch s {
	case OrderPending, OrderPaid, OrderRefunded, OrderReversed, OrderFailed, OrderSuspended, OrderEnded:
		return true
	}
	return false
}

// Order is one purchase at one provider. Ref is the provider's reference for it
// (PayPal: the payment's txn_id).
type Order struct {
	ID           int64       `json:"id"`
	Provider     string      `json:"provider"`
	Ref          string      `json:"ref"`
	Custom       string      `json:"custom,omitempty"`
	Buyer        Buyer       `json:"buyer"`
	Currency     string      `json:"currency"`
	Total        Amount      `json:"total"`
	Status       OrderStatus `json:"status"`
	StatusReason string      `json:"status_reason,omitempty"` // e.g. pending_reason "echeck"
	Review       bool        `json:"review,omitempty"`        // partial refund: a person should look
	Test         bool        `json:"test"`
	// Language is the buyer's language as the provider gave it ("de", "en-US";
	// "" when it did not say): the buyer's mails and pages follow it.
	Language string `json:"language,omitempty"`
	Deleted  bool   `json:"deleted,omitempty"` // by an administrator: hidden from lists, grants revoked
	// TermsVersion is the shop's terms (shop.terms_version) in force when the
	// order was made: the ones the buyer agreed to at checkout.
	TermsVersion string         `json:"terms_version,omitempty"`
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`
	Items        []*Item        `json:"items,omitempty"`
	Transactions []*Transaction `json:"transactions,omitempty"`
}

// Item is one product line of an order. Its Status is derived like an order's,
// from the transactions about it (or the order's, when none is about one item).
type Item struct {
	ID        int64       `json:"id"`
	OrderID   int64       `json:"order_id"`
	ProductID string      `json:"product_id"`
	Name      string      `json:"name"`
	Quantity  int         `json:"quantity"`
	Amount    Amount      `json:"amount"`
	Status    OrderStatus `json:"status"`
	Hold      Hold        `json:"hold,omitempty"`
	Grant     *Grant      `json:"grant,omitempty"`
}

// Hold pauses or ends an item's access for a reason other than money returned:
// the provider said a recurring payment was missed or the paid period is over.
type Hold string

const (
	HoldNone      Hold = ""
	HoldSuspended Hold = "suspended" // lifted by the next payment or a resumed rebilling
	HoldEnded     Hold = "ended"     // lifted only by a new payment
)

// TxnKind says what a transaction did to the money.
type TxnKind string

const (
	TxnPayment    TxnKind = "payment"
	TxnRefund     TxnKind = "refund"
	TxnChargeback TxnKind = "chargeback"
	TxnRestore    TxnKind = "restore" // a cancelled reversal: the money came back
	// Holds move no money but are kept like transactions, so that an item's
	// hold is derived from its whole history (ItemHold) whatever the order in
	// which the provider's messages arrived.
	TxnSuspend TxnKind = "suspend" // a recurring payment was missed
	TxnResume  TxnKind = "resume"  // rebilling resumed, or a payment was sent again after a missed one
	TxnEnd     TxnKind = "end"     // the paid period is over
)

// TxnStatus is where a transaction stands.
type TxnStatus string

const (
	TxnPending   TxnStatus = "pending"
	TxnCompleted TxnStatus = "completed"
	TxnFailed    TxnStatus = "failed"
)

// Transaction is one provider transaction: one row per provider transaction id, its
// status moving forward as notifications arrive (PayPal Pending → Completed keeps
// the txn_id).
type Transaction struct {
	ID          int64     `json:"id"`
	OrderID     int64     `json:"order_id,omitempty"`
	Provider    string    `json:"provider"`
	TxnID       string    `json:"txn_id"`
	ParentTxnID string    `json:"parent_txn_id,omitempty"`
	OrderRef    string    `json:"order_ref"`            // the provider's reference of the order it belongs to
	ProductID   string    `json:"product_id,omitempty"` // the item it is about; empty: the whole order
	Kind        TxnKind   `json:"kind"`
	Full        bool      `json:"full,omitempty"` // a refund that ends access whatever its amount
	Status      TxnStatus `json:"status"`
	RawStatus   string    `json:"raw_status"`
	Reason      string    `json:"reason,omitempty"`
	Amount      Amount    `json:"amount"`
	Currency    string    `json:"currency"`
	// At is when the transaction happened by the provider's clock, or when
	// vend first recorded it if the provider gives no time: it places holds
	// and payments in the order they happened, not the order they arrived.
	At        time.Time `json:"at"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}
