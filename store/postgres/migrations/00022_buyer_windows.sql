-- +goose Up
-- Each buyer's sums over the last 7, 30 and 90 days (issue 16): the counters'
-- standard windows. A window's top buyers then come from an index instead of
-- adding up a row per buyer and day of buyer_days (490,000 rows for 30 days
-- of a ledger with ten million attempts).
--   counter_windows one row per window: its rows in buyer_windows add up the
--                   buyer_days from first_day on. A window starts empty,
--                   first_day the largest integer, and is built by the first
--                   batch of attempts written;
--   buyer_windows   a buyer's sums over the days of a window: added to with
--                   the attempts, in their transaction, and moved on a day
--                   by the first batch of each UTC day, which subtracts the
--                   days that left (store/sqldb countAttempts, sweepWindows).
--                   That batch locks buyer_windows against the other
--                   instances' writes while it moves the windows on: a
--                   moment, once a day.
CREATE TABLE counter_windows (
    days      INTEGER PRIMARY KEY,
    first_day BIGINT  NOT NULL
);
INSERT INTO counter_windows (days, first_day) VALUES (7, 9223372036854775807), (30, 9223372036854775807), (90, 9223372036854775807);

CREATE TABLE buyer_windows (
    days      INTEGER NOT NULL,
    buyer_id  BIGINT NOT NULL,
    attempts  BIGINT NOT NULL,
    downloads BIGINT NOT NULL,
    last_at   BIGINT NOT NULL,
    PRIMARY KEY (days, buyer_id)
);
CREATE INDEX buyer_windows_attempts ON buyer_windows (days, attempts DESC);
CREATE INDEX buyer_windows_downloads ON buyer_windows (days, downloads DESC);
CREATE INDEX buyer_windows_last ON buyer_windows (days, last_at DESC);

-- +goose Down
-- Forward-only: a released migration is never undone.
