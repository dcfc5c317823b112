-- +goose Up
-- The buyer's language as the provider gave it, kept on the order so that
-- the buyer's pages and later mails (a refund notice, a new version) speak it
-- even when the message that said it queued no mail. Orders from before take
-- it from their first mail.
ALTER TABLE orders ADD COLUMN language TEXT NOT NULL DEFAULT '';
UPDATE orders SET language = COALESCE((SELECT outbox.language FROM outbox
    WHERE outbox.order_id = orders.id AND outbox.language <> '' ORDER BY outbox.id LIMIT 1), '');

-- +goose Down
-- Forward-only: a released migration is never undone.
