package generic

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/vend-shop/vend"
)

// Sim describes one simulated message, as a shop would send it. Zero fields
// get defaults: Type order.paid, MessageID a NewMessageID, OrderID a new
// random one, Currency EUR, Total the sum of Items. Items, Email, Name and
// Language are written for every type that has an order; Amount (the refunded
// amount) and Full only for order.refunded.
//
// A refund, chargeback or restore is about an earlier order: set OrderID to
// that order's.
type Sim struct {
	Type, MessageID, OrderID, TransactionID string

	Currency string
	Total    vend.Amount
	Items    []SimItem

	Email, Name, Language, Custom string

	// Amount is order.refunded's top-level amount; zero leaves it out, which
	// means order.total was refunded.
	Amount vend.Amount
	Full   bool

	Reason string
	Test   bool
}

// SimItem is one product line of a simulated order.
type SimItem struct {
	ProductID, Name string
	Quantity        int         // zero means 1
	Amount          vend.Amount // the line total
}

// NewMessageID returns a random message id in the style of Standard Webhooks
// examples ("msg_" and 27 letters and digits).
func NewMessageID() string {
	return "msg_" + randomString(27)
}

func randomString(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

// Message returns the headers and body the shop would POST at now, signed
// with secret. The headers include Content-Type.
func (s Sim) Message(secret string, now time.Time) (http.Header, []byte, error) {
	if s.MessageID == "" {
		s.MessageID = NewMessageID()
	}
	body, err := s.Body()
	if err != nil {
		return nil, nil, err
	}
	sig, err := Sign(secret, s.MessageID, now, body)
	if err != nil {
		return nil, nil, err
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(HeaderID, s.MessageID)
	h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	h.Set(HeaderSignature, sig)
	return h, body, nil
}

// Body returns the message body. It fails for negative amounts, which the
// format cannot express.
func (s Sim) Body() ([]byte, error) {
	s = s.withDefaults()
	if err := s.check(); err != nil {
		return nil, err
	}
	m := simMessage{Type: s.Type, Order: s.order(), TransactionID: s.TransactionID, Reason: s.Reason, Test: s.Test}
	if s.Type == TypeRefunded {
		m.Full = s.Full
		if s.Amount != 0 {
			a := s.Amount.String()
			m.Amount = &a
		}
	}
	return json.Marshal(m)
}

func (s Sim) withDefaults() Sim {
	if s.Type == "" {
		s.Type = TypePaid
	}
	if s.OrderID == "" {
		s.OrderID = "ord_" + randomString(12)
	}
	if s.Currency == "" {
		s.Currency = "EUR"
	}
	if s.Total == 0 {
		for _, it := range s.Items {
			s.Total += it.Amount
		}
	}
	return s
}

func (s Sim) check() error {
	if s.Total < 0 || s.Amount < 0 {
		return fmt.Errorf("generic: simulate: negative amount")
	}
	for _, it := range s.Items {
		if it.Amount < 0 {
			return fmt.Errorf("generic: simulate: item %s has a negative amount", it.ProductID)
		}
	}
	return nil
}

func (s Sim) order() simOrder {
	o := simOrder{
		ID: s.OrderID, Currency: s.Currency, Total: s.Total.String(),
		Buyer: simBuyer{Email: s.Email, Name: s.Name, Language: s.Language}, Custom: s.Custom,
	}
	for _, it := range s.Items {
		o.Items = append(o.Items, simItem{ProductID: it.ProductID, Quantity: max(it.Quantity, 1), Amount: it.Amount.String(), Name: it.Name})
	}
	return o
}

// The JSON shapes of a message, fields in the documented order.
type (
	simMessage struct {
		Type          string   `json:"type"`
		Order         simOrder `json:"order"`
		TransactionID string   `json:"transaction_id,omitempty"`
		Amount        *string  `json:"amount,omitempty"`
		Full          bool     `json:"full,omitempty"`
		Reason        string   `json:"reason,omitempty"`
		Test          bool     `json:"test,omitempty"`
	}
	simOrder struct {
		ID       string    `json:"id"`
		Currency string    `json:"currency"`
		Total    string    `json:"total"`
		Buyer    simBuyer  `json:"buyer"`
		Items    []simItem `json:"items,omitempty"`
		Custom   string    `json:"custom,omitempty"`
	}
	simBuyer struct {
		Email    string `json:"email"`
		Name     string `json:"name,omitempty"`
		Language string `json:"language,omitempty"`
	}
	simItem struct {
		ProductID string `json:"product_id"`
		Quantity  int    `json:"quantity"`
		Amount    string `json:"amount"`
		Name      string `json:"name,omitempty"`
	}
)
