package digistore24

import (
	"math/rand/v2"
	"strconv"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/provider/form"
)

// ipnVersion is the version real messages carry today.
const ipnVersion = "1.6"

// Sim describes one simulated IPN message: one item of an order, as Digistore24
// sends them. Zero fields get defaults: Event on_payment, OrderID a NewOrderID,
// Quantity 1, Currency EUR, BillingType single_payment (subscription for the
// rebilling events), and TxnID a NewTxnID for payments, refunds and chargebacks;
// the other events carry a transaction_id only when TxnID is set.
//
// The fields each event carries follow the signed samples of protocols.md 2.10:
// payments carry the buyer, custom and the item, the other events the order,
// the item id and the e-mail address only.
type Sim struct {
	Event                  string
	OrderID                string
	ProductID, ProductName string
	Quantity               int
	TxnID, ParentTxnID     string
	// Amount is amount, gross; written positive for every event, as in
	// Digistore24's samples. VAT is vat_amount, on payments only.
	Amount, VAT vend.Amount
	Currency    string
	// Email is both email and buyer_email; the names are the address's.
	Email, FirstName, LastName, Language, Custom string
	// Test sets api_mode=test instead of live.
	Test bool
	// UpsellNo is upsell_no: 0 for the main product, 1 to 3 for upsells.
	UpsellNo      int
	BillingType   string
	PaySequenceNo int
	StopReason    string // billing_stop_reason, on on_payment_missed
}

// SimItem is an upsell of a simulated order (see Sim.WithUpsells).
type SimItem struct {
	ProductID, Name string
	Quantity        int // zero means 1
	Amount          vend.Amount
	TxnID           string // zero means a NewTxnID for money events
}

// Body writes the message as Digistore24 would send it: UTF-8, fields in the
// order of the samples, sha_sign last, signed with passphrase under
// OriginalKeys. An empty passphrase gives an empty sha_sign, which Verify refuses.
func (s Sim) Body(passphrase string) []byte {
	pairs := s.withDefaults().pairs()
	pairs = append(pairs, Pair{Key: "sha_sign", Value: Sign(pairs, passphrase, false)})
	return encode(pairs)
}

// ConnectionTest is the body of the "Test connection" button, which the HTTP
// layer must answer with OK.
func ConnectionTest(passphrase string) []byte {
	return Sim{Event: eventConnectionTest, Test: true}.Body(passphrase)
}

// WithUpsells returns the messages of an order whose main product is s
// (upsell_no 0) followed by one message per upsell (upsell_no 1, 2, …), all
// under one order_id with s's event, buyer and custom: Digistore24 sends one
// message per item, each with its own product_id and transaction_id.
func (s Sim) WithUpsells(upsells ...SimItem) []Sim {
	if s.OrderID == "" {
		s.OrderID = NewOrderID()
	}
	s.UpsellNo = 0
	out := []Sim{s}
	for i, u := range upsells {
		x := s
		x.ProductID, x.ProductName, x.Quantity, x.Amount, x.TxnID = u.ProductID, u.Name, u.Quantity, u.Amount, u.TxnID
		x.VAT, x.UpsellNo = 0, i+1
		out = append(out, x)
	}
	return out
}

// NewOrderID returns a random order id in Digistore24's style (8 characters).
func NewOrderID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 8)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

// NewTxnID returns a random numeric transaction id in Digistore24's style.
// It only needs to be unique, not secret.
func NewTxnID() string {
	return strconv.Itoa(10_000_000 + rand.IntN(90_000_000))
}

func (s Sim) withDefaults() Sim {
	if s.Event == "" {
		s.Event = eventPayment
	}
	if s.Event == eventConnectionTest {
		return s
	}
	if s.OrderID == "" {
		s.OrderID = NewOrderID()
	}
	if s.Quantity == 0 {
		s.Quantity = 1
	}
	if s.Currency == "" {
		s.Currency = "EUR"
	}
	if s.BillingType == "" {
		s.BillingType = defaultBillingType(s.Event)
	}
	if s.TxnID == "" && s.moves() {
		s.TxnID = NewTxnID()
	}
	return s
}

func defaultBillingType(event string) string {
	switch event {
	case eventPaymentMissed, eventRebillCanceled, eventRebillResumed, eventLastPaidDay, eventSignup:
		return "subscription"
	}
	return "single_payment"
}

func (s Sim) pays() bool {
	return s.Event == eventPayment || s.Event == eventSignup
}

// moves reports the events that move money and so have an amount.
func (s Sim) moves() bool {
	return s.pays() || s.Event == eventRefund || s.Event == eventChargeback
}

func transactionType(event string) string {
	switch event {
	case eventPayment, eventSignup:
		return "payment"
	case eventRefund:
		return "refund"
	case eventChargeback:
		return "chargeback"
	case eventPaymentMissed:
		return "payment_missed"
	case eventPaymentDenial:
		return "payment_denial"
	case eventRebillCanceled:
		return "rebill_cancelled"
	case eventRebillResumed:
		return "rebill_resumed"
	case eventLastPaidDay:
		return "last_paid_day"
	}
	return ""
}

// pairList builds a message in order.
type pairList []Pair

func (l *pairList) add(key, value string) {
	*l = append(*l, Pair{Key: key, Value: value})
}

func (l *pairList) addIf(cond bool, key, value string) {
	if cond {
		l.add(key, value)
	}
}

func (s Sim) pairs() []Pair {
	var l pairList
	mode := "live"
	if s.Test {
		mode = "test"
	}
	l.add("event", s.Event)
	l.add("api_mode", mode)
	l.add("ipn_version", ipnVersion)
	if s.Event == eventConnectionTest {
		return l
	}
	s.orderPairs(&l)
	s.buyerPairs(&l)
	return l
}

func (s Sim) orderPairs(l *pairList) {
	pays := s.pays()
	l.add("order_id", s.OrderID)
	l.add("product_id", s.ProductID)
	l.addIf(pays, "product_name", s.ProductName)
	l.addIf(s.TxnID != "", "transaction_id", s.TxnID)
	l.addIf(s.ParentTxnID != "", "parent_transaction_id", s.ParentTxnID)
	l.addIf(transactionType(s.Event) != "", "transaction_type", transactionType(s.Event))
	l.add("billing_type", s.BillingType)
	l.addIf(pays, "pay_sequence_no", strconv.Itoa(s.PaySequenceNo))
	l.addIf(pays, "upsell_no", strconv.Itoa(s.UpsellNo))
	l.addIf(s.moves(), "amount", s.Amount.Abs().String())
	l.addIf(s.moves(), "currency", s.Currency)
	l.addIf(pays, "vat_amount", s.VAT.String())
	l.addIf(s.Event == eventPaymentMissed && s.StopReason != "", "billing_stop_reason", s.StopReason)
}

func (s Sim) buyerPairs(l *pairList) {
	l.add("email", s.Email)
	if !s.pays() {
		return
	}
	l.add("buyer_email", s.Email)
	l.add("address_first_name", s.FirstName)
	l.add("address_last_name", s.LastName)
	l.addIf(s.Language != "", "buyer_language", s.Language)
	l.add("custom", s.Custom)
	l.add("license_key", "")
	l.add("quantity", strconv.Itoa(s.Quantity))
}

// encode writes pairs as a form body. Like PHP's http_build_query it escapes
// everything but letters, digits and "-_.", except that '~' stays as it is.
func encode(pairs []Pair) []byte {
	var b []byte
	for i, p := range pairs {
		if i > 0 {
			b = append(b, '&')
		}
		b = form.AppendEscaped(b, []byte(p.Key))
		b = append(b, '=')
		b = form.AppendEscaped(b, []byte(p.Value))
	}
	return b
}
