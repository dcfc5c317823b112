-- +goose NO TRANSACTION
-- +goose Up
-- Indexes no query needs, each written with every new order (an order's
-- insert was the ledger's dearest statement, for its twelve indexes):
-- orders are found by a buyer's address case-blind, never by the address as
-- typed (orders_buyer_email); and the pattern indexes of 00007 serve equality
-- as well as prefix search ("ordinary equality comparisons can use these
-- operator classes"), which leaves orders_buyer_email_lower and
-- orders_buyer_name_lower to no query.
--
-- CONCURRENTLY, outside a transaction: a plain DROP INDEX waits for every
-- reader of orders (another instance during a rolling upgrade, a pg_dump) and
-- holds up all of them, and every sale, behind it. Each statement can run again.
DROP INDEX CONCURRENTLY IF EXISTS orders_buyer_email;
DROP INDEX CONCURRENTLY IF EXISTS orders_buyer_email_lower;
DROP INDEX CONCURRENTLY IF EXISTS orders_buyer_name_lower;

-- +goose Down
-- Forward-only: a released migration is never undone.
