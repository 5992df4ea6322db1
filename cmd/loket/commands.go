package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/loket-kinderopvang/loket/internal/app"
	"github.com/loket-kinderopvang/loket/internal/platform/config"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// extraRoutes lets the tests add a deliberately slow endpoint to the real
// binary; it is empty in production.
var extraRoutes []func(*fiber.App)

// moreCommands are subcommands that live in their own files (catalog import,
// allocate, …); each file appends its constructor in an init function.
var moreCommands []func(c *cli) *cobra.Command

// cli carries what every subcommand needs.
type cli struct {
	v      *viper.Viper
	cfg    config.Config
	log    *slog.Logger
	stdout io.Writer
	stderr io.Writer
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	c := &cli{v: config.New(), stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "loket",
		Short: "Loket: the platform of the Flemish local childcare desks",
		Long: `Loket hosts the local childcare desks (Lokaal Loket Kinderopvang) of many
municipalities. Without a subcommand it runs the web server (loket serve).

Settings come from built-in defaults, then ./loket.yaml, then LOKET_* environment
variables, then flags. Without LOKET_DATABASE_URL it uses an SQLite file in
LOKET_DATA_DIR; without LOKET_REDIS_URL an in-process cache.`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: c.load,
		RunE:              c.serve,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	config.AddFlags(c.v, root.PersistentFlags())

	root.AddCommand(&cobra.Command{
		Use:   "serve",
		Short: "Run the web server (the default)",
		Long:  "Run the web server. It applies pending migrations first (unless --migrate-on-start=false), syncs the desks when demo data or a tenants directory is configured, and stops gracefully on SIGTERM.",
		Args:  cobra.NoArgs,
		RunE:  c.serve,
	})

	migrate := &cobra.Command{Use: "migrate", Short: "Manage the database schema (up, down, status)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	migrate.AddCommand(
		&cobra.Command{Use: "up", Short: "Apply every pending migration", Args: cobra.NoArgs, RunE: c.migrateUp},
		&cobra.Command{Use: "down", Short: "Roll back the last group of migrations", Args: cobra.NoArgs, RunE: c.migrateDown},
		&cobra.Command{Use: "status", Short: "List migrations and whether they are applied", Args: cobra.NoArgs, RunE: c.migrateStatus},
	)
	root.AddCommand(migrate)

	tenants := &cobra.Command{Use: "tenants", Short: "Manage the desks (tenants)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	tenants.AddCommand(&cobra.Command{
		Use:   "sync",
		Short: "Load the desk YAML files into the database",
		Long:  "Validate every YAML file of --tenants-dir (the demo desks built into the binary when empty) and write the desks and the municipality reference data into the database. Idempotent: a second run changes nothing. Desks whose file is gone are reported, not deleted.",
		Args:  cobra.NoArgs,
		RunE:  c.tenantsSync,
	})
	root.AddCommand(tenants)

	seed := &cobra.Command{Use: "seed", Short: "Load demo data", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	seed.AddCommand(&cobra.Command{
		Use:   "demo",
		Short: "Load the demo desks (and their demo data)",
		Long:  "Load the three demo desks (Leuven, Geel–Laakdal–Meerhout, Stadsregio Turnhout) with the reference data. Only invented data. Idempotent.",
		Args:  cobra.NoArgs,
		RunE:  c.seedDemo,
	})
	root.AddCommand(seed)

	for _, add := range moreCommands {
		root.AddCommand(add(c))
	}

	root.AddCommand(&cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the local server answers /healthz (for container health checks)",
		Args:  cobra.NoArgs,
		RunE:  c.healthcheck,
	})
	return root
}

// load reads and validates the configuration before any subcommand runs.
func (c *cli) load(cmd *cobra.Command, _ []string) error {
	file, _ := cmd.Flags().GetString("config")
	cfg, err := config.Load(c.v, file)
	if err != nil {
		return err
	}
	c.cfg = cfg
	c.log = app.NewLogger(cfg, c.stderr)
	return nil
}

func (c *cli) serve(cmd *cobra.Command, _ []string) error {
	return app.Serve(cmd.Context(), c.cfg, c.log, nil, extraRoutes...)
}

func (c *cli) migrateUp(cmd *cobra.Command, _ []string) error {
	applied, err := app.Migrate(cmd.Context(), c.cfg)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(c.stdout, "Nothing to migrate: the schema is current.")
	}
	for _, name := range applied {
		fmt.Fprintln(c.stdout, "applied", name)
	}
	return nil
}

// withOwnerDB opens only the database, as the schema owner: migration
// commands must work on a schema that is not (fully) there.
func (c *cli) withOwnerDB(ctx context.Context, fn func(d *db.DB) error) error {
	d, err := db.Open(ctx, db.Options{URL: c.cfg.OwnerURL(), SQLitePath: c.cfg.SQLitePath()})
	if err != nil {
		return err
	}
	defer d.Close()
	return fn(d)
}

func (c *cli) migrateDown(cmd *cobra.Command, _ []string) error {
	return c.withOwnerDB(cmd.Context(), func(d *db.DB) error {
		rolled, err := d.MigrateDown(cmd.Context())
		if err != nil {
			return err
		}
		if len(rolled) == 0 {
			fmt.Fprintln(c.stdout, "Nothing to roll back.")
		}
		for _, name := range rolled {
			fmt.Fprintln(c.stdout, "rolled back", name)
		}
		return nil
	})
}

func (c *cli) migrateStatus(cmd *cobra.Command, _ []string) error {
	return c.withOwnerDB(cmd.Context(), func(d *db.DB) error {
		st, err := d.MigrationsStatus(cmd.Context())
		if err != nil {
			return err
		}
		pending := 0
		for _, s := range st {
			mark := "applied"
			if !s.Applied {
				mark, pending = "pending", pending+1
			}
			fmt.Fprintf(c.stdout, "%-8s %s\n", mark, s.Name)
		}
		fmt.Fprintf(c.stdout, "%d migrations, %d pending (%s)\n", len(st), pending, d.Dialect)
		return nil
	})
}

func (c *cli) tenantsSync(cmd *cobra.Command, _ []string) error {
	return c.sync(cmd.Context(), (*app.App).SyncTenants)
}

func (c *cli) seedDemo(cmd *cobra.Command, _ []string) error {
	cfg := c.cfg
	cfg.TenantsDir = "" // the demo desks built into the binary
	c.cfg = cfg
	return c.sync(cmd.Context(), (*app.App).Seed)
}

func (c *cli) sync(ctx context.Context, load func(*app.App, context.Context) (tenant.SyncReport, error)) error {
	return c.withApp(ctx, func(a *app.App) error {
		rep, err := load(a, ctx)
		if err != nil {
			return err
		}
		printSync(c.stdout, rep)
		return nil
	})
}

// withApp migrates the database, opens the app for fn and closes it after.
func (c *cli) withApp(ctx context.Context, fn func(*app.App) error) error {
	if _, err := app.Migrate(ctx, c.cfg); err != nil {
		return err
	}
	a, err := app.Open(ctx, c.cfg, c.log)
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}

func printSync(w io.Writer, rep tenant.SyncReport) {
	line := func(label string, slugs []string) {
		if len(slugs) > 0 {
			fmt.Fprintf(w, "%-17s %s\n", label+":", strings.Join(slugs, ", "))
		}
	}
	line("created", rep.Created)
	line("updated", rep.Updated)
	line("unchanged", rep.Unchanged)
	line("not in directory", rep.NotInDirectory)
	fmt.Fprintf(w, "reference data: %d inserted, %d updated\n", rep.Reference.Inserted, rep.Reference.Updated)
}

// healthcheck asks the server on this machine whether it is alive; container
// images without a shell or curl use it as their HEALTHCHECK.
func (c *cli) healthcheck(cmd *cobra.Command, _ []string) error {
	_, port, err := net.SplitHostPort(c.cfg.HTTPAddr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort("127.0.0.1", port)+"/healthz", nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /healthz answered %s", res.Status)
	}
	fmt.Fprintln(c.stdout, "ok")
	return nil
}
