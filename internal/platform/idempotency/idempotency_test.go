package idempotency_test

import (
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/idempotency"
	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
)

type fixture struct {
	app     *fiber.App
	clock   *clock.Fixed
	store   *idempotency.Store
	writes  atomic.Int32
	release chan struct{}
	started chan struct{}
}

func newFixture(t *testing.T, d *db.DB) *fixture {
	f := &fixture{clock: clock.NewFixed(time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC))}
	f.store = &idempotency.Store{DB: d.DB, Clock: f.clock}
	f.app = fiber.New()
	f.app.Use(idempotency.Middleware(idempotency.Config{Store: f.store,
		Caller: func(c *fiber.Ctx) string { return c.Get("Authorization") }}))
	f.app.Post("/things", func(c *fiber.Ctx) error {
		n := f.writes.Add(1)
		c.Set(fiber.HeaderLocation, "/things/"+strconv.Itoa(int(n)))
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{"n": n})
	})
	f.app.Post("/slow", func(c *fiber.Ctx) error {
		close(f.started)
		<-f.release
		return c.SendStatus(fiber.StatusNoContent)
	})
	f.app.Post("/broken", func(c *fiber.Ctx) error {
		f.writes.Add(1)
		return fiber.ErrServiceUnavailable
	})
	return f
}

func (f *fixture) post(t *testing.T, path, body, key, caller string) webtest.Response {
	t.Helper()
	return webtest.Do(t, f.app, "POST", path, body, "Content-Type", "application/json", "Idempotency-Key", key, "Authorization", caller)
}

// TestRetryReplaysTheFirstAnswer: the same key and body give the first
// answer again (status, body, Location) without a second write, for 24
// hours; another caller's same key is another key.
func TestRetryReplaysTheFirstAnswer(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		first := f.post(t, "/things", `{"a":1}`, "k-1", "Bearer one")
		again := f.post(t, "/things", `{"a":1}`, "k-1", "Bearer one")
		if first.Status != 201 || again.Status != 201 || first.Body != again.Body || again.Header.Get("Location") != "/things/1" ||
			again.Header.Get(idempotency.ReplayedHeader) != "true" || !strings.HasPrefix(again.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("first %d %s, retry %d %s %v", first.Status, first.Body, again.Status, again.Body, again.Header)
		}
		if n := f.writes.Load(); n != 1 {
			t.Fatalf("writes %d, want 1", n)
		}
		if other := f.post(t, "/things", `{"a":1}`, "k-1", "Bearer two"); other.Status != 201 || other.Body == first.Body {
			t.Errorf("another caller's key: %d %s", other.Status, other.Body)
		}
		if plain := webtest.Do(t, f.app, "POST", "/things", `{}`); plain.Status != 201 {
			t.Errorf("without a key: %d", plain.Status)
		}
		f.clock.Advance(idempotency.TTL + time.Minute)
		if late := f.post(t, "/things", `{"a":1}`, "k-1", "Bearer one"); late.Status != 201 || late.Body == first.Body {
			t.Errorf("after 24 hours the key is new again: %d %s", late.Status, late.Body)
		}
		if n, err := f.store.Purge(t.Context()); err != nil || n != 1 {
			t.Errorf("purge: %d %v, want the other caller's expired key", n, err)
		}
	})
}

// TestSameKeyOtherRequestIsRefused: 422 problem+json at the header, and
// nothing written.
func TestSameKeyOtherRequestIsRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.post(t, "/things", `{"a":1}`, "k-2", "Bearer one")
		res := f.post(t, "/things", `{"a":2}`, "k-2", "Bearer one")
		if res.Status != 422 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") ||
			!strings.Contains(res.Body, `"field":"Idempotency-Key"`) {
			t.Fatalf("mismatch: %d %s", res.Status, res.Body)
		}
		if n := f.writes.Load(); n != 1 {
			t.Fatalf("writes %d, want 1", n)
		}
	})
}

// TestKeyInFlightIsConflict: a second request while the first still runs
// is 409; a server error is not kept, so its retry runs again.
func TestKeyInFlightIsConflict(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.started, f.release = make(chan struct{}), make(chan struct{})
		done := make(chan webtest.Response)
		go func() { done <- f.post(t, "/slow", `{}`, "k-3", "Bearer one") }()
		<-f.started
		if res := f.post(t, "/slow", `{}`, "k-3", "Bearer one"); res.Status != 409 || res.Header.Get("Retry-After") == "" {
			t.Errorf("in flight: %d %s", res.Status, res.Body)
		}
		close(f.release)
		if res := <-done; res.Status != 204 {
			t.Errorf("first: %d", res.Status)
		}
		if res := f.post(t, "/slow", `{}`, "k-3", "Bearer one"); res.Status != 204 || res.Header.Get(idempotency.ReplayedHeader) != "true" {
			t.Errorf("after: %d %v", res.Status, res.Header)
		}
		f.post(t, "/broken", `{}`, "k-4", "Bearer one")
		f.post(t, "/broken", `{}`, "k-4", "Bearer one")
		if n := f.writes.Load(); n != 2 {
			t.Errorf("a 503 was replayed: %d runs, want 2", n)
		}
	})
}
