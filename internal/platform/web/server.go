// Package web is Loket's HTTP platform on Fiber: middleware (request id, panic
// recovery, access log, security headers, compression, metrics), health and
// readiness, error pages and problem documents, templates and languages.
// Domain packages register their own handlers on it.
package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/contrib/otelfiber/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/compress"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/fiber/v2/middleware/helmet"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one readiness check (database, cache, migrations).
type Check struct {
	Name string
	// Run returns nil when healthy. Degraded checks report but do not fail
	// readiness (the cache: Loket answers from the database without it).
	Run      func(ctx context.Context) error
	Degraded bool
}

// Options configure the server.
type Options struct {
	Logger   *slog.Logger
	Static   fs.FS // served under /static/
	Renderer *Renderer
	Checks   []Check
	Registry *prometheus.Registry
	// TrustedProxies (IPs or CIDRs) may set X-Forwarded-For and
	// X-Forwarded-Proto; from anyone else both are ignored, so c.IP() is the
	// peer and c.Protocol() what the peer connected with.
	TrustedProxies []string
	// PublicURL is where users reach Loket: when it is https, every answer
	// carries HSTS (whatever a client claims in X-Forwarded-Proto).
	PublicURL string
	// MetricsToken, if set, serves /metrics on the main app too, to requests
	// with "Authorization: Bearer <token>". Without it /metrics is only on
	// Server.Metrics, which belongs on a loopback or cluster-internal
	// listener.
	MetricsToken string
	// Tracing adds an OpenTelemetry span per request (see package telemetry).
	Tracing bool
	// MapTilesOrigin ("https://tile.openstreetmap.org") is the one outside
	// host pages may load images from: the map's tiles. "" allows none.
	MapTilesOrigin string
}

// Server is the Fiber app plus readiness state.
type Server struct {
	App *fiber.App
	// Metrics serves /metrics (and /healthz) for a separate listener
	// (LOKET_METRICS_ADDR): the figures count requests per desk and status,
	// which strangers must not read.
	Metrics  *fiber.App
	Renderer *Renderer
	Registry *prometheus.Registry
	log      *slog.Logger
	checks   []Check
	draining atomic.Bool
}

// New builds the app with Loket's middleware and platform routes.
func New(opts Options) *Server {
	s := &Server{Renderer: opts.Renderer, log: opts.Logger, checks: opts.Checks, Registry: opts.Registry}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.Registry == nil {
		s.Registry = prometheus.NewRegistry()
		s.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	app := fiber.New(fiber.Config{
		AppName:               "loket",
		DisableStartupMessage: true,
		ErrorHandler:          s.handleError,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           90 * time.Second,
		BodyLimit:             8 << 20,
		// A response of up to 16 KB (headers included) leaves in one write;
		// with the default 4 KB it takes two writes and two TCP segments,
		// which costs the cached region availability answer (~8 KB gzipped)
		// about a tenth of its CPU time on server and client.
		WriteBufferSize: 16 << 10,
		// Only the configured proxies may say who the client is and how it
		// connected; without the check Fiber believes every client's
		// X-Forwarded-For and X-Forwarded-Proto.
		EnableTrustedProxyCheck: true,
		TrustedProxies:          opts.TrustedProxies,
		ProxyHeader:             proxyHeader(opts.TrustedProxies),
		// X-Forwarded-For may list several addresses: c.IP() is the first
		// valid one, never the raw list.
		EnableIPValidation: true,
	})
	s.App = app
	// Order matters: the access log handles errors last, so it and the metrics
	// see the final status, including that of a recovered panic.
	app.Use(requestid.New(requestid.Config{ContextKey: localRequestID}))
	if opts.Tracing {
		app.Use(otelfiber.Middleware(otelfiber.WithNext(func(c *fiber.Ctx) bool {
			p := c.Path()
			return p == "/healthz" || p == "/readyz" || p == "/metrics"
		})))
	}
	app.Use(s.accessLog)
	app.Use(s.metricsMiddleware())
	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		s.log.Error("panic", "request_id", RequestID(c), "route", routePattern(c), "panic", e)
	}}))
	app.Use(securityHeaders(strings.HasPrefix(opts.PublicURL, "https://"), opts.MapTilesOrigin))
	app.Use(rejectNUL)
	app.Use(compress.New(compress.Config{Level: compress.LevelBestSpeed}))

	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	app.Get("/readyz", s.readyz)
	metrics := adaptor.HTTPHandler(promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	if opts.MetricsToken != "" {
		app.Get("/metrics", bearer(opts.MetricsToken), metrics)
	}
	s.Metrics = fiber.New(fiber.Config{AppName: "loket-metrics", DisableStartupMessage: true,
		ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 90 * time.Second})
	s.Metrics.Get("/metrics", metrics)
	s.Metrics.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	if opts.Static != nil {
		app.Use("/static", filesystem.New(filesystem.Config{Root: http.FS(opts.Static), MaxAge: 3600}))
	}
	return s
}

// Drain makes /readyz fail, so load balancers stop sending new requests
// before shutdown.
func (s *Server) Drain() { s.draining.Store(true) }

const localRequestID = "requestid"

// RequestID is the id of the current request (also in the X-Request-ID header).
func RequestID(c *fiber.Ctx) string {
	if id, ok := c.Locals(localRequestID).(string); ok {
		return id
	}
	return ""
}

func (s *Server) accessLog(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	status := c.Response().StatusCode()
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	// Only the route pattern, never query strings: they may carry personal data.
	s.log.LogAttrs(c.UserContext(), level, "http",
		slog.String("request_id", RequestID(c)),
		slog.String("method", utils.CopyString(c.Method())),
		slog.String("route", routePattern(c)),
		slog.Int("status", status),
		slog.Duration("duration", time.Since(start)),
		slog.String("desk", DeskSlug(c)),
	)
	return nil
}

func routePattern(c *fiber.Ctx) string {
	r := c.Route()
	if r == nil || (r.Path == "/" && c.Path() != "/") {
		return "unmatched"
	}
	return r.Path
}

const localDesk = "loket.desk"

// SetDeskSlug records the desk of this request for logs and metrics.
func SetDeskSlug(c *fiber.Ctx, slug string) { c.Locals(localDesk, slug) }

// DeskSlug is the desk of this request, if any.
func DeskSlug(c *fiber.Ctx) string {
	s, _ := c.Locals(localDesk).(string)
	return s
}

// ContentSecurityPolicy is the pages' CSP: everything from Loket itself,
// images also from data: URIs (QR codes, drawn maps) and the map tiles' host.
func ContentSecurityPolicy(tilesOrigin string) string {
	img := "'self' data:"
	if tilesOrigin != "" {
		img += " " + tilesOrigin
	}
	return "default-src 'self'; img-src " + img + "; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
}

// hsts asks browsers to use only https for a year, subdomains included.
const hsts = "max-age=31536000; includeSubDomains"

// securityHeaders sets the headers of every answer. HSTS goes out when the
// public URL is https, or when the connection is https: TLS on this server,
// or X-Forwarded-Proto from a trusted proxy (c.Protocol() ignores the header
// from anyone else).
func securityHeaders(publicHTTPS bool, tilesOrigin string) fiber.Handler {
	h := helmet.New(helmet.Config{
		ContentSecurityPolicy: ContentSecurityPolicy(tilesOrigin),
		ReferrerPolicy:        "same-origin",
		HSTSMaxAge:            0, // set below, from trusted facts only
		PermissionPolicy:      "geolocation=(self), camera=(), microphone=()",
	})
	return func(c *fiber.Ctx) error {
		if publicHTTPS || c.Protocol() == "https" {
			c.Set(fiber.HeaderStrictTransportSecurity, hsts)
		}
		return h(c)
	}
}

// bearer lets through requests with "Authorization: Bearer <token>"; others
// get 401. The comparison takes the same time whatever the guess.
func bearer(token string) fiber.Handler {
	want := []byte("Bearer " + token)
	return func(c *fiber.Ctx) error {
		got := c.Request().Header.Peek(fiber.HeaderAuthorization)
		if subtle.ConstantTimeCompare(got, want) != 1 {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="metrics"`)
			return fiber.ErrUnauthorized
		}
		return c.Next()
	}
}

func (s *Server) readyz(c *fiber.Ctx) error {
	if s.draining.Load() {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "draining"})
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 3*time.Second)
	defer cancel()
	status := fiber.StatusOK
	result := fiber.Map{}
	overall := "ok"
	for _, ch := range s.checks {
		if err := ch.Run(ctx); err != nil {
			if ch.Degraded {
				result[ch.Name] = "degraded: " + err.Error()
				if overall == "ok" {
					overall = "degraded"
				}
				continue
			}
			result[ch.Name] = "failing: " + err.Error()
			overall = "failing"
			status = fiber.StatusServiceUnavailable
			continue
		}
		result[ch.Name] = "ok"
	}
	result["status"] = overall
	return c.Status(status).JSON(result)
}

// handleError turns an error into an HTML page or, under /api/, a problem
// document. Internal details stay in the log, never in the response.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	code := fiber.StatusInternalServerError
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code = fe.Code
	}
	if code >= 500 {
		s.log.ErrorContext(c.UserContext(), "request failed", "request_id", RequestID(c), "route", routePattern(c), "error", err)
	}
	if strings.HasPrefix(c.Path(), "/api/") || !acceptsHTML(c) {
		p := Problem{Status: code}
		if fe != nil && code < 500 {
			p.Detail = fe.Message
		}
		return SendProblem(c, p)
	}
	if s.Renderer == nil {
		return c.Status(code).SendString(utilsStatus(code))
	}
	t := s.Renderer.Translator(c)
	key := "error.server"
	switch {
	case code == fiber.StatusNotFound && errors.Is(err, ErrUnknownDesk):
		key = "error.desk"
	case code == fiber.StatusNotFound:
		key = "error.notfound"
	case errors.Is(err, ErrNULInput):
		key = "error.input"
	case code == fiber.StatusGone:
		key = "error.gone"
	case code < 500:
		key = "error.notfound"
	}
	return s.Renderer.Render(c, code, "error", Page{
		Translator: t,
		Title:      t.T(key + ".title"),
		Data: map[string]string{
			"Heading":   t.T(key + ".title"),
			"Message":   t.T(key + ".text"),
			"RequestID": RequestID(c),
		},
	})
}

// ErrUnknownDesk is returned (wrapped in a 404) when no desk has that slug.
var ErrUnknownDesk = &fiber.Error{Code: fiber.StatusNotFound, Message: "unknown desk"}

func acceptsHTML(c *fiber.Ctx) bool {
	a := c.Get(fiber.HeaderAccept)
	return a == "" || strings.Contains(a, "text/html") || strings.Contains(a, "*/*")
}

func utilsStatus(code int) string { return strconv.Itoa(code) + " " + statusText(code) }

func proxyHeader(trusted []string) string {
	if len(trusted) == 0 {
		return ""
	}
	return fiber.HeaderXForwardedFor
}
