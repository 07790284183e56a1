# Shared helpers for the benchmarks (sourced). Loopback only; every load is bounded in time.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
BIN="$ROOT/target/release/tessera"
PG_SERVER_URL=${TESSERA_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
WORK=$(mktemp -d /tmp/tessera-bench.XXXXXX)
SERVER_PID=""

cleanup_bench() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  # fresh_db runs in a command substitution (a subshell), so it lists what it made in a file.
  if [ -f "$WORK/pg-databases" ]; then
    while read -r db; do
      psql "$PG_SERVER_URL/postgres" -qAtc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    done < "$WORK/pg-databases"
  fi
  rm -rf "$WORK"
}
trap cleanup_bench EXIT

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "error: $1 is required (apt-get install $2)" >&2; exit 1; }
}

build_release() {
  (cd "$ROOT" && cargo build --release -p tessera --quiet)
}

# fresh_db sqlite|postgres|postgres-tls|postgres-plain: prints a database URL for an empty
# database. `postgres` connects as a node does by default (to this loopback server: plain
# text); `postgres-tls` with sslmode=prefer written out (TLS, as the server offers it), to
# measure what TLS costs; `postgres-plain` with sslmode=disable.
fresh_db() {
  case "$1" in
    sqlite) echo "sqlite://$WORK/bench-$RANDOM.db" ;;
    postgres|postgres-tls|postgres-plain)
      local name="tessera_bench_$$_$RANDOM"
      psql "$PG_SERVER_URL/postgres" -qAtc "CREATE DATABASE $name" >/dev/null
      echo "$name" >> "$WORK/pg-databases"
      case "$1" in
        postgres-plain) echo "$PG_SERVER_URL/$name?sslmode=disable" ;;
        postgres-tls) echo "$PG_SERVER_URL/$name?sslmode=prefer" ;;
        *) echo "$PG_SERVER_URL/$name" ;;
      esac
      ;;
    *) echo "unknown backend $1" >&2; exit 2 ;;
  esac
}

# start_server URL PORT: starts a release server in the background and waits for /ready.
start_server() {
  local url=$1 port=$2
  TESSERA_JANITOR_INTERVAL_SECONDS=${TESSERA_JANITOR_INTERVAL_SECONDS:-0} \
  RUST_LOG=${RUST_LOG:-warn} \
    "$BIN" serve --bind "127.0.0.1:$port" --database-url "$url" > "$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "error: the server did not become ready" >&2
  cat "$WORK/server.log" >&2
  exit 1
}

stop_server() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# create_client URL TYPE GRANTS [OPTIONS...]: prints "client_id client_secret".
create_client() {
  "$BIN" createapplication "$2" "$3" "${@:4}" --json --database-url "$1" \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["client_id"], d["client_secret"] or "")'
}

basic() {
  printf '%s:%s' "$1" "$2" | base64 -w0
}

# sql URL STATEMENTS: runs SQL against either backend.
sql() {
  case "$1" in
    sqlite://*) sqlite3 "${1#sqlite://}" "$2" ;;
    *) psql "$1" -qAt -v ON_ERROR_STOP=1 -c "$2" ;;
  esac
}

# The server's cumulative CPU time in clock ticks (user + system).
server_cpu_ticks() {
  awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"
}

server_peak_rss_kib() {
  awk '/VmHWM/ { print $2 }' "/proc/$SERVER_PID/status"
}
