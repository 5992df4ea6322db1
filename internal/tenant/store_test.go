package tenant_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/tenant"
	"github.com/loket-kinderopvang/loket/tenants"
)

func TestSyncIsIdempotentAndAppliesChanges(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFixed(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
		store := tenant.NewStore(d, clk)
		specs, err := tenant.LoadDir(tenants.Demo)
		if err != nil {
			t.Fatal(err)
		}

		rep, err := store.Sync(ctx, specs)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Created) != 3 || rep.Reference.Inserted == 0 {
			t.Fatalf("first sync: %+v", rep)
		}
		first, err := store.List(ctx)
		if err != nil {
			t.Fatal(err)
		}

		clk.Advance(time.Hour)
		rep, err = store.Sync(ctx, specs)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Changed() || len(rep.Unchanged) != 3 {
			t.Fatalf("second sync changed something: %+v", rep)
		}
		second, _ := store.List(ctx)
		if len(second) != 3 {
			t.Fatalf("duplicates after second sync: %d desks", len(second))
		}
		for i := range first {
			if !first[i].UpdatedAt.Equal(second[i].UpdatedAt) || first[i].ID != second[i].ID {
				t.Errorf("%s was rewritten by an unchanged sync", first[i].Slug)
			}
		}

		// Change a setting and move Laakdal from Geel–Laakdal–Meerhout to
		// Leuven's desk in one sync: both changes are applied.
		changed := slices.Clone(specs)
		for i := range changed {
			switch changed[i].Slug {
			case "leuven":
				changed[i].MaxPreferences = 2
				changed[i].Municipalities = append(slices.Clone(changed[i].Municipalities), "13053")
			case "geel-laakdal-meerhout":
				changed[i].Municipalities = slices.DeleteFunc(slices.Clone(changed[i].Municipalities), func(n geo.NISCode) bool { return n == "13053" })
			}
		}
		clk.Advance(time.Hour)
		rep, err = store.Sync(ctx, changed)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(rep.Updated)
		if !slices.Equal(rep.Updated, []string{"geel-laakdal-meerhout", "leuven"}) || len(rep.Created) != 0 {
			t.Fatalf("changed sync: %+v", rep)
		}
		third, _ := store.List(ctx)
		for _, tn := range third {
			switch tn.Slug {
			case "leuven":
				if tn.MaxPreferences != 2 || !slices.Contains(tn.Municipalities, "13053") || !tn.UpdatedAt.Equal(clk.Now()) {
					t.Errorf("leuven not updated: %+v", tn)
				}
				if !tn.CreatedAt.Equal(first[1].CreatedAt) {
					t.Errorf("created_at changed on update")
				}
			case "geel-laakdal-meerhout":
				if slices.Contains(tn.Municipalities, "13053") || len(tn.Municipalities) != 2 {
					t.Errorf("Laakdal not moved: %v", tn.Municipalities)
				}
			}
		}

		// A desk whose file is gone is reported, not deleted.
		rep, err = store.Sync(ctx, changed[:2])
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.NotInDirectory) != 1 {
			t.Errorf("missing desk not reported: %+v", rep)
		}
		if all, _ := store.List(ctx); len(all) != 3 {
			t.Errorf("sync deleted a desk: %d left", len(all))
		}
	})
}
