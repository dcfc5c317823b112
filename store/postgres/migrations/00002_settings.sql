-- +goose Up
-- Settings every instance shares, such as the link-signing secret of a vend that
-- runs as several instances on one PostgreSQL.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- +goose Down
-- Forward-only: a released migration is never undone.
