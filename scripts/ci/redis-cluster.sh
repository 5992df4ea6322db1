#!/usr/bin/env bash
# A Redis Cluster of three primaries and three replicas on loopback ports
# BASE..BASE+5 (default 7000), data in DIR. Idempotent: a cluster already
# answering on BASE is left alone. Prints the URL for LOKET_REDIS_URL.
#   scripts/ci/redis-cluster.sh [start|stop] [BASE] [DIR]
# Used by .ci/run (the shared cluster of the cache tests) and by tests that
# kill a primary (a private cluster on other ports, testenv.StartRedisCluster).
set -euo pipefail
CMD=${1:-start}
BASE=${2:-7000}
DIR=${3:-/var/lib/loket-ci/redis-cluster-$BASE}
PORTS=$(seq "$BASE" $((BASE + 5)))

if [ "$CMD" = stop ]; then
  for p in $PORTS; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done
  exit 0
fi

if ! command -v redis-server >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

url() {
  echo "redis://127.0.0.1:$BASE?addr=127.0.0.1:$((BASE + 1))&addr=127.0.0.1:$((BASE + 2))"
}

if redis-cli -p "$BASE" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; then
  url; exit 0
fi

mkdir -p "$DIR"
for p in $PORTS; do
  if ! redis-cli -p "$p" ping >/dev/null 2>&1; then
    mkdir -p "$DIR/$p"
    rm -f "$DIR/$p/nodes.conf"
    # A short node timeout: a killed primary is replaced within seconds.
    redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes \
      --cluster-config-file "$DIR/$p/nodes.conf" --cluster-node-timeout 1000 \
      --cluster-replica-validity-factor 0 \
      --save "" --appendonly no --dir "$DIR/$p" --daemonize yes \
      --logfile "$DIR/$p/redis.log" --pidfile "$DIR/$p/redis.pid"
  fi
done
for p in $PORTS; do
  for _ in $(seq 1 50); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
done
nodes=""
for p in $PORTS; do nodes="$nodes 127.0.0.1:$p"; done
# shellcheck disable=SC2086
redis-cli --cluster create $nodes --cluster-replicas 1 --cluster-yes >"$DIR/create.log" 2>&1 || {
  cat "$DIR/create.log" >&2; exit 1
}
for _ in $(seq 1 100); do
  ok=1
  for p in $PORTS; do
    redis-cli -p "$p" cluster info | grep -q 'cluster_state:ok' || ok=0
  done
  [ "$ok" = 1 ] && break
  sleep 0.1
done
redis-cli -p "$BASE" cluster info | grep -q 'cluster_state:ok' || { echo "cluster did not get ready" >&2; exit 1; }
# Every replica has its primary's data, so it can take over at once.
for p in $PORTS; do
  for _ in $(seq 1 100); do
    info=$(redis-cli -p "$p" info replication)
    echo "$info" | grep -q 'role:master' && break
    echo "$info" | grep -q 'master_link_status:up' && break
    sleep 0.1
  done
done
url
