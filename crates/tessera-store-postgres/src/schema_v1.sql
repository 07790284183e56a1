-- Tessera PostgreSQL schema, version 1 (the SQLite schema versions 1 and 2 in one step).
-- Tokens, codes, sessions and generated secrets are stored as SHA-256 digests only. Times are
-- Unix seconds. Ids come from sequences and are never reused.
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    email         TEXT    NOT NULL DEFAULT '',
    password_hash TEXT,
    created_at    BIGINT  NOT NULL
);

CREATE TABLE clients (
    id                        BIGSERIAL PRIMARY KEY,
    client_id                 TEXT    NOT NULL UNIQUE,
    name                      TEXT    NOT NULL,
    client_type               TEXT    NOT NULL CHECK (client_type IN ('confidential', 'public')),
    grant_types               TEXT    NOT NULL,
    secret_kind               TEXT    NOT NULL CHECK (secret_kind IN ('none', 'sha256', 'argon2')),
    secret_hash               TEXT,
    redirect_uris             TEXT    NOT NULL DEFAULT '',
    post_logout_redirect_uris TEXT    NOT NULL DEFAULT '',
    allowed_origins           TEXT    NOT NULL DEFAULT '',
    user_id                   BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    skip_authorization        BOOLEAN NOT NULL DEFAULT FALSE,
    algorithm                 TEXT,
    created_at                BIGINT  NOT NULL,
    updated_at                BIGINT  NOT NULL
);
CREATE INDEX clients_user ON clients (user_id);

CREATE TABLE grants (
    id         BIGSERIAL PRIMARY KEY,
    client_id  BIGINT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id    BIGINT REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT   NOT NULL,
    scope      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX grants_client ON grants (client_id);
CREATE INDEX grants_user ON grants (user_id);
CREATE INDEX grants_expires ON grants (expires_at);
CREATE INDEX grants_revoked ON grants (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE access_tokens (
    digest     BYTEA  PRIMARY KEY,
    grant_id   BIGINT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    scope      TEXT   NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX access_tokens_grant ON access_tokens (grant_id);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);
CREATE INDEX access_tokens_revoked ON access_tokens (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE refresh_tokens (
    digest     BYTEA  PRIMARY KEY,
    grant_id   BIGINT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    scope      TEXT   NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_revoked ON refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE authorization_codes (
    digest                BYTEA   PRIMARY KEY,
    client_id             BIGINT  NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id               BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri          TEXT    NOT NULL,
    redirect_uri_explicit BOOLEAN NOT NULL,
    scope                 TEXT    NOT NULL,
    code_challenge        TEXT,
    code_challenge_method TEXT,
    nonce                 TEXT,
    created_at            BIGINT  NOT NULL,
    expires_at            BIGINT  NOT NULL,
    used_at               BIGINT,
    grant_id              BIGINT
);
CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);
CREATE INDEX authorization_codes_client ON authorization_codes (client_id);
CREATE INDEX authorization_codes_user ON authorization_codes (user_id);

CREATE TABLE sessions (
    digest     BYTEA  PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_user ON sessions (user_id);
