package paypal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/provider/form"
)

// Intake is PayPal's side of vend's intake: IPNs posted to /ipn/paypal,
// verified by the postback to PayPal.
type Intake struct {
	Verifier *Verifier
	Config   Config
}

var _ vend.Provider = (*Intake)(nil)

// errForged is the reason kept for a message PayPal disowns.
var errForged = errors.New("PayPal answered INVALID: it did not send this message")

// Info: PayPal resends a message until it gets 200, so every settled message
// gets 200 (a resend would change nothing) and only a failure asks for one.
func (in *Intake) Info() vend.ProviderInfo {
	return vend.ProviderInfo{Name: Provider, Label: "PayPal", Path: "/ipn/paypal", MediaType: form.MediaType,
		MaxBody:  64 << 10, // an IPN with a 100-item cart is about 15 KB
		Postback: true, SettledOK: true, Returns: true,
		Configured: len(in.Config.ReceiverEmails) > 0 || in.Config.ReceiverID != ""}
}

// Verify asks PayPal whether it sent the message.
func (in *Intake) Verify(ctx context.Context, n *vend.Notification, _ time.Time) error {
	err := in.Verifier.Verify(ctx, n.Body)
	switch {
	case errors.Is(err, ErrInvalid):
		return errForged
	case err != nil:
		return fmt.Errorf("%w: %w", vend.ErrUnverified, err)
	}
	return nil
}

// Normalize parses a verified IPN and maps it to an event. A refusal's error
// is its bare reason, which is what the seller's log has always shown for
// PayPal.
func (in *Intake) Normalize(n *vend.Notification) (vend.Event, error) {
	f, err := ParseForm(n.Body)
	if err != nil {
		return vend.Event{}, errors.New("malformed message: " + err.Error())
	}
	ev, err := Normalize(f, in.Config)
	var rej *vend.RejectError
	if errors.As(err, &rej) {
		return vend.Event{}, errors.New(rej.Reason)
	}
	return ev, err
}

// Answer is empty: PayPal reads only the status.
func (in *Intake) Answer(*vend.Outcome) vend.Reply { return vend.Reply{} }
