package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/loket-kinderopvang/loket/internal/app"
	"github.com/loket-kinderopvang/loket/internal/catalog"
)

func init() { moreCommands = append(moreCommands, newSeedScaledCmd) }

// newSeedScaledCmd is `loket seed-scaled`: a top-level command, so it needs no
// change to the `seed` command in commands.go.
func newSeedScaledCmd(c *cli) *cobra.Command {
	var n int
	cmd := &cobra.Command{
		Use:   "seed-scaled",
		Short: "Load an invented catalogue of many locations, for load tests",
		Long: `Load an invented catalogue of --locations locations (6000 is about all of Flanders):
about one in 22 in region 13000 (arrondissement Turnhout), the rest in region 24000,
each with free places for 12 months and both age bands. Applies pending migrations and
syncs the desks first. Only invented data, never for production. Idempotent: locations
already there (dossier numbers SCALE-…) are left alone.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.seedScaled(cmd.Context(), n) },
	}
	cmd.Flags().IntVar(&n, "locations", 6000, fmt.Sprintf("number of locations (1 to %d)", catalog.MaxScaledLocations))
	return cmd
}

func (c *cli) seedScaled(ctx context.Context, n int) error {
	if n < 1 || n > catalog.MaxScaledLocations {
		return fmt.Errorf("--locations must be between 1 and %d (got %d)", catalog.MaxScaledLocations, n)
	}
	if _, err := app.Migrate(ctx, c.cfg); err != nil {
		return err
	}
	a, err := app.Open(ctx, c.cfg, c.log)
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := a.SyncTenants(ctx); err != nil { // the municipalities the locations point at
		return err
	}
	start := time.Now()
	rep, err := catalog.SeedScaled(ctx, a.Catalog, a.Clock.Now(), n)
	if err != nil {
		return err
	}
	if err := a.GroupLocations(ctx); err != nil {
		return err
	}
	took := time.Since(start).Round(time.Millisecond)
	fmt.Fprintf(c.stdout, "created %d providers, %d locations (region 13000: %d, region 24000: %d), %d free-place entries with %d events\n",
		rep.Providers, rep.Locations, rep.PerRegion["13000"], rep.PerRegion["24000"], rep.Availability, rep.Availability)
	fmt.Fprintf(c.stdout, "already there: %d locations\n", rep.Existing)
	fmt.Fprintf(c.stdout, "took %s on %s\n", took, a.DB.Dialect)
	return nil
}
