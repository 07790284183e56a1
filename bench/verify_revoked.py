#!/usr/bin/env python3
"""Checks that tokens[start:end] of a token file are revoked in the store (their grant is).

    verify_revoked.py DATABASE_URL TOKENS_FILE START END

Prints the number checked and exits non-zero if any of them is still live.
"""
import hashlib
import subprocess
import sys
import tempfile

url, path, start, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with open(path) as f:
    tokens = [line.strip() for line in f][start:end]
digests = [hashlib.sha256(t.encode()).hexdigest() for t in tokens]
with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as out:
    out.write("\n".join(digests) + "\n")
    csv = out.name
query = (
    "SELECT count(*), min(c.hex) FROM access_tokens a JOIN grants g ON g.id = a.grant_id "
    "JOIN checked c ON {cmp} WHERE g.revoked_at IS NULL AND a.revoked_at IS NULL"
)
if url.startswith("sqlite://"):
    script = (
        "CREATE TEMP TABLE checked (hex TEXT);\n.mode csv\n"
        f".import {csv} checked\n"
        + query.format(cmp="lower(hex(a.digest)) = c.hex") + ";\n"
    )
    live = subprocess.run(["sqlite3", url[len("sqlite://"):]], input=script, text=True,
                          capture_output=True, check=True).stdout.strip().splitlines()[-1]
    live, first = live.split(",", 1) if "," in live else (live, "")
else:
    script = (
        "CREATE TEMP TABLE checked (hex TEXT);\n"
        f"\\copy checked FROM '{csv}' WITH (FORMAT csv)\n"
        + query.format(cmp="encode(a.digest, 'hex') = c.hex") + ";\n"
    )
    live = subprocess.run(["psql", url, "-qAt", "-v", "ON_ERROR_STOP=1"], input=script,
                          text=True, capture_output=True, check=True).stdout.strip().splitlines()[-1]
    live, first = live.split("|", 1) if "|" in live else (live, "")
if int(live) != 0:
    print(f"first live token: line {start + digests.index(first) + 1}", file=sys.stderr)
print(f"checked {len(digests)} revoked tokens, {live} still live")
sys.exit(1 if int(live) != 0 else 0)
