#!/usr/bin/env bash
# Copies a Tessera SQLite database into an empty PostgreSQL database, keeping every client,
# user, grant, token digest, code, session, remembered approval and (still sealed) signing key,
# so tokens issued before the move keep working (and revoked ones stay revoked) and ID tokens
# keep verifying. Copy the key-encryption key file (tessera.db.kek beside the SQLite file) to
# the PostgreSQL nodes too: without it the signing keys cannot be opened.
#
#   scripts/sqlite-to-postgres.sh tessera.db postgres://tessera@db.internal:5432/tessera
#
# Stop the SQLite server first. Needs the sqlite3 and psql command-line tools and the tessera
# binary (TESSERA_BIN, default: tessera on PATH, else ./target/release/tessera).
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 SQLITE_FILE POSTGRES_URL" >&2
  exit 2
fi
src=$1
dst=$2
[ -f "$src" ] || { echo "error: no SQLite file at $src" >&2; exit 1; }
bin=${TESSERA_BIN:-$(command -v tessera || echo ./target/release/tessera)}

# The PostgreSQL schema, created by Tessera itself.
"$bin" migrate --database-url "$dst" >/dev/null

# Refuse to merge into a database that already holds data.
rows=$(psql "$dst" -Atq -v ON_ERROR_STOP=1 -c "SELECT (SELECT count(*) FROM clients) + (SELECT count(*) FROM users)")
if [ "$rows" != "0" ]; then
  echo "error: the PostgreSQL database is not empty" >&2
  exit 1
fi

# table|columns (binary digests travel as hex and are decoded on the way in)
tables=(
  "users|id, username, email, password_hash, created_at"
  "clients|id, client_id, name, client_type, grant_types, secret_kind, secret_hash, redirect_uris, post_logout_redirect_uris, allowed_origins, user_id, skip_authorization, algorithm, access_token_format, logout_revokes_grants, created_at, updated_at"
  "grants|id, client_id, user_id, kind, scope, created_at, expires_at, revoked_at, auth_time"
  "access_tokens|digest, grant_id, scope, issued_at, expires_at, revoked_at"
  "refresh_tokens|digest, grant_id, scope, issued_at, expires_at, used_at, revoked_at"
  "authorization_codes|digest, client_id, user_id, redirect_uri, redirect_uri_explicit, scope, code_challenge, code_challenge_method, nonce, created_at, expires_at, used_at, grant_id, auth_time"
  "sessions|digest, user_id, created_at, expires_at"
  "signing_keys|kid, algorithm, private_key, public_jwk, created_at, retired_at, publish_until"
  "consents|user_id, client_id, scope, granted_at, expires_at"
  "imports|id, source, imported_at, users, clients, grants"
  "device_codes|digest, user_code, client_id, scope, poll_interval, created_at, expires_at, last_polled_at, status, user_id, auth_time, answered_at, used_at, grant_id"
  "initial_access_tokens|id, digest, max_clients, clients_registered, created_at"
  "client_registrations|client_id, access_token, initial_access_token, token_endpoint_auth_method, client_uri, logo_uri, tos_uri, policy_uri, contacts"
  "admin_tokens|id, name, digest, created_at, revoked_at"
)
# Binary columns: they travel as hex.
bytes_columns=(digest private_key user_code access_token)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
{
  echo "BEGIN;"
  for entry in "${tables[@]}"; do
    table=${entry%%|*}
    columns=${entry#*|}
    select=$columns
    for bytes in "${bytes_columns[@]}"; do
      select=$(echo "$select" | sed "s/\b$bytes\b/hex($bytes)/")
    done
    sqlite3 -csv "$src" "SELECT $select FROM $table" > "$work/$table.csv"
    # Booleans are stored as 0/1 in SQLite.
    echo "CREATE TEMP TABLE import_$table AS SELECT * FROM $table WITH NO DATA;"
    for bytes in "${bytes_columns[@]}"; do
      if [[ ", $columns," == *", $bytes,"* ]]; then
        echo "ALTER TABLE import_$table ALTER COLUMN $bytes TYPE TEXT;"
      fi
    done
    for b in skip_authorization redirect_uri_explicit logout_revokes_grants; do
      if [[ $columns == *$b* ]]; then
        echo "ALTER TABLE import_$table ALTER COLUMN $b TYPE INTEGER USING $b::int;"
      fi
    done
    echo "\\copy import_$table ($columns) FROM '$work/$table.csv' WITH (FORMAT csv)"
    values=$(echo "$columns" | sed "s/\bskip_authorization\b/skip_authorization <> 0/; s/\bredirect_uri_explicit\b/redirect_uri_explicit <> 0/; s/\blogout_revokes_grants\b/logout_revokes_grants <> 0/")
    for bytes in "${bytes_columns[@]}"; do
      if [[ ", $columns," == *", $bytes,"* ]]; then
        values=$(echo "$values" | sed "s/\b$bytes\b/decode($bytes, 'hex')/")
      fi
    done
    echo "INSERT INTO $table ($columns) SELECT $values FROM import_$table;"
  done
  for seq in users clients grants initial_access_tokens imports admin_tokens; do
    echo "SELECT setval(pg_get_serial_sequence('$seq', 'id'), COALESCE((SELECT max(id) FROM $seq), 0) + 1, false);"
  done
  echo "COMMIT;"
} > "$work/import.sql"
psql "$dst" -q -v ON_ERROR_STOP=1 -f "$work/import.sql"
for entry in "${tables[@]}"; do
  table=${entry%%|*}
  printf '%-20s %s rows\n' "$table" "$(psql "$dst" -Atq -c "SELECT count(*) FROM $table")"
done
