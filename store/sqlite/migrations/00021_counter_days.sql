-- +goose Up
-- The counters by day (issue 16), so that `vend stats`, the dashboard and the
-- admin's counters read a row per day (and buyer, product or currency)
-- instead of every transaction, attempt and download session of their
-- window. Each is kept in the transaction that writes what it counts:
--   sales_days   completed payments and refunds by the day they were made,
--                their currency and whether their order is a test order:
--                kept by the triggers on transactions and orders below;
--   buyer_days   the attempts of one buyer (0: orders without an email
--                address) on one UTC day, written with the attempts
--                (store/sqldb CreateAttempts);
--   product_days the attempts on one product's files, written with the
--                attempts, and its download sessions by the day they
--                started, kept by the triggers on download_sessions, since a
--                session is completed or given back long after it starts.
-- day is the UTC day number: milliseconds since 1970 / 86400000.
-- PostgreSQL's migration keeps only the attempts' counters and adds the rest
-- up when read: there these triggers would hold a day's row locked from each
-- write until its commit (it says more). The strings are vend.TxnCompleted,
-- vend.TxnPayment and vend.TxnRefund.
CREATE TABLE sales_days (
    day      INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    currency TEXT    NOT NULL,
    test     INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    amount   INTEGER NOT NULL,
    PRIMARY KEY (day, kind, currency, test)
) WITHOUT ROWID;

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

INSERT INTO sales_days (day, kind, currency, test, n, amount)
SELECT t.created_at / 86400000, t.kind, t.currency, COALESCE(o.test, 0), count(*), sum(t.amount)
FROM transactions t LEFT JOIN orders o ON o.id = t.order_id
WHERE t.status = 'completed' AND t.kind IN ('payment', 'refund')
GROUP BY 1, 2, 3, 4;

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
CREATE TRIGGER transactions_days_insert AFTER INSERT ON transactions
WHEN NEW.status = 'completed' AND NEW.kind IN ('payment', 'refund')
BEGIN
    INSERT INTO sales_days (day, kind, currency, test, n, amount)
    VALUES (NEW.created_at / 86400000, NEW.kind, NEW.currency,
        COALESCE((SELECT test FROM orders WHERE id = NEW.order_id), 0), 1, NEW.amount)
    ON CONFLICT (day, kind, currency, test) DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER transactions_days_update AFTER UPDATE OF order_id, status, amount ON transactions
WHEN OLD.order_id IS NOT NEW.order_id OR OLD.status IS NOT NEW.status OR OLD.amount IS NOT NEW.amount
BEGIN
    INSERT INTO sales_days (day, kind, currency, test, n, amount)
    SELECT OLD.created_at / 86400000, OLD.kind, OLD.currency,
        COALESCE((SELECT test FROM orders WHERE id = OLD.order_id), 0), -1, -OLD.amount
    WHERE OLD.status = 'completed' AND OLD.kind IN ('payment', 'refund')
    ON CONFLICT (day, kind, currency, test) DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    INSERT INTO sales_days (day, kind, currency, test, n, amount)
    SELECT NEW.created_at / 86400000, NEW.kind, NEW.currency,
        COALESCE((SELECT test FROM orders WHERE id = NEW.order_id), 0), 1, NEW.amount
    WHERE NEW.status = 'completed' AND NEW.kind IN ('payment', 'refund')
    ON CONFLICT (day, kind, currency, test) DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER orders_days_test AFTER UPDATE OF test ON orders
WHEN OLD.test IS NOT NEW.test
BEGIN
    INSERT INTO sales_days (day, kind, currency, test, n, amount)
    SELECT created_at / 86400000, kind, currency, OLD.test, -count(*), -sum(amount) FROM transactions
    WHERE order_id = NEW.id AND status = 'completed' AND kind IN ('payment', 'refund') GROUP BY 1, 2, 3
    ON CONFLICT (day, kind, currency, test) DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    INSERT INTO sales_days (day, kind, currency, test, n, amount)
    SELECT created_at / 86400000, kind, currency, NEW.test, count(*), sum(amount) FROM transactions
    WHERE order_id = NEW.id AND status = 'completed' AND kind IN ('payment', 'refund') GROUP BY 1, 2, 3
    ON CONFLICT (day, kind, currency, test) DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;
-- +goose StatementEnd

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
