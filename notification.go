package vend

import "time"

// Verdict is what vend concluded about a notification.
type Verdict string

const (
	VerdictReceived  Verdict = "received"  // stored, not yet verified (or verification pending a retry)
	VerdictApplied   Verdict = "applied"   // genuine, checks passed, ledger updated
	VerdictDuplicate Verdict = "duplicate" // genuine, already applied: nothing changed
	VerdictInvalid   Verdict = "invalid"   // the provider says it did not send it (forged)
	VerdictRejected  Verdict = "rejected"  // genuine but failed a check (receiver, price, mode…)
	VerdictError     Verdict = "error"     // could not be verified now; the provider will resend
	VerdictIgnored   Verdict = "ignored"   // genuine, not about a sale
)

// Notification is one raw message from a provider, kept byte for byte.
type Notification struct {
	ID         int64               `json:"id"`
	Provider   string              `json:"provider"`
	ReceivedAt time.Time           `json:"received_at"`
	RemoteAddr string              `json:"remote_addr"`
	Headers    map[string][]string `json:"headers"`
	Body       []byte              `json:"body"`
	Verdict    Verdict             `json:"verdict"`
	Reason     string              `json:"reason,omitempty"`
	Changes    string              `json:"changes,omitempty"`
	Key        string              `json:"key,omitempty"`
	OrderID    int64               `json:"order_id,omitempty"`
}
