# Shared by the load and fault scripts: build the binaries, make a fresh
# PostgreSQL database, start and stop Loket. Loopback only; every script is
# bounded in time and count and cleans up after itself.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d /tmp/loket-load.XXXXXX)
PGADMIN=${LOKET_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
DBNAME=loket_load_$$
DBURL="postgres://postgres@127.0.0.1:5432/$DBNAME?sslmode=disable"
# LOKET_LOAD_PGBOUNCER=127.0.0.1:6432 sends Loket's own connections through
# PgBouncer (scripts/ci/pgbouncer.sh: transaction mode, 4 server connections);
# migrations and the scripts' checks connect to PostgreSQL directly.
APPURL=$DBURL
if [ -n "${LOKET_LOAD_PGBOUNCER:-}" ]; then
  APPURL="postgres://postgres@$LOKET_LOAD_PGBOUNCER/$DBNAME?sslmode=disable"
fi
PIDS=()
# The demo provider's API key (internal/app DemoAPIKey; LOKET_DEMO=true seeds
# it): registrations without a key are limited to a few per address.
LOKET_LOAD_API_KEY="lk_$(printf %s loket-demo-api-key | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=')"
export LOKET_LOAD_API_KEY

log() { printf '== %s\n' "$*" >&2; }

cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
  psql -q "$PGADMIN" -c "DROP DATABASE IF EXISTS $DBNAME WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

build() {
  log "build"
  (cd "$ROOT" && CGO_ENABLED=0 go build -o "$WORK/loket" ./cmd/loket && CGO_ENABLED=0 go build -o "$WORK/loket-load" ./cmd/loket-load)
}

fresh_db() {
  psql -q "$PGADMIN" -c "CREATE DATABASE $DBNAME" >/dev/null
  LOKET_DATABASE_URL=$DBURL "$WORK/loket" migrate up >/dev/null
}

# start_loket PORT [extra env…]: starts a server with the demo desks and
# catalogue on PostgreSQL and waits until it is ready; prints its pid.
start_loket() {
  local port=$1; shift
  # Another server on the port would answer the readiness check and take the
  # load, and every request would look lost: refuse to start then.
  if curl -fs -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then
    log "port $port is taken by another server; stop it first"; return 1
  fi
  env LOKET_DATABASE_URL="$APPURL" LOKET_DATABASE_OWNER_URL="$DBURL" LOKET_HTTP_ADDR="127.0.0.1:$port" LOKET_DEMO=true \
    LOKET_HASH_KEY=load-test-hash-key-0123456789abcdef LOKET_PUBLIC_URL="http://127.0.0.1:$port" \
    LOKET_LOG_LEVEL=warn LOKET_DATA_DIR="$WORK/data-$port" "$@" \
    "$WORK/loket" serve >>"$WORK/loket-$port.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 150); do
    if curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then echo "$pid"; return 0; fi
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/loket-$port.log" >&2; return 1; }
    sleep 0.2
  done
  log "Loket on port $port did not get ready"; cat "$WORK/loket-$port.log" >&2; return 1
}

# start_redis PORT: a private Redis, so the machine's shared one is never stopped.
start_redis() {
  redis-server --port "$1" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >"$WORK/redis-$1.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 50); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
