package websale

import (
	"fmt"

	"github.com/vend-shop/vend"
)

// Reason says, for the log only, why a link was refused.
type Reason string

const (
	// ReasonFormat: the value is not a dldata hex string (empty, too long, odd
	// length, not hex, or a link without a dldata parameter).
	ReasonFormat Reason = "format"
	// ReasonLength: the data's length fits none of the configured modes.
	ReasonLength Reason = "length"
	// ReasonPadding: the decrypted data is not padded as configured (wrong key
	// or mode, or a changed link).
	ReasonPadding Reason = "padding"
	// ReasonAuth: the GCM tag does not match (wrong key, or a changed link).
	ReasonAuth Reason = "auth"
	// ReasonGrammar: the plaintext is not the tagged dldata string (wrong key,
	// mode or padding, or a changed link).
	ReasonGrammar Reason = "grammar"
	// ReasonShop: the link is for another shop or subshop, or none is configured.
	ReasonShop Reason = "shop"
	// ReasonProduct: the product number is not in the configured product map.
	ReasonProduct Reason = "product"
	// ReasonExpired: the link is older than the configured maximum age.
	ReasonExpired Reason = "expired"
	// ReasonFuture: the link was made further in the future than the allowed clock skew.
	ReasonFuture Reason = "future"
	// ReasonNotImported: the link would create an order, but its item is not
	// in an imported order export and websale.first_click is off.
	ReasonNotImported Reason = "not-imported"
	// ReasonEmail: the link's e-mail address is not the imported order's.
	ReasonEmail Reason = "email"
)

// PublicMessage is what the buyer sees for every refused link. It is the same
// for all reasons: telling a bad padding from a bad grammar would hand a prober
// the oracle that decrypts and forges CBC links, and an old e-mail link is best
// answered by the shop's order history, which makes a fresh one.
const PublicMessage = "This download link is not valid or has expired. Please open the order in the shop's order history to get a current link."

// LinkError is every refusal of a link, from bad hex to a wrong shop. Reason
// and Detail are for the seller's log. Callers show the buyer only the public
// error it wraps (vend.ENOTFOUND, PublicMessage), so the page and status are the
// same whatever went wrong. Neither field ever holds the password or the key.
type LinkError struct {
	Reason Reason
	Detail string
}

func (e *LinkError) Error() string {
	return "websale: link refused (" + string(e.Reason) + "): " + e.Detail
}

// Unwrap gives vend.ErrorCode and vend.ErrorMessage the public face of the
// refusal, so web.Error needs no WEBSALE-specific case; an expired link also
// wraps vend.ErrTooOld, which a replay overlooks.
func (e *LinkError) Unwrap() []error {
	public := &vend.Error{Code: vend.ENOTFOUND, Message: PublicMessage}
	if e.Reason == ReasonExpired {
		return []error{public, vend.ErrTooOld}
	}
	return []error{public}
}

func rejectf(reason Reason, format string, args ...any) *LinkError {
	return &LinkError{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// stage orders the decode failures by how far decoding got, so that in auto
// mode the log names the most telling one: a candidate that got as far as the
// grammar says more than one whose length did not fit.
func (r Reason) stage() int {
	switch r {
	case ReasonLength:
		return 1
	case ReasonPadding, ReasonAuth:
		return 2
	case ReasonGrammar:
		return 3
	}
	return 0
}
