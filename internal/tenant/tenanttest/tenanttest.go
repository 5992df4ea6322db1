// Package tenanttest gives tests of other domains the demo desks in their
// database, synced as `loket tenants sync` would.
package tenanttest

import (
	"context"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/tenant"
	"github.com/loket-kinderopvang/loket/tenants"
)

// SyncDemo writes the demo desks to d and returns their loaded directory.
func SyncDemo(t testing.TB, d *db.DB, clk clock.Clock) *tenant.Directory {
	t.Helper()
	ctx := context.Background()
	specs, err := tenant.LoadDir(tenants.Demo)
	if err != nil {
		t.Fatal(err)
	}
	ts := tenant.NewStore(d, clk)
	if _, err := ts.Sync(ctx, specs); err != nil {
		t.Fatal(err)
	}
	dir := tenant.NewDirectory(ts)
	if err := dir.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	return dir
}
