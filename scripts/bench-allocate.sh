#!/usr/bin/env bash
# bench-allocate.sh: the whole `loket allocate solve` process against its goals
# (issue 15): 100,000 children x 5 preferences x 10,000 programmes in < 1.5 s and
# < 400 MB; 1,000,000 x 10 x 50,000 in < 15 s and < 2 GB, wall time and maximum
# resident set size by /usr/bin/time -v; then, in the same run, the engine's own
# benchmark (BenchmarkSolve100k, BenchmarkSolve1M: solve only, instance in memory).
#
# The instance files are generated once (loket allocate generate, seed 2026,
# about 12 MB and 165 MB) into BENCH_DIR, outside the repository, and reused.
#
# Settings (environment):
#   BENCH_DIR=/tmp/loket-bench-allocate   instances and results
#   BENCH_SIZES="100k 1m"                 which sizes to run
#   BENCH_EXPLAIN=none                    --explain for solve (none, all, ids)
#   BENCH_ENGINE=1                        0 skips the Go benchmark
set -euo pipefail

cd "$(dirname "$0")/.."

DIR=${BENCH_DIR:-/tmp/loket-bench-allocate}
SIZES=${BENCH_SIZES:-100k 1m}
EXPLAIN=${BENCH_EXPLAIN:-none}
mkdir -p "$DIR"

if [[ ! -x /usr/bin/time ]]; then
	echo "bench-allocate: /usr/bin/time is missing (apt-get install time)" >&2
	exit 1
fi

echo "== build"
go build -o "$DIR/loket" ./cmd/loket

declare -A ARGS=(
	[100k]="--children 100000 --preferences 5 --programmes 10000"
	[1m]="--children 1000000 --preferences 10 --programmes 50000"
)
declare -A GOAL_S=([100k]=1.5 [1m]=15)
declare -A GOAL_MB=([100k]=400 [1m]=2048)

summary=()
for size in $SIZES; do
	in="$DIR/instance-$size.json"
	if [[ ! -s $in ]]; then
		echo "== generate $size"
		# shellcheck disable=SC2086
		"$DIR/loket" allocate generate ${ARGS[$size]} --seed 2026 --out "$in.tmp"
		mv "$in.tmp" "$in"
	fi
	echo "== solve $size ($(du -h "$in" | cut -f1) input), load average $(cut -d' ' -f1-3 /proc/loadavg)"
	/usr/bin/time -v "$DIR/loket" allocate solve --in "$in" --out "$DIR/result-$size.json" --explain "$EXPLAIN" 2>"$DIR/time-$size.txt" || {
		cat "$DIR/time-$size.txt" >&2
		exit 1
	}
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$DIR/time-$size.txt")
	rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$DIR/time-$size.txt")
	secs=$(awk -v t="$wall" 'BEGIN { n = split(t, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }')
	cpu=$(awk '/User time \(seconds\)|System time \(seconds\)/ { s += $NF } END { printf "%.2f", s }' "$DIR/time-$size.txt")
	share=$(sed -n 's/.*Percent of CPU this job got: //p' "$DIR/time-$size.txt")
	mb=$((rss_kb / 1024))
	verdict=$(awk -v s="$secs" -v m="$mb" -v gs="${GOAL_S[$size]}" -v gm="${GOAL_MB[$size]}" 'BEGIN { print (s < gs && m < gm) ? "met" : "NOT met" }')
	summary+=("solve $size: ${secs} s wall, ${cpu} s CPU (user+sys, ${share} of one core), ${mb} MB max RSS (goal < ${GOAL_S[$size]} s, < ${GOAL_MB[$size]} MB: $verdict); result $(du -h "$DIR/result-$size.json" | cut -f1)")
done

if [[ ${BENCH_ENGINE:-1} == 1 ]]; then
	echo "== engine benchmark, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	go test -run '^$' -bench 'BenchmarkSolve(100k|1M)$' -benchtime 3x -benchmem ./internal/allocation/ | tee "$DIR/engine-bench.txt"
	while read -r name _ ns _ bytes _ allocs _; do
		summary+=("engine $name: $(awk -v n="$ns" 'BEGIN { printf "%.3f", n / 1e9 }') s/op, $((bytes / 1048576)) MB/op, $allocs allocs/op")
	done < <(grep '^BenchmarkSolve' "$DIR/engine-bench.txt")
fi

echo
echo "== summary ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%s\n' "${summary[@]}"
