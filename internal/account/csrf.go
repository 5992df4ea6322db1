package account

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/csrf"

	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

// CSRF protection, two checks on every state-changing request:
//
//   - the token: Fiber's csrf middleware in session mode. The token is kept
//     in the visitor's session (in the shared cache, so every replica knows
//     it), in a cookie, and in the form or header; all three must agree. A
//     token issued to another session, even with its cookie, is refused,
//     and signing in or out (a new or no session) ends the old token.
//   - the origin: a browser's Origin header (or, without it, its Referer)
//     must name Loket itself: the public URL, or the host the request was
//     sent to (a desk's own host name).
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
	// keyCSRF holds the session's token in the session.
	keyCSRF = "csrf"
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

// skipCSRF: requests that need no CSRF check.
func skipCSRF(c *fiber.Ctx) bool {
	if safeMethod(c.Method()) {
		// Tokens only for pages: API reads and JSON need none, and each
		// token costs a cache write.
		return isAPI(c) || !acceptsHTML(c)
	}
	// An API client with a bearer token and no session cookie sends no
	// credentials a browser adds by itself: nothing to forge. (Basic auth
	// would be: browsers resend it on their own.)
	return strings.HasPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ") && c.Cookies(sessionCookie) == ""
}

// errForeignOrigin: the request came from a page that is not Loket's.
var errForeignOrigin = errors.New("origin or referer is not this site")

// checkOrigin refuses a state-changing request whose Origin (or, when a
// browser sends none, Referer) names another site. Without either header
// the token alone decides (clients that send neither are no browsers
// acting for someone else, or hide the referer on purpose).
func (h *Handler) checkOrigin(c *fiber.Ctx) error {
	from := c.Get(fiber.HeaderOrigin)
	if from == "" {
		from = c.Get(fiber.HeaderReferer)
		if from == "" {
			return nil
		}
	}
	u, err := url.Parse(from)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return errForeignOrigin // "null" (a sandboxed or privacy-hidden origin) included
	}
	if h.publicOrigin != nil && strings.EqualFold(u.Scheme, h.publicOrigin.Scheme) && strings.EqualFold(u.Host, h.publicOrigin.Host) {
		return nil
	}
	// The host the browser sent this request to: the platform host or a
	// desk's own host name. Behind a proxy only a trusted one may change
	// the host and scheme Fiber reports.
	if strings.EqualFold(u.Host, c.Hostname()) && strings.EqualFold(u.Scheme, c.Protocol()) {
		return nil
	}
	return errForeignOrigin
}

func (h *Handler) newCSRF() fiber.Handler {
	return csrf.New(csrf.Config{
		Next:              skipCSRF,
		CookieName:        csrfCookie,
		CookiePath:        "/",
		CookieSecure:      h.cfg.SecureCookies,
		CookieHTTPOnly:    true,
		CookieSameSite:    fiber.CookieSameSiteLaxMode,
		CookieSessionOnly: true,
		Expiration:        csrfTTL,
		Session:           h.sessions,
		SessionKey:        keyCSRF,
		ContextKey:        localCSRF,
		HandlerContextKey: csrfHandlerKey,
		KeyGenerator:      newToken,
		Extractor:         extractCSRF,
		ErrorHandler:      h.csrfRefused,
	})
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
