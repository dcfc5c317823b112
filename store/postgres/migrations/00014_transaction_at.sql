-- +goose Up
-- When a transaction happened by the provider's clock (or when vend recorded
-- it, if the provider gives no time). Missed payments, resumed rebillings and
-- ends of the paid period are kept as transactions too (kinds suspend, resume,
-- end), so an item's hold is derived from its whole history in the order
-- things happened, not the order the messages arrived.
ALTER TABLE transactions ADD COLUMN at BIGINT NOT NULL DEFAULT 0;
UPDATE transactions SET at = created_at;

-- Holds set before this migration had no history behind them: each becomes
-- one, recorded now, so it stays in force until a later payment or resumed
-- rebilling lifts it.
INSERT INTO transactions (order_id, provider, txn_id, parent_txn_id, order_ref, product_id, kind, full_refund, status, raw_status, reason,
    amount, currency, at, created_at, updated_at)
SELECT o.id, o.provider, 'hold-before-00014:' || i.id, '', o.ref, i.product_id,
    CASE i.hold WHEN 'suspended' THEN 'suspend' ELSE 'end' END, FALSE, 'completed', 'migrated', 'hold set before vend kept holds as history',
    0, o.currency, o.updated_at, o.updated_at, o.updated_at
FROM items i JOIN orders o ON o.id = i.order_id
WHERE i.hold IN ('suspended', 'ended');

-- +goose Down
-- Forward-only: a released migration is never undone.
