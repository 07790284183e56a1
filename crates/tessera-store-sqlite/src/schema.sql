-- Tessera SQLite schema, version 1. Tokens, codes and generated secrets are stored as SHA-256
-- digests only. Times are Unix seconds. Ids are AUTOINCREMENT: an id is never reused, so a
-- stale reference (a replayed code's grant, an old page URL) can never reach a newer row.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    email         TEXT    NOT NULL DEFAULT '',
    password_hash TEXT,
    created_at    INTEGER NOT NULL
);

CREATE TABLE clients (
    id                        INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id                 TEXT    NOT NULL UNIQUE,
    name                      TEXT    NOT NULL,
    client_type               TEXT    NOT NULL CHECK (client_type IN ('confidential', 'public')),
    grant_types               TEXT    NOT NULL,
    secret_kind               TEXT    NOT NULL CHECK (secret_kind IN ('none', 'sha256', 'argon2')),
    secret_hash               TEXT,
    redirect_uris             TEXT    NOT NULL DEFAULT '',
    post_logout_redirect_uris TEXT    NOT NULL DEFAULT '',
    allowed_origins           TEXT    NOT NULL DEFAULT '',
    user_id                   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    skip_authorization        INTEGER NOT NULL DEFAULT 0,
    algorithm                 TEXT,
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL
);
CREATE INDEX clients_user ON clients (user_id);

-- One authorization and everything refreshed from it. expires_at is the latest expiry of its
-- tokens, so a grant whose tokens have all expired is found by index.
CREATE TABLE grants (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id  INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id    INTEGER REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX grants_client ON grants (client_id);
CREATE INDEX grants_user ON grants (user_id);
CREATE INDEX grants_expires ON grants (expires_at);
CREATE INDEX grants_revoked ON grants (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE access_tokens (
    digest     BLOB    PRIMARY KEY,
    grant_id   INTEGER NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    scope      TEXT    NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) WITHOUT ROWID;
CREATE INDEX access_tokens_grant ON access_tokens (grant_id);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);
CREATE INDEX access_tokens_revoked ON access_tokens (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE refresh_tokens (
    digest     BLOB    PRIMARY KEY,
    grant_id   INTEGER NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    scope      TEXT    NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    revoked_at INTEGER
) WITHOUT ROWID;
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_revoked ON refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
