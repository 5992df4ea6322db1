#!/usr/bin/env bash
# Two replicas on one PostgreSQL and one (private) Redis, behind a
# round-robin proxy: a session made on one works on the other and through the
# proxy; free places changed on one are in the other's next answer; an API
# key created on one works on the other, and revoked stops working there.
#   scripts/load/replicas.sh
source "$(dirname "$0")/lib.sh"
REDIS_PORT=16391
build
fresh_db
start_redis "$REDIS_PORT"
PIDS+=("$(start_loket 18184 LOKET_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0")")
PIDS+=("$(start_loket 18185 LOKET_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0")")
"$WORK/loket-load" proxy -listen 127.0.0.1:18190 -backends http://127.0.0.1:18184,http://127.0.0.1:18185 &
PIDS+=($!)
sleep 0.5
out=$("$WORK/loket-load" replicas -a http://127.0.0.1:18184 -b http://127.0.0.1:18185 -via http://127.0.0.1:18190)
echo "replicas $out"
