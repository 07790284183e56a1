#!/usr/bin/env bash
# The benchmark (issues 5 and 13). For each store it starts a release `tessera serve` on a
# fresh database, provisions clients and tokens (untimed), and measures with wrk (one thread,
# loopback, each run bounded by DURATION) at each of CONNECTIONS:
#   S0  GET /health                                   (the ceiling, no store access)
#   S1  client_credentials token requests, HTTP Basic (a new token each request)
#   S2  introspection, HTTP Basic: of one valid token, or with SEED of a random live token
#   S3  revocation of distinct tokens, confidential client, HTTP Basic
#   S4  revocation as in the seed: public client, token=...&client_id=...
#   S5  authorization-code exchange for `openid` (an ID token per request), per algorithm
#   S6  client_credentials with JWT access tokens (RFC 9068), per algorithm
#   S7  a production-like mix: 85% S2, 10% S1, 3% refresh rotations, 2% S3
# Every run is repeated REPEAT times and the median reported, with p50/p99 latency, server CPU
# time per request and each scenario's ratio to S0 from the same repetition set. After each
# revocation run, every token it revoked is checked to be revoked in the store.
#
# SEED=N first fills the store with N live and N dead (expired or revoked) tokens, each its
# own grant, and reports the bytes on disk per live token; S2 and S7 then draw from
# SEED_SAMPLE live tokens spread over the store. 10 million takes minutes per store.
#
#   bench/run.sh                   # everything, both stores, empty store
#   BACKENDS=sqlite DURATION=5s REPEAT=3 SCENARIOS="S0 S2" bench/run.sh
#   SEED=10000000 SCENARIOS="S0 S1 S2 S3 S4 S7" bench/run.sh
source "$(dirname "$0")/lib.sh"
need wrk wrk; need sqlite3 sqlite3; need psql postgresql-client; need bc bc

BACKENDS=${BACKENDS:-"sqlite postgres"}
DURATION=${DURATION:-5s}
REPEAT=${REPEAT:-3}
CONNECTIONS=${CONNECTIONS:-"16 64"}
SCENARIOS=${SCENARIOS:-"S0 S1 S2 S3 S4 S5 S6 S7"}
ALGORITHMS=${ALGORITHMS:-"RS256 ES256 EdDSA"}
POOL=${POOL:-1000000}         # pre-minted tokens per revocation scenario and store
CODES=${CODES:-200000}        # seeded authorization codes per algorithm (S5)
SEED=${SEED:-0}
SEED_SAMPLE=${SEED_SAMPLE:-100000}
port=18432
secs=${DURATION%s}
clk=$(getconf CLK_TCK)
redirect="http://127.0.0.1:9/cb"
redirect_enc="http%3A%2F%2F127.0.0.1%3A9%2Fcb"

# The scenarios as run: S5 and S6 once per algorithm (S5-RS256, ...).
RUNS=()
for s in $SCENARIOS; do
  case $s in
    S5|S6) for alg in $ALGORITHMS; do RUNS+=("$s-$alg"); done ;;
    *) RUNS+=("$s") ;;
  esac
done
has() { [[ " $SCENARIOS " == *" $1 "* ]]; }

build_release
echo "# $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) cores, $(uname -m), wrk -t1 -d$DURATION, median of $REPEAT, seed $SEED"
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

# disk_report URL: bytes on disk per live token and the largest tables and indexes.
disk_report() {
  local url=$1
  case "$url" in
    sqlite://*)
      local path=${url#sqlite://}
      sql "$url" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
      local bytes; bytes=$(stat -c %s "$path")
      echo "disk (sqlite): $bytes bytes, $(( bytes / SEED )) bytes per live token (the dead ones included); largest:"
      sql "$url" "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 6;" | sed 's/^/  /'
      ;;
    *)
      local bytes; bytes=$(sql "$url" "SELECT pg_database_size(current_database());")
      echo "disk (postgres): $bytes bytes, $(( bytes / SEED )) bytes per live token (the dead ones included); largest:"
      sql "$url" "SELECT relname, pg_relation_size(oid) FROM pg_class WHERE relkind IN ('r', 'i') ORDER BY 2 DESC LIMIT 6;" | sed 's/^/  /'
      ;;
  esac
}

# scenario RUN: sets PATH_UNDER_TEST, script and the script's variables for one run.
declare -A OFFSETS=()
scenario() {
  TOKENS=""; OFFSET=0; CLIENT_ID=""; BASIC=$(basic "$cid" "$csecret")
  case $1 in
    S0) PATH_UNDER_TEST=/health;          script=health.lua ;;
    S1) PATH_UNDER_TEST=/o/token/;        script=token.lua ;;
    S2) PATH_UNDER_TEST=/o/introspect/;   script=introspect.lua; TOKENS=$sample ;;
    S3) PATH_UNDER_TEST=/o/revoke_token/; script=revoke.lua; TOKENS="$WORK/conf-$backend.txt" ;;
    S4) PATH_UNDER_TEST=/o/revoke_token/; script=revoke.lua; TOKENS="$WORK/pub-$backend.txt"; BASIC=""; CLIENT_ID=$pid ;;
    S5-*) PATH_UNDER_TEST=/o/token/;      script=exchange.lua; TOKENS="$WORK/codes-$1-$backend.txt"; BASIC=${ALG_BASIC[S5-${1#S5-}]} ;;
    S6-*) PATH_UNDER_TEST=/o/token/;      script=token.lua; BASIC=${ALG_BASIC[S6-${1#S6-}]} ;;
    S7) PATH_UNDER_TEST=/;                script=mixed.lua; TOKENS=$sample; CLIENT_ID=$pid
        REFRESH="$WORK/refresh-$backend.txt"; REVOKE="$WORK/mix-revoke-$backend.txt" ;;
  esac
  OFFSET=${OFFSETS[$1]:-0}
}

declare -A RESULT
for backend in $BACKENDS; do
  OFFSETS=()
  url=$(fresh_db "$backend")
  "$BIN" migrate --database-url "$url" >/dev/null
  read -r cid csecret < <(create_client "$url" confidential client-credentials)
  read -r pid _ < <(create_client "$url" public password)
  export BASIC CLIENT_ID TOKEN TOKENS OFFSET REDIRECT_URI REFRESH REVOKE
  REDIRECT_URI=$redirect_enc
  TOKEN=$("$BIN" createtoken "$cid" --database-url "$url")
  sample="$WORK/sample-$backend.txt"
  if [ "$SEED" -gt 0 ]; then
    echo "seeding $SEED live and $SEED dead tokens ($backend)..." >&2
    python3 "$BENCH_DIR/seed.py" tokens "$url" "$cid" "$SEED" "$SEED" "$SEED_SAMPLE" "$sample"
    RESULT[$backend,disk]=$(disk_report "$url")
  else
    "$BIN" createtoken "$cid" --count 10000 --database-url "$url" > "$sample"
  fi
  if has S3 || has S4; then
    echo "minting $POOL tokens for each revocation scenario ($backend)..." >&2
    has S3 && "$BIN" createtoken "$cid" --count "$POOL" --database-url "$url" > "$WORK/conf-$backend.txt"
    has S4 && "$BIN" createtoken "$pid" --count "$POOL" --database-url "$url" > "$WORK/pub-$backend.txt"
  fi
  declare -A ALG_BASIC=()
  if has S5; then
    printf 'bench-password\n' | "$BIN" createuser bench --password-stdin --database-url "$url" >/dev/null
    for alg in $ALGORITHMS; do
      read -r id secret < <(create_client "$url" confidential authorization-code \
        --redirect-uris "$redirect" --algorithm "$alg" --skip-authorization)
      ALG_BASIC[S5-$alg]=$(basic "$id" "$secret")
      python3 "$BENCH_DIR/seed.py" codes "$url" "$id" bench "$redirect" "$CODES" "$WORK/codes-S5-$alg-$backend.txt"
    done
  fi
  if has S6; then
    for alg in $ALGORITHMS; do
      read -r id secret < <(create_client "$url" confidential client-credentials \
        --algorithm "$alg" --access-token-format jwt)
      ALG_BASIC[S6-$alg]=$(basic "$id" "$secret")
    done
  fi
  if has S7; then
    has S5 || printf 'bench-password\n' | "$BIN" createuser bench --password-stdin --database-url "$url" >/dev/null
    python3 "$BENCH_DIR/seed.py" refresh "$url" "$pid" bench 50000 "$WORK/refresh-$backend.txt"
    "$BIN" createtoken "$cid" --count 50000 --database-url "$url" > "$WORK/mix-revoke-$backend.txt"
  fi
  start_server "$url" "$port"
  for conns in $CONNECTIONS; do
    declare -A runs=()
    for rep in $(seq 1 "$REPEAT"); do
      for s in "${RUNS[@]}"; do
        scenario "$s"
        line=$(run_wrk "$s" "$conns" "$BENCH_DIR/$script")
        runs[$s]+="$line"$'\n'
        read -r _ _ _ _ reqs non2xx <<<"$line"
        if [ "$non2xx" != "0" ]; then
          echo "error: $s at $conns connections had $non2xx non-2xx answers" >&2
          tail -n 20 "$WORK/server.log" >&2; exit 1
        fi
        # Scenarios that use up what they send start the next run after it. wrk calls
        # request() once per thread to check the script, so the first of the slice is never
        # sent; after it, every request but the last <= conns still in flight at the end
        # completed, each with 200 (checked above).
        case $s in
          S3|S4)
            if [ $((OFFSET + reqs)) -ge "$POOL" ]; then
              echo "error: $s ran out of pre-minted tokens; raise POOL" >&2; exit 1
            fi
            python3 "$BENCH_DIR/verify_revoked.py" "$url" "$TOKENS" $((OFFSET + 1)) $((OFFSET + 1 + reqs - conns)) >&2
            OFFSETS[$s]=$((OFFSET + 1 + reqs + conns)) ;;
          S5-*)
            if [ $((OFFSET + reqs)) -ge "$CODES" ]; then
              echo "error: $s ran out of seeded codes; raise CODES" >&2; exit 1
            fi
            OFFSETS[$s]=$((OFFSET + 1 + reqs + conns)) ;;
          S7)
            # At most 3% and 2% of the requests took a refresh or a revocation token.
            OFFSETS[$s]=$((OFFSET + 1 + reqs * 3 / 100 + conns + 1000))
            if [ "${OFFSETS[$s]}" -ge 50000 ]; then
              echo "error: S7 ran out of refresh tokens" >&2; exit 1
            fi ;;
        esac
      done
    done
    s0=$(awk 'NF { print $1 }' <<<"${runs[S0]:-1}" | median)
    for s in "${RUNS[@]}"; do
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
    for s in "${RUNS[@]}"; do
      read -r rps p50 p99 cpu ratio <<<"${RESULT[$backend,$conns,$s]}"
      echo "| $backend | $conns | $s | $rps | $p50 | $p99 | $cpu | $ratio |"
    done
  done
done
echo
for backend in $BACKENDS; do
  echo "peak RSS ($backend): $(( ${RESULT[$backend,rss]} / 1024 )) MiB"
  if [ -n "${RESULT[$backend,disk]:-}" ]; then echo "${RESULT[$backend,disk]}"; fi
done
for pg in postgres postgres-tls postgres-plain; do
  if [[ " $BACKENDS " == *" sqlite "* && " $BACKENDS " == *" $pg "* ]]; then
    echo
    echo "| conns | scenario | $pg / sqlite req/s |"
    echo "| --- | --- | --- |"
    for conns in $CONNECTIONS; do
      for s in "${RUNS[@]}"; do
        [ "$s" = S0 ] && continue
        read -r a _ <<<"${RESULT[sqlite,$conns,$s]}"
        read -r b _ <<<"${RESULT[$pg,$conns,$s]}"
        echo "| $conns | $s | $(echo "scale=2; $b / $a" | bc) |"
      done
    done
  fi
done
