package app

import (
	"strings"

	"github.com/gofiber/fiber/v2"
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
