-- +goose Up
-- An archived product is no longer sold: it is left out of the catalog lists
-- and the demo store, and the ledger refuses new payments for it. Its buyers
-- keep their downloads, so the row and its files stay.
ALTER TABLE products ADD COLUMN archived BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
-- Forward-only: a released migration is never undone.
