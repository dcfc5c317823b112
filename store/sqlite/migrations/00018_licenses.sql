-- +goose Up
-- Licence keys (issue 14): a product's policy, one key per unit of an item,
-- and each key's activations. "Updates until": how long new versions reach a
-- buyer (products.updates_for_seconds, grants.updates_until) and when a file
-- stopped being current (files.retired_at), so a buyer whose updates ended
-- keeps the version that was current then.
ALTER TABLE products ADD COLUMN license_mode TEXT NOT NULL DEFAULT '';
ALTER TABLE products ADD COLUMN license_activation_limit INTEGER NOT NULL DEFAULT 1;
ALTER TABLE products ADD COLUMN license_length_seconds BIGINT NOT NULL DEFAULT 0;
ALTER TABLE products ADD COLUMN license_key_format TEXT NOT NULL DEFAULT '';
ALTER TABLE products ADD COLUMN license_low_stock INTEGER NOT NULL DEFAULT 0;
ALTER TABLE products ADD COLUMN updates_for_seconds BIGINT NOT NULL DEFAULT 0;
ALTER TABLE products ADD COLUMN renew_url TEXT NOT NULL DEFAULT '';
ALTER TABLE grants ADD COLUMN updates_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE files ADD COLUMN retired_at BIGINT NOT NULL DEFAULT 0;
-- A release may also mail the buyers whose updates ended a renewal note.
ALTER TABLE releases ADD COLUMN renewal BOOLEAN NOT NULL DEFAULT FALSE;
-- A version replaced before this migration was retired when the next one came.
UPDATE files SET retired_at = COALESCE((SELECT MIN(n.created_at) FROM files n
    WHERE n.product_id = files.product_id AND n.created_at > files.created_at), files.created_at)
    WHERE NOT current;

CREATE TABLE licenses (
    id               INTEGER PRIMARY KEY,
    grant_id         INTEGER NOT NULL REFERENCES grants (id),
    order_id         INTEGER NOT NULL REFERENCES orders (id),
    item_id          INTEGER NOT NULL REFERENCES items (id),
    product_id       TEXT    NOT NULL,
    unit             INTEGER NOT NULL,
    license_key      TEXT    NOT NULL,
    key_hash         TEXT    NOT NULL UNIQUE,
    activation_limit INTEGER NOT NULL,
    disabled         BOOLEAN NOT NULL,
    expires_at       BIGINT  NOT NULL,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL,
    UNIQUE (item_id, unit)
);
CREATE INDEX licenses_order ON licenses (order_id);
CREATE INDEX licenses_grant ON licenses (grant_id);
CREATE INDEX licenses_product ON licenses (product_id, id);

CREATE TABLE license_instances (
    id             INTEGER PRIMARY KEY,
    license_id     INTEGER NOT NULL REFERENCES licenses (id),
    instance_id    TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    ip             TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    deactivated_at BIGINT  NOT NULL
);
CREATE INDEX license_instances_license ON license_instances (license_id, deactivated_at);

-- The unused keys a seller uploaded for a product (licence mode "list"):
-- each sale takes the oldest, and its row goes.
CREATE TABLE license_pool (
    id          INTEGER PRIMARY KEY,
    product_id  TEXT    NOT NULL REFERENCES products (id),
    license_key TEXT    NOT NULL,
    key_hash    TEXT    NOT NULL UNIQUE,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX license_pool_product ON license_pool (product_id, id);

-- Items sold while their product's list of keys was used up: how many keys
-- they still wait for. Adding keys serves them, oldest first.
CREATE TABLE license_waits (
    item_id    INTEGER PRIMARY KEY REFERENCES items (id),
    grant_id   INTEGER NOT NULL REFERENCES grants (id),
    product_id TEXT   NOT NULL,
    waiting    INTEGER NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX license_waits_product ON license_waits (product_id, item_id);

-- +goose Down
-- Forward-only: a released migration is never undone.
