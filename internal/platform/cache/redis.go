package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Timeouts tuned for a cache: Redis answers in well under a millisecond, and
// when it is down callers should fall back to the database quickly instead of
// stacking up requests. Values given in the URL query (dial_timeout,
// read_timeout, max_retries, ...) take precedence.
const (
	redisDialTimeout  = 500 * time.Millisecond
	redisIOTimeout    = 500 * time.Millisecond
	redisPoolTimeout  = time.Second
	redisMaxRetries   = 1 // one retry absorbs a stale pooled connection after a Redis restart
	redisRetryBackoff = 50 * time.Millisecond

	// scanBatch is the SCAN COUNT hint and the UNLINK batch size.
	scanBatch = 500
)

// Redis is the production Cache. Every key and channel is stored under the
// prefix given to NewRedis.
//
// Pub/sub: each Subscribe holds its own connection. go-redis re-establishes
// it and re-subscribes automatically after a disconnect, but messages
// published while disconnected are lost (Redis pub/sub has no backlog), so
// consumers such as the policy watcher must also poll.
type Redis struct {
	client    *redis.Client
	prefix    string
	ioTimeout time.Duration
	dropped   atomic.Uint64

	mu     sync.Mutex
	subs   map[*redisSub]struct{}
	closed bool
}

type redisSub struct {
	quit chan struct{}
	done chan struct{}
	once sync.Once
}

func (s *redisSub) stop() {
	s.once.Do(func() { close(s.quit) })
	<-s.done
}

// NewRedis returns a Redis-backed cache for redisURL (redis:// or rediss://,
// see redis.ParseURL) whose keys and channels all start with prefix.
//
// It does not require Redis to be reachable: the cache is not the source of
// truth, so an outage must not stop Loket from starting. Use Ping for health
// checks. ctx only bounds construction.
func NewRedis(ctx context.Context, redisURL string, prefix string) (*Redis, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("cache: new redis: %w", err)
	}
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		// The URL may carry a password; go-redis errors do not echo it.
		return nil, fmt.Errorf("cache: new redis: parse url: %w", err)
	}
	if opt.DialTimeout == 0 {
		opt.DialTimeout = redisDialTimeout
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = redisIOTimeout
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = opt.ReadTimeout
	}
	if opt.PoolTimeout == 0 {
		opt.PoolTimeout = redisPoolTimeout
	}
	if opt.MaxRetries == 0 {
		opt.MaxRetries = redisMaxRetries
	}
	if opt.MinRetryBackoff == 0 {
		opt.MinRetryBackoff = redisRetryBackoff / 4
	}
	if opt.MaxRetryBackoff == 0 {
		opt.MaxRetryBackoff = redisRetryBackoff
	}
	// go-redis retries each dial 5 times by default; the command-level retry
	// above is enough, and a refused connection should fail at once.
	opt.DialerRetries = 1
	// Let a caller's shorter deadline cut a command short.
	opt.ContextTimeoutEnabled = true

	ioTimeout := opt.ReadTimeout
	if ioTimeout <= 0 {
		ioTimeout = redisIOTimeout
	}
	return &Redis{
		client:    redis.NewClient(opt),
		prefix:    prefix,
		ioTimeout: ioTimeout,
		subs:      make(map[*redisSub]struct{}),
	}, nil
}

// Kind implements Cache.
func (r *Redis) Kind() string { return KindRedis }

// Prefix is the namespace prepended to every key and channel.
func (r *Redis) Prefix() string { return r.prefix }

// Dropped is the number of received messages discarded because a
// subscriber's buffer was full.
func (r *Redis) Dropped() uint64 { return r.dropped.Load() }

func (r *Redis) usable(ctx context.Context) error {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return ErrClosed
	}
	// go-redis would notice too, but only after taking a pool connection.
	return ctx.Err()
}

// Get implements Cache.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := r.usable(ctx); err != nil {
		return nil, false, fmt.Errorf("cache: get %q: %w", key, err)
	}
	v, err := r.client.Get(ctx, r.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cache: get %q: %w", key, err)
	}
	return v, true, nil
}

// Set implements Cache.
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := r.usable(ctx); err != nil {
		return fmt.Errorf("cache: set %q: %w", key, err)
	}
	if err := checkTTL(key, ttl); err != nil {
		return err
	}
	if err := r.client.Set(ctx, r.prefix+key, value, ttl).Err(); err != nil {
		return fmt.Errorf("cache: set %q: %w", key, err)
	}
	return nil
}

// Delete implements Cache.
func (r *Redis) Delete(ctx context.Context, keys ...string) error {
	if err := r.usable(ctx); err != nil {
		return fmt.Errorf("cache: delete %q: %w", keys, err)
	}
	if len(keys) == 0 { // DEL without arguments is a Redis error
		return nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = r.prefix + k
	}
	if err := r.client.Del(ctx, full...).Err(); err != nil {
		return fmt.Errorf("cache: delete %q: %w", keys, err)
	}
	return nil
}

// DeletePrefix implements Cache with SCAN + UNLINK, never FLUSHDB/KEYS, so it
// neither touches other namespaces nor blocks the server.
func (r *Redis) DeletePrefix(ctx context.Context, prefix string) error {
	if err := r.usable(ctx); err != nil {
		return fmt.Errorf("cache: delete prefix %q: %w", prefix, err)
	}
	pattern := escapeGlob(r.prefix+prefix) + "*"
	var cursor uint64
	for {
		keys, next, err := r.client.Scan(ctx, cursor, pattern, scanBatch).Result()
		if err != nil {
			return fmt.Errorf("cache: delete prefix %q: scan: %w", prefix, err)
		}
		if len(keys) > 0 {
			if err := r.client.Unlink(ctx, keys...).Err(); err != nil {
				return fmt.Errorf("cache: delete prefix %q: unlink: %w", prefix, err)
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// Incr implements Cache.
func (r *Redis) Incr(ctx context.Context, key string) (int64, error) {
	if err := r.usable(ctx); err != nil {
		return 0, fmt.Errorf("cache: incr %q: %w", key, err)
	}
	n, err := r.client.Incr(ctx, r.prefix+key).Result()
	if err != nil {
		return 0, fmt.Errorf("cache: incr %q: %w", key, err)
	}
	return n, nil
}

// incrExpire increments KEYS[1] and, when that created it, sets its TTL to
// ARGV[1] milliseconds: a script, so both happen or neither.
var incrExpire = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`)

// IncrExpire implements Cache.
func (r *Redis) IncrExpire(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	if err := r.usable(ctx); err != nil {
		return 0, fmt.Errorf("cache: incr %q: %w", key, err)
	}
	if ttl <= 0 {
		return 0, fmt.Errorf("cache: incr %q: ttl must be positive, got %s", key, ttl)
	}
	ms := max(ttl.Milliseconds(), 1)
	n, err := incrExpire.Run(ctx, r.client, []string{r.prefix + key}, ms).Int64()
	if err != nil {
		return 0, fmt.Errorf("cache: incr %q: %w", key, err)
	}
	return n, nil
}

// Publish implements Cache.
func (r *Redis) Publish(ctx context.Context, channel string, message []byte) error {
	if err := r.usable(ctx); err != nil {
		return fmt.Errorf("cache: publish %q: %w", channel, err)
	}
	if err := r.client.Publish(ctx, r.prefix+channel, message).Err(); err != nil {
		return fmt.Errorf("cache: publish %q: %w", channel, err)
	}
	return nil
}

// Subscribe implements Cache. It returns only once Redis has confirmed the
// subscription, so a message published after Subscribe returns is delivered
// (barring disconnects). Redis must be reachable at that moment; afterwards
// reconnects are automatic.
func (r *Redis) Subscribe(ctx context.Context, channel string) (<-chan []byte, func(), error) {
	if err := r.usable(ctx); err != nil {
		return nil, nil, fmt.Errorf("cache: subscribe %q: %w", channel, err)
	}
	full := r.prefix + channel
	ps := r.client.Subscribe(ctx, full)
	if err := r.awaitSubscription(ctx, ps, full); err != nil {
		_ = ps.Close()
		return nil, nil, fmt.Errorf("cache: subscribe %q: %w", channel, err)
	}

	s := &redisSub{quit: make(chan struct{}), done: make(chan struct{})}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		_ = ps.Close()
		return nil, nil, fmt.Errorf("cache: subscribe %q: %w", channel, ErrClosed)
	}
	r.subs[s] = struct{}{}
	r.mu.Unlock()

	in := ps.Channel()
	out := make(chan []byte, defaultSubscriberBuffer)
	go func() {
		defer func() {
			_ = ps.Close()
			r.mu.Lock()
			delete(r.subs, s)
			r.mu.Unlock()
			close(out)
			close(s.done)
		}()
		for {
			select {
			case msg, ok := <-in:
				if !ok {
					return
				}
				// Never block go-redis's reader on a slow consumer.
				select {
				case out <- []byte(msg.Payload):
				default:
					r.dropped.Add(1)
				}
			case <-ctx.Done():
				return
			case <-s.quit:
				return
			}
		}
	}()
	return out, s.stop, nil
}

// awaitSubscription waits for Redis to acknowledge SUBSCRIBE, bounded by the
// read timeout so an unresponsive server cannot hang the caller.
func (r *Redis) awaitSubscription(ctx context.Context, ps *redis.PubSub, channel string) error {
	deadline := time.Now().Add(r.ioTimeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return errors.New("timed out waiting for subscription confirmation")
		}
		msg, err := ps.ReceiveTimeout(ctx, left)
		if err != nil {
			return err
		}
		if sub, ok := msg.(*redis.Subscription); ok && sub.Kind == "subscribe" && sub.Channel == channel {
			return nil
		}
	}
}

// Ping implements Cache.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.usable(ctx); err != nil {
		return fmt.Errorf("cache: ping: %w", err)
	}
	if err := r.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("cache: ping: %w", err)
	}
	return nil
}

// Close implements Cache.
func (r *Redis) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	subs := make([]*redisSub, 0, len(r.subs))
	for s := range r.subs {
		subs = append(subs, s)
	}
	r.mu.Unlock()

	for _, s := range subs {
		s.stop()
	}
	if err := r.client.Close(); err != nil {
		return fmt.Errorf("cache: close redis: %w", err)
	}
	return nil
}

// escapeGlob quotes the characters SCAN MATCH treats specially, so a prefix
// such as "a*b:" matches only itself. It works on bytes: keys are binary.
func escapeGlob(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
