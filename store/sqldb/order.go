package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

const orderColumns = `id, provider, ref, custom, buyer_email, buyer_name, currency, total, status, status_reason, review, test, language, deleted, terms_version, created_at, updated_at`

func scanOrder(row interface{ Scan(...any) error }) (*vend.Order, error) {
	var o vend.Order
	var created, updated int64
	if err := row.Scan(&o.ID, &o.Provider, &o.Ref, &o.Custom, &o.Buyer.Email, &o.Buyer.Name, &o.Currency, &o.Total,
		&o.Status, &o.StatusReason, &o.Review, &o.Test, &o.Language, &o.Deleted, &o.TermsVersion, &created, &updated); err != nil {
		return nil, err
	}
	o.CreatedAt, o.UpdatedAt = fromMS(created), fromMS(updated)
	return &o, nil
}

// upsertBuyer keeps one row per email address (compared lower-cased) and returns its id.
func (tx *Tx) upsertBuyer(ctx context.Context, b vend.Buyer) (sql.NullInt64, error) {
	email := strings.ToLower(strings.TrimSpace(b.Email))
	if email == "" {
		return sql.NullInt64{}, nil
	}
	// Insert-or-find without touching an existing row unless its name changes: a
	// buyer who buys often must not make every order wait for the last one's lock.
	var id int64
	err := tx.queryRow(ctx, `
		INSERT INTO buyers (email, name, created_at, updated_at) VALUES ($1, $2, $3, $3)
		ON CONFLICT (email) DO NOTHING RETURNING id`, email, b.Name, ms(tx.now)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.queryRow(ctx, `SELECT id FROM buyers WHERE email = $1`, email).Scan(&id)
		if err == nil && b.Name != "" {
			_, err = tx.exec(ctx, `UPDATE buyers SET name = $1, updated_at = $2 WHERE id = $3 AND name <> $1`, b.Name, ms(tx.now), id)
		}
	}
	if err != nil {
		return sql.NullInt64{}, fmt.Errorf("save buyer: %w", err)
	}
	return sql.NullInt64{Int64: id, Valid: true}, nil
}

func (tx *Tx) LockOrderRef(ctx context.Context, provider, ref string) error {
	if !tx.postgres {
		return nil // SQLite: every write transaction already holds the one write lock
	}
	if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, provider+"/"+ref); err != nil {
		return fmt.Errorf("lock order %s %s: %w", provider, ref, err)
	}
	return nil
}

func (tx *Tx) CreateOrder(ctx context.Context, o *vend.Order) error {
	buyerID, err := tx.upsertBuyer(ctx, o.Buyer)
	if err != nil {
		return err
	}
	o.CreatedAt, o.UpdatedAt = tx.now, tx.now
	err = tx.queryRow(ctx, `
		INSERT INTO orders (provider, ref, custom, buyer_id, buyer_email, buyer_name, currency, total, status, status_reason, review, test, language,
			terms_version, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id`,
		o.Provider, o.Ref, o.Custom, buyerID, o.Buyer.Email, o.Buyer.Name, o.Currency, o.Total, o.Status, o.StatusReason,
		o.Review, o.Test, o.Language, o.TermsVersion, ms(o.CreatedAt), ms(o.UpdatedAt)).Scan(&o.ID)
	if err != nil {
		return fmt.Errorf("create order %s %s: %w", o.Provider, o.Ref, err)
	}
	return nil
}

func (tx *Tx) UpdateOrder(ctx context.Context, o *vend.Order) error {
	o.UpdatedAt = tx.now
	res, err := tx.exec(ctx, `
		UPDATE orders SET custom = $1, buyer_email = $2, buyer_name = $3, currency = $4, total = $5, status = $6,
			status_reason = $7, review = $8, test = $9, language = $10, deleted = $11, updated_at = $12 WHERE id = $13`,
		o.Custom, o.Buyer.Email, o.Buyer.Name, o.Currency, o.Total, o.Status, o.StatusReason, o.Review, o.Test, o.Language, o.Deleted,
		ms(o.UpdatedAt), o.ID)
	return updated(res, err, "order", o.ID)
}

func (tx *Tx) FindOrderByID(ctx context.Context, id int64) (*vend.Order, error) {
	o, err := scanOrder(tx.queryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "order", id)
	}
	return o, nil
}

func (tx *Tx) FindOrderByRef(ctx context.Context, provider, ref string) (*vend.Order, error) {
	o, err := scanOrder(tx.queryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE provider = $1 AND ref = $2`, provider, ref))
	if err != nil {
		return nil, notFound(err, "order", ref)
	}
	return o, nil
}

func (tx *Tx) FindOrders(ctx context.Context, f store.OrderFilter) ([]*vend.Order, error) {
	var where []string
	var args []any
	if f.Custom != nil {
		args = append(args, *f.Custom)
		where = append(where, fmt.Sprintf("custom = $%d", len(args)))
	}
	if f.Email != nil {
		args = append(args, strings.ToLower(*f.Email))
		where = append(where, fmt.Sprintf("lower(buyer_email) = $%d", len(args)))
	}
	q := `SELECT ` + orderColumns + ` FROM orders`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limit(f.Limit, 100))
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find orders: %w", err)
	}
	defer rows.Close()
	var out []*vend.Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, fmt.Errorf("scan order: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

func (tx *Tx) CreateItem(ctx context.Context, it *vend.Item) error {
	err := tx.queryRow(ctx, `
		INSERT INTO items (order_id, product_id, name, quantity, amount, status, hold) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		it.OrderID, it.ProductID, it.Name, it.Quantity, it.Amount, it.Status, it.Hold).Scan(&it.ID)
	if err != nil {
		return fmt.Errorf("create item %s of order %d: %w", it.ProductID, it.OrderID, err)
	}
	return nil
}

func (tx *Tx) FindItems(ctx context.Context, orderID int64) ([]*vend.Item, error) {
	rows, err := tx.query(ctx, `SELECT id, order_id, product_id, name, quantity, amount, status, hold FROM items WHERE order_id = $1 ORDER BY id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("find items of order %d: %w", orderID, err)
	}
	defer rows.Close()
	var out []*vend.Item
	for rows.Next() {
		var it vend.Item
		if err := rows.Scan(&it.ID, &it.OrderID, &it.ProductID, &it.Name, &it.Quantity, &it.Amount, &it.Status, &it.Hold); err != nil {
			return nil, fmt.Errorf("scan item: %w", err)
		}
		out = append(out, &it)
	}
	return out, rows.Err()
}

func (tx *Tx) UpdateItem(ctx context.Context, it *vend.Item) error {
	res, err := tx.exec(ctx, `UPDATE items SET name = $1, quantity = $2, amount = $3, status = $4, hold = $5 WHERE id = $6`,
		it.Name, it.Quantity, it.Amount, it.Status, it.Hold, it.ID)
	return updated(res, err, "item", it.ID)
}

// ---- transactions ----

const txnColumns = `id, order_id, provider, txn_id, parent_txn_id, order_ref, product_id, kind, full_refund, status, raw_status, reason, amount, currency, at, created_at, updated_at`

func scanTxn(row interface{ Scan(...any) error }) (*vend.Transaction, error) {
	var t vend.Transaction
	var orderID sql.NullInt64
	var at, created, updated int64
	if err := row.Scan(&t.ID, &orderID, &t.Provider, &t.TxnID, &t.ParentTxnID, &t.OrderRef, &t.ProductID, &t.Kind, &t.Full, &t.Status, &t.RawStatus, &t.Reason,
		&t.Amount, &t.Currency, &at, &created, &updated); err != nil {
		return nil, err
	}
	t.OrderID = orderID.Int64
	t.At, t.CreatedAt, t.UpdatedAt = fromMS(at), fromMS(created), fromMS(updated)
	return &t, nil
}

func (tx *Tx) FindTransaction(ctx context.Context, provider, txnID string) (*vend.Transaction, error) {
	t, err := scanTxn(tx.queryRow(ctx, `SELECT `+txnColumns+` FROM transactions WHERE provider = $1 AND txn_id = $2`, provider, txnID))
	if err != nil {
		return nil, notFound(err, "transaction", txnID)
	}
	return t, nil
}

func (tx *Tx) CreateTransaction(ctx context.Context, t *vend.Transaction) error {
	t.CreatedAt, t.UpdatedAt = tx.now, tx.now
	if t.At.IsZero() {
		t.At = tx.now // no time from the provider: when vend learned of it
	}
	err := tx.queryRow(ctx, `
		INSERT INTO transactions (order_id, provider, txn_id, parent_txn_id, order_ref, product_id, kind, full_refund, status, raw_status, reason, amount, currency, at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id`,
		nullID(t.OrderID), t.Provider, t.TxnID, t.ParentTxnID, t.OrderRef, t.ProductID, t.Kind, t.Full, t.Status, t.RawStatus, t.Reason, t.Amount, t.Currency,
		ms(t.At), ms(t.CreatedAt), ms(t.UpdatedAt)).Scan(&t.ID)
	if err != nil {
		return fmt.Errorf("create transaction %s %s: %w", t.Provider, t.TxnID, err)
	}
	return nil
}

func (tx *Tx) CreateTransactionIfNew(ctx context.Context, t *vend.Transaction) (bool, error) {
	created, updated, at := t.CreatedAt, t.UpdatedAt, t.At
	t.CreatedAt, t.UpdatedAt = tx.now, tx.now
	if t.At.IsZero() {
		t.At = tx.now
	}
	err := tx.queryRow(ctx, `
		INSERT INTO transactions (order_id, provider, txn_id, parent_txn_id, order_ref, product_id, kind, full_refund, status, raw_status, reason, amount, currency, at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (provider, txn_id) DO NOTHING RETURNING id`,
		nullID(t.OrderID), t.Provider, t.TxnID, t.ParentTxnID, t.OrderRef, t.ProductID, t.Kind, t.Full, t.Status, t.RawStatus, t.Reason, t.Amount, t.Currency,
		ms(t.At), ms(t.CreatedAt), ms(t.UpdatedAt)).Scan(&t.ID)
	if errors.Is(err, sql.ErrNoRows) {
		t.CreatedAt, t.UpdatedAt, t.At = created, updated, at
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("create transaction %s %s: %w", t.Provider, t.TxnID, err)
	}
	return true, nil
}

func (tx *Tx) UpdateTransaction(ctx context.Context, t *vend.Transaction) error {
	t.UpdatedAt = tx.now
	res, err := tx.exec(ctx, `
		UPDATE transactions SET order_id = $1, status = $2, raw_status = $3, reason = $4, amount = $5, full_refund = $6, updated_at = $7 WHERE id = $8`,
		nullID(t.OrderID), t.Status, t.RawStatus, t.Reason, t.Amount, t.Full, ms(t.UpdatedAt), t.ID)
	return updated(res, err, "transaction", t.ID)
}

func (tx *Tx) FindTransactionsByOrder(ctx context.Context, orderID int64) ([]*vend.Transaction, error) {
	rows, err := tx.query(ctx, `SELECT `+txnColumns+` FROM transactions WHERE order_id = $1 ORDER BY id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("find transactions of order %d: %w", orderID, err)
	}
	defer rows.Close()
	var out []*vend.Transaction
	for rows.Next() {
		t, err := scanTxn(rows)
		if err != nil {
			return nil, fmt.Errorf("scan transaction: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (tx *Tx) AdoptTransactions(ctx context.Context, provider, orderRef string, orderID int64) (int, error) {
	res, err := tx.exec(ctx, `
		UPDATE transactions SET order_id = $1, updated_at = $2
		WHERE provider = $3 AND order_ref = $4 AND order_id IS NULL`, orderID, ms(tx.now), provider, orderRef)
	if err != nil {
		return 0, fmt.Errorf("adopt transactions of %s: %w", orderRef, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
