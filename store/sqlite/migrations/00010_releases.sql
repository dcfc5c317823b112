-- +goose Up
-- "New version" jobs: which product, what to do, how far they got.
CREATE TABLE releases (
    id         INTEGER PRIMARY KEY,
    product_id TEXT    NOT NULL REFERENCES products (id),
    version    TEXT    NOT NULL,
    notify     BOOLEAN NOT NULL,
    reset      BOOLEAN NOT NULL,
    actor      TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    total      INTEGER NOT NULL,
    done       INTEGER NOT NULL,
    cursor     BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);
CREATE INDEX releases_status ON releases (status, id);
-- A product's active grants in id order, for releases.
CREATE INDEX grants_product_state ON grants (product_id, state, id);

-- +goose Down
-- Forward-only: a released migration is never undone.
