-- +goose Up
-- An order an administrator deleted: kept for its history (notifications,
-- transactions, downloads), left out of the admin's lists, its grants revoked.
ALTER TABLE orders ADD COLUMN deleted BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
-- Forward-only: a released migration is never undone.
