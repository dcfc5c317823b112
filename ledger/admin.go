package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
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
)

// ChangeGrant applies an administrator's action to a grant, in one transaction
// with its audit entry (who, when, the grant before and after). actor names who
// did it: "user:alice", "token:deploy", "cli".
func (l *Ledger) ChangeGrant(ctx context.Context, actor string, grantID int64, action GrantAction, until time.Time) (*vend.Grant, error) {
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
		default:
			return vend.Errorf(vend.EINVALID, "Unknown grant action %q.", action)
		}
		if err := tx.UpdateGrant(ctx, g); err != nil {
			return err
		}
		after = g
		return audit(ctx, tx, actor, "grant."+string(action), "order:"+strconv.FormatInt(g.OrderID, 10), &before, g)
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: %s grant %d: %w", action, grantID, err)
	}
	return after, nil
}

// audit records an administrator's change in the transaction that makes it.
func audit(ctx context.Context, tx store.Tx, actor, action, target string, before, after any) error {
	b, err := json.Marshal(before)
	if err != nil {
		return err
	}
	a, err := json.Marshal(after)
	if err != nil {
		return err
	}
	return tx.CreateAuditEntry(ctx, &vend.AuditEntry{Actor: actor, Action: action, Target: target, Before: string(b), After: string(a)})
}
