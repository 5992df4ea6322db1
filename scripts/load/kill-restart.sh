#!/usr/bin/env bash
# Fault: kill -9 the server in the middle of submission load, start it again.
# Clients retry every unanswered request with its Idempotency-Key. Afterwards
# every request that got a 201 must be in the database exactly once; the
# script exits non-zero when one is lost or duplicated.
#   scripts/load/kill-restart.sh [clients=8] [seconds=12]
source "$(dirname "$0")/lib.sh"
CLIENTS=${1:-8}
SECONDS_=${2:-12}
build
fresh_db
pid=$(start_loket 18182)
log "load for ${SECONDS_}s, kill -9 after 4s"
"$WORK/loket-load" submit -url http://127.0.0.1:18182 -clients "$CLIENTS" -duration "${SECONDS_}s" -max 100000 \
  -retry-for 60s -out "$WORK/acks.jsonl" >"$WORK/submit.json" &
load=$!
sleep 4
kill -9 "$pid"
log "killed $pid; restarting"
sleep 1
PIDS+=("$(start_loket 18182)")
wait "$load" || { cat "$WORK/submit.json"; echo "some requests were never acknowledged" >&2; exit 1; }
echo "submit  $(cat "$WORK/submit.json")"
result=$("$WORK/loket-load" verify -db "$DBURL" -acks "$WORK/acks.jsonl")
echo "verify  $result"
