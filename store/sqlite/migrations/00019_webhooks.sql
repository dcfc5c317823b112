-- +goose Up
-- Outgoing webhooks (issue 15): the seller's endpoints, one delivery per
-- event and endpoint (written in the transaction of the change, sent in
-- order per endpoint), and every attempt with what came back.
CREATE TABLE webhook_endpoints (
    id              INTEGER PRIMARY KEY,
    url             TEXT    NOT NULL,
    description     TEXT    NOT NULL,
    events          TEXT    NOT NULL,
    secret          TEXT    NOT NULL,
    previous_secret TEXT    NOT NULL,
    previous_until  BIGINT  NOT NULL,
    disabled        BOOLEAN NOT NULL,
    disabled_reason TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);

CREATE TABLE webhook_deliveries (
    id           INTEGER PRIMARY KEY,
    endpoint_id  INTEGER  NOT NULL REFERENCES webhook_endpoints (id),
    message_id   TEXT    NOT NULL UNIQUE,
    event        TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    attempts     INTEGER NOT NULL,
    next_attempt BIGINT  NOT NULL,
    claimed_until BIGINT NOT NULL,
    first_attempt BIGINT NOT NULL,
    last_status  INTEGER NOT NULL,
    last_error   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    delivered_at BIGINT  NOT NULL
);
-- The next delivery of each endpoint: the oldest pending one.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, status, id);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER  NOT NULL REFERENCES webhook_deliveries (id),
    at          BIGINT  NOT NULL,
    request     TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    response    TEXT    NOT NULL,
    duration_ms BIGINT  NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

-- +goose Down
-- Forward-only: a released migration is never undone.
