package generic

import (
	"strconv"
	"strings"

	"github.com/vend-shop/vend"
)

// fillPayment checks and sets what a paid or pending order needs: currency,
// total, buyer email and items.
func fillPayment(ev *vend.Event, o *order, cfg Config) error {
	var err error
	if ev.Currency, err = currency(o.Currency); err != nil {
		return err
	}
	if ev.Total, err = amount("order.total", o.Total); err != nil {
		return err
	}
	if ev.Buyer.Email == "" {
		return rejectf("%s without order.buyer.email: vend sends the download links there", ev.RawStatus)
	}
	ev.Items, err = items(o.Items, cfg)
	return err
}

// fillRefund sets the refunded amount (top-level amount, else order.total) and
// whether the refund ends access.
func fillRefund(ev *vend.Event, m message) error {
	var err error
	if ev.Currency, err = currency(m.Order.Currency); err != nil {
		return err
	}
	var total vend.Amount
	if m.Order.Total != nil {
		if total, err = amount("order.total", m.Order.Total); err != nil {
			return err
		}
	}
	switch {
	case m.Amount != nil:
		if ev.Total, err = amount("amount", m.Amount); err != nil {
			return err
		}
	case m.Order.Total != nil:
		ev.Total = total
	default:
		return rejectf("order.refunded without amount or order.total: how much was refunded?")
	}
	ev.Full = m.Full || m.Order.Total != nil && ev.Total >= total
	return nil
}

// fillOptionalMoney sets currency and total for a chargeback or restore when
// the message has them; the ledger finds the order by its id.
func fillOptionalMoney(ev *vend.Event, o *order) error {
	var err error
	if o.Currency != "" {
		if ev.Currency, err = currency(o.Currency); err != nil {
			return err
		}
	}
	if o.Total != nil {
		ev.Total, err = amount("order.total", o.Total)
	}
	return err
}

func currency(s string) (string, error) {
	c := strings.ToUpper(s)
	if len(c) != 3 || !allIn(c, 'A', 'Z') {
		return "", rejectf("order.currency %q is not a three-letter currency code", s)
	}
	return c, nil
}

// amount parses a required decimal string: digits, optionally a dot and one
// or two more digits, as the schema's pattern says.
func amount(field string, s *string) (vend.Amount, error) {
	if s == nil {
		return 0, rejectf("%s is missing", field)
	}
	whole, frac, dot := strings.Cut(*s, ".")
	if whole == "" || !allIn(whole, '0', '9') || dot && (frac == "" || !allIn(frac, '0', '9')) {
		return 0, rejectf("%s %q is not a decimal amount such as \"49.00\"", field, *s)
	}
	a, err := vend.ParseAmount(*s)
	if err != nil {
		return 0, rejectf("%s %q is not an amount with at most two decimals", field, *s)
	}
	return a, nil
}

func allIn(s string, lo, hi byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < lo || s[i] > hi {
			return false
		}
	}
	return true
}

func items(list []item, cfg Config) ([]vend.EventItem, error) {
	switch {
	case len(list) == 0:
		return nil, rejectf("order.items is empty: which products were bought?")
	case len(list) > maxItems:
		return nil, rejectf("order.items has more than %d entries", maxItems)
	}
	out := make([]vend.EventItem, len(list))
	for i, it := range list {
		var err error
		if out[i], err = eventItem(i, it, cfg); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func eventItem(i int, it item, cfg Config) (vend.EventItem, error) {
	id := strings.TrimSpace(it.ProductID)
	if id == "" {
		return vend.EventItem{}, rejectf("order.items[%d].product_id is missing", i)
	}
	id = cfg.Product(id)
	q := 1
	if it.Quantity != nil {
		if q = *it.Quantity; q < 1 || q > maxQuantity {
			return vend.EventItem{}, rejectf("order.items[%d].quantity %d is not from 1 to %d", i, q, maxQuantity)
		}
	}
	a, err := amount("order.items["+strconv.Itoa(i)+"].amount", it.Amount)
	if err != nil {
		return vend.EventItem{}, err
	}
	return vend.EventItem{ProductID: id, Name: strings.TrimSpace(it.Name), Quantity: q, Amount: a}, nil
}
