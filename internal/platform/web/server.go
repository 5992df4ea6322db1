// Package web is Loket's HTTP platform on Fiber: middleware (request id, panic
// recovery, access log, security headers, compression, metrics), health and
// readiness, error pages and problem documents, templates and languages.
// Domain packages register their own handlers on it.
package web

import (
	"context"
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
	// TrustedProxies may set X-Forwarded-For; without them c.IP() is the peer.
	TrustedProxies []string
	// Tracing adds an OpenTelemetry span per request (see package telemetry).
	Tracing bool
	// MapTilesOrigin ("https://tile.openstreetmap.org") is the one outside
	// host pages may load images from: the map's tiles. "" allows none.
	MapTilesOrigin string
}

// Server is the Fiber app plus readiness state.
type Server struct {
	App      *fiber.App
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
	app.Use(securityHeaders(opts.MapTilesOrigin))
	app.Use(compress.New(compress.Config{Level: compress.LevelBestSpeed}))

	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	app.Get("/readyz", s.readyz)
	app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{})))
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
		slog.String("method", c.Method()),
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

func securityHeaders(tilesOrigin string) fiber.Handler {
	h := helmet.New(helmet.Config{
		ContentSecurityPolicy: ContentSecurityPolicy(tilesOrigin),
		ReferrerPolicy:        "same-origin",
		HSTSMaxAge:            31536000,
		PermissionPolicy:      "geolocation=(self), camera=(), microphone=()",
	})
	return h
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
