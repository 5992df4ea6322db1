package cache

import (
	"context"
	"time"
)

// Fiber's storage interface carries no context, so each call gets its own
// deadline: a request must not hang on the cache. Reset may scan a large
// keyspace and gets longer.
const (
	storageTimeout = 3 * time.Second
	resetTimeout   = 30 * time.Second
)

// Storage adapts a Cache to the shape of Fiber's storage interface
// (fiber.Storage), so the session, limiter and CSRF middlewares can run on
// either backend. Its keys live in the Cache under the adapter's prefix, e.g.
// FiberStorage(c, "session:") stores key "abc" as c's "session:abc".
type Storage struct {
	c      Cache
	prefix string
}

// FiberStorage returns a Fiber storage backed by c. Give every middleware its
// own non-empty prefix: Reset deletes all keys under it, and with "" that is
// every key of c.
func FiberStorage(c Cache, prefix string) *Storage {
	return &Storage{c: c, prefix: prefix}
}

// Get returns nil, nil for a missing key, as Fiber expects.
func (s *Storage) Get(key string) ([]byte, error) {
	if key == "" {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storageTimeout)
	defer cancel()
	v, found, err := s.c.Get(ctx, s.prefix+key)
	if err != nil || !found {
		return nil, err
	}
	return v, nil
}

// Set stores val for exp (0 = no expiry). Following Fiber's contract, an
// empty key or value is ignored without error.
func (s *Storage) Set(key string, val []byte, exp time.Duration) error {
	if key == "" || len(val) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storageTimeout)
	defer cancel()
	return s.c.Set(ctx, s.prefix+key, val, exp)
}

// Delete removes key; a missing key is not an error.
func (s *Storage) Delete(key string) error {
	if key == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storageTimeout)
	defer cancel()
	return s.c.Delete(ctx, s.prefix+key)
}

// Reset deletes every key under this adapter's prefix and nothing else.
func (s *Storage) Reset() error {
	ctx, cancel := context.WithTimeout(context.Background(), resetTimeout)
	defer cancel()
	return s.c.DeletePrefix(ctx, s.prefix)
}

// Close does nothing: the Cache is shared with other users and is closed by
// whoever created it.
func (s *Storage) Close() error { return nil }
