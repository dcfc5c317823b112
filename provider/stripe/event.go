package stripe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vend-shop/vend"
)

// The event types Normalize acts on; every other type is ignored.
const (
	TypeCheckoutCompleted      = "checkout.session.completed"
	TypeCheckoutAsyncSucceeded = "checkout.session.async_payment_succeeded"
	TypeCheckoutAsyncFailed    = "checkout.session.async_payment_failed"
	TypeChargeRefunded         = "charge.refunded"
	TypeDisputeCreated         = "charge.dispute.created"
	TypeDisputeClosed          = "charge.dispute.closed"
)

// maxIDLen bounds the ids vend stores; Stripe's are far shorter.
const maxIDLen = 255

// event is the envelope every Stripe event shares.
type event struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Created  int64  `json:"created"`
	Livemode *bool  `json:"livemode"`
	// Data is decoded only for the types vend acts on, so an ignored event
	// never fails over its payload.
	Data json.RawMessage `json:"data"`
}

// Normalize checks a verified event body and maps it to a vend.Event (see the
// package documentation for the mapping). Every error it returns is a
// *vend.RejectError. Call it only after VerifySignature returned nil.
func Normalize(body []byte, cfg Config) (vend.Event, error) {
	e, err := parseEvent(body)
	if err != nil {
		return vend.Event{}, err
	}
	if err := checkMode(*e.Livemode, cfg.Sandbox); err != nil {
		return vend.Event{}, err
	}
	ev := vend.Event{Provider: Provider, Key: e.ID, RawStatus: e.Type, Test: !*e.Livemode, At: createdAt(e.Created)}
	switch e.Type {
	case TypeCheckoutCompleted, TypeCheckoutAsyncSucceeded, TypeCheckoutAsyncFailed:
		err = checkoutEvent(&ev, e, cfg)
	case TypeChargeRefunded:
		err = refundEvent(&ev, e)
	case TypeDisputeCreated, TypeDisputeClosed:
		err = disputeEvent(&ev, e)
	default:
		ev.Kind = vend.EventIgnore
	}
	if err != nil {
		return vend.Event{}, err
	}
	return ev, nil
}

func parseEvent(body []byte) (event, error) {
	var e event
	if err := json.Unmarshal(body, &e); err != nil {
		return event{}, rejectf("the body is not a Stripe event: %s", jsonReason(err))
	}
	switch {
	case e.ID == "":
		return event{}, rejectf("the event has no id")
	case len(e.ID) > maxIDLen:
		return event{}, rejectf("the event id is longer than %d bytes", maxIDLen)
	case e.Type == "":
		return event{}, rejectf("event %s has no type", e.ID)
	case e.Livemode == nil:
		return event{}, rejectf("event %s has no livemode: cannot tell test from live", e.ID)
	}
	return e, nil
}

// jsonReason describes a decoding error for the seller's log.
func jsonReason(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d: %s", syn.Offset, syn)
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Sprintf("%s is a JSON %s, which it should not be", typ.Field, typ.Value)
	}
	return err.Error()
}

// checkMode keeps test-mode events from granting real downloads, and live
// money from landing in a test setup where the seller would not look for it.
func checkMode(live, sandbox bool) error {
	return vend.CheckMode(Provider, sandbox, !live, "test-mode event (livemode false)", "live-mode event (livemode true)")
}

func createdAt(unix int64) time.Time {
	if unix <= 0 {
		return time.Time{}
	}
	return time.Unix(unix, 0).UTC()
}

// decodeObject decodes data.object into v and checks its "object" field names
// the expected resource.
func decodeObject(e event, want string, v interface{ object() string }) error {
	var data struct {
		Object json.RawMessage `json:"object"`
	}
	if err := json.Unmarshal(e.Data, &data); err != nil && len(e.Data) > 0 {
		return rejectf("%s event %s: data: %s", e.Type, e.ID, jsonReason(err))
	}
	raw := bytes.TrimSpace(data.Object)
	if len(raw) == 0 || string(raw) == "null" {
		return rejectf("%s event %s has no data.object", e.Type, e.ID)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return rejectf("%s event %s: data.object: %s", e.Type, e.ID, jsonReason(err))
	}
	if got := v.object(); got != "" && got != want {
		return rejectf("%s event %s carries a %q, not a %q", e.Type, e.ID, got, want)
	}
	return nil
}

// idRef is a reference to another Stripe object: its id, or the object itself
// when the API expanded it.
type idRef string

func (r *idRef) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*r = idRef(s)
		return nil
	}
	var obj struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return errors.New("a reference is neither an id nor an object with an id")
	}
	*r = idRef(obj.ID)
	return nil
}

// ref returns the first non-empty id: the payment intent, else the object's own.
func ref(ids ...idRef) string {
	for _, id := range ids {
		if s := strings.TrimSpace(string(id)); s != "" {
			return s
		}
	}
	return ""
}

// currency returns Stripe's lower-case currency code upper-cased; it must be
// three letters.
func currency(s string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if len(c) != 3 {
		return "", rejectf("currency %q is not a currency code", s)
	}
	for i := 0; i < len(c); i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return "", rejectf("currency %q is not a currency code", s)
		}
	}
	return c, nil
}

// money converts a required amount field in the smallest unit of cur.
func money(field string, minor *int64, cur string) (vend.Amount, error) {
	if minor == nil {
		return 0, rejectf("%s is missing", field)
	}
	a, err := fromMinor(*minor, cur)
	if err != nil {
		return 0, rejectf("%s: %v", field, err)
	}
	return a, nil
}

type party struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

func buyer(p *party, fallbackEmail string) vend.Buyer {
	var b vend.Buyer
	if p != nil {
		b = vend.Buyer{Email: strings.TrimSpace(p.Email), Name: strings.TrimSpace(p.Name)}
	}
	if b.Email == "" {
		b.Email = strings.TrimSpace(fallbackEmail)
	}
	return b
}
