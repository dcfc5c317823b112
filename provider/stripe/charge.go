package stripe

import (
	"github.com/vend-shop/vend"
)

// charge is the part of a Charge that vend reads.
type charge struct {
	ID             string `json:"id"`
	Object         string `json:"object"`
	AmountRefunded *int64 `json:"amount_refunded"`
	Currency       string `json:"currency"`
	PaymentIntent  idRef  `json:"payment_intent"`
	Refunded       bool   `json:"refunded"`
	BillingDetails *party `json:"billing_details"`
	ReceiptEmail   string `json:"receipt_email"`
}

func (c *charge) object() string { return c.Object }

// refundEvent maps charge.refunded. amount_refunded is what the charge has had
// refunded so far, so every refund of a payment updates one transaction.
func refundEvent(ev *vend.Event, e event) error {
	var c charge
	if err := decodeObject(e, "charge", &c); err != nil {
		return err
	}
	if c.ID == "" {
		return rejectf("%s event %s: the charge has no id", e.Type, e.ID)
	}
	ev.Kind = vend.EventRefund
	ev.OrderRef = ref(c.PaymentIntent, idRef(c.ID))
	ev.ParentTxnID = ev.OrderRef
	ev.TxnID = ev.OrderRef + ":refund"
	ev.Full = c.Refunded
	ev.Buyer = buyer(c.BillingDetails, c.ReceiptEmail)
	var err error
	if ev.Currency, err = currency(c.Currency); err != nil {
		return err
	}
	if ev.Total, err = money("amount_refunded", c.AmountRefunded, ev.Currency); err != nil {
		return err
	}
	if ev.Total == 0 {
		return rejectf("%s event %s: charge %s has amount_refunded 0", e.Type, e.ID, c.ID)
	}
	return nil
}

// dispute is the part of a Dispute that vend reads.
type dispute struct {
	ID            string `json:"id"`
	Object        string `json:"object"`
	Amount        *int64 `json:"amount"`
	Currency      string `json:"currency"`
	Charge        idRef  `json:"charge"`
	PaymentIntent idRef  `json:"payment_intent"`
	Reason        string `json:"reason"`
	Status        string `json:"status"`
}

func (d *dispute) object() string { return d.Object }

// disputeEvent maps charge.dispute.created and charge.dispute.closed.
func disputeEvent(ev *vend.Event, e event) error {
	var d dispute
	if err := decodeObject(e, "dispute", &d); err != nil {
		return err
	}
	if d.ID == "" {
		return rejectf("%s event %s: the dispute has no id", e.Type, e.ID)
	}
	if ev.OrderRef = ref(d.PaymentIntent, d.Charge); ev.OrderRef == "" {
		return rejectf("%s event %s: dispute %s names neither a payment_intent nor a charge", e.Type, e.ID, d.ID)
	}
	ev.ParentTxnID = ev.OrderRef
	ev.Reason = d.Reason
	if disputeKind(ev, e.Type, d); ev.Kind == vend.EventIgnore {
		return nil
	}
	var err error
	if ev.Currency, err = currency(d.Currency); err != nil {
		return err
	}
	ev.Total, err = money("amount", d.Amount, ev.Currency)
	return err
}

// disputeKind: a new dispute is a chargeback; one closed in the seller's favour
// (won), or an inquiry closed without becoming a chargeback (warning_closed),
// restores; any other close leaves the chargeback standing.
func disputeKind(ev *vend.Event, typ string, d dispute) {
	if typ == TypeDisputeCreated {
		ev.Kind, ev.TxnID = vend.EventChargeback, d.ID
		return
	}
	ev.RawStatus = typ + "/" + d.Status
	switch d.Status {
	case "won", "warning_closed":
		ev.Kind, ev.TxnID = vend.EventRestore, d.ID+":"+d.Status
	default:
		ev.Kind, ev.TxnID = vend.EventIgnore, d.ID+":"+d.Status
	}
}
