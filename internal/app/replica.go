package app

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/reports"
)

// lsnCookie holds the primary's WAL position after the person's last change
// (a cookie, not the session: parents who register have none). It is no
// secret: a made-up value only makes its sender's reads wait and go to the
// primary.
const lsnCookie = "loket_lsn"

// readRouting sends the read-only pages to the hot standby (with
// LOKET_DATABASE_READ_URL): public search and location pages, the
// availability API, reports and their exports. A person who changed
// something reads her change: after each change the primary's WAL position
// goes into lsnCookie, and her reads wait for the standby to replay it or go
// to the primary.
func (a *App) readRouting(c *fiber.Ctx) error {
	if !a.DB.HasReplica() {
		return c.Next()
	}
	if m := c.Method(); m == fiber.MethodGet || m == fiber.MethodHead {
		if readOnlyPath(c.Path()) {
			ctx := db.PreferReplica(c.UserContext())
			if lsn := c.Cookies(lsnCookie); lsn != "" {
				ctx = db.WithMinLSN(ctx, lsn)
			}
			c.SetUserContext(ctx)
		}
		return c.Next()
	}
	err := c.Next()
	if err == nil && c.Response().StatusCode() < 400 {
		if lsn, lerr := a.DB.CurrentLSN(c.UserContext()); lerr == nil {
			c.Cookie(&fiber.Cookie{Name: lsnCookie, Value: lsn, Path: "/", MaxAge: 60, HTTPOnly: true,
				Secure: a.Config.SessionSecure, SameSite: fiber.CookieSameSiteLaxMode})
		} else {
			a.Log.WarnContext(c.UserContext(), "read-your-writes: no WAL position", "err", lerr)
		}
	}
	return err
}

// readOnlyPath reports whether path is a page that only reads.
func readOnlyPath(path string) bool {
	if path == "/api/v1/availability" || path == "/api/v1/locations" || strings.HasPrefix(path, "/api/v1/locations/") {
		return true
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[1] == "opvang": // /{desk}/opvang[/{location}]
		return true
	case len(parts) >= 3 && parts[0] == "regio" && parts[2] == "cijfers": // region report and exports
		return true
	case len(parts) >= 2 && strings.HasPrefix("/"+strings.Join(parts[1:], "/"), reports.DeskPath): // desk report and exports
		return true
	}
	return false
}

// registerReplicaMetrics counts where read-only work went, with a standby:
// loket_db_replica_reads_total{result="standby|lagging|unavailable"}.
func registerReplicaMetrics(reg prometheus.Registerer, d *db.DB) {
	if !d.HasReplica() {
		return
	}
	for result, value := range map[string]func(db.ReplicaStats) uint64{
		"standby":     func(s db.ReplicaStats) uint64 { return s.OnReplica },
		"lagging":     func(s db.ReplicaStats) uint64 { return s.Lagging },
		"unavailable": func(s db.ReplicaStats) uint64 { return s.Unavailable },
	} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "loket_db_replica_reads_total",
			Help:        "Read-only work by where it went: standby, or the primary because the standby lagged behind the person's last change or did not answer.",
			ConstLabels: prometheus.Labels{"result": result},
		}, func() float64 { return float64(value(d.ReplicaStats())) }))
	}
}
