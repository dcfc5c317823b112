-- +goose Up
-- The admin's notification log stays fast with millions of messages: the
-- provider and verdict filters each have an index that also orders by id, so
-- a page of a rare verdict (invalid, say) is found without a scan.
CREATE INDEX notifications_provider_id ON notifications (provider, id);
CREATE INDEX notifications_verdict_id ON notifications (verdict, id);

-- +goose Down
-- Forward-only: a released migration is never undone.
