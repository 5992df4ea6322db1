package cache

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Instrument wraps c so every operation is counted in
// loket_cache_operations_total{backend, op, result}: result is hit or miss
// for get, ok or error otherwise. Both backends are wrapped the same way, so
// the numbers of the embedded and the Redis deployment compare. Keys never
// become labels (they can name a session or an address).
func Instrument(c Cache, reg prometheus.Registerer) Cache {
	ops := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "loket_cache_operations_total",
		Help: "Cache operations by backend (memory|redis), operation and result (get: hit|miss|error; others: ok|error).",
	}, []string{"backend", "op", "result"})
	if reg != nil {
		reg.MustRegister(ops)
	}
	kind := c.Kind()
	for _, r := range []string{resultHit, resultMiss, resultError} {
		ops.WithLabelValues(kind, "get", r)
	}
	return &instrumented{Cache: c, ops: ops, kind: kind}
}

const (
	resultHit   = "hit"
	resultMiss  = "miss"
	resultOK    = "ok"
	resultError = "error"
)

type instrumented struct {
	Cache
	ops  *prometheus.CounterVec
	kind string
}

func (i *instrumented) count(op string, err error) {
	r := resultOK
	if err != nil {
		r = resultError
	}
	i.ops.WithLabelValues(i.kind, op, r).Inc()
}

func (i *instrumented) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, found, err := i.Cache.Get(ctx, key)
	switch {
	case err != nil:
		i.ops.WithLabelValues(i.kind, "get", resultError).Inc()
	case found:
		i.ops.WithLabelValues(i.kind, "get", resultHit).Inc()
	default:
		i.ops.WithLabelValues(i.kind, "get", resultMiss).Inc()
	}
	return v, found, err
}

func (i *instrumented) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	err := i.Cache.Set(ctx, key, value, ttl)
	i.count("set", err)
	return err
}

func (i *instrumented) Delete(ctx context.Context, keys ...string) error {
	err := i.Cache.Delete(ctx, keys...)
	i.count("delete", err)
	return err
}

func (i *instrumented) DeletePrefix(ctx context.Context, prefix string) error {
	err := i.Cache.DeletePrefix(ctx, prefix)
	i.count("delete_prefix", err)
	return err
}

func (i *instrumented) Incr(ctx context.Context, key string) (int64, error) {
	n, err := i.Cache.Incr(ctx, key)
	i.count("incr", err)
	return n, err
}

func (i *instrumented) IncrExpire(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	n, err := i.Cache.IncrExpire(ctx, key, ttl)
	i.count("incr", err)
	return n, err
}

func (i *instrumented) Publish(ctx context.Context, channel string, message []byte) error {
	err := i.Cache.Publish(ctx, channel, message)
	i.count("publish", err)
	return err
}

// Dropped reports the wrapped backend's lost pub/sub messages, if it counts them.
func (i *instrumented) Dropped() uint64 {
	if d, ok := i.Cache.(interface{ Dropped() uint64 }); ok {
		return d.Dropped()
	}
	return 0
}
