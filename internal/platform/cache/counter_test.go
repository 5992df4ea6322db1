package cache_test

import (
	"context"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/cache"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
)

// TestWindowCounter: max events per key and window, counted apart per key;
// the next window of the clock starts afresh, and a refusal says how long to
// wait.
func TestWindowCounter(t *testing.T) {
	ctx := context.Background()
	for name, c := range map[string]cache.Cache{"memory": cache.NewMemory(), "redis": newRedis(t)} {
		t.Run(name, func(t *testing.T) {
			clk := clock.NewFixed(time.Date(2027, 1, 11, 9, 10, 0, 0, time.UTC))
			w := cache.NewWindowCounter(c, clk, "test:"+t.Name()+":", time.Hour, 3)
			for i := range 3 {
				if ok, _, err := w.Take(ctx, "a"); !ok || err != nil {
					t.Fatalf("event %d refused (%v)", i+1, err)
				}
			}
			ok, retry, err := w.Take(ctx, "a")
			if ok || err != nil || retry != 50*time.Minute {
				t.Errorf("fourth event: ok %v, retry %v, err %v; want refused for 50 minutes", ok, retry, err)
			}
			if ok, _, _ := w.Take(ctx, "b"); !ok {
				t.Error("another key shares the count")
			}
			clk.Advance(50 * time.Minute)
			if ok, _, _ := w.Take(ctx, "a"); !ok {
				t.Error("the next window is still limited")
			}
		})
	}
}
