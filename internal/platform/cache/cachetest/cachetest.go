// Package cachetest is the conformance suite every cache.Cache implementation
// must pass, so the embedded and the Redis deployment behave the same.
package cachetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/cache"
)

// waitFor bounds every "eventually" loop; generous so a loaded CI machine does
// not flake, while a passing run never waits anywhere near it.
const waitFor = 3 * time.Second

// Run runs the conformance suite. newCache must return a new, empty cache on
// every call, each in its own namespace (for Redis: a unique prefix), and
// arrange for it to be closed and its keys removed when t ends. Subtests run
// in parallel.
func Run(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	tests := []struct {
		name string
		fn   func(t *testing.T, newCache func(t *testing.T) cache.Cache)
	}{
		{"GetSetMiss", testGetSetMiss},
		{"Overwrite", testOverwrite},
		{"TTL", testTTL},
		{"NegativeTTL", testNegativeTTL},
		{"Delete", testDelete},
		{"Incr", testIncr},
		{"ConcurrentIncr", testConcurrentIncr},
		{"IncrExpire", testIncrExpire},
		{"DeletePrefix", testDeletePrefix},
		{"PrefixIsolation", testPrefixIsolation},
		{"PubSub", testPubSub},
		{"SubscribeContext", testSubscribeContext},
		{"SlowSubscriber", testSlowSubscriber},
		{"PingKind", testPingKind},
		{"CanceledContext", testCanceledContext},
		{"Close", testClose},
		{"FiberStorage", testFiberStorage},
		{"FiberStorageReset", testFiberStorageReset},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newCache)
		})
	}
}

// --- helpers ---

func mustSet(t *testing.T, c cache.Cache, key string, value []byte, ttl time.Duration) {
	t.Helper()
	if err := c.Set(t.Context(), key, value, ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

// wantValue asserts key holds want.
func wantValue(t *testing.T, c cache.Cache, key string, want []byte) {
	t.Helper()
	got, found, err := c.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if !found {
		t.Fatalf("Get(%q): not found, want %q", key, want)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}

// wantMissing asserts key is absent.
func wantMissing(t *testing.T, c cache.Cache, key string) {
	t.Helper()
	got, found, err := c.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if found || got != nil {
		t.Fatalf("Get(%q) = %q, found=%v; want nil, not found", key, got, found)
	}
}

func present(t *testing.T, c cache.Cache, key string) bool {
	t.Helper()
	_, found, err := c.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return found
}

// eventually polls cond until it holds or waitFor passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", waitFor, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// recv returns the next message or fails the test.
func recv(t *testing.T, ch <-chan []byte, who string) []byte {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatalf("%s: channel closed, want a message", who)
		}
		return m
	case <-time.After(waitFor):
		t.Fatalf("%s: no message within %s", who, waitFor)
		return nil
	}
}

func wantMessages(t *testing.T, ch <-chan []byte, who string, want ...string) {
	t.Helper()
	for _, w := range want {
		if got := recv(t, ch, who); string(got) != w {
			t.Fatalf("%s received %q, want %q", who, got, w)
		}
	}
}

// wantClosed drains ch and fails unless it is closed in time; it returns what
// was still buffered.
func wantClosed(t *testing.T, ch <-chan []byte, who string) [][]byte {
	t.Helper()
	var rest [][]byte
	timeout := time.After(waitFor)
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				return rest
			}
			rest = append(rest, m)
		case <-timeout:
			t.Fatalf("%s: channel not closed within %s", who, waitFor)
		}
	}
}

func subscribe(t *testing.T, ctx context.Context, c cache.Cache, channel string) (<-chan []byte, func()) {
	t.Helper()
	ch, stop, err := c.Subscribe(ctx, channel)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", channel, err)
	}
	t.Cleanup(stop)
	return ch, stop
}

func publish(t *testing.T, c cache.Cache, channel, msg string) {
	t.Helper()
	if err := c.Publish(t.Context(), channel, []byte(msg)); err != nil {
		t.Fatalf("Publish(%q, %q): %v", channel, msg, err)
	}
}

// --- tests ---

func testGetSetMiss(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	c := newCache(t)
	wantMissing(t, c, "missing")

	// Binary-safe, including NUL and invalid UTF-8.
	orig := []byte("hello\x00\xffwörld")
	val := slices.Clone(orig)
	mustSet(t, c, "k", val, 0)
	wantValue(t, c, "k", orig)

	// Neither the caller's slice nor a returned slice may alias the stored value.
	val[0] = 'X'
	wantValue(t, c, "k", orig)
	got, _, _ := c.Get(t.Context(), "k")
	got[0] = 'Y'
	wantValue(t, c, "k", orig)

	// An empty value is a hit, not a miss.
	mustSet(t, c, "empty", []byte{}, 0)
	wantValue(t, c, "empty", []byte{})
	mustSet(t, c, "nil", nil, 0)
	wantValue(t, c, "nil", []byte{})

	// Keys are opaque strings.
	odd := "a b:ü/*?[x]\\\x00"
	mustSet(t, c, odd, []byte("odd"), 0)
	wantValue(t, c, odd, []byte("odd"))
	wantMissing(t, c, "a b:ü/")
}

func testOverwrite(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	c := newCache(t)
	mustSet(t, c, "k", []byte("first-long-value"), 0)
	mustSet(t, c, "k", []byte("v2"), 0)
	wantValue(t, c, "k", []byte("v2"))
	mustSet(t, c, "k", []byte("x"), 0)
	wantValue(t, c, "k", []byte("x"))
}

func testTTL(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	c := newCache(t)
	const ttl = 120 * time.Millisecond
	start := time.Now()
	mustSet(t, c, "short", []byte("s"), ttl)
	// Overwriting without TTL must clear the earlier TTL (Redis SET semantics).
	mustSet(t, c, "persist", []byte("p1"), ttl)
	mustSet(t, c, "persist", []byte("p2"), 0)
	// Incr must keep an existing TTL (Redis INCR semantics).
	mustSet(t, c, "counter", []byte("5"), ttl)
	if n, err := c.Incr(t.Context(), "counter"); err != nil || n != 6 {
		t.Fatalf("Incr(counter) = %d, %v; want 6", n, err)
	}
	// Overwriting with a longer TTL must replace the short one.
	mustSet(t, c, "extended", []byte("e1"), ttl)
	mustSet(t, c, "extended", []byte("e2"), time.Hour)

	if !present(t, c, "short") && time.Since(start) < ttl {
		t.Fatalf("short expired after %s, before its ttl %s", time.Since(start), ttl)
	}

	var goneAfter time.Duration
	eventually(t, "short to expire", func() bool {
		if present(t, c, "short") {
			return false
		}
		goneAfter = time.Since(start)
		return true
	})
	// A little slack for clock granularity; start was taken before Set.
	if goneAfter < ttl-5*time.Millisecond {
		t.Fatalf("short gone after %s, before its ttl %s", goneAfter, ttl)
	}
	eventually(t, "incremented counter to expire", func() bool { return !present(t, c, "counter") })

	// By now the first TTLs of persist and extended have long passed.
	wantValue(t, c, "persist", []byte("p2"))
	wantValue(t, c, "extended", []byte("e2"))
}

func testNegativeTTL(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	c := newCache(t)
	if err := c.Set(t.Context(), "neg", []byte("v"), -time.Second); err == nil {
		t.Fatal("Set with negative ttl: want error")
	}
	wantMissing(t, c, "neg")
}

func testDelete(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	c := newCache(t)
	for _, k := range []string{"a", "b", "c"} {
		mustSet(t, c, k, []byte(k), 0)
	}
	if err := c.Delete(t.Context(), "a", "b", "never-set"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantMissing(t, c, "a")
	wantMissing(t, c, "b")
	wantValue(t, c, "c", []byte("c"))
	if err := c.Delete(t.Context()); err != nil {
		t.Fatalf("Delete() with no keys: %v", err)
	}
	wantValue(t, c, "c", []byte("c"))
}

func testIncr(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	c := newCache(t)
	ctx := t.Context()
	for want := int64(1); want <= 2; want++ {
		n, err := c.Incr(ctx, "fresh")
		if err != nil || n != want {
			t.Fatalf("Incr(fresh) = %d, %v; want %d", n, err, want)
		}
	}
	// Counters are stored as decimal text, interoperable with Get/Set.
	wantValue(t, c, "fresh", []byte("2"))

	mustSet(t, c, "set", []byte("41"), 0)
	if n, err := c.Incr(ctx, "set"); err != nil || n != 42 {
		t.Fatalf("Incr(set) = %d, %v; want 42", n, err)
	}
	mustSet(t, c, "neg", []byte("-5"), 0)
	if n, err := c.Incr(ctx, "neg"); err != nil || n != -4 {
		t.Fatalf("Incr(neg) = %d, %v; want -4", n, err)
	}

	mustSet(t, c, "text", []byte("abc"), 0)
	if n, err := c.Incr(ctx, "text"); err == nil {
		t.Fatalf("Incr(text) = %d, nil; want error", n)
	}
	wantValue(t, c, "text", []byte("abc"))

	mustSet(t, c, "max", []byte(strconv.FormatInt(1<<63-1, 10)), 0)
	if n, err := c.Incr(ctx, "max"); err == nil {
		t.Fatalf("Incr(max int64) = %d, nil; want overflow error", n)
	}
}

func testConcurrentIncr(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	c := newCache(t)
	const n = 100
	results := make([]int64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i], errs[i] = c.Incr(t.Context(), "hits") })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("Incr: %v", err)
	}
	// Atomic increments hand out every value exactly once.
	slices.Sort(results)
	for i, r := range results {
		if r != int64(i+1) {
			t.Fatalf("sorted Incr results[%d] = %d, want %d (results %v)", i, r, i+1, results)
		}
	}
	wantValue(t, c, "hits", []byte(strconv.Itoa(n)))
}

// testIncrExpire: the key an increment creates gets the TTL, at once and
// under concurrency (no increment lost, no counter without expiry); an
// existing key keeps its TTL.
func testIncrExpire(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	c := newCache(t)
	ctx := t.Context()
	const n = 200
	results := make([]int64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i], errs[i] = c.IncrExpire(ctx, "burst", time.Hour) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("IncrExpire: %v", err)
	}
	slices.Sort(results)
	for i, r := range results {
		if r != int64(i+1) {
			t.Fatalf("sorted IncrExpire results[%d] = %d, want %d", i, r, i+1)
		}
	}
	wantValue(t, c, "burst", []byte(strconv.Itoa(n)))

	// A later increment does not extend the first one's TTL. On a slow
	// machine (-race, a loaded CI) the short TTL may run out between the
	// two calls: then try again with a new key.
	for i := 0; ; i++ {
		key := "short-" + strconv.Itoa(i)
		first, err := c.IncrExpire(ctx, key, 500*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		second, err := c.IncrExpire(ctx, key, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if first == 1 && second == 2 {
			eventually(t, "the counter to expire with its first TTL", func() bool { return !present(t, c, key) })
			if got, err := c.IncrExpire(ctx, key, time.Hour); err != nil || got != 1 {
				t.Fatalf("after expiry: %d %v; want 1", got, err)
			}
			break
		}
		if i == 10 {
			t.Fatalf("two increments 500 ms apart never met: %d, %d", first, second)
		}
	}
	if _, err := c.IncrExpire(ctx, "bad", 0); err == nil {
		t.Error("IncrExpire with ttl 0: want an error")
	}
}

func testDeletePrefix(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	c := newCache(t)
	ctx := t.Context()
	keep := []string{"userx", "x:user:1", "other:1", "aXb:1", "x:1", "b:1", "use"}
	drop := []string{"user:1", "user:2", "user:sub:3"}
	for _, k := range append(slices.Clone(keep), drop...) {
		mustSet(t, c, k, []byte(k), 0)
	}
	if err := c.DeletePrefix(ctx, "user:"); err != nil {
		t.Fatalf("DeletePrefix(user:): %v", err)
	}
	for _, k := range drop {
		wantMissing(t, c, k)
	}
	for _, k := range keep {
		wantValue(t, c, k, []byte(k))
	}

	// Glob metacharacters in a prefix are literal.
	for _, tc := range []struct{ prefix, target string }{
		{"a*b:", "a*b:1"},
		{"[x]:", "[x]:1"},
		{"a?b:", "a?b:1"},
		{`b\`, `b\:1`},
	} {
		mustSet(t, c, tc.target, []byte("v"), 0)
		if err := c.DeletePrefix(ctx, tc.prefix); err != nil {
			t.Fatalf("DeletePrefix(%q): %v", tc.prefix, err)
		}
		wantMissing(t, c, tc.target)
		for _, k := range keep {
			wantValue(t, c, k, []byte(k))
		}
	}

	// More keys than one SCAN batch, some with a TTL.
	const bulk = 1200
	for i := range bulk {
		ttl := time.Duration(0)
		if i%2 == 0 {
			ttl = time.Hour
		}
		mustSet(t, c, fmt.Sprintf("bulk:%d", i), []byte("v"), ttl)
	}
	if err := c.DeletePrefix(ctx, "bulk:"); err != nil {
		t.Fatalf("DeletePrefix(bulk:): %v", err)
	}
	for i := range bulk {
		if present(t, c, fmt.Sprintf("bulk:%d", i)) {
			t.Fatalf("bulk:%d survived DeletePrefix", i)
		}
	}

	// "" clears the whole cache.
	if err := c.DeletePrefix(ctx, ""); err != nil {
		t.Fatalf(`DeletePrefix(""): %v`, err)
	}
	for _, k := range keep {
		wantMissing(t, c, k)
	}
}

func testPrefixIsolation(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	a, b := newCache(t), newCache(t)
	ctx := t.Context()

	mustSet(t, a, "shared", []byte("A"), 0)
	wantMissing(t, b, "shared")
	mustSet(t, b, "shared", []byte("B"), 0)
	wantValue(t, a, "shared", []byte("A"))
	wantValue(t, b, "shared", []byte("B"))

	if _, err := a.Incr(ctx, "n"); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Incr(ctx, "n"); err != nil || n != 1 {
		t.Fatalf("b.Incr(n) = %d, %v; want 1 (a's counter must not leak)", n, err)
	}

	if err := b.DeletePrefix(ctx, ""); err != nil {
		t.Fatal(err)
	}
	wantMissing(t, b, "shared")
	wantValue(t, a, "shared", []byte("A"))
	if err := b.Delete(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	wantValue(t, a, "shared", []byte("A"))

	// Messages: a's subscriber is the positive control. Once it has seen
	// a's message, the message has been fanned out everywhere it will go, so
	// b's first message must be b's own sentinel.
	chA, _ := subscribe(t, ctx, a, "events")
	chB, _ := subscribe(t, ctx, b, "events")
	publish(t, a, "events", "from-a")
	wantMessages(t, chA, "a's subscriber", "from-a")
	publish(t, b, "events", "from-b")
	wantMessages(t, chB, "b's subscriber", "from-b")
	publish(t, a, "events", "from-a-again")
	wantMessages(t, chA, "a's subscriber", "from-a-again")
}

func testPubSub(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	c := newCache(t)
	ctx := t.Context()
	s1, stop1 := subscribe(t, ctx, c, "events")
	s2, _ := subscribe(t, ctx, c, "events")
	other, _ := subscribe(t, ctx, c, "other")

	publish(t, c, "events", "m1")
	publish(t, c, "events", "m2")
	// The publisher's buffer may be reused once Publish returns.
	buf := []byte("m3")
	if err := c.Publish(ctx, "events", buf); err != nil {
		t.Fatal(err)
	}
	buf[0] = 'X'
	wantMessages(t, s1, "subscriber 1", "m1", "m2", "m3")
	wantMessages(t, s2, "subscriber 2", "m1", "m2", "m3")

	// Subscribers own their messages: mutating one copy must not affect others.
	publish(t, c, "events", "m4")
	got1 := recv(t, s1, "subscriber 1")
	got1[0] = 'Z'
	wantMessages(t, s2, "subscriber 2", "m4")

	// Nothing published on "events" reached "other": its first message is
	// the one sent to it after all the others were delivered.
	publish(t, c, "other", "sentinel")
	wantMessages(t, other, "other-channel subscriber", "sentinel")

	// After stop returns the channel is closed and gets nothing more.
	stop1()
	stop1() // idempotent
	if rest := wantClosed(t, s1, "stopped subscriber"); len(rest) != 0 {
		t.Fatalf("stopped subscriber still had %q", rest)
	}
	publish(t, c, "events", "after-stop")
	wantMessages(t, s2, "subscriber 2", "after-stop")
}

func testSubscribeContext(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	c := newCache(t)
	ctx, cancel := context.WithCancel(t.Context())
	ch, _ := subscribe(t, ctx, c, "events")
	publish(t, c, "events", "before-cancel")
	wantMessages(t, ch, "subscriber", "before-cancel")
	cancel()
	wantClosed(t, ch, "subscriber after ctx cancel")

	if _, _, err := c.Subscribe(ctx, "events"); err == nil {
		t.Fatal("Subscribe with a cancelled context: want error")
	}
}

// dropper is implemented by backends that count dropped messages.
type dropper interface{ Dropped() uint64 }

func testSlowSubscriber(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	c := newCache(t)
	ctx := t.Context()
	slow, _ := subscribe(t, ctx, c, "flood")

	// Far more than any subscriber buffer, while nobody reads: Publish must
	// neither block nor fail.
	const n = 1000
	published := make(chan error, 1)
	go func() {
		for i := range n {
			if err := c.Publish(ctx, "flood", []byte(strconv.Itoa(i))); err != nil {
				published <- err
				return
			}
		}
		published <- nil
	}()
	select {
	case err := <-published:
		if err != nil {
			t.Fatalf("Publish during flood: %v", err)
		}
	case <-time.After(waitFor):
		t.Fatalf("Publish blocked on a stalled subscriber: %d messages not sent within %s", n, waitFor)
	}

	// The stalled subscriber kept the start of the flood, in order.
	wantMessages(t, slow, "slow subscriber", "0", "1", "2")
	if d, ok := c.(dropper); ok {
		eventually(t, "drops to be counted", func() bool { return d.Dropped() > 0 })
	}

	// It lost some of the rest but still works: drain it and publish a
	// marker until the marker comes through (with Redis, flood messages may
	// still be in flight and take the freed slots at first).
	received := 3
	deadline := time.Now().Add(waitFor)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("slow subscriber never received a fresh message after the flood (got %d flood messages)", received)
		}
		publish(t, c, "flood", "fresh")
		gotFresh := false
		timeout := time.After(50 * time.Millisecond)
	drain:
		for {
			select {
			case m, ok := <-slow:
				if !ok {
					t.Fatal("slow subscriber's channel closed")
				}
				if string(m) == "fresh" {
					gotFresh = true
				} else {
					received++
				}
			case <-timeout:
				break drain
			}
		}
		if gotFresh {
			break
		}
	}
	if received >= n {
		t.Fatalf("slow subscriber received all %d flood messages; expected drops", received)
	}
}

func testPingKind(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	c := newCache(t)
	if err := c.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if k := c.Kind(); k != cache.KindMemory && k != cache.KindRedis {
		t.Fatalf("Kind() = %q, want %q or %q", k, cache.KindMemory, cache.KindRedis)
	}
}

func testCanceledContext(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	c := newCache(t)
	mustSet(t, c, "k", []byte("v"), 0)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with cancelled context: err = %v, want context.Canceled", op, err)
		}
	}
	_, _, err := c.Get(ctx, "k")
	check("Get", err)
	check("Set", c.Set(ctx, "k", []byte("changed"), 0))
	check("Delete", c.Delete(ctx, "k"))
	_, err = c.Incr(ctx, "n")
	check("Incr", err)
	check("Publish", c.Publish(ctx, "ch", []byte("m")))
	check("Ping", c.Ping(ctx))
	check("DeletePrefix", c.DeletePrefix(ctx, ""))
	// Nothing happened.
	wantValue(t, c, "k", []byte("v"))
	wantMissing(t, c, "n")
}

func testClose(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	c := newCache(t)
	ctx := t.Context()
	mustSet(t, c, "k", []byte("v"), 0)
	ch, _, err := c.Subscribe(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wantClosed(t, ch, "subscriber after Close")

	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, cache.ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", op, err)
		}
	}
	_, found, err := c.Get(ctx, "k")
	check("Get", err)
	if found {
		t.Error("Get after Close reported found")
	}
	check("Set", c.Set(ctx, "k", []byte("v"), 0))
	check("Delete", c.Delete(ctx, "k"))
	check("DeletePrefix", c.DeletePrefix(ctx, ""))
	_, err = c.Incr(ctx, "n")
	check("Incr", err)
	check("Publish", c.Publish(ctx, "events", []byte("m")))
	_, _, err = c.Subscribe(ctx, "events")
	check("Subscribe", err)
	check("Ping", c.Ping(ctx))

	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// fiberStorage is the method set of fiber.Storage, restated so this package
// does not depend on Fiber.
type fiberStorage interface {
	Get(key string) ([]byte, error)
	Set(key string, val []byte, exp time.Duration) error
	Delete(key string) error
	Reset() error
	Close() error
}

var _ fiberStorage = (*cache.Storage)(nil)

func testFiberStorage(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	c := newCache(t)
	s := cache.FiberStorage(c, "sess:")

	v, err := s.Get("missing")
	if v != nil || err != nil {
		t.Fatalf("Get(missing) = %q, %v; want nil, nil", v, err)
	}
	if err := s.Set("abc", []byte("data"), 0); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if v, err := s.Get("abc"); err != nil || string(v) != "data" {
		t.Fatalf("Get(abc) = %q, %v; want data", v, err)
	}
	// The adapter's keys live under its prefix in the cache.
	wantValue(t, c, "sess:abc", []byte("data"))
	wantMissing(t, c, "abc")

	// Fiber's contract: empty key or value is ignored without error.
	if err := s.Set("", []byte("x"), 0); err != nil {
		t.Fatalf("Set(empty key): %v", err)
	}
	wantMissing(t, c, "sess:")
	if err := s.Set("empty", nil, 0); err != nil {
		t.Fatalf("Set(empty value): %v", err)
	}
	wantMissing(t, c, "sess:empty")

	if err := s.Delete("abc"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if v, err := s.Get("abc"); v != nil || err != nil {
		t.Fatalf("Get after Delete = %q, %v; want nil, nil", v, err)
	}
	if err := s.Delete("never-set"); err != nil {
		t.Fatalf("Delete(missing): %v", err)
	}

	if err := s.Set("short", []byte("x"), 80*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	eventually(t, "storage key to expire", func() bool {
		v, err := s.Get("short")
		if err != nil {
			t.Fatal(err)
		}
		return v == nil
	})

	// Close releases nothing shared: the cache keeps working.
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Ping(t.Context()); err != nil {
		t.Fatalf("cache unusable after storage Close: %v", err)
	}
}

func testFiberStorageReset(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	c := newCache(t)
	sess := cache.FiberStorage(c, "sess:")
	limiter := cache.FiberStorage(c, "limiter:")
	for _, k := range []string{"a", "b", "c"} {
		if err := sess.Set(k, []byte("s-"+k), 0); err != nil {
			t.Fatal(err)
		}
		if err := limiter.Set(k, []byte("l-"+k), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	mustSet(t, c, "sessx", []byte("unrelated"), 0)

	if err := sess.Reset(); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	for _, k := range []string{"a", "b", "c"} {
		if v, err := sess.Get(k); v != nil || err != nil {
			t.Fatalf("sess.Get(%q) after Reset = %q, %v; want nil, nil", k, v, err)
		}
		if v, err := limiter.Get(k); err != nil || string(v) != "l-"+k {
			t.Fatalf("limiter.Get(%q) after sess.Reset = %q, %v; want %q", k, v, err, "l-"+k)
		}
	}
	wantValue(t, c, "sessx", []byte("unrelated"))
}
