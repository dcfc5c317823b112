package intake

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// Replay processes the stored notification id again, as if its provider had
// sent the very same bytes and headers now, through the same steps as a
// message that has just arrived: PayPal's message is verified again by the
// postback to PayPal; a signature is checked again with the secret configured
// now; a WEBSALE link is decrypted and checked again. The replay is stored as
// a new notification (remote address "replay by <actor>"): history is never
// rewritten. Idempotency holds as for any message: an applied one replays as
// a duplicate, and one refused earlier (a product missing from the catalog,
// say) applies once the cause is fixed.
//
// Only the message's age is not judged again: a signature or link whose time
// is now too old counts as valid if the signature itself matches. The age
// guards against someone capturing a message and sending it again later; a
// replay is an administrator resending a message vend stored, on the audit
// trail, and the message's idempotency key keeps it from applying twice. A
// message whose signature does not match stays invalid.
//
// The audit entry (action "notification.replay", target the order the replay
// is about, else the replayed notification) is written after the replay, in a
// transaction of its own: the ledger's step commits the message with its
// effect, as it does for the provider's own requests.
func (in *Intake) Replay(ctx context.Context, id int64, actor string) (*vend.Notification, error) {
	if actor == "" {
		return nil, fmt.Errorf("intake: replay notification %d: no actor", id)
	}
	var orig *vend.Notification
	err := in.DB.View(ctx, func(tx store.Tx) error {
		var err error
		orig, err = tx.FindNotificationByID(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if orig.Trimmed() {
		return nil, vend.Errorf(vend.EINVALID, "Notification %d failed verification, so only the first %d bytes of its %d were kept: it cannot be replayed.",
			id, len(orig.Body), orig.Size)
	}
	p := in.Provider(orig.Provider)
	if p == nil {
		return nil, vend.Errorf(vend.EINVALID, "Notifications of %q cannot be replayed.", orig.Provider)
	}
	n := &vend.Notification{Provider: orig.Provider, RemoteAddr: "replay by " + actor,
		Headers: cloneHeaders(orig.Headers), Body: bytes.Clone(orig.Body)}
	in.process(ctx, p, n, true)
	if n.ID == 0 {
		return nil, fmt.Errorf("intake: replay notification %d: the replay was not stored (see the log)", id)
	}
	in.Logger.Info("notification replayed", "provider", orig.Provider, "replay_of", id, "actor", actor,
		"notification", n.ID, "verdict", n.Verdict, "order", n.OrderID)
	target := vend.NotificationTarget(id)
	if n.OrderID != 0 {
		target = vend.OrderTarget(n.OrderID)
	}
	actx := context.WithoutCancel(ctx)
	err = in.DB.Update(actx, func(tx store.Tx) error {
		return store.RecordAudit(actx, tx, actor, "notification.replay", target, replaySummary(orig), replaySummary(n))
	})
	if err != nil {
		return n, fmt.Errorf("intake: replay notification %d: replayed as %d, but: %w", id, n.ID, err)
	}
	return n, nil
}

// Event is what stored message n says, as its provider reads it now: the
// buyer and products of a refused payment the seller grants by hand. It
// fails for a provider that is no longer registered and for a message its
// provider cannot read (one refused for the wrong mode, say).
func (in *Intake) Event(n *vend.Notification) (vend.Event, error) {
	p := in.Provider(n.Provider)
	if p == nil || n.Trimmed() {
		return vend.Event{}, vend.Errorf(vend.EINVALID, "Notification %d cannot be read.", n.ID)
	}
	return p.Normalize(n)
}

// replaySummary is what the audit trail keeps of a replay's notifications: not
// the message, which the log has.
func replaySummary(n *vend.Notification) any {
	return struct {
		Notification int64        `json:"notification"`
		Verdict      vend.Verdict `json:"verdict"`
		Reason       string       `json:"reason,omitempty"`
		Changes      string       `json:"changes,omitempty"`
		OrderID      int64        `json:"order_id,omitempty"`
	}{n.ID, n.Verdict, n.Reason, n.Changes, n.OrderID}
}

func cloneHeaders(h map[string][]string) map[string][]string {
	if h == nil {
		return nil
	}
	out := make(map[string][]string, len(h))
	for k, v := range h {
		out[k] = slices.Clone(v)
	}
	return out
}
