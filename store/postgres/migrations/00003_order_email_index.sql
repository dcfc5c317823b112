-- +goose Up
-- Orders are searched by buyer email without regard to case (FindOrders).
CREATE INDEX orders_buyer_email_lower ON orders (lower(buyer_email));

-- +goose Down
-- Forward-only: a released migration is never undone.
