-- +goose Up
-- Providers such as Digistore24 send one message per order item: a refund can be
-- about one item of the order, a missed payment can pause one item. Transactions
-- say which order (order_ref, also before the order exists) and which item
-- (product_id, '' for the whole order) they are about; items carry their own
-- derived status and hold.
ALTER TABLE transactions ADD COLUMN order_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE transactions ADD COLUMN product_id TEXT NOT NULL DEFAULT '';
ALTER TABLE transactions ADD COLUMN full_refund BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE transactions SET order_ref = CASE WHEN kind = 'payment' THEN txn_id ELSE parent_txn_id END;
CREATE INDEX transactions_order_ref ON transactions (provider, order_ref);

ALTER TABLE items ADD COLUMN status TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN hold TEXT NOT NULL DEFAULT '';
UPDATE items SET status = (SELECT status FROM orders WHERE orders.id = items.order_id);

-- +goose Down
-- Forward-only: a released migration is never undone.
