#!/usr/bin/env bash
# bench-search.sh: load test of the cached region availability endpoint.
#
# Builds loket, creates a throw-away PostgreSQL database on 127.0.0.1:5432,
# loads the scaled demo catalogue (loket seed-scaled), starts loket on loopback
# with Redis (127.0.0.1:6379, a key prefix of its own) and runs wrk with the
# same threads, connections and duration against
#   (a) /healthz, a constant answer of the same server, and
#   (b) GET /api/v1/availability?region=13000&month=<next month> (cached),
# then prints the requests per second of each, their ratio and the p99.
# Goal: (b) reaches at least 50% of (a)'s requests per second, p99 under 5 ms.
# Everything is dropped at the end (database, Redis keys, temporary files),
# also on failure or Ctrl-C.
#
# Settings (environment):
#   BENCH_THREADS=2 BENCH_CONNS=32 BENCH_DURATION=10s   wrk -t -c -d
#   BENCH_LOCATIONS=6000                                 size of the catalogue
#   BENCH_MONTH=YYYY-MM                                  default: next month
#   BENCH_GZIP=1                                         send Accept-Encoding: gzip to both
#                                                        endpoints, as browsers and HTTP
#                                                        libraries do; 0: uncompressed
#   BENCH_PG_ADMIN_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
#   BENCH_REDIS_URL=redis://127.0.0.1:6379/0
set -euo pipefail

cd "$(dirname "$0")/.."

THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNS:-32}
DURATION=${BENCH_DURATION:-10s}
LOCATIONS=${BENCH_LOCATIONS:-6000}
MONTH=${BENCH_MONTH:-$(date -u -d "$(date -u +%Y-%m-15) +1 month" +%Y-%m)}
GZIP=${BENCH_GZIP:-1}
PG_ADMIN=${BENCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/0}

case "$PG_ADMIN$REDIS_URL" in
*127.0.0.1*127.0.0.1* | *localhost*localhost* | *127.0.0.1*localhost* | *localhost*127.0.0.1*) ;;
*) echo "bench-search: PostgreSQL and Redis must be on loopback" >&2; exit 2 ;;
esac
[[ $MONTH =~ ^[0-9]{4}-[0-9]{2}$ ]] || { echo "bench-search: BENCH_MONTH must look like 2027-01" >&2; exit 2; }
[[ $DURATION =~ ^[0-9]+s$ ]] && (( ${DURATION%s} <= 120 )) || { echo "bench-search: BENCH_DURATION must be at most 120s" >&2; exit 2; }
(( CONNS <= 256 && THREADS <= 16 && LOCATIONS <= 20000 )) || { echo "bench-search: too many connections, threads or locations" >&2; exit 2; }

for tool in go psql redis-cli curl; do
	command -v "$tool" >/dev/null || { echo "bench-search: $tool is needed" >&2; exit 2; }
done
if ! command -v wrk >/dev/null; then
	echo "== installing wrk"
	if [[ $(id -u) == 0 ]]; then SUDO=; else SUDO=sudo; fi
	timeout 300 $SUDO apt-get install -y wrk >/dev/null || { timeout 300 $SUDO apt-get update >/dev/null && timeout 300 $SUDO apt-get install -y wrk >/dev/null; }
fi

TMP=$(mktemp -d)
DB=loket_bench_$$_$RANDOM
PREFIX="loket-bench-$$-$RANDOM:"
DB_URL=$(printf '%s' "$PG_ADMIN" | sed -E "s#/[^/?]*(\?|$)#/$DB\1#")
PID=

cleanup() {
	set +e
	if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID"
		for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$PID" 2>/dev/null
	fi
	psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
	redis-cli -u "$REDIS_URL" --scan --pattern "$PREFIX*" 2>/dev/null | xargs -r -n 500 redis-cli -u "$REDIS_URL" UNLINK >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

echo "== building loket"
mkdir -p "$TMP/bin" "$TMP/run"
go build -o "$TMP/bin/loket" ./cmd/loket

echo "== creating database $DB"
psql -q "$PG_ADMIN" -c "CREATE DATABASE $DB" >/dev/null

export LOKET_DATABASE_URL=$DB_URL LOKET_REDIS_URL=$REDIS_URL LOKET_REDIS_PREFIX=$PREFIX
export LOKET_DEMO=false LOKET_LOG_LEVEL=warn LOKET_DATA_DIR=$TMP/data LOKET_TENANTS_DIR=

# Run loket from the temporary directory: it reads ./loket.yaml if there is one.
cd "$TMP/run"
echo "== loading $LOCATIONS locations (loket seed-scaled)"
timeout 300 "$TMP/bin/loket" seed-scaled --locations "$LOCATIONS"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 18089)
BASE=http://127.0.0.1:$PORT
echo "== starting loket on $BASE"
LOKET_HTTP_ADDR=127.0.0.1:$PORT "$TMP/bin/loket" serve >"$TMP/loket.log" 2>&1 &
PID=$!
for i in $(seq 150); do
	curl -fsS -o /dev/null "$BASE/readyz" 2>/dev/null && break
	kill -0 "$PID" 2>/dev/null || { cat "$TMP/loket.log" >&2; exit 1; }
	(( i == 150 )) && { echo "bench-search: loket did not become ready" >&2; cat "$TMP/loket.log" >&2; exit 1; }
	sleep 0.2
done
curl -fsS "$BASE/readyz"; echo

AVAIL="$BASE/api/v1/availability?region=13000&month=$MONTH"
HEADERS=()
[[ $GZIP == 1 ]] && HEADERS=(-H "Accept-Encoding: gzip")
# Warm the cache, and show what a client receives.
curl -fsS -o "$TMP/body" "${HEADERS[@]}" "$AVAIL"
curl -fsS -o /dev/null "${HEADERS[@]}" "$AVAIL"
LOCS=$(curl -fsS "$AVAIL" | grep -o '"location_id"' | wc -l)
echo "availability answer: $(wc -c <"$TMP/body") bytes$([[ $GZIP == 1 ]] && echo ' (gzip)'), $LOCS location rows, month $MONTH"

run() { # name url
	echo "== wrk -t$THREADS -c$CONNS -d$DURATION $1"
	timeout 200 wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "${HEADERS[@]}" "$2" | tee "$TMP/$1.txt"
}
run healthz "$BASE/healthz"
run availability "$AVAIL"

rps() { awk '/^Requests\/sec:/ {print $2}' "$TMP/$1.txt"; }
p99ms() { # wrk prints 99% with a unit: us, ms or s
	awk '$1 == "99%" {v = $2; if (v ~ /us$/) {sub(/us$/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v *= 1000}; printf "%.3f", v}' "$TMP/$1.txt"
}
errors() { awk '/Non-2xx|Socket errors/ {print}' "$TMP/$1.txt"; }

H_RPS=$(rps healthz) A_RPS=$(rps availability)
H_P99=$(p99ms healthz) A_P99=$(p99ms availability)
RATIO=$(awk -v a="$A_RPS" -v h="$H_RPS" 'BEGIN {printf "%.1f", 100 * a / h}')

echo
echo "== result (wrk -t$THREADS -c$CONNS -d$DURATION, $LOCATIONS locations, region 13000, $MONTH$([[ $GZIP == 1 ]] && echo ', gzip'))"
printf '%-14s %12s req/s   p99 %8s ms\n' "healthz" "$H_RPS" "$H_P99" "availability" "$A_RPS" "$A_P99"
echo "ratio availability/healthz: $RATIO% (goal >= 50%), availability p99 ${A_P99} ms (goal < 5 ms)"
errors healthz
errors availability
curl -fsS "$BASE/metrics" | grep -E '^loket_availability_cache_(requests|layer_hits|errors)_total' || true
if grep -q . "$TMP/loket.log"; then echo "== loket log (warnings)"; tail -n 20 "$TMP/loket.log"; fi
awk -v r="$RATIO" -v p="$A_P99" 'BEGIN {exit !(r >= 50 && p < 5)}' && echo "GOAL MET" || echo "GOAL NOT MET"
