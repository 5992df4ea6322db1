// Package app is Loket's composition root: it opens the stores chosen by the
// configuration and wires every domain package onto the web server. Nothing
// else in Loket knows how the parts fit together.
package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/uptrace/bun/extra/bunotel"

	"github.com/loket-kinderopvang/loket/frontend"
	"github.com/loket-kinderopvang/loket/internal/access"
	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/crisis"
	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/jobs"
	"github.com/loket-kinderopvang/loket/internal/mail"
	"github.com/loket-kinderopvang/loket/internal/notify"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/cache"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/config"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/idempotency"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"github.com/loket-kinderopvang/loket/internal/platform/telemetry"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/reports"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/retention"
	"github.com/loket-kinderopvang/loket/internal/rounds"
	"github.com/loket-kinderopvang/loket/internal/tenant"
	"github.com/loket-kinderopvang/loket/internal/webhooks"
	"github.com/loket-kinderopvang/loket/internal/work"
	"github.com/loket-kinderopvang/loket/tenants"
)

// Version is Loket's version, set at build time with
// -ldflags "-X github.com/loket-kinderopvang/loket/internal/app.Version=…".
var Version = "dev"

// App holds the opened stores and the domain services.
type App struct {
	// messages is the message catalogue (nl, fr, en), shared by the pages
	// and by services that render texts for people.
	messages *web.Catalog

	Config config.Config
	// Reports computes the yearly figures; Retention purges what passed its
	// period (and stores the figures of closed years first).
	Reports   *reports.Service
	Retention *retention.Purger
	Log       *slog.Logger
	Clock     clock.Clock
	DB        *db.DB
	Cache     cache.Cache
	Tenants   *tenant.Store
	Directory *tenant.Directory
	Catalog   *catalog.Store
	// Availability answers free places per region, through the cache.
	Availability *catalog.AvailabilityCache
	Metrics      *prometheus.Registry
	// Mail goes to the database outbox; with SMTP configured, Relay sends it.
	Mail     mail.Sender
	Relay    *mail.Relay
	Users    *account.Service
	Accounts *account.Handler
	// Authz answers who may do what where (Casbin; policies in the database).
	Authz *authz.Authorizer
	// Requests holds the request lifecycle (registration to placement).
	Requests *requests.Service
	// DataKeys seal desk notes and care-need descriptions at rest.
	DataKeys *sealed.Keyring
	// Access manages sharing agreements, staff and provider API keys.
	Access *access.Service
	// Jobs runs deadlines and reminders (database-backed; started in Serve).
	Jobs *jobs.Scheduler
	// Idempotency keeps the answers to writes with an Idempotency-Key.
	Idempotency *idempotency.Store
	// Rounds runs allocation rounds (central mode).
	Rounds *rounds.Service
	// Crisis handles sudden closures of locations (issue 16).
	Crisis *crisis.Service
	// Webhooks registers providers' endpoints; WebhookRelay posts the
	// deliveries written in the transactions of the changes (issue 17).
	Webhooks     *webhooks.Service
	WebhookRelay *webhooks.Relay
}

// NewLogger builds the process logger from the configuration.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Open connects to the database and the cache.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	d, err := db.Open(ctx, db.Options{URL: cfg.DatabaseURL, SQLitePath: cfg.SQLitePath(), AppRole: cfg.DatabaseAppRole,
		Pooler: db.Pooler(cfg.DatabasePooler), ReadURL: cfg.DatabaseReadURL})
	if err != nil {
		return nil, err
	}
	var c cache.Cache
	if cfg.RedisURL == "" {
		c = cache.NewMemory()
	} else if c, err = cache.NewRedis(ctx, cfg.RedisURL, cfg.RedisPrefix); err != nil {
		_ = d.Close()
		return nil, err
	}
	if cfg.OTelEndpoint != "" {
		d.AddQueryHook(bunotel.NewQueryHook(bunotel.WithDBName("loket")))
	}
	a := &App{Config: cfg, Log: log, Clock: clock.System{}, DB: d, Cache: c, Metrics: prometheus.NewRegistry()}
	a.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(d.DB.DB, "loket"))
	registerReplicaMetrics(a.Metrics, d)
	// Every user of the cache (sessions, limiter, availability, policies) is counted.
	a.Cache = cache.Instrument(c, a.Metrics)
	c = a.Cache
	a.Mail = mail.NewOutbox(d, a.Clock)
	if cfg.SMTPURL != "" {
		smtp, err := mail.NewSMTP(cfg.SMTPURL, cfg.MailFrom)
		if err != nil {
			_ = d.Close()
			return nil, err
		}
		a.Relay = mail.NewRelay(d, smtp, a.Clock, log)
	}
	if a.DataKeys, err = dataKeys(cfg); err != nil {
		_ = d.Close()
		return nil, err
	}
	users, err := account.NewStore(d, a.Clock, a.DataKeys)
	if err != nil {
		_ = d.Close()
		return nil, err
	}
	a.Users, err = account.NewService(users, c, a.Mail, a.Clock,
		account.ServiceOptions{PublicURL: cfg.PublicURL, Log: log})
	if err != nil {
		_ = d.Close()
		return nil, err
	}
	a.Tenants = tenant.NewStore(d, a.Clock)
	a.Directory = tenant.NewDirectory(a.Tenants)
	a.Authz, err = authz.New(ctx, d, authz.Options{Cache: c, Clock: a.Clock, Logger: log,
		CrossTenant: eventlog.CrossTenantLog{Tenants: tenancy.NewStore(d), Now: a.Clock.Now, Desk: a.deskID}})
	if err != nil {
		_ = d.Close()
		return nil, err
	}
	a.Catalog = catalog.NewStore(d, a.Clock)
	a.Access = access.NewService(d, a.Authz, deskLookup{a.Directory}, a.Clock)
	a.Availability = catalog.NewAvailabilityCache(a.Catalog, c, a.Metrics, log)
	key, err := hashKey(cfg)
	if err != nil {
		_ = d.Close()
		return nil, err
	}
	a.Requests, err = requests.NewService(tenancy.NewStore(d), requests.Options{Clock: a.Clock, Desks: a.Directory,
		Catalog: a.Catalog, HashKey: key, DataKeys: a.DataKeys, PublicURL: cfg.PublicURL, Log: log, Events: webhooks.Sink{},
		Throttle: cache.NewWindowCounter(c, a.Clock, "ratelimit:register:", requests.AnonymousWindow, requests.AnonymousRegistrations)})
	if err != nil {
		_ = d.Close()
		return nil, err
	}
	// WIRING:jobs (request mails in nl/fr/en; deadline sweep and reminders)
	mailer := notify.New(a.Mail, cfg.PublicURL)
	a.Requests.SetNotifier(mailer)
	if a.Jobs, err = jobs.New(jobs.Options{DB: d, Clock: a.Clock, Log: log, Registry: a.Metrics}); err != nil {
		_ = d.Close()
		return nil, err
	}
	(&notify.Reminders{Requests: a.Requests, Desks: a.Directory, Mailer: mailer, Jobs: a.Jobs, Log: log}).Register()
	a.Metrics.MustRegister(a.Requests.StatusCollector())
	a.Metrics.MustRegister(a.Requests.BatchCollectors()...)
	guard := webhooks.Guard{AllowPrivate: cfg.WebhooksAllowPrivate}
	if a.Webhooks, err = webhooks.NewService(d, a.Clock, guard, a.DataKeys); err != nil {
		_ = d.Close()
		return nil, err
	}
	a.WebhookRelay = webhooks.NewRelay(d, a.Clock, guard, log)
	a.WebhookRelay.Paused = a.webhookPaused
	if a.messages, err = web.LoadCatalog(frontend.Locales); err != nil {
		_ = d.Close()
		return nil, err
	}
	a.Rounds = rounds.New(tenancy.NewStore(d), a.Requests, a.Clock, a.messages)
	a.Rounds.SetGroup(a.waitingListPartners)
	a.Crisis = crisis.New(crisis.Options{DB: d, Tenants: tenancy.NewStore(d), Desks: a.Directory, Requests: a.Requests,
		Rounds: a.Rounds, Catalog: a.Catalog, Clock: a.Clock,
		Notify: &crisis.MailNotifier{Mail: mailer, Tenants: tenancy.NewStore(d), Requests: a.Requests, Log: log}})
	a.Rounds.SetPublisher(a.Crisis.PublishRound)
	// Daily, closures whose last day has passed end: the locations reopen.
	a.Jobs.Handle("crisis.end_due", func(ctx context.Context, _ *jobs.Job) error {
		_, err := a.Crisis.EndDue(ctx)
		return err
	})
	a.Jobs.Every("crisis.end_due", 24*time.Hour)
	// Nightly, every desk in central mode fills places freed since its last round.
	a.Jobs.Handle("rounds.fill", func(ctx context.Context, _ *jobs.Job) error {
		var errs []error
		for _, desk := range a.Directory.All() {
			if desk.Mode != tenant.ModeCentral {
				continue
			}
			if _, err := a.Rounds.FillFreed(tenancy.WithTenant(ctx, desk.ID)); err != nil {
				errs = append(errs, fmt.Errorf("desk %s: %w", desk.Slug, err))
			}
		}
		return errors.Join(errs...)
	})
	a.Jobs.Every("rounds.fill", 24*time.Hour)
	// Daily, and so soon after a start with new keys: plain text from before
	// encryption and values under an older key are sealed with the current key.
	a.Jobs.Handle("data.reseal", func(ctx context.Context, _ *jobs.Job) error {
		n, err := a.Reseal(ctx)
		log.Info("data.reseal", "rewritten", n)
		return err
	})
	a.Jobs.Every("data.reseal", 24*time.Hour)
	// Daily: personal data past the desk's retention periods goes (issue 18).
	a.Reports = reports.NewService(a.DB, a.Directory, a.Clock,
		eventlog.CrossTenantLog{Tenants: tenancy.NewStore(a.DB), Now: a.Clock.Now, Desk: a.deskID},
		reports.KeepFigures(a.Cache, Version))
	a.Retention = retention.New(a.DB, a.Directory, a.Reports, a.Clock, log)
	// The platform's periods, where the operator set them (0: the purge's default).
	period := func(dst *int, set int) {
		if set > 0 {
			*dst = set
		}
	}
	period(&a.Retention.PlatformMailDays, cfg.RetentionPlatformMailDays)
	period(&a.Retention.AccountYears, cfg.RetentionAccountYears)
	period(&a.Retention.KeyYears, cfg.RetentionAPIKeyYears)
	period(&a.Retention.RecordYears, cfg.RetentionRecordYears)
	a.Metrics.MustRegister(a.Retention.Collector())
	a.Jobs.Handle("retention.purge", func(ctx context.Context, _ *jobs.Job) error {
		c, err := a.Retention.Run(ctx)
		log.Info("retention.purge", "requests", c[retention.KindRequests], "children", c[retention.KindChildren],
			"families", c[retention.KindFamilies], "notes", c[retention.KindNotes], "care_notes", c[retention.KindCareNotes],
			"looks", c[retention.KindLooks], "mail", c[retention.KindMail], "accounts", c[retention.KindAccounts],
			"api_keys", c[retention.KindKeys], "sign_in_links", c[retention.KindLinks], "webhook_deliveries", c[retention.KindHooks],
			"rounds", c[retention.KindRounds], "history", c[retention.KindHistory], "closures", c[retention.KindClosures],
			"sharing_agreements", c[retention.KindSharing], "places_history", c[retention.KindPlaces])
		return err
	})
	a.Jobs.Every("retention.purge", 24*time.Hour)
	// Daily: Idempotency-Key answers older than a day go.
	a.Idempotency = &idempotency.Store{DB: d.DB, Clock: a.Clock}
	a.Jobs.Handle("api.idempotency_purge", func(ctx context.Context, _ *jobs.Job) error {
		_, err := a.Idempotency.Purge(ctx)
		return err
	})
	a.Jobs.Every("api.idempotency_purge", 24*time.Hour)
	// Daily: providers' systems hear of locations whose free places went
	// stale (places.stale, once per stale period; the grid's rule).
	a.Jobs.Handle("places.stale", func(ctx context.Context, _ *jobs.Job) error {
		n, err := a.Webhooks.NotifyStalePlaces(ctx, catalog.StaleAfter)
		log.Info("places.stale", "locations", n)
		return err
	})
	a.Jobs.Every("places.stale", 24*time.Hour)
	// Every minute (the scheduler's round): this year's figures of desks whose data changed are
	// computed ahead of the next view (issue 14: the page of a big desk).
	a.Jobs.Handle("reports.warm", func(ctx context.Context, _ *jobs.Job) error {
		n, err := a.Reports.Warm(ctx)
		log.Debug("reports.warm", "desks", n)
		return err
	})
	a.Jobs.Every("reports.warm", time.Minute)
	return a, nil
}

// Reseal rewrites every desk's sealed free text, the webhook endpoints'
// secrets and the users' code app secrets with the current data key
// (loket keys rotate, and the daily data.reseal job); it returns how many
// values it rewrote.
func (a *App) Reseal(ctx context.Context) (int, error) {
	total := 0
	var errs []error
	for _, desk := range a.Directory.All() {
		n, err := a.Requests.Reseal(tenancy.WithTenant(ctx, desk.ID), a.DataKeys, requests.ResealBatch)
		total += n
		if err != nil {
			errs = append(errs, fmt.Errorf("desk %s: %w", desk.Slug, err))
		}
	}
	// Platform data, no desk's: the providers' webhook secrets and the
	// users' code app secrets.
	for _, reseal := range []func(context.Context, *sealed.Keyring, int) (int, error){a.Webhooks.Reseal, a.Users.Store().Reseal} {
		n, err := reseal(ctx, a.DataKeys, requests.ResealBatch)
		total += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// Close releases the stores.
func (a *App) Close() error {
	a.Authz.Stop()
	return errors.Join(a.Cache.Close(), a.DB.Close())
}

func (a *App) deskID(slug string) (tenancy.ID, bool) {
	t, ok := a.Directory.BySlug(slug)
	return t.ID, ok
}

// Migrate applies pending migrations as the schema owner (on PostgreSQL the
// serving role may not create tables, and row-level security must bind it).
func Migrate(ctx context.Context, cfg config.Config) ([]string, error) {
	owner, err := db.Open(ctx, db.Options{URL: cfg.OwnerURL(), SQLitePath: cfg.SQLitePath()})
	if err != nil {
		return nil, err
	}
	defer owner.Close()
	return owner.MigrateUp(ctx, cfg.DatabaseAppRole)
}

// TenantFiles is the directory of desk YAML files: the configured one, or the
// demo desks built into the binary.
func TenantFiles(cfg config.Config) fs.FS {
	if cfg.TenantsDir != "" {
		return os.DirFS(cfg.TenantsDir)
	}
	return tenants.Demo
}

// SyncTenants loads the desk files and writes them (and the reference data)
// into the database.
func (a *App) SyncTenants(ctx context.Context) (tenant.SyncReport, error) {
	specs, err := tenant.LoadDir(TenantFiles(a.Config))
	if err != nil {
		return tenant.SyncReport{}, err
	}
	rep, err := a.Tenants.Sync(ctx, specs)
	if err != nil {
		return rep, err
	}
	// Desks belong to the regions of their municipalities (Casbin g2), so a
	// regional coordinator's one rule reaches every desk of the region.
	// Group writes nothing when the grouping exists already.
	for _, sp := range specs {
		for _, region := range sp.RegionNIS() {
			if err := a.Authz.Group(ctx, authz.Desk(sp.Slug), authz.Region(string(region))); err != nil {
				return rep, err
			}
		}
	}
	return rep, a.Directory.Reload(ctx)
}

// Seed loads the demo desks and the demo catalogue, and the demo accounts
// when the configuration allows them (Config.DemoAccounts).
func (a *App) Seed(ctx context.Context) (tenant.SyncReport, error) {
	rep, err := a.SyncTenants(ctx)
	if err != nil {
		return rep, err
	}
	return rep, a.seedDemo(ctx)
}

// seedDemo loads the invented demo catalogue and, when allowed, the demo
// accounts and API key, and prints them; a second run writes nothing. Where
// demo accounts are not allowed (anyone may reach the server and demo mode
// was not asked for), demo accounts left by an earlier start are disabled.
func (a *App) seedDemo(ctx context.Context) error {
	rep, err := catalog.SeedDemo(ctx, a.Catalog, a.Clock.Now())
	if err != nil {
		return err
	}
	if rep.Changed() {
		a.Log.Info("demo catalogue seeded", "providers", rep.Providers, "locations", rep.Locations, "availability", rep.Availability)
	}
	if err := a.Access.GroupLocations(ctx); err != nil {
		return err
	}
	if !a.Config.DemoAccounts {
		return a.disableDemoAccounts(ctx)
	}
	accounts, err := a.SeedDemoAccounts(ctx)
	if err != nil {
		return err
	}
	for _, d := range accounts {
		attrs := []any{"email", d.Email, "password", DemoPassword, "role", d.Role, "domain", d.Domain}
		if d.TOTPSecret != "" {
			attrs = append(attrs, "totp_secret", d.TOTPSecret)
		}
		a.Log.Info("demo account", attrs...)
	}
	key, err := a.seedDemoAccess(ctx)
	if err != nil {
		return err
	}
	a.Log.Info("demo API key", "provider_admin", "aanbieder.beheer@demo.loket.example", "key", key)
	a.Log.Warn("DEMO ACCOUNTS ARE ACTIVE: anyone who can reach this server can sign in with the published demo password, "+
		"code-app secrets and API key. Never expose it; set LOKET_DEMO=false for real use",
		"accounts", len(accounts), "http_addr", a.Config.HTTPAddr)
	return nil
}

// disableDemoAccounts disables the demo accounts and revokes the demo API
// key if an earlier start made them: their secrets are published.
func (a *App) disableDemoAccounts(ctx context.Context) error {
	disabled := 0
	for _, d := range demoAccountList("", "") { // only the addresses matter here
		u, err := a.Users.Store().ByEmail(ctx, d.Email)
		if errors.Is(err, account.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("demo account %s: %w", d.Email, err)
		}
		if u.Disabled() {
			continue
		}
		if err := a.Users.Store().SetDisabled(ctx, u.ID, true); err != nil {
			return fmt.Errorf("disable demo account %s: %w", d.Email, err)
		}
		disabled++
	}
	if k, ok, err := a.Access.Authenticate(ctx, DemoAPIKey()); err != nil {
		return err
	} else if ok {
		if err := a.Access.RevokeKey(ctx, k.ProviderID, k.ID); err != nil {
			return fmt.Errorf("revoke the demo API key: %w", err)
		}
		disabled++
	}
	if disabled > 0 {
		a.Log.Warn("demo accounts and key from an earlier start disabled: this server is reachable from other machines "+
			"and LOKET_DEMO is not true", "disabled", disabled, "http_addr", a.Config.HTTPAddr)
	} else if a.Config.Demo {
		a.Log.Info("demo desks and catalogue only: no demo accounts, as this server is reachable from other machines "+
			"(set LOKET_DEMO=true to seed them anyway)", "http_addr", a.Config.HTTPAddr)
	}
	return nil
}

// Handler builds the web server with every route. extra, if given, may add
// routes (tests use it for a deliberately slow endpoint).
func (a *App) Handler(extra ...func(*fiber.App)) (*web.Server, error) {
	renderer, err := web.NewRenderer(frontend.Templates, a.messages)
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(frontend.Static, "static")
	if err != nil {
		return nil, err
	}
	srv := web.New(web.Options{
		Logger:         a.Log,
		Static:         static,
		Renderer:       renderer,
		Registry:       a.Metrics,
		TrustedProxies: a.Config.TrustedProxies,
		PublicURL:      a.Config.PublicURL,
		MetricsToken:   a.Config.MetricsToken,
		Tracing:        a.Config.OTelEndpoint != "",
		MapTilesOrigin: a.Config.MapTilesOrigin(),
		Checks: []web.Check{
			{Name: "database", Run: func(ctx context.Context) error { return a.DB.PingContext(ctx) }},
			{Name: "migrations", Run: func(ctx context.Context) error {
				n, err := a.DB.PendingMigrations(ctx)
				if err == nil && n > 0 {
					err = fmt.Errorf("%d pending", n)
				}
				return err
			}},
			{Name: "cache", Degraded: true, Run: a.Cache.Ping},
		},
	})
	desks := tenant.NewHandler(a.Directory, renderer)
	desks.AlsoPlatform(account.PlatformPaths...)
	desks.AlsoPlatform(access.PlatformPaths...)
	app := srv.App
	app.Use(desks.HostRewrite)
	app.Use(a.readRouting)
	accounts, err := account.New(account.Config{DB: a.DB, Cache: a.Cache, Clock: a.Clock, Mail: a.Mail,
		Renderer: renderer, Log: a.Log, PublicURL: a.Config.PublicURL, SecureCookies: a.Config.SessionSecure,
		Service: a.Users, SecondFactor: a.Authz.NeedsSecondFactor})
	if err != nil {
		return nil, err
	}
	a.Accounts = accounts
	accounts.Register(app)
	// Issue 20: every signed-in account lands on /werk, and every page it
	// sees carries the staff menu (registered after the session middleware).
	desks.AlsoPlatform(work.PathHome)
	work.NewHandler(work.HandlerConfig{Service: work.NewService(a.Authz, a.Directory, a.Requests, a.Catalog, a.Clock),
		Render: renderer, RequireUser: accounts.RequireUser, UserOf: account.UserIDOf, CSRF: account.CSRFToken,
		SignOut: account.PathSignOut}).Register(app)
	catalog.NewPlacesHandler(catalog.PlacesConfig{Store: a.Catalog, Render: renderer, Authz: a.Authz,
		RequireUser: accounts.RequireUser, UserOf: account.UserIDOf, CSRF: account.CSRFToken}).Register(app)
	for _, fn := range extra {
		fn(app)
	}
	api := app.Group("/api/v1")
	// Every write of the API takes an optional Idempotency-Key (issue 17).
	api.Use(idempotency.Middleware(idempotency.Config{Store: a.Idempotency, Caller: idempotencyCaller,
		Skip: ownIdempotency, Log: a.Log}))
	api.Get("/openapi.json", serveOpenAPI)
	desks.Register(app, api)
	search := catalog.NewSearchHandler(a.Catalog, a.Directory, desks, renderer, catalog.WithMapTiles(a.Config.MapTilesURL))
	search.RegisterAPI(api)
	a.Availability.RegisterAPI(api)
	requests.NewAPI(a.Requests, requests.APIOptions{Caller: a.apiCaller}).Register(api)
	// WIRING:provider-api (provider API keys and availability API)
	admin := access.NewHandler(access.Config{Service: a.Access, Users: a.Users, Accounts: accounts,
		Render: renderer, Desks: desks, Dir: a.Directory, Catalog: a.Catalog, Webhooks: a.Webhooks})
	admin.RegisterAPI(api)
	// Crisis (issue 16): a provider's system declares a closure and reads its board.
	(&crisis.API{Service: a.Crisis, Auth: admin.APIAuth, Authz: a.Authz, Principal: access.PrincipalOf,
		Location: admin.LocationDomain}).RegisterAPI(api)
	admin.RegisterPlatform(app) // /aanbieder, /beheer: before the /:tenant group
	// Requests (issue 5): provider inbox and its API (platform paths, before
	// /:tenant and before the /api catch-all), desk worklist on the desk group.
	requestPages := requests.NewWeb(requests.WebConfig{Service: a.Requests, Render: renderer, Desks: desks, Authz: a.Authz,
		RequireUser: accounts.RequireUser, UserOf: account.UserIDOf, APIAuth: admin.APIAuth, Principal: access.PrincipalOf, Catalog: a.DB.DB,
		Referrers: a.partnersOf, People: a.peopleNamed,
		Erase: a.eraseFamily})
	requestPages.RegisterProviderAPI(api)
	// Rounds (issue 6): desk pages under /{tenant}/loket/rondes, providers
	// confirm proposed places under /aanbieder/{provider}/rondes.
	roundPages := &rounds.Handler{Service: a.Rounds, Render: renderer, Desks: desks, Directory: a.Directory, Authz: a.Authz,
		Catalog: a.DB.DB, RequireUser: accounts.RequireUser, UserOf: account.UserIDOf,
		ProviderScope: requestPages.ProviderScope, ScopeOf: requests.ProviderScopeOf}
	roundPages.RegisterProvider(app)
	requestPages.RegisterProvider(app)
	api.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })

	// Crisis contact point (issue 16): the regional coordinator's pages under
	// /regio/{nis}/crisis (platform paths, before any /:tenant group, the reports' included).
	crisisPages := &crisis.Handler{Service: a.Crisis, Render: renderer, Desks: desks, Authz: a.Authz,
		RequireUser: accounts.RequireUser, UserOf: account.UserIDOf,
		Audit: eventlog.CrossTenantLog{Tenants: tenancy.NewStore(a.DB), Now: a.Clock.Now, Desk: a.deskID}.LogCrossTenant}
	crisisPages.RegisterRegion(app)
	// Providers: /aanbieder/{provider}/crisis (declare, emergency places).
	(&crisis.ProviderPages{Handler: crisisPages, Scope: requestPages.ProviderScope, ScopeOf: requests.ProviderScopeOf}).RegisterProvider(app)

	// Reports (issue 7): desk figures under /{tenant}/loket/cijfers, regional
	// figures under /regio/{nis}/cijfers, a platform path registered before /:tenant.
	desks.AlsoPlatform(reports.PlatformPaths...)
	reports.NewHandler(reports.Options{Service: a.Reports,
		Render: renderer, Desks: desks, Authz: a.Authz, RequireUser: accounts.RequireUser, UserOf: account.UserIDOf}).
		Register(app, desks.Resolve)

	// Desk pages last: /:tenant matches any first path segment.
	desk := app.Group("/:tenant", desks.Resolve)
	desks.RegisterDesk(desk)
	search.RegisterDesk(desk)
	// Parent request form (/{tenant}/aanvragen) and status page (/{tenant}/aanvraag/{token}).
	parentPages := requests.NewParentPages(a.Requests, a.Catalog, renderer, desks)
	parentPages.SetRoundExplainer(a.Rounds.ExplainFor)
	parentPages.Register(desk)
	// WIRING:desk-admin (desk staff and sharing agreements under /{tenant}/beheer)
	admin.RegisterDesk(desk)
	requestPages.RegisterDesk(desk)
	roundPages.RegisterDesk(desk)
	// Crisis contact point (issue 16): /{tenant}/loket/crisis.
	crisisPages.RegisterDesk(desk)
	return srv, nil
}

// Serve prepares the database (migrations, desks) as configured, then serves
// HTTP until ctx ends (SIGTERM): readiness fails first, in-flight requests
// finish, and Serve returns nil. ready, if not nil, receives the bound address.
func Serve(ctx context.Context, cfg config.Config, log *slog.Logger, ready chan<- string, extra ...func(*fiber.App)) error {
	start := time.Now()
	if cfg.MigrateOnStart {
		applied, err := Migrate(ctx, cfg)
		if err != nil {
			return err
		}
		if len(applied) > 0 {
			log.Info("migrations applied", "count", len(applied))
		}
	}
	stopTracing, err := telemetry.Setup(ctx, cfg.OTelEndpoint, Version)
	if err != nil {
		return err
	}
	defer func() { _ = stopTracing(context.Background()) }()
	a, err := Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if cfg.Demo || cfg.TenantsDir != "" {
		rep, err := a.SyncTenants(ctx)
		if err != nil {
			return err
		}
		if rep.Changed() {
			log.Info("desks synced", "created", rep.Created, "updated", rep.Updated, "reference", rep.Reference)
		}
		if cfg.Demo {
			if err := a.seedDemo(ctx); err != nil {
				return err
			}
		}
	} else if err := a.Directory.Reload(ctx); err != nil {
		return err
	}
	// Grants must match the agreements' consents: this drops grants written
	// on a desk's data without that desk's consent (before issue 13) and
	// restores grants lost between an answer and its policy write.
	if n, err := a.Access.Reconcile(ctx); err != nil {
		return fmt.Errorf("reconcile sharing grants: %w", err)
	} else if n > 0 {
		log.Warn("sharing grants repaired to match the agreements' consents", "agreements", n)
	}
	// Requests registered under the first likely-duplicate rule get the
	// fingerprints of the current one (issue 20, point 10); once done, a
	// query per desk.
	for _, desk := range a.Directory.All() {
		if n, err := a.Requests.RefreshFingerprints(tenancy.WithTenant(ctx, desk.ID)); err != nil {
			return fmt.Errorf("desk %s: %w", desk.Slug, err)
		} else if n > 0 {
			log.Info("duplicate fingerprints recomputed", "desk", desk.Slug, "requests", n)
		}
	}
	if !cfg.Demo {
		// Demo accounts of an earlier LOKET_DEMO=true start must not outlive it.
		if err := a.disableDemoAccounts(ctx); err != nil {
			return err
		}
	}
	srv, err := a.Handler(extra...)
	if err != nil {
		return err
	}
	// Start-up garbage (migrations, seeding, the demo password's argon2id
	// memory) is returned to the system once, so an idle server stays small.
	debug.FreeOSMemory()
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (LOKET_HTTP_ADDR): %w", cfg.HTTPAddr, err)
	}
	var metricsLn net.Listener
	if cfg.MetricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			_ = ln.Close()
			return fmt.Errorf("listen on %s (LOKET_METRICS_ADDR): %w", cfg.MetricsAddr, err)
		}
		go func() {
			if err := srv.Metrics.Listener(metricsLn); err != nil && ctx.Err() == nil {
				log.Error("metrics listener stopped", "error", err)
			}
		}()
		defer func() { _ = srv.Metrics.ShutdownWithTimeout(time.Second) }()
		if !config.IsLoopback(cfg.MetricsAddr) {
			log.Info("metrics listener reachable from other machines: keep it off the public network", "metrics_addr", metricsLn.Addr().String())
		}
	}
	go a.reloadDesksEvery(ctx, 30*time.Second)
	if err := a.Authz.Start(ctx); err != nil {
		return err
	}
	a.Jobs.Start(ctx, time.Minute) // due jobs every minute; the deadline sweep every quarter hour
	defer a.Jobs.Stop()
	if a.Relay != nil {
		go a.Relay.Run(ctx, 2*time.Second)
	}
	go a.WebhookRelay.Run(ctx, 2*time.Second)
	go func() {
		if err := a.Availability.Start(ctx); err != nil && ctx.Err() == nil {
			log.Warn("availability invalidation listener stopped", "error", err)
		}
	}()

	served := make(chan error, 1)
	go func() { served <- srv.App.Listener(ln) }()
	url := cfg.PublicURL
	if cfg.PublicURL == "" || isEphemeral(cfg.HTTPAddr) {
		url = "http://" + ln.Addr().String()
	}
	metricsAt := "off"
	if metricsLn != nil {
		metricsAt = "http://" + metricsLn.Addr().String() + "/metrics"
	}
	log.Info("Loket is running", "url", url, "metrics", metricsAt, "database", a.DB.Dialect, "cache", a.Cache.Kind(), "desks", len(a.Directory.All()), "startup", time.Since(start).Round(time.Millisecond))
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "timeout", cfg.ShutdownTimeout)
	srv.Drain()
	if err := srv.App.ShutdownWithTimeout(cfg.ShutdownTimeout); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	a.Users.Wait() // mails being sent finish
	log.Info("stopped")
	return nil
}

func isEphemeral(addr string) bool {
	_, port, _ := net.SplitHostPort(addr)
	return port == "0"
}

func (a *App) reloadDesksEvery(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.Directory.Reload(ctx); err != nil && ctx.Err() == nil {
				a.Log.Warn("reload desks", "error", err)
			}
		}
	}
}

// hashKey is the configured secret for keyed hashes and signed links or, when
// none is set, a random one kept in data_dir/hash.key, so links stay valid
// across restarts of the embedded default.
func hashKey(cfg config.Config) ([]byte, error) {
	if cfg.HashKey != "" {
		return []byte(cfg.HashKey), nil
	}
	return keyFile(cfg.DataDir, "hash.key", "LOKET_HASH_KEY", "every status link", func() ([]byte, error) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		return []byte(hex.EncodeToString(b)), nil
	}, func(b []byte) error {
		// The bytes as stored are the key (as before): trimming them would
		// change it.
		if len(bytes.TrimSpace(b)) < minHashKeyLen {
			return fmt.Errorf("shorter than %d characters", minHashKeyLen)
		}
		return nil
	})
}

// dataKeys is the keyring that seals notes and care-need descriptions: the
// configured keys or, on the embedded store only, a random key kept in
// data_dir/data.key. PostgreSQL is production: it never starts without
// configured keys, since a key made up on one replica opens nothing on another.
func dataKeys(cfg config.Config) (*sealed.Keyring, error) {
	spec := cfg.DataKeys
	if spec == "" && !cfg.Embedded() {
		return nil, errors.New("app: LOKET_DATA_KEYS is required with a PostgreSQL database (see docs/privacy.md, key rotation)")
	}
	if spec == "" {
		b, err := keyFile(cfg.DataDir, "data.key", "LOKET_DATA_KEYS", "every desk note", func() ([]byte, error) {
			// A random id: tests start several embedded apps in one process.
			kr, err := sealed.Random("local-")
			if err != nil {
				return nil, err
			}
			return []byte(kr.Spec()), nil
		}, func(b []byte) error {
			_, err := sealed.ParseKeys(string(b))
			return err
		})
		if err != nil {
			return nil, err
		}
		spec = string(b)
	}
	return sealed.ParseKeys(spec)
}

// keyFile reads the key kept in dir/name or, when the file does not exist,
// makes one. Any other read error, or a file that is not a key, stops the
// start: a new key would silently make unreadable what the old one protects.
func keyFile(dir, name, env, protects string, fresh func() ([]byte, error), check func([]byte) error) ([]byte, error) {
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := check(b); err != nil {
			return nil, fmt.Errorf("app: key %s: %w: restore it from a backup, or set %s", path, err, env)
		}
		return b, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("app: read key %s (a new one would invalidate %s): %w", path, protects, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("app: key %s: %w", path, err)
	}
	if b, err = fresh(); err != nil {
		return nil, fmt.Errorf("app: key %s: %w", path, err)
	}
	// O_EXCL: never overwrite a key another process wrote meanwhile.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("app: key %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("app: key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("app: key %s: %w", path, err)
	}
	return b, nil
}

// minHashKeyLen matches LOKET_HASH_KEY's minimum.
const minHashKeyLen = 32

// partnersOf lists the partners of a desk (holders of the partner role in its
// domain), for the desk's registration form.
func (a *App) partnersOf(ctx context.Context, deskSlug string) ([]requests.Referrer, error) {
	var out []requests.Referrer
	for _, h := range a.Authz.Holders(authz.Desk(deskSlug)) {
		if h.Role != authz.Partner {
			continue
		}
		id, err := account.ParseUserID(h.User)
		if err != nil {
			continue // an API key or another subject
		}
		u, err := a.Users.Store().ByID(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, requests.Referrer{ID: h.User, Name: u.DisplayName})
	}
	return out, nil
}

// peopleNamed names accounts by user id, for the history of a request
// (who did what, by name); unknown ids and other subjects are left out.
func (a *App) peopleNamed(ctx context.Context, userIDs []string) (map[string]string, error) {
	out := make(map[string]string, len(userIDs))
	for _, s := range userIDs {
		id, err := account.ParseUserID(s)
		if err != nil {
			continue
		}
		u, err := a.Users.Store().ByID(ctx, id)
		if errors.Is(err, account.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[s] = u.DisplayName
	}
	return out, nil
}

// waitingListPartners are the desks whose waiting list desk may allocate:
// current shared-waiting-list agreements that grant it to desk (or that desk
// granted reciprocally). The same agreements give desk's workers the right
// to change those desks' requests.
func (a *App) waitingListPartners(ctx context.Context, desk tenancy.ID) ([]tenancy.ID, error) {
	agreements, err := a.Access.Agreements(ctx, desk)
	if err != nil {
		return nil, err
	}
	now := a.Clock.Now()
	var out []tenancy.ID
	for _, ag := range agreements {
		if ag.Access != access.SharedWaitingList || !ag.Current(now) {
			continue
		}
		switch {
		case ag.ReceivingTenantID == desk:
			out = append(out, ag.GrantingTenantID)
		case ag.GrantingTenantID == desk && ag.Reciprocal:
			out = append(out, ag.ReceivingTenantID)
		}
	}
	return out, nil
}

// eraseFamily erases the family of request id in the desk of ctx at once (a
// parent's erasure request the desk grants): its open requests are
// withdrawn first (the providers are told), then the rows go, then the
// parent is mailed that it is done.
func (a *App) eraseFamily(ctx context.Context, id requests.RequestID, actor requests.Actor) error {
	deskID, ok := tenancy.FromContext(ctx)
	if !ok {
		return requests.ErrNoDesk
	}
	t, ok := a.Directory.ByID(deskID)
	if !ok {
		return fmt.Errorf("app: erase: unknown desk %s", deskID)
	}
	done, err := a.Requests.WithdrawForErasure(ctx, id, actor)
	if err != nil {
		return err
	}
	if _, err := a.Retention.EraseFamily(ctx, t, id); err != nil {
		return err
	}
	return a.Requests.SendNotice(ctx, done)
}
