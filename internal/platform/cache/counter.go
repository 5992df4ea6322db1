package cache

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/clock"
)

// WindowCounter counts events per key in fixed windows of the clock (a rate
// limit), in a Cache: with Redis every replica shares the counts. The key of a
// count holds its window number, read from the injectable clock, so a limit
// ends when the clock enters the next window; the TTL only cleans up.
//
// The Cache has no "increment and set a TTL if new", so the first event of a
// window sets the TTL by writing "1" after incrementing: events counted by
// other replicas in that instant are lost once per window, never more.
type WindowCounter struct {
	c      Cache
	clock  clock.Clock
	prefix string
	window time.Duration
	max    int64
}

// NewWindowCounter allows max events per key in each window; prefix names
// the counter's keys (e.g. "ratelimit:register:").
func NewWindowCounter(c Cache, clk clock.Clock, prefix string, window time.Duration, max int) *WindowCounter {
	if window <= 0 || max <= 0 {
		panic("cache: a window counter needs a positive window and maximum")
	}
	return &WindowCounter{c: c, clock: clk, prefix: prefix, window: window, max: int64(max)}
}

// Take counts one event for key. It reports whether the event is within the
// limit and, when it is not, how long until the window ends.
func (w *WindowCounter) Take(ctx context.Context, key string) (ok bool, retry time.Duration, err error) {
	now := w.clock.Now()
	n := now.UnixNano() / int64(w.window)
	k := w.prefix + key + ":" + strconv.FormatInt(n, 10)
	count, err := w.c.Incr(ctx, k)
	if err != nil {
		return false, 0, fmt.Errorf("cache: count %s: %w", w.prefix, err)
	}
	if count == 1 {
		if err := w.c.Set(ctx, k, []byte("1"), 2*w.window); err != nil {
			return false, 0, fmt.Errorf("cache: count %s: %w", w.prefix, err)
		}
	}
	if count <= w.max {
		return true, 0, nil
	}
	end := time.Unix(0, (n+1)*int64(w.window))
	return false, end.Sub(now), nil
}
