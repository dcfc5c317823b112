-- +goose Up
-- Order items the seller imported from a provider's own order data (WEBSALE's
-- order export): a buyer's link carries no signature, so only an imported
-- item's first link creates an order and grant (unless the seller opts in to
-- first links). One row per (provider, txn id), the id the item's events carry.
CREATE TABLE imported_items (
    provider   TEXT   NOT NULL,
    txn_id     TEXT   NOT NULL,
    order_ref  TEXT   NOT NULL,
    email      TEXT   NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (provider, txn_id)
);

-- +goose Down
-- Forward-only: a released migration is never undone.
