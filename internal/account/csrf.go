package account

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/csrf"

	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

// CSRF protection: Fiber's csrf middleware (double submit: the token is in a
// cookie, in the shared cache and in the form or header, and all three must
// agree). Its state lives in the cache under "csrf:", so every replica
// accepts a token another one issued.
const (
	// CSRFField is the hidden form field every POST form carries:
	// <input type="hidden" name="csrf_token" value="{{.CSRF}}">.
	CSRFField = "csrf_token"
	// CSRFHeader carries the token for htmx and fetch requests.
	CSRFHeader = "X-CSRF-Token"

	csrfCookie     = "loket_csrf"
	localCSRF      = "loket.csrf"
	csrfHandlerKey = "loket.csrf.handler"
	csrfTTL        = 2 * time.Hour
)

// CSRFToken is the token to put in a form of this page (empty when the
// request did not pass the CSRF middleware).
func CSRFToken(c *fiber.Ctx) string {
	s, _ := c.Locals(localCSRF).(string)
	return s
}

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// extractCSRF reads the token from the header (htmx) or the form field
// (plain HTML forms, which work without JavaScript).
func extractCSRF(c *fiber.Ctx) (string, error) {
	if v := c.Get(CSRFHeader); v != "" {
		return v, nil
	}
	if v := c.FormValue(CSRFField); v != "" {
		return v, nil
	}
	return "", csrf.ErrTokenNotFound
}

func safeMethod(m string) bool {
	switch m {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions, fiber.MethodTrace:
		return true
	}
	return false
}

func isAPI(c *fiber.Ctx) bool { return strings.HasPrefix(c.Path(), "/api/") }

func acceptsHTML(c *fiber.Ctx) bool {
	a := c.Get(fiber.HeaderAccept)
	return a == "" || strings.Contains(a, "text/html") || strings.Contains(a, "*/*")
}

func (h *Handler) newCSRF() fiber.Handler {
	return csrf.New(csrf.Config{
		Next: func(c *fiber.Ctx) bool {
			if safeMethod(c.Method()) {
				// Tokens only for pages: API reads and JSON need none, and
				// each token costs a cache write.
				return isAPI(c) || !acceptsHTML(c)
			}
			// An API client with a bearer token and no session cookie sends
			// no credentials a browser adds by itself: nothing to forge.
			// (Basic auth would be: browsers resend it on their own.)
			return strings.HasPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ") && c.Cookies(sessionCookie) == ""
		},
		CookieName:        csrfCookie,
		CookiePath:        "/",
		CookieSecure:      h.cfg.SecureCookies,
		CookieHTTPOnly:    true,
		CookieSameSite:    fiber.CookieSameSiteLaxMode,
		CookieSessionOnly: true,
		Expiration:        csrfTTL,
		Storage:           h.csrfStorage,
		ContextKey:        localCSRF,
		HandlerContextKey: csrfHandlerKey,
		KeyGenerator:      newToken,
		Extractor:         extractCSRF,
		ErrorHandler:      h.csrfRefused,
	})
}

// rotateCSRF drops the request's token when the user signs in or out; the
// next page gets a fresh one.
func rotateCSRF(c *fiber.Ctx) {
	if ch, ok := c.Locals(csrfHandlerKey).(*csrf.CSRFHandler); ok && c.Cookies(csrfCookie) != "" {
		_ = ch.DeleteToken(c)
	}
}

// csrfRefused answers a request without a valid token: a 403 page in the
// visitor's language (Dutch by default), or a problem document for the API.
func (h *Handler) csrfRefused(c *fiber.Ctx, err error) error {
	h.log.InfoContext(c.UserContext(), "request refused: CSRF token", "request_id", web.RequestID(c), "method", c.Method(), "reason", err.Error())
	if isAPI(c) || !acceptsHTML(c) {
		return web.SendProblem(c, web.Problem{Status: fiber.StatusForbidden, Detail: "missing or invalid CSRF token"})
	}
	web.SetLanguage(c, web.PickLanguage(c, []string{"nl", "fr", "en"}, "nl"))
	tr := h.render.Translator(c)
	return h.render.Render(c, fiber.StatusForbidden, "error", web.Page{
		Translator: tr,
		Title:      tr.T("account.csrf.title"),
		Data: map[string]string{
			"Heading":   tr.T("account.csrf.title"),
			"Message":   tr.T("account.csrf.text"),
			"RequestID": web.RequestID(c),
		},
	})
}
