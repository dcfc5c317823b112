-- +goose Up
-- The counters by day (issue 16), so that `vend stats`, the dashboard and the
-- admin's counters read a row per day (and buyer, or product) instead of
-- every attempt and download session of their window. Both are kept in the
-- transaction that writes what they count:
--   buyer_days   the attempts of one buyer (0: orders without an email
--                address) on one UTC day, written with the attempts
--                (store/sqldb CreateAttempts);
--   product_days the attempts on one product's files, written with the
--                attempts, and its download sessions by the day they
--                started, kept by the triggers below, since a session is
--                completed or given back long after it starts.
-- day is the UTC day number: milliseconds since 1970 / 86400000.
CREATE TABLE buyer_days (
    day       INTEGER NOT NULL,
    buyer_id  INTEGER NOT NULL,
    attempts  INTEGER NOT NULL,
    downloads INTEGER NOT NULL, -- counted attempts
    last_at   INTEGER NOT NULL,
    PRIMARY KEY (day, buyer_id)
) WITHOUT ROWID;

CREATE TABLE product_days (
    day        INTEGER NOT NULL,
    product_id TEXT    NOT NULL,
    attempts   INTEGER NOT NULL,
    completed  INTEGER NOT NULL, -- sessions started that day and completed
    charged    INTEGER NOT NULL, -- sessions started that day, charged and not given back
    PRIMARY KEY (day, product_id)
) WITHOUT ROWID;

INSERT INTO buyer_days (day, buyer_id, attempts, downloads, last_at)
SELECT a.at / 86400000, COALESCE(o.buyer_id, 0), count(*), sum(a.counted), max(a.at)
FROM attempts a JOIN grants g ON g.id = a.grant_id JOIN orders o ON o.id = g.order_id
GROUP BY 1, 2;

INSERT INTO product_days (day, product_id, attempts, completed, charged)
SELECT day, product_id, sum(attempts), sum(completed), sum(charged) FROM (
    SELECT a.at / 86400000 AS day, f.product_id, count(*) AS attempts, 0 AS completed, 0 AS charged
    FROM attempts a JOIN files f ON f.id = a.file_id GROUP BY 1, 2
    UNION ALL
    SELECT started_at / 86400000, product_id, 0, sum(completed), sum(charged AND NOT given_back)
    FROM download_sessions GROUP BY 1, 2
) GROUP BY day, product_id;

-- +goose StatementBegin
CREATE TRIGGER download_sessions_days_insert AFTER INSERT ON download_sessions
BEGIN
    INSERT INTO product_days (day, product_id, attempts, completed, charged)
    VALUES (NEW.started_at / 86400000, NEW.product_id, 0, NEW.completed, NEW.charged AND NOT NEW.given_back)
    ON CONFLICT (day, product_id) DO UPDATE SET
        completed = completed + excluded.completed, charged = charged + excluded.charged;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER download_sessions_days_update AFTER UPDATE OF completed, charged, given_back ON download_sessions
WHEN OLD.completed IS NOT NEW.completed
    OR (OLD.charged AND NOT OLD.given_back) IS NOT (NEW.charged AND NOT NEW.given_back)
BEGIN
    INSERT INTO product_days (day, product_id, attempts, completed, charged)
    VALUES (NEW.started_at / 86400000, NEW.product_id, 0,
        NEW.completed - OLD.completed, (NEW.charged AND NOT NEW.given_back) - (OLD.charged AND NOT OLD.given_back))
    ON CONFLICT (day, product_id) DO UPDATE SET
        completed = completed + excluded.completed, charged = charged + excluded.charged;
END;
-- +goose StatementEnd

-- +goose Down
-- Forward-only: a released migration is never undone.
