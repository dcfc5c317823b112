-- +goose Up
CREATE TABLE products (
    id               TEXT PRIMARY KEY,
    name             TEXT    NOT NULL,
    price            BIGINT  NOT NULL,
    currency         TEXT    NOT NULL,
    download_limit   INTEGER NOT NULL,
    lifetime_seconds BIGINT  NOT NULL,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL
);

CREATE TABLE files (
    id         INTEGER PRIMARY KEY,
    product_id TEXT    NOT NULL REFERENCES products (id),
    name       TEXT    NOT NULL,
    blob_key   TEXT    NOT NULL,
    size       BIGINT  NOT NULL,
    sha256     TEXT    NOT NULL,
    position   INTEGER NOT NULL,
    current    BOOLEAN NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX files_product ON files (product_id, current, position);

CREATE TABLE buyers (
    id         INTEGER PRIMARY KEY,
    email      TEXT   NOT NULL UNIQUE,
    name       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE orders (
    id            INTEGER PRIMARY KEY,
    provider      TEXT    NOT NULL,
    ref           TEXT    NOT NULL,
    custom        TEXT    NOT NULL,
    buyer_id      INTEGER REFERENCES buyers (id),
    buyer_email   TEXT    NOT NULL,
    buyer_name    TEXT    NOT NULL,
    currency      TEXT    NOT NULL,
    total         BIGINT  NOT NULL,
    status        TEXT    NOT NULL,
    status_reason TEXT    NOT NULL,
    review        BOOLEAN NOT NULL,
    test          BOOLEAN NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    UNIQUE (provider, ref)
);
CREATE INDEX orders_custom ON orders (custom);
CREATE INDEX orders_buyer_email ON orders (buyer_email);
CREATE INDEX orders_created ON orders (created_at);

CREATE TABLE items (
    id         INTEGER PRIMARY KEY,
    order_id   INTEGER NOT NULL REFERENCES orders (id),
    product_id TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    quantity   INTEGER NOT NULL,
    amount     BIGINT  NOT NULL
);
CREATE INDEX items_order ON items (order_id);

CREATE TABLE transactions (
    id            INTEGER PRIMARY KEY,
    order_id      INTEGER REFERENCES orders (id),
    provider      TEXT   NOT NULL,
    txn_id        TEXT   NOT NULL,
    parent_txn_id TEXT   NOT NULL,
    kind          TEXT   NOT NULL,
    status        TEXT   NOT NULL,
    raw_status    TEXT   NOT NULL,
    reason        TEXT   NOT NULL,
    amount        BIGINT NOT NULL,
    currency      TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (provider, txn_id)
);
CREATE INDEX transactions_order ON transactions (order_id);
CREATE INDEX transactions_parent ON transactions (provider, parent_txn_id);

CREATE TABLE grants (
    id             INTEGER PRIMARY KEY,
    item_id        INTEGER NOT NULL UNIQUE REFERENCES items (id),
    order_id       INTEGER NOT NULL REFERENCES orders (id),
    product_id     TEXT    NOT NULL,
    public_id      TEXT    NOT NULL UNIQUE,
    state          TEXT    NOT NULL,
    reason         TEXT    NOT NULL,
    download_limit INTEGER NOT NULL,
    downloads_used INTEGER NOT NULL,
    expires_at     BIGINT  NOT NULL,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);
CREATE INDEX grants_order ON grants (order_id);

CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    provider    TEXT    NOT NULL,
    received_at BIGINT  NOT NULL,
    remote_addr TEXT    NOT NULL,
    headers     TEXT    NOT NULL,
    body        BLOB    NOT NULL,
    verdict     TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    changes     TEXT    NOT NULL,
    idem_key    TEXT    NOT NULL,
    order_id    INTEGER
);
CREATE INDEX notifications_order ON notifications (order_id);
CREATE INDEX notifications_received ON notifications (received_at);

CREATE TABLE applied_keys (
    provider        TEXT    NOT NULL,
    idem_key        TEXT    NOT NULL,
    notification_id INTEGER NOT NULL,
    applied_at      BIGINT  NOT NULL,
    PRIMARY KEY (provider, idem_key)
);

CREATE TABLE download_sessions (
    id         INTEGER PRIMARY KEY,
    grant_id   INTEGER NOT NULL REFERENCES grants (id),
    file_id    INTEGER NOT NULL REFERENCES files (id),
    product_id TEXT    NOT NULL,
    client_ip  TEXT    NOT NULL,
    started_at BIGINT  NOT NULL,
    last_seen  BIGINT  NOT NULL,
    size       BIGINT  NOT NULL,
    bytes_sent BIGINT  NOT NULL,
    charged    BOOLEAN NOT NULL,
    completed  BOOLEAN NOT NULL,
    closed     BOOLEAN NOT NULL,
    given_back BOOLEAN NOT NULL
);
CREATE INDEX download_sessions_client ON download_sessions (grant_id, file_id, client_ip, closed);
CREATE INDEX download_sessions_open ON download_sessions (closed, last_seen);
CREATE INDEX download_sessions_product ON download_sessions (product_id, completed);

CREATE TABLE attempts (
    id           INTEGER PRIMARY KEY,
    grant_id     INTEGER NOT NULL,
    file_id      INTEGER NOT NULL,
    session_id   INTEGER,
    at           BIGINT  NOT NULL,
    ip           TEXT    NOT NULL,
    user_agent   TEXT    NOT NULL,
    method       TEXT    NOT NULL,
    range_header TEXT    NOT NULL,
    status       INTEGER NOT NULL,
    bytes_sent   BIGINT  NOT NULL,
    counted      BOOLEAN NOT NULL,
    refused      TEXT    NOT NULL
);
CREATE INDEX attempts_grant ON attempts (grant_id, at);

-- +goose Down
-- Forward-only: a released migration is never undone.
