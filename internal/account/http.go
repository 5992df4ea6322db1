package account

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/session"

	"github.com/loket-kinderopvang/loket/internal/mail"
	"github.com/loket-kinderopvang/loket/internal/platform/cache"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

// Paths of the account pages.
const (
	PathSignIn         = "/aanmelden"
	PathSignInCode     = "/aanmelden/code"
	PathSignInSetup    = "/aanmelden/code-instellen"
	PathSignOut        = "/afmelden"
	PathSignOutAll     = "/afmelden/overal"
	PathForgotPassword = "/wachtwoord-vergeten"
	PathResetPassword  = "/wachtwoord-herstellen"
	PathAccount        = "/account"
	PathAccountSetup   = "/account/code-instellen"
	// PathLanding is where a sign-in without a page to return to lands:
	// the staff home of every account (internal/work).
	PathLanding = "/werk"
)

// PlatformPaths never belong to a desk: on a desk's own host name they must
// not be rewritten to /{desk}/… (tenant.HostRewrite).
var PlatformPaths = []string{PathSignIn, PathSignOut, PathForgotPassword, PathResetPassword, PathAccount}

// Config wires the account pages.
type Config struct {
	DB       *db.DB
	Cache    cache.Cache
	Clock    clock.Clock
	Mail     mail.Sender
	Renderer *web.Renderer
	Log      *slog.Logger
	// PublicURL is where users reach Loket; links in mails start with it.
	PublicURL string
	// SecureCookies marks the session and CSRF cookies Secure (Loket is
	// served over TLS).
	SecureCookies bool
	// IdleTimeout and MaxAge bound a session (defaults 1 h and 12 h).
	IdleTimeout, MaxAge time.Duration
	// Params are the argon2id costs (default DefaultParams).
	Params Params
	// Limits bound failed sign-ins (default DefaultLimits).
	Limits Limits
	// ResetTTL is how long a reset link works (default 1 h).
	ResetTTL time.Duration
	// DataKeys seal the users' code app secrets (when Service is not set).
	DataKeys *sealed.Keyring
	// Service, when set, is used instead of building one from the fields
	// above (the composition root shares one service with seeding).
	Service *Service
	// SecondFactor reports whether the user's current roles require a
	// second factor (authz.Authorizer.NeedsSecondFactor). It is asked on
	// every request, so a role given to a signed-in user counts at once.
	SecondFactor func(userID string) bool
}

// Handler serves the account pages and provides the session and CSRF
// middleware.
type Handler struct {
	cfg         Config
	svc         *Service
	store       *Store
	render      *web.Renderer
	clock       clock.Clock
	log         *slog.Logger
	sessions    *session.Store
	sessStorage *cache.Storage
	csrf        fiber.Handler
	// publicOrigin is PublicURL's scheme and host, for the Origin check.
	publicOrigin *url.URL
}

// New builds the account handler and its service.
func New(cfg Config) (*Handler, error) {
	if cfg.DB == nil || cfg.Cache == nil || cfg.Mail == nil || cfg.Renderer == nil {
		return nil, errors.New("account: New needs DB, Cache, Mail and Renderer")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.Limits == (Limits{}) {
		cfg.Limits = DefaultLimits
	}
	svc := cfg.Service
	if svc == nil {
		store, err := NewStore(cfg.DB, cfg.Clock, cfg.DataKeys)
		if err != nil {
			return nil, err
		}
		svc, err = NewService(store, cfg.Cache, cfg.Mail, cfg.Clock, ServiceOptions{
			Params: cfg.Params, Limits: cfg.Limits, ResetTTL: cfg.ResetTTL, PublicURL: cfg.PublicURL, Log: cfg.Log,
		})
		if err != nil {
			return nil, err
		}
	}
	store := svc.Store()
	h := &Handler{
		cfg: cfg, svc: svc, store: store, render: cfg.Renderer, clock: cfg.Clock, log: cfg.Log,
		// Distinct prefixes: a storage Reset clears its own keys only.
		sessStorage: cache.FiberStorage(cfg.Cache, "sess:"),
	}
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Host != "" {
		h.publicOrigin = u
	}
	h.sessions = h.newSessionStore()
	h.csrf = h.newCSRF()
	return h, nil
}

// Service is the account service (creating users, seeding).
func (h *Handler) Service() *Service { return h.svc }

// CSRF is the middleware that refuses every unsafe request (POST, PUT,
// PATCH, DELETE) from another site or without this session's token, and
// issues tokens to HTML pages. It must run after Session.
func (h *Handler) CSRF(c *fiber.Ctx) error {
	if !skipCSRF(c) && !safeMethod(c.Method()) {
		if err := h.checkOrigin(c); err != nil {
			return h.csrfRefused(c, err)
		}
	}
	return h.csrf(c)
}

// Register installs the session and CSRF middleware for every route
// registered after it, then the account pages. Call it after
// tenant.HostRewrite and before the API and desk routes.
func (h *Handler) Register(app *fiber.App) {
	// Sessions and CSRF tokens belong to the pages people use; machine paths
	// (the JSON API, static files, probes) skip them, which keeps the hot
	// read paths free of session storage round trips.
	app.Use(func(c *fiber.Ctx) error {
		if isMachinePath(c.Path()) {
			return c.Next()
		}
		return h.Session(c)
	}, func(c *fiber.Ctx) error {
		if isMachinePath(c.Path()) {
			return c.Next()
		}
		return h.CSRF(c)
	})
	app.Get(PathSignIn, h.signInForm)
	app.Post(PathSignIn, h.signIn)
	app.Get(PathSignInCode, h.codeForm)
	app.Post(PathSignInCode, h.code)
	app.Get(PathSignInSetup, h.setupForm)
	app.Post(PathSignInSetup, h.setup)
	app.Post(PathSignOut, h.signOut)
	app.Post(PathSignOutAll, h.RequireUser, h.signOutEverywhere)
	app.Get(PathForgotPassword, h.forgotForm)
	app.Post(PathForgotPassword, h.forgot)
	app.Get(PathResetPassword, h.resetForm)
	app.Post(PathResetPassword, h.reset)
	app.Get(PathAccount, h.RequireUser, h.account)
	app.Get(PathAccountSetup, h.RequireUser, h.accountSetupForm)
	app.Post(PathAccountSetup, h.RequireUser, h.accountSetup)
}

// form reads a form field as a copy: Fiber reuses the request's memory after
// the handler returns.
func form(c *fiber.Ctx, key string) string { return strings.Clone(c.FormValue(key)) }

func clientAddr(c *fiber.Ctx) string { return strings.Clone(c.IP()) }

// pageView is what every account page template receives in Data.
type pageView struct {
	CSRF   string
	Next   string
	Fields map[string]web.Field
	// Errors lists the wrong fields for the error summary.
	Errors []web.ErrorLink
	// Alert is a problem with the whole form (wrong password, locked).
	Alert string
	// Notice is good news (signed out, new password saved).
	Notice string
	// Extra holds page-specific values.
	Extra map[string]any
}

func (h *Handler) page(c *fiber.Ctx, status int, name, titleKey string, v pageView) error {
	tr := h.render.Translator(c)
	v.CSRF = CSRFToken(c)
	if v.Fields == nil {
		v.Fields = map[string]web.Field{}
	}
	title := tr.T(titleKey)
	if len(v.Errors) > 0 || v.Alert != "" {
		title = tr.T("account.title.errors") + ": " + title
	}
	// Personal pages must not stay in shared caches or the back button.
	c.Set(fiber.HeaderCacheControl, "no-store")
	return h.render.Render(c, status, name, web.Page{Translator: tr, Title: title, Data: v})
}

// tr picks the page language and returns its translator: the account pages
// belong to no desk, so all three languages are offered.
func (h *Handler) tr(c *fiber.Ctx) web.Translator {
	web.SetLanguage(c, web.PickLanguage(c, []string{"nl", "fr", "en"}, "nl"))
	return h.render.Translator(c)
}

func withFieldErrors(tr web.Translator, v *pageView, fe FieldErrors) {
	if v.Fields == nil {
		v.Fields = map[string]web.Field{}
	}
	for _, e := range fe {
		f := v.Fields[e.Field]
		f.Error = tr.T(e.Key)
		v.Fields[e.Field] = f
		v.Errors = append(v.Errors, web.ErrorLink{Anchor: e.Field, Message: f.Error})
	}
}

func (h *Handler) limitedMessage(tr web.Translator) string {
	return tr.T("account.error.limited", "Minutes", strconv.Itoa(int(h.cfg.Limits.Window/time.Minute)))
}

// --- sign in ---

func (h *Handler) signInForm(c *fiber.Ctx) error {
	tr := h.tr(c)
	next := safeNext(strings.Clone(c.Query("next")))
	if _, ok := CurrentUser(c); ok {
		return c.Redirect(next, fiber.StatusSeeOther)
	}
	v := pageView{Next: next}
	switch {
	case c.Query("afgemeld") != "":
		v.Notice = tr.T("account.notice.signed_out")
	case c.Query("hersteld") != "":
		v.Notice = tr.T("account.notice.password_reset")
	case c.Query("verlopen") != "":
		v.Notice = tr.T("account.notice.pending_expired")
	}
	return h.page(c, fiber.StatusOK, "signin", "account.signin.title", v)
}

func (h *Handler) signIn(c *fiber.Ctx) error {
	tr := h.tr(c)
	email, password := strings.TrimSpace(form(c, "email")), c.FormValue("password")
	next := safeNext(form(c, "next"))
	v := pageView{Next: next, Fields: map[string]web.Field{"email": {Value: email}}}
	var fe FieldErrors
	if email == "" {
		fe = append(fe, FieldError{"email", "account.error.email_empty"})
	}
	if password == "" {
		fe = append(fe, FieldError{"password", "account.error.password_empty"})
	}
	if fe != nil {
		withFieldErrors(tr, &v, fe)
		return h.page(c, fiber.StatusUnprocessableEntity, "signin", "account.signin.title", v)
	}
	u, out, err := h.svc.CheckPassword(c.UserContext(), email, password, clientAddr(c))
	if err != nil {
		return err
	}
	switch out {
	case Limited:
		// Neither the e-mail address nor the client address is logged: the limit
		// tells the operator enough, and both are personal data.
		h.log.WarnContext(c.UserContext(), "sign-in refused: too many failures", "request_id", web.RequestID(c))
		v.Alert = h.limitedMessage(tr)
		return h.page(c, fiber.StatusTooManyRequests, "signin", "account.signin.title", v)
	case NeedsCode:
		if err := h.startPending(c, u, next, ""); err != nil {
			return err
		}
		return c.Redirect(PathSignInCode, fiber.StatusSeeOther)
	case NeedsEnrolment:
		key, err := NewTOTPKey(u.Email)
		if err != nil {
			return err
		}
		if err := h.startPending(c, u, next, key.Secret); err != nil {
			return err
		}
		return c.Redirect(PathSignInSetup, fiber.StatusSeeOther)
	case SignedIn:
		if h.needsSecondFactor(u) {
			// Her roles require a code app that her account does not know
			// of yet: set one up now.
			return h.stepUp(c, u, next)
		}
		if err := h.startSession(c, u, false); err != nil {
			return err
		}
		h.log.InfoContext(c.UserContext(), "signed in", "user", u.ID)
		return c.Redirect(next, fiber.StatusSeeOther)
	}
	// One message whether the address is unknown, the password wrong or the
	// account disabled: the page must not tell who has an account.
	v.Alert = tr.T("account.error.credentials")
	return h.page(c, fiber.StatusUnauthorized, "signin", "account.signin.title", v)
}

// --- the code step ---

func (h *Handler) codeForm(c *fiber.Ctx) error {
	h.tr(c)
	p, err := h.pending(c)
	if err != nil {
		return err
	}
	if p == nil || p.secret != "" || !p.user.HasTOTP() {
		return c.Redirect(PathSignIn+"?verlopen=1", fiber.StatusSeeOther)
	}
	return h.page(c, fiber.StatusOK, "signin_code", "account.code.title", pageView{})
}

func (h *Handler) code(c *fiber.Ctx) error {
	tr := h.tr(c)
	p, err := h.pending(c)
	if err != nil {
		return err
	}
	if p == nil || p.secret != "" || !p.user.HasTOTP() {
		return c.Redirect(PathSignIn+"?verlopen=1", fiber.StatusSeeOther)
	}
	out, err := h.svc.CheckCode(c.UserContext(), p.user, form(c, "code"), clientAddr(c))
	if err != nil {
		return err
	}
	return h.afterCode(c, tr, p, out, "signin_code", "account.code.title", pageView{})
}

// afterCode answers a code step (sign-in code or a new code app).
func (h *Handler) afterCode(c *fiber.Ctx, tr web.Translator, p *pendingSignIn, out Outcome, tmpl, title string, v pageView) error {
	switch out {
	case SignedIn:
		if err := h.startSession(c, p.user, true); err != nil {
			return err
		}
		h.log.InfoContext(c.UserContext(), "signed in", "user", p.user.ID, "totp", true)
		return c.Redirect(safeNext(p.next), fiber.StatusSeeOther)
	case Limited:
		// Start over: the password step will say the account is locked.
		if err := h.endSession(c); err != nil {
			return err
		}
		v := pageView{Next: safeNext(p.next), Alert: h.limitedMessage(tr)}
		return h.page(c, fiber.StatusTooManyRequests, "signin", "account.signin.title", v)
	case Replayed:
		withFieldErrors(tr, &v, FieldErrors{{"code", "account.error.code_used"}})
	default:
		withFieldErrors(tr, &v, FieldErrors{{"code", "account.error.code"}})
	}
	return h.page(c, fiber.StatusUnauthorized, tmpl, title, v)
}

// --- setting up a code app ---

func (h *Handler) setupView(p *pendingSignIn, action string, required bool) (pageView, error) {
	key, err := TOTPKeyFor(p.user.Email, p.secret)
	if err != nil {
		return pageView{}, err
	}
	return pageView{Extra: map[string]any{
		"Action": action, "Secret": key.GroupedSecret(), "URL": key.URL, "Required": required,
	}}, nil
}

func (h *Handler) setupForm(c *fiber.Ctx) error {
	h.tr(c)
	p, err := h.pending(c)
	if err != nil {
		return err
	}
	if p == nil || p.secret == "" {
		return c.Redirect(PathSignIn+"?verlopen=1", fiber.StatusSeeOther)
	}
	v, err := h.setupView(p, PathSignInSetup, true)
	if err != nil {
		return err
	}
	return h.page(c, fiber.StatusOK, "account_totp", "account.setup.title", v)
}

func (h *Handler) setup(c *fiber.Ctx) error {
	tr := h.tr(c)
	p, err := h.pending(c)
	if err != nil {
		return err
	}
	if p == nil || p.secret == "" {
		return c.Redirect(PathSignIn+"?verlopen=1", fiber.StatusSeeOther)
	}
	out, err := h.svc.Enrol(c.UserContext(), p.user, p.secret, form(c, "code"), clientAddr(c))
	if err != nil {
		return err
	}
	v, err := h.setupView(p, PathSignInSetup, true)
	if err != nil {
		return err
	}
	return h.afterCode(c, tr, p, out, "account_totp", "account.setup.title", v)
}

// enrolSecret is the code-app secret being set up in this session, or "".
func (h *Handler) enrolSecret(c *fiber.Ctx) (string, error) {
	v, err := h.sessionValue(c, keyEnrolSecret)
	s, _ := v.(string)
	return s, err
}

// accountSetupForm lets a signed-in user without a code app set one up.
func (h *Handler) accountSetupForm(c *fiber.Ctx) error {
	h.tr(c)
	u, _ := CurrentUser(c)
	if u.HasTOTP() {
		return c.Redirect(PathAccount, fiber.StatusSeeOther)
	}
	s, err := h.enrolSecret(c)
	if err != nil {
		return err
	}
	if s == "" {
		key, err := NewTOTPKey(u.Email)
		if err != nil {
			return err
		}
		s = key.Secret
		if err := h.setSessionValue(c, keyEnrolSecret, s); err != nil {
			return err
		}
	}
	v, err := h.setupView(&pendingSignIn{user: u, secret: s}, PathAccountSetup, u.TOTPRequired)
	if err != nil {
		return err
	}
	return h.page(c, fiber.StatusOK, "account_totp", "account.setup.title", v)
}

func (h *Handler) accountSetup(c *fiber.Ctx) error {
	tr := h.tr(c)
	u, _ := CurrentUser(c)
	if u.HasTOTP() {
		return c.Redirect(PathAccount, fiber.StatusSeeOther)
	}
	s, err := h.enrolSecret(c)
	if err != nil {
		return err
	}
	if s == "" {
		return c.Redirect(PathAccountSetup, fiber.StatusSeeOther)
	}
	p := &pendingSignIn{user: u, secret: s, next: PathAccount + "?code=1"}
	out, err := h.svc.Enrol(c.UserContext(), u, s, form(c, "code"), clientAddr(c))
	if err != nil {
		return err
	}
	if out == SignedIn {
		if err := h.setSessionValues(c, map[string]any{keyEnrolSecret: nil, keySecondFactor: true}); err != nil {
			return err
		}
		return c.Redirect(p.next, fiber.StatusSeeOther)
	}
	if out == Limited {
		v := pageView{Alert: h.limitedMessage(tr)}
		return h.page(c, fiber.StatusTooManyRequests, "account", "account.title", h.accountView(c, u, v))
	}
	v, err := h.setupView(p, PathAccountSetup, u.TOTPRequired)
	if err != nil {
		return err
	}
	key := "account.error.code"
	if out == Replayed {
		key = "account.error.code_used"
	}
	withFieldErrors(tr, &v, FieldErrors{{"code", key}})
	return h.page(c, fiber.StatusUnauthorized, "account_totp", "account.setup.title", v)
}

// --- the account page and signing out ---

func (h *Handler) accountView(c *fiber.Ctx, u *User, v pageView) pageView {
	v.Extra = map[string]any{"Name": u.DisplayName, "Email": u.Email, "HasTOTP": u.HasTOTP(), "TOTPRequired": u.TOTPRequired}
	return v
}

func (h *Handler) account(c *fiber.Ctx) error {
	tr := h.tr(c)
	u, _ := CurrentUser(c)
	v := pageView{}
	if c.Query("code") != "" {
		v.Notice = tr.T("account.notice.code_set")
	}
	return h.page(c, fiber.StatusOK, "account", "account.title", h.accountView(c, u, v))
}

func (h *Handler) signOut(c *fiber.Ctx) error {
	// The session, and with it the CSRF token, is gone.
	if err := h.endSession(c); err != nil {
		return err
	}
	return c.Redirect(PathSignIn+"?afgemeld=1", fiber.StatusSeeOther)
}

func (h *Handler) signOutEverywhere(c *fiber.Ctx) error {
	u, _ := CurrentUser(c)
	if err := h.svc.SignOutEverywhere(c.UserContext(), u.ID); err != nil {
		return err
	}
	h.log.InfoContext(c.UserContext(), "signed out everywhere", "user", u.ID)
	return h.signOut(c)
}

// --- password reset ---

func (h *Handler) forgotForm(c *fiber.Ctx) error {
	h.tr(c)
	return h.page(c, fiber.StatusOK, "password_forgot", "account.forgot.title", pageView{})
}

func (h *Handler) forgot(c *fiber.Ctx) error {
	tr := h.tr(c)
	email := strings.TrimSpace(form(c, "email"))
	v := pageView{Fields: map[string]web.Field{"email": {Value: email}}}
	if email == "" || !strings.Contains(email, "@") {
		withFieldErrors(tr, &v, FieldErrors{{"email", "account.error.email"}})
		return h.page(c, fiber.StatusUnprocessableEntity, "password_forgot", "account.forgot.title", v)
	}
	if err := h.svc.RequestReset(c.UserContext(), email, tr); err != nil {
		return fmt.Errorf("password reset request: %w", err)
	}
	// The same answer for every address.
	return h.page(c, fiber.StatusOK, "password_forgot", "account.forgot.title", pageView{Extra: map[string]any{"Sent": true}})
}

func (h *Handler) resetForm(c *fiber.Ctx) error {
	h.tr(c)
	token := strings.Clone(c.Query("token"))
	if err := h.svc.CheckResetToken(c.UserContext(), token); err != nil {
		if errors.Is(err, ErrInvalidToken) {
			return h.page(c, fiber.StatusGone, "password_reset", "account.reset.title", pageView{Extra: map[string]any{"Invalid": true}})
		}
		return err
	}
	return h.page(c, fiber.StatusOK, "password_reset", "account.reset.title", pageView{Extra: map[string]any{"Token": token}})
}

func (h *Handler) reset(c *fiber.Ctx) error {
	tr := h.tr(c)
	token := form(c, "token")
	err := h.svc.ResetPassword(c.UserContext(), token, c.FormValue("password"), c.FormValue("password_confirm"))
	var fe FieldErrors
	switch {
	case err == nil:
		return c.Redirect(PathSignIn+"?hersteld=1", fiber.StatusSeeOther)
	case errors.Is(err, ErrInvalidToken):
		return h.page(c, fiber.StatusGone, "password_reset", "account.reset.title", pageView{Extra: map[string]any{"Invalid": true}})
	case errors.As(err, &fe):
		v := pageView{Extra: map[string]any{"Token": token}}
		withFieldErrors(tr, &v, fe)
		return h.page(c, fiber.StatusUnprocessableEntity, "password_reset", "account.reset.title", v)
	}
	return err
}

func isMachinePath(p string) bool {
	for _, pre := range []string{"/api/", "/static/", "/healthz", "/readyz", "/metrics"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}
