package generic

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/vend-shop/vend"
)

// The message types vend acts on; any other type is ignored.
const (
	TypePaid       = "order.paid"
	TypePending    = "order.pending"
	TypeRefunded   = "order.refunded"
	TypeChargeback = "order.chargeback"
	TypeRestored   = "order.restored"
)

const (
	maxIDLen    = 255 // message, order and transaction ids
	maxItems    = 1000
	maxQuantity = 1_000_000
)

// message is the JSON body; see the package documentation.
type message struct {
	Type          string  `json:"type"`
	Order         *order  `json:"order"`
	TransactionID string  `json:"transaction_id"`
	Amount        *string `json:"amount"`
	Full          bool    `json:"full"`
	Reason        string  `json:"reason"`
	Test          bool    `json:"test"`
}

type order struct {
	ID       string  `json:"id"`
	Currency string  `json:"currency"`
	Total    *string `json:"total"`
	Buyer    struct {
		Email    string `json:"email"`
		Name     string `json:"name"`
		Language string `json:"language"`
	} `json:"buyer"`
	Items  []item `json:"items"`
	Custom string `json:"custom"`
}

type item struct {
	ProductID string  `json:"product_id"`
	Quantity  *int    `json:"quantity"`
	Amount    *string `json:"amount"`
	Name      string  `json:"name"`
}

// Normalize checks a verified message and maps it to a vend.Event (see the
// package documentation for the format and the mapping). id is the message's
// webhook-id header, which becomes the event's Key. Every error it returns is
// a *vend.RejectError. Call it only after Verify returned nil.
func Normalize(id string, body []byte, cfg Config) (vend.Event, error) {
	m, err := parseMessage(id, body)
	if err != nil {
		return vend.Event{}, err
	}
	if err := checkMode(m.Test, cfg.Sandbox); err != nil {
		return vend.Event{}, err
	}
	ev := vend.Event{Provider: Provider, Kind: kindOf(m.Type), Key: id, RawStatus: m.Type, Reason: m.Reason, Test: m.Test}
	if ev.Kind == vend.EventIgnore {
		return ev, nil
	}
	if err := m.checkOrder(); err != nil {
		return vend.Event{}, err
	}
	fillOrder(&ev, m)
	switch ev.Kind {
	case vend.EventPayment, vend.EventPending:
		err = fillPayment(&ev, m.Order, cfg)
	case vend.EventRefund:
		err = fillRefund(&ev, m)
	default:
		err = fillOptionalMoney(&ev, m.Order)
	}
	if err != nil {
		return vend.Event{}, err
	}
	return ev, nil
}

func parseMessage(id string, body []byte) (message, error) {
	switch {
	case strings.TrimSpace(id) == "":
		return message{}, rejectf("no webhook-id")
	case len(id) > maxIDLen:
		return message{}, rejectf("webhook-id is longer than %d bytes", maxIDLen)
	}
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		return message{}, rejectf("the body is not a vend event: %s", jsonReason(err))
	}
	if m.Type == "" {
		return message{}, rejectf("type is missing")
	}
	return m, nil
}

// jsonReason describes a decoding error for the seller's log.
func jsonReason(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d: %s", syn.Offset, syn)
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Sprintf("%s is a JSON %s, want %s", typ.Field, typ.Value, jsonType(typ.Field))
	}
	return err.Error()
}

// jsonType names the JSON type a field of the format has.
func jsonType(field string) string {
	switch field {
	case "order":
		return "an object"
	case "order.buyer":
		return "an object"
	case "order.items":
		return "an array"
	case "test", "full":
		return "true or false"
	}
	if strings.HasSuffix(field, ".quantity") {
		return "a whole number"
	}
	return "a string"
}

// checkMode keeps test messages from granting real downloads, and live money
// from landing in a test setup where the seller would not look for it.
func checkMode(test, sandbox bool) error {
	return vend.CheckMode(Provider, sandbox, test, `test message ("test": true)`, `live message (no "test": true)`)
}

func kindOf(typ string) vend.EventKind {
	switch typ {
	case TypePaid:
		return vend.EventPayment
	case TypePending:
		return vend.EventPending
	case TypeRefunded:
		return vend.EventRefund
	case TypeChargeback:
		return vend.EventChargeback
	case TypeRestored:
		return vend.EventRestore
	}
	return vend.EventIgnore
}

// txnPrefix names the default transaction of each kind: a pending payment and
// its completion share one.
func txnPrefix(k vend.EventKind) string {
	if k == vend.EventPending {
		return string(vend.EventPayment) + ":"
	}
	return string(k) + ":"
}

func (m message) checkOrder() error {
	switch {
	case m.Order == nil:
		return rejectf("%s without order", m.Type)
	case strings.TrimSpace(m.Order.ID) == "":
		return rejectf("%s without order.id", m.Type)
	case len(m.Order.ID) > maxIDLen:
		return rejectf("order.id is longer than %d bytes", maxIDLen)
	case len(m.TransactionID) > maxIDLen:
		return rejectf("transaction_id is longer than %d bytes", maxIDLen)
	}
	return nil
}

// fillOrder sets what every order event has: ids, buyer, custom.
func fillOrder(ev *vend.Event, m message) {
	o := m.Order
	ev.OrderRef = strings.TrimSpace(o.ID)
	ev.TxnID = strings.TrimSpace(m.TransactionID)
	if ev.TxnID == "" {
		ev.TxnID = txnPrefix(ev.Kind) + ev.OrderRef
	}
	if ev.Kind != vend.EventPayment && ev.Kind != vend.EventPending {
		ev.ParentTxnID = ev.OrderRef
	}
	ev.Buyer = vend.Buyer{Email: strings.TrimSpace(o.Buyer.Email), Name: strings.TrimSpace(o.Buyer.Name)}
	ev.Language = strings.TrimSpace(o.Buyer.Language)
	ev.Custom = o.Custom
}
