-- +goose Up
-- The admin's counters and exports stay fast with millions of attempts. One
-- index on the attempts' time serves both: the export walks it in (at, id)
-- order, page after page, and the counters read a window of it without
-- touching the table, since it also holds the grant, the file and whether the
-- attempt counted. (Transactions need nothing new: SQLite's index on
-- created_at ends with the row id, so it is ordered by (created_at, id).)
CREATE INDEX attempts_at ON attempts (at, id, grant_id, file_id, counted);

-- +goose Down
-- Forward-only: a released migration is never undone.
