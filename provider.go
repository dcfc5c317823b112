package vend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// A Provider is one payment provider's side of vend's intake: where its
// messages arrive, how one is proved genuine and turned into an Event, and how
// the sender is answered. Each provider/* package has one; cmd/vend registers
// them, and the intake package runs every message of every provider through
// the same steps (store, verify, normalize, apply, answer; and replay).
type Provider interface {
	Info() ProviderInfo
	// Verify proves a message genuine, as of now. Its error says why not, for
	// the seller's log and the sender, and never holds a secret. An error
	// wrapping ErrUnconfigured means vend's configuration lacks the secret; one
	// wrapping ErrTooOld that the message is genuine but too old; one wrapping
	// ErrUnverified that it could not be checked now (the sender should
	// resend); any other error, that the provider did not send it.
	Verify(ctx context.Context, n *Notification, now time.Time) error
	// Normalize turns a verified message into an event. Every error is a
	// refusal of a genuine message (the wrong mode, a field missing); its text
	// is the reason the seller's log keeps and the sender is told.
	Normalize(n *Notification) (Event, error)
	// Answer is the body of the answer to o. The intake picks the status.
	Answer(o *Outcome) Reply
}

// ProviderInfo is what the intake and the HTTP layer need to know of a provider.
type ProviderInfo struct {
	Name  string // stored with its messages and orders: "paypal"
	Label string // for people: "PayPal"
	// Path is where its messages arrive: POST Path, or for a Link provider GET
	// Path?query.
	Path string
	// MediaType is the content type of a message's body; a message that names
	// another one is refused.
	MediaType string
	// MaxBody is the largest body the provider ever sends; a larger one is
	// refused unread, before it is stored or posted back anywhere.
	MaxBody int64
	// Postback: Verify asks the provider (PayPal's postback), a round trip that
	// may fail or hang. The message is stored before it is verified, and only
	// so many verifications run at once.
	Postback bool
	// SettledOK: once vend has settled a message (applied, duplicate, refused,
	// forged), the provider is answered 200 whatever it came to, because a
	// resend would change nothing (PayPal). Otherwise refusals get 4xx, which
	// the provider shows the seller and resends for days.
	SettledOK bool
	// Link: the messages are a buyer's links (WEBSALE), not a provider's
	// requests. The first valid link of an order's item applies it; later ones
	// lead to the grant it made. The answer is the buyer's download page.
	Link bool
	// Probe: the provider checks the endpoint with a GET when the seller saves
	// it (Digistore24); the GET is answered as an accepted message.
	Probe bool
	// Returns: buyers come back from paying to /return?tx=<its transaction
	// id> (PayPal's return URL), and the old scripts' download.cgi links name
	// its transaction ids. One provider has it.
	Returns bool
	// Configured: what the provider needs to verify its messages is set (a
	// secret, PayPal's receiver), so it can take messages at all.
	Configured bool
	// PageAnswer: Answer puts the buyer's download page into the answer of a
	// payment (Outcome.PageURL), which the provider shows the buyer.
	PageAnswer bool
}

// Reply is the answer to a provider's message, without its status.
type Reply struct {
	ContentType string
	Body        []byte
}

// JSONReply is the answer of the JSON webhooks (Stripe, Standard Webhooks):
// {"received": verdict}, or {"error": reason}, never echoing what was sent.
func JSONReply(o *Outcome) Reply {
	v := map[string]string{"error": o.Reason}
	if o.Refusal == RefusalNone {
		var verdict Verdict
		if o.Notification != nil {
			verdict = o.Notification.Verdict
		}
		v = map[string]string{"received": string(verdict)}
	}
	b, _ := json.Marshal(v) // a map of strings always encodes
	return Reply{ContentType: "application/json", Body: append(b, '\n')}
}

// Refusal says why the intake refused a message, or RefusalNone.
type Refusal int

// The zero Refusal is none of them, so an Outcome that forgot to say is never
// taken for an accepted message.
const (
	RefusalNone         Refusal = iota + 1 // accepted: applied, a duplicate, or ignored
	RefusalUnsupported                     // another content type than the provider's
	RefusalEmpty                           // no body
	RefusalForged                          // the provider did not send it
	RefusalUnconfigured                    // vend cannot verify it: its secret is not set
	RefusalRejected                        // genuine, but vend will not act on it
	RefusalFailed                          // not verified, stored or applied now: a resend may work
)

// Outcome is what the intake made of one message.
type Outcome struct {
	// Notification is the message as stored; its ID is 0 if it could not be.
	Notification *Notification
	Event        Event   // once normalized
	Refusal      Refusal // RefusalNone once accepted
	Reason       string  // why it was refused, for the sender; never a secret
	// PageURL is the buyer's download page, for a PageAnswer provider's
	// payment whose grant is active; Grant, for a Link provider, the grant the
	// link leads to.
	PageURL string
	Grant   *Grant
	// LicenseKeys are the licence keys of that payment's grant, for a
	// PageAnswer provider that can show them (Digistore24's answer lines).
	LicenseKeys []string
}

// Errors a Provider's Verify wraps.
var (
	ErrUnconfigured = errors.New("nothing can be verified")
	ErrTooOld       = errors.New("timestamp too old")
	ErrTooNew       = errors.New("timestamp in the future")
	ErrUnverified   = errors.New("verification failed")
)

// NoSecret is Verify's error while the setting key (what) is not configured:
// every message is refused, and the provider's resend applies once it is set.
func NoSecret(what, key string) error {
	return fmt.Errorf("no %s is configured (%s), so %w", what, key, ErrUnconfigured)
}

// CheckSignedAt checks the time a message was signed (Stripe's t=, Standard
// Webhooks' webhook-timestamp) against now: at most tolerance either way. Call
// it after the signature matched, so ErrTooOld and ErrTooNew mean the sender
// did sign the message: a replay, or a clock that is off.
func CheckSignedAt(signed, now time.Time, tolerance time.Duration) error {
	age := now.Sub(signed)
	switch {
	case age > tolerance:
		return fmt.Errorf("%w: signed %s ago, more than %s", ErrTooOld, age.Truncate(time.Second), tolerance)
	case -age > tolerance:
		return fmt.Errorf("%w: signed %s ahead, more than %s", ErrTooNew, (-age).Truncate(time.Second), tolerance)
	}
	return nil
}

// RejectError is a genuine message that vend will not act on (another
// seller's payment, the wrong mode, a field missing). Reason is a sentence for
// the seller's notification log.
type RejectError struct {
	Provider string
	Reason   string
}

func (e *RejectError) Error() string { return e.Provider + ": rejected: " + e.Reason }

// Rejectf returns a *RejectError of provider.
func Rejectf(provider, format string, args ...any) *RejectError {
	return &RejectError{Provider: provider, Reason: fmt.Sprintf(format, args...)}
}

// ProviderConfig is what a provider's Normalize holds a message against
// (Digistore24, Stripe, Standard Webhooks: their Config).
type ProviderConfig struct {
	// Sandbox accepts only the provider's test messages; otherwise only live
	// ones. Each provider says how a message shows which it is.
	Sandbox bool
	// Products maps the provider's product ids to catalog ids. An id not in
	// it is used as it is.
	Products map[string]string
}

// Product is the catalog id of the provider's product id.
func (c ProviderConfig) Product(id string) string {
	if mapped := c.Products[id]; mapped != "" {
		return mapped
	}
	return id
}

// CheckMode refuses a test message while the provider's sandbox mode is off,
// and a live one while it is on. testSays and liveSays say how the message
// showed which it is, for the seller's log.
func CheckMode(provider string, sandbox, test bool, testSays, liveSays string) error {
	switch {
	case test && !sandbox:
		return Rejectf(provider, "%s but %s.sandbox is off", testSays, provider)
	case !test && sandbox:
		return Rejectf(provider, "%s but %s.sandbox is on", liveSays, provider)
	}
	return nil
}

// A LinkGate is a Link provider that decides whether a valid link of an
// order's item vend has made no grant for yet may create one. imported is the
// item as the seller imported it (nil: never imported). A link without a MAC
// can be changed, its time included, so this is where a forged first link is
// stopped; later links only lead to grants vend made. A Link provider that is
// no LinkGate creates nothing from links.
type LinkGate interface {
	AdmitFirstLink(ev Event, imported *ImportedItem) error
}

// A Simulator makes the message its provider would send when a buyer pays for
// p: what the demo store buys with. ref is the order reference the message
// uses. A Link provider's message is the query of the link to open.
type Simulator interface {
	SimulatePayment(p *Product, now time.Time) (ref string, n *Notification, err error)
}
