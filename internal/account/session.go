package account

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/session"
)

// Sessions are Fiber sessions in the shared cache (prefix "sess:"), so every
// replica knows every session. The cookie holds only a random id; it is
// HttpOnly, SameSite=Lax, Secure when Loket is served over TLS, and lasts
// as long as the browser (no expiry date).
//
// SessionCookie names the cookie (the API binds idempotency keys to it).
const SessionCookie = "loket_session"

const (
	sessionCookie = SessionCookie

	// A signed-in session.
	keyUser       = "uid"
	keyGeneration = "gen"
	keySignedInAt = "auth"
	keySeenAt     = "seen"
	// keySecondFactor is true when this session passed a second factor
	// (a code from the code app, or setting one up).
	keySecondFactor = "2fa"
	// A sign-in waiting for the code (or for a code app to be set up).
	keyPendingUser   = "p_uid"
	keyPendingGen    = "p_gen"
	keyPendingAt     = "p_at"
	keyPendingSecret = "p_secret"
	keyPendingNext   = "p_next"
	// A signed-in user setting up a code app from the account page.
	keyEnrolSecret = "e_secret"

	localUser = "loket.user"
	// localNeedsStepUp holds the user of a session that lacks the second
	// factor her current roles require: she is not signed in for any page
	// until she gives a code (RequireUser sends her there).
	localNeedsStepUp = "loket.user.stepup"

	// Default timeouts: a session ends after an hour without requests and
	// in any case twelve hours after signing in (a working day).
	DefaultIdleTimeout = time.Hour
	DefaultMaxAge      = 12 * time.Hour

	// pendingTTL is how long the code step waits after the password.
	pendingTTL = 10 * time.Minute
	// touchEvery limits session writes: the last-seen time (and the cache
	// TTL) is renewed at most once a minute per session.
	touchEvery = time.Minute
)

func (h *Handler) newSessionStore() *session.Store {
	return session.New(session.Config{
		// The cache entry lives as long as the idle timeout; every touch
		// renews it. The absolute limit is checked against keySignedInAt.
		Expiration:        h.cfg.IdleTimeout,
		Storage:           h.sessStorage,
		KeyLookup:         "cookie:" + sessionCookie,
		CookiePath:        "/",
		CookieSecure:      h.cfg.SecureCookies,
		CookieHTTPOnly:    true,
		CookieSameSite:    fiber.CookieSameSiteLaxMode,
		CookieSessionOnly: true,
		KeyGenerator:      newToken,
	})
}

// CurrentUser returns the signed-in user of the request, if any.
func CurrentUser(c *fiber.Ctx) (*User, bool) {
	u, ok := c.Locals(localUser).(*User)
	return u, ok && u != nil
}

// UserIDOf names the signed-in user for authorisation
// (authz.Require's userOf): the user's id, which never changes, unlike the
// e-mail address.
func UserIDOf(c *fiber.Ctx) (string, bool) {
	u, ok := CurrentUser(c)
	if !ok {
		return "", false
	}
	return u.ID.String(), true
}

func unixOf(v any) (time.Time, bool) {
	n, ok := v.(int64)
	return time.Unix(n, 0), ok
}

// Session is the middleware that loads the signed-in user into the request
// (Locals, see CurrentUser, and the UserContext, see UserFrom). A session
// that is idle too long, too old, of a disabled user or of an older
// generation (sign out everywhere) is deleted and the request goes on as
// anonymous.
func (h *Handler) Session(c *fiber.Ctx) error {
	if c.Cookies(sessionCookie) == "" {
		return c.Next()
	}
	sess, err := h.sessions.Get(c)
	if err != nil {
		// The cache is down or the entry is corrupt: serve as anonymous.
		h.log.WarnContext(c.UserContext(), "read session", "error", err)
		return c.Next()
	}
	uid, _ := sess.Get(keyUser).(string)
	if uid == "" {
		return c.Next()
	}
	now := h.clock.Now()
	gen, _ := sess.Get(keyGeneration).(int64)
	signedIn, ok1 := unixOf(sess.Get(keySignedInAt))
	seen, ok2 := unixOf(sess.Get(keySeenAt))
	id, err := ParseUserID(uid)
	if !ok1 || !ok2 || err != nil || now.Sub(signedIn) >= h.cfg.MaxAge || now.Sub(seen) >= h.cfg.IdleTimeout {
		return h.dropSession(c, sess)
	}
	// The database, not the session, says whether the user may still be
	// signed in: a disabled account or a newer generation ends it at once.
	u, err := h.store.ByID(c.UserContext(), id)
	if errors.Is(err, ErrNotFound) {
		return h.dropSession(c, sess)
	}
	if err != nil {
		return err
	}
	if u.Disabled() || u.SessionGeneration != gen {
		return h.dropSession(c, sess)
	}
	// Her roles now, not those of when she signed in, say whether this
	// session needs a second factor: a desk role given to a signed-in
	// partner takes effect only after she gives a code.
	if passed, _ := sess.Get(keySecondFactor).(bool); !passed && h.needsSecondFactor(u) {
		c.Locals(localNeedsStepUp, u)
		return c.Next()
	}
	c.Locals(localUser, u)
	c.SetUserContext(WithUser(c.UserContext(), u))
	if now.Sub(seen) >= touchEvery {
		sess.Set(keySeenAt, now.Unix())
		if err := sess.Save(); err != nil {
			h.log.WarnContext(c.UserContext(), "renew session", "error", err)
		}
	}
	return c.Next()
}

func (h *Handler) dropSession(c *fiber.Ctx, sess *session.Session) error {
	if err := sess.Destroy(); err != nil {
		h.log.WarnContext(c.UserContext(), "delete session", "error", err)
	}
	return c.Next()
}

// needsSecondFactor reports whether u must pass a second factor: her
// account says so, or her current roles do (Config.SecondFactor).
func (h *Handler) needsSecondFactor(u *User) bool {
	return u.TOTPRequired || u.HasTOTP() || (h.cfg.SecondFactor != nil && h.cfg.SecondFactor(u.ID.String()))
}

// startSession signs u in. The session gets a new id (an id known before
// signing in, perhaps planted by someone else, is worthless afterwards), and
// the CSRF token is renewed too. secondFactor records that the sign-in
// passed a code.
func (h *Handler) startSession(c *fiber.Ctx, u *User, secondFactor bool) error {
	sess, err := h.sessions.Get(c)
	if err != nil {
		return err
	}
	if err := sess.Reset(); err != nil { // deletes the old entry, new id
		return err
	}
	now := h.clock.Now().Unix()
	sess.Set(keyUser, u.ID.String())
	sess.Set(keyGeneration, u.SessionGeneration)
	sess.Set(keySignedInAt, now)
	sess.Set(keySeenAt, now)
	sess.Set(keySecondFactor, secondFactor)
	// The session's new id comes without the old CSRF token: the next page
	// gets a fresh one.
	return sess.Save()
}

// startPending remembers a sign-in that waits for the code step, under a
// new session id. secret is the code app secret being set up, if any.
func (h *Handler) startPending(c *fiber.Ctx, u *User, next, secret string) error {
	sess, err := h.sessions.Get(c)
	if err != nil {
		return err
	}
	if err := sess.Reset(); err != nil {
		return err
	}
	sess.Set(keyPendingUser, u.ID.String())
	sess.Set(keyPendingGen, u.SessionGeneration)
	sess.Set(keyPendingAt, h.clock.Now().Unix())
	sess.Set(keyPendingNext, next)
	if secret != "" {
		sess.Set(keyPendingSecret, secret)
	}
	sess.SetExpiry(pendingTTL)
	return sess.Save()
}

// pendingSignIn is a sign-in waiting for its code step.
type pendingSignIn struct {
	user   *User
	secret string
	next   string
}

// pending returns the waiting sign-in of this request, or nil.
func (h *Handler) pending(c *fiber.Ctx) (*pendingSignIn, error) {
	if c.Cookies(sessionCookie) == "" {
		return nil, nil
	}
	sess, err := h.sessions.Get(c)
	if err != nil {
		return nil, err
	}
	uid, _ := sess.Get(keyPendingUser).(string)
	at, ok := unixOf(sess.Get(keyPendingAt))
	gen, _ := sess.Get(keyPendingGen).(int64)
	if uid == "" || !ok || h.clock.Now().Sub(at) >= pendingTTL {
		return nil, nil
	}
	id, err := ParseUserID(uid)
	if err != nil {
		return nil, nil
	}
	u, err := h.store.ByID(c.UserContext(), id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled() || u.SessionGeneration != gen {
		return nil, nil
	}
	p := &pendingSignIn{user: u}
	p.secret, _ = sess.Get(keyPendingSecret).(string)
	p.next, _ = sess.Get(keyPendingNext).(string)
	return p, nil
}

// endSession deletes the request's session, if any.
func (h *Handler) endSession(c *fiber.Ctx) error {
	if c.Cookies(sessionCookie) == "" {
		return nil
	}
	sess, err := h.sessions.Get(c)
	if err != nil {
		return err
	}
	return sess.Destroy()
}

// setSessionValue stores one value in the signed-in session.
func (h *Handler) setSessionValue(c *fiber.Ctx, key string, v any) error {
	return h.setSessionValues(c, map[string]any{key: v})
}

// setSessionValues stores values in the signed-in session (nil deletes).
func (h *Handler) setSessionValues(c *fiber.Ctx, values map[string]any) error {
	sess, err := h.sessions.Get(c)
	if err != nil {
		return err
	}
	for key, v := range values {
		if v == nil {
			sess.Delete(key)
		} else {
			sess.Set(key, v)
		}
	}
	return sess.Save()
}

func (h *Handler) sessionValue(c *fiber.Ctx, key string) (any, error) {
	sess, err := h.sessions.Get(c)
	if err != nil {
		return nil, err
	}
	return sess.Get(key), nil
}

// RequireUser lets only signed-in users through. Others go to the sign-in
// page (and come back after signing in); API calls get 401.
//
// A signed-in user whose session lacks the second factor her current roles
// require is sent to give a code, or to set up a code app when she has none,
// and comes back afterwards.
func (h *Handler) RequireUser(c *fiber.Ctx) error {
	if _, ok := CurrentUser(c); ok {
		return c.Next()
	}
	if isAPI(c) || !acceptsHTML(c) {
		return fiber.ErrUnauthorized
	}
	next := ""
	if c.Method() == fiber.MethodGet {
		next = strings.Clone(c.OriginalURL())
	}
	if u, ok := c.Locals(localNeedsStepUp).(*User); ok && u != nil {
		return h.stepUp(c, u, safeNext(next))
	}
	target := PathSignIn
	if next != "" {
		target += "?" + url.Values{"next": {next}}.Encode()
	}
	return c.Redirect(target, fiber.StatusSeeOther)
}

// stepUp turns a session without the second factor into a sign-in waiting
// for its code step: the code from her app, or a new code app to set up.
func (h *Handler) stepUp(c *fiber.Ctx, u *User, next string) error {
	if u.HasTOTP() {
		if err := h.startPending(c, u, next, ""); err != nil {
			return err
		}
		return c.Redirect(PathSignInCode, fiber.StatusSeeOther)
	}
	key, err := NewTOTPKey(u.Email)
	if err != nil {
		return err
	}
	if err := h.startPending(c, u, next, key.Secret); err != nil {
		return err
	}
	return c.Redirect(PathSignInSetup, fiber.StatusSeeOther)
}

// safeNext keeps a return address only when it is a path on this site, so
// the sign-in page cannot send anyone elsewhere.
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") ||
		strings.HasPrefix(next, PathSignIn) {
		return PathLanding
	}
	return next
}
