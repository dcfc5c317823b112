-- +goose Up
-- The counters by day (issue 16), so that `vend stats` and the admin's
-- counters read a row per day and buyer or product instead of every attempt
-- and download session of their window. Each is kept in the transaction that
-- writes what it counts:
--   buyer_days   the attempts of one buyer (0: orders without an email
--                address) on one UTC day, written with the attempts
--                (store/sqldb CreateAttempts);
--   product_days the attempts on one product's files, written with the
--                attempts, and its download sessions by the day they
--                started, kept by the trigger on download_sessions, since a
--                session is completed or given back long after it starts.
-- day is the UTC day number: milliseconds since 1970 / 86400000. shard
-- spreads the rows every download of a day would update over 256: the
-- session's id modulo 256. Concurrent transactions hold nearby ids, so they
-- update different rows and do not queue for one row lock until they commit.
-- Readers add the shards up.
--
-- SQLite's migration also keeps sales_days, the sums of payments and refunds
-- by day, with triggers on transactions and orders. Here they cost the ledger
-- a third of its throughput (measured: docs/benchmarks.md), so on PostgreSQL
-- the daily sums are still read from the transactions (store/sqldb DailyStats).
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
    shard      INTEGER NOT NULL,
    attempts   BIGINT  NOT NULL,
    completed  BIGINT  NOT NULL, -- sessions started that day and completed
    charged    BIGINT  NOT NULL, -- sessions started that day, charged and not given back
    PRIMARY KEY (day, product_id, shard)
);

INSERT INTO buyer_days (day, buyer_id, attempts, downloads, last_at)
SELECT a.at / 86400000, COALESCE(o.buyer_id, 0), count(*), count(*) FILTER (WHERE a.counted), max(a.at)
FROM attempts a JOIN grants g ON g.id = a.grant_id JOIN orders o ON o.id = g.order_id
GROUP BY 1, 2;

INSERT INTO product_days (day, product_id, shard, attempts, completed, charged)
SELECT day, product_id, shard, sum(attempts), sum(completed), sum(charged) FROM (
    SELECT a.at / 86400000 AS day, f.product_id, 0 AS shard, count(*) AS attempts, 0 AS completed, 0 AS charged
    FROM attempts a JOIN files f ON f.id = a.file_id GROUP BY 1, 2
    UNION ALL
    SELECT started_at / 86400000, product_id, id % 256, 0, count(*) FILTER (WHERE completed),
        count(*) FILTER (WHERE charged AND NOT given_back)
    FROM download_sessions GROUP BY 1, 2, 3
) s GROUP BY day, product_id, shard;

-- +goose StatementBegin
CREATE FUNCTION download_sessions_days() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    d_completed BIGINT := NEW.completed::int;
    d_charged   BIGINT := (NEW.charged AND NOT NEW.given_back)::int;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        d_completed := d_completed - OLD.completed::int;
        d_charged := d_charged - (OLD.charged AND NOT OLD.given_back)::int;
        IF d_completed = 0 AND d_charged = 0 THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO product_days AS d (day, product_id, shard, attempts, completed, charged)
    VALUES (NEW.started_at / 86400000, NEW.product_id, NEW.id % 256, 0, d_completed, d_charged)
    ON CONFLICT (day, product_id, shard) DO UPDATE SET
        completed = d.completed + excluded.completed, charged = d.charged + excluded.charged;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER download_sessions_days AFTER INSERT OR UPDATE OF completed, charged, given_back ON download_sessions
    FOR EACH ROW EXECUTE FUNCTION download_sessions_days();

-- +goose Down
-- Forward-only: a released migration is never undone.
