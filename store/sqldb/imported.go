package sqldb

import (
	"context"
	"fmt"

	"github.com/vend-shop/vend"
)

func (tx *Tx) SaveImportedItem(ctx context.Context, it *vend.ImportedItem) (bool, error) {
	res, err := tx.exec(ctx, `
		INSERT INTO imported_items (provider, txn_id, order_ref, email, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (provider, txn_id) DO NOTHING`,
		it.Provider, it.TxnID, it.OrderRef, it.Email, ms(tx.now))
	if err != nil {
		return false, fmt.Errorf("save imported item %s %s: %w", it.Provider, it.TxnID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, fmt.Errorf("save imported item %s %s: %w", it.Provider, it.TxnID, err)
	} else if n == 1 {
		it.CreatedAt, it.UpdatedAt = tx.now, tx.now
		return true, nil
	}
	// Imported before: a later export may correct the buyer's address. Rows
	// that did not change are not written, so importing the same export
	// again touches nothing.
	if _, err := tx.exec(ctx, `
		UPDATE imported_items SET order_ref = $3, email = $4, updated_at = $5
		WHERE provider = $1 AND txn_id = $2 AND (order_ref <> $3 OR email <> $4)`,
		it.Provider, it.TxnID, it.OrderRef, it.Email, ms(tx.now)); err != nil {
		return false, fmt.Errorf("save imported item %s %s: %w", it.Provider, it.TxnID, err)
	}
	return false, nil
}

func (tx *Tx) FindImportedItem(ctx context.Context, provider, txnID string) (*vend.ImportedItem, error) {
	it := vend.ImportedItem{Provider: provider, TxnID: txnID}
	var created, updated int64
	err := tx.queryRow(ctx, `SELECT order_ref, email, created_at, updated_at FROM imported_items WHERE provider = $1 AND txn_id = $2`,
		provider, txnID).Scan(&it.OrderRef, &it.Email, &created, &updated)
	if err != nil {
		return nil, notFound(err, "imported item", provider+" "+txnID)
	}
	it.CreatedAt, it.UpdatedAt = fromMS(created), fromMS(updated)
	return &it, nil
}
