package requests

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// Idempotency keys follow the IETF httpapi Idempotency-Key draft. A key is
// no secret (clients log it, proxies see it), so it must never open a stored
// request by itself:
//
//   - the key is bound to its caller (the web form, the anonymous API, one
//     API key): the same text from another caller is another key;
//   - it is stored with a keyed fingerprint of the body it came with: the same
//     key with the same body replays the first answer, with another body it
//     is refused (ErrIdempotencyMismatch) and nothing of the first request is
//     told;
//   - while a registration with the key is still being written on this
//     instance, a second one is refused (ErrIdempotencyInFlight). Across
//     replicas the unique index decides: the later one replays or is refused
//     once the first has committed.
var (
	ErrIdempotencyMismatch = errors.New("requests: this Idempotency-Key was used with another request body")
	ErrIdempotencyInFlight = errors.New("requests: a request with this Idempotency-Key is still being processed")
)

// idempotency returns the stored form of a caller's key (bound to the
// caller) and the fingerprint of sub; both empty without a key.
func (s *Service) idempotency(actor Actor, key string, sub Submission) (bound, print string) {
	if key == "" {
		return "", ""
	}
	return actor.String() + "|" + key, s.fingerprint(sub)
}

// fingerprint is an HMAC of the canonical submission: the decoded body
// encoded again (fixed field order, no whitespace), plus the fields the HTTP
// layer sets. Keyed, because a body holds personal data (a national number).
func (s *Service) fingerprint(sub Submission) string {
	b, err := json.Marshal(struct {
		Submission
		ReferredBy string `json:"referred_by"`
	}{sub, sub.ReferredBy})
	if err != nil {
		// A Submission holds only strings, numbers and bools.
		panic(fmt.Sprintf("requests: fingerprint: %v", err))
	}
	m := hmac.New(sha256.New, s.printKey)
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

// replayOf answers a request stored earlier with the same key: the first
// answer when the bodies match, ErrIdempotencyMismatch otherwise (also for a
// request stored before fingerprints were kept).
func (s *Service) replayOf(desk tenant.Tenant, r *Request, print string) (*Request, string, bool, error) {
	if r.IdempotencyPrint == nil || !hmac.Equal([]byte(*r.IdempotencyPrint), []byte(print)) {
		return nil, "", false, ErrIdempotencyMismatch
	}
	return r, s.StatusURL(desk.Slug, r), true, nil
}

// inFlight holds the keys of registrations being written on this instance.
type inFlight struct {
	mu   sync.Mutex
	keys map[string]chan struct{}
}

func flightKey(desk tenancy.ID, bound string) string { return desk.String() + "|" + bound }

// claim marks a key as in flight; release ends it. A key already in flight
// gives ErrIdempotencyInFlight.
func (f *inFlight) claim(desk tenancy.ID, bound string) (release func(), err error) {
	k := flightKey(desk, bound)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keys == nil {
		f.keys = map[string]chan struct{}{}
	}
	if _, busy := f.keys[k]; busy {
		return nil, ErrIdempotencyInFlight
	}
	done := make(chan struct{})
	f.keys[k] = done
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.keys, k)
		close(done)
	}, nil
}

// AwaitInFlight waits until no registration with the caller's key is being
// written on this instance. The parent form uses it for a double submit: the
// second post then gets the first one's answer instead of an error.
func (s *Service) AwaitInFlight(ctx context.Context, actor Actor, key string) error {
	desk, ok := tenancy.FromContext(ctx)
	if !ok || key == "" {
		return nil
	}
	s.flying.mu.Lock()
	done := s.flying.keys[flightKey(desk, actor.String()+"|"+key)]
	s.flying.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("requests: waiting for the first submission: %w", ctx.Err())
	}
}
