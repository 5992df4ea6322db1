package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/platform/config"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// testConfig is the configuration of a test app on tg. Its DataDir is a
// placeholder: withSQLite or testDataDir replace it, so nothing a test writes
// lands in the source tree.
func testConfig(tg dbtest.Target) config.Config {
	return config.Config{
		HTTPAddr: "127.0.0.1:0", DataDir: "unused", DatabaseURL: tg.URL, DatabaseAppRole: dbtest.AppRole,
		Demo: true, DemoAccounts: true, LogFormat: "text", LogLevel: slog.LevelWarn, PublicURL: "http://localhost",
		HashKey: "test-hash-key-0123456789abcdef-0123456789", DataKeys: testDataKeys, MapTilesURL: "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
		// Webhook receivers in tests are httptest servers on loopback; the
		// refusal of private addresses is tested in internal/webhooks.
		WebhooksAllowPrivate: true,
	}
}

// newApp opens a migrated, seeded Loket on tg and returns its server.
func newApp(t *testing.T, tg dbtest.Target) (*App, *web.Server) {
	t.Helper()
	ctx := context.Background()
	if _, err := tg.Owner(t).MigrateUp(ctx, dbtest.AppRole); err != nil {
		t.Fatal(err)
	}
	a := openApp(t, tg)
	if _, err := a.SyncTenants(ctx); err != nil {
		t.Fatal(err)
	}
	srv, err := a.Handler()
	if err != nil {
		t.Fatal(err)
	}
	return a, srv
}

func openApp(t *testing.T, tg dbtest.Target) *App {
	t.Helper()
	cfg := testDataDir(t, testConfig(tg), tg)
	a := &App{Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	opened, err := Open(context.Background(), cfg, a.Log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = opened.Close() })
	return opened
}

// testDataDir is withSQLite with, on PostgreSQL, a temporary data directory.
func testDataDir(t *testing.T, cfg config.Config, tg dbtest.Target) config.Config {
	t.Helper()
	if tg.SQLitePath == "" {
		cfg.DataDir = t.TempDir()
	}
	return withSQLite(cfg, tg)
}

func withSQLite(cfg config.Config, tg dbtest.Target) config.Config {
	if tg.SQLitePath != "" {
		cfg.DataDir = strings.TrimSuffix(tg.SQLitePath, "/loket.db")
	}
	return cfg
}

type response = webtest.Response

func get(t *testing.T, srv *web.Server, path string, headers ...string) response {
	t.Helper()
	return webtest.Get(t, srv.App, path, headers...)
}

func TestPublicPages(t *testing.T) {
	_, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))

	home := get(t, srv, "/")
	if home.Status != 200 || !strings.Contains(home.Body, `href="/leuven"`) || !strings.Contains(home.Body, `href="/geel-laakdal-meerhout"`) || !strings.Contains(home.Body, `href="/stadsregio-turnhout"`) {
		t.Errorf("home must list the three demo desks: %d %s", home.Status, home.Body)
	}
	if !strings.Contains(home.Body, `<html lang="nl">`) {
		t.Error("home page must be Dutch by default")
	}

	desk := get(t, srv, "/stadsregio-turnhout")
	for _, want := range []string{"Baarle-Hertog", "Oud-Turnhout", "Turnhout", "mailto:", `<h1>`} {
		if !strings.Contains(desk.Body, want) {
			t.Errorf("desk page lacks %q", want)
		}
	}
	if desk.Status != 200 || desk.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("desk page: %d %s", desk.Status, desk.Header.Get("Content-Type"))
	}

	if !strings.Contains(desk.Body, `href="/stadsregio-turnhout/opvang"`) {
		t.Error("desk page does not link to the search")
	}
	if kept := get(t, srv, "/leuven/opvang?type=gezinsopvang"); !strings.Contains(kept.Body, `href="?lang=fr&amp;type=gezinsopvang"`) {
		t.Error("the language switch must keep the search filters")
	}

	fr := get(t, srv, "/leuven", "Accept-Language", "fr-BE,fr;q=0.9")
	if !strings.Contains(fr.Body, `<html lang="fr">`) || !strings.Contains(fr.Body, "Louvain") {
		t.Errorf("French page expected for Accept-Language fr, got %s", fr.Body[:min(400, len(fr.Body))])
	}
	en := get(t, srv, "/leuven?lang=en")
	if !strings.Contains(en.Body, `<html lang="en">`) || !strings.Contains(strings.Join(en.Header.Values("Set-Cookie"), "; "), "loket_lang=en") {
		t.Errorf("?lang=en must switch and remember the language")
	}

	missing := get(t, srv, "/bestaat-niet", "Accept", "text/html")
	if missing.Status != 404 || !strings.Contains(missing.Body, "Loket niet gevonden") || !strings.Contains(missing.Body, `lang="nl"`) {
		t.Errorf("unknown desk: want a Dutch 404 page, got %d %s", missing.Status, missing.Body)
	}
	missingPage := get(t, srv, "/leuven/bestaat-niet", "Accept", "text/html")
	if missingPage.Status != 404 || !strings.Contains(missingPage.Body, "Pagina niet gevonden") {
		t.Errorf("unknown page: %d", missingPage.Status)
	}

	// A desk on its own host name.
	host := get(t, srv, "/", "Host", "opvang.leuven.example")
	if host.Status != 200 || !strings.Contains(host.Body, "Lokaal Loket Kinderopvang Leuven") || !strings.Contains(host.Body, "<h1>Lokaal Loket Kinderopvang Leuven</h1>") {
		t.Errorf("desk host name: %d %s", host.Status, host.Body[:min(300, len(host.Body))])
	}

	css := get(t, srv, "/static/loket.css")
	if css.Status != 200 || !strings.Contains(css.Body, "--brand") {
		t.Errorf("stylesheet: %d", css.Status)
	}

	// Security headers and the request id on every response.
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "X-Request-Id"} {
		if desk.Header.Get(h) == "" {
			t.Errorf("missing header %s", h)
		}
	}
}

func TestAPI(t *testing.T) {
	_, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))

	list := get(t, srv, "/api/v1/tenants")
	var body struct {
		Tenants []struct {
			Slug           string `json:"slug"`
			Mode           string `json:"mode"`
			Municipalities []struct {
				NIS string `json:"nis_code"`
			} `json:"municipalities"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(list.Body), &body); err != nil || list.Status != 200 || !strings.Contains(list.Body, `"next_cursor":null`) {
		t.Fatalf("list: %d %v %s", list.Status, err, list.Body)
	}
	counts := map[string]int{}
	for _, tn := range body.Tenants {
		counts[tn.Slug] = len(tn.Municipalities)
	}
	if counts["leuven"] != 1 || counts["geel-laakdal-meerhout"] != 3 || counts["stadsregio-turnhout"] != 9 {
		t.Errorf("municipalities per desk: %v", counts)
	}

	one := get(t, srv, "/api/v1/tenants/geel-laakdal-meerhout")
	if one.Status != 200 || !strings.Contains(one.Body, `"nis_code":"13053"`) || !strings.Contains(one.Body, `"mode":"registry"`) {
		t.Errorf("get: %d %s", one.Status, one.Body)
	}

	for _, path := range []string{"/api/v1/tenants/bestaat-niet", "/api/v1/bestaat-niet"} {
		p := get(t, srv, path)
		var prob web.Problem
		if p.Status != 404 || p.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal([]byte(p.Body), &prob) != nil || prob.Status != 404 || prob.Title == "" {
			t.Errorf("%s: want a 404 problem document, got %d %s %s", path, p.Status, p.Header.Get("Content-Type"), p.Body)
		}
	}
}

// TestOpenAPIDescribesEveryRoute compares the document's paths and methods
// with the router's /api/v1 routes, both ways.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	_, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	res := get(t, srv, "/api/v1/openapi.json")
	var doc struct {
		OpenAPI string                            `json:"openapi"`
		Paths   map[string]map[string]interface{} `json:"paths"`
	}
	if err := json.Unmarshal([]byte(res.Body), &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi document: %v %q", err, doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	param := regexp.MustCompile(`:([A-Za-z_]+)`)
	routed := map[string]bool{}
	for _, r := range srv.App.GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/api/v1/") || r.Method == fiber.MethodHead {
			continue
		}
		routed[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	for k := range routed {
		if !documented[k] {
			t.Errorf("route %s is not in the OpenAPI document", k)
		}
	}
	for k := range documented {
		if !routed[k] {
			t.Errorf("the OpenAPI document describes %s, which no route serves", k)
		}
	}
	if len(routed) < 3 {
		t.Errorf("only %d API routes found; the comparison proves nothing", len(routed))
	}
}

func TestHealthAndReadiness(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		a, srv := newApp(t, tg)
		if r := get(t, srv, "/healthz"); r.Status != 200 {
			t.Errorf("healthz: %d", r.Status)
		}
		r := get(t, srv, "/readyz")
		if r.Status != 200 || !strings.Contains(r.Body, `"status":"ok"`) {
			t.Errorf("readyz: %d %s", r.Status, r.Body)
		}
		m := webtest.Get(t, srv.Metrics, "/metrics")
		if !strings.Contains(m.Body, `loket_http_requests_total{method="GET",route="/readyz",status="200"} 1`) || !strings.Contains(m.Body, "loket_http_request_duration_seconds_bucket") {
			t.Errorf("metrics lack the HTTP counters:\n%s", m.Body[:min(2000, len(m.Body))])
		}
		srv.Drain()
		if r := get(t, srv, "/readyz"); r.Status != 503 {
			t.Errorf("readyz while draining: %d", r.Status)
		}
		_ = a
	})
}

func TestReadinessFailsWithoutDatabaseOrMigrations(t *testing.T) {
	// A release whose newest migration has not run yet (a rolling deploy
	// before the migration job): readiness must say so. Simulated by
	// forgetting the newest applied migration.
	tg := dbtest.NewTarget(t, db.SQLite)
	owner := tg.Owner(t)
	if _, err := owner.MigrateUp(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.NewRaw("DELETE FROM bun_migrations WHERE id = (SELECT max(id) FROM bun_migrations)").Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := openApp(t, tg)
	srv, err := a.Handler()
	if err != nil {
		t.Fatal(err)
	}
	r := get(t, srv, "/readyz")
	if r.Status != 503 || !strings.Contains(r.Body, "pending") {
		t.Errorf("readyz with a pending migration: %d %s", r.Status, r.Body)
	}
	// Closed database: readiness fails.
	_ = a.DB.Close()
	if r := get(t, srv, "/readyz"); r.Status != 503 || !strings.Contains(r.Body, `"database":"failing`) {
		t.Errorf("readyz with the database closed: %d %s", r.Status, r.Body)
	}
}

func TestReadinessDegradedCache(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	tg := dbtest.NewTarget(t, db.SQLite)
	if _, err := tg.Owner(t).MigrateUp(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	cfg := testDataDir(t, testConfig(tg), tg)
	cfg.RedisURL = "redis://" + closed
	a, err := Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("a cache that is down must not stop Loket: %v", err)
	}
	defer a.Close()
	srv, err := a.Handler()
	if err != nil {
		t.Fatal(err)
	}
	r := get(t, srv, "/readyz")
	if r.Status != 200 || !strings.Contains(r.Body, `"status":"degraded"`) || !strings.Contains(r.Body, `"cache":"degraded`) {
		t.Errorf("readyz with Redis down: %d %s", r.Status, r.Body)
	}
}

func TestLanguagesOfferedByDesk(t *testing.T) {
	_, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	r := get(t, srv, "/leuven")
	langs := regexp.MustCompile(`hreflang="([a-z]+)"`).FindAllStringSubmatch(r.Body, -1)
	var got []string
	for _, l := range langs {
		got = append(got, l[1])
	}
	if !slices.Contains(got, "fr") && !slices.Contains(got, "en") {
		t.Errorf("language switch offers %v", got)
	}
}

// TestReservedSlugsCoverEveryRoute: every first path segment of the
// platform's own routes is a slug no desk may take, or that desk's pages
// would hide behind the platform's (or the other way round).
func TestReservedSlugsCoverEveryRoute(t *testing.T) {
	_, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	seen := map[string]bool{}
	for _, r := range srv.App.GetRoutes(true) {
		first, _, _ := strings.Cut(strings.TrimPrefix(r.Path, "/"), "/")
		if first == "" || strings.HasPrefix(first, ":") || strings.ContainsAny(first, "*.") || seen[first] {
			continue
		}
		seen[first] = true
		if !slices.Contains(tenant.ReservedSlugs, first) {
			t.Errorf("route %s: %q is not a reserved desk slug", r.Path, first)
		}
	}
	if len(seen) < 5 {
		t.Errorf("only %d first segments found (%v); the check proves nothing", len(seen), seen)
	}
}
