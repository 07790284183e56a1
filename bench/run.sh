#!/usr/bin/env bash
# The hot-path benchmark (issue 5). For each store it starts a release `tessera serve` on a
# fresh database, provisions clients and tokens (untimed), and measures with wrk (one thread,
# loopback, each run bounded by DURATION) at 16 and 64 connections:
#   S0  GET /health                                   (the ceiling, no store access)
#   S1  client_credentials token requests, HTTP Basic (a new token each request)
#   S2  introspection of one valid token, HTTP Basic
#   S3  revocation of distinct tokens, confidential client, HTTP Basic
#   S4  revocation as in the seed: public client, token=...&client_id=...
# Every run is repeated REPEAT times and the median reported, with p50/p99 latency, server CPU
# time per request and each scenario's ratio to S0 from the same repetition set. After each
# revocation run, every token it revoked is checked to be revoked in the store.
#
#   bench/run.sh                   # both stores
#   BACKENDS=sqlite DURATION=5s REPEAT=3 bench/run.sh
source "$(dirname "$0")/lib.sh"
need wrk wrk; need sqlite3 sqlite3; need psql postgresql-client; need bc bc

BACKENDS=${BACKENDS:-"sqlite postgres"}
DURATION=${DURATION:-5s}
REPEAT=${REPEAT:-3}
CONNECTIONS=${CONNECTIONS:-"16 64"}
POOL=${POOL:-1000000}         # pre-minted tokens per revocation scenario and store
port=18432
secs=${DURATION%s}
clk=$(getconf CLK_TCK)

build_release
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -m), wrk -t1 -d$DURATION, median of $REPEAT"

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
to_ms() { # wrk latency (us/ms/s) to milliseconds
  awk '{ v = $1; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.2f\n", v }'
}

# run_wrk NAME CONNS SCRIPT: one timed run; prints "rps p50_ms p99_ms cpu_ms_per_req requests non2xx".
run_wrk() {
  local conns=$2 script=$3 before after out
  before=$(server_cpu_ticks)
  out=$(wrk -t1 -c"$conns" -d"$DURATION" --latency -s "$script" "http://127.0.0.1:$port$PATH_UNDER_TEST")
  echo "$out" > "$WORK/wrk-$1-$conns.txt"
  if grep -q "Socket errors" <<<"$out"; then
    echo "warning: $1 at $conns connections: $(grep 'Socket errors' <<<"$out")" >&2
  fi
  after=$(server_cpu_ticks)
  local rps p50 p99 reqs non2xx
  rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out" | to_ms)
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out" | to_ms)
  reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
  non2xx=$(awk '/Non-2xx/ { print $5 }' <<<"$out")
  local cpu
  cpu=$(echo "scale=4; ($after - $before) * 1000 / $clk / $reqs" | bc)
  echo "$rps $p50 $p99 $cpu $reqs ${non2xx:-0}"
}

declare -A RESULT
for backend in $BACKENDS; do
  url=$(fresh_db "$backend")
  "$BIN" migrate --database-url "$url" >/dev/null
  read -r cid csecret < <(create_client "$url" confidential client-credentials)
  read -r pid _ < <(create_client "$url" public password)
  start_server "$url" "$port"
  export BASIC CLIENT_ID TOKEN TOKENS OFFSET
  BASIC=$(basic "$cid" "$csecret")
  TOKEN=$("$BIN" createtoken "$cid" --database-url "$url")
  echo "minting $POOL tokens for each revocation scenario ($backend)..." >&2
  "$BIN" createtoken "$cid" --count "$POOL" --database-url "$url" > "$WORK/conf-$backend.txt"
  "$BIN" createtoken "$pid" --count "$POOL" --database-url "$url" > "$WORK/pub-$backend.txt"
  conf_offset=0; pub_offset=0
  for conns in $CONNECTIONS; do
    declare -A runs=()
    for rep in $(seq 1 "$REPEAT"); do
      for s in S0 S1 S2 S3 S4; do
        case $s in
          S0) PATH_UNDER_TEST=/health;            script=health.lua ;;
          S1) PATH_UNDER_TEST=/o/token/;          script=token.lua ;;
          S2) PATH_UNDER_TEST=/o/introspect/;     script=introspect.lua ;;
          S3) PATH_UNDER_TEST=/o/revoke_token/;   script=revoke.lua; TOKENS="$WORK/conf-$backend.txt"; OFFSET=$conf_offset; BASIC=$(basic "$cid" "$csecret"); CLIENT_ID="" ;;
          S4) PATH_UNDER_TEST=/o/revoke_token/;   script=revoke.lua; TOKENS="$WORK/pub-$backend.txt"; OFFSET=$pub_offset; BASIC=""; CLIENT_ID=$pid ;;
        esac
        line=$(run_wrk "$s" "$conns" "$BENCH_DIR/$script")
        runs[$s]+="$line"$'\n'
        read -r _ _ _ _ reqs non2xx <<<"$line"
        if [ "$non2xx" != "0" ]; then
          echo "error: $s at $conns connections had $non2xx non-2xx answers" >&2; exit 1
        fi
        if [ "$s" = S3 ] || [ "$s" = S4 ]; then
          if [ $((OFFSET + reqs)) -ge "$POOL" ]; then
            echo "error: $s ran out of pre-minted tokens; raise POOL" >&2; exit 1
          fi
          # wrk calls request() once per thread to check the script, so the first token of the
          # slice is never sent; after it, every request but the last <= conns still in flight
          # at the end completed, each with 200 (checked above).
          python3 "$BENCH_DIR/verify_revoked.py" "$url" "$TOKENS" $((OFFSET + 1)) $((OFFSET + 1 + reqs - conns)) >&2
          next=$((OFFSET + 1 + reqs + conns))
          if [ "$s" = S3 ]; then conf_offset=$next; else pub_offset=$next; fi
          BASIC=$(basic "$cid" "$csecret")
        fi
      done
    done
    s0=$(awk 'NF { print $1 }' <<<"${runs[S0]}" | median)
    for s in S0 S1 S2 S3 S4; do
      rps=$(awk 'NF { print $1 }' <<<"${runs[$s]}" | median)
      p50=$(awk 'NF { print $2 }' <<<"${runs[$s]}" | median)
      p99=$(awk 'NF { print $3 }' <<<"${runs[$s]}" | median)
      cpu=$(awk 'NF { print $4 }' <<<"${runs[$s]}" | median)
      ratio=$(echo "scale=3; $rps / $s0" | bc)
      RESULT[$backend,$conns,$s]="$rps $p50 $p99 $cpu $ratio"
    done
  done
  RESULT[$backend,rss]=$(server_peak_rss_kib)
  stop_server
done

echo
echo "| store | conns | scenario | req/s | p50 ms | p99 ms | server CPU ms/req | x S0 |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for backend in $BACKENDS; do
  for conns in $CONNECTIONS; do
    for s in S0 S1 S2 S3 S4; do
      read -r rps p50 p99 cpu ratio <<<"${RESULT[$backend,$conns,$s]}"
      echo "| $backend | $conns | $s | $rps | $p50 | $p99 | $cpu | $ratio |"
    done
  done
done
echo
for backend in $BACKENDS; do
  echo "peak RSS ($backend): $(( ${RESULT[$backend,rss]} / 1024 )) MiB"
done
for pg in postgres postgres-plain; do
  if [[ " $BACKENDS " == *" sqlite "* && " $BACKENDS " == *" $pg "* ]]; then
    echo
    echo "| conns | scenario | $pg / sqlite req/s |"
    echo "| --- | --- | --- |"
    for conns in $CONNECTIONS; do
      for s in S1 S2 S3 S4; do
        read -r a _ <<<"${RESULT[sqlite,$conns,$s]}"
        read -r b _ <<<"${RESULT[$pg,$conns,$s]}"
        echo "| $conns | $s | $(echo "scale=2; $b / $a" | bc) |"
      done
    done
  fi
done
