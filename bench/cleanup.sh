#!/usr/bin/env bash
# Cleanup under load (issue 4): seeds N expired access tokens (default 5,000,000, in grants of
# 1,000), then deletes them while wrk keeps the token endpoint busy, and reports rows deleted
# per second and the token endpoint's latency during the cleanup next to a baseline without it.
# MODE `janitor` lets the server's own background janitor do it; `cleartokens` runs the command
# in another process beside the server.
#
#   bench/cleanup.sh [sqlite|postgres] [ROWS] [janitor|cleartokens]
source "$(dirname "$0")/lib.sh"
need wrk wrk; need sqlite3 sqlite3; need psql postgresql-client
backend=${1:-sqlite}
rows=${2:-5000000}
mode=${3:-janitor}
grants=$(( (rows + 999) / 1000 ))
port=18431
conns=16

build_release
url=$(fresh_db "$backend")
"$BIN" migrate --database-url "$url" >/dev/null
read -r id secret < <(create_client "$url" confidential client-credentials)
pk=$(sql "$url" "SELECT id FROM clients WHERE client_id = '$id'")

echo "seeding $rows expired access tokens in $grants grants ($backend)..."
seed_start=$(date +%s.%N)
case "$backend" in
  sqlite)
    sql "$url" "
      INSERT INTO grants (id, client_id, user_id, kind, scope, created_at, expires_at)
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $grants)
        SELECT 1000000 + i, $pk, NULL, 'client-credentials', 'read', 1000, 2000 FROM n;
      INSERT INTO access_tokens (digest, grant_id, scope, issued_at, expires_at)
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $rows - 1)
        SELECT randomblob(32), 1000001 + i / 1000, 'read', 1000, 2000 FROM n;"
    ;;
  postgres)
    sql "$url" "
      INSERT INTO grants (id, client_id, user_id, kind, scope, created_at, expires_at)
        SELECT 1000000 + i, $pk, NULL, 'client-credentials', 'read', 1000, 2000 FROM generate_series(1, $grants) i;
      SELECT setval(pg_get_serial_sequence('grants', 'id'), 1000000 + $grants + 1, false);
      INSERT INTO access_tokens (digest, grant_id, scope, issued_at, expires_at)
        SELECT sha256(i::text::bytea), 1000001 + i / 1000, 'read', 1000, 2000 FROM generate_series(0, $rows - 1) i;"
    sql "$url" "VACUUM ANALYZE"
    ;;
esac
echo "seeded in $(echo "$(date +%s.%N) - $seed_start" | bc) s"

if [ "$mode" = janitor ]; then
  # The janitor's first run comes one interval after start: after the baseline below.
  TESSERA_JANITOR_INTERVAL_SECONDS=12 RUST_LOG=info TESSERA_LOG_FORMAT=json start_server "$url" "$port"
else
  start_server "$url" "$port"
fi
export BASIC
BASIC=$(basic "$id" "$secret")
target="http://127.0.0.1:$port/o/token/"

echo "baseline: 10 s of token requests, no cleanup"
wrk -t1 -c"$conns" -d10s --latency -s "$BENCH_DIR/token.lua" "$target" > "$WORK/baseline.txt"

echo "cleanup under load"
wrk -t1 -c"$conns" -d600s --latency -s "$BENCH_DIR/token.lua" "$target" > "$WORK/during.txt" &
wrk_pid=$!
if [ "$mode" = janitor ]; then
  for _ in $(seq 1 1200); do
    grep -q 'janitor purged' "$WORK/server.log" && break
    sleep 0.5
  done
  line=$(grep 'janitor purged' "$WORK/server.log" | head -1)
  deleted=$(echo "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["fields"]["access_tokens"])')
  clean_secs=$(echo "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["fields"]["elapsed_ms"] / 1000)')
  echo "janitor: $line" > "$WORK/cleartokens.txt"
else
  sleep 1
  clean_start=$(date +%s.%N)
  "$BIN" cleartokens --database-url "$url" > "$WORK/cleartokens.txt"
  clean_secs=$(echo "$(date +%s.%N) - $clean_start" | bc)
  deleted=$(grep -o '[0-9]* access tokens' "$WORK/cleartokens.txt" | grep -o '^[0-9]*')
fi
kill -INT "$wrk_pid"; wait "$wrk_pid" || true

left=$(sql "$url" "SELECT count(*) FROM access_tokens WHERE expires_at <= 2000")
lat() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
max_lat() { awk '/Latency/ && !/Distribution/ { print $4 }' "$1"; }
rps() { awk '/Requests\/sec/ { print $2 }' "$1"; }
cat <<REPORT

backend:              $backend, cleanup by $mode
expired rows seeded:  $rows (+ $grants grants); left after cleanup: $left
result:               $(cat "$WORK/cleartokens.txt")
cleanup time:         $clean_secs s  ->  $(echo "$deleted / $clean_secs" | bc) access tokens/s
token endpoint ($conns connections, client_credentials + Basic):
                      baseline            during cleanup
  requests/s          $(rps "$WORK/baseline.txt")            $(rps "$WORK/during.txt")
  p50                 $(lat "$WORK/baseline.txt" 50%)              $(lat "$WORK/during.txt" 50%)
  p99                 $(lat "$WORK/baseline.txt" 99%)              $(lat "$WORK/during.txt" 99%)
  max                 $(max_lat "$WORK/baseline.txt")             $(max_lat "$WORK/during.txt")
REPORT
