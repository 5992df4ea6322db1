package app

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/account"
)

// apiCaller names the caller of a registration through the API: "" without
// an Authorization header (an anonymous caller, limited per address), the
// key's subject (apikey:<id>) for a valid API key. Idempotency keys are bound
// to it, and the event log names it.
func (a *App) apiCaller(c *fiber.Ctx) (string, error) {
	auth := c.Get(fiber.HeaderAuthorization)
	if auth == "" {
		return "", nil
	}
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return "", fiber.ErrUnauthorized
	}
	k, ok, err := a.Access.Authenticate(c.UserContext(), strings.TrimSpace(token))
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fiber.ErrUnauthorized
	}
	return k.Subject(), nil
}

// idempotencyCaller binds an Idempotency-Key to whoever sends the write: a
// hash of the bearer key or of the session cookie (never the secret itself),
// so that the same key text of another caller is another key.
func idempotencyCaller(c *fiber.Ctx) string {
	return idempotencyCallerOf(c.Get(fiber.HeaderAuthorization), c.Cookies(account.SessionCookie))
}

// idempotencyCallerOf is idempotencyCaller of an Authorization header and a
// session cookie (the contract test claims a key as a caller would).
func idempotencyCallerOf(auth, session string) string {
	if auth != "" {
		sum := sha256.Sum256([]byte(auth))
		return "bearer:" + hex.EncodeToString(sum[:])
	}
	if session != "" {
		sum := sha256.Sum256([]byte(session))
		return "session:" + hex.EncodeToString(sum[:])
	}
	return "anonymous"
}

// ownIdempotency names the writes that keep their key themselves: a
// registration stores it with the request it created (requests.idempotency).
func ownIdempotency(c *fiber.Ctx) bool {
	p := c.Path()
	return c.Method() == fiber.MethodPost && strings.HasPrefix(p, "/api/v1/tenants/") && strings.HasSuffix(p, "/requests")
}
