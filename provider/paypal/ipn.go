// Package paypal receives PayPal IPN (Instant Payment Notification) messages:
// it parses the form body (ParseForm), asks PayPal whether it sent it
// (Verifier), checks the message is for this seller and mode and turns it into a
// vend.Event (Normalize). It builds the Buy Now form that starts a payment
// (Button), and ships a simulator (Sim, DemoVerifier) so vend can be tried
// without a PayPal account.
//
// Price checks are not done here: the ledger compares events against the catalog
// for every provider alike.
package paypal

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
)

// Provider is the provider name on events and notifications.
const Provider = "paypal"

// maxCartItems bounds num_cart_items so a hostile count cannot make Normalize
// loop; real carts are far smaller.
const maxCartItems = 1000

// Config is what Normalize checks a message against.
type Config struct {
	// ReceiverEmails are the seller's PayPal addresses; receiver_email or business
	// must be one of them (compared case-insensitively).
	ReceiverEmails []string
	// ReceiverID is the seller's secure merchant account id; when set, receiver_id
	// must equal it. It is the most stable check: emails change, the id does not.
	ReceiverID string
	// Sandbox accepts only test messages (test_ipn=1); otherwise only live ones.
	Sandbox bool
}

// rejectf refuses a genuine message for the reason given.
func rejectf(format string, args ...any) *vend.RejectError {
	return vend.Rejectf(Provider, format, args...)
}

// Normalize checks a verified message and maps it to a vend.Event. Every error
// it returns is a *vend.RejectError. Call it only after Verifier.Verify returned nil:
// the checks here assume PayPal sent the message.
//
// Kinds: Completed is a payment; Pending and Created are pending; Denied, Failed,
// Voided and Expired are failed; Refunded is a refund, Reversed a chargeback and
// Canceled_Reversal a restore (these three carry parent_txn_id, the payment's
// txn_id, and a negative Total for refund and chargeback). Dispute messages
// (txn_type new_case, adjustment) and any other status are ignored. Key is
// txn_id/payment_status, because an eCheck sends Pending then Completed under
// the same txn_id.
func Normalize(f *Form, cfg Config) (vend.Event, error) {
	m := newFields(f)
	if err := checkReceiver(m, cfg); err != nil {
		return vend.Event{}, err
	}
	if err := checkMode(m, cfg.Sandbox); err != nil {
		return vend.Event{}, err
	}
	ev, err := baseEvent(m)
	if err != nil || ev.Kind == vend.EventIgnore {
		return ev, err
	}
	if err := addMoney(&ev, m); err != nil {
		return vend.Event{}, err
	}
	return ev, nil
}

// fields is the form with PHP's last-value-wins semantics, indexed once so
// cart lookups do not rescan the body.
type fields map[string]string

func newFields(f *Form) fields {
	m := fields{}
	if f != nil {
		for _, p := range f.Pairs {
			m[p.Key] = p.Value
		}
	}
	return m
}

// str returns the trimmed value of key: PayPal's ids, codes and amounts never
// carry meaningful surrounding space.
func (m fields) str(key string) string {
	return strings.TrimSpace(m[key])
}

func (m fields) has(key string) bool {
	_, ok := m[key]
	return ok
}

// checkReceiver makes sure the money went to this seller: a forged button can
// pay anyone, and PayPal will still say VERIFIED. With nothing configured
// nothing can be proven, so it fails closed.
func checkReceiver(m fields, cfg Config) error {
	emails := configuredEmails(cfg.ReceiverEmails)
	id := strings.TrimSpace(cfg.ReceiverID)
	if len(emails) == 0 && id == "" {
		return rejectf("no PayPal receiver is configured: set paypal.receiver_emails or paypal.receiver_id")
	}
	if len(emails) > 0 && !matchesEmail(emails, m.str("receiver_email"), m.str("business")) {
		return receiverEmailError(m.str("receiver_email"), m.str("business"))
	}
	if id != "" && m.str("receiver_id") != id {
		return rejectf("receiver_id %q is not paypal.receiver_id %q", m.str("receiver_id"), id)
	}
	return nil
}

// configuredEmails drops blank entries: a stray "" in the config must not match a
// message that has no receiver_email at all.
func configuredEmails(list []string) []string {
	var out []string
	for _, e := range list {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

func matchesEmail(emails []string, candidates ...string) bool {
	for _, c := range candidates {
		for _, e := range emails {
			if c != "" && strings.EqualFold(c, e) {
				return true
			}
		}
	}
	return false
}

func receiverEmailError(receiver, business string) error {
	if business == "" || strings.EqualFold(business, receiver) {
		return rejectf("receiver_email %q is not one of paypal.receiver_emails", receiver)
	}
	return rejectf("neither receiver_email %q nor business %q is one of paypal.receiver_emails", receiver, business)
}

// checkMode keeps sandbox money from granting real downloads, and live money from
// landing in a test setup where the seller would not look for it.
func checkMode(m fields, sandbox bool) error {
	return vend.CheckMode(Provider, sandbox, m.str("test_ipn") == "1", "sandbox message (test_ipn=1)", "live message (no test_ipn=1)")
}

// baseEvent fills what every event has: ids, kind, key, buyer.
func baseEvent(m fields) (vend.Event, error) {
	txnID := m.str("txn_id")
	if txnID == "" {
		return vend.Event{}, rejectf("txn_id is missing")
	}
	status := m.str("payment_status")
	ev := vend.Event{
		Provider:    Provider,
		Kind:        kindOf(m.str("txn_type"), status),
		TxnID:       txnID,
		ParentTxnID: m.str("parent_txn_id"),
		Key:         txnID + "/" + status,
		RawStatus:   status,
		Custom:      m["custom"],
		Buyer:       buyer(m),
		Test:        m.str("test_ipn") == "1",
		At:          parsePaymentDate(m.str("payment_date")),
	}
	switch ev.Kind {
	case vend.EventPending:
		ev.Reason = m.str("pending_reason")
	case vend.EventRefund, vend.EventChargeback, vend.EventRestore:
		ev.Reason = m.str("reason_code")
		if ev.ParentTxnID == "" {
			return vend.Event{}, rejectf("payment_status %s without parent_txn_id: cannot tell which payment it is about", status)
		}
	}
	return ev, nil
}

func kindOf(txnType, status string) vend.EventKind {
	switch txnType {
	case "new_case", "adjustment":
		// Disputes: the money moves in a later Reversed message.
		return vend.EventIgnore
	}
	switch status {
	case "Completed":
		return vend.EventPayment
	case "Pending", "Created":
		return vend.EventPending
	case "Denied", "Failed", "Voided", "Expired":
		return vend.EventFailed
	case "Refunded":
		return vend.EventRefund
	case "Reversed":
		return vend.EventChargeback
	case "Canceled_Reversal", "Canceled-Reversal":
		return vend.EventRestore
	}
	return vend.EventIgnore
}

func buyer(m fields) vend.Buyer {
	return vend.Buyer{
		Email: m.str("payer_email"),
		Name:  strings.TrimSpace(m.str("first_name") + " " + m.str("last_name")),
	}
}

// addMoney fills total, currency and items. Items are required only where they
// create an order (payment, pending); on the other kinds the ledger finds the
// order by txn_id, so a refund is never refused over an item field.
func addMoney(ev *vend.Event, m fields) error {
	total, err := vend.ParseAmount(m.str("mc_gross"))
	if err != nil {
		return rejectf("mc_gross %q is not an amount", m.str("mc_gross"))
	}
	ev.Total = total
	if ev.Currency, err = currency(m, ev.Kind); err != nil {
		return err
	}
	items, err := parseItems(m)
	if err != nil && createsOrder(ev.Kind) {
		return err
	}
	if err == nil {
		ev.Items = items
	}
	return nil
}

func createsOrder(kind vend.EventKind) bool {
	return kind == vend.EventPayment || kind == vend.EventPending
}

// currency returns mc_currency upper-cased; it must be a three-letter code where
// the ledger compares or sums amounts.
func currency(m fields, kind vend.EventKind) (string, error) {
	c := strings.ToUpper(m.str("mc_currency"))
	if isCurrencyCode(c) {
		return c, nil
	}
	switch kind {
	case vend.EventPayment, vend.EventPending, vend.EventRefund:
		return "", rejectf("mc_currency %q is not a currency code", m.str("mc_currency"))
	}
	return "", nil
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

func parseItems(m fields) ([]vend.EventItem, error) {
	if !m.has("num_cart_items") && m.str("txn_type") != "cart" {
		it, err := singleItem(m)
		if err != nil {
			return nil, err
		}
		return []vend.EventItem{it}, nil
	}
	n, err := cartCount(m)
	if err != nil {
		return nil, err
	}
	items := make([]vend.EventItem, 0, n)
	for i := 1; i <= n; i++ {
		it, err := cartItem(m, i)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

// singleItem reads a one-product message; its line amount is the whole mc_gross.
func singleItem(m fields) (vend.EventItem, error) {
	return item(m, "item_number", "item_name", "quantity", "mc_gross")
}

// cartItem reads line n of a cart. The documented spelling is mc_gross_N, but
// PayPal's IPN simulator sends mc_grossN, so both are accepted.
func cartItem(m fields, n int) (vend.EventItem, error) {
	gross := fmt.Sprintf("mc_gross_%d", n)
	if !m.has(gross) {
		gross = fmt.Sprintf("mc_gross%d", n)
	}
	return item(m, fmt.Sprintf("item_number%d", n), fmt.Sprintf("item_name%d", n), fmt.Sprintf("quantity%d", n), gross)
}

func item(m fields, numberKey, nameKey, quantityKey, grossKey string) (vend.EventItem, error) {
	id := m.str(numberKey)
	if id == "" {
		return vend.EventItem{}, rejectf("%s is missing: the PayPal button must set item_number to the vend product id", numberKey)
	}
	qty, err := quantity(m.str(quantityKey))
	if err != nil {
		return vend.EventItem{}, rejectf("%s %q is not a quantity", quantityKey, m.str(quantityKey))
	}
	amount, err := vend.ParseAmount(m.str(grossKey))
	if err != nil {
		return vend.EventItem{}, rejectf("%s %q is not an amount", grossKey, m.str(grossKey))
	}
	return vend.EventItem{ProductID: id, Name: m.str(nameKey), Quantity: qty, Amount: amount}, nil
}

// quantity parses a positive count; PayPal leaves it out for a single unit.
func quantity(s string) (int, error) {
	if s == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("invalid quantity %q", s)
	}
	return n, nil
}

// cartCount is num_cart_items, or, for a cart message without it, the number of
// consecutive item_numberN fields.
func cartCount(m fields) (int, error) {
	if !m.has("num_cart_items") {
		n := 0
		for n < maxCartItems && m.has(fmt.Sprintf("item_number%d", n+1)) {
			n++
		}
		if n == 0 {
			return 0, rejectf("cart message without num_cart_items or item_number1")
		}
		return n, nil
	}
	n, err := strconv.Atoi(m.str("num_cart_items"))
	if err != nil || n < 1 || n > maxCartItems {
		return 0, rejectf("num_cart_items %q is not a count between 1 and %d", m.str("num_cart_items"), maxCartItems)
	}
	return n, nil
}

const (
	paymentDateLayout   = "15:04:05 Jan _2, 2006"
	simulatorDateLayout = "Mon Jan _2 2006 15:04:05 GMT-0700"
)

// parsePaymentDate returns the payment time, or the zero time when the field is
// missing, "N/A" or in a shape not known: the date is informative only.
func parsePaymentDate(s string) time.Time {
	if rest, abbr, ok := cutLast(s, " "); ok {
		if zone := pacificZone(abbr); zone != nil {
			if t, err := time.ParseInLocation(paymentDateLayout, rest, zone); err == nil {
				return t
			}
		}
	}
	if rest, _, ok := strings.Cut(s, " ("); ok {
		if t, err := time.Parse(simulatorDateLayout, rest); err == nil {
			return t
		}
	}
	return time.Time{}
}

// pacificZone resolves the PST/PDT abbreviation PayPal writes; Go's parser would
// otherwise take an unknown abbreviation as UTC.
func pacificZone(abbr string) *time.Location {
	switch abbr {
	case "PST":
		return time.FixedZone("PST", -8*3600)
	case "PDT":
		return time.FixedZone("PDT", -7*3600)
	}
	return nil
}

func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}
