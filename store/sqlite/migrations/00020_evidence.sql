-- +goose Up
-- The chargeback evidence pack (issue 15): the Message-ID each sent mail
-- carried, every visit to a buyer's download page, and the terms version in
-- force when an order was made.
ALTER TABLE outbox ADD COLUMN message_id TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN terms_version TEXT NOT NULL DEFAULT '';

CREATE TABLE page_visits (
    id         INTEGER PRIMARY KEY,
    grant_id   INTEGER NOT NULL REFERENCES grants (id),
    at         BIGINT NOT NULL,
    ip         TEXT   NOT NULL,
    user_agent TEXT   NOT NULL
);
CREATE INDEX page_visits_grant ON page_visits (grant_id, id);

-- +goose Down
-- Forward-only: a released migration is never undone.
