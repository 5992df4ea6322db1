// Package cache is Loket's small key/value + pub/sub abstraction with two
// interchangeable backends: an in-process one for the embedded deployment
// (NewMemory) and Redis for production (NewRedis). Both pass the same
// conformance suite (package cachetest).
//
// The cache is never the source of truth: every value in it can be lost at any
// moment (eviction, expiry, a Redis restart), and pub/sub is best effort.
// Callers must be able to rebuild state from the database and must not rely
// on receiving every published message.
//
// Keys and channels are namespaced by a prefix chosen at construction, so the
// session store, rate limiter, response cache and policy watcher can share one
// Redis without clashing.
package cache

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Cache is implemented by *Memory and *Redis. All methods are safe for
// concurrent use.
type Cache interface {
	// Get returns the value stored under key. A missing or expired key is not
	// an error: it returns found == false.
	Get(ctx context.Context, key string) (value []byte, found bool, err error)

	// Set stores value under key, replacing any previous value and TTL.
	// ttl 0 means no expiry; a negative ttl is an error.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error

	// Delete removes keys. Missing keys are ignored.
	Delete(ctx context.Context, keys ...string) error

	// DeletePrefix removes every key of this cache that starts with prefix
	// (after the cache's own namespace prefix); "" removes all of this cache's
	// keys and nothing else. It is not atomic: keys written while it runs may
	// survive.
	DeletePrefix(ctx context.Context, prefix string) error

	// Incr atomically increments the integer stored under key and returns the
	// new value. A missing key counts as 0. The key's TTL, if any, is kept.
	// Incrementing a value that is not a decimal int64 is an error. Used for
	// versioned cache keys.
	Incr(ctx context.Context, key string) (int64, error)

	// IncrExpire is Incr that gives a new key (one the increment created)
	// the TTL ttl, in one atomic step: no increment is lost and no counter
	// lives forever, however many replicas count at once. An existing key
	// keeps its TTL. ttl must be positive. Used for rate limits.
	IncrExpire(ctx context.Context, key string, ttl time.Duration) (int64, error)

	// Publish sends message to the current subscribers of channel (on every
	// replica, for Redis). Delivery is best effort.
	Publish(ctx context.Context, channel string, message []byte) error

	// Subscribe delivers messages published on channel (by any replica, for
	// Redis) until ctx ends, stop is called or the cache is closed; then the
	// messages channel is closed. stop is idempotent and returns once the
	// channel is closed. A subscriber that does not keep up loses messages
	// (see Dropped on the implementations) rather than blocking publishers.
	Subscribe(ctx context.Context, channel string) (messages <-chan []byte, stop func(), err error)

	// Ping reports whether the backend is usable.
	Ping(ctx context.Context) error

	// Kind is "memory" or "redis", for logs and health output.
	Kind() string

	// Close releases the backend and ends all subscriptions. Afterwards every
	// method returns an error wrapping ErrClosed. Closing twice is a no-op.
	Close() error
}

// ErrClosed is wrapped by errors returned from a Cache after Close.
var ErrClosed = errors.New("cache: closed")

// Kinds returned by Cache.Kind.
const (
	KindMemory = "memory"
	KindRedis  = "redis"
)

// defaultSubscriberBuffer is how many messages a subscriber may fall behind
// before new messages are dropped for it.
const defaultSubscriberBuffer = 256

// checkTTL rejects negative TTLs up front so both backends agree (go-redis
// would silently treat some negative values as KEEPTTL).
func checkTTL(key string, ttl time.Duration) error {
	if ttl < 0 {
		return fmt.Errorf("cache: set %q: negative ttl %s", key, ttl)
	}
	return nil
}
