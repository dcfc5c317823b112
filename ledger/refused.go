package ledger

import (
	"context"
	"fmt"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// A genuine message vend refused (verdict rejected) may be a buyer who paid:
// it waits on the dashboard until the seller grants the purchase by hand
// (GrantedRefused) or lets it be (DismissRefused). Both are audited.

// DismissRefused marks refused notification id as looked at.
func (l *Ledger) DismissRefused(ctx context.Context, actor string, id int64) error {
	return l.settleRefused(ctx, actor, id, "notification.dismiss", func(n *vend.Notification) string {
		n.Dismissed = true
		return vend.NotificationTarget(id)
	})
}

// GrantedRefused makes refused notification id belong to orderID, the order
// the seller made by hand (CreateOrder) for the buyer it was about: the
// order's history then shows the message, and the dashboard lets it go.
func (l *Ledger) GrantedRefused(ctx context.Context, actor string, id, orderID int64) error {
	return l.settleRefused(ctx, actor, id, "notification.grant", func(n *vend.Notification) string {
		n.OrderID = orderID
		return vend.OrderTarget(orderID)
	})
}

func (l *Ledger) settleRefused(ctx context.Context, actor string, id int64, action string, change func(*vend.Notification) string) error {
	err := l.db.Update(ctx, func(tx store.Tx) error {
		n, err := tx.FindNotificationByID(ctx, id)
		if err != nil {
			return err
		}
		if n.Verdict != vend.VerdictRejected || n.OrderID != 0 || n.Dismissed {
			return vend.Errorf(vend.ECONFLICT, "Notification %d is not a refused message waiting for you.", id)
		}
		before := *n
		target := change(n)
		if err := tx.UpdateNotification(ctx, n); err != nil {
			return err
		}
		type state struct {
			OrderID   int64 `json:"order_id,omitempty"`
			Dismissed bool  `json:"dismissed,omitempty"`
		}
		return store.RecordAudit(ctx, tx, actor, action, target,
			state{before.OrderID, before.Dismissed}, state{n.OrderID, n.Dismissed})
	})
	if err != nil {
		return fmt.Errorf("ledger: %s %d: %w", action, id, err)
	}
	return nil
}
