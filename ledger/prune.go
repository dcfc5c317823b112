package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/vend-shop/vend/store"
)

// pruneBatch is how many notifications one transaction of PruneRefused
// deletes: short transactions, whatever a flood left behind.
const pruneBatch = 500

// PruneRefused deletes the refused notifications (invalid, rejected, error)
// received before before that belong to no order, and returns how many. The
// verified ones are the ledger's history and are kept.
func (l *Ledger) PruneRefused(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		var n int
		err := l.db.Update(ctx, func(tx store.Tx) error {
			var err error
			n, err = tx.DeleteRefusedNotifications(ctx, before, pruneBatch)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("ledger: prune refused notifications: %w", err)
		}
		if total += n; n < pruneBatch {
			return total, nil
		}
	}
}
