package cache_test

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/loket-kinderopvang/loket/internal/platform/cache"
	"github.com/loket-kinderopvang/loket/internal/platform/cache/cachetest"
	"github.com/loket-kinderopvang/loket/internal/platform/testenv"
)

// The adapter must satisfy Fiber's real interface, not just our restatement.
var _ fiber.Storage = (*cache.Storage)(nil)

var (
	_ cache.Cache = (*cache.Memory)(nil)
	_ cache.Cache = (*cache.Redis)(nil)
)

func TestMemory(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) cache.Cache {
		c := cache.NewMemory()
		t.Cleanup(func() { _ = c.Close() })
		return c
	})
}

func TestRedis(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) cache.Cache {
		return newRedis(t)
	})
}

// TestRedisCluster runs the same suite on a Redis Cluster of three primaries
// (.ci/run starts it): keys spread over the slots, pub/sub across nodes.
func TestRedisCluster(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) cache.Cache {
		url, prefix := testenv.RedisCluster(t)
		return newRedisAt(t, url, prefix)
	})
}

// TestRedisSentinel runs the suite through a Sentinel that names the
// primary (a private one: redis-server --sentinel).
func TestRedisSentinel(t *testing.T) {
	url := testenv.StartRedisSentinel(t)
	if kind, err := cache.ParseRedisURL(url); err != nil || kind != cache.RedisSentinel {
		t.Fatalf("%s: %v %v", url, kind, err)
	}
	cachetest.Run(t, func(t *testing.T) cache.Cache {
		_, prefix := testenv.Redis(t)
		return newRedisAt(t, url, prefix)
	})
}

// newRedis returns a Redis cache under a fresh prefix; its keys are removed
// and verified gone when t ends.
func newRedis(t *testing.T) *cache.Redis {
	t.Helper()
	url, prefix := testenv.Redis(t)
	return newRedisAt(t, url, prefix)
}

func newRedisAt(t *testing.T, url, prefix string) *cache.Redis {
	t.Helper()
	c, err := cache.NewRedis(t.Context(), url, prefix)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		cleanupPrefix(t, url, prefix)
	})
	return c
}

// cleanupPrefix deletes the test's keys with a plain client (the cache under
// test may be closed or broken) and fails if any survive.
func cleanupPrefix(t *testing.T, url, prefix string) {
	rdb, err := cache.NewRedisClient(url)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// In a cluster SCAN sees one node: ask every primary.
	each := func(fn func(node redis.Cmdable) error) error { return fn(rdb) }
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		each = func(fn func(node redis.Cmdable) error) error {
			return cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return fn(node) })
		}
	}
	// ForEachMaster runs fn on the primaries at once.
	err = each(func(node redis.Cmdable) error {
		iter := node.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := node.Unlink(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	})
	if err != nil {
		t.Errorf("cleanup %q: %v", prefix, err)
	}
	var left atomic.Int64
	_ = each(func(node redis.Cmdable) error {
		keys, _, err := node.Scan(ctx, 0, prefix+"*", 1000).Result()
		left.Add(int64(len(keys)))
		return err
	})
	if left := left.Load(); left > 0 {
		t.Errorf("cleanup %q: %d keys survive", prefix, left)
	}
}

func TestMemorySlowSubscriberDropsAndCounts(t *testing.T) {
	c := cache.NewMemory(cache.WithSubscriberBuffer(2))
	defer c.Close()
	ctx := t.Context()
	ch, stop, err := c.Subscribe(ctx, "ch")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for _, m := range []string{"1", "2", "3", "4", "5"} {
		if err := c.Publish(ctx, "ch", []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.Dropped(); got != 3 {
		t.Fatalf("Dropped() = %d, want 3", got)
	}
	// The buffered ones are the oldest; the newest were dropped.
	for _, want := range []string{"1", "2"} {
		if got := string(<-ch); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	select {
	case m := <-ch:
		t.Fatalf("unexpected message %q beyond the buffer", m)
	default:
	}
}

func TestMemoryMaxEntriesEvictsLeastRecentlyUsed(t *testing.T) {
	c := cache.NewMemory(cache.WithMaxEntries(2))
	defer c.Close()
	ctx := t.Context()
	for _, k := range []string{"a", "b"} {
		if err := c.Set(ctx, k, []byte(k), 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := c.Get(ctx, "a"); err != nil { // a is now more recent than b
		t.Fatal(err)
	}
	if err := c.Set(ctx, "c", []byte("c"), 0); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]bool{"a": true, "b": false, "c": true} {
		if _, found, err := c.Get(ctx, k); err != nil || found != want {
			t.Errorf("Get(%q) found=%v err=%v; want found=%v", k, found, err, want)
		}
	}
}

func TestNewRedisRejectsBadURL(t *testing.T) {
	if _, err := cache.NewRedis(t.Context(), "http://localhost:6379", "p:"); err == nil {
		t.Fatal("NewRedis with an http:// URL: want error")
	}
}

// closedPortURL returns a redis:// URL for a local port nothing listens on.
func closedPortURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return "redis://" + addr + "/0"
}

// assertFailsFast runs every cache operation and requires each to return an
// error within limit.
func assertFailsFast(t *testing.T, c cache.Cache, limit time.Duration) {
	t.Helper()
	ctx := t.Context()
	ops := []struct {
		name string
		run  func() error
	}{
		{"Get", func() error { _, _, err := c.Get(ctx, "k"); return err }},
		{"Set", func() error { return c.Set(ctx, "k", []byte("v"), time.Minute) }},
		{"Ping", func() error { return c.Ping(ctx) }},
		{"Incr", func() error { _, err := c.Incr(ctx, "n"); return err }},
		{"Delete", func() error { return c.Delete(ctx, "k") }},
		{"Publish", func() error { return c.Publish(ctx, "ch", []byte("m")) }},
		{"Subscribe", func() error {
			_, stop, err := c.Subscribe(ctx, "ch")
			if stop != nil {
				stop()
			}
			return err
		}},
		{"DeletePrefix", func() error { return c.DeletePrefix(ctx, "") }},
	}
	for _, op := range ops {
		start := time.Now()
		err := op.run()
		took := time.Since(start)
		t.Logf("%s failed after %s: %v", op.name, took.Round(time.Millisecond), err)
		if err == nil {
			t.Errorf("%s: want an error, got nil", op.name)
		}
		if took > limit {
			t.Errorf("%s took %s, want under %s (err: %v)", op.name, took, limit, err)
		}
	}
}

func TestRedisClosedPortFailsFast(t *testing.T) {
	c, err := cache.NewRedis(t.Context(), closedPortURL(t), "p:")
	if err != nil {
		t.Fatalf("NewRedis must not need a reachable server: %v", err)
	}
	defer c.Close()
	// Connection refused should be near-instant; 1 s is the budget.
	assertFailsFast(t, c, time.Second)
}

func TestRedisUnresponsiveServerFailsFast(t *testing.T) {
	// A server that accepts connections and never answers: only read
	// timeouts stop a client from hanging here.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})

	c, err := cache.NewRedis(t.Context(), "redis://"+ln.Addr().String()+"/0", "p:")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Only the first few operations, to keep the test short: each may take
	// two read timeouts (one retry).
	ctx := t.Context()
	for name, run := range map[string]func() error{
		"Get":  func() error { _, _, err := c.Get(ctx, "k"); return err },
		"Set":  func() error { return c.Set(ctx, "k", []byte("v"), 0) },
		"Ping": func() error { return c.Ping(ctx) },
	} {
		start := time.Now()
		err := run()
		took := time.Since(start)
		t.Logf("%s failed after %s: %v", name, took.Round(time.Millisecond), err)
		if err == nil || took > 2*time.Second {
			t.Errorf("%s against a silent server: err=%v after %s; want an error within 2s", name, err, took)
		}
	}

	// A caller's shorter deadline wins over the client timeouts.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err = c.Get(short, "k")
	took := time.Since(start)
	t.Logf("Get with deadline failed after %s: %v", took.Round(time.Millisecond), err)
	if err == nil || took > 400*time.Millisecond {
		t.Errorf("Get with 100ms deadline: err=%v after %s; want an error within 400ms", err, took)
	}
}

func TestRedisPubSubAcrossReplicas(t *testing.T) {
	url, prefix := testenv.Redis(t)
	a := newRedisAt(t, url, prefix)
	b := newRedisAt(t, url, prefix)
	ch, stop, err := a.Subscribe(t.Context(), "policy")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if err := b.Publish(t.Context(), "policy", []byte("changed")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-ch:
		if string(m) != "changed" {
			t.Fatalf("got %q, want %q", m, "changed")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("replica a did not receive replica b's message")
	}
	// The same cache namespace is visible to both replicas.
	if err := b.Set(t.Context(), "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if v, found, err := a.Get(t.Context(), "k"); err != nil || !found || string(v) != "v" {
		t.Fatalf("a.Get(k) = %q, %v, %v; want v", v, found, err)
	}
}

// TestRedisSubscriptionSurvivesReconnect kills the subscription's server-side
// connection and expects delivery to resume without resubscribing.
func TestRedisSubscriptionSurvivesReconnect(t *testing.T) {
	url, prefix := testenv.Redis(t)
	// A unique connection name lets us find exactly this cache's subscription.
	name := strings.NewReplacer(":", "", "-", "").Replace(prefix)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	c := newRedisAt(t, url+sep+"client_name="+name, prefix)
	ctx := t.Context()
	ch, stop, err := c.Subscribe(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	admin := redis.NewClient(opt)
	defer admin.Close()

	killed := killSubscribers(t, admin, name)
	if killed == 0 {
		t.Fatal("found no subscribed connection to kill; cannot test reconnect")
	}

	// Messages published while reconnecting are lost, so keep publishing
	// until one arrives.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := c.Publish(ctx, "events", []byte("after-reconnect")); err != nil {
			t.Fatal(err)
		}
		select {
		case m, ok := <-ch:
			if !ok {
				t.Fatal("subscription channel closed after a disconnect")
			}
			if string(m) != "after-reconnect" {
				t.Fatalf("got %q", m)
			}
			// And it really is a new connection.
			if n := countSubscribers(t, admin, name); n != 1 {
				t.Fatalf("%d subscribed connections after reconnect, want 1", n)
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no message delivered within 5s after the subscription connection was killed")
		}
	}
}

// subscribedClients returns the ids of connections named name with at least
// one channel subscription.
func subscribedClients(t *testing.T, admin *redis.Client, name string) []string {
	t.Helper()
	list, err := admin.ClientList(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	sc := bufio.NewScanner(strings.NewReader(list))
	for sc.Scan() {
		fields := map[string]string{}
		for _, f := range strings.Fields(sc.Text()) {
			if k, v, ok := strings.Cut(f, "="); ok {
				fields[k] = v
			}
		}
		if fields["name"] == name && fields["sub"] != "" && fields["sub"] != "0" {
			ids = append(ids, fields["id"])
		}
	}
	return ids
}

func countSubscribers(t *testing.T, admin *redis.Client, name string) int {
	return len(subscribedClients(t, admin, name))
}

func killSubscribers(t *testing.T, admin *redis.Client, name string) int {
	t.Helper()
	ids := subscribedClients(t, admin, name)
	for _, id := range ids {
		if err := admin.Do(t.Context(), "CLIENT", "KILL", "ID", id).Err(); err != nil {
			t.Fatalf("CLIENT KILL ID %s: %v", id, err)
		}
	}
	return len(ids)
}

func TestRedisDeletePrefixStaysInNamespace(t *testing.T) {
	url, prefix := testenv.Redis(t)
	c := newRedisAt(t, url, prefix)
	ctx := t.Context()

	// A raw key that shares the namespace's text but not its full prefix.
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	raw := redis.NewClient(opt)
	defer raw.Close()
	sibling := strings.TrimSuffix(prefix, ":") + "-sibling"
	if err := raw.Set(ctx, sibling, "x", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Del(context.Background(), sibling) })

	if err := c.Set(ctx, "mine", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if err := c.DeletePrefix(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if n, err := raw.Exists(ctx, sibling).Result(); err != nil || n != 1 {
		t.Fatalf("sibling key outside the prefix was deleted (exists=%d, err=%v)", n, err)
	}
	if n, err := raw.Exists(ctx, prefix+"mine").Result(); err != nil || n != 0 {
		t.Fatalf("own key survived DeletePrefix (exists=%d, err=%v)", n, err)
	}
}

// TestMemorySubscribeRacesStop: a subscription whose context ends, or whose
// cache closes, while Subscribe is still returning must stop cleanly. Run
// under -race: Subscribe used to record the context watcher after making the
// subscription visible, while Close or the watcher already read it.
func TestMemorySubscribeRacesStop(t *testing.T) {
	for range 200 {
		c := cache.NewMemory()
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); cancel() }()
		go func() { defer wg.Done(); _ = c.Close() }()
		if ch, stop, err := c.Subscribe(ctx, "ch"); err == nil {
			stop()
			stop() // idempotent
			if _, open := <-ch; open {
				t.Fatal("a stopped subscription delivered a message")
			}
		}
		wg.Wait()
		cancel()
	}
}

// TestParseRedisURL: one URL setting names each of the three deployments.
func TestParseRedisURL(t *testing.T) {
	for url, want := range map[string]cache.RedisDeployment{
		"redis://127.0.0.1:6379/0":                                       cache.RedisSingle,
		"rediss://user:secret@redis.example:6380/1":                      cache.RedisSingle,
		"redis://127.0.0.1:7000?addr=127.0.0.1:7001&addr=127.0.0.1:7002": cache.RedisCluster,
		"redis://s1:26379?addr=s2:26379&master_name=loket":               cache.RedisSentinel,
		"redis://:secret@s1:26379?master_name=loket&dial_timeout=1s":     cache.RedisSentinel,
	} {
		if got, err := cache.ParseRedisURL(url); err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", url, got, err, want)
		}
		if _, err := cache.NewRedis(t.Context(), url, "p:"); err != nil {
			t.Errorf("NewRedis(%s): %v", url, err)
		}
	}
}
