-- Tessera schema, version 7: the admin API's bearer tokens, made with `tessera admin-token
-- create` and kept as SHA-256 digests only. A revoked token stays (revoked_at set) so the
-- operator's list shows what was revoked and when; ids are never reused.
CREATE TABLE admin_tokens (
    id         {id},
    name       TEXT    NOT NULL,
    digest     {bytes} NOT NULL UNIQUE,
    created_at {int} NOT NULL,
    revoked_at {int}
);
