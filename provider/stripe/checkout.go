package stripe

import (
	"strings"

	"github.com/vend-shop/vend"
)

// session is the part of a Checkout Session that vend reads.
type session struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	AmountTotal       *int64            `json:"amount_total"`
	Currency          string            `json:"currency"`
	CustomerDetails   *party            `json:"customer_details"`
	CustomerEmail     string            `json:"customer_email"`
	PaymentIntent     idRef             `json:"payment_intent"`
	PaymentStatus     string            `json:"payment_status"`
	ClientReferenceID string            `json:"client_reference_id"`
	Metadata          map[string]string `json:"metadata"`
	Locale            string            `json:"locale"`
	Mode              string            `json:"mode"`
}

func (s *session) object() string { return s.Object }

// checkoutEvent maps the three checkout.session events.
func checkoutEvent(ev *vend.Event, e event, cfg Config) error {
	var s session
	if err := decodeObject(e, "checkout.session", &s); err != nil {
		return err
	}
	if s.ID == "" {
		return rejectf("%s event %s: the Checkout Session has no id", e.Type, e.ID)
	}
	switch s.Mode {
	case "setup":
		ev.Kind, ev.RawStatus = vend.EventIgnore, e.Type+"/setup"
		return nil
	case "", "payment":
	default:
		// A subscription's later charges name payment intents of invoices, not
		// the session, so their refunds and disputes could never find the
		// order: refuse rather than grant access nothing can end.
		return rejectf("%s event %s: a Checkout Session in %s mode; vend delivers one-time payments (mode payment) only", e.Type, e.ID, s.Mode)
	}
	if err := checkoutKind(ev, e.Type, s.PaymentStatus); err != nil {
		return err
	}
	ev.OrderRef = ref(s.PaymentIntent, idRef(s.ID))
	ev.TxnID = ev.OrderRef
	ev.Buyer = buyer(s.CustomerDetails, s.CustomerEmail)
	ev.Language = language(s.Locale)
	return checkoutMoney(ev, s, cfg)
}

// checkoutKind sets the kind, and the status and reason that explain it.
func checkoutKind(ev *vend.Event, typ, status string) error {
	switch typ {
	case TypeCheckoutAsyncSucceeded:
		ev.Kind = vend.EventPayment
		return nil
	case TypeCheckoutAsyncFailed:
		ev.Kind, ev.Reason = vend.EventFailed, "asynchronous payment failed"
		return nil
	}
	ev.RawStatus = typ + "/" + status
	switch status {
	case "paid", "no_payment_required":
		ev.Kind = vend.EventPayment
	case "unpaid":
		ev.Kind, ev.Reason = vend.EventPending, "awaiting asynchronous payment"
	default:
		return rejectf("Checkout Session payment_status %q is not paid, unpaid or no_payment_required", status)
	}
	return nil
}

// language is the Checkout page's locale, which Stripe chose from the buyer's
// browser unless the shop fixed it; "auto" says nothing.
func language(locale string) string {
	if locale = strings.TrimSpace(locale); locale == "auto" {
		return ""
	}
	return locale
}

// checkoutMoney fills currency, total, items and custom. Items are required
// where the event creates an order (payment, pending); a failed payment is
// about an order that already exists, so it is not refused over its metadata.
func checkoutMoney(ev *vend.Event, s session, cfg Config) error {
	var err error
	if ev.Currency, err = currency(s.Currency); err != nil {
		return err
	}
	if ev.Total, err = money("amount_total", s.AmountTotal, ev.Currency); err != nil {
		return err
	}
	items, custom, err := sessionItems(s, ev.Currency, ev.Total, cfg)
	if err != nil && ev.Kind != vend.EventFailed {
		return err
	}
	ev.Items, ev.Custom = items, custom
	return nil
}
