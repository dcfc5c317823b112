-- +goose Up
-- orders_buyer_email (00001) served no query: orders are found by a buyer's
-- address case-blind, through orders_buyer_email_lower, and each index is
-- written with every new order.
DROP INDEX IF EXISTS orders_buyer_email;

-- +goose Down
-- Forward-only: a released migration is never undone.
