-- +goose Up
-- The counters by day (issue 16), so that `vend stats` and the admin's
-- counters read a row per day and buyer or product instead of every attempt
-- of their window. Both are written with the attempts, in their transaction
-- (store/sqldb countAttempts), once per batch and in key order:
--   buyer_days   the attempts of one buyer (0: orders without an email
--                address) on one UTC day;
--   product_days the attempts on one product's files on one UTC day
--                (completed and charged stay 0 here).
-- day is the UTC day number: milliseconds since 1970 / 86400000.
--
-- SQLite's migration also keeps the download sessions and the sales by day,
-- with triggers. Here those triggers would lock a row every sale or session
-- of a day updates, from the write until the commit, in an order two
-- instances could cross; the sales triggers cost the ledger about a quarter of
-- its throughput (docs/benchmarks.md). So on PostgreSQL the sessions and the
-- daily sales are added up when read (store/sqldb DailyStats,
-- DownloadsPerProduct).
CREATE TABLE buyer_days (
    day       BIGINT NOT NULL,
    buyer_id  BIGINT NOT NULL,
    attempts  BIGINT NOT NULL,
    downloads BIGINT NOT NULL, -- counted attempts
    last_at   BIGINT NOT NULL,
    PRIMARY KEY (day, buyer_id)
);

CREATE TABLE product_days (
    day        BIGINT  NOT NULL,
    product_id TEXT    NOT NULL,
    attempts   BIGINT  NOT NULL,
    completed  BIGINT  NOT NULL, -- 0: the sessions are counted when read (see above)
    charged    BIGINT  NOT NULL, -- 0, as completed
    PRIMARY KEY (day, product_id)
);

INSERT INTO buyer_days (day, buyer_id, attempts, downloads, last_at)
SELECT a.at / 86400000, COALESCE(o.buyer_id, 0), count(*), count(*) FILTER (WHERE a.counted), max(a.at)
FROM attempts a JOIN grants g ON g.id = a.grant_id JOIN orders o ON o.id = g.order_id
GROUP BY 1, 2;

INSERT INTO product_days (day, product_id, attempts, completed, charged)
SELECT a.at / 86400000, f.product_id, count(*), 0, 0
FROM attempts a JOIN files f ON f.id = a.file_id GROUP BY 1, 2;

-- +goose Down
-- Forward-only: a released migration is never undone.
