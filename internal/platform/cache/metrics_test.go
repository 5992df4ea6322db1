package cache_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/loket-kinderopvang/loket/internal/platform/cache"
	"github.com/loket-kinderopvang/loket/internal/platform/cache/cachetest"
)

// The wrapper must keep the cache's behaviour exactly.
func TestInstrumentedConforms(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) cache.Cache {
		c := cache.Instrument(cache.NewMemory(), prometheus.NewRegistry())
		t.Cleanup(func() { _ = c.Close() })
		return c
	})
}

func TestInstrumentCountsHitsMissesAndErrors(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	c := cache.Instrument(cache.NewMemory(), reg)
	if err := c.Set(ctx, "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"k", "k", "absent"} {
		if _, _, err := c.Get(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.Close()
	if _, _, err := c.Get(ctx, "k"); err == nil {
		t.Fatal("get after close: want an error")
	}
	want := map[[2]string]float64{{"get", "hit"}: 2, {"get", "miss"}: 1, {"get", "error"}: 1, {"set", "ok"}: 1}
	ops, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 1 || ops[0].GetName() != "loket_cache_operations_total" {
		t.Fatalf("gathered %v", ops)
	}
	for key, n := range want {
		got := 0.0
		for _, m := range ops[0].GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["backend"] == "memory" && labels["op"] == key[0] && labels["result"] == key[1] {
				got = m.GetCounter().GetValue()
			}
		}
		if got != n {
			t.Errorf("%s/%s = %v, want %v", key[0], key[1], got, n)
		}
	}
	if n := testutil.CollectAndCount(reg, "loket_cache_operations_total"); n < 4 {
		t.Errorf("%d series, want at least 4", n)
	}
}
