#!/usr/bin/env bash
# Submission load: N concurrent clients register requests through the JSON API
# on PostgreSQL for D seconds (after a 3 s warm-up); then pgbench inserts single rows on the same
# server with the same number of clients for the same time. Prints both and
# the ratio (goal: Loket >= 40% of pgbench's transactions per second).
# A second pgbench run inserts as many rows per transaction as one
# registration does (counted from pg_stat_database during the Loket run): the
# ratio to that separates Loket's own cost from the database work a
# registration needs anyway.
#   scripts/load/submit.sh [clients=16] [seconds=15]
source "$(dirname "$0")/lib.sh"
CLIENTS=${1:-16}
SECONDS_=${2:-15}
build
fresh_db
PIDS+=("$(start_loket 18181)")
# A fresh database has empty tables: the foreign-key checks plan their
# lookups then (a scan of the desk's rows) and keep that plan until the
# tables are analysed, which autovacuum does within a minute in production.
# Warm up for a few seconds and analyse, as a running platform would be.
log "warm-up: $CLIENTS clients, 3s, then ANALYZE"
"$WORK/loket-load" submit -url http://127.0.0.1:18181 -clients "$CLIENTS" -duration 3s -max 200000 -out "$WORK/warm.jsonl" >/dev/null
psql -q "$DBURL" -c ANALYZE
stat() { psql -Atq "$DBURL" -c "SELECT pg_stat_force_next_flush()" -c "SELECT $1 FROM pg_stat_database WHERE datname = current_database()" | tail -1; }
rows_before=$(stat tup_inserted)
log "Loket: $CLIENTS clients, ${SECONDS_}s"
loket=$("$WORK/loket-load" submit -url http://127.0.0.1:18181 -clients "$CLIENTS" -duration "${SECONDS_}s" -max 200000 -out "$WORK/acks.jsonl")
echo "loket   $loket"
# An assignment, so that a lost or duplicated request stops the script (set -e).
checked=$("$WORK/loket-load" verify -db "$DBURL" -acks "$WORK/acks.jsonl")
echo "verify  $checked"
checked=$("$WORK/loket-load" verify -db "$DBURL" -acks "$WORK/warm.jsonl")
echo "warm-up $checked"
batches=$(curl -s http://127.0.0.1:18181/metrics | awk '/^loket_registration_batch_size_(sum|count)/ { v[$1] = $2 } END { if (v["loket_registration_batch_size_count"] > 0) printf "%.1f", v["loket_registration_batch_size_sum"] / v["loket_registration_batch_size_count"] }')
echo "batches on average ${batches} registrations per transaction"
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true; PIDS=()
sleep 1
acked=$(echo "$loket" | sed -E 's/.*"acknowledged":([0-9]+).*/\1/')
rows=$(( ($(stat tup_inserted) - rows_before) / (acked > 0 ? acked : 1) ))

log "pgbench: single-row inserts, $CLIENTS clients, ${SECONDS_}s"
psql -q "$DBURL" -c "CREATE TABLE bench_rows (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
echo "INSERT INTO bench_rows (payload) VALUES (md5(random()::text));" >"$WORK/insert.sql"
pg=$(pgbench -n -c "$CLIENTS" -j 2 -T "$SECONDS_" -f "$WORK/insert.sql" "$DBURL" 2>&1 | grep -E '^tps' | head -1)
echo "pgbench $pg"
tps=$(echo "$pg" | sed -E 's/^tps = ([0-9.]+).*/\1/')
rps=$(echo "$loket" | sed -E 's/.*"req_per_s":([0-9.]+).*/\1/')
ratio=$(awk -v a="$rps" -v b="$tps" 'BEGIN { printf "%.1f", 100 * a / b }')
echo "ratio   Loket ${rps} req/s = ${ratio}% of pgbench ${tps} TPS (goal >= 40%)"

log "pgbench: $rows inserted rows per transaction (as many as one registration), $CLIENTS clients, ${SECONDS_}s"
{ echo "BEGIN;"; for _ in $(seq 1 "$rows"); do echo "INSERT INTO bench_rows (payload) VALUES (md5(random()::text));"; done; echo "COMMIT;"; } >"$WORK/rows.sql"
pg2=$(pgbench -n -c "$CLIENTS" -j 2 -T "$SECONDS_" -f "$WORK/rows.sql" "$DBURL" 2>&1 | grep -E '^tps' | head -1)
tps2=$(echo "$pg2" | sed -E 's/^tps = ([0-9.]+).*/\1/')
ratio2=$(awk -v a="$rps" -v b="$tps2" 'BEGIN { printf "%.1f", 100 * a / b }')
echo "rows    one registration inserts $rows rows; pgbench with $rows rows per transaction: ${tps2} TPS; Loket = ${ratio2}% of that"
