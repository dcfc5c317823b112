package ledger

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// GrantAction is an administrator's change to a grant.
type GrantAction string

const (
	GrantRevoke  GrantAction = "revoke"  // end access; no provider message undoes it
	GrantRestore GrantAction = "restore" // give access back
	GrantReset   GrantAction = "reset"   // the downloads used start again from zero
	GrantExtend  GrantAction = "extend"  // a new expiry (zero: never)
	GrantLimit   GrantAction = "limit"   // a new download limit (vend.Unlimited or ≥ 1)
)

// GrantChange is what an action needs: the new expiry for extend, the new
// limit for limit.
type GrantChange struct {
	Until time.Time
	Limit int
}

// ChangeGrant applies an administrator's action to a grant, in one transaction
// with its audit entry (who, when, the grant before and after). actor names who
// did it: "user:alice", "token:deploy", "cli".
func (l *Ledger) ChangeGrant(ctx context.Context, actor string, grantID int64, action GrantAction, until time.Time) (*vend.Grant, error) {
	return l.ChangeGrantWith(ctx, actor, grantID, action, GrantChange{Until: until})
}

// ChangeGrantWith is ChangeGrant for every action, limit included.
func (l *Ledger) ChangeGrantWith(ctx context.Context, actor string, grantID int64, action GrantAction, c GrantChange) (*vend.Grant, error) {
	until := c.Until
	var after *vend.Grant
	err := l.db.Update(ctx, func(tx store.Tx) error {
		if err := tx.LockGrant(ctx, grantID); err != nil {
			return err
		}
		g, err := tx.FindGrantByID(ctx, grantID)
		if err != nil {
			return err
		}
		before := *g
		switch action {
		case GrantRevoke:
			g.State, g.Reason = vend.GrantRevoked, ReasonAdmin
		case GrantRestore:
			g.State, g.Reason = vend.GrantActive, ""
		case GrantReset:
			g.DownloadsUsed = 0
		case GrantExtend:
			if !until.IsZero() && !until.After(tx.Now()) {
				return vend.Errorf(vend.EINVALID, "The new expiry must be in the future.")
			}
			g.ExpiresAt = until
		case GrantLimit:
			if c.Limit < 1 && c.Limit != vend.Unlimited {
				return vend.Errorf(vend.EINVALID, "The download limit must be a positive number or unlimited.")
			}
			g.DownloadLimit = c.Limit
		default:
			return vend.Errorf(vend.EINVALID, "Unknown grant action %q.", action)
		}
		if err := tx.UpdateGrant(ctx, g); err != nil {
			return err
		}
		if g.State != before.State {
			if err := grantHook(ctx, tx, g); err != nil {
				return err
			}
		}
		after = g
		return store.RecordAudit(ctx, tx, actor, "grant."+string(action), vend.OrderTarget(g.OrderID), &before, g)
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: %s grant %d: %w", action, grantID, err)
	}
	return after, nil
}

// ParseExpiry reads a new expiry as administrators write it: a date (access
// ends at the end of that day, UTC) or an RFC 3339 time; never means none.
func ParseExpiry(s string, never bool) (time.Time, error) {
	switch {
	case never && s != "":
		return time.Time{}, vend.Errorf(vend.EINVALID, "Give an expiry or choose never, not both.")
	case never:
		return time.Time{}, nil
	case s == "":
		return time.Time{}, vend.Errorf(vend.EINVALID, "Give the new expiry date, or choose never.")
	}
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d.AddDate(0, 0, 1), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, vend.Errorf(vend.EINVALID, "The expiry must be a date such as 2026-12-31 or a time such as 2026-12-31T18:00:00Z.")
	}
	return t, nil
}

// EditBuyer changes the buyer's email address and name on an order (a typo, a
// new address), with an audit entry. Later mail goes to the new address.
func (l *Ledger) EditBuyer(ctx context.Context, actor string, orderID int64, b vend.Buyer) (*vend.Order, error) {
	b.Email, b.Name = strings.TrimSpace(b.Email), strings.TrimSpace(b.Name)
	if !strings.Contains(b.Email, "@") {
		return nil, vend.Errorf(vend.EINVALID, "The email address is missing or not an address.")
	}
	var o *vend.Order
	err := l.db.Update(ctx, func(tx store.Tx) error {
		var err error
		if o, err = tx.FindOrderByID(ctx, orderID); err != nil {
			return err
		}
		before := *o
		o.Buyer = b
		if err := tx.UpdateOrder(ctx, o); err != nil {
			return err
		}
		return store.RecordAudit(ctx, tx, actor, "order.edit", vend.OrderTarget(o.ID), before.Buyer, o.Buyer)
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: edit order %d: %w", orderID, err)
	}
	return o, nil
}

// DeleteOrder removes an order from the admin's lists and ends its access: its
// grants are revoked as an administrator's (no provider message gives them
// back). The order stays in the ledger with its history, and the deletion is
// in the audit trail.
func (l *Ledger) DeleteOrder(ctx context.Context, actor string, orderID int64) (*vend.Order, error) {
	var o *vend.Order
	err := l.db.Update(ctx, func(tx store.Tx) error {
		var err error
		if o, err = tx.FindOrderByID(ctx, orderID); err != nil {
			return err
		}
		if o.Deleted {
			return vend.Errorf(vend.ECONFLICT, "Order %d is deleted already.", orderID)
		}
		grants, err := tx.FindGrantsByOrder(ctx, orderID)
		if err != nil {
			return err
		}
		for _, g := range grants {
			if g.State == vend.GrantRevoked && g.Reason == ReasonAdmin {
				continue
			}
			wasActive := g.State == vend.GrantActive
			g.State, g.Reason = vend.GrantRevoked, ReasonAdmin
			if err := tx.UpdateGrant(ctx, g); err != nil {
				return err
			}
			if wasActive {
				if err := grantHook(ctx, tx, g); err != nil {
					return err
				}
			}
		}
		before := *o
		o.Deleted = true
		if err := tx.UpdateOrder(ctx, o); err != nil {
			return err
		}
		return store.RecordAudit(ctx, tx, actor, "order.delete", vend.OrderTarget(o.ID), &before, o)
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: delete order %d: %w", orderID, err)
	}
	return o, nil
}
