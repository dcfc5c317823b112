-- +goose Up
-- Indexes no query needs, each written with every new order (an order's
-- insert was the ledger's dearest statement, for its twelve indexes):
-- orders are found by a buyer's address case-blind, never by the address as
-- typed (orders_buyer_email); and the pattern indexes of 00007 serve equality
-- as well as prefix search ("ordinary equality comparisons can use these
-- operator classes"), which leaves orders_buyer_email_lower and
-- orders_buyer_name_lower to no query.
DROP INDEX IF EXISTS orders_buyer_email;
DROP INDEX IF EXISTS orders_buyer_email_lower;
DROP INDEX IF EXISTS orders_buyer_name_lower;

-- +goose Down
-- Forward-only: a released migration is never undone.
