#!/usr/bin/env bash
# Where a scenario's server CPU goes: starts a release server on a fresh SQLite (or BACKEND)
# store, runs one scenario with wrk for DURATION while `perf record` samples the server
# (software cpu-clock: this machine kind has no hardware counters), and prints the functions
# with the most samples, self and with callees.
#
#   bench/profile.sh S2            # introspection of one token, 16 connections
#   CONNECTIONS=64 BACKEND=postgres bench/profile.sh S1
source "$(dirname "$0")/lib.sh"
need wrk wrk; need perf linux-perf

SCENARIO=${1:-S2}
BACKEND=${BACKEND:-sqlite}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
port=18433

build_release
url=$(fresh_db "$BACKEND")
"$BIN" migrate --database-url "$url" >/dev/null
read -r cid csecret < <(create_client "$url" confidential client-credentials)
export BASIC TOKEN TOKENS=""
BASIC=$(basic "$cid" "$csecret")
TOKEN=$("$BIN" createtoken "$cid" --database-url "$url")
case $SCENARIO in
  S0) path=/health; script=health.lua ;;
  S1) path=/o/token/; script=token.lua ;;
  S2) path=/o/introspect/; script=introspect.lua ;;
  *) echo "profile.sh: S0, S1 or S2" >&2; exit 2 ;;
esac
start_server "$url" "$port"
# Warm up (pool connections, caches), then record for the whole measured run.
wrk -t1 -c"$CONNECTIONS" -d2s -s "$BENCH_DIR/$script" "http://127.0.0.1:$port$path" >/dev/null
perf record -F 499 -e cpu-clock --call-graph dwarf,16384 -p "$SERVER_PID" -o "$WORK/perf.data" -- sleep "${DURATION%s}" 2>/dev/null &
perf_pid=$!
wrk -t1 -c"$CONNECTIONS" -d"$DURATION" -s "$BENCH_DIR/$script" "http://127.0.0.1:$port$path" | grep -E "Requests/sec|Latency"
wait "$perf_pid"
cp "$WORK/perf.data" "${PERF_DATA:-/tmp/tessera-perf.data}"
echo "## self"
report() { perf report -i "$WORK/perf.data" --sort symbol -g none --stdio "$@" 2>/dev/null | grep -E "^ +[0-9]" | sed -E 's/ +- +- *$//; s/ +$//' | cut -c1-160; }
report --no-children --percent-limit 1 | head -40
echo "## with callees (tessera frames)"
report --children --percent-limit 2 | grep -E "tessera|axum|hyper|rusqlite|sqlite3_(step|prepare)|serde|tokio_postgres|metrics|tracing|sha2|base64" | head -50
