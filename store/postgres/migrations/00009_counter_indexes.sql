-- +goose Up
-- The admin's counters and exports stay fast with millions of attempts. One
-- index on the attempts' time serves both: the export walks it in (at, id)
-- order, page after page, and the counters read a window of it with an
-- index-only scan, since it also holds the grant, the file and whether the
-- attempt counted. The export of transactions walks (created_at, id).
CREATE INDEX attempts_at ON attempts (at, id) INCLUDE (grant_id, file_id, counted);
CREATE INDEX transactions_created_id ON transactions (created_at, id);

-- +goose Down
-- Forward-only: a released migration is never undone.
