package vend

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"time"
)

// WebhookEvent names something that happened that a seller's system can be
// told of (outgoing webhooks).
type WebhookEvent string

const (
	HookOrderPaid          WebhookEvent = "order.paid"          // an order became paid
	HookOrderRefunded      WebhookEvent = "order.refunded"      // an order was refunded in full
	HookOrderChargedBack   WebhookEvent = "order.charged_back"  // an order's payment was reversed
	HookAccessRevoked      WebhookEvent = "access.revoked"      // a buyer's access to an item ended
	HookAccessRestored     WebhookEvent = "access.restored"     // and came back
	HookDownloadCompleted  WebhookEvent = "download.completed"  // a download session closed complete
	HookLicenseActivated   WebhookEvent = "license.activated"   // a licence key was activated on an instance
	HookLicenseDeactivated WebhookEvent = "license.deactivated" // an instance of a key was deactivated
)

// WebhookEvents are the events an endpoint can ask for, in the order the
// admin lists them.
func WebhookEvents() []WebhookEvent {
	return []WebhookEvent{HookOrderPaid, HookOrderRefunded, HookOrderChargedBack, HookAccessRevoked, HookAccessRestored,
		HookDownloadCompleted, HookLicenseActivated, HookLicenseDeactivated}
}

// Describe says in words when the event is sent, for the admin's forms.
func (e WebhookEvent) Describe() string {
	switch e {
	case HookOrderPaid:
		return "an order is paid"
	case HookOrderRefunded:
		return "an order is refunded in full"
	case HookOrderChargedBack:
		return "a payment is charged back (reversed)"
	case HookAccessRevoked:
		return "a buyer's access to a product ends"
	case HookAccessRestored:
		return "a buyer's access comes back"
	case HookDownloadCompleted:
		return "a download is complete"
	case HookLicenseActivated:
		return "a licence key is activated on a device"
	case HookLicenseDeactivated:
		return "a device of a licence key is deactivated"
	}
	return string(e)
}

// WebhookEndpoint is a seller's URL that is told of the events it asks for,
// signed per Standard Webhooks with its secret (and, during a rotation, the
// previous one as well).
type WebhookEndpoint struct {
	ID          int64          `json:"id"`
	URL         string         `json:"url"`
	Description string         `json:"description,omitempty"`
	Events      []WebhookEvent `json:"events"`
	Secret      string         `json:"-"` // whsec_…
	// PreviousSecret also signs until PreviousUntil, so a receiver can switch
	// secrets without losing a message.
	PreviousSecret string    `json:"-"`
	PreviousUntil  time.Time `json:"-"`
	Disabled       bool      `json:"disabled"`
	DisabledReason string    `json:"disabled_reason,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Wants reports whether the endpoint asked for event.
func (e *WebhookEndpoint) Wants(event WebhookEvent) bool { return slices.Contains(e.Events, event) }

// Validate checks an endpoint a seller set: an absolute http(s) URL (https
// unless it is this machine) and known events.
func (e *WebhookEndpoint) Validate() error {
	u, err := url.Parse(e.URL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || len(e.URL) > 2000 {
		return Errorf(EINVALID, "The endpoint URL %q: use an absolute https:// address.", e.URL)
	}
	if u.User != nil {
		// It would sit in the delivery log, the audit trail and the owner's
		// mail; every message is signed, which is what proves it is vend's.
		return Errorf(EINVALID, "The endpoint URL: leave the user and password out (a token in the path or query works).")
	}
	if u.Scheme == "http" && !isLocalHost(u.Hostname()) {
		return Errorf(EINVALID, "The endpoint URL %q: use https (plain http only for this machine, for tests).", e.URL)
	}
	if len(e.Events) == 0 {
		return Errorf(EINVALID, "Choose at least one event.")
	}
	for _, ev := range e.Events {
		if !slices.Contains(WebhookEvents(), ev) {
			return Errorf(EINVALID, "No event %q; events are %s.", ev, joinEvents(WebhookEvents()))
		}
	}
	if len(e.Description) > 500 {
		return Errorf(EINVALID, "The description: at most 500 characters.")
	}
	return nil
}

func isLocalHost(h string) bool { return h == "localhost" || h == "127.0.0.1" || h == "::1" }

func joinEvents(evs []WebhookEvent) string {
	s := make([]string, len(evs))
	for i, e := range evs {
		s[i] = string(e)
	}
	return strings.Join(s, ", ")
}

// WebhookStatus says where a delivery stands.
type WebhookStatus string

const (
	WebhookPending   WebhookStatus = "pending"   // to be sent (again) at NextAttempt
	WebhookDelivered WebhookStatus = "delivered" // the endpoint answered 2xx
	WebhookFailed    WebhookStatus = "failed"    // retried for the retry time without success
)

// WebhookDelivery is one event for one endpoint: sent in order with the
// endpoint's other deliveries, retried with backoff, logged attempt by
// attempt. MessageID is the webhook-id header: the same on every attempt, so
// a receiver can drop a message it processed already.
type WebhookDelivery struct {
	ID          int64           `json:"id"`
	EndpointID  int64           `json:"endpoint_id"`
	MessageID   string          `json:"message_id"`
	Event       WebhookEvent    `json:"event"`
	Payload     json.RawMessage `json:"payload"` // the request body
	Status      WebhookStatus   `json:"status"`
	Attempts    int             `json:"attempts"`
	NextAttempt time.Time       `json:"next_attempt,omitzero"`
	// FirstAttempt is when it was first sent: the retry time counts from
	// there, so an event that waited behind an earlier one, or for its
	// endpoint to be turned on, still gets all its tries.
	FirstAttempt time.Time `json:"first_attempt,omitzero"`
	// ClaimedUntil is the claim this worker holds (ClaimDeliveries); saving
	// the delivery fails once another worker claimed it since.
	ClaimedUntil time.Time `json:"-"`
	LastStatus   int       `json:"last_status,omitempty"` // the endpoint's HTTP status
	LastError    string    `json:"last_error,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	DeliveredAt  time.Time `json:"delivered_at,omitzero"`
}

// WebhookAttempt is one try of a delivery: what was sent and what came back.
type WebhookAttempt struct {
	ID         int64         `json:"id"`
	DeliveryID int64         `json:"delivery_id"`
	At         time.Time     `json:"at"`
	Request    string        `json:"request"`  // the headers sent (signatures shortened)
	Status     int           `json:"status"`   // the answer's status; 0 when none came
	Response   string        `json:"response"` // the answer's start, or the error
	Duration   time.Duration `json:"duration_ns"`
}
