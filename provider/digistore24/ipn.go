// Package digistore24 receives Digistore24 IPN messages of the "Generic"
// connection type: it parses the form body (ParseForm), checks the sha_sign that
// Digistore24 computes with the connection's IPN passphrase (Verify), and turns a
// verified message into a vend.Event (Normalize). It also writes the plain-text
// answers Digistore24 expects (Answer, ErrorBody) and ships a simulator (Sim) so
// vend can be tried without a Digistore24 account.
//
// Unlike PayPal, Digistore24 cannot be asked whether it sent a message: the
// passphrase is the only proof, so verification fails closed and happens here,
// without any network. Digistore24 sends one message per order item (a main
// product and up to three upsells are separate messages under one order_id), so
// every event carries the order as OrderRef and the item as ProductID.
//
// Price checks are not done here: the ledger compares events against the
// catalog for every provider alike.
package digistore24

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/provider/form"
)

// Provider is the provider name on events and notifications.
const Provider = "digistore24"

// maxQuantity bounds quantity; a larger one is a mistake, not a sale.
const maxQuantity = 10000

// Event names (the event field) that Normalize acts on or names.
const (
	eventPayment        = "on_payment"
	eventSignup         = "on_payment_subscription_signup"
	eventRefund         = "on_refund"
	eventChargeback     = "on_chargeback"
	eventPaymentMissed  = "on_payment_missed"
	eventRebillResumed  = "on_rebill_resumed"
	eventRebillCanceled = "on_rebill_cancelled"
	eventLastPaidDay    = "last_paid_day"
	eventPaymentDenial  = "payment_denial"
	eventAffiliation    = "on_affiliation"
	eventETicket        = "eticket"
	eventCustomForm     = "custom_form"
	eventConnectionTest = "connection_test"
)

// Pair is one key=value pair of a form body, percent-decoded. Digistore24 sends
// UTF-8 only, and the bytes are kept as they are, valid or not: the signature
// is over them.
type Pair struct {
	Key, Value string
}

// Form is a parsed message: every pair in input order, duplicates kept.
type Form struct {
	Pairs []Pair
}

// ParseForm parses a form body the PHP way (see form.Split), as the reference
// implementations that compute sha_sign do. It never fails: every body is some
// set of pairs, and Verify decides whether they are genuine. body is not
// modified or retained.
func ParseForm(body []byte) *Form {
	raw := form.Split(body)
	f := &Form{Pairs: make([]Pair, len(raw))}
	for i, p := range raw {
		f.Pairs[i] = Pair{Key: string(p.Key), Value: string(p.Value)}
	}
	return f
}

// Get returns the last value for key, or "" if there is none. The last one wins
// because PHP's $_POST, the reference for Digistore24's own samples, works that way.
func (f *Form) Get(key string) string {
	v, _ := f.Lookup(key)
	return v
}

// Lookup returns the last value for key and whether the key occurs at all.
func (f *Form) Lookup(key string) (string, bool) {
	pairs := f.pairs()
	for i := len(pairs) - 1; i >= 0; i-- {
		if pairs[i].Key == key {
			return pairs[i].Value, true
		}
	}
	return "", false
}

func (f *Form) pairs() []Pair {
	if f == nil {
		return nil
	}
	return f.Pairs
}

// IsConnectionTest reports whether the message is the "Test connection" button
// of Digistore24's IPN settings. After Verify, the HTTP layer answers it with a
// plain OK and changes nothing; Normalize maps it to an EventIgnore anyway.
func IsConnectionTest(f *Form) bool {
	return strings.TrimSpace(f.Get("event")) == eventConnectionTest
}

// Config is what Normalize checks and maps a message with. Sandbox accepts
// only test messages (api_mode=test), else only live ones (any api_mode but
// test, also none, and no pay_method=test); Products maps a Digistore24
// product_id to a catalog id.
type Config = vend.ProviderConfig

// rejectf refuses a genuine message for the reason given.
func rejectf(format string, args ...any) *vend.RejectError {
	return vend.Rejectf(Provider, format, args...)
}

// Normalize maps a verified message to a vend.Event. Every error it returns is a
// *vend.RejectError. Call it only after Verify succeeded: it trusts every field.
//
// Kinds: on_payment and on_payment_subscription_signup are payments; on_refund
// is a refund that ends the item's access whatever its amount (Full);
// on_chargeback a chargeback; on_payment_missed suspends, on_rebill_resumed
// lifts a suspension and last_paid_day ends access. Every other event, known or
// not, is ignored with a reason, because Digistore24 expects OK for it and
// nothing about access changes.
//
// Key is event:transaction_id. A message without transaction_id gets
// event:order_id:product_id:<hash of the whole message>, so only a byte-identical
// resend is a duplicate, and that key is its TxnID too.
func Normalize(f *Form, cfg Config) (vend.Event, error) {
	m := newFields(f)
	name := m.str("event")
	if name == "" {
		return vend.Event{}, rejectf("the message names no event")
	}
	// The test button sends api_mode=test from live accounts too; it must get
	// its OK whatever the mode.
	if name != eventConnectionTest {
		if err := checkMode(m, cfg.Sandbox); err != nil {
			return vend.Event{}, err
		}
	}
	ev := baseEvent(m, name, cfg)
	if ev.Kind == vend.EventIgnore {
		return ev, nil
	}
	if ev.OrderRef == "" {
		return vend.Event{}, rejectf("%s without order_id: cannot tell which order it is about", name)
	}
	if ev.ProductID == "" {
		return vend.Event{}, rejectf("%s without product_id: cannot tell which item of order %s it is about", name, ev.OrderRef)
	}
	switch ev.Kind {
	case vend.EventPayment:
		if err := addPayment(&ev, m); err != nil {
			return vend.Event{}, err
		}
	case vend.EventRefund, vend.EventChargeback:
		addReversal(&ev, m)
	case vend.EventSuspend:
		ev.Reason = m.str("billing_stop_reason")
	}
	return ev, nil
}

// fields is the form with PHP's last-value-wins semantics, indexed once. It
// keeps the form for the message hash.
type fields struct {
	values map[string]string
	form   *Form
}

func newFields(f *Form) fields {
	m := fields{values: map[string]string{}, form: f}
	for _, p := range f.pairs() {
		m.values[p.Key] = p.Value
	}
	return m
}

// str returns the value of key, trimmed and made safe to store: Digistore24's ids,
// codes and amounts never carry meaningful surrounding space.
func (m fields) str(key string) string {
	return strings.TrimSpace(clean(m.values[key]))
}

// first returns the first of keys with a non-empty value, and its name.
func (m fields) first(keys ...string) (key, value string) {
	for _, k := range keys {
		if v := m.str(k); v != "" {
			return k, v
		}
	}
	return keys[0], ""
}

// clean makes a signed value safe for storage: invalid UTF-8 becomes U+FFFD and
// NUL bytes go (PostgreSQL text refuses both). The signature was checked on the
// raw bytes before.
func clean(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// checkMode keeps test purchases from granting real downloads, and live money
// from landing in a test setup where the seller would not look for it. Only
// api_mode=test marks a test message: Digistore24's reference treats api_mode
// as optional, and its own IPN checker sends none, so a message without it
// (or with any other value) is live.
func checkMode(m fields, sandbox bool) error {
	mode := m.str("api_mode")
	switch {
	case sandbox && mode != "test":
		return rejectf("api_mode %q is not test but digistore24 sandbox mode is on", mode)
	case !sandbox && mode == "test":
		return rejectf("api_mode %q is not live but digistore24 sandbox mode is off", mode)
	case !sandbox && m.str("pay_method") == "test":
		return rejectf("test payment (pay_method=test) but digistore24 sandbox mode is off")
	}
	return nil
}

// baseEvent fills what every event has: kind, identity, key, buyer.
func baseEvent(m fields, name string, cfg Config) vend.Event {
	kind, reason := kindOf(name)
	ev := vend.Event{
		Provider:    Provider,
		Kind:        kind,
		OrderRef:    m.str("order_id"),
		TxnID:       m.str("transaction_id"),
		ParentTxnID: m.str("parent_transaction_id"),
		ProductID:   cfg.Product(m.str("product_id")),
		RawStatus:   name,
		Reason:      reason,
		Custom:      clean(m.values["custom"]),
		Buyer:       buyer(m),
		Test:        m.str("api_mode") == "test" || m.str("pay_method") == "test",
		At:          transactionTime(m),
	}
	_, ev.Language = m.first("buyer_language", "language")
	ev.Key = idempotencyKey(m, name)
	if ev.TxnID == "" {
		ev.TxnID = ev.Key
	}
	return ev
}

// transactionTime is when the message's transaction happened by Digistore24's
// clock (transaction_date and transaction_time, as in "2026-08-18" and
// "08:41:48"), or zero when the message does not say; the ledger then uses the
// time it received it. The ledger orders payments and holds by it. The zone is
// not given, so it is read as UTC: the times are compared with each other.
func transactionTime(m fields) time.Time {
	at, err := time.Parse("2006-01-02 15:04:05", m.str("transaction_date")+" "+m.str("transaction_time"))
	if err != nil {
		return time.Time{}
	}
	return at
}

// kindOf maps an event name; for ignored events the reason says why nothing changes.
func kindOf(name string) (vend.EventKind, string) {
	switch name {
	case eventPayment, eventSignup:
		return vend.EventPayment, ""
	case eventRefund:
		return vend.EventRefund, ""
	case eventChargeback:
		return vend.EventChargeback, ""
	case eventPaymentMissed:
		return vend.EventSuspend, ""
	case eventRebillResumed:
		return vend.EventResume, ""
	case eventLastPaidDay:
		return vend.EventEnd, ""
	case eventRebillCanceled:
		return vend.EventIgnore, "rebilling was cancelled: the paid period runs on until last_paid_day"
	case eventPaymentDenial:
		return vend.EventIgnore, "a payment was denied: nothing was paid, so nothing is granted"
	case eventAffiliation:
		return vend.EventIgnore, "an affiliate approval does not concern downloads"
	case eventETicket, eventCustomForm:
		return vend.EventIgnore, "e-ticket and form data do not concern downloads"
	case eventConnectionTest:
		return vend.EventIgnore, "connection test from the Digistore24 IPN settings"
	}
	return vend.EventIgnore, fmt.Sprintf("event %q is not one vend acts on", name)
}

// idempotencyKey is Event.Key. Without a transaction_id, the signature tells
// messages apart: it covers exactly the signed content, so a message sent again
// has the same key however its fields are ordered or padded with empty ones
// (which are not signed), and any change to what it says changes the key.
func idempotencyKey(m fields, name string) string {
	if txn := m.str("transaction_id"); txn != "" {
		return name + ":" + txn
	}
	sig := strings.ToUpper(receivedSignature(m.form))
	return name + ":" + m.str("order_id") + ":" + m.str("product_id") + ":" + sig[:min(32, len(sig))]
}

// buyer takes the buyer_* names and falls back to the address, which is all some
// messages carry. The e-mail address is not verified by Digistore24.
func buyer(m fields) vend.Buyer {
	_, email := m.first("buyer_email", "email")
	first, last := m.str("buyer_first_name"), m.str("buyer_last_name")
	if first == "" && last == "" {
		first, last = m.str("address_first_name"), m.str("address_last_name")
	}
	return vend.Buyer{Email: email, Name: strings.TrimSpace(first + " " + last)}
}

// addPayment fills the one item, total and currency a payment must have.
func addPayment(ev *vend.Event, m fields) error {
	field, s := m.first("amount", "amount_brutto", "transaction_amount")
	amount, err := vend.ParseAmount(s)
	if err != nil || amount < 0 {
		return rejectf("%s %q is not an amount", field, s)
	}
	if ev.Currency, err = currency(m); err != nil {
		return err
	}
	qty, err := quantity(m.str("quantity"))
	if err != nil {
		return err
	}
	ev.Total = amount
	ev.Items = []vend.EventItem{{ProductID: ev.ProductID, Name: m.str("product_name"), Quantity: qty, Amount: amount}}
	return nil
}

// addReversal records what was paid back, for the log: the sign of a refund's
// amount is not documented, so only its size counts, and a refund ends access
// whatever it says, so a malformed amount or currency is left out, not refused.
func addReversal(ev *vend.Event, m fields) {
	ev.Full = ev.Kind == vend.EventRefund
	_, s := m.first("amount", "amount_brutto", "transaction_amount")
	if amount, err := vend.ParseAmount(s); err == nil {
		ev.Total = amount.Abs()
	}
	ev.Currency, _ = currency(m)
}

// currency returns currency (or transaction_currency) upper-cased; it must be a
// three-letter code where the ledger compares amounts.
func currency(m fields) (string, error) {
	field, s := m.first("currency", "transaction_currency")
	if c := strings.ToUpper(s); isCurrencyCode(c) {
		return c, nil
	}
	return "", rejectf("%s %q is not a currency code", field, s)
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

// quantity parses the item count; Digistore24 may leave it out for one unit.
func quantity(s string) (int, error) {
	if s == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxQuantity {
		return 0, rejectf("quantity %q is not a count between 1 and %d", s, maxQuantity)
	}
	return n, nil
}
