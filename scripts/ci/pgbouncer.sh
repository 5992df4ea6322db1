#!/usr/bin/env bash
# Starts PgBouncer in transaction mode on 127.0.0.1:${PGBOUNCER_PORT:-6432} in
# front of the PostgreSQL on 127.0.0.1:5432, with few server connections, so
# that clients share them from one transaction to the next as in production.
# Idempotent: a PgBouncer already answering is left alone. Used by .ci/run;
# prints the URL prefix for LOKET_TEST_PGBOUNCER_URL.
set -euo pipefail
PORT=${PGBOUNCER_PORT:-6432}
DIR=${PGBOUNCER_DIR:-/var/lib/loket-ci/pgbouncer}
if ! command -v pgbouncer >/dev/null && [ ! -x /usr/sbin/pgbouncer ]; then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null
fi
PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
if ! pg_isready -h 127.0.0.1 -p "$PORT" -q 2>/dev/null; then
  mkdir -p "$DIR"
  # Every database on the server, as any user the server trusts (the tests
  # create databases as they go); the pool is small on purpose.
  cat >"$DIR/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=5432

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir =
auth_type = trust
auth_file = $DIR/userlist.txt
pool_mode = transaction
default_pool_size = 4
max_client_conn = 1000
max_db_connections = 0
ignore_startup_parameters = extra_float_digits
server_reset_query =
logfile = $DIR/pgbouncer.log
pidfile = $DIR/pgbouncer.pid
INI
  printf '"postgres" ""\n"loket_app" ""\n' >"$DIR/userlist.txt"
  # PgBouncer refuses to run as root.
  owner=postgres
  id "$owner" >/dev/null 2>&1 || owner=nobody
  chown -R "$owner" "$DIR"
  if [ "$(id -u)" = 0 ]; then
    "$PGBOUNCER" -d -u "$owner" "$DIR/pgbouncer.ini"
  else
    "$PGBOUNCER" -d "$DIR/pgbouncer.ini"
  fi
  for _ in $(seq 1 50); do pg_isready -h 127.0.0.1 -p "$PORT" -q && break; sleep 0.1; done
fi
pg_isready -h 127.0.0.1 -p "$PORT" >&2
echo "postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable"
