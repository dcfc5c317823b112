-- +goose Up
-- Mail that ledger changes ask for, written in the same transaction as the
-- change, until a worker has sent it (or given up on it).
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    mail_key     TEXT    NOT NULL UNIQUE,
    kind         TEXT    NOT NULL,
    recipient    TEXT    NOT NULL,
    language     TEXT    NOT NULL,
    order_id     INTEGER REFERENCES orders (id),
    data         TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    attempts     INTEGER NOT NULL,
    next_attempt BIGINT  NOT NULL,
    last_error   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    sent_at      BIGINT  NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, next_attempt);
CREATE INDEX outbox_order ON outbox (order_id);
CREATE INDEX outbox_recipient ON outbox (lower(recipient));

-- +goose Down
-- Forward-only: a released migration is never undone.
