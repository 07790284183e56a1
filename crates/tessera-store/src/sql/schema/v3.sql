-- Tessera schema, version 3: OpenID Connect.

-- Signing keys, shared by every node. The private key is sealed (AES-256-GCM) under the
-- deployment's key-encryption key, which is never stored here: a dump of this table alone
-- yields no usable private key. One key per algorithm signs (retired_at IS NULL); a retired
-- key stays published until every token it signed has expired (publish_until).
CREATE TABLE signing_keys (
    kid           TEXT    PRIMARY KEY,
    algorithm     TEXT    NOT NULL,
    private_key   {bytes} NOT NULL,
    public_jwk    TEXT    NOT NULL,
    created_at    {int} NOT NULL,
    retired_at    {int},
    publish_until {int}
);
CREATE UNIQUE INDEX signing_keys_signing ON signing_keys (algorithm) WHERE retired_at IS NULL;

-- When the user signed in (OIDC auth_time), carried from the code to the grant and its
-- refreshed ID tokens.
ALTER TABLE authorization_codes ADD COLUMN auth_time {int};
ALTER TABLE grants ADD COLUMN auth_time {int};

ALTER TABLE clients ADD COLUMN access_token_format TEXT NOT NULL DEFAULT 'opaque'
    CHECK (access_token_format IN ('opaque', 'jwt'));
ALTER TABLE clients ADD COLUMN logout_revokes_grants {bool} NOT NULL DEFAULT {false};

-- Remembered consent: the scopes a user approved for a client, until expires_at.
CREATE TABLE consents (
    user_id    {int} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  {int} NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope      TEXT    NOT NULL,
    granted_at {int} NOT NULL,
    expires_at {int} NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX consents_client ON consents (client_id);
CREATE INDEX consents_expires ON consents (expires_at);
