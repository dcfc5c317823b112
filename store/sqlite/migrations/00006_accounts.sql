-- +goose Up
-- Administrators, their browser sessions and API tokens (hashes only), and the
-- trail of the changes they make.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    last_login_at BIGINT  NOT NULL
);

CREATE TABLE admin_sessions (
    hash       TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX admin_sessions_user ON admin_sessions (user_id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    hash         TEXT    NOT NULL UNIQUE,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT  NOT NULL
);

CREATE TABLE audit (
    id     INTEGER PRIMARY KEY,
    at     BIGINT  NOT NULL,
    actor  TEXT    NOT NULL,
    action TEXT    NOT NULL,
    target TEXT    NOT NULL,
    before TEXT    NOT NULL,
    after  TEXT    NOT NULL
);
CREATE INDEX audit_target ON audit (target, id);

-- +goose Down
-- Forward-only: a released migration is never undone.
