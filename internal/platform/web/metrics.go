package web

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// metricsMiddleware counts requests per route pattern and status and observes
// their latency. Labels hold route patterns only, never ids or personal data.
func (s *Server) metricsMiddleware() fiber.Handler {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "loket_http_requests_total", Help: "HTTP requests by method, route and status.",
	}, []string{"method", "route", "status"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "loket_http_request_duration_seconds",
		Help:    "HTTP request latency by method and route.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"method", "route"})
	inflight := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "loket_http_requests_in_flight", Help: "HTTP requests being served.",
	})
	s.Registry.MustRegister(requests, latency, inflight)
	return func(c *fiber.Ctx) error {
		start := time.Now()
		inflight.Inc()
		err := c.Next()
		inflight.Dec()
		status := c.Response().StatusCode()
		if err != nil {
			status = fiber.StatusInternalServerError
			if fe, ok := err.(*fiber.Error); ok {
				status = fe.Code
			}
		}
		// Label values live on in the registry: copy the method, whose
		// string points into Fiber's buffer that the next request on this
		// connection overwrites ("GET" became "GETT", "POS"). The route
		// pattern is the registered route's own string.
		route := routePattern(c)
		method := methodLabel(c.Method())
		requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
		latency.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
		return err
	}
}

// methodLabel is the method as a label value: one of the standard methods
// as Fiber's own constant (a copy that no request buffer backs), anything
// else (a client may send any token) as "other", so the label cannot grow
// without bound.
func methodLabel(m string) string {
	for _, s := range standardMethods {
		if s == m {
			return s
		}
	}
	return "other"
}

var standardMethods = []string{fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch,
	fiber.MethodDelete, fiber.MethodOptions, fiber.MethodConnect, fiber.MethodTrace}
