package cache

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jellydator/ttlcache/v3"
)

// Memory is the in-process Cache for the embedded deployment. Each instance
// is its own namespace (there is nothing to share it with), so it needs no
// key prefix; pub/sub only reaches subscribers of the same instance.
type Memory struct {
	store *ttlcache.Cache[string, []byte]
	// janitorDone is closed when ttlcache's cleanup goroutine has exited.
	janitorDone chan struct{}

	// writeMu serialises mutations so Incr's read-modify-write cannot
	// interleave with Set/Delete on the same key. Reads go straight to
	// ttlcache, which has its own locking.
	writeMu sync.Mutex

	subMu   sync.RWMutex
	subs    map[string]map[*memorySub]struct{}
	bufSize int
	dropped atomic.Uint64

	closed atomic.Bool
}

type memorySub struct {
	ch   chan []byte
	once sync.Once
	// mu guards unregister: Subscribe sets it after the subscription is
	// visible, while Close or the context watcher may already be stopping it.
	mu         sync.Mutex
	unregister func() bool // detaches the ctx watcher
	stopped    bool
}

// MemoryOption configures NewMemory.
type MemoryOption func(*memoryConfig)

type memoryConfig struct {
	maxEntries uint64
	bufSize    int
}

// WithMaxEntries bounds the number of keys; beyond it the least recently used
// key is evicted. 0 (the default) means unbounded.
func WithMaxEntries(n uint64) MemoryOption {
	return func(c *memoryConfig) { c.maxEntries = n }
}

// WithSubscriberBuffer sets how many messages each subscriber may fall behind
// before further messages are dropped for it (default 256, minimum 1).
func WithSubscriberBuffer(n int) MemoryOption {
	return func(c *memoryConfig) { c.bufSize = max(n, 1) }
}

// NewMemory returns an in-process cache. Expiry is handled by ttlcache:
// expired keys are invisible immediately and removed by its cleanup goroutine,
// which Close stops.
func NewMemory(opts ...MemoryOption) *Memory {
	cfg := memoryConfig{bufSize: defaultSubscriberBuffer}
	for _, o := range opts {
		o(&cfg)
	}
	ttlOpts := []ttlcache.Option[string, []byte]{
		// Redis does not extend a TTL on read; neither may we.
		ttlcache.WithDisableTouchOnHit[string, []byte](),
	}
	if cfg.maxEntries > 0 {
		ttlOpts = append(ttlOpts, ttlcache.WithCapacity[string, []byte](cfg.maxEntries))
	}
	m := &Memory{
		store:       ttlcache.New(ttlOpts...),
		janitorDone: make(chan struct{}),
		subs:        make(map[string]map[*memorySub]struct{}),
		bufSize:     cfg.bufSize,
	}
	go func() {
		defer close(m.janitorDone)
		m.store.Start()
	}()
	return m
}

// Kind implements Cache.
func (m *Memory) Kind() string { return KindMemory }

// Dropped is the number of messages discarded because a subscriber's buffer
// was full. Publish never blocks on a slow subscriber; it drops instead.
func (m *Memory) Dropped() uint64 { return m.dropped.Load() }

// usable reports why an operation must not run: the cache is closed or the
// caller has already given up. Checking ctx keeps behaviour aligned with
// Redis, where a cancelled context fails the command.
func (m *Memory) usable(ctx context.Context) error {
	if m.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

// Get implements Cache.
func (m *Memory) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := m.usable(ctx); err != nil {
		return nil, false, fmt.Errorf("cache: get %q: %w", key, err)
	}
	item := m.store.Get(key)
	if item == nil {
		return nil, false, nil
	}
	// Copy so callers can neither mutate the stored value nor see later
	// writes through an alias, matching Redis.
	return clone(item.Value()), true, nil
}

// Set implements Cache.
func (m *Memory) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := m.usable(ctx); err != nil {
		return fmt.Errorf("cache: set %q: %w", key, err)
	}
	if err := checkTTL(key, ttl); err != nil {
		return err
	}
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	m.store.Set(key, clone(value), toTTLCache(ttl))
	return nil
}

// Delete implements Cache.
func (m *Memory) Delete(ctx context.Context, keys ...string) error {
	if err := m.usable(ctx); err != nil {
		return fmt.Errorf("cache: delete %q: %w", keys, err)
	}
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	for _, k := range keys {
		m.store.Delete(k)
	}
	return nil
}

// DeletePrefix implements Cache.
func (m *Memory) DeletePrefix(ctx context.Context, prefix string) error {
	if err := m.usable(ctx); err != nil {
		return fmt.Errorf("cache: delete prefix %q: %w", prefix, err)
	}
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	for _, k := range m.store.Keys() {
		if strings.HasPrefix(k, prefix) {
			m.store.Delete(k)
		}
	}
	return nil
}

// Incr implements Cache.
func (m *Memory) Incr(ctx context.Context, key string) (int64, error) {
	return m.incr(ctx, key, 0)
}

// IncrExpire implements Cache.
func (m *Memory) IncrExpire(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	if ttl <= 0 {
		return 0, fmt.Errorf("cache: incr %q: ttl must be positive, got %s", key, ttl)
	}
	return m.incr(ctx, key, ttl)
}

// incr increments key under writeMu; a key it creates gets newTTL (0: none).
func (m *Memory) incr(ctx context.Context, key string, newTTL time.Duration) (int64, error) {
	if err := m.usable(ctx); err != nil {
		return 0, fmt.Errorf("cache: incr %q: %w", key, err)
	}
	m.writeMu.Lock()
	defer m.writeMu.Unlock()

	var n int64
	ttl := ttlcache.NoTTL
	if item := m.store.Get(key); item != nil {
		v, err := strconv.ParseInt(string(item.Value()), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("cache: incr %q: value is not an integer: %w", key, err)
		}
		if v == math.MaxInt64 {
			return 0, fmt.Errorf("cache: incr %q: would overflow", key)
		}
		n = v
		// Keep the remaining lifetime, as Redis INCR does.
		if exp := item.ExpiresAt(); !exp.IsZero() {
			ttl = time.Until(exp)
			if ttl <= 0 { // expired between Get and now: start afresh
				n, ttl = 0, ttlcache.NoTTL
			}
		}
	}
	if n == 0 && newTTL > 0 {
		ttl = newTTL
	}
	n++
	m.store.Set(key, []byte(strconv.FormatInt(n, 10)), ttl)
	return n, nil
}

// Publish implements Cache. It never blocks: a subscriber whose buffer is
// full misses the message and Dropped is incremented.
func (m *Memory) Publish(ctx context.Context, channel string, message []byte) error {
	if err := m.usable(ctx); err != nil {
		return fmt.Errorf("cache: publish %q: %w", channel, err)
	}
	m.subMu.RLock()
	defer m.subMu.RUnlock()
	for s := range m.subs[channel] {
		// Each subscriber gets its own copy so one cannot corrupt another's.
		select {
		case s.ch <- clone(message):
		default:
			m.dropped.Add(1)
		}
	}
	return nil
}

// Subscribe implements Cache.
func (m *Memory) Subscribe(ctx context.Context, channel string) (<-chan []byte, func(), error) {
	if err := m.usable(ctx); err != nil {
		return nil, nil, fmt.Errorf("cache: subscribe %q: %w", channel, err)
	}
	s := &memorySub{ch: make(chan []byte, m.bufSize)}
	m.subMu.Lock()
	// Re-check under the lock so a concurrent Close cannot miss this sub.
	if m.closed.Load() {
		m.subMu.Unlock()
		return nil, nil, fmt.Errorf("cache: subscribe %q: %w", channel, ErrClosed)
	}
	if m.subs[channel] == nil {
		m.subs[channel] = make(map[*memorySub]struct{})
	}
	m.subs[channel][s] = struct{}{}
	m.subMu.Unlock()

	stop := func() { m.unsubscribe(channel, s) }
	unregister := context.AfterFunc(ctx, stop)
	s.mu.Lock()
	if s.stopped { // stopped already (Close): nothing left to watch
		unregister()
	} else {
		s.unregister = unregister
	}
	s.mu.Unlock()
	return s.ch, stop, nil
}

func (m *Memory) unsubscribe(channel string, s *memorySub) {
	s.once.Do(func() {
		s.mu.Lock()
		s.stopped = true
		if s.unregister != nil {
			s.unregister()
		}
		s.mu.Unlock()
		m.subMu.Lock()
		defer m.subMu.Unlock()
		delete(m.subs[channel], s)
		if len(m.subs[channel]) == 0 {
			delete(m.subs, channel)
		}
		// Safe: Publish only sends while holding subMu.RLock.
		close(s.ch)
	})
}

// Ping implements Cache.
func (m *Memory) Ping(ctx context.Context) error {
	if err := m.usable(ctx); err != nil {
		return fmt.Errorf("cache: ping: %w", err)
	}
	return nil
}

// Close implements Cache.
func (m *Memory) Close() error {
	if !m.closed.CompareAndSwap(false, true) {
		return nil
	}
	m.subMu.Lock()
	var all []func()
	for channel, set := range m.subs {
		for s := range set {
			all = append(all, func() { m.unsubscribe(channel, s) })
		}
	}
	m.subMu.Unlock()
	for _, stop := range all {
		stop()
	}

	// ttlcache.Stop is a no-op if the cleanup goroutine has not reached
	// Start yet, so repeat until it has really exited.
	for {
		m.store.Stop()
		select {
		case <-m.janitorDone:
			m.store.DeleteAll()
			return nil
		case <-time.After(time.Millisecond):
		}
	}
}

// toTTLCache maps our "0 = forever" to ttlcache's NoTTL (its 0 means "the
// cache default").
func toTTLCache(ttl time.Duration) time.Duration {
	if ttl == 0 {
		return ttlcache.NoTTL
	}
	return ttl
}

func clone(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return append(make([]byte, 0, len(b)), b...)
}
