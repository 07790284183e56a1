-- Tessera schema, version 5: the device authorization grant (RFC 8628) and dynamic client
-- registration (RFC 7591, RFC 7592). Codes and tokens are kept as SHA-256 digests only.

-- A device waiting for its user. `user_code` is the digest of the normalized user code,
-- unique among every stored row, so a code a user types names one device at most. The user's
-- answer (`status`, `user_id`, `auth_time`) comes from the verification page; `used_at` and
-- `grant_id` from the one poll that got the tokens.
CREATE TABLE device_codes (
    digest         {bytes} PRIMARY KEY,
    user_code      {bytes} NOT NULL UNIQUE,
    client_id      {int} NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope          TEXT    NOT NULL,
    poll_interval  {int} NOT NULL,
    created_at     {int} NOT NULL,
    expires_at     {int} NOT NULL,
    last_polled_at {int},
    status         TEXT    NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'approved', 'denied')),
    user_id        {int} REFERENCES users (id) ON DELETE CASCADE,
    auth_time      {int},
    answered_at    {int},
    used_at        {int},
    grant_id       {int}
){without_rowid};
CREATE INDEX device_codes_expires ON device_codes (expires_at);
CREATE INDEX device_codes_client ON device_codes (client_id);
CREATE INDEX device_codes_user ON device_codes (user_id);

-- What an operator hands out to allow registration when `dynamic_registration` is `token`.
CREATE TABLE initial_access_tokens (
    id                 {id},
    digest             {bytes} NOT NULL UNIQUE,
    max_clients        {int},
    clients_registered {int} NOT NULL DEFAULT 0,
    created_at         {int} NOT NULL
);

-- A dynamically registered client: the digest of its registration access token and the
-- metadata it registered that has no column in `clients` (its `scope` is the client's
-- `allowed_scopes`). No row: made by an operator or on
-- the pages, and not manageable through RFC 7592.
CREATE TABLE client_registrations (
    client_id                  {int} PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    access_token               {bytes} NOT NULL UNIQUE,
    initial_access_token       {int} REFERENCES initial_access_tokens (id) ON DELETE SET NULL,
    token_endpoint_auth_method TEXT    NOT NULL
        CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'none')),
    client_uri                 TEXT,
    logo_uri                   TEXT,
    tos_uri                    TEXT,
    policy_uri                 TEXT,
    contacts                   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX client_registrations_initial ON client_registrations (initial_access_token);
