package vend

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"
)

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
	// Size and SHA256 are the body's as received. Body holds all of it,
	// unless the message failed verification (Trim).
	Size    int64   `json:"size"`
	SHA256  string  `json:"sha256,omitempty"`
	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason,omitempty"`
	Changes string  `json:"changes,omitempty"`
	Key     string  `json:"key,omitempty"`
	OrderID int64   `json:"order_id,omitempty"`
	// Dismissed: the seller looked at this refused message and let it be.
	Dismissed bool `json:"dismissed,omitempty"`
}

// What is kept of a message that failed verification (Trim).
const (
	KeptBodyBytes   = 1 << 10
	KeptHeaderBytes = 4 << 10
	keptValueBytes  = 512
)

// Measure records the body's size and hash as received, once.
func (n *Notification) Measure() {
	if n.SHA256 != "" {
		return
	}
	sum := sha256.Sum256(n.Body)
	n.Size, n.SHA256 = int64(len(n.Body)), hex.EncodeToString(sum[:])
}

// Trim keeps of a message that failed verification what an operator needs to
// see the refusal, not every byte of unverified input: its size and hash, the
// first KeptBodyBytes of its body and its headers up to KeptHeaderBytes (by
// name, each value cut at 512 bytes). A flood of forged messages then costs
// the disk little more than its count.
func (n *Notification) Trim() {
	n.Measure()
	if len(n.Body) > KeptBodyBytes {
		n.Body = n.Body[:KeptBodyBytes:KeptBodyBytes]
	}
	kept, total := make(map[string][]string, len(n.Headers)), 0
	names := make([]string, 0, len(n.Headers))
	for name := range n.Headers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		for _, v := range n.Headers[name] {
			if len(v) > keptValueBytes {
				v = v[:keptValueBytes]
			}
			if total += len(name) + len(v); total > KeptHeaderBytes {
				n.Headers = kept
				return
			}
			kept[name] = append(kept[name], v)
		}
	}
	n.Headers = kept
}

// Trimmed reports whether Body holds only the first part of the message.
func (n *Notification) Trimmed() bool { return int64(len(n.Body)) < n.Size }
