#!/usr/bin/env bash
# A/B of two release binaries on S2 (introspection of one valid token, Basic), alternating so
# both see the same machine: each round starts a fresh SQLite database per binary, runs wrk for
# DURATION against it, and prints req/s and server CPU ms per request. Loopback only; every run
# is bounded by DURATION and each server is stopped after it.
#
#   bench/ab.sh OLD_BINARY NEW_BINARY          # ROUNDS=3 CONNS=16 DURATION=6s
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need wrk wrk; need bc bc
[ $# -eq 2 ] || { echo "usage: $0 OLD_BINARY NEW_BINARY" >&2; exit 2; }
ROUNDS=${ROUNDS:-3}; CONNS=${CONNS:-16}; DURATION=${DURATION:-6s}
clk=$(getconf CLK_TCK)

one() { # LABEL BINARY PORT
  local label=$1 bin=$2 port=$3 dir url j cid sec pid t0 t1 out rps reqs
  dir=$(mktemp -d); url="sqlite://$dir/ab.db"
  "$bin" migrate --database-url "$url" >/dev/null
  j=$("$bin" createapplication confidential client-credentials --json --database-url "$url")
  cid=$(sed -E 's/.*"client_id":"([^"]+)".*/\1/' <<<"$j")
  sec=$(sed -E 's/.*"client_secret":"([^"]+)".*/\1/' <<<"$j")
  TOKEN=$("$bin" createtoken "$cid" --database-url "$url"); export TOKEN
  BASIC=$(printf '%s:%s' "$cid" "$sec" | base64 -w0); export BASIC
  "$bin" serve --bind "127.0.0.1:$port" --database-url "$url" >"$dir/log" 2>&1 & pid=$!
  for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break; sleep 0.1; done
  t0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
  out=$(wrk -t1 -c"$CONNS" -d"$DURATION" -s "$ROOT/bench/introspect.lua" "http://127.0.0.1:$port/o/introspect/")
  t1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
  kill "$pid"; wait "$pid" 2>/dev/null || true; rm -rf "$dir"
  rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$out"); reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
  echo "$label req/s=$rps cpu_ms_per_req=$(echo "scale=4; ($t1 - $t0) * 1000 / $clk / $reqs" | bc)"
}

for _ in $(seq 1 "$ROUNDS"); do
  one old "$1" 18601
  one new "$2" 18602
done
