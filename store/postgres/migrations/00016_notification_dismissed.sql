-- +goose Up
-- A genuine message vend refused stays on the dashboard until the seller
-- grants the purchase anyway (the notification then belongs to the order) or
-- dismisses it.
ALTER TABLE notifications ADD COLUMN dismissed BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
-- Forward-only: a released migration is never undone.
