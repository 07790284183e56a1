-- Tessera schema, version 2: authorization codes and browser sessions, both kept as digests.
CREATE TABLE authorization_codes (
    digest                {bytes} PRIMARY KEY,
    client_id             {int} NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id               {int} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri          TEXT    NOT NULL,
    redirect_uri_explicit {bool} NOT NULL,
    scope                 TEXT    NOT NULL,
    code_challenge        TEXT,
    code_challenge_method TEXT,
    nonce                 TEXT,
    created_at            {int} NOT NULL,
    expires_at            {int} NOT NULL,
    used_at               {int},
    -- The grant the code was exchanged for: revoked if the code is replayed.
    grant_id              {int}
){without_rowid};
CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);
CREATE INDEX authorization_codes_client ON authorization_codes (client_id);
CREATE INDEX authorization_codes_user ON authorization_codes (user_id);

CREATE TABLE sessions (
    digest     {bytes} PRIMARY KEY,
    user_id    {int} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at {int} NOT NULL,
    expires_at {int} NOT NULL
){without_rowid};
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_user ON sessions (user_id);
