// Package idempotency makes every write of the API safe to retry: a client
// sends an Idempotency-Key header (IETF httpapi draft), and a retry with the
// same key and the same request gets the first answer again instead of
// doing the write twice. It knows no domain; the app mounts Middleware on
// the API group.
//
// A key is no secret (clients log it), so it is bound to its caller (a hash
// of the bearer key or session, see Config.Caller) and to a fingerprint of
// method, path and body:
//
//   - same caller, key and request within TTL: the stored status and body
//     are replayed (header Idempotent-Replayed: true);
//   - same caller and key with another request: 422, nothing is done;
//   - while the first request with the key is still running (on any
//     replica: the row is claimed by an insert): 409, retry later.
//
// Answers that do not depend on the request alone are not kept, so a retry
// runs again: server errors (5xx), 401, 403 and 429.
package idempotency

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

// Header is the request header that carries the key.
const Header = "Idempotency-Key"

// ReplayedHeader marks a replayed answer.
const ReplayedHeader = "Idempotent-Replayed"

// TTL is how long a key's answer is kept.
const TTL = 24 * time.Hour

// abandoned is when an unfinished claim (a replica that died mid-request)
// may be taken over.
const abandoned = 5 * time.Minute

// MaxKeyLength bounds a key.
const MaxKeyLength = 255

// Record is one caller's key and the answer to it (status 0: still running).
type Record struct {
	bun.BaseModel `bun:"table:api_idempotency_keys"`

	Caller      string    `bun:"caller,pk"`
	Key         string    `bun:"idem_key,pk"`
	Fingerprint string    `bun:"fingerprint,notnull"`
	Status      int       `bun:"status,notnull"`
	ContentType string    `bun:"content_type,notnull"`
	Location    string    `bun:"location,notnull"`
	Body        string    `bun:"body,notnull"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
	ExpiresAt   time.Time `bun:"expires_at,notnull"`
}

// Store keeps records; it works on SQLite and PostgreSQL (platform data).
type Store struct {
	DB    bun.IDB
	Clock clock.Clock
}

// outcome of a claim.
type outcome int

const (
	claimed outcome = iota
	replay
	mismatch
	inFlight
)

// claim inserts the caller's key as running, or tells what an earlier
// request with it left.
func (s *Store) claim(ctx context.Context, caller, key, print string) (outcome, *Record, error) {
	for try := 0; try < 2; try++ {
		now := s.Clock.Now()
		r := &Record{Caller: caller, Key: key, Fingerprint: print, CreatedAt: now, ExpiresAt: now.Add(TTL)}
		res, err := s.DB.NewInsert().Model(r).On("CONFLICT (caller, idem_key) DO NOTHING").Exec(ctx)
		if err != nil {
			return 0, nil, fmt.Errorf("idempotency: claim key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return claimed, nil, nil
		}
		var old Record
		err = s.DB.NewSelect().Model(&old).Where("caller = ? AND idem_key = ?", caller, key).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			continue // gone meanwhile: claim again
		}
		if err != nil {
			return 0, nil, fmt.Errorf("idempotency: read key: %w", err)
		}
		if old.ExpiresAt.Before(now) || (old.Status == 0 && old.CreatedAt.Before(now.Add(-abandoned))) {
			// Expired, or left unfinished by a replica that died: free it
			// (only this very row, in case another request took it meanwhile).
			if _, err := s.DB.NewDelete().Model((*Record)(nil)).Where("caller = ? AND idem_key = ? AND created_at = ?", caller, key, old.CreatedAt).Exec(ctx); err != nil {
				return 0, nil, fmt.Errorf("idempotency: free key: %w", err)
			}
			continue
		}
		switch {
		case old.Fingerprint != print:
			return mismatch, nil, nil
		case old.Status == 0:
			return inFlight, nil, nil
		}
		return replay, &old, nil
	}
	return inFlight, nil, nil
}

// finish stores the answer to a claimed key.
func (s *Store) finish(ctx context.Context, r *Record) error {
	if _, err := s.DB.NewUpdate().Model(r).Column("status", "content_type", "location", "body").WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("idempotency: store answer: %w", err)
	}
	return nil
}

// release forgets a claimed key whose answer is not kept.
func (s *Store) release(ctx context.Context, caller, key string) error {
	if _, err := s.DB.NewDelete().Model((*Record)(nil)).Where("caller = ? AND idem_key = ?", caller, key).Exec(ctx); err != nil {
		return fmt.Errorf("idempotency: release key: %w", err)
	}
	return nil
}

// Purge deletes expired records and returns how many (a daily job).
func (s *Store) Purge(ctx context.Context) (int, error) {
	res, err := s.DB.NewDelete().Model((*Record)(nil)).Where("expires_at < ?", s.Clock.Now()).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("idempotency: purge: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Config configures Middleware.
type Config struct {
	Store *Store
	// Caller names who sends the request (e.g. a hash of its bearer key or
	// session cookie); keys of different callers never meet.
	Caller func(c *fiber.Ctx) string
	// Skip leaves requests to their own mechanism (a registration keeps its
	// key with the request it created).
	Skip func(c *fiber.Ctx) bool
	Log  *slog.Logger
}

// Fingerprint is the hash of what makes two requests the same.
func Fingerprint(method, path string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(method + "\n" + path + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// kept reports whether an answer with status is replayed to a retry.
func kept(status int) bool {
	switch status {
	case fiber.StatusUnauthorized, fiber.StatusForbidden, fiber.StatusTooManyRequests:
		return false
	}
	return status > 0 && status < 500
}

// Middleware applies keys to POST, PUT, PATCH and DELETE; other methods and
// requests without the header pass untouched (the header is optional).
func Middleware(cfg Config) fiber.Handler {
	return func(c *fiber.Ctx) error {
		switch c.Method() {
		case fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch, fiber.MethodDelete:
		default:
			return c.Next()
		}
		key := c.Get(Header)
		if key == "" || (cfg.Skip != nil && cfg.Skip(c)) {
			return c.Next()
		}
		if len(key) > MaxKeyLength {
			return web.SendProblem(c, web.Problem{Status: fiber.StatusBadRequest, Title: "Invalid Idempotency-Key",
				Errors: []web.FieldError{{Field: Header, Message: fmt.Sprintf("must be at most %d characters", MaxKeyLength)}}})
		}
		key = utils.CopyString(key)
		ctx := c.UserContext()
		caller := cfg.Caller(c)
		print := Fingerprint(c.Method(), c.Path()+"?"+string(c.Request().URI().QueryString()), c.Body())
		out, old, err := cfg.Store.claim(ctx, caller, key, print)
		if err != nil {
			return err
		}
		switch out {
		case mismatch:
			return web.SendProblem(c, web.Problem{Status: fiber.StatusUnprocessableEntity, Title: "Idempotency-Key reused",
				Detail: "This Idempotency-Key was used with another request; use a new key for a new request.",
				Errors: []web.FieldError{{Field: Header, Message: "was used with another method, path or body"}}})
		case inFlight:
			c.Set(fiber.HeaderRetryAfter, "1")
			return web.SendProblem(c, web.Problem{Status: fiber.StatusConflict, Title: "Request in progress",
				Detail: "A request with this Idempotency-Key is still being processed; retry later."})
		case replay:
			c.Set(ReplayedHeader, "true")
			if old.Location != "" {
				c.Set(fiber.HeaderLocation, old.Location)
			}
			if old.ContentType != "" {
				c.Set(fiber.HeaderContentType, old.ContentType)
			}
			return c.Status(old.Status).Send([]byte(old.Body))
		}
		if err := c.Next(); err != nil {
			// Write the error's answer here, so that it can be kept.
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		// The request's own context may be done (client gone); the answer
		// is still stored or the key freed.
		ctx = context.WithoutCancel(ctx)
		status := c.Response().StatusCode()
		if !kept(status) {
			if err := cfg.Store.release(ctx, caller, key); err != nil && cfg.Log != nil {
				cfg.Log.Error("idempotency", "error", err)
			}
			return nil
		}
		r := &Record{Caller: caller, Key: key, Status: status, Location: string(c.Response().Header.Peek(fiber.HeaderLocation)),
			Body: string(c.Response().Body())}
		if r.Body != "" {
			r.ContentType = string(c.Response().Header.ContentType())
		}
		if err := cfg.Store.finish(ctx, r); err != nil && cfg.Log != nil {
			cfg.Log.Error("idempotency", "error", err)
		}
		return nil
	}
}
