-- +goose Up
-- Settings every instance shares, such as the fingerprint of the link-signing secret
-- that every instance on one PostgreSQL must use.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- +goose Down
-- Forward-only: a released migration is never undone.
