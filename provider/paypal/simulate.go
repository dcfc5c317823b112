package paypal

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/vend-shop/vend"
)

// maxDemoBody caps what DemoVerifier reads; simulated bodies are a few KB.
const maxDemoBody = 1 << 20

const (
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	lowerHex   = "0123456789abcdef"
)

// Sim describes one simulated IPN message. Zero fields get defaults: Status
// Completed, TxnID a NewTxnID, Currency USD, Date now, PendingReason echeck for
// Pending, ReasonCode refund/chargeback/other for Refunded/Reversed/
// Canceled_Reversal. Receiver and ReceiverID have no default: they must match
// the Config the message is normalized with, like a real button's.
type Sim struct {
	TxnID, ParentTxnID, Status, PendingReason, ReasonCode, ProductID, ProductName string

	// Amount is mc_gross. Its sign is set by Status (negative for Refunded and
	// Reversed); zero means the sum of Items.
	Amount vend.Amount

	Currency, PayerEmail, FirstName, LastName, Receiver, ReceiverID, Custom string

	Test bool
	// Items makes a cart message when it has more than one entry; otherwise the
	// message is a single-item web_accept (from Items[0], or ProductID and
	// ProductName when Items is empty).
	Items []SimItem
	// Date is payment_date; zero means now.
	Date time.Time
}

// SimItem is one cart line of a simulated message.
type SimItem struct {
	ProductID, Name string
	Quantity        int // zero means 1
	Amount          vend.Amount
}

// Body writes the message as PayPal would send it: windows-1252, field order as
// in real messages. Its verify_sign is base64url(HMAC-SHA256(secret, body without
// the verify_sign pair)), which DemoVerifier checks; PayPal's own verify_sign is
// opaque, this one lets the demo tell its messages from forged ones.
func (s Sim) Body(secret []byte) []byte {
	pairs := s.withDefaults().pairs()
	enc := charmap.Windows1252.NewEncoder()
	rest, _, _ := splitSign(appendPairs(nil, pairs, enc))
	for i := range pairs {
		if pairs[i].Key == "verify_sign" {
			pairs[i].Value = mac(secret, rest)
		}
	}
	return appendPairs(nil, pairs, enc)
}

// NewTxnID returns a random 17-character transaction id in PayPal's style.
func NewTxnID() string {
	return randomString(17, upperAlnum)
}

func (s Sim) withDefaults() Sim {
	if s.Status == "" {
		s.Status = "Completed"
	}
	if s.TxnID == "" {
		s.TxnID = NewTxnID()
	}
	if s.Currency == "" {
		s.Currency = "USD"
	}
	if s.Date.IsZero() {
		s.Date = time.Now()
	}
	if s.Status == "Pending" && s.PendingReason == "" {
		s.PendingReason = "echeck"
	}
	if s.ReasonCode == "" {
		s.ReasonCode = defaultReasonCode(s.Status)
	}
	return s
}

func defaultReasonCode(status string) string {
	switch status {
	case "Refunded":
		return "refund"
	case "Reversed":
		return "chargeback"
	case "Canceled_Reversal":
		return "other"
	}
	return ""
}

// reversal reports the statuses that are their own transaction on an earlier
// payment: they carry parent_txn_id and reason_code and no txn_type.
func (s Sim) reversal() bool {
	return s.Status == "Refunded" || s.Status == "Reversed" || s.Status == "Canceled_Reversal"
}

func (s Sim) items() []SimItem {
	items := s.Items
	if len(items) == 0 {
		items = []SimItem{{ProductID: s.ProductID, Name: s.ProductName, Amount: s.Amount}}
	}
	out := make([]SimItem, len(items))
	for i, it := range items {
		if it.Quantity == 0 {
			it.Quantity = 1
		}
		out[i] = it
	}
	return out
}

// total is mc_gross: money leaving the seller is negative, as in PayPal's messages.
func (s Sim) total() vend.Amount {
	t := s.Amount
	if t == 0 {
		for _, it := range s.items() {
			t += it.Amount
		}
	}
	if s.Status == "Refunded" || s.Status == "Reversed" {
		return -t.Abs()
	}
	return t.Abs()
}

// fee mimics PayPal's 2.9 % + 0.30: a refund returns the percentage part only, a
// reversal takes the whole fee back. Pending and failed payments have none.
func (s Sim) fee() (vend.Amount, bool) {
	percent := (s.total().Abs()*29 + 500) / 1000
	switch s.Status {
	case "Completed", "Canceled_Reversal":
		return percent + 30, true
	case "Refunded":
		return -percent, true
	case "Reversed":
		return -(percent + 30), true
	}
	return 0, false
}

func (s Sim) paymentType() string {
	if s.Status == "Pending" && s.PendingReason == "echeck" {
		return "echeck"
	}
	return "instant"
}

func (s Sim) txnType() string {
	if len(s.items()) > 1 {
		return "cart"
	}
	return "web_accept"
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

// pairs lays the fields out in the order of PayPal's messages (samples P1, P2, P4
// of protocols.md), with an empty verify_sign where PayPal puts it.
func (s Sim) pairs() []Pair {
	var l pairList
	s.headPairs(&l)
	s.itemCountPairs(&l)
	l.add("verify_sign", "")
	s.tailPairs(&l)
	return l
}

func (s Sim) headPairs(l *pairList) {
	rev := s.reversal()
	fee, hasFee := s.fee()
	l.add("mc_gross", s.total().String())
	l.addIf(s.Status == "Completed", "protection_eligibility", "Eligible")
	l.add("payer_id", randomString(13, upperAlnum))
	l.addIf(!rev, "tax", "0.00")
	l.add("payment_date", formatPaymentDate(s.Date))
	l.add("payment_status", s.Status)
	l.addIf(s.Status == "Pending", "pending_reason", s.PendingReason)
	l.addIf(rev, "reason_code", s.ReasonCode)
	l.addIf(rev && s.ParentTxnID != "", "parent_txn_id", s.ParentTxnID)
	l.add("charset", "windows-1252")
	l.add("first_name", s.FirstName)
	l.addIf(hasFee, "mc_fee", fee.String())
	l.add("notify_version", "3.9")
	l.add("custom", s.Custom)
	l.add("payer_status", "verified")
	l.add("business", s.Receiver)
}

// itemCountPairs writes quantity for a single item, or the cart lines, which
// PayPal puts before verify_sign.
func (s Sim) itemCountPairs(l *pairList) {
	items := s.items()
	if len(items) == 1 {
		l.addIf(!s.reversal(), "quantity", strconv.Itoa(items[0].Quantity))
		return
	}
	l.add("num_cart_items", strconv.Itoa(len(items)))
	for i, it := range items {
		n := strconv.Itoa(i + 1)
		l.add("item_name"+n, it.Name)
		l.add("item_number"+n, it.ProductID)
		l.add("quantity"+n, strconv.Itoa(it.Quantity))
		l.add("mc_gross_"+n, it.Amount.String())
		l.add("mc_handling"+n, "0.00")
		l.add("mc_shipping"+n, "0.00")
		l.add("tax"+n, "0.00")
	}
	l.add("mc_handling", "0.00")
	l.add("mc_shipping", "0.00")
}

func (s Sim) tailPairs(l *pairList) {
	rev := s.reversal()
	items := s.items()
	single := len(items) == 1
	usd := s.Currency == "USD"
	fee, hasFee := s.fee()
	l.add("payer_email", s.PayerEmail)
	l.add("txn_id", s.TxnID)
	l.add("payment_type", s.paymentType())
	l.add("last_name", s.LastName)
	l.add("receiver_email", s.Receiver)
	l.addIf(usd && hasFee, "payment_fee", fee.String())
	l.addIf(s.ReceiverID != "", "receiver_id", s.ReceiverID)
	l.addIf(!rev, "txn_type", s.txnType())
	l.addIf(single, "item_name", items[0].Name)
	l.add("mc_currency", s.Currency)
	l.addIf(single, "item_number", items[0].ProductID)
	l.add("residence_country", "US")
	l.addIf(s.Test, "test_ipn", "1")
	l.addIf(single && s.Status == "Completed", "handling_amount", "0.00")
	l.addIf(!rev, "transaction_subject", s.Custom)
	l.addIf(usd, "payment_gross", s.total().String())
	l.addIf(single && s.Status == "Completed", "shipping", "0.00")
	l.add("ipn_track_id", randomString(13, lowerHex))
}

// DemoVerifier plays PayPal's verification endpoint for messages made by Sim
// with the same Secret: it answers VERIFIED when the verify_sign MAC matches and
// INVALID otherwise. An empty Secret verifies nothing (fail closed).
type DemoVerifier struct {
	Secret []byte
}

var _ http.Handler = DemoVerifier{}

func (d DemoVerifier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxDemoBody))
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	answer := "INVALID"
	if d.verified(body) {
		answer = "VERIFIED"
	}
	_, _ = io.WriteString(w, answer)
}

func (d DemoVerifier) verified(body []byte) bool {
	raw, ok := bytes.CutPrefix(body, []byte(validatePrefix))
	if !ok || len(d.Secret) == 0 {
		return false
	}
	rest, sig, ok := splitSign(raw)
	return ok && hmac.Equal([]byte(sig), []byte(mac(d.Secret, rest)))
}

// splitSign removes the verify_sign segment from a raw body, leaving every other
// byte as it was, and returns its raw value. ok is false unless there is exactly
// one, so a second verify_sign cannot smuggle a different value past the check.
func splitSign(raw []byte) (rest []byte, sig string, ok bool) {
	var kept [][]byte
	n := 0
	for seg := range bytes.SplitSeq(raw, []byte("&")) {
		if key, value, _ := bytes.Cut(seg, []byte("=")); string(key) == "verify_sign" {
			sig, n = string(value), n+1
			continue
		}
		kept = append(kept, seg)
	}
	return bytes.Join(kept, []byte("&")), sig, n == 1
}

func mac(secret, msg []byte) string {
	h := hmac.New(sha256.New, secret)
	h.Write(msg)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// formatPaymentDate writes t in PayPal's format, in Pacific time.
func formatPaymentDate(t time.Time) string {
	return pacificTime(t).Format("15:04:05 Jan 02, 2006 MST")
}

// pacificTime converts to US Pacific time with the US daylight-saving rule
// (second Sunday in March to first Sunday in November, at 2:00 local), so the
// simulator does not depend on the host's time zone database.
func pacificTime(t time.Time) time.Time {
	year := t.UTC().Year()
	start := nthSunday(year, time.March, 2).Add(10 * time.Hour)
	end := nthSunday(year, time.November, 1).Add(9 * time.Hour)
	if !t.Before(start) && t.Before(end) {
		return t.In(pacificZone("PDT"))
	}
	return t.In(pacificZone("PST"))
}

func nthSunday(year int, month time.Month, n int) time.Time {
	first := time.Date(year, month, 1, 0, 0, 0, 0, time.UTC)
	offset := (7 - int(first.Weekday())) % 7
	return first.AddDate(0, 0, offset+7*(n-1))
}

// randomString is for ids that only need to be unique, not secret.
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}
