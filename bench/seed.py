#!/usr/bin/env python3
"""Seeds a migrated Tessera database for the benchmarks (issue 13). Loopback databases only;
untimed.

    bench/seed.py tokens URL CLIENT_ID LIVE DEAD SAMPLE SAMPLE_FILE
    bench/seed.py codes URL CLIENT_ID USERNAME REDIRECT_URI COUNT FILE
    bench/seed.py refresh URL CLIENT_ID USERNAME COUNT FILE

`tokens`: LIVE live access tokens and DEAD dead ones (half expired, half revoked), each its
own client-credentials grant of CLIENT_ID, as a deployment that has run for a while holds them.

Most digests are random bytes made by the database itself (nobody ever presents those
tokens); SAMPLE live tokens, spread evenly over the live ones, are real tokens of Tessera's
format whose clear text is written to SAMPLE_FILE, one per line, for the load generator to
draw from at random. URL is sqlite://PATH or postgres://...; the tools are the sqlite3 and
psql command lines.
"""

import base64
import hashlib
import os
import subprocess
import sys
import time
import zlib

CHUNK = 1_000_000


def token_text(prefix: str) -> str:
    body = prefix + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    crc = zlib.crc32(body.encode()).to_bytes(4, "big")
    return body + base64.urlsafe_b64encode(crc).decode().rstrip("=")


def known_token(prefix: str, sqlite: bool) -> tuple:
    """A new token of Tessera's format and its digest as a SQL literal of the dialect."""
    text = token_text(prefix)
    hexd = hashlib.sha256(text.encode()).hexdigest()
    return text, (f"X'{hexd}'" if sqlite else f"'\\x{hexd}'::bytea")


def quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def client_and_user(url: str, client_id: str, username: str) -> tuple:
    """The primary keys of a client (by client id) and a user (by username)."""
    client = int(run_sql(url, f"SELECT id FROM clients WHERE client_id = {quote(client_id)};"))
    user = int(run_sql(url, f"SELECT id FROM users WHERE username = {quote(username)};"))
    return client, user


def run_sql(url: str, script: str) -> str:
    if url.startswith("sqlite://"):
        cmd = ["sqlite3", "-batch", "-bail", url[len("sqlite://"):]]
    else:
        cmd = ["psql", url, "-qAt", "-v", "ON_ERROR_STOP=1"]
    done = subprocess.run(cmd, input=script, text=True, capture_output=True)
    if done.returncode != 0:
        sys.exit(f"seed: the database refused the seed: {done.stderr.strip()}")
    return done.stdout.strip()


def seed_codes(url: str, client_id: str, username: str, redirect: str, count: int,
               out: str) -> None:
    """COUNT unused authorization codes for `openid` of USERNAME, valid for an hour, written
    in clear to OUT: the code exchange (S5) measured without the browser sign-in before it."""
    sqlite = url.startswith("sqlite://")
    client_pk, user_pk = client_and_user(url, client_id, username)
    now = int(time.time())
    true = "1" if sqlite else "TRUE"
    texts, values = [], []
    for _ in range(count):
        text, literal = known_token("tsac_", sqlite)
        texts.append(text)
        values.append(f"({literal}, {client_pk}, {user_pk}, {quote(redirect)}, {true}, "
                      f"'openid', {now}, {now + 3600}, {now})")
    script = "BEGIN;\n"
    for k in range(0, len(values), 10_000):
        script += ("INSERT INTO authorization_codes (digest, client_id, user_id, redirect_uri, "
                   "redirect_uri_explicit, scope, created_at, expires_at, auth_time) VALUES "
                   + ",".join(values[k:k + 10_000]) + ";\n")
    run_sql(url, script + "COMMIT;\n")
    with open(out, "w") as f:
        f.write("\n".join(texts) + "\n")


def seed_refresh(url: str, client_id: str, username: str, count: int, out: str) -> None:
    """COUNT password grants of USERNAME to CLIENT_ID, each with one live refresh token (its
    access token long expired), written in clear to OUT: refresh rotations to measure."""
    sqlite = url.startswith("sqlite://")
    client_pk, user_pk = client_and_user(url, client_id, username)
    base = int(run_sql(url, "SELECT COALESCE(MAX(id), 0) FROM grants;"))
    now = int(time.time())
    texts, grants, tokens = [], [], []
    for i in range(1, count + 1):
        text, literal = known_token("tsrt_", sqlite)
        texts.append(text)
        grants.append(f"({base + i}, {client_pk}, {user_pk}, 'password', 'read', {now}, "
                      f"{now + 86400}, {now})")
        tokens.append(f"({literal}, {base + i}, 'read', {now}, {now + 86400})")
    script = "BEGIN;\n"
    for k in range(0, count, 10_000):
        script += ("INSERT INTO grants (id, client_id, user_id, kind, scope, created_at, "
                   "expires_at, auth_time) VALUES " + ",".join(grants[k:k + 10_000]) + ";\n")
        script += ("INSERT INTO refresh_tokens (digest, grant_id, scope, issued_at, expires_at) "
                   "VALUES " + ",".join(tokens[k:k + 10_000]) + ";\n")
    if not sqlite:
        script += f"SELECT setval(pg_get_serial_sequence('grants', 'id'), {base + count});\n"
    run_sql(url, script + "COMMIT;\n")
    with open(out, "w") as f:
        f.write("\n".join(texts) + "\n")


def main() -> None:
    if sys.argv[1] == "refresh":
        url, client_id, username, count, out = sys.argv[2:7]
        seed_refresh(url, client_id, username, int(count), out)
        return
    if sys.argv[1] == "codes":
        url, client_id, username, redirect, count, out = sys.argv[2:8]
        seed_codes(url, client_id, username, redirect, int(count), out)
        return
    url, client_id, live, dead, sample, sample_file = sys.argv[2:8]
    live, dead, sample = int(live), int(dead), int(sample)
    sqlite = url.startswith("sqlite://")
    client_pk = int(run_sql(url, f"SELECT id FROM clients WHERE client_id = {quote(client_id)};"))
    base = int(run_sql(url, "SELECT COALESCE(MAX(id), 0) FROM grants;"))
    now = int(time.time())
    year = 365 * 86400
    total = live + dead
    started = time.time()

    # Rows base+1 .. base+live are live; the next dead/2 expired an hour ago; the rest were
    # revoked a minute ago (grant and token) and would otherwise live a year.
    def rows(lo: int, hi: int) -> str:
        n = "i"
        expires = (f"CASE WHEN {n} <= {live} THEN {now + year} "
                   f"WHEN {n} <= {live + dead // 2} THEN {now - 3600} ELSE {now + year} END")
        revoked = f"CASE WHEN {n} > {live + dead // 2} THEN {now - 60} ELSE NULL END"
        if sqlite:
            series = (f"WITH RECURSIVE s(i) AS (SELECT {lo} UNION ALL SELECT i + 1 FROM s "
                      f"WHERE i < {hi})")
            digest = "randomblob(32)"
            source = "FROM s"
        else:
            series = ""
            digest = "sha256(int8send(i) || int8send(" + str(now) + "))"
            source = f"FROM generate_series({lo}, {hi}) AS i"
        return (
            f"{series} INSERT INTO grants (id, client_id, user_id, kind, scope, created_at, "
            f"expires_at, revoked_at) SELECT {base} + i, {client_pk}, NULL, "
            f"'client_credentials', 'read', {now - 7200}, {expires}, {revoked} {source};\n"
            f"{series} INSERT INTO access_tokens (digest, grant_id, scope, issued_at, "
            f"expires_at, revoked_at) SELECT {digest}, {base} + i, 'read', {now - 7200}, "
            f"{expires}, {revoked} {source};\n"
        )

    pragmas = ("PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000;\n" if sqlite
               else "SET synchronous_commit = off;\n")
    for lo in range(1, total + 1, CHUNK):
        hi = min(lo + CHUNK - 1, total)
        run_sql(url, pragmas + "BEGIN;\n" + rows(lo, hi) + "COMMIT;\n")
        print(f"seed: {hi}/{total} tokens ({time.time() - started:.0f} s)", file=sys.stderr)
    if not sqlite:
        # PostgreSQL's sequence must move past the ids taken, as SQLite's does by itself.
        run_sql(url, f"SELECT setval(pg_get_serial_sequence('grants', 'id'), {base + total});")

    # The sampled live tokens replace the random digests of evenly spaced live rows.
    step = max(live // max(sample, 1), 1)
    texts = []
    values = []
    for j in range(min(sample, live)):
        text, literal = known_token("tsat_", sqlite)
        texts.append(text)
        values.append(f"({base + 1 + j * step}, {literal})")
    script = pragmas + "BEGIN;\nCREATE TEMP TABLE known (grant_id BIGINT PRIMARY KEY, digest BYTEA);\n"
    for k in range(0, len(values), 10_000):
        script += "INSERT INTO known VALUES " + ",".join(values[k:k + 10_000]) + ";\n"
    if sqlite:
        script += ("UPDATE access_tokens SET digest = (SELECT digest FROM known "
                   "WHERE known.grant_id = access_tokens.grant_id) "
                   "WHERE grant_id IN (SELECT grant_id FROM known);\n")
    else:
        script += ("UPDATE access_tokens t SET digest = k.digest FROM known k "
                   "WHERE t.grant_id = k.grant_id;\n")
    script += "COMMIT;\n" + ("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;\n" if sqlite
                             else "VACUUM ANALYZE;\n")
    run_sql(url, script)
    with open(sample_file, "w") as f:
        f.write("\n".join(texts) + "\n")
    print(f"seed: {live} live and {dead} dead tokens, {len(texts)} sampled, "
          f"in {time.time() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
