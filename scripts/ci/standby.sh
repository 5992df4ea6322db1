#!/usr/bin/env bash
# A hot standby of the PostgreSQL on 127.0.0.1:5432, streaming on
# 127.0.0.1:${STANDBY_PORT:-5433}, made with pg_basebackup. Idempotent: a
# standby already answering is left alone; the primary is not restarted (a
# replication line is added to its pg_hba.conf and reloaded when missing).
# Prints the URL prefix for LOKET_TEST_STANDBY_URL.
set -euo pipefail
PORT=${STANDBY_PORT:-5433}
DIR=${STANDBY_DIR:-/var/lib/loket-ci/standby-$PORT}
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
bin=/usr/lib/postgresql/$version/bin
as_postgres() {
  # From /: the CI checkout may be a directory the postgres user cannot read.
  if [ "$(id -u)" = 0 ]; then (cd / && su postgres -s /bin/sh -c "$*"); else sh -c "$*"; fi
}

if ! pg_isready -h 127.0.0.1 -p "$PORT" -q 2>/dev/null; then
  # Streaming replication needs its own pg_hba.conf line ("all" does not
  # cover it).
  hba=$(psql -Atq -h 127.0.0.1 -p 5432 -U postgres -c 'SHOW hba_file')
  if ! grep -Eq '^host +replication +all +127\.0\.0\.1/32 +trust' "$hba"; then
    sed -i '1i host replication all 127.0.0.1/32 trust' "$hba"
    psql -q -h 127.0.0.1 -p 5432 -U postgres -c 'SELECT pg_reload_conf()' >/dev/null
    sleep 0.5
  fi
  rm -rf "$DIR"
  mkdir -p "$(dirname "$DIR")"
  chown postgres "$(dirname "$DIR")" 2>/dev/null || true
  # -R writes standby.signal and primary_conninfo; -X stream copies the WAL
  # made meanwhile.
  as_postgres "$bin/pg_basebackup -h 127.0.0.1 -p 5432 -U postgres -D '$DIR' -R -X stream -c fast"
  # The copy brings the primary's settings; the standby needs its own port
  # and socket directory, and answers queries while it replays.
  cat >>"$DIR/postgresql.auto.conf" <<CONF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
hot_standby = on
hot_standby_feedback = on
max_standby_streaming_delay = 5s
CONF
  conf=/etc/postgresql/$version/main/postgresql.conf
  # Debian keeps postgresql.conf outside the data directory.
  if [ ! -f "$DIR/postgresql.conf" ] && [ -f "$conf" ]; then
    cp "$conf" "$DIR/postgresql.conf"
    chown postgres "$DIR/postgresql.conf"
    sed -i -e "s|^data_directory|#data_directory|" -e "s|^hba_file|#hba_file|" -e "s|^ident_file|#ident_file|" \
      -e "s|^external_pid_file|#external_pid_file|" -e "s|^include_dir|#include_dir|" -e "s|^ssl|#ssl|" "$DIR/postgresql.conf"
    cp "$hba" "$DIR/pg_hba.conf"
    cp "$(dirname "$hba")/pg_ident.conf" "$DIR/pg_ident.conf" 2>/dev/null || touch "$DIR/pg_ident.conf"
    chown postgres "$DIR"/pg_*.conf
  fi
  as_postgres "$bin/pg_ctl -D '$DIR' -l '$DIR/standby.log' -w -t 60 start" >/dev/null
fi
pg_isready -h 127.0.0.1 -p "$PORT" >&2
echo "postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable"
