-- +goose Up
-- A message that failed verification keeps only the first part of its body
-- (vend.Notification.Trim); its size and hash say what it was. Older rows
-- hold their whole body, so their size is its length; their hash is unknown.
ALTER TABLE notifications ADD COLUMN body_size BIGINT NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN body_sha256 TEXT NOT NULL DEFAULT '';
UPDATE notifications SET body_size = length(body);
-- Pruning refused messages by age (the ledger's PruneRefused).
CREATE INDEX notifications_verdict_received ON notifications (verdict, received_at);

-- +goose Down
-- Forward-only: a released migration is never undone.
