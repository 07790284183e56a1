-- Tessera schema, version 1: users, clients, grants and their tokens. Written once for both
-- SQL backends; `{name}` marks a type or clause spelled differently in each, filled in by
-- `tessera_store::sql::schema`. Tokens and generated secrets are stored as SHA-256 digests only.
-- Times are Unix seconds. Ids are never reused (SQLite AUTOINCREMENT, PostgreSQL sequences),
-- so a stale reference (a replayed code's grant, an old page URL) never reaches a newer row.
CREATE TABLE users (
    id            {id},
    username      TEXT    NOT NULL UNIQUE,
    email         TEXT    NOT NULL DEFAULT '',
    password_hash TEXT,
    created_at    {int} NOT NULL
);

CREATE TABLE clients (
    id                        {id},
    client_id                 TEXT    NOT NULL UNIQUE,
    name                      TEXT    NOT NULL,
    client_type               TEXT    NOT NULL CHECK (client_type IN ('confidential', 'public')),
    grant_types               TEXT    NOT NULL,
    secret_kind               TEXT    NOT NULL CHECK (secret_kind IN ('none', 'sha256', 'argon2')),
    secret_hash               TEXT,
    redirect_uris             TEXT    NOT NULL DEFAULT '',
    post_logout_redirect_uris TEXT    NOT NULL DEFAULT '',
    allowed_origins           TEXT    NOT NULL DEFAULT '',
    user_id                   {int} REFERENCES users (id) ON DELETE SET NULL,
    skip_authorization        {bool} NOT NULL DEFAULT {false},
    algorithm                 TEXT,
    created_at                {int} NOT NULL,
    updated_at                {int} NOT NULL
);
CREATE INDEX clients_user ON clients (user_id);

-- One authorization and everything refreshed from it. expires_at is the latest expiry of its
-- tokens, so a grant whose tokens have all expired is found by index.
CREATE TABLE grants (
    id         {id},
    client_id  {int} NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id    {int} REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    created_at {int} NOT NULL,
    expires_at {int} NOT NULL,
    revoked_at {int}
);
CREATE INDEX grants_client ON grants (client_id);
CREATE INDEX grants_user ON grants (user_id);
CREATE INDEX grants_expires ON grants (expires_at);
CREATE INDEX grants_revoked ON grants (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE access_tokens (
    digest     {bytes} PRIMARY KEY,
    grant_id   {int} NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    scope      TEXT    NOT NULL,
    issued_at  {int} NOT NULL,
    expires_at {int} NOT NULL,
    revoked_at {int}
){without_rowid};
CREATE INDEX access_tokens_grant ON access_tokens (grant_id);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);
CREATE INDEX access_tokens_revoked ON access_tokens (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE refresh_tokens (
    digest     {bytes} PRIMARY KEY,
    grant_id   {int} NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    scope      TEXT    NOT NULL,
    issued_at  {int} NOT NULL,
    expires_at {int} NOT NULL,
    used_at    {int},
    revoked_at {int}
){without_rowid};
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_revoked ON refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
