package stripe

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
)

// simAPIVersion is the api_version simulated events claim; Normalize does not
// depend on it.
const simAPIVersion = "2025-03-31.basil"

// Sim describes one simulated Stripe event, shaped like the events Stripe
// sends for Checkout. Zero fields get defaults: Type
// checkout.session.completed; PaymentStatus "paid" (completed);
// DisputeStatus "needs_response" (created) or "won" (closed); DisputeReason
// "fraudulent"; every id a new random one; Currency USD; Created now (or the
// time given to Signed).
//
// A refund or dispute is about an earlier payment: set PaymentIntent to that
// payment's, as Stripe would.
type Sim struct {
	Type                         string
	PaymentStatus                string // checkout.session.completed: paid, unpaid or no_payment_required
	DisputeStatus, DisputeReason string

	EventID, SessionID, PaymentIntent, ChargeID, DisputeID string

	// Items become metadata[vend_products]: one entry without an amount for a
	// single item, product_id:quantity:amount entries for several. With no
	// Items, ClientReferenceID alone names the product.
	Items             []SimItem
	ClientReferenceID string

	// Amount is the payment's total (amount_total, the charge or the disputed
	// amount); zero means the sum of Items.
	Amount vend.Amount
	// Refunded is charge.refunded's amount_refunded, the refunds so far; zero
	// means Amount, a full refund.
	Refunded vend.Amount

	Currency    string
	Email, Name string
	Live        bool
	Created     time.Time
}

// SimItem is one product of a simulated Checkout Session.
type SimItem struct {
	ProductID string
	Quantity  int         // zero means 1
	Amount    vend.Amount // the line total
}

// NewID returns a random id in Stripe's style, e.g. NewID("pi") is
// "pi_3Qx…" (24 characters after the prefix).
func NewID(prefix string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 24)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return prefix + "_" + string(b)
}

// Signed returns the event body and the Stripe-Signature header Stripe would
// send at now for an endpoint with secret.
func (s Sim) Signed(secret string, now time.Time) (body []byte, header string, err error) {
	if secret == "" {
		return nil, "", ErrNoSecret
	}
	if s.Created.IsZero() {
		s.Created = now
	}
	if body, err = s.Body(); err != nil {
		return nil, "", err
	}
	return body, Sign(secret, now, body), nil
}

// Body returns the event as JSON. It fails for a Type it cannot build and for
// amounts the currency cannot express (a fraction of a yen).
func (s Sim) Body() ([]byte, error) {
	s = s.withDefaults()
	obj, err := s.object()
	if err != nil {
		return nil, err
	}
	return json.Marshal(simEvent{
		ID: s.EventID, Object: "event", APIVersion: simAPIVersion, Created: s.Created.Unix(),
		Data: simData{Object: obj}, Livemode: s.Live, PendingWebhooks: 1, Type: s.Type,
	})
}

func (s Sim) withDefaults() Sim {
	set := func(p *string, v func() string) {
		if *p == "" {
			*p = v()
		}
	}
	mode := "test"
	if s.Live {
		mode = "live"
	}
	set(&s.Type, func() string { return TypeCheckoutCompleted })
	set(&s.EventID, func() string { return NewID("evt") })
	set(&s.SessionID, func() string { return NewID("cs_" + mode) })
	set(&s.PaymentIntent, func() string { return NewID("pi") })
	set(&s.ChargeID, func() string { return NewID("ch") })
	set(&s.DisputeID, func() string { return NewID("dp") })
	set(&s.DisputeReason, func() string { return "fraudulent" })
	set(&s.Currency, func() string { return "USD" })
	s.Currency = strings.ToUpper(s.Currency)
	if s.Created.IsZero() {
		s.Created = time.Now()
	}
	if s.Amount == 0 {
		for _, it := range s.Items {
			s.Amount += it.Amount
		}
	}
	return s
}

func (s Sim) object() (any, error) {
	switch s.Type {
	case TypeCheckoutCompleted, TypeCheckoutAsyncSucceeded, TypeCheckoutAsyncFailed:
		return s.session()
	case TypeChargeRefunded:
		return s.charge()
	case TypeDisputeCreated, TypeDisputeClosed:
		return s.dispute()
	}
	return nil, fmt.Errorf("stripe: cannot simulate event type %q", s.Type)
}

func (s Sim) minor(a vend.Amount) (int64, error) {
	if a < 0 {
		return 0, fmt.Errorf("stripe: simulate: amount %s is negative", a)
	}
	m, err := toMinor(a, s.Currency)
	if err != nil {
		return 0, fmt.Errorf("stripe: simulate: %w", err)
	}
	return m, nil
}

func (s Sim) session() (any, error) {
	total, err := s.minor(s.Amount)
	if err != nil {
		return nil, err
	}
	status := s.PaymentStatus
	switch {
	case s.Type == TypeCheckoutAsyncSucceeded:
		status = "paid"
	case s.Type == TypeCheckoutAsyncFailed:
		status = "unpaid"
	case status == "":
		status = "paid"
	}
	var clientRef *string
	if s.ClientReferenceID != "" {
		clientRef = &s.ClientReferenceID
	}
	return simSession{
		ID: s.SessionID, Object: "checkout.session", AmountSubtotal: total, AmountTotal: total,
		ClientReferenceID: clientRef, Currency: strings.ToLower(s.Currency),
		CustomerDetails: simParty{Email: s.Email, Name: s.Name}, Livemode: s.Live, Metadata: s.metadata(),
		Mode: "payment", PaymentIntent: s.PaymentIntent, PaymentStatus: status, Status: "complete",
	}, nil
}

// metadata writes Items as metadata[vend_products].
func (s Sim) metadata() map[string]string {
	m := map[string]string{}
	if len(s.Items) == 0 {
		return m
	}
	entries := make([]string, len(s.Items))
	for i, it := range s.Items {
		q := max(it.Quantity, 1)
		switch {
		case len(s.Items) > 1:
			entries[i] = it.ProductID + ":" + strconv.Itoa(q) + ":" + formatMajor(it.Amount, s.Currency)
		case q > 1:
			entries[i] = it.ProductID + ":" + strconv.Itoa(q)
		default:
			entries[i] = it.ProductID
		}
	}
	m[MetadataProducts] = strings.Join(entries, ",")
	return m
}

func (s Sim) charge() (any, error) {
	refunded := s.Refunded
	if refunded == 0 {
		refunded = s.Amount
	}
	amount, err := s.minor(s.Amount)
	if err != nil {
		return nil, err
	}
	minorRefunded, err := s.minor(refunded)
	if err != nil {
		return nil, err
	}
	return simCharge{
		ID: s.ChargeID, Object: "charge", Amount: amount, AmountCaptured: amount, AmountRefunded: minorRefunded,
		BillingDetails: simParty{Email: s.Email, Name: s.Name}, Currency: strings.ToLower(s.Currency),
		Livemode: s.Live, Paid: true, PaymentIntent: s.PaymentIntent, Refunded: refunded >= s.Amount, Status: "succeeded",
	}, nil
}

func (s Sim) dispute() (any, error) {
	amount, err := s.minor(s.Amount)
	if err != nil {
		return nil, err
	}
	status := s.DisputeStatus
	if status == "" && s.Type == TypeDisputeCreated {
		status = "needs_response"
	} else if status == "" {
		status = "won"
	}
	return simDispute{
		ID: s.DisputeID, Object: "dispute", Amount: amount, Charge: s.ChargeID, Currency: strings.ToLower(s.Currency),
		Livemode: s.Live, PaymentIntent: s.PaymentIntent, Reason: s.DisputeReason, Status: status,
	}, nil
}

// The JSON shapes of simulated events, fields in Stripe's order.
type (
	simEvent struct {
		ID              string     `json:"id"`
		Object          string     `json:"object"`
		APIVersion      string     `json:"api_version"`
		Created         int64      `json:"created"`
		Data            simData    `json:"data"`
		Livemode        bool       `json:"livemode"`
		PendingWebhooks int        `json:"pending_webhooks"`
		Request         simRequest `json:"request"`
		Type            string     `json:"type"`
	}
	simData struct {
		Object any `json:"object"`
	}
	simRequest struct {
		ID             *string `json:"id"`
		IdempotencyKey *string `json:"idempotency_key"`
	}
	simParty struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	simSession struct {
		ID                string            `json:"id"`
		Object            string            `json:"object"`
		AmountSubtotal    int64             `json:"amount_subtotal"`
		AmountTotal       int64             `json:"amount_total"`
		ClientReferenceID *string           `json:"client_reference_id"`
		Currency          string            `json:"currency"`
		CustomerDetails   simParty          `json:"customer_details"`
		Livemode          bool              `json:"livemode"`
		Locale            *string           `json:"locale"`
		Metadata          map[string]string `json:"metadata"`
		Mode              string            `json:"mode"`
		PaymentIntent     string            `json:"payment_intent"`
		PaymentStatus     string            `json:"payment_status"`
		Status            string            `json:"status"`
	}
	simCharge struct {
		ID             string   `json:"id"`
		Object         string   `json:"object"`
		Amount         int64    `json:"amount"`
		AmountCaptured int64    `json:"amount_captured"`
		AmountRefunded int64    `json:"amount_refunded"`
		BillingDetails simParty `json:"billing_details"`
		Currency       string   `json:"currency"`
		Livemode       bool     `json:"livemode"`
		Paid           bool     `json:"paid"`
		PaymentIntent  string   `json:"payment_intent"`
		Refunded       bool     `json:"refunded"`
		Status         string   `json:"status"`
	}
	simDispute struct {
		ID            string `json:"id"`
		Object        string `json:"object"`
		Amount        int64  `json:"amount"`
		Charge        string `json:"charge"`
		Currency      string `json:"currency"`
		Livemode      bool   `json:"livemode"`
		PaymentIntent string `json:"payment_intent"`
		Reason        string `json:"reason"`
		Status        string `json:"status"`
	}
)
