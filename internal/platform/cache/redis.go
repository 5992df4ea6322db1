package cache

import (
	"context"
	"errors"
	"fmt"
	"net/url"
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
	client    redis.UniversalClient
	cluster   bool // keys of one command must share a slot; SCAN runs per primary
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

// NewRedis returns a Redis-backed cache for redisURL whose keys and channels
// all start with prefix. The URL names one of three deployments (see
// ParseRedisURL): a single server, a Redis Cluster, or a primary watched by
// Sentinel.
//
// It does not require Redis to be reachable: the cache is not the source of
// truth, so an outage must not stop Loket from starting. Use Ping for health
// checks. ctx only bounds construction.
func NewRedis(ctx context.Context, redisURL string, prefix string) (*Redis, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("cache: new redis: %w", err)
	}
	client, ioTimeout, err := newRedisClient(redisURL)
	if err != nil {
		return nil, err
	}
	_, cluster := client.(*redis.ClusterClient)
	return &Redis{
		client:    client,
		cluster:   cluster,
		prefix:    prefix,
		ioTimeout: ioTimeout,
		subs:      make(map[*redisSub]struct{}),
	}, nil
}

// RedisDeployment is what a Redis URL names.
type RedisDeployment string

// The deployments NewRedis connects to.
const (
	RedisSingle   RedisDeployment = "single"
	RedisCluster  RedisDeployment = "cluster"
	RedisSentinel RedisDeployment = "sentinel"
)

// ParseRedisURL tells which deployment redisURL names:
//
//	redis://host:6379/0                                    one server
//	redis://host1:7000?addr=host2:7001&addr=host3:7002     Redis Cluster (the nodes to start from)
//	redis://s1:26379?addr=s2:26379&master_name=mymaster    Sentinel (its addresses and the primary's name)
//
// rediss:// asks for TLS; user and password go before the first host.
func ParseRedisURL(redisURL string) (RedisDeployment, error) {
	u, err := url.Parse(redisURL)
	if err != nil {
		// The URL may carry a password; do not echo it.
		return "", errors.New("cache: redis url is not a URL")
	}
	q := u.Query()
	switch {
	case q.Get("master_name") != "":
		return RedisSentinel, nil
	case len(q["addr"]) > 0:
		return RedisCluster, nil
	}
	return RedisSingle, nil
}

// redisTuning points at the fields every go-redis option type shares, so the
// cache's defaults are set once for all three.
type redisTuning struct {
	dial, read, write, pool, minBackoff, maxBackoff *time.Duration
	retries, dialerRetries                          *int
	contextTimeout                                  *bool
}

func (t redisTuning) apply() time.Duration {
	if *t.dial == 0 {
		*t.dial = redisDialTimeout
	}
	if *t.read == 0 {
		*t.read = redisIOTimeout
	}
	if *t.write == 0 {
		*t.write = *t.read
	}
	if *t.pool == 0 {
		*t.pool = redisPoolTimeout
	}
	if *t.retries == 0 {
		*t.retries = redisMaxRetries
	}
	if *t.minBackoff == 0 {
		*t.minBackoff = redisRetryBackoff / 4
	}
	if *t.maxBackoff == 0 {
		*t.maxBackoff = redisRetryBackoff
	}
	// go-redis retries each dial 5 times by default; the command-level retry
	// above is enough, and a refused connection should fail at once.
	*t.dialerRetries = 1
	// Let a caller's shorter deadline cut a command short.
	*t.contextTimeout = true
	if *t.read <= 0 {
		return redisIOTimeout
	}
	return *t.read
}

// reloadOnError asks the cluster for its slot map again after a command
// fails. go-redis learns of a new primary only from MOVED answers or once a
// minute; a dead primary answers nothing, so without this the client keeps
// dialling it long after a replica has taken over. Reloads are coalesced.
type reloadOnError struct{ c *redis.ClusterClient }

func (h reloadOnError) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h reloadOnError) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if err != nil && !errors.Is(err, redis.Nil) {
			h.c.ReloadState(ctx)
		}
		return err
	}
}

func (h reloadOnError) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if err != nil && !errors.Is(err, redis.Nil) {
			h.c.ReloadState(ctx)
		}
		return err
	}
}

// NewRedisClient opens a go-redis client for redisURL (see ParseRedisURL)
// with the cache's timeouts: for tools and tests that talk to the same Redis.
func NewRedisClient(redisURL string) (redis.UniversalClient, error) {
	c, _, err := newRedisClient(redisURL)
	return c, err
}

// newRedisClient opens the client for redisURL: go-redis's universal client
// interface over a single, cluster or Sentinel client.
func newRedisClient(redisURL string) (redis.UniversalClient, time.Duration, error) {
	kind, err := ParseRedisURL(redisURL)
	if err != nil {
		return nil, 0, err
	}
	// go-redis's parse errors do not echo the password.
	switch kind {
	case RedisCluster:
		opt, err := redis.ParseClusterURL(redisURL)
		if err != nil {
			return nil, 0, fmt.Errorf("cache: new redis cluster: parse url: %w", err)
		}
		io := redisTuning{&opt.DialTimeout, &opt.ReadTimeout, &opt.WriteTimeout, &opt.PoolTimeout,
			&opt.MinRetryBackoff, &opt.MaxRetryBackoff, &opt.MaxRetries, &opt.DialerRetries, &opt.ContextTimeoutEnabled}.apply()
		// While a failed primary is replaced, the cluster answers MOVED and
		// CLUSTERDOWN: a few redirects, then the caller falls back to
		// PostgreSQL instead of waiting.
		if opt.MaxRedirects == 0 {
			opt.MaxRedirects = 3
		}
		cc := redis.NewClusterClient(opt)
		cc.AddHook(reloadOnError{cc})
		return cc, io, nil
	case RedisSentinel:
		opt, err := redis.ParseFailoverURL(redisURL)
		if err != nil {
			return nil, 0, fmt.Errorf("cache: new redis sentinel: parse url: %w", err)
		}
		io := redisTuning{&opt.DialTimeout, &opt.ReadTimeout, &opt.WriteTimeout, &opt.PoolTimeout,
			&opt.MinRetryBackoff, &opt.MaxRetryBackoff, &opt.MaxRetries, &opt.DialerRetries, &opt.ContextTimeoutEnabled}.apply()
		return redis.NewFailoverClient(opt), io, nil
	}
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, 0, fmt.Errorf("cache: new redis: parse url: %w", err)
	}
	io := redisTuning{&opt.DialTimeout, &opt.ReadTimeout, &opt.WriteTimeout, &opt.PoolTimeout,
		&opt.MinRetryBackoff, &opt.MaxRetryBackoff, &opt.MaxRetries, &opt.DialerRetries, &opt.ContextTimeoutEnabled}.apply()
	return redis.NewClient(opt), io, nil
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
	if err := r.unlink(ctx, full, r.client.Del); err != nil {
		return fmt.Errorf("cache: delete %q: %w", keys, err)
	}
	return nil
}

// unlink removes keys with one command, or in a cluster with one command per
// key in a pipeline: keys of different slots cannot share a command there.
func (r *Redis) unlink(ctx context.Context, keys []string, del func(ctx context.Context, keys ...string) *redis.IntCmd) error {
	if !r.cluster || len(keys) == 1 {
		return del(ctx, keys...).Err()
	}
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Del(ctx, k)
		}
		return nil
	})
	return err
}

// DeletePrefix implements Cache with SCAN + UNLINK, never FLUSHDB/KEYS, so it
// neither touches other namespaces nor blocks the server.
func (r *Redis) DeletePrefix(ctx context.Context, prefix string) error {
	if err := r.usable(ctx); err != nil {
		return fmt.Errorf("cache: delete prefix %q: %w", prefix, err)
	}
	pattern := escapeGlob(r.prefix+prefix) + "*"
	scan := func(ctx context.Context, node redis.Cmdable) error {
		var cursor uint64
		for {
			keys, next, err := node.Scan(ctx, cursor, pattern, scanBatch).Result()
			if err != nil {
				return fmt.Errorf("cache: delete prefix %q: scan: %w", prefix, err)
			}
			if len(keys) > 0 {
				if err := r.unlink(ctx, keys, r.client.Unlink); err != nil {
					return fmt.Errorf("cache: delete prefix %q: unlink: %w", prefix, err)
				}
			}
			if next == 0 {
				return nil
			}
			cursor = next
		}
	}
	if cc, ok := r.client.(*redis.ClusterClient); ok {
		// SCAN sees one node's keys: ask every primary.
		return cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			return scan(ctx, node)
		})
	}
	return scan(ctx, r.client)
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
	publish := r.client.Publish
	if r.cluster {
		// Sharded pub/sub: the channel's own node delivers, in order. A
		// plain PUBLISH goes to any node and reaches subscribers over the
		// cluster bus, so two messages can pass each other.
		publish = r.client.SPublish
	}
	if err := publish(ctx, r.prefix+channel, message).Err(); err != nil {
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
	subscribe, kind := r.client.Subscribe, "subscribe"
	if r.cluster {
		subscribe, kind = r.client.SSubscribe, "ssubscribe"
	}
	ps := subscribe(ctx, full)
	if err := r.awaitSubscription(ctx, ps, kind, full); err != nil {
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
func (r *Redis) awaitSubscription(ctx context.Context, ps *redis.PubSub, kind, channel string) error {
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
		if sub, ok := msg.(*redis.Subscription); ok && sub.Kind == kind && sub.Channel == channel {
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
