#!/usr/bin/env bash
# Fault: stop Redis during search load. Search keeps answering from the
# database (no failed request); after Redis is back the cache serves again
# (readiness no longer reports it degraded, cache hits grow). A private Redis
# on its own port is used, never the machine's shared one.
#   scripts/load/redis-down.sh [seconds=12]
source "$(dirname "$0")/lib.sh"
SECONDS_=${1:-12}
REDIS_PORT=16390
build
fresh_db
start_redis "$REDIS_PORT"
redis_pid=${PIDS[-1]}
PIDS+=("$(start_loket 18183 LOKET_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0")")
"$WORK/loket-load" search -url http://127.0.0.1:18183 -clients 8 -duration "${SECONDS_}s" >"$WORK/search.json" &
load=$!
sleep 3
log "stopping Redis"
kill -9 "$redis_pid"
sleep 4
curl -s http://127.0.0.1:18183/readyz | tee "$WORK/ready-down.txt" >&2; echo >&2
log "starting Redis again"
start_redis "$REDIS_PORT"
wait "$load" || { cat "$WORK/search.json"; echo "search failed while Redis was down" >&2; exit 1; }
echo "search  $(cat "$WORK/search.json")"
hits() { curl -s http://127.0.0.1:18183/metrics | awk '/^loket_availability_cache_requests_total\{.*result="hit"/ { s += $2 } END { print s + 0 }'; }
before=$(hits)
"$WORK/loket-load" search -url http://127.0.0.1:18183 -clients 4 -duration 3s >/dev/null
after=$(hits)
ready=$(curl -s http://127.0.0.1:18183/readyz)
echo "after   cache hits $before -> $after; readyz: $(echo "$ready" | tr '\n' ' ')"
if [ "$after" -le "$before" ]; then echo "the cache did not recover" >&2; exit 1; fi
if echo "$ready" | grep -qi degraded; then echo "readiness still reports the cache degraded" >&2; exit 1; fi
