-- +goose Up
-- The admin's order list and search stay fast with millions of orders: each
-- filter has an index that also orders by id, and search terms that name a
-- reference, a transaction or a product are found without a scan.
CREATE INDEX orders_ref ON orders (ref);
CREATE INDEX orders_status_id ON orders (status, id);
CREATE INDEX orders_provider_id ON orders (provider, id);
CREATE INDEX orders_buyer_name_lower ON orders (lower(buyer_name));
CREATE INDEX transactions_txn ON transactions (txn_id);
CREATE INDEX transactions_created ON transactions (created_at);
CREATE INDEX items_product_order ON items (product_id, order_id);
CREATE INDEX download_sessions_started ON download_sessions (started_at);

-- +goose Down
-- Forward-only: a released migration is never undone.
